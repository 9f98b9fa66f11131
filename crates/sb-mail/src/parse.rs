//! [`parse`]: the bytes of one mail to a [`ParsedMail`], with mail-parser doing the MIME work.
//!
//! The hidden contract of this module: `parse` is total. Every input (empty, binary, truncated,
//! gigantic, hostile) gives a `ParsedMail` back in time roughly linear in its size, with what
//! could be read filled in and every anomaly listed in `flags`. Limits bound the work before
//! mail-parser sees the bytes (size, boundary-like lines) and the walk after it (depth, parts),
//! so a 1000-deep nesting or a million empty parts cost milliseconds, not memory or stack.
//!
//! Header values that end up in the result are sanitised: CR, LF and NUL (which an encoded
//! word can smuggle into a decoded subject or display name) become spaces and raise
//! [`Flag::HeaderInjection`], so no caller can copy them into an outgoing header by accident.

use std::borrow::Cow;

use chrono::{DateTime, FixedOffset};
use mail_parser::{Address, HeaderName, HeaderValue, Message, MessageParser, MessagePart, MimeHeaders, PartType};
use sb_domain::{Channel, InboundMessage};
use serde::{Deserialize, Serialize};

use crate::auto::{self, AutoKind, AutoSignal, Bounce};

/// Bounds on the work and memory one mail may take. A mail over a limit is still parsed, as
/// far as the limit allows, and flagged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Bytes of the raw mail that are parsed; the rest is ignored ([`Flag::MessageOverSizeCap`]).
    /// The default (40 MiB) takes a 25 MB attachment after base64 (≈ 34 MB).
    pub max_message_bytes: usize,
    /// Attachment content kept in memory; larger ones keep their metadata and size only
    /// ([`Flag::AttachmentOverSizeCap`]).
    pub max_attachment_bytes: usize,
    /// MIME nesting (multiparts and attached messages) followed; deeper parts are ignored
    /// ([`Flag::NestingTooDeep`]).
    pub max_depth: usize,
    /// MIME parts looked at; the rest are ignored ([`Flag::TooManyParts`]).
    pub max_parts: usize,
    /// Bytes of body text (before HTML rendering) kept; the rest is cut ([`Flag::BodyTruncated`]).
    pub max_body_bytes: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_message_bytes: 40 << 20,
            max_attachment_bytes: 10 << 20,
            max_depth: 16,
            max_parts: 256,
            max_body_bytes: 1 << 20,
        }
    }
}

/// Something odd about a mail. Flags never stop parsing; they are kept with the message so an
/// agent or an admin can see why a body is empty or an attachment missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flag {
    /// No header could be read: the bytes are not a mail (or its headers are garbage). Any text
    /// is kept as the body.
    NoHeaders,
    /// No usable Message-ID (absent, empty or not an id): threading falls back to other keys.
    MissingMessageId,
    /// No usable From address.
    MissingFrom,
    /// No Date, or one that is not a valid date.
    MissingDate,
    /// An address that is not `local@domain` was dropped from From, To, Cc or Reply-To.
    InvalidAddress,
    /// A decoded header value contained CR, LF or NUL (replaced by spaces).
    HeaderInjection,
    /// A part could not be decoded as declared (broken or truncated base64, a multipart whose
    /// boundary never appears, an attached message that is not one).
    MalformedMime,
    /// A multipart whose closing delimiter is missing: the mail is probably truncated.
    UnclosedMultipart,
    /// A text part declares a charset no decoder knows; its bytes were read as UTF-8.
    UnknownCharset,
    /// The decoded body or a header contains replacement characters: the declared charset is
    /// wrong or the bytes are broken (raw 8-bit headers that are not UTF-8, for instance).
    DecodingErrors,
    /// No text/plain or text/html body was found.
    NoTextBody,
    /// At least one attachment is larger than `max_attachment_bytes`; its content is not kept.
    AttachmentOverSizeCap,
    /// The mail is larger than `max_message_bytes`; only its beginning was parsed.
    MessageOverSizeCap,
    /// MIME nesting deeper than `max_depth`; the deeper parts were ignored.
    NestingTooDeep,
    /// More MIME parts than `max_parts`; the others were ignored.
    TooManyParts,
    /// The body text was longer than `max_body_bytes` and was cut.
    BodyTruncated,
    /// The MIME parser failed on this mail (a bug to report): nothing was read, the raw mail
    /// is all there is.
    ParserFailure,
}

impl Flag {
    pub fn as_str(self) -> &'static str {
        match self {
            Flag::NoHeaders => "no_headers",
            Flag::MissingMessageId => "missing_message_id",
            Flag::MissingFrom => "missing_from",
            Flag::MissingDate => "missing_date",
            Flag::InvalidAddress => "invalid_address",
            Flag::HeaderInjection => "header_injection",
            Flag::MalformedMime => "malformed_mime",
            Flag::UnclosedMultipart => "unclosed_multipart",
            Flag::UnknownCharset => "unknown_charset",
            Flag::DecodingErrors => "decoding_errors",
            Flag::NoTextBody => "no_text_body",
            Flag::AttachmentOverSizeCap => "attachment_over_size_cap",
            Flag::MessageOverSizeCap => "message_over_size_cap",
            Flag::NestingTooDeep => "nesting_too_deep",
            Flag::TooManyParts => "too_many_parts",
            Flag::BodyTruncated => "body_truncated",
            Flag::ParserFailure => "parser_failure",
        }
    }
}

/// A display name and an address. The address is as written (case kept); compare with
/// [`crate::sender_key`] or `eq_ignore_ascii_case`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mailbox {
    pub name: Option<String>,
    pub address: String,
}

/// Which header the customer's address came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AddressSource {
    ReplyTo,
    From,
    Sender,
}

/// The address replies go to: Reply-To when it names a person, From otherwise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    pub mailbox: Mailbox,
    pub source: AddressSource,
}

/// Where the body text came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BodySource {
    /// text/plain (possibly with HTML parts rendered beside it).
    Plain,
    /// Only HTML: rendered to text by `sb_text::normalize::html_to_text`.
    Html,
    /// No text body at all.
    #[default]
    None,
}

/// The text of a mail.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Body {
    /// The whole body as text: text/plain parts as decoded, or HTML rendered to text; line
    /// ends are `\n`.
    pub text: String,
    /// What triage reads: `text` with quoted history, forwarded headers and signature removed
    /// and whitespace normalised (`sb_text::normalize::normalize` for the email channel).
    pub stripped: String,
    /// The HTML body when there is one (capped like `text`), for display.
    pub html: Option<String>,
}

/// One attachment, inline image or attached message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// File name from Content-Disposition `filename` or Content-Type `name` (or the subject of
    /// an attached message), sanitised and without any directory part: never a path.
    pub filename: Option<String>,
    /// `type/subtype`, lowercase (`application/octet-stream` when the part has none).
    pub content_type: String,
    /// Decoded size in bytes (for text parts: of the UTF-8 text).
    pub size: usize,
    /// Content-ID without angle brackets (how HTML bodies refer to inline images).
    pub content_id: Option<String>,
    /// Shown inside the body (Content-Disposition inline, or an image referenced by id)
    /// rather than offered as a file.
    pub inline: bool,
    /// The decoded content, when `size` is within `max_attachment_bytes`. Text parts are kept
    /// as UTF-8 (decoded from their charset); attached messages as their raw bytes.
    #[serde(skip)]
    pub content: Option<Vec<u8>>,
    /// True when the content was too large to keep.
    pub over_size_cap: bool,
}

/// Everything Switchboard reads from one mail. Built only by [`parse`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ParsedMail {
    /// Message-ID without angle brackets.
    pub message_id: Option<String>,
    /// In-Reply-To ids, without angle brackets, in header order.
    pub in_reply_to: Vec<String>,
    /// References ids, without angle brackets, oldest first as in the header.
    pub references: Vec<String>,
    pub date: Option<DateTime<FixedOffset>>,
    pub from: Vec<Mailbox>,
    pub sender: Option<Mailbox>,
    pub reply_to: Vec<Mailbox>,
    pub to: Vec<Mailbox>,
    pub cc: Vec<Mailbox>,
    /// Delivered-To and X-Original-To: the address the mail was actually delivered to (where a
    /// reply-address ticket token survives when To was rewritten).
    pub delivered_to: Vec<String>,
    /// Who a reply goes to.
    pub customer: Option<Customer>,
    /// Decoded subject (encoded words decoded, folding removed).
    pub subject: Option<String>,
    pub body: Body,
    pub body_source: BodySource,
    pub attachments: Vec<Attachment>,
    /// List-Id without angle brackets.
    pub list_id: Option<String>,
    /// Signals that the mail was sent by a machine, sorted and without duplicates.
    pub auto_signals: Vec<AutoSignal>,
    /// Details of a delivery status notification, when the mail is one.
    pub bounce: Option<Bounce>,
    /// Anomalies, sorted and without duplicates.
    pub flags: Vec<Flag>,
    /// Size of the raw mail in bytes (all of it, also when over the size cap).
    pub raw_size: usize,
}

impl ParsedMail {
    pub fn has_flag(&self, flag: Flag) -> bool {
        self.flags.contains(&flag)
    }

    /// True when any signal says a machine answered (auto-reply, out of office), including the
    /// weak subject-line signal.
    pub fn is_auto_reply(&self) -> bool {
        self.has_auto_kind(AutoKind::AutoReply)
    }

    /// True for delivery status notifications and other bounces.
    pub fn is_bounce(&self) -> bool {
        self.has_auto_kind(AutoKind::Bounce)
    }

    /// True for mailing-list traffic (List-Id, Precedence: list).
    pub fn is_list(&self) -> bool {
        self.has_auto_kind(AutoKind::List)
    }

    /// True for bulk and marketing mail (Precedence: bulk/junk, List-Unsubscribe).
    pub fn is_bulk(&self) -> bool {
        self.has_auto_kind(AutoKind::Bulk)
    }

    fn has_auto_kind(&self, kind: AutoKind) -> bool {
        self.auto_signals.iter().any(|signal| signal.kind() == kind)
    }
}

/// Parses one raw mail. Total: never panics, never fails, bounded by `limits`.
///
/// A panic inside the MIME library (none is known; the fuzzing and mutation runs look for
/// them) is caught and turned into [`Flag::ParserFailure`], so one mail cannot stop a mailbox.
/// Fuzz builds (`cfg(fuzzing)`) let it through so the fuzzer reports it.
pub fn parse(raw: &[u8], limits: &Limits) -> ParsedMail {
    #[cfg(fuzzing)]
    return parse_unguarded(raw, limits);
    #[cfg(not(fuzzing))]
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| parse_unguarded(raw, limits))) {
        Ok(parsed) => parsed,
        Err(_) => ParsedMail {
            flags: vec![Flag::MissingMessageId, Flag::MissingFrom, Flag::MissingDate, Flag::NoTextBody, Flag::ParserFailure],
            raw_size: raw.len(),
            ..ParsedMail::default()
        },
    }
}

fn parse_unguarded(raw: &[u8], limits: &Limits) -> ParsedMail {
    let mut flags = Vec::new();
    let bounded = bound_input(raw, limits, &mut flags);
    let mut parsed = match MessageParser::default().parse(bounded) {
        Some(message)
            if message
                .parts
                .first()
                .is_some_and(|root| root.headers.iter().any(|header| is_field_name(header.name.as_str()))) =>
        {
            read_message(&message, limits, &mut flags)
        }
        _ => read_headerless(bounded, limits, &mut flags),
    };
    parsed.raw_size = raw.len();
    flags.sort_unstable();
    flags.dedup();
    parsed.flags = flags;
    parsed
}

/// An RFC 5322 field name: printable ASCII without spaces or colons. mail-parser takes any
/// text before a colon as a header name, so a pasted body ("Please help: ...") reads as a
/// header called `Please help`; a root with no real field name has no headers at all.
fn is_field_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|byte| (33..=126).contains(&byte) && byte != b':')
}

/// Bytes without a single header: not a mail, but its text (if any) is kept as the body, so
/// whatever a customer pasted still reaches a human.
fn read_headerless(bounded: &[u8], limits: &Limits, flags: &mut Vec<Flag>) -> ParsedMail {
    flags.extend([Flag::NoHeaders, Flag::MissingMessageId, Flag::MissingFrom, Flag::MissingDate]);
    let text = String::from_utf8_lossy(bounded);
    if looks_binary(&text) {
        flags.extend([Flag::DecodingErrors, Flag::NoTextBody]);
        return ParsedMail::default();
    }
    let mut n_bytes_left = limits.max_body_bytes;
    let text = normalize_line_ends(take_capped(&text, &mut n_bytes_left, flags));
    let (body, body_source) = finish_body(text, None, BodySource::Plain, None, flags);
    ParsedMail { body, body_source, ..ParsedMail::default() }
}

/// More than one character in eight undecodable or a control character: binary data, not
/// text a person wrote (looked at over the first 64 KiB).
fn looks_binary(text: &str) -> bool {
    let (n_chars, n_binary_chars) =
        text.chars().take(64 << 10).fold((0usize, 0usize), |(n_chars, n_binary), character| {
            let is_binary = character == '\u{FFFD}' || (character.is_control() && !character.is_whitespace());
            (n_chars + 1, n_binary + usize::from(is_binary))
        });
    n_binary_chars * 8 > n_chars
}

/// The part of `raw` handed to mail-parser: at most `max_message_bytes`, and cut before the
/// line that would make the count of delimiter-like lines exceed what `max_parts` parts can
/// need (four each, generously). mail-parser allocates a part per delimiter, so this bounds its memory for a
/// mail made of millions of empty parts; a real mail has a handful of such lines per part.
fn bound_input<'r>(raw: &'r [u8], limits: &Limits, flags: &mut Vec<Flag>) -> &'r [u8] {
    let mut bounded = raw;
    if bounded.len() > limits.max_message_bytes {
        bounded = &bounded[..limits.max_message_bytes];
        flags.push(Flag::MessageOverSizeCap);
    }
    let max_delimiter_lines = limits.max_parts.saturating_mul(4).saturating_add(16);
    let mut n_delimiter_lines = 0usize;
    let line_starts = std::iter::once(0).chain(memchr::memchr_iter(b'\n', bounded).map(|newline_idx| newline_idx + 1));
    for line_start in line_starts {
        if looks_like_delimiter_line(&bounded[line_start..]) {
            n_delimiter_lines += 1;
            if n_delimiter_lines > max_delimiter_lines {
                flags.push(Flag::TooManyParts);
                return &bounded[..line_start];
            }
        }
    }
    bounded
}

/// `--` then something other than dashes and spaces before the end of the line: a MIME
/// delimiter, but not the `-- ` signature separator or a `-----` rule.
fn looks_like_delimiter_line(rest: &[u8]) -> bool {
    let Some(after_dashes) = rest.strip_prefix(b"--") else { return false };
    after_dashes.iter().take_while(|&&byte| byte != b'\n').any(|&byte| !matches!(byte, b'-' | b' ' | b'\t' | b'\r'))
}

/// A MIME part of the top-level message reached by the walk within the limits, with its depth.
struct Reached {
    /// Per part id of the top-level message: `Some(depth)` when the walk reached it.
    depth_by_part: Vec<Option<usize>>,
}

impl Reached {
    fn contains(&self, part_id: u32) -> bool {
        self.depth_by_part.get(part_id as usize).is_some_and(Option::is_some)
    }
}

fn read_message(message: &Message<'_>, limits: &Limits, flags: &mut Vec<Flag>) -> ParsedMail {
    let reached = walk_parts(message, limits, flags);
    check_multipart_closing(message, &reached, flags);

    let message_id = message.message_id().and_then(|id| normalize_message_id(id, flags));
    if message_id.is_none() {
        flags.push(Flag::MissingMessageId);
    }
    let in_reply_to = message_ids(message.in_reply_to(), flags);
    let references = message_ids(message.references(), flags);
    let date = message.date().and_then(to_chrono);
    if date.is_none() {
        flags.push(Flag::MissingDate);
    }

    let from = mailboxes(message.from(), flags);
    if from.is_empty() {
        flags.push(Flag::MissingFrom);
    }
    let sender = mailboxes(message.sender(), flags).into_iter().next();
    let reply_to = mailboxes(message.reply_to(), flags);
    let to = mailboxes(message.to(), flags);
    let cc = mailboxes(message.cc(), flags);
    let delivered_to = ["Delivered-To", "X-Original-To"]
        .into_iter()
        .flat_map(|name| raw_header_values(message, name))
        .filter_map(|value| {
            let address = sanitize_header_text(&value, flags);
            let address = address.trim_start_matches('<').trim_end_matches('>').trim();
            is_plausible_address(address).then(|| address.to_string())
        })
        .collect();
    let subject = message.subject().map(|subject| sanitize_header_text(subject, flags)).filter(|s| !s.is_empty());

    let list_id = raw_header_values(message, "List-Id").into_iter().next().and_then(|value| {
        let value = sanitize_header_text(&value, flags);
        let id = match (value.rfind('<'), value.rfind('>')) {
            (Some(open), Some(close)) if open < close => value[open + 1..close].trim().to_string(),
            _ => value.trim().to_string(),
        };
        (!id.is_empty()).then_some(id)
    });
    let list_post = raw_header_values(message, "List-Post").into_iter().find_map(|value| mailto_address(&value));
    let customer = resolve_customer(&from, sender.as_ref(), &reply_to, list_id.as_deref(), list_post.as_deref());

    let (body, body_source) = read_body(message, &reached, subject.as_deref(), limits, flags);
    let attachments = read_attachments(message, &reached, limits, flags);

    let (auto_signals, bounce) = auto::detect(message, subject.as_deref(), from.first(), &reached.depth_by_part);

    ParsedMail {
        message_id,
        in_reply_to,
        references,
        date,
        from,
        sender,
        reply_to,
        to,
        cc,
        delivered_to,
        customer,
        subject,
        body,
        body_source,
        attachments,
        list_id,
        auto_signals,
        bounce,
        flags: Vec::new(),
        raw_size: 0,
    }
}

/// Walks the MIME tree (into attached messages too) with an explicit stack, so depth costs
/// no call stack, stopping at `max_depth` and `max_parts`. Flags parts that mail-parser could
/// not decode as declared.
fn walk_parts(message: &Message<'_>, limits: &Limits, flags: &mut Vec<Flag>) -> Reached {
    let mut depth_by_part = vec![None; message.parts.len()];
    // (message, part id, depth, whether the message is the top-level one)
    let mut stack: Vec<(&Message<'_>, u32, usize, bool)> = vec![(message, 0, 0, true)];
    let mut n_parts_seen = 0usize;
    while let Some((current_message, part_id, depth, is_top_level)) = stack.pop() {
        if depth > limits.max_depth {
            flags.push(Flag::NestingTooDeep);
            continue;
        }
        n_parts_seen += 1;
        if n_parts_seen > limits.max_parts {
            flags.push(Flag::TooManyParts);
            break;
        }
        let Some(part) = current_message.parts.get(part_id as usize) else { continue };
        if is_top_level {
            match depth_by_part.get_mut(part_id as usize) {
                // A part reachable twice would mean a cycle: never follow it again.
                Some(Some(_)) => continue,
                Some(slot) => *slot = Some(depth),
                None => continue,
            }
        }
        // mail-parser marks a mail without a body as an encoding problem; that is no fault.
        let is_missing_body = part_id == 0 && part.contents().is_empty();
        if part.is_encoding_problem && !is_missing_body {
            flags.push(Flag::MalformedMime);
        }
        let declares_multipart =
            part.content_type().is_some_and(|content_type| content_type.ctype().eq_ignore_ascii_case("multipart"));
        if declares_multipart && !part.is_multipart() {
            // Its boundary never appears: the parts inside are unreadable.
            flags.push(Flag::MalformedMime);
        }
        if is_top_level && is_truncated_base64(current_message, part) {
            flags.push(Flag::MalformedMime);
        }
        match &part.body {
            PartType::Multipart(child_ids) => {
                for &child_id in child_ids.iter().rev() {
                    // Children always come after their parent; anything else is not a tree.
                    if child_id > part_id {
                        stack.push((current_message, child_id, depth + 1, is_top_level));
                    }
                }
            }
            PartType::Message(nested) if !nested.parts.is_empty() => {
                stack.push((nested, 0, depth + 1, false));
            }
            _ => {}
        }
    }
    Reached { depth_by_part }
}

/// A base64 part whose encoded length is not a multiple of four: cut off in transit. Counted
/// on the raw bytes of the part's body, so it costs one pass over them.
fn is_truncated_base64(message: &Message<'_>, part: &MessagePart<'_>) -> bool {
    let is_base64 =
        part.content_transfer_encoding().is_some_and(|encoding| encoding.trim().eq_ignore_ascii_case("base64"));
    if !is_base64 || part.is_multipart() {
        return false;
    }
    let raw = message.raw_message.as_ref();
    let start = (part.offset_body as usize).min(raw.len());
    let end = (part.offset_end as usize).clamp(start, raw.len());
    let n_alphabet_bytes = raw[start..end]
        .iter()
        .filter(|&&byte| byte.is_ascii_alphanumeric() || matches!(byte, b'+' | b'/' | b'='))
        .count();
    n_alphabet_bytes % 4 != 0
}

/// Flags multiparts of the top-level message whose closing delimiter `--boundary--` never
/// appears after their start. Only the first few multiparts are checked (a normal mail has
/// one to four), so a hostile mail with thousands cannot make this quadratic.
fn check_multipart_closing(message: &Message<'_>, reached: &Reached, flags: &mut Vec<Flag>) {
    const MAX_MULTIPARTS_CHECKED: usize = 8;
    let raw = message.raw_message.as_ref();
    let mut n_checked = 0;
    for (part_id, part) in message.parts.iter().enumerate() {
        if n_checked == MAX_MULTIPARTS_CHECKED {
            break;
        }
        if !reached.contains(part_id as u32) || !part.is_multipart() {
            continue;
        }
        let Some(boundary) = part.content_type().and_then(|content_type| content_type.attribute("boundary")) else {
            continue;
        };
        n_checked += 1;
        let mut closing = Vec::with_capacity(boundary.len() + 4);
        closing.extend_from_slice(b"--");
        closing.extend_from_slice(boundary.as_bytes());
        closing.extend_from_slice(b"--");
        let search_from = (part.offset_body as usize).min(raw.len());
        if memchr::memmem::find(&raw[search_from..], &closing).is_none() {
            flags.push(Flag::UnclosedMultipart);
        }
    }
}

/// Body text from the parts mail-parser chose as the text body (text/plain preferred within
/// multipart/alternative; HTML when that is all there is).
fn read_body(
    message: &Message<'_>,
    reached: &Reached,
    subject: Option<&str>,
    limits: &Limits,
    flags: &mut Vec<Flag>,
) -> (Body, BodySource) {
    let mut text_pieces: Vec<String> = Vec::new();
    let mut has_plain = false;
    let mut has_html = false;
    let mut n_bytes_left = limits.max_body_bytes;
    let body_part_ids = if message.text_body.is_empty() { &message.html_body } else { &message.text_body };
    for &part_id in body_part_ids {
        if !reached.contains(part_id) {
            continue;
        }
        let Some(part) = message.parts.get(part_id as usize) else { continue };
        check_charset(part, flags);
        match &part.body {
            PartType::Text(text) => {
                has_plain = true;
                text_pieces.push(take_capped(text, &mut n_bytes_left, flags).to_string());
            }
            PartType::Html(html) => {
                has_html = true;
                text_pieces.push(sb_text::normalize::html_to_text(take_capped(html, &mut n_bytes_left, flags)));
            }
            _ => {}
        }
    }
    let mut html_left = limits.max_body_bytes;
    let html = message
        .html_body
        .iter()
        .filter(|&&part_id| reached.contains(part_id))
        .filter_map(|&part_id| match message.parts.get(part_id as usize).map(|part| &part.body) {
            Some(PartType::Html(html)) => Some(take_capped(html, &mut html_left, flags).to_string()),
            _ => None,
        })
        .reduce(|mut joined, next| {
            joined.push('\n');
            joined.push_str(&next);
            joined
        });

    let text = text_pieces
        .iter()
        .map(|piece| normalize_line_ends(piece))
        .map(|piece| piece.trim_end_matches('\n').to_string())
        .collect::<Vec<_>>()
        .join("\n\n");
    let body_source = match (has_plain, has_html) {
        (true, _) => BodySource::Plain,
        (false, true) => BodySource::Html,
        (false, false) => BodySource::None,
    };
    finish_body(text, html, body_source, subject, flags)
}

/// Flags an empty or badly decoded body and adds the stripped text triage reads.
fn finish_body(
    text: String,
    html: Option<String>,
    body_source: BodySource,
    subject: Option<&str>,
    flags: &mut Vec<Flag>,
) -> (Body, BodySource) {
    if body_source == BodySource::None || text.trim().is_empty() {
        flags.push(Flag::NoTextBody);
    }
    if text.contains('\u{FFFD}') {
        flags.push(Flag::DecodingErrors);
    }
    let inbound = InboundMessage {
        channel: Channel::Email,
        subject: subject.map(str::to_string),
        body: text.clone(),
        body_is_html: false,
    };
    let stripped = sb_text::normalize::normalize(&inbound);
    (Body { text, stripped, html }, body_source)
}

/// CRLF and lone CR become LF.
fn normalize_line_ends(text: &str) -> String {
    if !text.contains('\r') {
        return text.to_string();
    }
    text.replace("\r\n", "\n").replace('\r', "\n")
}

/// The first `n_bytes_left` bytes of `text` (cut at a char boundary), counting them off.
fn take_capped<'t>(text: &'t str, n_bytes_left: &mut usize, flags: &mut Vec<Flag>) -> &'t str {
    if text.len() <= *n_bytes_left {
        *n_bytes_left -= text.len();
        return text;
    }
    flags.push(Flag::BodyTruncated);
    let mut cut = *n_bytes_left;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    *n_bytes_left = 0;
    &text[..cut]
}

fn check_charset(part: &MessagePart<'_>, flags: &mut Vec<Flag>) {
    let Some(charset) = part.content_type().and_then(|content_type| content_type.attribute("charset")) else {
        return;
    };
    let charset = charset.trim().trim_matches('"');
    let is_utf8_or_ascii =
        ["utf-8", "utf8", "us-ascii", "ascii", "us_ascii", ""].iter().any(|known| charset.eq_ignore_ascii_case(known));
    if !is_utf8_or_ascii && mail_parser::decoders::charsets::map::charset_decoder(charset.as_bytes()).is_none() {
        flags.push(Flag::UnknownCharset);
    }
}

fn read_attachments(
    message: &Message<'_>,
    reached: &Reached,
    limits: &Limits,
    flags: &mut Vec<Flag>,
) -> Vec<Attachment> {
    let mut attachments = Vec::new();
    for &part_id in &message.attachments {
        if !reached.contains(part_id) {
            continue;
        }
        let Some(part) = message.parts.get(part_id as usize) else { continue };
        let content_type = match part.content_type() {
            Some(content_type) => match content_type.subtype() {
                Some(subtype) => format!("{}/{}", content_type.ctype(), subtype).to_ascii_lowercase(),
                None => content_type.ctype().to_ascii_lowercase(),
            },
            None if part.is_message() => "message/rfc822".to_string(),
            None => "application/octet-stream".to_string(),
        };
        let filename = part
            .attachment_name()
            .map(|name| file_name_only(&sanitize_header_text(name, flags)))
            .or_else(|| {
                part.message().and_then(|nested| nested.subject()).map(|subject| sanitize_header_text(subject, flags))
            })
            .filter(|name| !name.is_empty());
        let content_id = part.content_id().and_then(|id| {
            let id = sanitize_header_text(id, flags);
            let id = id.trim().trim_start_matches('<').trim_end_matches('>').trim();
            (!id.is_empty()).then(|| id.to_string())
        });
        let inline = match part.content_disposition() {
            Some(disposition) if disposition.is_attachment() => false,
            Some(disposition) if disposition.is_inline() => true,
            _ => content_id.is_some() || matches!(part.body, PartType::InlineBinary(_)),
        };
        let contents = part.contents();
        let size = contents.len();
        let over_size_cap = size > limits.max_attachment_bytes;
        if over_size_cap {
            flags.push(Flag::AttachmentOverSizeCap);
        }
        attachments.push(Attachment {
            filename,
            content_type,
            size,
            content_id,
            inline,
            content: (!over_size_cap).then(|| contents.to_vec()),
            over_size_cap,
        });
    }
    attachments
}

/// The last component of a file name that may carry a path (`../../etc/passwd`,
/// `C:\\Users\\x\\invoice.pdf`): whoever saves an attachment must never get a path from a mail.
fn file_name_only(name: &str) -> String {
    let last_component = name.rsplit(['/', '\\']).next().unwrap_or_default().trim();
    if last_component.chars().all(|c| c == '.') {
        return String::new();
    }
    last_component.to_string()
}

fn resolve_customer(
    from: &[Mailbox],
    sender: Option<&Mailbox>,
    reply_to: &[Mailbox],
    list_id: Option<&str>,
    list_post: Option<&str>,
) -> Option<Customer> {
    if let Some(reply_to_first) = reply_to.first() {
        if !reply_to_is_list(&reply_to_first.address, list_id, list_post) {
            return Some(Customer { mailbox: reply_to_first.clone(), source: AddressSource::ReplyTo });
        }
    }
    if let Some(from_first) = from.first() {
        return Some(Customer { mailbox: from_first.clone(), source: AddressSource::From });
    }
    sender.map(|sender| Customer { mailbox: sender.clone(), source: AddressSource::Sender })
}

/// A list's Reply-To points back at the list: the List-Post address, or the address that
/// the List-Id names by the usual `local.domain` convention (`returns@lists.shop.example` for
/// `<returns.lists.shop.example>`).
fn reply_to_is_list(reply_to: &str, list_id: Option<&str>, list_post: Option<&str>) -> bool {
    if list_post.is_some_and(|post| post.eq_ignore_ascii_case(reply_to)) {
        return true;
    }
    let Some(list_id) = list_id else { return false };
    let Some((local_part, domain)) = reply_to.split_once('@') else { return false };
    list_id.eq_ignore_ascii_case(&format!("{local_part}.{domain}"))
}

/// `x@y` from a List-Post value such as `<mailto:x@y>` or `<mailto:x@y?subject=...>`.
fn mailto_address(value: &str) -> Option<String> {
    let lowercase = value.to_ascii_lowercase();
    let start = lowercase.find("mailto:")? + "mailto:".len();
    let rest = &value[start..];
    let end = rest.find(['>', '?', ',', ' ']).unwrap_or(rest.len());
    let address = rest[..end].trim();
    is_plausible_address(address).then(|| address.to_string())
}

fn mailboxes(address: Option<&Address<'_>>, flags: &mut Vec<Flag>) -> Vec<Mailbox> {
    let Some(address) = address else { return Vec::new() };
    let addrs: Vec<&mail_parser::Addr<'_>> = match address {
        Address::List(list) => list.iter().collect(),
        Address::Group(groups) => groups.iter().flat_map(|group| group.addresses.iter()).collect(),
    };
    let mut result = Vec::with_capacity(addrs.len());
    for addr in addrs {
        let Some(raw_address) = addr.address.as_deref() else {
            // A display name alone (`undisclosed-recipients:;` gives an empty group instead).
            if addr.name.as_deref().is_some_and(|name| !name.trim().is_empty()) {
                flags.push(Flag::InvalidAddress);
            }
            continue;
        };
        let address = sanitize_header_text(raw_address, flags);
        let address = address.trim();
        if !is_plausible_address(address) {
            flags.push(Flag::InvalidAddress);
            continue;
        }
        let name = addr
            .name
            .as_deref()
            .map(|name| sanitize_header_text(name, flags))
            .map(|name| name.trim().trim_matches('"').trim().to_string())
            .filter(|name| !name.is_empty() && !name.eq_ignore_ascii_case(address));
        result.push(Mailbox { name, address: address.to_string() });
    }
    result
}

/// `local@domain` with no whitespace, controls or angle brackets, one `@`, a dot-free or
/// dotted domain (dot-free domains exist on intranets), and a sane length.
pub(crate) fn is_plausible_address(address: &str) -> bool {
    let Some((local_part, domain)) = address.rsplit_once('@') else { return false };
    !local_part.is_empty()
        && !domain.is_empty()
        && address.len() <= 320
        && !domain.contains('@')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !address.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';'))
}

fn message_ids(value: &HeaderValue<'_>, flags: &mut Vec<Flag>) -> Vec<String> {
    let raw_ids: Vec<&str> = match value {
        HeaderValue::Text(id) => vec![id.as_ref()],
        HeaderValue::TextList(ids) => ids.iter().map(Cow::as_ref).collect(),
        _ => Vec::new(),
    };
    let mut ids: Vec<String> = Vec::with_capacity(raw_ids.len());
    for raw_id in raw_ids {
        if let Some(id) = normalize_message_id(raw_id, flags) {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    ids
}

/// A Message-ID as a lookup key: trimmed, without angle brackets, no whitespace or controls,
/// at most 998 bytes (the RFC 5322 line limit). `None` for anything else.
pub(crate) fn normalize_message_id(raw_id: &str, flags: &mut Vec<Flag>) -> Option<String> {
    if raw_id.contains(['\r', '\n', '\0']) {
        flags.push(Flag::HeaderInjection);
        return None;
    }
    let id = raw_id.trim().trim_start_matches('<').trim_end_matches('>').trim();
    let is_valid = !id.is_empty()
        && id.len() <= 998
        && !id.chars().any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>');
    is_valid.then(|| id.to_string())
}

fn to_chrono(date: &mail_parser::DateTime) -> Option<DateTime<FixedOffset>> {
    if !date.is_valid() {
        return None;
    }
    let offset_seconds =
        (i32::from(date.tz_hour) * 3600 + i32::from(date.tz_minute) * 60) * if date.tz_before_gmt { -1 } else { 1 };
    let offset = FixedOffset::east_opt(offset_seconds)?;
    Some(DateTime::from_timestamp(date.to_timestamp(), 0)?.with_timezone(&offset))
}

/// Decoded header text made safe to keep and to copy into other headers: CR, LF and NUL become
/// spaces (and raise [`Flag::HeaderInjection`]), other controls are dropped, runs of spaces
/// collapse, and the result is trimmed.
pub(crate) fn sanitize_header_text(value: &str, flags: &mut Vec<Flag>) -> String {
    let mut sanitized = String::with_capacity(value.len());
    let mut pending_space = false;
    if value.contains('\u{FFFD}') {
        flags.push(Flag::DecodingErrors);
    }
    for character in value.chars() {
        let character = match character {
            '\r' | '\n' | '\0' => {
                flags.push(Flag::HeaderInjection);
                ' '
            }
            '\t' => ' ',
            other if other.is_control() => continue,
            other => other,
        };
        if character == ' ' {
            pending_space = true;
            continue;
        }
        if pending_space && !sanitized.is_empty() {
            sanitized.push(' ');
        }
        pending_space = false;
        sanitized.push(character);
    }
    sanitized
}

/// The raw values (unfolded, not decoded) of every top-level header called `name`.
pub(crate) fn raw_header_values(message: &Message<'_>, name: &str) -> Vec<String> {
    let wanted = HeaderName::from(name);
    let raw = message.raw_message.as_ref();
    message.parts[0]
        .headers
        .iter()
        .filter(|header| header.name == wanted)
        .filter_map(|header| raw.get(header.offset_start as usize..header.offset_end as usize))
        .map(|bytes| {
            let value = String::from_utf8_lossy(bytes);
            value.split(['\r', '\n']).map(str::trim).filter(|line| !line.is_empty()).collect::<Vec<_>>().join(" ")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_lose_brackets_and_reject_junk() {
        let cases: [(&str, Option<&str>); 6] = [
            ("<abc@x.example>", Some("abc@x.example")),
            ("  abc@x.example ", Some("abc@x.example")),
            ("<>", None),
            ("not an id", None),
            ("<a\r\nb@x>", None),
            ("<a<b@x>", None),
        ];
        for (raw_id, expected) in cases {
            assert_eq!(normalize_message_id(raw_id, &mut Vec::new()).as_deref(), expected, "{raw_id:?}");
        }
    }

    #[test]
    fn reply_to_of_a_list_is_recognised() {
        let list_id = Some("returns-club.lists.shop.example");
        let list_post = Some("returns-club@lists.shop.example");
        assert!(reply_to_is_list("Returns-Club@lists.shop.example", None, list_post));
        assert!(reply_to_is_list("returns-club@lists.shop.example", list_id, None));
        assert!(!reply_to_is_list("grace.lee@mail.example", list_id, list_post));
        assert!(!reply_to_is_list("grace.lee@mail.example", None, None));
    }

    #[test]
    fn list_post_mailto_addresses() {
        assert_eq!(mailto_address("<mailto:list@x.example>").as_deref(), Some("list@x.example"));
        assert_eq!(mailto_address("<MAILTO:list@x.example?subject=hi>").as_deref(), Some("list@x.example"));
        assert_eq!(mailto_address("<https://x.example/post>"), None);
        assert_eq!(mailto_address("NO"), None);
    }

    #[test]
    fn file_names_never_carry_a_path() {
        let cases = [
            ("invoice.pdf", "invoice.pdf"),
            ("../../etc/passwd", "passwd"),
            ("C:\\Users\\kai\\invoice.pdf", "invoice.pdf"),
            ("..", ""),
            ("dir/", ""),
        ];
        for (name, expected) in cases {
            assert_eq!(file_name_only(name), expected, "{name}");
        }
    }

    #[test]
    fn field_names_are_printable_ascii_without_spaces() {
        assert!(is_field_name("X-Autoreply"));
        assert!(!is_field_name("Please help"));
        assert!(!is_field_name(""));
        assert!(!is_field_name("Subjéct"));
    }
}
