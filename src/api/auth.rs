//! Register, log in, refresh, log out.

use rocket::http::Status;
use rocket::response::status::Created;
use rocket::serde::json::Json as JsonBody;
use rocket::{post, routes, Route, State};
use serde::{Deserialize, Serialize};

use crate::accounts::{self, NewAccount, Origin};
use crate::api::error::Result;
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Registration {
    username: String,
    email: String,
    password: String,
    name: Option<String>,
}

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Credentials {
    username: Option<String>,
    email: Option<String>,
    password: String,
}

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SecondStep {
    mfa_token: String,
    code: Option<String>,
    recovery_code: Option<String>,
}

/// The second step of a login with a second factor on: a code from the app or a recovery
/// code, with the `mfa_token` the password step answered.
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RefreshRequest {
    refresh_token: String,
}

#[post("/token/refresh", data = "<body>")]
async fn refresh(
    app: &State<App>,
    source: Source,
    body: Json<RefreshRequest>,
) -> Result<JsonBody<TokenResponse>> {
    let signed_in = crate::auth::refresh(app, &body.0.refresh_token, &source).await?;
    Ok(JsonBody(signed_in.into()))
}

#[post("/logout")]
async fn logout(app: &State<App>, current: CurrentUser) -> Result<Status> {
    crate::auth::logout(app, &current, false).await?;
    Ok(Status::NoContent)
}

#[post("/logout-all")]
async fn logout_all(app: &State<App>, current: CurrentUser) -> Result<Status> {
    crate::auth::logout(app, &current, true).await?;
    Ok(Status::NoContent)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Forgot {
    email: String,
}

/// The one answer of `/api/password/forgot`, whoever asks about whatever address.
#[derive(Serialize)]
struct Accepted {
    message: &'static str,
}

/// Mails a reset link to the active account with this email; `202` and the same body
/// whether or not there is one (API.md §8).
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Reset {
    token: String,
    new_password: String,
}

/// Sets a new password with a reset link; every session of the account ends.
#[post("/password/reset", data = "<body>")]
async fn reset_password(app: &State<App>, source: Source, body: Json<Reset>) -> Result<Status> {
    let Reset {
        token,
        new_password,
    } = body.0;
    accounts::recovery::reset(app, &token, new_password, &source).await?;
    Ok(Status::NoContent)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Verification {
    token: String,
}

/// Uses a verification link: proves the address, or applies a pending change.
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
#[post("/me/email/verification")]
async fn resend_verification(
    app: &State<App>,
    current: CurrentUser,
) -> Result<(Status, JsonBody<Accepted>)> {
    accounts::recovery::resend(app, &current.user, &current.source).await?;
    let message = "If there is an address to confirm, a link is on its way to it.";
    Ok((Status::Accepted, JsonBody(Accepted { message })))
}
