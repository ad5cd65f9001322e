//! The rows of the second factor: one TOTP credential per account (unconfirmed while an
//! enrolment waits for its first code) and the account's recovery codes.

use diesel::prelude::*;
use diesel::result::DatabaseErrorKind;
use diesel::result::Error::DatabaseError;
use time::PrimitiveDateTime;

use crate::accounts::model::User;
use crate::audit::{self, Event, Record, Source};
use crate::auth::challenge;
use crate::db::schema::{recovery_codes, totp_credentials};
use crate::db::{self, DbConn};
use crate::mfa::totp::{self, MfaKey};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = totp_credentials)]
pub(crate) struct Credential {
    pub(crate) sealed_secret: String,
    pub(crate) confirmed: bool,
    /// The latest step whose code was accepted.
    pub(crate) last_step: Option<i64>,
}

impl Credential {
    pub(crate) fn find(conn: &mut DbConn, user_id: i64) -> QueryResult<Option<Credential>> {
        totp_credentials::table
            .find(user_id)
            .select(Credential::as_select())
            .first(conn)
            .optional()
    }

    /// The step of `code` if it is right now for this credential's secret and later than the
    /// last step accepted (a waiting enrolment has none).
    pub(crate) fn step_of(
        &self,
        key: &MfaKey,
        user_id: i64,
        code: &str,
        now: PrimitiveDateTime,
    ) -> crate::error::Result<Option<i64>> {
        let secret = key.open(&self.sealed_secret, user_id)?;
        let unix = now.assume_utc().unix_timestamp();
        totp::matching_step(&secret, code, unix, self.last_step)
    }

    /// Starts an enrolment with a new sealed secret, replacing an unconfirmed one; false
    /// when a confirmed credential is there (turn it off first).
    pub(crate) fn begin(
        conn: &mut DbConn,
        user_id: i64,
        sealed_secret: &str,
        now: PrimitiveDateTime,
    ) -> QueryResult<bool> {
        diesel::delete(totp_credentials::table.find(user_id))
            .filter(totp_credentials::confirmed.eq(false))
            .execute(conn)?;
        let inserted = diesel::insert_into(totp_credentials::table)
            .values((
                totp_credentials::user_id.eq(user_id),
                totp_credentials::sealed_secret.eq(sealed_secret),
                totp_credentials::created_at.eq(now),
            ))
            .execute(conn);
        match inserted {
            Ok(_) => Ok(true),
            // A confirmed credential holds the row.
            Err(DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => Ok(false),
            Err(other) => Err(other),
        }
    }

    /// Confirms the waiting enrolment of `sealed_secret` with the step of its first code;
    /// false when it is not waiting any more (confirmed, replaced or removed meanwhile).
    pub(crate) fn confirm(
        conn: &mut DbConn,
        user_id: i64,
        sealed_secret: &str,
        step: i64,
    ) -> QueryResult<bool> {
        diesel::update(totp_credentials::table.find(user_id))
            .filter(totp_credentials::confirmed.eq(false))
            .filter(totp_credentials::sealed_secret.eq(sealed_secret))
            .set((
                totp_credentials::confirmed.eq(true),
                totp_credentials::last_step.eq(step),
            ))
            .execute(conn)
            .map(|n| n == 1)
    }

    /// Records that the code of `step` was used: a compare-and-swap, so that of two
    /// requests with one code only one succeeds; false for a step not later than the last.
    pub(crate) fn use_step(conn: &mut DbConn, user_id: i64, step: i64) -> QueryResult<bool> {
        diesel::update(totp_credentials::table.find(user_id))
            .filter(totp_credentials::confirmed.eq(true))
            .filter(
                totp_credentials::last_step
                    .is_null()
                    .or(totp_credentials::last_step.lt(step)),
            )
            .set(totp_credentials::last_step.eq(step))
            .execute(conn)
            .map(|n| n == 1)
    }

    /// Removes the credential and the recovery codes; false when there was no credential.
    pub(crate) fn remove(conn: &mut DbConn, user_id: i64) -> QueryResult<bool> {
        diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user_id)))
            .execute(conn)?;
        diesel::delete(totp_credentials::table.find(user_id))
            .execute(conn)
            .map(|n| n == 1)
    }
}

/// `gatehouse remove-mfa --all`: every second factor goes, each audited as removed by the
/// operator; for a lost `mfa_key`, without which none of them can be checked. Works on the
/// database alone (no key needed); returns how many accounts had one.
pub(crate) fn remove_all(conn: &mut DbConn, now: PrimitiveDateTime) -> QueryResult<usize> {
    db::write_transaction::<_, diesel::result::Error, _>(conn, |c| {
        let holders = User::with_second_factor(c)?;
        for user in &holders {
            let record = Record::new(
                Event::MfaResetByAdmin,
                None,
                Some(&user.public_id),
                &Source::CommandLine,
            );
            audit::record(c, now, &record)?;
        }
        diesel::delete(recovery_codes::table).execute(c)?;
        diesel::delete(totp_credentials::table).execute(c)?;
        challenge::void_all(c)?;
        User::clear_second_factors(c, now)?;
        Ok(holders.len())
    })
}

/// How many accounts have a secret sealed with the `mfa_key` (confirmed or waiting).
pub(crate) fn count_sealed(conn: &mut DbConn) -> QueryResult<i64> {
    totp_credentials::table.count().get_result(conn)
}

/// Replaces the account's recovery codes by these hashes.
pub(crate) fn replace_codes(conn: &mut DbConn, user_id: i64, hashes: &[String]) -> QueryResult<()> {
    diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user_id)))
        .execute(conn)?;
    // One statement per code: the two backends share no multi-row insert in Diesel.
    for hash in hashes {
        diesel::insert_into(recovery_codes::table)
            .values((
                recovery_codes::user_id.eq(user_id),
                recovery_codes::code_hash.eq(hash),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Uses up the unused code with this hash; false when there is none (wrong, or used).
pub(crate) fn use_code(
    conn: &mut DbConn,
    user_id: i64,
    hash: &str,
    now: PrimitiveDateTime,
) -> QueryResult<bool> {
    let unused = recovery_codes::table
        .filter(recovery_codes::user_id.eq(user_id))
        .filter(recovery_codes::code_hash.eq(hash))
        .filter(recovery_codes::used_at.is_null())
        .select(recovery_codes::id);
    let Some(id) = unused.first::<i64>(conn).optional()? else {
        return Ok(false);
    };
    // Only the request that marks it first has used it.
    diesel::update(recovery_codes::table.find(id))
        .filter(recovery_codes::used_at.is_null())
        .set(recovery_codes::used_at.eq(now))
        .execute(conn)
        .map(|n| n == 1)
}

/// How many unused recovery codes the account has.
pub(crate) fn codes_left(conn: &mut DbConn, user_id: i64) -> QueryResult<i64> {
    recovery_codes::table
        .filter(recovery_codes::user_id.eq(user_id))
        .filter(recovery_codes::used_at.is_null())
        .count()
        .get_result(conn)
}
