//! The SMTP sender: takes email replies from the outbox and sends them as proper mail.
//!
//! A round claims due entries of the email channel (a lease, and `FOR UPDATE SKIP LOCKED` on
//! PostgreSQL, so several processes never send the same entry), composes each reply
//! (`compose.rs`) with the ticket's thread ids from the store, and sends it. On the server's
//! `250` the entry is marked sent and the message keeps the Message-ID it went out with, in
//! one transaction; a temporary failure (4xx, a connection or TLS problem, a timeout) is
//! retried with exponential backoff; a permanent one (5xx) or a mail that cannot be composed
//! is marked failed with the server's reason, for an agent to see. Nothing is sent twice by
//! two workers. With a Sent folder configured (`sent.rs`), each accepted mail is copied there
//! before the bookkeeping, and an entry that was claimed before (a crash or a lost lease may
//! have come after the `250`) is first looked up there by its Message-ID: found, it is recorded
//! as sent and not sent again. Without a Sent folder, or for a crash between the `250` and the
//! copy, the reply is sent again with the same Message-ID (which receivers collapse).

use std::time::Duration;

use chrono::{DateTime, Utc};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use sb_domain::Channel;
use sb_service::{EmailSendOutcome, Service};
use sb_store::{DeliveryOutcome, DeliveryTarget, OutboxItem};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::alert_mail::{compose_alert, AlertMail};
use crate::compose::{compose, message_id_for, OutgoingMail};
use crate::imap::ImapConfig;
use crate::sent::SentFolder;
use crate::{Error, Result};

/// How the connection to the SMTP server is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TlsMode {
    /// Plain SMTP: only for a relay on the same host or a test server.
    None,
    /// Plain connection upgraded with STARTTLS (port 587); refused if the server cannot.
    Starttls,
    /// TLS from the first byte (SMTPS, port 465).
    Tls,
}

/// The sender's settings.
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    /// Login, when the server wants one (with `password`).
    pub username: Option<String>,
    pub password: Option<String>,
    /// The From of every reply (one of the shop's own addresses).
    pub from_address: String,
    pub from_name: Option<String>,
    /// The right side of generated Message-IDs; the from address's domain when empty.
    pub message_id_domain: String,
    /// Appended to every reply after a `-- ` line.
    pub signature: String,
    pub timeout: Duration,
    pub poll_interval: Duration,
    /// Entries claimed per round, and how long a claim holds.
    pub batch_size: i64,
    pub claim_lease: Duration,
    /// Attempts before an entry is marked failed; the first retry waits `base_backoff`,
    /// doubling up to `max_backoff`.
    pub max_attempts: i64,
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// The mailbox and folder (`folder`) that keep a copy of every sent mail; `None` for none.
    pub sent_folder: Option<ImapConfig>,
}

impl SmtpConfig {
    /// Settings for `host:port` with the defaults for the rest.
    pub fn new(host: impl Into<String>, port: u16, tls: TlsMode, from_address: impl Into<String>) -> SmtpConfig {
        SmtpConfig {
            host: host.into(),
            port,
            tls,
            username: None,
            password: None,
            from_address: from_address.into(),
            from_name: None,
            message_id_domain: String::new(),
            signature: String::new(),
            timeout: Duration::from_secs(30),
            poll_interval: Duration::from_secs(1),
            batch_size: 16,
            claim_lease: Duration::from_secs(120),
            max_attempts: 8,
            base_backoff: Duration::from_secs(30),
            max_backoff: Duration::from_secs(3600),
            sent_folder: None,
        }
    }

    fn message_id_domain(&self) -> &str {
        match self.message_id_domain.trim() {
            "" => self.from_address.rsplit_once('@').map_or("switchboard.invalid", |(_, domain)| domain),
            domain => domain,
        }
    }
}

/// What a round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SendRound {
    pub sent: usize,
    /// Failed this time and scheduled again.
    pub retried: usize,
    /// Failed for good (permanent error, no recipient, attempts spent).
    pub failed: usize,
    /// Claimed before and found in the Sent folder: recorded as sent without sending again.
    pub already_sent: usize,
    /// Alert mails (deliveries of `mailto:` webhooks) sent.
    pub alerts_sent: usize,
    /// Alert mails that failed this time (retried or given up).
    pub alerts_failed: usize,
}

/// How one entry went out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sent {
    /// The server accepted it now.
    Now,
    /// The server accepted it now, after an earlier attempt that left no copy behind.
    Again,
    /// Its copy was in the Sent folder: an earlier attempt had sent it.
    Before,
}

/// Sends the outbox's email replies; one per process, run as a task (the transport pools its
/// connections).
pub struct SmtpSender {
    service: Service,
    config: SmtpConfig,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    sent_folder: Option<SentFolder>,
    worker_name: String,
}

impl SmtpSender {
    pub fn new(service: Service, config: SmtpConfig) -> Result<SmtpSender> {
        let builder = match config.tls {
            TlsMode::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host),
            TlsMode::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&config.host).map_err(|error| Error::Config(error.to_string()))?,
            TlsMode::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&config.host).map_err(|error| Error::Config(error.to_string()))?,
        };
        let mut builder = builder.port(config.port).timeout(Some(config.timeout));
        if let (Some(username), Some(password)) = (&config.username, &config.password) {
            builder = builder.credentials(Credentials::new(username.clone(), password.clone()));
        }
        let worker_name = format!("{}/smtp", service.config().instance_id);
        let sent_folder = config.sent_folder.clone().map(SentFolder::new);
        Ok(SmtpSender { service, transport: builder.build(), config, sent_folder, worker_name })
    }

    /// Sends until `shutdown` turns true.
    pub async fn run(&self, mut shutdown: watch::Receiver<bool>) {
        tracing::info!(host = %self.config.host, port = self.config.port, tls = ?self.config.tls, "smtp sender started");
        loop {
            if *shutdown.borrow() {
                return;
            }
            let round = match self.send_round().await {
                Ok(round) => round,
                Err(error) => {
                    tracing::warn!(error = %error, "smtp round failed");
                    SendRound::default()
                }
            };
            if round == SendRound::default() {
                tokio::select! {
                    _ = tokio::time::sleep(self.config.poll_interval) => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
    }

    /// One round: claims due email entries and sends each.
    pub async fn send_round(&self) -> Result<SendRound> {
        let now = Utc::now();
        let lease_until = now + chrono::TimeDelta::from_std(self.config.claim_lease).unwrap_or(chrono::TimeDelta::MAX);
        let items = self.service.store().claim_outbox(Channel::Email, &self.worker_name, now, lease_until, self.config.batch_size).await?;
        let mut round = SendRound::default();
        for item in items {
            match self.send_item(&item).await {
                Ok(Sent::Before) => {
                    round.already_sent += 1;
                    self.service.metrics().record_email_sent(EmailSendOutcome::AlreadySent);
                }
                Ok(sent) => {
                    round.sent += 1;
                    self.service.metrics().record_email_sent(if sent == Sent::Again { EmailSendOutcome::Resent } else { EmailSendOutcome::Sent });
                }
                // The claim expired during the send and another worker holds the entry now:
                // its bookkeeping is its own (it sends the same Message-ID again).
                Err(Error::Store(sb_store::Error::Conflict(reason))) => tracing::warn!(outbox_id = item.id, reason = %reason, "outbox claim lost during the send"),
                Err(error) => {
                    let retry_at = (error.is_temporary() && item.attempts + 1 < self.config.max_attempts).then(|| Utc::now() + backoff(&self.config, item.attempts));
                    tracing::warn!(outbox_id = item.id, ticket_id = item.ticket_id, attempts = item.attempts + 1, retry = retry_at.is_some(), error = %error, "smtp send failed");
                    self.service.store().mark_outbox_failed(item.id, &error.to_string(), retry_at).await?;
                    if retry_at.is_some() {
                        round.retried += 1;
                        self.service.metrics().record_email_sent(EmailSendOutcome::Retry);
                    } else {
                        round.failed += 1;
                        self.service.metrics().record_email_sent(EmailSendOutcome::Failed);
                    }
                }
            }
        }
        self.send_alert_mails(&mut round).await?;
        Ok(round)
    }

    /// Claims the due deliveries of `mailto:` webhooks and mails each alert; the delivery log
    /// keeps the SMTP reply code where an HTTP webhook's keeps the HTTP status.
    async fn send_alert_mails(&self, round: &mut SendRound) -> Result<()> {
        let store = self.service.store();
        let now = Utc::now();
        let lease_until = now + chrono::TimeDelta::from_std(self.config.claim_lease).unwrap_or(chrono::TimeDelta::MAX);
        let due = store.claim_webhook_deliveries(DeliveryTarget::Email, now, lease_until, self.config.batch_size).await?;
        for item in due {
            let mail = AlertMail {
                from_address: &self.config.from_address,
                from_name: self.config.from_name.as_deref(),
                to_url: &item.url,
                payload: &item.delivery.payload,
                delivery_id: item.delivery.id,
                console_url: &self.service.config().public_url,
                message_id_domain: self.config.message_id_domain(),
                date: Utc::now(),
            };
            let sent = match compose_alert(&mail) {
                Ok(message) => self.transport.send(message).await.map_err(Error::from_smtp),
                Err(error) => Err(error),
            };
            let attempts = item.delivery.attempts + 1;
            let outcome = match sent {
                Ok(response) => {
                    round.alerts_sent += 1;
                    DeliveryOutcome::Delivered { http_status: i64::from(u16::from(response.code())) }
                }
                Err(error) => {
                    round.alerts_failed += 1;
                    tracing::warn!(delivery_id = item.delivery.id, webhook_id = item.delivery.webhook_id, error = %error, "alert mail not sent");
                    if error.is_temporary() && attempts < self.config.max_attempts {
                        DeliveryOutcome::Retry { http_status: None, error: error.to_string(), retry_at: Utc::now() + backoff(&self.config, item.delivery.attempts) }
                    } else {
                        DeliveryOutcome::GaveUp { http_status: None, error: error.to_string() }
                    }
                }
            };
            store.record_webhook_attempt(item.delivery.id, outcome, Utc::now()).await?;
        }
        Ok(())
    }

    async fn send_item(&self, item: &OutboxItem) -> Result<Sent> {
        let store = self.service.store();
        let recipient = item.recipient.as_deref().filter(|recipient| !recipient.trim().is_empty()).ok_or(Error::NoRecipient)?;
        let message = store.message(item.message_id).await?;
        let message_id = message_id_for(item.ticket_id, message.id, message.received_at, self.config.message_id_domain());
        let mut sent = Sent::Now;
        if item.claimed_before() {
            // An earlier sender may have had its `250` and died (or lost its lease) before the
            // bookkeeping: its copy in the Sent folder says so.
            match &self.sent_folder {
                Some(folder) => match folder.holds(&message_id).await {
                    Ok(true) => {
                        tracing::info!(outbox_id = item.id, ticket_id = item.ticket_id, message_id = %message_id, folder = folder.folder(), "already sent by an earlier attempt (its copy is in the Sent folder): recorded, not sent again");
                        store.mark_outbox_sent_with_message_id(item.id, &self.worker_name, message.id, &message_id, Utc::now()).await?;
                        return Ok(Sent::Before);
                    }
                    Ok(false) => {}
                    Err(error) => tracing::warn!(outbox_id = item.id, error = %error, "the Sent folder cannot be searched: sending again with the same Message-ID"),
                },
                None => tracing::info!(outbox_id = item.id, ticket_id = item.ticket_id, message_id = %message_id, "an earlier attempt ended without a result and there is no Sent folder to check: sending again with the same Message-ID"),
            }
            sent = Sent::Again;
        }
        let thread_ids = store.email_thread_ids(item.ticket_id, item.message_id).await?;
        let outgoing = OutgoingMail {
            from_address: &self.config.from_address,
            from_name: self.config.from_name.as_deref(),
            to_address: recipient,
            ticket_id: item.ticket_id,
            subject: message.subject.as_deref(),
            body: &message.body,
            signature: &self.config.signature,
            message_id: &message_id,
            thread_ids: &thread_ids,
            // The pipeline marks its automatic answers; agents' and integrations' replies say
            // `"automatic": false` (or nothing).
            automatic: message.metadata.as_ref().and_then(|metadata| metadata.get("automatic")).and_then(serde_json::Value::as_bool).unwrap_or(false),
            date: Utc::now(),
        };
        let mail = compose(&outgoing)?;
        let raw = self.sent_folder.as_ref().map(|_| mail.formatted());
        let response = self.transport.send(mail).await.map_err(Error::from_smtp)?;
        tracing::info!(outbox_id = item.id, ticket_id = item.ticket_id, code = %response.code(), "mail sent");
        if let (Some(folder), Some(raw)) = (&self.sent_folder, raw) {
            // The mail is out: a failed copy is logged, never a reason to send it again.
            if let Err(error) = folder.append(&raw).await {
                tracing::warn!(outbox_id = item.id, folder = folder.folder(), error = %error, "sent mail not copied to the Sent folder");
            }
        }
        store.mark_outbox_sent_with_message_id(item.id, &self.worker_name, message.id, &message_id, Utc::now()).await?;
        Ok(sent)
    }
}

fn backoff(config: &SmtpConfig, attempts: i64) -> chrono::TimeDelta {
    let exponent = attempts.clamp(0, 20) as u32;
    let delay = config.base_backoff.saturating_mul(2_u32.saturating_pow(exponent)).min(config.max_backoff);
    chrono::TimeDelta::from_std(delay).unwrap_or(chrono::TimeDelta::MAX)
}

/// When an entry claimed now will be retried after `attempts` failures (for tests and logs).
pub fn next_attempt_at(config: &SmtpConfig, attempts: i64, now: DateTime<Utc>) -> DateTime<Utc> {
    now + backoff(config, attempts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let mut config = SmtpConfig::new("localhost", 25, TlsMode::None, "support@shop.example");
        config.base_backoff = Duration::from_secs(30);
        config.max_backoff = Duration::from_secs(600);
        let now = Utc::now();
        let waits: Vec<i64> = (0..7).map(|attempts| (next_attempt_at(&config, attempts, now) - now).num_seconds()).collect();
        assert_eq!(waits, vec![30, 60, 120, 240, 480, 600, 600]);
    }

    #[test]
    fn message_ids_take_the_from_domain_unless_one_is_set() {
        let mut config = SmtpConfig::new("localhost", 25, TlsMode::None, "support@shop.example");
        assert_eq!(config.message_id_domain(), "shop.example");
        config.message_id_domain = "mail.shop.example".into();
        assert_eq!(config.message_id_domain(), "mail.shop.example");
    }
}
