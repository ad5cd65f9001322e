//! The admin console: dashboard, users (list, create, edit, bulk actions) and the audit log.
//! Every route takes [`AdminPage`]: anonymous visitors go to login, members get a 403 page.

mod audit;
mod dashboard;
mod users;

use rocket::outcome::Outcome;
use rocket::request::{self, FromRequest, Request};
use rocket::Route;

use std::ops::Deref;

use crate::auth::Actor;
use crate::error::Error;
use crate::http::{self, Failure};
use crate::web::session::SignedIn;

pub(crate) fn routes() -> Vec<Route> {
    let mut routes = dashboard::routes();
    routes.extend(users::routes());
    routes.extend(audit::routes());
    routes
}

/// A signed-in admin on a page; built on the page guard, so a demotion bites at once.
pub(crate) struct AdminPage(pub Actor);

impl Deref for AdminPage {
    type Target = Actor;

    fn deref(&self) -> &Actor {
        &self.0
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for AdminPage {
    type Error = Failure;

    async fn from_request(req: &'r Request<'_>) -> request::Outcome<Self, Failure> {
        match SignedIn::from_request(req).await {
            Outcome::Success(SignedIn(current)) if current.user.is_admin() => {
                Outcome::Success(AdminPage(current))
            }
            Outcome::Success(_) => http::fail(req, Error::forbidden("This page is for admins.")),
            Outcome::Error(e) => Outcome::Error(e),
            Outcome::Forward(f) => Outcome::Forward(f),
        }
    }
}
