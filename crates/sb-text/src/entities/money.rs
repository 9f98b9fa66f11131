//! Money amounts: a number together with a currency marker, before or after it.
//!
//! A bare number is never money ("I ordered 3", "order 558201"): the text must name the
//! currency with a symbol (`$`, `€`, `£`, `¥`, `₹`, `US$`, `C$`, `A$`), an ISO code (`USD`,
//! `EUR`, …, either case) or a word (`dollars`, `euros`, `bucks`, `quid`, …).
//!
//! Amounts are written many ways — `1,299.00`, `1.299,00`, `1 299,00`, `49,99`, `49.99` — so
//! the decimal separator is decided per amount: the last `.` or `,` is the decimal separator
//! when one or two digits follow it, every other separator groups thousands. `1,299` and
//! `1.299` therefore both read as one thousand two hundred ninety-nine. Spaces group thousands
//! only when the currency comes after the amount (`1 299,00 €`, the French and German way);
//! with a leading symbol, `$20 100` is two numbers, not twenty thousand one hundred.
//!
//! `$` alone is read as USD and `pesos` has no currency (it is the name of several): the value
//! records the currency only when the text determines one, as the domain type asks.

use std::sync::LazyLock;

use regex::Regex;
use sb_domain::Span;

use super::scan::{char_after, glued_before, is_word_char};

static AMOUNT_AFTER_CURRENCY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?x)
        (?P<currency>US\$|CA\$|C\$|AU\$|A\$|NZ\$|\$|€|£|¥|₹
            |(?i:(?-u:\b)(?:usd|eur|gbp|cad|aud|chf|jpy|mxn|inr)(?-u:\b)))
        [\ \t\u{a0}]?
        (?P<amount>[0-9]{1,3}(?:[,.'’][0-9]{3})+(?:[.,][0-9]{1,2})?|[0-9]+(?:[.,][0-9]{1,2})?)
        (?-u:\b)",
    )
    .expect("money pattern (currency first) is valid")
});

static AMOUNT_BEFORE_CURRENCY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?x)
        (?-u:\b)(?P<amount>[0-9]{1,3}(?:[,.'’\ \u{a0}\u{202f}][0-9]{3})+(?:[.,][0-9]{1,2})?|[0-9]+(?:[.,][0-9]{1,2})?)
        [\ \t\u{a0}\u{202f}]?
        (?P<currency>€|£|\$|¥|₹
            |(?i:(?:usd|eur|gbp|cad|aud|chf|jpy|mxn|inr|dollars?|bucks|euros?|quid|pesos?|francs?|pounds\ sterling)(?-u:\b)))",
    )
    .expect("money pattern (amount first) is valid")
});

/// A money amount found in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FoundMoney {
    pub(crate) span: Span,
    /// Digits with `.` as the decimal separator and no grouping: `"1299.00"`.
    pub(crate) amount: String,
    pub(crate) currency: Option<&'static str>,
}

pub(crate) fn find_money(text: &str) -> Vec<FoundMoney> {
    let mut found = Vec::new();
    for captures in AMOUNT_AFTER_CURRENCY
        .captures_iter(text)
        .chain(AMOUNT_BEFORE_CURRENCY.captures_iter(text))
    {
        let (Some(whole), Some(amount), Some(currency)) = (
            captures.get(0),
            captures.name("amount"),
            captures.name("currency"),
        ) else {
            continue;
        };
        // "ABC$5" would otherwise read as "C$5" (Canadian dollars) and "x€5" as euros: a match
        // glued to the word before it is part of an identifier.
        // The patterns use ASCII word boundaries for speed (see `dates`); "30€é" or "é30 €"
        // glued to a non-ASCII letter is checked here.
        if glued_before(text, whole.start(), &['_'])
            || char_after(text, whole.end()).is_some_and(is_word_char)
        {
            continue;
        }
        let Some(normalised_amount) = normalise_amount(amount.as_str()) else {
            continue;
        };
        found.push(FoundMoney {
            span: Span::new(whole.start(), whole.end()),
            amount: normalised_amount,
            currency: currency_code(currency.as_str()),
        });
    }
    found
}

/// The ISO 4217 code a currency marker stands for, if it determines one.
fn currency_code(marker: &str) -> Option<&'static str> {
    let lowered = marker.to_lowercase();
    let code = match lowered.as_str() {
        "$" | "us$" | "usd" | "dollar" | "dollars" | "bucks" => "USD",
        "ca$" | "c$" | "cad" => "CAD",
        "au$" | "a$" | "aud" => "AUD",
        "nz$" => "NZD",
        "€" | "eur" | "euro" | "euros" => "EUR",
        "£" | "gbp" | "quid" | "pounds sterling" => "GBP",
        "¥" | "jpy" => "JPY",
        "₹" | "inr" => "INR",
        "chf" | "franc" | "francs" => "CHF",
        "mxn" => "MXN",
        _ => return None,
    };
    Some(code)
}

/// `"1,299.00"` → `"1299.00"`, `"49,99"` → `"49.99"`, `"1.299"` → `"1299"`. See the module
/// documentation for how the decimal separator is chosen.
pub(crate) fn normalise_amount(written: &str) -> Option<String> {
    let last_separator = written
        .char_indices()
        .rev()
        .find(|(_, c)| !c.is_ascii_digit());
    let (integer_part, fraction_part) = match last_separator {
        Some((index, separator @ ('.' | ','))) => {
            let after = &written[index + separator.len_utf8()..];
            if (1..=2).contains(&after.len()) {
                (&written[..index], after)
            } else {
                (written, "")
            }
        }
        _ => (written, ""),
    };
    let integer_digits: String = integer_part.chars().filter(char::is_ascii_digit).collect();
    let integer_digits = integer_digits.trim_start_matches('0');
    let integer_digits = if integer_digits.is_empty() {
        "0"
    } else {
        integer_digits
    };
    if integer_part.is_empty() {
        return None;
    }
    if fraction_part.is_empty() {
        Some(integer_digits.to_owned())
    } else {
        Some(format!("{integer_digits}.{fraction_part}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn amounts(text: &str) -> Vec<(String, Option<&'static str>)> {
        let mut found = find_money(text);
        found.sort_by_key(|money| money.span.start);
        found
            .into_iter()
            .map(|money| (money.amount, money.currency))
            .collect()
    }

    #[test]
    fn normalises_separators() {
        assert_eq!(normalise_amount("1,299.00").as_deref(), Some("1299.00"));
        assert_eq!(normalise_amount("1.299,00").as_deref(), Some("1299.00"));
        assert_eq!(normalise_amount("1 299,5").as_deref(), Some("1299.5"));
        assert_eq!(normalise_amount("49,99").as_deref(), Some("49.99"));
        assert_eq!(normalise_amount("1,299").as_deref(), Some("1299"));
        assert_eq!(normalise_amount("007").as_deref(), Some("7"));
        assert_eq!(normalise_amount("0.99").as_deref(), Some("0.99"));
    }

    #[test]
    fn currency_before_and_after() {
        assert_eq!(
            amounts("paid $1,299.00 then 49,99 € and USD 20 and 30 dollars"),
            vec![
                ("1299.00".to_owned(), Some("USD")),
                ("49.99".to_owned(), Some("EUR")),
                ("20".to_owned(), Some("USD")),
                ("30".to_owned(), Some("USD")),
            ]
        );
    }

    #[test]
    fn bare_numbers_are_not_money() {
        assert!(amounts("order 558201, 3 items, 49.99").is_empty());
        assert!(amounts("$30k budget").is_empty());
    }
}
