//! The real-browser suite: headless Chromium driven over WebDriver (chromedriver), against
//! the app served on a loopback port. Without Chromium it says so and skips, except under
//! `CI=true`, where a missing browser fails the run.
//!
//! `UPDATE_SCREENSHOTS=1 cargo test browser` also refreshes the README's screenshots in `docs/`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;
use tempfile::TempDir;

use crate::common::{TestApp, OTHER_PASSWORD, PASSWORD};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Headless Chromium under chromedriver; both end when this is dropped.
struct Browser {
    client: Client,
    driver: Child,
    _profile: TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Browser {
    /// `None` (with a note) when Chromium is not installed outside CI.
    async fn start() -> Option<Browser> {
        if !Path::new(CHROMIUM).exists() || !Path::new(CHROMEDRIVER).exists() {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI needs the chromium and chromium-driver packages"
            );
            eprintln!("skipped: install the chromium and chromium-driver packages to run this");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let profile = tempfile::tempdir().expect("a profile directory");
        let capabilities = json!({
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu",
                    "--disable-background-networking", "--disable-dev-shm-usage",
                    "--disable-component-update", "--no-first-run", "--window-size=1200,900",
                    format!("--user-data-dir={}", profile.path().display()),
                ]
            }
        });
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
                    return Some(Browser {
                        client,
                        driver,
                        _profile: profile,
                    })
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

    async fn fill(&self, id: &str, text: &str) {
        let input = self.client.find(Locator::Id(id)).await.expect(id);
        input.clear().await.expect("clear");
        input.send_keys(text).await.expect("typing");
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
        for _ in 0..100 {
            if old_page.tag_name().await.is_err() {
                return;
            }
            rocket::tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("submitting {action} led nowhere");
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
async fn a_person_signs_up_edits_changes_password_and_signs_out_in_chromium() {
    let Some(browser) = Browser::start().await else {
        return;
    };
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
    browser.open(&at("/login")).await;
    browser.fill("username", "alice@example.com").await;
    browser.fill("password", PASSWORD).await;
    browser.submit("/login").await;
    assert!(browser.text().await.contains("Signed in as alice."));

    browser.open(&at("/account")).await;
    browser.fill("name", "Alice Pleasance Liddell").await;
    browser.submit("/account/profile").await;
    assert!(browser.text().await.contains("Your profile is saved."));
    assert_eq!(
        t.login("alice", PASSWORD).await.body["user"]["name"],
        "Alice Pleasance Liddell"
    );

    browser.fill("current_password", PASSWORD).await;
    browser.fill("new_password", OTHER_PASSWORD).await;
    browser.fill("new_password_confirm", OTHER_PASSWORD).await;
    browser.submit("/account/password").await;
    assert!(browser.text().await.contains("Your password is changed"));

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
    browser
        .client
        .clone()
        .close()
        .await
        .expect("the browser closes");
}
