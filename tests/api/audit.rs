//! The audit log: every account event is written, and only admins read it.

use rocket::http::{Method, Status};
use serde_json::json;

use crate::common::{TestApp, OTHER_PASSWORD, PASSWORD};

#[rocket::async_test]
async fn account_events_are_audited_and_admins_can_filter_them() {
    let t = TestApp::new().await;
    let admin = t.admin("root").await;
    let alice = t.sign_up("alice").await;
    t.login("alice", OTHER_PASSWORD).await;
    let change = json!({"current_password": PASSWORD, "new_password": OTHER_PASSWORD});
    alice.put("/api/me/password", change).await;
    let second = t.sign_in("alice", OTHER_PASSWORD).await;
    let sid = crate::common::claims_of(&second.access)["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    alice
        .call(
            Method::Delete,
            &format!("/api/users/{}/sessions/{sid}", alice.id),
            None,
        )
        .await;
    alice.call(Method::Post, "/api/logout", None).await;
    let third = t.sign_in("alice", OTHER_PASSWORD).await;
    third.call(Method::Post, "/api/logout-all", None).await;
    let body = json!({"username": "bob", "email": "bob@example.com", "password": PASSWORD});
    let bob = admin.post("/api/users", body).await;
    let bob_path = format!("/api/users/{}", bob.body["id"].as_str().unwrap());
    admin
        .patch(&bob_path, json!({"name": "Bob", "role": "admin"}))
        .await;
    admin.delete(&bob_path).await;

    let log = admin.get("/api/audit?per_page=100").await;
    assert_eq!(log.status, Status::Ok);
    let events: Vec<&str> = log.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    for expected in [
        "signup",
        "login",
        "login_failed",
        "logout",
        "logout_all",
        "password_changed",
        "session_revoked",
        "user_created",
        "user_updated",
        "role_changed",
        "user_deleted",
    ] {
        assert!(
            events.contains(&expected),
            "{expected} missing from {events:?}"
        );
    }
    assert_eq!(log.body["total"], events.len());
    let updated = admin.get("/api/audit?event=user_updated").await;
    let detail = &updated.body["events"][0]["detail"];
    assert_eq!(detail["fields"], json!(["name", "role"]));
    let password = admin.get("/api/audit?event=password_changed").await;
    assert!(
        !password.body.to_string().contains(OTHER_PASSWORD),
        "no secret in the log"
    );
    let failed = admin.get("/api/audit?event=login_failed").await;
    assert_eq!(failed.body["events"][0]["subject"], json!(alice.id));
    let alices = admin.get(&format!("/api/audit?user={}", alice.id)).await;
    let all_hers = alices.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["actor"] == json!(alice.id) || e["subject"] == json!(alice.id));
    assert!(all_hers && alices.body["total"].as_i64().unwrap() >= 5);
    let paged = admin.get("/api/audit?per_page=2&page=2").await;
    assert_eq!(paged.body["events"].as_array().unwrap().len(), 2);
    let bad = admin.get("/api/audit?event=nope").await;
    assert_eq!(bad.status, Status::UnprocessableEntity);
}

#[rocket::async_test]
async fn members_cannot_read_the_audit_log() {
    let t = TestApp::new().await;
    let alice = t.member("alice").await;
    let reply = alice.get("/api/audit").await;
    assert_eq!(
        (reply.status, reply.code()),
        (Status::Forbidden, "forbidden")
    );
    let anonymous = t.call(Method::Get, "/api/audit", None, None).await;
    assert_eq!(anonymous.code(), "missing_token");
}
