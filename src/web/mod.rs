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
mod mfa;
mod present;
mod recovery;
mod second_step;
mod session;
mod tokens;
mod users;

use std::collections::HashMap;

use rocket::fairing::{AdHoc, Fairing};
use rocket::http::{ContentType, Header, Status};
use rocket::request::FlashMessage;
use rocket::response::Responder;
use rocket::serde::json::{json, Value};
use rocket::{get, routes, State};
use rocket_dyn_templates::Template;
use serde::Serialize;

use crate::app::App;
use crate::settings::Settings;

use self::layout::{page, Layout, Page};
use self::session::SignedIn;

pub(crate) fn stage() -> AdHoc {
    AdHoc::on_ignite("Pages", |rocket| async {
        let mut routes = routes![index, healthz, asset];
        routes.extend(auth::routes());
        routes.extend(second_step::routes());
        routes.extend(recovery::routes());
        routes.extend(users::routes());
        routes.extend(account::routes());
        routes.extend(mfa::routes());
        routes.extend(tokens::routes());
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

/// A stylesheet or the icon, compiled into the binary, so the app serves its look from any
/// directory.
#[derive(Responder)]
struct Asset {
    body: (ContentType, &'static [u8]),
    cache: Header<'static>,
}

#[get("/static/<name>")]
fn asset(name: &str) -> Option<Asset> {
    let body: (ContentType, &'static [u8]) = match name {
        "pico.min.css" => (
            ContentType::CSS,
            include_bytes!("../../static/vendor/pico/pico.min.css"),
        ),
        "gatehouse.css" => (
            ContentType::CSS,
            include_bytes!("../../static/gatehouse.css"),
        ),
        "favicon.svg" => (ContentType::SVG, include_bytes!("../../static/favicon.svg")),
        _ => return None,
    };
    Some(Asset {
        body,
        cache: Header::new("Cache-Control", "public, max-age=3600"),
    })
}

/// `first_invalid(errors=…, fields="name:Label[:id]|…")`: the id of the first field, in the
/// form's order, that has problems ("" when none), for the field macro's `autofocus`.
fn first_invalid(args: &HashMap<String, Value>) -> rocket_dyn_templates::tera::Result<Value> {
    let errors = args.get("errors").and_then(Value::as_object);
    let fields = args
        .get("fields")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let has_problems = |name: &str| {
        let problems = errors.and_then(|errors| errors.get(name));
        problems
            .and_then(Value::as_array)
            .is_some_and(|p| !p.is_empty())
    };
    let first = fields.split('|').find_map(|pair| {
        let mut parts = pair.split(':');
        let name = parts.next().filter(|name| has_problems(name))?;
        Some(parts.nth(1).unwrap_or(name).to_owned())
    });
    Ok(Value::String(first.unwrap_or_default()))
}

/// The template engine, with `password_rules()` for the forms that ask for a new password:
/// the rules as this instance's settings make them.
pub(crate) fn templates(settings: &Settings) -> impl Fairing {
    let rules = format!(
        "At least {} characters, not a common password, and none of your username, email or \
         name in it. A few unrelated words make a good one.",
        settings.password_min_length
    );
    Template::custom(move |engines| {
        let rules = Value::String(rules.clone());
        engines
            .tera
            .register_function("password_rules", move |_: &HashMap<String, Value>| {
                Ok(rules.clone())
            });
        engines
            .tera
            .register_function("first_invalid", first_invalid);
    })
}
