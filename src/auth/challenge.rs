//! Logins waiting for their second step (API.md §9): the password was right, a code is
//! still owed. The client holds the token (`mfa_token`); the row holds only its SHA-256 and
//! the throttle keys the password step counted against, so that codes count against them too.
//! A challenge lives five minutes, is used once, and dies at its fifth wrong code.

use diesel::prelude::*;
use time::{Duration, PrimitiveDateTime};

use crate::accounts::model::User;
use crate::auth::tokens::{fingerprint, random_token};
use crate::db::schema::{mfa_challenges, users};
use crate::db::DbConn;
use crate::error::Result;

/// How long the second step may take.
const LIFETIME: Duration = Duration::minutes(5);
/// Wrong codes a challenge survives.
pub(crate) const MAX_FAILURES: i32 = 5;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = mfa_challenges)]
pub(crate) struct Challenge {
    pub(crate) id: i64,
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
    Ok(token)
}

/// The live challenge with this token, and its account.
pub(crate) fn find(
    conn: &mut DbConn,
    token: &str,
    now: PrimitiveDateTime,
) -> QueryResult<Option<(Challenge, User)>> {
    mfa_challenges::table
        .inner_join(users::table)
        .filter(mfa_challenges::token_hash.eq(fingerprint(token)))
        .filter(mfa_challenges::expires_at.gt(now))
        .filter(mfa_challenges::failures.lt(MAX_FAILURES))
        .select((Challenge::as_select(), User::as_select()))
        .first(conn)
        .optional()
}

/// Uses the challenge up; false when another request did first (or it died meanwhile).
pub(crate) fn take(conn: &mut DbConn, id: i64) -> QueryResult<bool> {
    diesel::delete(mfa_challenges::table.find(id))
        .filter(mfa_challenges::failures.lt(MAX_FAILURES))
        .execute(conn)
        .map(|n| n == 1)
}

/// Counts a wrong code; returns how many more the challenge survives (0: it is dead).
pub(crate) fn fail(conn: &mut DbConn, id: i64) -> QueryResult<i32> {
    let failures: Option<i32> = diesel::update(mfa_challenges::table.find(id))
        .set(mfa_challenges::failures.eq(mfa_challenges::failures + 1))
        .returning(mfa_challenges::failures)
        .get_result(conn)
        .optional()?;
    let left = MAX_FAILURES - failures.unwrap_or(MAX_FAILURES);
    if left <= 0 {
        diesel::delete(mfa_challenges::table.find(id)).execute(conn)?;
    }
    Ok(left.max(0))
}

/// Ends every waiting challenge of an account (its second factor was removed or replaced).
pub(crate) fn void(conn: &mut DbConn, user_id: i64) -> QueryResult<usize> {
    diesel::delete(mfa_challenges::table.filter(mfa_challenges::user_id.eq(user_id))).execute(conn)
}

/// Removes expired challenges (the hourly maintenance).
pub(crate) fn purge(conn: &mut DbConn, now: PrimitiveDateTime) -> QueryResult<usize> {
    diesel::delete(mfa_challenges::table.filter(mfa_challenges::expires_at.le(now))).execute(conn)
}
