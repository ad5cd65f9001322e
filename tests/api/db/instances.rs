//! Several instances on one database, configured secrets, and losing the database.

use diesel::{Connection, PgConnection, RunQueryDsl};
use rocket::http::{Method, Status};
use serde_json::json;

use crate::common::{claims_of, send, TestApp, PASSWORD};

#[rocket::async_test]
async fn instances_on_one_database_accept_each_others_tokens_and_revocations() {
    let a = TestApp::new().await;
    let b = a.another_instance().await;
    let admin = a.admin("root").await;
    let alice = a.member("alice").await;
    assert_eq!(
        b.call(Method::Get, "/api/me", Some(&alice.access), None)
            .await
            .status,
        Status::Ok,
        "A's token works on B"
    );
    let renewed = b
        .post(
            "/api/token/refresh",
            json!({"refresh_token": alice.refresh}),
        )
        .await;
    assert_eq!(renewed.status, Status::Ok, "B refreshes A's session");
    let renewed = a.tester(&renewed.body);
    assert_eq!(
        a.call(Method::Get, "/api/me", Some(&renewed.access), None)
            .await
            .status,
        Status::Ok,
        "and A takes B's token"
    );
    let out = b
        .call(Method::Post, "/api/logout", Some(&renewed.access), None)
        .await;
    assert_eq!(out.status, Status::NoContent);
    let refused = a
        .call(Method::Get, "/api/me", Some(&renewed.access), None)
        .await;
    assert_eq!(
        (refused.status, refused.code()),
        (Status::Unauthorized, "token_revoked")
    );

    let bob = b.member("bob").await;
    let path = format!("/api/users/{}", bob.id);
    let off = a
        .call(
            Method::Patch,
            &path,
            Some(&admin.access),
            Some(json!({"active": false})),
        )
        .await;
    assert_eq!(off.status, Status::Ok);
    let refused = b
        .call(Method::Get, "/api/me", Some(&bob.access), None)
        .await;
    assert_eq!(
        (refused.status, refused.code()),
        (Status::Unauthorized, "token_revoked")
    );
    assert_eq!(b.login("bob", PASSWORD).await.code(), "account_disabled");
}

#[rocket::async_test]
async fn configured_signing_keys_are_used_and_never_written_out() {
    let secret = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="; // 32 bytes
    let keys = json!([{"kid": "old", "secret": secret}, {"kid": "k-2026", "secret": secret}]);
    let t = TestApp::with(|f| f.merge(("jwt_keys", keys.clone()))).await;
    let alice = t.member("alice").await;
    let header = jsonwebtoken::decode_header(&alice.access).unwrap();
    assert_eq!(
        header.kid.as_deref(),
        Some("k-2026"),
        "the last key signs by default"
    );
    assert!(!t.dir.path().join("jwt_keys.json").exists());
    let pinned = TestApp::with(|f| {
        f.merge(("jwt_keys", keys))
            .merge(("jwt_signing_kid", "old"))
    })
    .await;
    let bob = pinned.member("bob").await;
    assert_eq!(
        jsonwebtoken::decode_header(&bob.access)
            .unwrap()
            .kid
            .as_deref(),
        Some("old")
    );
    assert_eq!(claims_of(&bob.access)["sub"], json!(bob.id));
}

/// Runs SQL on the test's PostgreSQL server.
fn on_server(server: &str, sql: &str) {
    let mut conn = PgConnection::establish(server).unwrap();
    diesel::sql_query(sql).execute(&mut conn).unwrap();
}

#[rocket::async_test]
async fn losing_the_database_answers_503_and_recovers_by_itself() {
    let t = TestApp::with(|f| f.merge(("database_timeout", 1))).await;
    let Some(database) = t.database.clone() else {
        eprintln!("skipped: needs TEST_DATABASE_URL=postgres://… (SQLite cannot go away)");
        return;
    };
    let alice = t.member("alice").await;
    let name = &database.name;
    on_server(
        &database.server,
        &format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"),
    );
    on_server(
        &database.server,
        &format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"),
    );
    let health = send(t.client.get("/healthz")).await;
    assert_eq!(
        (health.status, health.body.clone()),
        (Status::ServiceUnavailable, json!({"status": "unavailable"}))
    );
    let me = alice.get("/api/me").await;
    assert_eq!(
        (me.status, me.code()),
        (Status::ServiceUnavailable, "service_unavailable")
    );
    let login = t.login("alice", PASSWORD).await;
    assert_eq!(login.status, Status::ServiceUnavailable);

    on_server(
        &database.server,
        &format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"),
    );
    // The pool reconnects in the background, backing off after the failures: give it a
    // few seconds, not a restart.
    let mut health = send(t.client.get("/healthz")).await;
    for _ in 0..20 {
        if health.status == Status::Ok {
            break;
        }
        rocket::tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        health = send(t.client.get("/healthz")).await;
    }
    assert_eq!(health.status, Status::Ok, "recovered without a restart");
    assert_eq!(alice.get("/api/me").await.status, Status::Ok);
}

#[rocket::async_test]
async fn connections_killed_while_idle_are_replaced_unseen() {
    let t = TestApp::new().await;
    let Some(database) = t.database.clone() else {
        eprintln!("skipped: needs TEST_DATABASE_URL=postgres://… (SQLite cannot go away)");
        return;
    };
    let alice = t.member("alice").await;
    assert_eq!(alice.get("/api/me").await.status, Status::Ok);
    let name = &database.name;
    on_server(
        &database.server,
        &format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"),
    );
    // A connection idle this long is pinged before it is handed out (a busy one is not).
    rocket::tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(alice.get("/api/me").await.status, Status::Ok);
}
