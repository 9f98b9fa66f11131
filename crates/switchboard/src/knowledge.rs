//! The knowledge base around `serve`: where its search index lives, loading the demo articles,
//! and the background task that opens (or rebuilds) the index, attaches it to the service and
//! keeps it in step with the database.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use sb_embed::Embedder;
use sb_kb::{KnowledgeBase, OpenOutcome, SearchConfig};
use sb_service::actions::Actor;
use sb_service::Service;
use sb_store::ImportOutcome;

use crate::config::KnowledgeConfig;

/// The demo knowledge base of the repository, loaded by `serve --demo`.
pub const DEMO_KB_DIR: &str = "data/kb";

/// The index folder when one is configured; `None`: the index lives in memory and is built
/// from the database at each start (each process its own, so several processes on one database
/// never share index files).
pub fn index_dir(config: &KnowledgeConfig) -> Option<PathBuf> {
    (!config.index_dir.is_empty()).then(|| PathBuf::from(&config.index_dir))
}

/// The similar-ticket index's folder: beside the knowledge index's (`<index_dir>-similar-tickets`),
/// never inside it, because a knowledge rebuild empties its own folder.
pub fn similar_tickets_dir(knowledge_dir: &Path) -> PathBuf {
    let name = knowledge_dir.file_name().map_or_else(|| "knowledge-index".into(), |name| name.to_string_lossy().into_owned());
    knowledge_dir.with_file_name(format!("{name}-similar-tickets"))
}

/// Imports articles into the store (new ones created, changed ones as a new version, the rest
/// left alone), calling `on_each` after each. Returns (created, updated, unchanged).
pub async fn import_articles(service: &Service, articles: &[sb_kb::Article], actor: &Actor, mut on_each: impl FnMut()) -> Result<(usize, usize, usize)> {
    let mut counts = (0, 0, 0);
    for article in articles {
        let (_, outcome) = service.import_article(actor, &sb_service::stored_article(article, Some(&actor.audit_name))).await.with_context(|| format!("cannot import article `{}`", article.id))?;
        match outcome {
            ImportOutcome::Created => counts.0 += 1,
            ImportOutcome::Updated => counts.1 += 1,
            ImportOutcome::Unchanged => counts.2 += 1,
        }
        on_each();
    }
    Ok(counts)
}

/// The Markdown articles of `dir`, with an error that says what the folder must hold.
pub fn read_articles(dir: &Path) -> Result<Vec<sb_kb::Article>> {
    sb_kb::read_markdown_dir(dir).with_context(|| format!("cannot read the articles in {} (a folder of *.md files with front matter)", dir.display()))
}

/// Loads the demo articles when their folder is there (a binary run outside the repository
/// has none: said once, clearly).
pub async fn import_demo_articles(service: &Service) -> Result<()> {
    let dir = Path::new(DEMO_KB_DIR);
    if !dir.is_dir() {
        tracing::warn!(dir = DEMO_KB_DIR, "demo knowledge base not found (run from the repository root to load it); the knowledge base starts empty");
        return Ok(());
    }
    let actor = Actor { audit_name: "demo".into(), user_id: None };
    let (created, updated, unchanged) = import_articles(service, &read_articles(dir)?, &actor, || {}).await?;
    tracing::info!(created, updated, unchanged, "demo knowledge base loaded");
    Ok(())
}

/// Opens the index in `dir` (rebuilding it from the database when it is missing or from an
/// older format), or builds one in memory from the database without a `dir`.
pub async fn open_index(service: &Service, dir: Option<&Path>, embedder: Option<Arc<Embedder>>) -> Result<(Arc<KnowledgeBase>, OpenOutcome)> {
    // Read the articles first (cheap next to embedding them): the rebuild, if any, needs them.
    let articles = service.articles_for_index().await?;
    let dir = dir.map(Path::to_path_buf);
    let (knowledge, outcome) = tokio::task::spawn_blocking(move || match dir {
        Some(dir) => KnowledgeBase::open_or_rebuild(&dir, embedder, SearchConfig::default(), move || Ok::<_, std::io::Error>(articles), |_| {}),
        None => {
            let knowledge = KnowledgeBase::in_memory(embedder, SearchConfig::default())?;
            let n_articles = knowledge.rebuild(articles, |_| {})?;
            Ok((knowledge, OpenOutcome::Rebuilt { reason: "in memory (no [knowledge] index_dir configured)".into(), n_articles }))
        }
    })
    .await
    .context("knowledge index task panicked")??;
    Ok((Arc::new(knowledge), outcome))
}

/// The background task of `serve`: opens the index, attaches it, then re-synchronises every
/// `interval` until shutdown. The server is ready before this finishes: until the index is
/// attached, informational questions go to a person.
pub async fn run_index_task(service: Service, dir: Option<PathBuf>, embedder: Option<Arc<Embedder>>, interval: Duration, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let started = std::time::Instant::now();
    let shown_dir = dir.as_ref().map_or_else(|| "memory".to_string(), |dir| dir.display().to_string());
    let knowledge = match open_index(&service, dir.as_deref(), embedder).await {
        Ok((knowledge, outcome)) => {
            tracing::info!(dir = %shown_dir, outcome = ?outcome, articles = knowledge.n_articles(), embeddings = knowledge.has_embeddings(), seconds = started.elapsed().as_secs_f64(), "knowledge base ready");
            knowledge
        }
        Err(error) => {
            tracing::error!(dir = %shown_dir, error = format!("{error:#}"), "knowledge base unavailable: informational questions go to a person; fix the error and restart, or delete the index folder to rebuild it");
            return;
        }
    };
    let embedder = knowledge.embedder().cloned();
    service.attach_knowledge(knowledge);
    let started = std::time::Instant::now();
    match service.attach_similar_tickets(embedder, dir.as_deref().map(similar_tickets_dir)).await {
        Ok(n_tickets) => tracing::info!(n_tickets, seconds = started.elapsed().as_secs_f64(), "similar-ticket index ready"),
        Err(error) => tracing::warn!(error = %error, "similar-ticket index failed to load; it retries at each sync"),
    }
    loop {
        match service.sync_knowledge().await {
            Ok(0) => {}
            Ok(changed) => tracing::info!(changed, "knowledge index synchronised with the database"),
            Err(error) => tracing::warn!(error = %error, "knowledge index synchronisation failed; retrying later"),
        }
        match service.sync_similar_tickets().await {
            Ok(0) => {}
            Ok(added) => tracing::info!(added, "similar-ticket index caught up with resolved tickets"),
            Err(error) => tracing::warn!(error = %error, "similar-ticket index update failed; retrying later"),
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = shutdown.changed() => return,
        }
    }
}
