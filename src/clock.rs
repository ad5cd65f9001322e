//! The time the application runs on. Every expiry, grace period, lock-out and timestamp is
//! measured with one `Clock` per instance, so tests can move time forward instead of
//! rewriting rows; in production it is the system clock, never moved.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use time::{Duration, OffsetDateTime, PrimitiveDateTime};

#[derive(Debug, Clone, Default)]
pub struct Clock {
    /// Microseconds added to the system time (tests only ever move it forward).
    offset: Arc<AtomicI64>,
}

impl Clock {
    /// Now, in UTC.
    pub fn now_utc(&self) -> OffsetDateTime {
        let offset = Duration::microseconds(self.offset.load(Ordering::Relaxed));
        OffsetDateTime::now_utc() + offset
    }

    /// Now, in UTC, at the precision both databases keep (microseconds).
    pub fn now(&self) -> PrimitiveDateTime {
        let now = self.now_utc();
        let micros = now.nanosecond() / 1_000 * 1_000;
        let now = now.replace_nanosecond(micros).unwrap_or(now);
        PrimitiveDateTime::new(now.date(), now.time())
    }

    /// Now, in Unix seconds (token claims).
    pub fn unix(&self) -> i64 {
        self.now_utc().unix_timestamp()
    }

    /// Moves this clock forward, for tests of expiry and lock-outs.
    pub fn advance(&self, by: Duration) {
        let micros = i64::try_from(by.whole_microseconds()).unwrap_or(i64::MAX);
        self.offset.fetch_add(micros, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_advanced_clock_runs_ahead_and_keeps_microseconds() {
        let clock = Clock::default();
        let before = clock.now();
        clock.advance(Duration::hours(2));
        let after = clock.now();
        assert!(after - before >= Duration::hours(2));
        assert!(after - before < Duration::hours(2) + Duration::seconds(5));
        assert_eq!(after.nanosecond() % 1_000, 0);
    }

    #[test]
    fn clones_share_the_time() {
        let clock = Clock::default();
        clock.clone().advance(Duration::days(1));
        assert!(clock.now_utc() - OffsetDateTime::now_utc() > Duration::hours(23));
    }
}
