//! The JSON face of a failure: the body of API.md §3, and the catchers that give Rocket's own
//! failures (unknown route, failed guard, panic) the same shape under `/api`.

use rocket::http::Status;
use rocket::request::Request;
use rocket::response::{self, Responder};
use rocket::serde::json::Json;
use rocket::{catch, catchers, Catcher};
use serde_json::json;
use uuid::Uuid;

use crate::error::Error;
use crate::http::{self, Failure};

/// A failure answered as JSON.
#[derive(Debug)]
pub(crate) struct ApiError(pub Failure);

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
        let mut body = json!({"error": {"code": failure.code(), "message": failure.message()}});
        match &failure {
            Failure::Domain(Error::Validation(fields)) => body["error"]["fields"] = json!(fields),
            Failure::Domain(Error::Internal(cause)) => {
                let request_id = Uuid::new_v4().to_string();
                log::error!(
                    "request {request_id} ({} {}): {cause}",
                    req.method(),
                    req.uri()
                );
                body["error"]["request_id"] = json!(request_id);
            }
            _ => {}
        }
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
