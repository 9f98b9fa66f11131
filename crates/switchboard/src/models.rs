//! Finding, loading and training models for the CLI: the MiniLM embedder (optional), the
//! training pipeline shared by `train`, `eval` and the default model, and where the default
//! triage model lives.

use crate::progress::{bar, TrainProgress};
use anyhow::{Context, Result};
use sb_classify::{Classifier, EmbeddingMatrix, TrainConfig, TrainReport, TrainingData};
use sb_embed::Embedder;
use sb_triage::{TriageCorpus, TriageTrainConfig, TriageTrainReport};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The taxonomy corpus the default model is trained from, built into the binary so the
/// model can be (re)built anywhere without the repository.
pub const DEFAULT_CORPUS: &str = include_str!("../../../data/taxonomy/train.csv");

/// Loads MiniLM when its files are present; otherwise says once, clearly, that the TF-IDF
/// features are used alone.
pub fn load_embedder(disabled: bool) -> Result<Option<Arc<Embedder>>> {
    if disabled {
        tracing::info!("sentence embeddings disabled by --no-embeddings: TF-IDF features only");
        return Ok(None);
    }
    let Some(dir) = sb_embed::find_model_dir() else {
        tracing::warn!(
            expected_dir = %sb_embed::default_model_dir().display(),
            "MiniLM embedding model not found: using TF-IDF features only (run scripts/fetch-model.sh to enable embeddings)"
        );
        return Ok(None);
    };
    let embedder = Embedder::load(&dir).with_context(|| format!("cannot load the embedding model from {}", dir.display()))?;
    Ok(Some(Arc::new(embedder)))
}

/// Embeds texts in chunks with a progress bar.
pub fn embed_all(embedder: &Embedder, texts: &[&str], what: &str) -> Result<Vec<f32>> {
    let progress = bar(texts.len() as u64, &format!("embedding {what}"));
    let mut flat = Vec::with_capacity(texts.len() * embedder.dim());
    for chunk in texts.chunks(256) {
        for vector in embedder.embed(chunk)? {
            flat.extend(vector);
        }
        progress.inc(chunk.len() as u64);
    }
    progress.finish_and_clear();
    Ok(flat)
}

pub fn train_classifier(texts: &[&str], labels: &[&str], embedder: Option<&Embedder>, config: &TrainConfig) -> Result<(Classifier, TrainReport)> {
    let embeddings = embed_corpus(embedder, texts)?;
    let data = TrainingData { texts: texts.to_vec(), labels: labels.to_vec(), embeddings };
    let progress = TrainProgress::new();
    let result = sb_classify::train(&data, config, &|event| progress.event(event));
    progress.finish();
    Ok(result?)
}

/// Sentence embeddings of a corpus, when an embedder is loaded.
pub fn embed_corpus(embedder: Option<&Embedder>, texts: &[&str]) -> Result<Option<EmbeddingMatrix>> {
    let Some(embedder) = embedder else { return Ok(None) };
    let vectors = embed_all(embedder, texts, "training texts")?;
    Ok(Some(EmbeddingMatrix { model_id: embedder.model_id().to_string(), dim: embedder.dim(), vectors }))
}

/// The rows `indices` of an embedding matrix, in that order.
pub fn subset_embeddings(matrix: &EmbeddingMatrix, indices: &[usize]) -> EmbeddingMatrix {
    let mut vectors = Vec::with_capacity(indices.len() * matrix.dim);
    for &idx in indices {
        vectors.extend_from_slice(&matrix.vectors[idx * matrix.dim..(idx + 1) * matrix.dim]);
    }
    EmbeddingMatrix { model_id: matrix.model_id.clone(), dim: matrix.dim, vectors }
}

/// How the default model and `switchboard train` build a triage model around an intent
/// configuration: gate recall targets and folds are `sb_triage`'s defaults.
pub fn triage_train_config(intent: TrainConfig) -> TriageTrainConfig {
    TriageTrainConfig::new(intent)
}

/// Trains a triage model directory: the intent model at its root and, when a severity
/// column is given, the severity model (trained on rows that have a severity) in `severity/`;
/// for the Switchboard taxonomy also the safety and urgent gates (see `sb_triage::train`).
pub fn train_triage_model(
    texts: &[&str],
    labels: &[&str],
    severities: Option<&[String]>,
    embedder: Option<&Embedder>,
    config: &TrainConfig,
    out: &Path,
) -> Result<TrainReport> {
    let embeddings = embed_corpus(embedder, texts)?;
    let report = train_triage_embedded(texts, labels, severities, embeddings, &triage_train_config(config.clone()), out)?;
    Ok(report.intent)
}

/// [`train_triage_model`] with the embeddings already computed (cross-validation embeds the
/// corpus once for all its folds).
pub fn train_triage_embedded(
    texts: &[&str],
    labels: &[&str],
    severities: Option<&[String]>,
    embeddings: Option<EmbeddingMatrix>,
    config: &TriageTrainConfig,
    out: &Path,
) -> Result<TriageTrainReport> {
    let corpus = TriageCorpus {
        texts: texts.to_vec(),
        intents: labels.to_vec(),
        severities: severities.map(|values| values.iter().map(String::as_str).collect()),
        embeddings,
    };
    let progress = TrainProgress::new();
    let trained = sb_triage::train::train(&corpus, config, &|event| progress.event(event));
    progress.finish();
    let trained = trained?;
    trained.save(out).with_context(|| format!("cannot write the model to {}", out.display()))?;
    Ok(trained.report)
}

pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("SWITCHBOARD_CACHE") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."));
    home.join(".cache").join("switchboard")
}

/// Where the default triage model for this corpus, feature set, code version and training
/// recipe lives: a change to any of them trains a new model instead of reusing a stale one.
pub fn default_model_dir(embedder: Option<&Embedder>) -> PathBuf {
    let recipe = format!("{}|{:?}", sb_triage::train::recipe_fingerprint(), default_triage_config());
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    for byte in DEFAULT_CORPUS.bytes().chain(env!("CARGO_PKG_VERSION").bytes()).chain(recipe.bytes()) {
        hash = (hash ^ byte as u64).wrapping_mul(0x0000_0100_0000_01b3);
    }
    let features = match embedder {
        Some(embedder) => format!("minilm-{}", embedder.model_id().replace(|c: char| !c.is_ascii_alphanumeric(), "")),
        None => "tfidf".to_string(),
    };
    cache_dir().join("models").join(format!("triage-default-{features}-{:012x}", hash & 0xffff_ffff_ffff))
}

/// Returns the default triage model directory, training it from the built-in corpus first
/// when it is missing (a few seconds with TF-IDF, about a minute with embeddings).
pub fn ensure_default_model(embedder: Option<&Embedder>) -> Result<PathBuf> {
    let dir = default_model_dir(embedder);
    if dir.join("model.json").exists() {
        return Ok(dir);
    }
    tracing::info!(dir = %dir.display(), "default triage model not built yet: training it from the built-in corpus");
    let mut reader = csv::Reader::from_reader(DEFAULT_CORPUS.as_bytes());
    let mut texts = Vec::new();
    let mut labels = Vec::new();
    let mut severities = Vec::new();
    for record in reader.records() {
        let record = record.context("built-in corpus is malformed")?;
        texts.push(record[0].to_string());
        labels.push(record[2].to_string());
        severities.push(record[3].to_string());
    }
    let text_refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let label_refs: Vec<&str> = labels.iter().map(String::as_str).collect();
    let staging = dir.with_extension("partial");
    let _ = std::fs::remove_dir_all(&staging);
    let embeddings = embed_corpus(embedder, &text_refs)?;
    let report = train_triage_embedded(&text_refs, &label_refs, Some(&severities), embeddings, &default_triage_config(), &staging)?;
    for (name, decision) in [("safety", &report.safety_gate), ("urgent", &report.urgent_gate)] {
        if let Some(decision) = decision {
            tracing::info!(
                gate = name,
                threshold = decision.threshold,
                out_of_fold_recall = decision.out_of_fold_recall,
                out_of_fold_false_alarm_rate = decision.out_of_fold_false_alarm_rate,
                "gate threshold chosen on out-of-fold predictions of the corpus"
            );
        }
    }
    // Rename into place so a half-trained model is never picked up.
    std::fs::rename(&staging, &dir).with_context(|| format!("cannot move the model into {}", dir.display()))?;
    Ok(dir)
}

pub fn default_train_config() -> TrainConfig {
    TrainConfig { name: "switchboard-triage-default".to_string(), version: env!("CARGO_PKG_VERSION").to_string(), ..TrainConfig::default() }
}

/// The default model's full configuration; `eval-triage --cross-validate` trains with it too,
/// so the folds measure what ships.
pub fn default_triage_config() -> TriageTrainConfig {
    triage_train_config(default_train_config())
}
