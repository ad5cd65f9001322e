//! Bucket lists: owned resources nobody else can see or change.

use diesel::prelude::*;
use gatehouse::db::schema::{bucketlist_items, bucketlists};
use rocket::http::{Method, Status};
use serde_json::{json, Value};

use crate::common::{TestApp, Tester, PASSWORD};

/// A list with two items, one done, owned by `owner`; returns (list id, item id).
async fn sample(owner: &Tester) -> (String, String) {
    let list = owner
        .post("/api/bucketlists", json!({"name": "Before 40"}))
        .await;
    assert_eq!(list.status, Status::Created);
    let id = list.body["id"].as_str().unwrap().to_owned();
    let items = format!("/api/bucketlists/{id}/items");
    let first = owner.post(&items, json!({"name": "See the aurora"})).await;
    owner.post(&items, json!({"name": "Learn the cello"})).await;
    let item = first.body["id"].as_str().unwrap().to_owned();
    let done = format!("{items}/{item}");
    owner.patch(&done, json!({"done": true})).await;
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
    let created = alice
        .post("/api/bucketlists", json!({"name": "  Travel  "}))
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
    let item = alice
        .post(&format!("{path}/items"), json!({"name": "Lisbon"}))
        .await;
    assert_eq!(item.status, Status::Created);
    assert_eq!(
        (&item.body["name"], &item.body["done"]),
        (&json!("Lisbon"), &json!(false))
    );
    let item_path = format!("{path}/items/{}", item.body["id"].as_str().unwrap());
    let ticked = alice
        .patch(&item_path, json!({"done": true, "name": "Porto"}))
        .await;
    assert_eq!(
        (&ticked.body["done"], &ticked.body["name"]),
        (&json!(true), &json!("Porto"))
    );
    let shown = alice.get(&path).await;
    assert_eq!(shown.body["items_count"], 1);
    assert_eq!(shown.body["items"][0]["name"], "Porto");
    for method in [Method::Patch, Method::Put] {
        let renamed = alice
            .call(method, &path, Some(json!({"name": "Trips"})))
            .await;
        assert_eq!(
            (renamed.status, &renamed.body["name"]),
            (Status::Ok, &json!("Trips"))
        );
    }
    alice
        .post("/api/bucketlists", json!({"name": "Books"}))
        .await;
    let all = alice.get("/api/bucketlists").await;
    assert_eq!(all.body["total"], 2);
    assert_eq!(all.body["bucketlists"][0]["name"], "Books", "newest first");
    assert!(all.body["bucketlists"][0].get("items").is_none());
    let search = alice.get("/api/bucketlists?q=RIP").await;
    assert_eq!(search.body["total"], 1);
    let control = alice.get("/api/bucketlists?q=a%00b").await;
    assert_eq!(
        control.status,
        Status::UnprocessableEntity,
        "{:?}",
        control.body
    );
    assert!(control.body["error"]["fields"]["q"].is_array());
    let paged = alice.get("/api/bucketlists?per_page=1&page=2").await;
    assert_eq!(paged.body["bucketlists"][0]["name"], "Trips");
    let removed = alice.delete(&item_path).await;
    assert_eq!(removed.status, Status::NoContent);
    let deleted = alice.delete(&path).await;
    assert_eq!(deleted.status, Status::NoContent);
    assert_eq!(alice.get(&path).await.status, Status::NotFound);
}

#[rocket::async_test]
async fn nobody_else_can_see_or_change_a_list_not_even_an_admin() {
    let t = TestApp::new().await;
    let alice = t.member("alice").await;
    let bob = t.member("bob").await;
    let admin = t.admin("root").await;
    let (list, item) = sample(&alice).await;
    let missing = uuid::Uuid::new_v4().to_string();
    let before = alice.get(&format!("/api/bucketlists/{list}")).await.body;
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
            let theirs = intruder.call(*method, &foreign, body.clone()).await;
            let nothing = intruder.call(*method, &absent, body.clone()).await;
            assert_eq!(theirs.status, Status::NotFound, "{method} {template}");
            assert_eq!(
                theirs.body, nothing.body,
                "{method} {template}: the same as a missing id"
            );
        }
        let mixed = format!("/api/bucketlists/{list}/items/{item}");
        let own_list = intruder
            .post("/api/bucketlists", json!({"name": "x"}))
            .await;
        let own_path = format!(
            "/api/bucketlists/{}/items/{item}",
            own_list.body["id"].as_str().unwrap()
        );
        let via_own = intruder.patch(&own_path, json!({"done": false})).await;
        assert_eq!(
            via_own.status,
            Status::NotFound,
            "alice's item through the intruder's own list"
        );
        assert_eq!(intruder.get(&mixed).await.status, Status::NotFound);
        let listing = intruder.get("/api/bucketlists").await;
        assert_eq!(listing.body["total"], 1, "only their own list");
    }
    let after = alice.get(&format!("/api/bucketlists/{list}")).await.body;
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
    let reply = alice.post("/api/bucketlists", body).await;
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
    let (list, item) = sample(&alice).await;
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
            let reply = alice.call(*method, path, Some(body.clone())).await;
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
    let exactly = alice
        .call(
            Method::Post,
            "/api/bucketlists",
            Some(json!({"name": "y".repeat(100)})),
        )
        .await;
    assert_eq!(exactly.status, Status::Created);
    let done = alice
        .patch(
            &format!("/api/bucketlists/{list}/items/{item}"),
            json!({"done": "yes"}),
        )
        .await;
    assert_eq!(done.status, Status::UnprocessableEntity);
}

#[rocket::async_test]
async fn deleting_a_user_deletes_their_lists_and_items() {
    let t = TestApp::new().await;
    let alice = t.member("alice").await;
    let bob = t.member("bob").await;
    sample(&alice).await;
    sample(&bob).await;
    assert_eq!(count_rows(&t).await, (2, 4));
    let gone = alice
        .call(Method::Delete, &format!("/api/users/{}", alice.id), None)
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
    let browser = t.browser();
    browser.sign_up("alice").await;
    let index = browser.page("/bucketlists").await;
    assert!(index.html().contains("No lists yet."));
    let empty = browser
        .submit(
            "/bucketlists",
            &[("csrf_token", &index.csrf()), ("name", " ")],
        )
        .await;
    assert_eq!(empty.status, Status::UnprocessableEntity);
    assert!(empty.html().contains("id=\"name-error\""));
    let created = browser
        .submit(
            "/bucketlists",
            &[("csrf_token", &index.csrf()), ("name", "Summer")],
        )
        .await;
    assert_eq!(created.status, Status::SeeOther);
    let page_path = created.header("Location").unwrap().to_owned();
    let page = browser.page(&page_path).await;
    assert!(page.html().contains("<h1>Summer</h1>"));
    let csrf = page.csrf();
    let items_path = format!("{page_path}/items");
    let added = browser
        .submit(
            &items_path,
            &[("csrf_token", &csrf), ("name", "Swim in a lake")],
        )
        .await;
    assert_eq!(added.status, Status::SeeOther);
    let blank = browser
        .submit(&items_path, &[("csrf_token", &csrf), ("name", "")])
        .await;
    assert_eq!(blank.status, Status::UnprocessableEntity);
    let page = browser.page(&page_path).await;
    assert!(page.html().contains("0 of 1 done."));
    let html = page.html();
    let item_id = html
        .split("name=\"done\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a checkbox per item")
        .to_owned();
    let ticks = format!("{page_path}/items/done");
    let shown = ("shown", item_id.as_str());
    let ticked = browser
        .submit(&ticks, &[("csrf_token", &csrf), shown, ("done", &item_id)])
        .await;
    assert_eq!(ticked.status, Status::SeeOther);
    let page = browser.page(&page_path).await;
    assert!(page.html().contains("1 of 1 done."));
    assert!(page.html().contains("form=\"ticks\" checked"));
    // An item added and ticked elsewhere after the page was shown stays ticked.
    let alice = t.sign_in("alice", PASSWORD).await;
    let api_items = format!("/api{page_path}/items");
    let later = alice.post(&api_items, json!({"name": "Sail"})).await;
    let later = format!(
        "{api_items}/{}",
        later.body["id"].as_str().unwrap_or_default()
    );
    alice.patch(&later, json!({"done": true})).await;
    let unticked = browser
        .submit(&ticks, &[("csrf_token", &csrf), shown])
        .await;
    assert_eq!(unticked.status, Status::SeeOther);
    assert!(browser
        .page(&page_path)
        .await
        .html()
        .contains("1 of 2 done."));
    let nameless = browser
        .submit(
            &format!("{page_path}/rename"),
            &[("csrf_token", &csrf), ("name", "")],
        )
        .await;
    assert_eq!(nameless.status, Status::UnprocessableEntity);
    assert!(
        nameless.html().contains("id=\"list-name-error\""),
        "beside the list's own name field"
    );
    let item_base = format!("{page_path}/items/{item_id}");
    let confirm = browser.page(&format!("{item_base}/delete")).await;
    assert_eq!(confirm.status, Status::Ok);
    assert!(confirm.html().contains("Remove “Swim in a lake”?"));
    let renamed = browser
        .submit(
            &format!("{item_base}/rename"),
            &[("csrf_token", &csrf), ("name", "Swim in the sea")],
        )
        .await;
    assert_eq!(renamed.status, Status::SeeOther);
    assert!(browser
        .page(&page_path)
        .await
        .html()
        .contains("Swim in the sea"));
    let forged = browser
        .submit(&format!("{item_base}/delete"), &[("csrf_token", "x")])
        .await;
    assert_eq!(forged.status, Status::Forbidden);
    let removed = browser
        .submit(&format!("{item_base}/delete"), &[("csrf_token", &csrf)])
        .await;
    assert_eq!(removed.status, Status::SeeOther);
    let list_renamed = browser
        .submit(
            &format!("{page_path}/rename"),
            &[("csrf_token", &csrf), ("name", "Summer 2027")],
        )
        .await;
    assert_eq!(list_renamed.status, Status::SeeOther);
    assert!(browser
        .page("/bucketlists")
        .await
        .html()
        .contains("Summer 2027"));

    let other = t.another_instance().await.browser();
    other.sign_up("mallory").await;
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

    let deleted = browser
        .submit(
            &format!("{page_path}/delete"),
            &[("csrf_token", &browser.page("/bucketlists").await.csrf())],
        )
        .await;
    assert_eq!(deleted.status, Status::SeeOther);
    assert!(browser
        .page("/bucketlists")
        .await
        .html()
        .contains("No lists yet."));
}

#[rocket::async_test]
async fn concurrent_additions_to_one_list_all_succeed() {
    let t = TestApp::new().await;
    let alice = t.member("alice").await;
    let (list, _) = sample(&alice).await;
    let path = format!("/api/bucketlists/{list}/items");
    let names: Vec<String> = (0..120).map(|i| format!("item {i}")).collect();
    let additions = names
        .iter()
        .map(|name| alice.post(&path, json!({ "name": name })));
    let replies = rocket::futures::future::join_all(additions).await;
    // On SQLite 11-16 % answered 500 "database is locked": a transaction that read the
    // list first could not upgrade its lock while another addition wrote.
    let failed: Vec<_> = replies
        .iter()
        .filter(|r| r.status != Status::Created)
        .collect();
    assert!(
        failed.is_empty(),
        "{} failed: {:?}",
        failed.len(),
        failed.first()
    );
    let shown = alice.get(&format!("/api/bucketlists/{list}")).await;
    assert_eq!(shown.body["items_count"], 122);
}
