//! `gatehouse rotate-keys`: a new signer, nobody logged out, every instance told.

use rocket::http::{Method, Status};
use serde_json::json;

use crate::common::{TestApp, PASSWORD};

fn kid(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

fn rotate(t: &TestApp, extra: &[(&str, &str)]) -> std::process::Output {
    t.command(&["rotate-keys"], extra)
}

#[rocket::async_test]
async fn rotating_keys_logs_nobody_out_and_reaches_running_instances() {
    let t = TestApp::new().await;
    let alice = t.member("alice").await;
    let old = kid(&alice.access);
    let out = rotate(&t, &[]);
    assert!(
        out.status.success(),
        "{:?}: {} {}",
        out.status,
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("New signing key"));
    let ring = t.key_ring().await;
    assert_eq!(ring.keys.len(), 2);
    assert_ne!(ring.signing_kid, old);

    assert_eq!(
        alice.get("/api/me").await.status,
        Status::Ok,
        "old tokens still work"
    );
    let fresh = t.another_instance().await;
    let bob = fresh.member("bob").await;
    assert_eq!(
        kid(&bob.access),
        ring.signing_kid,
        "a new instance signs with the new key"
    );
    // The running instance meets the new kid for the first time.
    let seen = t
        .call(Method::Get, "/api/me", Some(&bob.access), None)
        .await;
    assert_eq!(
        seen.status,
        Status::Ok,
        "the running one accepts it: {:?}",
        seen.body
    );
    let carol = t.member("carol").await;
    assert_eq!(
        kid(&carol.access),
        ring.signing_kid,
        "and signs with it from then on"
    );
    let renewed = t
        .post(
            "/api/token/refresh",
            json!({"refresh_token": alice.refresh}),
        )
        .await;
    assert_eq!(
        renewed.status,
        Status::Ok,
        "refresh tokens from before the rotation work"
    );
    assert_eq!(t.login("alice", PASSWORD).await.status, Status::Ok);
}

#[rocket::async_test]
async fn configured_keys_are_rotated_in_the_settings_not_by_the_command() {
    let t = TestApp::new().await;
    let keys = r#"[{kid="a", secret="MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}]"#;
    let out = rotate(&t, &[("ROCKET_JWT_KEYS", keys)]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("jwt_keys setting"));
}
