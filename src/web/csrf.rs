//! CSRF protection for every form: a `csrf_token` field that must match the signed-in
//! session's token, or, before sign-in (login and sign-up forms), a random token kept in a
//! private (encrypted and signed) cookie of this browser.
//!
//! [`CsrfForm`] checks the token before it parses a single field, whatever the method: a
//! form POST that Rocket reinterprets as PUT or DELETE through `_method` is checked the same.

use rand::distr::{Alphanumeric, SampleString};
use rocket::data::{self, Data, FromData};
use rocket::form::Form;
use rocket::http::{Cookie, CookieJar, RawStr, SameSite};
use rocket::outcome::Outcome;
use rocket::request::{self, FromRequest, Request};

use crate::auth::tokens::constant_time_eq;
use crate::http::{self, app_state, cookie_name, Failure};
use crate::web::session::signed_in;

const ANONYMOUS_COOKIE: &str = "csrf";

/// A form whose CSRF token was checked.
pub(crate) struct CsrfForm<T>(pub T);

#[rocket::async_trait]
impl<'r, T> FromData<'r> for CsrfForm<T>
where
    T: for<'a> rocket::form::FromForm<'a> + 'static,
{
    type Error = Failure;

    async fn from_data(req: &'r Request<'_>, data: Data<'r>) -> data::Outcome<'r, Self> {
        match parse(req, data).await {
            Ok(form) => Outcome::Success(CsrfForm(form)),
            Err(failure) => {
                http::remember(req, &failure);
                Outcome::Error((failure.status(), failure))
            }
        }
    }
}

async fn parse<T>(req: &Request<'_>, data: Data<'_>) -> Result<T, Failure>
where
    T: for<'a> rocket::form::FromForm<'a> + 'static,
{
    let body = http::read_body(req, data, "form").await?;
    let body = RawStr::new(body.as_str());
    let sent = Form::<Token>::parse_encoded(body)
        .map(|t| t.csrf_token)
        .unwrap_or_default();
    let expected = expected_token(req).await?;
    if expected.is_empty() && !sent.is_empty() && app_state(req).await?.settings.cookie_secure {
        return Err(Failure::CsrfCookieDropped);
    }
    if expected.is_empty() || !constant_time_eq(sent.as_bytes(), expected.as_bytes()) {
        return Err(Failure::CsrfFailed);
    }
    // Page forms take plain strings with defaults, so this fails only on a malformed body.
    Form::<T>::parse_encoded(body)
        .map_err(|_| Failure::BadRequest("The form could not be read.".into()))
}

/// Just the token: read before anything else in every form, and the whole of a form that is
/// only a button (logout, end a session).
#[derive(rocket::FromForm)]
pub(crate) struct Token {
    csrf_token: String,
}

/// The token this browser must send: its session's once signed in, else its anonymous one.
async fn expected_token(req: &Request<'_>) -> Result<String, Failure> {
    if let Some(current) = signed_in(req) {
        // Pages are signed in by session cookies only; no token reaches here.
        let session = current.session();
        return Ok(session.map(|s| s.csrf_token.clone()).unwrap_or_default());
    }
    let app = app_state(req).await?;
    let name = cookie_name(ANONYMOUS_COOKIE, app.settings.cookie_secure);
    Ok(req
        .cookies()
        .get_private(&name)
        .map(|c| c.value().to_owned())
        .unwrap_or_default())
}

/// This browser's anonymous token, for the forms shown before sign-in (sign-up, login).
pub(crate) struct AnonymousToken(pub(crate) String);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for AnonymousToken {
    type Error = Failure;

    async fn from_request(req: &'r Request<'_>) -> request::Outcome<Self, Failure> {
        match app_state(req).await {
            Ok(app) => {
                let token = anonymous_token(req.cookies(), app.settings.cookie_secure);
                Outcome::Success(AnonymousToken(token))
            }
            Err(failure) => http::fail(req, failure),
        }
    }
}

/// The anonymous token for a form shown before sign-in, created on first use.
fn anonymous_token(jar: &CookieJar<'_>, secure: bool) -> String {
    let name = cookie_name(ANONYMOUS_COOKIE, secure);
    if let Some(cookie) = jar.get_private(&name) {
        return cookie.value().to_owned();
    }
    let token = Alphanumeric.sample_string(&mut rand::rng(), 32);
    let cookie = Cookie::build((name, token.clone()))
        .http_only(true)
        .same_site(SameSite::Lax)
        .path("/")
        .secure(secure);
    jar.add_private(cookie);
    token
}
