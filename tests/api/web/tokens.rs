//! Personal access tokens on the account page: made (shown once), listed, refused with the
//! problem beside its field, and deleted.

use rocket::http::{Method, Status};

use crate::common::TestApp;

/// The token on the page that answers its creation.
fn shown_token(html: &str) -> String {
    let start = html.find("gatehouse_pat_").expect("the token is shown");
    html[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect()
}

#[rocket::async_test]
async fn the_account_page_makes_lists_and_deletes_tokens() {
    let t = TestApp::new().await;
    let browser = t.browser();
    browser.sign_up("alice").await;
    let page = browser.page("/account").await;
    assert!(page.html().contains("You have no tokens."));
    let made = browser
        .form(
            "/account/tokens",
            &[
                ("name", "backup script"),
                ("scope", "write"),
                ("expires_in_days", "30"),
            ],
        )
        .await;
    assert_eq!(made.status, Status::Ok, "{}", made.html());
    assert!(made.html().contains("shown only this once"));
    let token = shown_token(made.html());
    assert_eq!(token.len(), "gatehouse_pat_".len() + 40);
    let me = t.call(Method::Get, "/api/me", Some(&token), None).await;
    assert_eq!(me.status, Status::Ok);

    let page = browser.page("/account").await;
    assert!(page.html().contains("backup script"));
    assert!(page.html().contains("read and write"));
    assert!(!page.html().contains(&token), "never shown again");
    let listed = t
        .call(Method::Get, "/api/me/tokens", Some(&token), None)
        .await;
    let id = listed.body["tokens"][0]["id"].as_str().unwrap().to_owned();
    let gone = browser
        .form(&format!("/account/tokens/{id}/delete"), &[])
        .await;
    assert_eq!(
        (gone.status, gone.location()),
        (Status::SeeOther, "/account")
    );
    let me = t.call(Method::Get, "/api/me", Some(&token), None).await;
    assert_eq!(me.status, Status::Unauthorized);
    assert!(browser
        .page("/account")
        .await
        .html()
        .contains("The token is deleted"));
}

#[rocket::async_test]
async fn a_refused_token_form_comes_back_with_its_problems() {
    let t = TestApp::new().await;
    let browser = t.browser();
    browser.sign_up("alice").await;
    browser.page("/account").await;
    let refused = browser
        .form(
            "/account/tokens",
            &[("name", ""), ("scope", "write"), ("expires_in_days", "400")],
        )
        .await;
    assert_eq!(
        refused.status,
        Status::UnprocessableEntity,
        "{}",
        refused.html()
    );
    assert!(refused.html().contains("id=\"token_name-error\""));
    assert!(refused
        .html()
        .contains("Expires after must be between 1 and 365"));
    assert!(
        refused.html().contains("<option value=\"write\" selected>"),
        "the scope chosen is kept"
    );
    let without = browser
        .submit(
            "/account/tokens",
            &[("name", "x"), ("scope", "read"), ("expires_in_days", "7")],
        )
        .await;
    assert_eq!(without.status, Status::Forbidden, "no CSRF token, no token");
}

#[rocket::async_test]
async fn an_old_sign_in_makes_a_token_with_the_password() {
    let t = TestApp::new().await;
    let browser = t.browser();
    browser.sign_up("alice").await;
    t.advance(time::Duration::minutes(11));
    browser.page("/account").await;
    let fields = [
        ("name", "nightly"),
        ("scope", "read"),
        ("expires_in_days", "7"),
    ];
    let refused = browser.form("/account/tokens", &fields).await;
    assert_eq!(
        refused.status,
        Status::UnprocessableEntity,
        "{}",
        refused.html()
    );
    assert!(refused.html().contains("id=\"token_password-error\""));
    let mut typed = fields.to_vec();
    typed.push(("current_password", crate::common::PASSWORD));
    let made = browser.form("/account/tokens", &typed).await;
    assert_eq!(made.status, Status::Ok, "{}", made.html());
    assert!(made.html().contains("gatehouse_pat_"));
}
