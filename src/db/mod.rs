//! The database: one connection type over SQLite or PostgreSQL, chosen at run time by the
//! scheme of `database_url`, a pool of them, and the embedded migrations for each dialect.
//!
//! Queries are written once against [`DbConn`]; Diesel's `MultiConnection` keeps them to the
//! subset both backends understand.

pub mod batch;
pub mod schema;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rocket::tokio::sync::Semaphore;

use crate::error::Unexpected;
use diesel::connection::SimpleConnection;
use diesel::r2d2::{self, ManageConnection, Pool, R2D2Connection};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::{Connection, PgConnection, QueryResult, SqliteConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

diesel::define_sql_function!(
    /// SQL's `lower()`, the same in both dialects.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text
);

diesel::define_sql_function!(
    /// `lower()` of a column that may be NULL (the audit log's usernames).
    #[sql_name = "lower"]
    fn lower_nullable(
        x: diesel::sql_types::Nullable<diesel::sql_types::Text>
    ) -> diesel::sql_types::Nullable<diesel::sql_types::Text>
);

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// A connection to whichever backend the settings name.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Postgres(PgConnection),
    Sqlite(SqliteConnection),
}

/// Where the database is, parsed from `database_url` (or defaulted into `data_dir`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

impl DatabaseUrl {
    /// `sqlite://path`, `sqlite:path` or a bare path pick SQLite; `postgres://` or
    /// `postgresql://` pick PostgreSQL; anything else with a scheme is refused. Empty means
    /// the SQLite file in `data_dir`.
    pub(crate) fn parse(url: &str, data_dir: &Path) -> Result<Self, String> {
        let url = url.trim();
        if url.is_empty() {
            return Ok(Self::Sqlite(data_dir.join("gatehouse.db")));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(url.to_owned()));
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        if path.is_empty() || path.contains("://") {
            return Err(format!(
                "`{url}` is neither sqlite://PATH, a file path, nor postgres://…"
            ));
        }
        Ok(Self::Sqlite(PathBuf::from(path)))
    }

    /// A description safe to log: no password.
    pub(crate) fn describe(&self) -> String {
        match self {
            Self::Sqlite(path) => format!("SQLite at {}", path.display()),
            Self::Postgres(_) => "PostgreSQL".to_owned(),
        }
    }
}

/// A connection used within this long is not pinged when it is handed out again: under load
/// every connection is (the ping cost a statement per request); one idle for longer is
/// pinged first, so connections a database restart killed while idle are replaced unseen.
const FRESH: Duration = Duration::from_secs(1);

/// A pooled connection, with what the pool needs to know of its health.
pub struct Pooled {
    conn: DbConn,
    /// A query failed on it and a ping then failed too: the pool drops it.
    broken: bool,
    last_used: Instant,
}

impl std::ops::Deref for Pooled {
    type Target = DbConn;

    fn deref(&self) -> &DbConn {
        &self.conn
    }
}

impl std::ops::DerefMut for Pooled {
    fn deref_mut(&mut self) -> &mut DbConn {
        &mut self.conn
    }
}

/// Opens connections and sets each one up for our use.
struct Manager {
    url: DatabaseUrl,
}

impl ManageConnection for Manager {
    type Connection = Pooled;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<Pooled, r2d2::Error> {
        let mut conn = match &self.url {
            DatabaseUrl::Sqlite(path) => {
                let path = path.to_string_lossy();
                DbConn::Sqlite(SqliteConnection::establish(&path)?)
            }
            DatabaseUrl::Postgres(url) => DbConn::Postgres(PgConnection::establish(url)?),
        };
        conn.batch_execute(session_setup(&conn))
            .map_err(r2d2::Error::QueryError)?;
        Ok(Pooled {
            conn,
            broken: false,
            last_used: Instant::now(),
        })
    }

    /// Checked as it is handed out: only a connection that sat idle is pinged.
    fn is_valid(&self, pooled: &mut Pooled) -> Result<(), r2d2::Error> {
        if pooled.last_used.elapsed() < FRESH {
            return Ok(());
        }
        pooled.conn.ping().map_err(r2d2::Error::QueryError)?;
        pooled.last_used = Instant::now();
        Ok(())
    }

    fn has_broken(&self, pooled: &mut Pooled) -> bool {
        pooled.broken || pooled.conn.is_broken()
    }
}

/// Per-connection settings. PostgreSQL sessions run in UTC because our timestamps are UTC
/// values declared as `Timestamp`; SQLite gets WAL (readers never wait for the writer), foreign
/// keys (for cascading deletes), a busy timeout (writers queue instead of failing) and a
/// 128 KiB page cache per connection: the pool holds many, each would fill its cache in time
/// (the admin dashboard's counts filled 512 KiB caches: +20 MB resident), and the OS caches
/// the file anyway (the session check measured no slower).
fn session_setup(conn: &DbConn) -> &'static str {
    match conn {
        DbConn::Postgres(_) => "SET TIME ZONE 'UTC'",
        DbConn::Sqlite(_) => {
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; PRAGMA cache_size = -128;"
        }
    }
}

/// Why the database could not be opened, migrated or asked for a secret: one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Error(pub String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// Why work got no connection within `database_timeout`.
pub(crate) const NO_CONNECTION_IN_TIME: &str = "no database connection came free in time";

/// The error a query gets when the database cannot be reached, no connection came free in
/// time, or the server is shutting down: callers classify it as an outage.
pub(crate) fn outage(why: &str) -> DieselError {
    DieselError::DatabaseError(
        DatabaseErrorKind::ClosedConnection,
        Box::new(why.to_owned()),
    )
}

/// Creates the SQLite file readable by its owner only before SQLite opens it (it would
/// follow the umask, often 0644: hashes, emails and CSRF tokens readable by any local
/// user); SQLite gives the `-wal` and `-shm` files the database file's mode.
fn create_private(path: &Path) -> Result<(), Error> {
    use std::os::unix::fs::OpenOptionsExt;
    let created = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path);
    match created {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(Error(format!("cannot create {}: {e}", path.display()))),
    }
}

/// The database cannot be reached, in one line (libpq explains over several).
fn unreachable(url: &DatabaseUrl, cause: impl fmt::Display) -> Error {
    let cause = cause.to_string();
    let cause = cause.split_whitespace().collect::<Vec<_>>().join(" ");
    Error(format!(
        "cannot open the database ({}): {cause}",
        url.describe()
    ))
}

/// The pool, kept in Rocket's managed state.
#[derive(Clone)]
pub struct Db {
    pool: Pool<Manager>,
    /// One permit per connection: work queues here, in arrival order, before it is handed to
    /// a blocking thread (see [`Db::run`]).
    turns: Arc<Semaphore>,
    /// How long work may wait for its turn and its connection before it is an outage.
    timeout: Duration,
    /// Reads may run on the async workers (see [`Db::read`]).
    sqlite: bool,
}

impl Db {
    /// Connects, failing when the database cannot be reached within `timeout`. `warm`: keep
    /// a connection open and ready (a server); a one-shot command keeps none, so no
    /// connection is being opened in the background when it exits (libpq's TLS clean-up at
    /// exit would crash a thread still in its handshake).
    pub(crate) fn connect(
        url: &DatabaseUrl,
        size: u32,
        timeout: Duration,
        warm: bool,
    ) -> Result<Self, Error> {
        if let DatabaseUrl::Sqlite(path) = url {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .map_err(|e| Error(format!("cannot create {}: {e}", dir.display())))?;
            }
            create_private(path)?;
        }
        let pool = Pool::builder()
            .max_size(size)
            .min_idle(Some(u32::from(warm)))
            .connection_timeout(timeout)
            .error_handler(Box::new(r2d2::LoggingErrorHandler))
            .build(Manager { url: url.clone() })
            .map_err(|e| unreachable(url, e))?;
        // Without a warm connection the pool opens none by itself: open one to know now.
        pool.get().map_err(|e| unreachable(url, e))?;
        let sqlite = matches!(url, DatabaseUrl::Sqlite(_));
        let turns = Arc::new(Semaphore::new(size as usize));
        Ok(Self {
            pool,
            turns,
            timeout,
            sqlite,
        })
    }

    /// Applies pending migrations; returns how many ran.
    pub(crate) fn migrate(&self) -> Result<usize, Error> {
        let mut conn = self.pool.get().map_err(|e| Error(e.to_string()))?;
        let failed =
            |e: Box<dyn std::error::Error + Send + Sync>| Error(format!("migrations failed: {e}"));
        let lock = |e: DieselError| Error(e.to_string());
        match &mut **conn {
            DbConn::Sqlite(c) => c
                .run_pending_migrations(SQLITE_MIGRATIONS)
                .map(|applied| applied.len())
                .map_err(failed),
            DbConn::Postgres(c) => {
                // Instances starting together take turns; the later ones find nothing to do.
                c.batch_execute("SELECT pg_advisory_lock(7261000)")
                    .map_err(lock)?;
                let applied = c
                    .run_pending_migrations(POSTGRES_MIGRATIONS)
                    .map(|applied| applied.len())
                    .map_err(failed);
                c.batch_execute("SELECT pg_advisory_unlock(7261000)")
                    .map_err(lock)?;
                applied
            }
        }
    }

    /// Runs start-up work on a connection of its own, before the server takes requests
    /// (so not on an async worker).
    pub(crate) fn at_start<T>(
        &self,
        work: impl FnOnce(&mut DbConn) -> QueryResult<T>,
    ) -> Result<T, Error> {
        let mut conn = self.pool.get().map_err(|e| Error(e.to_string()))?;
        work(&mut conn).map_err(|e| Error(e.to_string()))
    }

    /// Reads a generated secret, creating it with `generate` when absent. The primary key
    /// makes creation happen once: an instance that loses the race reads the winner's value.
    pub(crate) fn secret(
        &self,
        name: &str,
        generate: fn() -> String,
        notes: &mut Vec<String>,
    ) -> Result<String, Error> {
        use diesel::prelude::*;
        use schema::app_secrets;
        if let Some(value) = self.read_secret(name)? {
            return Ok(value);
        }
        // The connection goes back to the pool before the value is read again (with a pool
        // of one, holding it would wait for itself).
        let inserted = {
            let mut conn = self.pool.get().map_err(|e| Error(e.to_string()))?;
            diesel::insert_into(app_secrets::table)
                .values((
                    app_secrets::name.eq(name),
                    app_secrets::value.eq(generate()),
                    app_secrets::created_at.eq(crate::clock::Clock::default().now()),
                ))
                .execute(&mut **conn)
        };
        match inserted {
            Ok(_) => notes.push(format!("generated {name} in the database")),
            Err(e) if is_unique_violation(&e) => {}
            Err(e) => return Err(Error(format!("cannot store {name}: {e}"))),
        }
        self.read_secret(name)?
            .ok_or_else(|| Error(format!("{name} vanished from the database")))
    }

    /// A stored secret, if there is one.
    pub(crate) fn read_secret(&self, name: &str) -> Result<Option<String>, Error> {
        use diesel::prelude::*;
        use schema::app_secrets;
        let mut conn = self.pool.get().map_err(|e| Error(e.to_string()))?;
        app_secrets::table
            .find(name)
            .select(app_secrets::value)
            .first::<String>(&mut **conn)
            .optional()
            .map_err(|e| Error(e.to_string()))
    }

    /// Replaces a stored secret.
    pub(crate) fn write_secret(&self, name: &str, value: &str) -> Result<(), Error> {
        use diesel::prelude::*;
        use schema::app_secrets;
        let mut conn = self.pool.get().map_err(|e| Error(e.to_string()))?;
        diesel::update(app_secrets::table.find(name))
            .set(app_secrets::value.eq(value))
            .execute(&mut **conn)
            .map(|_| ())
            .map_err(|e| Error(format!("cannot store {name}: {e}")))
    }

    /// Runs blocking database work on Rocket's blocking pool, never on an async worker.
    /// Work first waits for its turn, in arrival order, on the async side (one turn per
    /// connection): blocking threads then hardly wait for a connection (only re-reads of the
    /// key ring take one outside the queue), and nobody is overtaken (r2d2 wakes its waiters
    /// in no particular order, so under load one request could lose the race for a
    /// connection again and again). Turn and connection together take at most
    /// `database_timeout`. An outage (no turn in time, no connection, or one lost during the
    /// work) reaches the caller as [`outage`], whatever error type the work uses; after an
    /// unexpected failure the connection is pinged to tell which it was.
    pub async fn run<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DieselError> + Unexpected + Send + 'static,
    {
        let asked = Instant::now();
        let waited = rocket::tokio::time::timeout(self.timeout, self.turns.clone().acquire_owned());
        let Ok(Ok(turn)) = waited.await else {
            return Err(outage(NO_CONNECTION_IN_TIME).into());
        };
        crate::metrics::pool_wait(asked.elapsed());
        // What is left of the timeout: a turn taken late must not wait a whole timeout more
        // for a database that cannot be reached.
        let left = self.timeout.saturating_sub(asked.elapsed());
        let pool = self.pool.clone();
        let done = crate::blocking::run(move || {
            let _turn = turn;
            match pool.get_timeout(left) {
                Ok(mut conn) => work_on(&mut conn, work),
                Err(_) => Err(outage(NO_CONNECTION_IN_TIME).into()),
            }
        })
        .await;
        done.unwrap_or_else(|| Err(outage("the server is shutting down").into()))
    }

    /// This instance's connections: lent out, and idle in the pool.
    pub(crate) fn connections(&self) -> (u32, u32) {
        let state = self.pool.state();
        (
            state.connections - state.idle_connections,
            state.idle_connections,
        )
    }

    /// Runs a read of a few rows by key, such as the session check of every request: on
    /// SQLite, right here on the async worker when a connection is free, which spares the
    /// hand-off to the blocking pool and back (most of a request's cost); otherwise as
    /// [`run`](Self::run). Safe on SQLite because in WAL mode a reader waits for no lock
    /// (it reads its snapshot while a writer appends to the log), so the work is bounded by
    /// the query itself, microseconds for a primary-key lookup; `try_get` never waits for a
    /// connection. PostgreSQL always goes through [`run`](Self::run): a network round trip
    /// must never hold an async worker. `work` must only read.
    pub async fn read<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DieselError> + Unexpected + Send + 'static,
    {
        if self.sqlite {
            // Only when nobody is queued: a free turn, then a free connection.
            if let Ok(_turn) = self.turns.try_acquire() {
                if let Some(mut conn) = self.pool.try_get() {
                    crate::metrics::pool_wait(Duration::ZERO);
                    return work_on(&mut conn, work);
                }
            }
        }
        self.run(work).await
    }
}

/// Runs `work` on a pooled connection. A query that failed because the server went away is
/// an outage, not a bug: the connection is marked broken (the pool drops it instead of
/// handing it out again) and the caller gets [`outage`].
fn work_on<T, E, F>(conn: &mut Pooled, work: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<DieselError> + Unexpected,
{
    let result = work(&mut conn.conn);
    conn.last_used = Instant::now();
    match result {
        Err(e) if e.unexpected() && conn.conn.ping().is_err() => {
            log::warn!("database connection lost");
            conn.broken = true;
            Err(outage("the database connection was lost").into())
        }
        other => other,
    }
}

/// Runs `work` in a transaction that writes. On SQLite it begins `IMMEDIATE`, holding the
/// write lock from the start: a deferred transaction that reads first and writes later
/// fails with "database is locked" when another writer got in between (it cannot wait for
/// a lock upgrade). On PostgreSQL it is an ordinary transaction. Transactions nested inside
/// become savepoints, as with `Connection::transaction`.
pub fn write_transaction<T, E, F>(conn: &mut DbConn, work: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<DieselError>,
{
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    let DbConn::Sqlite(sqlite) = conn else {
        return conn.transaction(work);
    };
    AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")?;
    let result = work(conn);
    let DbConn::Sqlite(sqlite) = conn else {
        return result;
    };
    match result {
        Ok(value) => {
            AnsiTransactionManager::commit_transaction(sqlite)?;
            Ok(value)
        }
        Err(error) => {
            AnsiTransactionManager::rollback_transaction(sqlite)?;
            Err(error)
        }
    }
}

/// Whether a query failed on a unique index (a taken username or email).
pub(crate) fn is_unique_violation(error: &DieselError) -> bool {
    matches!(
        error,
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)
    )
}

/// Whether the database answers a trivial query.
pub(crate) fn ping(conn: &mut DbConn) -> Result<(), DieselError> {
    use diesel::RunQueryDsl;
    diesel::sql_query("SELECT 1").execute(conn).map(|_| ())
}
