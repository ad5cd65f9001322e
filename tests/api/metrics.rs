//! Prometheus metrics (API.md §11): served only with `metrics_token` and that Bearer token,
//! in the text exposition format, with every family the contract names and routes by their
//! templates. Counters belong to the process, which other tests share: the checks compare
//! before and after.

use std::collections::HashMap;

use diesel::prelude::*;
use gatehouse::db::schema::mail_queue;
use rocket::http::{Header, Status};
use serde_json::json;

use crate::common::{send, TestApp, PASSWORD};

const TOKEN: &str = "metrics-token-for-the-tests";

/// One scrape, parsed: each sample by its name and labels as written, and each family's type.
struct Scrape {
    samples: HashMap<String, f64>,
    types: HashMap<String, String>,
}

impl Scrape {
    fn parse(text: &str) -> Scrape {
        let (mut samples, mut types) = (HashMap::new(), HashMap::new());
        for line in text.lines() {
            if let Some(declared) = line.strip_prefix("# TYPE ") {
                let (family, kind) = declared.split_once(' ').expect("# TYPE name kind");
                types.insert(family.to_owned(), kind.to_owned());
            } else if !line.starts_with('#') && !line.is_empty() {
                let (series, value) = line.rsplit_once(' ').expect("a sample and its value");
                let value: f64 = value.parse().expect("a number");
                samples.insert(series.to_owned(), value);
            }
        }
        Scrape { samples, types }
    }

    fn value(&self, series: &str) -> f64 {
        self.samples.get(series).copied().unwrap_or(0.0)
    }
}

async fn scrape(t: &TestApp) -> Scrape {
    let mut request = t.client.get("/metrics");
    request.add_header(Header::new("Authorization", format!("Bearer {TOKEN}")));
    let reply = send(request).await;
    assert_eq!(reply.status, Status::Ok);
    let kind = reply.header("Content-Type").unwrap_or_default();
    assert!(
        kind.starts_with("text/plain") && kind.contains("version=0.0.4"),
        "{kind}"
    );
    Scrape::parse(reply.body.as_str().expect("text"))
}

#[rocket::async_test]
async fn metrics_are_served_only_with_the_token() {
    let without = TestApp::new().await;
    let mut asked = without.client.get("/metrics");
    asked.add_header(Header::new("Authorization", format!("Bearer {TOKEN}")));
    assert_eq!(
        send(asked).await.status,
        Status::NotFound,
        "no metrics_token set"
    );

    let t = TestApp::with(|f| f.merge(("metrics_token", TOKEN))).await;
    let bare = send(t.client.get("/metrics")).await;
    assert_eq!(bare.status, Status::NotFound);
    let mut wrong = t.client.get("/metrics");
    wrong.add_header(Header::new(
        "Authorization",
        "Bearer metrics-token-for-the-testz",
    ));
    assert_eq!(send(wrong).await.status, Status::NotFound);
    scrape(&t).await;
}

#[rocket::async_test]
async fn every_family_is_there_with_routes_by_template() {
    let t = TestApp::with(|f| {
        f.merge(("metrics_token", TOKEN))
            .merge(("login_max_failures", 2))
    })
    .await;
    let alice = t.member("alice").await;
    let before = scrape(&t).await;

    let shown = alice.get(&format!("/api/users/{}", alice.id)).await;
    assert_eq!(shown.status, Status::Ok);
    assert_eq!(t.login("alice", PASSWORD).await.status, Status::Ok);
    for _ in 0..2 {
        t.login("alice", "not the password").await;
    }
    let throttled = t.login("alice", "not the password").await;
    assert_eq!(throttled.status, Status::TooManyRequests);
    t.login("nobody-here", "not the password").await;
    let bob = t.member("bob").await;
    crate::mfa::enrol(&t, &bob).await;
    let step = t.login("bob", PASSWORD).await;
    let mfa_token = step.body["mfa_token"]
        .as_str()
        .expect("a challenge")
        .to_owned();
    let wrong = json!({"mfa_token": mfa_token, "recovery_code": "aaaaa-aaaaa"});
    assert_eq!(
        t.post("/api/login/mfa", wrong).await.status,
        Status::Unauthorized
    );
    let forgot = json!({"email": "alice@example.com"});
    assert_eq!(
        t.post("/api/password/forgot", forgot).await.status,
        Status::Accepted
    );
    // The answer does not wait for the mail (its timing would tell whether the account
    // exists): wait for the queue here.
    for _ in 0..100 {
        let queued: i64 = t.db(|c| mail_queue::table.count().get_result(c)).await;
        if queued > 0 {
            break;
        }
        rocket::tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let app = t.app();
    let live = gatehouse::maintenance::count_live_sessions(&app.db, &app.clock)
        .await
        .unwrap();
    assert_eq!(live, 3, "alice's first session, her login, and bob's");

    let after = scrape(&t).await;
    let grew = |series: &str| after.value(series) - before.value(series);
    let route =
        r#"gatehouse_http_requests_total{method="GET",route="/api/users/<id>",status="200"}"#;
    assert!(grew(route) >= 1.0, "{route}");
    let timed =
        r#"gatehouse_http_request_duration_seconds_count{method="GET",route="/api/users/<id>"}"#;
    assert!(grew(timed) >= 1.0, "{timed}");
    assert!(
        !after
            .samples
            .keys()
            .any(|series| series.contains(&alice.id)),
        "no raw id in any label"
    );
    let outcomes = [
        "success",
        "bad_password",
        "throttled",
        "unknown_account",
        "mfa_required",
        "mfa_failed",
    ];
    for outcome in outcomes {
        let series = format!("gatehouse_logins_total{{outcome=\"{outcome}\"}}");
        assert!(grew(&series) >= 1.0, "{series}");
    }
    assert!(grew(r#"gatehouse_throttled_total{kind="login"}"#) >= 1.0);
    assert!(grew(r#"gatehouse_mail_total{outcome="queued"}"#) >= 1.0);
    assert!(grew("gatehouse_db_pool_wait_seconds_count") >= 1.0);
    assert!(after
        .samples
        .contains_key(r#"gatehouse_db_pool_connections{state="idle"}"#));
    assert!(after
        .samples
        .contains_key(r#"gatehouse_db_pool_connections{state="in_use"}"#));
    assert!(after
        .samples
        .contains_key("gatehouse_password_hashes_queued"));
    assert!(after.samples.contains_key("gatehouse_sessions_live"));
    for (family, kind) in [
        ("gatehouse_http_requests_total", "counter"),
        ("gatehouse_http_request_duration_seconds", "histogram"),
        ("gatehouse_logins_total", "counter"),
        ("gatehouse_throttled_total", "counter"),
        ("gatehouse_sessions_live", "gauge"),
        ("gatehouse_db_pool_connections", "gauge"),
        ("gatehouse_db_pool_wait_seconds", "histogram"),
        ("gatehouse_password_hashes_queued", "gauge"),
        ("gatehouse_mail_total", "counter"),
    ] {
        assert_eq!(
            after.types.get(family).map(String::as_str),
            Some(kind),
            "{family}"
        );
    }
}
