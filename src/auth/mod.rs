//! Authentication: logging in, refreshing, logging out, and checking a token against its
//! session row on every request (the API's request guards are in `guard`).

pub(crate) mod challenge;
pub(crate) mod guard;
pub mod lockouts;
pub(crate) mod personal_tokens;
pub(crate) mod sessions;
pub(crate) mod throttle;
pub mod tokens;

use time::{Duration, PrimitiveDateTime};
use uuid::Uuid;

use crate::accounts::model::{User, UserChanges};
use crate::accounts::policy;
use crate::app::App;
use crate::audit::{self, Event, LoginFailure, Record, Source};
use crate::db::{self, DbConn};
use crate::error::{AuthFailure, Error, Result};
use crate::mail::Letter;
use crate::metrics;
use crate::mfa::credentials::{self, Credential};
use crate::settings::EmailVerification;

use self::sessions::{NewSession, Session};
use self::throttle::{Limit, Reserved};
use self::tokens::{fingerprint, TokenError, TokenPair, TokenType};

/// How long a just-retired refresh token is answered with a plain refusal (tabs racing each
/// other) before presenting it counts as theft and ends the whole session.
pub(crate) const REFRESH_GRACE: Duration = Duration::seconds(30);

/// Who is acting: a signed-in account, what it signed in with, and where from. Built by
/// the faces' guards from a checked token.
#[derive(Debug, Clone)]
pub struct Actor {
    pub(crate) user: User,
    pub(crate) via: Via,
    pub(crate) source: Source,
}

/// What an actor signed in with.
#[derive(Debug, Clone)]
pub(crate) enum Via {
    /// A session opened by a login (a browser's cookies, or a program's JWT).
    Session(Box<Session>),
    /// A personal access token (API.md §10), which has no session.
    PersonalToken,
}

impl Actor {
    /// The session this actor signed in through; none for a personal token.
    pub(crate) fn session(&self) -> Option<&Session> {
        match &self.via {
            Via::Session(session) => Some(session),
            Via::PersonalToken => None,
        }
    }

    /// The session, for what only a password sign-in may do: make tokens, change a password,
    /// an email or a second factor, sign out. A personal token is refused (403).
    pub(crate) fn signed_in_session(&self) -> Result<&Session> {
        self.session().ok_or_else(|| {
            Error::forbidden(
                "A personal access token cannot do this: sign in with your password instead.",
            )
        })
    }

    /// Refuses admin work to an admin who must turn on a second factor first
    /// (`require_mfa_for_admins`); they may still sign in and enrol.
    pub(crate) fn ensure_admin_cleared(&self, settings: &crate::settings::Settings) -> Result<()> {
        if self.user.is_admin() && settings.require_mfa_for_admins && !self.user.mfa_enabled {
            return Err(Error::MfaEnrollmentRequired);
        }
        Ok(())
    }
}

/// A signed-in result: the new tokens and the account they are for.
pub struct SignedIn {
    pub tokens: TokenPair,
    pub user: User,
}

/// What a right password leads to: a session, or (with a second factor on) a challenge
/// whose token the second step must show with a code.
pub(crate) enum Login {
    Done(Box<SignedIn>),
    SecondStep { mfa_token: String },
}

/// What the second step of a login shows.
#[derive(Debug, Clone)]
pub(crate) enum SecondFactor {
    /// A code from the authenticator app.
    Totp(String),
    /// One of the account's recovery codes.
    RecoveryCode(String),
}

impl From<TokenError> for Error {
    fn from(error: TokenError) -> Self {
        match error {
            TokenError::Expired => Error::Auth(AuthFailure::TokenExpired),
            TokenError::Invalid | TokenError::UnknownKey => Error::Auth(AuthFailure::InvalidToken),
        }
    }
}

/// What a client proves about itself at login. A browser shows its device id and the
/// accounts it has signed in to (a signed cookie set at each successful login); an API client
/// proves nothing, and is known by its address alone.
#[derive(Debug, Clone, Default)]
pub(crate) struct Device {
    pub(crate) id: Option<String>,
    pub(crate) accounts: Vec<String>,
}

/// Checks a username-or-email and password and opens a session, counting the outcome in
/// the metrics (`gatehouse_logins_total`; wrong credentials are told apart in [`failed`]).
pub(crate) async fn login(
    app: &App,
    identifier: &str,
    password: String,
    source: &Source,
    device: &Device,
) -> Result<Login> {
    let result = check_password(app, identifier, password, source, device).await;
    count_outcome(&result, |login| match login {
        Login::Done(_) => "success",
        Login::SecondStep { .. } => "mfa_required",
    });
    result
}

/// Counts how a login step ended in `gatehouse_logins_total`. Wrong credentials are counted
/// where it is known whether the account exists ([`failed`]); a stale challenge not at all.
fn count_outcome<T>(result: &Result<T>, done: impl FnOnce(&T) -> &'static str) {
    let outcome = match result {
        Ok(value) => Some(done(value)),
        Err(Error::TooManyRequests(_)) => {
            metrics::throttled("login");
            Some("throttled")
        }
        Err(Error::AccountDisabled) => Some("account_disabled"),
        Err(Error::EmailUnverified) => Some("email_unverified"),
        Err(Error::WrongCode { .. }) => Some("mfa_failed"),
        Err(_) => None,
    };
    if let Some(outcome) = outcome {
        metrics::login(outcome);
    }
}

/// The work of [`login`].
///
/// Before bcrypt runs, one attempt is reserved against the client's address and against the
/// account as this client knows it: a device (browser or address) that has signed in to the
/// account before has its own counter, so strangers guessing cannot lock the owner out;
/// strangers count under the identifier they typed, whether or not an account has it, so a
/// lock-out tells nothing about which accounts exist.
async fn check_password(
    app: &App,
    identifier: &str,
    password: String,
    source: &Source,
    device: &Device,
) -> Result<Login> {
    if identifier.chars().any(char::is_control) {
        // No account has such a name, and no key is built from it: refused like a wrong
        // password, after the same bcrypt work, counted nowhere.
        app.hasher.verify(password, None, identifier).await?;
        metrics::login("unknown_account");
        return Err(Error::InvalidCredentials {
            attempts_left: None,
        });
    }
    let now = app.clock.now();
    let typed = crate::accounts::validation::normalize_username(identifier);
    let (ip, device) = (source.ip().map(str::to_owned), device.clone());
    let limits = (Limit::login(&app.settings), Limit::address(&app.settings));
    let keyer = app.keyer.clone();
    let v6_prefix = app.settings.ipv6_prefix;
    let (found, account_key, address_key, left) = app
        .db
        .run(move |c| {
            let found = User::find_by_login(c, &typed)?;
            let known = match &found {
                Some(user) => known_device(c, user, &device, ip.as_deref())?,
                None => None,
            };
            let account_key = known.unwrap_or_else(|| keyer.typed(&typed));
            let address_key = throttle::address_key(ip.as_deref(), v6_prefix);
            let keys = [
                (account_key.as_str(), limits.0),
                (address_key.as_str(), limits.1),
            ];
            let left = match throttle::reserve_all(c, &keys, now)? {
                Reserved::Locked(seconds) => return Err(Error::TooManyRequests(seconds)),
                Reserved::Allowed { left } => left,
            };
            Ok((found, account_key, address_key, left))
        })
        .await?;
    let stored = found.as_ref().map(|u| u.password_hash.clone());
    let matches = app
        .hasher
        .verify(password.clone(), stored, &account_key)
        .await?;
    let user = match found {
        Some(user) if matches && user.active => user,
        other => return Err(failed(app, other, matches, source, left).await),
    };
    let second_step = user.mfa_enabled;
    let keys = (account_key.clone(), address_key.clone());
    app.db
        .run(move |c| {
            throttle::give_back(c, &address_key)?;
            if !second_step {
                throttle::clear(c, &[account_key])?;
                return Ok(());
            }
            // The password was right, but the login is not done: only this attempt is
            // given back, so wrong codes keep counting (a right password must not wipe
            // them); and when this attempt was the one that locked the account, no code
            // may be tried until the lock ends.
            throttle::give_back(c, &account_key)?;
            match throttle::locked_for(c, &[account_key], now)? {
                Some(seconds) => Err(Error::TooManyRequests(seconds)),
                None => Ok(()),
            }
        })
        .await?;
    // The right password: saying the address is unproved tells nothing to a stranger.
    let required = app.settings.email_verification == EmailVerification::Required;
    if required && !user.email_verified {
        return Err(Error::EmailUnverified);
    }
    let rehashed = if app.hasher.needs_rehash(&user.password_hash) {
        Some(app.hasher.hash(password).await?)
    } else {
        None
    };
    if second_step {
        let mfa_token = open_challenge(app, user, rehashed, keys).await?;
        return Ok(Login::SecondStep { mfa_token });
    }
    Ok(Login::Done(Box::new(
        start(app, user, rehashed, source).await?,
    )))
}

/// Keeps a re-made password hash and opens the challenge of the second step.
async fn open_challenge(
    app: &App,
    user: User,
    rehashed: Option<String>,
    keys: (String, String),
) -> Result<String> {
    let now = app.clock.now();
    app.db
        .run(move |c| {
            db::write_transaction::<_, Error, _>(c, |c| {
                if rehashed.is_some() {
                    let changes = UserChanges {
                        password_hash: rehashed,
                        ..UserChanges::default()
                    };
                    User::update(c, user.id, &changes)?;
                }
                challenge::open(c, &user, (&keys.0, &keys.1), now)
            })
        })
        .await
}

/// `mfa_token` refused: unknown, used, expired or dead of wrong codes.
fn stale_challenge() -> Error {
    Error::field("mfa_token", "has expired or was used up: sign in again")
}

/// The second step of a login: a code from the app, or a recovery code, for the challenge
/// the password step opened, its outcome counted in the metrics.
pub(crate) async fn second_step(
    app: &App,
    mfa_token: &str,
    factor: SecondFactor,
    source: &Source,
) -> Result<SignedIn> {
    let result = check_second_factor(app, mfa_token, factor, source).await;
    count_outcome(&result, |_| "success");
    result
}

/// The work of [`second_step`]. Each attempt is reserved against the throttle keys of that
/// password step; a wrong one stays counted and brings the challenge closer to its end.
async fn check_second_factor(
    app: &App,
    mfa_token: &str,
    factor: SecondFactor,
    source: &Source,
) -> Result<SignedIn> {
    let now = app.clock.now();
    let limits = (Limit::login(&app.settings), Limit::address(&app.settings));
    let token = mfa_token.to_owned();
    let (found, user, left) = app
        .db
        .run(move |c| {
            let (found, user, attempts_left) =
                challenge::attempt(c, &token, now)?.ok_or_else(stale_challenge)?;
            if !user.active || !user.mfa_enabled {
                return Err(stale_challenge());
            }
            let keys = [
                (found.account_key.as_str(), limits.0),
                (found.address_key.as_str(), limits.1),
            ];
            match throttle::reserve_all(c, &keys, now)? {
                Reserved::Locked(seconds) => Err(Error::TooManyRequests(seconds)),
                Reserved::Allowed { left } => Ok((found, user, left.min(attempts_left))),
            }
        })
        .await?;
    let Some(proof) = proof(app, &user, &factor).await? else {
        return Err(wrong_code(app, &user, left, source).await);
    };
    let (tokens, mailer, source2) = (app.tokens.clone(), app.mailer.clone(), source.clone());
    let (challenge, user_id) = (found, user.id);
    let outcome = app
        .db
        .run(move |c| {
            db::write_transaction::<_, Error, _>(c, |c| {
                let source = source2;
                let used = match &proof {
                    Proof::Step(step) => Credential::use_step(c, user_id, *step)?,
                    Proof::Code(hash) => credentials::use_code(c, user_id, hash, now)?,
                };
                if !used {
                    // A replayed code, or a recovery code used a moment ago.
                    return Ok(None);
                }
                if !challenge::take(c, &challenge)? {
                    return Err(stale_challenge());
                }
                throttle::clear(c, std::slice::from_ref(&challenge.account_key))?;
                throttle::give_back(c, &challenge.address_key)?;
                let changes = UserChanges {
                    last_login_at: Some(now),
                    ..UserChanges::default()
                };
                let user = User::update(c, user_id, &changes)?;
                let pair = open_session(c, &tokens, &user, &source, now, true)?;
                audit::record(c, now, &Record::by(Event::Login, &user, &user, &source))?;
                if let Proof::Code(_) = proof {
                    let left = credentials::codes_left(c, user.id)?;
                    let event = Event::RecoveryCodeUsed { left };
                    audit::record(c, now, &Record::by(event, &user, &user, &source))?;
                    let what =
                        format!("was passed with a recovery code; {left} unused code(s) are left");
                    let notice = Letter::SecondFactor {
                        username: &user.username,
                        what: &what,
                    };
                    mailer.queue(c, now, &user.email, &notice)?;
                }
                Ok(Some(SignedIn { tokens: pair, user }))
            })
        })
        .await?;
    match outcome {
        Some(signed_in) => {
            app.mailer.wake();
            Ok(signed_in)
        }
        None => Err(wrong_code(app, &user, left, source).await),
    }
}

/// What a second factor proves before it is used up: the step of a right TOTP code, or the
/// hash of a recovery code (right only if an unused code of the account has it).
enum Proof {
    Step(i64),
    Code(String),
}

async fn proof(app: &App, user: &User, factor: &SecondFactor) -> Result<Option<Proof>> {
    let code = match factor {
        SecondFactor::RecoveryCode(code) => {
            return Ok(Some(Proof::Code(app.mfa_key.code_hash(code))))
        }
        SecondFactor::Totp(code) => code,
    };
    let user_id = user.id;
    let credential = app
        .db
        .run(move |c| Ok::<_, Error>(Credential::find(c, user_id)?))
        .await?;
    let Some(credential) = credential.filter(|found| found.confirmed) else {
        return Ok(None);
    };
    let step = credential.step_of(&app.mfa_key, user_id, code, app.clock.now())?;
    Ok(step.map(Proof::Step))
}

/// Audits a wrong code (already counted against the challenge and the throttle); the
/// answer is a failed login, with the attempts this client has left before one or the
/// other stops it.
async fn wrong_code(app: &App, user: &User, attempts_left: i32, source: &Source) -> Error {
    let (now, user, source) = (app.clock.now(), user.clone(), source.clone());
    let audited = app
        .db
        .run(move |c| {
            let record = Record::by(Event::MfaFailed, &user, &user, &source);
            audit::record(c, now, &record)
        })
        .await;
    match audited {
        Ok(()) => Error::WrongCode { attempts_left },
        Err(error) => error.into(),
    }
}

/// The throttle key of `user` as this client knows it, if the client has signed in to it
/// before: by the browser's device cookie, else by its address.
fn known_device(
    conn: &mut DbConn,
    user: &User,
    device: &Device,
    ip: Option<&str>,
) -> diesel::QueryResult<Option<String>> {
    if let Some(id) = device.id.as_deref() {
        if device.accounts.contains(&user.public_id) {
            let key = throttle::device_key(&user.public_id, &format!("device:{id}"));
            return Ok(Some(key));
        }
    }
    match ip {
        Some(ip) if Session::seen_from(conn, user.id, ip)? => Ok(Some(throttle::device_key(
            &user.public_id,
            &format!("ip:{ip}"),
        ))),
        _ => Ok(None),
    }
}

/// Audits a failed login (its attempt stays counted) and says why it failed.
async fn failed(
    app: &App,
    found: Option<User>,
    matches: bool,
    source: &Source,
    attempts_left: i32,
) -> Error {
    let disabled = matches && found.is_some();
    if !disabled {
        let outcome = if found.is_some() {
            "bad_password"
        } else {
            "unknown_account"
        };
        metrics::login(outcome);
    }
    let reason = if disabled {
        LoginFailure::Disabled
    } else {
        LoginFailure::Credentials
    };
    let (subject, source, now) = (found.map(|u| u.public_id), source.clone(), app.clock.now());
    let audited = app
        .db
        .run(move |c| {
            let event = Event::LoginFailed { reason };
            let record = Record::new(event, None, subject.as_deref(), &source);
            audit::record(c, now, &record)
        })
        .await;
    match audited {
        Err(error) => Error::from(error),
        Ok(()) if disabled => Error::AccountDisabled,
        Ok(()) => Error::InvalidCredentials {
            attempts_left: Some(attempts_left),
        },
    }
}

/// Opens a session for an account that has just proved who it is (a login, or a sign-up),
/// storing a re-made password hash when there is one.
pub async fn start(
    app: &App,
    user: User,
    rehashed: Option<String>,
    source: &Source,
) -> Result<SignedIn> {
    let now = app.clock.now();
    let (tokens, source) = (app.tokens.clone(), source.clone());
    app.db
        .run(move |c| {
            db::write_transaction::<_, Error, _>(c, |c| {
                let changes = UserChanges {
                    last_login_at: Some(now),
                    password_hash: rehashed,
                    ..UserChanges::default()
                };
                let user = User::update(c, user.id, &changes)?;
                let pair = open_session(c, &tokens, &user, &source, now, false)?;
                audit::record(c, now, &Record::by(Event::Login, &user, &user, &source))?;
                Ok(SignedIn { tokens: pair, user })
            })
        })
        .await
}

/// Creates the session row and signs its first pair of tokens.
pub(crate) fn open_session(
    conn: &mut DbConn,
    tokens: &tokens::Tokens,
    user: &User,
    source: &Source,
    now: PrimitiveDateTime,
    mfa: bool,
) -> Result<TokenPair> {
    let session_id = Uuid::new_v4().to_string();
    let pair = tokens.issue_pair(&user.public_id, &session_id, user.role.as_str())?;
    Session::insert(
        conn,
        &NewSession {
            public_id: &session_id,
            user_id: user.id,
            created_at: now,
            last_seen_at: now,
            expires_at: now + Duration::seconds(tokens.refresh_ttl()),
            user_agent: source.user_agent(),
            ip: source.ip(),
            refresh_hash: &fingerprint(&pair.refresh_token),
            csrf_token: &Uuid::new_v4().simple().to_string(),
            mfa,
        },
    )?;
    Ok(pair)
}

/// Trades a refresh token for a new pair, retiring it. A retired token presented after the
/// grace period ends the session: it means someone else holds a copy.
pub(crate) async fn refresh(app: &App, refresh_token: &str, source: &Source) -> Result<SignedIn> {
    let now = app.clock.now();
    let claims = app.tokens.verify(refresh_token, TokenType::Refresh).await?;
    let presented = fingerprint(refresh_token);
    let (tokens, source) = (app.tokens.clone(), source.clone());
    app.db
        .run(move |c| {
            let revoked = Error::Auth(AuthFailure::TokenRevoked);
            let (session, user) =
                Session::find_with_user(c, &claims.sid)?.ok_or(revoked.clone())?;
            if user.public_id != claims.sub {
                return Err(Error::Auth(AuthFailure::InvalidToken));
            }
            if !session.is_live(now) || !user.active {
                return Err(revoked);
            }
            if session.refresh_hash == presented {
                let pair =
                    tokens.issue_pair(&user.public_id, &session.public_id, user.role.as_str())?;
                let expires_at = now + Duration::seconds(tokens.refresh_ttl());
                if session.rotate(c, &fingerprint(&pair.refresh_token), now, expires_at)? {
                    return Ok(SignedIn { tokens: pair, user });
                }
                // Another refresh with the same token won the race a moment ago.
                return Err(Error::Auth(AuthFailure::InvalidToken));
            }
            let in_grace = session.previous_refresh_hash.as_deref() == Some(presented.as_str())
                && session
                    .refreshed_at
                    .is_some_and(|at| now - at <= REFRESH_GRACE);
            if in_grace {
                return Err(Error::Auth(AuthFailure::InvalidToken));
            }
            db::write_transaction::<_, Error, _>(c, |c| {
                Session::revoke(c, session.id, now)?;
                let event = Event::RefreshReused {
                    session: session.public_id.clone(),
                };
                let record = Record::by(event, &user, &user, &source);
                Ok(audit::record(c, now, &record)?)
            })?;
            Err(revoked)
        })
        .await
}

/// Ends the caller's session (`everywhere`: every session of the caller).
pub(crate) async fn logout(app: &App, actor: &Actor, everywhere: bool) -> Result<()> {
    let now = app.clock.now();
    let session = actor.signed_in_session()?.id;
    let Actor { user, source, .. } = actor.clone();
    app.db
        .run(move |c| {
            db::write_transaction::<_, Error, _>(c, |c| {
                let event = if everywhere {
                    Session::revoke_all(c, user.id, None, now)?;
                    challenge::void(c, user.id)?;
                    Event::LogoutAll
                } else {
                    Session::revoke(c, session, now)?;
                    Event::Logout
                };
                Ok(audit::record(
                    c,
                    now,
                    &Record::by(event, &user, &user, &source),
                )?)
            })
        })
        .await
}

/// Replaces the caller's session with a new one holding fresh tokens, as after a password
/// change: whoever copied the old tokens is left with nothing.
pub(crate) async fn renew(app: &App, actor: &Actor) -> Result<TokenPair> {
    let now = app.clock.now();
    let (id, mfa) = actor.signed_in_session().map(|s| (s.id, s.mfa))?;
    let (tokens, actor) = (app.tokens.clone(), actor.clone());
    app.db
        .run(move |c| {
            db::write_transaction::<_, Error, _>(c, |c| {
                Session::revoke(c, id, now)?;
                open_session(c, &tokens, &actor.user, &actor.source, now, mfa)
            })
        })
        .await
}

/// Live sessions of a user (self or admin).
pub(crate) async fn sessions(app: &App, caller: &Actor, target: &User) -> Result<Vec<Session>> {
    let now = app.clock.now();
    policy::ensure_can_manage(&caller.user, target)?;
    let target = target.id;
    app.db
        .read(move |c| Ok::<_, Error>(Session::list_live(c, target, now)?))
        .await
}

/// Ends one session of a user (self or admin).
pub(crate) async fn end_session(
    app: &App,
    caller: &Actor,
    target: &User,
    session_id: &str,
) -> Result<()> {
    let now = app.clock.now();
    policy::ensure_can_manage(&caller.user, target)?;
    let target = target.clone();
    let (actor, source, sid) = (
        caller.user.public_id.clone(),
        caller.source.clone(),
        session_id.to_owned(),
    );
    app.db
        .run(move |c| {
            let session = Session::list_live(c, target.id, now)?
                .into_iter()
                .find(|s| s.public_id == sid)
                .ok_or(Error::NotFound)?;
            db::write_transaction::<_, Error, _>(c, |c| {
                Session::revoke(c, session.id, now)?;
                Ok(audit::record(
                    c,
                    now,
                    &Record::new(
                        Event::SessionRevoked {
                            session: session.public_id.clone(),
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

/// Checks an access token completely: signature and claims, then against the database that
/// its session is live and its account exists, is active and still has the role it claims.
pub(crate) async fn check_access(app: &App, token: &str) -> Result<(Session, User)> {
    let now = app.clock.now();
    let claims = app.tokens.verify(token, TokenType::Access).await?;
    // Every request reads the session row (on SQLite on the async worker, on PostgreSQL
    // in one query with the checks arriving meanwhile: see `db::batch`); the rare write
    // that records activity goes to the blocking pool.
    let found = app.session_reads.get(claims.sid.clone()).await?;
    let live = found.filter(|(session, user)| {
        session.is_live(now)
            && user.active
            && user.public_id == claims.sub
            && user.role.as_str() == claims.role
    });
    let (session, user) = live.ok_or(Error::Auth(AuthFailure::TokenRevoked))?;
    if session.needs_touch(now) {
        let stale = session.clone();
        app.db
            .run(move |c| Ok::<_, Error>(stale.touch(c, now)?))
            .await?;
    }
    Ok((session, user))
}
