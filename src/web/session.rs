//! Browser sessions: the token pair in HttpOnly cookies, and the `SignedIn` page guard that
//! checks them on every request and renews them silently through the refresh cookie.

use rocket::http::{Cookie, CookieJar, SameSite};
use rocket::outcome::Outcome;
use rocket::request::{self, FromRequest, Request};
use rocket::time::Duration;

use crate::accounts::model::User;
use crate::app::App;
use crate::auth::sessions::Session;
use crate::auth::tokens::TokenPair;
use crate::auth::{check_access, Actor, Device, Via};
use crate::error::{AuthFailure, Error};
use crate::http::{self, access_cookie_name, app_state, cookie_name, Failure, REFRESH_COOKIE};
use crate::settings::Settings;

/// A signed-in browser, checked just now (cookies only: pages never read token headers).
#[derive(Debug, Clone)]
pub(crate) struct SignedIn(pub Actor);

http::reads_as_actor!(SignedIn, AdminPage);

/// A signed-in admin on a page; built on the page guard, so a demotion bites at once.
pub(crate) struct AdminPage(pub Actor);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for AdminPage {
    type Error = Failure;

    async fn from_request(req: &'r Request<'_>) -> request::Outcome<Self, Failure> {
        match SignedIn::from_request(req).await {
            Outcome::Success(SignedIn(current)) if current.user.is_admin() => {
                let app = match app_state(req).await {
                    Ok(app) => app,
                    Err(failure) => return http::fail(req, failure),
                };
                match current.ensure_admin_cleared(&app.settings) {
                    Ok(()) => Outcome::Success(AdminPage(current)),
                    Err(refused) => http::fail(req, refused),
                }
            }
            Outcome::Success(_) => http::fail(req, Error::forbidden("This page is for admins.")),
            Outcome::Error(e) => Outcome::Error(e),
            Outcome::Forward(f) => Outcome::Forward(f),
        }
    }
}

/// The outcome of the page guard, kept for the rest of the request (CSRF checks, layout).
struct PageAuth(Result<Actor, Failure>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for SignedIn {
    type Error = Failure;

    async fn from_request(req: &'r Request<'_>) -> request::Outcome<Self, Failure> {
        let PageAuth(result) = req
            .local_cache_async(async { PageAuth(from_cookies(req).await) })
            .await;
        match result {
            Ok(current) => Outcome::Success(SignedIn(current.clone())),
            Err(failure) => http::fail(req, failure.clone()),
        }
    }
}

/// The signed-in user of this request if the page guard ran and succeeded.
pub(crate) fn signed_in<'r>(req: &'r Request<'_>) -> Option<&'r Actor> {
    let missing = || PageAuth(Err(Error::Auth(AuthFailure::MissingToken).into()));
    match req.local_cache(missing) {
        PageAuth(Ok(current)) => Some(current),
        PageAuth(Err(_)) => None,
    }
}

async fn from_cookies(req: &Request<'_>) -> Result<Actor, Failure> {
    let app = app_state(req).await?;
    let jar = req.cookies();
    let access = jar
        .get(&access_cookie_name(&app.settings))
        .map(|c| c.value().to_owned());
    let checked = match access {
        Some(token) => check_access(app, &token).await,
        None => Err(Error::Auth(AuthFailure::TokenExpired)),
    };
    let (session, user) = match checked {
        // Expired, or refused because the account's role changed since it was signed:
        // renewing re-checks the session row and signs the current role.
        Err(Error::Auth(AuthFailure::TokenExpired | AuthFailure::TokenRevoked)) => {
            renew(req, app).await?
        }
        Err(Error::Auth(failure)) => {
            clear_cookies(jar, &app.settings);
            return Err(Error::Auth(failure).into());
        }
        other => other?,
    };
    Ok(Actor {
        user,
        via: Via::Session(Box::new(session)),
        source: http::source(req),
    })
}

/// The access cookie is gone or stale: trade the refresh cookie for a new pair. A revoked
/// session cannot come back this way, because refreshing checks the session row too.
async fn renew(req: &Request<'_>, app: &App) -> Result<(Session, User), Error> {
    let jar = req.cookies();
    let refresh_cookie = cookie_name(REFRESH_COOKIE, app.settings.cookie_secure);
    let Some(refresh) = jar.get(&refresh_cookie).map(|c| c.value().to_owned()) else {
        return Err(Error::Auth(AuthFailure::MissingToken));
    };
    let renewed = match crate::auth::refresh(app, &refresh, &http::source(req)).await {
        Ok(renewed) => renewed,
        Err(Error::Auth(failure)) => {
            clear_cookies(jar, &app.settings);
            return Err(Error::Auth(failure));
        }
        Err(other) => return Err(other),
    };
    set_cookies(jar, &renewed.tokens, &app.settings);
    check_access(app, &renewed.tokens.access_token).await
}

/// Puts a fresh pair in the browser: HttpOnly, SameSite=Lax, Path=/, Secure per settings
/// (Rocket's `add` sets neither HttpOnly nor Secure on its own); the access cookie for
/// `cookie_domain` when set.
pub(crate) fn set_cookies(jar: &CookieJar<'_>, tokens: &TokenPair, settings: &Settings) {
    let pair = [
        (
            access_cookie(tokens.access_token.clone(), settings),
            settings.access_token_ttl,
        ),
        (
            refresh_cookie(tokens.refresh_token.clone(), settings),
            settings.refresh_token_ttl,
        ),
    ];
    for (mut cookie, seconds) in pair {
        cookie.set_http_only(true);
        cookie.set_same_site(SameSite::Lax);
        cookie.set_max_age(Duration::seconds(seconds));
        jar.add(cookie);
    }
}

pub(crate) fn clear_cookies(jar: &CookieJar<'_>, settings: &Settings) {
    jar.remove(access_cookie(String::new(), settings));
    jar.remove(refresh_cookie(String::new(), settings));
}

/// The access cookie's name, path, Secure flag and domain: what setting and removing it
/// share. With `cookie_domain`, sibling apps behind forward auth receive it.
fn access_cookie(value: String, settings: &Settings) -> Cookie<'static> {
    let mut cookie = Cookie::build((access_cookie_name(settings), value))
        .path("/")
        .secure(settings.cookie_secure)
        .build();
    if let Some(domain) = &settings.cookie_domain {
        cookie.set_domain(domain.clone());
    }
    cookie
}

/// The refresh cookie: this host's alone, whatever `cookie_domain` says, so that no other
/// app ever holds the 14-day credential.
fn refresh_cookie(value: String, settings: &Settings) -> Cookie<'static> {
    let name = cookie_name(REFRESH_COOKIE, settings.cookie_secure);
    Cookie::build((name, value))
        .path("/")
        .secure(settings.cookie_secure)
        .build()
}

/// Signs this browser in: the session's cookies, and this browser remembered as a known
/// device of the account (sign-up, login, a login's second step).
pub(crate) fn sign_in(jar: &CookieJar<'_>, settings: &Settings, signed_in: &crate::auth::SignedIn) {
    set_cookies(jar, &signed_in.tokens, settings);
    remember_device(
        jar,
        settings,
        device(jar, settings),
        &signed_in.user.public_id,
    );
}

/// Base name of the private cookie that makes this browser a known device for the accounts
/// it has signed in to (see the README's lock-out model).
const DEVICE_COOKIE: &str = "device";
/// Most accounts one browser is remembered for.
const DEVICE_ACCOUNTS: usize = 20;
/// How long a browser stays known without signing in again (400 days, the most browsers
/// keep a cookie).
const DEVICE_DAYS: i64 = 400;

/// What this browser proves about itself: read from a private cookie, which is encrypted
/// and authenticated with `secret_key`, so it cannot be forged or edited.
pub(crate) fn device(jar: &CookieJar<'_>, settings: &Settings) -> Device {
    let name = cookie_name(DEVICE_COOKIE, settings.cookie_secure);
    let Some(cookie) = jar.get_private(&name) else {
        return Device::default();
    };
    let (id, accounts) = cookie
        .value()
        .split_once('|')
        .unwrap_or((cookie.value(), ""));
    Device {
        id: Some(id.to_owned()).filter(|id| !id.is_empty()),
        accounts: accounts
            .split(',')
            .filter(|a| !a.is_empty())
            .map(str::to_owned)
            .collect(),
    }
}

/// Remembers that this browser signed in to `account`.
fn remember_device(jar: &CookieJar<'_>, settings: &Settings, mut device: Device, account: &str) {
    let id = device
        .id
        .take()
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    device.accounts.retain(|known| known != account);
    device.accounts.insert(0, account.to_owned());
    device.accounts.truncate(DEVICE_ACCOUNTS);
    let value = format!("{id}|{}", device.accounts.join(","));
    let cookie = Cookie::build((cookie_name(DEVICE_COOKIE, settings.cookie_secure), value))
        .http_only(true)
        .same_site(SameSite::Lax)
        .path("/")
        .secure(settings.cookie_secure)
        .max_age(Duration::days(DEVICE_DAYS));
    jar.add_private(cookie);
}

/// Base name of the private cookie that holds a login waiting for its second step: the
/// `mfa_token` and the page to go to after.
const SECOND_STEP_COOKIE: &str = "second_step";
/// As long as the challenge itself lives.
const SECOND_STEP_MINUTES: i64 = 5;

/// Keeps a login's second step in the browser (encrypted: the token never shows in a page
/// or a URL).
pub(crate) fn hold_second_step(jar: &CookieJar<'_>, settings: &Settings, token: &str, next: &str) {
    let cookie = Cookie::build((
        cookie_name(SECOND_STEP_COOKIE, settings.cookie_secure),
        format!("{token}|{next}"),
    ))
    .http_only(true)
    .same_site(SameSite::Lax)
    .path("/")
    .secure(settings.cookie_secure)
    .max_age(Duration::minutes(SECOND_STEP_MINUTES));
    jar.add_private(cookie);
}

/// The login waiting for its second step in this browser: its token and where to go after.
pub(crate) fn second_step(jar: &CookieJar<'_>, settings: &Settings) -> Option<(String, String)> {
    let cookie = jar.get_private(&cookie_name(SECOND_STEP_COOKIE, settings.cookie_secure))?;
    let (token, next) = cookie.value().split_once('|')?;
    Some((token.to_owned(), next.to_owned()))
}

pub(crate) fn drop_second_step(jar: &CookieJar<'_>, settings: &Settings) {
    let name = cookie_name(SECOND_STEP_COOKIE, settings.cookie_secure);
    jar.remove_private(Cookie::build(name).path("/").secure(settings.cookie_secure));
}
