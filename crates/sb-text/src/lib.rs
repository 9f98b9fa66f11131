//! Text analysis for triage: pure, synchronous functions from text to findings.
//!
//! Nothing here does I/O or knows about models: every function takes text (and, for relative
//! dates, a reference date) and returns domain types, so each is tested as data.

pub mod entities;
pub mod language;
pub mod normalize;
pub mod pii;
pub mod sentiment;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid order-number pattern `{pattern}`: {reason}")]
    InvalidOrderPattern { pattern: String, reason: String },
    #[error("unknown phone region `{0}` (use an ISO 3166 alpha-2 code such as US or GB)")]
    UnknownPhoneRegion(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
