//! Delivering queued mail: every instance claims due messages for a minute, sends them, and
//! marks them sent (the message text is then wiped: it may hold a one-time link) or due
//! again later, with back-off. A message that still fails after [`MOST_ATTEMPTS`] is dropped
//! and logged.

use std::path::PathBuf;
use std::time::Duration as StdDuration;

use diesel::prelude::*;
use lettre::address::Envelope;
use lettre::transport::smtp::AsyncSmtpTransport;
use lettre::{Address, AsyncTransport, Tokio1Executor};
use time::{Duration, PrimitiveDateTime};

use crate::clock::Clock;
use crate::db::schema::mail_queue;
use crate::db::{self, Db, DbConn};
use crate::error::Error;
use crate::settings::Settings;

/// How long an instance holds a message it is sending before another may try it.
const CLAIM: Duration = Duration::minutes(1);
/// Messages claimed at a time.
const BATCH: i64 = 20;
/// Attempts before a message is given up.
const MOST_ATTEMPTS: i32 = 8;
/// How long one SMTP conversation may take.
const SMTP_TIMEOUT: StdDuration = StdDuration::from_secs(15);

/// Where messages go.
pub(crate) enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// `.eml` files in this directory.
    Outbox(PathBuf),
}

impl Transport {
    pub(crate) fn new(settings: &Settings) -> Result<Self, String> {
        let Some(url) = &settings.smtp_url else {
            return Ok(Transport::Outbox(settings.data_dir.join("outbox")));
        };
        let invalid = |e: String| format!("invalid setting `smtp_url`: {e}");
        let url = lettre_url(url).map_err(invalid)?;
        let smtp = AsyncSmtpTransport::<Tokio1Executor>::from_url(&url)
            .map_err(|e| invalid(e.to_string()))?
            .timeout(Some(SMTP_TIMEOUT))
            .build();
        Ok(Transport::Smtp(smtp))
    }

    async fn send(&self, envelope: &Envelope, message: &[u8]) -> Result<String, String> {
        match self {
            Transport::Smtp(smtp) => smtp
                .send_raw(envelope, message)
                .await
                .map(|_| "sent by SMTP".to_owned())
                .map_err(|e| e.to_string()),
            Transport::Outbox(dir) => write_to_outbox(dir, message).await,
        }
    }
}

/// Writes a message as `<uuid>.eml`: first under a temporary name, then renamed, so that
/// whoever reads the outbox never finds half a message.
async fn write_to_outbox(dir: &std::path::Path, message: &[u8]) -> Result<String, String> {
    use rocket::tokio::fs;
    let id = uuid::Uuid::new_v4();
    let partial = dir.join(format!(".{id}.partial"));
    let file = dir.join(format!("{id}.eml"));
    let failed = |e: std::io::Error| format!("cannot write to {}: {e}", dir.display());
    fs::create_dir_all(dir).await.map_err(failed)?;
    fs::write(&partial, message).await.map_err(failed)?;
    fs::rename(&partial, &file).await.map_err(failed)?;
    Ok(format!("written to {}", file.display()))
}

/// API.md's `smtp_url` in lettre's terms: `smtp://` means STARTTLS required unless
/// `?tls=none` (a local relay) says otherwise; `smtps://` is implicit TLS.
fn lettre_url(url: &str) -> Result<String, String> {
    let mut parsed = url::Url::parse(url).map_err(|e| e.to_string())?;
    let tls = parsed
        .query_pairs()
        .find(|(key, _)| key == "tls")
        .map(|(_, value)| value.into_owned());
    match (parsed.scheme(), tls.as_deref()) {
        ("smtps", _) => Ok(url.to_owned()),
        ("smtp", Some("none")) => {
            parsed.set_query(None);
            Ok(parsed.to_string())
        }
        ("smtp", None) => {
            parsed.set_query(Some("tls=required"));
            Ok(parsed.to_string())
        }
        ("smtp", Some("required" | "opportunistic")) => Ok(url.to_owned()),
        (scheme, tls) => Err(format!(
            "use smtp:// (STARTTLS), smtps:// (TLS) or smtp://…?tls=none, not {scheme} with tls={}",
            tls.unwrap_or("")
        )),
    }
}

/// A message this instance holds until `until`.
struct Claimed {
    id: i64,
    recipient: String,
    message: String,
    attempts: i32,
    until: PrimitiveDateTime,
}

/// Sends what is due now, from `from`; returns how many were sent.
pub(crate) async fn deliver_due(
    db: &Db,
    clock: &Clock,
    transport: &Transport,
    from: &Address,
) -> Result<usize, Error> {
    let mut sent = 0;
    // One at a time, each claimed just before it is sent: a claim never runs out while
    // earlier messages of a batch are still on their way.
    for _ in 0..BATCH {
        let now = clock.now();
        let Some(message) = db.run(move |c| claim(c, now)).await? else {
            break;
        };
        let envelope = message
            .recipient
            .parse::<Address>()
            .map_err(|e| e.to_string())
            .and_then(|to| Envelope::new(Some(from.clone()), vec![to]).map_err(|e| e.to_string()));
        let outcome = match envelope {
            Ok(envelope) => {
                let bytes = message.message.as_bytes();
                transport.send(&envelope, bytes).await
            }
            Err(e) => Err(e),
        };
        match &outcome {
            Ok(how) => {
                log::info!("mail {}: {how}", message.id);
                crate::metrics::mail("sent");
                sent += 1;
            }
            Err(e) => {
                log::warn!(
                    "mail {} failed (attempt {}): {e}",
                    message.id,
                    message.attempts
                );
                crate::metrics::mail("failed");
            }
        }
        let now = clock.now();
        db.run(move |c| settle(c, &message, outcome, now)).await?;
    }
    Ok(sent)
}

/// Takes the oldest due message for this instance, if any; a conditional update, so that
/// two instances never take the same one.
fn claim(conn: &mut DbConn, now: PrimitiveDateTime) -> Result<Option<Claimed>, Error> {
    let due = || {
        mail_queue::table
            .filter(mail_queue::sent_at.is_null())
            .filter(mail_queue::next_attempt_at.le(now))
            .filter(
                mail_queue::claimed_until
                    .is_null()
                    .or(mail_queue::claimed_until.le(now)),
            )
    };
    let candidates: Vec<i64> = due()
        .order(mail_queue::id)
        .select(mail_queue::id)
        .limit(BATCH)
        .load(conn)?;
    for id in candidates {
        let until = now + CLAIM;
        let taken = db::write_transaction::<_, Error, _>(conn, |c| {
            // Checked again: another instance may have taken or tried it since.
            let updated = diesel::update(due().filter(mail_queue::id.eq(id)))
                .set((
                    mail_queue::claimed_until.eq(until),
                    mail_queue::attempts.eq(mail_queue::attempts + 1),
                ))
                .execute(c)?;
            if updated == 0 {
                return Ok(None);
            }
            let (recipient, message, attempts) = mail_queue::table
                .find(id)
                .select((
                    mail_queue::recipient,
                    mail_queue::message,
                    mail_queue::attempts,
                ))
                .first::<(String, String, i32)>(c)?;
            Ok(Some(Claimed {
                id,
                recipient,
                message,
                attempts,
                until,
            }))
        })?;
        if taken.is_some() {
            return Ok(taken);
        }
    }
    Ok(None)
}

/// Records how a send went: sent (the text wiped), due again after a back-off, or given up.
fn settle(
    conn: &mut DbConn,
    message: &Claimed,
    outcome: Result<String, String>,
    now: PrimitiveDateTime,
) -> Result<(), Error> {
    // Only while this instance still holds it.
    let row = mail_queue::table
        .find(message.id)
        .filter(mail_queue::claimed_until.eq(message.until));
    match outcome {
        Ok(_) => {
            diesel::update(row)
                .set((
                    mail_queue::sent_at.eq(Some(now)),
                    mail_queue::message.eq(""),
                    mail_queue::claimed_until.eq(None::<PrimitiveDateTime>),
                    mail_queue::last_error.eq(None::<String>),
                ))
                .execute(conn)?;
        }
        Err(_) if message.attempts >= MOST_ATTEMPTS => {
            log::error!(
                "mail {} given up after {} attempts",
                message.id,
                message.attempts
            );
            diesel::delete(row).execute(conn)?;
        }
        Err(error) => {
            // 30 s, 1 min, 2 min … up to an hour between attempts.
            let wait = (30_i64 << (message.attempts - 1).clamp(0, 7)).min(3600);
            diesel::update(row)
                .set((
                    mail_queue::next_attempt_at.eq(now + Duration::seconds(wait)),
                    mail_queue::claimed_until.eq(None::<PrimitiveDateTime>),
                    mail_queue::last_error.eq(Some(error)),
                ))
                .execute(conn)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_urls_mean_what_api_md_says() {
        let starttls = lettre_url("smtp://u:p@mail.example.com:587").ok();
        assert_eq!(
            starttls.as_deref(),
            Some("smtp://u:p@mail.example.com:587?tls=required")
        );
        let relay = lettre_url("smtp://127.0.0.1:2525?tls=none").ok();
        assert_eq!(relay.as_deref(), Some("smtp://127.0.0.1:2525"));
        let tls = lettre_url("smtps://u:p@mail.example.com").ok();
        assert_eq!(tls.as_deref(), Some("smtps://u:p@mail.example.com"));
        assert!(lettre_url("http://example.com").is_err());
        assert!(lettre_url("smtp://host?tls=maybe").is_err());
    }
}
