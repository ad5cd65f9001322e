//! `/admin/audit`: the audit log with filters, each event in words.

use std::collections::HashMap;

use rocket::http::Status;
use rocket::{get, routes, Route, State};
use serde::Serialize;

use crate::accounts::model::User;
use crate::app::App;
use crate::audit::{self, AuditEvent, Event, Kind, LoginFailure, UserFilter, Via};
use crate::error::{Error, FieldErrors};
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
    event: &'static str,
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
struct EventChoice {
    value: &'static str,
    label: &'static str,
}

#[derive(Serialize)]
struct AuditPage {
    #[serde(flatten)]
    layout: Layout,
    rows: Vec<Row>,
    events: Vec<EventChoice>,
    filters: Filters,
    /// Problems with the filters (a malformed date, "to" before "from").
    errors: FieldErrors,
    #[serde(flatten)]
    paging: Paging,
}

/// Filters: event type, user (a username — also one a deleted user had —, an email or an
/// id), and a range of days. Bad filters show the form again with the problem beside it.
#[get("/admin/audit?<params..>")]
async fn audit_log(app: &State<App>, admin: AdminPage, params: AuditParams<'_>) -> Served<Page> {
    let text = |value: Option<&str>| value.map(str::trim).unwrap_or_default().to_owned();
    let filters = Filters {
        event: text(params.event),
        user: text(params.user),
        from: text(params.from),
        to: text(params.to),
    };
    let checked = AuditParams {
        user: None,
        ..params
    }
    .audit_query(Some(PER_PAGE));
    let mut query = match checked {
        Ok(query) => query,
        Err(Error::Validation(errors)) => {
            let paging = Paging::new(1, PER_PAGE, 0);
            let context = audit_page(&admin, Vec::new(), filters, errors, paging);
            return Ok(page(Status::UnprocessableEntity, "admin/audit", context));
        }
        Err(other) => return Err(other.into()),
    };
    query.user = user_filter(app, &filters.user).await?;
    let (page_number, per_page) = (query.page, query.per_page);
    let (events, total) = app.db.run(move |c| audit::list(c, &query)).await?;
    let ids: Vec<String> = events
        .iter()
        .flat_map(|e| [e.actor_id.clone(), e.subject_id.clone()])
        .flatten()
        .collect();
    let names = app.db.run(move |c| User::usernames(c, ids)).await?;
    let rows = events.into_iter().map(|e| row(e, &names)).collect();
    let paging = Paging::new(page_number, per_page, total);
    let context = audit_page(&admin, rows, filters, FieldErrors::new(), paging);
    Ok(page(Status::Ok, "admin/audit", context))
}

fn audit_page(
    admin: &AdminPage,
    rows: Vec<Row>,
    filters: Filters,
    errors: FieldErrors,
    paging: Paging,
) -> AuditPage {
    let events = Kind::ALL
        .iter()
        .map(|&kind| EventChoice {
            value: kind.as_str(),
            label: label(kind),
        })
        .collect();
    AuditPage {
        layout: Layout::signed_in(admin, None),
        rows,
        events,
        filters,
        errors,
        paging,
    }
}

/// Whose events the filter asks for: an id as it is; a username or email of a live account
/// by its id (so renames do not matter); any other text as a username someone had then.
async fn user_filter(app: &App, typed: &str) -> Result<Option<UserFilter>, PageError> {
    if typed.is_empty() {
        return Ok(None);
    }
    if let Ok(id) = uuid::Uuid::parse_str(typed) {
        return Ok(Some(UserFilter::Id(id.to_string())));
    }
    let key = typed.to_owned();
    let found = app.db.run(move |c| User::find_by_login(c, &key)).await?;
    Ok(Some(match found {
        Some(user) => UserFilter::Id(user.public_id),
        None => UserFilter::Name(typed.to_owned()),
    }))
}

/// An event kind in words, for the table and the filter.
fn label(kind: Kind) -> &'static str {
    match kind {
        Kind::Signup => "Signed up",
        Kind::Login => "Signed in",
        Kind::LoginFailed => "Sign-in failed",
        Kind::Logout => "Signed out",
        Kind::LogoutAll => "Signed out everywhere",
        Kind::PasswordChanged => "Password changed",
        Kind::SessionRevoked => "Session ended",
        Kind::RefreshReused => "Copied refresh token used: session ended",
        Kind::UserCreated => "Account created by an admin",
        Kind::UserUpdated => "Account changed",
        Kind::RoleChanged => "Role changed",
        Kind::UserDeleted => "Account deleted",
        Kind::LockoutCleared => "Lock-out cleared",
        Kind::PasswordCheckFailed => "Wrong current password",
        Kind::PasswordResetRequested => "Password reset asked for",
        Kind::PasswordReset => "Password reset with a link",
        Kind::MailThrottled => "Mail not sent: too many this hour",
        Kind::RecoveryLinkCreated => "Recovery link made by an admin",
        Kind::EmailVerified => "Email address confirmed",
        Kind::EmailChanged => "Email address changed (confirmed)",
        Kind::UserInvited => "Invited by an admin",
        Kind::MfaEnabled => "Two-factor authentication turned on",
        Kind::MfaDisabled => "Two-factor authentication turned off",
        Kind::MfaFailed => "Wrong two-factor code",
        Kind::RecoveryCodeUsed => "Signed in with a recovery code",
        Kind::RecoveryCodesRegenerated => "New recovery codes made",
        Kind::MfaResetByAdmin => "Two-factor authentication removed by an admin",
        Kind::TokenCreated => "Personal access token made",
        Kind::TokenDeleted => "Personal access token deleted",
    }
}

fn row(row: AuditEvent, names: &HashMap<String, String>) -> Row {
    let event = Event::from_row(&row.event, &row.detail);
    // A live account by its name now; a deleted one by its name then.
    let who = |id: &Option<String>, then: &Option<String>| match (id, then) {
        (Some(id), then) => names.get(id).cloned().unwrap_or_else(|| match then {
            Some(name) => format!("{name} (deleted)"),
            None => format!("{}… (deleted)", short_id(id)),
        }),
        (None, _) => "—".to_owned(),
    };
    Row {
        at: row.at.into(),
        actor: who(&row.actor_id, &row.actor_name),
        subject: who(&row.subject_id, &row.subject_name),
        subject_id: row.subject_id.clone(),
        ip: row.ip.unwrap_or_default(),
        detail: event.as_ref().map(describe).unwrap_or_default(),
        event: Kind::parse(&row.event).map_or("Unknown event", label),
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
        Event::RecoveryCodeUsed { left } => format!("{left} unused left"),
        Event::TokenCreated { name, scope } => format!("“{name}”, {scope}"),
        Event::TokenDeleted { name } => format!("“{name}”"),
        Event::Login
        | Event::Logout
        | Event::LogoutAll
        | Event::PasswordChanged
        | Event::LockoutCleared
        | Event::PasswordResetRequested
        | Event::PasswordReset
        | Event::MailThrottled
        | Event::RecoveryLinkCreated
        | Event::EmailVerified
        | Event::EmailChanged
        | Event::UserInvited
        | Event::MfaEnabled
        | Event::MfaDisabled
        | Event::MfaFailed
        | Event::RecoveryCodesRegenerated
        | Event::MfaResetByAdmin => String::new(),
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
