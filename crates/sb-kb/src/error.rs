//! The one error type of sb-kb, so callers (the service, the CLI) can tell an operator problem
//! (an unreadable index directory, a bad Markdown file) from a bug, without seeing tantivy's or
//! candle's types in their signatures.

use std::path::PathBuf;

/// Everything that can go wrong in the knowledge-base crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A Markdown file's front matter is not in the documented subset (see `front_matter`).
    #[error("front matter of {source_name}, line {line}: {reason}")]
    FrontMatter { source_name: String, line: usize, reason: String },

    /// An article handed in cannot be indexed (empty id, unknown language code, ...).
    #[error("invalid article `{article_id}`: {reason}")]
    InvalidArticle { article_id: String, reason: String },

    /// tantivy failed to read or write the full-text index.
    #[error("full-text index: {0}")]
    Index(#[from] tantivy::TantivyError),

    /// The index directory could not be opened as a tantivy directory.
    #[error("full-text index directory: {0}")]
    IndexDirectory(#[from] tantivy::directory::error::OpenDirectoryError),

    /// The embedding model failed on a text (the model itself loads in the caller).
    #[error("embedding: {0}")]
    Embed(#[from] sb_embed::Error),

    /// A file or directory could not be read or written.
    #[error("cannot access {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The caller's article source failed during a rebuild.
    #[error("loading articles for the rebuild: {0}")]
    ArticleSource(Box<dyn std::error::Error + Send + Sync>),

    /// The evaluation set has a malformed row.
    #[error("evaluation set {path}, record {record}: {reason}")]
    EvalSet { path: PathBuf, record: usize, reason: String },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
