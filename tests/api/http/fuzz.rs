//! Property-based tests: arbitrary JSON and form bodies thrown at every handler that reads a
//! body, as an admin (so the handlers run rather than stop at a guard). Nothing may answer
//! with a server error or panic (Rocket turns a panic into a 500, which is what is checked).

use proptest::prelude::*;
use rocket::http::{ContentType, Header, Method};
use serde_json::{Map, Value};

use crate::common::{send, Browser, TestApp};

/// Field names the handlers know, and a few they do not.
const FIELDS: [&str; 16] = [
    "username",
    "email",
    "password",
    "name",
    "role",
    "active",
    "current_password",
    "new_password",
    "refresh_token",
    "done",
    "owner_id",
    "password_confirm",
    "next",
    "csrf_token",
    "_method",
    "x",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,40}".prop_map(Value::String),
        "[a-z0-9_.-]{3,12}".prop_map(Value::String),
        "[a-z]{1,8}@[a-z]{1,8}\\.[a-z]{2,3}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Objects made of known and unknown fields with arbitrary values.
fn json_body() -> impl Strategy<Value = Value> {
    prop::collection::vec((prop::sample::select(FIELDS.to_vec()), json_value()), 0..6).prop_map(
        |pairs| {
            let mut object = Map::new();
            for (key, value) in pairs {
                object.insert(key.to_owned(), value);
            }
            Value::Object(object)
        },
    )
}

/// Raw urlencoded bodies: known fields with arbitrary (encoded) text, and raw junk.
fn form_body() -> impl Strategy<Value = String> {
    let pair = (prop::sample::select(FIELDS.to_vec()), ".{0,30}").prop_map(|(k, v)| {
        form_urlencoded::Serializer::new(String::new())
            .append_pair(k, &v)
            .finish()
    });
    prop_oneof![
        prop::collection::vec(pair, 0..6).prop_map(|pairs| pairs.join("&")),
        "[ -~]{0,60}",
    ]
}

/// An app with an admin signed in by header token and by browser cookie, a victim account
/// and a bucket list with an item to aim at.
struct Target {
    t: TestApp,
    browser: Browser,
    token: String,
    csrf: String,
    paths: Vec<(Method, String)>,
    pages: Vec<String>,
}

async fn target() -> Target {
    let t = TestApp::new().await;
    let browser = t.browser();
    let admin = t.admin("root").await;
    let victim = t.member("victim").await;
    browser.login(&admin).await;
    let csrf = browser.page("/account").await.csrf();
    let list = admin
        .post("/api/bucketlists", serde_json::json!({"name": "L"}))
        .await;
    let list = list.body["id"].as_str().unwrap().to_owned();
    let items = format!("/api/bucketlists/{list}/items");
    let item = admin.post(&items, serde_json::json!({"name": "I"})).await;
    let item = item.body["id"].as_str().unwrap().to_owned();
    let user = format!("/api/users/{}", victim.id);
    let paths = vec![
        (Method::Post, "/api/register".to_owned()),
        (Method::Post, "/api/login".to_owned()),
        (Method::Post, "/api/token/refresh".to_owned()),
        (Method::Patch, "/api/me".to_owned()),
        (Method::Put, "/api/me/password".to_owned()),
        (Method::Post, "/api/users".to_owned()),
        (Method::Patch, user.clone()),
        (Method::Put, user),
        (Method::Post, "/api/bucketlists".to_owned()),
        (Method::Patch, format!("/api/bucketlists/{list}")),
        (Method::Put, format!("/api/bucketlists/{list}")),
        (Method::Post, items.clone()),
        (Method::Patch, format!("{items}/{item}")),
    ];
    let page_user = format!("/admin/users/{}", victim.id);
    let pages = vec![
        "/signup".to_owned(),
        "/login".to_owned(),
        "/account/profile".to_owned(),
        "/account/password".to_owned(),
        "/bucketlists".to_owned(),
        format!("/bucketlists/{list}/rename"),
        format!("/bucketlists/{list}/items"),
        format!("/bucketlists/{list}/items/{item}/toggle"),
        format!("/bucketlists/{list}/items/{item}/rename"),
        "/admin/users/new".to_owned(),
        page_user.clone(),
        format!("{page_user}/password"),
        "/admin/users/bulk".to_owned(),
    ];
    Target {
        t,
        browser,
        token: admin.access,
        csrf,
        paths,
        pages,
    }
}

fn runtime() -> rocket::tokio::runtime::Runtime {
    rocket::tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
}

/// Runs `cases` bodies from `strategy` against one app (made once: a database per case would
/// cost more than the cases), each case through `check`.
fn run<S: Strategy>(
    strategy: S,
    check: impl Fn(&rocket::tokio::runtime::Runtime, &Target, &S::Value) -> Result<(), TestCaseError>,
) {
    let rt = runtime();
    let target = rt.block_on(target());
    let config = ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let mut runner = proptest::test_runner::TestRunner::new(config);
    runner
        .run(&strategy, |value| check(&rt, &target, &value))
        .unwrap_or_else(|failure| panic!("{failure}"));
}

#[test]
fn arbitrary_json_never_causes_a_server_error() {
    run(json_body(), |rt, target, body| {
        rt.block_on(async {
            for (method, path) in &target.paths {
                let reply = target
                    .t
                    .call(*method, path, Some(&target.token), Some(body.clone()))
                    .await;
                prop_assert!(
                    reply.status.code < 500,
                    "{method} {path} {body}: {:?}",
                    reply.body
                );
            }
            Ok(())
        })
    });
}

#[test]
fn arbitrary_forms_never_cause_a_server_error() {
    run(form_body(), |rt, target, body| {
        rt.block_on(async {
            for path in &target.pages {
                let raw = format!("csrf_token={}&{body}", target.csrf);
                let reply = target.browser.submit_raw(path, raw).await;
                prop_assert!(
                    reply.status.code < 500,
                    "POST {path} {body}: {}",
                    reply.html()
                );
            }
            let raw = target
                .t
                .client
                .post("/api/register")
                .header(ContentType::JSON)
                .header(Header::new("x-access-token", target.token.clone()))
                .body(body.clone());
            let reply = send(raw).await;
            prop_assert!(reply.status.code < 500, "raw JSON {body}");
            Ok(())
        })
    });
}
