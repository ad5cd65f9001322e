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

#[rocket::async_test]
async fn emails_are_bare_addresses_and_one_across_compatibility_forms() {
    let t = TestApp::new().await;
    let display = json!({"username": "mallory", "email": "root_admin <root@example.com>", "password": PASSWORD});
    let refused = t.post("/api/register", display).await;
    assert_eq!(
        refused.status,
        Status::UnprocessableEntity,
        "{:?}",
        refused.body
    );
    assert!(refused.body["error"]["fields"]["email"].is_array());

    t.register("alice").await;
    let fullwidth =
        json!({"username": "alice2", "email": "ａｌｉｃｅ@example.com", "password": PASSWORD});
    let taken = t.post("/api/register", fullwidth).await;
    assert_eq!(taken.status, Status::Conflict, "{:?}", taken.body);
    let login = json!({"email": "ＡＬＩＣＥ@ｅｘａｍｐｌｅ.com", "password": PASSWORD});
    assert_eq!(t.post("/api/login", login).await.status, Status::Ok);
}

#[rocket::async_test]
async fn names_refuse_every_invisible_character_unicode_knows() {
    let t = TestApp::new().await;
    for (i, hidden) in "\u{3164}\u{FFA0}\u{034F}\u{E0041}\u{FE0F}\u{180B}\u{1D173}\u{17B4}"
        .chars()
        .enumerate()
    {
        let name = format!("root_admin{hidden}");
        let body = json!({"username": format!("user{i}"), "email": format!("u{i}@example.com"), "password": PASSWORD, "name": name});
        let reply = t.post("/api/register", body).await;
        // The hand-kept list let these through: `root_admin\u{3164}` looks like `root_admin`.
        assert_eq!(reply.status, Status::UnprocessableEntity, "{hidden:?}");
        assert!(
            reply.body["error"]["fields"]["name"].is_array(),
            "{hidden:?}"
        );
        let username =
            json!({"username": name, "email": format!("v{i}@example.com"), "password": PASSWORD});
        let reply = t.post("/api/register", username).await;
        assert!(
            reply.body["error"]["fields"]["username"].is_array(),
            "{hidden:?}"
        );
    }
}
