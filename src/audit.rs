//! Recording and reading the audit trail of account and admin events.

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use time::PrimitiveDateTime;

use crate::accounts::model::{Role, User};
use crate::db::schema::{audit_events, users};
use crate::db::{lower_nullable, DbConn};

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

/// What kind of thing happened: the `event` column, and the audit log's filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
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
    PasswordCheckFailed,
    PasswordResetRequested,
    PasswordReset,
    MailThrottled,
    RecoveryLinkCreated,
    EmailVerified,
    EmailChanged,
    UserInvited,
    MfaEnabled,
    MfaDisabled,
    MfaFailed,
    RecoveryCodeUsed,
    RecoveryCodesRegenerated,
    MfaResetByAdmin,
    TokenCreated,
    TokenDeleted,
}

impl Kind {
    pub(crate) const ALL: [Kind; 29] = [
        Kind::Signup,
        Kind::Login,
        Kind::LoginFailed,
        Kind::Logout,
        Kind::LogoutAll,
        Kind::PasswordChanged,
        Kind::SessionRevoked,
        Kind::RefreshReused,
        Kind::UserCreated,
        Kind::UserUpdated,
        Kind::RoleChanged,
        Kind::UserDeleted,
        Kind::LockoutCleared,
        Kind::PasswordCheckFailed,
        Kind::PasswordResetRequested,
        Kind::PasswordReset,
        Kind::MailThrottled,
        Kind::RecoveryLinkCreated,
        Kind::EmailVerified,
        Kind::EmailChanged,
        Kind::UserInvited,
        Kind::MfaEnabled,
        Kind::MfaDisabled,
        Kind::MfaFailed,
        Kind::RecoveryCodeUsed,
        Kind::RecoveryCodesRegenerated,
        Kind::MfaResetByAdmin,
        Kind::TokenCreated,
        Kind::TokenDeleted,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Kind::Signup => "signup",
            Kind::Login => "login",
            Kind::LoginFailed => "login_failed",
            Kind::Logout => "logout",
            Kind::LogoutAll => "logout_all",
            Kind::PasswordChanged => "password_changed",
            Kind::SessionRevoked => "session_revoked",
            Kind::RefreshReused => "refresh_reused",
            Kind::UserCreated => "user_created",
            Kind::UserUpdated => "user_updated",
            Kind::RoleChanged => "role_changed",
            Kind::UserDeleted => "user_deleted",
            Kind::LockoutCleared => "lockout_cleared",
            Kind::PasswordCheckFailed => "password_check_failed",
            Kind::PasswordResetRequested => "password_reset_requested",
            Kind::PasswordReset => "password_reset",
            Kind::MailThrottled => "mail_throttled",
            Kind::RecoveryLinkCreated => "recovery_link_created",
            Kind::EmailVerified => "email_verified",
            Kind::EmailChanged => "email_changed",
            Kind::UserInvited => "user_invited",
            Kind::MfaEnabled => "mfa_enabled",
            Kind::MfaDisabled => "mfa_disabled",
            Kind::MfaFailed => "mfa_failed",
            Kind::RecoveryCodeUsed => "recovery_code_used",
            Kind::RecoveryCodesRegenerated => "recovery_codes_regenerated",
            Kind::MfaResetByAdmin => "mfa_reset_by_admin",
            Kind::TokenCreated => "token_created",
            Kind::TokenDeleted => "token_deleted",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Kind> {
        Self::ALL.into_iter().find(|e| e.as_str() == text)
    }
}

/// What happened, with its detail: written and read through this one type, so the writer
/// and the audit log's reader agree at compile time. Stored as the kind's name in `event`
/// and the fields as a JSON object in `detail`; never a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub(crate) enum Event {
    Signup(Created),
    Login,
    LoginFailed {
        reason: LoginFailure,
    },
    Logout,
    LogoutAll,
    PasswordChanged,
    SessionRevoked {
        session: String,
    },
    RefreshReused {
        session: String,
    },
    UserCreated(Created),
    /// The names of the fields that changed, never their values.
    UserUpdated {
        fields: Vec<String>,
    },
    RoleChanged {
        from: Role,
        to: Role,
    },
    /// The username, so the log can still name a deleted account.
    UserDeleted {
        username: String,
    },
    LockoutCleared,
    /// A wrong current password where a change needs it (counted like a failed login).
    PasswordCheckFailed,
    /// A reset link was asked for (and mailed, unless the mail was throttled).
    PasswordResetRequested,
    /// A password set through a one-time link.
    PasswordReset,
    /// A mail that was asked for and not sent: too many within the hour.
    MailThrottled,
    /// An admin made a set-a-password link to hand over by other means.
    RecoveryLinkCreated,
    /// The account's address was proved by its link.
    EmailVerified,
    /// A pending address replaced the account's, proved by its link.
    EmailChanged,
    /// An admin made an account without a password and mailed it an invitation.
    UserInvited,
    /// A second factor (TOTP) was confirmed and is now asked at every login.
    MfaEnabled,
    /// The owner turned the second factor off (with the password).
    MfaDisabled,
    /// A wrong code at the second step of a login (counted like a failed login).
    MfaFailed,
    /// A recovery code passed the second step; `left` unused ones remain.
    RecoveryCodeUsed {
        left: i64,
    },
    /// New recovery codes were made; the old ones are void.
    RecoveryCodesRegenerated,
    /// An admin removed the account's second factor (a lost phone).
    MfaResetByAdmin,
    /// A personal access token was made: its name and scope, never the token.
    TokenCreated {
        name: String,
        scope: String,
    },
    /// A personal access token was deleted by its owner.
    TokenDeleted {
        name: String,
    },
}

/// The detail of a new account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Created {
    pub(crate) role: Role,
    pub(crate) active: bool,
    pub(crate) via: Via,
}

/// How an account was created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Via {
    Http,
    CommandLine,
}

/// Why a login failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum LoginFailure {
    /// A wrong password, or no such account.
    Credentials,
    /// The right password for a deactivated account.
    Disabled,
}

impl Event {
    pub(crate) fn kind(&self) -> Kind {
        match self {
            Event::Signup(_) => Kind::Signup,
            Event::Login => Kind::Login,
            Event::LoginFailed { .. } => Kind::LoginFailed,
            Event::Logout => Kind::Logout,
            Event::LogoutAll => Kind::LogoutAll,
            Event::PasswordChanged => Kind::PasswordChanged,
            Event::SessionRevoked { .. } => Kind::SessionRevoked,
            Event::RefreshReused { .. } => Kind::RefreshReused,
            Event::UserCreated(_) => Kind::UserCreated,
            Event::UserUpdated { .. } => Kind::UserUpdated,
            Event::RoleChanged { .. } => Kind::RoleChanged,
            Event::UserDeleted { .. } => Kind::UserDeleted,
            Event::LockoutCleared => Kind::LockoutCleared,
            Event::PasswordCheckFailed => Kind::PasswordCheckFailed,
            Event::PasswordResetRequested => Kind::PasswordResetRequested,
            Event::PasswordReset => Kind::PasswordReset,
            Event::MailThrottled => Kind::MailThrottled,
            Event::RecoveryLinkCreated => Kind::RecoveryLinkCreated,
            Event::EmailVerified => Kind::EmailVerified,
            Event::EmailChanged => Kind::EmailChanged,
            Event::UserInvited => Kind::UserInvited,
            Event::MfaEnabled => Kind::MfaEnabled,
            Event::MfaDisabled => Kind::MfaDisabled,
            Event::MfaFailed => Kind::MfaFailed,
            Event::RecoveryCodeUsed { .. } => Kind::RecoveryCodeUsed,
            Event::RecoveryCodesRegenerated => Kind::RecoveryCodesRegenerated,
            Event::MfaResetByAdmin => Kind::MfaResetByAdmin,
            Event::TokenCreated { .. } => Kind::TokenCreated,
            Event::TokenDeleted { .. } => Kind::TokenDeleted,
        }
    }

    /// The `detail` column: the event's fields as a JSON object, without the kind.
    fn detail(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(self).unwrap_or_default();
        if let Some(fields) = value.as_object_mut() {
            fields.remove("event");
        }
        value
    }

    /// The event a stored row describes; `None` for a row this version cannot read.
    pub(crate) fn from_row(kind: &str, detail: &str) -> Option<Event> {
        let mut value: serde_json::Value = serde_json::from_str(detail).ok()?;
        value.as_object_mut()?.insert("event".into(), kind.into());
        serde_json::from_value(value).ok()
    }
}

/// One event about to be written. Actor and subject are public user ids.
pub(crate) struct Record<'a> {
    pub(crate) event: Event,
    pub(crate) actor: Option<&'a str>,
    pub(crate) subject: Option<&'a str>,
    pub(crate) ip: Option<&'a str>,
    /// The usernames, when the writer has them at hand; [`record`] looks up the others.
    names: [Option<&'a str>; 2],
}

impl<'a> Record<'a> {
    /// An event by `actor` about `subject` (public ids), from `source`.
    pub(crate) fn new(
        event: Event,
        actor: Option<&'a str>,
        subject: Option<&'a str>,
        source: &'a Source,
    ) -> Self {
        Record {
            event,
            actor,
            subject,
            ip: source.ip(),
            names: [None, None],
        }
    }

    /// An event by `actor` about `subject`.
    pub(crate) fn by(event: Event, actor: &'a User, subject: &'a User, source: &'a Source) -> Self {
        let ids = (
            Some(actor.public_id.as_str()),
            Some(subject.public_id.as_str()),
        );
        Record {
            names: [Some(&actor.username), Some(&subject.username)],
            ..Self::new(event, ids.0, ids.1, source)
        }
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
    actor_name: Option<String>,
    subject_name: Option<String>,
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
    /// Usernames as they were when it happened.
    pub(crate) actor_name: Option<String>,
    pub(crate) subject_name: Option<String>,
}

/// Whose events: by public id (the API), or by a username as it was then (the audit page,
/// which so finds a deleted user's events).
#[derive(Debug, Clone)]
pub(crate) enum UserFilter {
    Id(String),
    Name(String),
}

/// Filters and page of the audit listing, already validated.
#[derive(Debug, Clone, Default)]
pub(crate) struct AuditQuery {
    /// Events where this user is actor or subject.
    pub(crate) user: Option<UserFilter>,
    pub(crate) event: Option<Kind>,
    /// From this moment (included) ...
    pub(crate) from: Option<PrimitiveDateTime>,
    /// ... to this one (excluded).
    pub(crate) to: Option<PrimitiveDateTime>,
    pub(crate) page: i64,
    pub(crate) per_page: i64,
}

/// Writes an event that happened at `at`.
pub(crate) fn record(
    conn: &mut DbConn,
    at: PrimitiveDateTime,
    record: &Record<'_>,
) -> QueryResult<()> {
    let [actor_name, subject_name] = [
        (record.actor, record.names[0]),
        (record.subject, record.names[1]),
    ]
    .map(|(id, name)| {
        name.map(str::to_owned)
            .map_or_else(|| username(conn, id), |n| Ok(Some(n)))
    });
    let subject_name = match (&record.event, subject_name?) {
        // The account is already gone when its deletion is written.
        (Event::UserDeleted { username }, None) => Some(username.clone()),
        (_, name) => name,
    };
    // Someone who deleted their own account is gone too.
    let actor_name = match actor_name? {
        None if record.actor.is_some() && record.actor == record.subject => subject_name.clone(),
        name => name,
    };
    diesel::insert_into(audit_events::table)
        .values(NewEvent {
            at,
            event: record.event.kind().as_str(),
            actor_id: record.actor,
            subject_id: record.subject,
            ip: record.ip,
            detail: record.event.detail().to_string(),
            actor_name,
            subject_name,
        })
        .execute(conn)
        .map(|_| ())
}

/// The username of a public id, if it names a user.
fn username(conn: &mut DbConn, id: Option<&str>) -> QueryResult<Option<String>> {
    let Some(id) = id else { return Ok(None) };
    users::table
        .filter(users::public_id.eq(id))
        .select(users::username)
        .first(conn)
        .optional()
}

/// Newest first.
pub(crate) fn list(conn: &mut DbConn, q: &AuditQuery) -> QueryResult<(Vec<AuditEvent>, i64)> {
    let filtered = || {
        let mut query = audit_events::table.into_boxed();
        match &q.user {
            Some(UserFilter::Id(id)) => {
                query = query.filter(
                    audit_events::actor_id
                        .eq(id.clone())
                        .or(audit_events::subject_id.eq(id.clone())),
                );
            }
            Some(UserFilter::Name(name)) => {
                let name = name.to_lowercase();
                query = query.filter(
                    lower_nullable(audit_events::actor_name)
                        .eq(name.clone())
                        .or(lower_nullable(audit_events::subject_name).eq(name)),
                );
            }
            None => {}
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_reads_back_as_it_was_written() {
        let events = [
            Event::Signup(Created {
                role: Role::User,
                active: true,
                via: Via::Http,
            }),
            Event::LoginFailed {
                reason: LoginFailure::Disabled,
            },
            Event::RoleChanged {
                from: Role::User,
                to: Role::Admin,
            },
            Event::Logout,
        ];
        for event in events {
            let detail = event.detail().to_string();
            assert!(!detail.contains("\"event\""), "{detail}");
            assert_eq!(Event::from_row(event.kind().as_str(), &detail), Some(event));
        }
    }

    #[test]
    fn the_stored_detail_keeps_its_documented_shape() {
        let event = Event::UserUpdated {
            fields: vec!["email".into(), "name".into()],
        };
        assert_eq!(event.detail().to_string(), r#"{"fields":["email","name"]}"#);
        let created = Event::UserCreated(Created {
            role: Role::Admin,
            active: false,
            via: Via::CommandLine,
        });
        let expected = r#"{"active":false,"role":"admin","via":"command_line"}"#;
        assert_eq!(created.detail().to_string(), expected);
    }

    #[test]
    fn unreadable_rows_are_none_not_a_panic() {
        assert_eq!(Event::from_row("login", "not json"), None);
        assert_eq!(Event::from_row("no_such_event", "{}"), None);
        assert_eq!(Event::from_row("session_revoked", "{}"), None);
    }

    #[test]
    fn every_kind_has_a_name_that_parses_back() {
        for kind in Kind::ALL {
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
        }
    }
}
