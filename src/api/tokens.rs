//! The caller's personal access tokens (API.md §10): made and deleted from a signed-in
//! session, each shown once.

use rocket::http::Status;
use rocket::response::status::Created;
use rocket::serde::json::Json as JsonBody;
use rocket::{delete, get, post, routes, Route, State};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::api::error::{Failures, Result};
use crate::api::json::Json;
use crate::api::views::{NewTokenView, TokenList, TokenView};
use crate::app::App;
use crate::auth::guard::CurrentUser;
use crate::auth::personal_tokens::{self, Request};

pub(crate) fn routes() -> Vec<Route> {
    routes![list, create, remove]
}

#[utoipa::path(
    get,
    operation_id = "tokens_list",
    path = "/api/me/tokens",
    tag = "personal access tokens",
    summary = "List one's personal access tokens.",
    security(("access_token" = []), ("bearer" = [])),
    responses((status = 200, description = "The caller's live tokens", body = TokenList), Failures)
)]
#[get("/me/tokens")]
async fn list(app: &State<App>, current: CurrentUser) -> Result<JsonBody<TokenList>> {
    let tokens = personal_tokens::list(app, &current).await?;
    let tokens = tokens.iter().map(TokenView::from).collect();
    Ok(JsonBody(TokenList { tokens }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewToken {
    /// What the token is for: 1 to 100 characters.
    #[schema(min_length = 1, max_length = 100)]
    name: String,
    /// `read` (GET and HEAD only) or `write`.
    #[schema(pattern = "^(read|write)$")]
    scope: String,
    /// 1 to 365; 90 unless given.
    #[schema(minimum = 1, maximum = 365)]
    expires_in_days: Option<i64>,
    /// Needed when the session signed in more than 10 minutes ago.
    current_password: Option<String>,
}

#[utoipa::path(
    post,
    operation_id = "tokens_create",
    path = "/api/me/tokens",
    tag = "personal access tokens",
    summary = "Make a personal access token (not with a personal token).",
    security(("access_token" = []), ("bearer" = [])),
    request_body = NewToken,
    responses((status = 201, description = "The token, shown this once", body = NewTokenView), Failures)
)]
#[post("/me/tokens", data = "<body>")]
async fn create(
    app: &State<App>,
    current: CurrentUser,
    body: Json<NewToken>,
) -> Result<Created<JsonBody<NewTokenView>>> {
    let NewToken {
        name,
        scope,
        expires_in_days,
        current_password,
    } = body.0;
    let request = Request {
        name,
        scope,
        expires_in_days,
        current_password,
    };
    let minted = personal_tokens::create(app, &current, request).await?;
    let location = format!("/api/me/tokens/{}", minted.token.public_id);
    Ok(Created::new(location).body(JsonBody(minted.into())))
}

#[utoipa::path(
    delete,
    operation_id = "tokens_remove",
    path = "/api/me/tokens/{id}",
    tag = "personal access tokens",
    summary = "Delete a personal access token.",
    security(("access_token" = []), ("bearer" = [])),
    params(("id" = String, Path, description = "The id of the token")),
    responses((status = 204, description = "Deleted: refused from its next use"), Failures)
)]
#[delete("/me/tokens/<id>")]
async fn remove(app: &State<App>, current: CurrentUser, id: &str) -> Result<Status> {
    personal_tokens::delete(app, &current, id).await?;
    Ok(Status::NoContent)
}
