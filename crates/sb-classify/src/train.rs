//! Training: hyper-parameter selection on a validation split carved from the training data,
//! temperature calibration on held-out training folds, and a final fit on all the data.
//!
//! The test set never enters here: `switchboard eval` trains through this module on the
//! training file alone and only then scores the test file.

use crate::calibrate::fit_temperature;
use crate::features::{Scratch, SparseVec, Tfidf, TfidfConfig};
use crate::lbfgs::{minimize, LbfgsConfig};
use crate::linear::{softmax_in_place, Examples, Linear, Objective};
use crate::model::{Classifier, EmbeddingSpec, ModelMetadata, MODEL_FORMAT, MODEL_FORMAT_VERSION};
use crate::split::{stratified_folds, stratified_holdout};
use crate::{Error, Result};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::time::Instant;

#[derive(Debug, Clone)]
pub struct TrainConfig {
    pub name: String,
    pub version: String,
    pub tfidf: TfidfConfig,
    /// Inverse regularisation strengths to try (scikit-learn's `C`).
    pub c_grid: Vec<f32>,
    /// Scales of the embedding block to try (ignored without embeddings).
    pub embedding_scale_grid: Vec<f32>,
    /// Share of the training data held out to choose hyper-parameters.
    pub validation_fraction: f64,
    /// Folds whose out-of-fold logits fit the temperature; 1 reuses the validation split.
    pub calibration_folds: usize,
    pub lbfgs: LbfgsConfig,
    pub seed: u64,
}

impl Default for TrainConfig {
    fn default() -> TrainConfig {
        TrainConfig {
            name: "intent".to_string(),
            version: "1".to_string(),
            tfidf: TfidfConfig::default(),
            c_grid: vec![10.0, 30.0, 100.0],
            embedding_scale_grid: vec![1.0, 2.0],
            validation_fraction: 0.1,
            calibration_folds: 1,
            lbfgs: LbfgsConfig::default(),
            seed: 0,
        }
    }
}

/// Sentence embeddings of the training texts, row-major `n × dim`, unit length.
pub struct EmbeddingMatrix {
    pub model_id: String,
    pub dim: usize,
    pub vectors: Vec<f32>,
}

pub struct TrainingData<'a> {
    pub texts: Vec<&'a str>,
    pub labels: Vec<&'a str>,
    pub embeddings: Option<EmbeddingMatrix>,
}

/// Progress of a training run, for a progress bar.
#[derive(Debug, Clone)]
pub enum TrainEvent {
    /// A new stage starts; `step` of `n_steps` fits in total.
    Stage { description: String, step: usize, n_steps: usize },
    /// One optimiser iteration finished.
    Iteration { iteration: usize, objective: f64 },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GridPoint {
    pub c: f32,
    pub embedding_scale: Option<f32>,
    pub validation_accuracy: f64,
    pub validation_log_loss: f64,
    pub iterations: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainReport {
    pub n_examples: usize,
    pub n_classes: usize,
    pub n_validation: usize,
    pub n_tfidf_features: usize,
    pub features: Vec<String>,
    pub grid: Vec<GridPoint>,
    pub chosen_c: f32,
    pub chosen_embedding_scale: Option<f32>,
    pub temperature: f32,
    pub calibration_examples: usize,
    pub final_iterations: usize,
    pub final_converged: bool,
    pub train_seconds: f64,
}

fn transform_all(tfidf: &Tfidf, texts: &[&str]) -> Vec<SparseVec> {
    texts
        .par_iter()
        .map_init(Scratch::default, |scratch, text| {
            let mut vector = SparseVec::default();
            tfidf.transform_into(text, scratch, &mut vector);
            vector
        })
        .collect()
}

fn gather<T: Clone>(items: &[T], indices: &[usize]) -> Vec<T> {
    indices.iter().map(|&idx| items[idx].clone()).collect()
}

fn gather_rows(matrix: &[f32], dim: usize, indices: &[usize], scale: f32) -> Vec<f32> {
    let mut out = Vec::with_capacity(indices.len() * dim);
    for &idx in indices {
        out.extend(matrix[idx * dim..(idx + 1) * dim].iter().map(|value| value * scale));
    }
    out
}

/// One fitted subset: the vocabulary fitted on its texts and its featurised examples.
struct Featurised {
    tfidf: Tfidf,
    sparse: Vec<SparseVec>,
}

impl Featurised {
    fn new(config: &TfidfConfig, texts: &[&str]) -> Featurised {
        let tfidf = Tfidf::fit(config, texts);
        let sparse = transform_all(&tfidf, texts);
        Featurised { tfidf, sparse }
    }
}

fn fit_linear(
    sparse: &[SparseVec],
    dense: &[f32],
    n_dense: usize,
    labels: &[u32],
    n_classes: usize,
    n_sparse: usize,
    c: f32,
    warm_start: Option<&Linear>,
    config: &LbfgsConfig,
    progress: &(dyn Fn(TrainEvent) + Sync),
) -> (Linear, crate::lbfgs::LbfgsOutcome) {
    let examples = Examples { sparse, dense, n_dense, labels };
    let objective = Objective { examples: &examples, n_classes, n_sparse, c };
    let mut linear = warm_start.cloned().unwrap_or_else(|| Linear::zeros(n_classes, n_sparse, n_dense));
    let outcome = minimize(
        &mut linear.params,
        config,
        |params, gradient| objective.value_and_gradient(params, gradient),
        |iteration, value| progress(TrainEvent::Iteration { iteration, objective: value }),
    );
    (linear, outcome)
}

/// Logits of `sparse`/`dense` examples under `linear`, row-major.
fn logits_of(linear: &Linear, sparse: &[SparseVec], dense: &[f32], n_dense: usize) -> Vec<f32> {
    let n_classes = linear.n_classes;
    let mut logits = vec![0.0f32; sparse.len() * n_classes];
    logits.par_chunks_mut(n_classes).enumerate().for_each(|(idx, row)| {
        let dense_row = if n_dense == 0 { &[][..] } else { &dense[idx * n_dense..(idx + 1) * n_dense] };
        linear.logits_into(&sparse[idx], dense_row, row);
    });
    logits
}

fn accuracy_and_log_loss(logits: &[f32], n_classes: usize, gold: &[u32]) -> (f64, f64) {
    let mut correct = 0usize;
    let mut log_loss = 0.0f64;
    let mut scratch = vec![0.0f32; n_classes];
    for (row, &label) in logits.chunks_exact(n_classes).zip(gold) {
        scratch.copy_from_slice(row);
        let log_normaliser = softmax_in_place(&mut scratch, 1.0);
        let best = scratch.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map(|(idx, _)| idx).unwrap_or(0);
        correct += (best == label as usize) as usize;
        log_loss += (log_normaliser - row[label as usize]) as f64;
    }
    (correct as f64 / gold.len().max(1) as f64, log_loss / gold.len().max(1) as f64)
}

/// Trains a calibrated classifier. `progress` receives stages and optimiser iterations.
pub fn train(data: &TrainingData<'_>, config: &TrainConfig, progress: &(dyn Fn(TrainEvent) + Sync)) -> Result<(Classifier, TrainReport)> {
    let started = Instant::now();
    validate(data, config)?;
    let labels: Vec<String> = data.labels.iter().map(|label| label.to_string()).collect::<BTreeSet<_>>().into_iter().collect();
    let n_classes = labels.len();
    let gold: Vec<u32> = data.labels.iter().map(|label| labels.binary_search_by(|probe| probe.as_str().cmp(label)).expect("label in set") as u32).collect();
    let dim = data.embeddings.as_ref().map_or(0, |matrix| matrix.dim);
    let scales: Vec<Option<f32>> = match &data.embeddings {
        Some(_) => config.embedding_scale_grid.iter().map(|&scale| Some(scale)).collect(),
        None => vec![None],
    };
    let n_calibration_fits = if config.calibration_folds >= 2 { config.calibration_folds } else { 0 };
    let n_steps = scales.len() * config.c_grid.len() + n_calibration_fits + 1;
    let mut step = 0usize;
    let mut announce = |description: String| {
        step += 1;
        progress(TrainEvent::Stage { description, step, n_steps });
    };

    // 1. Hyper-parameters on a stratified validation split of the training data.
    let (fit_idx, validation_idx) = stratified_holdout(&gold, n_classes, config.validation_fraction, config.seed);
    let fit_texts = gather(&data.texts, &fit_idx);
    let validation_texts = gather(&data.texts, &validation_idx);
    let fit_gold = gather(&gold, &fit_idx);
    let validation_gold = gather(&gold, &validation_idx);
    let fit_part = Featurised::new(&config.tfidf, &fit_texts);
    let validation_sparse = transform_all(&fit_part.tfidf, &validation_texts);
    let n_sparse = fit_part.tfidf.n_features();

    let mut grid = Vec::new();
    // (accuracy, -log_loss) of the best point, its hyper-parameters and validation logits.
    let mut best: Option<((f64, f64), f32, Option<f32>, Vec<f32>)> = None;
    let mut sorted_c = config.c_grid.clone();
    sorted_c.sort_by(f32::total_cmp);
    for &scale in &scales {
        let (fit_dense, validation_dense) = match (&data.embeddings, scale) {
            (Some(matrix), Some(scale)) => (gather_rows(&matrix.vectors, dim, &fit_idx, scale), gather_rows(&matrix.vectors, dim, &validation_idx, scale)),
            _ => (Vec::new(), Vec::new()),
        };
        // Ascending C with warm starts: each solution is a good start for the next, weaker
        // regularisation.
        let mut previous: Option<Linear> = None;
        for &c in &sorted_c {
            announce(format!("validation fit C={c}{}", scale.map(|s| format!(" embedding scale {s}")).unwrap_or_default()));
            let (linear, outcome) = fit_linear(&fit_part.sparse, &fit_dense, dim, &fit_gold, n_classes, n_sparse, c, previous.as_ref(), &config.lbfgs, progress);
            let logits = logits_of(&linear, &validation_sparse, &validation_dense, dim);
            let (accuracy, log_loss) = accuracy_and_log_loss(&logits, n_classes, &validation_gold);
            grid.push(GridPoint { c, embedding_scale: scale, validation_accuracy: accuracy, validation_log_loss: log_loss, iterations: outcome.iterations });
            let key = (accuracy, -log_loss);
            if best.as_ref().is_none_or(|(best_key, ..)| key > *best_key) {
                best = Some((key, c, scale, logits));
            }
            previous = Some(linear);
        }
    }
    let (_, chosen_c, chosen_scale, validation_logits) = best.expect("grid is not empty");

    // 2. Temperature on held-out logits: the validation split, or K out-of-fold predictions.
    let (temperature, calibration_examples) = if config.calibration_folds >= 2 {
        let fold_of = stratified_folds(&gold, n_classes, config.calibration_folds, config.seed.wrapping_add(1));
        let mut all_logits = Vec::new();
        let mut all_gold = Vec::new();
        for fold in 0..config.calibration_folds {
            announce(format!("calibration fold {}/{}", fold + 1, config.calibration_folds));
            let train_idx: Vec<usize> = (0..gold.len()).filter(|&idx| fold_of[idx] != fold).collect();
            let held_idx: Vec<usize> = (0..gold.len()).filter(|&idx| fold_of[idx] == fold).collect();
            let part = Featurised::new(&config.tfidf, &gather(&data.texts, &train_idx));
            let held_sparse = transform_all(&part.tfidf, &gather(&data.texts, &held_idx));
            let (train_dense, held_dense) = match (&data.embeddings, chosen_scale) {
                (Some(matrix), Some(scale)) => (gather_rows(&matrix.vectors, dim, &train_idx, scale), gather_rows(&matrix.vectors, dim, &held_idx, scale)),
                _ => (Vec::new(), Vec::new()),
            };
            let train_gold = gather(&gold, &train_idx);
            let (linear, _) = fit_linear(&part.sparse, &train_dense, dim, &train_gold, n_classes, part.tfidf.n_features(), chosen_c, None, &config.lbfgs, progress);
            all_logits.extend(logits_of(&linear, &held_sparse, &held_dense, dim));
            all_gold.extend(gather(&gold, &held_idx));
        }
        (fit_temperature(&all_logits, n_classes, &all_gold), all_gold.len())
    } else {
        (fit_temperature(&validation_logits, n_classes, &validation_gold), validation_gold.len())
    };

    // 3. Final fit on all the training data.
    announce(format!("final fit on {} examples", data.texts.len()));
    let full = Featurised::new(&config.tfidf, &data.texts);
    let full_dense = match (&data.embeddings, chosen_scale) {
        (Some(matrix), Some(scale)) => matrix.vectors.iter().map(|value| value * scale).collect(),
        _ => Vec::new(),
    };
    let (linear, outcome) = fit_linear(&full.sparse, &full_dense, dim, &gold, n_classes, full.tfidf.n_features(), chosen_c, None, &config.lbfgs, progress);

    let embedding = match (&data.embeddings, chosen_scale) {
        (Some(matrix), Some(scale)) => Some(EmbeddingSpec { model_id: matrix.model_id.clone(), dim, scale }),
        _ => None,
    };
    let mut report = TrainReport {
        n_examples: data.texts.len(),
        n_classes,
        n_validation: validation_idx.len(),
        n_tfidf_features: full.tfidf.n_features(),
        features: Vec::new(),
        grid,
        chosen_c,
        chosen_embedding_scale: chosen_scale,
        temperature,
        calibration_examples,
        final_iterations: outcome.iterations,
        final_converged: outcome.converged,
        train_seconds: 0.0,
    };
    let mut metadata = ModelMetadata {
        format: MODEL_FORMAT.to_string(),
        format_version: MODEL_FORMAT_VERSION,
        name: config.name.clone(),
        version: config.version.clone(),
        labels,
        tfidf: config.tfidf.clone(),
        n_word_columns: full.tfidf.n_word_columns(),
        embedding,
        temperature,
        training: serde_json::Value::Null,
    };
    report.features = metadata.feature_names();
    report.train_seconds = started.elapsed().as_secs_f64();
    metadata.training = serde_json::to_value(&report).expect("report is plain data");
    Ok((Classifier::new(metadata, full.tfidf, linear), report))
}

fn validate(data: &TrainingData<'_>, config: &TrainConfig) -> Result<()> {
    if data.texts.len() != data.labels.len() {
        return Err(Error::Training(format!("{} texts but {} labels", data.texts.len(), data.labels.len())));
    }
    if let Some(matrix) = &data.embeddings {
        if matrix.vectors.len() != matrix.dim * data.texts.len() {
            return Err(Error::Training(format!("embedding matrix holds {} values, expected {} × {}", matrix.vectors.len(), data.texts.len(), matrix.dim)));
        }
    }
    if config.c_grid.is_empty() || config.c_grid.iter().any(|&c| !(c > 0.0)) {
        return Err(Error::Training("the C grid must hold positive values".to_string()));
    }
    if data.embeddings.is_some() && (config.embedding_scale_grid.is_empty() || config.embedding_scale_grid.iter().any(|&s| !(s > 0.0))) {
        return Err(Error::Training("the embedding scale grid must hold positive values".to_string()));
    }
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    for label in &data.labels {
        if label.trim().is_empty() {
            return Err(Error::Training("a training row has an empty label".to_string()));
        }
        *counts.entry(label).or_insert(0) += 1;
    }
    if counts.len() < 2 {
        return Err(Error::Training(format!("need at least 2 distinct labels, found {}", counts.len())));
    }
    let min_per_class = config.calibration_folds.max(2);
    if let Some((label, count)) = counts.iter().find(|(_, &count)| count < min_per_class) {
        return Err(Error::Training(format!("label `{label}` has {count} example(s); every label needs at least {min_per_class} so it can appear in the validation and calibration folds")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_a_small_separable_problem_and_reports_the_grid() {
        let mut texts = Vec::new();
        let mut labels = Vec::new();
        let shipping = ["where is my parcel", "my order has not arrived", "tracking shows no movement", "when will my package come", "order still not delivered"];
        let refund = ["i want my money back", "please refund my order", "how do i return this", "send me a return label", "refund status please"];
        for round in 0..6 {
            for text in shipping {
                texts.push(format!("{text} {round}"));
                labels.push("track_order");
            }
            for text in refund {
                texts.push(format!("{text} {round}"));
                labels.push("return_refund");
            }
        }
        let text_refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let data = TrainingData { texts: text_refs, labels, embeddings: None };
        let config = TrainConfig { c_grid: vec![1.0, 10.0], ..TrainConfig::default() };
        let (classifier, report) = train(&data, &config, &|_| {}).unwrap();
        assert_eq!(report.grid.len(), 2);
        assert_eq!(classifier.labels(), ["return_refund", "track_order"]);
        let prediction = classifier.predict("has my parcel arrived?", None).unwrap();
        assert_eq!(prediction.top_k(1)[0].0, 1);
        assert!(report.temperature > 0.0);
    }

    #[test]
    fn rejects_a_single_label_and_tiny_classes() {
        let data = TrainingData { texts: vec!["a", "b"], labels: vec!["x", "x"], embeddings: None };
        assert!(matches!(train(&data, &TrainConfig::default(), &|_| {}), Err(Error::Training(_))));
        let data = TrainingData { texts: vec!["a", "b", "c"], labels: vec!["x", "x", "y"], embeddings: None };
        let error = train(&data, &TrainConfig::default(), &|_| {}).unwrap_err().to_string();
        assert!(error.contains("`y` has 1 example"), "{error}");
    }
}
