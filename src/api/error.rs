//! The JSON face of a failure: the body of API.md §3, and the catchers that give Rocket's own
//! failures (unknown route, failed guard, panic) the same shape under `/api`.

use std::collections::BTreeMap;

use rocket::http::Status;
use rocket::request::Request;
use rocket::response::{self, Responder};
use rocket::serde::json::Json;
use rocket::{catch, catchers, Catcher};
use serde::Serialize;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::{ContentBuilder, Ref, RefOr};
use utoipa::{IntoResponses, ToSchema};

use crate::error::{Error, FieldErrors};
use crate::http::{self, Failure};

/// A failure answered as JSON.
#[derive(Debug)]
pub(crate) struct ApiError(pub Failure);

/// The body of every `/api` answer that is not 2xx (API.md §3).
#[derive(Serialize, ToSchema)]
pub(crate) struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct ErrorDetail {
    /// The stable code: `bad_request`, `missing_token`, `invalid_token`, `token_expired`,
    /// `token_revoked`, `invalid_credentials`, `forbidden`, `csrf_failed`,
    /// `account_disabled`, `email_unverified`, `mfa_enrollment_required`, `not_found`,
    /// `conflict`, `payload_too_large`, `unsupported_media_type`, `validation_failed`,
    /// `too_many_requests`, `internal`, `service_unavailable`.
    code: &'static str,
    /// A sentence for people.
    message: String,
    /// With `validation_failed` only: the problems of each field.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<std::collections::HashMap<String, Vec<String>>>)]
    fields: Option<FieldErrors>,
    /// With `internal` only: the id the server's log names the failure by.
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<String>,
}

/// The failures every operation may answer, in the one shape of API.md §3 ([`ErrorBody`]).
pub(crate) struct Failures;

const REFUSED: &str = "Refused; the body's `code` says why (API.md §3): 400 unreadable JSON, \
     401 no or a bad token, 403 not allowed, 404 no such resource (or someone else's), \
     409 a conflict, 413 too large, 415 not JSON, 422 invalid fields (`fields`), \
     429 throttled (with `Retry-After`).";
const FAILED: &str = "500 a bug (the body's `request_id` names it in the server's log), \
     503 the database cannot be reached.";

impl IntoResponses for Failures {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let answer = |description: &str| {
            let body = ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build();
            let response = ResponseBuilder::new()
                .description(description)
                .content("application/json", body);
            RefOr::T(response.build())
        };
        BTreeMap::from([
            ("4XX".to_owned(), answer(REFUSED)),
            ("5XX".to_owned(), answer(FAILED)),
        ])
    }
}

/// What an API handler returns.
pub(crate) type Result<T, E = ApiError> = std::result::Result<T, E>;

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        ApiError(error.into())
    }
}

impl From<Failure> for ApiError {
    fn from(failure: Failure) -> Self {
        ApiError(failure)
    }
}

impl From<crate::error::FieldErrors> for ApiError {
    fn from(fields: crate::error::FieldErrors) -> Self {
        Error::Validation(fields).into()
    }
}

impl<'r> Responder<'r, 'static> for ApiError {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let failure = self.0;
        let mut detail = ErrorDetail {
            code: failure.code(),
            message: failure.message(),
            fields: None,
            request_id: None,
        };
        match &failure {
            Failure::Domain(Error::Validation(fields)) => detail.fields = Some(fields.clone()),
            Failure::Domain(Error::Internal(cause)) => {
                let request_id = crate::observe::request_id(req).to_owned();
                // The path alone: a query string is the client's to fill, secrets included.
                log::error!(
                    "request {request_id} ({} {}): {cause}",
                    req.method(),
                    req.uri().path()
                );
                detail.request_id = Some(request_id);
            }
            _ => {}
        }
        let body = ErrorBody { error: detail };
        let mut response = (failure.status(), Json(body)).respond_to(req)?;
        if let Some(seconds) = failure.retry_after() {
            response.set_raw_header("Retry-After", seconds.to_string());
        }
        Ok(response)
    }
}

/// Every failure under `/api` ends here: the guard's own failure when one failed, else the
/// failure that matches Rocket's status.
#[catch(default)]
fn api_failure(status: Status, req: &Request<'_>) -> (Status, ApiError) {
    if let Some(failure) = http::guard_failure(req) {
        return (failure.status(), ApiError(failure));
    }
    (status, ApiError(Failure::of_status(status)))
}

pub(crate) fn catchers() -> Vec<Catcher> {
    catchers![api_failure]
}
