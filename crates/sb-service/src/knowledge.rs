//! The knowledge base inside the service: article changes go to the store (the system of
//! record, with version history and audit entries) and then to the search index (`sb-kb`),
//! which is derived from the store and rebuilt from it; the informational workflow asks the
//! index for a cited answer.
//!
//! The index is attached after start-up ([`Service::attach_knowledge`]) so that opening or
//! rebuilding it never delays the ingest path; until then the informational workflow finds no
//! article and routes to a person, exactly as without a knowledge base. Searching and
//! embedding are CPU work: they run on the blocking pool.

use std::sync::Arc;

use chrono::Utc;
use sb_domain::Intent;
use sb_kb::{KnowledgeBase, SearchResults};
use sb_policy::decision::{ArticleMatch, TemplatedReply, WorkflowOutcome};
use sb_store::{Article, ArticleChange, ArticleFilter, ArticleStatus, Customer, ImportOutcome, NewArticle, NewAuditEntry, ReplyTemplate, Ticket};
use serde_json::json;

use crate::actions::Actor;
use crate::{Error, Result, Service};

/// The search index's view of a stored article (the slug is its id: readable in citations and
/// stable across import/export).
pub fn index_article(article: &Article) -> sb_kb::Article {
    sb_kb::Article {
        id: article.slug.clone(),
        version: u32::try_from(article.version).unwrap_or(u32::MAX),
        title: article.title.clone(),
        body: article.body.clone(),
        tags: article.tags.clone(),
        intent: article.intent.as_deref().and_then(|label| label.parse::<Intent>().ok()),
        language: article.language.clone(),
        status: match article.status {
            ArticleStatus::Draft => sb_kb::ArticleStatus::Draft,
            ArticleStatus::Published => sb_kb::ArticleStatus::Published,
            ArticleStatus::Archived => sb_kb::ArticleStatus::Archived,
        },
    }
}

/// A Markdown file's article as the store keeps it.
pub fn stored_article(article: &sb_kb::Article, author: Option<&str>) -> NewArticle {
    NewArticle {
        slug: article.id.clone(),
        title: article.title.clone(),
        body: article.body.clone(),
        tags: article.tags.clone(),
        intent: article.intent.map(|intent| intent.as_str().to_string()),
        language: article.language.clone(),
        status: match article.status {
            sb_kb::ArticleStatus::Draft => ArticleStatus::Draft,
            sb_kb::ArticleStatus::Published => ArticleStatus::Published,
            sb_kb::ArticleStatus::Archived => ArticleStatus::Archived,
        },
        author: author.map(str::to_string),
    }
}

fn audit(actor: &Actor, action: &str, details: serde_json::Value) -> Vec<NewAuditEntry> {
    // The store fills in the id of an article it creates (an empty entity id).
    vec![NewAuditEntry::new(actor.audit_name.clone(), action, "article", "", details)]
}

fn article_audit(actor: &Actor, action: &str, article_id: i64, details: serde_json::Value) -> Vec<NewAuditEntry> {
    vec![NewAuditEntry::new(actor.audit_name.clone(), action, "article", article_id, details)]
}

impl Service {
    /// Makes the knowledge base available to the workflows and the API (once; later calls
    /// are ignored).
    pub fn attach_knowledge(&self, knowledge: Arc<KnowledgeBase>) {
        if self.inner.knowledge.set(knowledge).is_err() {
            tracing::warn!("a knowledge base was already attached; keeping the first");
        }
    }

    pub fn knowledge(&self) -> Option<&Arc<KnowledgeBase>> {
        self.inner.knowledge.get()
    }

    /// The published, draft and archived articles of the store as the index wants them.
    pub async fn articles_for_index(&self) -> Result<Vec<sb_kb::Article>> {
        Ok(self.store().all_articles(&ArticleFilter::default()).await?.iter().map(index_article).collect())
    }

    /// Brings the index up to date with one stored article (only the published are
    /// searchable; the index drops the others).
    async fn reindex_article(&self, article: &Article) -> Result<()> {
        let Some(knowledge) = self.knowledge().cloned() else { return Ok(()) };
        let indexed = index_article(article);
        tokio::task::spawn_blocking(move || knowledge.upsert(&indexed)).await.map_err(|error| Error::Internal(error.to_string()))?.map_err(|error| Error::Internal(format!("knowledge index: {error}")))
    }

    pub async fn create_article(&self, actor: &Actor, article: &NewArticle) -> Result<Article> {
        let created = self.store().create_article(article, &audit(actor, "kb.article_created", json!({"slug": article.slug, "status": article.status})), Utc::now()).await?;
        self.reindex_article(&created).await?;
        Ok(created)
    }

    pub async fn update_article(&self, actor: &Actor, id: i64, change: &ArticleChange) -> Result<Article> {
        let details = json!({"fields": changed_fields(change), "expected_version": change.expected_version});
        let updated = self.store().update_article(id, change, &article_audit(actor, "kb.article_updated", id, details), Utc::now()).await?;
        self.reindex_article(&updated).await?;
        Ok(updated)
    }

    /// Withdraws an article: the automatic answers stop citing it at once.
    pub async fn archive_article(&self, actor: &Actor, id: i64) -> Result<Article> {
        let archived = self.store().archive_article(id, Some(&actor.audit_name), &article_audit(actor, "kb.article_archived", id, json!({})), Utc::now()).await?;
        self.reindex_article(&archived).await?;
        Ok(archived)
    }

    /// `kb import` and the demo data: creates or updates the article of the file's slug.
    pub async fn import_article(&self, actor: &Actor, article: &NewArticle) -> Result<(Article, ImportOutcome)> {
        let (stored, outcome) = self.store().import_article(article, &audit(actor, "kb.article_imported", json!({"slug": article.slug})), Utc::now()).await?;
        if outcome != ImportOutcome::Unchanged {
            self.reindex_article(&stored).await?;
        }
        Ok((stored, outcome))
    }

    /// Makes the index agree with the store: re-indexes every published article whose
    /// version differs from the indexed one and drops the indexed articles that are no
    /// longer published. Run when the index is attached and then periodically, so a change
    /// saved through another server process (several replicas on one PostgreSQL) reaches
    /// this one's index. Returns how many articles changed in the index.
    pub async fn sync_knowledge(&self) -> Result<usize> {
        let Some(knowledge) = self.knowledge().cloned() else { return Ok(0) };
        // Versions first (no text); only the articles that differ are read whole.
        let published = self.store().article_versions_by_slug(ArticleStatus::Published).await?;
        let indexed = knowledge.indexed_versions();
        let mut stale = Vec::new();
        for (slug, version) in &published {
            if indexed.get(slug).is_none_or(|&indexed_version| i64::from(indexed_version) != *version) {
                if let Some(article) = self.store().article_by_slug(slug).await? {
                    stale.push(index_article(&article));
                }
            }
        }
        let current: std::collections::HashSet<String> = published.into_iter().map(|(slug, _)| slug).collect();
        let gone: Vec<String> = indexed.into_keys().filter(|slug| !current.contains(slug)).collect();
        if stale.is_empty() && gone.is_empty() {
            return Ok(0);
        }
        tokio::task::spawn_blocking(move || {
            if !stale.is_empty() {
                knowledge.upsert_many(&stale)?;
            }
            for slug in &gone {
                knowledge.delete(slug)?;
            }
            Ok::<usize, sb_kb::Error>(stale.len() + gone.len())
        })
        .await
        .map_err(|error| Error::Internal(error.to_string()))?
        .map_err(|error| Error::Internal(format!("knowledge index: {error}")))
    }

    /// Hybrid search over the published articles.
    pub async fn search_knowledge(&self, query: &str, limit: usize) -> Result<SearchResults> {
        let knowledge = self.knowledge().cloned().ok_or(Error::KnowledgeNotLoaded)?;
        let query = query.to_string();
        tokio::task::spawn_blocking(move || knowledge.search(&query, limit)).await.map_err(|error| Error::Internal(error.to_string()))?.map_err(|error| Error::Internal(format!("knowledge search: {error}")))
    }

    /// The informational workflow's article: the best hit with the index's confidence as its
    /// score and the bar the index applied as its threshold, so the decision policy sees both; `None`
    /// when nothing matched or no knowledge base is attached.
    pub(crate) async fn find_article(&self, text: &str) -> Option<(ArticleMatch, Vec<ArticleMatch>)> {
        self.knowledge()?;
        let results = match self.search_knowledge(text, 3).await {
            Ok(results) => results,
            Err(error) => {
                // A broken index must not stop the pipeline: the message goes to a person.
                tracing::warn!(error = %error, "knowledge search failed; routing to a person");
                return None;
            }
        };
        // The bar the index applied to this result (BM25-only, it depends on how much of the
        // question the passage holds), so the decision record quotes the rule actually used.
        let threshold = results.required_confidence;
        let to_match = |hit: &sb_kb::SearchHit, score: f32| ArticleMatch {
            article_id: hit.article_id.clone(),
            version: hit.article_version,
            title: hit.title.clone(),
            answer: hit.passage.clone(),
            score,
            threshold,
            url: Some(self.article_url(&hit.article_id)),
            reply: None,
        };
        // Only the first hit carries the confidence decision; the others are attached for the
        // agent with their fused score (never enough to answer on their own).
        let score = if results.confident { results.confidence.max(threshold) } else { results.confidence.min(threshold - f32::EPSILON) };
        let best = results.hits.first().map(|hit| to_match(hit, score))?;
        let others = results.hits.iter().skip(1).map(|hit| to_match(hit, 0.0)).collect();
        Some((best, others))
    }

    /// The stored reply template an automatic answer to an `intent` question in `language` is
    /// written from: the intent's template in that language, else in English. A general
    /// template (no intent) only promises that someone will look into it, so it never answers
    /// a question: `None`, and the built-in format quotes and links the article.
    pub(crate) async fn answer_template(&self, intent: Intent, language: &str) -> Result<Option<ReplyTemplate>> {
        let template = self.store().suggested_template(Some(intent.as_str()), &crate::assist::index_language(language)).await?;
        Ok(template.filter(|template| template.intent.is_some()))
    }

    /// Writes the automatic answer of an informational workflow from `template`, filled like a
    /// suggested reply (customer, ticket, article; [`crate::ServiceConfig::answer_signer`] as the
    /// agent). A variable without a value stays in the text and is listed as missing: the
    /// policy then sends the answer to a person as a draft. Nothing changes without a template
    /// or an answering article.
    pub(crate) fn write_article_answer(&self, workflow: &mut WorkflowOutcome, template: Option<&ReplyTemplate>, ticket: &Ticket, customer: Option<&Customer>) {
        let (WorkflowOutcome::Informational { article: Some(article) }, Some(template)) = (workflow, template) else { return };
        let cited = crate::assist::AssistArticle {
            article_id: article.article_id.clone(),
            version: article.version,
            title: article.title.clone(),
            heading: String::new(),
            passage: article.answer.trim().to_string(),
            score: article.score,
            url: article.url.clone().unwrap_or_default(),
        };
        let signer = Some(self.config().answer_signer.as_str()).filter(|signer| !signer.trim().is_empty());
        let values = crate::assist::template_values(ticket, customer, None, Some(&cited), signer);
        let rendered = sb_kb::template::render(&template.body, |name| values.get(name).cloned());
        article.reply = Some(TemplatedReply { template_id: template.id, template_name: template.name.clone(), language: template.language.clone(), text: rendered.text, missing: rendered.missing });
    }
}

/// The names of the fields a change sets (for the audit entry: the text itself is in the
/// version history).
fn changed_fields(change: &ArticleChange) -> Vec<&'static str> {
    let mut fields = Vec::new();
    let mut note = |set: bool, name: &'static str| {
        if set {
            fields.push(name);
        }
    };
    note(change.title.is_some(), "title");
    note(change.body.is_some(), "body");
    note(change.tags.is_some(), "tags");
    note(change.intent.is_some(), "intent");
    note(change.language.is_some(), "language");
    note(change.status.is_some(), "status");
    fields
}
