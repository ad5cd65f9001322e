//! The `gatehouse` command: serves by default; `create-admin` and `migrate` for operators.

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use gatehouse::accounts::{self, NewAccount, Origin};
use gatehouse::audit::Source;
use gatehouse::error::Error;
use gatehouse::settings::LogFormat;
use gatehouse::{App, StartError};

/// Self-hosted user accounts: pages for people, a JSON API for programs.
///
/// Settings come from Rocket.toml and ROCKET_* environment variables (DATABASE_URL too);
/// see the README for the table.
#[derive(Parser)]
#[command(name = "gatehouse", version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the application (the default).
    Serve,
    /// Create an admin account. The password is read from standard input when it is not a
    /// terminal, else prompted for twice.
    CreateAdmin {
        #[arg(long)]
        username: String,
        #[arg(long)]
        email: String,
        /// Display name.
        #[arg(long)]
        name: Option<String>,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Copy the SQLite database (while the server runs) into FILE and the data directory's
    /// secrets into FILE.secrets/. On PostgreSQL, says how to use pg_dump.
    Backup { file: PathBuf },
    /// Put a backup made by `backup` into an empty data directory (never over a live one).
    Restore { file: PathBuf },
    /// Let an account (by username or email) try to log in again at once: clears every
    /// login lock-out that can keep it out, and audits that the operator did.
    Unlock {
        /// The account's username or email.
        username: String,
    },
    /// Remove an account's second factor (an admin who lost both the phone and the recovery
    /// codes), audited and mailed; with --all, every account's (a lost mfa_key).
    RemoveMfa {
        /// The account's username or email.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        username: Option<String>,
        /// Every account's second factor.
        #[arg(long)]
        all: bool,
    },
    /// Add a new JWT signing key and make it the signer. Tokens signed by the older keys keep
    /// working until they expire; running instances pick the new key up within a minute.
    RotateKeys,
}

#[rocket::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command.unwrap_or(Command::Serve)).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            gatehouse::logs::fatal(&format!("gatehouse: {error}"));
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> Result<(), StartError> {
    let figment = gatehouse::figment();
    match command {
        Command::Serve => {
            let format: LogFormat = figment.extract_inner("log_format").unwrap_or_default();
            gatehouse::logs::init(log_level(&figment), format);
            // Colour codes would end up inside the JSON messages.
            let json = format == LogFormat::Json;
            let figment = if json {
                figment.merge(("cli_colors", false))
            } else {
                figment
            };
            let rocket = gatehouse::rocket(figment)?;
            rocket
                .launch()
                .await
                .map_err(|e| StartError(e.to_string()))?;
        }
        Command::Backup { file } => println!("{}", gatehouse::backup::backup(&figment, &file)?),
        Command::Restore { file } => println!("{}", gatehouse::backup::restore(&figment, &file)?),
        Command::Migrate => {
            let prepared = App::prepare(figment)?;
            print_notes(&prepared.notes);
            println!("The database is up to date.");
        }
        Command::RotateKeys => {
            let prepared = App::prepare(figment)?;
            print_notes(&prepared.notes);
            let (kid, keys) = prepared.app.rotate_keys()?;
            println!("New signing key {kid} ({keys} keys in the ring; older tokens stay valid).");
        }
        Command::Unlock { username } => {
            let prepared = App::prepare(figment)?;
            print_notes(&prepared.notes);
            let user = account_named(&prepared.app, &username).await?;
            gatehouse::auth::lockouts::unlock_by_operator(&prepared.app, &user)
                .await
                .map_err(explain)?;
            println!("{} may log in again.", user.username);
        }
        Command::RemoveMfa { username: None, .. } => {
            let removed = App::remove_all_second_factors(figment)?;
            println!("Removed the second factor of {removed} account(s); they may enrol again.");
        }
        Command::RemoveMfa {
            username: Some(username),
            ..
        } => {
            let prepared = App::prepare(figment)?;
            print_notes(&prepared.notes);
            let user = account_named(&prepared.app, &username).await?;
            gatehouse::mfa::remove_by_operator(&prepared.app, &user)
                .await
                .map_err(explain)?;
            println!(
                "{} signs in with the password alone until they enrol again.",
                user.username
            );
        }
        Command::CreateAdmin {
            username,
            email,
            name,
        } => {
            let prepared = App::prepare(figment)?;
            print_notes(&prepared.notes);
            let password = read_password()?;
            let input = NewAccount {
                username,
                email,
                password: Some(password),
                name,
                role: Some("admin".into()),
                active: Some(true),
            };
            let source = Source::CommandLine;
            let user = accounts::create(&prepared.app, input, Origin::CommandLine, &source)
                .await
                .map_err(explain)?;
            println!("Created admin {} ({}).", user.username, user.public_id);
        }
    }
    Ok(())
}

/// Rocket's `log_level` as the `log` crate's filter, as Rocket itself maps it.
fn log_level(figment: &rocket::figment::Figment) -> log::LevelFilter {
    let level: String = figment
        .extract_inner("log_level")
        .unwrap_or_else(|_| "normal".to_owned());
    match level.as_str() {
        "off" => log::LevelFilter::Off,
        "critical" => log::LevelFilter::Warn,
        "debug" => log::LevelFilter::Trace,
        _ => log::LevelFilter::Info,
    }
}

fn print_notes(notes: &[String]) {
    for note in notes {
        eprintln!("gatehouse: {note}");
    }
}

/// The account an operator names by its username or email.
async fn account_named(
    app: &App,
    name: &str,
) -> Result<gatehouse::accounts::model::User, StartError> {
    accounts::find_by_login(app, name)
        .await
        .map_err(|error| match error {
            Error::NotFound => StartError(format!("no account is called {name}")),
            other => explain(other),
        })
}

/// One line from a pipe, or two matching prompts at a terminal.
fn read_password() -> Result<String, StartError> {
    let failed = |e: std::io::Error| StartError(format!("cannot read the password: {e}"));
    if !std::io::stdin().is_terminal() {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(failed)?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_owned());
    }
    let first = rpassword::prompt_password("Password: ").map_err(failed)?;
    let second = rpassword::prompt_password("Password again: ").map_err(failed)?;
    if first != second {
        return Err(StartError("the two passwords differ".into()));
    }
    Ok(first)
}

/// Validation problems as one readable line per field.
fn explain(error: Error) -> StartError {
    match error {
        Error::Validation(fields) => {
            let lines: Vec<String> = fields
                .iter()
                .map(|(field, problems)| format!("{field}: {}", problems.join("; ")))
                .collect();
            StartError(lines.join("\n"))
        }
        other => StartError(other.message()),
    }
}
