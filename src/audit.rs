//! Recording and reading the audit trail of account and admin events.

use diesel::prelude::*;
use serde_json::json;
use time::PrimitiveDateTime;

use crate::accounts::model::User;
use crate::db::schema::audit_events;
use crate::db::{self, DbConn};

/// Where an action comes from, as recorded with sessions and audit events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A request: the client's address (see `ip_header`) and its user agent, when known.
    Http {
        ip: Option<String>,
        user_agent: Option<String>,
    },
    /// The operator at the command line (`gatehouse create-admin`).
    CommandLine,
}

impl Source {
    pub(crate) fn ip(&self) -> Option<&str> {
        match self {
            Source::Http { ip, .. } => ip.as_deref(),
            Source::CommandLine => None,
        }
    }

    pub(crate) fn user_agent(&self) -> Option<&str> {
        match self {
            Source::Http { user_agent, .. } => user_agent.as_deref(),
            Source::CommandLine => None,
        }
    }
}

/// What happened; the string forms are stored and shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Event {
    Signup,
    Login,
    LoginFailed,
    Logout,
    LogoutAll,
    PasswordChanged,
    SessionRevoked,
    RefreshReused,
    UserCreated,
    UserUpdated,
    RoleChanged,
    UserDeleted,
    LockoutCleared,
}

impl Event {
    pub(crate) const ALL: [Event; 13] = [
        Event::Signup,
        Event::Login,
        Event::LoginFailed,
        Event::Logout,
        Event::LogoutAll,
        Event::PasswordChanged,
        Event::SessionRevoked,
        Event::RefreshReused,
        Event::UserCreated,
        Event::UserUpdated,
        Event::RoleChanged,
        Event::UserDeleted,
        Event::LockoutCleared,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Event::Signup => "signup",
            Event::Login => "login",
            Event::LoginFailed => "login_failed",
            Event::Logout => "logout",
            Event::LogoutAll => "logout_all",
            Event::PasswordChanged => "password_changed",
            Event::SessionRevoked => "session_revoked",
            Event::RefreshReused => "refresh_reused",
            Event::UserCreated => "user_created",
            Event::UserUpdated => "user_updated",
            Event::RoleChanged => "role_changed",
            Event::UserDeleted => "user_deleted",
            Event::LockoutCleared => "lockout_cleared",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Event> {
        Self::ALL.into_iter().find(|e| e.as_str() == text)
    }
}

/// One event about to be written. Actor and subject are public user ids.
pub(crate) struct Record<'a> {
    pub(crate) event: Event,
    pub(crate) actor: Option<&'a str>,
    pub(crate) subject: Option<&'a str>,
    pub(crate) ip: Option<&'a str>,
    /// A small JSON object; never a secret.
    pub(crate) detail: serde_json::Value,
}

impl<'a> Record<'a> {
    /// An event by `actor` about `subject` (public ids), from `source`.
    pub(crate) fn new(
        event: Event,
        actor: Option<&'a str>,
        subject: Option<&'a str>,
        source: &'a Source,
        detail: serde_json::Value,
    ) -> Self {
        Record {
            event,
            actor,
            subject,
            ip: source.ip(),
            detail,
        }
    }

    /// An event by `actor` about `subject` with no detail.
    pub(crate) fn plain(
        event: Event,
        actor: &'a User,
        subject: &'a User,
        source: &'a Source,
    ) -> Self {
        let (actor, subject) = (
            Some(actor.public_id.as_str()),
            Some(subject.public_id.as_str()),
        );
        Self::new(event, actor, subject, source, json!({}))
    }
}

#[derive(Insertable)]
#[diesel(table_name = audit_events)]
struct NewEvent<'a> {
    at: PrimitiveDateTime,
    event: &'a str,
    actor_id: Option<&'a str>,
    subject_id: Option<&'a str>,
    ip: Option<&'a str>,
    detail: String,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_events)]
pub(crate) struct AuditEvent {
    pub(crate) at: PrimitiveDateTime,
    pub(crate) event: String,
    pub(crate) actor_id: Option<String>,
    pub(crate) subject_id: Option<String>,
    pub(crate) ip: Option<String>,
    pub(crate) detail: String,
}

/// Filters and page of the audit listing, already validated.
#[derive(Debug, Clone, Default)]
pub(crate) struct AuditQuery {
    /// Events where this public user id is actor or subject.
    pub(crate) user: Option<String>,
    pub(crate) event: Option<Event>,
    /// From this moment (included) ...
    pub(crate) from: Option<PrimitiveDateTime>,
    /// ... to this one (excluded).
    pub(crate) to: Option<PrimitiveDateTime>,
    pub(crate) page: i64,
    pub(crate) per_page: i64,
}

pub(crate) fn record(conn: &mut DbConn, record: &Record<'_>) -> QueryResult<()> {
    diesel::insert_into(audit_events::table)
        .values(NewEvent {
            at: db::now(),
            event: record.event.as_str(),
            actor_id: record.actor,
            subject_id: record.subject,
            ip: record.ip,
            detail: record.detail.to_string(),
        })
        .execute(conn)
        .map(|_| ())
}

/// Newest first.
pub(crate) fn list(conn: &mut DbConn, q: &AuditQuery) -> QueryResult<(Vec<AuditEvent>, i64)> {
    let filtered = || {
        let mut query = audit_events::table.into_boxed();
        if let Some(user) = &q.user {
            query = query.filter(
                audit_events::actor_id
                    .eq(user.clone())
                    .or(audit_events::subject_id.eq(user.clone())),
            );
        }
        if let Some(event) = q.event {
            query = query.filter(audit_events::event.eq(event.as_str()));
        }
        if let Some(from) = q.from {
            query = query.filter(audit_events::at.ge(from));
        }
        if let Some(to) = q.to {
            query = query.filter(audit_events::at.lt(to));
        }
        query
    };
    let total = filtered().count().get_result(conn)?;
    let rows = filtered()
        .select(AuditEvent::as_select())
        .order((audit_events::at.desc(), audit_events::id.desc()))
        .limit(q.per_page)
        .offset((q.page - 1) * q.per_page)
        .load(conn)?;
    Ok((rows, total))
}
