//! `gatehouse backup` and `gatehouse restore` (API.md §11): a copy taken while the server
//! runs, put back into an empty data directory, gives back every account and session (the
//! secrets come along, so tokens still verify); a live directory is never overwritten; on
//! PostgreSQL both say to use pg_dump and pg_restore.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use rocket::http::{Method, Status};

use crate::common::{TestApp, PASSWORD};

fn gatehouse(args: &[&str], data_dir: &Path, database_url: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("ROCKET_DATA_DIR", data_dir)
        .env("DATABASE_URL", database_url)
        .env_remove("ROCKET_DATABASE_URL")
        .output()
        .expect("the command runs")
}

fn said(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr)
}

#[rocket::async_test]
async fn a_backup_taken_while_serving_restores_every_account_and_session() {
    // SQLite whatever the suite's backend: the backup is SQLite's.
    let live = tempfile::tempdir().unwrap();
    let live_url = format!("sqlite://{}/gatehouse.db", live.path().display());
    let t = TestApp::with(|f| {
        f.merge(("data_dir", live.path()))
            .merge(("database_url", live_url.clone()))
    })
    .await;
    let alice = t.member("alice").await;
    let bob = t.member("bob").await;
    let list = alice
        .post("/api/bucketlists", serde_json::json!({"name": "Trips"}))
        .await;
    assert_eq!(list.status, Status::Created);

    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("gatehouse-backup.db");
    let file_arg = file.to_str().unwrap();
    let made = gatehouse(&["backup", file_arg], live.path(), &live_url);
    assert!(made.status.success(), "{}", said(&made));
    assert!(said(&made).contains("jwt_keys.json"), "{}", said(&made));
    let again = gatehouse(&["backup", file_arg], live.path(), &live_url);
    assert!(!again.status.success(), "never over an earlier backup");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "password hashes and emails: the owner's alone");
    let alone = out.path().join("without-its-secrets.db");
    std::fs::copy(&file, &alone).unwrap();
    let elsewhere = out.path().join("elsewhere");
    let url = format!("sqlite://{}/gatehouse.db", elsewhere.display());
    let refused = gatehouse(&["restore", alone.to_str().unwrap()], &elsewhere, &url);
    assert!(!refused.status.success(), "no secrets, no restore");
    assert!(
        said(&refused).contains(".secrets is missing"),
        "{}",
        said(&refused)
    );
    assert!(
        !elsewhere.join("gatehouse.db").exists(),
        "nothing half restored"
    );

    let fresh = tempfile::tempdir().unwrap();
    let data = fresh.path().join("data");
    let restored_url = format!("sqlite://{}/gatehouse.db", data.display());
    let restored = gatehouse(&["restore", file_arg], &data, &restored_url);
    assert!(restored.status.success(), "{}", said(&restored));
    let twice = gatehouse(&["restore", file_arg], &data, &restored_url);
    assert!(!twice.status.success(), "never over a live data directory");
    assert!(
        said(&twice).contains("empty data directory"),
        "{}",
        said(&twice)
    );

    let back = TestApp::with(|f| {
        f.merge(("data_dir", &data))
            .merge(("database_url", restored_url.clone()))
    })
    .await;
    for (account, name) in [(&alice, "alice"), (&bob, "bob")] {
        let me = back
            .call(Method::Get, "/api/me", Some(&account.access), None)
            .await;
        assert_eq!(me.status, Status::Ok, "{name}'s session and token survive");
        assert_eq!(me.body["username"], name);
    }
    assert_eq!(back.login("bob", PASSWORD).await.status, Status::Ok);
    let lists = back
        .call(Method::Get, "/api/bucketlists", Some(&alice.access), None)
        .await;
    assert_eq!(lists.body["bucketlists"][0]["name"], "Trips");
}

#[test]
fn on_postgresql_both_commands_explain_pg_dump() {
    let dir = tempfile::tempdir().unwrap();
    let url = "postgres://nobody@127.0.0.1:1/none";
    for (command, tool) in [("backup", "pg_dump"), ("restore", "pg_restore")] {
        let output = gatehouse(&[command, "x.db"], dir.path(), url);
        assert!(!output.status.success());
        assert!(said(&output).contains(tool), "{}", said(&output));
    }
}
