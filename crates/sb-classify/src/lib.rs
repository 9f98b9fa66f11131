//! The intent classifier: TF-IDF word and character n-grams plus optional sentence
//! embeddings, a multinomial logistic regression trained here in Rust (L-BFGS), temperature
//! calibration, evaluation metrics, and the model file format.
//!
//! This crate does not compute embeddings (that is `sb-embed`, which fences candle); it takes
//! them as plain vectors, so it builds and tests without the transformer stack.

mod calibrate;
pub mod features;
pub mod lbfgs;
pub mod linear;
pub mod metrics;
mod model;
pub mod split;
mod train;

pub use calibrate::{fit_temperature, negative_log_likelihood};
pub use features::TfidfConfig;
pub use lbfgs::LbfgsConfig;
pub use metrics::{evaluate, ClassReport, Confusion, EvalReport, Scored};
pub use model::{top_k, Classifier, EmbeddingSpec, ModelMetadata, Prediction, PredictScratch};
pub use train::{train, EmbeddingMatrix, GridPoint, TrainConfig, TrainEvent, TrainReport, TrainingData};

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("invalid model file: {0}")]
    Format(String),
    #[error("this model was trained with sentence embeddings ({model_id}) but none were given; fetch the embedding model (scripts/fetch-model.sh) or use a model trained without embeddings")]
    EmbeddingRequired { model_id: String },
    #[error("embedding has {found} dimensions, the model expects {expected}")]
    EmbeddingDimension { expected: usize, found: usize },
    #[error("{texts} texts but {embeddings} embeddings")]
    BatchLength { texts: usize, embeddings: usize },
    #[error("cannot train: {0}")]
    Training(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
