//! Figures for the admin dashboard: three queries whatever the number of users (the
//! counts in one pass over an index of `users`, then sign-ups and logins grouped by day).

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Text, Timestamp};
use time::{Duration, PrimitiveDateTime};

use crate::accounts::model::Role;
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

/// Accounts by role, state and second factor: a handful of rows, counted in one pass over
/// the index `users_role_active_mfa` alone (the same SQL on both backends).
#[derive(QueryableByName)]
struct Group {
    #[diesel(sql_type = Text)]
    role: String,
    #[diesel(sql_type = Bool)]
    active: bool,
    #[diesel(sql_type = Bool)]
    mfa_enabled: bool,
    #[diesel(sql_type = BigInt)]
    accounts: i64,
}

const GROUPS: &str = "SELECT role, active, mfa_enabled, COUNT(*) AS accounts FROM users \
                      GROUP BY role, active, mfa_enabled";

/// How many rows fell on one day (`YYYY-MM-DD`, UTC), and how many of them in the last
/// seven days (a rolling week, not whole days).
#[derive(QueryableByName)]
struct PerDay {
    #[diesel(sql_type = Text)]
    day: String,
    #[diesel(sql_type = BigInt)]
    total: i64,
    #[diesel(sql_type = BigInt)]
    last_week: i64,
}

/// What is counted by day: sign-ups (accounts by creation) or logins (audit events).
#[derive(Clone, Copy)]
enum Series {
    Signups,
    Logins,
}

impl Series {
    /// The query for each backend: `$1`/`?` the start of the week, then of the 30 days.
    /// Written per backend because they name a timestamp's day differently; the column is
    /// indexed in both (`users_created_at`, `audit_events_event`).
    fn sql(self, postgres: bool) -> &'static str {
        match (self, postgres) {
            (Series::Signups, false) => {
                "SELECT substr(created_at, 1, 10) AS day, COUNT(*) AS total, \
                 SUM(created_at >= ?) AS last_week \
                 FROM users WHERE created_at >= ? GROUP BY day"
            }
            (Series::Logins, false) => {
                "SELECT substr(at, 1, 10) AS day, COUNT(*) AS total, \
                 SUM(at >= ?) AS last_week \
                 FROM audit_events WHERE event = 'login' AND at >= ? GROUP BY day"
            }
            (Series::Signups, true) => {
                "SELECT to_char(created_at, 'YYYY-MM-DD') AS day, COUNT(*) AS total, \
                 COUNT(*) FILTER (WHERE created_at >= $1) AS last_week \
                 FROM users WHERE created_at >= $2 GROUP BY 1"
            }
            (Series::Logins, true) => {
                "SELECT to_char(at, 'YYYY-MM-DD') AS day, COUNT(*) AS total, \
                 COUNT(*) FILTER (WHERE at >= $1) AS last_week \
                 FROM audit_events WHERE event = 'login' AND at >= $2 GROUP BY 1"
            }
        }
    }
}

fn per_day(
    conn: &mut DbConn,
    series: Series,
    week_ago: PrimitiveDateTime,
    from: PrimitiveDateTime,
) -> QueryResult<Vec<PerDay>> {
    let query = |postgres| {
        diesel::sql_query(series.sql(postgres))
            .bind::<Timestamp, _>(week_ago)
            .bind::<Timestamp, _>(from)
    };
    match conn {
        DbConn::Postgres(pg) => query(true).load(pg),
        DbConn::Sqlite(sqlite) => query(false).load(sqlite),
    }
}

pub(crate) fn dashboard(conn: &mut DbConn, now: PrimitiveDateTime) -> QueryResult<Dashboard> {
    let today = now.replace_time(time::Time::MIDNIGHT);
    let first = today - Duration::days(29);
    let week_ago = now - Duration::days(7);
    let groups: Vec<Group> = match conn {
        DbConn::Postgres(pg) => diesel::sql_query(GROUPS).load(pg)?,
        DbConn::Sqlite(sqlite) => diesel::sql_query(GROUPS).load(sqlite)?,
    };
    let count =
        |keep: &dyn Fn(&Group) -> bool| groups.iter().filter(|g| keep(g)).map(|g| g.accounts).sum();
    let admin = Role::Admin.as_str();
    let signups = per_day(conn, Series::Signups, week_ago, first)?;
    let logins = per_day(conn, Series::Logins, week_ago, first)?;
    let on = |rows: &[PerDay], day: &str| {
        rows.iter()
            .find(|row| row.day == day)
            .map_or(0, |row| row.total)
    };
    let days = (0..30)
        .map(|n| {
            let start = first + Duration::days(n);
            let day = start.date().to_string();
            Day {
                start,
                signups: on(&signups, &day),
                logins: on(&logins, &day),
            }
        })
        .collect();
    let last_week = |rows: &[PerDay]| rows.iter().map(|row| row.last_week).sum();
    Ok(Dashboard {
        users: count(&|_| true),
        active: count(&|g| g.active),
        admins: count(&|g| g.active && g.role == admin),
        admins_mfa: count(&|g| g.active && g.role == admin && g.mfa_enabled),
        members_mfa: count(&|g| g.active && g.role != admin && g.mfa_enabled),
        signups_7d: last_week(&signups),
        logins_7d: last_week(&logins),
        days,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use diesel::connection::{Connection, InstrumentationEvent};

    use super::*;
    use crate::db::{DatabaseUrl, Db};

    /// Three statements, whatever the number of users and days (it was 65).
    #[test]
    fn the_dashboard_takes_three_queries() {
        let dir = tempfile::tempdir().expect("a directory");
        let url = DatabaseUrl::Sqlite(dir.path().join("reports.db"));
        let timeout = std::time::Duration::from_secs(5);
        let db = Db::connect(&url, 1, timeout, false).expect("a database");
        db.migrate().expect("migrations");
        let queries = Arc::new(AtomicUsize::new(0));
        let counter = queries.clone();
        let now = crate::clock::Clock::default().now();
        let report = db
            .at_start(move |c| {
                c.set_instrumentation(move |event: InstrumentationEvent<'_>| {
                    if let InstrumentationEvent::StartQuery { .. } = event {
                        counter.fetch_add(1, Ordering::SeqCst);
                    }
                });
                dashboard(c, now)
            })
            .expect("the report");
        assert_eq!(queries.load(Ordering::SeqCst), 3);
        assert_eq!((report.users, report.days.len()), (0, 30));
    }
}
