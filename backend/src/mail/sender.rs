//! The sender: a background task on every instance that takes due outbox rows
//! ([`outbox::take`]), sends each through the mail server with `lettre`, and marks it sent,
//! to be retried, or (after a day of failures) failed — audited and counted in `/metrics`.
//! The Message-ID is made from the row (`<twostep.ID.CREATED@DOMAIN>`), so a retry carries
//! the same one and a mail server or reader can tell a repeat.

use crate::accounts::users;
use crate::audit;
use crate::clock::Clock;
use crate::mail::outbox::{self, Taken};
use crate::mail::settings::MailSettings;
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sqlx::AnyPool;
use std::sync::Arc;
use twostep_shared::api::AuditEventKind;

/// Rows taken per query.
const BATCH: u32 = 20;

/// What one sender needs.
pub struct Sender {
    pub db: AnyPool,
    pub clock: Arc<dyn Clock>,
    pub settings: Arc<MailSettings>,
    pub transport: AsyncSmtpTransport<Tokio1Executor>,
}

/// The Message-ID of an outbox row.
pub fn message_id(taken: &Taken, domain: &str) -> String {
    format!("<twostep.{}.{}@{domain}>", taken.id, taken.created_at)
}

impl Sender {
    /// Runs until the task is aborted: sends what is due, then waits for the poll interval.
    pub async fn run(self) {
        let postgres = self
            .db
            .connect_options()
            .database_url
            .as_str()
            .starts_with("postgres");
        loop {
            let sent_some = match self.round(postgres).await {
                Ok(n) => n > 0,
                Err(error) => {
                    tracing::warn!(%error, "cannot read the mail outbox; trying again");
                    false
                }
            };
            if !sent_some {
                tokio::time::sleep(self.settings.poll_interval).await;
            }
        }
    }

    /// Takes and sends one batch; how many rows it took.
    pub async fn round(&self, postgres: bool) -> Result<usize, sqlx::Error> {
        let taken = outbox::take(&self.db, postgres, self.clock.now(), BATCH).await?;
        for row in &taken {
            let result = self.send(row).await;
            let now = self.clock.now();
            match result {
                Ok(()) => {
                    outbox::sent(&self.db, row.id, now).await?;
                    outbox::count("sent");
                    tracing::info!(id = row.id, kind = %row.kind, "security e-mail sent");
                }
                Err(error) => self.failure(row, &error, now).await?,
            }
        }
        Ok(taken.len())
    }

    async fn send(&self, row: &Taken) -> Result<(), String> {
        let to: Mailbox = row
            .recipient
            .parse()
            .map_err(|e| format!("recipient: {e}"))?;
        let message = Message::builder()
            .from(self.settings.from.clone())
            .to(to)
            .subject(row.subject.clone())
            .message_id(Some(message_id(row, &self.settings.message_id_domain)))
            .header(ContentType::TEXT_PLAIN)
            .body(row.body.clone())
            .map_err(|e| e.to_string())?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    async fn failure(&self, row: &Taken, error: &str, now: u64) -> Result<(), sqlx::Error> {
        match outbox::next_try(row.created_at, row.attempts, now) {
            Some(at) => {
                tracing::warn!(id = row.id, attempts = row.attempts, %error, "security e-mail not sent; will retry");
                outbox::count("retried");
                outbox::retry(&self.db, row.id, at, error).await
            }
            None => {
                tracing::error!(id = row.id, attempts = row.attempts, %error, "security e-mail not sent for a day: given up");
                let subject = match row.user_id {
                    Some(id) => users::find(&self.db, id).await?,
                    None => None,
                };
                let detail = format!("{} to {}: {error}", row.kind, row.recipient);
                let mut tx = crate::storage::db::begin(&self.db).await?;
                outbox::failed(&mut tx, row.id, error).await?;
                let event = audit::Event {
                    kind: AuditEventKind::EmailFailed,
                    actor: audit::Actor::Anonymous,
                    subject: subject
                        .as_ref()
                        .map_or(audit::Subject::Nobody, audit::Subject::User),
                    client_addr: None,
                    detail: Some(&detail),
                };
                audit::write(&mut *tx, event, now).await?;
                tx.commit().await?;
                outbox::count("failed");
                Ok(())
            }
        }
    }
}
