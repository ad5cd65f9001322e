//! The admin console: dashboard, users (list, create, edit, bulk actions) and the audit log.
//! Every route takes `session::AdminPage`: anonymous visitors go to login, members get a
//! 403 page.

mod audit;
mod dashboard;
mod users;

use rocket::Route;

pub(crate) fn routes() -> Vec<Route> {
    let mut routes = dashboard::routes();
    routes.extend(users::routes());
    routes.extend(audit::routes());
    routes
}
