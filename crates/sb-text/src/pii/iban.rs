//! IBANs (ISO 13616): a country code, two check digits and a country-specific BBAN, written
//! compactly or in groups of four. Accepted only when the country is in the IBAN registry
//! table below, the length is that country's, and the ISO 7064 mod-97 check gives 1.
//!
//! The pattern over-reaches on purpose (`[ ]?[A-Z0-9]` up to 34 characters also eats a
//! following word); the country length then says where the IBAN really ends, and the
//! character after that must end the token.

use std::sync::LazyLock;

use regex::Regex;
use sb_domain::Span;

use crate::entities::scan::{char_after, char_before, is_word_char};

static IBAN_CANDIDATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?-u:\b)[A-Z]{2}[0-9]{2}(?:[ ]?[A-Z0-9]){11,30}")
        .expect("iban pattern is valid")
});

/// IBAN length per country, from the SWIFT IBAN registry.
const IBAN_LENGTHS: &[(&str, usize)] = &[
    ("AD", 24),
    ("AE", 23),
    ("AL", 28),
    ("AT", 20),
    ("AZ", 28),
    ("BA", 20),
    ("BE", 16),
    ("BG", 22),
    ("BH", 22),
    ("BR", 29),
    ("BY", 28),
    ("CH", 21),
    ("CR", 22),
    ("CY", 28),
    ("CZ", 24),
    ("DE", 22),
    ("DK", 18),
    ("DO", 28),
    ("EE", 20),
    ("EG", 29),
    ("ES", 24),
    ("FI", 18),
    ("FO", 18),
    ("FR", 27),
    ("GB", 22),
    ("GE", 22),
    ("GI", 23),
    ("GL", 18),
    ("GR", 27),
    ("GT", 28),
    ("HR", 21),
    ("HU", 28),
    ("IE", 22),
    ("IL", 23),
    ("IQ", 23),
    ("IS", 26),
    ("IT", 27),
    ("JO", 30),
    ("KW", 30),
    ("KZ", 20),
    ("LB", 28),
    ("LC", 32),
    ("LI", 21),
    ("LT", 20),
    ("LU", 20),
    ("LV", 21),
    ("MC", 27),
    ("MD", 24),
    ("ME", 22),
    ("MK", 19),
    ("MR", 27),
    ("MT", 31),
    ("MU", 30),
    ("NL", 18),
    ("NO", 15),
    ("PK", 24),
    ("PL", 28),
    ("PS", 29),
    ("PT", 25),
    ("QA", 29),
    ("RO", 24),
    ("RS", 22),
    ("SA", 24),
    ("SC", 31),
    ("SE", 24),
    ("SI", 19),
    ("SK", 24),
    ("SM", 27),
    ("ST", 25),
    ("SV", 28),
    ("TL", 23),
    ("TN", 24),
    ("TR", 26),
    ("UA", 29),
    ("VA", 22),
    ("VG", 24),
    ("XK", 20),
];

/// Spans of valid IBANs in `text`.
pub(crate) fn find_ibans(text: &str) -> Vec<Span> {
    let mut found = Vec::new();
    let mut search_from = 0;
    // A manual loop rather than `find_iter`: the over-reaching candidate may have eaten the
    // start of the next IBAN, so the search resumes where this IBAN really ended (or one
    // character after a rejected candidate's start).
    while let Some(candidate) = IBAN_CANDIDATE.find_at(text, search_from) {
        match iban_ending_in(text, candidate) {
            Some(end) => {
                found.push(Span::new(candidate.start(), end));
                search_from = end;
            }
            // The candidate starts with an ASCII letter, so one byte on is a char boundary.
            None => search_from = candidate.start() + 1,
        }
    }
    found
}

/// Where the IBAN that starts this candidate ends, if it is a valid one.
fn iban_ending_in(text: &str, candidate: regex::Match<'_>) -> Option<usize> {
    // ASCII `\b` in the pattern (fast on non-ASCII text); the Unicode boundary is checked here.
    if char_before(text, candidate.start()).is_some_and(is_word_char) {
        return None;
    }
    let written = candidate.as_str();
    let country = written.get(..2)?.to_ascii_uppercase();
    let &(_, expected_length) = IBAN_LENGTHS.iter().find(|(code, _)| *code == country)?;
    // Walk the candidate until the country's number of characters is reached; that is
    // where the IBAN ends.
    let mut n_characters = 0;
    let mut end = None;
    for (index, character) in written.char_indices() {
        if character.is_ascii_alphanumeric() {
            n_characters += 1;
            if n_characters == expected_length {
                end = Some(candidate.start() + index + character.len_utf8());
                break;
            }
        }
    }
    let end = end?;
    if matches!(char_after(text, end), Some(next) if next.is_alphanumeric()) {
        return None;
    }
    let iban_text = text.get(candidate.start()..end)?;
    let compact: String = iban_text
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    iban_check_valid(&compact).then_some(end)
}

/// ISO 7064 mod 97-10 as ISO 13616 applies it: move the first four characters to the end,
/// read letters as 10..35, and the resulting number mod 97 must be 1. Computed digit by digit
/// so no big integers are needed.
pub(crate) fn iban_check_valid(compact: &str) -> bool {
    if compact.len() < 5 || !compact.is_ascii() {
        return false;
    }
    let (head, tail) = compact.split_at(4);
    let mut remainder: u32 = 0;
    for character in tail.chars().chain(head.chars()) {
        let Some(value) = character.to_digit(36) else {
            return false;
        };
        remainder = if value < 10 {
            (remainder * 10 + value) % 97
        } else {
            (remainder * 100 + value) % 97
        };
    }
    remainder == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    // Check digits computed with hand-written reference code outside this crate for BBANs
    // made up for these tests.

    #[test]
    fn mod97_check() {
        for valid in [
            "DE89370400440532013000",
            "DE44500105175407324931",
            "GB15MIDL40051512345678",
            "FR1420041010050500013M02606",
            "ES9121000418450200051332",
            "NL91ABNA0417164300",
            "IT60X0542811101000000123456",
            "BE68539007547034",
            "CH800076201162385295",
            "AT611904300234573201",
            "PL61109010140000071219812874",
            "NO9386011117947",
            "IE29AIBK93115212345678",
        ] {
            assert!(iban_check_valid(valid), "{valid}");
        }
        assert!(!iban_check_valid("DE89370400440532013001"));
        assert!(!iban_check_valid("DE98370400440532013000"));
        assert!(!iban_check_valid("DE"));
    }

    fn ibans(text: &str) -> Vec<&str> {
        find_ibans(text)
            .into_iter()
            .map(|span| &text[span.start..span.end])
            .collect()
    }

    #[test]
    fn finds_grouped_and_compact_ibans_and_stops_at_country_length() {
        assert_eq!(
            ibans("IBAN: DE89 3704 0044 0532 0130 00 bitte, oder es9121000418450200051332."),
            vec!["DE89 3704 0044 0532 0130 00", "es9121000418450200051332"]
        );
        assert!(ibans("DE89 3704 0044 0532 0130 01").is_empty());
        assert!(ibans("XX89 3704 0044 0532 0130 00").is_empty());
        assert!(ibans("DE89370400440532013000123").is_empty());
    }
}
