//! Request guards: who is calling (`ClientInfo`), who is signed in (`CurrentUser`) and whether
//! they are an admin (`Admin`, built on `CurrentUser`).
//!
//! A failing guard leaves its error in the request's local cache ([`GuardFailure`]) so the
//! catcher that Rocket calls next can answer with the precise code.

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

/// Longest user agent kept with a session.
const USER_AGENT_MAX: usize = 255;

/// The error of the guard that stopped a request, for the catchers.
pub struct GuardFailure(pub Option<Error>);

/// Keeps a guard's error for the catcher (the first one wins: Rocket stops at the first).
pub fn remember(req: &Request<'_>, error: &Error) {
    req.local_cache(|| GuardFailure(Some(error.clone())));
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
        let user_agent = req
            .headers()
            .get_one("User-Agent")
            .map(|ua| ua.chars().take(USER_AGENT_MAX).collect());
        Outcome::Success(ClientInfo {
            ip: req.client_ip().map(|ip| ip.to_string()),
            user_agent,
        })
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

/// Name of the access-token cookie: `__Host-` prefixed when cookies are Secure.
pub fn access_cookie_name(cookie_secure: bool) -> &'static str {
    if cookie_secure {
        "__Host-access_token"
    } else {
        "access_token"
    }
}

async fn authenticate(req: &Request<'_>) -> Result<CurrentUser> {
    let app = match req.guard::<&State<App>>().await {
        Outcome::Success(app) => app,
        _ => return Err(Error::internal("application state missing")),
    };
    let (token, source) = find_token(req, access_cookie_name(app.settings.cookie_secure))?;
    let claims = app.tokens.verify(&token, TokenType::Access)?;
    let csrf_sent = csrf_header(req);
    let client = match req.guard::<ClientInfo>().await {
        Outcome::Success(client) => client,
        _ => ClientInfo::default(),
    };
    let (session, user) = app
        .db
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
        .await?;
    if source == TokenSource::Cookie && !is_safe(req.method()) {
        let sent = csrf_sent.ok_or(Error::CsrfFailed)?;
        if !constant_time_eq(sent.as_bytes(), session.csrf_token.as_bytes()) {
            return Err(Error::CsrfFailed);
        }
    }
    Ok(CurrentUser {
        user,
        session,
        source,
        client,
    })
}

fn csrf_header(req: &Request<'_>) -> Option<String> {
    req.headers().get_one("X-CSRF-Token").map(str::to_owned)
}

fn is_safe(method: Method) -> bool {
    matches!(method, Method::Get | Method::Head | Method::Options)
}

/// Compares secrets without leaking, through timing, how much of them matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
