//! The audit log: every account event is written, and only admins read it.

use rocket::http::{Method, Status};
use serde_json::json;

use crate::common::{TestApp, OTHER_PASSWORD, PASSWORD};

#[rocket::async_test]
async fn account_events_are_audited_and_admins_can_filter_them() {
    let t = TestApp::new().await;
    let admin = t.admin("root").await;
    let alice = t.member("alice").await;
    t.login("alice", OTHER_PASSWORD).await;
    let change = json!({"current_password": PASSWORD, "new_password": OTHER_PASSWORD});
    t.call(
        Method::Put,
        "/api/me/password",
        Some(&alice.access),
        Some(change),
    )
    .await;
    let second = t.sign_in("alice", OTHER_PASSWORD).await;
    let sid = crate::common::claims_of(&second.access)["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    t.call(
        Method::Delete,
        &format!("/api/users/{}/sessions/{sid}", alice.id),
        Some(&alice.access),
        None,
    )
    .await;
    t.call(Method::Post, "/api/logout", Some(&alice.access), None)
        .await;
    let third = t.sign_in("alice", OTHER_PASSWORD).await;
    t.call(Method::Post, "/api/logout-all", Some(&third.access), None)
        .await;
    let body = json!({"username": "bob", "email": "bob@example.com", "password": PASSWORD});
    let bob = t
        .call(Method::Post, "/api/users", Some(&admin.access), Some(body))
        .await;
    let bob_path = format!("/api/users/{}", bob.body["id"].as_str().unwrap());
    t.call(
        Method::Patch,
        &bob_path,
        Some(&admin.access),
        Some(json!({"name": "Bob", "role": "admin"})),
    )
    .await;
    t.call(Method::Delete, &bob_path, Some(&admin.access), None)
        .await;

    let log = t.get("/api/audit?per_page=100", &admin.access).await;
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
    let updated = t.get("/api/audit?event=user_updated", &admin.access).await;
    let detail = &updated.body["events"][0]["detail"];
    assert_eq!(detail["fields"], json!(["name", "role"]));
    let password = t
        .get("/api/audit?event=password_changed", &admin.access)
        .await;
    assert!(
        !password.body.to_string().contains(OTHER_PASSWORD),
        "no secret in the log"
    );
    let failed = t.get("/api/audit?event=login_failed", &admin.access).await;
    assert_eq!(failed.body["events"][0]["subject"], json!(alice.id));
    let alices = t
        .get(&format!("/api/audit?user={}", alice.id), &admin.access)
        .await;
    let all_hers = alices.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["actor"] == json!(alice.id) || e["subject"] == json!(alice.id));
    assert!(all_hers && alices.body["total"].as_i64().unwrap() >= 5);
    let paged = t.get("/api/audit?per_page=2&page=2", &admin.access).await;
    assert_eq!(paged.body["events"].as_array().unwrap().len(), 2);
    let bad = t.get("/api/audit?event=nope", &admin.access).await;
    assert_eq!(bad.status, Status::UnprocessableEntity);
}

#[rocket::async_test]
async fn members_cannot_read_the_audit_log() {
    let t = TestApp::new().await;
    let alice = t.member("alice").await;
    let reply = t.get("/api/audit", &alice.access).await;
    assert_eq!(
        (reply.status, reply.code()),
        (Status::Forbidden, "forbidden")
    );
    let anonymous = t.call(Method::Get, "/api/audit", None, None).await;
    assert_eq!(anonymous.code(), "missing_token");
}
