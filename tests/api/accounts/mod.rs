//! Registration, login, profile, password and the users collection.

mod validation;

use rocket::futures::future::join_all;
use rocket::http::{Method, Status};
use serde_json::{json, Value};

use crate::common::{TestApp, OTHER_PASSWORD, PASSWORD};

#[rocket::async_test]
async fn register_creates_an_account_with_a_public_id() {
    let t = TestApp::new().await;
    let body = json!({"username": "alice", "email": "Alice@Example.COM", "password": PASSWORD, "name": " Alice A. "});
    let reply = t.post("/api/register", body).await;
    assert_eq!(reply.status, Status::Created);
    let user = &reply.body;
    let id = user["id"].as_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok());
    assert_eq!(
        reply.header("Location"),
        Some(format!("/api/users/{id}").as_str())
    );
    assert_eq!(user["email"], "alice@example.com");
    assert_eq!(user["name"], "Alice A.");
    assert_eq!(user["role"], "user");
    assert_eq!(user["active"], true);
    let keys: Vec<&String> = user.as_object().unwrap().keys().collect();
    let expected = [
        "active",
        "created_at",
        "email",
        "email_verified",
        "id",
        "last_login_at",
        "mfa_enabled",
        "name",
        "pending_email",
        "role",
        "updated_at",
        "username",
    ];
    assert_eq!(keys, expected);
}

#[rocket::async_test]
async fn taken_usernames_and_emails_conflict_regardless_of_case() {
    let t = TestApp::new().await;
    t.register("alice").await;
    let same_name =
        json!({"username": "ALICE", "email": "other@example.com", "password": PASSWORD});
    let reply = t.post("/api/register", same_name).await;
    assert_eq!((reply.status, reply.code()), (Status::Conflict, "conflict"));
    assert!(reply.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("username"));
    let same_email =
        json!({"username": "alice2", "email": "ALICE@example.com", "password": PASSWORD});
    let reply = t.post("/api/register", same_email).await;
    assert_eq!((reply.status, reply.code()), (Status::Conflict, "conflict"));
    assert!(reply.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("email"));
}

#[rocket::async_test]
async fn racing_registrations_create_exactly_one_account() {
    let t = TestApp::new().await;
    let attempts = (0..8).map(|i| {
        let body = json!({"username": "racer", "email": format!("racer{i}@example.com"), "password": PASSWORD});
        t.post("/api/register", body)
    });
    let replies = join_all(attempts).await;
    let created = replies
        .iter()
        .filter(|r| r.status == Status::Created)
        .count();
    let conflicts = replies
        .iter()
        .filter(|r| r.status == Status::Conflict)
        .count();
    assert_eq!((created, conflicts), (1, 7), "{replies:?}");
}

#[rocket::async_test]
async fn registration_rules_are_enforced_field_by_field() {
    let t = TestApp::new().await;
    let long = "x".repeat(33);
    let too_long_password = "Zq8!".repeat(18); // 72 bytes: more than bcrypt takes whole
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            json!({"username": "ab", "email": "a@example.com", "password": PASSWORD}),
            "username",
            "3 to 32",
        ),
        (
            json!({"username": long, "email": "a@example.com", "password": PASSWORD}),
            "username",
            "3 to 32",
        ),
        (
            json!({"username": "bad name", "email": "a@example.com", "password": PASSWORD}),
            "username",
            "may contain only",
        ),
        (
            json!({"username": "_alice", "email": "a@example.com", "password": PASSWORD}),
            "username",
            "must start",
        ),
        (
            json!({"username": "ålice", "email": "a@example.com", "password": PASSWORD}),
            "username",
            "may contain only",
        ),
        (
            json!({"username": "alice", "email": "not-an-email", "password": PASSWORD}),
            "email",
            "valid email",
        ),
        (
            json!({"username": "alice", "email": format!("{}@example.com", "a".repeat(250)), "password": PASSWORD}),
            "email",
            "254",
        ),
        (
            json!({"username": "alice", "email": "a@example.com", "password": PASSWORD, "name": "x".repeat(101)}),
            "name",
            "100",
        ),
        (
            json!({"username": "alice", "email": "a@example.com", "password": PASSWORD, "name": "bell\u{7}"}),
            "name",
            "control",
        ),
        (
            json!({"username": "alice", "email": "a@example.com", "password": "Short1!"}),
            "password",
            "at least 12",
        ),
        (
            json!({"username": "alice", "email": "a@example.com", "password": too_long_password}),
            "password",
            "71 bytes",
        ),
        (
            json!({"username": "alice", "email": "a@example.com", "password": "password1234"}),
            "password",
            "too easy",
        ),
        (
            json!({"username": "alice", "email": "a@example.com", "password": "aliceexample"}),
            "password",
            "must not contain your",
        ),
        (
            json!({"username": "alice", "email": "a@example.com", "password": "Zebra-Crossing-7", "name": "Zebra Z"}),
            "password",
            "must not contain your",
        ),
        (
            json!({"username": "alice", "email": "a@example.com", "password": "qwertyuiop12"}),
            "password",
            "too easy",
        ),
        (
            json!({"username": "alice", "email": "a@example.com", "password": PASSWORD, "role": "admin"}),
            "role",
            "not a field",
        ),
    ];
    for (body, field, needle) in cases {
        let reply = t.post("/api/register", body.clone()).await;
        assert_eq!(
            reply.status,
            Status::UnprocessableEntity,
            "{body}: {:?}",
            reply.body
        );
        assert_eq!(reply.code(), "validation_failed");
        let problems = reply.body["error"]["fields"][field].to_string();
        assert!(problems.contains(needle), "{body}: {problems}");
    }
    let count = t
        .db(|c| {
            use diesel::prelude::*;
            gatehouse::db::schema::users::table
                .count()
                .get_result::<i64>(c)
        })
        .await;
    assert_eq!(count, 0, "nothing was created");
}

#[rocket::async_test]
async fn login_accepts_username_in_any_case_or_email() {
    let t = TestApp::new().await;
    t.register("alice").await;
    for body in [
        json!({"username": "alice", "password": PASSWORD}),
        json!({"username": "ALICE", "password": PASSWORD}),
        json!({"email": "Alice@Example.com", "password": PASSWORD}),
    ] {
        let reply = t.post("/api/login", body).await;
        assert_eq!(reply.status, Status::Ok);
        assert_eq!(reply.body["token_type"], "Bearer");
        assert_eq!(reply.body["expires_in"], 900);
        assert_eq!(reply.body["user"]["username"], "alice");
        assert!(reply.body["user"]["last_login_at"].is_string());
    }
}

#[rocket::async_test]
async fn failed_logins_look_the_same_for_unknown_users_and_wrong_passwords() {
    let t = TestApp::new().await;
    t.register("alice").await;
    let wrong = t.login("alice", OTHER_PASSWORD).await;
    let unknown = t.login("nobody", PASSWORD).await;
    assert_eq!(wrong.status, Status::Unauthorized);
    assert_eq!(wrong.code(), "invalid_credentials");
    assert_eq!(wrong.body, unknown.body);
    assert_eq!(wrong.status, unknown.status);
    let both = t
        .post(
            "/api/login",
            json!({"username": "alice", "email": "alice@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(both.status, Status::UnprocessableEntity);
    let neither = t.post("/api/login", json!({"password": PASSWORD})).await;
    assert_eq!(neither.status, Status::UnprocessableEntity);
}

#[rocket::async_test]
async fn deactivated_accounts_cannot_log_in() {
    let t = TestApp::new().await;
    let admin = t.admin("root").await;
    let alice = t.member("alice").await;
    let path = format!("/api/users/{}", alice.id);
    let reply = admin.patch(&path, json!({"active": false})).await;
    assert_eq!(reply.status, Status::Ok);
    let login = t.login("alice", PASSWORD).await;
    assert_eq!(
        (login.status, login.code()),
        (Status::Forbidden, "account_disabled")
    );
    let wrong = t.login("alice", OTHER_PASSWORD).await;
    assert_eq!(
        wrong.code(),
        "invalid_credentials",
        "a wrong password reveals nothing"
    );
}

#[rocket::async_test]
async fn hashes_made_with_another_cost_are_upgraded_at_login() {
    let t = TestApp::with(|f| f.merge(("bcrypt_cost", 5))).await;
    let alice = t.member("alice").await;
    let old = bcrypt::hash(PASSWORD, 4).unwrap();
    let id = alice.id.clone();
    t.db(move |c| {
        use diesel::prelude::*;
        use gatehouse::db::schema::users;
        diesel::update(users::table.filter(users::public_id.eq(id)))
            .set(users::password_hash.eq(old))
            .execute(c)
    })
    .await;
    t.sign_in("alice", PASSWORD).await;
    let id = alice.id.clone();
    let user = t
        .db(move |c| gatehouse::accounts::model::User::find(c, &id))
        .await
        .unwrap();
    assert!(
        user.password_hash.starts_with("$2b$05$"),
        "{}",
        user.password_hash
    );
}

#[rocket::async_test]
async fn me_shows_and_updates_the_own_profile() {
    let t = TestApp::new().await;
    let alice = t.member("alice").await;
    let me = alice.get("/api/me").await;
    assert_eq!(me.status, Status::Ok);
    assert_eq!(me.body["email"], "alice@example.com");
    let changes = json!({"name": "Alice Liddell", "username": "alice.l"});
    let reply = alice.patch("/api/me", changes).await;
    assert_eq!(reply.status, Status::Ok, "{:?}", reply.body);
    assert_eq!(reply.body["name"], "Alice Liddell");
    assert_eq!(reply.body["username"], "alice.l");
    let role = alice.patch("/api/me", json!({"role": "admin"})).await;
    assert_eq!(role.status, Status::UnprocessableEntity);
    t.register("bob").await;
    let taken = alice.patch("/api/me", json!({"username": "BOB"})).await;
    assert_eq!((taken.status, taken.code()), (Status::Conflict, "conflict"));
    let cleared = alice.patch("/api/me", json!({"name": ""})).await;
    assert_eq!(cleared.body["name"], Value::Null);
}

#[rocket::async_test]
async fn changing_the_password_needs_the_current_one() {
    let t = TestApp::new().await;
    let alice = t.member("alice").await;
    let change =
        |current: &str, new: &str| json!({"current_password": current, "new_password": new});
    let wrong = alice
        .put("/api/me/password", change(OTHER_PASSWORD, OTHER_PASSWORD))
        .await;
    assert_eq!(wrong.status, Status::UnprocessableEntity);
    assert!(wrong.body["error"]["fields"]["current_password"].is_array());
    let weak = alice
        .put("/api/me/password", change(PASSWORD, "alice-alice!"))
        .await;
    assert_eq!(weak.status, Status::UnprocessableEntity);
    assert!(weak.body["error"]["fields"]["new_password"].is_array());
    let ok = alice
        .put("/api/me/password", change(PASSWORD, OTHER_PASSWORD))
        .await;
    assert_eq!(ok.status, Status::NoContent);
    assert_eq!(
        t.login("alice", PASSWORD).await.status,
        Status::Unauthorized
    );
    assert_eq!(t.login("alice", OTHER_PASSWORD).await.status, Status::Ok);
    assert_eq!(
        alice.get("/api/me").await.status,
        Status::Ok,
        "this session goes on"
    );
}

#[rocket::async_test]
async fn members_see_public_fields_of_others_and_admins_see_everything() {
    let t = TestApp::new().await;
    let admin = t.admin("root").await;
    let alice = t.member("alice").await;
    let bob = t.member("bob").await;
    let seen_by_alice = alice.get(&format!("/api/users/{}", bob.id)).await;
    let keys: Vec<&String> = seen_by_alice.body.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["created_at", "id", "name", "role", "username"]);
    let seen_by_admin = admin.get(&format!("/api/users/{}", bob.id)).await;
    assert_eq!(seen_by_admin.body["email"], "bob@example.com");
    let missing = alice
        .get("/api/users/00000000-0000-4000-8000-000000000000")
        .await;
    assert_eq!(
        (missing.status, missing.code()),
        (Status::NotFound, "not_found")
    );
    let not_a_uuid = alice.get("/api/users/1").await;
    assert_eq!(not_a_uuid.status, Status::NotFound);
}

#[rocket::async_test]
async fn the_users_collection_searches_filters_sorts_and_pages() {
    let t = TestApp::new().await;
    let admin = t.admin("root").await;
    let alice = t.member("alice").await;
    for name in ["anna", "bert", "carl"] {
        t.register(name).await;
    }
    let all = alice.get("/api/users").await;
    assert_eq!(all.body["total"], 5);
    assert_eq!(all.body["page"], 1);
    assert_eq!(all.body["per_page"], 20);
    assert!(
        all.body["users"][1].get("email").is_none(),
        "members do not see others' emails"
    );
    assert!(
        all.body["users"][0].get("email").is_some(),
        "but they see their own"
    );
    let names = |reply: &crate::common::Reply| -> Vec<String> {
        reply.body["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["username"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names(&all), ["alice", "anna", "bert", "carl", "root"]);
    let search = alice.get("/api/users?q=AN").await;
    assert_eq!(names(&search), ["anna"]);
    let like = alice.get("/api/users?q=%25").await;
    assert_eq!(like.body["total"], 0, "% is matched literally");
    let by_email = alice.get("/api/users?q=bert@").await;
    assert_eq!(by_email.body["total"], 0, "members cannot search emails");
    let by_email = admin.get("/api/users?q=bert@").await;
    assert_eq!(names(&by_email), ["bert"]);
    let admins = alice.get("/api/users?role=admin").await;
    assert_eq!(names(&admins), ["root"]);
    let sorted = alice
        .get("/api/users?sort=-username&per_page=2&page=2")
        .await;
    assert_eq!(names(&sorted), ["bert", "anna"]);
    assert_eq!(sorted.body["total"], 5);
    let capped = alice.get("/api/users?per_page=1000").await;
    assert_eq!(capped.body["per_page"], 100);
    let forbidden = alice.get("/api/users?active=false").await;
    assert_eq!(forbidden.status, Status::Forbidden);
    for bad in [
        "page=0",
        "page=abc",
        "per_page=-1",
        "sort=email",
        "sort=password_hash",
        "role=root",
    ] {
        let reply = alice.get(&format!("/api/users?{bad}")).await;
        assert_eq!(reply.status, Status::UnprocessableEntity, "{bad}");
    }
    let by_email_sort = admin.get("/api/users?sort=email&active=true").await;
    assert_eq!(by_email_sort.status, Status::Ok);
}

#[rocket::async_test]
async fn only_the_owner_or_an_admin_may_change_or_delete_a_user() {
    let t = TestApp::new().await;
    let admin = t.admin("root").await;
    let alice = t.member("alice").await;
    let bob = t.member("bob").await;
    let bob_path = format!("/api/users/{}", bob.id);
    let by_alice = alice.patch(&bob_path, json!({"name": "x"})).await;
    assert_eq!(
        (by_alice.status, by_alice.code()),
        (Status::Forbidden, "forbidden")
    );
    let delete = alice.delete(&bob_path).await;
    assert_eq!(delete.status, Status::Forbidden);
    let own_role = bob.patch(&bob_path, json!({"role": "admin"})).await;
    assert_eq!(own_role.status, Status::Forbidden);
    let own_name = bob.put(&bob_path, json!({"name": "Bob"})).await;
    assert_eq!(
        (own_name.status, &own_name.body["name"]),
        (Status::Ok, &json!("Bob"))
    );
    let no_current = bob
        .patch(&bob_path, json!({"password": OTHER_PASSWORD}))
        .await;
    assert_eq!(no_current.status, Status::UnprocessableEntity);
    let with_current = json!({"password": OTHER_PASSWORD, "current_password": PASSWORD});
    let reply = bob.patch(&bob_path, with_current).await;
    assert_eq!(reply.status, Status::Ok);
    let by_admin = json!({"email": "robert@example.com", "role": "admin", "active": true});
    let reply = admin.patch(&bob_path, by_admin).await;
    assert_eq!(reply.status, Status::Ok);
    assert_eq!(
        (&reply.body["email"], &reply.body["role"]),
        (&json!("robert@example.com"), &json!("admin"))
    );
    let unknown = admin.patch(&bob_path, json!({"password_hash": "x"})).await;
    assert_eq!(unknown.status, Status::UnprocessableEntity);
    let bad_role = admin.patch(&bob_path, json!({"role": "root"})).await;
    assert_eq!(bad_role.status, Status::UnprocessableEntity);
    let gone = admin.delete(&bob_path).await;
    assert_eq!(gone.status, Status::NoContent);
    assert_eq!(admin.get(&bob_path).await.status, Status::NotFound);
    let alice_path = format!("/api/users/{}", alice.id);
    let own = alice.delete(&alice_path).await;
    assert_eq!(own.status, Status::NoContent);
    assert_eq!(
        t.login("alice", PASSWORD).await.status,
        Status::Unauthorized
    );
}

#[rocket::async_test]
async fn admins_create_users_and_members_cannot() {
    let t = TestApp::new().await;
    let admin = t.admin("root").await;
    let alice = t.member("alice").await;
    let body = json!({"username": "carol", "email": "carol@example.com", "password": PASSWORD, "role": "admin", "active": false});
    let refused = alice.post("/api/users", body.clone()).await;
    assert_eq!(
        (refused.status, refused.code()),
        (Status::Forbidden, "forbidden")
    );
    let created = admin.post("/api/users", body.clone()).await;
    assert_eq!(created.status, Status::Created);
    assert_eq!(
        (&created.body["role"], &created.body["active"]),
        (&json!("admin"), &json!(false))
    );
    assert!(created
        .header("Location")
        .unwrap()
        .ends_with(created.body["id"].as_str().unwrap()));
    let again = admin.post("/api/users", body).await;
    assert_eq!(again.status, Status::Conflict);
    let anonymous = t
        .call(Method::Post, "/api/users", None, Some(json!({})))
        .await;
    assert_eq!(
        (anonymous.status, anonymous.code()),
        (Status::Unauthorized, "missing_token")
    );
}

#[rocket::async_test]
async fn the_last_active_admin_cannot_be_removed() {
    let t = TestApp::new().await;
    let root = t.admin("root").await;
    let path = format!("/api/users/{}", root.id);
    for change in [json!({"role": "user"}), json!({"active": false})] {
        let reply = root.patch(&path, change).await;
        assert_eq!((reply.status, reply.code()), (Status::Conflict, "conflict"));
    }
    let delete = root.delete(&path).await;
    assert_eq!(delete.status, Status::Conflict);
    assert_eq!(
        root.get("/api/me").await.body["role"],
        "admin",
        "nothing changed"
    );
    let second = t.admin("second").await;
    let demote = second
        .call(Method::Patch, &path, Some(json!({"role": "user"})))
        .await;
    assert_eq!(demote.status, Status::Ok);
    let second_path = format!("/api/users/{}", second.id);
    let last = second.call(Method::Delete, &second_path, None).await;
    assert_eq!(last.status, Status::Conflict);
}

#[rocket::async_test]
async fn a_stale_session_needs_the_password_to_change_the_email_or_delete_the_account() {
    let t = TestApp::new().await;
    let alice = t.member("alice").await;
    let fresh = alice
        .patch("/api/me", json!({"email": "a2@example.com"}))
        .await;
    assert_eq!(fresh.status, Status::Ok, "just signed in: {:?}", fresh.body);
    // A refresh keeps the session's start: it proves nothing about the password.
    t.advance(time::Duration::minutes(11));
    let alice = t.tester(&alice.refresh().await.body);
    let stale = alice
        .patch("/api/me", json!({"email": "a3@example.com"}))
        .await;
    assert_eq!(stale.status, Status::UnprocessableEntity);
    assert!(stale.body["error"]["fields"]["current_password"].is_array());
    let wrong = json!({"email": "a3@example.com", "current_password": OTHER_PASSWORD});
    let wrong = alice.patch("/api/me", wrong).await;
    assert_eq!(wrong.status, Status::UnprocessableEntity);
    let right = json!({"email": "a3@example.com", "current_password": PASSWORD});
    let right = alice.patch("/api/me", right).await;
    assert_eq!(
        (&right.body["email"], &right.body["pending_email"]),
        (&json!("alice@example.com"), &json!("a3@example.com")),
        "{:?}",
        right.body
    );
    let name = alice.patch("/api/me", json!({"name": "Alice"})).await;
    assert_eq!(name.status, Status::Ok, "other fields need nothing");

    let own = format!("/api/users/{}", alice.id);
    let refused = alice.delete(&own).await;
    assert_eq!(
        (refused.status, refused.code()),
        (Status::Forbidden, "forbidden")
    );
    assert_eq!(alice.get("/api/me").await.status, Status::Ok, "still there");
    let again = t.sign_in("alice", PASSWORD).await;
    assert_eq!(again.delete(&own).await.status, Status::NoContent);
}

#[rocket::async_test]
async fn a_refused_sign_up_names_every_problem_at_once() {
    let t = TestApp::new().await;
    t.register("alice").await;
    let body = json!({"username": "_x", "email": "ALICE@example.com", "password": PASSWORD});
    let reply = t.post("/api/register", body).await;
    assert_eq!(reply.status, Status::UnprocessableEntity);
    let fields = &reply.body["error"]["fields"];
    assert!(fields["username"].is_array(), "{fields}");
    assert_eq!(fields["email"], json!(["is already taken"]), "{fields}");
    let empty = json!({"username": "", "email": "", "password": ""});
    let reply = t.post("/api/register", empty).await;
    for field in ["username", "email", "password"] {
        let problems = &reply.body["error"]["fields"][field];
        assert_eq!(problems, &json!(["is required"]), "{field}");
    }
}

#[rocket::async_test]
async fn search_finds_the_start_of_any_word_of_a_name() {
    let t = TestApp::new().await;
    let admin = t.admin("root").await;
    let body = json!({"username": "ada", "email": "ada@example.com", "password": PASSWORD,
                      "name": "Ada King-Lovelace"});
    t.post("/api/register", body).await;
    let found = |reply: crate::common::Reply| reply.body["total"].clone();
    // The last: fullwidth "Ｋｉ", the same word after NFKC.
    for q in ["ada", "king", "LOVE", "ada%20ki", "%EF%BC%AB%EF%BD%89"] {
        let reply = admin.get(&format!("/api/users?q={q}")).await;
        assert_eq!(found(reply), json!(1), "{q}");
    }
    assert_eq!(
        found(admin.get("/api/users?q=ovelace").await),
        json!(0),
        "starts only"
    );
    let ada = t.sign_in("ada", PASSWORD).await;
    ada.patch("/api/me", json!({"name": "Ada Byron"})).await;
    assert_eq!(
        found(admin.get("/api/users?q=king").await),
        json!(0),
        "old words go"
    );
    assert_eq!(
        found(admin.get("/api/users?q=byr").await),
        json!(1),
        "new words count"
    );
    ada.patch("/api/me", json!({"name": "Ada Zeta"})).await;
    // A prefix ending in 'z' or '9' is a range whatever the database's locale.
    assert_eq!(found(admin.get("/api/users?q=z").await), json!(1));
    ada.patch("/api/me", json!({"name": "Ada Byron"})).await;
    // A name stored before the words were kept is indexed at start-up.
    let words = t
        .db(|c| {
            use diesel::RunQueryDsl;
            diesel::sql_query("DELETE FROM user_name_words").execute(c)?;
            gatehouse::accounts::model::index_missing_names(c)
        })
        .await;
    assert_eq!(words, 1, "ada's name (root has none)");
    assert_eq!(found(admin.get("/api/users?q=byr").await), json!(1));
}
