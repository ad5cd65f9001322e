//! `/admin/audit`: the audit log with filters, each event in words.

use std::collections::HashMap;

use rocket::http::Status;
use rocket::{get, routes, Route, State};
use serde::Serialize;
use serde_json::Value;

use crate::accounts::model::User;
use crate::app::App;
use crate::audit::{self, AuditEvent, Event};
use crate::params::AuditParams;
use crate::web::admin::AdminPage;
use crate::web::failure::PageError;
use crate::web::layout::{page, Layout, Page};
use crate::web::present::{short_id, When};

const PER_PAGE: i64 = 50;

pub(crate) fn routes() -> Vec<Route> {
    routes![audit_log]
}

#[derive(Serialize)]
struct Row {
    at: When,
    event: String,
    actor: String,
    subject: String,
    subject_id: Option<String>,
    ip: String,
    detail: String,
}

#[derive(Serialize)]
struct Filters {
    event: String,
    user: String,
    from: String,
    to: String,
}

#[derive(Serialize)]
struct AuditPage {
    #[serde(flatten)]
    layout: Layout,
    rows: Vec<Row>,
    events: Vec<&'static str>,
    filters: Filters,
    page: i64,
    pages: i64,
    total: i64,
}

/// Filters: event type, user (a username, an email or an id), and a range of days.
#[get("/admin/audit?<params..>")]
async fn audit_log(
    app: &State<App>,
    admin: AdminPage,
    params: AuditParams<'_>,
) -> Result<Page, PageError> {
    let typed_user = params.user.map(str::trim).unwrap_or_default().to_owned();
    let user_id = resolve_user(app, &typed_user).await?;
    let query = AuditParams {
        user: user_id.as_deref(),
        ..params
    };
    let query = query.audit_query(Some(PER_PAGE))?;
    let (page_number, per_page) = (query.page, query.per_page);
    let (events, total) = app.db.run(move |c| audit::list(c, &query)).await?;
    let ids: Vec<String> = events
        .iter()
        .flat_map(|e| [e.actor_id.clone(), e.subject_id.clone()])
        .flatten()
        .collect();
    let names = app.db.run(move |c| User::usernames(c, ids)).await?;
    let text = |value: Option<&str>| value.unwrap_or_default().to_owned();
    let context = AuditPage {
        layout: Layout::signed_in(&admin.0, None),
        rows: events.into_iter().map(|e| row(e, &names)).collect(),
        events: Event::ALL.iter().map(|e| e.as_str()).collect(),
        filters: Filters {
            event: text(params.event),
            user: typed_user,
            from: text(params.from),
            to: text(params.to),
        },
        page: page_number,
        pages: (total + per_page - 1) / per_page,
        total,
    };
    Ok(page(Status::Ok, "admin/audit", context))
}

/// The id of the user typed in the filter: an id as it is, else a username or email looked
/// up; someone unknown gives an id that matches nothing.
async fn resolve_user(app: &App, typed: &str) -> Result<Option<String>, PageError> {
    if typed.is_empty() {
        return Ok(None);
    }
    if uuid::Uuid::parse_str(typed).is_ok() {
        return Ok(Some(typed.to_owned()));
    }
    let key = typed.to_owned();
    let found = app.db.run(move |c| User::find_by_login(c, &key)).await?;
    Ok(Some(found.map_or_else(
        || uuid::Uuid::nil().to_string(),
        |u| u.public_id,
    )))
}

fn row(event: AuditEvent, names: &HashMap<String, String>) -> Row {
    let detail: Value = serde_json::from_str(&event.detail).unwrap_or_default();
    let who = |id: &Option<String>| match id {
        Some(id) => names.get(id).cloned().unwrap_or_else(|| {
            // Deleted since: the event may still name them.
            detail["username"].as_str().map_or_else(
                || format!("{}… (deleted)", short_id(id)),
                |u| format!("{u} (deleted)"),
            )
        }),
        None => "—".to_owned(),
    };
    Row {
        at: event.at.into(),
        actor: who(&event.actor_id),
        subject: who(&event.subject_id),
        subject_id: event.subject_id.clone(),
        ip: event.ip.unwrap_or_default(),
        detail: describe(&event.event, &detail),
        event: event.event,
    }
}

/// An event's detail in words; never a secret, since none is ever recorded.
fn describe(event: &str, detail: &Value) -> String {
    let text = |key: &str| detail[key].as_str().unwrap_or_default().to_owned();
    match event {
        "user_updated" => {
            let fields: Vec<&str> = detail["fields"]
                .as_array()
                .map(|f| f.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            format!("changed {}", fields.join(", "))
        }
        "role_changed" => format!("{} → {}", text("from"), text("to")),
        "login_failed" => match text("reason").as_str() {
            "disabled" => "right password, account deactivated".to_owned(),
            _ => "wrong password or unknown account".to_owned(),
        },
        "signup" | "user_created" => {
            let active = if detail["active"] == Value::Bool(false) {
                ", inactive"
            } else {
                ""
            };
            let via = if text("via") == "command_line" {
                " (command line)"
            } else {
                ""
            };
            format!("role {}{active}{via}", text("role"))
        }
        "session_revoked" | "refresh_reused" => {
            format!("session {}", short_id(&text("session")))
        }
        "user_deleted" => format!("was {}", text("username")),
        _ => String::new(),
    }
}
