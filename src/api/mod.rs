//! The JSON API under `/api` (API.md §4), for programs holding a token.

mod audit;
mod auth;
mod bucketlists;
mod error;
pub(crate) mod json;
mod mfa;
pub(crate) mod openapi;
mod tokens;
mod users;
pub(crate) mod views;

use rocket::fairing::AdHoc;

/// Mounts the API routes and its JSON catchers.
pub(crate) fn stage() -> AdHoc {
    AdHoc::on_ignite("JSON API", |rocket| async {
        let mut routes = auth::routes();
        routes.extend(users::routes());
        routes.extend(mfa::routes());
        routes.extend(tokens::routes());
        routes.extend(openapi::routes());
        routes.extend(audit::routes());
        routes.extend(bucketlists::routes());
        rocket
            .mount("/api", routes)
            .register("/api", error::catchers())
    })
}
