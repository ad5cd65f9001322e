//! `/admin/audit`: the audit log with filters, each event in words.

use std::collections::HashMap;

use rocket::http::Status;
use rocket::{get, routes, Route, State};
use serde::Serialize;

use crate::accounts::model::User;
use crate::app::App;
use crate::audit::{self, AuditEvent, Event, Kind, LoginFailure, Via};
use crate::params::AuditParams;
use crate::web::failure::{PageError, Served};
use crate::web::layout::{page, Layout, Page};
use crate::web::present::{short_id, Paging, When};
use crate::web::session::AdminPage;

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
    #[serde(flatten)]
    paging: Paging,
}

/// Filters: event type, user (a username, an email or an id), and a range of days.
#[get("/admin/audit?<params..>")]
async fn audit_log(app: &State<App>, admin: AdminPage, params: AuditParams<'_>) -> Served<Page> {
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
        events: Kind::ALL.iter().map(|e| e.as_str()).collect(),
        filters: Filters {
            event: text(params.event),
            user: typed_user,
            from: text(params.from),
            to: text(params.to),
        },
        paging: Paging::new(page_number, per_page, total),
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

fn row(row: AuditEvent, names: &HashMap<String, String>) -> Row {
    let event = Event::from_row(&row.event, &row.detail);
    let deleted_name = match &event {
        Some(Event::UserDeleted { username }) => Some(username.as_str()),
        _ => None,
    };
    let who = |id: &Option<String>| match id {
        Some(id) => names.get(id).cloned().unwrap_or_else(|| {
            // Deleted since: the event may still name them.
            deleted_name.map_or_else(
                || format!("{}… (deleted)", short_id(id)),
                |u| format!("{u} (deleted)"),
            )
        }),
        None => "—".to_owned(),
    };
    Row {
        at: row.at.into(),
        actor: who(&row.actor_id),
        subject: who(&row.subject_id),
        subject_id: row.subject_id.clone(),
        ip: row.ip.unwrap_or_default(),
        detail: event.as_ref().map(describe).unwrap_or_default(),
        event: row.event,
    }
}

/// An event's detail in words; never a secret, since none is ever recorded.
fn describe(event: &Event) -> String {
    match event {
        Event::UserUpdated { fields } => format!("changed {}", fields.join(", ")),
        Event::RoleChanged { from, to } => format!("{} → {}", from.as_str(), to.as_str()),
        Event::LoginFailed { reason } => match reason {
            LoginFailure::Disabled => "right password, account deactivated".to_owned(),
            LoginFailure::Credentials => "wrong password or unknown account".to_owned(),
        },
        Event::Signup(created) | Event::UserCreated(created) => {
            let active = if created.active { "" } else { ", inactive" };
            let via = match created.via {
                Via::CommandLine => " (command line)",
                Via::Http => "",
            };
            format!("role {}{active}{via}", created.role.as_str())
        }
        Event::SessionRevoked { session } | Event::RefreshReused { session } => {
            format!("session {}", short_id(session))
        }
        Event::UserDeleted { username } => format!("was {username}"),
        Event::Login
        | Event::Logout
        | Event::LogoutAll
        | Event::PasswordChanged
        | Event::LockoutCleared => String::new(),
        Event::PasswordCheckFailed => "wrong current password".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::model::Role;
    use crate::audit::Created;

    #[test]
    fn events_read_as_sentences() {
        let cases = [
            (
                Event::UserUpdated {
                    fields: vec!["name".into(), "role".into()],
                },
                "changed name, role",
            ),
            (
                Event::RoleChanged {
                    from: Role::User,
                    to: Role::Admin,
                },
                "user → admin",
            ),
            (
                Event::LoginFailed {
                    reason: LoginFailure::Disabled,
                },
                "right password, account deactivated",
            ),
            (
                Event::UserCreated(Created {
                    role: Role::Admin,
                    active: false,
                    via: Via::CommandLine,
                }),
                "role admin, inactive (command line)",
            ),
            (
                Event::SessionRevoked {
                    session: "0123456789abcdef".into(),
                },
                "session 01234567",
            ),
            (Event::Logout, ""),
        ];
        for (event, words) in cases {
            assert_eq!(describe(&event), words);
        }
    }
}
