//! The one failure type of the application.
//!
//! Domain functions (`accounts`, `auth`, `audit`) return it; each face renders it: `api` as the
//! JSON error body of API.md §3, the pages as an HTML page. Which variant to use:
//! - input that breaks a rule: `Validation` (with the field) or `BadRequest` (unreadable body);
//! - the caller may not: `Auth` (no usable token), `Forbidden`, `CsrfFailed`;
//! - the target does not exist *for this caller*: `NotFound`;
//! - the database refuses a state: `Conflict`;
//! - anything we did not expect: `Internal`, whose cause is logged and never shown.

use std::fmt;

use rocket::http::Status;

use crate::accounts::validation::FieldErrors;
use crate::db;

/// Why a request carries no usable token (all answered with 401).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    MissingToken,
    InvalidToken,
    TokenExpired,
    TokenRevoked,
}

#[derive(Debug, Clone)]
pub enum Error {
    BadRequest(String),
    Auth(AuthFailure),
    InvalidCredentials,
    Forbidden(String),
    CsrfFailed,
    AccountDisabled,
    NotFound,
    Conflict(String),
    /// A unique value (username, email) that another account has.
    Taken(&'static str),
    PayloadTooLarge,
    UnsupportedMediaType,
    Validation(FieldErrors),
    /// Throttled: try again after this many seconds.
    TooManyRequests(i64),
    Unavailable,
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A 422 for a single field.
    pub fn field(field: &str, problem: impl Into<String>) -> Self {
        Self::Validation(FieldErrors::from([(
            field.to_owned(),
            vec![problem.into()],
        )]))
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden(message.into())
    }

    pub fn internal(cause: impl fmt::Display) -> Self {
        Self::Internal(cause.to_string())
    }

    pub fn status(&self) -> Status {
        match self {
            Self::BadRequest(_) => Status::BadRequest,
            Self::Auth(_) | Self::InvalidCredentials => Status::Unauthorized,
            Self::Forbidden(_) | Self::CsrfFailed | Self::AccountDisabled => Status::Forbidden,
            Self::NotFound => Status::NotFound,
            Self::Conflict(_) | Self::Taken(_) => Status::Conflict,
            Self::PayloadTooLarge => Status::PayloadTooLarge,
            Self::UnsupportedMediaType => Status::UnsupportedMediaType,
            Self::Validation(_) => Status::UnprocessableEntity,
            Self::TooManyRequests(_) => Status::TooManyRequests,
            Self::Unavailable => Status::ServiceUnavailable,
            Self::Internal(_) => Status::InternalServerError,
        }
    }

    /// The stable machine-readable code of API.md §3.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad_request",
            Self::Auth(AuthFailure::MissingToken) => "missing_token",
            Self::Auth(AuthFailure::InvalidToken) => "invalid_token",
            Self::Auth(AuthFailure::TokenExpired) => "token_expired",
            Self::Auth(AuthFailure::TokenRevoked) => "token_revoked",
            Self::InvalidCredentials => "invalid_credentials",
            Self::Forbidden(_) => "forbidden",
            Self::CsrfFailed => "csrf_failed",
            Self::AccountDisabled => "account_disabled",
            Self::NotFound => "not_found",
            Self::Conflict(_) | Self::Taken(_) => "conflict",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::Validation(_) => "validation_failed",
            Self::TooManyRequests(_) => "too_many_requests",
            Self::Unavailable => "service_unavailable",
            Self::Internal(_) => "internal",
        }
    }

    /// The human sentence shown to the caller.
    pub fn message(&self) -> String {
        if let Self::Taken(field) = self {
            return format!("That {field} is already taken.");
        }
        if let Self::TooManyRequests(seconds) = self {
            return format!("Too many attempts; try again in {seconds} seconds.");
        }
        let text: &str = match self {
            Self::BadRequest(m) | Self::Forbidden(m) | Self::Conflict(m) => m,
            Self::Auth(AuthFailure::MissingToken) => "Sign in first: no access token was sent.",
            Self::Auth(AuthFailure::InvalidToken) => "The access token is not valid.",
            Self::Auth(AuthFailure::TokenExpired) => "The token has expired; refresh or sign in.",
            Self::Auth(AuthFailure::TokenRevoked) => "This session has ended; sign in again.",
            Self::InvalidCredentials => "Wrong username, email or password.",
            Self::CsrfFailed => "The form's security token is missing or wrong; reload and retry.",
            Self::AccountDisabled => "This account has been deactivated.",
            Self::NotFound => "Nothing here.",
            Self::Taken(_) => "That value is already taken.",
            Self::PayloadTooLarge => "The request body is too large.",
            Self::UnsupportedMediaType => "Send the body as application/json.",
            Self::Validation(_) => "Some fields need attention.",
            Self::TooManyRequests(_) => "Too many attempts; try again later.",
            Self::Unavailable => "The service is unavailable; try again shortly.",
            Self::Internal(_) => "Something went wrong on our side.",
        };
        text.to_owned()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Internal(cause) => write!(f, "internal: {cause}"),
            other => write!(f, "{}: {}", other.code(), other.message()),
        }
    }
}

impl From<db::Unavailable> for Error {
    fn from(_: db::Unavailable) -> Self {
        Self::Unavailable
    }
}

impl From<diesel::result::Error> for Error {
    fn from(error: diesel::result::Error) -> Self {
        use diesel::result::Error as E;
        match error {
            E::NotFound => Self::NotFound,
            e if db::is_unique_violation(&e) => {
                Self::Conflict("That value is already taken.".into())
            }
            E::DatabaseError(diesel::result::DatabaseErrorKind::ClosedConnection, _)
            | E::BrokenTransactionManager => Self::Unavailable,
            e => Self::internal(e),
        }
    }
}

impl From<FieldErrors> for Error {
    fn from(fields: FieldErrors) -> Self {
        Self::Validation(fields)
    }
}
