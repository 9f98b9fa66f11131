//! What text analysis finds in a message: language, entities, PII and sentiment.
//!
//! Spans are byte offsets into the *normalised* text (the text triage works on), half-open
//! `[start, end)`, always on UTF-8 character boundaries.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        debug_assert!(start <= end);
        Span { start, end }
    }

    pub fn len(&self) -> usize {
        self.end - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    pub fn overlaps(&self, other: &Span) -> bool {
        self.start < other.end && other.start < self.end
    }
}

/// Detected language: an ISO 639-1 code where one exists (ISO 639-3 otherwise) and the
/// detector's confidence in [0, 1].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Language {
    pub code: String,
    pub confidence: f32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    OrderNumber,
    TrackingNumber,
    Money,
    Date,
    Email,
    Phone,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Carrier {
    Ups,
    Fedex,
    Usps,
    Dhl,
}

impl Carrier {
    pub fn as_str(self) -> &'static str {
        match self {
            Carrier::Ups => "ups",
            Carrier::Fedex => "fedex",
            Carrier::Usps => "usps",
            Carrier::Dhl => "dhl",
        }
    }

    /// The name customers know.
    pub fn display_name(self) -> &'static str {
        match self {
            Carrier::Ups => "UPS",
            Carrier::Fedex => "FedEx",
            Carrier::Usps => "USPS",
            Carrier::Dhl => "DHL",
        }
    }

    /// The carrier's public tracking page for a tracking number (the query formats the
    /// carriers' own sites use).
    pub fn tracking_url(self, tracking_number: &str) -> String {
        let number: String = tracking_number.chars().filter(char::is_ascii_alphanumeric).collect();
        match self {
            Carrier::Ups => format!("https://www.ups.com/track?tracknum={number}"),
            Carrier::Fedex => format!("https://www.fedex.com/fedextrack/?trknbr={number}"),
            Carrier::Usps => format!("https://tools.usps.com/go/TrackConfirmAction?tLabels={number}"),
            Carrier::Dhl => format!("https://www.dhl.com/global-en/home/tracking.html?tracking-id={number}"),
        }
    }
}

/// The normalised value of an entity, typed by kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EntityValue {
    /// An order reference as the shop writes it (`A10493`, `558201`).
    OrderNumber { number: String },
    /// A carrier tracking number; `check_digit_valid` is `None` where the carrier defines no
    /// check digit for that format.
    TrackingNumber { number: String, carrier: Carrier, check_digit_valid: Option<bool> },
    /// An amount in minor-unit-free decimal form (`"19.99"`) with its ISO 4217 currency when
    /// the text names one.
    Money { amount: String, currency: Option<String> },
    /// A calendar date (ISO 8601, `YYYY-MM-DD`), resolved against the reference date for
    /// relative expressions; `relative` keeps whether it was relative ("last Tuesday").
    Date { date: String, relative: bool },
    Email { address: String },
    /// A phone number in E.164 form.
    Phone { e164: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Entity {
    pub kind: EntityKind,
    /// The text as it appears in the message.
    pub text: String,
    pub span: Span,
    pub value: EntityValue,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PiiKind {
    Email,
    Phone,
    Card,
    Iban,
    NationalId,
    Address,
}

impl PiiKind {
    /// The placeholder that replaces this kind in a redacted text.
    pub fn placeholder(self) -> &'static str {
        match self {
            PiiKind::Email => "[EMAIL]",
            PiiKind::Phone => "[PHONE]",
            PiiKind::Card => "[CARD]",
            PiiKind::Iban => "[IBAN]",
            PiiKind::NationalId => "[NATIONAL_ID]",
            PiiKind::Address => "[ADDRESS]",
        }
    }
}

/// One piece of PII found in the normalised text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PiiSpan {
    pub kind: PiiKind,
    pub span: Span,
}

/// The redacted copy of a text and what was taken out of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redaction {
    pub redacted_text: String,
    /// Spans in the original (normalised) text, sorted, non-overlapping.
    pub spans: Vec<PiiSpan>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SentimentLabel {
    Negative,
    Neutral,
    Positive,
}

impl SentimentLabel {
    pub fn as_str(self) -> &'static str {
        match self {
            SentimentLabel::Negative => "negative",
            SentimentLabel::Neutral => "neutral",
            SentimentLabel::Positive => "positive",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Sentiment {
    /// In [-1, 1]: -1 very negative, 1 very positive.
    pub score: f32,
    pub label: SentimentLabel,
}
