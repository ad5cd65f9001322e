//! The second factor (API.md §9): enrolment, the two-step login, replay and drift, recovery
//! codes, turning it off, an admin's removal, and `require_mfa_for_admins`.

use rocket::http::Status;
use serde_json::{json, Value};
use time::Duration;
use totp_rs::TOTP;

use crate::common::{TestApp, Tester, PASSWORD};
use crate::mail::{outbox_of, unfolded};

/// The code an authenticator app that scanned `otpauth_url` shows `steps` steps from the
/// app's now.
pub fn code(t: &TestApp, otpauth_url: &str, steps: i64) -> String {
    let totp = TOTP::from_url(otpauth_url).expect("an otpauth URL an app reads");
    let now = t.app().clock.now().assume_utc().unix_timestamp() + steps * 30;
    totp.generate(u64::try_from(now).expect("after 1970"))
}

/// Turns TOTP on for `account` through the API; returns the otpauth URL and the recovery
/// codes. The clock then moves one step on, so the confirmation's code is spent.
pub async fn enrol(t: &TestApp, account: &Tester) -> (String, Vec<String>) {
    let begun = account
        .post("/api/me/mfa/totp", json!({"password": PASSWORD}))
        .await;
    assert_eq!(begun.status, Status::Ok, "{:?}", begun.body);
    let url = begun.body["otpauth_url"].as_str().unwrap().to_owned();
    let confirmed = account
        .post(
            "/api/me/mfa/totp/confirm",
            json!({"code": code(t, &url, 0)}),
        )
        .await;
    assert_eq!(confirmed.status, Status::Ok, "{:?}", confirmed.body);
    let codes = confirmed.body["recovery_codes"].as_array().unwrap();
    let codes = codes
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    t.advance(Duration::seconds(30));
    (url, codes)
}

/// The password step: the `mfa_token` it answers.
async fn password_step(t: &TestApp, account: &Tester) -> String {
    let reply = t.login(&account.username, PASSWORD).await;
    assert_eq!(reply.status, Status::Ok, "{:?}", reply.body);
    assert_eq!(reply.body["mfa_required"], true, "{:?}", reply.body);
    reply.body["mfa_token"].as_str().unwrap().to_owned()
}

async fn second_step(t: &TestApp, token: &str, field: &str, code: &str) -> crate::common::Reply {
    let body = json!({"mfa_token": token, field: code});
    t.post("/api/login/mfa", body).await
}

async fn events(admin: &Tester, kind: &str) -> Vec<Value> {
    let log = admin.get(&format!("/api/audit?event={kind}")).await;
    assert_eq!(log.status, Status::Ok, "{:?}", log.body);
    log.body["events"].as_array().unwrap().clone()
}

#[rocket::async_test]
async fn enrolment_takes_the_password_then_a_code_from_the_secret() {
    let t = TestApp::new().await;
    let alice = t.member("alice").await;
    let wrong = alice
        .post("/api/me/mfa/totp", json!({"password": "not the password"}))
        .await;
    assert_eq!(wrong.status, Status::UnprocessableEntity);
    assert!(wrong.body["error"]["fields"]["password"].is_array());

    let begun = alice
        .post("/api/me/mfa/totp", json!({"password": PASSWORD}))
        .await;
    assert_eq!(begun.status, Status::Ok, "{:?}", begun.body);
    let url = begun.body["otpauth_url"].as_str().unwrap();
    let secret = begun.body["secret"].as_str().unwrap();
    // What every app reads: SHA-1, 6 digits, 30 s are the defaults, so none is spelled out.
    assert!(
        url.starts_with("otpauth://totp/Gatehouse:alice%40"),
        "{url}"
    );
    assert!(url.contains(&format!("secret={secret}")), "{url}");
    assert!(url.contains("issuer=Gatehouse"), "{url}");
    assert!(
        !url.contains("algorithm=") && !url.contains("digits="),
        "{url}"
    );
    assert_eq!(secret.len(), 32, "160 bits in base32");
    assert_eq!(alice.get("/api/me").await.body["mfa_enabled"], false);

    let bad = alice
        .post("/api/me/mfa/totp/confirm", json!({"code": "000000"}))
        .await;
    assert_eq!(bad.status, Status::UnprocessableEntity);
    assert!(bad.body["error"]["fields"]["code"].is_array());
    let right = code(&t, url, 0);
    let on = alice
        .post("/api/me/mfa/totp/confirm", json!({"code": right}))
        .await;
    assert_eq!(on.status, Status::Ok, "{:?}", on.body);
    let codes = on.body["recovery_codes"].as_array().unwrap();
    assert_eq!(codes.len(), 10);
    assert_eq!(alice.get("/api/me").await.body["mfa_enabled"], true);

    // On now: neither a second enrolment nor a second confirmation.
    let again = alice
        .post("/api/me/mfa/totp", json!({"password": PASSWORD}))
        .await;
    assert_eq!(again.status, Status::Conflict);
    let twice = alice
        .post("/api/me/mfa/totp/confirm", json!({"code": right}))
        .await;
    assert_eq!(twice.status, Status::Conflict);

    let admin = t.admin("root").await;
    assert_eq!(events(&admin, "mfa_enabled").await.len(), 1);
    let mails = outbox_of(&t, 1).await;
    assert!(mails[0].contains("Subject: Two-factor authentication on your account"));
    assert!(mails[0].contains("To: alice@example.com"));
    assert!(!mails[0].contains(secret), "no secret in any mail");
}

#[rocket::async_test]
async fn the_secret_is_sealed_at_rest() {
    let t = TestApp::new().await;
    let alice = t.member("alice").await;
    let begun = alice
        .post("/api/me/mfa/totp", json!({"password": PASSWORD}))
        .await;
    let secret = begun.body["secret"].as_str().unwrap().to_owned();
    let stored: Vec<String> = t
        .db(|c| {
            use diesel::{QueryDsl, RunQueryDsl};
            use gatehouse::db::schema::totp_credentials;
            totp_credentials::table
                .select(totp_credentials::sealed_secret)
                .load(c)
        })
        .await;
    assert_eq!(stored.len(), 1);
    let raw = totp_rs::Secret::Encoded(secret.clone()).to_bytes().unwrap();
    let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    for text in [&secret, &hex] {
        assert!(
            !stored[0].contains(text.as_str()),
            "the secret is stored in the clear"
        );
    }
}

#[rocket::async_test]
async fn login_needs_the_second_step_and_gives_no_token_before_it() {
    let t = TestApp::new().await;
    let alice = t.member("alice").await;
    let (url, _) = enrol(&t, &alice).await;

    let first = t.login("alice", PASSWORD).await;
    assert_eq!(first.status, Status::Ok);
    assert_eq!(first.body["methods"], json!(["totp", "recovery_code"]));
    assert!(first.body.get("access_token").is_none(), "{:?}", first.body);
    assert!(first.body.get("refresh_token").is_none());
    let token = first.body["mfa_token"].as_str().unwrap();
    // The challenge is no token: it opens nothing.
    let me = t
        .call(rocket::http::Method::Get, "/api/me", Some(token), None)
        .await;
    assert_eq!(me.status, Status::Unauthorized);

    let done = second_step(&t, token, "code", &code(&t, &url, 0)).await;
    assert_eq!(done.status, Status::Ok, "{:?}", done.body);
    assert_eq!(done.body["token_type"], "Bearer");
    let signed_in = t.tester(&done.body);
    assert_eq!(signed_in.get("/api/me").await.status, Status::Ok);
    let mfa_sessions: Vec<bool> = t
        .db(|c| {
            use diesel::{QueryDsl, RunQueryDsl};
            use gatehouse::db::schema::sessions;
            sessions::table.select(sessions::mfa).load(c)
        })
        .await;
    // The session that turned it on, and this one.
    assert_eq!(mfa_sessions.iter().filter(|mfa| **mfa).count(), 2);

    // The token is used up.
    t.advance(Duration::seconds(30));
    let reused = second_step(&t, token, "code", &code(&t, &url, 0)).await;
    assert_eq!(reused.status, Status::UnprocessableEntity);
    assert!(reused.body["error"]["fields"]["mfa_token"].is_array());
    // Exactly one factor.
    let token = password_step(&t, &alice).await;
    let both = json!({"mfa_token": token, "code": "123456", "recovery_code": "x"});
    assert_eq!(
        t.post("/api/login/mfa", both).await.status,
        Status::UnprocessableEntity
    );
}

#[rocket::async_test]
async fn a_code_is_accepted_once() {
    let t = TestApp::new().await;
    let alice = t.member("alice").await;
    let (url, _) = enrol(&t, &alice).await;
    let now = code(&t, &url, 0);
    let token = password_step(&t, &alice).await;
    assert_eq!(
        second_step(&t, &token, "code", &now).await.status,
        Status::Ok
    );
    let token = password_step(&t, &alice).await;
    let replayed = second_step(&t, &token, "code", &now).await;
    assert_eq!(replayed.status, Status::Unauthorized);
    assert_eq!(replayed.code(), "invalid_credentials");
    assert_eq!(replayed.body["error"]["message"], "That code is not right.");
    // Not even the code of a step before the one used (within the drift window).
    let earlier = second_step(&t, &token, "code", &code(&t, &url, -1)).await;
    assert_eq!(earlier.status, Status::Unauthorized);
    t.advance(Duration::seconds(30));
    let next = second_step(&t, &token, "code", &code(&t, &url, 0)).await;
    assert_eq!(next.status, Status::Ok, "{:?}", next.body);
}

#[rocket::async_test]
async fn one_step_of_drift_is_accepted_and_two_are_not() {
    let t = TestApp::new().await;
    let alice = t.member("alice").await;
    let (url, _) = enrol(&t, &alice).await;
    t.advance(Duration::seconds(300));
    let token = password_step(&t, &alice).await;
    for steps in [-2, 2] {
        let far = second_step(&t, &token, "code", &code(&t, &url, steps)).await;
        assert_eq!(far.status, Status::Unauthorized, "{steps} steps off");
    }
    let behind = second_step(&t, &token, "code", &code(&t, &url, -1)).await;
    assert_eq!(behind.status, Status::Ok, "{:?}", behind.body);
    let token = password_step(&t, &alice).await;
    let ahead = second_step(&t, &token, "code", &code(&t, &url, 1)).await;
    assert_eq!(ahead.status, Status::Ok, "{:?}", ahead.body);
}

#[rocket::async_test]
async fn five_wrong_codes_end_the_token_and_count_toward_the_login_throttle() {
    let t = TestApp::new().await;
    let alice = t.member("alice").await;
    let (url, _) = enrol(&t, &alice).await;
    let token = password_step(&t, &alice).await;
    for _ in 0..5 {
        let wrong = second_step(&t, &token, "code", "000000").await;
        assert_eq!(wrong.status, Status::Unauthorized, "{:?}", wrong.body);
        assert_eq!(wrong.code(), "invalid_credentials");
    }
    let dead = second_step(&t, &token, "code", &code(&t, &url, 0)).await;
    assert_eq!(dead.status, Status::UnprocessableEntity, "{:?}", dead.body);
    assert!(dead.body["error"]["fields"]["mfa_token"].is_array());
    // The five wrong codes were five failed logins: the password alone is now refused too.
    let locked = t.login("alice", PASSWORD).await;
    assert_eq!(locked.status, Status::TooManyRequests, "{:?}", locked.body);
    let admin = t.admin("root").await;
    assert_eq!(events(&admin, "mfa_failed").await.len(), 5);
}

#[rocket::async_test]
async fn a_right_password_does_not_wipe_the_count_of_wrong_codes() {
    let t = TestApp::new().await;
    let alice = t.member("alice").await;
    enrol(&t, &alice).await;
    // Three wrong codes, a new password step, two more wrong codes: locked.
    let token = password_step(&t, &alice).await;
    for _ in 0..3 {
        second_step(&t, &token, "code", "000000").await;
    }
    let token = password_step(&t, &alice).await;
    for _ in 0..2 {
        let wrong = second_step(&t, &token, "code", "000000").await;
        assert_eq!(wrong.status, Status::Unauthorized);
    }
    let locked = t.login("alice", PASSWORD).await;
    assert_eq!(locked.status, Status::TooManyRequests, "{:?}", locked.body);
    t.advance(Duration::seconds(61));
    // And four wrong codes make the right password the fifth attempt: refused at once
    // rather than given a challenge no code can pass.
    let token = password_step(&t, &alice).await;
    for _ in 0..4 {
        second_step(&t, &token, "code", "000000").await;
    }
    let fifth = t.login("alice", PASSWORD).await;
    assert_eq!(fifth.status, Status::TooManyRequests, "{:?}", fifth.body);
}

#[rocket::async_test]
async fn a_recovery_code_works_once_and_mails_a_notice() {
    let t = TestApp::new().await;
    let alice = t.member("alice").await;
    let (_, codes) = enrol(&t, &alice).await;
    outbox_of(&t, 1).await;
    let token = password_step(&t, &alice).await;
    // Typed loosely: upper case, a space for the dash.
    let typed = codes[3].to_uppercase().replace('-', " ");
    let done = second_step(&t, &token, "recovery_code", &typed).await;
    assert_eq!(done.status, Status::Ok, "{:?}", done.body);
    let token = password_step(&t, &alice).await;
    let again = second_step(&t, &token, "recovery_code", &codes[3]).await;
    assert_eq!(again.status, Status::Unauthorized);
    let mails = outbox_of(&t, 2).await;
    assert!(
        unfolded(&mails[1]).contains("recovery code"),
        "{}",
        mails[1]
    );
    assert!(!mails[1].contains(&codes[3]), "no code in a mail");
    let admin = t.admin("root").await;
    let used = events(&admin, "recovery_code_used").await;
    assert_eq!(used.len(), 1);
    assert_eq!(used[0]["detail"]["left"], 9, "{:?}", used[0]);
}

#[rocket::async_test]
async fn regenerated_codes_void_the_old_ones() {
    let t = TestApp::new().await;
    let alice = t.member("alice").await;
    let (_, old) = enrol(&t, &alice).await;
    let wrong = alice
        .post(
            "/api/me/mfa/recovery-codes",
            json!({"password": "wrong one"}),
        )
        .await;
    assert_eq!(wrong.status, Status::UnprocessableEntity);
    let fresh = alice
        .post("/api/me/mfa/recovery-codes", json!({"password": PASSWORD}))
        .await;
    assert_eq!(fresh.status, Status::Ok, "{:?}", fresh.body);
    let fresh = fresh.body["recovery_codes"].as_array().unwrap().clone();
    assert_eq!(fresh.len(), 10);
    let token = password_step(&t, &alice).await;
    let stale = second_step(&t, &token, "recovery_code", &old[0]).await;
    assert_eq!(stale.status, Status::Unauthorized);
    let new = second_step(&t, &token, "recovery_code", fresh[0].as_str().unwrap()).await;
    assert_eq!(new.status, Status::Ok, "{:?}", new.body);
    let admin = t.admin("root").await;
    assert_eq!(events(&admin, "recovery_codes_regenerated").await.len(), 1);
}

#[rocket::async_test]
async fn turning_it_off_needs_the_password() {
    let t = TestApp::new().await;
    let alice = t.member("alice").await;
    enrol(&t, &alice).await;
    let wrong = alice
        .call(
            rocket::http::Method::Delete,
            "/api/me/mfa/totp",
            Some(json!({"password": "wrong one"})),
        )
        .await;
    assert_eq!(wrong.status, Status::UnprocessableEntity);
    assert!(wrong.body["error"]["fields"]["password"].is_array());
    let off = alice
        .call(
            rocket::http::Method::Delete,
            "/api/me/mfa/totp",
            Some(json!({"password": PASSWORD})),
        )
        .await;
    assert_eq!(off.status, Status::NoContent, "{:?}", off.body);
    assert_eq!(alice.get("/api/me").await.body["mfa_enabled"], false);
    let direct = t.login("alice", PASSWORD).await;
    assert!(direct.body["access_token"].is_string(), "{:?}", direct.body);
    let admin = t.admin("root").await;
    assert_eq!(events(&admin, "mfa_disabled").await.len(), 1);
    let mails = outbox_of(&t, 2).await;
    assert!(unfolded(&mails[1]).contains("turned off"), "{}", mails[1]);
}

#[rocket::async_test]
async fn an_admin_removes_a_lost_second_factor() {
    let t = TestApp::new().await;
    let alice = t.member("alice").await;
    let bob = t.member("bob").await;
    let admin = t.admin("root").await;
    enrol(&t, &alice).await;
    let path = format!("/api/users/{}/mfa", alice.id);
    assert_eq!(bob.delete(&path).await.status, Status::Forbidden);
    let token = password_step(&t, &alice).await;
    assert_eq!(admin.delete(&path).await.status, Status::NoContent);
    // A login waiting for its code when the factor went cannot finish.
    let stale = second_step(&t, &token, "code", "123456").await;
    assert_eq!(stale.status, Status::UnprocessableEntity);
    let direct = t.login("alice", PASSWORD).await;
    assert!(direct.body["access_token"].is_string(), "{:?}", direct.body);
    assert_eq!(admin.delete(&path).await.status, Status::Conflict);
    let removed = events(&admin, "mfa_reset_by_admin").await;
    assert_eq!(removed.len(), 1);
    assert_eq!(removed[0]["subject"], alice.id.as_str());
    let mails = outbox_of(&t, 2).await;
    assert!(
        unfolded(&mails[1]).contains("administrator"),
        "{}",
        mails[1]
    );
}

#[rocket::async_test]
async fn admins_list_users_by_second_factor() {
    let t = TestApp::new().await;
    let alice = t.member("alice").await;
    t.member("bob").await;
    let admin = t.admin("root").await;
    enrol(&t, &alice).await;
    let on = admin.get("/api/users?mfa=true").await;
    let names: Vec<&str> = on.body["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alice"]);
    assert_eq!(admin.get("/api/users?mfa=false").await.body["total"], 2);
    assert_eq!(
        alice.get("/api/users?mfa=true").await.status,
        Status::Forbidden
    );
    let dashboard = t.browser();
    dashboard.login(&admin).await;
    let html = dashboard.page("/admin").await;
    assert!(
        html.html()
            .contains("<strong>1</strong> active members with two-factor"),
        "{}",
        html.html()
    );
}

#[rocket::async_test]
async fn admins_without_a_second_factor_must_enrol_when_it_is_required() {
    let t = TestApp::with(|f| f.merge(("require_mfa_for_admins", true))).await;
    let root = t.admin("root").await;
    let alice = t.member("alice").await;
    for path in ["/api/audit", "/api/users"] {
        let refused = root.get(path).await;
        assert_eq!(refused.status, Status::Forbidden, "{path}");
        assert_eq!(refused.code(), "mfa_enrollment_required");
    }
    let patch = root
        .patch(&format!("/api/users/{}", alice.id), json!({"name": "A"}))
        .await;
    assert_eq!(patch.code(), "mfa_enrollment_required");
    // Members are not concerned, and the admin can still sign in and enrol.
    assert_eq!(alice.get("/api/users").await.status, Status::Ok);
    assert_eq!(root.get("/api/me").await.status, Status::Ok);
    let browser = t.browser();
    browser.login(&root).await;
    let sent = browser.page("/admin/users").await;
    assert_eq!(sent.status, Status::SeeOther);
    assert_eq!(sent.location(), "/account/mfa");
    let enrol_page = browser.page("/account/mfa").await;
    assert!(enrol_page.html().contains("id=\"mfa-required\""));

    let (url, _) = enrol(&t, &root).await;
    assert_eq!(root.get("/api/audit").await.status, Status::Ok);
    // Enrolling (here through the API) ended the browser's session: it signs in again, in
    // two steps now, and the admin pages open.
    assert_eq!(browser.page("/admin/users").await.status, Status::SeeOther);
    browser.login(&root).await;
    let code = code(&t, &url, 0);
    let signed_in = browser.form("/login/mfa", &[("code", &code)]).await;
    assert_eq!(signed_in.status, Status::SeeOther, "{}", signed_in.html());
    assert_eq!(browser.page("/admin/users").await.status, Status::Ok);
}

#[rocket::async_test]
async fn admins_cannot_remove_their_own_second_factor_without_the_password() {
    let t = TestApp::new().await;
    let root = t.admin("root").await;
    enrol(&t, &root).await;
    let own = root.delete(&format!("/api/users/{}/mfa", root.id)).await;
    assert_eq!(own.status, Status::Forbidden, "{:?}", own.body);
    assert_eq!(root.get("/api/me").await.body["mfa_enabled"], true);
}

#[rocket::async_test]
async fn turning_it_on_ends_the_other_sessions_and_marks_this_one() {
    let t = TestApp::new().await;
    let alice = t.member("alice").await;
    let elsewhere = t.sign_in("alice", PASSWORD).await;
    enrol(&t, &alice).await;
    let old = elsewhere.get("/api/me").await;
    assert_eq!(old.status, Status::Unauthorized);
    assert_eq!(old.code(), "token_revoked");
    assert_eq!(alice.get("/api/me").await.status, Status::Ok);
    let live: Vec<bool> = t
        .db(|c| {
            use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
            use gatehouse::db::schema::sessions;
            sessions::table
                .filter(sessions::revoked_at.is_null())
                .select(sessions::mfa)
                .load(c)
        })
        .await;
    assert_eq!(live, [true], "one live session, marked");
}

#[rocket::async_test]
async fn a_password_change_ends_logins_waiting_for_their_code() {
    let t = TestApp::new().await;
    let alice = t.member("alice").await;
    let (url, _) = enrol(&t, &alice).await;
    let token = password_step(&t, &alice).await;
    let body = json!({"current_password": PASSWORD, "new_password": "Pl4n-B!quartz-Harbor"});
    let changed = alice.put("/api/me/password", body).await;
    assert_eq!(changed.status, Status::NoContent, "{:?}", changed.body);
    let stale = second_step(&t, &token, "code", &code(&t, &url, 0)).await;
    assert_eq!(
        stale.status,
        Status::UnprocessableEntity,
        "{:?}",
        stale.body
    );
}

#[rocket::async_test]
async fn a_burst_of_parallel_codes_tries_no_more_than_five() {
    // A generous login limit, so that only the challenge's own count stops the burst.
    let t = TestApp::with(|f| f.merge(("login_max_failures", 100))).await;
    let alice = t.member("alice").await;
    enrol(&t, &alice).await;
    let token = password_step(&t, &alice).await;
    let guesses = (0..12).map(|n| {
        let (t, token) = (t.clone(), token.clone());
        async move { second_step(&t, &token, "code", &format!("{:06}", n)).await }
    });
    let replies = rocket::futures::future::join_all(guesses).await;
    let checked = replies
        .iter()
        .filter(|r| r.status == Status::Unauthorized)
        .count();
    let refused = replies
        .iter()
        .filter(|r| r.status == Status::UnprocessableEntity)
        .count();
    assert_eq!((checked, refused), (5, 7));
}

#[rocket::async_test]
async fn the_operator_removes_a_second_factor_and_recovers_from_a_lost_key() {
    let t = TestApp::new().await;
    let root = t.admin("root").await;
    let alice = t.member("alice").await;
    let bob = t.member("bob").await;
    for account in [&root, &alice, &bob] {
        enrol(&t, account).await;
    }
    let one = t.command(&["remove-mfa", "root"], &[]);
    let out = String::from_utf8_lossy(&one.stdout);
    assert!(
        one.status.success(),
        "{}",
        String::from_utf8_lossy(&one.stderr)
    );
    assert!(
        out.contains("root signs in with the password alone"),
        "{out}"
    );
    assert!(t.login("root", PASSWORD).await.body["access_token"].is_string());

    // The key is lost (a restore without it): nothing starts, nothing makes a new one.
    match &t.database {
        None => std::fs::remove_file(t.dir.path().join("mfa_key")).unwrap(),
        Some(_) => {
            t.db(|c| {
                use diesel::{ExpressionMethods, RunQueryDsl};
                use gatehouse::db::schema::app_secrets;
                diesel::delete(app_secrets::table)
                    .filter(app_secrets::name.eq("mfa_key"))
                    .execute(c)
            })
            .await;
        }
    }
    for _ in 0..2 {
        let refused = t.command(&["migrate"], &[]);
        let err = String::from_utf8_lossy(&refused.stderr);
        assert!(!refused.status.success());
        assert!(
            err.contains("mfa_key is missing, and 2 account(s)"),
            "{err}"
        );
    }
    let all = t.command(&["remove-mfa", "--all"], &[]);
    let out = String::from_utf8_lossy(&all.stdout);
    assert!(
        all.status.success(),
        "{}",
        String::from_utf8_lossy(&all.stderr)
    );
    assert!(
        out.contains("Removed the second factor of 2 account(s)"),
        "{out}"
    );
    assert!(t.command(&["migrate"], &[]).status.success());
    assert_eq!(alice.get("/api/me").await.body["mfa_enabled"], false);
    let removed = root.get("/api/audit?event=mfa_reset_by_admin").await;
    assert_eq!(removed.body["total"], 3);
}
