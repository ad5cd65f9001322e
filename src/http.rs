//! Request plumbing shared by both faces (`api` and `web`): what a request says about its
//! caller, where guards leave their failures for the catchers, the cookie names, and the
//! failures that belong to HTTP rather than to the domain (a body too large, a form without
//! its CSRF token).

use std::sync::Mutex;

use rocket::data::{Data, Limits};
use rocket::http::{ContentType, Status};
use rocket::outcome::Outcome;
use rocket::request::{self, FromRequest, Request};
use rocket::State;

use crate::app::App;
use crate::audit::Source;
use crate::error::{AuthFailure, Error};
use crate::settings::Settings;

/// Base names of the cookies that carry the tokens (see [`cookie_name`]).
pub(crate) const ACCESS_COOKIE: &str = "access_token";
pub(crate) const REFRESH_COOKIE: &str = "refresh_token";

/// Makes guards that wrap the checked `auth::Actor` (`struct CurrentUser(pub Actor)`)
/// read as that actor, so handlers write `current.user` and pass `&current` to the domain.
macro_rules! reads_as_actor {
    ($($guard:ident),+) => {$(
        impl std::ops::Deref for $guard {
            type Target = crate::auth::Actor;

            fn deref(&self) -> &crate::auth::Actor {
                &self.0
            }
        }
    )+};
}
pub(crate) use reads_as_actor;

/// Longest user agent kept with a session.
const USER_AGENT_MAX: usize = 255;

/// Why a request failed: the domain said no, or the request itself was unusable.
#[derive(Debug, Clone)]
pub(crate) enum Failure {
    Domain(Error),
    /// Unreadable: malformed JSON or form, or parameters that do not parse.
    BadRequest(String),
    /// A cookie-authenticated change without the session's CSRF token.
    CsrfFailed,
    /// A form before sign-in whose browser kept no CSRF cookie while cookies are Secure:
    /// most likely the site is served over plain HTTP with `cookie_secure` on.
    CsrfCookieDropped,
    PayloadTooLarge,
    UnsupportedMediaType,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure::Domain(error)
    }
}

impl Failure {
    pub(crate) fn status(&self) -> Status {
        match self {
            Self::Domain(error) => status(error),
            Self::BadRequest(_) => Status::BadRequest,
            Self::CsrfFailed | Self::CsrfCookieDropped => Status::Forbidden,
            Self::PayloadTooLarge => Status::PayloadTooLarge,
            Self::UnsupportedMediaType => Status::UnsupportedMediaType,
        }
    }

    /// The stable machine-readable code of API.md §3.
    pub(crate) fn code(&self) -> &'static str {
        let error = match self {
            Self::BadRequest(_) => return "bad_request",
            Self::CsrfFailed | Self::CsrfCookieDropped => return "csrf_failed",
            Self::PayloadTooLarge => return "payload_too_large",
            Self::UnsupportedMediaType => return "unsupported_media_type",
            Self::Domain(error) => error,
        };
        match error {
            Error::Auth(AuthFailure::MissingToken) => "missing_token",
            Error::Auth(AuthFailure::InvalidToken) => "invalid_token",
            Error::Auth(AuthFailure::TokenExpired) => "token_expired",
            Error::Auth(AuthFailure::TokenRevoked) => "token_revoked",
            Error::InvalidCredentials { .. } | Error::WrongCode { .. } => "invalid_credentials",
            Error::Forbidden(_) => "forbidden",
            Error::AccountDisabled => "account_disabled",
            Error::EmailUnverified => "email_unverified",
            Error::MfaEnrollmentRequired => "mfa_enrollment_required",
            Error::NotFound => "not_found",
            Error::Conflict(_) | Error::Taken(_) => "conflict",
            Error::Validation(_) => "validation_failed",
            Error::TooManyRequests(_) => "too_many_requests",
            Error::Unavailable => "service_unavailable",
            Error::Internal(_) => "internal",
        }
    }

    /// The human sentence shown to the caller.
    pub(crate) fn message(&self) -> String {
        match self {
            Self::Domain(error) => error.message(),
            Self::BadRequest(message) => message.clone(),
            Self::CsrfCookieDropped => {
                "The form's security cookie did not come back: this browser \
                 drops Secure cookies on plain HTTP. Serve the site over HTTPS, or for plain-HTTP \
                 testing set cookie_secure = false (ROCKET_COOKIE_SECURE=false)."
                    .into()
            }
            Self::CsrfFailed => {
                "The form's security token is missing or wrong; reload and retry.".into()
            }
            Self::PayloadTooLarge => "The request body is too large.".into(),
            Self::UnsupportedMediaType => "Send the body as application/json.".into(),
        }
    }

    /// The failure that matches a status Rocket answered with on its own (no route, a
    /// parameter that did not parse), for the catchers.
    pub(crate) fn of_status(status: Status) -> Self {
        match status.code {
            400 => Self::BadRequest("The request could not be read.".into()),
            401 => Error::Auth(AuthFailure::MissingToken).into(),
            403 => Error::forbidden("You may not do this.").into(),
            404 => Error::NotFound.into(),
            413 => Self::PayloadTooLarge,
            415 => Self::UnsupportedMediaType,
            422 => Self::BadRequest("The request's parameters could not be read.".into()),
            503 => Error::Unavailable.into(),
            500.. => Error::internal(format!("unhandled failure with status {status}")).into(),
            _ => Self::BadRequest(status.reason_lossy().to_owned()),
        }
    }

    /// Seconds to put in `Retry-After`, for a throttled request.
    pub(crate) fn retry_after(&self) -> Option<i64> {
        match self {
            Self::Domain(Error::TooManyRequests(seconds)) => Some(*seconds),
            _ => None,
        }
    }
}

/// The status a domain error is answered with, by either face.
pub(crate) fn status(error: &Error) -> Status {
    match error {
        Error::Auth(_) | Error::InvalidCredentials { .. } | Error::WrongCode { .. } => {
            Status::Unauthorized
        }
        Error::Forbidden(_)
        | Error::AccountDisabled
        | Error::EmailUnverified
        | Error::MfaEnrollmentRequired => Status::Forbidden,
        Error::NotFound => Status::NotFound,
        Error::Conflict(_) | Error::Taken(_) => Status::Conflict,
        Error::Validation(_) => Status::UnprocessableEntity,
        Error::TooManyRequests(_) => Status::TooManyRequests,
        Error::Unavailable => Status::ServiceUnavailable,
        Error::Internal(_) => Status::InternalServerError,
    }
}

/// The failure of the guard that stopped a request, for the catchers. The last one recorded
/// wins: an optional guard may fail early without hiding the failure that stopped the request.
#[derive(Default)]
struct GuardFailure(Mutex<Option<Failure>>);

/// The failure a guard recorded for this request, if any.
pub(crate) fn guard_failure(req: &Request<'_>) -> Option<Failure> {
    let failure = req.local_cache(GuardFailure::default);
    failure.0.lock().ok().and_then(|failure| failure.clone())
}

/// Keeps a guard's failure for the catcher.
pub(crate) fn remember(req: &Request<'_>, failure: &Failure) {
    let slot = req.local_cache(GuardFailure::default);
    if let Ok(mut slot) = slot.0.lock() {
        *slot = Some(failure.clone());
    }
}

/// Fails a guard, remembering why for the catcher.
pub(crate) fn fail<T>(
    req: &Request<'_>,
    failure: impl Into<Failure>,
) -> request::Outcome<T, Failure> {
    let failure = failure.into();
    remember(req, &failure);
    Outcome::Error((failure.status(), failure))
}

/// Where the request comes from, as recorded with sessions and audit events (never fails).
pub(crate) fn source(req: &Request<'_>) -> Source {
    let user_agent = req
        .headers()
        .get_one("User-Agent")
        .map(|ua| ua.chars().take(USER_AGENT_MAX).collect());
    Source::Http {
        ip: req.client_ip().map(|ip| ip.to_string()),
        user_agent,
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Source {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> request::Outcome<Self, Self::Error> {
        Outcome::Success(source(req))
    }
}

/// A request body of the expected kind (`json` or `form`, also the name of its size limit),
/// read whole: 415 for another content type, 413 over the limit, 400 when unreadable.
pub async fn read_body(
    req: &Request<'_>,
    data: Data<'_>,
    kind: &'static str,
) -> Result<String, Failure> {
    let (expected, default_limit) = match kind {
        "json" => (ContentType::JSON, Limits::JSON),
        _ => (ContentType::Form, Limits::FORM),
    };
    if !req
        .content_type()
        .is_some_and(|ct| ct.media_type() == expected.media_type())
    {
        return Err(Failure::UnsupportedMediaType);
    }
    let limit = req.limits().get(kind).unwrap_or(default_limit);
    let seconds = app_state(req).await?.settings.body_timeout;
    // A body that trickles in holds a connection and a worker: it gets this long in all.
    let reading = data.open(limit).into_string();
    let body = rocket::tokio::time::timeout(std::time::Duration::from_secs(seconds), reading)
        .await
        .map_err(|_| Failure::BadRequest("The request body came too slowly.".into()))?
        .map_err(|_| Failure::BadRequest("The request body could not be read.".into()))?;
    if !body.is_complete() {
        return Err(Failure::PayloadTooLarge);
    }
    Ok(body.into_inner())
}

/// A cookie's name: `__Host-` prefixed when cookies are Secure, which stops a sibling
/// subdomain from planting or overwriting it.
pub(crate) fn cookie_name(base: &str, cookie_secure: bool) -> String {
    if cookie_secure {
        format!("__Host-{base}")
    } else {
        base.to_owned()
    }
}

/// The token of an `Authorization` header value when its scheme is Bearer (in any case).
pub(crate) fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The name of the access cookie: as [`cookie_name`], but `__Secure-` prefixed when
/// `cookie_domain` shares it with sibling hosts (the `__Host-` prefix forbids a domain). The
/// refresh cookie is never shared: it keeps its `__Host-` name on this host alone.
pub(crate) fn access_cookie_name(settings: &Settings) -> String {
    match (&settings.cookie_domain, settings.cookie_secure) {
        (Some(_), true) => format!("__Secure-{ACCESS_COOKIE}"),
        _ => cookie_name(ACCESS_COOKIE, settings.cookie_secure),
    }
}

/// The application state, from any request.
pub(crate) async fn app_state<'r>(req: &'r Request<'_>) -> Result<&'r App, Failure> {
    match req.guard::<&State<App>>().await {
        Outcome::Success(app) => Ok(app.inner()),
        _ => Err(Error::internal("application state missing").into()),
    }
}
