//! Figures for the admin dashboard, each an indexed count.

use diesel::prelude::*;
use time::{Duration, PrimitiveDateTime};

use crate::accounts::model::Role;
use crate::audit::Kind;
use crate::db::schema::{audit_events, users};
use crate::db::DbConn;

/// The dashboard's counts and its daily series.
pub(crate) struct Dashboard {
    pub(crate) users: i64,
    pub(crate) active: i64,
    pub(crate) admins: i64,
    /// Active admins, and active members, with a second factor on.
    pub(crate) admins_mfa: i64,
    pub(crate) members_mfa: i64,
    pub(crate) signups_7d: i64,
    pub(crate) logins_7d: i64,
    /// The last 30 days, oldest first.
    pub(crate) days: Vec<Day>,
}

pub(crate) struct Day {
    pub(crate) start: PrimitiveDateTime,
    pub(crate) signups: i64,
    pub(crate) logins: i64,
}

pub(crate) fn dashboard(conn: &mut DbConn, now: PrimitiveDateTime) -> QueryResult<Dashboard> {
    let week_ago = now - Duration::days(7);
    let today = now.replace_time(time::Time::MIDNIGHT);
    let mut days = Vec::with_capacity(30);
    for back in (0..30).rev() {
        let start = today - Duration::days(back);
        let end = start + Duration::days(1);
        days.push(Day {
            start,
            signups: signups(conn, start, end)?,
            logins: logins(conn, start, end)?,
        });
    }
    Ok(Dashboard {
        users: users::table.count().get_result(conn)?,
        active: users::table
            .filter(users::active.eq(true))
            .count()
            .get_result(conn)?,
        admins: active_with_role(conn, Role::Admin, None)?,
        admins_mfa: active_with_role(conn, Role::Admin, Some(true))?,
        members_mfa: active_with_role(conn, Role::User, Some(true))?,
        signups_7d: signups(conn, week_ago, now)?,
        logins_7d: logins(conn, week_ago, now)?,
        days,
    })
}

/// Active accounts with `role` (and, when given, with a second factor on or off).
fn active_with_role(conn: &mut DbConn, role: Role, mfa: Option<bool>) -> QueryResult<i64> {
    let mut query = users::table
        .filter(users::role.eq(role.as_str()))
        .filter(users::active.eq(true))
        .into_boxed();
    if let Some(mfa) = mfa {
        query = query.filter(users::mfa_enabled.eq(mfa));
    }
    query.count().get_result(conn)
}

/// Accounts created in [from, to).
fn signups(conn: &mut DbConn, from: PrimitiveDateTime, to: PrimitiveDateTime) -> QueryResult<i64> {
    users::table
        .filter(users::created_at.ge(from))
        .filter(users::created_at.lt(to))
        .count()
        .get_result(conn)
}

/// Successful logins in [from, to).
fn logins(conn: &mut DbConn, from: PrimitiveDateTime, to: PrimitiveDateTime) -> QueryResult<i64> {
    audit_events::table
        .filter(audit_events::event.eq(Kind::Login.as_str()))
        .filter(audit_events::at.ge(from))
        .filter(audit_events::at.lt(to))
        .count()
        .get_result(conn)
}
