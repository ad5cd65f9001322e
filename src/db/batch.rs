//! Reads by key, such as the session check of every request. On PostgreSQL, keys asked for
//! while another read is under way are answered together by the next query: each query is a
//! round trip and a hand-off to a blocking thread, which cost more than the lookup itself.
//! On SQLite each key is read alone, on the async worker ([`Db::read`]): no round trip to
//! save, and its statement cache wants one statement of one shape.
//!
//! Exact, never stale: a key is only answered by a query that began after it was asked for,
//! so each caller sees every change committed before it asked.

use std::collections::{HashMap, VecDeque};
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, PoisonError};

use diesel::QueryResult;
use rocket::futures::FutureExt;
use rocket::tokio::sync::oneshot;

use super::{outage, Db, DbConn, NO_CONNECTION_IN_TIME};
use crate::error::Error;

/// At most this many keys in one query; more wait for the next.
const MOST: usize = 256;

/// The row of one key.
pub type ReadOne<V> = fn(&mut DbConn, &str) -> QueryResult<Option<V>>;

/// One query answering many keys: the rows found, each with its key.
pub type ReadMany<V> = fn(&mut DbConn, &[String]) -> QueryResult<Vec<(String, V)>>;

type Answer<V> = oneshot::Sender<Result<Option<V>, Error>>;

/// Keys waiting to be read, and whether a reader is running.
struct Queue<V> {
    waiting: VecDeque<(String, Answer<V>)>,
    reading: bool,
}

type Shared<V> = Arc<Mutex<Queue<V>>>;

fn lock<V>(queue: &Shared<V>) -> std::sync::MutexGuard<'_, Queue<V>> {
    queue.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Held by the running reader. Should the reader end without saying it is done (its task
/// dropped at shutdown or aborted), the next caller starts a new one, and those waiting are
/// answered at once (their answers dropped: an outage) rather than never.
struct Reading<V> {
    queue: Shared<V>,
    done: bool,
}

impl<V> Drop for Reading<V> {
    fn drop(&mut self) {
        if !self.done {
            let mut queue = lock(&self.queue);
            queue.reading = false;
            queue.waiting.clear();
        }
    }
}

/// Batches reads of one kind (see the module).
#[derive(Clone)]
pub struct Batch<V> {
    db: Db,
    read_one: ReadOne<V>,
    read_many: ReadMany<V>,
    queue: Shared<V>,
}

impl<V: Clone + Send + 'static> Batch<V> {
    pub fn new(db: Db, read_one: ReadOne<V>, read_many: ReadMany<V>) -> Self {
        let queue = Queue {
            waiting: VecDeque::new(),
            reading: false,
        };
        Self {
            db,
            read_one,
            read_many,
            queue: Arc::new(Mutex::new(queue)),
        }
    }

    /// The row of `key`, read by the next query to begin, waiting no longer than
    /// `database_timeout` (then it is an outage, 503, as for any query).
    pub async fn get(&self, key: String) -> Result<Option<V>, Error> {
        if self.db.sqlite {
            let read_one = self.read_one;
            return self
                .db
                .read(move |c| read_one(c, &key).map_err(Error::from))
                .await;
        }
        let (answer, answered) = oneshot::channel();
        let start = {
            let mut queue = lock(&self.queue);
            queue.waiting.push_back((key, answer));
            !std::mem::replace(&mut queue.reading, true)
        };
        if start {
            // A task of its own: a caller that goes away must not take the reader with it.
            rocket::tokio::spawn(self.clone().read_until_empty());
        }
        match rocket::tokio::time::timeout(self.db.timeout, answered).await {
            Ok(Ok(found)) => found,
            Ok(Err(_)) => Err(outage("the batched read ended").into()),
            Err(_) => Err(outage(NO_CONNECTION_IN_TIME).into()),
        }
    }

    /// Reads what is waiting, again and again, until nothing is.
    async fn read_until_empty(self) {
        let mut reading = Reading {
            queue: self.queue.clone(),
            done: false,
        };
        loop {
            let mut batch: Vec<(String, Answer<V>)> = {
                let mut queue = lock(&self.queue);
                // Callers that gave up (timed out, went away) are not read for.
                queue.waiting.retain(|(_, answer)| !answer.is_closed());
                if queue.waiting.is_empty() {
                    queue.reading = false;
                    reading.done = true;
                    return;
                }
                let take = queue.waiting.len().min(MOST);
                queue.waiting.drain(..take).collect()
            };
            let found = self.read(&batch).await;
            if let Err(Error::Unavailable) = found {
                // The database cannot be reached: everyone waiting hears it now rather than
                // after a round each (an error, never a stale row).
                batch.extend(lock(&self.queue).waiting.drain(..));
            }
            for (key, answer) in batch {
                // A caller that went away no longer listens: nothing to do.
                let _ = answer.send(match &found {
                    Ok(rows) => Ok(rows.get(&key).cloned()),
                    Err(error) => Err(error.clone()),
                });
            }
        }
    }

    /// One query for the keys of `batch`.
    async fn read(&self, batch: &[(String, Answer<V>)]) -> Result<HashMap<String, V>, Error> {
        let mut keys: Vec<String> = batch.iter().map(|(key, _)| key.clone()).collect();
        keys.sort_unstable();
        keys.dedup();
        let read_many = self.read_many;
        let read = self
            .db
            .run(move |c| read_many(c, &keys).map_err(Error::from));
        // A panic must not end the reader with `reading` still set: nobody would read
        // again. Its callers get a 500, as a panic in their own request would give.
        match AssertUnwindSafe(read).catch_unwind().await {
            Ok(found) => found.map(|rows| rows.into_iter().collect()),
            Err(_) => Err(Error::internal("a batched read panicked")),
        }
    }
}
