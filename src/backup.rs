//! `gatehouse backup FILE` and `gatehouse restore FILE` (API.md §11): a consistent copy of
//! the SQLite database taken while the server runs (`VACUUM INTO`, which reads one snapshot
//! as any reader does in WAL mode and writes a compact file), with the generated secrets of
//! the data directory in `FILE.secrets/` beside it; and putting such a copy back into an
//! empty data directory. PostgreSQL has its own tools: both commands say which.

use std::fs;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use diesel::prelude::*;
use diesel::sql_types::Text;

use rocket::figment::Figment;

use crate::app::StartError;
use crate::db::DatabaseUrl;
use crate::secrets;
use crate::settings::Settings;

const ON_POSTGRES: &str = "the database is PostgreSQL: back it up with `pg_dump --format=custom \
     --file=gatehouse.dump \"$DATABASE_URL\"` and restore with `pg_restore --clean --dbname \
     \"$DATABASE_URL\" gatehouse.dump`; the generated secrets are in its app_secrets table, so \
     the dump carries them (keep it as private as the keys)";

/// Where a backup's secrets go: `FILE.secrets/`.
fn secrets_dir(file: &Path) -> PathBuf {
    suffixed(file, ".secrets")
}

/// `path` with `suffix` after its whole name (`x.db` → `x.db-wal`).
fn suffixed(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn sqlite_path(settings: &Settings) -> Result<PathBuf, String> {
    match DatabaseUrl::parse(&settings.database_url, &settings.data_dir)? {
        DatabaseUrl::Sqlite(path) => Ok(path),
        DatabaseUrl::Postgres(_) => Err(ON_POSTGRES.to_owned()),
    }
}

/// Copies the live database into `file` and the data directory's secrets beside it; says
/// what it wrote.
pub fn backup(figment: &Figment, file: &Path) -> Result<String, StartError> {
    let settings = Settings::from_figment(figment)?;
    Ok(backup_with(&settings, file)?)
}

/// Puts a backup back into an empty data directory: refuses when a database or a secret is
/// there already (a live directory is never overwritten).
pub fn restore(figment: &Figment, file: &Path) -> Result<String, StartError> {
    let settings = Settings::from_figment(figment)?;
    Ok(restore_with(&settings, file)?)
}

fn backup_with(settings: &Settings, file: &Path) -> Result<String, String> {
    let database = sqlite_path(settings)?;
    let secrets = secrets_dir(file);
    if file.exists() || secrets.exists() {
        return Err(format!(
            "{} or {} exists already: name a new file",
            file.display(),
            secrets.display()
        ));
    }
    if !database.exists() {
        return Err(format!("there is no database at {}", database.display()));
    }
    // Made empty and private first: `VACUUM INTO` fills an empty file, and would otherwise
    // create one readable by everyone (it holds every password hash and email).
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(file)
        .map_err(|e| format!("cannot create {}: {e}", file.display()))?;
    let url = database.to_string_lossy().into_owned();
    let mut conn = SqliteConnection::establish(&url)
        .map_err(|e| format!("cannot open {}: {e}", database.display()))?;
    diesel::sql_query("PRAGMA busy_timeout = 5000")
        .execute(&mut conn)
        .and_then(|_| {
            diesel::sql_query("VACUUM INTO ?")
                .bind::<Text, _>(file.to_string_lossy().into_owned())
                .execute(&mut conn)
        })
        .map_err(|e| {
            let _ = fs::remove_file(file);
            format!("cannot copy the database into {}: {e}", file.display())
        })?;
    fs::DirBuilder::new()
        .mode(0o700)
        .create(&secrets)
        .map_err(|e| format!("cannot create {}: {e}", secrets.display()))?;
    let mut copied = Vec::new();
    for name in secrets::FILES {
        let from = settings.data_dir.join(name);
        if from.exists() {
            secrets::copy_private(&from, &secrets.join(name))?;
            copied.push(name);
        }
    }
    Ok(format!(
        "Backed up {} into {} and its secrets ({}) into {}.",
        database.display(),
        file.display(),
        copied.join(", "),
        secrets.display()
    ))
}

/// Files beside a SQLite database that belong to it: a leftover log would be replayed into
/// the restored file.
const COMPANIONS: [&str; 3] = ["-wal", "-shm", "-journal"];

fn restore_with(settings: &Settings, file: &Path) -> Result<String, String> {
    let database = sqlite_path(settings)?;
    let in_use = std::iter::once(database.clone())
        .chain(COMPANIONS.iter().map(|suffix| suffixed(&database, suffix)))
        .chain(
            secrets::FILES
                .iter()
                .map(|name| settings.data_dir.join(name)),
        )
        .find(|path| path.exists());
    if let Some(path) = in_use {
        return Err(format!(
            "{} exists: restore into an empty data directory (stop the server and move the \
             old one aside first)",
            path.display()
        ));
    }
    let secrets = secrets_dir(file);
    if !secrets.is_dir() {
        return Err(format!(
            "{} is missing: without the secrets every session would end and no second factor \
             would open; restore the pair `backup` made",
            secrets.display()
        ));
    }
    check_integrity(file)?;
    secrets::ensure_data_dir(&settings.data_dir, &mut Vec::new())?;
    // The secrets first, the database last (by a rename): a restore that fails half way
    // leaves no database that would start with the wrong keys, and is undone.
    let mut written = Vec::new();
    let result = restore_files(settings, file, &secrets, &database, &mut written);
    if result.is_err() {
        for path in written {
            let _ = fs::remove_file(path);
        }
    }
    result
}

fn restore_files(
    settings: &Settings,
    file: &Path,
    secrets: &Path,
    database: &Path,
    written: &mut Vec<PathBuf>,
) -> Result<String, String> {
    let mut restored = Vec::new();
    for name in secrets::FILES {
        let (from, to) = (secrets.join(name), settings.data_dir.join(name));
        if from.exists() {
            secrets::copy_private(&from, &to)?;
            written.push(to);
            restored.push(name);
        }
    }
    let partial = database.with_extension("restoring");
    written.push(partial.clone());
    fs::copy(file, &partial)
        .and_then(|_| fs::set_permissions(&partial, fs::Permissions::from_mode(0o600)))
        .and_then(|_| fs::File::open(&partial)?.sync_all())
        .and_then(|_| fs::rename(&partial, database))
        .map_err(|e| {
            format!(
                "cannot copy {} to {}: {e}",
                file.display(),
                database.display()
            )
        })?;
    Ok(format!(
        "Restored {} into {}, with its secrets ({}).",
        file.display(),
        database.display(),
        restored.join(", ")
    ))
}

/// `PRAGMA integrity_check` says `ok` of the file.
fn check_integrity(file: &Path) -> Result<(), String> {
    #[derive(QueryableByName)]
    struct Check {
        #[diesel(sql_type = Text)]
        integrity_check: String,
    }
    if !file.is_file() {
        return Err(format!("there is no backup at {}", file.display()));
    }
    let url = file.to_string_lossy().into_owned();
    let mut conn = SqliteConnection::establish(&url)
        .map_err(|e| format!("cannot open {}: {e}", file.display()))?;
    let checks: Vec<Check> = diesel::sql_query("PRAGMA integrity_check")
        .load(&mut conn)
        .map_err(|e| format!("{} is not a SQLite database: {e}", file.display()))?;
    match checks.first().map(|c| c.integrity_check.as_str()) {
        Some("ok") => Ok(()),
        other => Err(format!(
            "{} fails SQLite's integrity check: {}",
            file.display(),
            other.unwrap_or("no answer")
        )),
    }
}
