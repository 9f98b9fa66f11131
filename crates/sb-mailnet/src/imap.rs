//! The IMAP reader: mail from a mailbox into the durable pipeline.
//!
//! A round selects the folder, asks for the UIDs of unseen mail, and fetches their whole
//! source without touching their flags (`BODY.PEEK[]`, a batch of UIDs per command), hands
//! each to `Service::receive_email` (stored raw, threaded, triaged; independent mails several
//! at once, mails of one thread or one sender in order) and only after those writes sets
//! `\Seen` on the mails that were stored. A crash between the fetch and the store leaves the
//! mail unseen: the next round fetches it again, and the idempotency key (its Message-ID, or
//! `imap:<mailbox>:<uidvalidity>:<uid>` without one) makes that a repeat, never a second
//! ticket. A mail the pipeline could not store stays unseen and is tried again next round;
//! nothing is dropped.
//!
//! `run` keeps one session open: after each round it waits in IDLE when the server offers it
//! (woken by the server's news, renewed before the 29 minutes RFC 2177 allows), polls otherwise,
//! and reconnects with doubling backoff after any failure. Its state per mailbox goes to
//! `/metrics` (`switchboard_imap_connected`, `switchboard_imap_mails_fetched`,
//! `switchboard_imap_errors`).

use std::fmt::Debug;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_imap::extensions::idle::IdleResponse;
use async_imap::{Client, Session};
use futures_util::TryStreamExt;
use sb_service::{MailSource, ReceiptStatus, Service};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;

use crate::{Error, Result};

/// How the connection to the IMAP server is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImapTls {
    /// Plain IMAP (port 143): only for a server on this host or a test server.
    None,
    /// TLS from the first byte (IMAPS, port 993), verified against the system's roots and
    /// `ca_file`.
    Tls,
    /// Plain connection upgraded with `STARTTLS` before the login (port 143), verified like
    /// `tls`; a server that refuses the upgrade is an error, never a fallback to plain text.
    Starttls,
}

/// One mailbox to read.
#[derive(Debug, Clone)]
pub struct ImapConfig {
    /// The mailbox's name in metrics and in the idempotency key of mail without a Message-ID.
    pub name: String,
    pub host: String,
    pub port: u16,
    pub tls: ImapTls,
    pub username: String,
    pub password: String,
    /// The folder read, `INBOX` by default.
    pub folder: String,
    /// Where stored mail is moved (after it is flagged `\Seen`), created when missing; `None`
    /// leaves it in `folder`, flagged.
    pub processed_folder: Option<String>,
    /// A PEM file of extra trusted certificates (a private CA, a self-signed test server).
    pub ca_file: Option<PathBuf>,
    /// Connecting and each command give up after this long.
    pub timeout: Duration,
    /// Between rounds when the server has no IDLE.
    pub poll_interval: Duration,
    /// An IDLE is ended and renewed after this long without news (under the 29 minutes of
    /// RFC 2177, and under the NAT timeouts that silently cut idle connections).
    pub idle_renewal: Duration,
    pub base_backoff: Duration,
    pub max_backoff: Duration,
}

impl ImapConfig {
    /// Settings for `host:port` with the defaults for the rest.
    pub fn new(name: impl Into<String>, host: impl Into<String>, port: u16, tls: ImapTls, username: impl Into<String>, password: impl Into<String>) -> ImapConfig {
        ImapConfig {
            name: name.into(),
            host: host.into(),
            port,
            tls,
            username: username.into(),
            password: password.into(),
            folder: "INBOX".into(),
            processed_folder: None,
            ca_file: None,
            timeout: Duration::from_secs(30),
            poll_interval: Duration::from_secs(30),
            idle_renewal: Duration::from_secs(10 * 60),
            base_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(300),
        }
    }
}

/// What a round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FetchRound {
    /// Unseen mails fetched.
    pub fetched: usize,
    /// Stored as new messages.
    pub stored: usize,
    /// Already stored (a repeat after a crash, or the same mail in two mailboxes).
    pub repeated: usize,
    /// Could not be stored: left unseen for the next round.
    pub failed: usize,
}

/// A byte stream async-imap can run on: plain TCP or TLS over it.
pub(crate) trait ImapStream: AsyncRead + AsyncWrite + Unpin + Send + Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + Debug> ImapStream for T {}

pub(crate) type ImapSession = Session<Box<dyn ImapStream>>;

/// UIDs fetched per FETCH command: one round trip for many mails, a bounded amount in memory.
const FETCH_BATCH: usize = 32;
/// Mails of a batch in the pipeline at once (parsing, the store's group commit and triage
/// overlap).
const STORE_CONCURRENCY: usize = 8;

/// Reads one mailbox into the service.
pub struct ImapReader {
    service: Service,
    config: ImapConfig,
}

impl ImapReader {
    pub fn new(service: Service, config: ImapConfig) -> ImapReader {
        ImapReader { service, config }
    }

    /// Connects, reads every unseen mail, logs out.
    pub async fn fetch_once(&self) -> Result<FetchRound> {
        let mut session = self.connect().await?;
        let round = self.fetch_unseen(&mut session).await;
        let _ = self.timed(session.logout()).await;
        round
    }

    /// Reads the mailbox until `shutdown` turns true: a round, then IDLE (or a pause), again;
    /// a failure closes the session and reconnects after a doubling delay.
    pub async fn run(&self, mut shutdown: watch::Receiver<bool>) {
        let metrics = self.service.metrics();
        let mut failures: u32 = 0;
        while !*shutdown.borrow() {
            let outcome = self.session_loop(&mut shutdown, &mut failures).await;
            metrics.record_imap_connected(&self.config.name, false);
            if let Err(error) = outcome {
                failures = failures.saturating_add(1);
                metrics.record_imap_error(&self.config.name, &error.to_string());
                let delay = self.config.base_backoff.saturating_mul(2_u32.saturating_pow(failures.min(20) - 1)).min(self.config.max_backoff);
                tracing::warn!(mailbox = %self.config.name, failures, retry_in_ms = delay.as_millis() as u64, error = %error, "imap session failed");
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
    }

    /// One session: rounds separated by IDLE or a pause, until shutdown (Ok) or a failure.
    async fn session_loop(&self, shutdown: &mut watch::Receiver<bool>, failures: &mut u32) -> Result<()> {
        let mut session = self.connect().await?;
        let supports_idle = self.timed(session.capabilities()).await?.has_str("IDLE");
        self.service.metrics().record_imap_connected(&self.config.name, true);
        tracing::info!(mailbox = %self.config.name, idle = supports_idle, "imap session open");
        loop {
            self.fetch_unseen(&mut session).await?;
            *failures = 0;
            if *shutdown.borrow() {
                let _ = self.timed(session.logout()).await;
                return Ok(());
            }
            if !supports_idle {
                tokio::select! {
                    _ = tokio::time::sleep(self.config.poll_interval) => {}
                    _ = shutdown.changed() => {}
                }
                continue;
            }
            let mut idle = session.idle();
            self.timed(idle.init()).await?;
            let stopped = {
                let (wait, _interrupt) = idle.wait_with_timeout(self.config.idle_renewal);
                tokio::select! {
                    response = wait => {
                        let response = response.map_err(|error| Error::Imap(error.to_string()))?;
                        tracing::debug!(mailbox = %self.config.name, ended_by = describe(&response), "idle ended");
                        false
                    }
                    _ = shutdown.changed() => true,
                }
            };
            session = self.timed(idle.done()).await?;
            if stopped {
                let _ = self.timed(session.logout()).await;
                return Ok(());
            }
        }
    }

    async fn connect(&self) -> Result<ImapSession> {
        let config = &self.config;
        let mut session = connect(config).await?;
        if let Some(processed) = &config.processed_folder {
            create_folder(&mut session, config, processed).await;
        }
        self.timed(session.select(&config.folder)).await?;
        Ok(session)
    }

    /// Fetches, stores and flags every unseen mail of the selected folder, oldest first: a
    /// batch of UIDs per FETCH, its mails stored a few at a time, then one STORE flagging those
    /// that were stored (never one that was not).
    async fn fetch_unseen(&self, session: &mut ImapSession) -> Result<FetchRound> {
        // SELECT again: it reports the UIDVALIDITY that goes with the UIDs about to be read.
        let mailbox = self.timed(session.select(&self.config.folder)).await?;
        let uid_validity = mailbox.uid_validity.unwrap_or_default();
        let mut uids: Vec<u32> = self.timed(session.uid_search("UNSEEN")).await?.into_iter().collect();
        uids.sort_unstable();
        let mut round = FetchRound::default();
        for batch in uids.chunks(FETCH_BATCH) {
            let uid_set = batch.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
            let fetched: Vec<_> = self.timed(async { session.uid_fetch(&uid_set, "(UID BODY.PEEK[])").await?.try_collect::<Vec<_>>().await }).await?;
            // Mails expunged meanwhile are simply not in the answer.
            let mails: Vec<(u32, Vec<u8>)> = fetched.iter().filter_map(|fetch| Some((fetch.uid?, fetch.body()?.to_vec()))).collect();
            drop(fetched);
            let stored_uids = self.store_mails(mails, uid_validity, &mut round).await;
            if !stored_uids.is_empty() {
                // Stored durably: only now may the server forget that we have not read them.
                let stored_set = stored_uids.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
                self.timed(async { session.uid_store(&stored_set, "+FLAGS.SILENT (\\Seen)").await?.try_collect::<Vec<_>>().await }).await?;
                if let Some(processed) = &self.config.processed_folder {
                    // Seen first: if the move fails, the mail is still never fetched twice.
                    self.timed(session.uid_mv(&stored_set, processed)).await.map_err(|error| Error::Imap(format!("moving stored mail to `{processed}` failed ({error}); check the folder exists and the server supports MOVE (RFC 6851)")))?;
                }
            }
        }
        Ok(round)
    }

    /// Hands `mails` to the pipeline; returns the UIDs stored (new or already there).
    ///
    /// Mails of one batch may belong together (a reply and the mail it answers, two mails of
    /// one sender), and threading looks for what is already stored: those are stored one after
    /// the other in UID order, after the independent ones, which go [`STORE_CONCURRENCY`] at a
    /// time.
    async fn store_mails(&self, mails: Vec<(u32, Vec<u8>)>, uid_validity: u32, round: &mut FetchRound) -> Vec<u32> {
        // Parsing a batch is CPU work: on the blocking pool, like every parse of the service.
        let limits = self.service.config().email.limits.clone();
        let split = tokio::task::spawn_blocking(move || split_by_dependence(mails, &limits)).await;
        let Ok((independent, dependent)) = split else {
            tracing::error!(mailbox = %self.config.name, "reading a batch's threading keys panicked; its mails stay unseen");
            return Vec::new();
        };
        let mut stored_uids = Vec::new();
        let mut in_flight = tokio::task::JoinSet::new();
        let mut independent = independent.into_iter();
        loop {
            while in_flight.len() < STORE_CONCURRENCY {
                let Some((uid, raw)) = independent.next() else { break };
                let service = self.service.clone();
                let source = self.source(uid_validity, uid);
                in_flight.spawn(async move { (uid, service.receive_email(raw, source).await) });
            }
            let Some(joined) = in_flight.join_next().await else { break };
            match joined {
                Ok((uid, result)) => self.count(uid, result, round, &mut stored_uids),
                Err(error) => {
                    round.fetched += 1;
                    round.failed += 1;
                    tracing::error!(mailbox = %self.config.name, error = %error, "storing a mail panicked; left unseen for the next round");
                }
            }
        }
        for (uid, raw) in dependent {
            let result = self.service.receive_email(raw, self.source(uid_validity, uid)).await;
            self.count(uid, result, round, &mut stored_uids);
        }
        stored_uids.sort_unstable();
        stored_uids
    }

    fn source(&self, uid_validity: u32, uid: u32) -> MailSource {
        MailSource::Imap { mailbox: self.config.name.clone(), uid_validity, uid }
    }

    fn count(&self, uid: u32, result: sb_service::Result<sb_service::EmailReceipt>, round: &mut FetchRound, stored_uids: &mut Vec<u32>) {
        round.fetched += 1;
        self.service.metrics().record_imap_fetched(&self.config.name);
        match result {
            Ok(email) => {
                if email.receipt.status == ReceiptStatus::Duplicate {
                    round.repeated += 1;
                } else {
                    round.stored += 1;
                }
                stored_uids.push(uid);
            }
            Err(error) => {
                round.failed += 1;
                tracing::warn!(mailbox = %self.config.name, uid, error = %error, "mail not stored; left unseen for the next round");
            }
        }
    }

    async fn timed<T>(&self, future: impl std::future::Future<Output = async_imap::error::Result<T>>) -> Result<T> {
        timed(&self.config, future).await
    }
}

/// Connects, secures and logs in as `config` says; selects nothing.
pub(crate) async fn connect(config: &ImapConfig) -> Result<ImapSession> {
    let tcp = timed_io(config, tokio::net::TcpStream::connect((config.host.as_str(), config.port))).await?;
    let no_greeting = || Error::Imap("the server closed the connection before its greeting".into());
    let client = match config.tls {
        ImapTls::None => {
            let mut client = Client::new(Box::new(tcp) as Box<dyn ImapStream>);
            timed_io(config, client.read_response()).await?.ok_or_else(no_greeting)?;
            client
        }
        ImapTls::Tls => {
            let tls = timed_io(config, tls_connector(config)?.connect(server_name(&config.host)?, tcp)).await?;
            let mut client = Client::new(Box::new(tls) as Box<dyn ImapStream>);
            timed_io(config, client.read_response()).await?.ok_or_else(no_greeting)?;
            client
        }
        ImapTls::Starttls => {
            let mut plain = Client::new(tcp);
            timed_io(config, plain.read_response()).await?.ok_or_else(no_greeting)?;
            timed(config, plain.run_command_and_check_ok("STARTTLS", None)).await.map_err(|error| Error::Imap(format!("the server refused STARTTLS ({error}); use tls = \"tls\" on its IMAPS port, or \"none\" only for a server on this host")))?;
            // The server says nothing more until the handshake: no buffered bytes are lost.
            let tls = timed_io(config, tls_connector(config)?.connect(server_name(&config.host)?, plain.into_inner())).await?;
            Client::new(Box::new(tls) as Box<dyn ImapStream>)
        }
    };
    timed(config, async { client.login(&config.username, &config.password).await.map_err(|(error, _)| error) }).await
}

/// Creates `folder`. CREATE fails when the folder exists: only a folder that is still missing
/// after it is an error, which the first command on it reports.
pub(crate) async fn create_folder(session: &mut ImapSession, config: &ImapConfig, folder: &str) {
    if let Err(error) = timed(config, session.create(folder)).await {
        tracing::debug!(mailbox = %config.name, folder = %folder, error = %error, "folder not created (it may exist already)");
    }
}

/// An IMAP command, given up after the configured timeout.
pub(crate) async fn timed<T>(config: &ImapConfig, future: impl std::future::Future<Output = async_imap::error::Result<T>>) -> Result<T> {
    match tokio::time::timeout(config.timeout, future).await {
        Ok(result) => result.map_err(|error| Error::Imap(error.to_string())),
        Err(_) => Err(Error::Imap(format!("no answer within {} s", config.timeout.as_secs()))),
    }
}

async fn timed_io<T>(config: &ImapConfig, future: impl std::future::Future<Output = std::io::Result<T>>) -> Result<T> {
    match tokio::time::timeout(config.timeout, future).await {
        Ok(result) => result.map_err(|error| Error::Imap(format!("{}:{}: {error}", config.host, config.port))),
        Err(_) => Err(Error::Imap(format!("{}:{}: no answer within {} s", config.host, config.port, config.timeout.as_secs()))),
    }
}

/// Splits a batch (in UID order) into mails that can be stored at the same time and those
/// that must wait for an earlier one of the batch: a mail that refers (In-Reply-To, References,
/// a bounce's original) to another mail of the batch, or comes from a sender who already has
/// one in it.
fn split_by_dependence(mails: Vec<(u32, Vec<u8>)>, limits: &sb_mail::Limits) -> (Vec<(u32, Vec<u8>)>, Vec<(u32, Vec<u8>)>) {
    let keys: Vec<(Option<String>, sb_mail::ThreadKeys)> = mails
        .iter()
        .map(|(_, raw)| {
            let parsed = sb_mail::parse(raw, limits);
            let keys = sb_mail::thread_keys(&parsed);
            (parsed.message_id, keys)
        })
        .collect();
    let batch_ids: std::collections::HashSet<&str> = keys.iter().filter_map(|(message_id, _)| message_id.as_deref()).collect();
    let mut senders_seen: std::collections::HashSet<&str> = std::collections::HashSet::new();
    let mut independent = Vec::new();
    let mut dependent = Vec::new();
    for (mail, (_, thread_keys)) in mails.into_iter().zip(&keys) {
        let refers_to_batch = thread_keys.message_ids.iter().any(|id| batch_ids.contains(id.as_str()));
        let sender_has_one = thread_keys.sender.as_deref().is_some_and(|sender| !senders_seen.insert(sender));
        if refers_to_batch || sender_has_one {
            dependent.push(mail);
        } else {
            independent.push(mail);
        }
    }
    (independent, dependent)
}

fn server_name(host: &str) -> Result<rustls::pki_types::ServerName<'static>> {
    rustls::pki_types::ServerName::try_from(host.to_string()).map_err(|error| Error::Config(format!("imap host `{host}`: {error}")))
}

/// TLS with the system's roots plus the configured CA file (rustls, aws-lc crypto).
fn tls_connector(config: &ImapConfig) -> Result<tokio_rustls::TlsConnector> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for certificate in rustls_native_certs::load_native_certs().certs {
        // A system root rustls cannot read is skipped, as browsers do.
        let _ = roots.add(certificate);
    }
    if let Some(ca_file) = &config.ca_file {
        let certificates = rustls::pki_types::CertificateDer::pem_file_iter(ca_file).map_err(|error| Error::Config(format!("{}: {error}", ca_file.display())))?;
        for certificate in certificates {
            let certificate = certificate.map_err(|error| Error::Config(format!("{}: {error}", ca_file.display())))?;
            roots.add(certificate).map_err(|error| Error::Config(format!("{}: {error}", ca_file.display())))?;
        }
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls_config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| Error::Config(error.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_rustls::TlsConnector::from(Arc::new(tls_config)))
}

/// What an IDLE ended with, for the logs.
fn describe(response: &IdleResponse) -> &'static str {
    match response {
        IdleResponse::ManualInterrupt => "interrupted",
        IdleResponse::Timeout => "renewal",
        IdleResponse::NewData(_) => "news",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(mails: &[(u32, &str)], expect_independent: &[u32]) {
        let mails: Vec<(u32, Vec<u8>)> = mails.iter().map(|(uid, mail)| (*uid, mail.as_bytes().to_vec())).collect();
        let (independent, dependent) = split_by_dependence(mails, &sb_mail::Limits::default());
        assert_eq!(independent.iter().map(|(uid, _)| *uid).collect::<Vec<_>>(), expect_independent);
        assert!(dependent.windows(2).all(|pair| pair[0].0 < pair[1].0), "dependent mails keep their UID order");
    }

    #[test]
    fn mails_of_one_thread_or_one_sender_wait_for_the_earlier_one() {
        let first = "From: ana@example.com\r\nMessage-ID: <a@x>\r\nSubject: order\r\n\r\nWhere is it?";
        let reply = "From: bo@example.com\r\nMessage-ID: <b@x>\r\nIn-Reply-To: <a@x>\r\nSubject: Re: order\r\n\r\nMe too";
        let referenced = "From: cy@example.com\r\nMessage-ID: <c@x>\r\nReferences: <old@x> <a@x>\r\n\r\nhi";
        let again = "From: Ana <ANA@example.com>\r\nMessage-ID: <d@x>\r\nSubject: order\r\n\r\nStill waiting";
        let stranger = "From: dee@example.com\r\nMessage-ID: <e@x>\r\nIn-Reply-To: <not-in-batch@x>\r\n\r\nhello";
        check(&[(1, first), (2, reply), (3, referenced), (4, again), (5, stranger)], &[1, 5]);
        check(&[(7, stranger), (8, "not a mail")], &[7, 8]);
        check(&[], &[]);
    }
}
