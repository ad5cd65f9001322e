//! Logins waiting for their second step (API.md §9): the password was right, a code is
//! still owed. The client holds the token (`mfa_token`); the row holds only its SHA-256 and
//! the throttle keys the password step counted against, so that codes count against them too.
//! A challenge lives five minutes, is used once, and allows five codes: each attempt is
//! counted before its code is checked, so a burst of parallel codes cannot try more.

use diesel::prelude::*;
use time::{Duration, PrimitiveDateTime};

use crate::accounts::model::User;
use crate::auth::tokens::{fingerprint, random_token};
use crate::db::schema::{mfa_challenges, users};
use crate::db::DbConn;
use crate::error::Result;

/// How long the second step may take.
const LIFETIME: Duration = Duration::minutes(5);
/// Codes one challenge allows.
const MAX_ATTEMPTS: i32 = 5;
/// Challenges one account may have waiting (several devices signing in at once); a new one
/// ends the oldest beyond it.
const MOST_WAITING: i64 = 5;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = mfa_challenges)]
pub(crate) struct Challenge {
    pub(crate) token_hash: String,
    pub(crate) account_key: String,
    pub(crate) address_key: String,
}

/// Opens a challenge for `user`; returns its token, which is shown to the client only.
pub(crate) fn open(
    conn: &mut DbConn,
    user: &User,
    keys: (&str, &str),
    now: PrimitiveDateTime,
) -> Result<String> {
    let token = random_token()?;
    diesel::insert_into(mfa_challenges::table)
        .values((
            mfa_challenges::token_hash.eq(fingerprint(&token)),
            mfa_challenges::user_id.eq(user.id),
            mfa_challenges::account_key.eq(keys.0),
            mfa_challenges::address_key.eq(keys.1),
            mfa_challenges::created_at.eq(now),
            mfa_challenges::expires_at.eq(now + LIFETIME),
        ))
        .execute(conn)?;
    let newest: Vec<i64> = mfa_challenges::table
        .filter(mfa_challenges::user_id.eq(user.id))
        .order(mfa_challenges::id.desc())
        .limit(MOST_WAITING)
        .select(mfa_challenges::id)
        .load(conn)?;
    diesel::delete(
        mfa_challenges::table
            .filter(mfa_challenges::user_id.eq(user.id))
            .filter(mfa_challenges::id.ne_all(newest)),
    )
    .execute(conn)?;
    Ok(token)
}

/// Counts one attempt at the live challenge with this token, before its code is checked;
/// returns the challenge, its account and how many attempts it allows after this one.
/// `None`: unknown, used, expired, or out of attempts.
pub(crate) fn attempt(
    conn: &mut DbConn,
    token: &str,
    now: PrimitiveDateTime,
) -> QueryResult<Option<(Challenge, User, i32)>> {
    let hash = fingerprint(token);
    let counted: Option<i32> = diesel::update(
        mfa_challenges::table
            .filter(mfa_challenges::token_hash.eq(&hash))
            .filter(mfa_challenges::expires_at.gt(now))
            .filter(mfa_challenges::attempts.lt(MAX_ATTEMPTS)),
    )
    .set(mfa_challenges::attempts.eq(mfa_challenges::attempts + 1))
    .returning(mfa_challenges::attempts)
    .get_result(conn)
    .optional()?;
    let Some(attempts) = counted else {
        return Ok(None);
    };
    let found = mfa_challenges::table
        .inner_join(users::table)
        .filter(mfa_challenges::token_hash.eq(&hash))
        .select((Challenge::as_select(), User::as_select()))
        .first(conn)
        .optional()?;
    Ok(found.map(|(challenge, user)| (challenge, user, MAX_ATTEMPTS - attempts)))
}

/// Uses the challenge up; false when another request did first.
pub(crate) fn take(conn: &mut DbConn, challenge: &Challenge) -> QueryResult<bool> {
    diesel::delete(
        mfa_challenges::table.filter(mfa_challenges::token_hash.eq(&challenge.token_hash)),
    )
    .execute(conn)
    .map(|n| n == 1)
}

/// Ends every waiting challenge of an account (its password or second factor changed, or
/// it signed out everywhere).
pub(crate) fn void(conn: &mut DbConn, user_id: i64) -> QueryResult<usize> {
    diesel::delete(mfa_challenges::table.filter(mfa_challenges::user_id.eq(user_id))).execute(conn)
}

/// Ends every waiting challenge (every second factor was removed).
pub(crate) fn void_all(conn: &mut DbConn) -> QueryResult<usize> {
    diesel::delete(mfa_challenges::table).execute(conn)
}

/// Removes expired challenges (the hourly maintenance).
pub(crate) fn purge(conn: &mut DbConn, now: PrimitiveDateTime) -> QueryResult<usize> {
    diesel::delete(mfa_challenges::table.filter(mfa_challenges::expires_at.le(now))).execute(conn)
}
