//! The triage engine: one synchronous call from an inbound message to a [`TriageResult`].
//!
//! It wires text analysis (`sb-text`), the intent and severity models (`sb-classify`), the
//! optional sentence embeddings (`sb-embed`) and the explicit safety rules together, and owns
//! the rule "safety wins". It does no I/O after loading; callers in async code run it on a
//! blocking pool.

pub mod safety;

use chrono::NaiveDate;
use rayon::prelude::*;
use sb_classify::{Classifier, Prediction};
use sb_domain::{InboundMessage, Intent, ModelInfo, RankedIntent, Severity, TriageResult};
use sb_embed::Embedder;
use sb_text::entities::{EntityConfig, EntityExtractor};
use sb_text::pii::PiiDetector;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Subdirectory of a triage model that holds the severity model.
pub const SEVERITY_DIR: &str = "severity";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot load the triage model from {dir}: {source}")]
    Model { dir: PathBuf, source: sb_classify::Error },
    #[error("the model's labels are not the Switchboard taxonomy: {0}")]
    NotTaxonomy(#[from] sb_domain::UnknownLabel),
    #[error("the model in {dir} needs sentence embeddings ({model_id}) but the embedding model is not loaded; run scripts/fetch-model.sh or use a TF-IDF-only model")]
    EmbedderMissing { dir: PathBuf, model_id: String },
    #[error("the model in {dir} was trained with embedding model {expected} but {found} is loaded; retrain with `switchboard train`")]
    EmbedderMismatch { dir: PathBuf, expected: String, found: String },
    #[error("embedding failed: {0}")]
    Embedding(#[from] sb_embed::Error),
    #[error("embedding the batch failed: {0}")]
    BatchEmbedding(String),
    #[error("classification failed: {0}")]
    Classify(#[from] sb_classify::Error),
    #[error(transparent)]
    Text(#[from] sb_text::Error),
    #[error("the message has no text to triage")]
    EmptyText,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, Clone)]
pub struct TriageConfig {
    pub entities: EntityConfig,
    /// When the model's top intent is not a safety intent but the safety intents together
    /// have at least this probability, the best safety intent wins (PRODUCT.md: safety wins).
    pub safety_wins_probability: f32,
    /// How many intents the ranking keeps.
    pub ranking_size: usize,
}

impl Default for TriageConfig {
    fn default() -> TriageConfig {
        TriageConfig { entities: EntityConfig::default(), safety_wins_probability: 0.35, ranking_size: 3 }
    }
}

pub struct TriageEngine {
    intent_model: Classifier,
    intents: Vec<Intent>,
    severity_model: Option<(Classifier, Vec<Severity>)>,
    embedder: Option<Arc<Embedder>>,
    entities: EntityExtractor,
    pii: PiiDetector,
    config: TriageConfig,
    model_info: ModelInfo,
}

fn check_embedder(dir: &Path, classifier: &Classifier, embedder: Option<&Arc<Embedder>>) -> Result<()> {
    let Some(spec) = classifier.embedding() else { return Ok(()) };
    let Some(embedder) = embedder else {
        return Err(Error::EmbedderMissing { dir: dir.to_path_buf(), model_id: spec.model_id.clone() });
    };
    if embedder.model_id() != spec.model_id {
        return Err(Error::EmbedderMismatch { dir: dir.to_path_buf(), expected: spec.model_id.clone(), found: embedder.model_id().to_string() });
    }
    Ok(())
}

impl TriageEngine {
    /// Loads a triage model directory (intent model at its root, severity model in
    /// `severity/` when present).
    pub fn load(dir: &Path, embedder: Option<Arc<Embedder>>, config: TriageConfig) -> Result<TriageEngine> {
        let intent_model = Classifier::load(dir).map_err(|source| Error::Model { dir: dir.to_path_buf(), source })?;
        check_embedder(dir, &intent_model, embedder.as_ref())?;
        let intents = intent_model.labels().iter().map(|label| label.parse::<Intent>()).collect::<Result<Vec<_>, _>>()?;
        let severity_dir = dir.join(SEVERITY_DIR);
        let severity_model = if severity_dir.join("model.json").exists() {
            let model = Classifier::load(&severity_dir).map_err(|source| Error::Model { dir: severity_dir.clone(), source })?;
            check_embedder(&severity_dir, &model, embedder.as_ref())?;
            let severities = model.labels().iter().map(|label| label.parse::<Severity>()).collect::<Result<Vec<_>, _>>()?;
            Some((model, severities))
        } else {
            None
        };
        let metadata = intent_model.metadata();
        let model_info = ModelInfo { name: metadata.name.clone(), version: metadata.version.clone(), features: metadata.feature_names() };
        let entities = EntityExtractor::new(&config.entities)?;
        let pii = PiiDetector::new(&config.entities.default_phone_region)?;
        Ok(TriageEngine { intent_model, intents, severity_model, embedder, entities, pii, config, model_info })
    }

    pub fn model_info(&self) -> &ModelInfo {
        &self.model_info
    }

    pub fn uses_embeddings(&self) -> bool {
        self.intent_model.embedding().is_some()
    }

    /// The text the models read: subject (when there is one) and the normalised body.
    fn model_text(message: &InboundMessage, normalized: &str) -> String {
        match message.subject.as_deref().map(str::trim).filter(|subject| !subject.is_empty()) {
            Some(subject) => format!("{subject}\n{normalized}"),
            None => normalized.to_string(),
        }
    }

    pub fn triage(&self, message: &InboundMessage, today: NaiveDate) -> Result<TriageResult> {
        let normalized = sb_text::normalize::normalize(message);
        let model_text = Self::model_text(message, &normalized);
        if model_text.trim().is_empty() {
            return Err(Error::EmptyText);
        }
        let embedding = match (&self.embedder, self.uses_embeddings()) {
            (Some(embedder), true) => Some(embedder.embed_one(&model_text)?),
            _ => None,
        };
        self.finish(normalized, &model_text, embedding.as_deref(), today)
    }

    /// Triage of many messages: embeddings are computed in batches, the rest in parallel.
    pub fn triage_batch(&self, messages: &[InboundMessage], today: NaiveDate) -> Vec<Result<TriageResult>> {
        let prepared: Vec<(String, String)> = messages
            .par_iter()
            .map(|message| {
                let normalized = sb_text::normalize::normalize(message);
                let model_text = Self::model_text(message, &normalized);
                (normalized, model_text)
            })
            .collect();
        let embeddings: Option<Result<Vec<Vec<f32>>>> = match (&self.embedder, self.uses_embeddings()) {
            (Some(embedder), true) => {
                let texts: Vec<&str> = prepared.iter().map(|(_, model_text)| model_text.as_str()).collect();
                Some(embedder.embed(&texts).map_err(Error::from))
            }
            _ => None,
        };
        let embeddings = match embeddings {
            Some(Err(error)) => {
                let message = error.to_string();
                return messages.iter().map(|_| Err(Error::BatchEmbedding(message.clone()))).collect();
            }
            Some(Ok(vectors)) => Some(vectors),
            None => None,
        };
        prepared
            .into_par_iter()
            .enumerate()
            .map(|(message_idx, (normalized, model_text))| {
                if model_text.trim().is_empty() {
                    return Err(Error::EmptyText);
                }
                let embedding = embeddings.as_ref().map(|vectors| vectors[message_idx].as_slice());
                self.finish(normalized, &model_text, embedding, today)
            })
            .collect()
    }

    fn finish(&self, normalized: String, model_text: &str, embedding: Option<&[f32]>, today: NaiveDate) -> Result<TriageResult> {
        let prediction = self.intent_model.predict(model_text, embedding)?;
        let signals = safety::signals(model_text);
        let (intent, safety_override) = self.choose_intent(&prediction, &signals);
        let confidence = self.probability_of(&prediction, intent);
        let severity = if intent.is_safety() { Some(self.severity(model_text, embedding, intent, &signals)?) } else { None };
        let ranking = prediction
            .top_k(self.config.ranking_size)
            .into_iter()
            .map(|(class_idx, probability)| RankedIntent { intent: self.intents[class_idx], probability })
            .collect();
        let language = sb_text::language::detect(&normalized);
        let entities = self.entities.extract(&normalized, today);
        let redaction = self.pii.redact(&normalized);
        let sentiment = sb_text::sentiment::analyze(&normalized);
        Ok(TriageResult {
            category: intent.category(),
            intent,
            confidence,
            ranking,
            severity,
            safety_override,
            sentiment,
            language,
            entities,
            pii: redaction.spans,
            normalized_text: normalized,
            redacted_text: redaction.redacted_text,
            model: self.model_info.clone(),
        })
    }

    fn probability_of(&self, prediction: &Prediction, intent: Intent) -> f32 {
        self.intents.iter().position(|&candidate| candidate == intent).map_or(0.0, |idx| prediction.probabilities[idx])
    }

    /// The model's answer, unless the safety rules overrule it.
    fn choose_intent(&self, prediction: &Prediction, signals: &safety::SafetySignals) -> (Intent, Option<String>) {
        let (top_idx, _) = prediction.top_k(1)[0];
        let top_intent = self.intents[top_idx];
        let best_among = |allowed: &dyn Fn(Intent) -> bool| {
            self.intents
                .iter()
                .copied()
                .zip(prediction.probabilities.iter().copied())
                .filter(|(intent, _)| allowed(*intent))
                .max_by(|a, b| a.1.total_cmp(&b.1))
        };
        if signals.emergency && !matches!(top_intent, Intent::AdverseReaction | Intent::ProductHazard) {
            if let Some((intent, _)) = best_among(&|intent| matches!(intent, Intent::AdverseReaction | Intent::ProductHazard)) {
                return (intent, Some(format!("emergency phrase found: {} instead of {}", intent.as_str(), top_intent.as_str())));
            }
        }
        if top_intent.is_safety() {
            return (top_intent, None);
        }
        let safety_probability: f32 = self.intents.iter().zip(&prediction.probabilities).filter(|(intent, _)| intent.is_safety()).map(|(_, p)| p).sum();
        if safety_probability >= self.config.safety_wins_probability && !signals.figure_of_speech {
            if let Some((intent, _)) = best_among(&|intent: Intent| intent.is_safety()) {
                return (
                    intent,
                    Some(format!("safety wins: safety intents hold {:.2} of the probability; {} instead of {}", safety_probability, intent.as_str(), top_intent.as_str())),
                );
            }
        }
        (top_intent, None)
    }

    fn severity(&self, model_text: &str, embedding: Option<&[f32]>, intent: Intent, signals: &safety::SafetySignals) -> Result<Severity> {
        if signals.emergency && intent != Intent::PrivacyRequest {
            return Ok(Severity::Urgent);
        }
        let Some((model, severities)) = &self.severity_model else {
            // Without a severity model, err on the side of a faster response.
            return Ok(if intent == Intent::PrivacyRequest { Severity::Standard } else { Severity::High });
        };
        let prediction = model.predict(model_text, embedding.filter(|_| model.embedding().is_some()))?;
        let (best_idx, _) = prediction.top_k(1)[0];
        Ok(severities[best_idx])
    }
}
