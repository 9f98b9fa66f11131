//! The canonical form of an order number, so that what the customer typed and what the shop
//! stores compare equal.

/// Longer references are not order numbers; the cap also keeps junk out of shop queries.
const MAX_ORDER_NUMBER_LEN: usize = 64;

/// `#A10493`, `A10493`, ` a10493 ` → `A10493`.
///
/// Strips surrounding whitespace and one leading `#`, upper-cases ASCII letters. `None` when
/// nothing is left or when the rest is not made of ASCII letters, digits, `-` and `_` (the
/// characters shops allow in order-name prefixes and suffixes).
pub fn normalize_order_number(raw: &str) -> Option<String> {
    let trimmed = raw.trim();
    let without_hash = trimmed.strip_prefix('#').unwrap_or(trimmed);
    if without_hash.is_empty() || without_hash.len() > MAX_ORDER_NUMBER_LEN {
        return None;
    }
    if !without_hash.chars().all(|character| character.is_ascii_alphanumeric() || character == '-' || character == '_') {
        return None;
    }
    Some(without_hash.to_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{expect, Expect};

    fn check(raw: &str, expect: Expect) {
        expect.assert_eq(&format!("{:?}", normalize_order_number(raw)));
    }

    #[test]
    fn spellings_of_one_order() {
        check("#A10493", expect![[r#"Some("A10493")"#]]);
        check("A10493", expect![[r#"Some("A10493")"#]]);
        check("a10493", expect![[r#"Some("A10493")"#]]);
        check("  #a10493\n", expect![[r#"Some("A10493")"#]]);
        check("#1001", expect![[r#"Some("1001")"#]]);
        check("SB-1001_eu", expect![[r#"Some("SB-1001_EU")"#]]);
    }

    #[test]
    fn not_order_numbers() {
        check("", expect!["None"]);
        check("#", expect!["None"]);
        check("##1001", expect!["None"]);
        check("A 10493", expect!["None"]);
        check("1001&status=any", expect!["None"]);
        check("Ä10493", expect!["None"]);
        check(&"9".repeat(65), expect!["None"]);
    }
}
