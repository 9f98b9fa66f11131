//! National identity and tax numbers, each validated by its own rules:
//!
//! - US Social Security number `ddd-dd-dddd` (dashes required), without the ranges the SSA
//!   never issues (area 000, 666, 900–999; group 00; serial 0000) and two numbers voided after
//!   they were published; nine bare digits only right after "SSN" / "social security".
//! - UK National Insurance number `AB 12 34 56 C`: prefix letters from the allowed sets and not
//!   one of the never-issued prefixes (BG, GB, KN, NK, NT, TN, ZZ), suffix A–D. Upper case only,
//!   as printed: lower-case look-alikes are ordinary words and numbers.
//! - Spanish DNI (8 digits + letter) and NIE (X/Y/Z + 7 digits + letter), the letter being
//!   `TRWAGMYFPDXBNJZSQVHLCKE`[number mod 23].
//! - French NIR (numéro de sécurité sociale): 13 characters (sex, year, month, department —
//!   `2A`/`2B` for Corsica —, commune, order) and a 2-digit key = 97 − (number mod 97), where
//!   Corsica's 2A and 2B count as 19 and 18.
//! - German Steuer-ID (11 digits), only right after a word naming it: bare 11-digit numbers
//!   are too common. Check digit ISO 7064 MOD 11,10, and in the first ten digits exactly one
//!   digit repeats (twice or three times).

use std::sync::LazyLock;

use regex::{Captures, Regex};
use sb_domain::Span;

use crate::entities::scan::{digit_values, glued_after, glued_before, stands_alone};

static US_SSN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)([0-9]{3})-([0-9]{2})-([0-9]{4})(?-u:\b)").expect("ssn pattern is valid")
});

static US_SSN_AFTER_LABEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?-u:\b)(?:ssn|social[ \t]+security(?:[ \t]+(?:number|no\.?|#))?)[ \t]*(?:is|:|#)?[ \t]*([0-9]{9})(?-u:\b)")
        .expect("ssn label pattern is valid")
});

static UK_NINO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?-u:\b)([A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z])[ ]?([0-9]{2})[ ]?([0-9]{2})[ ]?([0-9]{2})[ ]?([A-D])(?-u:\b)",
    )
    .expect("nino pattern is valid")
});

static ES_DNI: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?-u:\b)([0-9]{8})([ \-]?)([A-Z])(?-u:\b)").expect("dni pattern is valid")
});

static ES_NIE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?-u:\b)([XYZ])[ \-]?([0-9]{7})([ \-]?)([A-Z])(?-u:\b)")
        .expect("nie pattern is valid")
});

static FR_NIR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?-u:\b)([12])[ ]?([0-9]{2})[ ]?([0-9]{2})[ ]?([0-9]{2}|2[AB])[ ]?([0-9]{3})[ ]?([0-9]{3})[ ]?([0-9]{2})(?-u:\b)",
    )
    .expect("nir pattern is valid")
});

static DE_STEUER_ID_AFTER_LABEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?-u:\b)(?:steuer-?id(?:entifikationsnummer)?|steueridentifikationsnummer|identifikationsnummer|idnr\.?|tax[ \t]+id)[ \t]*(?:ist|is|lautet|:|#)?[ \t]*([0-9]{2}[ ]?[0-9]{3}[ ]?[0-9]{3}[ ]?[0-9]{3})(?-u:\b)",
    )
    .expect("steuer-id pattern is valid")
});

const DNI_LETTERS: &[u8; 23] = b"TRWAGMYFPDXBNJZSQVHLCKE";

/// Spans of national identity numbers in `text`.
pub(crate) fn find_national_ids(text: &str) -> Vec<Span> {
    let mut found = Vec::new();
    if !text.bytes().any(|byte| byte.is_ascii_digit()) {
        return found;
    }
    // The patterns use ASCII word boundaries for speed (see `entities::dates`); the whole match
    // must still stand alone in the Unicode sense.
    let whole_match = |captures: &Captures<'_>| {
        captures
            .get(0)
            .map(|whole| Span::new(whole.start(), whole.end()))
            .filter(|span| stands_alone(text, *span))
    };
    let group = |captures: &Captures<'_>, index: usize| {
        captures.get(index).map(|m| Span::new(m.start(), m.end()))
    };

    for captures in US_SSN.captures_iter(text) {
        let Some(span) = whole_match(&captures) else {
            continue;
        };
        if glued_before(text, span.start, &['-', '/', '.', '+']) || glued_after(text, span.end) {
            continue;
        }
        if us_ssn_valid(&digit_values(&text[span.start..span.end])) {
            found.push(span);
        }
    }
    for captures in US_SSN_AFTER_LABEL.captures_iter(text) {
        let (Some(_), Some(span)) = (whole_match(&captures), group(&captures, 1)) else {
            continue;
        };
        if us_ssn_valid(&digit_values(&text[span.start..span.end])) {
            found.push(span);
        }
    }
    for captures in UK_NINO.captures_iter(text) {
        let (Some(span), Some(prefix)) = (whole_match(&captures), captures.get(1)) else {
            continue;
        };
        if !matches!(
            prefix.as_str(),
            "BG" | "GB" | "KN" | "NK" | "NT" | "TN" | "ZZ"
        ) {
            found.push(span);
        }
    }
    for captures in ES_DNI.captures_iter(text) {
        let (Some(span), Some(number), Some(separator), Some(letter)) = (
            whole_match(&captures),
            captures.get(1),
            captures.get(2),
            captures.get(3),
        ) else {
            continue;
        };
        // "12345678 a" is more likely a number and a Spanish preposition than a DNI.
        let letter_is_upper = letter
            .as_str()
            .bytes()
            .all(|byte| byte.is_ascii_uppercase());
        if glued_before(text, span.start, &['-', '/', '.', '#'])
            || (separator.as_str() == " " && !letter_is_upper)
        {
            continue;
        }
        if spanish_check_letter(number.as_str())
            == letter
                .as_str()
                .chars()
                .next()
                .map(|c| c.to_ascii_uppercase())
        {
            found.push(span);
        }
    }
    for captures in ES_NIE.captures_iter(text) {
        let (Some(span), Some(prefix), Some(number), Some(separator), Some(letter)) = (
            whole_match(&captures),
            captures.get(1),
            captures.get(2),
            captures.get(3),
            captures.get(4),
        ) else {
            continue;
        };
        let letter_is_upper = letter
            .as_str()
            .bytes()
            .all(|byte| byte.is_ascii_uppercase());
        if separator.as_str() == " " && !letter_is_upper {
            continue;
        }
        let prefix_digit = match prefix.as_str().to_ascii_uppercase().as_str() {
            "X" => '0',
            "Y" => '1',
            _ => '2',
        };
        let full_number = format!("{prefix_digit}{}", number.as_str());
        if spanish_check_letter(&full_number)
            == letter
                .as_str()
                .chars()
                .next()
                .map(|c| c.to_ascii_uppercase())
        {
            found.push(span);
        }
    }
    for captures in FR_NIR.captures_iter(text) {
        let Some(span) = whole_match(&captures) else {
            continue;
        };
        if glued_before(text, span.start, &['-', '/', '.', '+']) || glued_after(text, span.end) {
            continue;
        }
        let compact: String = text[span.start..span.end]
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect();
        if french_nir_valid(&compact) {
            found.push(span);
        }
    }
    for captures in DE_STEUER_ID_AFTER_LABEL.captures_iter(text) {
        let (Some(_), Some(span)) = (whole_match(&captures), group(&captures, 1)) else {
            continue;
        };
        if german_steuer_id_valid(&digit_values(&text[span.start..span.end])) {
            found.push(span);
        }
    }
    found
}

/// Nine digits outside the ranges the SSA never issues, and not one of the numbers voided
/// after being printed in advertising (078-05-1120, 219-09-9999).
pub(crate) fn us_ssn_valid(digits: &[u8]) -> bool {
    if digits.len() != 9 {
        return false;
    }
    let number = |range: std::ops::Range<usize>| -> u32 {
        digits[range]
            .iter()
            .fold(0, |value, &digit| value * 10 + u32::from(digit))
    };
    let (area, group, serial) = (number(0..3), number(3..5), number(5..9));
    let voided = matches!((area, group, serial), (78, 5, 1120) | (219, 9, 9999));
    area != 0 && area != 666 && area < 900 && group != 0 && serial != 0 && !voided
}

/// The DNI/NIE control letter of a number written in digits, or `None` if it is not one.
pub(crate) fn spanish_check_letter(digits: &str) -> Option<char> {
    let number: u32 = digits.parse().ok()?;
    Some(char::from(DNI_LETTERS[(number % 23) as usize]))
}

/// A compact 15-character NIR: 13 characters (digits, or `2A`/`2B` at positions 6–7) and the
/// 2-digit key.
pub(crate) fn french_nir_valid(compact: &str) -> bool {
    if compact.len() != 15 || !compact.is_ascii() {
        return false;
    }
    let (body, key) = compact.split_at(13);
    let department = body[5..7].to_ascii_uppercase();
    let numeric_department = match department.as_str() {
        "2A" => "19",
        "2B" => "18",
        other => other,
    };
    let numeric_body = format!("{}{}{}", &body[..5], numeric_department, &body[7..]);
    let (Ok(number), Ok(key)) = (numeric_body.parse::<u64>(), key.parse::<u64>()) else {
        return false;
    };
    97 - number % 97 == key
}

/// German Steuer-ID: 11 digits, first not 0; among the first ten exactly one digit appears
/// more than once (two or three times); check digit by ISO 7064 MOD 11,10.
pub(crate) fn german_steuer_id_valid(digits: &[u8]) -> bool {
    if digits.len() != 11 || digits[0] == 0 || digits.iter().any(|&digit| digit > 9) {
        return false;
    }
    let mut counts = [0u8; 10];
    for &digit in &digits[..10] {
        counts[usize::from(digit)] += 1;
    }
    let n_repeated = counts.iter().filter(|&&count| count > 1).count();
    let max_count = counts.iter().copied().max().unwrap_or(0);
    if n_repeated != 1 || max_count > 3 {
        return false;
    }
    let mut product: u32 = 10;
    for &digit in &digits[..10] {
        let mut sum = (u32::from(digit) + product) % 10;
        if sum == 0 {
            sum = 10;
        }
        product = (sum * 2) % 11;
    }
    let check = match 11 - product {
        10 => 0,
        other => other,
    };
    check == u32::from(digits[10])
}

#[cfg(test)]
mod tests {
    use super::*;

    // Valid numbers computed with hand-written reference code outside this crate, then one
    // character changed for each negative.

    #[test]
    fn us_ssn_ranges() {
        assert!(us_ssn_valid(&digit_values("536-22-1047")));
        assert!(!us_ssn_valid(&digit_values("000-22-1047")));
        assert!(!us_ssn_valid(&digit_values("666-22-1047")));
        assert!(!us_ssn_valid(&digit_values("912-22-1047")));
        assert!(!us_ssn_valid(&digit_values("536-00-1047")));
        assert!(!us_ssn_valid(&digit_values("536-22-0000")));
        assert!(!us_ssn_valid(&digit_values("078-05-1120")));
    }

    #[test]
    fn spanish_letters() {
        assert_eq!(spanish_check_letter("12345678"), Some('Z'));
        assert_eq!(spanish_check_letter("48291035"), Some('M'));
        // NIE X1234567L: X counts as 0.
        assert_eq!(spanish_check_letter("01234567"), Some('L'));
        // NIE Y7654321G: Y counts as 1.
        assert_eq!(spanish_check_letter("17654321"), Some('G'));
    }

    #[test]
    fn french_nir_key() {
        assert!(french_nir_valid("185057800608491"));
        assert!(french_nir_valid("293037511402311"));
        assert!(french_nir_valid("281012B12345645"));
        assert!(french_nir_valid("176032A00411783"));
        assert!(!french_nir_valid("185057800608492"));
        assert!(!french_nir_valid("18505780060849"));
    }

    #[test]
    fn german_steuer_id() {
        assert!(german_steuer_id_valid(&digit_values("86095742719")));
        assert!(!german_steuer_id_valid(&digit_values("86095742718")));
        // Check digit right but no digit repeats in the first ten.
        assert!(!german_steuer_id_valid(&digit_values("47158236906")));
    }

    fn ids(text: &str) -> Vec<&str> {
        let mut spans = find_national_ids(text);
        spans.sort();
        spans
            .into_iter()
            .map(|span| &text[span.start..span.end])
            .collect()
    }

    #[test]
    fn finds_each_kind_in_text() {
        assert_eq!(
            ids("SSN 536-22-1047, NI AB 12 34 56 C, DNI 12345678Z, NIE X-1234567-L, NIR 1 85 05 78 006 084 91, Steuer-ID: 86 095 742 719"),
            vec!["536-22-1047", "AB 12 34 56 C", "12345678Z", "X-1234567-L", "1 85 05 78 006 084 91", "86 095 742 719"]
        );
    }

    #[test]
    fn rejects_invalid_ones() {
        assert!(ids("666-22-1047 GB 12 34 56 C 12345678A X1234567A 1 85 05 78 006 084 92 steuer-id 86095742718").is_empty());
        assert!(ids("ab 12 34 56 c").is_empty());
        assert!(ids("my ssn is 536221047").len() == 1);
    }
}
