//! Gatehouse: self-hosted user accounts with server-rendered pages and a JSON API, backed by
//! database sessions so that every sign-out and admin action takes effect at once.
//!
//! [`rocket`] builds the whole application from a figment; `main.rs` and the tests both call it.

pub mod accounts;
pub mod api;
pub mod audit;
pub mod auth;
pub mod bucketlists;
pub mod db;
pub mod error;
mod headers;
pub mod params;
pub mod reports;
pub mod secrets;
pub mod settings;
mod web;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use rocket::fairing::AdHoc;
use rocket::figment::Figment;
use rocket::{Build, Rocket};
use rocket_dyn_templates::Template;

use crate::accounts::password::Hasher;
use crate::auth::tokens::Tokens;
use crate::db::{DatabaseUrl, Db};
use crate::settings::Settings;

pub use crate::settings::figment;

/// Everything a request handler needs, kept in Rocket's managed state.
pub struct App {
    pub settings: Settings,
    pub db: Db,
    pub hasher: Hasher,
    pub tokens: Arc<Tokens>,
}

/// Why the application could not start: one line, naming what to fix.
#[derive(Debug)]
pub struct StartError(pub String);

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StartError {}

impl From<String> for StartError {
    fn from(message: String) -> Self {
        Self(message)
    }
}

impl From<settings::SettingError> for StartError {
    fn from(error: settings::SettingError) -> Self {
        Self(error.to_string())
    }
}

/// The application's state plus the figment completed with Rocket's `secret_key`, and notes
/// on what start-up generated.
pub struct Prepared {
    pub app: App,
    pub figment: Figment,
    pub notes: secrets::Notes,
}

impl App {
    /// Checks settings, creates the data directory, loads or generates secrets, opens the
    /// database and applies migrations.
    pub fn prepare(figment: Figment) -> Result<Prepared, StartError> {
        let settings = Settings::from_figment(&figment)?;
        let mut notes = secrets::Notes::new();
        let url = DatabaseUrl::parse(&settings)
            .map_err(|problem| StartError(format!("invalid setting `database_url`: {problem}")))?;
        if matches!(url, DatabaseUrl::Sqlite(_)) {
            secrets::ensure_data_dir(&settings.data_dir)?;
        }
        let timeout = Duration::from_secs(settings.database_timeout);
        let db = Db::connect(&url, settings.database_pool_size, timeout)?;
        let applied = db.migrate()?;
        if applied > 0 {
            notes.push(format!(
                "applied {applied} migration(s) to {}",
                url.describe()
            ));
        }
        let store = || match url {
            DatabaseUrl::Sqlite(_) => secrets::Store::Files(&settings.data_dir),
            DatabaseUrl::Postgres(_) => secrets::Store::Database(&db),
        };
        // Rocket's built-in defaults carry a throwaway key in debug builds: only a key the
        // operator configured counts.
        let configured = figment
            .find_metadata("secret_key")
            .is_some_and(|source| !source.name.starts_with("rocket::Config"));
        let figment = if configured {
            figment
        } else {
            figment.merge(("secret_key", secrets::secret_key(store(), &mut notes)?))
        };
        let ring = secrets::key_ring(&settings, store(), &mut notes)?;
        let tokens = Arc::new(Tokens::new(&ring, &settings)?);
        let app = App {
            hasher: Hasher::new(settings.bcrypt_cost),
            settings,
            db,
            tokens,
        };
        Ok(Prepared {
            app,
            figment,
            notes,
        })
    }
}

/// Builds the application from settings: the real thing, for `main` and for tests alike.
pub fn rocket(figment: Figment) -> Result<Rocket<Build>, StartError> {
    let Prepared {
        app,
        figment,
        notes,
    } = App::prepare(figment)?;
    let hasher = app.hasher.clone();
    let hsts = app.settings.cookie_secure;
    Ok(rocket::custom(figment)
        .manage(app)
        .attach(Template::fairing())
        .attach(headers::SecurityHeaders { hsts })
        .attach(api::stage())
        .attach(web::stage())
        .attach(AdHoc::on_liftoff("Start-up notes", move |_| {
            Box::pin(async move {
                for note in notes {
                    log::info!("{note}");
                }
                hasher.warm_up().await;
            })
        })))
}
