//! Database work waits for a connection in the order it arrived, and no longer than
//! `database_timeout` (then it is an outage, which the API answers with 503).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use diesel::result::Error as DieselError;
use rocket::http::Status;

use crate::common::TestApp;

/// Work that holds its connection for `held`.
async fn hold(t: &TestApp, held: Duration) -> Result<(), DieselError> {
    t.app()
        .db
        .run(move |_| {
            std::thread::sleep(held);
            Ok::<_, DieselError>(())
        })
        .await
}

#[rocket::async_test]
async fn work_waits_for_a_connection_in_arrival_order() {
    let t = TestApp::with(|f| f.merge(("database_pool_size", 1))).await;
    let busy = {
        let t = t.clone();
        rocket::tokio::spawn(async move { hold(&t, Duration::from_millis(400)).await })
    };
    rocket::tokio::time::sleep(Duration::from_millis(50)).await;
    // Twelve jobs arrive one after another while the only connection is busy.
    let order = Arc::new(Mutex::new(Vec::new()));
    let mut waiting = Vec::new();
    for job in 0..12 {
        let (db, order) = (t.app().db.clone(), order.clone());
        waiting.push(rocket::tokio::spawn(async move {
            db.run(move |_| {
                order.lock().expect("not poisoned").push(job);
                Ok::<_, DieselError>(())
            })
            .await
        }));
        rocket::tokio::time::sleep(Duration::from_millis(5)).await;
    }
    busy.await.expect("joined").expect("the first job ran");
    for job in waiting {
        job.await.expect("joined").expect("each job ran");
    }
    let order = order.lock().expect("not poisoned").clone();
    assert_eq!(
        order,
        (0..12).collect::<Vec<_>>(),
        "served in arrival order"
    );
}

#[rocket::async_test]
async fn waiting_longer_than_the_timeout_is_an_outage() {
    let t = TestApp::with(|f| {
        f.merge(("database_pool_size", 1))
            .merge(("database_timeout", 1))
    })
    .await;
    let alice = t.member("alice").await;
    let busy = {
        let t = t.clone();
        rocket::tokio::spawn(async move { hold(&t, Duration::from_millis(2500)).await })
    };
    rocket::tokio::time::sleep(Duration::from_millis(50)).await;
    let started = std::time::Instant::now();
    let me = alice.get("/api/me").await;
    assert_eq!(
        (me.status, me.code()),
        (Status::ServiceUnavailable, "service_unavailable")
    );
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_millis(2000),
        "gave up after the 1 s timeout, not when the connection came free: {waited:?}"
    );
    busy.await.expect("joined").expect("the slow job ran");
    assert_eq!(alice.get("/api/me").await.status, Status::Ok);
}
