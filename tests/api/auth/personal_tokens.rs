//! Personal access tokens (API.md §10): made once, kept as a hash, scoped, and refused on
//! the very next request once deleted, expired, or their user is deactivated, deleted or
//! changes their password; never able to mint tokens or change a password, email or second
//! factor.

use diesel::prelude::*;
use gatehouse::db::schema::personal_tokens;
use rocket::http::{Cookie, Header, Method, Status};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use time::Duration;

use crate::common::{send, TestApp, Tester, PASSWORD};

/// Makes a token for `account` (from its session) and returns the answer's body.
async fn mint(account: &Tester, scope: &str) -> Value {
    let made = account
        .post("/api/me/tokens", json!({"name": "ci job", "scope": scope}))
        .await;
    assert_eq!(made.status, Status::Created, "{:?}", made.body);
    made.body
}

/// `account` acting through `token` instead of its session.
fn through(account: &Tester, token: &Value) -> Tester {
    account.with_token(token["token"].as_str().unwrap())
}

#[rocket::async_test]
async fn a_token_is_shown_once_kept_as_a_hash_and_works_in_either_header() {
    let t = TestApp::new().await;
    let alice = t.member("alice").await;
    let made = mint(&alice, "read").await;
    let secret = made["token"].as_str().unwrap().to_owned();
    let random = secret
        .strip_prefix("gatehouse_pat_")
        .expect("the scanners' prefix");
    assert_eq!(random.len(), 40, "{secret}");
    assert!(random
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    assert_eq!(made["scope"], "read");
    assert_eq!(made["name"], "ci job");
    let days = made["expires_at"].as_str().unwrap()[..10].to_owned();
    let in_90 = (t.app().clock.now() + Duration::days(90))
        .date()
        .to_string();
    assert_eq!(days, in_90, "90 days by default");

    let listed = alice.get("/api/me/tokens").await;
    assert_eq!(listed.status, Status::Ok);
    let tokens = listed.body["tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0]["id"], made["id"]);
    assert!(tokens[0].get("token").is_none(), "never shown again");
    assert!(tokens[0]["last_used_at"].is_null());

    let hash = hex(&Sha256::digest(secret.as_bytes()));
    let stored: Vec<String> = t
        .db(|c| {
            personal_tokens::table
                .select(personal_tokens::token_hash)
                .load(c)
        })
        .await;
    assert_eq!(stored, vec![hash], "only the SHA-256 is kept");

    let me = through(&alice, &made).get("/api/me").await;
    assert_eq!(me.status, Status::Ok, "{:?}", me.body);
    assert_eq!(me.body["username"], "alice");
    let mut bearer = t.client.get("/api/me");
    bearer.add_header(Header::new("Authorization", format!("Bearer {secret}")));
    assert_eq!(send(bearer).await.body["id"], alice.id);
    let used = alice.get("/api/me/tokens").await;
    assert!(used.body["tokens"][0]["last_used_at"].is_string());
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[rocket::async_test]
async fn a_read_token_only_reads_and_a_write_token_writes() {
    let t = TestApp::new().await;
    let alice = t.member("alice").await;
    let reader = through(&alice, &mint(&alice, "read").await);
    let list = json!({"name": "Trips"});
    assert_eq!(reader.get("/api/bucketlists").await.status, Status::Ok);
    let refused = reader.post("/api/bucketlists", list.clone()).await;
    assert_eq!(refused.status, Status::Forbidden);
    assert_eq!(refused.code(), "forbidden");
    let head = t
        .call(Method::Head, "/api/me", Some(&reader.access), None)
        .await;
    assert_eq!(head.status, Status::Ok);
    let writer = through(&alice, &mint(&alice, "write").await);
    assert_eq!(
        writer.post("/api/bucketlists", list).await.status,
        Status::Created
    );
    let renamed = writer.patch("/api/me", json!({"name": "Alice A."})).await;
    assert_eq!(renamed.status, Status::Ok, "{:?}", renamed.body);
}

#[rocket::async_test]
async fn a_token_cannot_mint_tokens_or_change_password_email_or_second_factor() {
    let t = TestApp::new().await;
    let alice = t.member("alice").await;
    let token = through(&alice, &mint(&alice, "write").await);
    let attempts = [
        (
            Method::Post,
            "/api/me/tokens",
            json!({"name": "x", "scope": "write"}),
        ),
        (
            Method::Put,
            "/api/me/password",
            json!({"current_password": PASSWORD, "new_password": "an0ther-Long-passphrase"}),
        ),
        (
            Method::Patch,
            "/api/me",
            json!({"email": "new@example.com"}),
        ),
        (
            Method::Patch,
            &format!("/api/users/{}", alice.id),
            json!({"password": "an0ther-Long-passphrase", "current_password": PASSWORD}),
        ),
        (
            Method::Post,
            "/api/me/mfa/totp",
            json!({"password": PASSWORD}),
        ),
        (
            Method::Post,
            "/api/me/mfa/totp/confirm",
            json!({"code": "123456"}),
        ),
        (
            Method::Delete,
            "/api/me/mfa/totp",
            json!({"password": PASSWORD}),
        ),
        (
            Method::Post,
            "/api/me/mfa/recovery-codes",
            json!({"password": PASSWORD}),
        ),
        (Method::Post, "/api/logout", json!({})),
        (Method::Post, "/api/logout-all", json!({})),
    ];
    for (method, path, body) in attempts {
        let reply = token.call(method, path, Some(body)).await;
        assert_eq!(
            reply.status,
            Status::Forbidden,
            "{method} {path}: {:?}",
            reply.body
        );
        assert_eq!(reply.code(), "forbidden");
    }
    let own = token.delete(&format!("/api/users/{}", alice.id)).await;
    assert_eq!(
        own.status,
        Status::Forbidden,
        "deleting oneself needs a sign-in"
    );
    let me = alice.get("/api/me").await.body;
    assert_eq!(me["email"], "alice@example.com");
    assert_eq!(
        alice.get("/api/me/tokens").await.body["tokens"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        alice.get("/api/me").await.status,
        Status::Ok,
        "the session lives on"
    );
}

#[rocket::async_test]
async fn an_admin_token_acts_as_admin_but_sets_no_passwords() {
    let t = TestApp::new().await;
    let root = t.admin("root").await;
    let bob = t.member("bob").await;
    let token = through(&root, &mint(&root, "write").await);
    assert_eq!(token.get("/api/audit").await.status, Status::Ok);
    let renamed = token
        .patch(&format!("/api/users/{}", bob.id), json!({"name": "Bob"}))
        .await;
    assert_eq!(renamed.status, Status::Ok);
    let user = format!("/api/users/{}", bob.id);
    let admin = json!({"username": "eve", "email": "eve@example.com", "role": "admin"});
    for (method, path, body) in [
        (Method::Patch, user.clone(), Some(json!({"role": "admin"}))),
        (Method::Post, "/api/users".to_owned(), Some(admin)),
        (
            Method::Patch,
            user.clone(),
            Some(json!({"password": "an0ther-Long-passphrase"})),
        ),
        (
            Method::Patch,
            user.clone(),
            Some(json!({"email": "b2@example.com"})),
        ),
        (Method::Post, format!("{user}/recovery-link"), None),
        (Method::Delete, format!("{user}/mfa"), None),
    ] {
        let reply = token.call(method, &path, body).await;
        assert_eq!(
            reply.status,
            Status::Forbidden,
            "{method} {path}: {:?}",
            reply.body
        );
    }
    let member = json!({"username": "fred", "email": "fred@example.com"});
    let provisioned = token.post("/api/users", member).await;
    assert_eq!(
        provisioned.status,
        Status::Created,
        "{:?}",
        provisioned.body
    );
}

#[rocket::async_test]
async fn making_a_token_needs_a_recent_sign_in_or_the_password() {
    let t = TestApp::new().await;
    let alice = t.member("alice").await;
    t.advance(Duration::minutes(11));
    let renewed = t.tester(&alice.refresh().await.body);
    let body = json!({"name": "ci", "scope": "read"});
    let late = renewed.post("/api/me/tokens", body.clone()).await;
    assert_eq!(late.status, Status::UnprocessableEntity, "{:?}", late.body);
    assert!(late.body["error"]["fields"]["current_password"].is_array());
    let wrong = json!({"name": "ci", "scope": "read", "current_password": "not-it"});
    let wrong = renewed.post("/api/me/tokens", wrong).await;
    assert!(wrong.body["error"]["fields"]["current_password"].is_array());
    let typed = json!({"name": "ci", "scope": "read", "current_password": PASSWORD});
    assert_eq!(
        renewed.post("/api/me/tokens", typed).await.status,
        Status::Created
    );
    let fresh = t.sign_in("alice", PASSWORD).await;
    assert_eq!(
        fresh.post("/api/me/tokens", body).await.status,
        Status::Created
    );
}

#[rocket::async_test]
async fn a_token_follows_its_users_current_role() {
    let t = TestApp::new().await;
    let root = t.admin("root").await;
    let alice = t.member("alice").await;
    let token = through(&alice, &mint(&alice, "read").await);
    assert_eq!(token.get("/api/audit").await.status, Status::Forbidden);
    let path = format!("/api/users/{}", alice.id);
    let promoted = root.patch(&path, json!({"role": "admin"})).await;
    assert_eq!(promoted.status, Status::Ok);
    assert_eq!(token.get("/api/audit").await.status, Status::Ok);
    root.patch(&path, json!({"role": "user"})).await;
    assert_eq!(token.get("/api/audit").await.status, Status::Forbidden);
}

async fn refused(token: &Tester) {
    let reply = token.get("/api/me").await;
    assert_eq!(reply.status, Status::Unauthorized, "{:?}", reply.body);
    assert_eq!(reply.code(), "token_revoked");
}

#[rocket::async_test]
async fn deleting_a_token_refuses_it_on_every_instance_at_once() {
    let a = TestApp::new().await;
    let b = a.another_instance().await;
    let root = a.admin("root").await;
    let alice = a.member("alice").await;
    let made = mint(&alice, "read").await;
    let secret = made["token"].as_str().unwrap();
    let on_b = || b.call(Method::Get, "/api/me", Some(secret), None);
    assert_eq!(on_b().await.status, Status::Ok);
    let path = format!("/api/me/tokens/{}", made["id"].as_str().unwrap());
    let bob = a.member("bob").await;
    assert_eq!(
        bob.delete(&path).await.status,
        Status::NotFound,
        "not bob's"
    );
    assert_eq!(alice.delete(&path).await.status, Status::NoContent);
    assert_eq!(on_b().await.status, Status::Unauthorized);
    assert_eq!(on_b().await.code(), "token_revoked");
    assert_eq!(alice.delete(&path).await.status, Status::NotFound);
    let log = root.get("/api/audit").await.body["events"].clone();
    let kinds: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"token_created") && kinds.contains(&"token_deleted"),
        "{kinds:?}"
    );
    assert!(
        !log.to_string().contains(secret),
        "no secret in the audit log"
    );
}

#[rocket::async_test]
async fn a_token_deleted_while_requests_are_in_flight_is_refused_by_the_next() {
    let t = TestApp::new().await;
    let alice = t.member("alice").await;
    let made = mint(&alice, "read").await;
    let token = through(&alice, &made);
    let path = format!("/api/me/tokens/{}", made["id"].as_str().unwrap());
    let readers = (0..16).map(|_| {
        let token = token.clone();
        rocket::tokio::spawn(async move { token.get("/api/bucketlists").await.status })
    });
    let readers: Vec<_> = readers.collect();
    let deleted = alice.delete(&path).await;
    assert_eq!(deleted.status, Status::NoContent);
    refused(&token).await;
    for reader in readers {
        let status = reader.await.unwrap();
        assert!(
            status == Status::Ok || status == Status::Unauthorized,
            "{status}"
        );
    }
    refused(&token).await;
}

#[rocket::async_test]
async fn a_token_dies_with_expiry_deactivation_password_change_and_deletion() {
    let t = TestApp::new().await;
    let root = t.admin("root").await;
    let carol = t.member("carol").await;
    let token = through(&carol, &mint(&carol, "read").await);
    let path = format!("/api/users/{}", carol.id);
    root.patch(&path, json!({"active": false})).await;
    refused(&token).await;
    root.patch(&path, json!({"active": true})).await;
    refused(&token).await;

    let dave = t.member("dave").await;
    let token = through(&dave, &mint(&dave, "read").await);
    let changed = dave
        .put(
            "/api/me/password",
            json!({"current_password": PASSWORD, "new_password": "an0ther-Long-passphrase"}),
        )
        .await;
    assert_eq!(changed.status, Status::NoContent, "{:?}", changed.body);
    refused(&token).await;

    let erin = t.member("erin").await;
    let token = through(&erin, &mint(&erin, "read").await);
    let gone = root.delete(&format!("/api/users/{}", erin.id)).await;
    assert_eq!(gone.status, Status::NoContent);
    refused(&token).await;
    let short = t.member("short").await;
    let made = short
        .post(
            "/api/me/tokens",
            json!({"name": "a day", "scope": "read", "expires_in_days": 1}),
        )
        .await;
    let short = through(&short, &made.body);
    assert_eq!(short.get("/api/me").await.status, Status::Ok);
    t.advance(Duration::days(1) + Duration::seconds(1));
    refused(&short).await;
    let left: i64 = t.db(|c| personal_tokens::table.count().get_result(c)).await;
    assert_eq!(left, 1, "only the expired one waits for the clean-up");
    let app = t.app();
    let cleaned = gatehouse::maintenance::clean(&app.db, &app.clock, &app.settings)
        .await
        .unwrap();
    assert_eq!(cleaned.tokens, 1);
}

#[rocket::async_test]
async fn bad_requests_for_a_token_name_their_fields() {
    let t = TestApp::new().await;
    let alice = t.member("alice").await;
    for (body, field) in [
        (json!({"name": " ", "scope": "read"}), "name"),
        (json!({"name": "x", "scope": "admin"}), "scope"),
        (
            json!({"name": "x", "scope": "read", "expires_in_days": 0}),
            "expires_in_days",
        ),
        (
            json!({"name": "x", "scope": "read", "expires_in_days": 366}),
            "expires_in_days",
        ),
        (
            json!({"name": "x", "scope": "read", "expires_in_days": "9"}),
            "expires_in_days",
        ),
        (
            json!({"name": "x", "scope": "read", "owner": "bob"}),
            "owner",
        ),
    ] {
        let reply = alice.post("/api/me/tokens", body.clone()).await;
        assert_eq!(reply.status, Status::UnprocessableEntity, "{body}");
        assert!(
            reply.body["error"]["fields"][field].is_array(),
            "{body}: {:?}",
            reply.body
        );
    }
    for _ in 0..50 {
        mint(&alice, "read").await;
    }
    let over = alice
        .post("/api/me/tokens", json!({"name": "51st", "scope": "read"}))
        .await;
    assert_eq!(over.status, Status::Conflict, "{:?}", over.body);
}

#[rocket::async_test]
async fn a_token_is_read_from_headers_only() {
    let t = TestApp::new().await;
    let alice = t.member("alice").await;
    let made = mint(&alice, "read").await;
    let secret = made["token"].as_str().unwrap();
    let cookie = t
        .client
        .get("/api/me")
        .cookie(Cookie::new("access_token", secret.to_owned()));
    let reply = send(cookie).await;
    assert_eq!(reply.status, Status::Unauthorized);
    assert_eq!(reply.code(), "invalid_token");
    let query = t
        .call(Method::Get, &format!("/api/me?token={secret}"), None, None)
        .await;
    assert_eq!(query.code(), "missing_token");
    // Another last character (one in 64 secrets already ends in `x`).
    let other = if secret.ends_with('x') { 'y' } else { 'x' };
    let forged = format!("{}{other}", &secret[..secret.len() - 1]);
    let wrong = t.call(Method::Get, "/api/me", Some(&forged), None).await;
    assert_eq!(wrong.code(), "token_revoked");
}
