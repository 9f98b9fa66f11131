//! An outbox reply as a proper mail: multipart/alternative (the text as written, and an HTML
//! rendering of it), a Message-ID Switchboard can find again, In-Reply-To and References from
//! the ticket's thread so the customer's mail client threads it, the ticket token in the
//! subject so a reply without those headers still finds its ticket, and `Auto-Submitted:
//! auto-replied` on automatic answers (RFC 3834: the customer's own auto-responder must not
//! answer it, which is half of the loop protection).
//!
//! Pure: no clock (the date is an argument), no I/O; the sender sends what this builds.

use chrono::{DateTime, Utc};
use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::Message;

use crate::Error;

/// How many Message-IDs a References header carries: the thread's first and its most recent
/// ones (RFC 5322 §3.6.4 lets a long thread drop the middle).
const MAX_REFERENCES: usize = 20;

/// What one outgoing reply is made of.
#[derive(Debug, Clone)]
pub struct OutgoingMail<'a> {
    pub from_address: &'a str,
    pub from_name: Option<&'a str>,
    pub to_address: &'a str,
    pub ticket_id: i64,
    /// The reply's subject as stored (usually `Re: <the customer's subject>`).
    pub subject: Option<&'a str>,
    pub body: &'a str,
    /// Appended below the body after a `-- ` line; empty for none.
    pub signature: &'a str,
    /// This mail's Message-ID, without angle brackets ([`message_id_for`]).
    pub message_id: &'a str,
    /// The Message-IDs of the ticket's earlier mails, oldest first: the last is In-Reply-To.
    pub thread_ids: &'a [String],
    /// An automatic answer (no agent wrote it).
    pub automatic: bool,
    pub date: DateTime<Utc>,
}

/// The Message-ID of an outbox reply: the same for every attempt at the same reply (a retry
/// after a crash between the server's `250` and our bookkeeping sends the same id, which
/// receivers collapse), distinct across databases through the message's creation time.
pub fn message_id_for(ticket_id: i64, message_row_id: i64, created_at: DateTime<Utc>, domain: &str) -> String {
    format!("sb.{ticket_id}.{message_row_id}.{}@{domain}", created_at.timestamp_millis())
}

/// The subject with the ticket token, added once: `Re: Where is A10493? [SB-1042-K]`.
pub fn subject_with_token(subject: Option<&str>, ticket_id: i64) -> String {
    let token_id = u64::try_from(ticket_id).unwrap_or_default();
    let subject = subject.map(str::trim).filter(|subject| !subject.is_empty()).unwrap_or("Your request");
    if sb_mail::find_ticket_token(subject) == Some(token_id) {
        return subject.to_string();
    }
    format!("{subject} {}", sb_mail::format_ticket_token(token_id))
}

/// The text as HTML: escaped, paragraphs at blank lines, line breaks kept.
pub fn html_alternative(text: &str) -> String {
    let mut html = String::from("<!DOCTYPE html><html><body>");
    for paragraph in text.split("\n\n").map(str::trim).filter(|paragraph| !paragraph.is_empty()) {
        html.push_str("<p>");
        let lines: Vec<String> = paragraph.lines().map(escape_html).collect();
        html.push_str(&lines.join("<br>"));
        html.push_str("</p>");
    }
    html.push_str("</body></html>");
    html
}

fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

/// A Message-ID that can go between angle brackets in a header: `left@right` without
/// whitespace, brackets or control characters. Ids that are not (a customer's client may send
/// anything) are left out of the threading headers rather than copied into them.
///
/// The left side may not hold a `:` (RFC 5322 `id-left` is a dot-atom): that also keeps the
/// store's fallback keys of mails that had no Message-ID (`imap:<mailbox>:…`, `sha256:…`) out.
fn is_header_safe_id(id: &str) -> bool {
    let Some((left, right)) = id.split_once('@') else { return false };
    !left.is_empty() && !left.contains(':') && !right.is_empty() && id.len() <= 250 && id.bytes().all(|byte| byte.is_ascii_graphic() && !matches!(byte, b'<' | b'>' | b','))
}

/// `Auto-Submitted` (RFC 3834): `auto-replied` on automatic answers, `auto-generated` on
/// notifications such as alert mails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AutoSubmitted(String);

impl AutoSubmitted {
    pub(crate) fn replied() -> AutoSubmitted {
        AutoSubmitted("auto-replied".into())
    }

    pub(crate) fn generated() -> AutoSubmitted {
        AutoSubmitted("auto-generated".into())
    }
}

impl Header for AutoSubmitted {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Auto-Submitted")
    }

    fn parse(text: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(AutoSubmitted(text.trim().to_string()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// The reply as a mail, ready to send.
pub fn compose(mail: &OutgoingMail<'_>) -> Result<Message, Error> {
    let from_address = mail.from_address.parse().map_err(|error| Error::Compose(format!("from address `{}`: {error}", mail.from_address)))?;
    let to_address = mail.to_address.parse().map_err(|error| Error::Compose(format!("recipient address: {error}")))?;
    let from = Mailbox::new(mail.from_name.map(str::to_string), from_address);
    let to = Mailbox::new(None, to_address);
    let thread_ids: Vec<&str> = mail.thread_ids.iter().map(String::as_str).filter(|id| is_header_safe_id(id)).collect();
    let mut builder = Message::builder()
        .from(from)
        .to(to)
        .subject(subject_with_token(mail.subject, mail.ticket_id))
        .message_id(Some(format!("<{}>", mail.message_id)))
        .date(mail.date.into());
    if let Some(last) = thread_ids.last() {
        builder = builder.in_reply_to(format!("<{last}>"));
        let references: Vec<&str> = if thread_ids.len() > MAX_REFERENCES {
            std::iter::once(thread_ids[0]).chain(thread_ids[thread_ids.len() - (MAX_REFERENCES - 1)..].iter().copied()).collect()
        } else {
            thread_ids.clone()
        };
        builder = builder.references(references.iter().map(|id| format!("<{id}>")).collect::<Vec<_>>().join(" "));
    }
    if mail.automatic {
        builder = builder.header(AutoSubmitted::replied());
    }
    let text = match mail.signature.trim() {
        "" => mail.body.trim_end().to_string(),
        signature => format!("{}\n\n-- \n{signature}", mail.body.trim_end()),
    };
    let html = html_alternative(&text);
    let body = MultiPart::alternative()
        .singlepart(SinglePart::builder().header(ContentType::TEXT_PLAIN).body(text))
        .singlepart(SinglePart::builder().header(ContentType::TEXT_HTML).body(html));
    builder.multipart(body).map_err(|error| Error::Compose(error.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn thread(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|id| id.to_string()).collect()
    }

    fn composed(automatic: bool, subject: Option<&str>, thread_ids: &[String]) -> sb_mail::ParsedMail {
        let mail = OutgoingMail {
            from_address: "support@shop.example",
            from_name: Some("Shop Support"),
            to_address: "ana@example.com",
            ticket_id: 1042,
            subject,
            body: "Your order A10493 ships today.\nTracking: 1Z999AA10123456784\n\nThanks for waiting <3",
            signature: "The Shop team",
            message_id: "sb.1042.7.1700000000000@shop.example",
            thread_ids,
            automatic,
            date: Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap(),
        };
        let bytes = compose(&mail).unwrap().formatted();
        sb_mail::parse(&bytes, &sb_mail::Limits::default())
    }

    #[test]
    fn a_reply_carries_threading_headers_the_token_and_both_bodies() {
        let ids = thread(&["first@mail.example", "sb.1042.5.1@shop.example", "second@mail.example"]);
        let parsed = composed(false, Some("Re: Where is A10493?"), &ids);
        assert_eq!(parsed.message_id.as_deref(), Some("sb.1042.7.1700000000000@shop.example"));
        assert_eq!(parsed.in_reply_to, thread(&["second@mail.example"]));
        assert_eq!(parsed.references, ids);
        assert_eq!(parsed.subject, Some(format!("Re: Where is A10493? {}", sb_mail::format_ticket_token(1042))));
        assert_eq!(sb_mail::thread_keys(&parsed).ticket_id, Some(1042));
        assert!(parsed.body.text.contains("ships today") && parsed.body.text.contains("The Shop team"), "{}", parsed.body.text);
        let html = parsed.body.html.as_deref().unwrap();
        assert!(html.contains("Thanks for waiting &lt;3") && html.contains("<br>"), "{html}");
        assert!(parsed.auto_signals.is_empty(), "an agent's reply is not automatic: {:?}", parsed.auto_signals);
        assert_eq!(parsed.from[0].address, "support@shop.example");
        assert!(parsed.flags.is_empty(), "{:?}", parsed.flags);
    }

    #[test]
    fn automatic_answers_say_so_and_long_threads_keep_first_and_recent_ids() {
        let ids: Vec<String> = (0..30).map(|idx| format!("m{idx}@mail.example")).collect();
        let parsed = composed(true, None, &ids);
        assert!(parsed.auto_signals.contains(&sb_mail::AutoSignal::AutoSubmitted), "{:?}", parsed.auto_signals);
        assert_eq!(parsed.references.len(), MAX_REFERENCES);
        assert_eq!(parsed.references.first().map(String::as_str), Some("m0@mail.example"));
        assert_eq!(parsed.references.last().map(String::as_str), Some("m29@mail.example"));
        assert_eq!(parsed.in_reply_to, thread(&["m29@mail.example"]));
        assert!(parsed.subject.as_deref().unwrap().starts_with("Your request [SB-1042-"));
    }

    #[test]
    fn unsafe_ids_stay_out_of_the_headers_and_a_first_mail_has_none() {
        let parsed = composed(false, Some("Re: x"), &thread(&["ok@mail.example", "bad id@x", "a>b@x", "no-at-sign", "imap:support@shop/INBOX:7:42", "sha256:ab12"]));
        assert_eq!(parsed.in_reply_to, thread(&["ok@mail.example"]));
        assert_eq!(parsed.references, thread(&["ok@mail.example"]));
        let first = composed(false, Some("Hello"), &[]);
        assert!(first.in_reply_to.is_empty() && first.references.is_empty());
    }

    #[test]
    fn the_token_is_added_once() {
        let token = sb_mail::format_ticket_token(1042);
        let already_tokened = format!("Re: order {token}");
        for (subject, expected) in [
            (Some("Re: order"), format!("Re: order {token}")),
            (Some(already_tokened.as_str()), format!("Re: order {token}")),
            (Some("  "), format!("Your request {token}")),
            (None, format!("Your request {token}")),
        ] {
            assert_eq!(subject_with_token(subject, 1042), expected);
        }
        assert_eq!(message_id_for(12, 34, Utc.timestamp_millis_opt(1_700_000_000_123).unwrap(), "shop.example"), "sb.12.34.1700000000123@shop.example");
    }
}
