//! The caller's personal access tokens (API.md §10): made and deleted from a signed-in
//! session, each shown once.

use rocket::http::Status;
use rocket::response::status::Created;
use rocket::serde::json::Json as JsonBody;
use rocket::{delete, get, post, routes, Route, State};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::api::error::Result;
use crate::api::json::Json;
use crate::api::views::{NewTokenView, TokenView};
use crate::app::App;
use crate::auth::guard::CurrentUser;
use crate::auth::personal_tokens::{self, Request};

pub(crate) fn routes() -> Vec<Route> {
    routes![list, create, remove]
}

#[get("/me/tokens")]
async fn list(app: &State<App>, current: CurrentUser) -> Result<Value> {
    let tokens = personal_tokens::list(app, &current).await?;
    let tokens: Vec<TokenView> = tokens.iter().map(TokenView::from).collect();
    Ok(json!({ "tokens": tokens }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewToken {
    name: String,
    scope: String,
    expires_in_days: Option<i64>,
}

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
    } = body.0;
    let request = Request {
        name,
        scope,
        expires_in_days,
    };
    let minted = personal_tokens::create(app, &current, &request).await?;
    let location = format!("/api/me/tokens/{}", minted.token.public_id);
    Ok(Created::new(location).body(JsonBody(minted.into())))
}

#[delete("/me/tokens/<id>")]
async fn remove(app: &State<App>, current: CurrentUser, id: &str) -> Result<Status> {
    personal_tokens::delete(app, &current, id).await?;
    Ok(Status::NoContent)
}
