//! The member directory.

use rocket::http::Status;
use serde_json::json;

use crate::common::TestApp;

#[rocket::async_test]
async fn the_directory_searches_and_pages_through_active_members() {
    let t = TestApp::new().await;
    let browser = t.browser();
    let admin = t.admin("root").await;
    for i in 0..24 {
        t.register(&format!("user{i:02}")).await;
    }
    let hidden = t.member("hidden").await;
    let path = format!("/api/users/{}", hidden.id);
    admin.patch(&path, json!({"active": false})).await;
    browser.sign_up("viewer").await;
    let first = browser.page("/users").await;
    assert_eq!(first.status, Status::Ok);
    assert!(
        first.html().contains("26 members"),
        "24 + root + viewer, not the hidden one"
    );
    assert_eq!(first.html().matches("<tr>").count(), 21, "header + 20 rows");
    assert!(first.html().contains("rel=\"next\""));
    assert!(
        !first.html().contains("@example.com"),
        "no emails in the directory"
    );
    let second = browser.page("/users?page=2").await;
    assert_eq!(second.html().matches("<tr>").count(), 7);
    assert!(second.html().contains("rel=\"prev\""));
    let search = browser.page("/users?q=USER1").await;
    assert!(
        search.html().contains("10 members matching"),
        "{}",
        search.html()
    );
    let none = browser.page("/users?q=hidden").await;
    assert!(none.html().contains("No members match “hidden”."));
    let past = browser.page("/users?page=99").await;
    assert!(
        past.html().contains("Page 2 of 2"),
        "the last page, not page 99"
    );
    assert_eq!(past.html().matches("<tr>").count(), 7);
    let profile = browser.page(&format!("/users/{}", admin.id)).await;
    assert!(profile.html().contains("<h1>root</h1>"));
    assert_eq!(
        browser.page(&format!("/users/{}", hidden.id)).await.status,
        Status::NotFound
    );
    let missing = browser.page("/users/not-a-user").await;
    assert_eq!(missing.status, Status::NotFound);
    assert!(missing.html().contains("Page not found") && missing.html().contains("<nav"));
}
