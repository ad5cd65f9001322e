//! HTML pages: the landing page, `/healthz`, and the error pages for everything outside `/api`.

use rocket::fairing::AdHoc;
use rocket::http::Status;
use rocket::serde::json::{json, Value};
use rocket::{catch, catchers, get, routes, Request, State};
use rocket_dyn_templates::Template;
use serde::Serialize;

use crate::App;

pub fn stage() -> AdHoc {
    AdHoc::on_ignite("Pages", |rocket| async {
        rocket
            .mount("/", routes![index, healthz])
            .register("/", catchers![not_found, failure])
    })
}

#[derive(Serialize)]
struct ErrorPage {
    status: u16,
    reason: &'static str,
}

#[get("/")]
fn index() -> Template {
    Template::render("index", ())
}

/// 200 when the database answers a query, else 503: what a load balancer should watch.
#[get("/healthz")]
async fn healthz(app: &State<App>) -> (Status, Value) {
    match app.db.run(crate::db::ping).await {
        Ok(()) => (Status::Ok, json!({"status": "ok"})),
        Err(_) => (Status::ServiceUnavailable, json!({"status": "unavailable"})),
    }
}

#[catch(404)]
fn not_found() -> Template {
    Template::render(
        "errors/404",
        ErrorPage {
            status: 404,
            reason: "Not Found",
        },
    )
}

#[catch(default)]
fn failure(status: Status, _req: &Request<'_>) -> Template {
    let page = ErrorPage {
        status: status.code,
        reason: status.reason_lossy(),
    };
    Template::render("errors/error", page)
}
