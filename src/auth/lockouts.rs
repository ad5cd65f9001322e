//! Login lock-outs of accounts, as admins and the operator see and clear them (the counting
//! is in `throttle`), and the current-password check, which counts like a login.

use crate::accounts::model::User;
use crate::app::App;
use crate::audit::{self, Event, Record, Source};
use crate::auth::throttle::{self, Keyer};
use crate::auth::Actor;
use crate::db::{self, DbConn};
use crate::error::{Error, Result};

/// Every key that can lock `user` out: the identifiers strangers type for it (username and
/// email), its current-password checks and its known devices.
fn account_keys(conn: &mut DbConn, keyer: &Keyer, user: &User) -> diesel::QueryResult<Vec<String>> {
    let mut keys = vec![
        keyer.typed(&user.username),
        keyer.typed(&user.email),
        throttle::password_key(&user.public_id),
    ];
    keys.extend(throttle::device_keys(conn, &user.public_id)?);
    Ok(keys)
}

/// Reserves one attempt against `key` now, or refuses with 429 while it is locked (counted
/// in the metrics as `kind`).
pub(crate) async fn reserve(
    app: &App,
    key: &str,
    limit: throttle::Limit,
    kind: &str,
) -> Result<()> {
    let (now, key) = (app.clock.now(), key.to_owned());
    let reserved = app
        .db
        .run(move |c| throttle::reserve(c, &key, limit, now))
        .await?;
    match reserved {
        throttle::Reserved::Allowed { .. } => Ok(()),
        throttle::Reserved::Locked(seconds) => {
            crate::metrics::throttled(kind);
            Err(Error::TooManyRequests(seconds))
        }
    }
}

/// Seconds left on an account's longest login lock-out, if any is on.
pub(crate) async fn lockout(app: &App, user: &User) -> Result<Option<i64>> {
    let now = app.clock.now();
    let (user, keyer) = (user.clone(), app.keyer.clone());
    app.db
        .run(move |c| {
            let keys = account_keys(c, &keyer, &user)?;
            Ok::<_, Error>(throttle::locked_for(c, &keys, now)?)
        })
        .await
}

/// Lets a locked-out account try again at once (admins only).
pub(crate) async fn clear_lockout(app: &App, admin: &Actor, target: &User) -> Result<()> {
    if !admin.user.is_admin() {
        return Err(Error::forbidden("Only an admin may clear a lock-out."));
    }
    unlock(app, Some(&admin.user), &admin.source, target).await
}

/// `gatehouse unlock USERNAME`: the operator lets an account try again at once.
pub async fn unlock_by_operator(app: &App, user: &User) -> Result<()> {
    unlock(app, None, &Source::CommandLine, user).await
}

async fn unlock(app: &App, by: Option<&User>, source: &Source, target: &User) -> Result<()> {
    let now = app.clock.now();
    let actor = by.map(|user| user.public_id.clone());
    let (target, source, keyer) = (target.clone(), source.clone(), app.keyer.clone());
    app.db
        .run(move |c| {
            db::write_transaction::<_, Error, _>(c, |c| {
                let keys = account_keys(c, &keyer, &target)?;
                throttle::clear(c, &keys)?;
                let record = Record::new(
                    Event::LockoutCleared,
                    actor.as_deref(),
                    Some(&target.public_id),
                    &source,
                );
                Ok(audit::record(c, now, &record)?)
            })
        })
        .await
}

/// Checks `actor`'s current password before a change that needs it. Each check is
/// reserved like a login attempt (a stolen session cannot guess the password: past the
/// login limit it gets 429), a wrong one is audited, a right one clears the count.
pub(crate) async fn verify_current(
    app: &App,
    actor: &Actor,
    password: String,
    field: &str,
) -> Result<()> {
    let now = app.clock.now();
    let key = throttle::password_key(&actor.user.public_id);
    reserve(
        app,
        &key,
        throttle::Limit::login(&app.settings),
        "password_check",
    )
    .await?;
    let stored = Some(actor.user.password_hash.clone());
    let right = app.hasher.verify(password, stored, &key).await?;
    let (user, source) = (actor.user.clone(), actor.source.clone());
    app.db
        .run(move |c| {
            if right {
                return throttle::clear(c, &[key]);
            }
            let record = Record::by(Event::PasswordCheckFailed, &user, &user, &source);
            audit::record(c, now, &record)
        })
        .await?;
    if right {
        Ok(())
    } else {
        Err(Error::field(field, "is not your current password"))
    }
}
