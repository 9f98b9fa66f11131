//! sb-kb's integration tests, one binary (tantivy and candle link once): search and index
//! lifecycle without a model, the demo content, and retrieval quality with the real MiniLM
//! model (those fail loudly, naming scripts/fetch-model.sh, when it is absent).

mod demo_content;
mod index_lifecycle;
mod with_model;

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use sb_kb::{Article, ArticleStatus};

/// The repository's `data/kb`.
pub fn demo_kb_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/kb")
}

pub fn demo_articles() -> Vec<Article> {
    sb_kb::read_markdown_dir(&demo_kb_dir()).expect("data/kb parses")
}

/// The MiniLM encoder, loaded once per test binary. Panics when the model is missing: these
/// tests are part of the suite, not optional.
pub fn embedder() -> Arc<sb_embed::Embedder> {
    static EMBEDDER: OnceLock<Arc<sb_embed::Embedder>> = OnceLock::new();
    EMBEDDER
        .get_or_init(|| {
            let model_dir = sb_embed::find_model_dir().unwrap_or_else(|| panic!("the MiniLM model is missing from {}: run scripts/fetch-model.sh", sb_embed::default_model_dir().display()));
            Arc::new(sb_embed::Embedder::load(&model_dir).expect("the MiniLM model loads"))
        })
        .clone()
}

pub fn article(id: &str, language: &str, title: &str, body: &str) -> Article {
    Article { id: id.into(), version: 1, title: title.into(), body: body.into(), tags: vec![], intent: None, language: language.into(), status: ArticleStatus::Published }
}
