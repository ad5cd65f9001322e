//! The second factor in the pages: `/account/mfa`, the two-step sign-in, the admin's
//! removal.

use rocket::http::Status;

use crate::common::{Browser, TestApp, PASSWORD};
use crate::mfa::{code, enrol};

/// The value of the input with this id.
fn input_value(html: &str, id: &str) -> String {
    let (_, rest) = html.split_once(&format!("id=\"{id}\"")).expect("the input");
    let (_, rest) = rest.split_once("value=\"").expect("a value");
    rest.split('"').next().unwrap_or_default().to_owned()
}

/// The recovery codes a page shows.
fn codes_on(html: &str) -> Vec<String> {
    html.split("<li><code>")
        .skip(1)
        .filter_map(|part| part.split("</code>").next())
        .map(str::to_owned)
        .collect()
}

#[rocket::async_test]
async fn the_account_page_turns_two_factor_on_with_a_qr_code_and_the_key() {
    let t = TestApp::new().await;
    let alice = t.member("alice").await;
    let browser = t.browser();
    browser.login(&alice).await;
    let account = browser.page("/account").await;
    assert!(account.html().contains("Set up two-factor authentication"));

    let wrong = browser
        .submit_on("/account/mfa", "/account/mfa/totp", &[("password", "nope")])
        .await;
    assert_eq!(wrong.status, Status::UnprocessableEntity);
    assert!(
        wrong.html().contains("id=\"begin_password-error\""),
        "{}",
        wrong.html()
    );
    let begun = browser
        .submit_on(
            "/account/mfa",
            "/account/mfa/totp",
            &[("password", PASSWORD)],
        )
        .await;
    assert_eq!(begun.location(), "/account/mfa");
    let page = browser.page("/account/mfa").await;
    let html = page.html();
    assert!(
        html.contains("<svg") && html.contains("role=\"img\""),
        "{html}"
    );
    let secret = input_value(html, "totp-secret");
    assert_eq!(secret.len(), 32);
    let url = format!("otpauth://totp/Gatehouse:alice?secret={secret}&issuer=Gatehouse");

    let refused = browser
        .form("/account/mfa/totp/confirm", &[("code", "000000")])
        .await;
    assert_eq!(refused.status, Status::UnprocessableEntity);
    assert!(
        refused.html().contains("id=\"code-error\""),
        "{}",
        refused.html()
    );
    let confirmed = browser
        .form("/account/mfa/totp/confirm", &[("code", &code(&t, &url, 0))])
        .await;
    assert_eq!(confirmed.status, Status::Ok, "{}", confirmed.html());
    assert_eq!(codes_on(confirmed.html()).len(), 10);
    let on = browser.page("/account/mfa").await;
    assert!(on
        .html()
        .contains("<strong>10</strong> unused recovery codes"));
    assert!(!on.html().contains(&secret), "the key is never shown again");

    let fresh = browser
        .submit_on(
            "/account/mfa",
            "/account/mfa/recovery-codes",
            &[("password", PASSWORD)],
        )
        .await;
    assert_eq!(codes_on(fresh.html()).len(), 10);
    let off = browser
        .submit_on(
            "/account/mfa",
            "/account/mfa/off",
            &[("password", PASSWORD)],
        )
        .await;
    assert_eq!(off.location(), "/account/mfa");
    assert!(browser
        .page("/account/mfa")
        .await
        .html()
        .contains("It is off"));
}

/// The password step in `browser`, which goes on to the code form.
async fn password_step(browser: &Browser, username: &str, next: &str) {
    let fields = [
        ("username", username),
        ("password", PASSWORD),
        ("next", next),
    ];
    let reply = browser
        .submit_on(&format!("/login?next={next}"), "/login", &fields)
        .await;
    assert_eq!(reply.status, Status::SeeOther, "{}", reply.html());
    assert_eq!(reply.location(), "/login/mfa");
}

#[rocket::async_test]
async fn signing_in_takes_a_code_and_keeps_where_it_was_going() {
    let t = TestApp::new().await;
    let alice = t.member("alice").await;
    let (url, codes) = enrol(&t, &alice).await;

    let stranger = t.browser();
    let nothing = stranger.page("/login/mfa").await;
    assert_eq!(nothing.location(), "/login");

    let browser = t.browser();
    password_step(&browser, "alice", "/bucketlists").await;
    // Not signed in yet.
    assert_eq!(browser.page("/account").await.status, Status::SeeOther);
    let form = browser.page("/login/mfa").await;
    assert!(form.html().contains("autocomplete=\"one-time-code\""));
    let wrong = browser.form("/login/mfa", &[("code", "000000")]).await;
    assert_eq!(wrong.status, Status::Unauthorized);
    assert!(
        wrong.html().contains("That code is not right."),
        "{}",
        wrong.html()
    );
    let done = browser
        .form("/login/mfa", &[("code", &code(&t, &url, 0))])
        .await;
    assert_eq!(done.status, Status::SeeOther, "{}", done.html());
    assert_eq!(done.location(), "/bucketlists");
    assert_eq!(browser.page("/bucketlists").await.status, Status::Ok);

    let other = t.browser();
    password_step(&other, "alice", "/account").await;
    let recovery = other.page("/login/mfa?recovery=true").await;
    assert!(recovery.html().contains("name=\"recovery_code\""));
    let fields = [("recovery", "true"), ("recovery_code", codes[0].as_str())];
    let done = other.form("/login/mfa", &fields).await;
    assert_eq!(done.location(), "/account", "{}", done.html());
}

#[rocket::async_test]
async fn an_admin_removes_a_second_factor_from_the_user_page() {
    let t = TestApp::new().await;
    let alice = t.member("alice").await;
    let root = t.admin("root").await;
    enrol(&t, &alice).await;
    let browser = t.browser();
    browser.login(&root).await;
    let user_page = format!("/admin/users/{}", alice.id);
    let page = browser.page(&user_page).await;
    assert!(page.html().contains("Remove the second factor"));
    let confirm = format!("{user_page}/mfa/remove");
    let question = browser.page(&confirm).await;
    assert!(question
        .html()
        .contains("Remove the second factor of alice?"));
    let removed = browser.form(&confirm, &[]).await;
    assert_eq!(removed.location(), user_page);
    assert_eq!(alice.get("/api/me").await.body["mfa_enabled"], false);
    let after = browser.page(&user_page).await;
    assert!(after.html().contains("The second factor is removed."));
}
