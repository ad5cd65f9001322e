//! Forged and misplaced tokens: every way a token can be wrong is refused with 401.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use gatehouse::secrets::KeyRing;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rocket::http::{Cookie, Header as HttpHeader, Method, Status};
use serde_json::{json, Value};

use crate::common::{claims_of, send, TestApp, Tester};

fn encode_part(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

fn secret(ring: &KeyRing) -> Vec<u8> {
    gatehouse::secrets::secret_bytes(&ring.keys[0]).unwrap()
}

fn sign(header: Header, claims: &Value, secret: &[u8]) -> String {
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(secret)).unwrap()
}

fn header(ring: &KeyRing, alg: Algorithm) -> Header {
    let mut header = Header::new(alg);
    header.kid = Some(ring.signing_kid.clone());
    header
}

/// A correctly signed access token for `alice` with one claim changed.
fn resigned(ring: &KeyRing, alice: &Tester, claim: &str, value: Value) -> String {
    let mut claims = claims_of(&alice.access);
    claims[claim] = value;
    sign(header(ring, Algorithm::HS256), &claims, &secret(ring))
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[rocket::async_test]
async fn issued_tokens_carry_every_claim_and_a_kid() {
    let t = TestApp::new().await;
    let alice = t.member("alice").await;
    let ring = t.key_ring().await;
    let claims = claims_of(&alice.access);
    for claim in [
        "sub", "sid", "role", "typ", "iat", "nbf", "exp", "jti", "iss",
    ] {
        assert!(!claims[claim].is_null(), "{claim} missing");
    }
    assert_eq!(
        (&claims["typ"], &claims["iss"], &claims["sub"]),
        (&json!("access"), &json!("gatehouse"), &json!(alice.id))
    );
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        900
    );
    assert_eq!(claims_of(&alice.refresh)["typ"], "refresh");
    let header = jsonwebtoken::decode_header(&alice.access).unwrap();
    assert_eq!(
        (header.alg, header.kid),
        (Algorithm::HS256, Some(ring.signing_kid))
    );
}

#[rocket::async_test]
async fn forged_tokens_are_refused() {
    let t = TestApp::new().await;
    let alice = t.member("alice").await;
    let ring = t.key_ring().await;
    let (head, payload, signature) = {
        let mut parts = alice.access.split('.');
        (
            parts.next().unwrap().to_owned(),
            parts.next().unwrap().to_owned(),
            parts.next().unwrap().to_owned(),
        )
    };
    let mut cases: Vec<(String, String, &str)> = Vec::new();
    for alg in ["none", "None", "NONE", "nOnE"] {
        let unsigned = format!(
            "{}.{payload}.",
            encode_part(&json!({"alg": alg, "typ": "JWT"}))
        );
        cases.push((format!("alg {alg}"), unsigned, "invalid_token"));
        let with_kid = json!({"alg": alg, "typ": "JWT", "kid": ring.signing_kid});
        cases.push((
            format!("alg {alg} with kid"),
            format!("{}.{payload}.{signature}", encode_part(&with_kid)),
            "invalid_token",
        ));
    }
    // RS/HS confusion: an RS256 header over an HMAC signature made with our own secret.
    let rs = format!(
        "{}.{payload}",
        encode_part(&json!({"alg": "RS256", "typ": "JWT", "kid": ring.signing_kid}))
    );
    cases.push((
        "RS256 header, HMAC signature".into(),
        format!("{rs}.{signature}"),
        "invalid_token",
    ));
    cases.push((
        "empty signature".into(),
        format!("{head}.{payload}."),
        "invalid_token",
    ));
    cases.push((
        "truncated signature".into(),
        format!("{head}.{payload}.{}", &signature[..20]),
        "invalid_token",
    ));
    cases.push((
        "no signature part".into(),
        format!("{head}.{payload}"),
        "invalid_token",
    ));
    let mut tampered = claims_of(&alice.access);
    tampered["role"] = json!("admin");
    cases.push((
        "tampered claims".into(),
        format!("{head}.{}.{signature}", encode_part(&tampered)),
        "invalid_token",
    ));
    let wrong_key = sign(
        header(&ring, Algorithm::HS256),
        &claims_of(&alice.access),
        b"an entirely different secret key!!",
    );
    cases.push(("wrong key".into(), wrong_key, "invalid_token"));
    for secret in ["", "secret", "gatehouse"] {
        let weak = sign(
            header(&ring, Algorithm::HS256),
            &claims_of(&alice.access),
            secret.as_bytes(),
        );
        cases.push((format!("common secret {secret:?}"), weak, "invalid_token"));
    }
    for alg in [Algorithm::HS384, Algorithm::HS512] {
        let other = sign(
            header(&ring, alg),
            &claims_of(&alice.access),
            &secret(&ring),
        );
        cases.push((format!("{alg:?} with our key"), other, "invalid_token"));
    }
    let mut unknown_kid = header(&ring, Algorithm::HS256);
    for kid in ["unknown", "../../../../etc/passwd", "' OR '1'='1", ""] {
        unknown_kid.kid = Some(kid.into());
        let token = sign(
            unknown_kid.clone(),
            &claims_of(&alice.access),
            &secret(&ring),
        );
        cases.push((format!("kid {kid:?}"), token, "invalid_token"));
    }
    let mut no_kid = header(&ring, Algorithm::HS256);
    no_kid.kid = None;
    cases.push((
        "no kid".into(),
        sign(no_kid, &claims_of(&alice.access), &secret(&ring)),
        "invalid_token",
    ));
    let mut jku = header(&ring, Algorithm::HS256);
    jku.jku = Some("https://evil.example/keys.json".into());
    cases.push((
        "jku header".into(),
        sign(jku, &claims_of(&alice.access), &secret(&ring)),
        "invalid_token",
    ));
    let mut x5u = header(&ring, Algorithm::HS256);
    x5u.x5u = Some("https://evil.example/cert.pem".into());
    cases.push((
        "x5u header".into(),
        sign(x5u, &claims_of(&alice.access), &secret(&ring)),
        "invalid_token",
    ));
    let jwk_header = json!({"alg": "HS256", "typ": "JWT", "kid": ring.signing_kid, "jwk": {"kty": "oct", "k": "c2VjcmV0"}});
    let jwk_token = {
        let message = format!("{}.{payload}", encode_part(&jwk_header));
        let full = sign(
            header(&ring, Algorithm::HS256),
            &claims_of(&alice.access),
            &secret(&ring),
        );
        // Reuse a real signature: the point is that a `jwk` header is refused before any check.
        format!("{message}.{}", full.split('.').nth(2).unwrap())
    };
    cases.push(("jwk header".into(), jwk_token, "invalid_token"));
    cases.push((
        "refresh used as access".into(),
        alice.refresh.clone(),
        "invalid_token",
    ));
    cases.push((
        "expired".into(),
        resigned(&ring, &alice, "exp", json!(now() - 120)),
        "token_expired",
    ));
    cases.push((
        "nbf in the future".into(),
        resigned(&ring, &alice, "nbf", json!(now() + 120)),
        "invalid_token",
    ));
    cases.push((
        "wrong iss".into(),
        resigned(&ring, &alice, "iss", json!("someone-else")),
        "invalid_token",
    ));
    cases.push((
        "an audience (a token for another service sharing the keys)".into(),
        resigned(&ring, &alice, "aud", json!("another-service")),
        "invalid_token",
    ));
    cases.push((
        "typ missing".into(),
        resigned(&ring, &alice, "typ", Value::Null),
        "invalid_token",
    ));
    cases.push((
        "other user's sub".into(),
        resigned(
            &ring,
            &alice,
            "sub",
            json!(uuid::Uuid::new_v4().to_string()),
        ),
        "token_revoked",
    ));
    cases.push((
        "unknown session".into(),
        resigned(
            &ring,
            &alice,
            "sid",
            json!(uuid::Uuid::new_v4().to_string()),
        ),
        "token_revoked",
    ));
    cases.push((
        "role claimed but not held".into(),
        resigned(&ring, &alice, "role", json!("admin")),
        "token_revoked",
    ));
    cases.push(("garbage".into(), "not.a.token".into(), "invalid_token"));
    cases.push(("empty".into(), String::new(), "invalid_token"));
    for (name, token, code) in cases {
        let reply = t.call(Method::Get, "/api/me", Some(&token), None).await;
        assert_eq!(reply.status, Status::Unauthorized, "{name}");
        assert_eq!(reply.code(), code, "{name}");
    }
    let expired_in_leeway = resigned(&ring, &alice, "exp", json!(now() - 10));
    assert_eq!(
        t.call(Method::Get, "/api/me", Some(&expired_in_leeway), None)
            .await
            .status,
        Status::Ok,
        "leeway is 30 s"
    );
    assert_eq!(
        alice.get("/api/me").await.status,
        Status::Ok,
        "the real token still works"
    );
}

#[rocket::async_test]
async fn an_access_token_is_not_a_refresh_token() {
    let t = TestApp::new().await;
    let alice = t.member("alice").await;
    let reply = t
        .post("/api/token/refresh", json!({"refresh_token": alice.access}))
        .await;
    assert_eq!(
        (reply.status, reply.code()),
        (Status::Unauthorized, "invalid_token")
    );
}

#[rocket::async_test]
async fn tokens_are_looked_for_in_header_bearer_then_cookie_and_never_rescued() {
    let t = TestApp::new().await;
    let alice = t.member("alice").await;
    let me = |headers: Vec<HttpHeader<'static>>, cookie: Option<String>| {
        let mut request = t.client.get("/api/me");
        for header in headers {
            request.add_header(header);
        }
        if let Some(value) = cookie {
            request = request.cookie(Cookie::new("access_token", value));
        }
        send(request)
    };
    let bearer = me(
        vec![HttpHeader::new(
            "Authorization",
            format!("Bearer {}", alice.access),
        )],
        None,
    )
    .await;
    assert_eq!(bearer.status, Status::Ok);
    let basic = me(
        vec![HttpHeader::new("Authorization", "Basic YWxpY2U6eA==")],
        None,
    )
    .await;
    assert_eq!(basic.code(), "invalid_token");
    let cookie = me(vec![], Some(alice.access.clone())).await;
    assert_eq!(cookie.status, Status::Ok);
    let bad_header_good_bearer = me(
        vec![
            HttpHeader::new("x-access-token", "garbage"),
            HttpHeader::new("Authorization", format!("Bearer {}", alice.access)),
        ],
        None,
    )
    .await;
    assert_eq!(bad_header_good_bearer.code(), "invalid_token");
    let bad_bearer_good_cookie = me(
        vec![HttpHeader::new("Authorization", "Bearer garbage")],
        Some(alice.access.clone()),
    )
    .await;
    assert_eq!(bad_bearer_good_cookie.code(), "invalid_token");
    let query = t.client.get(format!(
        "/api/me?access_token={}&token={}",
        alice.access, alice.access
    ));
    let query = send(query).await;
    assert_eq!(
        (query.status, query.code()),
        (Status::Unauthorized, "missing_token")
    );
}

#[rocket::async_test]
async fn cookie_authenticated_changes_need_the_csrf_token() {
    let t = TestApp::new().await;
    let alice = t.member("alice").await;
    let post = |csrf: Option<&'static str>| {
        let mut request = t
            .client
            .post("/api/logout")
            .cookie(Cookie::new("access_token", alice.access.clone()));
        if let Some(csrf) = csrf {
            request.add_header(HttpHeader::new("X-CSRF-Token", csrf));
        }
        send(request)
    };
    for csrf in [None, Some("wrong"), Some("")] {
        let reply = post(csrf).await;
        assert_eq!(
            (reply.status, reply.code()),
            (Status::Forbidden, "csrf_failed"),
            "{csrf:?}"
        );
    }
    assert_eq!(
        alice.get("/api/me").await.status,
        Status::Ok,
        "nothing changed"
    );
    let header = alice.call(Method::Post, "/api/logout", None).await;
    assert_eq!(
        header.status,
        Status::NoContent,
        "header tokens need no CSRF token"
    );
}
