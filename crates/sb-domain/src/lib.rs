//! Shared domain types of Switchboard.
//!
//! This crate is pure data: it knows nothing about text analysis, models, storage or HTTP.
//! Every other crate speaks in these types, so they are serialisable and stable; a wire DTO
//! is derived from them at the server edge, never the other way round.
//!
//! With the `openapi` feature (enabled by sb-server only) the types the REST API sends also
//! derive `utoipa::ToSchema`, so the API's OpenAPI document describes them from their own
//! serde attributes instead of a hand-kept copy.

mod message;
mod order;
mod taxonomy;
mod text;
mod triage;

pub use message::{Channel, InboundMessage};
pub use order::{Order, OrderItem, OrderStatus};
pub use taxonomy::{Category, Intent, Severity, UnknownLabel};
pub use text::{Carrier, Entity, EntityKind, EntityValue, Language, PiiKind, PiiSpan, Redaction, Sentiment, SentimentLabel, Span};
pub use triage::{ModelInfo, RankedIntent, TriageResult};
