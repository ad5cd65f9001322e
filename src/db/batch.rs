//! Reads by key, such as the session check of every request. On PostgreSQL, keys asked for
//! while another read is under way are answered together by the next query: each query is a
//! round trip and a hand-off to a blocking thread, which cost more than the lookup itself.
//! On SQLite each key is read alone, on the async worker ([`Db::read`]): no round trip to
//! save, and its statement cache wants one statement of one shape.
//!
//! Exact, never stale: a key is only answered by a query that began after it was asked for,
//! so each caller sees every change committed before it asked.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, PoisonError};

use diesel::QueryResult;
use rocket::futures::FutureExt;
use rocket::tokio::sync::oneshot;

use super::{outage, Db, DbConn};
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
    waiting: Vec<(String, Answer<V>)>,
    reading: bool,
}

/// Batches reads of one kind (see the module).
pub struct Batch<V> {
    db: Db,
    read_one: ReadOne<V>,
    read_many: ReadMany<V>,
    queue: Arc<Mutex<Queue<V>>>,
}

impl<V> Clone for Batch<V> {
    fn clone(&self) -> Self {
        Self {
            db: self.db.clone(),
            read_one: self.read_one,
            read_many: self.read_many,
            queue: self.queue.clone(),
        }
    }
}

impl<V: Clone + Send + 'static> Batch<V> {
    pub fn new(db: Db, read_one: ReadOne<V>, read_many: ReadMany<V>) -> Self {
        let queue = Queue {
            waiting: Vec::new(),
            reading: false,
        };
        Self {
            db,
            read_one,
            read_many,
            queue: Arc::new(Mutex::new(queue)),
        }
    }

    /// The row of `key`, read by the next query to begin.
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
            let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
            queue.waiting.push((key, answer));
            !std::mem::replace(&mut queue.reading, true)
        };
        if start {
            // A task of its own: a caller that goes away must not take the reader with it.
            rocket::tokio::spawn(self.clone().read_until_empty());
        }
        answered
            .await
            .unwrap_or_else(|_| Err(outage("the server is shutting down").into()))
    }

    /// Reads what is waiting, again and again, until nothing is.
    async fn read_until_empty(self) {
        loop {
            let batch: Vec<(String, Answer<V>)> = {
                let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
                if queue.waiting.is_empty() {
                    queue.reading = false;
                    return;
                }
                let take = queue.waiting.len().min(MOST);
                queue.waiting.drain(..take).collect()
            };
            let mut keys: Vec<String> = batch.iter().map(|(key, _)| key.clone()).collect();
            keys.sort_unstable();
            keys.dedup();
            let read_many = self.read_many;
            let read = self
                .db
                .run(move |c| read_many(c, &keys).map_err(Error::from));
            // A panic must not end the reader with `reading` still set: nobody would read
            // again. Its callers get a 500, as a panic in their own request would give.
            let found = match AssertUnwindSafe(read).catch_unwind().await {
                Ok(found) => found.map(|rows| rows.into_iter().collect::<HashMap<_, _>>()),
                Err(_) => Err(Error::internal("a batched read panicked")),
            };
            for (key, answer) in batch {
                // A caller that went away no longer listens: nothing to do.
                let _ = answer.send(match &found {
                    Ok(rows) => Ok(rows.get(&key).cloned()),
                    Err(error) => Err(error.clone()),
                });
            }
        }
    }
}
