//! The signed-in user (`/api/me`) and the users collection with its sessions.

use rocket::http::Status;
use rocket::response::status::Created;
use rocket::serde::json::{Json as JsonBody, Value};
use rocket::{delete, get, patch, post, put, routes, Route, State};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::accounts::model::User;
use crate::accounts::{self, policy, AccountChanges, NewAccount, Origin};
use crate::api::error::Result;
use crate::api::json::Json;
use crate::api::views::{FullUser, SessionView, UserView};
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

#[get("/me")]
fn me(current: CurrentUser) -> JsonBody<FullUser> {
    JsonBody((&current.user).into())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileChanges {
    username: Option<String>,
    email: Option<String>,
    name: Option<String>,
    /// Needed with a new email when the sign-in is not recent (README, "Recent sign-in").
    current_password: Option<String>,
}

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordChange {
    current_password: String,
    new_password: String,
}

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

#[get("/users?<params..>")]
async fn list(app: &State<App>, current: CurrentUser, params: ListParams<'_>) -> Result<Value> {
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
    Ok(json!({"users": users, "page": page, "per_page": per_page, "total": total}))
}

/// A new user, and the invitation link when it was made without a password (for an admin
/// who has no mail server to hand it over).
#[derive(Serialize)]
struct NewUserView {
    #[serde(flatten)]
    user: FullUser,
    #[serde(skip_serializing_if = "Option::is_none")]
    invite_url: Option<String>,
}

/// Creates an account; without `password`, it is invited by mail to set one (API.md §8).
#[post("/users", data = "<body>")]
async fn create(
    app: &State<App>,
    admin: Admin,
    body: Json<NewAccount>,
) -> Result<Created<JsonBody<NewUserView>>> {
    let origin = Origin::Admin(&admin.0.user);
    let (user, invite_url) = accounts::create_account(app, body.0, origin, &admin.source).await?;
    let location = format!("/api/users/{}", user.public_id);
    let view = NewUserView {
        user: (&user).into(),
        invite_url,
    };
    Ok(Created::new(location).body(JsonBody(view)))
}

#[get("/users/<id>")]
async fn show(app: &State<App>, current: CurrentUser, id: &str) -> Result<JsonBody<UserView>> {
    let user = accounts::find(app, id).await?;
    acting_on(app, &current, &user)?;
    if !policy::visible_to(&user, &current.user) {
        return Err(Error::NotFound.into());
    }
    Ok(JsonBody(UserView::of(&user, &current.user)))
}

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
#[put("/users/<id>", data = "<body>")]
async fn put_user(
    app: &State<App>,
    current: CurrentUser,
    id: &str,
    body: Json<AccountChanges>,
) -> Result<JsonBody<FullUser>> {
    patch_user(app, current, id, body).await
}

#[delete("/users/<id>")]
async fn delete_user(app: &State<App>, current: CurrentUser, id: &str) -> Result<Status> {
    let target = accounts::find(app, id).await?;
    acting_on(app, &current, &target)?;
    accounts::delete(app, &current, &target).await?;
    Ok(Status::NoContent)
}

#[get("/users/<id>/sessions")]
async fn sessions(app: &State<App>, current: CurrentUser, id: &str) -> Result<Value> {
    let target = accounts::find(app, id).await?;
    acting_on(app, &current, &target)?;
    let sessions = auth::sessions(app, &current, &target).await?;
    let views: Vec<SessionView> = sessions
        .iter()
        .map(|s| SessionView::of(s, current.session()))
        .collect();
    Ok(json!({ "sessions": views }))
}

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
#[delete("/users/<id>/lockout")]
async fn clear_lockout(app: &State<App>, admin: Admin, id: &str) -> Result<Status> {
    let target = accounts::find(app, id).await?;
    auth::lockouts::clear_lockout(app, &admin, &target).await?;
    Ok(Status::NoContent)
}

/// A set-a-password link, and when it stops working.
#[derive(Serialize)]
struct RecoveryLink {
    url: String,
    expires_at: String,
}

/// Makes a set-a-password link to hand over by other means (API.md §8).
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
