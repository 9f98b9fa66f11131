//! Phone numbers, shared by entity extraction and PII detection.
//!
//! Two stages, the way libphonenumber's own matcher works: a loose pattern proposes digit
//! runs that *could* be phone numbers (digits with spaces, dashes, dots, parentheses, one
//! slash, an optional leading `+`), cheap shape checks throw out what is obviously something
//! else (dates, decimals, runs glued to letters or `#`), and only the survivors are parsed and
//! validated by the `phonenumber` crate against the default region. Validation uses the
//! numbering plan of the country (valid area codes, lengths, prefixes), so `555-0199` or a
//! random 10-digit order number mostly fail, unlike with a regex-only detector.
//!
//! Parsing is the expensive step — 5 to 80 µs per candidate, because `phonenumber` keeps its
//! compiled patterns in a 100-entry LRU cache behind a mutex and numbers that could belong to
//! several regions (`+1`, `+44`, invalid ones) cycle through it — so it runs only on
//! candidates that pass the shape checks, and at most [`MAX_PHONE_PARSES_PER_TEXT`] times per
//! text.

use std::panic::{self, AssertUnwindSafe};
use std::sync::LazyLock;

use phonenumber::country::Id as RegionId;
use regex::Regex;
use sb_domain::Span;

use super::overlap::SpanSet;
use super::scan::{count_ascii_digits, glued_after, glued_before};
use crate::{Error, Result};

/// Bounds the work on pathological input (a 10 MB dump of numbers): past this many parses a
/// text's remaining candidates are not examined — neither as entities nor for redaction — so
/// such texts must be split or refused before they get here. Real messages have a handful.
pub(crate) const MAX_PHONE_PARSES_PER_TEXT: usize = 2_000;

/// Loose candidate pattern. Only spaces and tabs separate digit groups, never newlines: a
/// number split over two lines is two numbers (or none).
static PHONE_CANDIDATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\+?\(?[0-9][0-9 \t().\-/]{5,24}[0-9]").expect("phone candidate pattern is valid")
});

/// Characters that, right before a digit run, show it is not a phone number: a currency
/// amount, an order reference, part of an identifier or path, a decimal. `=` is not among
/// them: `?phone=4155552671` in a link is still a phone number (entity extraction skips links
/// altogether; PII redaction must not).
const NOT_BEFORE_PHONE: &[char] = &[
    '#', '$', '€', '£', '¥', '₹', '@', '_', '-', '/', '.', ',', '%', '+',
];

/// Parses a region code such as `US` or `gb` into the `phonenumber` region, checking that its
/// numbering plan is known.
pub(crate) fn parse_phone_region(region: &str) -> Result<RegionId> {
    let normalised = region.trim().to_ascii_uppercase();
    let region_id: RegionId = normalised
        .parse()
        .map_err(|_| Error::UnknownPhoneRegion(region.to_owned()))?;
    // `parse` unwraps the region's metadata, so a region without metadata must never reach it.
    if phonenumber::metadata::DATABASE
        .by_id(region_id.as_ref())
        .is_none()
    {
        return Err(Error::UnknownPhoneRegion(region.to_owned()));
    }
    Ok(region_id)
}

/// A validated phone number found in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FoundPhone {
    pub(crate) span: Span,
    pub(crate) e164: String,
}

/// Finds phone numbers valid in `default_region` (or in the country of a `+` prefix).
/// Candidates that overlap `blocked` (tracking numbers, cards, dates, ... found first) are not
/// parsed, though a space-separated part of them that lies outside `blocked` still is.
pub(crate) fn find_phones(
    text: &str,
    default_region: RegionId,
    blocked: &SpanSet,
) -> Vec<FoundPhone> {
    // Cheap pre-check: the shortest valid numbers have seven digits.
    if count_ascii_digits(text) < 7 {
        return Vec::new();
    }
    let mut finder = PhoneFinder {
        text,
        default_region,
        blocked,
        n_parses: 0,
        found: Vec::new(),
    };
    for candidate in PHONE_CANDIDATE.find_iter(text) {
        if finder.n_parses >= MAX_PHONE_PARSES_PER_TEXT {
            break;
        }
        let span = Span::new(candidate.start(), candidate.end());
        if glued_before(text, span.start, NOT_BEFORE_PHONE) || glued_after(text, span.end) {
            continue;
        }
        if !blocked.overlaps(span) && finder.try_candidate(span) {
            continue;
        }
        finder.try_space_separated_parts(span);
    }
    finder.found
}

struct PhoneFinder<'a> {
    text: &'a str,
    default_region: RegionId,
    blocked: &'a SpanSet,
    n_parses: usize,
    found: Vec<FoundPhone>,
}

impl PhoneFinder<'_> {
    /// "555-123-4567 555-987-6543" arrives as one candidate; so does "order 558201 5551234567"
    /// when the order number is blocked. Each space-separated part with enough digits gets
    /// its own chance.
    fn try_space_separated_parts(&mut self, span: Span) {
        let Some(candidate) = self.text.get(span.start..span.end) else {
            return;
        };
        if !candidate.contains([' ', '\t']) {
            return;
        }
        let mut part_start = span.start;
        for part in candidate.split([' ', '\t']) {
            let part_span = Span::new(part_start, part_start + part.len());
            part_start = part_span.end + 1;
            if count_ascii_digits(part) < 7
                || self.blocked.overlaps(part_span)
                || glued_before(self.text, part_span.start, NOT_BEFORE_PHONE)
            {
                continue;
            }
            self.try_candidate(part_span);
        }
    }

    /// Checks the shape, then parses and validates; records the phone and returns `true` when
    /// the candidate is one.
    fn try_candidate(&mut self, span: Span) -> bool {
        let Some(candidate) = self.text.get(span.start..span.end) else {
            return false;
        };
        if !has_phone_shape(candidate) || self.n_parses >= MAX_PHONE_PARSES_PER_TEXT {
            return false;
        }
        self.n_parses += 1;
        let Some(e164) = parse_valid_e164(candidate, self.default_region) else {
            return false;
        };
        self.found.push(FoundPhone { span, e164 });
        true
    }
}

/// Parses with `phonenumber` and returns the E.164 form when the number is valid.
fn parse_valid_e164(candidate: &str, default_region: RegionId) -> Option<String> {
    let region = if candidate.starts_with('+') {
        None
    } else {
        Some(default_region)
    };
    // `phonenumber` has panicked on odd inputs in the past (upstream issues #32 and #43).
    // Candidates are already restricted to digits and a few separators, but a panic here
    // would take down triage of the whole message, so it is contained.
    let parsed = panic::catch_unwind(AssertUnwindSafe(|| {
        let number = phonenumber::parse(region, candidate).ok()?;
        if !phonenumber::is_valid(&number) {
            return None;
        }
        Some(number.format().mode(phonenumber::Mode::E164).to_string())
    }));
    parsed.ok().flatten()
}

/// Shape checks that reject candidates which are clearly not phone numbers, before the
/// expensive parse.
fn has_phone_shape(candidate: &str) -> bool {
    let n_digits = count_ascii_digits(candidate);
    if !(7..=16).contains(&n_digits) {
        return false;
    }
    let n_dots = candidate.matches('.').count();
    let n_slashes = candidate.matches('/').count();
    let n_open = candidate.matches('(').count();
    let n_close = candidate.matches(')').count();
    // One dot is a decimal ("3.14159265"); phone numbers written with dots use at least two.
    if n_dots == 1 || n_slashes > 1 || n_open != n_close || n_open > 1 {
        return false;
    }
    if let (Some(open), Some(close)) = (candidate.find('('), candidate.find(')')) {
        if close < open {
            return false;
        }
    }
    !looks_like_numeric_date(candidate)
}

/// `14/03/2025`, `2025-03-14`, `14.03.25`: three groups, one kind of separator, date-sized.
fn looks_like_numeric_date(candidate: &str) -> bool {
    let Some(separator) = candidate.chars().find(|c| matches!(c, '/' | '-' | '.')) else {
        return false;
    };
    let groups: Vec<&str> = candidate.split(separator).collect();
    if groups.len() != 3
        || !groups
            .iter()
            .all(|group| !group.is_empty() && group.bytes().all(|b| b.is_ascii_digit()))
    {
        return false;
    }
    let lengths = [groups[0].len(), groups[1].len(), groups[2].len()];
    matches!(lengths, [1 | 2, 1 | 2, 2 | 4] | [4, 1 | 2, 1 | 2])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phones(text: &str, region: &str) -> Vec<String> {
        let region_id = parse_phone_region(region).expect("test region is known");
        find_phones(text, region_id, &SpanSet::new())
            .into_iter()
            .map(|phone| phone.e164)
            .collect()
    }

    #[test]
    fn parses_national_and_international_forms() {
        assert_eq!(
            phones("call (415) 555-2671 please", "US"),
            vec!["+14155552671"]
        );
        assert_eq!(
            phones("ring +44 20 7946 0958 today", "US"),
            vec!["+442079460958"]
        );
        assert_eq!(phones("Tel. 030 12345678", "DE"), vec!["+493012345678"]);
        assert_eq!(
            phones("mon portable 06 12 34 56 78", "FR"),
            vec!["+33612345678"]
        );
    }

    #[test]
    fn splits_two_numbers_written_side_by_side() {
        assert_eq!(
            phones("415-555-2671 212-555-0143", "US"),
            vec!["+14155552671", "+12125550143"]
        );
    }

    #[test]
    fn rejects_dates_decimals_amounts_and_references() {
        assert!(phones("on 14/03/2025 and 2025-03-14", "DE").is_empty());
        assert!(phones("pi is 3.14159265", "US").is_empty());
        assert!(phones("#4155552671 and $4155552671 and A4155552671", "US").is_empty());
    }

    #[test]
    fn link_parameters_are_phones_here() {
        // Entity extraction skips links before calling this; PII redaction relies on it.
        assert_eq!(
            phones("https://x.example/?phone=4155552671", "US"),
            vec!["+14155552671"]
        );
    }

    #[test]
    fn unknown_regions_are_errors() {
        assert!(matches!(
            parse_phone_region("XX"),
            Err(Error::UnknownPhoneRegion(_))
        ));
        assert!(matches!(
            parse_phone_region(""),
            Err(Error::UnknownPhoneRegion(_))
        ));
        assert!(parse_phone_region(" gb ").is_ok());
    }

    #[test]
    fn date_shapes() {
        assert!(looks_like_numeric_date("14/03/2025"));
        assert!(looks_like_numeric_date("2025-03-14"));
        assert!(!looks_like_numeric_date("555-123-4567"));
        assert!(!looks_like_numeric_date("030/12345678"));
    }
}
