//! Blocking work (queries, bcrypt, files) runs on Rocket's blocking pool, never on an async
//! worker, where it would stall every request sharing that worker.

/// Runs `work` on the blocking pool and waits for it; `None` when the task was cancelled
/// (the server is shutting down). A panic in the work is re-raised so Rocket answers 500.
pub(crate) async fn run<T, F>(work: F) -> Option<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    match rocket::tokio::task::spawn_blocking(work).await {
        Ok(result) => Some(result),
        Err(e) => match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(_) => None,
        },
    }
}
