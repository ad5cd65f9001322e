//! Login and sign-up throttling, kept in the database.

use rocket::http::{ContentType, Header, Status};
use serde_json::json;

use crate::common::{send, Reply, TestApp, OTHER_PASSWORD, PASSWORD};

async fn throttled(max: i32, ip_max: i32) -> TestApp {
    TestApp::with(move |f| {
        f.merge(("login_max_failures", max))
            .merge(("login_ip_max_failures", ip_max))
            .merge(("login_lockout", 60))
    })
    .await
}

fn retry_after(reply: &Reply) -> i64 {
    reply
        .header("Retry-After")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[rocket::async_test]
async fn repeated_failures_lock_the_account_known_or_not() {
    let t = throttled(3, 100).await;
    t.register("alice").await;
    for name in ["alice", "nobody"] {
        for _ in 0..3 {
            assert_eq!(
                t.login(name, OTHER_PASSWORD).await.code(),
                "invalid_credentials"
            );
        }
        let locked = t.login(name, PASSWORD).await;
        assert_eq!(
            (locked.status, locked.code()),
            (Status::TooManyRequests, "too_many_requests"),
            "{name}"
        );
        assert!(
            (55..=60).contains(&retry_after(&locked)),
            "{name}: {:?}",
            locked.header("Retry-After")
        );
    }
    let known = t.login("alice", PASSWORD).await;
    let unknown = t.login("nobody", PASSWORD).await;
    assert_eq!(
        known.body, unknown.body,
        "a lock-out reveals nothing about the account"
    );
    let by_email = t
        .post(
            "/api/login",
            json!({"email": "alice@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(
        by_email.status,
        Status::TooManyRequests,
        "the account is locked, not the name typed"
    );
    t.register("bob").await;
    assert_eq!(
        t.login("bob", PASSWORD).await.status,
        Status::Ok,
        "other accounts are untouched"
    );
}

#[rocket::async_test]
async fn spoofed_address_headers_do_not_escape_the_address_limit() {
    let t = throttled(100, 5).await;
    t.register("alice").await;
    for i in 0..5 {
        let mut request = t.client.post("/api/login").header(ContentType::JSON);
        request.add_header(Header::new("X-Real-IP", format!("198.51.100.{i}")));
        request.add_header(Header::new(
            "X-Forwarded-For",
            format!("203.0.113.{i}, 10.0.0.{i}"),
        ));
        request.set_body(json!({"username": format!("guess{i}"), "password": "x"}).to_string());
        assert_eq!(send(request).await.code(), "invalid_credentials");
    }
    let blocked = t.login("alice", PASSWORD).await;
    assert_eq!(
        blocked.status,
        Status::TooManyRequests,
        "one client, however it dresses up"
    );
}

#[rocket::async_test]
async fn a_successful_login_resets_the_accounts_count() {
    let t = throttled(3, 100).await;
    t.register("alice").await;
    for _ in 0..3 {
        t.login("alice", OTHER_PASSWORD).await;
        t.login("alice", OTHER_PASSWORD).await;
        assert_eq!(t.login("alice", PASSWORD).await.status, Status::Ok);
    }
}

#[rocket::async_test]
async fn each_lockout_lasts_twice_as_long_as_the_last() {
    let t = throttled(2, 100).await;
    t.register("alice").await;
    let mut waits = Vec::new();
    for _ in 0..3 {
        t.login("alice", OTHER_PASSWORD).await;
        t.login("alice", OTHER_PASSWORD).await;
        waits.push(retry_after(&t.login("alice", PASSWORD).await));
        t.advance(time::Duration::seconds(waits.last().copied().unwrap_or(0)));
    }
    assert!((55..=60).contains(&waits[0]), "{waits:?}");
    assert!((115..=120).contains(&waits[1]), "{waits:?}");
    assert!((235..=240).contains(&waits[2]), "{waits:?}");
}

#[rocket::async_test]
async fn admins_clear_a_lockout_through_the_api_and_the_console() {
    let t = throttled(2, 100).await;
    let browser = t.browser();
    let admin = t.admin("root").await;
    let alice = t.member("alice").await;
    let lock = || async {
        t.login("alice", OTHER_PASSWORD).await;
        t.login("alice", OTHER_PASSWORD).await;
        assert_eq!(
            t.login("alice", PASSWORD).await.status,
            Status::TooManyRequests
        );
    };
    lock().await;
    let path = format!("/api/users/{}/lockout", alice.id);
    let refused = alice.delete(&path).await;
    assert_eq!(refused.status, Status::Forbidden);
    let cleared = admin.delete(&path).await;
    assert_eq!(cleared.status, Status::NoContent);
    assert_eq!(t.login("alice", PASSWORD).await.status, Status::Ok);
    let audit = admin.get("/api/audit?event=lockout_cleared").await;
    assert_eq!(audit.body["total"], 1);

    lock().await;
    browser.login(&admin).await;
    let page = format!("/admin/users/{}", alice.id);
    let shown = browser.page(&page).await;
    assert!(shown.html().contains("Logins are locked for"));
    let unlock = browser
        .submit(&format!("{page}/unlock"), &[("csrf_token", &shown.csrf())])
        .await;
    assert_eq!(unlock.status, Status::SeeOther);
    assert_eq!(t.login("alice", PASSWORD).await.status, Status::Ok);
}

#[rocket::async_test]
async fn the_login_page_says_when_to_retry() {
    let t = throttled(2, 100).await;
    let browser = t.browser();
    t.register("alice").await;
    for _ in 0..2 {
        let form = browser.page("/login").await;
        browser
            .submit(
                "/login",
                &[
                    ("csrf_token", &form.csrf()),
                    ("username", "alice"),
                    ("password", "wrong"),
                ],
            )
            .await;
    }
    let page = browser
        .submit_on(
            "/login",
            "/login",
            &[("username", "alice"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(page.status, Status::TooManyRequests);
    assert!(page.html().contains("try again in"), "{}", page.html());
    assert!(retry_after(&page) > 0);
}

#[rocket::async_test]
async fn sign_ups_are_limited_per_address() {
    let t = TestApp::with(|f| f.merge(("signups_per_hour", 2))).await;
    let browser = t.browser();
    assert_eq!(t.register("one").await.status, Status::Created);
    assert_eq!(t.register("two").await.status, Status::Created);
    let third = t.register("three").await;
    assert_eq!(
        (third.status, third.code()),
        (Status::TooManyRequests, "too_many_requests")
    );
    assert!(retry_after(&third) > 3000);
    let form = browser.page("/signup").await;
    let fields = [
        ("csrf_token", form.csrf()),
        ("username", "four".into()),
        ("email", "four@example.com".into()),
        ("password", PASSWORD.into()),
        ("password_confirm", PASSWORD.into()),
    ];
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(
        browser.submit("/signup", &fields).await.status,
        Status::TooManyRequests
    );
}
