//! The JSON API under `/api` (API.md §4), for programs holding a token.

mod audit;
mod auth;
mod error;
pub mod json;
mod users;
pub mod views;

use rocket::fairing::AdHoc;

use crate::accounts::validation::Checker;

/// Items per page when the caller does not say.
const DEFAULT_PER_PAGE: i64 = 20;
const MAX_PER_PAGE: i64 = 100;

/// Mounts the API routes and its JSON catchers.
pub fn stage() -> AdHoc {
    AdHoc::on_ignite("JSON API", |rocket| async {
        let mut routes = auth::routes();
        routes.extend(users::routes());
        routes.extend(audit::routes());
        rocket
            .mount("/api", routes)
            .register("/api", error::catchers())
    })
}

/// Reads `page` (from 1) and `per_page` (1 to 100; larger asks are capped at 100).
fn pagination(checker: &mut Checker, page: Option<&str>, per_page: Option<&str>) -> (i64, i64) {
    let page = number(checker, "page", page, 1).unwrap_or(1);
    let per_page = number(checker, "per_page", per_page, DEFAULT_PER_PAGE)
        .unwrap_or(DEFAULT_PER_PAGE)
        .min(MAX_PER_PAGE);
    (page, per_page)
}

fn number(checker: &mut Checker, field: &str, value: Option<&str>, default: i64) -> Option<i64> {
    let Some(value) = value else {
        return Some(default);
    };
    let parsed = value
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|n| *n >= 1 && *n <= 1_000_000);
    checker.check(
        field,
        parsed.ok_or_else(|| vec!["must be a whole number from 1".to_owned()]),
    )
}

/// Parses a `true`/`false` query value.
fn boolean(checker: &mut Checker, field: &str, value: Option<&str>) -> Option<bool> {
    let parsed = match value? {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(vec!["must be true or false".to_owned()]),
    };
    checker.check(field, parsed)
}
