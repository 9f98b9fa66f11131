//! The result of triaging one message: everything the decision policy and an agent need.

use crate::{Category, Entity, Intent, Language, PiiSpan, Sentiment, Severity};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RankedIntent {
    pub intent: Intent,
    pub probability: f32,
}

/// Name and version of the model that produced a result, kept in every decision record so
/// re-triage after a model update can be told apart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelInfo {
    pub name: String,
    pub version: String,
    /// Feature families the model used for this result (`tfidf`, `minilm`).
    pub features: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TriageResult {
    pub category: Category,
    pub intent: Intent,
    /// Calibrated probability of `intent`.
    pub confidence: f32,
    /// Top intents, most probable first.
    pub ranking: Vec<RankedIntent>,
    /// Set only for `safety_compliance`.
    pub severity: Option<Severity>,
    /// Why the safety rules changed the model's answer, when they did.
    pub safety_override: Option<String>,
    pub sentiment: Sentiment,
    pub language: Language,
    pub entities: Vec<Entity>,
    pub pii: Vec<PiiSpan>,
    /// The normalised text the analysis ran on.
    pub normalized_text: String,
    pub redacted_text: String,
    pub model: ModelInfo,
}
