//! A trained intent classifier: TF-IDF vocabulary, optional sentence-embedding block, linear
//! weights and a calibration temperature, saved as `model.json` (metadata, human-readable) and
//! `weights.safetensors` (arrays) in one directory.
//!
//! The metadata records which feature families the model was trained with; a model trained
//! with embeddings refuses to score without them, and refuses to load against a different
//! embedding model, because silently dropping or swapping a feature block would change every
//! prediction without anyone noticing.

use crate::features::{Scratch, SparseVec, Tfidf, TfidfConfig};
use crate::linear::{softmax_in_place, Linear};
use crate::{Error, Result};
use rayon::prelude::*;
use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::path::Path;

pub const MODEL_FORMAT: &str = "switchboard-intent-model";
pub const MODEL_FORMAT_VERSION: u32 = 1;
const METADATA_FILE: &str = "model.json";
const WEIGHTS_FILE: &str = "weights.safetensors";

/// The sentence-embedding block a model was trained with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbeddingSpec {
    /// Identifier of the embedding model (name and weights hash), checked at load time.
    pub model_id: String,
    pub dim: usize,
    /// Factor applied to the (unit-length) embedding before the linear layer; chosen on the
    /// validation split, it balances the dense block against the TF-IDF blocks.
    pub scale: f32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelMetadata {
    pub format: String,
    pub format_version: u32,
    pub name: String,
    pub version: String,
    /// Class labels; column `i` of the weights scores `labels[i]`.
    pub labels: Vec<String>,
    pub tfidf: TfidfConfig,
    pub n_word_columns: usize,
    pub embedding: Option<EmbeddingSpec>,
    /// Logits are divided by this before the softmax (fitted on held-out training folds).
    pub temperature: f32,
    /// What training chose and measured; informational.
    pub training: serde_json::Value,
}

impl ModelMetadata {
    /// Feature families, as recorded in decision records.
    pub fn feature_names(&self) -> Vec<String> {
        let mut names = vec!["tfidf".to_string()];
        if self.embedding.is_some() {
            names.push("minilm".to_string());
        }
        names
    }
}

/// Class probabilities for one text.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    pub probabilities: Vec<f32>,
}

impl Prediction {
    /// The `k` most probable classes, most probable first, as (class index, probability).
    pub fn top_k(&self, k: usize) -> Vec<(usize, f32)> {
        top_k(&self.probabilities, k)
    }
}

pub fn top_k(probabilities: &[f32], k: usize) -> Vec<(usize, f32)> {
    let mut ranked: Vec<(usize, f32)> = probabilities.iter().copied().enumerate().collect();
    let k = k.min(ranked.len());
    if k == 0 {
        return Vec::new();
    }
    ranked.select_nth_unstable_by(k - 1, |a, b| b.1.total_cmp(&a.1));
    ranked.truncate(k);
    ranked.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    ranked
}

/// Per-thread buffers for allocation-free scoring.
#[derive(Default)]
pub struct PredictScratch {
    tfidf: Scratch,
    sparse: SparseVec,
    scaled_embedding: Vec<f32>,
    /// After [`Classifier::predict_into`]: the class probabilities.
    pub probabilities: Vec<f32>,
}

thread_local! {
    static SCRATCH: RefCell<PredictScratch> = RefCell::new(PredictScratch::default());
}

#[derive(Debug, Clone)]
pub struct Classifier {
    metadata: ModelMetadata,
    tfidf: Tfidf,
    linear: Linear,
}

impl Classifier {
    pub(crate) fn new(metadata: ModelMetadata, tfidf: Tfidf, linear: Linear) -> Classifier {
        Classifier { metadata, tfidf, linear }
    }

    pub fn metadata(&self) -> &ModelMetadata {
        &self.metadata
    }

    pub fn labels(&self) -> &[String] {
        &self.metadata.labels
    }

    pub fn embedding(&self) -> Option<&EmbeddingSpec> {
        self.metadata.embedding.as_ref()
    }

    pub fn n_features(&self) -> usize {
        self.tfidf.n_features() + self.linear.n_dense
    }

    /// Raw (uncalibrated) scores of one text, written into `scratch.probabilities`.
    fn logits_into(&self, text: &str, embedding: Option<&[f32]>, scratch: &mut PredictScratch) -> Result<()> {
        self.tfidf.transform_into(text, &mut scratch.tfidf, &mut scratch.sparse);
        scratch.scaled_embedding.clear();
        match (&self.metadata.embedding, embedding) {
            (None, _) => {}
            (Some(spec), None) => return Err(Error::EmbeddingRequired { model_id: spec.model_id.clone() }),
            (Some(spec), Some(vector)) => {
                if vector.len() != spec.dim {
                    return Err(Error::EmbeddingDimension { expected: spec.dim, found: vector.len() });
                }
                scratch.scaled_embedding.extend(vector.iter().map(|value| value * spec.scale));
            }
        }
        scratch.probabilities.resize(self.linear.n_classes, 0.0);
        self.linear.logits_into(&scratch.sparse, &scratch.scaled_embedding, &mut scratch.probabilities);
        Ok(())
    }

    /// Scores one text into `scratch.probabilities` (calibrated), reusing the scratch buffers.
    pub fn predict_into(&self, text: &str, embedding: Option<&[f32]>, scratch: &mut PredictScratch) -> Result<()> {
        self.logits_into(text, embedding, scratch)?;
        softmax_in_place(&mut scratch.probabilities, self.metadata.temperature);
        Ok(())
    }

    /// Scores one text with a thread-local scratch.
    pub fn predict(&self, text: &str, embedding: Option<&[f32]>) -> Result<Prediction> {
        SCRATCH.with(|cell| {
            let mut scratch = cell.borrow_mut();
            self.predict_into(text, embedding, &mut scratch)?;
            Ok(Prediction { probabilities: scratch.probabilities.clone() })
        })
    }

    /// Scores many texts on the rayon pool; `embeddings`, when given, is parallel to `texts`.
    pub fn predict_batch(&self, texts: &[&str], embeddings: Option<&[Vec<f32>]>) -> Result<Vec<Prediction>> {
        if let Some(vectors) = embeddings {
            if vectors.len() != texts.len() {
                return Err(Error::BatchLength { texts: texts.len(), embeddings: vectors.len() });
            }
        }
        texts
            .par_iter()
            .enumerate()
            .map(|(text_idx, text)| self.predict(text, embeddings.map(|vectors| vectors[text_idx].as_slice())))
            .collect()
    }

    pub fn save(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io { path: dir.to_path_buf(), source })?;
        let keys_bytes: Vec<u8> = self.tfidf.keys().iter().flat_map(|key| key.to_le_bytes()).collect();
        let idf_bytes: Vec<u8> = self.tfidf.idf().iter().flat_map(|value| value.to_le_bytes()).collect();
        let weight_bytes: Vec<u8> = self.linear.params.iter().flat_map(|value| value.to_le_bytes()).collect();
        let n_rows = self.linear.n_sparse + self.linear.n_dense + 1;
        let views = vec![
            ("keys", TensorView::new(Dtype::U64, vec![self.tfidf.n_features()], &keys_bytes)),
            ("idf", TensorView::new(Dtype::F32, vec![self.tfidf.n_features()], &idf_bytes)),
            ("weights", TensorView::new(Dtype::F32, vec![n_rows, self.linear.n_classes], &weight_bytes)),
        ];
        let mut tensors = Vec::with_capacity(views.len());
        for (name, view) in views {
            tensors.push((name, view.map_err(|error| Error::Format(format!("weights: {error}")))?));
        }
        let bytes = safetensors::serialize(tensors, None).map_err(|error| Error::Format(format!("weights: {error}")))?;
        let metadata_json = serde_json::to_vec_pretty(&self.metadata).expect("metadata is plain data");
        // Write both files next to their final names first, then rename: a crash never leaves
        // a model directory with new metadata and old weights.
        write_atomically(&dir.join(WEIGHTS_FILE), &bytes)?;
        write_atomically(&dir.join(METADATA_FILE), &metadata_json)?;
        Ok(())
    }

    pub fn load(dir: &Path) -> Result<Classifier> {
        let metadata_path = dir.join(METADATA_FILE);
        let metadata_bytes = std::fs::read(&metadata_path).map_err(|source| Error::Io { path: metadata_path.clone(), source })?;
        let metadata: ModelMetadata = serde_json::from_slice(&metadata_bytes)
            .map_err(|error| Error::Format(format!("{}: {error}", metadata_path.display())))?;
        if metadata.format != MODEL_FORMAT || metadata.format_version != MODEL_FORMAT_VERSION {
            return Err(Error::Format(format!(
                "{}: format {} v{} is not {MODEL_FORMAT} v{MODEL_FORMAT_VERSION}; retrain the model with `switchboard train`",
                metadata_path.display(),
                metadata.format,
                metadata.format_version
            )));
        }
        let weights_path = dir.join(WEIGHTS_FILE);
        let weights_bytes = std::fs::read(&weights_path).map_err(|source| Error::Io { path: weights_path.clone(), source })?;
        let tensors = SafeTensors::deserialize(&weights_bytes)
            .map_err(|error| Error::Format(format!("{}: {error}", weights_path.display())))?;
        let tensor = |name: &str, dtype: Dtype| -> Result<(Vec<usize>, &[u8])> {
            let view = tensors.tensor(name).map_err(|error| Error::Format(format!("{}: {name}: {error}", weights_path.display())))?;
            if view.dtype() != dtype {
                return Err(Error::Format(format!("{}: {name} has dtype {:?}", weights_path.display(), view.dtype())));
            }
            Ok((view.shape().to_vec(), view.data()))
        };
        let (keys_shape, keys_data) = tensor("keys", Dtype::U64)?;
        let (_, idf_data) = tensor("idf", Dtype::F32)?;
        let (weights_shape, weights_data) = tensor("weights", Dtype::F32)?;
        let keys: Vec<u64> = keys_data.chunks_exact(8).map(|bytes| u64::from_le_bytes(bytes.try_into().expect("8 bytes"))).collect();
        let idf: Vec<f32> = idf_data.chunks_exact(4).map(|bytes| f32::from_le_bytes(bytes.try_into().expect("4 bytes"))).collect();
        let params: Vec<f32> = weights_data.chunks_exact(4).map(|bytes| f32::from_le_bytes(bytes.try_into().expect("4 bytes"))).collect();
        let n_classes = metadata.labels.len();
        let n_sparse = keys_shape.first().copied().unwrap_or(0);
        let n_dense = metadata.embedding.as_ref().map_or(0, |spec| spec.dim);
        if idf.len() != n_sparse || weights_shape != [n_sparse + n_dense + 1, n_classes] || metadata.n_word_columns > n_sparse {
            return Err(Error::Format(format!(
                "{}: array shapes do not match model.json (labels {n_classes}, features {n_sparse}, embedding {n_dense})",
                weights_path.display()
            )));
        }
        let tfidf = Tfidf::from_parts(metadata.tfidf.clone(), keys, idf, metadata.n_word_columns);
        let linear = Linear { n_classes, n_sparse, n_dense, params };
        Ok(Classifier { metadata, tfidf, linear })
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let temporary = path.with_extension("tmp");
    std::fs::write(&temporary, bytes).map_err(|source| Error::Io { path: temporary.clone(), source })?;
    std::fs::rename(&temporary, path).map_err(|source| Error::Io { path: path.to_path_buf(), source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_orders_by_probability() {
        assert_eq!(top_k(&[0.1, 0.6, 0.3], 2), vec![(1, 0.6), (2, 0.3)]);
        assert_eq!(top_k(&[0.5], 3), vec![(0, 0.5)]);
        assert!(top_k(&[], 3).is_empty());
    }
}
