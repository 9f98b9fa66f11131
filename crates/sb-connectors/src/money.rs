//! Exact conversion of shop money strings (`"19.99"`) into minor units (`1999`).
//!
//! Shops send amounts as decimal strings precisely so that nobody rounds them through a float;
//! this module keeps that promise with integer arithmetic only.

/// The number of decimal places of a currency's minor unit (ISO 4217): 2 for most, 0 for yen
/// and won, 3 for the dinars. An unknown code gets 2, the common case.
pub fn currency_exponent(currency: &str) -> u32 {
    const ZERO_DECIMAL: &[&str] =
        &["BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF"];
    const THREE_DECIMAL: &[&str] = &["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"];
    let code = currency.trim().to_ascii_uppercase();
    if ZERO_DECIMAL.contains(&code.as_str()) {
        0
    } else if THREE_DECIMAL.contains(&code.as_str()) {
        3
    } else {
        2
    }
}

/// Parses a non-negative decimal amount into minor units with `exponent` decimal places.
///
/// `None` when the text is not a plain decimal (`"1e3"`, `"-5"`, `" 5"`, `"5."`), when it has
/// more significant decimals than the currency's minor unit (`"19.999"` in USD: rounding it would
/// invent money), or when it overflows. Trailing zeros past the exponent are fine: `"1500.00"`
/// JPY is 1500.
pub fn parse_minor_units(amount: &str, exponent: u32) -> Option<i64> {
    let (integer_digits, fraction_digits) = match amount.split_once('.') {
        Some((integer_digits, fraction_digits)) => {
            if fraction_digits.is_empty() {
                return None;
            }
            (integer_digits, fraction_digits)
        }
        None => (amount, ""),
    };
    let is_digits = |text: &str| text.bytes().all(|byte| byte.is_ascii_digit());
    if integer_digits.is_empty() || !is_digits(integer_digits) || !is_digits(fraction_digits) {
        return None;
    }
    let exponent_len = usize::try_from(exponent).ok()?;
    let (kept_fraction, dropped_fraction) = fraction_digits.split_at(fraction_digits.len().min(exponent_len));
    if dropped_fraction.bytes().any(|byte| byte != b'0') {
        return None;
    }

    let mut minor_units: i64 = 0;
    for digit in integer_digits.bytes().chain(kept_fraction.bytes()) {
        minor_units = minor_units.checked_mul(10)?.checked_add(i64::from(digit - b'0'))?;
    }
    // Pad a short fraction: "19.9" in a 2-decimal currency is 1990, not 199.
    for _ in kept_fraction.len()..exponent_len {
        minor_units = minor_units.checked_mul(10)?;
    }
    Some(minor_units)
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{expect, Expect};

    fn check(amount: &str, currency: &str, expect: Expect) {
        let parsed = parse_minor_units(amount, currency_exponent(currency));
        expect.assert_eq(&format!("{parsed:?}"));
    }

    #[test]
    fn plain_amounts() {
        check("19.99", "USD", expect!["Some(1999)"]);
        check("19.9", "USD", expect!["Some(1990)"]);
        check("19", "EUR", expect!["Some(1900)"]);
        check("0.05", "usd", expect!["Some(5)"]);
        check("0", "USD", expect!["Some(0)"]);
        check("007.10", "USD", expect!["Some(710)"]);
    }

    #[test]
    fn currencies_with_other_minor_units() {
        check("1500", "JPY", expect!["Some(1500)"]);
        check("1500.00", "JPY", expect!["Some(1500)"]);
        check("1500.50", "JPY", expect!["None"]);
        check("1.250", "KWD", expect!["Some(1250)"]);
        check("1.25", "KWD", expect!["Some(1250)"]);
    }

    #[test]
    fn never_rounds() {
        check("19.999", "USD", expect!["None"]);
        check("19.990", "USD", expect!["Some(1999)"]);
    }

    #[test]
    fn rejects_what_is_not_a_plain_decimal() {
        for amount in ["", ".", "5.", ".5", "-5.00", "+5", " 5", "5 ", "1e3", "1,000.00", "NaN", "5.0.0", "١٢"] {
            assert_eq!(parse_minor_units(amount, 2), None, "{amount:?}");
        }
    }

    #[test]
    fn overflow_is_none_not_a_panic() {
        check("92233720368547758.07", "USD", expect!["Some(9223372036854775807)"]);
        check("92233720368547758.08", "USD", expect!["None"]);
        check("99999999999999999999999", "USD", expect!["None"]);
    }
}
