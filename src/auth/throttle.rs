//! Throttling of logins and sign-ups, counted in the database so every instance sees the same
//! numbers. Failed logins count against the account (unknown names too, under the name typed,
//! so a lock-out reveals nothing about which accounts exist) and against the client address;
//! past a limit the key is locked for a while that doubles with each lock-out, up to a day.

use diesel::prelude::*;
use time::{Duration, PrimitiveDateTime};

use crate::db::schema::login_throttle;
use crate::db::{is_unique_violation, DbConn};
use crate::error::{Error, Result};
use crate::settings::Settings;

/// The longest lock-out.
const MAX_LOCKOUT: i64 = 86_400;
/// Attempts at a contended counter before giving up (another request counted meanwhile).
const TRIES: usize = 5;

/// How many events a key may see in a window, and how long it is locked after.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limit {
    pub(crate) max: i32,
    pub(crate) window: i64,
    pub(crate) lockout: i64,
}

impl Limit {
    /// Failed logins allowed per account.
    pub(crate) fn login(settings: &Settings) -> Self {
        Limit {
            max: settings.login_max_failures,
            window: settings.login_failure_window,
            lockout: settings.login_lockout,
        }
    }

    /// Failed logins allowed per client address.
    pub(crate) fn address(settings: &Settings) -> Self {
        Limit {
            max: settings.login_ip_max_failures,
            ..Self::login(settings)
        }
    }

    /// Sign-ups allowed per client address: `signups_per_hour`, then locked to the hour's end.
    pub(crate) fn signup(settings: &Settings) -> Self {
        Limit {
            max: settings.signups_per_hour,
            window: 3600,
            lockout: 3600,
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = login_throttle)]
struct Counter {
    key: String,
    failures: i32,
    window_start: PrimitiveDateTime,
    locked_until: Option<PrimitiveDateTime>,
    lockouts: i32,
}

/// The key of an account: its id when it exists, else the name as typed (lower case, without
/// control characters, which PostgreSQL refuses, and cut at an email's longest length).
pub(crate) fn account_key(public_id: Option<&str>, typed: &str) -> String {
    match public_id {
        Some(id) => format!("account:{id}"),
        None => {
            let typed: String = typed
                .trim()
                .chars()
                .filter(|c| !c.is_control())
                .take(254)
                .collect();
            format!("account:?{}", typed.to_lowercase())
        }
    }
}

pub(crate) fn address_key(ip: Option<&str>) -> String {
    format!("ip:{}", ip.unwrap_or("unknown"))
}

pub(crate) fn signup_key(ip: Option<&str>) -> String {
    format!("signup:{}", ip.unwrap_or("unknown"))
}

/// Refuses with 429 while any of `keys` is locked, saying for how long.
pub(crate) fn check(conn: &mut DbConn, keys: &[String], now: PrimitiveDateTime) -> Result<()> {
    let until: Option<PrimitiveDateTime> = login_throttle::table
        .filter(login_throttle::key.eq_any(keys))
        .filter(login_throttle::locked_until.gt(now))
        .select(diesel::dsl::max(login_throttle::locked_until))
        .first::<Option<PrimitiveDateTime>>(conn)?;
    match until {
        Some(until) => Err(Error::TooManyRequests(retry_after(until, now))),
        None => Ok(()),
    }
}

/// Seconds until a key is unlocked, if it is locked.
pub(crate) fn locked_for(
    conn: &mut DbConn,
    key: &str,
    now: PrimitiveDateTime,
) -> QueryResult<Option<i64>> {
    let until = login_throttle::table
        .find(key)
        .select(login_throttle::locked_until)
        .first::<Option<PrimitiveDateTime>>(conn)
        .optional()?
        .flatten();
    Ok(until.filter(|u| *u > now).map(|u| retry_after(u, now)))
}

/// Counts one event against `key`, locking it when the limit is reached. Written as a
/// compare-and-swap, retried a few times; a count that still loses the race is dropped
/// (issue 12 replaces this with one atomic statement).
pub(crate) fn count(
    conn: &mut DbConn,
    key: &str,
    limit: Limit,
    now: PrimitiveDateTime,
) -> QueryResult<()> {
    for _ in 0..TRIES {
        let current = login_throttle::table
            .find(key)
            .select(Counter::as_select())
            .first(conn)
            .optional()?;
        let done = match current {
            None => insert(conn, &next(None, key, limit, now))?,
            Some(old) => swap(conn, &old, &next(Some(&old), key, limit, now))?,
        };
        if done {
            return Ok(());
        }
    }
    Ok(())
}

/// Forgets a key (a successful login, or an admin clearing a lock-out).
pub(crate) fn clear(conn: &mut DbConn, key: &str) -> QueryResult<()> {
    diesel::delete(login_throttle::table.find(key))
        .execute(conn)
        .map(|_| ())
}

fn next(old: Option<&Counter>, key: &str, limit: Limit, now: PrimitiveDateTime) -> Counter {
    let window = Duration::seconds(limit.window);
    let mut counter = match old {
        Some(old) if now - old.window_start <= window => old.clone(),
        Some(old) => {
            // A quiet window after the last lock-out forgives the earlier ones.
            let forgiven = old.locked_until.is_none_or(|u| now - u > window);
            Counter {
                failures: 0,
                window_start: now,
                lockouts: if forgiven { 0 } else { old.lockouts },
                ..old.clone()
            }
        }
        None => Counter {
            key: key.to_owned(),
            failures: 0,
            window_start: now,
            locked_until: None,
            lockouts: 0,
        },
    };
    counter.failures += 1;
    if counter.failures >= limit.max {
        let doubled = limit
            .lockout
            .saturating_mul(1 << counter.lockouts.clamp(0, 20));
        counter.locked_until = Some(now + Duration::seconds(doubled.min(MAX_LOCKOUT)));
        counter.lockouts += 1;
        counter.failures = 0;
        counter.window_start = now;
    }
    counter
}

fn insert(conn: &mut DbConn, counter: &Counter) -> QueryResult<bool> {
    let inserted = diesel::insert_into(login_throttle::table)
        .values((
            login_throttle::key.eq(&counter.key),
            login_throttle::failures.eq(counter.failures),
            login_throttle::window_start.eq(counter.window_start),
            login_throttle::locked_until.eq(counter.locked_until),
            login_throttle::lockouts.eq(counter.lockouts),
        ))
        .execute(conn);
    match inserted {
        Ok(_) => Ok(true),
        Err(e) if is_unique_violation(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

fn swap(conn: &mut DbConn, old: &Counter, new: &Counter) -> QueryResult<bool> {
    diesel::update(login_throttle::table.find(&old.key))
        .filter(login_throttle::failures.eq(old.failures))
        .filter(login_throttle::window_start.eq(old.window_start))
        .filter(login_throttle::lockouts.eq(old.lockouts))
        .set((
            login_throttle::failures.eq(new.failures),
            login_throttle::window_start.eq(new.window_start),
            login_throttle::locked_until.eq(new.locked_until),
            login_throttle::lockouts.eq(new.lockouts),
        ))
        .execute(conn)
        .map(|n| n == 1)
}

fn retry_after(until: PrimitiveDateTime, now: PrimitiveDateTime) -> i64 {
    let micros = (until - now).whole_microseconds();
    ((micros + 999_999) / 1_000_000).max(1) as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const LIMIT: Limit = Limit {
        max: 3,
        window: 900,
        lockout: 60,
    };

    fn failures(times: &[PrimitiveDateTime]) -> Counter {
        let mut counter: Option<Counter> = None;
        for at in times {
            counter = Some(next(counter.as_ref(), "k", LIMIT, *at));
        }
        counter.unwrap_or_else(|| next(None, "k", LIMIT, datetime!(2026-01-01 0:00)))
    }

    #[test]
    fn the_limit_locks_for_the_first_lockout() {
        let start = datetime!(2026-01-01 12:00);
        let below = failures(&[start, start]);
        assert_eq!((below.failures, below.locked_until), (2, None));
        let locked = failures(&[start, start, start]);
        assert_eq!(locked.locked_until, Some(start + Duration::seconds(60)));
        assert_eq!((locked.failures, locked.lockouts), (0, 1));
    }

    #[test]
    fn each_further_lockout_doubles_up_to_a_day() {
        let mut counter: Option<Counter> = None;
        let mut at = datetime!(2026-01-01 12:00);
        let mut lockouts = Vec::new();
        for _ in 0..12 {
            for _ in 0..3 {
                counter = Some(next(counter.as_ref(), "k", LIMIT, at));
            }
            let until = counter.as_ref().and_then(|c| c.locked_until);
            let until = until.unwrap_or(at);
            lockouts.push((until - at).whole_seconds());
            at = until + Duration::seconds(1);
        }
        assert_eq!(&lockouts[..4], &[60, 120, 240, 480]);
        assert_eq!(lockouts.last(), Some(&MAX_LOCKOUT));
    }

    #[test]
    fn a_quiet_window_forgives_earlier_lockouts() {
        let start = datetime!(2026-01-01 12:00);
        let locked = failures(&[start, start, start]);
        let much_later = start + Duration::hours(2);
        let after = next(Some(&locked), "k", LIMIT, much_later);
        assert_eq!((after.failures, after.lockouts), (1, 0));
        let soon = start + Duration::seconds(90);
        let after = next(Some(&locked), "k", LIMIT, soon);
        assert_eq!(after.lockouts, 1, "not forgiven within the window");
    }

    #[test]
    fn unknown_names_are_keyed_as_typed_in_lower_case_without_controls() {
        assert_eq!(account_key(Some("id-1"), "Alice"), "account:id-1");
        assert_eq!(account_key(None, " Alice\u{7}"), "account:?alice");
        assert_eq!(
            retry_after(datetime!(2026-01-01 0:01), datetime!(2026-01-01 0:00)),
            60
        );
        let almost = datetime!(2026-01-01 0:00:00.5);
        assert_eq!(
            retry_after(almost, datetime!(2026-01-01 0:00)),
            1,
            "rounded up"
        );
    }
}
