//! Entity extraction: the references a support agent (or a workflow) acts on — order numbers,
//! carrier tracking numbers, money amounts, dates, email addresses and phone numbers.
//!
//! Each kind has its own detector module that proposes candidates; [`EntityExtractor::extract`]
//! then keeps a non-overlapping set, preferring the more specific kind where two claim the
//! same characters. The ranking, most specific first:
//!
//! 1. email — an `@` address wins over the digits inside it;
//! 2. tracking number — checksummed carrier formats;
//! 3. order number — matched by the configured patterns, which carry context ("order", `#`);
//! 4. date;
//! 5. phone — validated against the numbering plan, but still the kind most numbers could be;
//! 6. money.
//!
//! Some things are found only to block others: payment card numbers and IBANs are never
//! reported as phones or tracking numbers, and nothing but tracking and order numbers is
//! looked for inside URLs (`?id=4155552671` is not a phone).
//!
//! Spans are byte offsets into the text given, on char boundaries; output is sorted by start.

mod dates;
pub(crate) mod emails;
mod money;
pub(crate) mod overlap;
pub(crate) mod phones;
pub(crate) mod scan;
pub(crate) mod tracking;

use std::sync::LazyLock;

use chrono::NaiveDate;
use regex::Regex;
use sb_domain::{Entity, EntityKind, EntityValue, Span};
use serde::{Deserialize, Serialize};

use self::dates::NumericDateOrder;
use self::overlap::{keep_non_overlapping, Ranked, SpanSet};
use self::scan::{char_after, second_char_after};
use crate::pii::{cards, iban};
use crate::{Error, Result};

/// Configuration of [`EntityExtractor`].
///
/// # Order patterns
///
/// Each entry of `order_patterns` is a regular expression (Rust `regex` syntax) with exactly
/// one capture group; the group is the order number, the rest of the match is context that
/// must be present ("order", "Bestellung", `#`). The entity's span and text are those of the
/// group. Patterns are case-sensitive unless they say `(?i)`. Matches are skipped when the
/// captured number runs straight on into a longer token (`order 2025-03-14` does not give
/// order `2025-03`): the character after the group must not be a letter or digit, nor `-`,
/// `/`, `.` or `,` followed by one.
///
/// `default_phone_region` (ISO 3166 alpha-2, e.g. `US`, `GB`, `DE`) is the region numbers
/// without a `+` country code are parsed in. It also decides how ambiguous numeric dates are
/// read: month first (`03/04/2025` is March 4) for the US and its territories, day first
/// everywhere else.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct EntityConfig {
    pub order_patterns: Vec<String>,
    pub default_phone_region: String,
}

impl Default for EntityConfig {
    fn default() -> EntityConfig {
        EntityConfig {
            order_patterns: DEFAULT_ORDER_PATTERNS
                .iter()
                .map(|pattern| (*pattern).to_owned())
                .collect(),
            default_phone_region: "US".to_owned(),
        }
    }
}

/// The default order patterns, see [`EntityConfig`] for the contract.
const DEFAULT_ORDER_PATTERNS: &[&str] = &[
    // `#A10493`, `#558201`: a hash, up to three letters, four or more digits. `\B` before `#`
    // keeps `C#1234`-like tokens out (the regex crate has no look-behind).
    r"\B#([A-Za-z]{0,3}[0-9]{4,12})\b",
    // "order 558201", "order #558201", "order no. 77120-B", "Order Number: A10493",
    // "Bestellung 123456", "Bestellnummer: 123456", "pedido nº 123456", "commande n° 123456".
    r"(?i)\b(?:order|bestellung|bestellnummer|auftrag|auftragsnummer|pedido|commande)(?:[ \t]+(?:number|num|no|nr|n[°º]|id|número|numero|numéro|nummer))?\.?(?:[ \t]+is)?[ \t]*:?[ \t]*#?[ \t]*([A-Z]{0,3}[0-9]{4,12}(?:-[A-Z0-9]{1,6})?)\b",
    // "ORD-2024-99812", "ord-558201", "ORD558201": the prefix is part of the number.
    r"(?i)\b(ORD-?[0-9]{2,8}(?:-[0-9]{2,10})?)\b",
];

/// Pieces of text that are links; phones, dates and amounts are not looked for inside them.
static URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?-u:\b)(?:https?://|www\.)[^\s<>()]+").expect("url pattern is valid")
});

/// Extracts entities from normalised text. Build it once (it compiles the order patterns)
/// and share it: it is `Send + Sync` and `extract` takes `&self`.
#[derive(Debug, Clone)]
pub struct EntityExtractor {
    order_patterns: Vec<Regex>,
    phone_region: phonenumber::country::Id,
    numeric_date_order: NumericDateOrder,
}

/// Lower ranks win overlaps; see the module documentation.
const RANK_EMAIL: u8 = 0;
const RANK_TRACKING: u8 = 1;
const RANK_ORDER: u8 = 2;
const RANK_DATE: u8 = 3;
const RANK_PHONE: u8 = 4;
const RANK_MONEY: u8 = 5;

impl EntityExtractor {
    /// Compiles the configuration. Errors: [`Error::InvalidOrderPattern`] when a pattern does
    /// not compile or does not have exactly one capture group; [`Error::UnknownPhoneRegion`]
    /// when the region has no numbering plan.
    pub fn new(config: &EntityConfig) -> Result<EntityExtractor> {
        let order_patterns = config
            .order_patterns
            .iter()
            .map(|pattern| compile_order_pattern(pattern))
            .collect::<Result<Vec<_>>>()?;
        Ok(EntityExtractor {
            order_patterns,
            phone_region: phones::parse_phone_region(&config.default_phone_region)?,
            numeric_date_order: NumericDateOrder::for_region(&config.default_phone_region),
        })
    }

    /// The entities of `text`, sorted by span start, no two overlapping. `today` resolves
    /// relative dates ("yesterday") and dates written without a year.
    pub fn extract(&self, text: &str, today: NaiveDate) -> Vec<Entity> {
        if text.is_empty() {
            return Vec::new();
        }
        let mut candidates: Vec<Ranked<EntityValue>> = Vec::new();

        let mut url_spans = SpanSet::new();
        if text.contains("://") || text.contains("www.") || text.contains("WWW.") {
            url_spans.extend(
                URL.find_iter(text)
                    .map(|found| Span::new(found.start(), found.end())),
            );
        }
        // Cards and IBANs are not entities, but their digits must not become phones or
        // tracking numbers.
        let mut not_entity_spans = SpanSet::new();
        not_entity_spans.extend(cards::find_cards(text));
        not_entity_spans.extend(iban::find_ibans(text));

        for email in emails::find_emails(text) {
            candidates.push(Ranked {
                span: email.span,
                rank: RANK_EMAIL,
                item: EntityValue::Email {
                    address: email.address,
                },
            });
        }
        for tracking in tracking::find_tracking_numbers(text, &not_entity_spans) {
            candidates.push(Ranked {
                span: tracking.span,
                rank: RANK_TRACKING,
                item: EntityValue::TrackingNumber {
                    number: tracking.number,
                    carrier: tracking.carrier,
                    check_digit_valid: tracking.check_digit_valid,
                },
            });
        }
        self.push_order_numbers(text, &mut candidates);
        for date in dates::find_dates(text, today, self.numeric_date_order) {
            if url_spans.overlaps(date.span) {
                continue;
            }
            candidates.push(Ranked {
                span: date.span,
                rank: RANK_DATE,
                item: EntityValue::Date {
                    date: date.date.format("%Y-%m-%d").to_string(),
                    relative: date.relative,
                },
            });
        }
        for money in money::find_money(text) {
            if url_spans.overlaps(money.span) {
                continue;
            }
            candidates.push(Ranked {
                span: money.span,
                rank: RANK_MONEY,
                item: EntityValue::Money {
                    amount: money.amount,
                    currency: money.currency.map(str::to_owned),
                },
            });
        }

        // Phones go last: everything more specific found so far is blocked, which both
        // prevents misreadings and saves the parses.
        let mut phone_blocked = not_entity_spans;
        phone_blocked.extend(url_spans.into_spans());
        phone_blocked.extend(
            candidates
                .iter()
                .filter(|candidate| candidate.rank < RANK_PHONE)
                .map(|candidate| candidate.span),
        );
        for phone in phones::find_phones(text, self.phone_region, &phone_blocked) {
            candidates.push(Ranked {
                span: phone.span,
                rank: RANK_PHONE,
                item: EntityValue::Phone { e164: phone.e164 },
            });
        }

        keep_non_overlapping(candidates)
            .into_iter()
            .filter_map(|ranked| {
                let written = text.get(ranked.span.start..ranked.span.end)?;
                Some(Entity {
                    kind: kind_of(&ranked.item),
                    text: written.to_owned(),
                    span: ranked.span,
                    value: ranked.item,
                })
            })
            .collect()
    }

    fn push_order_numbers(&self, text: &str, candidates: &mut Vec<Ranked<EntityValue>>) {
        for (span, number) in find_order_numbers(&self.order_patterns, text) {
            candidates.push(Ranked {
                span,
                rank: RANK_ORDER,
                item: EntityValue::OrderNumber {
                    number: number.to_owned(),
                },
            });
        }
    }
}

/// The default order patterns, compiled once (PII detection uses them to recognise order
/// numbers, which are not PII).
pub(crate) static DEFAULT_ORDER_REGEXES: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    DEFAULT_ORDER_PATTERNS
        .iter()
        .map(|pattern| compile_order_pattern(pattern).expect("default order patterns are valid"))
        .collect()
});

/// Order numbers matched by `patterns` (each with one capture group, see [`EntityConfig`]):
/// the span and text of each capture. Matches of different patterns may overlap.
pub(crate) fn find_order_numbers<'t>(patterns: &[Regex], text: &'t str) -> Vec<(Span, &'t str)> {
    let mut found = Vec::new();
    for pattern in patterns {
        for captures in pattern.captures_iter(text) {
            let Some(number) = captures.get(1) else {
                continue;
            };
            if number.is_empty() || order_number_runs_on(text, number.end()) {
                continue;
            }
            found.push((Span::new(number.start(), number.end()), number.as_str()));
        }
    }
    found
}

fn kind_of(value: &EntityValue) -> EntityKind {
    match value {
        EntityValue::OrderNumber { .. } => EntityKind::OrderNumber,
        EntityValue::TrackingNumber { .. } => EntityKind::TrackingNumber,
        EntityValue::Money { .. } => EntityKind::Money,
        EntityValue::Date { .. } => EntityKind::Date,
        EntityValue::Email { .. } => EntityKind::Email,
        EntityValue::Phone { .. } => EntityKind::Phone,
    }
}

/// See the order-pattern contract on [`EntityConfig`].
fn order_number_runs_on(text: &str, end: usize) -> bool {
    match char_after(text, end) {
        Some(next) if next.is_alphanumeric() => true,
        Some('-' | '/' | '.' | ',') => {
            matches!(second_char_after(text, end), Some(after) if after.is_alphanumeric())
        }
        _ => false,
    }
}

fn compile_order_pattern(pattern: &str) -> Result<Regex> {
    let regex = Regex::new(pattern).map_err(|error| Error::InvalidOrderPattern {
        pattern: pattern.to_owned(),
        reason: error.to_string(),
    })?;
    // `captures_len` counts the implicit whole-match group 0.
    let n_groups = regex.captures_len() - 1;
    if n_groups != 1 {
        return Err(Error::InvalidOrderPattern {
            pattern: pattern.to_owned(),
            reason: format!(
                "expected exactly one capture group for the order number, found {n_groups}"
            ),
        });
    }
    Ok(regex)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 3, 14).expect("valid date")
    }

    #[test]
    fn default_config_compiles_and_is_send_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<EntityExtractor>();
        assert!(EntityExtractor::new(&EntityConfig::default()).is_ok());
        assert_eq!(DEFAULT_ORDER_REGEXES.len(), DEFAULT_ORDER_PATTERNS.len());
    }

    #[test]
    fn order_patterns_need_exactly_one_group() {
        for pattern in [r"order [0-9]+", r"(order) ([0-9]+)", r"order (["] {
            let config = EntityConfig {
                order_patterns: vec![pattern.to_owned()],
                ..EntityConfig::default()
            };
            assert!(
                matches!(
                    EntityExtractor::new(&config),
                    Err(Error::InvalidOrderPattern { .. })
                ),
                "{pattern}"
            );
        }
        let config = EntityConfig {
            order_patterns: vec![r"(?:ref|REF)-([0-9]{6})".to_owned()],
            ..EntityConfig::default()
        };
        let extractor = EntityExtractor::new(&config).expect("pattern is valid");
        let entities = extractor.extract("see ref-123456", today());
        assert_eq!(entities.len(), 1);
        assert_eq!(
            entities[0].value,
            EntityValue::OrderNumber {
                number: "123456".to_owned()
            }
        );
    }

    #[test]
    fn unknown_region_is_an_error() {
        let config = EntityConfig {
            default_phone_region: "ZZ".to_owned(),
            ..EntityConfig::default()
        };
        assert!(matches!(
            EntityExtractor::new(&config),
            Err(Error::UnknownPhoneRegion(_))
        ));
    }

    #[test]
    fn config_deserialises_with_defaults() {
        let config: EntityConfig =
            serde_json::from_str(r#"{"default_phone_region":"GB"}"#).expect("valid config");
        assert_eq!(
            config.order_patterns,
            EntityConfig::default().order_patterns
        );
        assert!(serde_json::from_str::<EntityConfig>(r#"{"region":"GB"}"#).is_err());
    }

    #[test]
    fn spans_stay_on_char_boundaries_for_odd_unicode() {
        let extractor = EntityExtractor::new(&EntityConfig::default()).expect("default config");
        let inputs = [
            "",
            "\u{0}",
            "😀😀 #A10493 😀 +1 415 555 2671 😀 €49,99",
            "ｏｒｄｅｒ １２３４５６ ٤١٥٥٥٥٢٦٧١",
            "é1Z4F82X70312345675é x@y.zz\u{200d}",
            "#########################",
            "1111111111111111111111111111111111111111111111111111111111",
        ];
        for input in inputs {
            for entity in extractor.extract(input, today()) {
                assert!(
                    input.is_char_boundary(entity.span.start)
                        && input.is_char_boundary(entity.span.end)
                );
                assert_eq!(&input[entity.span.start..entity.span.end], entity.text);
            }
        }
    }
}
