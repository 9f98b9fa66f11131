//! Email addresses, shared by entity extraction and PII detection.
//!
//! A pragmatic pattern, not RFC 5322: a local part of letters, digits and `._%+-`, an `@`, and
//! a domain of dot-separated labels ending in an alphabetic top-level domain. Unicode letters
//! are accepted on both sides (internationalised addresses appear in real mail). Quoted local
//! parts and IP-literal domains are not recognised: customers do not write them.

use std::sync::LazyLock;

use regex::Regex;
use sb_domain::Span;

use super::scan::{char_after, is_word_char};

/// Unbounded repetitions on purpose: counted ones (`{0,62}`) over Unicode classes blow the
/// lazy DFA's cache and push the scan onto a much slower engine. Lengths are not enforced:
/// an over-long local part is still someone's attempt at an address.
static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?x)
        [\p{L}\p{N}_%+\-]                      # the local part starts and ends with a non-dot
        (?:[\p{L}\p{N}._%+\-]*[\p{L}\p{N}_%+\-])?
        @
        [\p{L}\p{N}](?:[\p{L}\p{N}\-]*[\p{L}\p{N}])?
        (?:\.[\p{L}\p{N}](?:[\p{L}\p{N}\-]*[\p{L}\p{N}])?)*
        \.\p{L}{2,}",
    )
    .expect("email pattern is valid")
});

/// An email address found in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FoundEmail {
    pub(crate) span: Span,
    /// The address with its domain lower-cased (domains are case-insensitive; local parts
    /// are kept as written because, in theory, they are not).
    pub(crate) address: String,
}

pub(crate) fn find_emails(text: &str) -> Vec<FoundEmail> {
    // Cheap pre-check: most messages have no `@` at all.
    if !text.contains('@') {
        return Vec::new();
    }
    EMAIL
        .find_iter(text)
        .filter_map(|found| {
            // The top-level domain must end the token ("a@b.com5" is not an address). Checked
            // here rather than with `\b`, which would slow the whole scan down on non-ASCII
            // text (see `dates`).
            if char_after(text, found.end()).is_some_and(is_word_char) {
                return None;
            }
            let matched = found.as_str();
            let (local_part, domain) = matched.split_once('@')?;
            Some(FoundEmail {
                span: Span::new(found.start(), found.end()),
                address: format!("{local_part}@{}", domain.to_lowercase()),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addresses(text: &str) -> Vec<String> {
        find_emails(text)
            .into_iter()
            .map(|email| email.address)
            .collect()
    }

    #[test]
    fn finds_plain_and_tagged_addresses() {
        assert_eq!(
            addresses("mail Jane.Doe+shop@Example.CO.uk, or <ops@mail.example.com>."),
            vec!["Jane.Doe+shop@example.co.uk", "ops@mail.example.com"]
        );
    }

    #[test]
    fn rejects_handles_and_bare_at_signs() {
        assert!(addresses("ping @support or me@localhost or a@b.c").is_empty());
    }

    #[test]
    fn accepts_unicode_local_parts() {
        assert_eq!(
            addresses("josé.núñez@correo.es"),
            vec!["josé.núñez@correo.es"]
        );
    }
}
