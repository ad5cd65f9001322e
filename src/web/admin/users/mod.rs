//! `/admin/users` and below: the list (search, filters, sort), one user's page (edit,
//! (de)activate, password, sessions, lock-out, delete), new users, and bulk actions.

mod bulk;
mod edit;
mod list;

use rocket::Route;

pub(crate) fn routes() -> Vec<Route> {
    let mut routes = list::routes();
    routes.extend(edit::routes());
    routes.extend(bulk::routes());
    routes
}
