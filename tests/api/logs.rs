//! The server's log as an operator reads it (API.md §11): with `log_format = "json"` every
//! line the real server prints is one JSON object, each request has a line with its id,
//! route, status and duration (the id also in `X-Request-Id`), and no line holds a password,
//! token or cookie of a whole scenario: sign-up, login, tokens in every header, a cookie, a
//! refresh, a personal token, a password reset by mail, and a token in a query string.

use std::time::Duration;

use serde_json::{json, Value};

use crate::mail::reset_token;
use crate::process::Server;

const FIRST_PASSWORD: &str = "Quartz-Meadow-Lantern-71";
const SECOND_PASSWORD: &str = "Harbor-Violet-Anchor-38";

#[rocket::async_test]
async fn json_logs_name_each_request_and_hold_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let json = [("ROCKET_LOG_FORMAT", "json"), ("ROCKET_LOG_LEVEL", "debug")];
    let mut server = Server::start(dir.path(), &json).await;

    let signup =
        json!({"username": "logan", "email": "logan@example.com", "password": FIRST_PASSWORD});
    let registered = server
        .call("POST", "/api/register", &[], Some(signup))
        .await;
    assert_eq!(registered.status, 201, "{}", registered.body);
    let credentials = json!({"username": "logan", "password": FIRST_PASSWORD});
    let login = server
        .call("POST", "/api/login", &[], Some(credentials))
        .await
        .json();
    let access = login["access_token"].as_str().unwrap().to_owned();
    let refresh = login["refresh_token"].as_str().unwrap().to_owned();
    let me = server
        .call("GET", "/api/me", &[("x-access-token", &access)], None)
        .await;
    assert_eq!(me.status, 200);
    let bearer = format!("Bearer {access}");
    server
        .call("GET", "/api/me", &[("Authorization", &bearer)], None)
        .await;
    let cookie = format!("access_token={access}");
    server
        .call("GET", "/account", &[("Cookie", &cookie)], None)
        .await;
    server
        .call("GET", &format!("/api/me?access_token={access}"), &[], None)
        .await;
    let renewed = json!({"refresh_token": refresh});
    let renewed = server
        .call("POST", "/api/token/refresh", &[], Some(renewed))
        .await
        .json();
    let access = renewed["access_token"].as_str().unwrap().to_owned();
    let asked = json!({"name": "backup", "scope": "read"});
    let made = server
        .call(
            "POST",
            "/api/me/tokens",
            &[("x-access-token", &access)],
            Some(asked),
        )
        .await
        .json();
    let personal = made["token"].as_str().unwrap().to_owned();
    let bearer = format!("Bearer {personal}");
    server
        .call("GET", "/api/me", &[("Authorization", &bearer)], None)
        .await;
    let forgot = json!({"email": "logan@example.com"});
    server
        .call("POST", "/api/password/forgot", &[], Some(forgot))
        .await;
    let outbox = dir.path().join("data").join("outbox");
    // The sign-up's confirmation is there too: wait for the reset mail.
    let mut reset_mail = None;
    for _ in 0..100 {
        let letters = std::fs::read_dir(&outbox).into_iter().flatten().flatten();
        let texts = letters.filter_map(|entry| std::fs::read_to_string(entry.path()).ok());
        reset_mail = texts
            .into_iter()
            .find(|text| crate::mail::unfolded(text).contains("/password/reset/"));
        if reset_mail.is_some() {
            break;
        }
        rocket::tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let letter = reset_mail.expect("the reset mail");
    let token = reset_token(&letter);
    server
        .call("GET", &format!("/password/reset/{token}"), &[], None)
        .await;
    let reset = json!({"token": token, "new_password": SECOND_PASSWORD});
    let done = server
        .call("POST", "/api/password/reset", &[], Some(reset))
        .await;
    assert_eq!(done.status, 204, "{}", done.body);
    let id = me.header("x-request-id").expect("X-Request-Id").to_owned();

    server.kill();
    let read = |name| std::fs::read_to_string(dir.path().join(name)).unwrap_or_default();
    let (stdout, stderr) = (read("stdout"), read("stderr"));
    let lines: Vec<Value> = stdout
        .lines()
        .chain(stderr.lines())
        .filter(|line| !line.is_empty())
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    assert!(lines.iter().any(|l| l["message"]
        .as_str()
        .is_some_and(|m| m.contains("launched"))));
    for line in &lines {
        assert!(
            line["time"].is_string() && line["level"].is_string(),
            "{line}"
        );
    }
    let requests: Vec<&Value> = lines
        .iter()
        .filter(|l| l.get("request_id").is_some())
        .collect();
    assert!(requests.len() >= 12, "{} request lines", requests.len());
    for line in &requests {
        for field in ["method", "route", "status", "duration_ms"] {
            assert!(line.get(field).is_some(), "{field} in {line}");
        }
    }
    let named = requests
        .iter()
        .find(|l| l["request_id"] == id.as_str())
        .expect("the id logged");
    assert_eq!(named["route"], "/api/me");
    assert_eq!(named["status"], 200);
    let secrets = [
        FIRST_PASSWORD,
        SECOND_PASSWORD,
        &access,
        &refresh,
        &personal,
        &token,
        login["access_token"].as_str().unwrap(),
    ];
    for secret in secrets {
        let leak = stdout.lines().find(|line| line.contains(secret));
        assert!(leak.is_none(), "a secret in the log: {leak:?}");
        assert!(!stderr.contains(secret), "a secret on stderr: {secret}");
    }
}
