//! The one failure type of the domain, and the field problems a form or body can have.
//!
//! A leaf: it imports nothing from the crate, so every other module may use it. Domain
//! functions (`accounts`, `auth`, `audit`, `bucketlists`) return it; each face wraps it (the
//! JSON body of API.md §3 in `api`, an HTML page in `web`) and adds its own transport
//! failures there. Which variant to use:
//! - input that breaks a rule: `Validation` (with the field), `Taken` (a unique value);
//! - the caller may not: `Auth` (no usable token), `Forbidden`, `InvalidCredentials`,
//!   `WrongCode` (a login's second step), `AccountDisabled`, `EmailUnverified`,
//!   `MfaEnrollmentRequired`;
//! - the target does not exist *for this caller*: `NotFound`;
//! - the database refuses a state: `Conflict`;
//! - anything we did not expect: `Internal`, whose cause is logged and never shown.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use diesel::result::{DatabaseErrorKind, Error as DieselError};

/// Problems per field, in the shape of the 422 `fields` object.
pub type FieldErrors = BTreeMap<String, Vec<String>>;

/// Why a request carries no usable token (all answered with 401).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    MissingToken,
    InvalidToken,
    TokenExpired,
    TokenRevoked,
}

/// A cause we did not expect, kept for the log.
pub type Cause = Arc<dyn std::error::Error + Send + Sync>;

#[derive(Debug, Clone)]
pub enum Error {
    Auth(AuthFailure),
    /// A failed login; `attempts_left` before this client is locked out, when counted
    /// (the pages warn when few are left; the API's answer is the same either way).
    InvalidCredentials {
        attempts_left: Option<i32>,
    },
    /// A wrong code at a login's second step; `attempts_left` as above (the fewer of the
    /// throttle's and the challenge's).
    WrongCode {
        attempts_left: i32,
    },
    Forbidden(String),
    AccountDisabled,
    /// The right password for an account whose address is not proved yet, with
    /// `email_verification = "required"`.
    EmailUnverified,
    /// An admin without a second factor where `require_mfa_for_admins` asks for one.
    MfaEnrollmentRequired,
    NotFound,
    Conflict(String),
    /// A unique value (username, email) that another account has.
    Taken(&'static str),
    Validation(FieldErrors),
    /// Throttled: try again after this many seconds.
    TooManyRequests(i64),
    Unavailable,
    Internal(Cause),
}

pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A 422 for a single field.
    pub(crate) fn field(field: &str, problem: impl Into<String>) -> Self {
        Self::Validation(FieldErrors::from([(
            field.to_owned(),
            vec![problem.into()],
        )]))
    }

    pub(crate) fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden(message.into())
    }

    /// An unexpected failure; `cause` is an error or a sentence, kept for the log.
    pub(crate) fn internal(cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Internal(Arc::from(cause.into()))
    }

    /// The human sentence shown to the caller (never the cause of an internal error).
    pub fn message(&self) -> String {
        match self {
            Self::Taken(field) => format!("That {field} is already taken."),
            Self::TooManyRequests(seconds) => {
                format!("Too many attempts; try again in {seconds} seconds.")
            }
            Self::Forbidden(m) | Self::Conflict(m) => m.clone(),
            Self::Auth(AuthFailure::MissingToken) => {
                "Sign in first: no access token was sent.".into()
            }
            Self::Auth(AuthFailure::InvalidToken) => "The access token is not valid.".into(),
            Self::Auth(AuthFailure::TokenExpired) => {
                "The token has expired; refresh or sign in.".into()
            }
            Self::Auth(AuthFailure::TokenRevoked) => {
                "This session has ended; sign in again.".into()
            }
            Self::InvalidCredentials { .. } => "Wrong username, email or password.".into(),
            Self::WrongCode { .. } => "That code is not right.".into(),
            Self::AccountDisabled => "This account has been deactivated.".into(),
            Self::EmailUnverified => "Confirm your email address first: open the link we \
                                      mailed you, or ask for a new one."
                .into(),
            Self::MfaEnrollmentRequired => "Admins must turn on two-factor authentication \
                                            first: enrol at /account/mfa."
                .into(),
            Self::NotFound => "Nothing here.".into(),
            Self::Validation(_) => "Some fields need attention.".into(),
            Self::Unavailable => "The service is unavailable; try again shortly.".into(),
            Self::Internal(_) => "Something went wrong on our side.".into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Internal(cause) => write!(f, "internal error: {cause}"),
            other => f.write_str(&other.message()),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Internal(cause) => Some(cause.as_ref()),
            _ => None,
        }
    }
}

/// Whether a failure was unexpected, so it could be the database going away: worth a ping
/// to tell an outage from a bug. A refusal the domain decided (not found, revoked,
/// throttled, invalid) never is, and costs no extra query.
pub trait Unexpected {
    fn unexpected(&self) -> bool;
}

impl Unexpected for Error {
    /// An internal error, or a closed connection (which `From<DieselError>` already names
    /// `Unavailable`): either may mean the connection is dead.
    fn unexpected(&self) -> bool {
        matches!(self, Error::Internal(_) | Error::Unavailable)
    }
}

impl Unexpected for DieselError {
    fn unexpected(&self) -> bool {
        !matches!(self, DieselError::NotFound)
    }
}

/// Unique indexes whose violation means "that value is taken", by the name the database
/// reports: PostgreSQL names the index; SQLite names an expression index and otherwise the
/// column as `table.column`.
const UNIQUE_FIELDS: [(&str, &str); 3] = [
    ("users_username_lower", "username"),
    ("users_email", "email"),
    ("users.email", "email"),
];

impl From<DieselError> for Error {
    fn from(error: DieselError) -> Self {
        match error {
            DieselError::NotFound => Self::NotFound,
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, ref info) => {
                let name = info
                    .constraint_name()
                    .or_else(|| sqlite_constraint(info.message()));
                match UNIQUE_FIELDS.iter().find(|(known, _)| Some(*known) == name) {
                    Some((_, field)) => Self::Taken(field),
                    None => Self::Conflict("That value is already taken.".into()),
                }
            }
            DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, _)
            | DieselError::BrokenTransactionManager => Self::Unavailable,
            other => Self::internal(other),
        }
    }
}

impl From<diesel::r2d2::PoolError> for Error {
    /// No connection came free in time: the database is down or overloaded.
    fn from(_: diesel::r2d2::PoolError) -> Self {
        Self::Unavailable
    }
}

/// The constraint SQLite names in "UNIQUE constraint failed: index 'NAME'" or
/// "UNIQUE constraint failed: table.column".
fn sqlite_constraint(message: &str) -> Option<&str> {
    let named = message.strip_prefix("UNIQUE constraint failed: ")?;
    let named = named.strip_prefix("index ").unwrap_or(named);
    Some(named.trim_matches('\''))
}

impl From<FieldErrors> for Error {
    fn from(fields: FieldErrors) -> Self {
        Self::Validation(fields)
    }
}

/// Collects field problems while a whole form is checked, so the user sees all of them at once.
#[derive(Debug, Default)]
pub(crate) struct Checker {
    errors: FieldErrors,
}

impl Checker {
    /// Records the problem if there is one and passes the cleaned value through.
    pub(crate) fn check<T>(&mut self, field: &str, result: Result<T, Vec<String>>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(problems) => {
                self.errors
                    .entry(field.to_owned())
                    .or_default()
                    .extend(problems);
                None
            }
        }
    }

    pub(crate) fn add(&mut self, field: &str, problem: impl Into<String>) {
        self.errors
            .entry(field.to_owned())
            .or_default()
            .push(problem.into());
    }

    /// `Ok` when nothing was recorded.
    pub(crate) fn finish(self) -> Result<(), FieldErrors> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(self.errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Info(&'static str, Option<&'static str>);

    impl diesel::result::DatabaseErrorInformation for Info {
        fn message(&self) -> &str {
            self.0
        }
        fn details(&self) -> Option<&str> {
            None
        }
        fn hint(&self) -> Option<&str> {
            None
        }
        fn table_name(&self) -> Option<&str> {
            None
        }
        fn column_name(&self) -> Option<&str> {
            None
        }
        fn constraint_name(&self) -> Option<&str> {
            self.1
        }
        fn statement_position(&self) -> Option<i32> {
            None
        }
    }

    fn unique(message: &'static str, constraint: Option<&'static str>) -> Error {
        let info = Box::new(Info(message, constraint));
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info).into()
    }

    #[test]
    fn unique_violations_name_the_field_by_constraint() {
        let pg = unique("duplicate key value", Some("users_username_lower"));
        assert!(matches!(pg, Error::Taken("username")));
        let sqlite = unique(
            "UNIQUE constraint failed: index 'users_username_lower'",
            None,
        );
        assert!(matches!(sqlite, Error::Taken("username")));
        let column = unique("UNIQUE constraint failed: users.email", None);
        assert!(matches!(column, Error::Taken("email")));
        // A message that merely mentions a field is not a constraint name.
        let other = unique("UNIQUE constraint failed: sessions.username_hint", None);
        assert!(matches!(other, Error::Conflict(_)));
    }

    #[test]
    fn internal_errors_keep_their_cause_and_show_none_of_it() {
        let error = Error::internal(std::io::Error::other("disk on fire"));
        assert_eq!(error.message(), "Something went wrong on our side.");
        let source = std::error::Error::source(&error).map(ToString::to_string);
        assert_eq!(source.as_deref(), Some("disk on fire"));
    }

    #[test]
    fn a_checker_reports_every_field_at_once() {
        let mut checker = Checker::default();
        assert_eq!(checker.check("a", Ok::<_, Vec<String>>(1)), Some(1));
        checker.check::<()>("b", Err(vec!["is wrong".into()]));
        checker.add("b", "is short");
        let errors = checker.finish().err().unwrap_or_default();
        assert_eq!(errors["b"], ["is wrong", "is short"]);
        assert!(!errors.contains_key("a"));
    }
}
