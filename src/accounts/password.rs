//! Password hashing with bcrypt, always on Rocket's blocking pool: a hash at cost 12 takes a
//! quarter of a second, which would stall every request sharing an async worker.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use rand::distr::{Alphanumeric, SampleString};
use rocket::tokio::sync::{Mutex as AsyncMutex, OnceCell, Semaphore, SemaphorePermit};

use crate::blocking;
use crate::error::{Error, Result};

/// The longest password bcrypt can take whole, in bytes of UTF-8 (it reserves one byte of its
/// 72 for a terminator; the `bcrypt` crate refuses 72 and more).
pub(crate) const BCRYPT_MAX_PASSWORD_BYTES: usize = 71;

/// Hashes and verifies at the configured cost.
#[derive(Clone)]
pub(crate) struct Hasher {
    cost: u32,
    /// At most one hash per core at a time: more would not hash faster, only leave the
    /// scheduler more CPU-bound threads to starve every other request with.
    slots: Arc<Semaphore>,
    /// One password check at a time per account: a member sending many at once queues
    /// behind their own, holding at most one of the slots everyone else's logins need.
    turns: Arc<Mutex<HashMap<String, Arc<AsyncMutex<()>>>>>,
    /// A hash of a random password, verified against when the account does not exist so that
    /// "no such user" costs the same time as "wrong password". Made once, in the background
    /// at start; every check waits for it, whether its account exists or not, so a login in
    /// the first quarter second after a start takes as long either way.
    dummy: Arc<OnceCell<String>>,
}

impl Hasher {
    pub(crate) fn new(cost: u32) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self {
            cost,
            slots: Arc::new(Semaphore::new(cores)),
            turns: Arc::default(),
            dummy: Arc::default(),
        }
    }

    /// Computes the dummy hash ahead of the first login (spawned once the server is up).
    pub(crate) async fn warm_up(&self) {
        // Failure here only delays the work to the first login, which retries it.
        let _ = self.dummy_hash().await;
    }

    /// A new hash of a password that validation has accepted (so it fits bcrypt whole).
    pub(crate) async fn hash(&self, password: String) -> Result<String> {
        let cost = self.cost;
        let _queued = crate::metrics::hash_queued();
        let _slot = self.slot().await?;
        let hashed = blocking::run(move || bcrypt::non_truncating_hash(password, cost)).await;
        hashed.ok_or(Error::Unavailable)?.map_err(Error::internal)
    }

    /// Checks a password against a stored hash, or against the dummy when there is none,
    /// in `account`'s turn (see `turns`).
    pub(crate) async fn verify(
        &self,
        password: String,
        stored: Option<String>,
        account: &str,
    ) -> Result<bool> {
        let _queued = crate::metrics::hash_queued();
        let dummy = self.dummy_hash().await?.to_owned();
        let _turn = self.turn(account)?.lock_owned().await;
        let _slot = self.slot().await?;
        let checked = blocking::run(move || {
            let (hash, real) = match stored {
                Some(hash) => (hash, true),
                None => (dummy, false),
            };
            // A password bcrypt cannot take whole never matched anything we stored.
            let matches = bcrypt::non_truncating_verify(password, &hash).unwrap_or(false);
            Ok(matches && real)
        })
        .await;
        checked.unwrap_or(Err(Error::Unavailable))
    }

    /// The lock that orders `account`'s password checks; locks nobody holds are forgotten.
    fn turn(&self, account: &str) -> Result<Arc<AsyncMutex<()>>> {
        let mut turns = self
            .turns
            .lock()
            .map_err(|_| Error::internal("the password-check turns are poisoned"))?;
        turns.retain(|_, turn| Arc::strong_count(turn) > 1);
        Ok(turns.entry(account.to_owned()).or_default().clone())
    }

    /// Waits for a free core: hashes queue here, not in the kernel's run queue.
    async fn slot(&self) -> Result<SemaphorePermit<'_>> {
        self.slots.acquire().await.map_err(Error::internal)
    }

    /// Whether a stored hash was made with another cost and should be redone at login.
    pub(crate) fn needs_rehash(&self, stored: &str) -> bool {
        bcrypt::HashParts::from_str(stored).map_or(true, |parts| parts.get_cost() != self.cost)
    }

    async fn dummy_hash(&self) -> Result<&str> {
        let cost = self.cost;
        let made = self.dummy.get_or_try_init(|| async move {
            let _slot = self.slot().await?;
            let random = Alphanumeric.sample_string(&mut rand::rng(), 32);
            let hashed = blocking::run(move || bcrypt::non_truncating_hash(random, cost)).await;
            hashed.ok_or(Error::Unavailable)?.map_err(Error::internal)
        });
        made.await.map(String::as_str)
    }
}
