//! Session rows: one per login, the thing every token is checked against.
//!
//! A refresh rotates the stored fingerprint with a compare-and-swap update, so two racing
//! refreshes with the same token cannot both win.

use diesel::prelude::*;
use time::{Duration, PrimitiveDateTime};

use crate::accounts::model::User;
use crate::db::schema::{sessions, users};
use crate::db::DbConn;

/// `last_seen_at` is refreshed at most this often, so reads do not all turn into writes.
const TOUCH_INTERVAL: Duration = Duration::minutes(1);

/// How long after its password was checked a session may take over or delete its account
/// without the password again (GitHub's "sudo mode", ASVS 3.7.1): a stolen long-lived
/// refresh token alone cannot.
pub(crate) const RECENT_SIGN_IN: Duration = Duration::minutes(10);

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sessions)]
pub(crate) struct Session {
    pub(crate) id: i64,
    pub(crate) public_id: String,
    pub(crate) created_at: PrimitiveDateTime,
    pub(crate) last_seen_at: PrimitiveDateTime,
    pub(crate) expires_at: PrimitiveDateTime,
    pub(crate) revoked_at: Option<PrimitiveDateTime>,
    pub(crate) user_agent: Option<String>,
    pub(crate) ip: Option<String>,
    pub(crate) refresh_hash: String,
    pub(crate) previous_refresh_hash: Option<String>,
    pub(crate) refreshed_at: Option<PrimitiveDateTime>,
    pub(crate) csrf_token: String,
    /// The sign-in that opened it passed a second factor.
    pub(crate) mfa: bool,
}

#[derive(Insertable)]
#[diesel(table_name = sessions)]
pub(crate) struct NewSession<'a> {
    pub(crate) public_id: &'a str,
    pub(crate) user_id: i64,
    pub(crate) created_at: PrimitiveDateTime,
    pub(crate) last_seen_at: PrimitiveDateTime,
    pub(crate) expires_at: PrimitiveDateTime,
    pub(crate) user_agent: Option<&'a str>,
    pub(crate) ip: Option<&'a str>,
    pub(crate) refresh_hash: &'a str,
    pub(crate) csrf_token: &'a str,
    pub(crate) mfa: bool,
}

impl Session {
    pub(crate) fn insert(conn: &mut DbConn, new: &NewSession<'_>) -> QueryResult<()> {
        diesel::insert_into(sessions::table)
            .values(new)
            .execute(conn)
            .map(|_| ())
    }

    /// The session and its user, whatever their state (the caller decides what is live).
    pub(crate) fn find_with_user(
        conn: &mut DbConn,
        public_id: &str,
    ) -> QueryResult<Option<(Session, User)>> {
        // Unique: no `LIMIT ?`. SQLite (built with STAT4) re-prepares a statement whose
        // plan may depend on a bound value each time the value changes, and a bound LIMIT
        // made this, the query of every request, parse anew every time. Run on the typed
        // connection, it is found in the statement cache by its type alone (through
        // `DbConn` its SQL text would be written out first, on every request).
        macro_rules! lookup {
            ($conn:expr) => {
                sessions::table
                    .inner_join(users::table)
                    .filter(sessions::public_id.eq(public_id))
                    .select((Session::as_select(), User::as_select()))
                    .get_result($conn)
                    .optional()
            };
        }
        match conn {
            DbConn::Sqlite(sqlite) => lookup!(sqlite),
            DbConn::Postgres(pg) => lookup!(pg),
        }
    }

    /// Sessions and their users by public id, many at once (on PostgreSQL `= ANY($1)`: one
    /// prepared statement whatever their number), for [`crate::db::batch::Batch`].
    pub(crate) fn find_many_with_user(
        conn: &mut DbConn,
        public_ids: &[String],
    ) -> QueryResult<Vec<(String, (Session, User))>> {
        macro_rules! lookup {
            ($conn:expr) => {
                sessions::table
                    .inner_join(users::table)
                    .filter(sessions::public_id.eq_any(public_ids))
                    .select((Session::as_select(), User::as_select()))
                    .load::<(Session, User)>($conn)
            };
        }
        let found = match conn {
            DbConn::Sqlite(sqlite) => lookup!(sqlite)?,
            DbConn::Postgres(pg) => lookup!(pg)?,
        };
        Ok(found
            .into_iter()
            .map(|(session, user)| (session.public_id.clone(), (session, user)))
            .collect())
    }

    pub(crate) fn is_live(&self, now: PrimitiveDateTime) -> bool {
        self.revoked_at.is_none() && self.expires_at > now
    }

    /// Whether the password was checked lately: every session starts with a password check
    /// (login, sign-up, a changed password), and refreshes keep its start.
    pub(crate) fn signed_in_recently(&self, now: PrimitiveDateTime) -> bool {
        now - self.created_at < RECENT_SIGN_IN
    }

    /// Whether activity is due to be recorded (at most once per `TOUCH_INTERVAL`).
    pub(crate) fn needs_touch(&self, now: PrimitiveDateTime) -> bool {
        now - self.last_seen_at >= TOUCH_INTERVAL
    }

    /// Records activity now.
    pub(crate) fn touch(&self, conn: &mut DbConn, now: PrimitiveDateTime) -> QueryResult<()> {
        diesel::update(sessions::table.find(self.id))
            .set(sessions::last_seen_at.eq(now))
            .execute(conn)
            .map(|_| ())
    }

    /// Whether the user has signed in from this address before (any session, ended or not).
    pub(crate) fn seen_from(conn: &mut DbConn, user_id: i64, ip: &str) -> QueryResult<bool> {
        diesel::select(diesel::dsl::exists(
            sessions::table
                .filter(sessions::user_id.eq(user_id))
                .filter(sessions::ip.eq(ip)),
        ))
        .get_result(conn)
    }

    /// How many sessions of all accounts are live at `now`.
    pub(crate) fn count_live(conn: &mut DbConn, now: PrimitiveDateTime) -> QueryResult<i64> {
        sessions::table
            .filter(sessions::revoked_at.is_null())
            .filter(sessions::expires_at.gt(now))
            .count()
            .get_result(conn)
    }

    /// Live sessions of a user, newest first.
    pub(crate) fn list_live(
        conn: &mut DbConn,
        user_id: i64,
        now: PrimitiveDateTime,
    ) -> QueryResult<Vec<Session>> {
        sessions::table
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::revoked_at.is_null())
            .filter(sessions::expires_at.gt(now))
            .select(Session::as_select())
            .order((sessions::created_at.desc(), sessions::id.desc()))
            .load(conn)
    }

    /// Records that the session passed a second factor (the one that turned it on).
    pub(crate) fn mark_second_factor(conn: &mut DbConn, id: i64) -> QueryResult<()> {
        diesel::update(sessions::table.find(id))
            .set(sessions::mfa.eq(true))
            .execute(conn)
            .map(|_| ())
    }

    /// Ends one session; returns whether it was live.
    pub(crate) fn revoke(conn: &mut DbConn, id: i64, now: PrimitiveDateTime) -> QueryResult<bool> {
        diesel::update(sessions::table.find(id))
            .filter(sessions::revoked_at.is_null())
            .set(sessions::revoked_at.eq(now))
            .execute(conn)
            .map(|n| n > 0)
    }

    /// Ends every session of a user but `keep`; returns how many ended.
    pub(crate) fn revoke_all(
        conn: &mut DbConn,
        user_id: i64,
        keep: Option<i64>,
        now: PrimitiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(sessions::table)
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::revoked_at.is_null())
            .filter(sessions::id.ne(keep.unwrap_or(-1)))
            .set(sessions::revoked_at.eq(now))
            .execute(conn)
    }

    /// Replaces the current refresh fingerprint `old` by `new`; false when `old` is no
    /// longer current (another refresh won the race).
    pub(crate) fn rotate(
        &self,
        conn: &mut DbConn,
        new: &str,
        now: PrimitiveDateTime,
        expires_at: PrimitiveDateTime,
    ) -> QueryResult<bool> {
        diesel::update(sessions::table.find(self.id))
            .filter(sessions::refresh_hash.eq(&self.refresh_hash))
            .filter(sessions::revoked_at.is_null())
            .set((
                sessions::refresh_hash.eq(new),
                sessions::previous_refresh_hash.eq(&self.refresh_hash),
                sessions::refreshed_at.eq(now),
                sessions::last_seen_at.eq(now),
                sessions::expires_at.eq(expires_at),
            ))
            .execute(conn)
            .map(|n| n > 0)
    }
}
