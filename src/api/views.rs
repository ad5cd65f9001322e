//! What the JSON API shows of each model: explicit structs, so a new column never leaks.

use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::PrimitiveDateTime;
use utoipa::ToSchema;

use crate::accounts::model::{Role, User};
use crate::accounts::policy;
use crate::audit::AuditEvent;
use crate::auth::personal_tokens::{Minted, PersonalToken};
use crate::auth::sessions::Session;
use crate::auth::{Login, SignedIn};

/// RFC 3339 in UTC, as every time on the wire.
pub(crate) fn rfc3339(at: PrimitiveDateTime) -> String {
    at.assume_utc().format(&Rfc3339).unwrap_or_default()
}

/// A user as the owner and admins see it.
#[derive(Serialize, ToSchema)]
pub(crate) struct FullUser {
    id: String,
    username: String,
    email: String,
    name: Option<String>,
    role: Role,
    active: bool,
    created_at: String,
    updated_at: String,
    last_login_at: Option<String>,
    email_verified: bool,
    /// A new address waiting for its link (API.md §8); `null` when none.
    pending_email: Option<String>,
    /// Signing in asks for a second factor (API.md §9).
    mfa_enabled: bool,
}

/// A user as other members see it. Closed (no other fields), so that the description's
/// `oneOf` tells it from the full view, which has every field of this one.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PublicUser {
    id: String,
    username: String,
    name: Option<String>,
    role: Role,
    created_at: String,
}

#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub(crate) enum UserView {
    Full(FullUser),
    Public(PublicUser),
}

impl From<&User> for FullUser {
    fn from(user: &User) -> Self {
        Self {
            id: user.public_id.clone(),
            username: user.username.clone(),
            email: user.email.clone(),
            name: user.name.clone(),
            role: user.role,
            active: user.active,
            created_at: rfc3339(user.created_at),
            updated_at: rfc3339(user.updated_at),
            last_login_at: user.last_login_at.map(rfc3339),
            email_verified: user.email_verified,
            pending_email: user.pending_email.clone(),
            mfa_enabled: user.mfa_enabled,
        }
    }
}

impl UserView {
    /// The view `viewer` is entitled to: full for themselves and for admins.
    pub(crate) fn of(user: &User, viewer: &User) -> Self {
        if policy::sees_all_of(user, viewer) {
            return Self::Full(user.into());
        }
        Self::Public(PublicUser {
            id: user.public_id.clone(),
            username: user.username.clone(),
            name: user.name.clone(),
            role: user.role,
            created_at: rfc3339(user.created_at),
        })
    }
}

/// The body of login and refresh.
#[derive(Serialize, ToSchema)]
pub(crate) struct TokenResponse {
    access_token: String,
    refresh_token: String,
    token_type: &'static str,
    expires_in: i64,
    user: FullUser,
}

/// The answer of `POST /api/login`: tokens, or (second factor on) the challenge to
/// complete at `POST /api/login/mfa`.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub(crate) enum LoginResponse {
    Tokens(Box<TokenResponse>),
    SecondStep {
        mfa_required: bool,
        mfa_token: String,
        methods: [&'static str; 2],
    },
}

impl From<Login> for LoginResponse {
    fn from(login: Login) -> Self {
        match login {
            Login::Done(signed_in) => Self::Tokens(Box::new((*signed_in).into())),
            Login::SecondStep { mfa_token } => Self::SecondStep {
                mfa_required: true,
                mfa_token,
                methods: ["totp", "recovery_code"],
            },
        }
    }
}

impl From<SignedIn> for TokenResponse {
    fn from(signed_in: SignedIn) -> Self {
        Self {
            access_token: signed_in.tokens.access_token,
            refresh_token: signed_in.tokens.refresh_token,
            token_type: "Bearer",
            expires_in: signed_in.tokens.expires_in,
            user: (&signed_in.user).into(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub(crate) struct SessionView {
    id: String,
    created_at: String,
    last_seen_at: String,
    expires_at: String,
    user_agent: Option<String>,
    ip: Option<String>,
    current: bool,
}

impl SessionView {
    /// A session as listed; `current` is the caller's own (none for a personal token).
    pub(crate) fn of(session: &Session, current: Option<&Session>) -> Self {
        Self {
            id: session.public_id.clone(),
            created_at: rfc3339(session.created_at),
            last_seen_at: rfc3339(session.last_seen_at),
            expires_at: rfc3339(session.expires_at),
            user_agent: session.user_agent.clone(),
            ip: session.ip.clone(),
            current: current.is_some_and(|c| c.id == session.id),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub(crate) struct AuditView {
    at: String,
    event: String,
    actor: Option<String>,
    subject: Option<String>,
    ip: Option<String>,
    detail: serde_json::Value,
}

impl From<AuditEvent> for AuditView {
    fn from(event: AuditEvent) -> Self {
        Self {
            at: rfc3339(event.at),
            detail: serde_json::from_str(&event.detail).unwrap_or_default(),
            event: event.event,
            actor: event.actor_id,
            subject: event.subject_id,
            ip: event.ip,
        }
    }
}

/// A personal access token as listed (never its secret).
#[derive(Serialize, ToSchema)]
pub(crate) struct TokenView {
    id: String,
    name: String,
    scope: &'static str,
    created_at: String,
    expires_at: String,
    last_used_at: Option<String>,
}

impl From<&PersonalToken> for TokenView {
    fn from(token: &PersonalToken) -> Self {
        Self {
            id: token.public_id.clone(),
            name: token.name.clone(),
            scope: token.scope.as_str(),
            created_at: rfc3339(token.created_at),
            expires_at: rfc3339(token.expires_at),
            last_used_at: token.last_used_at.map(rfc3339),
        }
    }
}

/// A token just made: the only answer that carries its secret.
#[derive(Serialize, ToSchema)]
pub(crate) struct NewTokenView {
    id: String,
    name: String,
    scope: &'static str,
    token: String,
    created_at: String,
    expires_at: String,
}

impl From<Minted> for NewTokenView {
    fn from(minted: Minted) -> Self {
        let Minted { token, secret } = minted;
        Self {
            id: token.public_id,
            name: token.name,
            scope: token.scope.as_str(),
            token: secret,
            created_at: rfc3339(token.created_at),
            expires_at: rfc3339(token.expires_at),
        }
    }
}

/// A page of users.
#[derive(Serialize, ToSchema)]
pub(crate) struct UserPage {
    pub(crate) users: Vec<UserView>,
    pub(crate) page: i64,
    pub(crate) per_page: i64,
    /// How many match, on every page.
    pub(crate) total: i64,
}

/// A page of the audit log.
#[derive(Serialize, ToSchema)]
pub(crate) struct AuditPage {
    pub(crate) events: Vec<AuditView>,
    pub(crate) page: i64,
    pub(crate) per_page: i64,
    pub(crate) total: i64,
}

/// An account's live sessions.
#[derive(Serialize, ToSchema)]
pub(crate) struct SessionList {
    pub(crate) sessions: Vec<SessionView>,
}

/// The caller's live personal access tokens.
#[derive(Serialize, ToSchema)]
pub(crate) struct TokenList {
    pub(crate) tokens: Vec<TokenView>,
}
