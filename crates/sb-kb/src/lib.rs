//! Switchboard's knowledge base: the search core behind the informational workflow's cited
//! answers and the agent-assist panel.
//!
//! - [`article`]: the article model and chunking by Markdown heading;
//! - [`front_matter`]: Markdown files with front matter (`kb import` / `kb export`);
//! - [`KnowledgeBase`]: hybrid search — tantivy BM25 with per-language stemming, fused with
//!   exact MiniLM cosine over chunk embeddings — with per-article updates, self-rebuilding
//!   index directories and a calibrated "confident answer" decision ([`fusion`]);
//! - [`eval`]: recall@3, MRR and the answer/decline figures on an evaluation set;
//! - [`template`] and [`summary`]: reply templates with reported missing variables, and
//!   extractive conversation summaries.
//!
//! This crate is pure computation over data handed in: it knows nothing of the database, HTTP
//! or the workflows. The database is the source of truth for articles; the index is derived
//! from it and can always be rebuilt ([`KnowledgeBase::open_or_rebuild`]). It is the only
//! crate that links tantivy.
//!
//! ```no_run
//! use std::sync::Arc;
//! # fn articles_from_db() -> Result<Vec<sb_kb::Article>, std::io::Error> { Ok(vec![]) }
//! let embedder = sb_embed::find_model_dir().map(|dir| sb_embed::Embedder::load(&dir)).transpose()?.map(Arc::new);
//! let (kb, _outcome) = sb_kb::KnowledgeBase::open_or_rebuild(
//!     std::path::Path::new("data/kb-index"), embedder, sb_kb::SearchConfig::default(),
//!     articles_from_db, |_progress| {},
//! )?;
//! if let Some(answer) = kb.answer("how long do I have to return shoes?")? {
//!     println!("{} (v{}): {}", answer.hit.title, answer.hit.article_version, answer.hit.passage);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod analysis;
pub mod article;
mod error;
pub mod eval;
pub mod front_matter;
pub mod fusion;
mod knowledge_base;
pub mod summary;
pub mod template;
mod text_index;
pub mod vectors;

pub use crate::article::{chunk_article, Article, ArticleStatus, Chunk};
pub use crate::error::{Error, Result};
pub use crate::fusion::{ConfidenceConfig, ConfidenceFeatures, FusionConfig};
pub use crate::knowledge_base::{Answer, IndexProgress, KnowledgeBase, OpenOutcome, SearchConfig, SearchHit, SearchResults, INDEX_FORMAT_VERSION, MANIFEST_FILE};

/// Reads every `*.md` file of `dir` (not recursive), sorted by file name, as articles.
pub fn read_markdown_dir(dir: &std::path::Path) -> Result<Vec<Article>> {
    let io_error = |source| Error::Io { path: dir.to_path_buf(), source };
    let mut paths: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
        .map_err(io_error)?
        .map(|entry| entry.map(|entry| entry.path()))
        .collect::<std::io::Result<_>>()
        .map_err(io_error)?;
    paths.retain(|path| path.extension().is_some_and(|extension| extension == "md") && path.is_file());
    paths.sort();
    let mut articles = Vec::with_capacity(paths.len());
    for path in paths {
        let text = std::fs::read_to_string(&path).map_err(|source| Error::Io { path: path.clone(), source })?;
        articles.push(front_matter::from_markdown(&path.display().to_string(), &text)?);
    }
    Ok(articles)
}
