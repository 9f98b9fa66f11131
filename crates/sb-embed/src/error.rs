//! The one error type of sb-embed, so callers match on what went wrong (a missing model is
//! actionable by an operator; a malformed one is a bug report) without seeing candle's types.

use std::path::PathBuf;

/// Everything that can go wrong while loading the model or embedding text.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file the model needs is not in the model folder.
    #[error("model file {path} is missing: run scripts/fetch-model.sh (or point SWITCHBOARD_MODEL_DIR at a folder holding config.json, tokenizer.json and model.safetensors)")]
    MissingFile { path: PathBuf },

    /// A file exists but could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// config.json is not a BERT config this crate can run.
    #[error("invalid model config {path}: {reason}")]
    Config { path: PathBuf, reason: String },

    /// tokenizer.json could not be loaded or configured.
    #[error("invalid tokenizer {path}: {reason}")]
    Tokenizer { path: PathBuf, reason: String },

    /// The weights file lacks a tensor or holds one of the wrong shape.
    #[error("invalid weights {path}: {reason}")]
    Weights { path: PathBuf, reason: String },

    /// Tokenizing an input text failed (the tokenizer rejected it).
    #[error("tokenization failed: {0}")]
    Tokenize(String),

    /// A tensor operation failed inside candle.
    #[error("tensor operation failed: {0}")]
    Candle(#[from] candle_core::Error),
}

/// Result alias for sb-embed.
pub type Result<T> = std::result::Result<T, Error>;
