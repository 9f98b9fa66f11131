//! The full-text side of the knowledge base: one tantivy document per chunk, BM25 over
//! per-language fields, and the chunk's text and embedding stored beside it so that an index
//! directory alone is enough to reopen the knowledge base without re-embedding.
//!
//! Each chunk is indexed into the fields of its article's language (`title_de`, `body_de`), so
//! each is analysed with the right stemmer. A query is analysed once per language field and
//! searched in all of them: a German question finds German articles through the German
//! stemmer, and English words in it still match English articles.

use std::path::Path;
use std::sync::Mutex;

use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, Value, FAST, INDEXED, STORED, STRING};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{DocAddress, Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use crate::analysis::{analyze, analyzer, index_language, index_languages, register_analyzers, tokenizer_name};
use crate::Result;

/// Memory for tantivy's indexing buffer; it flushes a segment when full. One indexing thread:
/// on our 2-core machines the other core embeds.
const WRITER_HEAP_BYTES: usize = 64 * 1024 * 1024;

/// Title (with headings and tags) matches count this much more than body matches.
const TITLE_BOOST: f32 = 2.0;

/// A chunk as stored in the index.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredChunk {
    pub uid: u64,
    pub article_id: String,
    pub article_version: u32,
    pub chunk_idx: u32,
    pub language: String,
    pub title: String,
    pub heading: String,
    pub text: String,
    /// Text of the title field: title, headings and tags (what BM25 boosts).
    pub title_field_text: String,
    /// Empty when the knowledge base runs without an embedding model.
    pub embedding: Vec<f32>,
}

struct Fields {
    uid: Field,
    article_id: Field,
    article_version: Field,
    chunk_idx: Field,
    language: Field,
    title: Field,
    heading: Field,
    text: Field,
    title_field_text: Field,
    embedding: Field,
    /// (index language, title field, body field).
    language_fields: Vec<(&'static str, Field, Field)>,
}

pub struct TextIndex {
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: Fields,
    /// One analyser per language field, cloned per query (analysers hold per-stream state).
    query_analyzers: Vec<TextAnalyzer>,
}

fn schema() -> Schema {
    let mut builder = Schema::builder();
    builder.add_u64_field("uid", INDEXED | STORED | FAST);
    builder.add_text_field("article_id", STRING | STORED);
    builder.add_u64_field("article_version", STORED);
    builder.add_u64_field("chunk_idx", STORED);
    builder.add_text_field("language", STRING | STORED);
    builder.add_text_field("title", STORED);
    builder.add_text_field("heading", STORED);
    builder.add_text_field("text", STORED);
    builder.add_text_field("title_field_text", STORED);
    builder.add_bytes_field("embedding", STORED);
    for language in index_languages() {
        let indexing = TextFieldIndexing::default().set_tokenizer(&tokenizer_name(language)).set_index_option(IndexRecordOption::WithFreqs);
        let options = TextOptions::default().set_indexing_options(indexing);
        builder.add_text_field(&format!("title_{language}"), options.clone());
        builder.add_text_field(&format!("body_{language}"), options);
    }
    builder.build()
}

impl TextIndex {
    /// A fresh index in `dir` (which must exist and be empty).
    pub fn create_in_dir(dir: &Path) -> Result<TextIndex> {
        TextIndex::from_index(Index::create_in_dir(dir, schema())?)
    }

    /// An existing index in `dir`.
    pub fn open_in_dir(dir: &Path) -> Result<TextIndex> {
        TextIndex::from_index(Index::open_in_dir(dir)?)
    }

    /// An index in memory, for tests and benchmarks.
    pub fn create_in_ram() -> Result<TextIndex> {
        TextIndex::from_index(Index::create_in_ram(schema()))
    }

    fn from_index(index: Index) -> Result<TextIndex> {
        register_analyzers(index.tokenizers());
        let schema = index.schema();
        let field = |name: &str| schema.get_field(name);
        let mut language_fields = Vec::new();
        for language in index_languages() {
            language_fields.push((language, field(&format!("title_{language}"))?, field(&format!("body_{language}"))?));
        }
        let fields = Fields {
            uid: field("uid")?,
            article_id: field("article_id")?,
            article_version: field("article_version")?,
            chunk_idx: field("chunk_idx")?,
            language: field("language")?,
            title: field("title")?,
            heading: field("heading")?,
            text: field("text")?,
            title_field_text: field("title_field_text")?,
            embedding: field("embedding")?,
            language_fields,
        };
        let writer = index.writer_with_num_threads(1, WRITER_HEAP_BYTES)?;
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        let query_analyzers = index_languages().map(analyzer).collect();
        Ok(TextIndex { reader, writer: Mutex::new(writer), fields, query_analyzers })
    }

    /// Queues a chunk for the next [`TextIndex::commit`].
    pub fn add_chunk(&self, chunk: &StoredChunk) -> Result<()> {
        let fields = &self.fields;
        let mut document = TantivyDocument::default();
        document.add_u64(fields.uid, chunk.uid);
        document.add_text(fields.article_id, &chunk.article_id);
        document.add_u64(fields.article_version, u64::from(chunk.article_version));
        document.add_u64(fields.chunk_idx, u64::from(chunk.chunk_idx));
        document.add_text(fields.language, &chunk.language);
        document.add_text(fields.title, &chunk.title);
        document.add_text(fields.heading, &chunk.heading);
        document.add_text(fields.text, &chunk.text);
        document.add_text(fields.title_field_text, &chunk.title_field_text);
        document.add_bytes(fields.embedding, &embedding_to_bytes(&chunk.embedding));
        let language = index_language(&chunk.language);
        let (_, title_field, body_field) = fields.language_fields.iter().find(|(field_language, _, _)| *field_language == language).expect("index_language returns a language of index_languages");
        document.add_text(*title_field, &chunk.title_field_text);
        document.add_text(*body_field, &chunk.text);
        self.lock_writer().add_document(document)?;
        Ok(())
    }

    /// Queues the removal of every chunk of `article_id` for the next commit. Deletes apply to
    /// documents added before them, so delete first, then add the new chunks.
    pub fn delete_article(&self, article_id: &str) {
        self.lock_writer().delete_term(Term::from_field_text(self.fields.article_id, article_id));
    }

    /// Drops every document (for a rebuild in place).
    pub fn delete_all(&self) -> Result<()> {
        self.lock_writer().delete_all_documents()?;
        Ok(())
    }

    /// Makes queued changes durable and visible to searches.
    pub fn commit(&self) -> Result<()> {
        self.lock_writer().commit()?;
        self.reader.reload()?;
        Ok(())
    }

    fn lock_writer(&self) -> std::sync::MutexGuard<'_, IndexWriter> {
        // A panic while holding the writer leaves tantivy's own state consistent (uncommitted
        // operations are simply not committed), so a poisoned lock is still usable.
        self.writer.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The best `limit` chunks for `query` by BM25, as (uid, score), best first.
    /// `only_language`: search just that index language's fields (the query's language is
    /// known); `None`: every language's, each with its own analyser.
    pub fn search(&self, query: &str, limit: usize, only_language: Option<&str>) -> Result<Vec<(u64, f32)>> {
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let wanted = |language: &str| only_language.is_none_or(|only| only == language);
        for ((_, title_field, body_field), query_analyzer) in self.fields.language_fields.iter().zip(&self.query_analyzers).filter(|((language, _, _), _)| wanted(language)) {
            for term in analyze(&mut query_analyzer.clone(), query) {
                let title_query = TermQuery::new(Term::from_field_text(*title_field, &term), IndexRecordOption::WithFreqs);
                clauses.push((Occur::Should, Box::new(BoostQuery::new(Box::new(title_query), TITLE_BOOST))));
                clauses.push((Occur::Should, Box::new(TermQuery::new(Term::from_field_text(*body_field, &term), IndexRecordOption::WithFreqs))));
            }
        }
        if clauses.is_empty() {
            return Ok(Vec::new());
        }
        let searcher = self.reader.searcher();
        let top_docs = searcher.search(&BooleanQuery::new(clauses), &TopDocs::with_limit(limit).order_by_score())?;
        let mut hits = Vec::with_capacity(top_docs.len());
        let mut uid_columns = std::collections::HashMap::new();
        for (score, DocAddress { segment_ord, doc_id }) in top_docs {
            if let std::collections::hash_map::Entry::Vacant(entry) = uid_columns.entry(segment_ord) {
                entry.insert(searcher.segment_reader(segment_ord).fast_fields().u64("uid")?);
            }
            if let Some(uid) = uid_columns[&segment_ord].first(doc_id) {
                hits.push((uid, score));
            }
        }
        Ok(hits)
    }

    /// Every live chunk, for loading the in-memory state when an index is reopened.
    pub fn load_all(&self) -> Result<Vec<StoredChunk>> {
        let fields = &self.fields;
        let searcher = self.reader.searcher();
        let mut chunks = Vec::new();
        for segment_reader in searcher.segment_readers() {
            let store_reader = segment_reader.get_store_reader(64).map_err(tantivy::TantivyError::from)?;
            for doc_id in segment_reader.doc_ids_alive() {
                let document: TantivyDocument = store_reader.get(doc_id)?;
                let text_of = |field: Field| document.get_first(field).and_then(|value| value.as_str()).unwrap_or_default().to_string();
                let u64_of = |field: Field| document.get_first(field).and_then(|value| value.as_u64()).unwrap_or_default();
                chunks.push(StoredChunk {
                    uid: u64_of(fields.uid),
                    article_id: text_of(fields.article_id),
                    article_version: u32::try_from(u64_of(fields.article_version)).unwrap_or(u32::MAX),
                    chunk_idx: u32::try_from(u64_of(fields.chunk_idx)).unwrap_or(u32::MAX),
                    language: text_of(fields.language),
                    title: text_of(fields.title),
                    heading: text_of(fields.heading),
                    text: text_of(fields.text),
                    title_field_text: text_of(fields.title_field_text),
                    embedding: bytes_to_embedding(document.get_first(fields.embedding).and_then(|value| value.as_bytes()).unwrap_or_default()),
                });
            }
        }
        Ok(chunks)
    }

}

fn embedding_to_bytes(embedding: &[f32]) -> Vec<u8> {
    embedding.iter().flat_map(|value| value.to_le_bytes()).collect()
}

fn bytes_to_embedding(bytes: &[u8]) -> Vec<f32> {
    bytes.chunks_exact(4).map(|word| f32::from_le_bytes([word[0], word[1], word[2], word[3]])).collect()
}
