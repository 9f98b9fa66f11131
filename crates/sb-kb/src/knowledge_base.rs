//! The knowledge base the service holds: a full-text index, chunk embeddings in memory, and
//! the search that fuses them. Built from articles handed in by the caller (the database is
//! the source of truth; this is a derived index), updated one article at a time, and
//! rebuilt from the caller's articles when its directory is missing or from an older format.
//!
//! All methods take `&self`: searches run concurrently with each other and with an update;
//! updates are serialised by tantivy's writer lock. Embedding and indexing are CPU work of
//! milliseconds to seconds, so async callers run them on a blocking pool.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use sb_embed::Embedder;
use serde::{Deserialize, Serialize};

use crate::article::{chunk_article, Article};
use crate::fusion::{confidence, fused_score, is_confident, required_confidence, ConfidenceConfig, ConfidenceFeatures, FusionConfig, RankedCandidate};
use crate::text_index::{StoredChunk, TextIndex};
use crate::vectors::VectorStore;
use crate::{Error, Result};

/// Version of the on-disk layout (schema, analysers, chunking, stored fields). Bump it when any
/// of them changes: an index of another version is rebuilt from the articles on open.
pub const INDEX_FORMAT_VERSION: u32 = 1;

/// The file beside tantivy's files that records what built the index.
pub const MANIFEST_FILE: &str = "switchboard-kb.json";

/// Articles embedded per call while rebuilding: large enough for the embedder's parallel
/// batches, small enough for a progress bar that moves.
const REBUILD_BATCH_ARTICLES: usize = 64;

/// Search settings; see [`FusionConfig`] and [`ConfidenceConfig`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SearchConfig {
    pub fusion: FusionConfig,
    pub confidence: ConfidenceConfig,
    /// Chunks fetched from each ranking before fusion.
    pub n_candidate_chunks: usize,
    /// Language-detection confidence from which BM25 searches only the query language's
    /// fields (above 1: always every language's).
    pub min_confidence_for_one_language: f32,
}

impl Default for SearchConfig {
    fn default() -> SearchConfig {
        SearchConfig { fusion: FusionConfig::default(), confidence: ConfidenceConfig::default(), n_candidate_chunks: 40, min_confidence_for_one_language: 0.5 }
    }
}

/// One article in the results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchHit {
    pub article_id: String,
    pub article_version: u32,
    pub title: String,
    pub language: String,
    /// The passage that matched best, and its heading path (`Returns › Shoes`).
    pub heading: String,
    pub passage: String,
    /// Fused score: only comparable within one result list.
    pub score: f32,
    pub bm25_score: Option<f32>,
    pub bm25_rank: Option<u32>,
    /// Cosine of the query with the article's best passage.
    pub cosine: Option<f32>,
    pub vector_rank: Option<u32>,
}

/// A result list with the confidence decision about its first hit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchResults {
    pub hits: Vec<SearchHit>,
    pub features: ConfidenceFeatures,
    /// See [`crate::fusion::confidence`]; 0 when there are no hits.
    pub confidence: f32,
    /// The confidence the first hit needed (see [`crate::fusion::required_confidence`]: fixed
    /// with embeddings, depending on the passage's share of the question's terms without).
    pub required_confidence: f32,
    /// The first hit is a confident answer.
    pub confident: bool,
    /// ISO 639-1 code detected for the query (`und` when unsure).
    pub query_language: String,
}

/// A confident answer: the article and passage to cite.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Answer {
    pub hit: SearchHit,
    pub confidence: f32,
}

/// How [`KnowledgeBase::open_or_rebuild`] found the directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum OpenOutcome {
    /// The index was current and opened as is.
    Opened,
    /// The index was rebuilt from the articles; the reason says why.
    Rebuilt { reason: String, n_articles: usize },
}

/// Progress of a rebuild, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexProgress {
    pub n_done: usize,
    /// Known when the article source reports an exact length.
    pub n_total: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Manifest {
    format_version: u32,
    /// `Embedder::model_id` of the stored vectors; `None` when built without a model.
    embedding_model: Option<String>,
}

struct ArticleInfo {
    version: u32,
    title: String,
    language: String,
    chunk_uids: Vec<u64>,
}

struct ChunkInfo {
    article_id: String,
    heading: String,
    text: String,
}

/// What searches read; replaced under the write lock after each commit.
struct State {
    articles: HashMap<String, ArticleInfo>,
    chunks: HashMap<u64, ChunkInfo>,
    /// `None` without an embedding model.
    vectors: Option<VectorStore>,
}

pub struct KnowledgeBase {
    text_index: TextIndex,
    state: RwLock<State>,
    embedder: Option<Arc<Embedder>>,
    config: SearchConfig,
    next_uid: AtomicU64,
    /// Held for a whole update (delete, add, commit, state swap): two concurrent upserts of
    /// one article must not interleave their deletes and adds in the index.
    update_lock: Mutex<()>,
    /// `None` for an index in memory.
    dir: Option<PathBuf>,
}

// The service shares one knowledge base between request handlers and the update path.
const _: fn() = || {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<KnowledgeBase>();
};

impl std::fmt::Debug for KnowledgeBase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KnowledgeBase").field("dir", &self.dir).field("n_articles", &self.n_articles()).field("embedder", &self.embedder).finish()
    }
}

impl KnowledgeBase {
    /// An empty knowledge base in memory (tests, benchmarks, evaluation).
    pub fn in_memory(embedder: Option<Arc<Embedder>>, config: SearchConfig) -> Result<KnowledgeBase> {
        warn_if_bm25_only(embedder.as_deref());
        Ok(KnowledgeBase::new(TextIndex::create_in_ram()?, embedder, config, None))
    }

    /// Opens the index in `dir`, or rebuilds it from `load_articles()` when it is missing,
    /// unreadable, of another [`INDEX_FORMAT_VERSION`], or embedded with another model than
    /// `embedder` (a different model's vectors cannot be compared with the query's). An index
    /// built with a model opened without one is used BM25-only, without rebuilding.
    ///
    /// `dir` belongs to the knowledge base: a rebuild deletes what is in it. `load_articles`
    /// is only called for a rebuild; its error is returned as [`Error::ArticleSource`].
    pub fn open_or_rebuild<I, E>(
        dir: &Path,
        embedder: Option<Arc<Embedder>>,
        config: SearchConfig,
        load_articles: impl FnOnce() -> std::result::Result<I, E>,
        progress: impl FnMut(IndexProgress),
    ) -> Result<(KnowledgeBase, OpenOutcome)>
    where
        I: IntoIterator<Item = Article>,
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        warn_if_bm25_only(embedder.as_deref());
        let wanted_model = embedder.as_ref().map(|embedder| embedder.model_id().to_string());
        let rebuild_reason = match read_manifest(dir) {
            Err(reason) => Some(reason),
            Ok(manifest) if manifest.format_version != INDEX_FORMAT_VERSION => Some(format!("index format {} is not the current {INDEX_FORMAT_VERSION}", manifest.format_version)),
            Ok(manifest) if wanted_model.is_some() && manifest.embedding_model != wanted_model => {
                Some(format!("index embedded with {} but the model is {}", manifest.embedding_model.as_deref().unwrap_or("no model"), wanted_model.as_deref().unwrap_or_default()))
            }
            Ok(_) => None,
        };
        if rebuild_reason.is_none() {
            match KnowledgeBase::open_existing(dir, embedder.clone(), config) {
                Ok(knowledge_base) => return Ok((knowledge_base, OpenOutcome::Opened)),
                Err(error) => {
                    tracing::warn!(dir = %dir.display(), error = %error, "knowledge-base index unreadable, rebuilding");
                }
            }
        }
        let reason = rebuild_reason.unwrap_or_else(|| "index unreadable".to_string());
        tracing::info!(dir = %dir.display(), reason = %reason, "rebuilding knowledge-base index");
        // Ask for the articles before deleting anything: if the source fails, the old index
        // stays for the next attempt.
        let articles = load_articles().map_err(|error| Error::ArticleSource(error.into()))?;
        reset_dir(dir)?;
        let knowledge_base = KnowledgeBase::new(TextIndex::create_in_dir(dir)?, embedder, config, Some(dir.to_path_buf()));
        let n_articles = knowledge_base.rebuild(articles, progress)?;
        Ok((knowledge_base, OpenOutcome::Rebuilt { reason, n_articles }))
    }

    fn open_existing(dir: &Path, embedder: Option<Arc<Embedder>>, config: SearchConfig) -> Result<KnowledgeBase> {
        let text_index = TextIndex::open_in_dir(dir)?;
        let stored_chunks = text_index.load_all()?;
        let knowledge_base = KnowledgeBase::new(text_index, embedder, config, Some(dir.to_path_buf()));
        let max_uid = stored_chunks.iter().map(|chunk| chunk.uid).max();
        knowledge_base.next_uid.store(max_uid.map_or(0, |uid| uid + 1), Ordering::Relaxed);
        let mut state = knowledge_base.write_state();
        for chunk in stored_chunks {
            state.insert_chunk(chunk);
        }
        drop(state);
        tracing::info!(dir = %dir.display(), n_articles = knowledge_base.n_articles(), n_chunks = knowledge_base.n_chunks(), "knowledge-base index opened");
        Ok(knowledge_base)
    }

    fn new(text_index: TextIndex, embedder: Option<Arc<Embedder>>, config: SearchConfig, dir: Option<PathBuf>) -> KnowledgeBase {
        let vectors = embedder.as_ref().map(|embedder| VectorStore::new(embedder.dim()));
        let state = State { articles: HashMap::new(), chunks: HashMap::new(), vectors };
        KnowledgeBase { text_index, state: RwLock::new(state), embedder, config, next_uid: AtomicU64::new(0), update_lock: Mutex::new(()), dir }
    }

    /// Replaces the whole content with `articles` (unpublished ones are skipped), committing
    /// once at the end; `progress` is called after each batch. Returns the number of
    /// searchable articles indexed.
    pub fn rebuild(&self, articles: impl IntoIterator<Item = Article>, mut progress: impl FnMut(IndexProgress)) -> Result<usize> {
        let articles = articles.into_iter();
        let (size_min, size_max) = articles.size_hint();
        let n_total = (Some(size_min) == size_max).then_some(size_min);
        let _update_guard = self.lock_updates();
        self.text_index.delete_all()?;
        {
            let mut state = self.write_state();
            state.articles.clear();
            state.chunks.clear();
            if let Some(vectors) = state.vectors.as_mut() {
                *vectors = VectorStore::new(vectors.dim());
            }
        }
        let mut n_done = 0;
        let mut n_indexed = 0;
        let mut batch: Vec<Article> = Vec::with_capacity(REBUILD_BATCH_ARTICLES);
        progress(IndexProgress { n_done, n_total });
        let mut flush = |batch: &mut Vec<Article>| -> Result<()> {
            n_indexed += self.stage_articles(batch, None)?;
            n_done += batch.len();
            batch.clear();
            progress(IndexProgress { n_done, n_total });
            Ok(())
        };
        for article in articles {
            batch.push(article);
            if batch.len() == REBUILD_BATCH_ARTICLES {
                flush(&mut batch)?;
            }
        }
        flush(&mut batch)?;
        self.commit()?;
        Ok(n_indexed)
    }

    /// Adds or replaces one article and commits: searches see it when this returns. An
    /// article that is not published is removed from search.
    pub fn upsert(&self, article: &Article) -> Result<()> {
        self.upsert_many(std::slice::from_ref(article))
    }

    /// Like [`KnowledgeBase::upsert`] for several articles, with one commit.
    pub fn upsert_many(&self, articles: &[Article]) -> Result<()> {
        let _update_guard = self.lock_updates();
        self.stage_articles(articles, None)?;
        self.commit()
    }

    /// Like [`KnowledgeBase::upsert_many`] with the chunk embeddings supplied by the caller —
    /// one per chunk of the published articles, in [`chunk_article`] order — instead of
    /// computed here: for embeddings kept elsewhere, and for benchmarks that need a large
    /// index without hours of encoding. Requires an embedder (its width and model id are what
    /// the vectors must match); the caller vouches that they come from the same model.
    pub fn upsert_many_with_embeddings(&self, articles: &[Article], chunk_embeddings: Vec<Vec<f32>>) -> Result<()> {
        let _update_guard = self.lock_updates();
        self.stage_articles(articles, Some(chunk_embeddings))?;
        self.commit()
    }

    /// Removes an article from search; false when it was not indexed.
    pub fn delete(&self, article_id: &str) -> Result<bool> {
        let _update_guard = self.lock_updates();
        let was_indexed = self.read_state().articles.contains_key(article_id);
        self.text_index.delete_article(article_id);
        self.commit()?;
        self.write_state().remove_article(article_id);
        Ok(was_indexed)
    }

    /// Indexes `articles` (uncommitted) and updates the in-memory state; returns how many are
    /// searchable. Chunks and embeddings are computed before the state lock is taken. Until the
    /// commit that follows, a search may see the new chunks through the vectors but the old
    /// ones through BM25; BM25 hits on chunks no longer in the state are skipped, so results
    /// never cite a removed passage.
    fn stage_articles(&self, articles: &[Article], precomputed: Option<Vec<Vec<f32>>>) -> Result<usize> {
        for article in articles {
            article.validate()?;
        }
        let mut stored_chunks: Vec<StoredChunk> = Vec::new();
        for article in articles.iter().filter(|article| article.is_searchable()) {
            let title_field_text = [article.title.as_str(), &article.tags.join(" ")].join(" ");
            for chunk in chunk_article(article) {
                let heading = chunk.heading();
                stored_chunks.push(StoredChunk {
                    uid: self.next_uid.fetch_add(1, Ordering::Relaxed),
                    article_id: article.id.clone(),
                    article_version: article.version,
                    chunk_idx: chunk.chunk_idx,
                    language: article.language.clone(),
                    title: article.title.clone(),
                    title_field_text: format!("{title_field_text} {heading}"),
                    heading,
                    text: chunk.text,
                    embedding: Vec::new(),
                });
            }
        }
        if let Some(embeddings) = precomputed {
            let article_id = articles.first().map(|article| article.id.clone()).unwrap_or_default();
            let Some(dim) = self.embedder.as_ref().map(|embedder| embedder.dim()) else {
                return Err(Error::InvalidArticle { article_id, reason: "embeddings handed to a knowledge base without an embedding model".into() });
            };
            if embeddings.len() != stored_chunks.len() || embeddings.iter().any(|embedding| embedding.len() != dim) {
                return Err(Error::InvalidArticle { article_id, reason: format!("{} precomputed embeddings of width {dim} expected, one per chunk of the published articles", stored_chunks.len()) });
            }
            for (chunk, embedding) in stored_chunks.iter_mut().zip(embeddings) {
                chunk.embedding = embedding;
            }
        } else if let Some(embedder) = &self.embedder {
            let embedding_texts: Vec<String> = stored_chunks.iter().map(embedding_text).collect();
            let text_refs: Vec<&str> = embedding_texts.iter().map(String::as_str).collect();
            let embeddings = embedder.embed(&text_refs)?;
            for (chunk, embedding) in stored_chunks.iter_mut().zip(embeddings) {
                chunk.embedding = embedding;
            }
        }
        for article in articles {
            self.text_index.delete_article(&article.id);
        }
        for chunk in &stored_chunks {
            self.text_index.add_chunk(chunk)?;
        }
        let mut state = self.write_state();
        for article in articles {
            state.remove_article(&article.id);
        }
        let n_searchable = articles.iter().filter(|article| article.is_searchable()).count();
        for chunk in stored_chunks {
            state.insert_chunk(chunk);
        }
        Ok(n_searchable)
    }

    fn commit(&self) -> Result<()> {
        self.text_index.commit()?;
        if let Some(dir) = &self.dir {
            let embedding_model = self.embedder.as_ref().map(|embedder| embedder.model_id().to_string());
            write_manifest(dir, &Manifest { format_version: INDEX_FORMAT_VERSION, embedding_model })?;
        }
        Ok(())
    }

    /// Article id → indexed version, so the caller can find articles changed while the
    /// service was down (another replica wrote them) and upsert just those.
    pub fn indexed_versions(&self) -> HashMap<String, u32> {
        self.read_state().articles.iter().map(|(article_id, info)| (article_id.clone(), info.version)).collect()
    }

    pub fn n_articles(&self) -> usize {
        self.read_state().articles.len()
    }

    pub fn n_chunks(&self) -> usize {
        self.read_state().chunks.len()
    }

    /// The sentence encoder of the vectors, when there is one (callers that compare texts the
    /// way the index does).
    pub fn embedder(&self) -> Option<&Arc<Embedder>> {
        self.embedder.as_ref()
    }

    /// False when running BM25-only.
    pub fn has_embeddings(&self) -> bool {
        self.embedder.is_some()
    }

    pub fn config(&self) -> &SearchConfig {
        &self.config
    }

    /// The best `limit` articles for `query`, with the confidence decision about the first.
    pub fn search(&self, query: &str, limit: usize) -> Result<SearchResults> {
        let query_embedding = match &self.embedder {
            Some(embedder) => Some(embedder.embed_one(query)?),
            None => None,
        };
        self.search_with_embedding(query, query_embedding.as_deref(), limit)
    }

    /// [`KnowledgeBase::search`] with the query already embedded (by the caller's batch, or
    /// not at all for BM25-only); lets benchmarks time the encoder separately.
    pub fn search_with_embedding(&self, query: &str, query_embedding: Option<&[f32]>, limit: usize) -> Result<SearchResults> {
        let detected_language = sb_text::language::detect(query);
        let query_language = if detected_language.confidence >= self.config.fusion.min_language_confidence { detected_language.code.clone() } else { sb_text::language::UNDETERMINED_CODE.to_string() };
        // A query whose language is known is analysed and searched in that language's fields
        // only: one set of term clauses instead of one per language keeps long queries fast.
        let only_language = (detected_language.confidence >= self.config.min_confidence_for_one_language && crate::analysis::index_language(&detected_language.code) != crate::analysis::OTHER_LANGUAGE)
            .then(|| crate::analysis::index_language(&detected_language.code));
        let bm25_chunks = self.text_index.search(query, self.config.n_candidate_chunks, only_language)?;
        let state = self.read_state();

        // Article-level rankings: an article's score is its best chunk's.
        let mut candidates: Vec<Candidate> = Vec::new();
        let mut candidate_of_article: HashMap<&str, usize> = HashMap::new();
        let mut n_bm25_articles = 0;
        for (uid, score) in bm25_chunks {
            let Some(chunk) = state.chunks.get(&uid) else { continue };
            let idx = *candidate_of_article.entry(chunk.article_id.as_str()).or_insert_with(|| {
                candidates.push(Candidate::new(&chunk.article_id));
                candidates.len() - 1
            });
            if candidates[idx].bm25.is_none() {
                n_bm25_articles += 1;
                candidates[idx].bm25 = Some((n_bm25_articles, score, uid));
            }
        }
        if let (Some(vectors), Some(query_embedding)) = (state.vectors.as_ref(), query_embedding) {
            let mut n_vector_articles = 0;
            for (uid, cosine) in vectors.top(query_embedding, self.config.n_candidate_chunks) {
                let Some(chunk) = state.chunks.get(&uid) else { continue };
                let idx = *candidate_of_article.entry(chunk.article_id.as_str()).or_insert_with(|| {
                    candidates.push(Candidate::new(&chunk.article_id));
                    candidates.len() - 1
                });
                if candidates[idx].vector.is_none() {
                    n_vector_articles += 1;
                    candidates[idx].vector = Some((Some(n_vector_articles), cosine, uid));
                }
            }
            // BM25-only candidates still need their best cosine, for confidence and display.
            for candidate in candidates.iter_mut().filter(|candidate| candidate.vector.is_none()) {
                let Some(article) = state.articles.get(&candidate.article_id) else { continue };
                let best = article.chunk_uids.iter().filter_map(|&uid| vectors.score(uid, query_embedding).map(|cosine| (uid, cosine))).max_by(|a, b| a.1.total_cmp(&b.1));
                candidate.vector = best.map(|(uid, cosine)| (None, cosine, uid));
            }
        }

        let mut scored: Vec<(f32, &Candidate)> = candidates
            .iter()
            .filter(|candidate| state.articles.contains_key(&candidate.article_id))
            .map(|candidate| {
                let same_language = state.articles.get(&candidate.article_id).is_some_and(|article| article.language == query_language);
                let ranked = RankedCandidate { bm25_rank: candidate.bm25.map(|(rank, _, _)| rank), vector_rank: candidate.vector.and_then(|(rank, _, _)| rank), same_language };
                (fused_score(ranked, &self.config.fusion), candidate)
            })
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.article_id.cmp(&b.1.article_id)));

        let mut features = confidence_features(&scored.iter().map(|(_, candidate)| *candidate).collect::<Vec<_>>());
        if features.top_cosine.is_none() {
            features.query_coverage = scored.first().and_then(|(_, top)| state.query_coverage(query, top));
        }
        let hits: Vec<SearchHit> = scored.iter().take(limit).map(|(score, candidate)| state.hit(candidate, *score)).collect();
        let confidence_value = if hits.is_empty() { 0.0 } else { confidence(&features, &self.config.confidence) };
        let confident = !hits.is_empty() && is_confident(&features, &self.config.confidence);
        let required = required_confidence(&features, &self.config.confidence);
        Ok(SearchResults { hits, features, confidence: confidence_value, required_confidence: required, confident, query_language })
    }

    /// The best article when it is a confident answer, else `None`.
    pub fn answer(&self, query: &str) -> Result<Option<Answer>> {
        let results = self.search(query, 1)?;
        if !results.confident {
            return Ok(None);
        }
        Ok(results.hits.into_iter().next().map(|hit| Answer { hit, confidence: results.confidence }))
    }

    fn lock_updates(&self) -> MutexGuard<'_, ()> {
        // The guard protects no data, only ordering; poisoning carries no meaning here.
        self.update_lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn read_state(&self) -> RwLockReadGuard<'_, State> {
        // The state is only mutated by whole-value inserts and removals; a panic mid-way
        // leaves at worst an article partly indexed, which the next upsert replaces.
        self.state.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write_state(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// An article during one search: (rank, score, best chunk uid) in each ranking. The vector
/// rank is `None` for an article outside the vector candidates whose cosine was computed
/// afterwards.
#[derive(Debug, Clone)]
struct Candidate {
    article_id: String,
    bm25: Option<(u32, f32, u64)>,
    vector: Option<(Option<u32>, f32, u64)>,
}

impl Candidate {
    fn new(article_id: &str) -> Candidate {
        Candidate { article_id: article_id.to_string(), bm25: None, vector: None }
    }
}

fn confidence_features(ranked: &[&Candidate]) -> ConfidenceFeatures {
    let Some(top) = ranked.first() else {
        return ConfidenceFeatures::default();
    };
    let others = &ranked[1..];
    let top_cosine = top.vector.map(|(_, cosine, _)| cosine);
    let best_other_cosine = others.iter().filter_map(|candidate| candidate.vector.map(|(_, cosine, _)| cosine)).fold(None, |best: Option<f32>, cosine| Some(best.map_or(cosine, |best| best.max(cosine))));
    let cosine_margin = top_cosine.map(|top_cosine| top_cosine - best_other_cosine.unwrap_or(0.0));
    let bm25_agrees = top.bm25.is_some_and(|(rank, _, _)| rank == 1);
    let top_bm25 = top.bm25.map_or(0.0, |(_, score, _)| score);
    let best_other_bm25 = others.iter().filter_map(|candidate| candidate.bm25.map(|(_, score, _)| score)).fold(0.0f32, f32::max);
    let bm25_lead = if top_bm25 > 0.0 { ((top_bm25 - best_other_bm25) / top_bm25).max(0.0) } else { 0.0 };
    ConfidenceFeatures { top_cosine, cosine_margin, bm25_agrees, bm25_lead, query_coverage: None }
}

impl State {
    fn insert_chunk(&mut self, chunk: StoredChunk) {
        let article = self.articles.entry(chunk.article_id.clone()).or_insert_with(|| ArticleInfo { version: chunk.article_version, title: chunk.title.clone(), language: chunk.language.clone(), chunk_uids: Vec::new() });
        article.chunk_uids.push(chunk.uid);
        if let Some(vectors) = self.vectors.as_mut() {
            // An index built without a model (or with vectors of another width) is used
            // BM25-only until it is rebuilt; skipping here keeps the store consistent.
            if chunk.embedding.len() == vectors.dim() {
                vectors.insert(chunk.uid, &chunk.embedding);
            }
        }
        self.chunks.insert(chunk.uid, ChunkInfo { article_id: chunk.article_id, heading: chunk.heading, text: chunk.text });
    }

    fn remove_article(&mut self, article_id: &str) {
        let Some(article) = self.articles.remove(article_id) else { return };
        for uid in article.chunk_uids {
            self.chunks.remove(&uid);
            if let Some(vectors) = self.vectors.as_mut() {
                vectors.remove(uid);
            }
        }
    }

    /// Share of the query's terms (analysed as the article's language: stop words dropped,
    /// stemmed) that occur in the title, heading or text of the article's BM25 passage.
    fn query_coverage(&self, query: &str, candidate: &Candidate) -> Option<f32> {
        let (_, _, uid) = candidate.bm25?;
        let chunk = self.chunks.get(&uid)?;
        let article = self.articles.get(&candidate.article_id)?;
        let mut analyzer = crate::analysis::analyzer(crate::analysis::index_language(&article.language));
        let query_terms = crate::analysis::analyze(&mut analyzer, query);
        if query_terms.is_empty() {
            return Some(0.0);
        }
        let passage_terms: std::collections::HashSet<String> = crate::analysis::analyze(&mut analyzer, &format!("{}\n{}\n{}", article.title, chunk.heading, chunk.text)).into_iter().collect();
        let found = query_terms.iter().filter(|term| passage_terms.contains(*term)).count();
        Some(found as f32 / query_terms.len() as f32)
    }

    fn hit(&self, candidate: &Candidate, score: f32) -> SearchHit {
        let article = &self.articles[&candidate.article_id];
        // The passage shown is the one closest in meaning when there are vectors, else BM25's.
        let passage_uid = candidate.vector.map(|(_, _, uid)| uid).or(candidate.bm25.map(|(_, _, uid)| uid));
        let chunk = passage_uid.and_then(|uid| self.chunks.get(&uid));
        SearchHit {
            article_id: candidate.article_id.clone(),
            article_version: article.version,
            title: article.title.clone(),
            language: article.language.clone(),
            heading: chunk.map(|chunk| chunk.heading.clone()).unwrap_or_default(),
            passage: chunk.map(|chunk| chunk.text.clone()).unwrap_or_default(),
            score,
            bm25_score: candidate.bm25.map(|(_, score, _)| score),
            bm25_rank: candidate.bm25.map(|(rank, _, _)| rank),
            cosine: candidate.vector.map(|(_, cosine, _)| cosine),
            vector_rank: candidate.vector.and_then(|(rank, _, _)| rank),
        }
    }
}

/// What the encoder reads for a chunk: the title and headings give a short passage its topic.
fn embedding_text(chunk: &StoredChunk) -> String {
    if chunk.heading.is_empty() {
        format!("{}. {}", chunk.title, chunk.text)
    } else {
        format!("{}. {}. {}", chunk.title, chunk.heading, chunk.text)
    }
}

fn warn_if_bm25_only(embedder: Option<&Embedder>) {
    if embedder.is_none() {
        tracing::warn!(
            model_dir = %sb_embed::default_model_dir().display(),
            "knowledge base running BM25-only: no embedding model (run scripts/fetch-model.sh); answers need a larger BM25 lead to be confident"
        );
    }
}

fn read_manifest(dir: &Path) -> std::result::Result<Manifest, String> {
    let path = dir.join(MANIFEST_FILE);
    let text = std::fs::read_to_string(&path).map_err(|error| format!("no readable {MANIFEST_FILE}: {error}"))?;
    serde_json::from_str(&text).map_err(|error| format!("{MANIFEST_FILE} is malformed: {error}"))
}

fn write_manifest(dir: &Path, manifest: &Manifest) -> Result<()> {
    let path = dir.join(MANIFEST_FILE);
    let temporary_path = dir.join(format!("{MANIFEST_FILE}.tmp"));
    let text = serde_json::to_string_pretty(manifest).expect("the manifest serialises");
    let io_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
    std::fs::write(&temporary_path, text).map_err(io_error(&temporary_path))?;
    std::fs::rename(&temporary_path, &path).map_err(io_error(&path))
}

fn reset_dir(dir: &Path) -> Result<()> {
    let io_error = |source| Error::Io { path: dir.to_path_buf(), source };
    match std::fs::remove_dir_all(dir) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(io_error(error)),
    }
    std::fs::create_dir_all(dir).map_err(io_error)
}
