//! Sign-up, login and logout pages, and the session cookies they set and renew.

use rocket::http::{Cookie, Method, Status};
use serde_json::json;

use crate::common::{send, TestApp, OTHER_PASSWORD, PASSWORD};

/// Form fields as typed into a browser.
type Fields<'a> = &'a [(&'a str, &'a str)];

#[rocket::async_test]
async fn signing_up_signs_in_with_httponly_lax_cookies() {
    let t = TestApp::new().await;
    let browser = t.browser();
    let reply = browser.sign_up("alice").await;
    assert_eq!(reply.location(), "/");
    for name in ["access_token", "refresh_token"] {
        let cookie = reply
            .set_cookie(name)
            .unwrap_or_else(|| panic!("{name} set"));
        for flag in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age="] {
            assert!(cookie.contains(flag), "{name}: {cookie}");
        }
        assert!(
            !cookie.contains("Secure"),
            "plain HTTP in the debug profile: {cookie}"
        );
    }
    let home = browser.page("/").await;
    assert!(
        home.html().contains("Welcome to Gatehouse, alice!"),
        "flash after the redirect"
    );
    assert!(home.html().contains("Hello, alice"));
    assert_eq!(home.header("Cache-Control"), Some("no-store"));
    assert!(
        !browser
            .page("/")
            .await
            .html()
            .contains("Welcome to Gatehouse"),
        "a flash shows once"
    );
}

#[rocket::async_test]
async fn secure_cookies_use_host_prefixed_names() {
    let t = TestApp::with(|f| f.merge(("cookie_secure", true))).await;
    let browser = t.browser();
    let reply = browser.sign_up("alice").await;
    for name in ["__Host-access_token", "__Host-refresh_token"] {
        let cookie = reply
            .set_cookie(name)
            .unwrap_or_else(|| panic!("{name} set"));
        assert!(
            cookie.contains("Secure") && cookie.contains("HttpOnly") && cookie.contains("Path=/")
        );
        assert!(
            !cookie.contains("Domain="),
            "__Host- cookies have no domain"
        );
    }
}

#[rocket::async_test]
async fn signup_errors_are_shown_beside_each_field_and_typed_values_kept() {
    let t = TestApp::new().await;
    let browser = t.browser();
    t.register("taken").await;
    let cases: [(Fields, &str, Status); 6] = [
        (
            &[("username", "a b"), ("email", "x@example.com")],
            "username",
            Status::UnprocessableEntity,
        ),
        (
            &[("username", "carol"), ("email", "nope")],
            "email",
            Status::UnprocessableEntity,
        ),
        (
            &[
                ("username", "carol"),
                ("email", "c@example.com"),
                ("password", "short"),
            ],
            "password",
            Status::UnprocessableEntity,
        ),
        (
            &[
                ("username", "carol"),
                ("email", "c@example.com"),
                ("password_confirm", "different"),
            ],
            "password_confirm",
            Status::UnprocessableEntity,
        ),
        (
            &[("username", "TAKEN"), ("email", "c@example.com")],
            "username",
            Status::Conflict,
        ),
        (
            &[("username", "carol"), ("email", "Taken@Example.com")],
            "email",
            Status::Conflict,
        ),
    ];
    for (overrides, field, status) in cases {
        let form = browser.page("/signup").await;
        let token = form.csrf();
        let mut fields = vec![
            ("csrf_token", token.as_str()),
            ("username", "carol"),
            ("email", "carol@example.com"),
            ("name", "Carol <b>C</b>"),
            ("password", PASSWORD),
            ("password_confirm", PASSWORD),
        ];
        for (key, value) in overrides {
            fields.retain(|(k, _)| k != key);
            fields.push((key, value));
        }
        if field == "password" {
            fields.retain(|(k, _)| *k != "password_confirm");
            fields.push(("password_confirm", "short"));
        }
        let reply = browser.submit("/signup", &fields).await;
        assert_eq!(reply.status, status, "{field}: {}", reply.html());
        let html = reply.html();
        assert!(
            html.contains(&format!("id=\"{field}-error\"")),
            "{field} error shown: {html}"
        );
        assert!(html.contains(&format!("aria-describedby=\"{field}-error")));
        assert!(html.contains("aria-invalid=\"true\""));
        assert!(
            html.contains("Carol &lt;b&gt;C&lt;&#x2F;b&gt;"),
            "typed name kept and escaped"
        );
        assert!(!html.contains(PASSWORD), "passwords are never echoed");
    }
    let count = t
        .call(
            Method::Get,
            "/api/users",
            Some(&t.member("dave").await.access),
            None,
        )
        .await
        .body["total"]
        .clone();
    assert_eq!(count, json!(2), "no account was created by a refused form");
}

#[rocket::async_test]
async fn login_follows_next_only_to_local_paths() {
    let t = TestApp::new().await;
    let browser = t.browser();
    t.register("bob").await;
    let cases = [
        ("/users", "/users"),
        ("/account?tab=1", "/account?tab=1"),
        ("//evil.example", "/"),
        ("//evil.example/users", "/"),
        ("/\\evil.example", "/"),
        ("https:evil.example", "/"),
        ("https://evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("evil.example", "/"),
        ("", "/"),
    ];
    for (next, expected) in cases {
        let form = browser.page("/login").await;
        let fields = [
            ("csrf_token", form.csrf()),
            ("username", "bob".into()),
            ("password", PASSWORD.into()),
            ("next", next.into()),
        ];
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let reply = browser.submit("/login", &fields).await;
        assert_eq!(
            (reply.status, reply.location()),
            (Status::SeeOther, expected),
            "next={next}"
        );
        let out = browser.page("/").await.csrf();
        browser.submit("/logout", &[("csrf_token", &out)]).await;
    }
}

#[rocket::async_test]
async fn failed_logins_get_one_generic_message() {
    let t = TestApp::new().await;
    let browser = t.browser();
    t.register("bob").await;
    let mut bodies = Vec::new();
    for (username, password) in [("bob", OTHER_PASSWORD), ("nobody", PASSWORD)] {
        let form = browser.page("/login").await;
        let reply = browser
            .submit(
                "/login",
                &[
                    ("csrf_token", &form.csrf()),
                    ("username", username),
                    ("password", password),
                ],
            )
            .await;
        assert_eq!(reply.status, Status::Unauthorized);
        assert!(reply.html().contains("Wrong username, email or password."));
        assert!(
            reply.html().contains(&format!("value=\"{username}\"")),
            "username kept"
        );
        assert!(!reply.html().contains(password), "password not echoed");
        bodies.push(reply.html().replace(username, "X"));
    }
    let empty = browser
        .submit_on("/login", "/login", &[("username", ""), ("password", "")])
        .await;
    assert_eq!(empty.status, Status::UnprocessableEntity);
    assert!(empty.html().contains("id=\"username-error\""));
}

#[rocket::async_test]
async fn logout_clears_the_cookies_and_protected_pages_redirect_again() {
    let t = TestApp::new().await;
    let browser = t.browser();
    browser.sign_up("alice").await;
    let home = browser.page("/").await;
    let reply = browser
        .submit("/logout", &[("csrf_token", &home.csrf())])
        .await;
    assert_eq!((reply.status, reply.location()), (Status::SeeOther, "/"));
    for name in ["access_token", "refresh_token"] {
        let cookie = reply
            .set_cookie(name)
            .unwrap_or_else(|| panic!("{name} cleared"));
        assert!(cookie.contains("Max-Age=0"), "{cookie}");
    }
    assert!(browser
        .page("/")
        .await
        .html()
        .contains("You have signed out."));
    assert_eq!(browser.page("/account").await.status, Status::SeeOther);
}

#[rocket::async_test]
async fn an_expired_access_cookie_is_renewed_silently_but_never_after_logout() {
    let t = TestApp::new().await;
    let alice = t.member("alice").await;
    let with_refresh = |refresh: String| {
        send(
            t.client
                .get("/account")
                .cookie(Cookie::new("refresh_token", refresh)),
        )
    };
    let renewed = with_refresh(alice.refresh.clone()).await;
    assert_eq!(
        renewed.status,
        Status::Ok,
        "signed in through the refresh cookie alone"
    );
    let new_access = renewed
        .set_cookie("access_token")
        .expect("a new access cookie");
    assert!(
        renewed.set_cookie("refresh_token").is_some(),
        "and a new refresh cookie"
    );
    assert!(new_access.contains("HttpOnly"));
    // A second browser (an empty cookie jar) with the refresh cookie of a logged-out session.
    let other = t.sign_in("alice", PASSWORD).await;
    other.call(Method::Post, "/api/logout", None).await;
    let second = t.another_instance().await;
    let cookie = Cookie::new("refresh_token", other.refresh.clone());
    let out = send(second.client.get("/account").cookie(cookie)).await;
    assert_eq!(
        out.status,
        Status::SeeOther,
        "a logged-out session cannot be renewed"
    );
    assert!(out.location().starts_with("/login"));
    let garbage = send(
        second
            .client
            .get("/account")
            .cookie(Cookie::new("access_token", "garbage")),
    )
    .await;
    assert_eq!(garbage.status, Status::SeeOther);
}

#[rocket::async_test]
async fn a_next_that_is_no_valid_uri_goes_home_instead_of_failing() {
    let t = TestApp::new().await;
    let alice = t.member("alice").await;
    for next in ["/a b", "/café", "/<x>", "/\"q\"", "/a|b"] {
        let browser = t.browser();
        let fields = [
            ("username", "alice"),
            ("password", PASSWORD),
            ("next", next),
        ];
        let reply = browser.submit_on("/login", "/login", &fields).await;
        // These answered 500 after the login had succeeded: a session and no cookies.
        assert_eq!(reply.status, Status::SeeOther, "{next}: {}", reply.html());
        assert_eq!(reply.location(), "/", "{next}");
        assert!(reply.set_cookie("access_token").is_some(), "{next}");
        let again = browser.page("/login?next=/a%20b").await;
        assert_eq!((again.status, again.location()), (Status::SeeOther, "/"));
    }
    assert_eq!(alice.get("/api/me").await.status, Status::Ok);
}

#[rocket::async_test]
async fn a_form_posted_after_the_session_ended_returns_to_its_page() {
    let t = TestApp::new().await;
    let alice = t.member("alice").await;
    let browser = t.browser();
    browser.login(&alice).await;
    browser.page("/account").await;
    // The session is ended elsewhere while the form is open.
    let ended = alice.call(Method::Post, "/api/logout-all", None).await;
    assert_eq!(ended.status, Status::NoContent);
    let fields = [
        ("username", "alice"),
        ("email", "alice@example.com"),
        ("name", "A"),
    ];
    let reply = browser.form("/account/profile", &fields).await;
    // It went to /login?next=%2Faccount%2Fprofile, a path that only takes POST: a 404 after
    // signing in, the input lost, and no word of why.
    assert_eq!(reply.location(), "/login?next=%2Faccount");
    let login = browser.page(reply.location()).await;
    assert!(
        login.html().contains("Your session has ended"),
        "{}",
        login.html()
    );
    let stranger = t.browser().page("/account").await;
    assert_eq!(stranger.location(), "/login?next=%2Faccount");
    let fresh = t.browser().page("/login?next=%2Faccount").await;
    assert!(!fresh.html().contains("Your session has ended"));
}
