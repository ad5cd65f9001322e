//! The JSON face of [`Error`]: the body of API.md §3, and the catchers that give Rocket's own
//! failures (unknown route, failed guard, panic) the same shape under `/api`.

use rocket::http::Status;
use rocket::request::Request;
use rocket::response::{self, Responder};
use rocket::serde::json::Json;
use rocket::{catch, catchers, Catcher};
use serde_json::json;
use uuid::Uuid;

use crate::auth::guard::GuardFailure;
use crate::error::{AuthFailure, Error};

impl<'r> Responder<'r, 'static> for Error {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let mut body = json!({"error": {"code": self.code(), "message": self.message()}});
        match &self {
            Error::Validation(fields) => body["error"]["fields"] = json!(fields),
            Error::Internal(cause) => {
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
        let mut response = (self.status(), Json(body)).respond_to(req)?;
        if let Error::TooManyRequests(seconds) = self {
            response.set_raw_header("Retry-After", seconds.to_string());
        }
        Ok(response)
    }
}

/// Every failure under `/api` ends here: the guard's own error when one failed, else the
/// error that matches Rocket's status.
#[catch(default)]
fn api_failure(status: Status, req: &Request<'_>) -> (Status, Error) {
    if let Some(error) = GuardFailure::of(req) {
        return (error.status(), error);
    }
    let error = match status.code {
        400 => Error::BadRequest("The request could not be read.".into()),
        401 => Error::Auth(AuthFailure::MissingToken),
        403 => Error::forbidden("You may not do this."),
        404 => Error::NotFound,
        413 => Error::PayloadTooLarge,
        415 => Error::UnsupportedMediaType,
        422 => Error::BadRequest("The request's parameters could not be read.".into()),
        503 => Error::Unavailable,
        500.. => Error::internal(format!("unhandled failure with status {status}")),
        _ => Error::BadRequest(status.reason_lossy().to_owned()),
    };
    (status, error)
}

pub fn catchers() -> Vec<Catcher> {
    catchers![api_failure]
}
