//! Secrets that must never be hard-coded: the JWT signing key ring, Rocket's `secret_key`
//! and the key that seals second-factor secrets (`mfa_key`).
//!
//! Configured ones (`jwt_keys`, `secret_key`) win. Otherwise they are generated on first start
//! and kept where every instance that shares the database finds them: on SQLite in the data
//! directory (files with mode 0600, readable by the service's user only), on PostgreSQL in the
//! `app_secrets` table, created exactly once even when several instances start together.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::db::{DatabaseUrl, Db};
use crate::settings::{Settings, SigningKey};

const KEY_RING_FILE: &str = "jwt_keys.json";
const SECRET_KEY_FILE: &str = "secret_key";
const MFA_KEY: &str = "mfa_key";
/// Every secret the data directory may hold (what a backup carries beside the database).
pub(crate) const FILES: [&str; 3] = [KEY_RING_FILE, SECRET_KEY_FILE, MFA_KEY];
/// A 256-bit key, as ChaCha20-Poly1305 and HMAC-SHA-256 take.
const MFA_KEY_BYTES: usize = 32;
/// 256-bit HMAC keys, as RFC 7518 asks for HS256.
const SIGNING_KEY_BYTES: usize = 32;

fn generate_key() -> SigningKey {
    SigningKey {
        kid: URL_SAFE_NO_PAD.encode(random_bytes(9)),
        secret: STANDARD.encode(random_bytes(SIGNING_KEY_BYTES)),
    }
}

/// A key's secret as bytes.
pub fn secret_bytes(key: &SigningKey) -> Result<Vec<u8>, String> {
    STANDARD
        .decode(&key.secret)
        .map_err(|_| format!("key `{}` is not valid base64", key.kid))
}

/// Where generated secrets are kept: in the data directory beside a SQLite database, in the
/// database itself on PostgreSQL (so that every instance finds them).
#[derive(Clone)]
pub(crate) enum Store {
    Files(PathBuf),
    Database(Db),
}

impl Store {
    /// The one place that decides where a deployment keeps its generated secrets.
    pub(crate) fn for_database(url: &DatabaseUrl, data_dir: &Path, db: &Db) -> Self {
        match url {
            DatabaseUrl::Sqlite(_) => Store::Files(data_dir.to_owned()),
            DatabaseUrl::Postgres(_) => Store::Database(db.clone()),
        }
    }
}

/// The generated key ring as stored now (`None` before the first start).
pub(crate) fn stored_ring(store: &Store) -> Result<Option<KeyRing>, String> {
    let text = match store {
        Store::Files(dir) => match fs::read_to_string(dir.join(KEY_RING_FILE)) {
            Ok(text) => Some(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(format!("cannot read the key ring: {e}")),
        },
        Store::Database(db) => db.read_secret("jwt_keys").map_err(|e| e.0)?,
    };
    text.map(|text| {
        serde_json::from_str(&text).map_err(|e| format!("the stored key ring is not valid: {e}"))
    })
    .transpose()
}

/// Adds a new key to the generated ring and makes it the signer; the old keys stay, so
/// tokens they signed keep working until they expire.
pub(crate) fn rotate(store: &Store) -> Result<KeyRing, String> {
    let mut ring = stored_ring(store)?.ok_or("there is no key ring yet: start the app once")?;
    let key = generate_key();
    ring.signing_kid = key.kid.clone();
    ring.keys.push(key);
    let text = serde_json::json!(ring).to_string();
    match store {
        Store::Files(dir) => {
            // Written beside and renamed over: a reader sees the old ring or the new one.
            let path = dir.join(KEY_RING_FILE);
            let fresh = dir.join(format!("{KEY_RING_FILE}.new"));
            let _ = fs::remove_file(&fresh);
            write_private(&fresh, &text)?;
            fs::rename(&fresh, &path).map_err(|e| format!("cannot replace the key ring: {e}"))?;
        }
        Store::Database(db) => db.write_secret("jwt_keys", &text).map_err(|e| e.0)?,
    }
    Ok(ring)
}

/// The key ring given in settings, if any, checked: unique kids, secrets of 256 bits or more.
pub(crate) fn configured_ring(settings: &Settings) -> Result<Option<KeyRing>, String> {
    let Some(last) = settings.jwt_keys.last() else {
        return match settings.jwt_signing_kid {
            Some(_) => Err("jwt_signing_kid is set but jwt_keys is empty".into()),
            None => Ok(None),
        };
    };
    let mut kids = std::collections::HashSet::new();
    for key in &settings.jwt_keys {
        if key.kid.is_empty() || !kids.insert(key.kid.as_str()) {
            return Err("every key needs its own non-empty kid".into());
        }
        if secret_bytes(key)?.len() < SIGNING_KEY_BYTES {
            return Err(format!("key `{}` must have at least 32 bytes", key.kid));
        }
    }
    let signing_kid = settings
        .jwt_signing_kid
        .clone()
        .unwrap_or_else(|| last.kid.clone());
    if !kids.contains(signing_kid.as_str()) {
        return Err(format!(
            "jwt_signing_kid `{signing_kid}` names none of the keys"
        ));
    }
    Ok(Some(KeyRing {
        signing_kid,
        keys: settings.jwt_keys.clone(),
    }))
}

/// The signing key ring: configured, or generated once into the store.
pub(crate) fn key_ring(
    settings: &Settings,
    store: &Store,
    notes: &mut Notes,
) -> Result<KeyRing, String> {
    if let Some(ring) = configured_ring(settings)? {
        return Ok(ring);
    }
    let text = match store {
        Store::Files(dir) => load_or_create_file(&dir.join(KEY_RING_FILE), new_ring, notes)?,
        Store::Database(db) => db.secret("jwt_keys", new_ring, notes).map_err(|e| e.0)?,
    };
    serde_json::from_str(&text).map_err(|e| format!("the stored key ring is not valid: {e}"))
}

/// Rocket's `secret_key` (base64 of 64 bytes), generated once into the store.
pub(crate) fn secret_key(store: &Store, notes: &mut Notes) -> Result<String, String> {
    let text = match store {
        Store::Files(dir) => {
            load_or_create_file(&dir.join(SECRET_KEY_FILE), new_secret_key, notes)?
        }
        Store::Database(db) => db
            .secret("secret_key", new_secret_key, notes)
            .map_err(|e| e.0)?,
    };
    Ok(text.trim().to_owned())
}

/// The key that seals TOTP secrets and keys recovery-code hashes, generated once into the
/// store. It is its own secret, not derived from `secret_key`: an operator who changes
/// `secret_key` ends cookies, and must not lose every second factor with them.
///
/// `sealed`: how many accounts have a secret sealed with it. A missing key is then not made
/// anew (every one of those second factors would fail to open): start-up stops and says how
/// to recover.
pub(crate) fn mfa_key(
    store: &Store,
    notes: &mut Notes,
    sealed: i64,
) -> Result<[u8; MFA_KEY_BYTES], String> {
    if sealed > 0 && !stored(store, MFA_KEY)? {
        return Err(format!(
            "{MFA_KEY} is missing, and {sealed} account(s) have a second factor (or an \
             enrolment) sealed with it: restore it from the backup it was taken with (README, \
             Backups); if it is lost for good, `gatehouse remove-mfa --all` removes every \
             second factor so that those accounts can enrol again"
        ));
    }
    let text = match store {
        Store::Files(dir) => load_or_create_file(&dir.join(MFA_KEY), new_mfa_key, notes)?,
        Store::Database(db) => db.secret(MFA_KEY, new_mfa_key, notes).map_err(|e| e.0)?,
    };
    STANDARD
        .decode(text.trim())
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| format!("the stored {MFA_KEY} is not base64 of {MFA_KEY_BYTES} bytes"))
}

/// Whether the secret `name` is in the store.
fn stored(store: &Store, name: &str) -> Result<bool, String> {
    match store {
        Store::Files(dir) => Ok(dir.join(name).exists()),
        Store::Database(db) => Ok(db.read_secret(name).map_err(|e| e.0)?.is_some()),
    }
}

fn new_mfa_key() -> String {
    STANDARD.encode(random_bytes(MFA_KEY_BYTES))
}

fn new_ring() -> String {
    let key = generate_key();
    let ring = KeyRing {
        signing_kid: key.kid.clone(),
        keys: vec![key],
    };
    serde_json::json!(ring).to_string()
}

fn new_secret_key() -> String {
    STANDARD.encode(random_bytes(64))
}

/// All keys that verify tokens; the one named by `signing_kid` signs new ones.
#[derive(Clone, Serialize, Deserialize)]
pub struct KeyRing {
    pub signing_kid: String,
    pub keys: Vec<SigningKey>,
}

/// What start-up did about secrets, for the log.
pub(crate) type Notes = Vec<String>;

/// Creates the data directory (mode 0700) when it is missing; notes a warning when an
/// existing one lets other local users in (it holds the database and the keys).
pub(crate) fn ensure_data_dir(dir: &Path, notes: &mut Notes) -> Result<(), String> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| format!("cannot create data_dir {}: {e}", dir.display()))?;
    let mode = fs::metadata(dir)
        .map_err(|e| format!("cannot read data_dir {}: {e}", dir.display()))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        notes.push(format!(
            "warning: data_dir {} is open to other users (mode {:o}); `chmod 700` it",
            dir.display(),
            mode & 0o777
        ));
    }
    Ok(())
}

fn random_bytes(len: usize) -> Vec<u8> {
    let mut bytes = vec![0; len];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

/// Reads a secret file, creating it with `generate` on first start.
fn load_or_create_file(
    path: &Path,
    generate: fn() -> String,
    notes: &mut Notes,
) -> Result<String, String> {
    match fs::read_to_string(path) {
        Ok(text) => return Ok(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    }
    let text = generate();
    write_private(path, &text)?;
    notes.push(format!("generated {}", path.display()));
    Ok(text)
}

/// Copies a secret file into a new file readable by its owner only (never over one).
pub(crate) fn copy_private(from: &Path, to: &Path) -> Result<(), String> {
    let text =
        fs::read_to_string(from).map_err(|e| format!("cannot read {}: {e}", from.display()))?;
    write_private(to, &text)
}

/// Writes a new file readable by its owner only; never overwrites one.
fn write_private(path: &Path, contents: &str) -> Result<(), String> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    file.write_all(contents.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}
