//! The benchmark's database: `fresh` prints a scratch database URL (a new PostgreSQL database
//! when `DATABASE_URL` names a server, else a SQLite file in `--dir`), `seed` fills it through
//! the real application code (migrations, secrets) with `--users N` members and one admin,
//! and times one bcrypt hash at the configured cost; `drop` removes a scratch PostgreSQL
//! database. Output is `key=value` lines for `bench/run`.

use std::time::Instant;

use clap::{Parser, Subcommand};
use diesel::{Connection, PgConnection, RunQueryDsl};
use gatehouse::accounts::model::NewUser;
use gatehouse::db::schema::users;
use gatehouse::db::DbConn;
use gatehouse::App;

/// The password of every seeded account.
const PASSWORD: &str = "bench-Tq9#vLm2!xRw8pZe";

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Fresh {
        #[arg(long)]
        dir: String,
    },
    Seed {
        #[arg(long, default_value_t = 100_000)]
        users: usize,
    },
    Drop {
        url: String,
    },
}

fn main() -> Result<(), String> {
    match Cli::parse().command {
        Command::Fresh { dir } => fresh(&dir),
        Command::Seed { users } => seed(users),
        Command::Drop { url } => drop_database(&url),
    }
}

fn fresh(dir: &str) -> Result<(), String> {
    match std::env::var("DATABASE_URL") {
        Ok(server) if server.starts_with("postgres") => {
            let name = format!("gatehouse_bench_{}", std::process::id());
            let mut conn = PgConnection::establish(&server).map_err(|e| e.to_string())?;
            diesel::sql_query(format!("CREATE DATABASE {name}"))
                .execute(&mut conn)
                .map_err(|e| e.to_string())?;
            let base = server.rsplit_once('/').map_or(server.as_str(), |(b, _)| b);
            println!("database_url={base}/{name}");
        }
        _ => println!("database_url=sqlite://{dir}/bench.db"),
    }
    Ok(())
}

fn drop_database(url: &str) -> Result<(), String> {
    let (base, name) = url.rsplit_once('/').ok_or("not a database URL")?;
    let mut conn =
        PgConnection::establish(&format!("{base}/postgres")).map_err(|e| e.to_string())?;
    diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut conn)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn seed(count: usize) -> Result<(), String> {
    let prepared = App::prepare(gatehouse::figment()).map_err(|e| e.to_string())?;
    let app = prepared.app;
    let cost = app.settings.bcrypt_cost;
    let mut times = Vec::new();
    let mut hash = String::new();
    for _ in 0..5 {
        let started = Instant::now();
        hash = bcrypt::non_truncating_hash(PASSWORD, cost).map_err(|e| e.to_string())?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    println!("bcrypt_ms={:.1}", times[2]);
    println!("bcrypt_cost={cost}");
    let runtime = rocket::tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(async {
        app.db
            .run(move |c| insert(c, count, &hash))
            .await
            .map_err(|e| e.to_string())
    })?;
    println!("users={count}");
    println!("password={PASSWORD}");
    Ok(())
}

/// `count` members `user000000`…, then `benchadmin`, in batches of 1,000.
fn insert(conn: &mut DbConn, count: usize, hash: &str) -> diesel::QueryResult<()> {
    let now = gatehouse::clock::Clock::default().now();
    let names: Vec<String> = (0..count)
        .map(|i| format!("user{i:06}"))
        .chain(["benchadmin".to_owned()])
        .collect();
    conn.transaction(|conn| {
        for chunk in names.chunks(1000) {
            let rows: Vec<(String, String, String)> = chunk
                .iter()
                .map(|n| {
                    (
                        uuid::Uuid::new_v4().to_string(),
                        n.clone(),
                        format!("{n}@example.com"),
                    )
                })
                .collect();
            let batch: Vec<NewUser<'_>> = rows
                .iter()
                .map(|(id, name, email)| NewUser {
                    public_id: id,
                    username: name,
                    email,
                    name: None,
                    password_hash: hash,
                    role: if name == "benchadmin" {
                        "admin"
                    } else {
                        "user"
                    },
                    active: true,
                    created_at: now,
                    updated_at: now,
                    password_changed_at: now,
                    email_verified: true,
                })
                .collect();
            let insert = diesel::insert_into(users::table).values(&batch);
            match conn {
                DbConn::Sqlite(c) => insert.execute(c)?,
                DbConn::Postgres(c) => insert.execute(c)?,
            };
        }
        Ok::<_, diesel::result::Error>(())
    })?;
    // Fold the bulk insert back into the database file, as a running database is regularly:
    // a write-ahead log of 100,000 rows would slow the first reads measured, and on
    // PostgreSQL autovacuum and a checkpoint would otherwise run in the middle of them.
    let settle = match conn {
        DbConn::Sqlite(_) => ["ANALYZE", "PRAGMA wal_checkpoint(TRUNCATE)"],
        DbConn::Postgres(_) => ["VACUUM (ANALYZE)", "CHECKPOINT"],
    };
    for statement in settle {
        diesel::sql_query(statement).execute(conn)?;
    }
    Ok(())
}
