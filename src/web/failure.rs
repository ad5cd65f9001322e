//! The HTML face of [`Error`]: a page in the site's layout, or, for "not signed in", a
//! redirect to the login page that comes back afterwards.

use rocket::http::uri::fmt::{Query, UriDisplay};
use rocket::http::{Method, Status};
use rocket::request::Request;
use rocket::response::{self, Redirect, Responder};
use rocket::{catch, catchers, Catcher};
use serde::Serialize;
use uuid::Uuid;

use crate::auth::guard::GuardFailure;
use crate::error::Error;
use crate::web::{page, Layout};

/// An error met while serving a page.
#[derive(Debug)]
pub struct PageError(pub Error);

impl From<Error> for PageError {
    fn from(error: Error) -> Self {
        PageError(error)
    }
}

#[derive(Serialize)]
struct ErrorPage {
    #[serde(flatten)]
    layout: Layout,
    status: u16,
    title: &'static str,
    message: String,
    request_id: Option<String>,
}

impl<'r> Responder<'r, 'static> for PageError {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let error = self.0;
        if let Error::Auth(_) = error {
            return Redirect::to(login_url(req)).respond_to(req);
        }
        let status = error.status();
        let mut request_id = None;
        if let Error::Internal(cause) = &error {
            let id = Uuid::new_v4().to_string();
            log::error!("request {id} ({} {}): {cause}", req.method(), req.uri());
            request_id = Some(id);
        }
        let retry_after = match error {
            Error::TooManyRequests(seconds) => Some(seconds),
            _ => None,
        };
        let template = match status.code {
            403 => "errors/403",
            404 => "errors/404",
            _ => "errors/error",
        };
        let context = ErrorPage {
            layout: Layout::for_request(req),
            status: status.code,
            title: title(status),
            message: error.message(),
            request_id,
        };
        let mut response = page(status, template, context).respond_to(req)?;
        if let Some(seconds) = retry_after {
            response.set_raw_header("Retry-After", seconds.to_string());
        }
        Ok(response)
    }
}

fn title(status: Status) -> &'static str {
    match status.code {
        400 => "That request could not be read",
        401 => "Please sign in",
        403 => "Not allowed",
        404 => "Page not found",
        413 => "Too much data",
        415 => "Unexpected form",
        422 => "Please check the form",
        429 => "Too many attempts",
        503 => "Temporarily unavailable",
        _ => "Something went wrong",
    }
}

/// `/login?next=<this page>`; after a failed POST, back to the page the form was on.
fn login_url(req: &Request<'_>) -> String {
    let uri = req.uri();
    let here = match (req.method(), uri.query()) {
        (Method::Get, Some(query)) => format!("{}?{}", uri.path(), query),
        _ => uri.path().to_string(),
    };
    format!("/login?next={}", &here as &dyn UriDisplay<Query>)
}

/// Every failure outside `/api` ends here: the guard's own error when one failed, else the
/// error that matches Rocket's status.
#[catch(default)]
fn page_failure(status: Status, req: &Request<'_>) -> PageError {
    if let Some(error) = GuardFailure::of(req) {
        return PageError(error);
    }
    PageError(match status.code {
        404 => Error::NotFound,
        413 => Error::PayloadTooLarge,
        415 => Error::UnsupportedMediaType,
        503 => Error::Unavailable,
        500.. => Error::internal(format!("unhandled failure with status {status}")),
        _ => Error::BadRequest(status.reason_lossy().to_owned()),
    })
}

pub fn catchers() -> Vec<Catcher> {
    catchers![page_failure]
}
