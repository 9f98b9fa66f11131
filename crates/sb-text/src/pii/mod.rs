//! PII detection and redaction: what must not be shown to a model, a log or an agent who does
//! not need it.
//!
//! Kinds: email addresses; phone numbers (validated with the numbering plan, shared with
//! entity extraction); payment card numbers (Luhn + issuer prefix); IBANs (mod 97 + country
//! length); national identity numbers (US SSN, UK NI number, Spanish DNI/NIE, French NIR,
//! German Steuer-ID after its label); street addresses in en/fr/es/de word order. Each kind's
//! rules are documented in its module.
//!
//! Order numbers and carrier tracking numbers are *not* PII — agents and workflows need them —
//! so they are found first (with the default order patterns and the tracking formats) and no
//! phone or national-id reading may claim their characters. Cards and IBANs are not blocked by
//! them: their checksums are strong, and leaving a card number in clear costs more than
//! redacting a tracking number by mistake.
//!
//! When two kinds claim the same characters, the more reliable one is kept: email, IBAN, card,
//! national id, phone, address.

pub(crate) mod address;
pub(crate) mod cards;
pub(crate) mod iban;
pub(crate) mod national_id;

use sb_domain::{PiiKind, PiiSpan, Redaction, Span};

use crate::entities::overlap::{keep_non_overlapping, Ranked, SpanSet};
use crate::entities::{emails, find_order_numbers, phones, tracking, DEFAULT_ORDER_REGEXES};
use crate::Result;

/// Finds and redacts PII in normalised text. Build it once and share it: it is `Send + Sync`
/// and its methods take `&self`.
#[derive(Debug, Clone)]
pub struct PiiDetector {
    phone_region: phonenumber::country::Id,
}

/// Lower ranks win overlaps.
fn rank_of(kind: PiiKind) -> u8 {
    match kind {
        PiiKind::Email => 0,
        PiiKind::Iban => 1,
        PiiKind::Card => 2,
        PiiKind::NationalId => 3,
        PiiKind::Phone => 4,
        PiiKind::Address => 5,
    }
}

impl PiiDetector {
    /// `default_phone_region` (ISO 3166 alpha-2, e.g. `US`) is the region phone numbers
    /// without a `+` country code are validated in. Error: [`crate::Error::UnknownPhoneRegion`].
    pub fn new(default_phone_region: &str) -> Result<PiiDetector> {
        Ok(PiiDetector {
            phone_region: phones::parse_phone_region(default_phone_region)?,
        })
    }

    /// The PII spans of `text`, sorted by start, non-overlapping, on char boundaries.
    pub fn detect(&self, text: &str) -> Vec<PiiSpan> {
        if text.is_empty() {
            return Vec::new();
        }
        let mut candidates: Vec<Ranked<PiiKind>> = Vec::new();
        let push_all = |kind: PiiKind, spans: Vec<Span>, candidates: &mut Vec<Ranked<PiiKind>>| {
            candidates.extend(spans.into_iter().map(|span| Ranked {
                span,
                rank: rank_of(kind),
                item: kind,
            }));
        };

        let email_spans: Vec<Span> = emails::find_emails(text)
            .into_iter()
            .map(|email| email.span)
            .collect();
        let iban_spans = iban::find_ibans(text);
        let card_spans = cards::find_cards(text);

        // Not PII, but their digits must not be read as phones or national ids.
        let mut strong_spans = SpanSet::new();
        strong_spans.extend(email_spans.iter().copied());
        strong_spans.extend(iban_spans.iter().copied());
        strong_spans.extend(card_spans.iter().copied());
        let mut not_pii_spans = SpanSet::new();
        not_pii_spans.extend(
            tracking::find_tracking_numbers(text, &strong_spans)
                .into_iter()
                .map(|found| found.span),
        );
        not_pii_spans.extend(
            find_order_numbers(&DEFAULT_ORDER_REGEXES, text)
                .into_iter()
                .map(|(span, _)| span),
        );

        let national_id_spans: Vec<Span> = national_id::find_national_ids(text)
            .into_iter()
            .filter(|span| !not_pii_spans.overlaps(*span))
            .collect();

        let mut phone_blocked = not_pii_spans;
        phone_blocked.extend(strong_spans.into_spans());
        phone_blocked.extend(national_id_spans.iter().copied());
        let phone_spans: Vec<Span> = phones::find_phones(text, self.phone_region, &phone_blocked)
            .into_iter()
            .map(|phone| phone.span)
            .collect();

        push_all(PiiKind::Email, email_spans, &mut candidates);
        push_all(PiiKind::Iban, iban_spans, &mut candidates);
        push_all(PiiKind::Card, card_spans, &mut candidates);
        push_all(PiiKind::NationalId, national_id_spans, &mut candidates);
        push_all(PiiKind::Phone, phone_spans, &mut candidates);
        push_all(
            PiiKind::Address,
            address::find_addresses(text),
            &mut candidates,
        );

        keep_non_overlapping(candidates)
            .into_iter()
            .map(|ranked| PiiSpan {
                kind: ranked.item,
                span: ranked.span,
            })
            .collect()
    }

    /// [`detect`](Self::detect), then [`apply_redaction`].
    pub fn redact(&self, text: &str) -> Redaction {
        apply_redaction(text, &self.detect(text))
    }
}

/// Replaces each span of `text` with its kind's placeholder (`[EMAIL]`, `[CARD]`, ...).
///
/// The returned spans refer to the *original* text. Spans the caller got wrong are dropped
/// rather than trusted: empty ones, ones past the end or not on char boundaries, and ones
/// overlapping an earlier span (by start, the longer first). The result's spans are exactly
/// those that were replaced, sorted.
pub fn apply_redaction(text: &str, spans: &[PiiSpan]) -> Redaction {
    let mut usable: Vec<PiiSpan> = spans
        .iter()
        .filter(|pii| {
            let span = pii.span;
            span.start < span.end
                && span.end <= text.len()
                && text.is_char_boundary(span.start)
                && text.is_char_boundary(span.end)
        })
        .cloned()
        .collect();
    usable.sort_by(|left, right| {
        left.span
            .start
            .cmp(&right.span.start)
            .then(right.span.end.cmp(&left.span.end))
    });

    let mut redacted_text = String::with_capacity(text.len());
    let mut applied = Vec::with_capacity(usable.len());
    let mut copied_up_to = 0;
    for pii in usable {
        if pii.span.start < copied_up_to {
            continue;
        }
        redacted_text.push_str(&text[copied_up_to..pii.span.start]);
        redacted_text.push_str(pii.kind.placeholder());
        copied_up_to = pii.span.end;
        applied.push(pii);
    }
    redacted_text.push_str(&text[copied_up_to..]);
    Redaction {
        redacted_text,
        spans: applied,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pii(kind: PiiKind, start: usize, end: usize) -> PiiSpan {
        PiiSpan {
            kind,
            span: Span::new(start, end),
        }
    }

    #[test]
    fn detector_is_send_sync_and_checks_its_region() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<PiiDetector>();
        assert!(PiiDetector::new("DE").is_ok());
        assert!(matches!(
            PiiDetector::new("Germany"),
            Err(crate::Error::UnknownPhoneRegion(_))
        ));
    }

    #[test]
    fn redaction_replaces_spans_and_keeps_original_offsets() {
        let text = "mail a@b.de, card 4539 1488 0343 6467.";
        let redaction = apply_redaction(
            text,
            &[pii(PiiKind::Card, 18, 37), pii(PiiKind::Email, 5, 11)],
        );
        assert_eq!(redaction.redacted_text, "mail [EMAIL], card [CARD].");
        assert_eq!(
            redaction.spans,
            vec![pii(PiiKind::Email, 5, 11), pii(PiiKind::Card, 18, 37)]
        );
    }

    #[test]
    fn redaction_drops_bad_spans() {
        let text = "héllo wörld";
        let spans = [
            pii(PiiKind::Email, 0, 0),
            pii(PiiKind::Email, 2, 4),
            pii(PiiKind::Phone, 0, 99),
            pii(PiiKind::Address, 7, 13),
            pii(PiiKind::Phone, 8, 10),
        ];
        let redaction = apply_redaction(text, &spans);
        assert_eq!(redaction.redacted_text, "héllo [ADDRESS]");
        assert_eq!(redaction.spans, vec![pii(PiiKind::Address, 7, 13)]);
        assert_eq!(apply_redaction("", &spans).redacted_text, "");
    }
}
