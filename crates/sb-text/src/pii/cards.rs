//! Payment card numbers (PANs): 13–19 digits, optionally grouped with spaces or dashes, that
//! pass the Luhn check and start with an issuer prefix (IIN) of a known scheme with a length
//! that scheme issues.
//!
//! Luhn alone would flag one random number in ten; the IIN and length table cuts that to a
//! few percent of digit runs that already look like cards. Numbers are found as runs of digit
//! groups ("4539 1488 0343 6467"); when a run is longer than a card ("ref 12 4539 1488 0343
//! 6467"), every window of whole groups with 13–19 digits is tried, longest first.

use std::sync::LazyLock;

use regex::Regex;
use sb_domain::Span;

use crate::entities::scan::{glued_after, glued_before};

/// Digit groups joined by single spaces or dashes.
static DIGIT_GROUPS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[0-9]+(?:[ \-][0-9]+)*").expect("digit groups pattern is valid"));

/// Spans of payment card numbers in `text`.
pub(crate) fn find_cards(text: &str) -> Vec<Span> {
    // Cheap pre-check: a card has at least 13 digits.
    if text.bytes().filter(u8::is_ascii_digit).count() < 13 {
        return Vec::new();
    }
    let mut found = Vec::new();
    for run in DIGIT_GROUPS.find_iter(text) {
        if run.len() < 13 {
            continue;
        }
        let mut groups = split_groups(run.as_str(), run.start());
        // A first group glued to a word ("X7031 4539 …") or a last one running on into one
        // belongs to that word; the groups between can still be a card.
        if glued_before(text, run.start(), &['.', '/', '_', '-']) {
            groups.remove(0);
        }
        if glued_after(text, run.end()) {
            groups.pop();
        }
        find_cards_in_groups(&groups, &mut found);
    }
    found
}

/// A group of digits and where it is in the text.
struct DigitGroup {
    span: Span,
    digits: Vec<u8>,
}

fn split_groups(run: &str, run_start: usize) -> Vec<DigitGroup> {
    let mut groups = Vec::new();
    let mut group_start = run_start;
    for group in run.split([' ', '-']) {
        groups.push(DigitGroup {
            span: Span::new(group_start, group_start + group.len()),
            digits: group.bytes().map(|byte| byte - b'0').collect(),
        });
        group_start += group.len() + 1;
    }
    groups
}

fn find_cards_in_groups(groups: &[DigitGroup], found: &mut Vec<Span>) {
    let mut first_idx = 0;
    while first_idx < groups.len() {
        // Windows starting at `first_idx` with 13–19 digits, longest first.
        let mut n_digits = 0;
        let mut windows = Vec::new();
        for (last_idx, group) in groups.iter().enumerate().skip(first_idx) {
            n_digits += group.digits.len();
            if n_digits > 19 {
                break;
            }
            if n_digits >= 13 {
                windows.push(last_idx);
            }
        }
        let valid_window = windows.into_iter().rev().find(|&last_idx| {
            let digits: Vec<u8> = groups[first_idx..=last_idx]
                .iter()
                .flat_map(|group| group.digits.iter().copied())
                .collect();
            is_card_number(&digits)
        });
        match valid_window {
            Some(last_idx) => {
                found.push(Span::new(
                    groups[first_idx].span.start,
                    groups[last_idx].span.end,
                ));
                first_idx = last_idx + 1;
            }
            None => first_idx += 1,
        }
    }
}

/// Luhn-valid, with a known issuer prefix and a length that issuer uses.
pub(crate) fn is_card_number(digits: &[u8]) -> bool {
    issuer_accepts(digits) && luhn_valid(digits)
}

/// The Luhn (mod 10) check: from the right, every second digit is doubled (minus 9 when it
/// exceeds 9); the sum must be a multiple of 10.
pub(crate) fn luhn_valid(digits: &[u8]) -> bool {
    if digits.len() < 2 || digits.iter().any(|&digit| digit > 9) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(position, &digit)| {
            let digit = u32::from(digit);
            if position % 2 == 1 {
                let doubled = digit * 2;
                if doubled > 9 {
                    doubled - 9
                } else {
                    doubled
                }
            } else {
                digit
            }
        })
        .sum();
    // Not `is_multiple_of`: the workspace supports Rust 1.85, which does not have it.
    #[allow(clippy::manual_is_multiple_of)]
    let valid = sum % 10 == 0;
    valid
}

/// Issuer identification: prefixes and lengths of the major card schemes.
fn issuer_accepts(digits: &[u8]) -> bool {
    let length = digits.len();
    let prefix = |n_digits: usize| -> u32 {
        digits
            .iter()
            .take(n_digits)
            .fold(0, |value, &digit| value * 10 + u32::from(digit))
    };
    let (p1, p2, p3, p4) = (prefix(1), prefix(2), prefix(3), prefix(4));
    if p1 == 4 {
        // Visa
        return matches!(length, 13 | 16 | 19);
    }
    if (51..=55).contains(&p2) || (2221..=2720).contains(&p4) {
        // Mastercard
        return length == 16;
    }
    if p2 == 34 || p2 == 37 {
        // American Express
        return length == 15;
    }
    if p2 == 36 || p2 == 38 || p2 == 39 || (300..=305).contains(&p3) || p4 == 3095 {
        // Diners Club
        return (14..=19).contains(&length);
    }
    if (3528..=3589).contains(&p4) {
        // JCB
        return (16..=19).contains(&length);
    }
    if p4 == 6011 || (644..=649).contains(&p3) || p2 == 65 || p2 == 62 {
        // Discover, UnionPay
        return (16..=19).contains(&length);
    }
    if p2 == 50 || (56..=58).contains(&p2) || p2 == 63 || p2 == 67 {
        // Maestro
        return (13..=19).contains(&length);
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entities::scan::digit_values;

    // Valid numbers computed with hand-written reference code outside this crate (not test
    // numbers published by the schemes), then one digit changed for each negative.

    #[test]
    fn luhn_check() {
        for valid in [
            "4539148803436467",
            "5200828282828210",
            "378282246310005",
            "6011000990139424",
            "3566002020360505",
            "2223004312345670",
            "4716238712345670",
        ] {
            assert!(luhn_valid(&digit_values(valid)), "{valid}");
            assert!(is_card_number(&digit_values(valid)), "{valid}");
        }
        assert!(!luhn_valid(&digit_values("4539148803436468")));
        assert!(!luhn_valid(&digit_values("7")));
    }

    #[test]
    fn unknown_issuers_and_lengths_are_rejected() {
        // Both Luhn-valid: no scheme starts with 9, and Amex numbers have 15 digits, not 16.
        assert!(luhn_valid(&digit_values("9000000000000001")));
        assert!(!is_card_number(&digit_values("9000000000000001")));
        assert!(luhn_valid(&digit_values("3782822463100052")));
        assert!(!is_card_number(&digit_values("3782822463100052")));
    }

    fn cards(text: &str) -> Vec<&str> {
        find_cards(text)
            .into_iter()
            .map(|span| &text[span.start..span.end])
            .collect()
    }

    #[test]
    fn finds_grouped_cards_inside_longer_runs() {
        assert_eq!(
            cards("card 4539 1488 0343 6467, exp 12/27"),
            vec!["4539 1488 0343 6467"]
        );
        assert_eq!(
            cards("ref 12 4539-1488-0343-6467"),
            vec!["4539-1488-0343-6467"]
        );
        assert_eq!(cards("card 4539 1488 0343 6468"), Vec::<&str>::new());
        assert_eq!(cards("acct 45391488034364670000"), Vec::<&str>::new());
        assert_eq!(
            cards("1Z4F82X70312345675 4539 1488 0343 6467"),
            vec!["4539 1488 0343 6467"]
        );
        assert_eq!(cards("4539 1488 0343 6467abc"), Vec::<&str>::new());
    }
}
