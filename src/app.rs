//! Assembling the application: settings checked against each other, the data directory, the
//! database and its migrations, the secrets, and the state every handler shares.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use rocket::figment::Figment;

use crate::accounts::model::User;
use crate::accounts::password::{Hasher, BCRYPT_MAX_PASSWORD_BYTES};
use crate::auth::personal_tokens::rows::{self as token_rows, PersonalToken};
use crate::auth::sessions::Session;
use crate::auth::throttle::Keyer;
use crate::auth::tokens::Tokens;
use crate::clock::Clock;
use crate::db::batch::Batch;
use crate::db::{DatabaseUrl, Db};
use crate::mail::Mailer;
use crate::mfa::totp::MfaKey;
use crate::secrets::{self, Store};
use crate::settings::{SettingError, Settings};

/// Everything a request handler needs, kept in Rocket's managed state.
pub struct App {
    pub settings: Settings,
    pub db: Db,
    pub(crate) hasher: Hasher,
    pub(crate) tokens: Arc<Tokens>,
    /// The time every rule is measured with (tests move it forward).
    pub clock: Clock,
    /// Keys throttle rows of typed identifiers by a keyed hash.
    pub(crate) keyer: Keyer,
    /// Renders, queues and delivers mail.
    pub(crate) mailer: Arc<Mailer>,
    /// Seals second-factor secrets and hashes recovery codes.
    pub(crate) mfa_key: Arc<MfaKey>,
    /// Every request's session check (on PostgreSQL, concurrent ones share a query).
    pub(crate) session_reads: Batch<(Session, User)>,
    /// The same for personal access tokens, by fingerprint.
    pub(crate) token_reads: Batch<(PersonalToken, User)>,
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

impl From<SettingError> for StartError {
    fn from(error: SettingError) -> Self {
        Self(error.to_string())
    }
}

impl From<crate::db::Error> for StartError {
    fn from(error: crate::db::Error) -> Self {
        Self(error.0)
    }
}

/// The application's state plus the figment completed with Rocket's `secret_key`, and notes
/// on what start-up generated.
pub struct Prepared {
    pub app: App,
    pub(crate) figment: Figment,
    pub notes: secrets::Notes,
}

impl App {
    /// Sends the mail that is due now (the background task does this on its own; tests and
    /// commands call it to be sure); returns how many went out.
    pub async fn deliver_mail(&self) -> Result<usize, crate::error::Error> {
        self.mailer.deliver_due(&self.db, &self.clock).await
    }

    /// Adds a new key to the generated key ring and makes it the signer (`gatehouse
    /// rotate-keys`); returns the new signer's kid and how many keys the ring holds.
    pub fn rotate_keys(&self) -> Result<(String, usize), StartError> {
        let Some(store) = self.tokens.store() else {
            return Err(StartError(
                "the keys come from the jwt_keys setting: add a key there and set \
                 jwt_signing_kid"
                    .into(),
            ));
        };
        let ring = secrets::rotate(store)?;
        Ok((ring.signing_kid, ring.keys.len()))
    }
}

/// Where people reach this server, for links in mail: `public_url`, else Rocket's address
/// and port (`127.0.0.1:8000` by default).
fn public_url(settings: &Settings, figment: &Figment) -> String {
    if let Some(url) = &settings.public_url {
        return url.clone();
    }
    let address: std::net::IpAddr = figment
        .extract_inner("address")
        .unwrap_or(std::net::IpAddr::from([127, 0, 0, 1]));
    let port: u16 = figment.extract_inner("port").unwrap_or(8000);
    match address {
        std::net::IpAddr::V6(v6) => format!("http://[{v6}]:{port}"),
        v4 => format!("http://{v4}:{port}"),
    }
}

/// Rocket's `template_dir` (pages), under which the mail templates are too.
fn template_dir(figment: &Figment) -> std::path::PathBuf {
    figment
        .extract_inner("template_dir")
        .unwrap_or_else(|_| std::path::PathBuf::from("templates"))
}

/// The settings that other modules must agree with, checked before anything is opened.
fn cross_check(settings: &Settings) -> Result<DatabaseUrl, SettingError> {
    if settings.password_min_length > BCRYPT_MAX_PASSWORD_BYTES {
        let problem = format!("must be 8 to {BCRYPT_MAX_PASSWORD_BYTES}");
        return Err(SettingError::new("password_min_length", problem));
    }
    secrets::configured_ring(settings).map_err(|p| SettingError::new("jwt_keys", p))?;
    DatabaseUrl::parse(&settings.database_url, &settings.data_dir)
        .map_err(|p| SettingError::new("database_url", p))
}

/// What every start begins with: the settings checked, the data directory made, the database
/// opened and migrated (`warm`: keep a connection open, for a server); notes what it did.
fn open_database(
    figment: &Figment,
    warm: bool,
    notes: &mut secrets::Notes,
) -> Result<(Settings, DatabaseUrl, Db), StartError> {
    let settings = Settings::from_figment(figment)?;
    let url = cross_check(&settings)?;
    if matches!(url, DatabaseUrl::Sqlite(_)) {
        secrets::ensure_data_dir(&settings.data_dir, notes)?;
    }
    let timeout = Duration::from_secs(settings.database_timeout);
    let db = Db::connect(&url, settings.database_pool_size, timeout, warm)?;
    let applied = db.migrate()?;
    if applied > 0 {
        notes.push(format!(
            "applied {applied} migration(s) to {}",
            url.describe()
        ));
        // Names stored before the name-word index existed get their words now.
        let indexed = db.at_start(crate::accounts::model::index_missing_names)?;
        if indexed > 0 {
            notes.push(format!("indexed the words of {indexed} name(s) for search"));
        }
    }
    Ok((settings, url, db))
}

impl App {
    /// `gatehouse remove-mfa --all`: removes every second factor, for a lost `mfa_key`.
    /// Opens the database alone (the key is not needed, nor made); returns how many
    /// accounts had one.
    pub fn remove_all_second_factors(figment: Figment) -> Result<usize, StartError> {
        let (_, _, db) = open_database(&figment, false, &mut secrets::Notes::new())?;
        let now = Clock::default().now();
        Ok(db.at_start(|c| crate::mfa::credentials::remove_all(c, now))?)
    }

    /// Prepares the application for a one-shot command (`migrate`, `create-admin` …).
    pub fn prepare(figment: Figment) -> Result<Prepared, StartError> {
        Self::prepare_with(figment, false)
    }

    /// Prepares the application to serve, keeping a database connection warm.
    pub(crate) fn prepare_to_serve(figment: Figment) -> Result<Prepared, StartError> {
        Self::prepare_with(figment, true)
    }

    /// Checks settings, creates the data directory, loads or generates secrets, opens the
    /// database and applies migrations.
    fn prepare_with(figment: Figment, warm: bool) -> Result<Prepared, StartError> {
        let mut notes = secrets::Notes::new();
        let (settings, url, db) = open_database(&figment, warm, &mut notes)?;
        let store = Store::for_database(&url, &settings.data_dir, &db);
        // Rocket's built-in defaults carry a throwaway key in debug builds: only a key the
        // operator configured counts.
        let configured = figment
            .find_metadata("secret_key")
            .is_some_and(|source| !source.name.starts_with("rocket::Config"));
        let figment = if configured {
            figment
        } else {
            figment.merge(("secret_key", secrets::secret_key(&store, &mut notes)?))
        };
        let secret_key: String = figment
            .extract_inner("secret_key")
            .map_err(|e| StartError(format!("invalid setting `secret_key`: {e}")))?;
        let mailer = Mailer::new(
            &settings,
            public_url(&settings, &figment),
            template_dir(&figment),
        )?;
        let keyer = Keyer::new(&secret_key);
        let ring = secrets::key_ring(&settings, &store, &mut notes)?;
        let sealed = db.at_start(crate::mfa::credentials::count_sealed)?;
        let mfa_key = MfaKey::new(secrets::mfa_key(&store, &mut notes, sealed)?);
        let generated = settings.jwt_keys.is_empty().then_some(store);
        let clock = Clock::default();
        let tokens = Arc::new(Tokens::new(&ring, generated, &settings, clock.clone())?);
        let session_reads = Batch::new(
            db.clone(),
            Session::find_with_user,
            Session::find_many_with_user,
        );
        let token_reads = Batch::new(
            db.clone(),
            token_rows::find_with_user,
            token_rows::find_many_with_user,
        );
        let app = App {
            session_reads,
            token_reads,
            clock,
            keyer,
            mailer: Arc::new(mailer),
            mfa_key: Arc::new(mfa_key),
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
