//! Throttling of logins and sign-ups, counted in the database so every instance sees the same
//! numbers. Past a limit a key is locked for a while that doubles with each lock-out, up to a
//! day.
//!
//! An attempt is *reserved* before the password is checked: one transaction that first takes
//! the key's row for writing (`INSERT … ON CONFLICT … DO UPDATE … RETURNING`: the row lock on
//! PostgreSQL, the write lock on SQLite), so parallel reservations of one key run one after
//! another and N parallel guesses never check more than the limit. A locked key is not
//! counted further, so each lock-out period escalates at most once. A successful attempt
//! gives its reservation back.
//!
//! Which keys a login counts against is `auth::login`'s choice (see the README's lock-out
//! model): strangers by the identifier they typed, known devices by account and device, and
//! every attempt by its client address.

use diesel::prelude::*;
use diesel::upsert::excluded;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use time::{Duration, PrimitiveDateTime};

use crate::db::schema::login_throttle;
use crate::db::{self, DbConn};
use crate::error::{Error, Result};
use crate::settings::Settings;

/// The longest lock-out.
const MAX_LOCKOUT: i64 = 86_400;

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

    /// Reset mails one account, or one client address, may ask for: `mail_per_hour`.
    pub(crate) fn mail(settings: &Settings) -> Self {
        Limit {
            max: settings.mail_per_hour,
            window: 3600,
            lockout: 3600,
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

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = login_throttle)]
#[diesel(treat_none_as_null = true)]
struct Counter {
    key: String,
    failures: i32,
    window_start: PrimitiveDateTime,
    locked_until: Option<PrimitiveDateTime>,
    lockouts: i32,
}

/// What a reservation got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reserved {
    /// The attempt may go ahead; it counts unless given back. `left`: how many more may
    /// fail before the key locks (0: this one locked it if it fails).
    Allowed { left: i32 },
    /// The key is locked for this many more seconds; nothing was counted.
    Locked(i64),
}

/// Makes the keys of identifiers as strangers typed them. The key is a keyed hash (HMAC
/// with a secret derived from `secret_key`), never the text: a user who types their
/// password into the username box must not leave it in a table.
#[derive(Clone)]
pub(crate) struct Keyer {
    secret: [u8; 32],
}

impl Keyer {
    /// A keyer whose secret is derived from the application's `secret_key`.
    pub(crate) fn new(secret_key: &str) -> Self {
        let mut digest = Sha256::new();
        digest.update(b"gatehouse throttle keys\0");
        digest.update(secret_key.as_bytes());
        Keyer {
            secret: digest.finalize().into(),
        }
    }

    /// The key of an identifier (normalised as it is looked up, then lower-cased), whether
    /// or not an account has it: strangers get the same answers for every identifier.
    pub(crate) fn typed(&self, identifier: &str) -> String {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.secret) else {
            // HMAC takes a key of any length: this never happens.
            return format!("login:{}", identifier.len());
        };
        mac.update(identifier.to_lowercase().as_bytes());
        let hash = mac.finalize().into_bytes();
        let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
        format!("login:{hex}")
    }
}

/// The key of an account as one known device (a browser or an address that has signed in
/// to it before) uses it.
pub(crate) fn device_key(account: &str, device: &str) -> String {
    format!("account:{account}:{device}")
}

/// The key of an account's current-password checks (password and email changes): a
/// stolen session must not be a way to guess the password.
pub(crate) fn password_key(account: &str) -> String {
    format!("password:{account}")
}

/// The key of a client address: IPv4 as it is, IPv6 by its network of `v6_prefix` bits
/// (one /64 holds 2^64 addresses, one key each would be no limit at all).
pub(crate) fn address_key(ip: Option<&str>, v6_prefix: u8) -> String {
    format!("ip:{}", network(ip, v6_prefix))
}

/// The keys of mail asked for: per account, and per client address (keyed as
/// [`address_key`] is).
pub(crate) fn mail_keys(account: Option<&str>, ip: Option<&str>, v6_prefix: u8) -> Vec<String> {
    let address = format!("mail:{}", network(ip, v6_prefix));
    let account = account.map(|account| format!("mail:account:{account}"));
    std::iter::once(address).chain(account).collect()
}

/// The key of sign-ups from a client address, keyed as [`address_key`] is.
pub(crate) fn signup_key(ip: Option<&str>, v6_prefix: u8) -> String {
    format!("signup:{}", network(ip, v6_prefix))
}

fn network(ip: Option<&str>, v6_prefix: u8) -> String {
    match ip.map(str::parse::<std::net::IpAddr>) {
        Some(Ok(std::net::IpAddr::V6(v6))) => {
            let bits = u32::from(v6_prefix.min(128));
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            let network = std::net::Ipv6Addr::from(u128::from(v6) & mask);
            format!("{network}/{bits}")
        }
        Some(Ok(v4)) => v4.to_string(),
        Some(Err(_)) | None => "unknown".to_owned(),
    }
}

/// Reserves one attempt against `key`: counted at once, atomically, before the attempt is
/// made; refused without counting while the key is locked.
pub(crate) fn reserve(
    conn: &mut DbConn,
    key: &str,
    limit: Limit,
    now: PrimitiveDateTime,
) -> Result<Reserved> {
    db::write_transaction::<_, Error, _>(conn, |c| {
        let current = lock_row(c, key, now)?;
        if let Some(seconds) = locked(&current, now) {
            return Ok(Reserved::Locked(seconds));
        }
        let counted = next(Some(&current), key, limit, now);
        diesel::update(login_throttle::table.find(key))
            .set(&counted)
            .execute(c)?;
        // A count that just locked the key starts again at zero: nothing is left.
        let left = if counted.locked_until.is_some_and(|until| until > now) {
            0
        } else {
            (limit.max - counted.failures).max(0)
        };
        Ok(Reserved::Allowed { left })
    })
}

/// Reserves one attempt against every key, or none: when one is locked, the others' are
/// given back and the longest wait is returned.
pub(crate) fn reserve_all(
    conn: &mut DbConn,
    keys: &[(&str, Limit)],
    now: PrimitiveDateTime,
) -> Result<Reserved> {
    let mut reserved = Vec::new();
    let (mut wait, mut fewest) = (0, i32::MAX);
    for (key, limit) in keys {
        match reserve(conn, key, *limit, now)? {
            Reserved::Allowed { left } => {
                reserved.push(*key);
                fewest = fewest.min(left);
            }
            Reserved::Locked(seconds) => wait = wait.max(seconds),
        }
    }
    if wait == 0 {
        return Ok(Reserved::Allowed { left: fewest });
    }
    for key in reserved {
        give_back(conn, key)?;
    }
    Ok(Reserved::Locked(wait))
}

/// Gives a reserved attempt back (it succeeded, or never took place).
pub(crate) fn give_back(conn: &mut DbConn, key: &str) -> QueryResult<()> {
    diesel::update(login_throttle::table.find(key))
        .filter(login_throttle::failures.gt(0))
        .set(login_throttle::failures.eq(login_throttle::failures - 1))
        .execute(conn)
        .map(|_| ())
}

/// Takes `key`'s row for writing, creating it when missing, and returns it as it is.
fn lock_row(conn: &mut DbConn, key: &str, now: PrimitiveDateTime) -> QueryResult<Counter> {
    let fresh = Counter {
        key: key.to_owned(),
        failures: 0,
        window_start: now,
        locked_until: None,
        lockouts: 0,
    };
    let upsert = diesel::insert_into(login_throttle::table)
        .values(&fresh)
        .on_conflict(login_throttle::key)
        .do_update()
        .set(login_throttle::key.eq(excluded(login_throttle::key)))
        .returning(login_throttle::all_columns);
    // Diesel writes ON CONFLICT for each backend, not for the two at once.
    match conn {
        DbConn::Postgres(pg) => upsert.get_result(pg),
        DbConn::Sqlite(sqlite) => upsert.get_result(sqlite),
    }
}

/// Seconds until the longest lock of `keys` ends, if any is locked.
pub(crate) fn locked_for(
    conn: &mut DbConn,
    keys: &[String],
    now: PrimitiveDateTime,
) -> QueryResult<Option<i64>> {
    let until: Option<PrimitiveDateTime> = login_throttle::table
        .filter(login_throttle::key.eq_any(keys))
        .filter(login_throttle::locked_until.gt(now))
        .select(diesel::dsl::max(login_throttle::locked_until))
        .first(conn)?;
    Ok(until.map(|until| retry_after(until, now)))
}

/// The keys of an account's known devices.
pub(crate) fn device_keys(conn: &mut DbConn, account: &str) -> QueryResult<Vec<String>> {
    let prefix = device_key(account, "");
    login_throttle::table
        .filter(login_throttle::key.like(format!("{prefix}%")))
        .select(login_throttle::key)
        .load(conn)
}

/// Forgets keys (a successful login, or an admin clearing a lock-out).
pub(crate) fn clear(conn: &mut DbConn, keys: &[String]) -> QueryResult<()> {
    diesel::delete(login_throttle::table.filter(login_throttle::key.eq_any(keys)))
        .execute(conn)
        .map(|_| ())
}

fn locked(counter: &Counter, now: PrimitiveDateTime) -> Option<i64> {
    let until = counter.locked_until.filter(|until| *until > now)?;
    Some(retry_after(until, now))
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
    fn keys_name_what_they_count() {
        let keyer = Keyer::new("a secret");
        let typed = keyer.typed("Alice@Example.com");
        assert_eq!(
            typed,
            keyer.typed("alice@example.com"),
            "case does not matter"
        );
        assert!(
            typed.starts_with("login:") && !typed.contains("alice"),
            "{typed}"
        );
        assert_ne!(
            typed,
            Keyer::new("another secret").typed("alice@example.com")
        );
        assert_eq!(
            device_key("id-1", "ip:10.0.0.1"),
            "account:id-1:ip:10.0.0.1"
        );
        assert_eq!(address_key(None, 64), "ip:unknown");
        assert_eq!(address_key(Some("192.0.2.7"), 64), "ip:192.0.2.7");
        let v6 = |ip| address_key(Some(ip), 64);
        assert_eq!(v6("2001:db8:1:2:aaaa::1"), "ip:2001:db8:1:2::/64");
        assert_eq!(v6("2001:db8:1:2:bbbb::9"), v6("2001:db8:1:2:aaaa::1"));
        assert_ne!(v6("2001:db8:1:3::1"), v6("2001:db8:1:2::1"));
        assert_eq!(address_key(Some("2001:db8::1"), 128), "ip:2001:db8::1/128");
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
