//! Crash safety (API.md §11): the real server, under sign-ups and bucket-list writes from
//! several clients, is killed with SIGKILL; restarted on the same database, it has every
//! write it acknowledged with a 2xx, and SQLite's integrity check passes. On PostgreSQL
//! (with `TEST_DATABASE_URL`) the same against a fresh database there.

use std::time::Duration;

use diesel::prelude::*;
use diesel::sql_types::Text;
use rocket::tokio::time::Instant;
use serde_json::json;

use crate::common::{TestApp, PASSWORD};
use crate::process::{request, Server};

/// What one client got acknowledged before the crash.
#[derive(Default)]
struct Acknowledged {
    access: String,
    usernames: Vec<String>,
    lists: Vec<String>,
}

/// Signs up `writer{n}`, then writes as fast as answers come until the server is gone:
/// alternately a new account and a new list, recording each 2xx.
async fn client(port: u16, n: usize) -> Acknowledged {
    let name = format!("writer{n}");
    let signup =
        json!({"username": name, "email": format!("{name}@example.com"), "password": PASSWORD});
    let made = request(port, "POST", "/api/register", &[], Some(signup)).await;
    assert_eq!(made.map(|a| a.status), Some(201));
    let login = json!({"username": name, "password": PASSWORD});
    let login = request(port, "POST", "/api/login", &[], Some(login))
        .await
        .expect("a login");
    let access = login.json()["access_token"]
        .as_str()
        .expect("a token")
        .to_owned();
    let mut acked = Acknowledged {
        access,
        ..Acknowledged::default()
    };
    for i in 0.. {
        if i % 2 == 0 {
            let user = format!("writer{n}x{i}");
            let body = json!({"username": user, "email": format!("{user}@example.com"), "password": PASSWORD});
            match request(port, "POST", "/api/register", &[], Some(body)).await {
                Some(answer) if answer.status == 201 => acked.usernames.push(user),
                Some(_) => {}
                None => break,
            }
        } else {
            let token = [("x-access-token", acked.access.as_str())];
            let body = json!({"name": format!("list {i}")});
            match request(port, "POST", "/api/bucketlists", &token, Some(body)).await {
                Some(answer) if answer.status == 201 => {
                    let id = answer.json()["id"].as_str().expect("an id").to_owned();
                    acked.lists.push(id);
                }
                Some(_) => {}
                None => break,
            }
        }
    }
    acked
}

#[derive(QueryableByName)]
struct Check {
    #[diesel(sql_type = Text)]
    integrity_check: String,
}

#[rocket::async_test]
#[ignore = "heavy: a real server killed mid-load and restarted; the full suite runs it"]
async fn every_acknowledged_write_survives_a_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    // A fresh database on the backend under test: PostgreSQL made by the harness, or a
    // SQLite file of this server's own.
    let harness = TestApp::new().await;
    let postgres = harness.database.is_some();
    let sqlite_file = dir.path().join("data").join("gatehouse.db");
    let url = if postgres {
        harness.database_url()
    } else {
        format!("sqlite://{}", sqlite_file.display())
    };
    let env = [("DATABASE_URL", url.as_str())];
    let mut server = Server::start(dir.path(), &env).await;
    let port = server.port;
    let clients: Vec<_> = (0..6)
        .map(|n| rocket::tokio::spawn(client(port, n)))
        .collect();
    let started = Instant::now();
    rocket::tokio::time::sleep(Duration::from_millis(1500)).await;
    server.kill();
    let mut acknowledged = Vec::new();
    for client in clients {
        acknowledged.push(client.await.expect("a client"));
    }
    let writes: usize = acknowledged
        .iter()
        .map(|a| a.usernames.len() + a.lists.len())
        .sum();
    assert!(
        writes >= 20,
        "only {writes} writes in {:?}",
        started.elapsed()
    );

    let server = Server::start(dir.path(), &env).await;
    for acked in &acknowledged {
        let token = [("x-access-token", acked.access.as_str())];
        let lists = server
            .call("GET", "/api/bucketlists?per_page=100&page=1", &token, None)
            .await;
        assert_eq!(lists.status, 200, "the session survived: {}", lists.body);
        let mut found: Vec<String> = Vec::new();
        let total = lists.json()["total"].as_i64().expect("a total");
        for page in 1..=(total + 99) / 100 {
            let path = format!("/api/bucketlists?per_page=100&page={page}");
            let page = server.call("GET", &path, &token, None).await.json();
            let ids = page["bucketlists"].as_array().expect("lists").iter();
            found.extend(ids.map(|l| l["id"].as_str().expect("an id").to_owned()));
        }
        for id in &acked.lists {
            assert!(found.contains(id), "acknowledged list {id} is gone");
        }
        for user in &acked.usernames {
            let login = json!({"username": user, "password": PASSWORD});
            let answer = server.call("POST", "/api/login", &[], Some(login)).await;
            assert_eq!(
                answer.status, 200,
                "acknowledged account {user}: {}",
                answer.body
            );
        }
    }
    if !postgres {
        let path = sqlite_file.to_string_lossy().into_owned();
        let mut conn = SqliteConnection::establish(&path).expect("the database opens");
        let checks: Vec<Check> = diesel::sql_query("PRAGMA integrity_check")
            .load(&mut conn)
            .expect("the check runs");
        assert_eq!(checks[0].integrity_check, "ok");
    }
    eprintln!(
        "crash test ({}): {writes} writes acknowledged in {:?} before SIGKILL, all found after the restart",
        if postgres { "PostgreSQL" } else { "SQLite" },
        Duration::from_millis(1500)
    );
}
