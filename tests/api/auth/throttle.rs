//! Login and sign-up throttling, kept in the database.

use rocket::http::{ContentType, Header, Status};
use serde_json::json;

use rocket::futures::future::join_all;

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
    // A stranger's lock-out is of the name typed: another spelling of the account (its
    // email) answers exactly as an unknown email does, so guessing which email belongs to
    // a locked username learns nothing (issue 12: this answered 429 and gave it away).
    let email = |address: &str| json!({"email": address, "password": OTHER_PASSWORD});
    let right = t.post("/api/login", email("alice@example.com")).await;
    let wrong = t.post("/api/login", email("alicia@example.com")).await;
    assert_eq!((right.status, &right.body), (wrong.status, &wrong.body));
    assert_eq!(right.code(), "invalid_credentials");
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
    assert!(
        page.html().contains("action=\"/login\"") && page.html().contains("value=\"alice\""),
        "the form stays, with what was typed"
    );
}

#[rocket::async_test]
async fn the_login_form_warns_when_a_lock_out_is_near() {
    let t = throttled(4, 100).await;
    let browser = t.browser();
    t.register("alice").await;
    let warnings = [
        None,
        Some("Two more wrong attempts"),
        Some("One more wrong attempt"),
        Some("now paused"),
    ];
    for warning in warnings {
        let fields = [("username", "alice"), ("password", "wrong")];
        let page = browser.submit_on("/login", "/login", &fields).await;
        assert_eq!(page.status, Status::Unauthorized);
        let html = page.html();
        match warning {
            Some(words) => assert!(html.contains(words), "{words}: {html}"),
            None => assert!(!html.contains("more wrong attempt"), "{html}"),
        }
    }
    let api = t.login("alice", "wrong").await;
    assert_eq!(api.code(), "too_many_requests", "the API answers as before");
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

#[rocket::async_test]
async fn a_burst_of_parallel_guesses_checks_no_more_than_the_limit() {
    let t = throttled(5, 1000).await;
    t.admin("root").await;
    let guesses = (0..64).map(|i| {
        let ip = format!("203.0.113.{i}");
        let t = &t;
        async move { t.login_from(&ip, "root", OTHER_PASSWORD).await }
    });
    let replies = join_all(guesses).await;
    let checked = replies
        .iter()
        .filter(|r| r.code() == "invalid_credentials")
        .count();
    let refused = replies
        .iter()
        .filter(|r| r.code() == "too_many_requests")
        .count();
    // Before the attempts were reserved, most of the 64 were checked (68 of 80 seen).
    assert_eq!((checked, refused), (5, 59), "{replies:?}");
}

#[rocket::async_test]
async fn strangers_cannot_lock_the_owner_out() {
    let t = throttled(3, 1000).await;
    let alice = t.member("alice").await;
    let home = "192.0.2.7";
    assert_eq!(
        t.login_from(home, "alice", PASSWORD).await.status,
        Status::Ok
    );
    let browser = t.browser();
    browser.login(&alice).await;
    browser.submit_on("/account", "/logout", &[]).await;

    for _ in 0..10 {
        t.login_from("203.0.113.9", "alice", OTHER_PASSWORD).await;
    }
    for stranger in ["203.0.113.9", "198.51.100.1"] {
        let locked = t.login_from(stranger, "alice", PASSWORD).await;
        assert_eq!(locked.status, Status::TooManyRequests, "{stranger}");
    }
    let from_home = t.login_from(home, "alice", PASSWORD).await;
    assert_eq!(
        from_home.status,
        Status::Ok,
        "an address she signed in from"
    );
    let again = browser.login(&alice).await;
    assert_eq!(again.location(), "/", "a browser she signed in with");

    // Her own mistakes count on her own counters only.
    for _ in 0..3 {
        t.login_from(home, "alice", OTHER_PASSWORD).await;
    }
    let locked_home = t.login_from(home, "alice", PASSWORD).await;
    assert_eq!(locked_home.status, Status::TooManyRequests);
    browser.submit_on("/account", "/logout", &[]).await;
    browser.login(&alice).await;
}

#[rocket::async_test]
async fn parallel_sign_ups_from_one_address_stop_at_the_limit() {
    let t = TestApp::with(|f| f.merge(("signups_per_hour", 20))).await;
    let names: Vec<String> = (0..40).map(|i| format!("racer{i}")).collect();
    let sign_ups = names.iter().map(|name| t.register(name));
    let replies = join_all(sign_ups).await;
    let created = replies
        .iter()
        .filter(|r| r.status == Status::Created)
        .count();
    // Before the reservation all 40 were created.
    assert_eq!(created, 20, "{replies:?}");
}

#[rocket::async_test]
async fn identifiers_with_control_characters_are_refused_without_counting() {
    let t = throttled(3, 1000).await;
    t.member("alice").await;
    for _ in 0..6 {
        let reply = t.login("alice@example.com\u{7}", OTHER_PASSWORD).await;
        assert_eq!(reply.code(), "invalid_credentials");
    }
    // Counted under the clean address before: this answered 429 and told that it exists.
    let clean = t.login("alice@example.com", OTHER_PASSWORD).await;
    assert_eq!(clean.code(), "invalid_credentials");
}

#[rocket::async_test]
async fn the_operator_unlocks_an_account_from_the_command_line() {
    let t = throttled(2, 1000).await;
    let admin = t.admin("root").await;
    t.member("alice").await;
    for _ in 0..2 {
        t.login("alice", OTHER_PASSWORD).await;
    }
    assert_eq!(
        t.login("alice", PASSWORD).await.status,
        Status::TooManyRequests
    );
    let out = t.command(&["unlock", "alice"], &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("alice may log in again"), "{stdout}");
    assert_eq!(t.login("alice", PASSWORD).await.status, Status::Ok);
    let audit = admin.get("/api/audit?event=lockout_cleared").await;
    assert_eq!(audit.body["total"], 1);
    let nobody = t.command(&["unlock", "nobody"], &[]);
    assert!(!nobody.status.success());
    assert!(String::from_utf8_lossy(&nobody.stderr).contains("no account is called nobody"));
}

#[rocket::async_test]
async fn an_ipv6_network_counts_as_one_client() {
    let t = throttled(100, 3).await;
    for host in 1..=3 {
        let ip = format!("2001:db8:0:7::{host}");
        let reply = t
            .login_from(&ip, &format!("guess{host}"), OTHER_PASSWORD)
            .await;
        assert_eq!(reply.code(), "invalid_credentials");
    }
    // Each address of the /64 counted apart before: 2^64 fresh limits.
    let same_network = t
        .login_from("2001:db8:0:7:ffff::9", "guess4", OTHER_PASSWORD)
        .await;
    assert_eq!(same_network.status, Status::TooManyRequests);
    let other_network = t
        .login_from("2001:db8:0:8::1", "guess5", OTHER_PASSWORD)
        .await;
    assert_eq!(other_network.code(), "invalid_credentials");
}

#[rocket::async_test]
async fn current_password_guesses_are_throttled_and_audited() {
    let t = throttled(3, 1000).await;
    let admin = t.admin("root").await;
    let alice = t.member("alice").await;
    let change =
        |current: &str| json!({"current_password": current, "new_password": OTHER_PASSWORD});
    for _ in 0..3 {
        let guess = alice
            .put("/api/me/password", change("not-my-password"))
            .await;
        assert_eq!(guess.status, Status::UnprocessableEntity);
    }
    // Every guess answered 422 before, and the right one then worked: a stolen session
    // could guess the password.
    let right = alice.put("/api/me/password", change(PASSWORD)).await;
    assert_eq!(right.status, Status::TooManyRequests);
    let path = format!("/api/users/{}", alice.id);
    let by_patch = alice
        .patch(
            &path,
            json!({"password": OTHER_PASSWORD, "current_password": PASSWORD}),
        )
        .await;
    assert_eq!(by_patch.status, Status::TooManyRequests);
    let audit = admin.get("/api/audit?event=password_check_failed").await;
    assert_eq!(audit.body["total"], 3);
    t.advance(time::Duration::seconds(61));
    let later = alice.put("/api/me/password", change(PASSWORD)).await;
    assert_eq!(later.status, Status::NoContent);
}

#[rocket::async_test]
async fn throttle_rows_never_hold_the_identifier_typed() {
    use diesel::prelude::*;
    use gatehouse::db::schema::login_throttle;
    let t = TestApp::new().await;
    // A password typed into the username box by mistake.
    t.login("Hunter2-My-Real-Password", OTHER_PASSWORD).await;
    let keys: Vec<String> = t
        .db(|c| login_throttle::table.select(login_throttle::key).load(c))
        .await;
    // It was stored as "account:?hunter2-my-real-password" before.
    assert!(keys.iter().all(|key| !key.contains("hunter2")), "{keys:?}");
    assert!(keys.iter().any(|key| key.starts_with("login:")), "{keys:?}");
}
