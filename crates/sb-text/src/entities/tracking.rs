//! Carrier tracking numbers: which carrier a number belongs to and whether its check digit
//! holds.
//!
//! Formats recognised, and what is required before a number is reported:
//!
//! | carrier | format | check digit | reported when |
//! |---|---|---|---|
//! | UPS | `1Z` + 6 alphanumerics + 10 digits | mod 10, letters mapped, odd positions ×2 | always; a wrong check digit gives `check_digit_valid = Some(false)` |
//! | USPS | S10 `EC123456785US` | mod 11, weights 8,6,4,2,3,5,9,7 | always (suffix `US`); wrong check → `Some(false)` |
//! | DHL | S10 with suffix `DE` (Deutsche Post, part of DHL) | as above | as above |
//! | DHL | `JJD` + 16–22 digits | none defined → `None` | always |
//! | USPS | IMpb, 20–22 digits starting 92/93/94/95 | GS1 mod 10 (weights 3,1 from the right) | only with a valid check digit |
//! | FedEx | 12 digits | weights 3,1,7 left to right, sum mod 11 mod 10 | valid check digit **and** a shipping word in the text |
//! | FedEx | 15 or 20 digits (Ground / SSCC) | GS1 mod 10 | valid check digit **and** a shipping word in the text |
//! | DHL | Express waybill, 10 digits | first nine digits mod 7 | valid check digit **and** "DHL" in the text |
//!
//! Why the difference: `1Z…`, S10 and `JJD…` shapes are distinctive, so a customer's typo
//! (one wrong digit) is still worth showing to the agent, flagged. A bare run of 10–15 digits
//! is not distinctive at all — it may be a phone, an order or an account number — so it is
//! only called a tracking number when its check digit holds and the message talks about a
//! shipment. Numbers preceded by `#` are left to the order-number patterns.

use std::cell::OnceCell;
use std::sync::LazyLock;

use regex::Regex;
use sb_domain::{Carrier, Span};

use super::overlap::SpanSet;
use super::scan::{alphanumerics_upper, digit_values, glued_after, glued_before, stands_alone};

// The patterns use ASCII word boundaries, `(?-u:\b)`, which keep the regex crate on its fast
// DFA for non-ASCII text; `stands_alone` checks the Unicode boundary of each match in code.

static UPS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?-u:\b)1Z(?:[ ]?[A-Z0-9]){6}(?:[ ]?[0-9]){10}(?-u:\b)")
        .expect("ups pattern is valid")
});

/// UPU S10: two service letters, eight serial digits, a check digit, an ISO country code.
/// Upper case only: S10 labels are printed in capitals and lower-case look-alikes are words.
static S10: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)[A-Z]{2}[ ]?[0-9]{3}[ ]?[0-9]{3}[ ]?[0-9]{3}[ ]?[A-Z]{2}(?-u:\b)")
        .expect("s10 pattern is valid")
});

static DHL_JJD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?-u:\b)JJD[ ]?[0-9](?:[ ]?[0-9]){15,21}(?-u:\b)")
        .expect("jjd pattern is valid")
});

/// Digit groups joined by single spaces ("9400 1000 0000 …"); the whole run is tried first,
/// then each long group on its own.
static DIGIT_RUN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[0-9]+(?:[ ][0-9]+)*").expect("digit run pattern is valid"));

/// Words that show a message is about a shipment, in en/es/fr/de; needed before a bare
/// FedEx-shaped number is believed.
static SHIPPING_CONTEXT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?-u:\b)(?:track\w*|shipment|shipping|shipped|ship|parcel|package|delivery|delivered|carrier|courier|waybill|fedex|fed ex|ups|usps|dhl|sendung\w*|paket\w*|lieferung|zustellung|suivi|colis|livraison|exp[ée]dition|seguimiento|env[ií]o|paquete|rastreo|gu[ií]a)(?-u:\b)",
    )
    .expect("shipping context pattern is valid")
});

static DHL_MENTION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)(?-u:\b)dhl(?-u:\b)").expect("dhl pattern is valid"));

/// A tracking number found in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FoundTracking {
    pub(crate) span: Span,
    /// Upper-case letters and digits only, separators removed.
    pub(crate) number: String,
    pub(crate) carrier: Carrier,
    pub(crate) check_digit_valid: Option<bool>,
}

/// Finds tracking numbers. `numeric_blocked` holds spans (payment cards) that the purely
/// numeric formats must not claim.
pub(crate) fn find_tracking_numbers(text: &str, numeric_blocked: &SpanSet) -> Vec<FoundTracking> {
    let mut found = Vec::new();
    find_ups(text, &mut found);
    find_s10(text, &mut found);
    find_dhl_jjd(text, &mut found);
    find_numeric(text, numeric_blocked, &mut found);
    found
}

fn find_ups(text: &str, found: &mut Vec<FoundTracking>) {
    // Cheap pre-check: no "1Z" / "1z", no UPS number.
    if !text
        .as_bytes()
        .windows(2)
        .any(|pair| pair[0] == b'1' && pair[1] | 0x20 == b'z')
    {
        return;
    }
    for matched in UPS.find_iter(text) {
        if !stands_alone(text, Span::new(matched.start(), matched.end())) {
            continue;
        }
        let number = alphanumerics_upper(matched.as_str());
        found.push(FoundTracking {
            span: Span::new(matched.start(), matched.end()),
            check_digit_valid: Some(ups_check_digit_valid(&number)),
            number,
            carrier: Carrier::Ups,
        });
    }
}

fn find_s10(text: &str, found: &mut Vec<FoundTracking>) {
    for matched in S10.find_iter(text) {
        if !stands_alone(text, Span::new(matched.start(), matched.end())) {
            continue;
        }
        let number = alphanumerics_upper(matched.as_str());
        let carrier = match number.get(11..13) {
            Some("US") => Carrier::Usps,
            Some("DE") => Carrier::Dhl,
            // Other national posts have no `Carrier` variant yet; reporting them under a
            // wrong carrier would send the agent to the wrong tracking site.
            _ => continue,
        };
        found.push(FoundTracking {
            span: Span::new(matched.start(), matched.end()),
            check_digit_valid: Some(s10_check_digit_valid(&number)),
            number,
            carrier,
        });
    }
}

fn find_dhl_jjd(text: &str, found: &mut Vec<FoundTracking>) {
    for matched in DHL_JJD.find_iter(text) {
        if !stands_alone(text, Span::new(matched.start(), matched.end())) {
            continue;
        }
        found.push(FoundTracking {
            span: Span::new(matched.start(), matched.end()),
            number: alphanumerics_upper(matched.as_str()),
            carrier: Carrier::Dhl,
            check_digit_valid: None,
        });
    }
}

fn find_numeric(text: &str, numeric_blocked: &SpanSet, found: &mut Vec<FoundTracking>) {
    // Both context checks scan the whole text, so they run at most once and only when a
    // candidate needs them.
    let has_shipping_context = OnceCell::new();
    let has_dhl_mention = OnceCell::new();
    let context = NumericContext {
        shipping: &|| *has_shipping_context.get_or_init(|| SHIPPING_CONTEXT.is_match(text)),
        dhl: &|| *has_dhl_mention.get_or_init(|| DHL_MENTION.is_match(text)),
    };
    for run in DIGIT_RUN.find_iter(text) {
        if run.len() < 10 {
            continue;
        }
        // `#123…` is an order reference; `A123…`, `1.5…` or `-123…` are parts of longer tokens.
        let glued_to_previous = glued_before(text, run.start(), &['#', '-', '.', '/', '_']);
        let glued_to_next = glued_after(text, run.end());
        let run_span = Span::new(run.start(), run.end());
        if !glued_to_previous && !glued_to_next {
            if let Some(tracking) =
                classify_numeric(run.as_str(), run_span, numeric_blocked, &context)
            {
                found.push(tracking);
                continue;
            }
        }
        // The run may join a tracking number to a neighbouring number ("558201 986578788855"):
        // try each long group on its own, except a first or last group glued to a word.
        if !run.as_str().contains(' ') {
            continue;
        }
        let n_groups = run.as_str().split(' ').count();
        let mut group_start = run.start();
        for (group_idx, group) in run.as_str().split(' ').enumerate() {
            let group_span = Span::new(group_start, group_start + group.len());
            group_start = group_span.end + 1;
            let glued = (group_idx == 0 && glued_to_previous)
                || (group_idx + 1 == n_groups && glued_to_next);
            if group.len() < 10 || glued {
                continue;
            }
            if let Some(tracking) = classify_numeric(group, group_span, numeric_blocked, &context) {
                found.push(tracking);
            }
        }
    }
}

struct NumericContext<'a> {
    shipping: &'a dyn Fn() -> bool,
    dhl: &'a dyn Fn() -> bool,
}

fn classify_numeric(
    written: &str,
    span: Span,
    numeric_blocked: &SpanSet,
    context: &NumericContext<'_>,
) -> Option<FoundTracking> {
    let digits = digit_values(written);
    let carrier = match digits.len() {
        10 if dhl_express_check_digit_valid(&digits) && (context.dhl)() => Carrier::Dhl,
        12 if fedex_12_check_digit_valid(&digits) && (context.shipping)() => Carrier::Fedex,
        15 if gs1_mod10_check_digit_valid(&digits) && (context.shipping)() => Carrier::Fedex,
        20..=22 if matches!(digits[..2], [9, 2..=5]) => {
            if !gs1_mod10_check_digit_valid(&digits) {
                return None;
            }
            Carrier::Usps
        }
        20 if gs1_mod10_check_digit_valid(&digits) && (context.shipping)() => Carrier::Fedex,
        _ => return None,
    };
    if numeric_blocked.overlaps(span) {
        return None;
    }
    Some(FoundTracking {
        span,
        number: digits
            .iter()
            .map(|digit| char::from(b'0' + digit))
            .collect(),
        carrier,
        check_digit_valid: Some(true),
    })
}

/// UPS `1Z` numbers: 18 upper-case alphanumerics. The 15 characters after `1Z` (letters
/// mapped to digits the way UPS does: A→2, B→3, … I→0, J→1, …) are summed with every second
/// one doubled; the check digit brings the sum to a multiple of 10.
pub(crate) fn ups_check_digit_valid(number: &str) -> bool {
    let bytes = number.as_bytes();
    if bytes.len() != 18 || !number.starts_with("1Z") {
        return false;
    }
    let mut sum = 0u32;
    for (position, &byte) in bytes[2..17].iter().enumerate() {
        let value = match byte {
            b'0'..=b'9' => u32::from(byte - b'0'),
            b'A'..=b'Z' => u32::from(byte - b'A' + 2) % 10,
            _ => return false,
        };
        sum += if position % 2 == 1 { value * 2 } else { value };
    }
    let expected = (10 - sum % 10) % 10;
    bytes[17].is_ascii_digit() && u32::from(bytes[17] - b'0') == expected
}

/// FedEx Express 12-digit numbers: the first eleven digits weighted 3,1,7,3,1,7,… from the
/// left; the check digit is the weighted sum mod 11, then mod 10.
pub(crate) fn fedex_12_check_digit_valid(digits: &[u8]) -> bool {
    if digits.len() != 12 {
        return false;
    }
    const WEIGHTS: [u32; 3] = [3, 1, 7];
    let sum: u32 = digits[..11]
        .iter()
        .enumerate()
        .map(|(position, &digit)| u32::from(digit) * WEIGHTS[position % 3])
        .sum();
    sum % 11 % 10 == u32::from(digits[11])
}

/// GS1 mod 10 (USPS IMpb, FedEx Ground, SSCC): the last digit is the check digit; the others
/// are weighted 3,1,3,1,… starting from the one nearest the check digit.
pub(crate) fn gs1_mod10_check_digit_valid(digits: &[u8]) -> bool {
    let Some((&check_digit, body)) = digits.split_last() else {
        return false;
    };
    if body.is_empty() {
        return false;
    }
    let sum: u32 = body
        .iter()
        .rev()
        .enumerate()
        .map(|(position, &digit)| u32::from(digit) * if position % 2 == 0 { 3 } else { 1 })
        .sum();
    (10 - sum % 10) % 10 == u32::from(check_digit)
}

/// UPU S10 (`EC123456785US`): the eight serial digits weighted 8,6,4,2,3,5,9,7; check digit
/// 11 − (sum mod 11), where 10 becomes 0 and 11 becomes 5.
pub(crate) fn s10_check_digit_valid(number: &str) -> bool {
    let bytes = number.as_bytes();
    if bytes.len() != 13 || !bytes[2..11].iter().all(u8::is_ascii_digit) {
        return false;
    }
    const WEIGHTS: [u32; 8] = [8, 6, 4, 2, 3, 5, 9, 7];
    let sum: u32 = bytes[2..10]
        .iter()
        .zip(WEIGHTS)
        .map(|(&byte, weight)| u32::from(byte - b'0') * weight)
        .sum();
    let expected = match 11 - sum % 11 {
        10 => 0,
        11 => 5,
        other => other,
    };
    u32::from(bytes[10] - b'0') == expected
}

/// DHL Express 10-digit waybills: the first nine digits, read as a number, mod 7.
pub(crate) fn dhl_express_check_digit_valid(digits: &[u8]) -> bool {
    if digits.len() != 10 {
        return false;
    }
    let serial = digits[..9]
        .iter()
        .fold(0u64, |value, &digit| value * 10 + u64::from(digit));
    serial % 7 == u64::from(digits[9])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digits(text: &str) -> Vec<u8> {
        digit_values(text)
    }

    // Valid numbers below were computed by hand-written reference code outside this crate,
    // then one digit changed for each negative.

    #[test]
    fn ups_check_digit() {
        assert!(ups_check_digit_valid("1Z4F82X70312345675"));
        assert!(ups_check_digit_valid("1Z86W1230387654320"));
        assert!(ups_check_digit_valid("1Z0R5V8E0354219876"));
        assert!(!ups_check_digit_valid("1Z4F82X70312345674"));
        assert!(!ups_check_digit_valid("1Z4F82X7031234567"));
        assert!(!ups_check_digit_valid("1Z4F82X7031234567X"));
    }

    #[test]
    fn fedex_12_check_digit() {
        assert!(fedex_12_check_digit_valid(&digits("986578788855")));
        assert!(fedex_12_check_digit_valid(&digits("772381147207")));
        assert!(fedex_12_check_digit_valid(&digits("403127655193")));
        assert!(!fedex_12_check_digit_valid(&digits("772381147208")));
        assert!(!fedex_12_check_digit_valid(&digits("77238114720")));
    }

    #[test]
    fn gs1_check_digit() {
        assert!(gs1_mod10_check_digit_valid(&digits("041441760228964")));
        assert!(gs1_mod10_check_digit_valid(&digits("612999801234563")));
        assert!(gs1_mod10_check_digit_valid(&digits("00614141123456789017")));
        assert!(gs1_mod10_check_digit_valid(&digits(
            "9400111899223857391222"
        )));
        assert!(gs1_mod10_check_digit_valid(&digits(
            "920559017554770000008"
        )));
        assert!(gs1_mod10_check_digit_valid(&digits("94001000000000000006")));
        assert!(!gs1_mod10_check_digit_valid(&digits(
            "9400111899223857391223"
        )));
        assert!(!gs1_mod10_check_digit_valid(&[]));
        assert!(!gs1_mod10_check_digit_valid(&[7]));
    }

    #[test]
    fn s10_check_digit() {
        assert!(s10_check_digit_valid("EC123456785US"));
        assert!(s10_check_digit_valid("RR473829103DE"));
        assert!(s10_check_digit_valid("LX000000005US"));
        assert!(s10_check_digit_valid("CP908172638US"));
        assert!(!s10_check_digit_valid("EC123456786US"));
        assert!(!s10_check_digit_valid("EC12345678US"));
    }

    #[test]
    fn dhl_express_check_digit() {
        assert!(dhl_express_check_digit_valid(&digits("1234567891")));
        assert!(dhl_express_check_digit_valid(&digits("3408127660")));
        assert!(!dhl_express_check_digit_valid(&digits("3408127661")));
    }

    fn carriers(text: &str) -> Vec<(String, Carrier, Option<bool>)> {
        find_tracking_numbers(text, &SpanSet::new())
            .into_iter()
            .map(|found| (found.number, found.carrier, found.check_digit_valid))
            .collect()
    }

    #[test]
    fn bare_fedex_numbers_need_shipping_context() {
        assert!(carriers("ref 986578788855").is_empty());
        assert_eq!(
            carriers("my package 986578788855 is late"),
            vec![("986578788855".to_owned(), Carrier::Fedex, Some(true))]
        );
    }

    #[test]
    fn run_of_two_numbers_is_split() {
        assert_eq!(
            carriers("tracking: 558201 986578788855"),
            vec![("986578788855".to_owned(), Carrier::Fedex, Some(true))]
        );
    }

    #[test]
    fn blocked_spans_are_not_claimed_by_numeric_formats() {
        let mut blocked = SpanSet::new();
        blocked.insert(Span::new(8, 20));
        assert!(find_tracking_numbers("package 986578788855", &blocked).is_empty());
    }
}
