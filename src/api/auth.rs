//! Register, log in, refresh, log out.

use rocket::http::Status;
use rocket::response::status::Created;
use rocket::serde::json::Json as JsonBody;
use rocket::{post, routes, Route, State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::accounts::{self, NewAccount, Origin};
use crate::api::error::{Failures, Result};
use crate::api::json::Json;
use crate::api::views::{FullUser, LoginResponse, TokenResponse};
use crate::app::App;
use crate::audit::Source;
use crate::auth::guard::CurrentUser;
use crate::auth::SecondFactor;
use crate::error::Error;

pub(crate) fn routes() -> Vec<Route> {
    routes![
        register,
        login,
        login_mfa,
        refresh,
        logout,
        logout_all,
        forgot_password,
        reset_password,
        verify_email,
        resend_verification
    ]
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Registration {
    username: String,
    email: String,
    password: String,
    name: Option<String>,
}

#[utoipa::path(
    post,
    operation_id = "auth_register",
    path = "/api/register",
    tag = "auth",
    summary = "Sign up.",
    request_body = Registration,
    responses((status = 201, description = "Signed up: the new account", body = FullUser), Failures)
)]
#[post("/register", data = "<body>")]
async fn register(
    app: &State<App>,
    source: Source,
    body: Json<Registration>,
) -> Result<Created<JsonBody<FullUser>>> {
    let Registration {
        username,
        email,
        password,
        name,
    } = body.0;
    let input = NewAccount {
        username,
        email,
        password: Some(password),
        name,
        role: None,
        active: None,
    };
    let user = accounts::create(app, input, Origin::SignUp, &source).await?;
    let location = format!("/api/users/{}", user.public_id);
    Ok(Created::new(location).body(JsonBody((&user).into())))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Credentials {
    username: Option<String>,
    email: Option<String>,
    password: String,
}

#[utoipa::path(
    post,
    operation_id = "auth_login",
    path = "/api/login",
    tag = "auth",
    summary = "Log in with a username or an email and the password.",
    request_body = Credentials,
    responses((status = 200, description = "Tokens, or (second factor on) the challenge for `POST /api/login/mfa`", body = LoginResponse), Failures)
)]
#[post("/login", data = "<body>")]
async fn login(
    app: &State<App>,
    source: Source,
    body: Json<Credentials>,
) -> Result<JsonBody<LoginResponse>> {
    let Credentials {
        username,
        email,
        password,
    } = body.0;
    let identifier = match (username, email) {
        (Some(id), None) | (None, Some(id)) => id,
        _ => {
            let problem = "send exactly one of username and email";
            return Err(Error::field("username", problem).into());
        }
    };
    // Programs are known by their address alone: they keep no device cookie.
    let device = crate::auth::Device::default();
    let login = crate::auth::login(app, &identifier, password, &source, &device).await?;
    Ok(JsonBody(login.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SecondStep {
    mfa_token: String,
    code: Option<String>,
    recovery_code: Option<String>,
}

/// The second step of a login with a second factor on: a code from the app or a recovery
/// code, with the `mfa_token` the password step answered.
#[utoipa::path(
    post,
    operation_id = "auth_login_mfa",
    path = "/api/login/mfa",
    tag = "auth",
    summary = "The second step of a login: a code or a recovery code.",
    request_body = SecondStep,
    responses((status = 200, description = "Tokens", body = TokenResponse), Failures)
)]
#[post("/login/mfa", data = "<body>")]
async fn login_mfa(
    app: &State<App>,
    source: Source,
    body: Json<SecondStep>,
) -> Result<JsonBody<TokenResponse>> {
    let SecondStep {
        mfa_token,
        code,
        recovery_code,
    } = body.0;
    let factor = match (code, recovery_code) {
        (Some(code), None) => SecondFactor::Totp(code),
        (None, Some(code)) => SecondFactor::RecoveryCode(code),
        _ => {
            let problem = "send exactly one of code and recovery_code";
            return Err(Error::field("code", problem).into());
        }
    };
    let signed_in = crate::auth::second_step(app, &mfa_token, factor, &source).await?;
    Ok(JsonBody(signed_in.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RefreshRequest {
    refresh_token: String,
}

#[utoipa::path(
    post,
    operation_id = "auth_refresh",
    path = "/api/token/refresh",
    tag = "auth",
    summary = "Trade a refresh token for a new pair.",
    request_body = RefreshRequest,
    responses((status = 200, description = "A new pair; the refresh token sent is retired", body = TokenResponse), Failures)
)]
#[post("/token/refresh", data = "<body>")]
async fn refresh(
    app: &State<App>,
    source: Source,
    body: Json<RefreshRequest>,
) -> Result<JsonBody<TokenResponse>> {
    let signed_in = crate::auth::refresh(app, &body.0.refresh_token, &source).await?;
    Ok(JsonBody(signed_in.into()))
}

#[utoipa::path(
    post,
    operation_id = "auth_logout",
    path = "/api/logout",
    tag = "auth",
    summary = "End this session.",
    security(("access_token" = []), ("bearer" = [])),
    responses((status = 204, description = "This session has ended"), Failures)
)]
#[post("/logout")]
async fn logout(app: &State<App>, current: CurrentUser) -> Result<Status> {
    crate::auth::logout(app, &current, false).await?;
    Ok(Status::NoContent)
}

#[utoipa::path(
    post,
    operation_id = "auth_logout_all",
    path = "/api/logout-all",
    tag = "auth",
    summary = "End every session of the account.",
    security(("access_token" = []), ("bearer" = [])),
    responses((status = 204, description = "Every session of the account has ended"), Failures)
)]
#[post("/logout-all")]
async fn logout_all(app: &State<App>, current: CurrentUser) -> Result<Status> {
    crate::auth::logout(app, &current, true).await?;
    Ok(Status::NoContent)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Forgot {
    email: String,
}

/// The one answer of `/api/password/forgot`, whoever asks about whatever address.
#[derive(Serialize, ToSchema)]
struct Accepted {
    message: &'static str,
}

/// Mails a reset link to the active account with this email; `202` and the same body
/// whether or not there is one (API.md §8).
#[utoipa::path(
    post,
    operation_id = "auth_forgot_password",
    path = "/api/password/forgot",
    tag = "auth",
    summary = "Mail a password-reset link.",
    request_body = Forgot,
    responses((status = 202, description = "The same answer whether or not an account has the address", body = Accepted), Failures)
)]
#[post("/password/forgot", data = "<body>")]
async fn forgot_password(
    app: &State<App>,
    source: Source,
    body: Json<Forgot>,
) -> Result<(Status, JsonBody<Accepted>)> {
    accounts::recovery::forgot(app, &body.0.email, &source)?;
    let message = "If an account has this address, a link to set a new password is on its way.";
    Ok((Status::Accepted, JsonBody(Accepted { message })))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Reset {
    token: String,
    new_password: String,
}

/// Sets a new password with a reset link; every session of the account ends.
#[utoipa::path(
    post,
    operation_id = "auth_reset_password",
    path = "/api/password/reset",
    tag = "auth",
    summary = "Set a new password with a reset link's token.",
    request_body = Reset,
    responses((status = 204, description = "The password is set; every session has ended"), Failures)
)]
#[post("/password/reset", data = "<body>")]
async fn reset_password(app: &State<App>, source: Source, body: Json<Reset>) -> Result<Status> {
    let Reset {
        token,
        new_password,
    } = body.0;
    accounts::recovery::reset(app, &token, new_password, &source).await?;
    Ok(Status::NoContent)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Verification {
    token: String,
}

/// Uses a verification link: proves the address, or applies a pending change.
#[utoipa::path(
    post,
    operation_id = "auth_verify_email",
    path = "/api/email/verify",
    tag = "auth",
    summary = "Confirm an email address with a link's token.",
    request_body = Verification,
    responses((status = 204, description = "The address is confirmed"), Failures)
)]
#[post("/email/verify", data = "<body>")]
async fn verify_email(
    app: &State<App>,
    source: Source,
    body: Json<Verification>,
) -> Result<Status> {
    accounts::recovery::verify(app, &body.0.token, &source).await?;
    Ok(Status::NoContent)
}

/// Mails a new verification link (to the pending address, or the unproved own one).
#[utoipa::path(
    post,
    operation_id = "auth_resend_verification",
    path = "/api/me/email/verification",
    tag = "auth",
    summary = "Mail a new confirmation link.",
    security(("access_token" = []), ("bearer" = [])),
    responses((status = 202, description = "A link is on its way, if there is an address to confirm", body = Accepted), Failures)
)]
#[post("/me/email/verification")]
async fn resend_verification(
    app: &State<App>,
    current: CurrentUser,
) -> Result<(Status, JsonBody<Accepted>)> {
    accounts::recovery::resend(app, &current.user, &current.source).await?;
    let message = "If there is an address to confirm, a link is on its way to it.";
    Ok((Status::Accepted, JsonBody(Accepted { message })))
}
