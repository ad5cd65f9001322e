//! The real-browser suite: headless Chromium driven over WebDriver (chromedriver), against
//! the app served on a loopback port. Heavy, so `#[ignore]`d in the quick `cargo test`; the
//! full suite (`cargo test -- --include-ignored`, as `.ci/run` does) runs it, and fails
//! with a clear message when Debian's `chromium` and `chromium-driver` are missing.
//!
//! `UPDATE_SCREENSHOTS=1 cargo test -- --include-ignored browser` also refreshes the
//! README's screenshots in `docs/`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;
use tempfile::TempDir;

use crate::common::{TestApp, OTHER_PASSWORD, PASSWORD};
use crate::mfa::code;
use crate::nginx;

/// axe-core, vendored from the npm registry (tests/vendor/axe-core/SOURCE.txt).
const AXE: &str = include_str!("../vendor/axe-core/axe.min.js");

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Headless Chromium under chromedriver; both end when this is dropped.
struct Chromium {
    client: Client,
    driver: Child,
    _profile: TempDir,
}

impl Drop for Chromium {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Chromium {
    /// Starts chromedriver and a headless Chromium under it.
    async fn start() -> Chromium {
        Self::start_with(&[]).await
    }

    /// Starts one with extra command-line flags (`--force-dark-mode` for the dark scheme).
    async fn start_with(extra: &[&str]) -> Chromium {
        Self::launch(extra, None).await
    }

    /// Starts one that shows pages as a phone of this width does (headless windows cannot
    /// be narrower than 500 pixels, so the width is emulated).
    async fn start_phone(width: u32, height: u32) -> Chromium {
        Self::launch(&[], Some((width, height))).await
    }

    async fn launch(extra: &[&str], phone: Option<(u32, u32)>) -> Chromium {
        assert!(
            Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists(),
            "the browser suite needs Debian's chromium and chromium-driver packages"
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let profile = tempfile::tempdir().expect("a profile directory");
        let mut args = vec![
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--disable-component-update".to_owned(),
            "--no-first-run".to_owned(),
            "--window-size=1280,800".to_owned(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        args.extend(extra.iter().map(|flag| flag.to_string()));
        let mut options = json!({ "binary": CHROMIUM, "args": args });
        if let Some((width, height)) = phone {
            options["mobileEmulation"] = json!({
                "deviceMetrics": { "width": width, "height": height, "pixelRatio": 1 }
            });
        }
        let capabilities = json!({ "goog:chromeOptions": options });
        let serde_json::Value::Object(capabilities) = capabilities else {
            unreachable!("a JSON object literal")
        };
        let url = format!("http://127.0.0.1:{port}");
        let mut last_error = None;
        for _ in 0..50 {
            let mut builder = ClientBuilder::new(HttpConnector::new());
            builder.capabilities(capabilities.clone());
            match builder.connect(&url).await {
                Ok(client) => {
                    return Chromium {
                        client,
                        driver,
                        _profile: profile,
                    }
                }
                Err(e) => last_error = Some(e),
            }
            rocket::tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("chromedriver did not answer: {last_error:?}");
    }

    async fn open(&self, url: &str) {
        self.client.goto(url).await.expect("the page loads");
    }

    /// Ends the WebDriver session (the browser quits; chromedriver goes when dropped).
    async fn close(&self) {
        let client = self.client.clone();
        client.close().await.expect("the browser closes");
    }

    /// Signs in through the login page at `login` (a full URL) with the test password.
    async fn sign_in(&self, login: &str, username: &str) {
        self.open(login).await;
        self.fill("username", username).await;
        self.fill("password", PASSWORD).await;
        self.submit("/login").await;
    }

    async fn fill(&self, id: &str, text: &str) {
        let input = self.client.find(Locator::Id(id)).await.expect(id);
        input.clear().await.expect("clear");
        input.send_keys(text).await.expect("typing");
    }

    /// Types into a search box (found by name).
    async fn fill_search(&self, name: &str, text: &str) {
        let css = format!("input[name='{name}']");
        let input = self.client.find(Locator::Css(&css)).await.expect(name);
        input.send_keys(text).await.expect("typing");
    }

    /// Follows a link by its text and waits for the page.
    async fn click_link(&self, text: &str) {
        let old_page = self
            .client
            .find(Locator::Css("html"))
            .await
            .expect("a page");
        let link = self.client.find(Locator::LinkText(text)).await.expect(text);
        link.click().await.expect("click");
        self.wait_for_new_page(old_page, text).await;
    }

    /// Clicks the submit button of the form posting to `action` and waits for the next page:
    /// until the old document's root element is gone.
    async fn submit(&self, action: &str) {
        let old_page = self
            .client
            .find(Locator::Css("html"))
            .await
            .expect("a page");
        let css = format!("form[action='{action}'] button[type=submit]");
        let button = self.client.find(Locator::Css(&css)).await.expect(action);
        button.click().await.expect("click");
        self.wait_for_new_page(old_page, action).await;
    }

    async fn wait_for_new_page(&self, old_page: fantoccini::elements::Element, what: &str) {
        for _ in 0..100 {
            if old_page.tag_name().await.is_err() {
                return;
            }
            rocket::tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{what} led nowhere");
    }

    async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("a URL");
        match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        }
    }

    async fn text(&self) -> String {
        let body = self
            .client
            .find(Locator::Css("body"))
            .await
            .expect("a body");
        body.text().await.expect("text")
    }

    /// Runs axe-core on the page and returns its serious and critical violations, one line
    /// each (rule, and where).
    async fn accessibility_problems(&self) -> Vec<String> {
        self.client
            .execute(AXE, vec![])
            .await
            .expect("axe-core loads");
        let run = r#"
            const done = arguments[arguments.length - 1];
            axe.run(document, { resultTypes: ["violations"] }).then((results) => done(
                results.violations
                    .filter((v) => v.impact === "serious" || v.impact === "critical")
                    .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`)
            ));
        "#;
        let found = self
            .client
            .execute_async(run, vec![])
            .await
            .expect("axe-core runs");
        serde_json::from_value(found).expect("a list of violations")
    }

    /// Whether the page is wider than the window (a sideways scroll on a phone).
    async fn overflows_sideways(&self) -> bool {
        let script = "const e = document.documentElement; return e.scrollWidth > e.clientWidth;";
        let wide = self.client.execute(script, vec![]).await.expect("measured");
        wide.as_bool().expect("a boolean")
    }

    /// The id of the element that has the focus.
    async fn focused_id(&self) -> String {
        let script = "return document.activeElement ? document.activeElement.id : '';";
        let id = self
            .client
            .execute(script, vec![])
            .await
            .expect("focus read");
        id.as_str().unwrap_or_default().to_owned()
    }

    /// Saves a screenshot in the test's directory, and in `docs/` when asked to.
    async fn screenshot(&self, dir: &Path, name: &str) {
        let png = self.client.screenshot().await.expect("a screenshot");
        std::fs::write(dir.join(name), &png).expect("screenshot written");
        if std::env::var("UPDATE_SCREENSHOTS").as_deref() == Ok("1") {
            let docs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs");
            std::fs::create_dir_all(&docs).expect("docs/");
            std::fs::write(docs.join(name), &png).expect("screenshot written to docs/");
        }
    }
}

#[rocket::async_test]
#[ignore = "heavy: headless Chromium; the full suite runs it (--include-ignored)"]
async fn a_person_signs_up_edits_changes_password_and_signs_out_in_chromium() {
    let browser = Chromium::start().await;
    let t = TestApp::new().await;
    for name in ["ada", "brian", "chen", "dana", "eve"] {
        t.register(name).await;
    }
    let server = t.serve().await;
    let at = |path: &str| format!("{}{path}", server.base);

    browser.open(&at("/signup")).await;
    browser.screenshot(t.dir.path(), "signup.png").await;
    browser.fill("username", "alice").await;
    browser.fill("email", "alice@example.com").await;
    browser.fill("name", "Alice Liddell").await;
    browser.fill("password", PASSWORD).await;
    browser.fill("password_confirm", "not the same").await;
    browser.submit("/signup").await;
    assert!(
        browser.text().await.contains("does not match"),
        "errors beside the field"
    );
    browser.fill("password", PASSWORD).await;
    browser.fill("password_confirm", PASSWORD).await;
    browser.submit("/signup").await;
    assert_eq!(browser.path().await, "/", "{}", browser.text().await);
    assert!(browser
        .text()
        .await
        .contains("Welcome to Gatehouse, alice!"));
    let cookies = browser.client.get_all_cookies().await.expect("cookies");
    let access = cookies
        .iter()
        .find(|c| c.name() == "access_token")
        .expect("access cookie");
    assert_eq!(
        access.http_only(),
        Some(true),
        "scripts cannot read the token"
    );

    browser.submit("/logout").await;
    assert!(browser.text().await.contains("You have signed out."));
    browser.sign_in(&at("/login"), "alice@example.com").await;
    assert!(browser.text().await.contains("Signed in as alice."));

    browser.open(&at("/account")).await;
    browser.fill("name", "Alice Pleasance Liddell").await;
    browser.submit("/account/profile").await;
    assert!(browser.text().await.contains("Your profile is saved."));
    assert_eq!(
        t.login("alice", PASSWORD).await.body["user"]["name"],
        "Alice Pleasance Liddell"
    );

    browser.fill("password_current", PASSWORD).await;
    browser.fill("new_password", OTHER_PASSWORD).await;
    browser.fill("new_password_confirm", OTHER_PASSWORD).await;
    browser.submit("/account/password").await;
    assert!(browser.text().await.contains("Your password is changed"));

    browser.open(&at("/bucketlists")).await;
    browser.fill("name", "Before forty").await;
    browser.submit("/bucketlists").await;
    assert!(browser.text().await.contains("Created “Before forty”."));
    let list_path = browser.path().await;
    browser.fill("name", "See the northern lights").await;
    browser.submit(&format!("{list_path}/items")).await;
    assert!(browser.text().await.contains("0 of 1 done."));
    assert_eq!(
        browser.focused_id().await,
        "name",
        "ready for the next item"
    );
    let checkbox = browser
        .client
        .find(Locator::Css("input[type=checkbox][name=done]"))
        .await
        .expect("a checkbox per item");
    checkbox.click().await.expect("tick");
    browser.submit(&format!("{list_path}/items/done")).await;
    assert!(
        browser.text().await.contains("1 of 1 done."),
        "the item is ticked"
    );
    browser.click_link("Delete this list…").await;
    assert!(browser.text().await.contains("Delete “Before forty”?"));
    browser.submit(&format!("{list_path}/delete")).await;
    assert!(browser.text().await.contains("List deleted."));

    browser.open(&at("/users")).await;
    assert!(browser.text().await.contains("6 members"));
    browser.screenshot(t.dir.path(), "directory.png").await;

    browser.submit("/logout").await;
    browser.open(&at("/account")).await;
    assert_eq!(
        browser.path().await,
        "/login?next=%2Faccount",
        "the protected page sends to login"
    );
    browser.fill("username", "alice").await;
    browser.fill("password", OTHER_PASSWORD).await;
    browser.submit("/login").await;
    assert_eq!(browser.path().await, "/account", "and back after login");
    browser.close().await;
}

#[rocket::async_test]
#[ignore = "heavy: headless Chromium; the full suite runs it (--include-ignored)"]
async fn an_admin_deactivates_a_member_whose_open_browser_is_then_refused() {
    let admin = Chromium::start().await;
    let member = Chromium::start().await;
    let t = TestApp::new().await;
    t.admin("root").await;
    for name in ["vera", "walt", "xena"] {
        t.register(name).await;
    }
    let server = t.serve().await;
    let at = |path: &str| format!("{}{path}", server.base);

    member.open(&at("/signup")).await;
    member.fill("username", "victor").await;
    member.fill("email", "victor@example.com").await;
    member.fill("password", PASSWORD).await;
    member.fill("password_confirm", PASSWORD).await;
    member.submit("/signup").await;
    member.open(&at("/account")).await;
    assert_eq!(member.path().await, "/account", "victor is signed in");

    admin.sign_in(&at("/login"), "root").await;
    admin.open(&at("/admin/users")).await;
    admin.screenshot(t.dir.path(), "admin-users.png").await;
    admin.fill_search("q", "vic").await;
    admin.submit("/admin/users").await;
    assert!(admin.text().await.contains("1 user."));
    admin.click_link("victor").await;

    let form = admin
        .client
        .find(Locator::Id("role"))
        .await
        .expect("role select");
    form.select_by_value("admin").await.expect("choose admin");
    let path = admin.path().await;
    admin.submit(&path).await;
    assert!(admin.text().await.contains("Saved victor."));
    member.open(&at("/admin")).await;
    assert_eq!(
        member.path().await,
        "/admin",
        "the new role applies on victor's next page"
    );

    let active = admin
        .client
        .find(Locator::Css("input[name=active]"))
        .await
        .expect("checkbox");
    active.click().await.expect("untick active");
    admin.submit(&path).await;
    assert!(admin.text().await.contains("Saved victor."));
    member.open(&at("/account")).await;
    assert_eq!(
        member.path().await,
        "/login?next=%2Faccount",
        "victor's session is refused"
    );
    admin.close().await;
    member.close().await;
}

#[rocket::async_test]
#[ignore = "heavy: headless Chromium; the full suite runs it (--include-ignored)"]
async fn every_page_passes_axe_in_both_schemes_and_fits_a_phone() {
    let t = TestApp::new().await;
    let root = t.admin("root").await;
    let mem = t.member("mem").await;
    let list = mem.post("/api/bucketlists", json!({"name": "Trips"})).await;
    let list = list.body["id"].as_str().expect("a list").to_owned();
    let item = json!({"name": "Visit Rome"});
    let item = mem
        .post(&format!("/api/bucketlists/{list}/items"), item)
        .await;
    let item = item.body["id"].as_str().expect("an item").to_owned();
    let server = t.serve().await;
    let at = |path: &str| format!("{}{path}", server.base);
    let anonymous = [
        "/",
        "/login",
        "/signup",
        "/no-such-page",
        "/login?next=%2Faccount",
        "/password/forgot",
        "/password/reset/not-a-token",
    ];
    let member = [
        "/".to_owned(),
        "/account".to_owned(),
        "/account/logout-all".to_owned(),
        "/account/mfa".to_owned(),
        "/users".to_owned(),
        format!("/users/{}", root.id),
        "/bucketlists".to_owned(),
        format!("/bucketlists/{list}"),
        format!("/bucketlists/{list}/delete"),
        format!("/bucketlists/{list}/items/{item}/delete"),
        "/logout".to_owned(),
    ];
    let admin = [
        "/admin".to_owned(),
        "/admin/users".to_owned(),
        "/admin/users/new".to_owned(),
        "/admin/audit".to_owned(),
        format!("/admin/users/{}", mem.id),
        format!("/admin/users/{}/delete", mem.id),
        format!("/admin/users/{}/mfa/remove", mem.id),
        format!("/admin/users/{}", root.id),
    ];
    for scheme in [&[][..], &["--force-dark-mode"][..]] {
        let browser = Chromium::start_with(scheme).await;
        let mut problems = Vec::new();
        let mut check = |path: String, found: Vec<String>| {
            problems.extend(found.into_iter().map(|p| format!("{scheme:?} {path}: {p}")));
        };
        for path in anonymous {
            browser.open(&at(path)).await;
            check(path.to_owned(), browser.accessibility_problems().await);
        }
        browser.open(&at("/login")).await;
        browser.submit("/login").await;
        check(
            "/login, failed".into(),
            browser.accessibility_problems().await,
        );
        for (account, pages) in [("mem", &member[..]), ("root", &admin[..])] {
            browser.sign_in(&at("/login"), account).await;
            for path in pages {
                browser.open(&at(path)).await;
                check(path.clone(), browser.accessibility_problems().await);
            }
            browser.submit("/logout").await;
        }
        assert!(
            problems.is_empty(),
            "axe-core found:\n{}",
            problems.join("\n")
        );
        if !scheme.is_empty() {
            browser.sign_in(&at("/login"), "root").await;
            browser.open(&at(&format!("/admin/users/{}", mem.id))).await;
            browser
                .screenshot(t.dir.path(), "dark-admin-user.png")
                .await;
        }
        browser.close().await;
    }

    let phone = Chromium::start_phone(390, 844).await;
    phone.sign_in(&at("/login"), "root").await;
    let shots = [
        ("/account".to_owned(), "phone-account.png"),
        (format!("/admin/users/{}", mem.id), "phone-admin-user.png"),
        ("/admin/users".to_owned(), "phone-admin-users.png"),
        ("/admin".to_owned(), "phone-dashboard.png"),
    ];
    for (path, shot) in shots {
        phone.open(&at(&path)).await;
        assert!(
            !phone.overflows_sideways().await,
            "{path} is wider than a phone"
        );
        phone.screenshot(t.dir.path(), shot).await;
    }
    phone.close().await;
}

#[rocket::async_test]
#[ignore = "heavy: headless Chromium; the full suite runs it (--include-ignored)"]
async fn back_after_an_error_and_a_session_ended_elsewhere() {
    let browser = Chromium::start().await;
    let t = TestApp::new().await;
    let root = t.admin("root").await;
    let mem = t.member("mem").await;
    let server = t.serve().await;
    let at = |path: &str| format!("{}{path}", server.base);
    browser.sign_in(&at("/login"), "root").await;

    browser.open(&at(&format!("/admin/users/{}", mem.id))).await;
    let account_link = browser
        .client
        .find(Locator::Css("header a[href='/account']"))
        .await
        .expect("the header's account link");
    assert_eq!(
        account_link.text().await.expect("text"),
        "root",
        "who is signed in"
    );

    browser.open(&at("/account")).await;
    browser.fill("email", "not an address").await;
    browser.submit("/account/profile").await;
    assert!(browser.text().await.contains("There is a problem"));
    browser.open(&at("/users")).await;
    browser.client.back().await.expect("back");
    rocket::tokio::time::sleep(Duration::from_millis(300)).await;
    let text = browser.text().await;
    assert!(
        text.contains("Your account") && !text.contains("ERR_CACHE_MISS"),
        "Back shows the form again: {text}"
    );

    // Signed out everywhere from another device: the next form post says so.
    root.call(rocket::http::Method::Post, "/api/logout-all", None)
        .await;
    browser.open(&at("/account")).await;
    assert!(browser.path().await.starts_with("/login"));
    browser.fill("username", "root").await;
    browser.fill("password", PASSWORD).await;
    browser.submit("/login").await;
    assert_eq!(browser.path().await, "/account", "back where it was");
    browser.close().await;
}

#[rocket::async_test]
#[ignore = "heavy: headless Chromium; the full suite runs it (--include-ignored)"]
async fn a_forgotten_password_is_reset_from_the_mail_in_chromium() {
    let browser = Chromium::start().await;
    let t = TestApp::new().await;
    t.member("alice").await;
    let server = t.serve().await;
    let at = |path: &str| format!("{}{path}", server.base);
    browser.open(&at("/login")).await;
    browser.click_link("Forgot your password?").await;
    browser.fill("email", "alice@example.com").await;
    browser.submit("/password/forgot").await;
    assert!(browser.text().await.contains("we sent it a link"));

    let mail = crate::mail::outbox_of(&t, 1).await.remove(0);
    let token = crate::mail::reset_token(&mail);
    browser.open(&at(&format!("/password/reset/{token}"))).await;
    browser.fill("new_password", OTHER_PASSWORD).await;
    browser.fill("new_password_confirm", OTHER_PASSWORD).await;
    browser.submit(&format!("/password/reset/{token}")).await;
    assert!(browser.text().await.contains("Your new password is set"));
    browser.fill("username", "alice").await;
    browser.fill("password", OTHER_PASSWORD).await;
    browser.submit("/login").await;
    assert!(browser.text().await.contains("Signed in as alice."));
    browser.close().await;
}

#[rocket::async_test]
#[ignore = "heavy: headless Chromium; the full suite runs it (--include-ignored)"]
async fn a_member_turns_on_two_factor_and_signs_in_with_a_code_in_chromium() {
    let browser = Chromium::start().await;
    let t = TestApp::new().await;
    t.member("mira").await;
    let server = t.serve().await;
    let at = |path: &str| format!("{}{path}", server.base);
    browser.sign_in(&at("/login"), "mira").await;
    browser.open(&at("/account")).await;
    browser.click_link("Set up two-factor authentication").await;
    browser.fill("begin_password", PASSWORD).await;
    browser.submit("/account/mfa/totp").await;
    assert!(browser.text().await.contains("Add Gatehouse to your app"));
    let qr = browser
        .client
        .find(Locator::Css(".qr svg"))
        .await
        .expect("the QR code");
    let (_, _, width, height) = qr.rectangle().await.expect("drawn");
    assert!(width >= 150.0 && height >= 150.0, "{width}×{height}");
    assert_eq!(browser.accessibility_problems().await, Vec::<String>::new());
    browser.screenshot(t.dir.path(), "mfa-enrol.png").await;
    // What a person without a camera does: read the key off the page into the app.
    let secret = browser
        .client
        .find(Locator::Id("totp-secret"))
        .await
        .expect("the key")
        .prop("value")
        .await
        .expect("its text")
        .expect("a value");
    let app = format!("otpauth://totp/Gatehouse:mira?secret={secret}");
    browser.fill("code", &code(&t, &app, 0)).await;
    browser.submit("/account/mfa/totp/confirm").await;
    let codes = browser
        .client
        .find_all(Locator::Css("#recovery-codes li"))
        .await
        .expect("the codes");
    assert_eq!(codes.len(), 10);
    browser.click_link("I have saved them").await;
    assert!(browser.text().await.contains("It is on"));
    browser.submit("/logout").await;

    browser.open(&at("/login?next=%2Fbucketlists")).await;
    browser.fill("username", "mira").await;
    browser.fill("password", PASSWORD).await;
    browser.submit("/login").await;
    assert_eq!(browser.path().await, "/login/mfa");
    assert_eq!(browser.focused_id().await, "code");
    assert_eq!(browser.accessibility_problems().await, Vec::<String>::new());
    // The confirmation spent this step's code: the app's next one (one step of drift).
    browser.fill("code", &code(&t, &app, 1)).await;
    browser.submit("/login/mfa").await;
    assert_eq!(browser.path().await, "/bucketlists");
    assert!(browser.text().await.contains("Signed in as mira."));
    browser.close().await;
}

#[rocket::async_test]
#[ignore = "heavy: headless Chromium and nginx; the full suite runs it (--include-ignored)"]
async fn nginx_puts_the_login_in_front_of_an_app() {
    let t = TestApp::with(|f| f.merge(("trusted_proxies", "127.0.0.1"))).await;
    t.member("alice").await;
    let server = t.serve().await;
    let app = nginx::app().await;
    let proxy = nginx::Nginx::start(&server.base, &app).await;
    let page = format!("{}/reports?year=2026&page=2", proxy.base);

    let program = nginx::get(&page, &[("Accept", "application/json")]).await;
    assert!(
        program.starts_with("HTTP/1.1 401"),
        "{program}\n{}",
        proxy.log()
    );
    let forged = nginx::get(
        &page,
        &[("Accept", "text/html"), ("X-Auth-User", "mallory")],
    )
    .await;
    assert!(
        forged.starts_with("HTTP/1.1 302"),
        "{forged}\n{}",
        proxy.log()
    );

    let browser = Chromium::start().await;
    browser.open(&page).await;
    assert_eq!(browser.path().await.split('?').next(), Some("/login"));
    browser.fill("username", "alice").await;
    browser.fill("password", PASSWORD).await;
    // Straight back, through the login form's redirect (which the page's CSP allows).
    browser.submit("/login").await;
    let url = browser.client.current_url().await.expect("a URL");
    assert_eq!(url.as_str(), page, "back at the app");
    assert_eq!(browser.text().await, "Hello alice", "{}", proxy.log());
    // The identity headers reach the app from nginx alone: a client's own are replaced.
    let cookie = browser
        .client
        .get_named_cookie("access_token")
        .await
        .expect("the session cookie");
    let cookie = format!("access_token={}", cookie.value());
    let forged = [("Cookie", cookie.as_str()), ("X-Auth-User", "mallory")];
    let answer = nginx::get(&page, &forged).await;
    assert!(answer.ends_with("<h1>Hello alice</h1>"), "{answer}");

    // Signing out in Gatehouse shuts the app on the next request.
    browser.open(&format!("{}/account", server.base)).await;
    browser.submit("/logout").await;
    browser.open(&page).await;
    assert_eq!(browser.path().await.split('?').next(), Some("/login"));
    assert!(!browser.text().await.contains("Hello"));
    browser.close().await;
}
