//! The signed-in user (`/api/me`) and the users collection with its sessions.

use rocket::http::Status;
use rocket::response::status::Created;
use rocket::serde::json::Json as JsonBody;
use rocket::{delete, get, patch, post, put, routes, Route, State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::accounts::model::User;
use crate::accounts::{self, policy, AccountChanges, NewAccount, Origin};
use crate::api::error::{Failures, Result};
use crate::api::json::Json;
use crate::api::views::{FullUser, SessionList, SessionView, UserPage, UserView};
use crate::app::App;
use crate::auth;
use crate::auth::guard::{Admin, CurrentUser};
use crate::error::Error;
use crate::params::ListParams;

pub(crate) fn routes() -> Vec<Route> {
    routes![
        me,
        update_me,
        change_password,
        list,
        create,
        show,
        patch_user,
        put_user,
        delete_user,
        sessions,
        end_session,
        clear_lockout,
        recovery_link
    ]
}

/// An admin's work on another account needs what admin-only routes need: with
/// `require_mfa_for_admins`, a second factor (members are refused by the policy instead).
fn acting_on(app: &App, current: &CurrentUser, target: &User) -> Result<()> {
    if current.user.id != target.id {
        current.ensure_admin_cleared(&app.settings)?;
    }
    Ok(())
}

#[utoipa::path(
    get,
    operation_id = "users_me",
    path = "/api/me",
    tag = "users",
    summary = "The signed-in user.",
    security(("access_token" = []), ("bearer" = [])),
    responses((status = 200, description = "The caller", body = FullUser), Failures)
)]
#[get("/me")]
fn me(current: CurrentUser) -> JsonBody<FullUser> {
    JsonBody((&current.user).into())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ProfileChanges {
    username: Option<String>,
    email: Option<String>,
    name: Option<String>,
    /// Needed with a new email when the sign-in is not recent (README, "Recent sign-in").
    current_password: Option<String>,
}

#[utoipa::path(
    patch,
    operation_id = "users_update_me",
    path = "/api/me",
    tag = "users",
    summary = "Change one's own profile.",
    security(("access_token" = []), ("bearer" = [])),
    request_body = ProfileChanges,
    responses((status = 200, description = "The account as changed", body = FullUser), Failures)
)]
#[patch("/me", data = "<body>")]
async fn update_me(
    app: &State<App>,
    current: CurrentUser,
    body: Json<ProfileChanges>,
) -> Result<JsonBody<FullUser>> {
    let ProfileChanges {
        username,
        email,
        name,
        current_password,
    } = body.0;
    let changes = AccountChanges {
        username,
        email,
        name,
        current_password,
        ..AccountChanges::default()
    };
    let user = accounts::update(app, &current, &current.user, changes).await?;
    Ok(JsonBody((&user).into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PasswordChange {
    current_password: String,
    new_password: String,
}

#[utoipa::path(
    put,
    operation_id = "users_change_password",
    path = "/api/me/password",
    tag = "users",
    summary = "Change one's own password.",
    security(("access_token" = []), ("bearer" = [])),
    request_body = PasswordChange,
    responses((status = 204, description = "Changed; the account's other sessions and its personal tokens have ended"), Failures)
)]
#[put("/me/password", data = "<body>")]
async fn change_password(
    app: &State<App>,
    current: CurrentUser,
    body: Json<PasswordChange>,
) -> Result<Status> {
    let PasswordChange {
        current_password,
        new_password,
    } = body.0;
    accounts::change_own_password(app, &current, current_password, new_password).await?;
    Ok(Status::NoContent)
}

#[utoipa::path(
    get,
    operation_id = "users_list",
    path = "/api/users",
    tag = "users",
    summary = "List users (members see active accounts' public fields).",
    security(("access_token" = []), ("bearer" = [])),
    params(ListParams),
    responses((status = 200, description = "A page of users", body = UserPage), Failures)
)]
#[get("/users?<params..>")]
async fn list(
    app: &State<App>,
    current: CurrentUser,
    params: ListParams<'_>,
) -> Result<JsonBody<UserPage>> {
    // An admin lists everyone, emails too: admin powers.
    current.ensure_admin_cleared(&app.settings)?;
    let query = params.user_query(&current.user, None)?;
    let (page, per_page) = (query.page, query.per_page);
    let (users, total) = app
        .db
        .run(move |c| Ok::<_, Error>(User::list(c, &query)?))
        .await?;
    let users: Vec<UserView> = users
        .iter()
        .map(|u| UserView::of(u, &current.user))
        .collect();
    Ok(JsonBody(UserPage {
        users,
        page,
        per_page,
        total,
    }))
}

/// A new user, and the invitation link when it was made without a password (for an admin
/// who has no mail server to hand it over).
#[derive(Serialize, ToSchema)]
struct NewUserView {
    #[serde(flatten)]
    user: FullUser,
    #[serde(skip_serializing_if = "Option::is_none")]
    invite_url: Option<String>,
}

/// Creates an account; without `password`, it is invited by mail to set one (API.md §8).
#[utoipa::path(
    post,
    operation_id = "users_create",
    path = "/api/users",
    tag = "users",
    summary = "Create an account (admins).",
    security(("access_token" = []), ("bearer" = [])),
    request_body = NewAccount,
    responses((status = 201, description = "The new account (and an invitation link when made without a password)", body = NewUserView), Failures)
)]
#[post("/users", data = "<body>")]
async fn create(
    app: &State<App>,
    admin: Admin,
    body: Json<NewAccount>,
) -> Result<Created<JsonBody<NewUserView>>> {
    let origin = Origin::Admin(&admin.0);
    let (user, invite_url) = accounts::create_account(app, body.0, origin, &admin.source).await?;
    let location = format!("/api/users/{}", user.public_id);
    let view = NewUserView {
        user: (&user).into(),
        invite_url,
    };
    Ok(Created::new(location).body(JsonBody(view)))
}

#[utoipa::path(
    get,
    operation_id = "users_show",
    path = "/api/users/{id}",
    tag = "users",
    summary = "One user.",
    security(("access_token" = []), ("bearer" = [])),
    params(("id" = String, Path, description = "The id (a UUID) of the user")),
    responses((status = 200, description = "The user, fully for oneself and admins", body = UserView), Failures)
)]
#[get("/users/<id>")]
async fn show(app: &State<App>, current: CurrentUser, id: &str) -> Result<JsonBody<UserView>> {
    let user = accounts::find(app, id).await?;
    acting_on(app, &current, &user)?;
    if !policy::visible_to(&user, &current.user) {
        return Err(Error::NotFound.into());
    }
    Ok(JsonBody(UserView::of(&user, &current.user)))
}

#[utoipa::path(
    patch,
    operation_id = "users_patch_user",
    path = "/api/users/{id}",
    tag = "users",
    summary = "Change an account (oneself, or anyone for admins).",
    security(("access_token" = []), ("bearer" = [])),
    params(("id" = String, Path, description = "The id (a UUID) of the user")),
    request_body = AccountChanges,
    responses((status = 200, description = "The account as changed", body = FullUser), Failures)
)]
#[patch("/users/<id>", data = "<body>")]
async fn patch_user(
    app: &State<App>,
    current: CurrentUser,
    id: &str,
    body: Json<AccountChanges>,
) -> Result<JsonBody<FullUser>> {
    let target = accounts::find(app, id).await?;
    acting_on(app, &current, &target)?;
    let user = accounts::update(app, &current, &target, body.0).await?;
    Ok(JsonBody((&user).into()))
}

/// PUT is a partial update too (API.md §4), so older clients that PUT keep working.
#[utoipa::path(
    put,
    operation_id = "users_put_user",
    path = "/api/users/{id}",
    tag = "users",
    summary = "The same partial change as PATCH.",
    security(("access_token" = []), ("bearer" = [])),
    params(("id" = String, Path, description = "The id (a UUID) of the user")),
    request_body = AccountChanges,
    responses((status = 200, description = "The account as changed", body = FullUser), Failures)
)]
#[put("/users/<id>", data = "<body>")]
async fn put_user(
    app: &State<App>,
    current: CurrentUser,
    id: &str,
    body: Json<AccountChanges>,
) -> Result<JsonBody<FullUser>> {
    patch_user(app, current, id, body).await
}

#[utoipa::path(
    delete,
    operation_id = "users_delete_user",
    path = "/api/users/{id}",
    tag = "users",
    summary = "Delete an account.",
    security(("access_token" = []), ("bearer" = [])),
    params(("id" = String, Path, description = "The id (a UUID) of the user")),
    responses((status = 204, description = "Deleted"), Failures)
)]
#[delete("/users/<id>")]
async fn delete_user(app: &State<App>, current: CurrentUser, id: &str) -> Result<Status> {
    let target = accounts::find(app, id).await?;
    acting_on(app, &current, &target)?;
    accounts::delete(app, &current, &target).await?;
    Ok(Status::NoContent)
}

#[utoipa::path(
    get,
    operation_id = "users_sessions",
    path = "/api/users/{id}/sessions",
    tag = "users",
    summary = "An account's sessions.",
    security(("access_token" = []), ("bearer" = [])),
    params(("id" = String, Path, description = "The id (a UUID) of the user")),
    responses((status = 200, description = "The account's live sessions", body = SessionList), Failures)
)]
#[get("/users/<id>/sessions")]
async fn sessions(
    app: &State<App>,
    current: CurrentUser,
    id: &str,
) -> Result<JsonBody<SessionList>> {
    let target = accounts::find(app, id).await?;
    acting_on(app, &current, &target)?;
    let sessions = auth::sessions(app, &current, &target).await?;
    let sessions = sessions
        .iter()
        .map(|s| SessionView::of(s, current.session()))
        .collect();
    Ok(JsonBody(SessionList { sessions }))
}

#[utoipa::path(
    delete,
    operation_id = "users_end_session",
    path = "/api/users/{id}/sessions/{sid}",
    tag = "users",
    summary = "End one session.",
    security(("access_token" = []), ("bearer" = [])),
    params(("id" = String, Path, description = "The id (a UUID) of the user"), ("sid" = String, Path, description = "The id of the session")),
    responses((status = 204, description = "The session has ended"), Failures)
)]
#[delete("/users/<id>/sessions/<sid>")]
async fn end_session(
    app: &State<App>,
    current: CurrentUser,
    id: &str,
    sid: &str,
) -> Result<Status> {
    let target = accounts::find(app, id).await?;
    acting_on(app, &current, &target)?;
    auth::end_session(app, &current, &target, sid).await?;
    Ok(Status::NoContent)
}

/// Lets a locked-out account try to log in again at once.
#[utoipa::path(
    delete,
    operation_id = "users_clear_lockout",
    path = "/api/users/{id}/lockout",
    tag = "users",
    summary = "Clear a login lock-out (admins).",
    security(("access_token" = []), ("bearer" = [])),
    params(("id" = String, Path, description = "The id (a UUID) of the user")),
    responses((status = 204, description = "The account may log in again at once"), Failures)
)]
#[delete("/users/<id>/lockout")]
async fn clear_lockout(app: &State<App>, admin: Admin, id: &str) -> Result<Status> {
    let target = accounts::find(app, id).await?;
    auth::lockouts::clear_lockout(app, &admin, &target).await?;
    Ok(Status::NoContent)
}

/// A set-a-password link, and when it stops working.
#[derive(Serialize, ToSchema)]
struct RecoveryLink {
    url: String,
    expires_at: String,
}

/// Makes a set-a-password link to hand over by other means (API.md §8).
#[utoipa::path(
    post,
    operation_id = "users_recovery_link",
    path = "/api/users/{id}/recovery-link",
    tag = "users",
    summary = "Make a set-a-password link (admins).",
    security(("access_token" = []), ("bearer" = [])),
    params(("id" = String, Path, description = "The id (a UUID) of the user")),
    responses((status = 201, description = "A set-a-password link", body = RecoveryLink), Failures)
)]
#[post("/users/<id>/recovery-link")]
async fn recovery_link(
    app: &State<App>,
    admin: Admin,
    id: &str,
) -> Result<(Status, JsonBody<RecoveryLink>)> {
    let target = accounts::find(app, id).await?;
    let (url, expires) = accounts::recovery::recovery_link(app, &admin, &target).await?;
    let link = RecoveryLink {
        url,
        expires_at: crate::api::views::rfc3339(expires),
    };
    Ok((Status::Created, JsonBody(link)))
}
