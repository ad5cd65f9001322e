//! Login lock-outs of accounts, as admins see and clear them (the counting is in `throttle`).

use diesel::Connection;

use crate::accounts::model::User;
use crate::app::App;
use crate::audit::{self, Event, Record};
use crate::auth::throttle;
use crate::auth::Actor;
use crate::error::{Error, Result};

/// Seconds left on an account's login lock-out, if it is locked.
pub(crate) async fn lockout(app: &App, user: &User) -> Result<Option<i64>> {
    let now = app.clock.now();
    let key = throttle::account_key(Some(&user.public_id), "");
    app.db
        .run(move |c| Ok::<_, Error>(throttle::locked_for(c, &key, now)?))
        .await
}

/// Lets a locked-out account try again at once (admins only).
pub(crate) async fn clear_lockout(app: &App, admin: &Actor, target: &User) -> Result<()> {
    let now = app.clock.now();
    if !admin.user.is_admin() {
        return Err(Error::forbidden("Only an admin may clear a lock-out."));
    }
    let target = target.clone();
    let (actor, source) = (admin.user.public_id.clone(), admin.source.clone());
    app.db
        .run(move |c| {
            c.transaction::<_, Error, _>(|c| {
                throttle::clear(c, &throttle::account_key(Some(&target.public_id), ""))?;
                let record = Record::new(
                    Event::LockoutCleared,
                    Some(&actor),
                    Some(&target.public_id),
                    &source,
                );
                Ok(audit::record(c, now, &record)?)
            })
        })
        .await
}
