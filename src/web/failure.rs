//! The HTML face of a failure: a page in the site's layout, or, for "not signed in", a
//! redirect to the login page that comes back afterwards.

use rocket::http::uri::fmt::{Query, UriDisplay};
use rocket::http::uri::Absolute;
use rocket::http::{Method, Status};
use rocket::request::Request;
use rocket::response::{self, Flash, Redirect, Responder};
use rocket::{catch, catchers, uri, Catcher};
use serde::Serialize;

use crate::error::{AuthFailure, Error};
use crate::http::{self, Failure};
use crate::web::layout::{page, Layout};
use crate::web::session::SignedIn;

/// What a page handler answers: a page, or (by default) a form's [`Reply`], or the
/// failure page.
///
/// [`Reply`]: crate::web::layout::Reply
pub(crate) type Served<T = crate::web::layout::Reply> = Result<T, PageError>;

/// A failure met while serving a page.
#[derive(Debug)]
pub(crate) struct PageError(pub Failure);

impl From<Error> for PageError {
    fn from(error: Error) -> Self {
        PageError(error.into())
    }
}

/// Pages that read the database directly answer its failures as the domain would.
impl From<diesel::result::Error> for PageError {
    fn from(error: diesel::result::Error) -> Self {
        PageError::from(Error::from(error))
    }
}

impl From<Failure> for PageError {
    fn from(failure: Failure) -> Self {
        PageError(failure)
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
        let failure = self.0;
        if let Failure::Domain(Error::Auth(why)) = failure {
            let to = Redirect::to(login_url(req));
            // No token at all: a visitor who never signed in (or whose cookies ran out).
            if why == AuthFailure::MissingToken {
                return to.respond_to(req);
            }
            // A browser that was signed in is told why it is asked to sign in again.
            let ended = "Your session has ended; sign in again.";
            return Flash::warning(to, ended).respond_to(req);
        }
        if let Failure::Domain(Error::MfaEnrollmentRequired) = failure {
            // An admin who must enrol first is taken to enrolment (API.md §9).
            let to = Redirect::to(uri!("/account/mfa"));
            return Flash::warning(to, failure.message()).respond_to(req);
        }
        let status = failure.status();
        let mut request_id = None;
        if let Failure::Domain(Error::Internal(cause)) = &failure {
            let id = crate::observe::request_id(req).to_owned();
            // The path alone: a query string is the client's to fill, secrets included.
            log::error!(
                "request {id} ({} {}): {cause}",
                req.method(),
                req.uri().path()
            );
            request_id = Some(id);
        }
        let retry_after = failure.retry_after();
        let template = match status.code {
            403 => "errors/403",
            404 => "errors/404",
            _ => "errors/error",
        };
        let context = ErrorPage {
            layout: Layout::for_request(req),
            status: status.code,
            title: title(status),
            message: failure.message(),
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

/// `/login?next=<this page>`. `next` only ever names a page to GET: for a form posted after
/// the session ended, the page the form was on (from `Referer`, path only), or none.
fn login_url(req: &Request<'_>) -> String {
    let uri = req.uri();
    let here = match (req.method(), uri.query()) {
        (Method::Get, Some(query)) => Some(format!("{}?{}", uri.path(), query)),
        (Method::Get, None) => Some(uri.path().to_string()),
        _ => form_page(req),
    };
    match here {
        Some(here) => format!("/login?next={}", &here as &dyn UriDisplay<Query>),
        None => "/login".to_owned(),
    }
}

/// The page a posted form was on: the path and query of the `Referer`.
fn form_page(req: &Request<'_>) -> Option<String> {
    let referer = Absolute::parse(req.headers().get_one("Referer")?).ok()?;
    let path = referer.path().to_string();
    Some(match referer.query() {
        Some(query) => format!("{path}?{query}"),
        None => path,
    })
    .filter(|path| path.starts_with('/'))
}

/// Every failure outside `/api` ends here: the guard's own error when one failed, else the
/// error that matches Rocket's status. The error page shows the real header: for a request
/// no page guard ran on (an unknown path), the signed-in check runs here.
#[catch(default)]
async fn page_failure(status: Status, req: &Request<'_>) -> PageError {
    if let Some(failure) = http::guard_failure(req) {
        return PageError(failure);
    }
    // Its outcome is kept for the layout; a visitor who is not signed in sees the anonymous one.
    let _ = req.guard::<SignedIn>().await;
    PageError(match status.code {
        404 | 413 | 415 | 503 | 500.. => Failure::of_status(status),
        _ => Failure::BadRequest(status.reason_lossy().to_owned()),
    })
}

pub(crate) fn catchers() -> Vec<Catcher> {
    catchers![page_failure]
}
