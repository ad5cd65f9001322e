//! HTML pages for browsers (API.md §6): sign-up and login, the member directory, the account
//! page, the error pages, `/healthz`, and the stylesheets.

mod account;
mod admin;
mod auth;
mod bucketlists;
pub mod csrf;
mod failure;
pub mod session;
mod users;

use rocket::fairing::AdHoc;
use rocket::http::{ContentType, Header, Status};
use rocket::request::FlashMessage;
use rocket::response::{Flash, Redirect, Responder};
use rocket::serde::json::{json, Value};
use rocket::{get, routes, Request, State};
use rocket_dyn_templates::Template;
use serde::Serialize;

use crate::auth::guard::CurrentUser;
use crate::App;

pub use self::failure::PageError;
use self::session::SignedIn;

pub fn stage() -> AdHoc {
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

/// What the base layout needs on every page.
#[derive(Serialize)]
pub struct Layout {
    user: Option<NavUser>,
    /// For the forms on the page, the nav's logout button included.
    csrf_token: String,
    flash: Option<FlashView>,
}

#[derive(Serialize)]
struct NavUser {
    id: String,
    username: String,
    is_admin: bool,
}

#[derive(Serialize)]
struct FlashView {
    kind: String,
    message: String,
}

impl Layout {
    pub fn signed_in(current: &CurrentUser, flash: Option<FlashMessage<'_>>) -> Self {
        Layout {
            user: Some(NavUser {
                id: current.user.public_id.clone(),
                username: current.user.username.clone(),
                is_admin: current.user.is_admin(),
            }),
            csrf_token: current.session.csrf_token.clone(),
            flash: flash.map(FlashView::from),
        }
    }

    pub fn anonymous(csrf_token: String, flash: Option<FlashMessage<'_>>) -> Self {
        Layout {
            user: None,
            csrf_token,
            flash: flash.map(FlashView::from),
        }
    }

    /// The layout for whoever made the request (used by error pages).
    pub fn for_request(req: &Request<'_>) -> Self {
        match session::signed_in(req) {
            Some(current) => Self::signed_in(current, None),
            None => Self::anonymous(String::new(), None),
        }
    }
}

impl From<FlashMessage<'_>> for FlashView {
    fn from(flash: FlashMessage<'_>) -> Self {
        FlashView {
            kind: flash.kind().to_owned(),
            message: flash.message().to_owned(),
        }
    }
}

/// A page: a template with the status it is served with.
pub type Page = (Status, Template);

/// What a form page answers: done (a redirect with a flash message), the form (again, with
/// what was typed and the problems found), or elsewhere (a signed-in visitor on the login
/// page).
#[derive(Responder)]
pub enum Reply {
    Done(Flash<Redirect>),
    Form(Page),
    Away(Redirect),
}

pub fn page(status: Status, name: &'static str, context: impl Serialize) -> Page {
    (status, Template::render(name, context))
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

/// Where to go after login: `next` only when it is a path on this site (one leading `/`,
/// no `//`, no backslash, no control character), else the start page.
pub fn local_path(next: &str) -> &str {
    let local = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(char::is_control);
    if local {
        next
    } else {
        "/"
    }
}
