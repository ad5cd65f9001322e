//! Personal access tokens (API.md §10): a program's long-lived credential, sent like an
//! access token. Only a SHA-256 of the token is kept and found through a unique index, so a
//! check costs one indexed read like a session check (a token carries 240 random bits: a fast
//! unsalted hash is enough, bcrypt per request would not be). A token acts as its user with
//! the user's current role; it dies when deleted or expired, and with its user's password
//! change, deactivation or deletion (the rows go in the same transaction, or by cascade).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use diesel::prelude::*;
use rand::TryRngCore;
use time::{Duration, PrimitiveDateTime};
use uuid::Uuid;

use crate::accounts::model::User;
use crate::accounts::validation;
use crate::app::App;
use crate::audit::{self, Event, Record};
use crate::auth::lockouts::verify_current;
use crate::auth::tokens::fingerprint;
use crate::auth::Actor;
use crate::db::schema::personal_tokens;
use crate::db::{self, DbConn};
use crate::error::{AuthFailure, Error, Result};

pub(crate) mod rows;

pub(crate) use rows::{PersonalToken, Scope};

/// What every personal token starts with, so that secret scanners can find leaked ones.
pub(crate) const PREFIX: &str = "gatehouse_pat_";
/// Tokens one account may hold: enough for every script, few enough to list on a page.
const MOST_PER_USER: i64 = 50;
/// Lifetimes a token may be given, in days, and the one it gets unless told.
const DAYS: std::ops::RangeInclusive<i64> = 1..=365;
pub(crate) const DEFAULT_DAYS: i64 = 90;
/// `last_used_at` moves at most this often: a busy script does not write on every request.
const USE_RECORDED_EVERY: Duration = Duration::minutes(1);

impl PersonalToken {
    /// Whether this token may be used for a request with this method.
    pub(crate) fn allows(&self, safe_method: bool) -> bool {
        self.scope == Scope::Write || safe_method
    }

    fn needs_touch(&self, now: PrimitiveDateTime) -> bool {
        self.last_used_at
            .is_none_or(|used| now - used >= USE_RECORDED_EVERY)
    }
}

/// What a new token is asked to be.
pub(crate) struct Request {
    pub(crate) name: String,
    pub(crate) scope: String,
    pub(crate) expires_in_days: Option<i64>,
    /// Needed when the sign-in is not recent.
    pub(crate) current_password: Option<String>,
}

/// A token just made, with its secret: shown this once, never stored.
pub(crate) struct Minted {
    pub(crate) token: PersonalToken,
    pub(crate) secret: String,
}

/// Checks a request for a token; every problem by its field.
fn check(request: &Request) -> Result<(String, Scope, i64)> {
    let mut problems = crate::error::FieldErrors::new();
    let name = match validation::name(&request.name) {
        Ok(Some(name)) => Some(name),
        Ok(None) => {
            problems.insert("name".into(), vec!["must not be empty".into()]);
            None
        }
        Err(found) => {
            problems.insert("name".into(), found);
            None
        }
    };
    let scope = Scope::parse(&request.scope);
    if scope.is_none() {
        problems.insert("scope".into(), vec!["must be \"read\" or \"write\"".into()]);
    }
    let days = request.expires_in_days.unwrap_or(DEFAULT_DAYS);
    if !DAYS.contains(&days) {
        let problem = format!("must be between {} and {}", DAYS.start(), DAYS.end());
        problems.insert("expires_in_days".into(), vec![problem]);
    }
    match (name, scope) {
        (Some(name), Some(scope)) if problems.is_empty() => Ok((name, scope, days)),
        _ => Err(Error::Validation(problems)),
    }
}

/// 30 bytes from the operating system's generator: 40 URL-safe characters after the prefix.
fn new_secret() -> Result<String> {
    let mut bytes = [0u8; 30];
    rand::rngs::OsRng
        .try_fill_bytes(&mut bytes)
        .map_err(Error::internal)?;
    Ok(format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)))
}

/// Makes a token for the caller, who must have signed in with the password lately or type it
/// now (`current_password`): a token cannot mint tokens, nor can a stolen refresh token (it
/// renews a session, not its sign-in).
pub(crate) async fn create(app: &App, actor: &Actor, request: Request) -> Result<Minted> {
    let now = app.clock.now();
    let recent = actor.signed_in_session()?.signed_in_recently(now);
    let (name, scope, days) = check(&request)?;
    match request.current_password {
        Some(password) => verify_current(app, actor, password, "current_password").await?,
        None if !recent => {
            let problem = "is needed: you signed in more than 10 minutes ago";
            return Err(Error::field("current_password", problem));
        }
        None => {}
    }
    let secret = new_secret()?;
    let (hash, actor) = (fingerprint(&secret), actor.clone());
    let token = app
        .db
        .run(move |c| {
            db::write_transaction::<_, Error, _>(c, |c| {
                let held: i64 = personal_tokens::table
                    .filter(personal_tokens::user_id.eq(actor.user.id))
                    .count()
                    .get_result(c)?;
                if held >= MOST_PER_USER {
                    let why = format!(
                        "An account holds at most {MOST_PER_USER} tokens: delete one first."
                    );
                    return Err(Error::Conflict(why));
                }
                let token = diesel::insert_into(personal_tokens::table)
                    .values((
                        personal_tokens::public_id.eq(Uuid::new_v4().to_string()),
                        personal_tokens::user_id.eq(actor.user.id),
                        personal_tokens::name.eq(&name),
                        personal_tokens::scope.eq(scope.as_str()),
                        personal_tokens::token_hash.eq(&hash),
                        personal_tokens::created_at.eq(now),
                        personal_tokens::expires_at.eq(now + Duration::days(days)),
                    ))
                    // The struct's columns in order: `as_returning` does not reach through
                    // the two-backend connection.
                    .returning((
                        personal_tokens::id,
                        personal_tokens::public_id,
                        personal_tokens::name,
                        personal_tokens::scope,
                        personal_tokens::created_at,
                        personal_tokens::expires_at,
                        personal_tokens::last_used_at,
                    ))
                    .get_result::<PersonalToken>(c)?;
                let scope = scope.as_str().to_owned();
                let event = Event::TokenCreated { name, scope };
                let user = &actor.user;
                audit::record(c, now, &Record::by(event, user, user, &actor.source))?;
                Ok(token)
            })
        })
        .await?;
    Ok(Minted { token, secret })
}

/// The caller's tokens that still work, newest first.
pub(crate) async fn list(app: &App, actor: &Actor) -> Result<Vec<PersonalToken>> {
    let (user_id, now) = (actor.user.id, app.clock.now());
    app.db
        .read(move |c| {
            Ok::<_, Error>(
                personal_tokens::table
                    .filter(personal_tokens::user_id.eq(user_id))
                    .filter(personal_tokens::expires_at.gt(now))
                    .order((
                        personal_tokens::created_at.desc(),
                        personal_tokens::id.desc(),
                    ))
                    .select(PersonalToken::as_select())
                    .load(c)?,
            )
        })
        .await
}

/// Deletes one of the caller's tokens; another account's is "not found".
pub(crate) async fn delete(app: &App, actor: &Actor, id: &str) -> Result<()> {
    let now = app.clock.now();
    let (id, actor) = (id.to_owned(), actor.clone());
    app.db
        .run(move |c| {
            db::write_transaction::<_, Error, _>(c, |c| {
                let name: String = diesel::delete(
                    personal_tokens::table
                        .filter(personal_tokens::public_id.eq(&id))
                        .filter(personal_tokens::user_id.eq(actor.user.id)),
                )
                .returning(personal_tokens::name)
                .get_result(c)
                .optional()?
                .ok_or(Error::NotFound)?;
                let user = &actor.user;
                let event = Event::TokenDeleted { name };
                Ok(audit::record(
                    c,
                    now,
                    &Record::by(event, user, user, &actor.source),
                )?)
            })
        })
        .await
}

/// Every token of a user goes: their password changed, or they were deactivated.
pub(crate) fn remove_all(conn: &mut DbConn, user_id: i64) -> QueryResult<usize> {
    diesel::delete(personal_tokens::table.filter(personal_tokens::user_id.eq(user_id)))
        .execute(conn)
}

/// Expired tokens, removed by the hourly clean-up.
pub(crate) fn purge(conn: &mut DbConn, now: PrimitiveDateTime) -> QueryResult<usize> {
    diesel::delete(personal_tokens::table.filter(personal_tokens::expires_at.le(now))).execute(conn)
}

/// The token and its user, checked just now: the token exists and has not expired, and its
/// user is active. Any failure reads as a revoked token.
pub(crate) async fn check_access(app: &App, secret: &str) -> Result<(PersonalToken, User)> {
    let now = app.clock.now();
    let found = app.token_reads.get(fingerprint(secret)).await?;
    let live = found.filter(|(token, user)| token.expires_at > now && user.active);
    let (token, user) = live.ok_or(Error::Auth(AuthFailure::TokenRevoked))?;
    if token.needs_touch(now) {
        let id = token.id;
        app.db
            .run(move |c| {
                diesel::update(personal_tokens::table.find(id))
                    .set(personal_tokens::last_used_at.eq(now))
                    .execute(c)
                    .map_err(Error::from)
            })
            .await?;
    }
    Ok((token, user))
}
