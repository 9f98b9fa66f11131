//! The email channel in the engine: a raw mail in, a message of the durable pipeline out.
//!
//! [`Service::receive_email`] is what every email edge calls (the HTTP webhook, `import mbox`,
//! the IMAP reader): it parses the mail with `sb_mail::parse` (on the blocking pool: a 25 MB
//! mail takes most of a second), finds the ticket it belongs to, and hands the pipeline the
//! raw bytes exactly as received with the decoded text, the customer, and what the mail says
//! about itself (ids, addresses, attachment names/types/sizes, anomaly flags, auto-reply
//! signals) as metadata. Attachments are recorded, never inlined into the text.
//!
//! Threading, most reliable first: a Message-ID of the ticket in In-Reply-To/References (the
//! store keeps the ids of every mail stored and sent: `messages.external_id`); the ticket token
//! `[SB-123456-K]` or a `+sb123456k` reply address, taken only when the mail comes from the
//! ticket's customer (a token is guessable; a stranger quoting one must not write into
//! someone else's ticket); the same customer with the same normalised subject on an open
//! ticket within [`EmailConfig::subject_thread_window`]. Otherwise a new ticket.
//!
//! Idempotency: the pipeline's key is (email, external id) with the external id the
//! Message-ID, or, for a mail without one, what the edge knows of the delivery
//! ([`MailSource::fallback_key`]: the IMAP mailbox's UIDVALIDITY and UID) or a hash of the
//! raw bytes.
//!
//! Loop protection: `sb_mail::auto_answer_allowed` is decided here (auto-replies, bounces,
//! lists, bulk, our own addresses, no-reply senders) and kept with the message; the hourly
//! per-sender budget is counted when the decision is made. A refused automatic answer sends
//! the message to a person, never drops it.

use std::time::Duration;

use chrono::Utc;
use sb_domain::Channel;
use sb_mail::{AutoAnswerContext, Flag, Limits, ParsedMail, Refusal, ThreadKeys};
use sb_policy::decision::{Decision, ReasonCode, Route};
use sb_store::{MessageRow, NewCustomer};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::pipeline::{IncomingMessage, MessageReceipt};
use crate::{Error, Result, Service};

/// Media type of a stored raw mail.
pub const RFC822: &str = "message/rfc822";
/// How many recent tickets of a customer the subject fallback compares.
const SUBJECT_CANDIDATES: i64 = 20;

/// The email channel's settings.
#[derive(Debug, Clone)]
pub struct EmailConfig {
    /// Bounds on parsing one mail; `limits.max_message_bytes` is also the largest mail the
    /// HTTP webhook accepts.
    pub limits: Limits,
    /// Our own addresses (`support@shop.example`) or domains (`@shop.example`): mail from them
    /// is never answered automatically.
    pub our_addresses: Vec<String>,
    /// The most automatic answers one sender gets per hour.
    pub max_auto_answers_per_sender_per_hour: u32,
    /// How far back the sender + subject fallback looks for an open ticket; zero turns it off.
    pub subject_thread_window: Duration,
}

impl Default for EmailConfig {
    fn default() -> EmailConfig {
        EmailConfig {
            limits: Limits::default(),
            our_addresses: Vec::new(),
            max_auto_answers_per_sender_per_hour: 3,
            subject_thread_window: Duration::from_secs(72 * 3600),
        }
    }
}

/// Where a raw mail came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MailSource {
    /// Pushed over HTTP by a provider's webhook.
    Http,
    /// Read from a file by `switchboard import` (an mbox or a folder of `.eml` files).
    Import { file: String },
    /// Fetched from an IMAP mailbox.
    Imap { mailbox: String, uid_validity: u32, uid: u32 },
}

impl MailSource {
    /// The idempotency key of a mail without a Message-ID: the IMAP position (stable while
    /// UIDVALIDITY holds), else the SHA-256 of the raw bytes.
    fn fallback_key(&self, raw: &[u8]) -> String {
        match self {
            MailSource::Imap { mailbox, uid_validity, uid } => format!("imap:{mailbox}:{uid_validity}:{uid}"),
            MailSource::Http | MailSource::Import { .. } => format!("sha256:{}", hex::encode(Sha256::digest(raw))),
        }
    }

    /// The metrics label of the source.
    fn label(&self) -> &'static str {
        match self {
            MailSource::Http => "http",
            MailSource::Import { .. } => "import",
            MailSource::Imap { .. } => "imap",
        }
    }

    /// The webhook and imports refuse what is not a mail (a caller's mistake, told at once);
    /// a mailbox stores everything it holds, flagged, so one bad mail never blocks it.
    fn refuses_non_mail(&self) -> bool {
        match self {
            MailSource::Http | MailSource::Import { .. } => true,
            MailSource::Imap { .. } => false,
        }
    }
}

/// Why bytes were refused as a mail (only from sources that refuse, see [`MailSource`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotMail {
    #[error("the mail is empty")]
    Empty,
    #[error("the mail has {size} bytes; the limit is {limit}")]
    TooLarge { size: usize, limit: usize },
    #[error("this is not an RFC 5322 mail: no header section with From, Date or Message-ID")]
    NoHeaders,
}

/// How a mail found its ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThreadedBy {
    /// A Message-ID in In-Reply-To / References (or a bounce's original id).
    MessageId,
    /// The ticket token in the subject, a reply address or the body.
    TicketToken,
    /// The same customer and normalised subject on a recent open ticket.
    SenderSubject,
    /// No ticket matched: a new one.
    NewTicket,
}

/// What [`Service::receive_email`] answers.
#[derive(Debug, Clone, PartialEq)]
pub struct EmailReceipt {
    pub receipt: MessageReceipt,
    pub threaded_by: ThreadedBy,
    /// The mail's Message-ID, or `None` when it had none (the fallback key was used).
    pub message_id: Option<String>,
    pub flags: Vec<Flag>,
    /// Why an automatic answer is never sent to this mail, when it is not.
    pub auto_answer_refusal: Option<Refusal>,
}

/// The email part of a message's metadata (`metadata.email`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct EmailMetadata {
    message_id: Option<String>,
    in_reply_to: Vec<String>,
    references: Vec<String>,
    from: Vec<sb_mail::Mailbox>,
    to: Vec<sb_mail::Mailbox>,
    cc: Vec<sb_mail::Mailbox>,
    customer: Option<sb_mail::Customer>,
    date: Option<String>,
    attachments: Vec<AttachmentMetadata>,
    has_html: bool,
    body_source: sb_mail::BodySource,
    flags: Vec<Flag>,
    auto_signals: Vec<sb_mail::AutoSignal>,
    auto_answer_refusal: Option<Refusal>,
    threaded_by: ThreadedBy,
    source: MailSource,
    raw_size: usize,
}

/// An attachment as kept with the message: what it is, not what it holds (the raw mail has
/// the bytes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct AttachmentMetadata {
    filename: Option<String>,
    content_type: String,
    size: usize,
    inline: bool,
}

/// One attachment of a stored mail, decoded from the raw source for an agent to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentFile {
    /// Sanitised, never a path (`sb_mail::Attachment::filename`).
    pub filename: Option<String>,
    /// `type/subtype` as the mail declared it.
    pub content_type: String,
    pub content: Vec<u8>,
}

impl Service {
    /// The attachment at `index` (in the order of the message's `metadata.email.attachments`)
    /// of an email message of `ticket_id`, decoded from the raw mail as stored. The content is
    /// read again from the raw source, so attachments over the size cap of ingest (kept there
    /// as name, type and size) can be opened too, up to the message size limit.
    pub async fn email_attachment(&self, ticket_id: i64, message_id: i64, index: usize) -> Result<AttachmentFile> {
        let not_found = || Error::Store(sb_store::Error::NotFound { entity: "attachment", id: format!("{ticket_id}/{message_id}/{index}") });
        let message = self.store().message(message_id).await?;
        if message.ticket_id != ticket_id || message.channel != Channel::Email || message.content_type != RFC822 {
            return Err(not_found());
        }
        let mut limits = self.config().email.limits.clone();
        limits.max_attachment_bytes = limits.max_attachment_bytes.max(limits.max_message_bytes);
        let parsed = tokio::task::spawn_blocking(move || sb_mail::parse(&message.raw_payload, &limits)).await.map_err(|error| Error::Internal(format!("parsing the stored mail failed: {error}")))?;
        let attachment = parsed.attachments.into_iter().nth(index).ok_or_else(not_found)?;
        let content = attachment.content.ok_or_else(|| Error::Invalid(format!("attachment {index} is larger than the message size limit ({} bytes): only its name, type and size were kept", attachment.size)))?;
        Ok(AttachmentFile { filename: attachment.filename, content_type: attachment.content_type, content })
    }

    /// Parses, threads and stores one raw mail through the durable pipeline, then triages it
    /// like any message (see the module docs). The raw bytes are stored exactly as given.
    pub async fn receive_email(&self, raw: Vec<u8>, source: MailSource) -> Result<EmailReceipt> {
        // Counted here, around the whole of it, so every way out is counted once.
        let source_label = source.label();
        let received = self.receive_email_uncounted(raw, source).await;
        let outcome = match &received {
            Ok(email) if email.receipt.status == crate::ReceiptStatus::Duplicate => Some("duplicate"),
            Ok(_) => Some("stored"),
            Err(Error::NotMail(_)) => Some("refused"),
            Err(_) => None,
        };
        if let Some(outcome) = outcome {
            self.metrics().record_email_received(source_label, outcome);
        }
        received
    }

    async fn receive_email_uncounted(&self, raw: Vec<u8>, source: MailSource) -> Result<EmailReceipt> {
        let limits = self.config().email.limits.clone();
        if source.refuses_non_mail() {
            if raw.iter().all(u8::is_ascii_whitespace) {
                return Err(Error::NotMail(NotMail::Empty));
            }
            if raw.len() > limits.max_message_bytes {
                return Err(Error::NotMail(NotMail::TooLarge { size: raw.len(), limit: limits.max_message_bytes }));
            }
        }
        let (raw, parsed) = tokio::task::spawn_blocking(move || {
            let parsed = sb_mail::parse(&raw, &limits);
            (raw, parsed)
        })
        .await
        .map_err(|error| Error::Internal(error.to_string()))?;
        if source.refuses_non_mail() && !looks_like_mail(&parsed) {
            return Err(Error::NotMail(NotMail::NoHeaders));
        }

        let keys = sb_mail::thread_keys(&parsed);
        let (ticket_id, threaded_by) = self.find_email_ticket(&parsed, &keys).await?;
        let refusal = sb_mail::auto_answer_allowed(
            &parsed,
            &AutoAnswerContext {
                our_addresses: &self.config().email.our_addresses,
                // The hourly budget is counted when the decision is made (see
                // `email_auto_answer_refusal`): here only what the mail itself says.
                answers_to_sender_last_hour: 0,
                max_answers_per_sender_per_hour: u32::MAX,
            },
        )
        .err();
        let external_id = parsed.message_id.clone().unwrap_or_else(|| source.fallback_key(&raw));
        let customer = match &parsed.customer {
            Some(customer) => NewCustomer { email: Some(customer.mailbox.address.clone()), name: customer.mailbox.name.clone(), ..NewCustomer::default() },
            None => NewCustomer::default(),
        };
        let metadata = EmailMetadata {
            message_id: parsed.message_id.clone(),
            in_reply_to: parsed.in_reply_to.clone(),
            references: parsed.references.clone(),
            from: parsed.from.clone(),
            to: parsed.to.clone(),
            cc: parsed.cc.clone(),
            customer: parsed.customer.clone(),
            date: parsed.date.map(|date| date.to_rfc3339()),
            attachments: parsed
                .attachments
                .iter()
                .map(|attachment| AttachmentMetadata { filename: attachment.filename.clone(), content_type: attachment.content_type.clone(), size: attachment.size, inline: attachment.inline })
                .collect(),
            has_html: parsed.body.html.is_some(),
            body_source: parsed.body_source,
            flags: parsed.flags.clone(),
            auto_signals: parsed.auto_signals.clone(),
            auto_answer_refusal: refusal.clone(),
            threaded_by,
            source: source.clone(),
            raw_size: parsed.raw_size,
        };
        let incoming = IncomingMessage {
            channel: Channel::Email,
            // The decoded text with its quoted history: triage strips history and signature
            // itself (`sb_text::normalize` on the email channel, the same function that gives
            // `ParsedMail::body.stripped`), and an agent sees what the customer wrote.
            text: parsed.body.text.clone(),
            body_is_html: false,
            subject: parsed.subject.clone(),
            external_id: Some(external_id),
            conversation_id: None,
            ticket_id,
            customer,
            metadata: Some(serde_json::json!({ "email": metadata })),
            raw_payload: raw,
            content_type: RFC822.to_string(),
        };
        let receipt = self.receive(incoming).await?;
        Ok(EmailReceipt { receipt, threaded_by, message_id: parsed.message_id, flags: parsed.flags, auto_answer_refusal: refusal })
    }

    /// The ticket a mail joins, and by which key (module docs).
    async fn find_email_ticket(&self, parsed: &ParsedMail, keys: &ThreadKeys) -> Result<(Option<i64>, ThreadedBy)> {
        if let Some(ticket_id) = self.store().email_ticket_by_message_ids(&keys.message_ids).await? {
            return Ok((Some(ticket_id), ThreadedBy::MessageId));
        }
        let sender = parsed.customer.as_ref().map(|customer| customer.mailbox.address.to_lowercase());
        if let (Some(token), Some(sender)) = (keys.ticket_id.and_then(|id| i64::try_from(id).ok()), &sender) {
            match self.store().ticket(token).await {
                Ok(ticket) => {
                    let customer_email = match ticket.customer_id {
                        Some(customer_id) => self.store().customer(customer_id).await?.email,
                        None => None,
                    };
                    if customer_email.as_deref() == Some(sender.as_str()) {
                        return Ok((Some(token), ThreadedBy::TicketToken));
                    }
                    tracing::info!(ticket_id = token, "a ticket token from another sender than the ticket's customer: not threaded by it");
                }
                Err(sb_store::Error::NotFound { .. }) => {}
                Err(error) => return Err(error.into()),
            }
        }
        let window = self.config().email.subject_thread_window;
        if let (Some(subject), Some(sender), false) = (&keys.normalized_subject, &sender, window.is_zero()) {
            let since = Utc::now() - chrono::TimeDelta::from_std(window).unwrap_or(chrono::TimeDelta::MAX);
            let candidates = self.store().recent_email_tickets(sender, since, SUBJECT_CANDIDATES).await?;
            let same_subject = candidates.iter().find(|(_, ticket_subject)| ticket_subject.as_deref().map(sb_mail::normalize_subject).as_deref() == Some(subject.as_str()));
            if let Some((ticket_id, _)) = same_subject {
                return Ok((Some(*ticket_id), ThreadedBy::SenderSubject));
            }
        }
        Ok((None, ThreadedBy::NewTicket))
    }

    /// Why no automatic answer may go out for this email message: what the mail said about
    /// itself when it was received, then the sender's hourly budget as it stands now. `None`
    /// for other channels.
    pub(crate) async fn email_auto_answer_refusal(&self, message: &MessageRow, recipient: Option<&str>) -> Result<Option<Refusal>> {
        if message.channel != Channel::Email {
            return Ok(None);
        }
        let stored = message.metadata.as_ref().and_then(|metadata| metadata.pointer("/email/auto_answer_refusal")).filter(|value| !value.is_null());
        if let Some(refusal) = stored {
            return Ok(Some(serde_json::from_value(refusal.clone())?));
        }
        let Some(recipient) = recipient else { return Ok(Some(Refusal::NoSender)) };
        let since = Utc::now() - chrono::TimeDelta::hours(1);
        let answers = self.store().automatic_replies_to(Channel::Email, recipient, since).await?;
        let limit = self.config().email.max_auto_answers_per_sender_per_hour;
        Ok(sb_mail::sender_rate_allows(u32::try_from(answers).unwrap_or(u32::MAX), limit).err())
    }
}

/// Bytes the webhook takes as a mail: a header section with at least one of the fields every
/// mail has (RFC 5322 requires From and Date; a Message-ID is near universal).
fn looks_like_mail(parsed: &ParsedMail) -> bool {
    if parsed.has_flag(Flag::NoHeaders) {
        return false;
    }
    [Flag::MissingFrom, Flag::MissingDate, Flag::MissingMessageId].iter().any(|flag| !parsed.has_flag(*flag))
}

/// Turns an automatic reply into a suggestion for a person, with the refusal as the reason.
pub(crate) fn hold_for_human(decision: &mut Decision, refusal: &Refusal) {
    if decision.route != Route::AutoReply {
        return;
    }
    decision.route = Route::HumanQueue;
    decision.suggested_reply = decision.reply.take().or(decision.suggested_reply.take());
    decision.reason_code = ReasonCode::AutoAnswerRefused;
    decision.auto_reply_blockers.push(ReasonCode::AutoAnswerRefused);
    decision.reason = format!("no automatic answer: {refusal}; a person answers with the suggested reply");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(raw: &str, expect_mail: bool) {
        let parsed = sb_mail::parse(raw.as_bytes(), &Limits::default());
        assert_eq!(looks_like_mail(&parsed), expect_mail, "{raw:?} flags {:?}", parsed.flags);
    }

    #[test]
    fn what_the_webhook_takes_as_a_mail() {
        check("From: ana@example.com\r\nSubject: hi\r\n\r\nWhere is my order?", true);
        check("Message-ID: <a@b>\r\n\r\nbody", true);
        check("Date: Mon, 2 Nov 2026 09:00:00 +0000\r\n\r\nbody", true);
        check("just some text without any header at all", false);
        check("Please help: my order is late\n\nthanks", false);
        check("X-Whatever: 1\r\n\r\nno real header", false);
        check("{\"channel\":\"email\",\"text\":\"json\"}", false);
    }

    #[test]
    fn fallback_keys_name_the_imap_position_or_hash_the_bytes() {
        let imap = MailSource::Imap { mailbox: "support/INBOX".into(), uid_validity: 7, uid: 42 };
        assert_eq!(imap.fallback_key(b"x"), "imap:support/INBOX:7:42");
        assert_eq!(MailSource::Http.fallback_key(b"abc"), "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(MailSource::Import { file: "a.mbox".into() }.fallback_key(b"abc"), MailSource::Http.fallback_key(b"abc"));
    }
}
