//! The `gatehouse` binary: help, settings errors, migrate, create-admin, generated secrets.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::common::PASSWORD;

/// Runs the binary in `dir` with a SQLite database there, feeding `stdin`.
fn gatehouse(dir: &Path, args: &[&str], env: &[(&str, &str)], stdin: &str) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
    command
        .args(args)
        .current_dir(dir)
        .env("ROCKET_DATA_DIR", dir.join("data"))
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/data/cli.db", dir.display()),
        )
        .env("ROCKET_BCRYPT_COST", "4")
        .env_remove("ROCKET_DATABASE_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn help_lists_the_commands() {
    let dir = tempfile::tempdir().unwrap();
    let out = gatehouse(dir.path(), &["--help"], &[], "");
    assert!(out.status.success());
    let help = text(&out.stdout);
    for command in ["serve", "create-admin", "migrate"] {
        assert!(help.contains(command), "{help}");
    }
    let sub = gatehouse(dir.path(), &["create-admin", "--help"], &[], "");
    assert!(text(&sub.stdout).contains("--username"));
}

#[test]
fn a_bad_setting_stops_start_up_with_one_line_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    for (key, value, name) in [
        ("ROCKET_BCRYPT_COST", "99", "bcrypt_cost"),
        ("ROCKET_BCRYPT_COST", "many", "bcrypt_cost"),
        ("ROCKET_ACCESS_TOKEN_TTL", "0", "access_token_ttl"),
        ("DATABASE_URL", "mysql://db/x", "database_url"),
        ("ROCKET_PASSWORD_MIN_LENGTH", "200", "password_min_length"),
        ("ROCKET_PORT", "eighty", "port"),
        ("ROCKET_COOKIE_SECURE", "maybe", "cookie_secure"),
        ("ROCKET_DATABASE_POOL_SIZE", "0", "database_pool_size"),
        (
            "ROCKET_JWT_KEYS",
            "[{kid=\"a\", secret=\"c2hvcnQ=\"}]",
            "jwt_keys",
        ),
        ("ROCKET_JWT_SIGNING_KID", "nobody", "jwt_signing_kid"),
    ] {
        let out = gatehouse(dir.path(), &["migrate"], &[(key, value)], "");
        assert!(!out.status.success(), "{key}={value}");
        let stderr = text(&out.stderr);
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(stderr.contains(name), "{key}={value}: {stderr}");
    }
}

#[test]
fn an_unreachable_database_stops_start_up_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("DATABASE_URL", "postgres://postgres@127.0.0.1:9/nowhere"),
        ("ROCKET_DATABASE_TIMEOUT", "1"),
    ];
    let out = gatehouse(dir.path(), &["migrate"], &env, "");
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("cannot open the database (PostgreSQL)"),
        "{stderr}"
    );
}

#[test]
fn migrate_then_create_admin_from_a_pipe() {
    let dir = tempfile::tempdir().unwrap();
    let migrate = gatehouse(dir.path(), &["migrate"], &[], "");
    assert!(migrate.status.success(), "{}", text(&migrate.stderr));
    assert!(
        text(&migrate.stderr).contains("generated"),
        "{}",
        text(&migrate.stderr)
    );
    assert!(text(&migrate.stderr).contains("jwt_keys.json"));
    let mode = std::fs::metadata(dir.path().join("data"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700, "data_dir");
    for file in ["jwt_keys.json", "secret_key"] {
        let mode = std::fs::metadata(dir.path().join("data").join(file))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{file}");
    }
    let args = [
        "create-admin",
        "--username",
        "root",
        "--email",
        "root@example.com",
    ];
    let created = gatehouse(dir.path(), &args, &[], &format!("{PASSWORD}\n"));
    assert!(created.status.success(), "{}", text(&created.stderr));
    assert!(text(&created.stdout).contains("Created admin root"));
    let same_name = [
        "create-admin",
        "--username",
        "ROOT",
        "--email",
        "other@example.com",
    ];
    let again = gatehouse(dir.path(), &same_name, &[], &format!("{PASSWORD}\n"));
    assert!(!again.status.success());
    assert!(
        text(&again.stderr).contains("username is already taken"),
        "{}",
        text(&again.stderr)
    );
    let weak = [
        "create-admin",
        "--username",
        "root2",
        "--email",
        "root2@example.com",
    ];
    let weak = gatehouse(dir.path(), &weak, &[], "password\n");
    assert!(!weak.status.success());
    assert!(
        text(&weak.stderr).contains("password:"),
        "{}",
        text(&weak.stderr)
    );
    let second = gatehouse(dir.path(), &["migrate"], &[], "");
    assert!(
        !text(&second.stderr).contains("generated"),
        "secrets are kept, not regenerated"
    );
}

#[rocket::async_test]
async fn one_shot_commands_exit_cleanly_again_and_again() {
    // On PostgreSQL, a command used to keep a connection opening in the background and
    // crashed at exit (SIGSEGV in libpq's TLS clean-up) about one run in five.
    let t = crate::common::TestApp::new().await;
    for _ in 0..12 {
        let out = t.command(&["migrate"], &[]);
        assert!(out.status.success(), "{:?}", out.status);
    }
}

#[rocket::async_test]
async fn the_database_files_are_private_even_in_an_open_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = gatehouse(dir.path(), &["migrate"], &[], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("open to other users"),
        "{}",
        text(&out.stderr)
    );
    let url = format!("sqlite://{}/live.db", data.display());
    let t = crate::common::TestApp::with(|f| {
        f.merge(("data_dir", data.clone()))
            .merge(("database_url", url))
    })
    .await;
    t.member("alice").await;
    // They were 0644 before: hashes, emails and CSRF tokens readable by any local user.
    for file in ["cli.db", "live.db", "live.db-wal", "live.db-shm"] {
        let mode = std::fs::metadata(data.join(file))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{file}");
    }
}

#[test]
fn serving_plain_http_beyond_loopback_with_secure_cookies_warns() {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port()
        .to_string();
    let mut child = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("ROCKET_DATA_DIR", dir.path())
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/serve.db", dir.path().display()),
        )
        .env("ROCKET_ADDRESS", "0.0.0.0")
        .env("ROCKET_PORT", &port)
        .env("ROCKET_COOKIE_SECURE", "true")
        .env("ROCKET_LOG_LEVEL", "normal")
        .env("ROCKET_BCRYPT_COST", "4")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_secs(3));
    let _ = child.kill();
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let _ = child.wait();
    assert!(out.contains("plain HTTP on 0.0.0.0"), "{out}");
}
