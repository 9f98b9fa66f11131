//! Mail sent by machines: auto-replies, bounces, mailing lists and bulk mail, recognised from
//! headers (RFC 3834 `Auto-Submitted`, the de-facto `X-Autoreply`/`X-Autorespond`,
//! `Precedence`, RFC 2369/2919 list headers), the MIME structure (RFC 3464 delivery status
//! reports) and, as a weak signal only, the subject line.
//!
//! Detection is separate from the decision: [`crate::auto_answer_allowed`] turns signals into a
//! refusal, while the engine may still open a ticket for a weakly signalled mail.

use std::fmt;

use mail_parser::{Message, MessageParser, MimeHeaders, PartType};
use serde::{Deserialize, Serialize};

use crate::parse::{is_plausible_address, normalize_message_id, raw_header_values, Mailbox};

/// What kind of machine mail a signal points to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AutoKind {
    /// An automatic answer (out of office, vacation, ticket acknowledgement, read receipt).
    AutoReply,
    /// A delivery failure report.
    Bounce,
    /// Mailing-list traffic.
    List,
    /// Bulk or marketing mail.
    Bulk,
}

/// One reason to believe a mail was sent by a machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AutoSignal {
    /// `Auto-Submitted` with any value but `no` (RFC 3834).
    AutoSubmitted,
    /// `X-Autoreply` present.
    XAutoreply,
    /// `X-Autorespond` present.
    XAutorespond,
    /// `X-Auto-Response-Suppress` other than `None` (Exchange): the sender asks for no
    /// automatic answer, and Exchange sets it on its own automatic mail.
    AutoResponseSuppress,
    /// `Precedence: auto_reply`.
    PrecedenceAutoReply,
    /// `Precedence: bulk` or `junk`.
    PrecedenceBulk,
    /// `Precedence: list`.
    PrecedenceList,
    /// `List-Id` present.
    ListId,
    /// `List-Unsubscribe` present (newsletters and marketing mail).
    ListUnsubscribe,
    /// `multipart/report; report-type=delivery-status` (RFC 3464).
    DeliveryStatusReport,
    /// `multipart/report; report-type=disposition-notification`: a read receipt (RFC 8098).
    DispositionNotification,
    /// `Return-Path: <>`: the null sender that bounces and RFC 3834 auto-replies use.
    NullReturnPath,
    /// From `MAILER-DAEMON@` or `postmaster@`.
    MailerDaemon,
    /// `X-Failed-Recipients` present (Exim bounces).
    FailedRecipients,
    /// Weak: the subject starts like an out-of-office or automatic reply.
    AutoReplySubject,
    /// Weak: the subject starts like a delivery failure.
    BounceSubject,
}

impl AutoSignal {
    pub fn kind(self) -> AutoKind {
        match self {
            AutoSignal::AutoSubmitted
            | AutoSignal::XAutoreply
            | AutoSignal::XAutorespond
            | AutoSignal::AutoResponseSuppress
            | AutoSignal::PrecedenceAutoReply
            | AutoSignal::DispositionNotification
            | AutoSignal::NullReturnPath
            | AutoSignal::AutoReplySubject => AutoKind::AutoReply,
            AutoSignal::DeliveryStatusReport
            | AutoSignal::MailerDaemon
            | AutoSignal::FailedRecipients
            | AutoSignal::BounceSubject => AutoKind::Bounce,
            AutoSignal::PrecedenceList | AutoSignal::ListId => AutoKind::List,
            AutoSignal::PrecedenceBulk | AutoSignal::ListUnsubscribe => AutoKind::Bulk,
        }
    }

    /// Subject-line signals: enough to withhold an automatic answer (a human still sees the
    /// mail), not enough to treat the mail as machine-made anywhere else.
    pub fn is_weak(self) -> bool {
        matches!(self, AutoSignal::AutoReplySubject | AutoSignal::BounceSubject)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AutoSignal::AutoSubmitted => "auto_submitted",
            AutoSignal::XAutoreply => "x_autoreply",
            AutoSignal::XAutorespond => "x_autorespond",
            AutoSignal::AutoResponseSuppress => "auto_response_suppress",
            AutoSignal::PrecedenceAutoReply => "precedence_auto_reply",
            AutoSignal::PrecedenceBulk => "precedence_bulk",
            AutoSignal::PrecedenceList => "precedence_list",
            AutoSignal::ListId => "list_id",
            AutoSignal::ListUnsubscribe => "list_unsubscribe",
            AutoSignal::DeliveryStatusReport => "delivery_status_report",
            AutoSignal::DispositionNotification => "disposition_notification",
            AutoSignal::NullReturnPath => "null_return_path",
            AutoSignal::MailerDaemon => "mailer_daemon",
            AutoSignal::FailedRecipients => "failed_recipients",
            AutoSignal::AutoReplySubject => "auto_reply_subject",
            AutoSignal::BounceSubject => "bounce_subject",
        }
    }
}

impl fmt::Display for AutoSignal {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// What a delivery failure report says, as far as it can be read.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Bounce {
    /// The recipients the report is about.
    pub recipients: Vec<BounceRecipient>,
    /// Message-ID of the mail that bounced (from the returned message or its headers): the
    /// key to find the outbound mail and its ticket.
    pub original_message_id: Option<String>,
}

/// One recipient of a delivery status report (RFC 3464 per-recipient fields).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BounceRecipient {
    pub address: String,
    /// `failed`, `delayed`, `delivered`, `relayed` or `expanded`.
    pub action: Option<String>,
    /// The enhanced status code, e.g. `5.1.1`.
    pub status: Option<String>,
}

/// Most parts looked at for delivery-status details; reports have three.
const MAX_REPORT_PARTS: usize = 16;

/// Signals (sorted, without duplicates) and, when a bounce signal is among them, the report.
pub(crate) fn detect(
    message: &Message<'_>,
    subject: Option<&str>,
    from: Option<&Mailbox>,
    depth_by_part: &[Option<usize>],
) -> (Vec<AutoSignal>, Option<Bounce>) {
    let mut signals = Vec::new();
    let first_value = |name: &str| raw_header_values(message, name).into_iter().next();

    if let Some(value) = first_value("Auto-Submitted") {
        if !first_token(&value).eq_ignore_ascii_case("no") {
            signals.push(AutoSignal::AutoSubmitted);
        }
    }
    if first_value("X-Autoreply").is_some() {
        signals.push(AutoSignal::XAutoreply);
    }
    if first_value("X-Autorespond").is_some() {
        signals.push(AutoSignal::XAutorespond);
    }
    if let Some(value) = first_value("X-Auto-Response-Suppress") {
        if !value.trim().eq_ignore_ascii_case("none") {
            signals.push(AutoSignal::AutoResponseSuppress);
        }
    }
    if let Some(value) = first_value("Precedence") {
        match first_token(&value).to_ascii_lowercase().as_str() {
            "auto_reply" | "auto-reply" => signals.push(AutoSignal::PrecedenceAutoReply),
            "bulk" | "junk" => signals.push(AutoSignal::PrecedenceBulk),
            "list" => signals.push(AutoSignal::PrecedenceList),
            _ => {}
        }
    }
    if first_value("List-Id").is_some() {
        signals.push(AutoSignal::ListId);
    }
    if first_value("List-Unsubscribe").is_some() {
        signals.push(AutoSignal::ListUnsubscribe);
    }
    if first_value("X-Failed-Recipients").is_some() {
        signals.push(AutoSignal::FailedRecipients);
    }
    if first_value("Return-Path").is_some_and(|value| value.replace(' ', "") == "<>") {
        signals.push(AutoSignal::NullReturnPath);
    }
    if let Some(content_type) = message.content_type() {
        if content_type.ctype().eq_ignore_ascii_case("multipart")
            && content_type.subtype().is_some_and(|subtype| subtype.eq_ignore_ascii_case("report"))
        {
            match content_type.attribute("report-type").map(str::to_ascii_lowercase).as_deref() {
                Some("delivery-status") => signals.push(AutoSignal::DeliveryStatusReport),
                Some("disposition-notification") => signals.push(AutoSignal::DispositionNotification),
                _ => {}
            }
        }
    }
    if let Some(from) = from {
        let local_part = from.address.rsplit_once('@').map_or("", |(local_part, _)| local_part);
        if local_part.eq_ignore_ascii_case("mailer-daemon") || local_part.eq_ignore_ascii_case("postmaster") {
            signals.push(AutoSignal::MailerDaemon);
        }
    }
    if let Some(subject) = subject {
        signals.extend(subject_signal(subject));
    }
    signals.sort_unstable();
    signals.dedup();

    let is_bounce = signals.iter().any(|signal| signal.kind() == AutoKind::Bounce);
    let bounce = is_bounce.then(|| read_bounce(message, depth_by_part));
    (signals, bounce)
}

/// The value up to the first `;`, `(` or whitespace: `auto-replied; owner=x` gives `auto-replied`.
fn first_token(value: &str) -> &str {
    let value = value.trim();
    let end = value.find([';', '(', ' ', '\t']).unwrap_or(value.len());
    &value[..end]
}

/// Subject openings of automatic replies and delivery failures, lowercase, in the languages
/// of the shops Switchboard serves. Matched at the start of the subject only, where mail
/// systems put them, so a customer mentioning an absence in a sentence does not match.
const AUTO_REPLY_SUBJECT_STARTS: &[&str] = &[
    "out of office",
    "out of the office",
    "automatic reply",
    "auto reply",
    "auto-reply",
    "autoreply",
    "auto response",
    "auto-response",
    "automatic response",
    "vacation reply",
    "abwesenheitsnotiz",
    "automatische antwort",
    "automatische rückantwort",
    "abwesend",
    "réponse automatique",
    "reponse automatique",
    "absence du bureau",
    "absent du bureau",
    "respuesta automática",
    "respuesta automatica",
    "fuera de la oficina",
    "fuera de oficina",
    "risposta automatica",
    "fuori sede",
    "automatisch antwoord",
    "afwezig",
];

const BOUNCE_SUBJECT_STARTS: &[&str] = &[
    "undeliverable",
    "undelivered mail",
    "delivery status notification",
    "mail delivery failed",
    "mail delivery failure",
    "delivery failure",
    "returned mail",
    "failure notice",
    "unzustellbar",
    "nicht zustellbar",
    "non remis",
    "non distribuable",
    "no se puede entregar",
    "no entregado",
];

fn subject_signal(subject: &str) -> Option<AutoSignal> {
    let lowercase = subject.to_lowercase();
    let opening = lowercase.trim_start_matches(|c: char| c.is_whitespace() || matches!(c, '[' | '(' | '*'));
    if AUTO_REPLY_SUBJECT_STARTS.iter().any(|start| opening.starts_with(start)) {
        return Some(AutoSignal::AutoReplySubject);
    }
    if BOUNCE_SUBJECT_STARTS.iter().any(|start| opening.starts_with(start)) {
        return Some(AutoSignal::BounceSubject);
    }
    None
}

/// Recipients from the `message/delivery-status` part (or `X-Failed-Recipients`), and the
/// bounced mail's Message-ID from the returned message or headers.
fn read_bounce(message: &Message<'_>, depth_by_part: &[Option<usize>]) -> Bounce {
    let mut bounce = Bounce::default();
    let reached_parts = message
        .parts
        .iter()
        .enumerate()
        .filter(|(part_id, _)| depth_by_part.get(*part_id).is_some_and(Option::is_some))
        .map(|(_, part)| part)
        .take(MAX_REPORT_PARTS);
    for part in reached_parts {
        let Some(content_type) = part.content_type() else { continue };
        let full_type =
            format!("{}/{}", content_type.ctype(), content_type.subtype().unwrap_or("")).to_ascii_lowercase();
        match (full_type.as_str(), &part.body) {
            ("message/delivery-status" | "message/global-delivery-status", _) => {
                bounce.recipients.extend(read_delivery_status(part.contents()));
            }
            (_, PartType::Message(returned)) if bounce.original_message_id.is_none() => {
                bounce.original_message_id =
                    returned.message_id().and_then(|id| normalize_message_id(id, &mut Vec::new()));
            }
            ("text/rfc822-headers" | "message/rfc822-headers" | "message/global-headers", _)
                if bounce.original_message_id.is_none() =>
            {
                bounce.original_message_id = MessageParser::default()
                    .parse_headers(part.contents())
                    .and_then(|headers| headers.message_id().and_then(|id| normalize_message_id(id, &mut Vec::new())));
            }
            _ => {}
        }
    }
    if bounce.recipients.is_empty() {
        for value in raw_header_values(message, "X-Failed-Recipients") {
            for address in value.split(',').map(str::trim).filter(|address| is_plausible_address(address)) {
                bounce.recipients.push(BounceRecipient {
                    address: address.to_string(),
                    action: Some("failed".into()),
                    status: None,
                });
            }
        }
    }
    bounce
}

/// Per-recipient fields of an RFC 3464 report. The report is blocks of fields separated by
/// blank lines: the first block is about the message, each later one about a recipient
/// (`Final-Recipient`, else `Original-Recipient`, with its `Action` and `Status`).
fn read_delivery_status(contents: &[u8]) -> Vec<BounceRecipient> {
    const MAX_RECIPIENTS: usize = 100;
    #[derive(Default)]
    struct Block {
        final_recipient: Option<String>,
        original_recipient: Option<String>,
        action: Option<String>,
        status: Option<String>,
    }
    fn flush(block: &mut Block, recipients: &mut Vec<BounceRecipient>) {
        let block = std::mem::take(block);
        let Some(address) = block.final_recipient.or(block.original_recipient) else { return };
        if recipients.len() < MAX_RECIPIENTS {
            recipients.push(BounceRecipient { address, action: block.action, status: block.status });
        }
    }
    let text = String::from_utf8_lossy(contents);
    let mut recipients = Vec::new();
    let mut block = Block::default();
    for line in text.lines() {
        if line.trim().is_empty() {
            flush(&mut block, &mut recipients);
            continue;
        }
        let Some((name, value)) = line.split_once(':') else { continue };
        let value = value.trim();
        let recipient_address = || {
            let address = value.split_once(';').map_or(value, |(_, address)| address).trim();
            let address = address.trim_start_matches('<').trim_end_matches('>');
            is_plausible_address(address).then(|| address.to_string())
        };
        match name.trim().to_ascii_lowercase().as_str() {
            "final-recipient" => block.final_recipient = recipient_address(),
            "original-recipient" => block.original_recipient = recipient_address(),
            "action" => block.action = Some(first_token(value).to_ascii_lowercase()),
            "status" => block.status = Some(first_token(value).to_string()),
            _ => {}
        }
    }
    flush(&mut block, &mut recipients);
    recipients
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_signals_match_openings_only() {
        let cases: [(&str, Option<AutoSignal>); 8] = [
            ("Out of Office: Re: order #A1", Some(AutoSignal::AutoReplySubject)),
            ("[Auto-Reply] Ihre Nachricht", Some(AutoSignal::AutoReplySubject)),
            ("Réponse automatique : retour", Some(AutoSignal::AutoReplySubject)),
            ("Undeliverable: Your order", Some(AutoSignal::BounceSubject)),
            ("Unzustellbar: Ihre Bestellung", Some(AutoSignal::BounceSubject)),
            ("I was out of office, where is my order?", None),
            ("Re: returned mail was never refunded", None),
            ("", None),
        ];
        for (subject, expected) in cases {
            assert_eq!(subject_signal(subject), expected, "{subject}");
        }
    }

    #[test]
    fn header_values_are_read_up_to_parameters() {
        assert_eq!(first_token(" auto-replied; owner-email=\"x@y\""), "auto-replied");
        assert_eq!(first_token("bulk (newsletter)"), "bulk");
        assert_eq!(first_token(""), "");
    }

    #[test]
    fn delivery_status_blocks_give_one_recipient_each() {
        let report = b"Reporting-MTA: dns; mx.example\r\n\r\nOriginal-Recipient: rfc822;a@x.example\r\nFinal-Recipient: rfc822; b@x.example\r\nAction: failed\r\nStatus: 5.1.1 (user unknown)\r\n\r\nFinal-Recipient: rfc822;<c@x.example>\r\nAction: Delayed\r\nStatus: 4.4.1\r\n";
        let recipients = read_delivery_status(report);
        let summary: Vec<(&str, Option<&str>, Option<&str>)> = recipients
            .iter()
            .map(|recipient| (recipient.address.as_str(), recipient.action.as_deref(), recipient.status.as_deref()))
            .collect();
        assert_eq!(summary, vec![("b@x.example", Some("failed"), Some("5.1.1")), ("c@x.example", Some("delayed"), Some("4.4.1"))]);
    }
}
