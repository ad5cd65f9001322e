//! One-time links by mail (API.md §8): a forgotten password, and proving an address (at
//! sign-up, or a new one before it replaces the old). Links are 256 random bits; only their
//! SHA-256 is stored, one live link per purpose and account; opening one changes nothing,
//! only the form it opens uses it up.

use diesel::prelude::*;
use time::{Duration, PrimitiveDateTime};

use super::model::{User, UserChanges};
use super::validation;
use crate::app::App;
use crate::audit::{self, Event, Record, Source};
use crate::auth::challenge;
use crate::auth::personal_tokens;
use crate::auth::sessions::Session;
use crate::auth::throttle::{self, Limit, Reserved};
use crate::auth::tokens::{fingerprint, random_token};
use crate::auth::Actor;
use crate::db::schema::one_time_tokens;
use crate::db::{self, DbConn};
use crate::error::{Error, Result};
use crate::mail::{Letter, Mailer};

/// The purpose of a password-reset link.
const RESET: &str = "reset";
/// The purpose of a link that proves an address (the account's, or its pending one).
const VERIFY: &str = "verify";
/// What a bad, used or expired link gets, always the same.
const BAD_LINK: &str = "is not valid: it was used, has expired or was mistyped";

/// `POST /api/password/forgot`: mails a reset link to the active account with this email.
/// The caller learns nothing: the answer is the same whether or not the account exists, or
/// the mail was held back by `mail_per_hour` (audited as `mail_throttled`), and it comes
/// before any of that is looked at: the work runs after the answer, so its time cannot
/// tell either.
pub(crate) fn forgot(app: &App, email: &str, source: &Source) -> Result<()> {
    let email = validation::email(email)
        .map_err(|problems| Error::Validation([("email".to_owned(), problems)].into()))?;
    let later = Later::of(app);
    let source = source.clone();
    rocket::tokio::spawn(async move {
        if let Err(error) = later.forgot(email, source).await {
            log::warn!("a password-reset request failed: {error}");
        }
    });
    Ok(())
}

/// What work done after the answer needs (the application's state outlives no request).
struct Later {
    db: crate::db::Db,
    clock: crate::clock::Clock,
    settings: crate::settings::Settings,
    mailer: std::sync::Arc<Mailer>,
}

impl Later {
    fn of(app: &App) -> Self {
        Later {
            db: app.db.clone(),
            clock: app.clock.clone(),
            settings: app.settings.clone(),
            mailer: app.mailer.clone(),
        }
    }

    async fn forgot(self, email: String, source: Source) -> Result<()> {
        let now = self.clock.now();
        let (settings, mailer) = (self.settings, self.mailer.clone());
        self.db
            .run(move |c| {
                let user = User::find_by_login(c, &email)?.filter(|user| user.active);
                let account = user.as_ref().map(|user| user.public_id.as_str());
                let allowed = mail_allowed(c, &settings, account, &source, now)?;
                if !allowed {
                    crate::metrics::throttled("mail");
                }
                let Some(user) = user else { return Ok(()) };
                if !allowed {
                    let record = Record::by(Event::MailThrottled, &user, &user, &source);
                    return Ok(audit::record(c, now, &record)?);
                }
                db::write_transaction::<_, Error, _>(c, |c| {
                    let expires = now + Duration::seconds(settings.reset_token_ttl);
                    let token = issue(c, &user, RESET, now, expires)?;
                    let link = mailer.link(&format!("/password/reset/{token}"));
                    let letter = Letter::PasswordReset {
                        username: &user.username,
                        link: &link,
                        minutes: minutes(settings.reset_token_ttl),
                    };
                    mailer.queue(c, now, &user.email, &letter)?;
                    let record = Record::by(Event::PasswordResetRequested, &user, &user, &source);
                    Ok(audit::record(c, now, &record)?)
                })
            })
            .await?;
        self.mailer.wake();
        Ok(())
    }
}

/// `POST /api/users/<id>/recovery-link`: an admin makes a set-a-password link for `target`
/// to hand over by other means (no mail needed); it voids any earlier link and lives
/// `reset_token_ttl`. Returns the link and when it expires.
pub(crate) async fn recovery_link(
    app: &App,
    admin: &Actor,
    target: &User,
) -> Result<(String, PrimitiveDateTime)> {
    if !admin.user.is_admin() {
        return Err(Error::forbidden("Only an admin may make a recovery link."));
    }
    // A link that sets a password is a password change: not from a personal token.
    admin.signed_in_session()?;
    let now = app.clock.now();
    let expires = now + Duration::seconds(app.settings.reset_token_ttl);
    let (admin_user, target, source) = (admin.user.clone(), target.clone(), admin.source.clone());
    let token = app
        .db
        .run(move |c| {
            db::write_transaction::<_, Error, _>(c, |c| {
                let token = issue(c, &target, RESET, now, expires)?;
                let record = Record::by(Event::RecoveryLinkCreated, &admin_user, &target, &source);
                audit::record(c, now, &record)?;
                Ok(token)
            })
        })
        .await?;
    Ok((
        app.mailer.link(&format!("/password/reset/{token}")),
        expires,
    ))
}

/// Makes a new reset link for `user`, voiding any earlier one; returns the token.
fn issue(
    conn: &mut DbConn,
    user: &User,
    purpose: &str,
    now: PrimitiveDateTime,
    expires_at: PrimitiveDateTime,
) -> Result<String> {
    let token = random_token()?;
    // One link per purpose and account: two asking at once take turns (PostgreSQL; SQLite
    // writes one at a time anyway), so the second replaces the first instead of colliding.
    if let DbConn::Postgres(pg) = conn {
        use crate::db::schema::users;
        users::table
            .find(user.id)
            .select(users::id)
            .for_update()
            .execute(pg)?;
    }
    let mine = one_time_tokens::table
        .filter(one_time_tokens::user_id.eq(user.id))
        .filter(one_time_tokens::purpose.eq(purpose));
    diesel::delete(mine).execute(conn)?;
    diesel::insert_into(one_time_tokens::table)
        .values((
            one_time_tokens::user_id.eq(user.id),
            one_time_tokens::purpose.eq(purpose),
            one_time_tokens::token_hash.eq(fingerprint(&token)),
            one_time_tokens::created_at.eq(now),
            one_time_tokens::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    Ok(token)
}

/// The account a live reset link is for, without using the link up (the page that a link
/// opens checks it before asking for a password).
pub(crate) async fn check(app: &App, token: &str) -> Result<User> {
    let (now, hash) = (app.clock.now(), fingerprint(token));
    app.db
        .run(move |c| Ok::<_, Error>(holder(c, &hash, RESET, now)?.map(|(_, user)| user)))
        .await?
        .ok_or_else(|| Error::field("token", BAD_LINK))
}

/// `POST /api/password/reset`: sets a new password with a link, which is used up; every
/// session of the account ends and a notice is mailed.
pub(crate) async fn reset(
    app: &App,
    token: &str,
    new_password: String,
    source: &Source,
) -> Result<()> {
    let user = check(app, token).await?;
    let words = [
        user.username.as_str(),
        user.email.as_str(),
        user.name.as_deref().unwrap_or(""),
    ];
    validation::password(&new_password, app.settings.password_min_length, &words)
        .map_err(|problems| Error::Validation([("new_password".to_owned(), problems)].into()))?;
    let hash = app.hasher.hash(new_password).await?;
    let (now, token_hash) = (app.clock.now(), fingerprint(token));
    let (mailer, source) = (app.mailer.clone(), source.clone());
    app.db
        .run(move |c| {
            db::write_transaction::<_, Error, _>(c, |c| {
                // Used up here: of two uses at once, one finds it gone.
                take(c, &token_hash, RESET, now)?;
                // The link reached this address: it is proved too.
                let changes = UserChanges {
                    password_hash: Some(hash),
                    password_changed_at: Some(now),
                    updated_at: Some(now),
                    email_verified: Some(true),
                    ..UserChanges::default()
                };
                let user = User::update(c, user.id, &changes)?;
                Session::revoke_all(c, user.id, None, now)?;
                personal_tokens::remove_all(c, user.id)?;
                challenge::void(c, user.id)?;
                let letter = Letter::PasswordChanged {
                    username: &user.username,
                    how: "reset with a link sent by mail",
                };
                mailer.queue(c, now, &user.email, &letter)?;
                let record = Record::by(Event::PasswordReset, &user, &user, &source);
                Ok(audit::record(c, now, &record)?)
            })
        })
        .await?;
    app.mailer.wake();
    Ok(())
}

/// Uses up the live link for `purpose` with this hash and returns its account: of two uses
/// at once, only the one that deletes it goes on.
fn take(
    conn: &mut DbConn,
    token_hash: &str,
    purpose: &str,
    now: PrimitiveDateTime,
) -> Result<User> {
    let bad = || Error::field("token", BAD_LINK);
    let (link, user) = holder(conn, token_hash, purpose, now)?.ok_or_else(bad)?;
    match diesel::delete(one_time_tokens::table.find(link)).execute(conn)? {
        1 => Ok(user),
        _ => Err(bad()),
    }
}

/// Reserves one mail for `account` (when there is one) and the client's address under
/// `mail_per_hour`; false when either is used up.
fn mail_allowed(
    conn: &mut DbConn,
    settings: &crate::settings::Settings,
    account: Option<&str>,
    source: &Source,
    now: PrimitiveDateTime,
) -> Result<bool> {
    let keys = throttle::mail_keys(account, source.ip(), settings.ipv6_prefix);
    let keys: Vec<(&str, Limit)> = keys
        .iter()
        .map(|key| (key.as_str(), Limit::mail(settings)))
        .collect();
    let reserved = throttle::reserve_all(conn, &keys, now)?;
    Ok(!matches!(reserved, Reserved::Locked(_)))
}

/// Voids every link of an account whose address changes: links mailed to the old address
/// must not outlive it.
pub(crate) fn void_links(conn: &mut DbConn, user_id: i64) -> QueryResult<usize> {
    diesel::delete(one_time_tokens::table.filter(one_time_tokens::user_id.eq(user_id)))
        .execute(conn)
}

/// A link's lifetime in whole minutes, rounded up, as mail and pages state it.
pub(crate) fn minutes(seconds: i64) -> i64 {
    (seconds + 59) / 60
}

/// The live link for `purpose` with this hash, and its active account.
fn holder(
    conn: &mut DbConn,
    token_hash: &str,
    purpose: &str,
    now: PrimitiveDateTime,
) -> QueryResult<Option<(i64, User)>> {
    use crate::db::schema::users;
    one_time_tokens::table
        .inner_join(users::table)
        .filter(one_time_tokens::token_hash.eq(token_hash))
        .filter(one_time_tokens::purpose.eq(purpose))
        .filter(one_time_tokens::expires_at.gt(now))
        .filter(users::active.eq(true))
        .select((one_time_tokens::id, User::as_select()))
        .first(conn)
        .optional()
}

/// Mails `user` a link that proves `address` (the account's, or its pending one), in the
/// caller's transaction; it voids any earlier such link and lives `ttl` seconds.
pub(crate) fn mail_verification(
    conn: &mut DbConn,
    mailer: &Mailer,
    user: &User,
    address: &str,
    now: PrimitiveDateTime,
    ttl: i64,
) -> Result<()> {
    let token = issue(conn, user, VERIFY, now, now + Duration::seconds(ttl))?;
    let link = mailer.link(&format!("/verify-email/{token}"));
    let letter = Letter::VerifyEmail {
        username: &user.username,
        link: &link,
        minutes: minutes(ttl),
    };
    mailer.queue(conn, now, address, &letter)
}

/// `POST /api/email/verify`: uses a link up. With a pending address, it becomes the
/// account's (if no other account took it meanwhile) and the old one gets a notice; else
/// the account's address is marked proved.
pub(crate) async fn verify(app: &App, token: &str, source: &Source) -> Result<()> {
    let (now, token_hash) = (app.clock.now(), fingerprint(token));
    let (mailer, source) = (app.mailer.clone(), source.clone());
    app.db
        .run(move |c| {
            db::write_transaction::<_, Error, _>(c, |c| {
                let user = take(c, &token_hash, VERIFY, now)?;
                let Some(new) = user.pending_email.clone() else {
                    let changes = UserChanges {
                        email_verified: Some(true),
                        ..UserChanges::default()
                    };
                    let user = User::update(c, user.id, &changes)?;
                    let record = Record::by(Event::EmailVerified, &user, &user, &source);
                    return Ok(audit::record(c, now, &record)?);
                };
                if User::find_by_login(c, &new)?.is_some_and(|other| other.id != user.id) {
                    return Err(Error::field(
                        "token",
                        "is for an address another account took since",
                    ));
                }
                let changes = UserChanges {
                    email: Some(new.clone()),
                    email_verified: Some(true),
                    pending_email: Some(None),
                    updated_at: Some(now),
                    ..UserChanges::default()
                };
                let updated = User::update(c, user.id, &changes)?;
                void_links(c, user.id)?;
                let notice = Letter::EmailChanged {
                    username: &user.username,
                    new_email: &new,
                };
                mailer.queue(c, now, &user.email, &notice)?;
                let record = Record::by(Event::EmailChanged, &updated, &updated, &source);
                Ok(audit::record(c, now, &record)?)
            })
        })
        .await?;
    app.mailer.wake();
    Ok(())
}

/// `POST /api/me/email/verification`: mails a new link to the pending address, or to the
/// account's own while it is not proved; nothing when there is nothing to prove. Held to
/// `mail_per_hour` like reset mail, silently.
pub(crate) async fn resend(app: &App, user: &User, source: &Source) -> Result<()> {
    Later::of(app).resend(user.clone(), source.clone()).await
}

/// From the login page: a new confirmation link for the account with this username or
/// email, when it has an address to confirm. Done after the answer, which is the same
/// whatever the name.
pub(crate) fn resend_for(app: &App, identifier: &str, source: &Source) {
    let typed = validation::normalize_username(identifier);
    let (later, source) = (Later::of(app), source.clone());
    rocket::tokio::spawn(async move {
        let found = later.db.run(move |c| User::find_by_login(c, &typed)).await;
        let user = match found {
            Ok(user) => {
                user.filter(|u| u.active && (!u.email_verified || u.pending_email.is_some()))
            }
            Err(error) => return log::warn!("a confirmation request failed: {error}"),
        };
        if let Some(user) = user {
            if let Err(error) = later.resend(user, source).await {
                log::warn!("a confirmation request failed: {error}");
            }
        }
    });
}

impl Later {
    /// Mails a new confirmation link to the address `user` has to confirm, if any, held to
    /// `mail_per_hour`.
    async fn resend(self, user: User, source: Source) -> Result<()> {
        let address = match (&user.pending_email, user.email_verified) {
            (Some(pending), _) => pending.clone(),
            (None, false) => user.email.clone(),
            (None, true) => return Ok(()),
        };
        let now = self.clock.now();
        let (settings, mailer) = (self.settings, self.mailer.clone());
        self.db
            .run(move |c| {
                let account = Some(user.public_id.as_str());
                if !mail_allowed(c, &settings, account, &source, now)? {
                    crate::metrics::throttled("mail");
                    let record = Record::by(Event::MailThrottled, &user, &user, &source);
                    return Ok(audit::record(c, now, &record)?);
                }
                let ttl = settings.reset_token_ttl;
                db::write_transaction::<_, Error, _>(c, |c| {
                    mail_verification(c, &mailer, &user, &address, now, ttl)
                })
            })
            .await?;
        self.mailer.wake();
        Ok(())
    }
}

/// A password nobody knows, for an invited account until it sets its own.
pub(crate) fn unguessable() -> Result<String> {
    random_token()
}

/// Mails `user` an invitation from `admin`: a set-a-password link (a reset link living
/// `ttl` seconds), in the caller's transaction; returns the link.
pub(crate) fn invite(
    conn: &mut DbConn,
    mailer: &Mailer,
    admin: &User,
    user: &User,
    now: PrimitiveDateTime,
    ttl: i64,
) -> Result<String> {
    let token = issue(conn, user, RESET, now, now + Duration::seconds(ttl))?;
    let link = mailer.link(&format!("/password/reset/{token}"));
    let letter = Letter::Invitation {
        username: &user.username,
        by: &admin.username,
        link: &link,
        days: (ttl + 86_399) / 86_400,
    };
    mailer.queue(conn, now, &user.email, &letter)?;
    Ok(link)
}
