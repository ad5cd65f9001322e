//! The second factor's secrets and codes: RFC 6238 time-based codes (through `totp-rs`),
//! their secrets sealed at rest, and recovery codes kept as keyed hashes.
//!
//! Codes are what every authenticator app reads by default: SHA-1, 6 digits, 30-second steps
//! (other algorithms are silently ignored by some apps, which then show wrong codes).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use hmac::{Hmac, Mac};
use rand::TryRngCore;
use sha2::Sha256;
use totp_rs::{Algorithm, TOTP};

use crate::error::{Error, Result};

/// Seconds per code.
const STEP: u64 = 30;
const DIGITS: usize = 6;
/// Steps accepted either side of the current one (a phone's clock a little off).
const DRIFT: i64 = 1;
/// 160 bits, as RFC 4226 recommends.
const SECRET_BYTES: usize = 20;
const NONCE_BYTES: usize = 12;
/// The name apps show above the account.
const ISSUER: &str = "Gatehouse";
/// Recovery codes given at a time, and their length (10 characters of Crockford's base32:
/// 50 bits each; guesses are throttled like logins).
pub(crate) const RECOVERY_CODES: usize = 10;
const RECOVERY_CODE_LEN: usize = 10;
/// Crockford's base32 (no i, l, o, u): a code read off paper is read right, and the letters
/// it leaves out are read as the digits they look like.
const RECOVERY_ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// The server's second-factor key: seals TOTP secrets (ChaCha20-Poly1305) and keys the
/// hashes of recovery codes (HMAC-SHA-256), each with a key derived for that use alone.
pub(crate) struct MfaKey {
    cipher: ChaCha20Poly1305,
    code_key: [u8; 32],
}

impl MfaKey {
    pub(crate) fn new(key: [u8; 32]) -> Self {
        MfaKey {
            cipher: ChaCha20Poly1305::new(&derive(&key, b"totp secrets").into()),
            code_key: derive(&key, b"recovery codes"),
        }
    }

    /// `secret` sealed for the account with row id `user_id` (the id is bound in, so a
    /// sealed secret copied onto another account's row does not open).
    pub(crate) fn seal(&self, secret: &[u8], user_id: i64) -> Result<String> {
        let nonce = random::<NONCE_BYTES>()?;
        let aad = user_id.to_be_bytes();
        let payload = Payload {
            msg: secret,
            aad: &aad,
        };
        let sealed = self
            .cipher
            .encrypt(&Nonce::from(nonce), payload)
            .map_err(|_| Error::internal("cannot seal a TOTP secret"))?;
        Ok(STANDARD.encode([nonce.as_slice(), &sealed].concat()))
    }

    /// The secret sealed by [`seal`](Self::seal) for this account.
    pub(crate) fn open(&self, sealed: &str, user_id: i64) -> Result<Vec<u8>> {
        let refused = || Error::internal("a TOTP secret does not open with this server's mfa_key");
        let bytes = STANDARD.decode(sealed).map_err(|_| refused())?;
        let (nonce, body) = bytes.split_at_checked(NONCE_BYTES).ok_or_else(refused)?;
        let nonce: [u8; NONCE_BYTES] = nonce.try_into().map_err(|_| refused())?;
        let aad = user_id.to_be_bytes();
        let payload = Payload {
            msg: body,
            aad: &aad,
        };
        self.cipher
            .decrypt(&Nonce::from(nonce), payload)
            .map_err(|_| refused())
    }

    /// What is stored of a recovery code: a keyed hash of it as typed, normalised, so that
    /// a copy of the database alone cannot test guesses.
    pub(crate) fn code_hash(&self, code: &str) -> String {
        let normal: String = code
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| match c.to_ascii_lowercase() {
                'o' => '0',
                'i' | 'l' => '1',
                other => other,
            })
            .collect();
        let hash = mac(&self.code_key, normal.as_bytes());
        hash.iter().map(|b| format!("{b:02x}")).collect()
    }
}

fn mac(key: &[u8], message: &[u8]) -> [u8; 32] {
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(key) else {
        // HMAC takes a key of any length: this never happens.
        return [0; 32];
    };
    mac.update(message);
    mac.finalize().into_bytes().into()
}

fn derive(key: &[u8; 32], purpose: &[u8]) -> [u8; 32] {
    mac(key, purpose)
}

/// `N` bytes from the operating system's generator.
fn random<const N: usize>() -> Result<[u8; N]> {
    let mut bytes = [0u8; N];
    rand::rngs::OsRng
        .try_fill_bytes(&mut bytes)
        .map_err(Error::internal)?;
    Ok(bytes)
}

/// A new TOTP secret.
pub(crate) fn new_secret() -> Result<Vec<u8>> {
    Ok(random::<SECRET_BYTES>()?.to_vec())
}

fn totp(secret: &[u8], account: &str) -> Result<TOTP> {
    // The account name must not hold ':' (the label's separator); usernames never do.
    let account = account.replace(':', "");
    TOTP::new(
        Algorithm::SHA1,
        DIGITS,
        0,
        STEP,
        secret.to_vec(),
        Some(ISSUER.to_owned()),
        account,
    )
    .map_err(|e| Error::internal(format!("TOTP parameters refused: {e:?}")))
}

/// The secret as people type it into an app (base32, no padding).
pub(crate) fn secret_text(secret: &[u8]) -> Result<String> {
    Ok(totp(secret, "")?.get_secret_base32())
}

/// The `otpauth://totp/…` URL an app reads from the QR code.
pub(crate) fn otpauth_url(secret: &[u8], account: &str) -> Result<String> {
    Ok(totp(secret, account)?.get_url())
}

/// The step of `code` if it is the code of the current step or of one step either side,
/// and that step is later than `after` (the last one accepted: a code works once).
pub(crate) fn matching_step(
    secret: &[u8],
    code: &str,
    unix_time: i64,
    after: Option<i64>,
) -> Result<Option<i64>> {
    // Apps show "123 456": the space is no part of the code.
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let totp = totp(secret, "")?;
    let now = unix_time.div_euclid(STEP as i64);
    let mut found = None;
    // Every candidate is computed and compared in constant time, whichever matches.
    for step in now - DRIFT..=now + DRIFT {
        let Ok(at) = u64::try_from(step * STEP as i64) else {
            continue;
        };
        let expected = totp.generate(at);
        if crate::auth::tokens::constant_time_eq(expected.as_bytes(), code.as_bytes())
            && after.is_none_or(|last| step > last)
        {
            found = Some(step);
        }
    }
    Ok(found)
}

/// Ten new recovery codes, as shown to their owner (`xxxxx-xxxxx`).
pub(crate) fn new_recovery_codes() -> Result<Vec<String>> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let bytes = random::<RECOVERY_CODE_LEN>()?;
            let letters: String = bytes
                .iter()
                .map(|b| char::from(RECOVERY_ALPHABET[usize::from(*b) % RECOVERY_ALPHABET.len()]))
                .collect();
            let (head, tail) = letters.split_at(RECOVERY_CODE_LEN / 2);
            Ok(format!("{head}-{tail}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B: the SHA-1 secret "12345678901234567890"; the 8-digit codes of
    /// the RFC end in these 6 digits.
    #[test]
    fn codes_match_the_rfc_6238_test_vectors() {
        let secret = b"12345678901234567890";
        for (time, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (2_000_000_000, "279037"),
        ] {
            let step = time / 30;
            assert_eq!(
                matching_step(secret, code, time, None).ok(),
                Some(Some(step))
            );
        }
    }

    #[test]
    fn one_step_of_drift_is_accepted_and_two_are_not() {
        let secret = b"12345678901234567890";
        // The code of 59 s (step 1) at 89 s (step 2) and at 119 s (step 3).
        assert_eq!(
            matching_step(secret, "287082", 89, None).ok(),
            Some(Some(1))
        );
        assert_eq!(matching_step(secret, "287082", 119, None).ok(), Some(None));
        // Once step 1 was used, its code is refused.
        assert_eq!(
            matching_step(secret, "287082", 59, Some(1)).ok(),
            Some(None)
        );
    }

    #[test]
    fn sealed_secrets_open_only_for_their_account() {
        let key = MfaKey::new([7; 32]);
        let sealed = key.seal(b"a secret of twenty b", 42).ok();
        let sealed = sealed.as_deref().unwrap_or_default();
        assert_eq!(
            key.open(sealed, 42).ok().as_deref(),
            Some(&b"a secret of twenty b"[..])
        );
        assert!(key.open(sealed, 43).is_err());
        assert!(MfaKey::new([8; 32]).open(sealed, 42).is_err());
    }

    #[test]
    fn recovery_codes_are_ten_distinct_and_hash_as_typed() {
        let codes = new_recovery_codes().unwrap_or_default();
        assert_eq!(codes.len(), RECOVERY_CODES);
        assert_eq!(
            codes.iter().collect::<std::collections::HashSet<_>>().len(),
            10
        );
        let key = MfaKey::new([1; 32]);
        let code = &codes[0];
        assert_eq!(
            key.code_hash(code),
            key.code_hash(&code.to_uppercase().replace('-', " "))
        );
        assert_eq!(key.code_hash("o1ab0-lcdef"), key.code_hash("01AB0 ICDEF"));
        assert_ne!(key.code_hash(code), key.code_hash(&codes[1]));
    }
}
