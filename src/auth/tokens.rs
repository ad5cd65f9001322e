//! JWTs: access and refresh tokens signed with HS256 from a key ring.
//!
//! Verification is strict (RFC 8725): the algorithm is pinned, the `kid` must name a key we
//! hold, headers that point elsewhere for keys (`jku`, `jwk`, `x5u`, `x5c`) are refused without
//! being followed, and `exp`, `nbf`, `iss` and `typ` are all checked with our own leeway.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use rand::TryRngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::secrets::{self, KeyRing, Store};
use crate::settings::Settings;

const ALGORITHM: Algorithm = Algorithm::HS256;
/// Clock skew tolerated on `exp` and `nbf`, in seconds.
pub(crate) const LEEWAY: i64 = 30;

/// Which of the two tokens a JWT is; one is never accepted where the other is expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum TokenType {
    Access,
    Refresh,
}

/// The claims of both tokens.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Claims {
    /// The user's public id.
    pub(crate) sub: String,
    /// The session's public id.
    pub(crate) sid: String,
    pub(crate) role: String,
    pub(crate) typ: TokenType,
    pub(crate) iat: i64,
    pub(crate) nbf: i64,
    pub(crate) exp: i64,
    pub(crate) jti: String,
    pub(crate) iss: String,
    /// Never in our tokens: one that names an audience was made for another service
    /// sharing the keys, and is refused.
    #[serde(default, skip_serializing)]
    pub(crate) aud: Option<serde::de::IgnoredAny>,
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenError {
    Invalid,
    Expired,
    /// Signed with a `kid` this instance does not hold (yet: another may have rotated).
    UnknownKey,
}

/// A freshly signed pair.
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    /// Seconds until the access token expires.
    pub(crate) expires_in: i64,
}

/// The keys in use: one signs, all verify.
struct Keys {
    signing_kid: String,
    signing_key: EncodingKey,
    verifying: HashMap<String, DecodingKey>,
}

impl Keys {
    fn from_ring(ring: &KeyRing) -> std::result::Result<Self, String> {
        let mut verifying = HashMap::new();
        let mut signing_key = None;
        for key in &ring.keys {
            let secret = secrets::secret_bytes(key)?;
            if key.kid == ring.signing_kid {
                signing_key = Some(EncodingKey::from_secret(&secret));
            }
            verifying.insert(key.kid.clone(), DecodingKey::from_secret(&secret));
        }
        let signing_key = signing_key
            .ok_or_else(|| format!("no key has the signing kid {}", ring.signing_kid))?;
        Ok(Keys {
            signing_kid: ring.signing_kid.clone(),
            signing_key,
            verifying,
        })
    }
}

/// How often a running instance re-reads a generated key ring, so a rotation reaches every
/// instance's signing within this many seconds.
const KEYS_REREAD_SECONDS: i64 = 60;

/// Signs and verifies tokens with the key ring, which can be replaced while running (after
/// `gatehouse rotate-keys`) without logging anyone out.
pub(crate) struct Tokens {
    keys: RwLock<Arc<Keys>>,
    /// Where a generated ring is kept, to pick up a rotation; `None` when the keys come from
    /// the `jwt_keys` setting (they change with the settings, at a restart).
    store: Option<Store>,
    /// When the key ring was last read (Unix seconds) ...
    keys_read_at: AtomicI64,
    /// ... and last read because a token named a `kid` we did not hold.
    keys_forced_at: AtomicI64,
    clock: Clock,
    issuer: String,
    access_ttl: i64,
    refresh_ttl: i64,
}

impl Tokens {
    pub(crate) fn new(
        ring: &KeyRing,
        store: Option<Store>,
        settings: &Settings,
        clock: Clock,
    ) -> std::result::Result<Self, String> {
        Ok(Self {
            keys: RwLock::new(Arc::new(Keys::from_ring(ring)?)),
            store,
            keys_read_at: AtomicI64::new(unix_now()),
            keys_forced_at: AtomicI64::new(0),
            clock,
            issuer: settings.jwt_issuer.clone(),
            access_ttl: settings.access_token_ttl,
            refresh_ttl: settings.refresh_token_ttl,
        })
    }

    /// Where a generated key ring is kept (`None`: the keys are configured).
    pub(crate) fn store(&self) -> Option<&Store> {
        self.store.as_ref()
    }

    /// Checks a token; a `kid` this instance does not hold yet (another instance may have
    /// rotated keys) makes it read the key ring again first, at most once a second.
    pub(crate) async fn verify(
        &self,
        token: &str,
        expected: TokenType,
    ) -> std::result::Result<Claims, TokenError> {
        self.reread_keys(&self.keys_read_at, KEYS_REREAD_SECONDS)
            .await;
        match self.check(token, expected) {
            Err(TokenError::UnknownKey) if self.reread_keys(&self.keys_forced_at, 1).await => {
                self.check(token, expected)
            }
            other => other,
        }
    }

    /// Reads the generated key ring again if `clock` says it was last read `age` seconds ago
    /// or more; returns whether it did. One request at a time does the reading.
    async fn reread_keys(&self, clock: &AtomicI64, age: i64) -> bool {
        let Some(store) = self.store.clone() else {
            return false;
        };
        let (now, last) = (unix_now(), clock.load(Ordering::Relaxed));
        let claimed = || clock.compare_exchange(last, now, Ordering::AcqRel, Ordering::Relaxed);
        if now - last < age || claimed().is_err() {
            return false;
        }
        let read = crate::blocking::run(move || secrets::stored_ring(&store)).await;
        let replaced = match read {
            Some(Ok(Some(ring))) => self.replace(&ring).map(|()| true),
            Some(Ok(None)) | None => Ok(false),
            Some(Err(problem)) => Err(problem),
        };
        replaced.unwrap_or_else(|problem| {
            log::error!("cannot reload the signing keys: {problem}");
            false
        })
    }

    /// Uses a new key ring from now on.
    fn replace(&self, ring: &KeyRing) -> std::result::Result<(), String> {
        let keys = Arc::new(Keys::from_ring(ring)?);
        match self.keys.write() {
            Ok(mut current) => {
                *current = keys;
                Ok(())
            }
            Err(_) => Err("the key ring lock is poisoned".into()),
        }
    }

    /// The keys in use now (cheap: a shared pointer).
    fn keys(&self) -> Result<Arc<Keys>> {
        self.keys
            .read()
            .map(|keys| Arc::clone(&keys))
            .map_err(|_| Error::internal("the key ring lock is poisoned"))
    }

    /// Signs an access and a refresh token for a session.
    pub(crate) fn issue_pair(
        &self,
        user_id: &str,
        session_id: &str,
        role: &str,
    ) -> Result<TokenPair> {
        let claims = |typ, ttl| {
            let now = self.clock.unix();
            Claims {
                sub: user_id.to_owned(),
                sid: session_id.to_owned(),
                role: role.to_owned(),
                typ,
                iat: now,
                nbf: now,
                exp: now + ttl,
                jti: Uuid::new_v4().to_string(),
                iss: self.issuer.clone(),
                aud: None,
            }
        };
        Ok(TokenPair {
            access_token: self.sign(&claims(TokenType::Access, self.access_ttl))?,
            refresh_token: self.sign(&claims(TokenType::Refresh, self.refresh_ttl))?,
            expires_in: self.access_ttl,
        })
    }

    /// How long a session lives without a refresh, in seconds.
    pub(crate) fn refresh_ttl(&self) -> i64 {
        self.refresh_ttl
    }

    /// Signs any claims with the current signing key.
    pub(crate) fn sign(&self, claims: &Claims) -> Result<String> {
        let keys = self.keys()?;
        let mut header = Header::new(ALGORITHM);
        header.kid = Some(keys.signing_kid.clone());
        jsonwebtoken::encode(&header, claims, &keys.signing_key).map_err(Error::internal)
    }

    /// Checks a token completely with the keys held now and returns its claims when it is of
    /// the expected type.
    fn check(&self, token: &str, expected: TokenType) -> std::result::Result<Claims, TokenError> {
        // Each part is read once: `jsonwebtoken::decode` would read the header twice more and
        // the claims twice, a tenth of every API request's time. The signature is still
        // checked by the library (`crypto::verify`, constant time).
        let (message, signature) = token.rsplit_once('.').ok_or(TokenError::Invalid)?;
        let (_, payload) = message.split_once('.').ok_or(TokenError::Invalid)?;
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Invalid)?;
        let points_elsewhere = header.jku.is_some()
            || header.jwk.is_some()
            || header.x5u.is_some()
            || header.x5c.is_some()
            || header.crit.is_some();
        if header.alg != ALGORITHM || points_elsewhere || payload.contains('.') {
            return Err(TokenError::Invalid);
        }
        let keys = self.keys().map_err(|_| TokenError::Invalid)?;
        let kid = header.kid.as_deref().ok_or(TokenError::Invalid)?;
        let key = keys.verifying.get(kid).ok_or(TokenError::UnknownKey)?;
        let signed = jsonwebtoken::crypto::verify(signature, message.as_bytes(), key, ALGORITHM);
        if !signed.unwrap_or(false) {
            return Err(TokenError::Invalid);
        }
        // Every claim but `aud` is required (none other is an `Option` in `Claims`).
        let claims: Claims = URL_SAFE_NO_PAD
            .decode(payload)
            .ok()
            .and_then(|json| serde_json::from_slice(&json).ok())
            .ok_or(TokenError::Invalid)?;
        let now = self.clock.unix();
        if claims.iss != self.issuer || claims.aud.is_some() || claims.nbf > now + LEEWAY {
            return Err(TokenError::Invalid);
        }
        if claims.exp < now - LEEWAY {
            return Err(TokenError::Expired);
        }
        if claims.typ != expected {
            return Err(TokenError::Invalid);
        }
        Ok(claims)
    }
}

fn unix_now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// Compares secrets without leaking, through timing, how much of them matched.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// 256 bits from the operating system's generator, URL-safe: one-time links and second-step
/// tokens.
pub(crate) fn random_token() -> Result<String> {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng
        .try_fill_bytes(&mut bytes)
        .map_err(Error::internal)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// What is stored of a refresh token: its SHA-256, never the token itself.
pub(crate) fn fingerprint(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}
