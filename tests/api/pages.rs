//! The HTML pages through Rocket's local client, which keeps cookies like a browser.

use rocket::http::{ContentType, Cookie, Method, Status};
use serde_json::json;

use crate::common::{send, TestApp, OTHER_PASSWORD, PASSWORD};

/// Form fields as typed into a browser.
type Fields<'a> = &'a [(&'a str, &'a str)];

/// The cookie set under `name` in a reply, as sent.
fn set_cookie<'a>(reply: &'a crate::common::Reply, name: &str) -> Option<&'a str> {
    let prefix = format!("{name}=");
    reply
        .all("Set-Cookie")
        .into_iter()
        .find(|c| c.starts_with(&prefix))
}

#[rocket::async_test]
async fn anonymous_visitors_see_the_landing_page_and_the_forms() {
    let t = TestApp::new().await;
    let browser = t.browser();
    let landing = browser.page("/").await;
    assert_eq!(landing.status, Status::Ok);
    assert!(landing.html().contains("href=\"/signup\""));
    for path in ["/signup", "/login"] {
        let page = browser.page(path).await;
        assert_eq!(page.status, Status::Ok, "{path}");
        assert!(!page.csrf().is_empty(), "{path} carries a CSRF token");
        assert!(
            page.html().contains("<label for=\"username\""),
            "{path} labels its inputs"
        );
        assert!(page.html().contains("/static/pico.min.css"));
    }
    let css = browser.page("/static/pico.min.css").await;
    assert_eq!(css.header("Content-Type"), Some("text/css; charset=utf-8"));
    assert!(css.header("Cache-Control").unwrap().contains("max-age"));
}

#[rocket::async_test]
async fn protected_pages_send_anonymous_visitors_to_login_and_back() {
    let t = TestApp::new().await;
    let browser = t.browser();
    let api_user = t.member("bob").await;
    for path in [
        "/users",
        "/users?q=b&page=1",
        "/account",
        &format!("/users/{}", api_user.id),
    ] {
        let reply = browser.page(path).await;
        assert_eq!(reply.status, Status::SeeOther, "{path}");
        let to = reply.location();
        assert!(to.starts_with("/login?next="), "{path} -> {to}");
        let next = to.trim_start_matches("/login?next=");
        let decoded: String = form_urlencoded::parse(format!("next={next}").as_bytes())
            .next()
            .unwrap()
            .1
            .into_owned();
        assert_eq!(decoded, path);
    }
    let form = browser.page("/login?next=%2Fusers").await;
    let reply = browser
        .submit(
            "/login",
            &[
                ("csrf_token", &form.csrf()),
                ("username", "bob"),
                ("password", PASSWORD),
                ("next", "/users"),
            ],
        )
        .await;
    assert_eq!(
        (reply.status, reply.location()),
        (Status::SeeOther, "/users")
    );
    assert_eq!(browser.page("/users").await.status, Status::Ok);
}

#[rocket::async_test]
async fn signing_up_signs_in_with_httponly_lax_cookies() {
    let t = TestApp::new().await;
    let browser = t.browser();
    let reply = browser.sign_up("alice").await;
    assert_eq!(reply.location(), "/");
    for name in ["access_token", "refresh_token"] {
        let cookie = set_cookie(&reply, name).unwrap_or_else(|| panic!("{name} set"));
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
        let cookie = set_cookie(&reply, name).unwrap_or_else(|| panic!("{name} set"));
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
        assert!(html.contains(&format!("aria-describedby=\"{field}-error\"")));
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
    assert!(set_cookie(&login, "access_token").is_none());

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
    let form = browser.page("/login").await;
    let empty = browser
        .submit(
            "/login",
            &[
                ("csrf_token", &form.csrf()),
                ("username", ""),
                ("password", ""),
            ],
        )
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
        let cookie = set_cookie(&reply, name).unwrap_or_else(|| panic!("{name} cleared"));
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
    let new_access = set_cookie(&renewed, "access_token").expect("a new access cookie");
    assert!(
        set_cookie(&renewed, "refresh_token").is_some(),
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
async fn the_directory_searches_and_pages_through_active_members() {
    let t = TestApp::new().await;
    let browser = t.browser();
    let admin = t.admin("root").await;
    for i in 0..24 {
        t.register(&format!("user{i:02}")).await;
    }
    let hidden = t.member("hidden").await;
    let path = format!("/api/users/{}", hidden.id);
    admin.patch(&path, json!({"active": false})).await;
    browser.sign_up("viewer").await;
    let first = browser.page("/users").await;
    assert_eq!(first.status, Status::Ok);
    assert!(
        first.html().contains("26 members"),
        "24 + root + viewer, not the hidden one"
    );
    assert_eq!(first.html().matches("<tr>").count(), 21, "header + 20 rows");
    assert!(first.html().contains("rel=\"next\""));
    assert!(
        !first.html().contains("@example.com"),
        "no emails in the directory"
    );
    let second = browser.page("/users?page=2").await;
    assert_eq!(second.html().matches("<tr>").count(), 7);
    assert!(second.html().contains("rel=\"prev\""));
    let search = browser.page("/users?q=USER1").await;
    assert!(
        search.html().contains("10 members matching"),
        "{}",
        search.html()
    );
    let none = browser.page("/users?q=hidden").await;
    assert!(none.html().contains("0 members"));
    let profile = browser.page(&format!("/users/{}", admin.id)).await;
    assert!(profile.html().contains("<h1>root</h1>"));
    assert_eq!(
        browser.page(&format!("/users/{}", hidden.id)).await.status,
        Status::NotFound
    );
    let missing = browser.page("/users/not-a-user").await;
    assert_eq!(missing.status, Status::NotFound);
    assert!(missing.html().contains("Page not found") && missing.html().contains("<nav"));
}

#[rocket::async_test]
async fn names_are_escaped_everywhere() {
    let t = TestApp::new().await;
    let browser = t.browser();
    browser.sign_up("alice").await;
    let account = browser.page("/account").await;
    let evil = "<script>alert(1)</script>{{ 7*7 }}";
    let reply = browser
        .submit(
            "/account/profile",
            &[
                ("csrf_token", &account.csrf()),
                ("username", "alice"),
                ("email", "alice@example.com"),
                ("name", evil),
            ],
        )
        .await;
    assert_eq!(reply.status, Status::SeeOther);
    for path in ["/", "/users", "/account"] {
        let html = browser.page(path).await.body.as_str().unwrap().to_owned();
        assert!(!html.contains("<script>"), "{path}");
        assert!(
            html.contains("{{ 7*7 }}"),
            "{path}: shown as typed, never evaluated"
        );
        assert!(
            html.contains("&lt;script&gt;"),
            "{path} shows the name, escaped"
        );
    }
}

#[rocket::async_test]
async fn the_account_page_edits_the_profile_and_the_password() {
    let t = TestApp::new().await;
    let browser = t.browser();
    t.register("bob").await;
    browser.sign_up("alice").await;
    let csrf = browser.page("/account").await.csrf();
    let profile = |username: &'static str, email: &'static str| {
        [
            ("csrf_token", csrf.clone()),
            ("username", username.into()),
            ("email", email.into()),
            ("name", "Alice L".into()),
        ]
    };
    let fields = profile("alice2", "alice2@example.com");
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let saved = browser.submit("/account/profile", &fields).await;
    assert_eq!(
        (saved.status, saved.location()),
        (Status::SeeOther, "/account")
    );
    let page = browser.page("/account").await;
    assert!(
        page.html().contains("Your profile is saved.") && page.html().contains("value=\"alice2\"")
    );
    for (username, email, status, field) in [
        ("bob", "x@example.com", Status::Conflict, "username"),
        ("al ice", "bad", Status::UnprocessableEntity, "email"),
    ] {
        let fields = profile(username, email);
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let reply = browser.submit("/account/profile", &fields).await;
        assert_eq!(reply.status, status);
        assert!(reply.html().contains(&format!("id=\"{field}-error\"")));
        assert!(
            reply.html().contains(&format!("value=\"{username}\"")),
            "typed value kept"
        );
    }

    let other = t.sign_in("alice2", PASSWORD).await;
    let change = |current: &str, new: &str, again: &str| {
        [
            ("csrf_token", csrf.clone()),
            ("current_password", current.into()),
            ("new_password", new.into()),
            ("new_password_confirm", again.into()),
        ]
    };
    for (fields, field) in [
        (
            change(OTHER_PASSWORD, OTHER_PASSWORD, OTHER_PASSWORD),
            "current_password",
        ),
        (
            change(PASSWORD, OTHER_PASSWORD, "different-one-here"),
            "new_password_confirm",
        ),
        (
            change(PASSWORD, "alice2alice2", "alice2alice2"),
            "new_password",
        ),
    ] {
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let reply = browser.submit("/account/password", &fields).await;
        assert_eq!(reply.status, Status::UnprocessableEntity, "{field}");
        assert!(
            reply.html().contains(&format!("id=\"{field}-error\"")),
            "{field}"
        );
    }
    let fields = change(PASSWORD, OTHER_PASSWORD, OTHER_PASSWORD);
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let changed = browser.submit("/account/password", &fields).await;
    assert_eq!(changed.status, Status::SeeOther);
    assert_eq!(
        browser.page("/account").await.status,
        Status::Ok,
        "this browser stays signed in"
    );
    assert_eq!(
        other.get("/api/me").await.code(),
        "token_revoked",
        "other sessions end"
    );
}

#[rocket::async_test]
async fn sessions_are_listed_and_ended_from_the_account_page() {
    let t = TestApp::new().await;
    let browser = t.browser();
    browser.sign_up("alice").await;
    let phone = t.sign_in("alice", PASSWORD).await;
    let page = browser.page("/account").await;
    let html = page.html().to_owned();
    assert_eq!(html.matches("/end\"").count(), 2, "two sessions listed");
    assert!(html.contains("this browser"));
    let phone_sid = crate::common::claims_of(&phone.access)["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    let csrf = page.csrf();
    let ended = browser
        .submit(
            &format!("/account/sessions/{phone_sid}/end"),
            &[("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(
        (ended.status, ended.location()),
        (Status::SeeOther, "/account")
    );
    assert_eq!(phone.get("/api/me").await.code(), "token_revoked");
    let laptop = t.sign_in("alice", PASSWORD).await;
    let everywhere = browser
        .submit("/account/logout-all", &[("csrf_token", &csrf)])
        .await;
    assert_eq!(
        (everywhere.status, everywhere.location()),
        (Status::SeeOther, "/")
    );
    assert_eq!(laptop.get("/api/me").await.code(), "token_revoked");
    assert_eq!(
        browser.page("/account").await.status,
        Status::SeeOther,
        "this browser too"
    );
}

#[rocket::async_test]
async fn pages_carry_the_security_headers() {
    let t = TestApp::new().await;
    let browser = t.browser();
    for path in ["/", "/login", "/nowhere"] {
        let page = browser.page(path).await;
        let csp = page.header("Content-Security-Policy").unwrap();
        assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"));
        assert!(!csp.contains("unsafe-inline"));
        assert_eq!(page.header("X-Content-Type-Options"), Some("nosniff"));
        assert!(page.header("Referrer-Policy").is_some());
        assert!(
            !page.html().contains("<script"),
            "{path}: pages need no JavaScript"
        );
    }
}
