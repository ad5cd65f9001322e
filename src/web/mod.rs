//! HTML pages for browsers (API.md §6): sign-up and login, the member directory, the account
//! page, the error pages, `/healthz`, and the stylesheets.

mod account;
mod admin;
mod auth;
mod bucketlists;
mod csrf;
mod failure;
mod form;
mod layout;
mod present;
mod session;
mod users;

use rocket::fairing::AdHoc;
use rocket::http::{ContentType, Header, Status};
use rocket::request::FlashMessage;
use rocket::response::Responder;
use rocket::serde::json::{json, Value};
use rocket::{get, routes, State};
use serde::Serialize;

use crate::app::App;

use self::layout::{page, Layout, Page};
use self::session::SignedIn;

pub(crate) fn stage() -> AdHoc {
    AdHoc::on_ignite("Pages", |rocket| async {
        let mut routes = routes![index, healthz, stylesheet];
        routes.extend(auth::routes());
        routes.extend(users::routes());
        routes.extend(account::routes());
        routes.extend(admin::routes());
        routes.extend(bucketlists::routes());
        rocket.mount("/", routes).register("/", failure::catchers())
    })
}

#[derive(Serialize)]
struct Home {
    #[serde(flatten)]
    layout: Layout,
    name: Option<String>,
}

/// The landing page, or the signed-in user's home.
#[get("/")]
fn index(signed_in: Option<SignedIn>, flash: Option<FlashMessage<'_>>) -> Page {
    let Some(SignedIn(current)) = signed_in else {
        return page(Status::Ok, "index", Layout::anonymous(String::new(), flash));
    };
    let home = Home {
        name: current.user.name.clone(),
        layout: Layout::signed_in(&current, flash),
    };
    page(Status::Ok, "home", home)
}

/// 200 when the database answers a query, else 503: what a load balancer should watch.
#[get("/healthz")]
async fn healthz(app: &State<App>) -> (Status, Value) {
    match app.db.run(crate::db::ping).await {
        Ok(()) => (Status::Ok, json!({"status": "ok"})),
        Err(_) => (Status::ServiceUnavailable, json!({"status": "unavailable"})),
    }
}

/// A stylesheet compiled into the binary, so the app serves its look from any directory.
#[derive(Responder)]
struct Stylesheet {
    css: (ContentType, &'static [u8]),
    cache: Header<'static>,
}

#[get("/static/<name>")]
fn stylesheet(name: &str) -> Option<Stylesheet> {
    let css: &'static [u8] = match name {
        "pico.min.css" => include_bytes!("../../static/vendor/pico/pico.min.css"),
        "gatehouse.css" => include_bytes!("../../static/gatehouse.css"),
        _ => return None,
    };
    Some(Stylesheet {
        css: (ContentType::CSS, css),
        cache: Header::new("Cache-Control", "public, max-age=3600"),
    })
}
