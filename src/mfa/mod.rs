//! An account's second factor (API.md §9): TOTP enrolment in two steps (a secret, then a
//! first code that proves the app has it), recovery codes, turning it off, and an admin's
//! removal for a lost phone. Each change is audited and mailed to the account's address in
//! the transaction that makes it. The second step of a login is `auth::second_step`.

pub(crate) mod credentials;
pub(crate) mod totp;

use crate::accounts::model::{User, UserChanges};
use crate::app::App;
use crate::audit::{self, Event, Record, Source};
use crate::auth::challenge;
use crate::auth::lockouts::verify_current;
use crate::auth::sessions::Session;
use crate::auth::Actor;
use crate::db::{self, DbConn};
use crate::error::{Error, Result};
use crate::mail::Letter;

use self::credentials::Credential;

/// An enrolment waiting for its first code: what the owner puts into an app.
pub(crate) struct Enrolment {
    /// The secret in base32, for typing in by hand.
    pub(crate) secret: String,
    /// The same as an `otpauth://` URL (the QR code's content).
    pub(crate) otpauth_url: String,
}

const ALREADY_ON: &str =
    "Two-factor authentication is already on: turn it off first to move it to another app.";
const NOT_ON: &str = "Two-factor authentication is not on.";

/// `POST /api/me/mfa/totp`: checks the password and makes a new secret, replacing an
/// enrolment that was never confirmed.
pub(crate) async fn begin(app: &App, actor: &Actor, password: String) -> Result<Enrolment> {
    actor.signed_in_session()?;
    verify_current(app, actor, password, "password").await?;
    if actor.user.mfa_enabled {
        return Err(Error::Conflict(ALREADY_ON.into()));
    }
    let secret = totp::new_secret()?;
    let sealed = app.mfa_key.seal(&secret, actor.user.id)?;
    let (now, user_id) = (app.clock.now(), actor.user.id);
    let begun = app
        .db
        .run(move |c| Credential::begin(c, user_id, &sealed, now))
        .await?;
    if !begun {
        return Err(Error::Conflict(ALREADY_ON.into()));
    }
    enrolment(app, &actor.user, &secret)
}

fn enrolment(app: &App, user: &User, secret: &[u8]) -> Result<Enrolment> {
    // Named after this server too, so that people with several Gatehouses tell them apart.
    let account = format!("{}@{}", user.username, app.mailer.host());
    Ok(Enrolment {
        secret: totp::secret_text(secret)?,
        otpauth_url: totp::otpauth_url(secret, &account)?,
    })
}

/// The enrolment waiting for its first code, if any (the page shows it until confirmed;
/// a confirmed secret is never shown again).
pub(crate) async fn waiting(app: &App, user: &User) -> Result<Option<Enrolment>> {
    let user_id = user.id;
    let found = app
        .db
        .run(move |c| Ok::<_, Error>(Credential::find(c, user_id)?))
        .await?;
    match found.filter(|credential| !credential.confirmed) {
        Some(credential) => {
            let secret = app.mfa_key.open(&credential.sealed_secret, user_id)?;
            Ok(Some(enrolment(app, user, &secret)?))
        }
        None => Ok(None),
    }
}

/// `POST /api/me/mfa/totp/confirm`: a code from the app turns TOTP on; returns the first
/// recovery codes, which are shown this once.
pub(crate) async fn confirm(app: &App, actor: &Actor, code: &str) -> Result<Vec<String>> {
    let session_id = actor.signed_in_session()?.id;
    let user_id = actor.user.id;
    let found = app
        .db
        .run(move |c| Ok::<_, Error>(Credential::find(c, user_id)?))
        .await?;
    let credential = match found {
        Some(credential) if credential.confirmed => return Err(Error::Conflict(ALREADY_ON.into())),
        Some(credential) => credential,
        None => {
            let problem = "there is no enrolment waiting: start one with your password";
            return Err(Error::field("code", problem));
        }
    };
    let now = app.clock.now();
    let Some(step) = credential.step_of(&app.mfa_key, user_id, code, now)? else {
        let problem = "is not the code your app shows now (is the phone's clock right?)";
        return Err(Error::field("code", problem));
    };
    let codes = totp::new_recovery_codes()?;
    let hashes: Vec<String> = codes.iter().map(|c| app.mfa_key.code_hash(c)).collect();
    let sealed = credential.sealed_secret;
    change(app, By::Account(actor), &actor.user, move |c| {
        // The secret the code was checked against, not one a second enrolment put since.
        if !Credential::confirm(c, user_id, &sealed, step)? {
            return Err(Error::Conflict(ALREADY_ON.into()));
        }
        credentials::replace_codes(c, user_id, &hashes)?;
        // From now on every session has passed the second factor: this one just did, and
        // the others (opened with the password alone, perhaps by whoever prompted this)
        // end, as after a password change.
        Session::revoke_all(c, user_id, Some(session_id), now)?;
        Session::mark_second_factor(c, session_id)?;
        Ok(Change::Enabled)
    })
    .await?;
    Ok(codes)
}

/// `DELETE /api/me/mfa/totp`: the password turns TOTP off (or cancels a waiting enrolment);
/// the recovery codes go with it.
pub(crate) async fn disable(app: &App, actor: &Actor, password: String) -> Result<()> {
    actor.signed_in_session()?;
    verify_current(app, actor, password, "password").await?;
    let user_id = actor.user.id;
    change(app, By::Account(actor), &actor.user, move |c| {
        remove(c, user_id, Change::Disabled)
    })
    .await
}

/// `POST /api/me/mfa/recovery-codes`: new recovery codes for the password; the old ones
/// stop working.
pub(crate) async fn regenerate(app: &App, actor: &Actor, password: String) -> Result<Vec<String>> {
    actor.signed_in_session()?;
    verify_current(app, actor, password, "password").await?;
    if !actor.user.mfa_enabled {
        return Err(Error::Conflict(NOT_ON.into()));
    }
    let codes = totp::new_recovery_codes()?;
    let hashes: Vec<String> = codes.iter().map(|c| app.mfa_key.code_hash(c)).collect();
    let user_id = actor.user.id;
    change(app, By::Account(actor), &actor.user, move |c| {
        credentials::replace_codes(c, user_id, &hashes)?;
        Ok(Change::Regenerated)
    })
    .await?;
    Ok(codes)
}

/// `DELETE /api/users/<id>/mfa`: an admin removes an account's second factor (a lost
/// phone); the account signs in with its password alone until it enrols again.
pub(crate) async fn remove_by_admin(app: &App, admin: &Actor, target: &User) -> Result<()> {
    // Like a password, a second factor is changed from a signed-in session only.
    admin.signed_in_session()?;
    if admin.user.id == target.id {
        // Turning one's own off takes the password, whatever one's role.
        return Err(Error::forbidden(
            "Turn your own second factor off on your account page, with your password.",
        ));
    }
    removed(app, By::Account(admin), target).await
}

/// `gatehouse remove-mfa USERNAME`: the operator removes an account's second factor (an
/// only admin who lost both the phone and the recovery codes).
pub async fn remove_by_operator(app: &App, user: &User) -> Result<()> {
    removed(app, By::Operator, user).await
}

async fn removed(app: &App, by: By<'_>, target: &User) -> Result<()> {
    if !target.mfa_enabled {
        return Err(Error::Conflict(NOT_ON.into()));
    }
    let user_id = target.id;
    change(app, by, target, move |c| {
        remove(c, user_id, Change::RemovedByAdmin)
    })
    .await
}

/// Removes the credential, its codes and any login waiting for a code.
fn remove(c: &mut DbConn, user_id: i64, change: Change) -> Result<Change> {
    if !Credential::remove(c, user_id)? {
        return Err(Error::Conflict(NOT_ON.into()));
    }
    challenge::void(c, user_id)?;
    Ok(change)
}

/// A change to a second factor, for the user row, the audit log and the notice.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Change {
    Enabled,
    Disabled,
    Regenerated,
    RemovedByAdmin,
}

impl Change {
    fn event(self) -> Event {
        match self {
            Change::Enabled => Event::MfaEnabled,
            Change::Disabled => Event::MfaDisabled,
            Change::Regenerated => Event::RecoveryCodesRegenerated,
            Change::RemovedByAdmin => Event::MfaResetByAdmin,
        }
    }

    /// What the notice says happened to the account's two-factor authentication.
    fn notice(self) -> &'static str {
        match self {
            Change::Enabled => "was turned on: signing in now asks for a code from your app",
            Change::Disabled => "was turned off: signing in asks for your password alone",
            Change::Regenerated => "got new recovery codes: the old ones no longer work",
            Change::RemovedByAdmin => {
                "was removed by an administrator: signing in asks for your password alone \
                 until you turn it on again"
            }
        }
    }
}

/// Who changes a second factor: the account's owner or an admin, or the operator.
#[derive(Clone, Copy)]
enum By<'a> {
    Account(&'a Actor),
    Operator,
}

/// Runs `work` in a write transaction, then keeps the user row's `mfa_enabled` in step,
/// audits the change (by `by`, about `target`) and mails the notice to `target`.
async fn change<F>(app: &App, by: By<'_>, target: &User, work: F) -> Result<()>
where
    F: FnOnce(&mut DbConn) -> Result<Change> + Send + 'static,
{
    let now = app.clock.now();
    let (actor, source) = match by {
        By::Account(actor) => (Some(actor.user.public_id.clone()), actor.source.clone()),
        By::Operator => (None, Source::CommandLine),
    };
    let (target, mailer) = (target.clone(), app.mailer.clone());
    app.db
        .run(move |c| {
            db::write_transaction::<_, Error, _>(c, |c| {
                let change = work(c)?;
                let enabled = match change {
                    Change::Enabled => Some(true),
                    Change::Disabled | Change::RemovedByAdmin => Some(false),
                    Change::Regenerated => None,
                };
                let changes = UserChanges {
                    mfa_enabled: enabled,
                    updated_at: Some(now),
                    ..UserChanges::default()
                };
                let user = User::update(c, target.id, &changes)?;
                let was_on = target.mfa_enabled || change == Change::Enabled;
                if was_on {
                    let subject = Some(user.public_id.as_str());
                    let record = Record::new(change.event(), actor.as_deref(), subject, &source);
                    audit::record(c, now, &record)?;
                    let notice = Letter::SecondFactor {
                        username: &user.username,
                        what: change.notice(),
                    };
                    mailer.queue(c, now, &user.email, &notice)?;
                }
                Ok(())
            })
        })
        .await?;
    app.mailer.wake();
    Ok(())
}

/// How many unused recovery codes the account has.
pub(crate) async fn codes_left(app: &App, user: &User) -> Result<i64> {
    let user_id = user.id;
    app.db
        .run(move |c| Ok::<_, Error>(credentials::codes_left(c, user_id)?))
        .await
}
