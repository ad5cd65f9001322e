//! The caller's second factor (API.md §9): TOTP enrolment, recovery codes, turning it off;
//! and an admin's removal of another account's second factor.

use rocket::http::Status;
use rocket::serde::json::Json as JsonBody;
use rocket::{delete, post, routes, Route, State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::accounts;
use crate::api::error::{Failures, Result};
use crate::api::json::Json;
use crate::app::App;
use crate::auth::guard::{Admin, CurrentUser};
use crate::mfa;

pub(crate) fn routes() -> Vec<Route> {
    routes![begin, confirm, disable, regenerate, remove]
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Password {
    password: String,
}

#[derive(Serialize, ToSchema)]
struct Enrolment {
    secret: String,
    otpauth_url: String,
}

/// Starts an enrolment: a new secret, waiting for its first code.
#[utoipa::path(
    post,
    operation_id = "mfa_begin",
    path = "/api/me/mfa/totp",
    tag = "second factor",
    summary = "Start a TOTP enrolment.",
    security(("access_token" = []), ("bearer" = [])),
    request_body = Password,
    responses((status = 200, description = "A new secret waiting for its first code", body = Enrolment), Failures)
)]
#[post("/me/mfa/totp", data = "<body>")]
async fn begin(
    app: &State<App>,
    current: CurrentUser,
    body: Json<Password>,
) -> Result<JsonBody<Enrolment>> {
    let enrolment = mfa::begin(app, &current, body.0.password).await?;
    Ok(JsonBody(Enrolment {
        secret: enrolment.secret,
        otpauth_url: enrolment.otpauth_url,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Code {
    code: String,
}

#[derive(Serialize, ToSchema)]
struct RecoveryCodes {
    recovery_codes: Vec<String>,
}

/// Turns TOTP on with a code from the app; the recovery codes are shown this once.
#[utoipa::path(
    post,
    operation_id = "mfa_confirm",
    path = "/api/me/mfa/totp/confirm",
    tag = "second factor",
    summary = "Turn TOTP on with a code from the app.",
    security(("access_token" = []), ("bearer" = [])),
    request_body = Code,
    responses((status = 200, description = "On; the recovery codes, shown this once", body = RecoveryCodes), Failures)
)]
#[post("/me/mfa/totp/confirm", data = "<body>")]
async fn confirm(
    app: &State<App>,
    current: CurrentUser,
    body: Json<Code>,
) -> Result<JsonBody<RecoveryCodes>> {
    let recovery_codes = mfa::confirm(app, &current, &body.0.code).await?;
    Ok(JsonBody(RecoveryCodes { recovery_codes }))
}

/// Turns TOTP off (or cancels a waiting enrolment); the recovery codes go with it.
#[utoipa::path(
    delete,
    operation_id = "mfa_disable",
    path = "/api/me/mfa/totp",
    tag = "second factor",
    summary = "Turn TOTP off (or cancel an enrolment).",
    security(("access_token" = []), ("bearer" = [])),
    request_body = Password,
    responses((status = 204, description = "Off"), Failures)
)]
#[delete("/me/mfa/totp", data = "<body>")]
async fn disable(app: &State<App>, current: CurrentUser, body: Json<Password>) -> Result<Status> {
    mfa::disable(app, &current, body.0.password).await?;
    Ok(Status::NoContent)
}

/// New recovery codes; the old ones stop working.
#[utoipa::path(
    post,
    operation_id = "mfa_regenerate",
    path = "/api/me/mfa/recovery-codes",
    tag = "second factor",
    summary = "Make new recovery codes.",
    security(("access_token" = []), ("bearer" = [])),
    request_body = Password,
    responses((status = 200, description = "New recovery codes; the old ones are void", body = RecoveryCodes), Failures)
)]
#[post("/me/mfa/recovery-codes", data = "<body>")]
async fn regenerate(
    app: &State<App>,
    current: CurrentUser,
    body: Json<Password>,
) -> Result<JsonBody<RecoveryCodes>> {
    let recovery_codes = mfa::regenerate(app, &current, body.0.password).await?;
    Ok(JsonBody(RecoveryCodes { recovery_codes }))
}

/// Removes a user's second factor, for a lost phone.
#[utoipa::path(
    delete,
    operation_id = "mfa_remove",
    path = "/api/users/{id}/mfa",
    tag = "second factor",
    summary = "Remove another account's second factor (admins).",
    security(("access_token" = []), ("bearer" = [])),
    params(("id" = String, Path, description = "The id (a UUID) of the user")),
    responses((status = 204, description = "Removed"), Failures)
)]
#[delete("/users/<id>/mfa")]
async fn remove(app: &State<App>, admin: Admin, id: &str) -> Result<Status> {
    let target = accounts::find(app, id).await?;
    mfa::remove_by_admin(app, &admin, &target).await?;
    Ok(Status::NoContent)
}
