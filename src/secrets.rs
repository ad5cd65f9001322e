//! Secrets that must never be hard-coded: the JWT signing key ring and Rocket's `secret_key`.
//!
//! When they are not configured, they are generated on first start into the data directory
//! (files created with mode 0600, so only the service's user can read them) and reused after.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use rand::RngCore;
use serde::{Deserialize, Serialize};

const KEY_RING_FILE: &str = "jwt_keys.json";
const SECRET_KEY_FILE: &str = "secret_key";
/// 256-bit HMAC keys, as RFC 7518 asks for HS256.
const SIGNING_KEY_BYTES: usize = 32;

/// One HMAC key and the `kid` that names it in token headers.
#[derive(Clone, Serialize, Deserialize)]
pub struct SigningKey {
    pub kid: String,
    /// Standard base64.
    pub secret: String,
}

impl SigningKey {
    fn generate() -> Self {
        Self {
            kid: URL_SAFE_NO_PAD.encode(random_bytes(9)),
            secret: STANDARD.encode(random_bytes(SIGNING_KEY_BYTES)),
        }
    }

    pub fn secret_bytes(&self) -> Result<Vec<u8>, String> {
        STANDARD
            .decode(&self.secret)
            .map_err(|_| format!("key `{}` is not valid base64", self.kid))
    }
}

/// All keys that verify tokens; the one named by `signing_kid` signs new ones.
#[derive(Clone, Serialize, Deserialize)]
pub struct KeyRing {
    pub signing_kid: String,
    pub keys: Vec<SigningKey>,
}

/// What start-up did about secrets, for the log.
pub type Notes = Vec<String>;

/// Creates the data directory (mode 0700) when it is missing.
pub fn ensure_data_dir(dir: &Path) -> Result<(), String> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| format!("cannot create data_dir {}: {e}", dir.display()))
}

/// Reads the key ring from the data directory, generating it on first start.
pub fn load_key_ring(dir: &Path, notes: &mut Notes) -> Result<KeyRing, String> {
    let path = dir.join(KEY_RING_FILE);
    if let Some(text) = read_if_exists(&path)? {
        let ring: KeyRing = serde_json::from_str(&text)
            .map_err(|e| format!("{} is not a valid key ring: {e}", path.display()))?;
        return Ok(ring);
    }
    let key = SigningKey::generate();
    let ring = KeyRing {
        signing_kid: key.kid.clone(),
        keys: vec![key],
    };
    let text = serde_json::to_string_pretty(&ring).map_err(|e| e.to_string())?;
    write_private(&path, &text)?;
    notes.push(format!(
        "generated a JWT signing key (kid {}) in {}",
        ring.signing_kid,
        path.display()
    ));
    Ok(ring)
}

/// Reads Rocket's `secret_key` (base64 of 64 bytes) from the data directory, generating it on
/// first start.
pub fn load_secret_key(dir: &Path, notes: &mut Notes) -> Result<String, String> {
    let path = dir.join(SECRET_KEY_FILE);
    if let Some(text) = read_if_exists(&path)? {
        return Ok(text.trim().to_owned());
    }
    let key = STANDARD.encode(random_bytes(64));
    write_private(&path, &key)?;
    notes.push(format!(
        "generated Rocket's secret_key in {}",
        path.display()
    ));
    Ok(key)
}

fn random_bytes(len: usize) -> Vec<u8> {
    let mut bytes = vec![0; len];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

fn read_if_exists(path: &PathBuf) -> Result<Option<String>, String> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
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
