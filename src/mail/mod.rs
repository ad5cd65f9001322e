//! Mail (API.md §8): letters rendered from Tera templates (plain text and HTML), queued in
//! the database inside the transaction that decides to send them, and delivered by a
//! background task of every instance ([`delivery`]) through SMTP or, with no `smtp_url`,
//! into `<data_dir>/outbox/`. A request never waits for a mail server.

pub(crate) mod delivery;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use diesel::prelude::*;
use lettre::message::{Mailbox, MultiPart};
use lettre::{Address, Message};
use rocket::tokio::sync::Notify;
use serde_json::json;
use tera::{Context, Tera};
use time::PrimitiveDateTime;

use crate::clock::Clock;
use crate::db::schema::mail_queue;
use crate::db::{Db, DbConn};
use crate::error::{Error, Result};
use crate::settings::Settings;

use self::delivery::Transport;

/// What a letter says; each has a template pair `templates/mail/<name>_{text,html}.tera`
/// (names the page engine, which reads the same folder, keeps apart).
pub(crate) enum Letter<'a> {
    /// A link to set a new password, living `minutes`.
    PasswordReset {
        username: &'a str,
        link: &'a str,
        minutes: i64,
    },
    /// A notice that the password changed (`how`: "changed", "reset with a link" …).
    PasswordChanged { username: &'a str, how: &'a str },
    /// A link that proves this address, living `minutes`.
    VerifyEmail {
        username: &'a str,
        link: &'a str,
        minutes: i64,
    },
    /// An account made by an admin (`by`), with a link to set its password within `days`.
    Invitation {
        username: &'a str,
        by: &'a str,
        link: &'a str,
        days: i64,
    },
    /// A notice to the old address that the account's address is now `new_email`.
    EmailChanged {
        username: &'a str,
        new_email: &'a str,
    },
    /// A notice that the second factor `what` ("was turned on", …).
    SecondFactor { username: &'a str, what: &'a str },
}

impl Letter<'_> {
    fn parts(&self) -> (&'static str, &'static str, serde_json::Value) {
        match self {
            Letter::PasswordReset {
                username,
                link,
                minutes,
            } => (
                "password_reset",
                "Set a new password",
                json!({ "username": username, "link": link, "minutes": minutes }),
            ),
            Letter::PasswordChanged { username, how } => (
                "password_changed",
                "Your password was changed",
                json!({ "username": username, "how": how }),
            ),
            Letter::VerifyEmail {
                username,
                link,
                minutes,
            } => (
                "verify_email",
                "Confirm your email address",
                json!({ "username": username, "link": link, "minutes": minutes }),
            ),
            Letter::Invitation {
                username,
                by,
                link,
                days,
            } => (
                "invitation",
                "Your new account: set its password",
                json!({ "username": username, "by": by, "link": link, "days": days }),
            ),
            Letter::EmailChanged {
                username,
                new_email,
            } => (
                "email_changed",
                "Your email address was changed",
                json!({ "username": username, "new_email": new_email }),
            ),
            Letter::SecondFactor { username, what } => (
                "second_factor",
                "Two-factor authentication on your account",
                json!({ "username": username, "what": what }),
            ),
        }
    }
}

/// How often an instance looks for due mail when nothing wakes it (other instances' mail,
/// retries).
const POLL: Duration = Duration::from_secs(5);

/// Delivers queued mail for as long as the server runs: when woken, and every few seconds.
pub(crate) async fn deliver_forever(db: Db, clock: Clock, mailer: Arc<Mailer>) {
    loop {
        if let Err(error) = mailer.deliver_due(&db, &clock).await {
            log::warn!("mail delivery: {error}");
        }
        let woken = mailer.wake.notified();
        let _ = rocket::tokio::time::timeout(POLL, woken).await;
    }
}

/// How this instance writes and sends mail.
pub struct Mailer {
    transport: Transport,
    from: Mailbox,
    public_url: String,
    /// The host of `public_url`: the default sender's domain, and the server's name in
    /// authenticator apps.
    host: String,
    templates: Tera,
    /// Wakes this instance's delivery task when a message is queued.
    wake: Arc<Notify>,
}

impl Mailer {
    /// Builds the transport and loads the mail templates from `<template_dir>/mail/`.
    pub(crate) fn new(
        settings: &Settings,
        public_url: String,
        template_dir: PathBuf,
    ) -> std::result::Result<Self, String> {
        let transport = Transport::new(settings)?;
        let host = url::Url::parse(&public_url)
            .ok()
            .and_then(|url| url.host_str().map(str::to_owned))
            .unwrap_or_else(|| "localhost".to_owned());
        let from = settings
            .mail_from
            .clone()
            .unwrap_or_else(|| format!("gatehouse@{host}"));
        let from: Mailbox = from
            .parse()
            .map_err(|e| format!("invalid setting `mail_from`: {e}"))?;
        let glob = template_dir.join("mail").join("*.tera");
        let mut templates = Tera::new(&glob.to_string_lossy())
            .map_err(|e| format!("the mail templates cannot be read: {e}"))?;
        // Tera escapes by the name's ending, and these end in `.tera`.
        templates.autoescape_on(vec!["_html.tera"]);
        Ok(Mailer {
            transport,
            from,
            public_url: public_url.trim_end_matches('/').to_owned(),
            host,
            templates,
            wake: Arc::new(Notify::new()),
        })
    }

    /// An absolute link to `path` (which starts with `/`) on this server.
    pub(crate) fn link(&self, path: &str) -> String {
        format!("{}{path}", self.public_url)
    }

    /// The host people reach this server at (`public_url`'s).
    pub(crate) fn host(&self) -> &str {
        &self.host
    }

    /// Tells this instance's delivery task that something was queued.
    pub(crate) fn wake(&self) {
        self.wake.notify_one();
    }

    /// Sends the mail that is due now; returns how many went out.
    pub(crate) async fn deliver_due(&self, db: &Db, clock: &Clock) -> Result<usize> {
        delivery::deliver_due(db, clock, &self.transport, &self.from.email).await
    }

    /// Renders `letter` to `to` and queues it, in the caller's transaction.
    pub(crate) fn queue(
        &self,
        conn: &mut DbConn,
        now: PrimitiveDateTime,
        to: &str,
        letter: &Letter<'_>,
    ) -> Result<()> {
        let message = self.render(to, letter)?;
        diesel::insert_into(mail_queue::table)
            .values((
                mail_queue::recipient.eq(to),
                mail_queue::message.eq(message),
                mail_queue::created_at.eq(now),
                mail_queue::next_attempt_at.eq(now),
            ))
            .execute(conn)?;
        crate::metrics::mail("queued");
        Ok(())
    }

    /// The whole RFC 5322 message, plain text and HTML.
    fn render(&self, to: &str, letter: &Letter<'_>) -> Result<String> {
        let (name, subject, values) = letter.parts();
        let context = Context::from_value(values).map_err(Error::internal)?;
        let text = self
            .templates
            .render(&format!("{name}_text.tera"), &context);
        let html = self
            .templates
            .render(&format!("{name}_html.tera"), &context);
        let (text, html) = (
            text.map_err(Error::internal)?,
            html.map_err(Error::internal)?,
        );
        // A bare address, as the account holds it (lettre's mailbox parser would refuse
        // some forms the address check accepts).
        let to = Mailbox::new(None, to.parse::<Address>().map_err(Error::internal)?);
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .multipart(MultiPart::alternative_plain_html(text, html))
            .map_err(Error::internal)?;
        String::from_utf8(message.formatted()).map_err(Error::internal)
    }
}
