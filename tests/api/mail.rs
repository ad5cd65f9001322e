//! Mail (API.md §8): a forgotten password by a one-time link, through the outbox (the
//! default) and through a real SMTP server process.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rocket::http::{Method, Status};
use serde_json::json;

use crate::common::{TestApp, OTHER_PASSWORD, PASSWORD};

/// The messages written to the outbox so far, as text.
fn outbox(t: &TestApp) -> Vec<String> {
    let dir = t.dir.path().join("outbox");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|path| path.extension().is_some_and(|ext| ext == "eml"));
    files.sort_by_key(|path| std::fs::metadata(path).and_then(|m| m.modified()).ok());
    files
        .iter()
        .map(|path| std::fs::read_to_string(path).expect("a message file"))
        .collect()
}

/// Waits (up to ten seconds) until `count` messages are in the outbox, and returns them: the
/// instance's own delivery task sends them, and the test nudges it.
pub async fn outbox_of(t: &TestApp, count: usize) -> Vec<String> {
    for _ in 0..100 {
        t.app().deliver_mail().await.ok();
        let mails = outbox(t);
        if mails.len() >= count {
            return mails;
        }
        rocket::tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let queue = t
        .db(|c| {
            use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
            use gatehouse::db::schema::mail_queue;
            mail_queue::table
                .select((
                    mail_queue::id,
                    mail_queue::attempts,
                    mail_queue::sent_at.is_not_null(),
                    mail_queue::last_error,
                ))
                .load::<(i64, i32, bool, Option<String>)>(c)
        })
        .await;
    panic!("{count} messages never reached the outbox; the queue: {queue:?}");
}

/// A message's text with quoted-printable soft line breaks and `=3D` undone.
pub fn unfolded(message: &str) -> String {
    message
        .replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=")
}

/// The reset token in a message's link.
pub fn reset_token(message: &str) -> String {
    link_token(message, "/password/reset/")
}

/// The token of the first link to `path` in a message.
fn link_token(message: &str, path: &str) -> String {
    let text = unfolded(message);
    let (_, rest) = text.split_once(path).expect("a link in the message");
    rest.chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

#[rocket::async_test]
async fn a_forgotten_password_is_reset_with_a_link_from_the_outbox() {
    let t = TestApp::new().await;
    let alice = t.member("alice").await;
    let known = t
        .post(
            "/api/password/forgot",
            json!({"email": "ALICE@example.com"}),
        )
        .await;
    let unknown = t
        .post(
            "/api/password/forgot",
            json!({"email": "nobody@example.com"}),
        )
        .await;
    assert_eq!(known.status, Status::Accepted);
    assert_eq!((unknown.status, &unknown.body), (known.status, &known.body));
    outbox_of(&t, 1).await;
    rocket::tokio::time::sleep(Duration::from_millis(300)).await;
    let mails = outbox(&t);
    assert_eq!(mails.len(), 1, "one mail, alice's");
    let mail = &mails[0];
    assert!(mail.contains("To: alice@example.com") && mail.contains("Subject: Set a new password"));
    assert!(
        mail.contains("text/plain") && mail.contains("text/html"),
        "both parts"
    );
    let token = reset_token(mail);
    assert!(token.len() >= 43, "256 bits, URL-safe: {token}");

    // Opening the link (a mail scanner does) uses nothing up.
    let browser = t.browser();
    for _ in 0..2 {
        let page = browser.page(&format!("/password/reset/{token}")).await;
        assert_eq!(page.status, Status::Ok);
    }
    let weak = json!({"token": token, "new_password": "short"});
    let weak = t.post("/api/password/reset", weak).await;
    assert!(weak.body["error"]["fields"]["new_password"].is_array());
    let reset = json!({"token": token, "new_password": OTHER_PASSWORD});
    assert_eq!(
        t.post("/api/password/reset", reset.clone()).await.status,
        Status::NoContent
    );
    assert_eq!(
        alice.get("/api/me").await.code(),
        "token_revoked",
        "every session ends"
    );
    assert_eq!(alice.refresh().await.status, Status::Unauthorized);
    assert_eq!(
        t.login("alice", PASSWORD).await.status,
        Status::Unauthorized
    );
    assert_eq!(t.login("alice", OTHER_PASSWORD).await.status, Status::Ok);
    let again = t.post("/api/password/reset", reset).await;
    assert_eq!(again.status, Status::UnprocessableEntity, "single use");
    assert!(again.body["error"]["fields"]["token"].is_array());

    let notice = outbox_of(&t, 2).await.pop().expect("a notice");
    assert!(notice.contains("Subject: Your password was changed"));
    assert!(!unfolded(&notice).contains(&token), "no secret in a notice");
}

#[rocket::async_test]
async fn a_reset_link_expires_and_a_new_one_voids_the_old() {
    let t = TestApp::new().await;
    t.member("alice").await;
    let ask = || {
        t.post(
            "/api/password/forgot",
            json!({"email": "alice@example.com"}),
        )
    };
    ask().await;
    ask().await;
    let mails = outbox_of(&t, 2).await;
    // Files written in the same instant have no order: the page tells the live link.
    let browser = t.browser();
    let mut tokens = Vec::new();
    for mail in &mails {
        let token = reset_token(mail);
        let page = browser.page(&format!("/password/reset/{token}")).await;
        tokens.push((page.html().contains("new_password_confirm"), token));
    }
    tokens.sort();
    let [(false, first), (true, second)] = [tokens[0].clone(), tokens[1].clone()] else {
        panic!("one live link and one voided: {tokens:?}");
    };
    let reset = |token: &str| json!({"token": token, "new_password": OTHER_PASSWORD});
    let old = t.post("/api/password/reset", reset(&first)).await;
    assert_eq!(
        old.status,
        Status::UnprocessableEntity,
        "the newer link voids it"
    );
    t.advance(time::Duration::seconds(3601));
    let late = t.post("/api/password/reset", reset(&second)).await;
    assert_eq!(
        late.status,
        Status::UnprocessableEntity,
        "expired after reset_token_ttl"
    );
    let page = t.browser().page(&format!("/password/reset/{second}")).await;
    assert!(page.html().contains("Ask for a new link"));
}

#[rocket::async_test]
async fn reset_mail_is_throttled_silently_and_audited() {
    let t = TestApp::with(|f| f.merge(("mail_per_hour", 2))).await;
    let admin = t.admin("root").await;
    t.member("alice").await;
    let handled = || async {
        let total = |event: &'static str| {
            let admin = &admin;
            async move {
                let reply = admin.get(&format!("/api/audit?event={event}")).await;
                reply.body["total"].as_i64().unwrap_or_default()
            }
        };
        total("password_reset_requested").await + total("mail_throttled").await
    };
    for asked in 1..=4 {
        let reply = t
            .post(
                "/api/password/forgot",
                json!({"email": "alice@example.com"}),
            )
            .await;
        assert_eq!(reply.status, Status::Accepted, "the sender learns nothing");
        // Each request is worked through after its answer: wait for it before the next.
        for _ in 0..50 {
            if handled().await == asked {
                break;
            }
            rocket::tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    outbox_of(&t, 2).await;
    rocket::tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(outbox(&t).len(), 2, "no more than mail_per_hour");
    let throttled = admin.get("/api/audit?event=mail_throttled").await;
    assert_eq!(throttled.body["total"], 2);
}

#[rocket::async_test]
async fn known_and_unknown_addresses_take_about_as_long() {
    let t = TestApp::new().await;
    t.member("alice").await;
    let mut spent = [Duration::ZERO; 2];
    for round in 0..6 {
        for (which, email) in ["alice@example.com", "nobody@example.com"]
            .iter()
            .enumerate()
        {
            let started = Instant::now();
            t.post("/api/password/forgot", json!({ "email": email }))
                .await;
            if round > 0 {
                spent[which] += started.elapsed();
            }
        }
    }
    let (known, unknown) = (spent[0] / 5, spent[1] / 5);
    let gap = known.abs_diff(unknown);
    assert!(
        gap < Duration::from_millis(25),
        "known {known:?}, unknown {unknown:?}"
    );
}

/// A real SMTP server (Python's aiosmtpd) writing what it receives into a maildir.
struct SmtpServer {
    process: Child,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// The Python with aiosmtpd: `$HOME/.cache/gatehouse/venv`, made from PyPI on first use.
fn smtp_python() -> PathBuf {
    let home = std::env::var("HOME").unwrap_or_else(|_| "/tmp".into());
    let venv = Path::new(&home).join(".cache/gatehouse/venv");
    let python = venv.join("bin/python");
    let ready = Command::new(&python)
        .args(["-c", "import aiosmtpd"])
        .status()
        .is_ok_and(|s| s.success());
    if !ready {
        let made = Command::new("python3")
            .arg("-m")
            .arg("venv")
            .arg(&venv)
            .status();
        assert!(
            made.is_ok_and(|s| s.success()),
            "python3 -m venv {}",
            venv.display()
        );
        let pip = Command::new(venv.join("bin/pip"))
            .args(["install", "-q", "aiosmtpd"])
            .status();
        assert!(pip.is_ok_and(|s| s.success()), "pip install aiosmtpd");
    }
    python
}

impl SmtpServer {
    fn start(port: u16, maildir: &Path) -> SmtpServer {
        let process = Command::new(smtp_python())
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("aiosmtpd starts");
        // Held from here on, so that it is stopped and waited for however this ends.
        let server = SmtpServer { process };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return server;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("aiosmtpd did not listen on {port}");
    }
}

/// The messages in a maildir.
fn delivered(maildir: &Path) -> Vec<String> {
    let new = maildir.join("new");
    std::fs::read_dir(new)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                .collect()
        })
        .unwrap_or_default()
}

#[rocket::async_test]
#[ignore = "heavy: starts an SMTP server process; the full suite runs it (--include-ignored)"]
async fn mail_goes_through_a_real_smtp_server_and_waits_while_it_is_down() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let url = format!("smtp://127.0.0.1:{port}?tls=none");
    let t = TestApp::with(|f| {
        f.merge(("smtp_url", url))
            .merge(("public_url", "https://accounts.example.org"))
            .merge(("mail_from", "Accounts <accounts@example.org>"))
    })
    .await;
    t.member("alice").await;
    let reply = t
        .post(
            "/api/password/forgot",
            json!({"email": "alice@example.com"}),
        )
        .await;
    assert_eq!(
        reply.status,
        Status::Accepted,
        "the server being down changes nothing"
    );
    // Nothing listens yet: the attempt fails and waits its back-off.
    t.app().deliver_mail().await.ok();
    rocket::tokio::time::sleep(Duration::from_millis(300)).await;

    let maildir = t.dir.path().join("maildir");
    let _server = SmtpServer::start(port, &maildir);
    t.app().deliver_mail().await.ok();
    assert!(delivered(&maildir).is_empty(), "it waits its back-off");
    t.advance(time::Duration::seconds(31));
    for _ in 0..100 {
        t.app().deliver_mail().await.ok();
        if !delivered(&maildir).is_empty() {
            break;
        }
        rocket::tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mails = delivered(&maildir);
    let queue = t
        .db(|c| {
            use diesel::{QueryDsl, RunQueryDsl};
            use gatehouse::db::schema::mail_queue;
            mail_queue::table
                .select((mail_queue::attempts, mail_queue::last_error))
                .load::<(i32, Option<String>)>(c)
        })
        .await;
    assert_eq!(mails.len(), 1, "the queue: {queue:?}");
    let mail = &mails[0];
    assert!(
        mail.contains("From: Accounts <accounts@example.org>"),
        "{mail}"
    );
    assert!(mail.contains("To: alice@example.com"));
    assert!(mail.contains("text/plain") && mail.contains("text/html"));
    assert!(unfolded(mail).contains("https://accounts.example.org/password/reset/"));
    let token = reset_token(mail);
    let reset = json!({"token": token, "new_password": OTHER_PASSWORD});
    let done = t
        .call(Method::Post, "/api/password/reset", None, Some(reset))
        .await;
    assert_eq!(done.status, Status::NoContent);
}

#[rocket::async_test]
async fn the_reset_pages_check_the_link_and_the_password_twice() {
    let t = TestApp::new().await;
    t.member("alice").await;
    let browser = t.browser();
    let login = browser.page("/login").await;
    assert!(login.html().contains("href=\"/password/forgot\""));
    let sent = browser
        .submit_on(
            "/password/forgot",
            "/password/forgot",
            &[("email", "alice@example.com")],
        )
        .await;
    assert_eq!(sent.location(), "/password/forgot");
    assert!(browser
        .page("/password/forgot")
        .await
        .html()
        .contains("we sent it a link"));
    let bad = browser.page("/password/reset/not-a-token").await;
    assert!(bad.html().contains("Ask for a new link") && !bad.html().contains("new_password"));
    let token = reset_token(&outbox_of(&t, 1).await[0]);
    let page = format!("/password/reset/{token}");
    let fields = [
        ("new_password", OTHER_PASSWORD),
        ("new_password_confirm", PASSWORD),
    ];
    let mismatch = browser.submit_on(&page, &page, &fields).await;
    assert_eq!(mismatch.status, Status::UnprocessableEntity);
    assert!(mismatch
        .html()
        .contains("id=\"new_password_confirm-error\""));
    let fields = [
        ("new_password", OTHER_PASSWORD),
        ("new_password_confirm", OTHER_PASSWORD),
    ];
    let done = browser.submit_on(&page, &page, &fields).await;
    assert_eq!(done.location(), "/login");
    let used = browser.submit_on(&page, &page, &fields).await;
    assert!(used.html().contains("Ask for a new link"), "used up");
}

#[rocket::async_test]
async fn an_admin_hands_over_a_recovery_link_without_mail() {
    let t = TestApp::new().await;
    let admin = t.admin("root").await;
    let alice = t.member("alice").await;
    let path = format!("/api/users/{}/recovery-link", alice.id);
    assert_eq!(alice.post(&path, json!({})).await.status, Status::Forbidden);
    let made = admin.call(Method::Post, &path, None).await;
    assert_eq!(made.status, Status::Created, "{:?}", made.body);
    let url = made.body["url"].as_str().unwrap_or_default().to_owned();
    assert!(
        url.starts_with("http://127.0.0.1:8000/password/reset/"),
        "{url}"
    );
    assert!(made.body["expires_at"]
        .as_str()
        .is_some_and(|at| at.ends_with('Z')));
    let token = url.rsplit('/').next().unwrap_or_default().to_owned();
    let reset = json!({"token": token, "new_password": OTHER_PASSWORD});
    assert_eq!(
        t.post("/api/password/reset", reset).await.status,
        Status::NoContent
    );
    assert_eq!(alice.get("/api/me").await.code(), "token_revoked");
    let audit = admin.get("/api/audit?event=recovery_link_created").await;
    assert_eq!(audit.body["total"], 1);

    // The console's button shows the link once, on its own page.
    let browser = t.browser();
    browser.login(&admin).await;
    let user_page = format!("/admin/users/{}", alice.id);
    let shown = browser
        .submit_on(&user_page, &format!("{user_page}/recovery-link"), &[])
        .await;
    assert_eq!(shown.status, Status::Ok);
    assert!(
        shown.html().contains("&#x2F;password&#x2F;reset&#x2F;"),
        "the link, escaped"
    );
}

/// The token of a verification link in a message.
fn verify_token(message: &str) -> String {
    link_token(message, "/verify-email/")
}

#[rocket::async_test]
async fn a_sign_up_is_asked_to_confirm_its_address_and_can_without_signing_in() {
    let t = TestApp::new().await;
    let admin = t.admin("root").await;
    let bob = t.sign_up("bob").await;
    let me = bob.get("/api/me").await;
    assert_eq!(
        me.body["email_verified"], false,
        "optional: in, not yet proved"
    );
    let mail = outbox_of(&t, 1).await.remove(0);
    assert!(mail.contains("To: bob@example.com") && mail.contains("Confirm your email address"));
    let token = verify_token(&mail);
    let page = t.browser().page(&format!("/verify-email/{token}")).await;
    assert_eq!(page.status, Status::Ok, "opening the link uses nothing up");
    let verify = json!({ "token": token });
    let done = t.post("/api/email/verify", verify.clone()).await;
    assert_eq!(done.status, Status::NoContent);
    assert_eq!(bob.get("/api/me").await.body["email_verified"], true);
    let again = t.post("/api/email/verify", verify).await;
    assert!(
        again.body["error"]["fields"]["token"].is_array(),
        "single use"
    );
    let audit = admin.get("/api/audit?event=email_verified").await;
    assert_eq!(audit.body["total"], 1);
    let resend = bob.post("/api/me/email/verification", json!({})).await;
    assert_eq!(
        resend.status,
        Status::Accepted,
        "nothing to prove, same answer"
    );
}

#[rocket::async_test]
async fn required_verification_keeps_an_unproved_address_out_until_its_link_is_used() {
    let t = TestApp::with(|f| f.merge(("email_verification", "required"))).await;
    t.register("bob").await;
    let refused = t.login("bob", PASSWORD).await;
    assert_eq!(
        (refused.status, refused.code()),
        (Status::Forbidden, "email_unverified")
    );
    assert_eq!(
        t.login("bob", OTHER_PASSWORD).await.code(),
        "invalid_credentials",
        "a wrong password tells nothing more"
    );
    let browser = t.browser();
    let fields = [("username", "bob"), ("password", PASSWORD)];
    let page = browser.submit_on("/login", "/login", &fields).await;
    assert_eq!(page.status, Status::Forbidden);
    assert!(page.html().contains("Send a new confirmation link"));
    let asked = browser
        .form("/verify-email/resend", &[("username", "bob")])
        .await;
    assert_eq!(asked.location(), "/login");
    let mails = outbox_of(&t, 2).await;
    let token = verify_token(mails.last().expect("the new link"));
    let page = format!("/verify-email/{token}");
    let confirmed = browser.submit_on(&page, &page, &[]).await;
    assert_eq!(confirmed.location(), "/");
    assert_eq!(t.login("bob", PASSWORD).await.status, Status::Ok);
}

#[rocket::async_test]
async fn a_new_address_waits_for_its_link_and_the_old_one_is_told() {
    let t = TestApp::new().await;
    let admin = t.admin("root").await;
    let alice = t.member("alice").await;
    let asked = alice
        .patch("/api/me", json!({"email": "alice@new.example"}))
        .await;
    assert_eq!(asked.body["email"], "alice@example.com", "not yet");
    assert_eq!(asked.body["pending_email"], "alice@new.example");
    let taken = alice
        .patch("/api/me", json!({"email": "root@example.com"}))
        .await;
    assert_eq!(taken.status, Status::Conflict);
    let link = outbox_of(&t, 1).await.remove(0);
    assert!(link.contains("To: alice@new.example"));
    let verify = json!({ "token": verify_token(&link) });
    assert_eq!(
        t.post("/api/email/verify", verify).await.status,
        Status::NoContent
    );
    let me = alice.get("/api/me").await;
    assert_eq!(
        (
            &me.body["email"],
            &me.body["pending_email"],
            &me.body["email_verified"]
        ),
        (&json!("alice@new.example"), &json!(null), &json!(true))
    );
    let notice = outbox_of(&t, 2).await.pop().expect("a notice");
    assert!(notice.contains("To: alice@example.com") && notice.contains("was changed"));
    assert_eq!(
        t.login("alice@new.example", PASSWORD).await.status,
        Status::Ok
    );
    let audit = admin.get("/api/audit?event=email_changed").await;
    assert_eq!(audit.body["total"], 1);

    // An admin's change applies at once, vouched for; the old address is told and links
    // mailed to it die.
    let forgot = json!({"email": "alice@new.example"});
    t.post("/api/password/forgot", forgot).await;
    let reset_link = reset_token(&outbox_of(&t, 3).await[2]);
    let path = format!("/api/users/{}", alice.id);
    let set = admin
        .patch(&path, json!({"email": "alice@admin.example"}))
        .await;
    assert_eq!(
        (&set.body["email"], &set.body["email_verified"]),
        (&json!("alice@admin.example"), &json!(true))
    );
    let stale = json!({"token": reset_link, "new_password": OTHER_PASSWORD});
    let stale = t.post("/api/password/reset", stale).await;
    assert_eq!(
        stale.status,
        Status::UnprocessableEntity,
        "voided with its address"
    );
    let told = outbox_of(&t, 4).await;
    let heads: Vec<&str> = told.iter().filter_map(|m| m.split("MIME").next()).collect();
    assert!(
        told.iter()
            .any(|m| m.contains("To: alice@new.example") && m.contains("was changed")),
        "{heads:?}"
    );
}

#[rocket::async_test]
async fn an_admin_invites_someone_to_set_their_own_password() {
    let t = TestApp::new().await;
    let admin = t.admin("root").await;
    let body = json!({"username": "carol", "email": "carol@example.com", "name": "Carol"});
    let made = admin.post("/api/users", body).await;
    assert_eq!(made.status, Status::Created, "{:?}", made.body);
    let url = made.body["invite_url"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(url.contains("/password/reset/"), "{:?}", made.body);
    let mail = outbox_of(&t, 1).await.remove(0);
    assert!(mail.contains("To: carol@example.com") && mail.contains("set its password"));
    let token = reset_token(&mail);
    assert!(
        url.ends_with(&token),
        "the mailed link is the one handed back"
    );
    assert_eq!(
        t.login("carol", PASSWORD).await.status,
        Status::Unauthorized
    );
    // An invitation lives invite_token_ttl (a week), not reset_token_ttl (an hour).
    t.advance(time::Duration::hours(2));
    let set = json!({"token": token, "new_password": PASSWORD});
    assert_eq!(
        t.post("/api/password/reset", set).await.status,
        Status::NoContent
    );
    assert_eq!(t.login("carol", PASSWORD).await.status, Status::Ok);
    let admin = t.sign_in("root", PASSWORD).await;
    let audit = admin.get("/api/audit?event=user_invited").await;
    assert_eq!(audit.body["total"], 1);
    let with_password =
        json!({"username": "dan", "email": "dan@example.com", "password": PASSWORD});
    let dan = admin.post("/api/users", with_password).await;
    assert!(
        dan.body.get("invite_url").is_none(),
        "no invitation with a password"
    );
    let nopass = json!({"username": "eve", "email": "eve@example.com"});
    let signup = t.post("/api/register", nopass).await;
    assert_eq!(
        signup.status,
        Status::UnprocessableEntity,
        "sign-ups need one"
    );
    assert!(signup.body["error"]["fields"]["password"].is_array());
}
