//! The account page: profile, password and sessions.

use rocket::http::{Method, Status};

use crate::common::{TestApp, OTHER_PASSWORD, PASSWORD};

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
            "password_current",
        ),
        (change(PASSWORD, PASSWORD, PASSWORD), "new_password"),
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
        let html = reply.html();
        assert!(html.contains(&format!("id=\"{field}-error\"")), "{field}");
        assert!(html.contains("<title>Error: "), "{field}");
        let summary = format!("<li><a href=\"#{field}\">");
        assert!(html.contains(&summary), "the summary links to {field}");
    }
    let fields = change(PASSWORD, OTHER_PASSWORD, OTHER_PASSWORD);
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let copied = browser.cookie("access_token").expect("signed in");
    let changed = browser.submit("/account/password", &fields).await;
    assert_eq!(changed.status, Status::SeeOther);
    assert_eq!(
        browser.page("/account").await.status,
        Status::Ok,
        "this browser stays signed in"
    );
    assert_ne!(browser.cookie("access_token").as_ref(), Some(&copied));
    let stale = t.call(Method::Get, "/api/me", Some(&copied), None).await;
    assert_eq!(
        stale.code(),
        "token_revoked",
        "a copy of this browser's old cookie is worth nothing"
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
    let rows: Vec<&str> = html.split("<tr>").skip(2).collect();
    assert!(
        rows[0].contains("<mark>this browser</mark>"),
        "own session first"
    );
    assert!(html.contains(" UTC</time>"), "times say their zone");
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
async fn changing_the_email_after_a_while_asks_for_the_password() {
    let t = TestApp::new().await;
    let browser = t.browser();
    browser.sign_up("alice").await;
    t.advance(time::Duration::minutes(11));
    let profile = |email: &'static str, current: &'static str| {
        [
            ("username", "alice"),
            ("email", email),
            ("name", ""),
            ("current_password", current),
        ]
    };
    let renamed = browser
        .submit_on(
            "/account",
            "/account/profile",
            &[
                ("username", "alice"),
                ("email", "alice@example.com"),
                ("name", "Alice"),
            ],
        )
        .await;
    assert_eq!(renamed.status, Status::SeeOther, "a name needs no password");
    let asked = browser
        .submit_on(
            "/account",
            "/account/profile",
            &profile("new@example.com", ""),
        )
        .await;
    assert_eq!(asked.status, Status::UnprocessableEntity);
    assert!(asked.html().contains("id=\"current_password-error\""));
    assert!(
        asked.html().contains("value=\"new@example.com\""),
        "typed value kept"
    );
    let saved = browser
        .form("/account/profile", &profile("new@example.com", PASSWORD))
        .await;
    assert_eq!(saved.status, Status::SeeOther);
    assert!(browser
        .page("/account")
        .await
        .html()
        .contains("Waiting for confirmation: <strong>new@example.com</strong>"));
}
