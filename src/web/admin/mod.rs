//! The admin console: dashboard, users (list, create, edit, bulk actions) and the audit log.
//! Every route takes [`AdminPage`]: anonymous visitors go to login, members get a 403 page.

mod audit;
mod dashboard;
mod users;

use rocket::outcome::Outcome;
use rocket::request::{self, FromRequest, Request};
use rocket::Route;

use crate::auth::guard::{fail, CurrentUser};
use crate::error::Error;
use crate::web::session::SignedIn;

pub fn routes() -> Vec<Route> {
    let mut routes = dashboard::routes();
    routes.extend(users::routes());
    routes.extend(audit::routes());
    routes
}

/// A signed-in admin on a page; built on the page guard, so a demotion bites at once.
pub struct AdminPage(pub CurrentUser);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for AdminPage {
    type Error = Error;

    async fn from_request(req: &'r Request<'_>) -> request::Outcome<Self, Error> {
        match SignedIn::from_request(req).await {
            Outcome::Success(SignedIn(current)) if current.user.is_admin() => {
                Outcome::Success(AdminPage(current))
            }
            Outcome::Success(_) => fail(req, Error::forbidden("This page is for admins.")),
            Outcome::Error(e) => Outcome::Error(e),
            Outcome::Forward(f) => Outcome::Forward(f),
        }
    }
}
