//! Switchboard's email channel, the pure part: raw RFC 5322 bytes in, a [`ParsedMail`] out.
//!
//! - [`parse`] turns the bytes of one mail into a [`ParsedMail`] (ids, addresses, the customer,
//!   subject, text body with and without quoted history, attachments, auto-reply and bounce
//!   signals, anomaly [`Flag`]s). It never fails and never panics: a malformed, truncated or
//!   hostile mail is parsed as far as it goes and flagged. MIME itself is mail-parser's job.
//! - [`thread_keys`] gives what a reply is threaded by (Message-IDs, the ticket token, the
//!   normalised subject); [`format_ticket_token`] and [`find_ticket_token`] define the token.
//! - [`auto_answer_allowed`] decides whether an automatic answer may go to the sender (never to
//!   auto-replies, bounces, lists, bulk mail, ourselves, or a sender over the hourly limit).
//! - [`mailbox`] reads mbox files and folders of `.eml` files as a stream of raw mails.
//!
//! Nothing here does network I/O or knows the store: IMAP, SMTP, the HTTP inbound route and
//! ticket lookups live in the crates that own those edges and call these functions.

mod auto;
mod guard;
pub mod mailbox;
mod parse;
mod thread;

pub use auto::{AutoKind, AutoSignal, Bounce};
pub use guard::{auto_answer_allowed, sender_rate_allows, AutoAnswerContext, Refusal};
pub use parse::{parse, AddressSource, Attachment, Body, BodySource, Customer, Flag, Limits, Mailbox, ParsedMail};
pub use thread::{
    find_ticket_token, format_reply_address, format_ticket_token, normalize_subject, sender_key, thread_keys,
    ThreadKeys,
};

/// Errors of the mailbox readers (parsing itself has none: it flags instead).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {path}: {source}")]
    Io { path: std::path::PathBuf, source: std::io::Error },
    #[error("mail {index} at byte {byte_offset} is larger than the limit of {limit} bytes")]
    MailTooLarge { index: usize, byte_offset: u64, limit: usize },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
