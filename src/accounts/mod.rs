//! Accounts: creating, changing and deleting users under the rules of API.md §4–5, with every
//! change audited and taking effect on the very next request.

pub mod model;
pub(crate) mod password;
pub(crate) mod policy;
pub(crate) mod recovery;
pub(crate) mod validation;

use diesel::prelude::*;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::app::App;
use crate::audit::{self, Created, Event, Record, Source, Via};
use crate::auth::challenge;
use crate::auth::lockouts::{self, verify_current};
use crate::auth::personal_tokens;
use crate::auth::sessions::Session;
use crate::auth::throttle::{self, Limit};
use crate::auth::Actor;
use crate::db::{self, DbConn};
use crate::error::{Checker, Error, FieldErrors, Result};
use crate::mail::Letter;
use crate::settings::EmailVerification;

use self::model::{NewUser, Role, User, UserChanges};

/// Refusal of a "new" password that is the current one (checked after the current one is
/// proved right, so it tells a guesser nothing).
const SAME_PASSWORD: &str = "must differ from your current password";

/// A new account, from sign-up (role and active unset) or from an admin.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    pub username: String,
    pub email: String,
    /// Left out by an admin: the account is invited to set one (API.md §8).
    #[serde(default)]
    pub password: Option<String>,
    pub name: Option<String>,
    /// `user` or `admin`.
    #[schema(pattern = "^(user|admin)$")]
    pub role: Option<String>,
    pub active: Option<bool>,
}

/// A partial change to an account; absent fields stay as they are.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AccountChanges {
    pub(crate) username: Option<String>,
    pub(crate) email: Option<String>,
    /// An empty name clears it.
    pub(crate) name: Option<String>,
    pub(crate) password: Option<String>,
    pub(crate) current_password: Option<String>,
    /// `user` or `admin`.
    #[schema(pattern = "^(user|admin)$")]
    pub(crate) role: Option<String>,
    pub(crate) active: Option<bool>,
}

/// The cleaned values of a valid new account.
pub(crate) struct ValidAccount {
    pub(crate) username: String,
    pub(crate) email: String,
    pub(crate) name: Option<String>,
    pub(crate) role: Role,
}

/// Checks every field of a new account, reporting all problems at once.
pub(crate) fn validate_new(
    settings: &crate::settings::Settings,
    input: &NewAccount,
) -> Result<ValidAccount, FieldErrors> {
    let mut checker = Checker::default();
    let username = checker.check("username", validation::username(&input.username));
    let email = checker.check("email", validation::email(&input.email));
    let name = checker.check(
        "name",
        validation::name(input.name.as_deref().unwrap_or("")),
    );
    let own_words = [
        input.username.as_str(),
        input.email.as_str(),
        input.name.as_deref().unwrap_or(""),
    ];
    let min = settings.password_min_length;
    if let Some(password) = &input.password {
        checker.check("password", validation::password(password, min, &own_words));
    }
    let role = match &input.role {
        Some(role) => checker.check("role", role_named(role)),
        None => Some(Role::User),
    };
    checker.finish()?;
    match (username, email, name, role) {
        (Some(username), Some(email), Some(name), Some(role)) => Ok(ValidAccount {
            username,
            email,
            name,
            role,
        }),
        // The checker records a problem for every field that produced no value.
        _ => Err(FieldErrors::new()),
    }
}

/// Where a new account comes from.
#[derive(Clone, Copy)]
pub enum Origin<'a> {
    /// Someone signing up for themselves: role `user`, active.
    SignUp,
    /// An admin through the API or the console pages.
    Admin(&'a Actor),
    /// The operator at the command line (`gatehouse create-admin`).
    CommandLine,
}

/// Creates an account and audits it. A sign-up first reserves one of its address's sign-ups
/// (atomically, so parallel sign-ups never pass the limit), given back if the account is not
/// created after all.
pub async fn create(
    app: &App,
    input: NewAccount,
    origin: Origin<'_>,
    source: &Source,
) -> Result<User> {
    Ok(create_account(app, input, origin, source).await?.0)
}

/// [`create`], and for an admin's account without a password the invitation link it was
/// mailed (for an admin who has no mail server to hand over).
pub(crate) async fn create_account(
    app: &App,
    input: NewAccount,
    origin: Origin<'_>,
    source: &Source,
) -> Result<(User, Option<String>)> {
    let signing_up = matches!(origin, Origin::SignUp);
    if signing_up && (input.role.is_some() || input.active.is_some()) {
        return Err(Error::forbidden("Only an admin may set role or active."));
    }
    if input.password.is_none() && !matches!(origin, Origin::Admin(_)) {
        return Err(Error::field("password", "is required"));
    }
    if let Origin::Admin(admin) = &origin {
        if input.role.as_deref() == Some(Role::Admin.as_str()) {
            // Making an admin (with a password of one's choosing) is not for a personal
            // token, as changing a role is not.
            admin.signed_in_session()?;
        }
    }
    let valid = match validate_new(&app.settings, &input) {
        Ok(valid) => valid,
        Err(errors) => return Err(Error::Validation(with_taken(app, &input, errors).await?)),
    };

    let v6_prefix = app.settings.ipv6_prefix;
    let Some(key) = signing_up.then(|| throttle::signup_key(source.ip(), v6_prefix)) else {
        return insert(app, valid, input, origin, source).await;
    };
    lockouts::reserve(app, &key, Limit::signup(&app.settings), "signup").await?;
    let created = insert(app, valid, input, origin, source).await;
    if created.is_err() {
        app.db.run(move |c| throttle::give_back(c, &key)).await?;
    }
    created
}

/// Adds "is already taken" to the well-formed username and email of a refused new account,
/// so the form shows every problem at once rather than one after another.
async fn with_taken(app: &App, input: &NewAccount, errors: FieldErrors) -> Result<FieldErrors> {
    let candidates = [
        ("username", validation::username(&input.username)),
        ("email", validation::email(&input.email)),
    ];
    let wellformed: Vec<(&'static str, String)> = candidates
        .into_iter()
        .filter(|(field, _)| !errors.contains_key(*field))
        .filter_map(|(field, value)| Some((field, value.ok()?)))
        .collect();
    app.db
        .run(move |c| {
            let mut errors = errors;
            for (field, value) in wellformed {
                if User::find_by_login(c, &value)?.is_some() {
                    errors.insert(field.to_owned(), vec!["is already taken".to_owned()]);
                }
            }
            Ok(errors)
        })
        .await
}

/// Hashes the password and writes the account and its audit event; an account without a
/// password gets a random one nobody knows (so a login costs the same bcrypt work) and an
/// invitation to set its own.
async fn insert(
    app: &App,
    valid: ValidAccount,
    input: NewAccount,
    origin: Origin<'_>,
    source: &Source,
) -> Result<(User, Option<String>)> {
    let now = app.clock.now();
    let invited = input.password.is_none();
    let password = match input.password {
        Some(password) => password,
        None => recovery::unguessable()?,
    };
    let hash = app.hasher.hash(password).await?;
    let invite_ttl = app.settings.invite_token_ttl;
    let inviter = match origin {
        Origin::Admin(admin) => Some(admin.user.clone()),
        _ => None,
    };
    let ValidAccount {
        username,
        email,
        name,
        role,
    } = valid;
    let active = input.active.unwrap_or(true);
    let (actor_id, source) = (origin.actor_id(), source.clone());
    let created = Created {
        role,
        active,
        via: match source {
            Source::CommandLine => Via::CommandLine,
            Source::Http { .. } => Via::Http,
        },
    };
    let signing_up = matches!(origin, Origin::SignUp);
    // Whoever signs up proves their address by mail; an admin or the operator vouches.
    let verify = signing_up && app.settings.email_verification != EmailVerification::Off;
    let (mailer, ttl) = (app.mailer.clone(), app.settings.reset_token_ttl);
    let event = if signing_up {
        Event::Signup(created)
    } else {
        Event::UserCreated(created)
    };
    let created = app
        .db
        .run(move |c| {
            db::write_transaction::<_, Error, _>(c, |c| {
                let public_id = Uuid::new_v4().to_string();
                let user = User::insert(
                    c,
                    &NewUser {
                        public_id: &public_id,
                        username: &username,
                        email: &email,
                        name: name.as_deref(),
                        password_hash: &hash,
                        role: role.as_str(),
                        active,
                        created_at: now,
                        updated_at: now,
                        password_changed_at: now,
                        email_verified: !signing_up,
                    },
                )?;
                if verify {
                    recovery::mail_verification(c, &mailer, &user, &user.email, now, ttl)?;
                }
                let invite_url = match (&inviter, invited) {
                    (Some(admin), true) => {
                        let url = recovery::invite(c, &mailer, admin, &user, now, invite_ttl)?;
                        audit::record(
                            c,
                            now,
                            &Record::by(Event::UserInvited, admin, &user, &source),
                        )?;
                        Some(url)
                    }
                    _ => None,
                };
                let actor = if signing_up {
                    Some(user.public_id.as_str())
                } else {
                    actor_id.as_deref()
                };
                audit::record(
                    c,
                    now,
                    &Record::new(event, actor, Some(&user.public_id), &source),
                )?;
                Ok((user, invite_url))
            })
        })
        .await?;
    app.mailer.wake();
    Ok(created)
}

impl Origin<'_> {
    fn actor_id(self) -> Option<String> {
        match self {
            Origin::Admin(admin) => Some(admin.user.public_id.clone()),
            _ => None,
        }
    }
}

/// Finds a user by public id; anything that is not a UUID names nobody.
pub(crate) async fn find(app: &App, public_id: &str) -> Result<User> {
    let id = Uuid::parse_str(public_id)
        .map_err(|_| Error::NotFound)?
        .to_string();
    app.db
        .run(move |c| User::find(c, &id)?.ok_or(Error::NotFound))
        .await
}

/// The account with this username or email, as login finds it (for the operator's
/// commands).
pub async fn find_by_login(app: &App, identifier: &str) -> Result<User> {
    let typed = validation::normalize_username(identifier);
    app.db
        .run(move |c| User::find_by_login(c, &typed)?.ok_or(Error::NotFound))
        .await
}

/// Applies a partial change to `target_id` for `caller` (self or admin).
pub(crate) async fn update(
    app: &App,
    caller: &Actor,
    target: &User,
    changes: AccountChanges,
) -> Result<User> {
    policy::ensure_can_manage(&caller.user, target)?;
    let is_self = caller.user.id == target.id;
    if !caller.user.is_admin() && (changes.role.is_some() || changes.active.is_some()) {
        return Err(Error::forbidden("Only an admin may set role or active."));
    }
    let mut checker = Checker::default();
    let mut set = UserChanges::default();
    if let Some(username) = &changes.username {
        set.username = checker.check("username", validation::username(username));
    }
    if let Some(email) = &changes.email {
        set.email = checker.check("email", validation::email(email));
    }
    if let Some(name) = &changes.name {
        set.name = checker.check("name", validation::name(name));
    }
    if let Some(role) = &changes.role {
        set.role = checker.check("role", role_named(role)).map(Role::as_str);
    }
    set.active = changes.active;
    let new_email = set.email.as_ref().filter(|email| **email != target.email);
    let email_changes = is_self && new_email.is_some();
    let needs_password = is_self && changes.password.is_some();
    if changes.current_password.is_some() && !(needs_password || email_changes) {
        checker.add(
            "current_password",
            "is only needed with a new password or email",
        );
    }
    if let Some(password) = &changes.password {
        let words = own_words(target, &set);
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        let min = app.settings.password_min_length;
        checker.check("password", validation::password(password, min, &words));
    }
    checker.finish()?;
    let new_role = changes
        .role
        .as_deref()
        .filter(|role| *role != target.role.as_str());
    if changes.password.is_some() || new_email.is_some() || new_role.is_some() {
        // A personal token may not change a password, an email or a role.
        caller.signed_in_session()?;
    }
    let recent = caller
        .session()
        .is_some_and(|s| s.signed_in_recently(app.clock.now()));
    match changes.current_password {
        Some(current) => {
            let unchanged = changes.password.as_ref() == Some(&current);
            verify_current(app, caller, current, "current_password").await?;
            if unchanged {
                return Err(Error::field("password", SAME_PASSWORD));
            }
        }
        None if needs_password || (email_changes && !recent) => {
            return Err(Error::field(
                "current_password",
                if needs_password {
                    "is needed to set a new password"
                } else {
                    "is needed to change your email (or sign in again)"
                },
            ));
        }
        None => {}
    }
    if let Some(password) = changes.password {
        set.password_hash = Some(app.hasher.hash(password).await?);
    }
    if email_changes && app.settings.email_verification != EmailVerification::Off {
        // One's own new address waits for its link; the old one stays until then.
        set.pending_email = Some(set.email.take());
    } else if !is_self
        && set
            .email
            .as_ref()
            .is_some_and(|email| *email != target.email)
    {
        // An admin's change applies at once, vouched for.
        set.email_verified = Some(true);
        set.pending_email = Some(None);
    }
    let keep = caller.session().filter(|_| is_self).map(|s| s.id);
    apply(app, caller, target.clone(), set, keep).await
}

/// `PUT /api/me/password`: the current password proves it is really the owner.
pub(crate) async fn change_own_password(
    app: &App,
    caller: &Actor,
    current_password: String,
    new_password: String,
) -> Result<()> {
    let session = caller.signed_in_session()?.id;
    let words = own_words(&caller.user, &UserChanges::default());
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let min = app.settings.password_min_length;
    validation::password(&new_password, min, &words)
        .map_err(|problems| Error::Validation([("new_password".to_owned(), problems)].into()))?;
    let unchanged = new_password == current_password;
    verify_current(app, caller, current_password, "current_password").await?;
    if unchanged {
        return Err(Error::field("new_password", SAME_PASSWORD));
    }
    let set = UserChanges {
        password_hash: Some(app.hasher.hash(new_password).await?),
        ..UserChanges::default()
    };
    apply(app, caller, caller.user.clone(), set, Some(session)).await?;
    Ok(())
}

/// Deletes an account (self or admin); its sessions go with it. Deleting one's own account
/// needs a recent sign-in, so a stolen refresh token cannot do it.
pub(crate) async fn delete(app: &App, caller: &Actor, target: &User) -> Result<()> {
    let now = app.clock.now();
    policy::ensure_can_manage(&caller.user, target)?;
    let recent = caller.session().is_some_and(|s| s.signed_in_recently(now));
    if caller.user.id == target.id && !recent {
        return Err(Error::forbidden(
            "Deleting your own account needs a recent sign-in: log in again, then delete.",
        ));
    }
    let target = target.clone();
    let (actor, source) = (caller.user.public_id.clone(), caller.source.clone());
    app.db
        .run(move |c| {
            db::write_transaction::<_, Error, _>(c, |c| {
                lock_admins(c)?;
                User::delete(c, target.id)?;
                ensure_an_admin_remains(c, &target)?;
                Ok(audit::record(
                    c,
                    now,
                    &Record::new(
                        Event::UserDeleted {
                            username: target.username.clone(),
                        },
                        Some(&actor),
                        Some(&target.public_id),
                        &source,
                    ),
                )?)
            })
        })
        .await
}

/// Writes a validated change with its audit events and its consequences for sessions:
/// a new password ends every session but `keep`; deactivation ends them all. A role change
/// needs no revocation: tokens carry the role, and the guard refuses a stale one.
async fn apply(
    app: &App,
    caller: &Actor,
    target: User,
    mut set: UserChanges,
    keep: Option<i64>,
) -> Result<User> {
    let now = app.clock.now();
    let (actor, source) = (caller.user.public_id.clone(), caller.source.clone());
    let (mailer, settings_ttl) = (app.mailer.clone(), app.settings.reset_token_ttl);
    let how = if caller.user.id == target.id {
        "changed by you"
    } else {
        "reset by an administrator"
    };
    let updated = app
        .db
        .run(move |c| {
            db::write_transaction::<_, Error, _>(c, |c| {
                set.updated_at = Some(now);
                if set.password_hash.is_some() {
                    set.password_changed_at = Some(now);
                }
                lock_admins(c)?;
                if let Some(Some(pending)) = &set.pending_email {
                    if User::find_by_login(c, pending)?.is_some_and(|u| u.id != target.id) {
                        return Err(Error::Taken("email"));
                    }
                }
                let updated = User::update(c, target.id, &set)?;
                ensure_an_admin_remains(c, &target)?;
                if updated.email != target.email {
                    // The old address is told, and links mailed to it die.
                    recovery::void_links(c, target.id)?;
                    let notice = Letter::EmailChanged {
                        username: &updated.username,
                        new_email: &updated.email,
                    };
                    mailer.queue(c, now, &target.email, &notice)?;
                }
                if let Some(Some(pending)) = &set.pending_email {
                    let ttl = settings_ttl;
                    recovery::mail_verification(c, &mailer, &updated, pending, now, ttl)?;
                }
                if set.password_hash.is_some() {
                    Session::revoke_all(c, target.id, keep, now)?;
                    personal_tokens::remove_all(c, target.id)?;
                    // A login that proved the old password waits for its code no more.
                    challenge::void(c, target.id)?;
                }
                if !updated.active {
                    Session::revoke_all(c, target.id, None, now)?;
                    personal_tokens::remove_all(c, target.id)?;
                }
                let record =
                    |event| Record::new(event, Some(&actor), Some(&updated.public_id), &source);
                let fields = changed_fields(&target, &updated);
                if !fields.is_empty() {
                    audit::record(c, now, &record(Event::UserUpdated { fields }))?;
                }
                if target.role != updated.role {
                    let (from, to) = (target.role, updated.role);
                    audit::record(c, now, &record(Event::RoleChanged { from, to }))?;
                }
                if set.password_hash.is_some() {
                    audit::record(c, now, &record(Event::PasswordChanged))?;
                    let username = &updated.username;
                    let notice = Letter::PasswordChanged { username, how };
                    mailer.queue(c, now, &updated.email, &notice)?;
                }
                Ok(updated)
            })
        })
        .await?;
    app.mailer.wake();
    Ok(updated)
}

/// Names of the fields that differ, never their values. A new password is not among them:
/// it has an event of its own (`password_changed`), so one reset is one event.
fn changed_fields(before: &User, after: &User) -> Vec<String> {
    [
        ("username", before.username != after.username),
        ("email", before.email != after.email),
        ("name", before.name != after.name),
        ("role", before.role != after.role),
        ("active", before.active != after.active),
    ]
    .into_iter()
    .filter(|(_, differs)| *differs)
    .map(|(field, _)| field.to_owned())
    .collect()
}

/// The words a password must not be built from: the account's names, as they will be.
fn own_words(user: &User, set: &UserChanges) -> Vec<String> {
    vec![
        set.username
            .clone()
            .unwrap_or_else(|| user.username.clone()),
        set.email.clone().unwrap_or_else(|| user.email.clone()),
        set.name
            .clone()
            .flatten()
            .or_else(|| user.name.clone())
            .unwrap_or_default(),
    ]
}

fn role_named(name: &str) -> Result<Role, Vec<String>> {
    Role::parse(name).ok_or_else(|| vec!["must be \"user\" or \"admin\"".to_owned()])
}

/// Serialises changes that could remove the last admin. SQLite already runs one writer at a
/// time; on PostgreSQL two transactions demoting two admins at once would each still see the
/// other, so they take a transaction-scoped advisory lock first.
fn lock_admins(conn: &mut DbConn) -> QueryResult<()> {
    if let DbConn::Postgres(pg) = conn {
        diesel::sql_query("SELECT pg_advisory_xact_lock(7261001)").execute(pg)?;
    }
    Ok(())
}

/// Called after a change inside its transaction: if `before` was an active admin and none is
/// left, the change is refused and rolled back.
fn ensure_an_admin_remains(conn: &mut DbConn, before: &User) -> Result<()> {
    if before.is_admin() && before.active && User::count_active_admins(conn)? == 0 {
        return Err(Error::Conflict(
            "This is the last active admin: make another admin first.".into(),
        ));
    }
    Ok(())
}
