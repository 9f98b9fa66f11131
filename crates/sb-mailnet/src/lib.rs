//! Switchboard's email over the network: the SMTP sender of outbox replies and alert mails
//! (`smtp.rs`), the mails it composes (`compose.rs`, `alert_mail.rs`), the Sent folder that
//! keeps a copy of each reply (`sent.rs`), and the IMAP reader that brings mailboxes in
//! (`imap.rs`).
//!
//! Architecture invariants:
//! - The only crate that links an SMTP or IMAP client and their TLS stack (lettre, async-imap,
//!   rustls): the rest of the workspace builds and tests without them.
//! - Knows no HTTP. Reads and writes the store only through `sb_store::Store`'s outbox and
//!   email functions, and parses nothing itself (`sb_mail` does).
//! - An outbox entry is marked sent only after the server accepted it, in the same transaction
//!   that records the Message-ID it went out with.

mod alert_mail;
mod compose;
mod imap;
mod sent;
mod smtp;

pub use crate::alert_mail::{alert_message_id, compose_alert, AlertMail};
pub use crate::compose::{compose, html_alternative, message_id_for, subject_with_token, OutgoingMail};
pub use crate::imap::{FetchRound, ImapConfig, ImapReader, ImapTls};
pub use crate::sent::SentFolder;
pub use crate::smtp::{next_attempt_at, SendRound, SmtpConfig, SmtpSender, TlsMode};

/// Errors of the email network edge.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("smtp configuration: {0}")]
    Config(String),
    #[error("cannot compose the mail: {0}")]
    Compose(String),
    #[error("the reply has no recipient address")]
    NoRecipient,
    /// The server refused the mail or the connection failed; `permanent` for a 5xx answer.
    #[error("smtp: {message}")]
    Smtp { permanent: bool, message: String },
    /// The IMAP server refused a command, the connection failed or timed out.
    #[error("imap: {0}")]
    Imap(String),
    #[error(transparent)]
    Store(#[from] sb_store::Error),
}

impl Error {
    fn from_smtp(error: lettre::transport::smtp::Error) -> Error {
        Error::Smtp { permanent: error.is_permanent(), message: error.to_string() }
    }

    /// Worth trying again later: a 4xx answer, a network, TLS or timeout problem, or the
    /// database. A 5xx answer, a mail that cannot be composed or a missing recipient is not.
    pub fn is_temporary(&self) -> bool {
        match self {
            Error::Smtp { permanent, .. } => !permanent,
            Error::Store(_) | Error::Imap(_) => true,
            Error::Config(_) | Error::Compose(_) | Error::NoRecipient => false,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
