//! Request guards: who is calling (`ClientInfo`), who is signed in (`CurrentUser`) and whether
//! they are an admin (`Admin`, built on `CurrentUser`).
//!
//! A failing guard leaves its error in the request's local cache ([`GuardFailure`]) so the
//! catcher that Rocket calls next can answer with the precise code.

use std::sync::Mutex;

use rocket::http::Method;
use rocket::outcome::Outcome;
use rocket::request::{self, FromRequest, Request};
use rocket::State;

use crate::accounts::model::User;
use crate::auth::sessions::Session;
use crate::auth::tokens::TokenType;
use crate::db;
use crate::error::{AuthFailure, Error, Result};
use crate::App;

/// Base names of the cookies that carry the tokens (see [`cookie_name`]).
pub const ACCESS_COOKIE: &str = "access_token";
pub const REFRESH_COOKIE: &str = "refresh_token";

/// Longest user agent kept with a session.
const USER_AGENT_MAX: usize = 255;

/// The error of the guard that stopped a request, for the catchers. The last one recorded
/// wins: an optional guard may fail early without hiding the failure that stopped the request.
#[derive(Default)]
pub struct GuardFailure(Mutex<Option<Error>>);

impl GuardFailure {
    /// The error recorded for this request, if any.
    pub fn of(req: &Request<'_>) -> Option<Error> {
        let failure = req.local_cache(GuardFailure::default);
        failure.0.lock().ok().and_then(|error| error.clone())
    }
}

/// Keeps a guard's error for the catcher.
pub fn remember(req: &Request<'_>, error: &Error) {
    let failure = req.local_cache(GuardFailure::default);
    if let Ok(mut slot) = failure.0.lock() {
        *slot = Some(error.clone());
    }
}

/// Fails a guard with `error`, remembering it for the catcher.
pub fn fail<T>(req: &Request<'_>, error: Error) -> request::Outcome<T, Error> {
    remember(req, &error);
    Outcome::Error((error.status(), error))
}

/// Where a request comes from, as recorded with sessions and audit events.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for ClientInfo {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> request::Outcome<Self, Self::Error> {
        Outcome::Success(client_info(req))
    }
}

/// Where the access token came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSource {
    Header,
    Cookie,
}

/// A signed-in caller whose token, session and account were all checked just now.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub user: User,
    pub session: Session,
    pub source: TokenSource,
    pub client: ClientInfo,
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for CurrentUser {
    type Error = Error;

    async fn from_request(req: &'r Request<'_>) -> request::Outcome<Self, Error> {
        let result = req
            .local_cache_async(async { authenticate(req).await })
            .await;
        match result {
            Ok(current) => Outcome::Success(current.clone()),
            Err(error) => fail(req, error.clone()),
        }
    }
}

/// A signed-in admin.
#[derive(Debug, Clone)]
pub struct Admin(pub CurrentUser);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Admin {
    type Error = Error;

    async fn from_request(req: &'r Request<'_>) -> request::Outcome<Self, Error> {
        match CurrentUser::from_request(req).await {
            Outcome::Success(current) if current.user.is_admin() => {
                Outcome::Success(Admin(current))
            }
            Outcome::Success(_) => fail(req, Error::forbidden("This needs an admin account.")),
            Outcome::Error(e) => Outcome::Error(e),
            Outcome::Forward(f) => Outcome::Forward(f),
        }
    }
}

/// The access token of a request, looked for in the order of API.md §1. The first location
/// present is the only one used: a bad header token is never rescued by a cookie.
fn find_token(req: &Request<'_>, cookie_name: &str) -> Result<(String, TokenSource)> {
    let headers = req.headers();
    if let Some(token) = headers.get_one("x-access-token") {
        return Ok((token.trim().to_owned(), TokenSource::Header));
    }
    if let Some(value) = headers.get_one("Authorization") {
        let token = value
            .split_once(' ')
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim().to_owned())
            .ok_or(Error::Auth(AuthFailure::InvalidToken))?;
        return Ok((token, TokenSource::Header));
    }
    match req.cookies().get(cookie_name) {
        Some(cookie) => Ok((cookie.value().to_owned(), TokenSource::Cookie)),
        None => Err(Error::Auth(AuthFailure::MissingToken)),
    }
}

/// A cookie's name: `__Host-` prefixed when cookies are Secure, which stops a sibling
/// subdomain from planting or overwriting it.
pub fn cookie_name(base: &str, cookie_secure: bool) -> String {
    if cookie_secure {
        format!("__Host-{base}")
    } else {
        base.to_owned()
    }
}

/// The application state, from any request.
pub async fn app_state<'r>(req: &'r Request<'_>) -> Result<&'r App> {
    match req.guard::<&State<App>>().await {
        Outcome::Success(app) => Ok(app.inner()),
        _ => Err(Error::internal("application state missing")),
    }
}

/// Checks an access token completely: signature and claims, then against the database that
/// its session is live and its account exists, is active and still has the role it claims.
pub async fn check_access(app: &App, token: &str) -> Result<(Session, User)> {
    let claims = app.verify(token, TokenType::Access).await?;
    app.db
        .run(move |c| {
            let now = db::now();
            let found = Session::find_with_user(c, &claims.sid)?;
            let live = found.filter(|(session, user)| {
                session.is_live(now)
                    && user.active
                    && user.public_id == claims.sub
                    && user.role == claims.role
            });
            let (session, user) = live.ok_or(Error::Auth(AuthFailure::TokenRevoked))?;
            session.touch(c, now)?;
            Ok::<_, Error>((session, user))
        })
        .await
}

/// The API's caller: a token from a header or the cookie; cookie-borne changes need the
/// `X-CSRF-Token` header.
async fn authenticate(req: &Request<'_>) -> Result<CurrentUser> {
    let app = app_state(req).await?;
    let cookie = cookie_name(ACCESS_COOKIE, app.settings.cookie_secure);
    let (token, source) = find_token(req, &cookie)?;
    let (session, user) = check_access(app, &token).await?;
    if source == TokenSource::Cookie && !is_safe(req.method()) {
        let sent = csrf_header(req).ok_or(Error::CsrfFailed)?;
        if !constant_time_eq(sent.as_bytes(), session.csrf_token.as_bytes()) {
            return Err(Error::CsrfFailed);
        }
    }
    Ok(CurrentUser {
        user,
        session,
        source,
        client: client_info(req),
    })
}

/// Where the request comes from (never fails).
pub fn client_info(req: &Request<'_>) -> ClientInfo {
    let user_agent = req
        .headers()
        .get_one("User-Agent")
        .map(|ua| ua.chars().take(USER_AGENT_MAX).collect());
    ClientInfo {
        ip: req.client_ip().map(|ip| ip.to_string()),
        user_agent,
    }
}

fn csrf_header(req: &Request<'_>) -> Option<String> {
    req.headers().get_one("X-CSRF-Token").map(str::to_owned)
}

fn is_safe(method: Method) -> bool {
    matches!(method, Method::Get | Method::Head | Method::Options)
}

/// Compares secrets without leaking, through timing, how much of them matched.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
