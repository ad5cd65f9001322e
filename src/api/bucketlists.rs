//! `/api/bucketlists`: the caller's own lists and items (API.md §4 "Owned resources").
//! Anyone else's id, an admin's included, is a 404 like an id that does not exist.

use rocket::http::Status;
use rocket::response::status::Created;
use rocket::serde::json::{Json as JsonBody, Value};
use rocket::{delete, get, patch, post, put, routes, FromForm, Route, State};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::api::error::Result;
use crate::api::json::Json;
use crate::api::views::rfc3339;
use crate::app::App;
use crate::auth::guard::CurrentUser;
use crate::bucketlists::{self, Item, ItemChanges, ListQuery, Summary};
use crate::params::{pagination, DEFAULT_PER_PAGE};

pub(crate) fn routes() -> Vec<Route> {
    routes![
        list,
        create,
        show,
        rename_patch,
        rename_put,
        remove,
        add_item,
        update_item,
        remove_item
    ]
}

#[derive(Serialize)]
pub(crate) struct ListView {
    id: String,
    name: String,
    created_at: String,
    updated_at: String,
    items_count: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    items: Option<Vec<ItemView>>,
}

#[derive(Serialize)]
pub(crate) struct ItemView {
    id: String,
    name: String,
    done: bool,
    created_at: String,
    updated_at: String,
}

impl From<&Summary> for ListView {
    fn from(summary: &Summary) -> Self {
        ListView {
            id: summary.list.public_id.clone(),
            name: summary.list.name.clone(),
            created_at: rfc3339(summary.list.created_at),
            updated_at: rfc3339(summary.list.updated_at),
            items_count: summary.items_count,
            items: None,
        }
    }
}

impl From<&Item> for ItemView {
    fn from(item: &Item) -> Self {
        ItemView {
            id: item.public_id.clone(),
            name: item.name.clone(),
            done: item.done,
            created_at: rfc3339(item.created_at),
            updated_at: rfc3339(item.updated_at),
        }
    }
}

#[derive(FromForm)]
struct ListParams<'r> {
    q: Option<&'r str>,
    page: Option<&'r str>,
    per_page: Option<&'r str>,
}

#[get("/bucketlists?<params..>")]
async fn list(app: &State<App>, current: CurrentUser, params: ListParams<'_>) -> Result<Value> {
    let mut checker = crate::error::Checker::default();
    let (page, per_page) = pagination(&mut checker, params.page, params.per_page, DEFAULT_PER_PAGE);
    checker.finish()?;
    let search = params
        .q
        .map(str::trim)
        .filter(|q| !q.is_empty())
        .map(str::to_owned);
    let query = ListQuery {
        search,
        page,
        per_page,
    };
    let (lists, total) = bucketlists::lists(app, current.user.id, query).await?;
    let lists: Vec<ListView> = lists.iter().map(ListView::from).collect();
    Ok(json!({"bucketlists": lists, "page": page, "per_page": per_page, "total": total}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NameBody {
    name: String,
}

#[post("/bucketlists", data = "<body>")]
async fn create(
    app: &State<App>,
    current: CurrentUser,
    body: Json<NameBody>,
) -> Result<Created<JsonBody<ListView>>> {
    let summary = bucketlists::create(app, current.user.id, &body.0.name).await?;
    let location = format!("/api/bucketlists/{}", summary.list.public_id);
    Ok(Created::new(location).body(JsonBody((&summary).into())))
}

#[get("/bucketlists/<id>")]
async fn show(app: &State<App>, current: CurrentUser, id: &str) -> Result<JsonBody<ListView>> {
    let (summary, items) = bucketlists::get(app, current.user.id, id).await?;
    let mut view = ListView::from(&summary);
    view.items = Some(items.iter().map(ItemView::from).collect());
    Ok(JsonBody(view))
}

#[patch("/bucketlists/<id>", data = "<body>")]
async fn rename_patch(
    app: &State<App>,
    current: CurrentUser,
    id: &str,
    body: Json<NameBody>,
) -> Result<JsonBody<ListView>> {
    let summary = bucketlists::rename(app, current.user.id, id, &body.0.name).await?;
    Ok(JsonBody((&summary).into()))
}

#[put("/bucketlists/<id>", data = "<body>")]
async fn rename_put(
    app: &State<App>,
    current: CurrentUser,
    id: &str,
    body: Json<NameBody>,
) -> Result<JsonBody<ListView>> {
    rename_patch(app, current, id, body).await
}

#[delete("/bucketlists/<id>")]
async fn remove(app: &State<App>, current: CurrentUser, id: &str) -> Result<Status> {
    bucketlists::delete(app, current.user.id, id).await?;
    Ok(Status::NoContent)
}

#[post("/bucketlists/<id>/items", data = "<body>")]
async fn add_item(
    app: &State<App>,
    current: CurrentUser,
    id: &str,
    body: Json<NameBody>,
) -> Result<Created<JsonBody<ItemView>>> {
    let item = bucketlists::add_item(app, current.user.id, id, &body.0.name).await?;
    let location = format!("/api/bucketlists/{id}/items/{}", item.public_id);
    Ok(Created::new(location).body(JsonBody((&item).into())))
}

#[patch("/bucketlists/<id>/items/<item_id>", data = "<body>")]
async fn update_item(
    app: &State<App>,
    current: CurrentUser,
    id: &str,
    item_id: &str,
    body: Json<ItemChanges>,
) -> Result<JsonBody<ItemView>> {
    let item = bucketlists::update_item(app, current.user.id, id, item_id, body.0).await?;
    Ok(JsonBody((&item).into()))
}

#[delete("/bucketlists/<id>/items/<item_id>")]
async fn remove_item(
    app: &State<App>,
    current: CurrentUser,
    id: &str,
    item_id: &str,
) -> Result<Status> {
    bucketlists::delete_item(app, current.user.id, id, item_id).await?;
    Ok(Status::NoContent)
}
