//! Small text helpers shared by the detectors: looking at the characters around a match and
//! pulling the digits out of a formatted number.
//!
//! All offsets are byte offsets that come from regex matches on `&str`, so they are on char
//! boundaries; the helpers still use checked slicing so a wrong offset yields `None`, never a
//! panic.

use sb_domain::Span;

/// The character that ends right before byte `offset`, if any.
pub(crate) fn char_before(text: &str, offset: usize) -> Option<char> {
    text.get(..offset)?.chars().next_back()
}

/// The character that starts at byte `offset`, if any.
pub(crate) fn char_after(text: &str, offset: usize) -> Option<char> {
    text.get(offset..)?.chars().next()
}

/// The character after the one that starts at `offset` (a one-character look-ahead past a
/// separator such as `-` or `.`).
pub(crate) fn second_char_after(text: &str, offset: usize) -> Option<char> {
    let mut chars = text.get(offset..)?.chars();
    chars.next()?;
    chars.next()
}

/// The ASCII digits of `text` as their numeric values, in order; everything else (spaces,
/// dashes, letters) is skipped.
pub(crate) fn digit_values(text: &str) -> Vec<u8> {
    text.bytes()
        .filter(u8::is_ascii_digit)
        .map(|byte| byte - b'0')
        .collect()
}

/// ASCII letters and digits of `text`, upper-cased, in order (for alphanumeric references
/// written with spaces, such as `1Z 999 AA1 ...`).
pub(crate) fn alphanumerics_upper(text: &str) -> String {
    text.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

pub(crate) fn count_ascii_digits(text: &str) -> usize {
    text.bytes().filter(u8::is_ascii_digit).count()
}

/// A word character in the Unicode sense of `\b`: letter, digit or underscore.
pub(crate) fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Whether the characters right outside `span` are not word characters: the Unicode meaning
/// of `\b` at both ends, for patterns that use the faster ASCII `(?-u:\b)`.
pub(crate) fn stands_alone(text: &str, span: Span) -> bool {
    !char_before(text, span.start).is_some_and(is_word_char)
        && !char_after(text, span.end).is_some_and(is_word_char)
}

/// Whether a match that starts at `start` sits inside a longer word or number: the character
/// before it is a letter, a digit or one of `extra`.
pub(crate) fn glued_before(text: &str, start: usize, extra: &[char]) -> bool {
    match char_before(text, start) {
        Some(c) => c.is_alphanumeric() || extra.contains(&c),
        None => false,
    }
}

/// Whether a match that ends at `end` runs on into a longer word or number: the next
/// character is a letter or digit, or a joiner (`-`, `/`, `.`, `,`) directly followed by a
/// letter or digit.
pub(crate) fn glued_after(text: &str, end: usize) -> bool {
    match char_after(text, end) {
        Some(c) if c.is_alphanumeric() => true,
        Some('-' | '/' | '.' | ',') => {
            matches!(second_char_after(text, end), Some(next) if next.is_alphanumeric())
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbours_respect_char_boundaries() {
        let text = "é1€";
        assert_eq!(char_before(text, 2), Some('é'));
        assert_eq!(char_before(text, 1), None);
        assert_eq!(char_after(text, 3), Some('€'));
        assert_eq!(char_after(text, 99), None);
        assert_eq!(second_char_after(text, 2), Some('€'));
    }

    #[test]
    fn stands_alone_uses_unicode_word_characters() {
        let text = "éabc 123 _x";
        assert!(!stands_alone(text, Span::new(2, 5)));
        assert!(stands_alone(text, Span::new(6, 9)));
        assert!(!stands_alone(text, Span::new(11, 12)));
    }

    #[test]
    fn glue_detects_longer_tokens() {
        let text = "x2025-03-14 and 558201.";
        assert!(glued_before(text, 1, &[]));
        assert!(glued_after(text, 5));
        assert!(!glued_after(text, 22));
    }
}
