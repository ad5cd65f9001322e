//! The API's request guards: who is signed in (`CurrentUser`) and whether they are an admin
//! (`Admin`, built on `CurrentUser`). Both deref to the domain's [`Actor`].
//!
//! A failing guard leaves its failure for the catcher that Rocket calls next
//! ([`http::fail`]), which answers with the precise code.

use rocket::http::Method;
use rocket::outcome::Outcome;
use rocket::request::{self, FromRequest, Request};

use crate::app::App;
use crate::auth::tokens::constant_time_eq;
use crate::auth::{check_access, personal_tokens, Actor, Via};
use crate::error::{AuthFailure, Error};
use crate::http::{self, Failure};

/// A signed-in caller whose token, session and account were all checked just now.
#[derive(Debug, Clone)]
pub(crate) struct CurrentUser(pub Actor);

/// A signed-in admin.
#[derive(Debug, Clone)]
pub(crate) struct Admin(pub Actor);

http::reads_as_actor!(CurrentUser, Admin);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for CurrentUser {
    type Error = Failure;

    async fn from_request(req: &'r Request<'_>) -> request::Outcome<Self, Failure> {
        let result = req
            .local_cache_async(async { authenticate(req).await })
            .await;
        match result {
            Ok(actor) => Outcome::Success(CurrentUser(actor.clone())),
            Err(failure) => http::fail(req, failure.clone()),
        }
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Admin {
    type Error = Failure;

    async fn from_request(req: &'r Request<'_>) -> request::Outcome<Self, Failure> {
        match CurrentUser::from_request(req).await {
            Outcome::Success(current) if current.user.is_admin() => {
                let app = match http::app_state(req).await {
                    Ok(app) => app,
                    Err(failure) => return http::fail(req, failure),
                };
                match current.ensure_admin_cleared(&app.settings) {
                    Ok(()) => Outcome::Success(Admin(current.0)),
                    Err(refused) => http::fail(req, refused),
                }
            }
            Outcome::Success(_) => {
                http::fail(req, Error::forbidden("This needs an admin account."))
            }
            Outcome::Error(e) => Outcome::Error(e),
            Outcome::Forward(f) => Outcome::Forward(f),
        }
    }
}

/// Where the access token came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenSource {
    Header,
    Cookie,
}

/// The access token of a request, looked for in the order of API.md §1. The first location
/// present is the only one used: a bad header token is never rescued by a cookie.
fn find_token(req: &Request<'_>, cookie_name: &str) -> Result<(String, TokenSource), Error> {
    let headers = req.headers();
    if let Some(token) = headers.get_one("x-access-token") {
        return Ok((token.trim().to_owned(), TokenSource::Header));
    }
    if let Some(value) = headers.get_one("Authorization") {
        let token = http::bearer_token(value).ok_or(Error::Auth(AuthFailure::InvalidToken))?;
        return Ok((token.to_owned(), TokenSource::Header));
    }
    match req.cookies().get(cookie_name) {
        Some(cookie) => Ok((cookie.value().to_owned(), TokenSource::Cookie)),
        None => Err(Error::Auth(AuthFailure::MissingToken)),
    }
}

/// The API's caller: a token from a header or the cookie; cookie-borne changes need the
/// `X-CSRF-Token` header.
async fn authenticate(req: &Request<'_>) -> Result<Actor, Failure> {
    let (actor, source) = identify(req, is_read(req.method())).await?;
    let session = actor.session().filter(|_| source == TokenSource::Cookie);
    if let Some(session) = session.filter(|_| !is_safe(req.method())) {
        let sent = req.headers().get_one("X-CSRF-Token").unwrap_or_default();
        if !constant_time_eq(sent.as_bytes(), session.csrf_token.as_bytes()) {
            return Err(Failure::CsrfFailed);
        }
    }
    Ok(actor)
}

/// Who sent the request, by the token it carries (API.md §1 order; a personal token from a
/// header, whose `read` scope passes only when `reads_only`), checked against the database
/// just now, and where the token came from. Nothing is renewed and no CSRF token is asked:
/// what a request may change is for the caller to decide (the API's guards; forward auth
/// changes nothing, and says whether the request it is asked about only reads).
pub(crate) async fn identify(
    req: &Request<'_>,
    reads_only: bool,
) -> Result<(Actor, TokenSource), Failure> {
    let app = http::app_state(req).await?;
    let cookie = http::access_cookie_name(&app.settings);
    let (token, source) = find_token(req, &cookie)?;
    if token.starts_with(personal_tokens::PREFIX) {
        return Ok((
            personal(req, app, &token, source, reads_only).await?,
            source,
        ));
    }
    let (session, user) = check_access(app, &token).await?;
    let actor = Actor {
        user,
        via: Via::Session(Box::new(session)),
        source: http::source(req),
    };
    Ok((actor, source))
}

/// A caller with a personal access token: sent in a header only (never a cookie), and with
/// the `read` scope for GET and HEAD alone.
async fn personal(
    req: &Request<'_>,
    app: &App,
    token: &str,
    source: TokenSource,
    reads_only: bool,
) -> Result<Actor, Failure> {
    if source == TokenSource::Cookie {
        return Err(Error::Auth(AuthFailure::InvalidToken).into());
    }
    let (grant, user) = personal_tokens::check_access(app, token).await?;
    if !grant.allows(reads_only) {
        let why = "This token has the read scope: it may only read (GET and HEAD).";
        return Err(Error::forbidden(why).into());
    }
    Ok(Actor {
        user,
        via: Via::PersonalToken,
        source: http::source(req),
    })
}

/// Whether a request with this method only reads (what a `read` personal token may send).
pub(crate) fn is_read(method: Method) -> bool {
    matches!(method, Method::Get | Method::Head)
}

fn is_safe(method: Method) -> bool {
    matches!(method, Method::Get | Method::Head | Method::Options)
}
