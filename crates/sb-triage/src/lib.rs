//! The triage engine: one synchronous call from an inbound message to a [`TriageResult`].
//!
//! It wires text analysis (`sb-text`), the intent and severity models (`sb-classify`), the
//! optional sentence embeddings (`sb-embed`) and the explicit safety rules together, and owns
//! the rule "safety wins". It does no I/O after loading; callers in async code run it on a
//! blocking pool.
//!
//! Who decides what, in order: an emergency phrase (`safety`) makes a message safety with
//! `urgent` severity; otherwise the safety gate (a binary model with a threshold chosen for
//! the safety-recall target, `gate` and `train`) decides safety or not, and the intent model
//! picks the intent on that side; among harm messages the urgent gate decides `urgent`, and
//! the severity model chooses between `high` and `standard`. Models without gates (trained
//! on other label sets, or before the gates existed) keep the older rule: safety wins when
//! the safety intents together hold enough probability.

pub mod cues;
pub mod gate;
pub mod safety;
pub mod train;

pub use gate::{Gate, GateDecision, GateScore};
pub use train::{TriageCorpus, TriageTrainConfig, TriageTrainReport, TrainedTriage};

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
/// Subdirectory of a triage model that holds the safety gate (safety vs not).
pub const SAFETY_GATE_DIR: &str = "safety";
/// Subdirectory of a triage model that holds the urgent gate (urgent vs not, harm messages).
pub const URGENT_GATE_DIR: &str = "urgent";

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

/// File at the root of a triage model that says how it was trained.
pub const MANIFEST_FILE: &str = "triage.json";

/// Which text the models of a triage model read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelInput {
    /// Subject and normalised body, as they are (models trained on other label sets).
    ModelText,
    /// That text with figures of speech blanked and safety-cue markers appended
    /// ([`cues::marked_text`]): the taxonomy models.
    MarkedText,
}

impl ModelInput {
    pub fn text_for_models(self, model_text: &str) -> std::borrow::Cow<'_, str> {
        self.text_and_cues(model_text, &safety::without_figures_of_speech(model_text)).0
    }

    /// The text the models read and the safety cues of the message (found once for both);
    /// `blanked` is `model_text` with its figures of speech blanked.
    pub fn text_and_cues<'a>(self, model_text: &'a str, blanked: &str) -> (std::borrow::Cow<'a, str>, Vec<cues::Cue>) {
        match self {
            ModelInput::ModelText => (std::borrow::Cow::Borrowed(model_text), cues::find(blanked)),
            ModelInput::MarkedText => {
                let (marked, cues) = cues::mark(blanked);
                (std::borrow::Cow::Owned(marked), cues)
            }
        }
    }
}

/// How a triage model directory was trained; a directory without one is read as an older
/// model whose models read the text as it is.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriageManifest {
    pub recipe: String,
    pub models_read: ModelInput,
}

impl TriageManifest {
    pub fn load(dir: &Path) -> Result<Option<TriageManifest>> {
        let path = dir.join(MANIFEST_FILE);
        let model_error = |source| Error::Model { dir: dir.to_path_buf(), source };
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(model_error(sb_classify::Error::Io { path, source })),
        };
        let manifest = serde_json::from_slice(&bytes).map_err(|error| model_error(sb_classify::Error::Format(format!("{}: {error}", path.display()))))?;
        Ok(Some(manifest))
    }

    pub fn save(&self, dir: &Path) -> Result<()> {
        let path = dir.join(MANIFEST_FILE);
        let bytes = serde_json::to_vec_pretty(self).expect("manifest is plain data");
        std::fs::write(&path, bytes).map_err(|source| Error::Model { dir: dir.to_path_buf(), source: sb_classify::Error::Io { path, source } })
    }
}

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
    models_read: ModelInput,
    intent_model: Classifier,
    intents: Vec<Intent>,
    severity_model: Option<(Classifier, Vec<Severity>)>,
    safety_gate: Option<Gate>,
    urgent_gate: Option<Gate>,
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
        let load_gate = |name: &str| -> Result<Option<Gate>> {
            let gate_dir = dir.join(name);
            if !gate_dir.join("model.json").exists() {
                return Ok(None);
            }
            let gate = Gate::load(&gate_dir)?;
            check_embedder(&gate_dir, gate.model(), embedder.as_ref())?;
            Ok(Some(gate))
        };
        let models_read = TriageManifest::load(dir)?.map_or(ModelInput::ModelText, |manifest| manifest.models_read);
        let safety_gate = load_gate(SAFETY_GATE_DIR)?;
        let urgent_gate = load_gate(URGENT_GATE_DIR)?;
        let metadata = intent_model.metadata();
        let model_info = ModelInfo { name: metadata.name.clone(), version: metadata.version.clone(), features: metadata.feature_names() };
        let entities = EntityExtractor::new(&config.entities)?;
        let pii = PiiDetector::new(&config.entities.default_phone_region)?;
        Ok(TriageEngine { models_read, intent_model, intents, severity_model, safety_gate, urgent_gate, embedder, entities, pii, config, model_info })
    }

    pub fn model_info(&self) -> &ModelInfo {
        &self.model_info
    }

    /// The PII-redacted copy of `text`, as triage makes it.
    pub fn redact(&self, text: &str) -> sb_domain::Redaction {
        self.pii.redact(text)
    }

    pub fn uses_embeddings(&self) -> bool {
        let gates = self.safety_gate.iter().chain(&self.urgent_gate).map(Gate::model);
        std::iter::once(&self.intent_model).chain(gates).any(|model| model.embedding().is_some())
    }

    /// The safety gate's threshold and how it was chosen, when the model has one.
    pub fn safety_gate(&self) -> Option<&GateDecision> {
        self.safety_gate.as_ref().map(Gate::decision)
    }

    /// The urgent gate's threshold and how it was chosen, when the model has one.
    pub fn urgent_gate(&self) -> Option<&GateDecision> {
        self.urgent_gate.as_ref().map(Gate::decision)
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
        Ok(self.finish(normalized, &model_text, embedding.as_deref(), today)?.0)
    }

    /// Triage of many messages: embeddings are computed in batches, the rest in parallel.
    pub fn triage_batch(&self, messages: &[InboundMessage], today: NaiveDate) -> Vec<Result<TriageResult>> {
        self.triage_batch_explained(messages, today).into_iter().map(|outcome| outcome.map(|(result, _)| result)).collect()
    }

    /// [`TriageEngine::triage_batch`] with the safety scores behind each decision, for
    /// evaluation and error analysis.
    pub fn triage_batch_explained(&self, messages: &[InboundMessage], today: NaiveDate) -> Vec<Result<(TriageResult, SafetyAssessment)>> {
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

    fn finish(&self, normalized: String, model_text: &str, embedding: Option<&[f32]>, today: NaiveDate) -> Result<(TriageResult, SafetyAssessment)> {
        // Figures of speech are blanked once: the cues, the markers and the rules read the result.
        let blanked = safety::without_figures_of_speech(model_text);
        let (models_text, cues) = self.models_read.text_and_cues(model_text, &blanked);
        let prediction = self.intent_model.predict(&models_text, embedding.filter(|_| self.intent_model.embedding().is_some()))?;
        let signals = safety::signals_of_blanked(&blanked);
        let intent_safety_probability: f32 = self.intents.iter().zip(&prediction.probabilities).filter(|(intent, _)| intent.is_safety()).map(|(_, p)| p).sum();
        let safety_probability = self.safety_gate.as_ref().map(|gate| gate.probability(&models_text, embedding)).transpose()?;
        let safety_score = self.safety_gate.as_ref().zip(safety_probability).map(|(gate, probability)| gate.score(probability, intent_safety_probability));
        let (intent, safety_override) = self.choose_intent(&prediction, &signals, safety_score);
        let confidence = self.probability_of(&prediction, intent);
        let urgent_probability = match (&self.urgent_gate, intent) {
            (Some(gate), Intent::AdverseReaction | Intent::ProductHazard) => Some(gate.probability(&models_text, embedding)?),
            _ => None,
        };
        let severity = if intent.is_safety() { Some(self.severity(&models_text, embedding, intent, &signals, urgent_probability)?) } else { None };
        let assessment = SafetyAssessment { intent_safety_probability, safety_probability, safety_score, urgent_probability, signals, cues };
        let ranking = prediction
            .top_k(self.config.ranking_size)
            .into_iter()
            .map(|(class_idx, probability)| RankedIntent { intent: self.intents[class_idx], probability })
            .collect();
        let language = sb_text::language::detect(&normalized);
        let entities = self.entities.extract(&normalized, today);
        let redaction = self.pii.redact(&normalized);
        let sentiment = sb_text::sentiment::analyze(&normalized);
        let result = TriageResult {
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
        };
        Ok((result, assessment))
    }

    fn probability_of(&self, prediction: &Prediction, intent: Intent) -> f32 {
        self.intents.iter().position(|&candidate| candidate == intent).map_or(0.0, |idx| prediction.probabilities[idx])
    }

    /// The model's answer, unless the safety rules or the safety gate overrule it.
    fn choose_intent(&self, prediction: &Prediction, signals: &safety::SafetySignals, safety_score: Option<f32>) -> (Intent, Option<String>) {
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
        if signals.emergency {
            return (top_intent, None);
        }
        if let (Some(gate), Some(score)) = (&self.safety_gate, safety_score) {
            let threshold = gate.decision().threshold;
            let gate_says_safety = gate.says_yes(score);
            if gate_says_safety == top_intent.is_safety() {
                return (top_intent, None);
            }
            let Some((intent, _)) = best_among(&|intent: Intent| intent.is_safety() == gate_says_safety) else {
                return (top_intent, None);
            };
            let comparison = if gate_says_safety { ">=" } else { "<" };
            return (
                intent,
                Some(format!("safety gate: score {score:.3} {comparison} threshold {threshold:.3}; {} instead of {}", intent.as_str(), top_intent.as_str())),
            );
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

    /// Urgent when an emergency phrase or the urgent gate says so (never for privacy
    /// requests); otherwise the severity model's choice. With an urgent gate the severity
    /// model only chooses between `high` and `standard`: urgency is the gate's call.
    fn severity(&self, model_text: &str, embedding: Option<&[f32]>, intent: Intent, signals: &safety::SafetySignals, urgent_probability: Option<f32>) -> Result<Severity> {
        let can_be_urgent = intent != Intent::PrivacyRequest;
        if signals.emergency && can_be_urgent {
            return Ok(Severity::Urgent);
        }
        if let (Some(gate), Some(probability)) = (&self.urgent_gate, urgent_probability) {
            if can_be_urgent && gate.says_yes(probability) {
                return Ok(Severity::Urgent);
            }
        }
        let Some((model, severities)) = &self.severity_model else {
            // Without a severity model, err on the side of a faster response.
            return Ok(if intent == Intent::PrivacyRequest { Severity::Standard } else { Severity::High });
        };
        let urgency_decided = self.urgent_gate.is_some() || !can_be_urgent;
        let prediction = model.predict(model_text, embedding.filter(|_| model.embedding().is_some()))?;
        let best = severities
            .iter()
            .copied()
            .zip(prediction.probabilities.iter().copied())
            .filter(|(severity, _)| !(urgency_decided && *severity == Severity::Urgent))
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map_or(Severity::High, |(severity, _)| severity);
        Ok(best)
    }
}

/// The safety scores behind one decision, for evaluation and error analysis.
#[derive(Debug, Clone, PartialEq)]
pub struct SafetyAssessment {
    /// Probability the intent model gives the three safety intents together.
    pub intent_safety_probability: f32,
    /// The safety gate's probability, when the model has a gate.
    pub safety_probability: Option<f32>,
    /// What the safety gate's threshold was compared with.
    pub safety_score: Option<f32>,
    /// The urgent gate's probability, for messages the decision made harm messages.
    pub urgent_probability: Option<f32>,
    pub signals: safety::SafetySignals,
    /// Safety cues found in the text (figures of speech blanked).
    pub cues: Vec<cues::Cue>,
}
