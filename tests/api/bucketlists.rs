//! Bucket lists: owned resources nobody else can see or change.

use diesel::prelude::*;
use gatehouse::db::schema::{bucketlist_items, bucketlists};
use rocket::http::{Method, Status};
use serde_json::{json, Value};

use crate::common::{TestApp, Tester};

/// A list with two items, one done, owned by `owner`; returns (list id, item id).
async fn sample(t: &TestApp, owner: &Tester) -> (String, String) {
    let list = t
        .call(
            Method::Post,
            "/api/bucketlists",
            Some(&owner.access),
            Some(json!({"name": "Before 40"})),
        )
        .await;
    assert_eq!(list.status, Status::Created);
    let id = list.body["id"].as_str().unwrap().to_owned();
    let items = format!("/api/bucketlists/{id}/items");
    let first = t
        .call(
            Method::Post,
            &items,
            Some(&owner.access),
            Some(json!({"name": "See the aurora"})),
        )
        .await;
    t.call(
        Method::Post,
        &items,
        Some(&owner.access),
        Some(json!({"name": "Learn the cello"})),
    )
    .await;
    let item = first.body["id"].as_str().unwrap().to_owned();
    let done = format!("{items}/{item}");
    t.call(
        Method::Patch,
        &done,
        Some(&owner.access),
        Some(json!({"done": true})),
    )
    .await;
    (id, item)
}

async fn count_rows(t: &TestApp) -> (i64, i64) {
    t.db(|c| {
        let lists = bucketlists::table.count().get_result::<i64>(c)?;
        let items = bucketlist_items::table.count().get_result::<i64>(c)?;
        Ok((lists, items))
    })
    .await
}

#[rocket::async_test]
async fn the_owner_creates_reads_renames_and_deletes() {
    let t = TestApp::new().await;
    let alice = t.member("alice").await;
    let created = t
        .call(
            Method::Post,
            "/api/bucketlists",
            Some(&alice.access),
            Some(json!({"name": "  Travel  "})),
        )
        .await;
    assert_eq!(created.status, Status::Created);
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        created.header("Location"),
        Some(format!("/api/bucketlists/{id}").as_str())
    );
    assert_eq!(
        (&created.body["name"], &created.body["items_count"]),
        (&json!("Travel"), &json!(0))
    );
    let keys: Vec<&String> = created.body.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        ["created_at", "id", "items_count", "name", "updated_at"]
    );
    let path = format!("/api/bucketlists/{id}");
    let item = t
        .call(
            Method::Post,
            &format!("{path}/items"),
            Some(&alice.access),
            Some(json!({"name": "Lisbon"})),
        )
        .await;
    assert_eq!(item.status, Status::Created);
    assert_eq!(
        (&item.body["name"], &item.body["done"]),
        (&json!("Lisbon"), &json!(false))
    );
    let item_path = format!("{path}/items/{}", item.body["id"].as_str().unwrap());
    let ticked = t
        .call(
            Method::Patch,
            &item_path,
            Some(&alice.access),
            Some(json!({"done": true, "name": "Porto"})),
        )
        .await;
    assert_eq!(
        (&ticked.body["done"], &ticked.body["name"]),
        (&json!(true), &json!("Porto"))
    );
    let shown = t.get(&path, &alice.access).await;
    assert_eq!(shown.body["items_count"], 1);
    assert_eq!(shown.body["items"][0]["name"], "Porto");
    for method in [Method::Patch, Method::Put] {
        let renamed = t
            .call(
                method,
                &path,
                Some(&alice.access),
                Some(json!({"name": "Trips"})),
            )
            .await;
        assert_eq!(
            (renamed.status, &renamed.body["name"]),
            (Status::Ok, &json!("Trips"))
        );
    }
    t.call(
        Method::Post,
        "/api/bucketlists",
        Some(&alice.access),
        Some(json!({"name": "Books"})),
    )
    .await;
    let all = t.get("/api/bucketlists", &alice.access).await;
    assert_eq!(all.body["total"], 2);
    assert_eq!(all.body["bucketlists"][0]["name"], "Books", "newest first");
    assert!(all.body["bucketlists"][0].get("items").is_none());
    let search = t.get("/api/bucketlists?q=RIP", &alice.access).await;
    assert_eq!(search.body["total"], 1);
    let paged = t
        .get("/api/bucketlists?per_page=1&page=2", &alice.access)
        .await;
    assert_eq!(paged.body["bucketlists"][0]["name"], "Trips");
    let removed = t
        .call(Method::Delete, &item_path, Some(&alice.access), None)
        .await;
    assert_eq!(removed.status, Status::NoContent);
    let deleted = t
        .call(Method::Delete, &path, Some(&alice.access), None)
        .await;
    assert_eq!(deleted.status, Status::NoContent);
    assert_eq!(t.get(&path, &alice.access).await.status, Status::NotFound);
}

#[rocket::async_test]
async fn nobody_else_can_see_or_change_a_list_not_even_an_admin() {
    let t = TestApp::new().await;
    let alice = t.member("alice").await;
    let bob = t.member("bob").await;
    let admin = t.admin("root").await;
    let (list, item) = sample(&t, &alice).await;
    let missing = uuid::Uuid::new_v4().to_string();
    let before = t
        .get(&format!("/api/bucketlists/{list}"), &alice.access)
        .await
        .body;
    let rows_before = count_rows(&t).await;
    let routes: Vec<(Method, String, Option<Value>)> = vec![
        (Method::Get, "/api/bucketlists/{list}".into(), None),
        (
            Method::Patch,
            "/api/bucketlists/{list}".into(),
            Some(json!({"name": "Mine now"})),
        ),
        (
            Method::Put,
            "/api/bucketlists/{list}".into(),
            Some(json!({"name": "Mine now"})),
        ),
        (Method::Delete, "/api/bucketlists/{list}".into(), None),
        (
            Method::Post,
            "/api/bucketlists/{list}/items".into(),
            Some(json!({"name": "Planted"})),
        ),
        (
            Method::Patch,
            "/api/bucketlists/{list}/items/{item}".into(),
            Some(json!({"done": false})),
        ),
        (
            Method::Delete,
            "/api/bucketlists/{list}/items/{item}".into(),
            None,
        ),
    ];
    for intruder in [&bob, &admin] {
        for (method, template, body) in &routes {
            let foreign = template.replace("{list}", &list).replace("{item}", &item);
            let absent = template
                .replace("{list}", &missing)
                .replace("{item}", &missing);
            let theirs = t
                .call(*method, &foreign, Some(&intruder.access), body.clone())
                .await;
            let nothing = t
                .call(*method, &absent, Some(&intruder.access), body.clone())
                .await;
            assert_eq!(theirs.status, Status::NotFound, "{method} {template}");
            assert_eq!(
                theirs.body, nothing.body,
                "{method} {template}: the same as a missing id"
            );
        }
        let mixed = format!("/api/bucketlists/{list}/items/{item}");
        let own_list = t
            .call(
                Method::Post,
                "/api/bucketlists",
                Some(&intruder.access),
                Some(json!({"name": "x"})),
            )
            .await;
        let own_path = format!(
            "/api/bucketlists/{}/items/{item}",
            own_list.body["id"].as_str().unwrap()
        );
        let via_own = t
            .call(
                Method::Patch,
                &own_path,
                Some(&intruder.access),
                Some(json!({"done": false})),
            )
            .await;
        assert_eq!(
            via_own.status,
            Status::NotFound,
            "alice's item through the intruder's own list"
        );
        assert_eq!(
            t.get(&mixed, &intruder.access).await.status,
            Status::NotFound
        );
        let listing = t.get("/api/bucketlists", &intruder.access).await;
        assert_eq!(listing.body["total"], 1, "only their own list");
    }
    let after = t
        .get(&format!("/api/bucketlists/{list}"), &alice.access)
        .await
        .body;
    assert_eq!(before, after, "alice's list is unchanged");
    let (lists, items) = count_rows(&t).await;
    assert_eq!(
        (lists, items),
        (rows_before.0 + 2, rows_before.1),
        "only the intruders' own empty lists were added"
    );
}

#[rocket::async_test]
async fn an_owner_id_in_the_body_is_refused_never_obeyed() {
    let t = TestApp::new().await;
    let alice = t.member("alice").await;
    let bob = t.member("bob").await;
    let body = json!({"name": "Sneaky", "owner_id": 1, "owner": bob.id});
    let reply = t
        .call(
            Method::Post,
            "/api/bucketlists",
            Some(&alice.access),
            Some(body),
        )
        .await;
    assert_eq!(reply.status, Status::UnprocessableEntity);
    assert!(
        reply.body["error"]["fields"]["owner_id"].is_array()
            || reply.body["error"]["fields"]["owner"].is_array()
    );
    assert_eq!(count_rows(&t).await, (0, 0));
}

#[rocket::async_test]
async fn names_are_checked() {
    let t = TestApp::new().await;
    let alice = t.member("alice").await;
    let (list, item) = sample(&t, &alice).await;
    let cases = [
        json!({"name": ""}),
        json!({"name": "   "}),
        json!({"name": "x".repeat(101)}),
        json!({"name": "tab\there"}),
        json!({"name": 42}),
        json!({}),
    ];
    let targets = [
        (Method::Post, "/api/bucketlists".to_owned()),
        (Method::Patch, format!("/api/bucketlists/{list}")),
        (Method::Post, format!("/api/bucketlists/{list}/items")),
        (
            Method::Patch,
            format!("/api/bucketlists/{list}/items/{item}"),
        ),
    ];
    for (method, path) in &targets {
        for body in &cases {
            if *method == Method::Patch && path.contains("/items/") && body == &json!({}) {
                continue; // an empty item change is a valid no-op
            }
            let reply = t
                .call(*method, path, Some(&alice.access), Some(body.clone()))
                .await;
            assert_eq!(
                reply.status,
                Status::UnprocessableEntity,
                "{method} {path} {body}"
            );
            assert!(
                reply.body["error"]["fields"]["name"].is_array(),
                "{method} {path} {body}"
            );
        }
    }
    let exactly = t
        .call(
            Method::Post,
            "/api/bucketlists",
            Some(&alice.access),
            Some(json!({"name": "y".repeat(100)})),
        )
        .await;
    assert_eq!(exactly.status, Status::Created);
    let done = t
        .call(
            Method::Patch,
            &format!("/api/bucketlists/{list}/items/{item}"),
            Some(&alice.access),
            Some(json!({"done": "yes"})),
        )
        .await;
    assert_eq!(done.status, Status::UnprocessableEntity);
}

#[rocket::async_test]
async fn deleting_a_user_deletes_their_lists_and_items() {
    let t = TestApp::new().await;
    let alice = t.member("alice").await;
    let bob = t.member("bob").await;
    sample(&t, &alice).await;
    sample(&t, &bob).await;
    assert_eq!(count_rows(&t).await, (2, 4));
    let gone = t
        .call(
            Method::Delete,
            &format!("/api/users/{}", alice.id),
            Some(&alice.access),
            None,
        )
        .await;
    assert_eq!(gone.status, Status::NoContent);
    assert_eq!(
        count_rows(&t).await,
        (1, 2),
        "only bob's list and items remain"
    );
}

#[rocket::async_test]
async fn the_pages_create_tick_rename_and_delete() {
    let t = TestApp::new().await;
    t.sign_up_in_browser("alice").await;
    let index = t.page("/bucketlists").await;
    assert!(index.html().contains("No lists yet."));
    let empty = t
        .submit(
            "/bucketlists",
            &[("csrf_token", &index.csrf()), ("name", " ")],
        )
        .await;
    assert_eq!(empty.status, Status::UnprocessableEntity);
    assert!(empty.html().contains("id=\"name-error\""));
    let created = t
        .submit(
            "/bucketlists",
            &[("csrf_token", &index.csrf()), ("name", "Summer")],
        )
        .await;
    assert_eq!(created.status, Status::SeeOther);
    let page_path = created.header("Location").unwrap().to_owned();
    let page = t.page(&page_path).await;
    assert!(page.html().contains("<h1>Summer</h1>"));
    let csrf = page.csrf();
    let items_path = format!("{page_path}/items");
    let added = t
        .submit(
            &items_path,
            &[("csrf_token", &csrf), ("name", "Swim in a lake")],
        )
        .await;
    assert_eq!(added.status, Status::SeeOther);
    let blank = t
        .submit(&items_path, &[("csrf_token", &csrf), ("name", "")])
        .await;
    assert_eq!(blank.status, Status::UnprocessableEntity);
    let page = t.page(&page_path).await;
    assert!(page.html().contains("0 of 1 done."));
    let marker = "/toggle\"";
    let html = page.html();
    let toggle = html[..html.find(marker).unwrap()]
        .rsplit("action=\"")
        .next()
        .unwrap()
        .to_owned()
        + "/toggle";
    let ticked = t
        .submit(&toggle, &[("csrf_token", &csrf), ("done", "true")])
        .await;
    assert_eq!(ticked.status, Status::SeeOther);
    assert!(t.page(&page_path).await.html().contains("1 of 1 done."));
    let item_base = toggle.trim_end_matches("/toggle").to_owned();
    let renamed = t
        .submit(
            &format!("{item_base}/rename"),
            &[("csrf_token", &csrf), ("name", "Swim in the sea")],
        )
        .await;
    assert_eq!(renamed.status, Status::SeeOther);
    assert!(t.page(&page_path).await.html().contains("Swim in the sea"));
    let forged = t
        .submit(&format!("{item_base}/delete"), &[("csrf_token", "x")])
        .await;
    assert_eq!(forged.status, Status::Forbidden);
    let removed = t
        .submit(&format!("{item_base}/delete"), &[("csrf_token", &csrf)])
        .await;
    assert_eq!(removed.status, Status::SeeOther);
    let list_renamed = t
        .submit(
            &format!("{page_path}/rename"),
            &[("csrf_token", &csrf), ("name", "Summer 2027")],
        )
        .await;
    assert_eq!(list_renamed.status, Status::SeeOther);
    assert!(t.page("/bucketlists").await.html().contains("Summer 2027"));

    let other = t.another_instance().await;
    other.sign_up_in_browser("mallory").await;
    let peek = other.page(&page_path).await;
    assert_eq!(
        peek.status,
        Status::NotFound,
        "another member gets the 404 page"
    );
    let csrf = other.page("/bucketlists").await.csrf();
    let meddle = other
        .submit(&format!("{page_path}/delete"), &[("csrf_token", &csrf)])
        .await;
    assert_eq!(meddle.status, Status::NotFound);

    let deleted = t
        .submit(
            &format!("{page_path}/delete"),
            &[("csrf_token", &t.page("/bucketlists").await.csrf())],
        )
        .await;
    assert_eq!(deleted.status, Status::SeeOther);
    assert!(t
        .page("/bucketlists")
        .await
        .html()
        .contains("No lists yet."));
}
