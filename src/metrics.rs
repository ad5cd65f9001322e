//! Prometheus metrics (API.md §11): what this process has done since it started, kept by the
//! `prometheus` crate and written in its text exposition format at `GET /metrics`. Counters
//! live in the process, as Prometheus expects: each instance is scraped on its own and the
//! server sums them. What the database knows (live sessions) is a gauge refreshed now and
//! then by a task, never counted per scrape.

use std::sync::LazyLock;
use std::time::Duration;

use prometheus::core::Collector;
use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

/// Every family, registered once for the process.
struct Families {
    registry: Registry,
    requests: IntCounterVec,
    durations: HistogramVec,
    logins: IntCounterVec,
    throttled: IntCounterVec,
    sessions_live: IntGauge,
    pool_connections: IntGaugeVec,
    pool_wait: Histogram,
    hashes_queued: IntGauge,
    mail: IntCounterVec,
}

/// Request latencies from a fast session check (under a millisecond) to a bcrypt login.
const LATENCY_BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];
/// Waits for a database connection: none at all to the 5-second timeout.
const WAIT_BUCKETS: [f64; 9] = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.25, 1.0, 5.0];

/// Registers `collector` in `registry` and hands it back, to be kept and recorded into.
fn register<C: Collector + Clone + 'static>(registry: &Registry, collector: C) -> C {
    // The names are fixed and distinct: registering them cannot fail.
    let _ = registry.register(Box::new(collector.clone()));
    collector
}

static FAMILIES: LazyLock<Families> = LazyLock::new(|| {
    let registry = Registry::new();
    Families {
        requests: register(
            &registry,
            IntCounterVec::new(
                Opts::new("gatehouse_http_requests_total", "HTTP requests answered"),
                &["method", "route", "status"],
            )
            .expect("a valid family"),
        ),
        durations: register(
            &registry,
            HistogramVec::new(
                HistogramOpts::new(
                    "gatehouse_http_request_duration_seconds",
                    "Time from a request's arrival to its answer",
                )
                .buckets(LATENCY_BUCKETS.to_vec()),
                &["method", "route"],
            )
            .expect("a valid family"),
        ),
        logins: register(
            &registry,
            IntCounterVec::new(
                Opts::new("gatehouse_logins_total", "Login attempts by outcome"),
                &["outcome"],
            )
            .expect("a valid family"),
        ),
        throttled: register(
            &registry,
            IntCounterVec::new(
                Opts::new(
                    "gatehouse_throttled_total",
                    "Attempts refused by a throttle (429)",
                ),
                &["kind"],
            )
            .expect("a valid family"),
        ),
        sessions_live: register(
            &registry,
            IntGauge::new(
                "gatehouse_sessions_live",
                "Sessions neither ended nor expired (refreshed every 30 s)",
            )
            .expect("a valid family"),
        ),
        pool_connections: register(
            &registry,
            IntGaugeVec::new(
                Opts::new(
                    "gatehouse_db_pool_connections",
                    "This instance's database connections",
                ),
                &["state"],
            )
            .expect("a valid family"),
        ),
        pool_wait: register(
            &registry,
            Histogram::with_opts(
                HistogramOpts::new(
                    "gatehouse_db_pool_wait_seconds",
                    "Time spent waiting for a database connection",
                )
                .buckets(WAIT_BUCKETS.to_vec()),
            )
            .expect("a valid family"),
        ),
        hashes_queued: register(
            &registry,
            IntGauge::new(
                "gatehouse_password_hashes_queued",
                "Password hashes and checks waiting or running",
            )
            .expect("a valid family"),
        ),
        mail: register(
            &registry,
            IntCounterVec::new(
                Opts::new(
                    "gatehouse_mail_total",
                    "Mail queued, sent, and failed sends",
                ),
                &["outcome"],
            )
            .expect("a valid family"),
        ),
        registry,
    }
});

/// One answered request: `route` is the route's template (`/api/users/<id>`), never the path.
pub(crate) fn request(method: &str, route: &str, status: u16, took: Duration) {
    let status = status.to_string();
    FAMILIES
        .requests
        .with_label_values(&[method, route, &status])
        .inc();
    FAMILIES
        .durations
        .with_label_values(&[method, route])
        .observe(took.as_secs_f64());
}

/// How a login attempt ended: `success`, `bad_password`, `unknown_account`,
/// `account_disabled`, `email_unverified`, `throttled`, `mfa_required`, `mfa_failed`.
pub(crate) fn login(outcome: &str) {
    FAMILIES.logins.with_label_values(&[outcome]).inc();
}

/// A throttle said no: `login`, `password_check`, `signup`, `mail`.
pub(crate) fn throttled(kind: &str) {
    FAMILIES.throttled.with_label_values(&[kind]).inc();
}

/// Live sessions, as the database counted them just now.
pub(crate) fn sessions_live(count: i64) {
    FAMILIES.sessions_live.set(count);
}

/// This instance's pool: connections lent out and idle ones.
pub(crate) fn pool(in_use: u32, idle: u32) {
    let gauge = &FAMILIES.pool_connections;
    gauge.with_label_values(&["in_use"]).set(i64::from(in_use));
    gauge.with_label_values(&["idle"]).set(i64::from(idle));
}

/// One wait for a database connection.
pub(crate) fn pool_wait(took: Duration) {
    FAMILIES.pool_wait.observe(took.as_secs_f64());
}

/// A password hash or check from when it is asked for until it is done (drop the guard).
pub(crate) fn hash_queued() -> HashQueued {
    FAMILIES.hashes_queued.inc();
    HashQueued
}

pub(crate) struct HashQueued;

impl Drop for HashQueued {
    fn drop(&mut self) {
        FAMILIES.hashes_queued.dec();
    }
}

/// A mail `queued`, `sent`, or `failed` (a send that did not go; it is tried again).
pub(crate) fn mail(outcome: &str) {
    FAMILIES.mail.with_label_values(&[outcome]).inc();
}

/// Every family in the text exposition format (version 0.0.4).
pub(crate) fn render() -> String {
    let mut out = Vec::new();
    // Encoding into memory fails only on a malformed family, which the registry refuses.
    let _ = TextEncoder::new().encode(&FAMILIES.registry.gather(), &mut out);
    String::from_utf8(out).unwrap_or_default()
}
