//! `/api/bucketlists`: the caller's own lists and items (API.md §4 "Owned resources").
//! Anyone else's id, an admin's included, is a 404 like an id that does not exist.

use rocket::http::Status;
use rocket::response::status::Created;
use rocket::serde::json::Json as JsonBody;
use rocket::{delete, get, patch, post, put, routes, FromForm, Route, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::api::error::{Failures, Result};
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

#[derive(Serialize, ToSchema)]
pub(crate) struct ListView {
    id: String,
    name: String,
    created_at: String,
    updated_at: String,
    items_count: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    items: Option<Vec<ItemView>>,
}

/// A page of the caller's lists (without their items).
#[derive(Serialize, ToSchema)]
pub(crate) struct BucketlistPage {
    bucketlists: Vec<ListView>,
    page: i64,
    per_page: i64,
    total: i64,
}

#[derive(Serialize, ToSchema)]
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

#[derive(FromForm, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListParams<'r> {
    /// Lists whose name contains this, in any case.
    q: Option<&'r str>,
    /// From 1.
    page: Option<&'r str>,
    /// 1 to 100 (more is capped at 100); 20 unless given.
    per_page: Option<&'r str>,
}

#[utoipa::path(
    get,
    operation_id = "bucketlists_list",
    path = "/api/bucketlists",
    tag = "bucket lists",
    summary = "The caller's bucket lists.",
    security(("access_token" = []), ("bearer" = [])),
    params(ListParams),
    responses((status = 200, description = "A page of the caller's lists", body = BucketlistPage), Failures)
)]
#[get("/bucketlists?<params..>")]
async fn list(
    app: &State<App>,
    current: CurrentUser,
    params: ListParams<'_>,
) -> Result<JsonBody<BucketlistPage>> {
    let mut checker = crate::error::Checker::default();
    let (page, per_page) = pagination(&mut checker, params.page, params.per_page, DEFAULT_PER_PAGE);
    // As for users' search: no name holds one, and PostgreSQL refuses a NUL in any text
    // (Schemathesis found the 500 this was).
    if params.q.is_some_and(|q| q.chars().any(char::is_control)) {
        checker.add("q", "must not contain control characters");
    }
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
    Ok(JsonBody(BucketlistPage {
        bucketlists: lists.iter().map(ListView::from).collect(),
        page,
        per_page,
        total,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NameBody {
    /// 1 to 100 characters after trimming, no control characters.
    #[schema(min_length = 1, max_length = 100)]
    name: String,
}

#[utoipa::path(
    post,
    operation_id = "bucketlists_create",
    path = "/api/bucketlists",
    tag = "bucket lists",
    summary = "Make a bucket list.",
    security(("access_token" = []), ("bearer" = [])),
    request_body = NameBody,
    responses((status = 201, description = "The new list", body = ListView), Failures)
)]
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

#[utoipa::path(
    get,
    operation_id = "bucketlists_show",
    path = "/api/bucketlists/{id}",
    tag = "bucket lists",
    summary = "One of the caller's lists.",
    security(("access_token" = []), ("bearer" = [])),
    params(("id" = String, Path, description = "The id (a UUID) of the bucket list")),
    responses((status = 200, description = "The list with its items", body = ListView), Failures)
)]
#[get("/bucketlists/<id>")]
async fn show(app: &State<App>, current: CurrentUser, id: &str) -> Result<JsonBody<ListView>> {
    let (summary, items) = bucketlists::get(app, current.user.id, id).await?;
    let mut view = ListView::from(&summary);
    view.items = Some(items.iter().map(ItemView::from).collect());
    Ok(JsonBody(view))
}

#[utoipa::path(
    patch,
    operation_id = "bucketlists_rename_patch",
    path = "/api/bucketlists/{id}",
    tag = "bucket lists",
    summary = "Rename a list.",
    security(("access_token" = []), ("bearer" = [])),
    params(("id" = String, Path, description = "The id (a UUID) of the bucket list")),
    request_body = NameBody,
    responses((status = 200, description = "The list as renamed", body = ListView), Failures)
)]
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

#[utoipa::path(
    put,
    operation_id = "bucketlists_rename_put",
    path = "/api/bucketlists/{id}",
    tag = "bucket lists",
    summary = "Rename a list (as PATCH).",
    security(("access_token" = []), ("bearer" = [])),
    params(("id" = String, Path, description = "The id (a UUID) of the bucket list")),
    request_body = NameBody,
    responses((status = 200, description = "The list as renamed", body = ListView), Failures)
)]
#[put("/bucketlists/<id>", data = "<body>")]
async fn rename_put(
    app: &State<App>,
    current: CurrentUser,
    id: &str,
    body: Json<NameBody>,
) -> Result<JsonBody<ListView>> {
    rename_patch(app, current, id, body).await
}

#[utoipa::path(
    delete,
    operation_id = "bucketlists_remove",
    path = "/api/bucketlists/{id}",
    tag = "bucket lists",
    summary = "Delete a list.",
    security(("access_token" = []), ("bearer" = [])),
    params(("id" = String, Path, description = "The id (a UUID) of the bucket list")),
    responses((status = 204, description = "Deleted with its items"), Failures)
)]
#[delete("/bucketlists/<id>")]
async fn remove(app: &State<App>, current: CurrentUser, id: &str) -> Result<Status> {
    bucketlists::delete(app, current.user.id, id).await?;
    Ok(Status::NoContent)
}

#[utoipa::path(
    post,
    operation_id = "bucketlists_add_item",
    path = "/api/bucketlists/{id}/items",
    tag = "bucket lists",
    summary = "Add an item.",
    security(("access_token" = []), ("bearer" = [])),
    params(("id" = String, Path, description = "The id (a UUID) of the bucket list")),
    request_body = NameBody,
    responses((status = 201, description = "The new item", body = ItemView), Failures)
)]
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

#[utoipa::path(
    patch,
    operation_id = "bucketlists_update_item",
    path = "/api/bucketlists/{id}/items/{item_id}",
    tag = "bucket lists",
    summary = "Rename an item or mark it done.",
    security(("access_token" = []), ("bearer" = [])),
    params(("id" = String, Path, description = "The id (a UUID) of the bucket list"), ("item_id" = String, Path, description = "The id of the item")),
    request_body = ItemChanges,
    responses((status = 200, description = "The item as changed", body = ItemView), Failures)
)]
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

#[utoipa::path(
    delete,
    operation_id = "bucketlists_remove_item",
    path = "/api/bucketlists/{id}/items/{item_id}",
    tag = "bucket lists",
    summary = "Delete an item.",
    security(("access_token" = []), ("bearer" = [])),
    params(("id" = String, Path, description = "The id (a UUID) of the bucket list"), ("item_id" = String, Path, description = "The id of the item")),
    responses((status = 204, description = "Deleted"), Failures)
)]
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
