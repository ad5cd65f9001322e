//! Gatehouse: self-hosted user accounts with server-rendered pages and a JSON API, backed by
//! database sessions so that every sign-out and admin action takes effect at once.
//!
//! [`rocket`] builds the whole application from a figment; `main.rs` and the tests both call
//! it. `docs/ARCHITECTURE.md` says which module may use which.

pub mod accounts;
mod api;
pub mod app;
pub mod audit;
pub mod auth;
pub mod backup;
mod blocking;
mod bucketlists;
pub mod clock;
pub mod db;
pub mod error;
mod forward_auth;
mod headers;
mod http;
pub mod logs;
pub mod mail;
pub mod maintenance;
mod metrics;
pub mod mfa;
mod observe;
mod operations;
mod params;
mod reports;
pub mod secrets;
pub mod settings;
mod web;

use rocket::fairing::AdHoc;
use rocket::figment::Figment;
use rocket::{Build, Rocket};

pub use crate::app::{App, Prepared, StartError};
pub use crate::settings::{defaults, figment};

/// Builds the application from settings: the real thing, for `main` and for tests alike.
pub fn rocket(figment: Figment) -> Result<Rocket<Build>, StartError> {
    let Prepared {
        app,
        figment,
        notes,
    } = App::prepare_to_serve(figment)?;
    let hasher = app.hasher.clone();
    let hsts = app.settings.cookie_secure;
    let guessing_links = app.settings.public_url.is_none();
    let cleaning = (app.db.clone(), app.clock.clone(), app.settings.clone());
    let counting = (app.db.clone(), app.clock.clone());
    let delivering = (app.db.clone(), app.clock.clone(), app.mailer.clone());
    let templates = web::templates(&app.settings);
    // An IPv6 host cannot stand in a CSP source list; `forward_auth_domains` has none.
    let public_host = Some(app.mailer.host()).filter(|host| !host.starts_with('['));
    let mut app_hosts: Vec<&str> = public_host.into_iter().collect();
    app_hosts.extend(app.settings.forward_auth_domains.iter().map(String::as_str));
    let security_headers = headers::SecurityHeaders::new(hsts, &app_hosts);
    Ok(rocket::custom(figment)
        .manage(app)
        .attach(templates)
        .attach(security_headers)
        .attach(observe::Observe)
        .attach(api::stage())
        .attach(web::stage())
        .mount("/", forward_auth::routes())
        .mount("/", operations::routes())
        .attach(AdHoc::on_liftoff("Start-up notes", move |rocket| {
            let config = rocket.config();
            let plain = hsts && !config.tls_enabled() && !config.address.is_loopback();
            let address = config.address;
            let unreachable_links = guessing_links && address.is_unspecified();
            Box::pin(async move {
                for note in notes {
                    log::info!("{note}");
                }
                if plain {
                    log::warn!(
                        "serving plain HTTP on {address} with cookie_secure on: browsers drop \
                         the Secure cookies, so sign-in and forms fail unless a TLS proxy is in \
                         front; for plain-HTTP testing set cookie_secure = false"
                    );
                }
                if unreachable_links {
                    log::warn!(
                        "links in mail would point at {address}, which nobody can open: set \
                         public_url to the address people reach this server at"
                    );
                }
                // In the background: Rocket serves only once every liftoff callback has
                // returned, and one bcrypt hash (a quarter of a second at cost 12) held the
                // start that long.
                rocket::tokio::spawn(async move { hasher.warm_up().await });
                rocket::tokio::spawn(count_sessions_forever(counting));
                rocket::tokio::spawn(clean_up_every_hour(cleaning));
                let (db, clock, mailer) = delivering;
                rocket::tokio::spawn(mail::deliver_forever(db, clock, mailer));
            })
        })))
}

/// Keeps `gatehouse_sessions_live` current for as long as the server runs: the database is
/// asked every 30 seconds, never once per scrape.
async fn count_sessions_forever((db, clock): (db::Db, clock::Clock)) {
    let mut every = rocket::tokio::time::interval(maintenance::SESSIONS_COUNTED_EVERY);
    loop {
        every.tick().await;
        if let Err(error) = maintenance::count_live_sessions(&db, &clock).await {
            log::warn!("counting live sessions failed: {error}");
        }
    }
}

/// Cleans up once an hour for as long as the server runs (the task ends with the runtime).
async fn clean_up_every_hour((db, clock, settings): (db::Db, clock::Clock, settings::Settings)) {
    // Not at start-up: a starting instance (or a test's) has better things to do first.
    let first = rocket::tokio::time::Instant::now() + maintenance::FIRST;
    let mut every = rocket::tokio::time::interval_at(first, maintenance::EVERY);
    loop {
        every.tick().await;
        match maintenance::clean(&db, &clock, &settings).await {
            Ok(cleaned) => log::info!("clean-up: {cleaned:?}"),
            Err(error) => log::warn!("clean-up failed: {error}"),
        }
    }
}
