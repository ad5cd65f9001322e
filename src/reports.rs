//! Figures for the admin dashboard: three queries whatever the number of users (the
//! counts in one pass over an index of `users`, then sign-ups and logins counted by day as
//! index ranges).

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Integer, Text, Timestamp};
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

/// How many rows fell in one span: a day of the thirty (0–29), or the rolling week (30).
#[derive(QueryableByName)]
struct Span {
    #[diesel(sql_type = Integer)]
    span: i32,
    #[diesel(sql_type = BigInt)]
    total: i64,
}

/// The days of the chart; the span after them (number `DAYS`) is the rolling week.
const DAYS: i32 = 30;

/// What is counted by day: sign-ups (accounts by creation) or logins (audit events).
#[derive(Clone, Copy)]
enum Series {
    Signups,
    Logins,
}

impl Series {
    /// The rows counted and the timestamp that places them; both indexed
    /// (`users_created_at`, `audit_events_event`).
    fn source(self) -> (&'static str, &'static str) {
        match self {
            Series::Signups => ("users WHERE", "created_at"),
            Series::Logins => ("audit_events WHERE event = 'login' AND", "at"),
        }
    }

    /// One statement of 31 index range counts (`UNION ALL`): no row is read, grouped or
    /// sorted, whatever the number of accounts. Placeholders are `?` on SQLite, `$n` on
    /// PostgreSQL.
    fn sql(self, postgres: bool) -> String {
        let (from, column) = self.source();
        let mark = |n: usize| {
            if postgres {
                format!("${n}")
            } else {
                "?".to_owned()
            }
        };
        (0..=DAYS as usize)
            .map(|span| {
                let (start, end) = (mark(2 * span + 1), mark(2 * span + 2));
                format!(
                    "SELECT {span} AS span, COUNT(*) AS total FROM {from} \
                     {column} >= {start} AND {column} < {end}"
                )
            })
            .collect::<Vec<_>>()
            .join(" UNION ALL ")
    }
}

/// The counts of `series` in each span: the thirty days from `first`, then the week before
/// `now`.
fn spans(
    conn: &mut DbConn,
    series: Series,
    first: PrimitiveDateTime,
    now: PrimitiveDateTime,
) -> QueryResult<Vec<Span>> {
    let mut bounds: Vec<(PrimitiveDateTime, PrimitiveDateTime)> = (0..i64::from(DAYS))
        .map(|n| (first + Duration::days(n), first + Duration::days(n + 1)))
        .collect();
    bounds.push((now - Duration::days(7), now));
    macro_rules! run {
        ($conn:expr, $backend:ty, $postgres:expr) => {{
            let mut query = diesel::sql_query(series.sql($postgres)).into_boxed::<$backend>();
            for (start, end) in &bounds {
                query = query
                    .bind::<Timestamp, _>(*start)
                    .bind::<Timestamp, _>(*end);
            }
            query.load($conn)
        }};
    }
    match conn {
        DbConn::Postgres(pg) => run!(pg, diesel::pg::Pg, true),
        DbConn::Sqlite(sqlite) => run!(sqlite, diesel::sqlite::Sqlite, false),
    }
}

pub(crate) fn dashboard(conn: &mut DbConn, now: PrimitiveDateTime) -> QueryResult<Dashboard> {
    let today = now.replace_time(time::Time::MIDNIGHT);
    let first = today - Duration::days(i64::from(DAYS - 1));
    let groups: Vec<Group> = match conn {
        DbConn::Postgres(pg) => diesel::sql_query(GROUPS).load(pg)?,
        DbConn::Sqlite(sqlite) => diesel::sql_query(GROUPS).load(sqlite)?,
    };
    let count =
        |keep: &dyn Fn(&Group) -> bool| groups.iter().filter(|g| keep(g)).map(|g| g.accounts).sum();
    let admin = Role::Admin.as_str();
    let signups = spans(conn, Series::Signups, first, now)?;
    let logins = spans(conn, Series::Logins, first, now)?;
    let in_span = |rows: &[Span], span: i32| {
        rows.iter()
            .find(|row| row.span == span)
            .map_or(0, |row| row.total)
    };
    let days = (0..DAYS)
        .map(|n| Day {
            start: first + Duration::days(i64::from(n)),
            signups: in_span(&signups, n),
            logins: in_span(&logins, n),
        })
        .collect();
    Ok(Dashboard {
        users: count(&|_| true),
        active: count(&|g| g.active),
        admins: count(&|g| g.active && g.role == admin),
        admins_mfa: count(&|g| g.active && g.role == admin && g.mfa_enabled),
        members_mfa: count(&|g| g.active && g.role != admin && g.mfa_enabled),
        // The span after the days: the rolling week.
        signups_7d: in_span(&signups, DAYS),
        logins_7d: in_span(&logins, DAYS),
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
