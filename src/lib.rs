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
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rocket::fairing::AdHoc;
use rocket::figment::Figment;
use rocket::{Build, Rocket};
use rocket_dyn_templates::Template;

use crate::accounts::password::Hasher;
use crate::auth::tokens::{Claims, TokenError, TokenType, Tokens};
use crate::db::{DatabaseUrl, Db};
use crate::settings::Settings;

pub use crate::settings::figment;

/// Everything a request handler needs, kept in Rocket's managed state.
pub struct App {
    pub settings: Settings,
    pub db: Db,
    pub hasher: Hasher,
    pub tokens: Arc<Tokens>,
    /// Where the signing keys come from, to pick up a rotation while running.
    pub key_source: KeySource,
    /// When the key ring was last read (Unix seconds) ...
    keys_read_at: AtomicI64,
    /// ... and last read because a token named a `kid` we did not hold.
    keys_forced_at: AtomicI64,
}

/// Where the signing keys live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// `jwt_keys` in settings: they change with the settings, at a restart.
    Settings,
    /// Generated, in the data directory (SQLite) ...
    File(std::path::PathBuf),
    /// ... or in the database (PostgreSQL).
    Database,
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
        let key_source = match (&url, settings.jwt_keys.is_empty()) {
            (_, false) => KeySource::Settings,
            (DatabaseUrl::Sqlite(_), true) => KeySource::File(settings.data_dir.clone()),
            (DatabaseUrl::Postgres(_), true) => KeySource::Database,
        };
        let app = App {
            hasher: Hasher::new(settings.bcrypt_cost),
            settings,
            db,
            tokens,
            key_source,
            keys_read_at: AtomicI64::new(unix_now()),
            keys_forced_at: AtomicI64::new(0),
        };
        Ok(Prepared {
            app,
            figment,
            notes,
        })
    }
}

impl App {
    /// Checks a token; a `kid` this instance does not hold yet (another instance may have
    /// rotated keys) makes it read the key ring again first, at most once a second.
    pub async fn verify(&self, token: &str, expected: TokenType) -> Result<Claims, TokenError> {
        self.reread_keys(&self.keys_read_at, KEYS_REREAD_SECONDS)
            .await;
        match self.tokens.verify(token, expected) {
            Err(TokenError::UnknownKey) if self.reread_keys(&self.keys_forced_at, 1).await => {
                self.tokens.verify(token, expected)
            }
            other => other,
        }
    }

    /// Reads the generated key ring again if `clock` says it was last read `age` seconds ago
    /// or more; returns whether it did. One request at a time does the reading.
    async fn reread_keys(&self, clock: &AtomicI64, age: i64) -> bool {
        let (now, last) = (unix_now(), clock.load(Ordering::Relaxed));
        let due = self.key_source != KeySource::Settings && now - last >= age;
        let claimed = || clock.compare_exchange(last, now, Ordering::AcqRel, Ordering::Relaxed);
        if !due || claimed().is_err() {
            return false;
        }
        let (source, db) = (self.key_source.clone(), self.db.clone());
        let ring = db::on_blocking_pool(move || {
            let store = match &source {
                KeySource::File(dir) => secrets::Store::Files(dir),
                _ => secrets::Store::Database(&db),
            };
            secrets::stored_ring(store).map_err(error::Error::internal)
        })
        .await;
        match ring.map(|ring| ring.map(|ring| self.tokens.replace(&ring))) {
            Ok(Some(Ok(()))) => true,
            Ok(None) => false,
            Ok(Some(Err(problem))) | Err(error::Error::Internal(problem)) => {
                log::error!("cannot reload the signing keys: {problem}");
                false
            }
            Err(_) => false,
        }
    }
}

/// How often a running instance re-reads the key ring, so a rotation reaches every
/// instance's signing within this many seconds.
const KEYS_REREAD_SECONDS: i64 = 60;

fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
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
