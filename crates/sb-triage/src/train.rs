//! Training a triage model directory: the intent model, the severity model and the two
//! binary gates (safety vs not, urgent vs not) whose thresholds are chosen on out-of-fold
//! predictions of the training data itself.
//!
//! Why gates: the intent model spreads a safety message's probability over fifteen intents,
//! so "is this safety?" is answered by a sum of three probabilities that was never trained as
//! such, and no threshold on it is chosen for the product's targets (safety recall, urgent
//! recall, few false alarms). A dedicated binary model is trained on exactly that question;
//! its threshold is the highest one that still reaches the target recall on predictions for
//! rows the model did not see (K folds of the training data). The test data never enters.
//!
//! Embeddings come in precomputed (this crate never runs the transformer to train), so a
//! caller that trains several models on subsets of one corpus embeds it once.

use crate::gate::{Gate, GateDecision, GateScore};
use crate::{ModelInput, TriageManifest};
use crate::safety;
use sb_classify::{split::stratified_folds, Classifier, EmbeddingMatrix, TrainConfig, TrainEvent, TrainReport, TrainingData};
use sb_domain::{Intent, Severity};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Labels of the binary gate models (sorted, as `sb_classify` orders labels).
pub const GATE_NEGATIVE: &str = "no";
pub const GATE_POSITIVE: &str = "yes";

/// Bumped when the way a triage model is trained changes, so cached models are retrained.
const TRAINING_RECIPE: &str = "marked-text+intent+severity+safety-gate+urgent-gate+folded-cues/3";

/// Everything besides the corpus and the configuration that shapes a trained model: the
/// recipe version, the figure-of-speech patterns, the emergency patterns (an emergency row does
/// not set a gate's threshold) and the cue patterns that shape the gates' training texts. Callers that cache trained models key them by it.
pub fn recipe_fingerprint() -> String {
    format!("{TRAINING_RECIPE}|{}|{}|{}", safety::FIGURE_OF_SPEECH_PATTERNS.join("|"), safety::EMERGENCY_PATTERNS.join("|"), crate::cues::fingerprint())
}

/// A labelled corpus in the taxonomy's CSV shape.
pub struct TriageCorpus<'a> {
    pub texts: Vec<&'a str>,
    pub intents: Vec<&'a str>,
    /// Severity of each row (empty string for rows without one), or `None` when the corpus
    /// has no severity column.
    pub severities: Option<Vec<&'a str>>,
    /// Sentence embeddings of `texts`, row-major.
    pub embeddings: Option<EmbeddingMatrix>,
}

#[derive(Debug, Clone)]
pub struct TriageTrainConfig {
    /// Intent model configuration; the other models derive theirs from it.
    pub intent: TrainConfig,
    /// Recall the safety gate must reach on out-of-fold predictions of the training data.
    pub safety_recall_target: f64,
    /// Recall the urgent gate must reach, among safety rows, on out-of-fold predictions.
    pub urgent_recall_target: f64,
    /// Folds for the out-of-fold predictions that choose the gate thresholds.
    pub gate_folds: usize,
}

impl TriageTrainConfig {
    pub fn new(intent: TrainConfig) -> TriageTrainConfig {
        TriageTrainConfig { intent, safety_recall_target: 0.99, urgent_recall_target: 0.97, gate_folds: 5 }
    }
}

/// What training measured, kept in the gates' `decision.json` and shown by the CLI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TriageTrainReport {
    pub intent: TrainReport,
    pub safety_gate: Option<GateDecision>,
    pub urgent_gate: Option<GateDecision>,
}

/// A trained triage model, ready to be saved as a directory [`crate::TriageEngine::load`] reads.
pub struct TrainedTriage {
    pub manifest: TriageManifest,
    pub intent_model: Classifier,
    pub severity_model: Option<Classifier>,
    pub safety_gate: Option<Gate>,
    pub urgent_gate: Option<Gate>,
    pub report: TriageTrainReport,
}

impl TrainedTriage {
    pub fn save(&self, dir: &Path) -> crate::Result<()> {
        let model_error = |dir: &Path| {
            let dir = dir.to_path_buf();
            move |source| crate::Error::Model { dir, source }
        };
        self.intent_model.save(dir).map_err(model_error(dir))?;
        self.manifest.save(dir)?;
        if let Some(severity_model) = &self.severity_model {
            let severity_dir = dir.join(crate::SEVERITY_DIR);
            severity_model.save(&severity_dir).map_err(model_error(&severity_dir))?;
        }
        if let Some(gate) = &self.safety_gate {
            gate.save(&dir.join(crate::SAFETY_GATE_DIR))?;
        }
        if let Some(gate) = &self.urgent_gate {
            gate.save(&dir.join(crate::URGENT_GATE_DIR))?;
        }
        Ok(())
    }
}

/// Forwards a sub-model's training events with the sub-model's name in front.
fn named<'a>(name: &'a str, progress: &'a (dyn Fn(TrainEvent) + Sync)) -> impl Fn(TrainEvent) + Sync + 'a {
    move |event| match event {
        TrainEvent::Stage { description, step, n_steps } => progress(TrainEvent::Stage { description: format!("{name}: {description}"), step, n_steps }),
        other => progress(other),
    }
}

fn subset_embeddings(matrix: Option<&EmbeddingMatrix>, indices: &[usize]) -> Option<EmbeddingMatrix> {
    let matrix = matrix?;
    let mut vectors = Vec::with_capacity(indices.len() * matrix.dim);
    for &idx in indices {
        vectors.extend_from_slice(&matrix.vectors[idx * matrix.dim..(idx + 1) * matrix.dim]);
    }
    Some(EmbeddingMatrix { model_id: matrix.model_id.clone(), dim: matrix.dim, vectors })
}

fn embedding_row(matrix: Option<&EmbeddingMatrix>, idx: usize) -> Option<&[f32]> {
    matrix.map(|matrix| &matrix.vectors[idx * matrix.dim..(idx + 1) * matrix.dim])
}

/// Out-of-fold scores of `positive` examples from K models, each trained on the other folds
/// with `fit_and_score`; the folds are stratified by `strata`.
fn out_of_fold_scores(
    strata: &[u32],
    n_strata: usize,
    n_folds: usize,
    seed: u64,
    mut fit_and_score: impl FnMut(usize, &[usize], &[usize]) -> crate::Result<Vec<f32>>,
) -> crate::Result<Vec<f32>> {
    let fold_of = stratified_folds(strata, n_strata, n_folds, seed);
    let mut scores = vec![0.0f32; strata.len()];
    for fold in 0..n_folds {
        let train_idx: Vec<usize> = (0..strata.len()).filter(|&idx| fold_of[idx] != fold).collect();
        let held_idx: Vec<usize> = (0..strata.len()).filter(|&idx| fold_of[idx] == fold).collect();
        for (idx, score) in held_idx.iter().zip(fit_and_score(fold, &train_idx, &held_idx)?) {
            scores[*idx] = score;
        }
    }
    Ok(scores)
}

/// The configuration that refits a model with the hyper-parameters a full fit chose.
fn refit_config(config: &TrainConfig, report: &TrainReport) -> TrainConfig {
    TrainConfig {
        c_grid: vec![report.chosen_c],
        embedding_scale_grid: report.chosen_embedding_scale.map_or_else(|| config.embedding_scale_grid.clone(), |scale| vec![scale]),
        ..config.clone()
    }
}

fn gate_labels(positive: &[bool]) -> Vec<&'static str> {
    positive.iter().map(|&positive| if positive { GATE_POSITIVE } else { GATE_NEGATIVE }).collect()
}

fn positive_probability(model: &Classifier, text: &str, embedding: Option<&[f32]>) -> crate::Result<f32> {
    let positive_idx = model.labels().iter().position(|label| label == GATE_POSITIVE).expect("both gate labels are present");
    Ok(model.predict(text, embedding)?.probabilities[positive_idx])
}

/// Probability the intent model gives the safety intents together.
fn safety_mass(model: &Classifier, text: &str, embedding: Option<&[f32]>) -> crate::Result<f32> {
    let prediction = model.predict(text, embedding)?;
    Ok(model.labels().iter().zip(&prediction.probabilities).filter(|(label, _)| label.parse::<Intent>().is_ok_and(Intent::is_safety)).map(|(_, p)| p).sum())
}

/// Trains every part of a triage model. For the Switchboard taxonomy the models read the
/// marked text (see [`crate::cues::marked_text`]) and the safety and urgent gates are trained
/// with thresholds from out-of-fold scores; for other label sets only the intent (and
/// severity) model, on the text as it is.
pub fn train(corpus: &TriageCorpus<'_>, config: &TriageTrainConfig, progress: &(dyn Fn(TrainEvent) + Sync)) -> crate::Result<TrainedTriage> {
    let n_rows = corpus.texts.len();
    let all_rows: Vec<usize> = (0..n_rows).collect();
    let embeddings = corpus.embeddings.as_ref();
    let intents: Option<Vec<Intent>> = corpus.intents.iter().map(|label| label.parse::<Intent>().ok()).collect();
    let reads = if intents.is_some() { ModelInput::MarkedText } else { ModelInput::ModelText };
    let marked: Vec<String> = corpus.texts.iter().map(|text| reads.text_for_models(text).into_owned()).collect();
    let texts: Vec<&str> = marked.iter().map(String::as_str).collect();

    let intent_data = TrainingData { texts: texts.clone(), labels: corpus.intents.clone(), embeddings: subset_embeddings(embeddings, &all_rows) };
    let (intent_model, intent_report) = sb_classify::train(&intent_data, &config.intent, &named("intent", progress))?;

    // Severity (in practice high vs standard: urgency is the urgent gate's call), learnt from
    // wording; TF-IDF alone keeps it cheap.
    let severity_model = match &corpus.severities {
        Some(severities) => {
            let (severity_texts, severity_labels): (Vec<&str>, Vec<&str>) =
                texts.iter().zip(severities).filter(|(_, severity)| !severity.is_empty()).map(|(text, severity)| (*text, *severity)).unzip();
            if severity_texts.is_empty() {
                None
            } else {
                let severity_config = TrainConfig { name: format!("{}-severity", config.intent.name), ..config.intent.clone() };
                let data = TrainingData { texts: severity_texts, labels: severity_labels, embeddings: None };
                Some(sb_classify::train(&data, &severity_config, &named("severity", progress))?.0)
            }
        }
        None => None,
    };

    let (mut safety_gate, mut urgent_gate) = (None, None);
    let n_folds = config.gate_folds;
    // An emergency phrase decides before any gate (safety, urgent), so the messages it catches
    // do not set the gates' thresholds: they count as caught, scored 1.
    let emergency: Vec<bool> = corpus.texts.iter().map(|text| safety::signals(text).emergency).collect();
    let unless_emergency = |row: usize, score: f32| if emergency[row] { 1.0 } else { score };
    if let Some(intents) = &intents {
        let positive: Vec<bool> = intents.iter().map(|intent| intent.is_safety()).collect();
        let n_positive = positive.iter().filter(|&&positive| positive).count();
        if n_positive >= n_folds * 2 && n_rows - n_positive >= n_folds * 2 {
            // The safety score is the mean of the gate's probability and the intent model's
            // safety mass: two differently trained views of one question err on different
            // messages, and their mean ranks safety messages above the rest better than
            // either (measured with `switchboard eval-triage --cross-validate`).
            let labels = gate_labels(&positive);
            let gate_config = TrainConfig { name: format!("{}-safety", config.intent.name), ..config.intent.clone() };
            let data = TrainingData { texts: texts.clone(), labels: labels.clone(), embeddings: subset_embeddings(embeddings, &all_rows) };
            let (gate_model, gate_report) = sb_classify::train(&data, &gate_config, &named("safety gate", progress))?;
            let gate_refit = refit_config(&gate_config, &gate_report);
            let intent_refit = refit_config(&config.intent, &intent_report);
            let strata: Vec<u32> = intents.iter().map(|intent| Intent::ALL.iter().position(|other| other == intent).expect("taxonomy intent") as u32).collect();
            let scores = out_of_fold_scores(&strata, Intent::ALL.len(), n_folds, config.intent.seed.wrapping_add(17), |fold, train_idx, held_idx| {
                let stage = format!("safety fold {}/{n_folds}", fold + 1);
                let gather = |idx: &[usize]| -> (Vec<&str>, Option<EmbeddingMatrix>) { (idx.iter().map(|&row| texts[row]).collect(), subset_embeddings(embeddings, idx)) };
                let (fold_texts, fold_embeddings) = gather(train_idx);
                let gate_data = TrainingData { texts: fold_texts.clone(), labels: train_idx.iter().map(|&row| labels[row]).collect(), embeddings: fold_embeddings };
                let (fold_gate, _) = sb_classify::train(&gate_data, &gate_refit, &named(&format!("{stage} gate"), progress))?;
                let (fold_texts, fold_embeddings) = gather(train_idx);
                let intent_data = TrainingData { texts: fold_texts, labels: train_idx.iter().map(|&row| corpus.intents[row]).collect(), embeddings: fold_embeddings };
                let (fold_intent, _) = sb_classify::train(&intent_data, &intent_refit, &named(&format!("{stage} intent"), progress))?;
                held_idx
                    .iter()
                    .map(|&row| {
                        let embedding = embedding_row(embeddings, row);
                        let score = (positive_probability(&fold_gate, texts[row], embedding)? + safety_mass(&fold_intent, texts[row], embedding)?) / 2.0;
                        Ok(unless_emergency(row, score))
                    })
                    .collect()
            })?;
            let decision = GateDecision::for_recall(&scores, &positive, config.safety_recall_target, n_folds, GateScore::MeanWithIntentSafety);
            safety_gate = Some(Gate::new(gate_model, decision)?);
        }
        // The urgent gate sees only harm messages (urgency never applies to privacy requests).
        if let Some(severities) = &corpus.severities {
            let harm_rows: Vec<usize> = (0..n_rows).filter(|&row| matches!(intents[row], Intent::AdverseReaction | Intent::ProductHazard)).collect();
            let urgent: Vec<bool> = harm_rows.iter().map(|&row| severities[row].parse::<Severity>().ok() == Some(Severity::Urgent)).collect();
            let n_urgent = urgent.iter().filter(|&&urgent| urgent).count();
            if n_urgent >= n_folds * 2 && urgent.len() - n_urgent >= n_folds * 2 {
                let labels = gate_labels(&urgent);
                let harm_texts: Vec<&str> = harm_rows.iter().map(|&row| texts[row]).collect();
                let harm_embeddings = subset_embeddings(embeddings, &harm_rows);
                let gate_config = TrainConfig { name: format!("{}-urgent", config.intent.name), ..config.intent.clone() };
                let data = TrainingData { texts: harm_texts.clone(), labels: labels.clone(), embeddings: subset_embeddings(harm_embeddings.as_ref(), &(0..harm_rows.len()).collect::<Vec<_>>()) };
                let (gate_model, gate_report) = sb_classify::train(&data, &gate_config, &named("urgent gate", progress))?;
                let gate_refit = refit_config(&gate_config, &gate_report);
                let strata: Vec<u32> = urgent.iter().map(|&urgent| urgent as u32).collect();
                let scores = out_of_fold_scores(&strata, 2, n_folds, config.intent.seed.wrapping_add(29), |fold, train_idx, held_idx| {
                    let data = TrainingData {
                        texts: train_idx.iter().map(|&idx| harm_texts[idx]).collect(),
                        labels: train_idx.iter().map(|&idx| labels[idx]).collect(),
                        embeddings: subset_embeddings(harm_embeddings.as_ref(), train_idx),
                    };
                    let (fold_gate, _) = sb_classify::train(&data, &gate_refit, &named(&format!("urgent fold {}/{n_folds}", fold + 1), progress))?;
                    held_idx
                        .iter()
                        .map(|&idx| Ok(unless_emergency(harm_rows[idx], positive_probability(&fold_gate, harm_texts[idx], embedding_row(harm_embeddings.as_ref(), idx))?)))
                        .collect()
                })?;
                let decision = GateDecision::for_recall(&scores, &urgent, config.urgent_recall_target, n_folds, GateScore::GateProbability);
                urgent_gate = Some(Gate::new(gate_model, decision)?);
            }
        }
    }
    let report = TriageTrainReport {
        intent: intent_report,
        safety_gate: safety_gate.as_ref().map(|gate: &Gate| gate.decision().clone()),
        urgent_gate: urgent_gate.as_ref().map(|gate: &Gate| gate.decision().clone()),
    };
    Ok(TrainedTriage { manifest: TriageManifest { recipe: TRAINING_RECIPE.to_string(), models_read: reads }, intent_model, severity_model, safety_gate, urgent_gate, report })
}
