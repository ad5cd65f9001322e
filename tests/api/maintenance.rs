//! The clean-up: ended sessions, idle throttle counters and old audit events go; nothing
//! else does.

use gatehouse::maintenance::{clean, Cleaned};
use rocket::http::Status;

use crate::common::{TestApp, OTHER_PASSWORD, PASSWORD};

#[rocket::async_test]
async fn what_has_served_its_time_is_cleaned_up() {
    let t = TestApp::with(|f| f.merge(("audit_retention_days", 30))).await;
    let alice = t.member("alice").await;
    t.login("alice", OTHER_PASSWORD).await;
    alice.post("/api/logout", serde_json::json!({})).await;
    let forgot = serde_json::json!({"email": "alice@example.com"});
    t.post("/api/password/forgot", forgot).await;
    crate::mail::outbox_of(&t, 1).await;
    let app = t.app();
    // Nothing grew old yet. (Nothing was ever removed before: sessions, counters and
    // events piled up for ever.)
    let now = clean(&app.db, &app.clock, &app.settings).await.unwrap();
    assert_eq!(now, Cleaned::default());

    t.advance(time::Duration::days(31));
    let later = clean(&app.db, &app.clock, &app.settings).await.unwrap();
    assert_eq!(later.sessions, 1, "the session ended 31 days ago");
    assert_eq!(
        later.counters, 4,
        "the failed login's and the reset mail's account and address counters"
    );
    assert!(later.events >= 3, "login, failed login, logout: {later:?}");
    assert_eq!(
        (later.mail, later.links),
        (1, 1),
        "the sent mail, the expired link"
    );
    assert_eq!(t.login("alice", PASSWORD).await.status, Status::Ok);
    let again = clean(&app.db, &app.clock, &app.settings).await.unwrap();
    assert_eq!(again, Cleaned::default(), "a second run finds nothing");
}
