//! Clean-up of what has served its time: sessions that ended long ago, throttle counters
//! nobody has touched for a day, expired links, second-step challenges and personal access
//! tokens, and audit events
//! older than `audit_retention_days`. It runs in the database, so any instance may run it,
//! and several at once do no harm.

use diesel::prelude::*;
use time::Duration;

use crate::auth::sessions::Session;
use crate::auth::{challenge, personal_tokens};
use crate::clock::Clock;
use crate::db::schema::{audit_events, login_throttle, mail_queue, one_time_tokens, sessions};
use crate::db::Db;
use crate::error::{Error, Result};
use crate::settings::Settings;

/// How long an ended session is kept: its address still counts as one the account signed
/// in from (a known device) for this long.
const ENDED_SESSIONS_KEPT: Duration = Duration::days(30);
/// How long after start an instance first cleans up.
pub(crate) const FIRST: std::time::Duration = std::time::Duration::from_secs(60);
/// How often each instance cleans up.
pub(crate) const EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// What one clean-up removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cleaned {
    pub sessions: usize,
    pub counters: usize,
    pub events: usize,
    /// Sent mail (kept a week, its text already wiped) and expired one-time links.
    pub mail: usize,
    pub links: usize,
    /// Logins that never came back for their second step.
    pub challenges: usize,
    /// Personal access tokens past their expiry.
    pub tokens: usize,
}

/// Removes what has served its time, as of `clock`'s now.
pub async fn clean(db: &Db, clock: &Clock, settings: &Settings) -> Result<Cleaned> {
    let now = clock.now();
    let ended = now - ENDED_SESSIONS_KEPT;
    let quiet = now - Duration::seconds(settings.login_failure_window.max(86_400));
    let retention = settings.audit_retention_days;
    db.run(move |c| {
        let sessions = diesel::delete(
            sessions::table.filter(
                sessions::expires_at
                    .lt(ended)
                    .or(sessions::revoked_at.lt(ended)),
            ),
        )
        .execute(c)?;
        let counters = diesel::delete(
            login_throttle::table
                .filter(login_throttle::window_start.lt(quiet))
                .filter(
                    login_throttle::locked_until
                        .is_null()
                        .or(login_throttle::locked_until.lt(quiet)),
                ),
        )
        .execute(c)?;
        let sent = now - Duration::days(7);
        let mail =
            diesel::delete(mail_queue::table.filter(mail_queue::sent_at.lt(sent))).execute(c)?;
        let links =
            diesel::delete(one_time_tokens::table.filter(one_time_tokens::expires_at.lt(now)))
                .execute(c)?;
        let challenges = challenge::purge(c, now)?;
        let tokens = personal_tokens::purge(c, now)?;
        let events = match retention {
            0 => 0,
            days => {
                let oldest = now - Duration::days(days);
                diesel::delete(audit_events::table.filter(audit_events::at.lt(oldest)))
                    .execute(c)?
            }
        };
        Ok::<_, Error>(Cleaned {
            sessions,
            counters,
            events,
            mail,
            links,
            challenges,
            tokens,
        })
    })
    .await
}

/// How often each instance recounts the live sessions for `gatehouse_sessions_live`.
pub(crate) const SESSIONS_COUNTED_EVERY: std::time::Duration = std::time::Duration::from_secs(30);

/// Counts the live sessions and sets the metrics' gauge to it; returns the count.
pub async fn count_live_sessions(db: &Db, clock: &Clock) -> Result<i64> {
    let now = clock.now();
    let live = db
        .run(move |c| Ok::<_, Error>(Session::count_live(c, now)?))
        .await?;
    crate::metrics::sessions_live(live);
    Ok(live)
}
