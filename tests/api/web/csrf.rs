//! CSRF: every form, method overrides included, refuses a missing or wrong token.

use rocket::http::{ContentType, Cookie, Status};

use crate::common::{send, TestApp, OTHER_PASSWORD, PASSWORD};

#[rocket::async_test]
async fn every_form_refuses_a_missing_or_wrong_csrf_token() {
    let t = TestApp::new().await;
    let browser = t.browser();
    let signup = [
        ("username", "mallory"),
        ("email", "m@example.com"),
        ("password", PASSWORD),
        ("password_confirm", PASSWORD),
    ];
    browser.page("/signup").await;
    for token in [None, Some("forged")] {
        let mut fields = signup.to_vec();
        fields.extend(token.map(|token| ("csrf_token", token)));
        let reply = browser.submit("/signup", &fields).await;
        assert_eq!(reply.status, Status::Forbidden, "{token:?}");
        assert!(
            reply.html().contains("security token"),
            "a 403 page in the layout"
        );
        assert!(reply.html().contains("<nav"));
    }
    assert_eq!(
        t.login("mallory", PASSWORD).await.status,
        Status::Unauthorized,
        "not created"
    );
    t.register("bob").await;
    let login = browser
        .submit(
            "/login",
            &[
                ("username", "bob"),
                ("password", PASSWORD),
                ("csrf_token", "x"),
            ],
        )
        .await;
    assert_eq!(login.status, Status::Forbidden, "login CSRF is refused too");
    assert!(login.set_cookie("access_token").is_none());

    browser.sign_up("alice").await;
    let posts: [(&str, &[(&str, &str)]); 5] = [
        (
            "/account/profile",
            &[
                ("username", "hacked"),
                ("email", "h@example.com"),
                ("name", ""),
            ],
        ),
        (
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", OTHER_PASSWORD),
                ("new_password_confirm", OTHER_PASSWORD),
            ],
        ),
        ("/account/logout-all", &[]),
        ("/logout", &[]),
        ("/account/sessions/whatever/end", &[]),
    ];
    for (path, fields) in posts {
        let mut with_wrong = fields.to_vec();
        with_wrong.push(("csrf_token", "wrong"));
        for body in [fields.to_vec(), with_wrong] {
            let reply = browser.submit(path, &body).await;
            assert_eq!(reply.status, Status::Forbidden, "{path}");
        }
    }
    let account = browser.page("/account").await;
    assert_eq!(account.status, Status::Ok, "still signed in");
    assert!(
        account.html().contains("value=\"alice\""),
        "profile unchanged"
    );
    assert_eq!(
        t.login("alice", PASSWORD).await.status,
        Status::Ok,
        "password unchanged"
    );
}

#[rocket::async_test]
async fn method_overrides_cannot_bypass_csrf() {
    let t = TestApp::new().await;
    let alice = t.member("alice").await;
    let sneaky = |path: String, method: &str| {
        let body = format!("_method={method}&name=hacked");
        let request = t
            .client
            .post(path)
            .header(ContentType::Form)
            .cookie(Cookie::new("access_token", alice.access.clone()))
            .body(body);
        send(request)
    };
    let delete = sneaky(format!("/api/users/{}", alice.id), "DELETE").await;
    assert_eq!(
        (delete.status, delete.code()),
        (Status::Forbidden, "csrf_failed")
    );
    let patch = sneaky("/api/me".into(), "PATCH").await;
    assert_eq!(patch.status, Status::Forbidden);
    let page = sneaky("/account/profile".into(), "PUT").await;
    assert!(
        page.status == Status::NotFound || page.status == Status::Forbidden,
        "{:?}",
        page.status
    );
    assert_eq!(
        alice.get("/api/me").await.body["username"],
        "alice",
        "nothing changed"
    );
}

#[rocket::async_test]
async fn a_dropped_security_cookie_is_explained() {
    let t = TestApp::with(|f| f.merge(("cookie_secure", true))).await;
    let browser = t.browser();
    let form = browser.page("/signup").await;
    // A browser on plain HTTP drops the Secure cookie: the form comes back without it.
    let forgetful = t.browser();
    let fields = [
        ("csrf_token", form.csrf()),
        ("username", "alice".to_owned()),
        ("email", "alice@example.com".to_owned()),
        ("password", PASSWORD.to_owned()),
        ("password_confirm", PASSWORD.to_owned()),
    ];
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let reply = forgetful.submit("/signup", &fields).await;
    assert_eq!(reply.status, Status::Forbidden);
    // It said only "the form's security token is missing or wrong", forever.
    assert!(reply.html().contains("cookie_secure"), "{}", reply.html());
}
