//! Bulk actions on selected users: confirmed on a page first, then applied user by user,
//! and reported exactly: who changed, who was skipped and why, which ids no longer exist.

use rocket::http::uri::Origin;
use rocket::http::Status;
use rocket::{get, post, routes, uri, FromForm, Route, State};
use serde::Serialize;

use crate::accounts::{self, AccountChanges};
use crate::app::App;
use crate::error::Error;
use crate::web::csrf::CsrfForm;
use crate::web::failure::Served;
use crate::web::form::Text;
use crate::web::layout::{local_path, page, Layout, Reply};
use crate::web::present::UserRow;
use crate::web::session::AdminPage;

pub(super) fn routes() -> Vec<Route> {
    routes![
        bulk_confirm,
        bulk_apply,
        confirm_to_the_list,
        apply_to_the_list
    ]
}

/// The bulk paths answer a GET with the list they are chosen on: a redirect, never a change.
#[get("/admin/users/bulk")]
fn confirm_to_the_list() -> rocket::response::Redirect {
    rocket::response::Redirect::to(uri!("/admin/users"))
}

#[get("/admin/users/bulk/apply")]
fn apply_to_the_list() -> rocket::response::Redirect {
    confirm_to_the_list()
}

#[derive(FromForm)]
struct BulkForm {
    #[field(default = Vec::new())]
    ids: Vec<String>,
    action: Text,
    /// The list's query (search, filters, sort, page), to come back to it.
    back: Text,
}

/// The list as the admin left it: `/admin/users?<back>`, or the plain list when `back` is no
/// valid query.
fn the_list(back: &str) -> Origin<'static> {
    let path = if back.is_empty() {
        "/admin/users".to_owned()
    } else {
        format!("/admin/users?{back}")
    };
    match local_path(&path) {
        list if list.path() == "/admin/users" => list,
        _ => uri!("/admin/users"),
    }
}

/// What a bulk action does, in words.
fn bulk_verb(action: &str) -> Result<&'static str, Error> {
    match action {
        "activate" => Ok("Activate"),
        "deactivate" => Ok("Deactivate"),
        "delete" => Ok("Delete"),
        _ => Err(Error::field("action", "choose an action")),
    }
}

#[derive(Serialize)]
struct BulkPage {
    #[serde(flatten)]
    layout: Layout,
    action: String,
    verb: &'static str,
    rows: Vec<UserRow>,
    back: String,
}

/// The confirmation step: nothing changes until the admin confirms on this page.
#[post("/admin/users/bulk", data = "<form>")]
async fn bulk_confirm(app: &State<App>, admin: AdminPage, form: CsrfForm<BulkForm>) -> Served {
    let BulkForm { ids, action, back } = form.0;
    let list = the_list(&back);
    if action.is_empty() {
        return Ok(Reply::warning(list, "Choose an action first."));
    }
    let verb = bulk_verb(&action)?;
    if ids.is_empty() {
        return Ok(Reply::warning(list, "Select at least one user first."));
    }
    let mut rows = Vec::with_capacity(ids.len());
    for id in &ids {
        rows.push(UserRow::from(&accounts::find(app, id).await?));
    }
    let context = BulkPage {
        layout: Layout::signed_in(&admin, None),
        action: action.to_string(),
        verb,
        rows,
        back: back.to_string(),
    };
    Ok(Reply::Form(page(Status::Ok, "admin/bulk", context)))
}

/// What happened to each selected user.
#[derive(Default)]
struct Outcome {
    changed: Vec<String>,
    skipped: Vec<String>,
    gone: usize,
}

impl Outcome {
    fn report(&self, verb: &str, list: Origin<'static>) -> Reply {
        let mut message = format!("{verb}d {} account(s).", self.changed.len());
        if !self.skipped.is_empty() {
            message.push_str(&format!(" Skipped {}", self.skipped.join("; ")));
        }
        if !self.changed.is_empty() {
            message.push_str(&format!(" Changed: {}.", self.changed.join(", ")));
        }
        if self.gone > 0 {
            message.push_str(&format!(" {} no longer existed.", self.gone));
        }
        if self.skipped.is_empty() && self.gone == 0 {
            Reply::done(list, message)
        } else {
            Reply::warning(list, message)
        }
    }
}

/// Applies a confirmed bulk action user by user; those that break a rule (the last admin)
/// are skipped, and the message names exactly who changed and who did not.
#[post("/admin/users/bulk/apply", data = "<form>")]
async fn bulk_apply(app: &State<App>, admin: AdminPage, form: CsrfForm<BulkForm>) -> Served {
    let BulkForm { ids, action, back } = form.0;
    let verb = bulk_verb(&action)?;
    let mut outcome = Outcome::default();
    for id in &ids {
        let user = match accounts::find(app, id).await {
            Ok(user) => user,
            Err(Error::NotFound) => {
                outcome.gone += 1;
                continue;
            }
            Err(other) => return Err(other.into()),
        };
        let result = match &*action {
            "delete" => accounts::delete(app, &admin, &user).await,
            _ => {
                let changes = AccountChanges {
                    active: Some(&*action == "activate"),
                    ..AccountChanges::default()
                };
                let updated = accounts::update(app, &admin, &user, changes).await;
                updated.map(|_| ())
            }
        };
        match result {
            Ok(()) => outcome.changed.push(user.username),
            Err(Error::Conflict(reason) | Error::Forbidden(reason)) => {
                outcome.skipped.push(format!("{}: {reason}", user.username));
            }
            Err(other) => return Err(other.into()),
        }
    }
    Ok(outcome.report(verb, the_list(&back)))
}
