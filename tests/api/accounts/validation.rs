//! Confusable and invisible identifiers.

use rocket::http::Status;
use serde_json::json;

use crate::common::{TestApp, PASSWORD};

#[rocket::async_test]
async fn usernames_are_one_name_across_case_and_compatibility_forms() {
    let t = TestApp::new().await;
    assert_eq!(t.register("admin").await.status, Status::Created);
    for twin in ["Admin", "ADMIN", "ａｄｍｉｎ", "Ａｄｍｉｎ", " admin "] {
        let body = json!({"username": twin, "email": format!("{}@example.com", twin.len()), "password": PASSWORD});
        let reply = t.post("/api/register", body).await;
        assert_eq!(
            (reply.status, reply.code()),
            (Status::Conflict, "conflict"),
            "{twin:?}"
        );
    }
    let fullwidth =
        json!({"username": "ａｌｉｃｅ", "email": "alice@example.com", "password": PASSWORD});
    let created = t.post("/api/register", fullwidth).await;
    assert_eq!(
        (created.status, &created.body["username"]),
        (Status::Created, &json!("alice"))
    );
    assert_eq!(
        t.login("ＡＬＩＣＥ", PASSWORD).await.status,
        Status::Ok,
        "typed in fullwidth"
    );
    for lookalike in [
        "аdmin",
        "ad\u{200B}min",
        "admin\u{202E}",
        "\u{FEFF}admin",
        "adm\u{0131}n",
    ] {
        let body = json!({"username": lookalike, "email": "x@example.com", "password": PASSWORD});
        let reply = t.post("/api/register", body).await;
        assert_eq!(reply.status, Status::UnprocessableEntity, "{lookalike:?}");
    }
}

#[rocket::async_test]
async fn names_refuse_direction_and_invisible_characters() {
    let t = TestApp::new().await;
    let alice = t.member("alice").await;
    for name in [
        "Eve\u{202E}lirpa",
        "Bob\u{200B}",
        "\u{2066}Carol",
        "Dan\u{00AD}iel",
        "tab\there",
        "bell\u{7}",
    ] {
        let reply = alice
            .call(
                rocket::http::Method::Patch,
                "/api/me",
                Some(json!({"name": name})),
            )
            .await;
        assert_eq!(reply.status, Status::UnprocessableEntity, "{name:?}");
        assert!(reply.body["error"]["fields"]["name"].is_array());
    }
    let fine = alice
        .call(
            rocket::http::Method::Patch,
            "/api/me",
            Some(json!({"name": "Zoë O'Brien-Ñúñez 李"})),
        )
        .await;
    assert_eq!(fine.status, Status::Ok);
}
