//! `gatehouse backup FILE` and `gatehouse restore FILE` (API.md §11): a consistent copy of
//! the SQLite database taken while the server runs (`VACUUM INTO`, which reads one snapshot
//! as any reader does in WAL mode and writes a compact file), with the generated secrets of
//! the data directory in `FILE.secrets/` beside it; and putting such a copy back into an
//! empty data directory. PostgreSQL has its own tools: both commands say which.

use std::fs;
use std::os::unix::fs::DirBuilderExt;
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
    let mut name = file.as_os_str().to_owned();
    name.push(".secrets");
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
    let url = database.to_string_lossy().into_owned();
    let mut conn = SqliteConnection::establish(&url)
        .map_err(|e| format!("cannot open {}: {e}", database.display()))?;
    diesel::sql_query("VACUUM INTO ?")
        .bind::<Text, _>(file.to_string_lossy().into_owned())
        .execute(&mut conn)
        .map_err(|e| format!("cannot copy the database into {}: {e}", file.display()))?;
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

fn restore_with(settings: &Settings, file: &Path) -> Result<String, String> {
    let database = sqlite_path(settings)?;
    let in_use = std::iter::once(database.clone())
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
    check_integrity(file)?;
    secrets::ensure_data_dir(&settings.data_dir, &mut Vec::new())?;
    let partial = database.with_extension("restoring");
    fs::copy(file, &partial)
        .and_then(|_| fs::rename(&partial, &database))
        .map_err(|e| {
            format!(
                "cannot copy {} to {}: {e}",
                file.display(),
                database.display()
            )
        })?;
    let secrets = secrets_dir(file);
    for name in secrets::FILES {
        let from = secrets.join(name);
        if from.exists() {
            secrets::copy_private(&from, &settings.data_dir.join(name))?;
        }
    }
    Ok(format!(
        "Restored {} into {}, with the secrets of {}.",
        file.display(),
        database.display(),
        secrets.display()
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
