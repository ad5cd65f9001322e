//! Sessions: refresh rotation and reuse, and revocation that bites on the very next request.

use rocket::figment::Figment;
use rocket::http::{Method, Status};
use serde_json::json;

use crate::common::{claims_of, TestApp, Tester, OTHER_PASSWORD, PASSWORD};

fn sid(token: &str) -> String {
    claims_of(token)["sid"].as_str().unwrap().to_owned()
}

async fn refresh(t: &TestApp, token: &str) -> crate::common::Reply {
    t.post("/api/token/refresh", json!({"refresh_token": token}))
        .await
}

async fn assert_refused(t: &TestApp, who: &Tester, why: &str) {
    let reply = who.get("/api/me").await;
    assert_eq!(
        (reply.status, reply.code()),
        (Status::Unauthorized, "token_revoked"),
        "{why}"
    );
    let renewed = refresh(t, &who.refresh).await;
    assert_eq!(
        renewed.status,
        Status::Unauthorized,
        "{why}: the refresh token is dead too"
    );
}

#[rocket::async_test]
async fn refresh_rotates_the_pair_and_each_refresh_token_works_once() {
    let t = TestApp::new().await;
    let alice = t.member("alice").await;
    let first = alice.refresh().await;
    assert_eq!(first.status, Status::Ok);
    let renewed = t.tester(&first.body);
    assert_ne!(renewed.refresh, alice.refresh);
    assert_eq!(renewed.get("/api/me").await.status, Status::Ok);
    // Within the grace period the retired token is refused but the session lives on.
    let again = alice.refresh().await;
    assert_eq!(
        (again.status, again.code()),
        (Status::Unauthorized, "invalid_token")
    );
    assert_eq!(renewed.get("/api/me").await.status, Status::Ok);
    let next = renewed.refresh().await;
    assert_eq!(next.status, Status::Ok);
}

#[rocket::async_test]
async fn a_retired_refresh_token_after_the_grace_period_ends_the_session() {
    let t = TestApp::new().await;
    let alice = t.member("alice").await;
    let renewed = t.tester(&alice.refresh().await.body);
    t.advance(time::Duration::seconds(60));
    let reuse = alice.refresh().await;
    assert_eq!(
        (reuse.status, reuse.code()),
        (Status::Unauthorized, "token_revoked")
    );
    assert_refused(&t, &renewed, "the thief's copy killed the session").await;
}

#[rocket::async_test]
async fn refresh_refuses_garbage_and_expired_sessions() {
    // Sessions and access tokens that live as long, so the session is what runs out.
    let lifetimes = |f: Figment| {
        f.merge(("access_token_ttl", 100))
            .merge(("refresh_token_ttl", 100))
    };
    let t = TestApp::with(lifetimes).await;
    let alice = t.member("alice").await;
    let garbage = refresh(&t, "nope").await;
    assert_eq!(garbage.code(), "invalid_token");
    let missing = t.post("/api/token/refresh", json!({})).await;
    assert_eq!(missing.status, Status::UnprocessableEntity);
    t.advance(time::Duration::seconds(110));
    assert_refused(&t, &alice, "expired session").await;
}

#[rocket::async_test]
async fn logout_ends_only_this_session() {
    let t = TestApp::new().await;
    let phone = t.member("alice").await;
    let laptop = t.sign_in("alice", PASSWORD).await;
    let reply = phone.call(Method::Post, "/api/logout", None).await;
    assert_eq!(reply.status, Status::NoContent);
    assert_refused(&t, &phone, "logout").await;
    assert_eq!(laptop.get("/api/me").await.status, Status::Ok);
    let anonymous = t.call(Method::Post, "/api/logout", None, None).await;
    assert_eq!(anonymous.code(), "missing_token");
}

#[rocket::async_test]
async fn logout_all_ends_every_session() {
    let t = TestApp::new().await;
    let phone = t.member("alice").await;
    let laptop = t.sign_in("alice", PASSWORD).await;
    let bob = t.member("bob").await;
    let reply = phone.call(Method::Post, "/api/logout-all", None).await;
    assert_eq!(reply.status, Status::NoContent);
    assert_refused(&t, &phone, "logout-all, this session").await;
    assert_refused(&t, &laptop, "logout-all, other session").await;
    assert_eq!(
        bob.get("/api/me").await.status,
        Status::Ok,
        "other users stay"
    );
}

#[rocket::async_test]
async fn a_password_change_ends_the_other_sessions() {
    let t = TestApp::new().await;
    let phone = t.member("alice").await;
    let laptop = t.sign_in("alice", PASSWORD).await;
    let body = json!({"current_password": PASSWORD, "new_password": OTHER_PASSWORD});
    let reply = phone.put("/api/me/password", body).await;
    assert_eq!(reply.status, Status::NoContent);
    assert_refused(&t, &laptop, "password change").await;
    assert_eq!(phone.get("/api/me").await.status, Status::Ok);
}

#[rocket::async_test]
async fn an_admin_password_reset_ends_all_sessions_of_the_user() {
    let t = TestApp::new().await;
    let admin = t.admin("root").await;
    let alice = t.member("alice").await;
    let path = format!("/api/users/{}", alice.id);
    let reply = admin
        .patch(&path, json!({"password": OTHER_PASSWORD}))
        .await;
    assert_eq!(reply.status, Status::Ok, "{:?}", reply.body);
    assert_refused(&t, &alice, "admin password reset").await;
    assert_eq!(admin.get("/api/me").await.status, Status::Ok);
}

#[rocket::async_test]
async fn deactivation_demotion_and_deletion_refuse_the_next_request() {
    let t = TestApp::new().await;
    let admin = t.admin("root").await;
    let alice = t.member("alice").await;
    let path = format!("/api/users/{}", alice.id);
    admin.patch(&path, json!({"active": false})).await;
    assert_refused(&t, &alice, "deactivation").await;

    let deputy = t.admin("deputy").await;
    assert_eq!(deputy.get("/api/audit").await.status, Status::Ok);
    let deputy_path = format!("/api/users/{}", deputy.id);
    admin.patch(&deputy_path, json!({"role": "user"})).await;
    let stale = deputy.get("/api/audit").await;
    assert_eq!(
        (stale.status, stale.code()),
        (Status::Unauthorized, "token_revoked"),
        "demotion"
    );
    let renewed = t.tester(&deputy.refresh().await.body);
    let as_member = renewed.get("/api/audit").await;
    assert_eq!(
        (as_member.status, as_member.code()),
        (Status::Forbidden, "forbidden")
    );

    admin.delete(&deputy_path).await;
    assert_refused(&t, &renewed, "deletion").await;
}

#[rocket::async_test]
async fn sessions_are_listed_and_ended_by_their_owner_or_an_admin() {
    let t = TestApp::new().await;
    let admin = t.admin("root").await;
    let phone = t.member("alice").await;
    let laptop = t.sign_in("alice", PASSWORD).await;
    let bob = t.member("bob").await;
    let path = format!("/api/users/{}/sessions", phone.id);
    let listing = phone.get(&path).await;
    assert_eq!(listing.status, Status::Ok);
    let sessions = listing.body["sessions"].as_array().unwrap().clone();
    assert_eq!(sessions.len(), 2);
    let current: Vec<bool> = sessions
        .iter()
        .map(|s| s["current"].as_bool().unwrap())
        .collect();
    assert_eq!(current.iter().filter(|c| **c).count(), 1);
    let keys: Vec<&String> = sessions[0].as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "created_at",
            "current",
            "expires_at",
            "id",
            "ip",
            "last_seen_at",
            "user_agent"
        ]
    );
    assert_eq!(bob.get(&path).await.status, Status::Forbidden);
    assert_eq!(admin.get(&path).await.status, Status::Ok);
    let laptop_sid = sid(&laptop.access);
    let end = bob.delete(&format!("{path}/{laptop_sid}")).await;
    assert_eq!(end.status, Status::Forbidden);
    let end = phone.delete(&format!("{path}/{laptop_sid}")).await;
    assert_eq!(end.status, Status::NoContent);
    assert_refused(&t, &laptop, "session ended by its owner").await;
    let again = phone.delete(&format!("{path}/{laptop_sid}")).await;
    assert_eq!(again.status, Status::NotFound);
    let bob_sid = sid(&bob.access);
    let foreign = admin.delete(&format!("{path}/{bob_sid}")).await;
    assert_eq!(
        foreign.status,
        Status::NotFound,
        "a session of another user is not found under alice"
    );
    let phone_sid = sid(&phone.access);
    let by_admin = admin.delete(&format!("{path}/{phone_sid}")).await;
    assert_eq!(by_admin.status, Status::NoContent);
    assert_refused(&t, &phone, "session ended by an admin").await;
}

/// Concurrent checks share one query on PostgreSQL (`db::batch`): each caller still gets
/// its own session and user, a revoked session among them is refused, and a logout is
/// refused by the very next request while many others are in flight.
#[rocket::async_test]
async fn concurrent_checks_each_get_their_own_session() {
    let t = TestApp::new().await;
    let mut members = Vec::new();
    for n in 0..12 {
        members.push(t.member(&format!("member{n:02}")).await);
    }
    let gone = t.member("gone").await;
    assert_eq!(
        gone.post("/api/logout", json!({})).await.status,
        Status::NoContent
    );
    let mut checks = Vec::new();
    for round in 0..4 {
        for member in &members {
            let (member, username) = (member.clone(), member.username.clone());
            checks.push(rocket::tokio::spawn(async move {
                let me = member.get("/api/me").await;
                (me.status, me.body["username"].clone(), username)
            }));
        }
        let gone = gone.clone();
        checks.push(rocket::tokio::spawn(async move {
            let me = gone.get("/api/me").await;
            (me.status, json!(round), "revoked".to_owned())
        }));
    }
    for check in checks {
        let (status, answer, expected) = check.await.unwrap();
        if expected == "revoked" {
            assert_eq!(status, Status::Unauthorized, "a revoked session is refused");
        } else {
            assert_eq!((status, answer), (Status::Ok, json!(expected)));
        }
    }
}

#[rocket::async_test]
async fn a_logout_while_checks_are_in_flight_is_refused_by_the_next_request() {
    let t = TestApp::new().await;
    let alice = t.member("alice").await;
    let readers: Vec<_> = (0..32)
        .map(|_| {
            let alice = alice.clone();
            rocket::tokio::spawn(async move { alice.get("/api/me").await.status })
        })
        .collect();
    let out = alice.post("/api/logout", json!({})).await;
    assert_eq!(out.status, Status::NoContent);
    assert_refused(&t, &alice, "the request after the logout").await;
    for reader in readers {
        let status = reader.await.unwrap();
        assert!(
            status == Status::Ok || status == Status::Unauthorized,
            "{status}"
        );
    }
    assert_refused(&t, &alice, "and every request after it").await;
}
