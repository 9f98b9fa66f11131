//! Threading keys: what joins a reply to its ticket, most reliable first.
//!
//! 1. Message-IDs: In-Reply-To, then References from the newest back (the store keeps every
//!    Message-ID of a ticket's mails, in and out); for a bounce, first the bounced mail's id.
//! 2. The ticket token, which Switchboard puts in the subject of every mail it sends
//!    (`[SB-123456-K]`) and in its reply address (`support+sb123456k@shop.example`), for mail
//!    clients that drop the threading headers.
//! 3. The normalised subject with the sender, within a time window (the store's side).
//!
//! The token's last letter is a check letter over the digits (weighted sum modulo 23, weights
//! 1, 2, 3, ... from the right), so a mistyped or invented number is not taken for a ticket:
//! every single-digit change and every swap of two neighbouring digits changes the letter, and
//! random text that happens to look like a token passes only 1 time in 23.

use serde::{Deserialize, Serialize};

use crate::parse::ParsedMail;

/// Check letters: the alphabet without I, O and Q, which are read as digits.
const CHECK_LETTERS: &[u8; 23] = b"ABCDEFGHJKLMNPRSTUVWXYZ";
/// Most Message-IDs returned; References of a long thread are cut at the oldest end.
const MAX_MESSAGE_IDS: usize = 64;
/// Longest ticket number in a token (u64 has 20 digits).
const MAX_TOKEN_DIGITS: usize = 20;

/// The keys to look a mail's ticket up by.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ThreadKeys {
    /// Message-IDs to look up, most specific first: for a bounce the id of the mail that
    /// bounced, then In-Reply-To, then References newest first; without duplicates and without
    /// the mail's own id.
    pub message_ids: Vec<String>,
    /// A valid ticket token from the subject, the delivery addresses or the body.
    pub ticket_id: Option<u64>,
    /// The subject without reply/forward prefixes, list tags and the ticket token, lowercase:
    /// the last-resort key, used together with `sender`.
    pub normalized_subject: Option<String>,
    /// The customer's address as a key ([`sender_key`]).
    pub sender: Option<String>,
}

/// The threading keys of a parsed mail.
pub fn thread_keys(mail: &ParsedMail) -> ThreadKeys {
    let mut message_ids: Vec<String> = Vec::new();
    // A bounce names our mail that bounced: the surest key to its ticket.
    let bounced_id = mail.bounce.as_ref().and_then(|bounce| bounce.original_message_id.as_ref());
    let newest_first = bounced_id.into_iter().chain(mail.in_reply_to.iter()).chain(mail.references.iter().rev());
    for id in newest_first {
        if message_ids.len() == MAX_MESSAGE_IDS {
            break;
        }
        if Some(id) != mail.message_id.as_ref() && !message_ids.contains(id) {
            message_ids.push(id.clone());
        }
    }
    let address_token = || {
        mail.to
            .iter()
            .chain(mail.cc.iter())
            .map(|mailbox| mailbox.address.as_str())
            .chain(mail.delivered_to.iter().map(String::as_str))
            .find_map(find_reply_address_token)
    };
    let ticket_id = mail
        .subject
        .as_deref()
        .and_then(find_ticket_token)
        .or_else(address_token)
        .or_else(|| find_ticket_token(&mail.body.text));
    let normalized_subject = mail.subject.as_deref().map(normalize_subject).filter(|subject| !subject.is_empty());
    let sender = mail.customer.as_ref().map(|customer| sender_key(&customer.mailbox.address));
    ThreadKeys { message_ids, ticket_id, normalized_subject, sender }
}

/// The token for a ticket, as it goes into subjects: `[SB-123456-K]`.
pub fn format_ticket_token(ticket_id: u64) -> String {
    format!("[SB-{ticket_id}-{}]", check_letter(&ticket_id.to_string()) as char)
}

/// A reply address carrying the ticket: `support@shop.example` and 123456 give
/// `support+sb123456k@shop.example` (lowercase: some systems fold local parts). `None` when
/// `base_address` is not an address.
pub fn format_reply_address(base_address: &str, ticket_id: u64) -> Option<String> {
    let (local_part, domain) = base_address.rsplit_once('@')?;
    if local_part.is_empty() || domain.is_empty() {
        return None;
    }
    let local_part = local_part.split_once('+').map_or(local_part, |(base, _)| base);
    let check = check_letter(&ticket_id.to_string()).to_ascii_lowercase() as char;
    Some(format!("{local_part}+sb{ticket_id}{check}@{domain}"))
}

/// The first valid ticket token in `text` (case-insensitive, check letter verified).
pub fn find_ticket_token(text: &str) -> Option<u64> {
    let bytes = text.as_bytes();
    memchr::memchr_iter(b'[', bytes).find_map(|open_idx| parse_token(&bytes[open_idx + 1..]))
}

/// `SB-<digits>-<letter>]` at the start of `rest`.
fn parse_token(rest: &[u8]) -> Option<u64> {
    let after_prefix = strip_prefix_ignore_case(rest, b"sb-")?;
    let n_digits = after_prefix.iter().take(MAX_TOKEN_DIGITS + 1).take_while(|byte| byte.is_ascii_digit()).count();
    if n_digits == 0 || n_digits > MAX_TOKEN_DIGITS {
        return None;
    }
    let (digits, after_digits) = after_prefix.split_at(n_digits);
    match after_digits {
        [b'-', letter, b']', ..] if letter.to_ascii_uppercase() == check_letter_bytes(digits) => parse_digits(digits),
        _ => None,
    }
}

/// The ticket in a reply address's `+sb<digits><letter>` tag.
fn find_reply_address_token(address: &str) -> Option<u64> {
    let (local_part, _) = address.rsplit_once('@')?;
    let (_, tag) = local_part.split_once('+')?;
    let tag = strip_prefix_ignore_case(tag.as_bytes(), b"sb")?;
    let (&letter, digits) = tag.split_last()?;
    let is_valid = !digits.is_empty()
        && digits.len() <= MAX_TOKEN_DIGITS
        && digits.iter().all(u8::is_ascii_digit)
        && letter.to_ascii_uppercase() == check_letter_bytes(digits);
    if is_valid {
        parse_digits(digits)
    } else {
        None
    }
}

fn strip_prefix_ignore_case<'b>(bytes: &'b [u8], prefix: &[u8]) -> Option<&'b [u8]> {
    let head = bytes.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &bytes[prefix.len()..])
}

fn parse_digits(digits: &[u8]) -> Option<u64> {
    std::str::from_utf8(digits).ok()?.parse().ok()
}

fn check_letter(digits: &str) -> u8 {
    check_letter_bytes(digits.as_bytes())
}

fn check_letter_bytes(digits: &[u8]) -> u8 {
    let weighted_sum: usize = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(position, digit)| (position + 1) * usize::from(digit.wrapping_sub(b'0')))
        .sum();
    CHECK_LETTERS[weighted_sum % CHECK_LETTERS.len()]
}

/// Reply and forward prefixes of mail clients in several languages: `Re`, `Fwd`, `Fw`,
/// German `AW`/`WG`, Nordic `SV`/`VS`/`VB`, French `TR`/`RE`, Spanish and Portuguese
/// `RV`/`RES`/`ENC`, Dutch `Antw`/`Doorst`, Italian `R`/`I`, Polish `Odp`/`PD`, Greek and
/// others omitted. Each may carry a counter (`Re[2]:`, `Re(3):`, `Re^2:`).
const SUBJECT_PREFIXES: &[&str] = &[
    "re", "fwd", "fw", "aw", "wg", "sv", "vs", "vb", "tr", "rv", "res", "enc", "antw", "doorst", "r", "i", "odp", "pd",
    "ref",
];

/// The subject as a last-resort threading key: reply/forward prefixes (repeated, with
/// counters), leading `[list tags]` and the ticket token removed, whitespace collapsed,
/// lowercase. `Re: AW: [shop] Fwd:  Where is #A10493?` gives `where is #a10493?`.
pub fn normalize_subject(subject: &str) -> String {
    let without_token = remove_ticket_tokens(subject);
    let mut rest = without_token.trim();
    loop {
        let before = rest;
        rest = strip_list_tag(rest).trim_start();
        rest = strip_reply_prefix(rest).trim_start();
        if rest == before {
            break;
        }
    }
    sb_text::normalize::normalize_text(rest).to_lowercase()
}

/// A leading `[tag]` of at most 40 characters that is not the whole subject.
fn strip_list_tag(subject: &str) -> &str {
    let Some(after_open) = subject.strip_prefix('[') else { return subject };
    match after_open.find(']') {
        Some(close_idx) if close_idx <= 40 && !after_open[close_idx + 1..].trim().is_empty() => {
            &after_open[close_idx + 1..]
        }
        _ => subject,
    }
}

fn strip_reply_prefix(subject: &str) -> &str {
    let word_len = subject.bytes().take_while(u8::is_ascii_alphabetic).count();
    let word = &subject[..word_len];
    if word_len == 0 || !SUBJECT_PREFIXES.iter().any(|prefix| word.eq_ignore_ascii_case(prefix)) {
        return subject;
    }
    let mut rest = &subject[word_len..];
    // Optional counter: [2], (2) or ^2.
    if let Some(after_open) = rest.strip_prefix('[').or_else(|| rest.strip_prefix('(')) {
        let n_digits = after_open.bytes().take_while(u8::is_ascii_digit).count();
        if n_digits > 0 && matches!(after_open.as_bytes().get(n_digits), Some(b']' | b')')) {
            rest = &after_open[n_digits + 1..];
        }
    } else if let Some(after_caret) = rest.strip_prefix('^') {
        let n_digits = after_caret.bytes().take_while(u8::is_ascii_digit).count();
        rest = &after_caret[n_digits..];
    }
    let rest = rest.trim_start_matches([' ', '\t']);
    rest.strip_prefix(':').or_else(|| rest.strip_prefix('：')).unwrap_or(subject)
}

fn remove_ticket_tokens(subject: &str) -> String {
    let mut result = String::with_capacity(subject.len());
    let mut rest = subject;
    while let Some(open_idx) = rest.find('[') {
        let after_open = &rest[open_idx + 1..];
        let token_len =
            parse_token(after_open.as_bytes()).and_then(|_| after_open.find(']')).map(|close_idx| close_idx + 2);
        result.push_str(&rest[..open_idx]);
        match token_len {
            Some(token_len) => rest = &rest[open_idx + token_len..],
            None => {
                result.push('[');
                rest = after_open;
            }
        }
    }
    result.push_str(rest);
    result
}

/// An address as a key for "the same sender": lowercase, without a `+tag`, trimmed. Used for
/// the per-sender rate limit and for matching our own addresses.
pub fn sender_key(address: &str) -> String {
    let address = address.trim().to_lowercase();
    match address.rsplit_once('@') {
        Some((local_part, domain)) => {
            let local_part = local_part.split_once('+').map_or(local_part, |(base, _)| base);
            format!("{local_part}@{domain}")
        }
        None => address,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_round_trips_and_rejects_wrong_check_letters() {
        for ticket_id in [0u64, 7, 42, 123456, 999_999_999, u64::MAX] {
            let token = format_ticket_token(ticket_id);
            assert_eq!(find_ticket_token(&format!("Re: {token} where is my parcel")), Some(ticket_id), "{token}");
            assert_eq!(find_ticket_token(&token.to_lowercase()), Some(ticket_id));
            let correct_letter = token.as_bytes()[token.len() - 2];
            for &wrong_letter in CHECK_LETTERS.iter().filter(|&&letter| letter != correct_letter) {
                let mut forged = token.clone().into_bytes();
                let letter_idx = forged.len() - 2;
                forged[letter_idx] = wrong_letter;
                assert_eq!(find_ticket_token(std::str::from_utf8(&forged).unwrap()), None);
            }
        }
    }

    #[test]
    fn check_letter_catches_single_digit_changes_and_neighbour_swaps() {
        let digits = b"4815162342".to_vec();
        let original = check_letter_bytes(&digits);
        for idx in 0..digits.len() {
            for replacement in b'0'..=b'9' {
                if replacement == digits[idx] {
                    continue;
                }
                let mut changed = digits.clone();
                changed[idx] = replacement;
                assert_ne!(check_letter_bytes(&changed), original, "change at {idx}");
            }
            if idx + 1 < digits.len() && digits[idx] != digits[idx + 1] {
                let mut swapped = digits.clone();
                swapped.swap(idx, idx + 1);
                assert_ne!(check_letter_bytes(&swapped), original, "swap at {idx}");
            }
        }
    }

    #[test]
    fn reply_address_round_trips() {
        let address = format_reply_address("support+old@shop.example", 123456).unwrap();
        assert_eq!(
            address,
            format!("support+sb123456{}@shop.example", (check_letter("123456") as char).to_ascii_lowercase())
        );
        assert_eq!(find_reply_address_token(&address), Some(123456));
        assert_eq!(find_reply_address_token(&address.to_uppercase()), Some(123456));
        assert_eq!(find_reply_address_token("support+sb123456@shop.example"), None);
        assert_eq!(format_reply_address("not-an-address", 1), None);
    }

    #[test]
    fn tokens_in_ordinary_text_do_not_match() {
        for text in
            ["[SB-]", "[SB-12]", "[SB-12-]", "[SB-12-AB]", "SB-12-A]", "[SB-123456789012345678901-A]", "[sb-x-1]", "["]
        {
            assert_eq!(find_ticket_token(text), None, "{text}");
        }
    }

    fn check_subject(subject: &str, expected: &str) {
        assert_eq!(normalize_subject(subject), expected, "{subject}");
    }

    #[test]
    fn subjects_lose_prefixes_tags_and_tokens() {
        check_subject("Re: Where is my order #A10493?", "where is my order #a10493?");
        check_subject("RE: AW: Fwd:  Where is my order", "where is my order");
        check_subject("Re[2]: Re(3): Re^4: refund", "refund");
        check_subject("SV: VS: Retur", "retur");
        check_subject("TR: RE: Remboursement", "remboursement");
        check_subject("RV: Devolución pedido", "devolución pedido");
        check_subject("[shop-returns] Re: label", "label");
        check_subject(&format!("Re: {} Damaged parcel", format_ticket_token(88)), "damaged parcel");
        check_subject("Reply needed", "reply needed");
        check_subject("Re:", "");
        check_subject("[only a tag]", "[only a tag]");
        check_subject("Invoice: March", "invoice: march");
    }

    #[test]
    fn sender_keys_fold_case_and_tags() {
        assert_eq!(sender_key(" Anna.Schmidt+orders@Example.DE "), "anna.schmidt@example.de");
        assert_eq!(sender_key("no-at-sign"), "no-at-sign");
    }
}
