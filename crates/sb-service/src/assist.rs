//! Agent assist: for one ticket, what an agent needs to answer it — a suggested reply filled
//! from the ticket, its order and the best article; the best articles; the most similar
//! resolved tickets with their resolution and reply; open tickets of the same customer that
//! look like duplicates; and a summary of the conversation. At resolution the summary is
//! stored, and when no article answered an informational question a draft article is offered
//! (the knowledge-base updater).
//!
//! Similar tickets come from a second hybrid index (`sb-kb`) of resolved tickets' requests,
//! redacted. It follows the store's feed of resolutions (`resolved_at`, id), starting from the
//! most recent [`SIMILAR_INDEX_RECENT`], so every replica on one database sees the tickets the
//! others resolved; a ticket reopened since is filtered out when it is read back. In memory it
//! is rebuilt (and re-embedded) at each start; in a folder it is kept across restarts with its
//! position in the feed ([`FEED_POSITION_FILE`], written after each page is committed, so a
//! crash re-reads at most one page, and re-indexing a ticket replaces it).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sb_domain::{Category, EntityValue, Intent, Order, TriageResult};
use sb_kb::summary::{summarize, AuthorRole, ConversationSummary};
use sb_kb::template::render;
use sb_kb::{KnowledgeBase, SearchConfig};
use sb_store::{ArticleStatus, Customer, Direction, MessageRow, NewArticle, Page, Ticket, TicketFilter, TicketStatus};
use serde::Serialize;

use crate::actions::Actor;
use crate::{Error, Result, Service};

/// Resolved tickets the similar-ticket index starts from (the most recent ones).
pub const SIMILAR_INDEX_RECENT: i64 = 5_000;
/// Similar tickets returned.
pub const SIMILAR_TICKETS: usize = 5;
/// Resolved tickets read from the store per round of the feed.
const FEED_PAGE: i64 = 200;
/// The feed position of a similar-ticket index kept in a folder.
pub const FEED_POSITION_FILE: &str = "feed-position.json";
/// Open tickets of the same customer compared for duplicates.
const DUPLICATE_CANDIDATES: i64 = 20;
/// Cosine of the two requests' MiniLM embeddings from which a ticket is flagged as a
/// duplicate (paraphrases of one question score 0.8–0.95; different questions on one topic
/// rarely above 0.7).
const DUPLICATE_MIN_COSINE: f32 = 0.8;
/// The same without a model: share of words in common (Jaccard) of the two requests.
const DUPLICATE_MIN_JACCARD: f32 = 0.6;
/// Characters of a similar ticket's request and reply shown.
const EXCERPT_CHARS: usize = 600;

/// Where the suggested reply comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplySource {
    /// A canned response the agent picked by its shortcut.
    Canned,
    /// A reply template written for the ticket's intent (and language).
    Template,
    /// The draft the workflow prepared (order status, cancellation, ...).
    WorkflowDraft,
    /// A template for any intent.
    GenericTemplate,
    /// The built-in fallback: no template is stored at all.
    BuiltIn,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SuggestedReply {
    pub source: ReplySource,
    pub template_id: Option<i64>,
    pub template_name: Option<String>,
    /// Filled in; a variable without a value stays as `{{name}}` and is listed in `missing`.
    pub text: String,
    pub missing: Vec<String>,
    /// Nothing is missing: the text can be sent as it is.
    pub complete: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AssistArticle {
    pub article_id: String,
    pub version: u32,
    pub title: String,
    pub heading: String,
    pub passage: String,
    pub score: f32,
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimilarTicket {
    pub ticket_id: i64,
    pub subject: Option<String>,
    pub intent: Option<Intent>,
    pub status: TicketStatus,
    pub resolved_at: Option<DateTime<Utc>>,
    /// Fused rank score (only comparable within one list).
    pub score: f32,
    /// Cosine of the two requests, when the index has embeddings.
    pub cosine: Option<f32>,
    /// The similar ticket's request, redacted.
    pub request: String,
    /// The summary stored when it was resolved.
    pub resolution: Option<String>,
    /// The last reply sent to its customer (only for callers who may see personal data).
    pub reply: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PossibleDuplicate {
    pub ticket_id: i64,
    pub subject: Option<String>,
    pub status: TicketStatus,
    pub created_at: DateTime<Utc>,
    /// Cosine (with the model) or word overlap (without) of the two requests.
    pub similarity: f32,
    pub shared_order_numbers: Vec<String>,
    /// The console offers to merge it into this ticket.
    pub flagged_for_merge: bool,
}

/// A knowledge-base article proposed from a resolved ticket no article answered.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KbDraft {
    pub slug: String,
    pub title: String,
    pub body: String,
    pub intent: Option<Intent>,
    pub language: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TicketAssist {
    pub ticket_id: i64,
    pub language: String,
    pub suggested_reply: SuggestedReply,
    pub articles: Vec<AssistArticle>,
    pub similar_tickets: Vec<SimilarTicket>,
    pub possible_duplicates: Vec<PossibleDuplicate>,
    /// Computed now from the conversation.
    pub summary: ConversationSummary,
    /// Stored when the ticket was resolved.
    pub stored_summary: Option<String>,
    /// Offered for a resolved informational ticket that no article answered.
    pub kb_draft: Option<KbDraft>,
    /// The canned response asked for by shortcut, filled like the suggested reply.
    pub canned_reply: Option<SuggestedReply>,
    /// Whether the similar-ticket index is loaded (false right after start-up).
    pub similar_index_ready: bool,
}

/// Who asks: the agent's name fills `{{agent.name}}`; without the PII permission the
/// customer's contact details stay out of the reply and other customers' replies are left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AssistOptions {
    pub agent_name: Option<String>,
    pub sees_pii: bool,
    /// A canned response to fill for this ticket, by its shortcut (`/thanks`).
    pub canned: Option<String>,
}

/// The resolved-ticket index and where its feed stands.
pub struct SimilarTickets {
    index: KnowledgeBase,
    watermark: tokio::sync::Mutex<Option<(DateTime<Utc>, i64)>>,
    /// The index folder, when the index is kept across restarts.
    dir: Option<PathBuf>,
}

/// Where a kept index stands in the feed of resolutions: after this ticket (`None`: from the
/// first resolution).
#[derive(Debug, Serialize, serde::Deserialize)]
struct FeedPosition {
    after: Option<(i64, i64)>,
}

fn read_feed_position(dir: &Path) -> Option<Option<(DateTime<Utc>, i64)>> {
    let bytes = std::fs::read(dir.join(FEED_POSITION_FILE)).ok()?;
    let position: FeedPosition = serde_json::from_slice(&bytes).ok()?;
    match position.after {
        None => Some(None),
        Some((resolved_at_ms, id)) => DateTime::from_timestamp_millis(resolved_at_ms).map(|resolved_at| Some((resolved_at, id))),
    }
}

/// Written to a temporary file and renamed over the old one, so a crash leaves one or the other.
fn write_feed_position(dir: &Path, watermark: Option<(DateTime<Utc>, i64)>) -> std::io::Result<()> {
    let position = FeedPosition { after: watermark.map(|(resolved_at, id)| (resolved_at.timestamp_millis(), id)) };
    let temporary = dir.join(format!("{FEED_POSITION_FILE}.tmp"));
    std::fs::write(&temporary, serde_json::to_vec(&position).map_err(std::io::Error::other)?)?;
    std::fs::rename(&temporary, dir.join(FEED_POSITION_FILE))
}

/// A ticket's first request as triage saw it.
struct Request {
    /// Redacted, quoting and signatures stripped; the raw body when it was never triaged.
    text: String,
    language: String,
    triage: Option<TriageResult>,
}

const BUILT_IN_REPLY: &str = "Hi {{customer.first_name}},\n\nThank you for contacting us. I am looking into your request and will get back to you shortly.\n\nBest regards,\n{{agent.name}}";

impl Service {
    /// Starts the similar-ticket index (once): in memory, or opened from `dir` where it was
    /// kept with its feed position; a new, unreadable or outdated one loads the most recent
    /// resolved tickets. Then it follows new resolutions at each
    /// [`Service::sync_similar_tickets`]. Returns the tickets added now.
    pub async fn attach_similar_tickets(&self, embedder: Option<Arc<sb_embed::Embedder>>, dir: Option<PathBuf>) -> Result<usize> {
        let index_error = |error: sb_kb::Error| Error::Internal(format!("similar-ticket index: {error}"));
        let (index, kept_position) = match dir.clone() {
            None => (KnowledgeBase::in_memory(embedder, SearchConfig::default()).map_err(index_error)?, None),
            Some(dir) => tokio::task::spawn_blocking(move || {
                // A rebuild starts empty: the feed below fills it.
                let (index, outcome) = KnowledgeBase::open_or_rebuild(&dir, embedder, SearchConfig::default(), || Ok::<_, std::io::Error>(Vec::new()), |_| {})?;
                let position = match outcome {
                    sb_kb::OpenOutcome::Opened => read_feed_position(&dir),
                    sb_kb::OpenOutcome::Rebuilt { .. } => None,
                };
                Ok::<_, sb_kb::Error>((index, position))
            })
            .await
            .map_err(|error| Error::Internal(error.to_string()))?
            .map_err(index_error)?,
        };
        let start = match kept_position {
            Some(position) => {
                tracing::info!(tickets = index.n_articles(), "similar-ticket index opened where it was kept; catching up from its feed position");
                position
            }
            None => self.store().recent_resolved_watermark(SIMILAR_INDEX_RECENT).await?,
        };
        let similar = Arc::new(SimilarTickets { index, watermark: tokio::sync::Mutex::new(start), dir });
        if self.inner.similar.set(similar).is_err() {
            tracing::warn!("a similar-ticket index was already attached; keeping the first");
        }
        self.sync_similar_tickets().await
    }

    /// Adds the tickets resolved since the last call to the similar-ticket index. Returns how
    /// many were added.
    pub async fn sync_similar_tickets(&self) -> Result<usize> {
        let Some(similar) = self.inner.similar.get().cloned() else { return Ok(0) };
        // One sync at a time: the watermark moves only after the index has the page.
        let mut watermark = similar.watermark.lock().await;
        let mut n_added = 0;
        loop {
            let page = self.store().resolved_tickets_after(*watermark, FEED_PAGE).await?;
            let Some(last) = page.last() else { break };
            let next_watermark = last.resolved_at.map(|resolved_at| (resolved_at, last.id));
            let mut documents = Vec::with_capacity(page.len());
            for ticket in &page {
                let request = self.request_of(ticket).await?;
                if request.text.trim().is_empty() {
                    continue;
                }
                documents.push(sb_kb::Article {
                    id: ticket_document_id(ticket.id),
                    version: 1,
                    title: ticket.subject.clone().filter(|subject| !subject.trim().is_empty()).unwrap_or_else(|| format!("Ticket {}", ticket.id)),
                    body: request.text,
                    tags: Vec::new(),
                    intent: ticket.intent,
                    language: request.language,
                    status: sb_kb::ArticleStatus::Published,
                });
            }
            let n_documents = documents.len();
            let index_handle = similar.clone();
            tokio::task::spawn_blocking(move || {
                index_handle.index.upsert_many(&documents).map_err(|error| format!("similar-ticket index: {error}"))?;
                match &index_handle.dir {
                    Some(dir) => write_feed_position(dir, next_watermark).map_err(|error| format!("similar-ticket index feed position in {}: {error}", dir.display())),
                    None => Ok(()),
                }
            })
            .await
            .map_err(|error| Error::Internal(error.to_string()))?
            .map_err(Error::Internal)?;
            n_added += n_documents;
            *watermark = next_watermark;
            if (page.len() as i64) < FEED_PAGE {
                break;
            }
        }
        Ok(n_added)
    }

    /// Everything the assist panel shows for `ticket_id`.
    pub async fn ticket_assist(&self, ticket_id: i64, options: &AssistOptions) -> Result<TicketAssist> {
        let ticket = self.store().ticket(ticket_id).await?;
        let customer = match ticket.customer_id {
            Some(customer_id) => Some(self.store().customer(customer_id).await?),
            None => None,
        };
        let (messages, triage_rows) = self.conversation(ticket_id).await?;
        let request = request_from(&messages, &triage_rows);
        let order = match &request.triage {
            Some(triage) => self.look_up_order(triage).await.order().cloned(),
            None => None,
        };
        let articles = self.assist_articles(&request.text).await;
        let decisions = self.store().ticket_decisions(ticket_id).await?;
        let workflow_draft = decisions.last().and_then(|decision| decision.record.pointer("/decision/suggested_reply")).and_then(|draft| draft.as_str()).map(str::to_string);
        let shown_customer = customer.as_ref().filter(|_| options.sees_pii);
        let values = template_values(&ticket, shown_customer, order.as_ref(), articles.first(), options.agent_name.as_deref());
        let suggested_reply = self.suggested_reply(ticket.intent, &request.language, workflow_draft, &values).await?;
        let canned_reply = match &options.canned {
            None => None,
            Some(shortcut) => {
                let template = self.store().template_by_shortcut(shortcut, &request.language).await?.ok_or_else(|| Error::Store(sb_store::Error::NotFound { entity: "canned response", id: shortcut.clone() }))?;
                let rendered = render(&template.body, |name| values.get(name).cloned());
                Some(SuggestedReply { source: ReplySource::Canned, template_id: Some(template.id), template_name: Some(template.name.clone()), complete: rendered.is_complete(), text: rendered.text, missing: rendered.missing })
            }
        };
        let similar_tickets = self.similar_tickets(&ticket, &request.text, options.sees_pii).await?;
        let possible_duplicates = self.possible_duplicates(&ticket, &request).await?;
        let summary = summarize_conversation(&messages, &triage_rows);
        let stored_summary = self.store().ticket_summary(ticket_id).await?;
        let kb_draft = kb_draft_offer(&ticket, &request, &summary, &messages, &decisions);
        Ok(TicketAssist {
            ticket_id,
            language: request.language,
            suggested_reply,
            articles,
            similar_tickets,
            possible_duplicates,
            summary,
            stored_summary,
            kb_draft,
            canned_reply,
            similar_index_ready: self.inner.similar.get().is_some(),
        })
    }

    /// Stores the conversation's summary on a resolved ticket and brings the similar-ticket
    /// index up to date; called after a resolution (failures are logged: the resolution
    /// itself is done).
    pub(crate) async fn after_resolution(&self, ticket_id: i64) {
        let summary = match self.conversation(ticket_id).await {
            Ok((messages, triage_rows)) => summarize_conversation(&messages, &triage_rows),
            Err(error) => {
                tracing::warn!(ticket_id, error = %error, "cannot read the conversation to summarise it");
                return;
            }
        };
        if let Err(error) = self.store().set_ticket_summary(ticket_id, &summary_text(&summary)).await {
            tracing::warn!(ticket_id, error = %error, "cannot store the resolution summary");
        }
        let service = self.clone();
        // Embedding takes tens of milliseconds: not on the agent's request.
        tokio::spawn(async move {
            if let Err(error) = service.sync_similar_tickets().await {
                tracing::warn!(error = %error, "similar-ticket index update failed; the next sync retries");
            }
        });
    }

    /// Creates the draft article offered for a resolved ticket (see [`TicketAssist::kb_draft`]).
    pub async fn create_kb_draft(&self, ticket_id: i64, actor: &Actor) -> Result<sb_store::Article> {
        // Only what the draft needs: no search, no similar tickets, no embeddings.
        let ticket = self.store().ticket(ticket_id).await?;
        let (messages, triage_rows) = self.conversation(ticket_id).await?;
        let decisions = self.store().ticket_decisions(ticket_id).await?;
        let request = request_from(&messages, &triage_rows);
        let summary = summarize_conversation(&messages, &triage_rows);
        let Some(draft) = kb_draft_offer(&ticket, &request, &summary, &messages, &decisions) else {
            return Err(Error::Invalid(format!("ticket {ticket_id} has no draft article to offer: only a resolved informational ticket that no article answered has one")));
        };
        let article = NewArticle {
            slug: draft.slug,
            title: draft.title,
            body: draft.body,
            tags: vec!["from-ticket".to_string()],
            intent: draft.intent.map(|intent| intent.as_str().to_string()),
            language: draft.language,
            status: ArticleStatus::Draft,
            author: Some(actor.audit_name.clone()),
        };
        self.create_article(actor, &article).await
    }

    /// A ticket's messages and triage runs, read once for everything derived from them.
    async fn conversation(&self, ticket_id: i64) -> Result<(Vec<MessageRow>, Vec<sb_store::TriageRow>)> {
        Ok((self.store().ticket_messages(ticket_id).await?, self.store().ticket_triage_results(ticket_id).await?))
    }

    /// The ticket's first triaged request (see [`request_from`]).
    async fn request_of(&self, ticket: &Ticket) -> Result<Request> {
        let (messages, triage_rows) = self.conversation(ticket.id).await?;
        Ok(request_from(&messages, &triage_rows))
    }

    async fn assist_articles(&self, query: &str) -> Vec<AssistArticle> {
        if self.knowledge().is_none() || query.trim().is_empty() {
            return Vec::new();
        }
        match self.search_knowledge(query, 3).await {
            Ok(results) => results
                .hits
                .into_iter()
                .map(|hit| AssistArticle { url: self.article_url(&hit.article_id), article_id: hit.article_id, version: hit.article_version, title: hit.title, heading: hit.heading, passage: hit.passage, score: hit.score })
                .collect(),
            Err(error) => {
                tracing::warn!(error = %error, "knowledge search for the assist panel failed");
                Vec::new()
            }
        }
    }

    async fn suggested_reply(&self, intent: Option<Intent>, language: &str, workflow_draft: Option<String>, values: &HashMap<String, String>) -> Result<SuggestedReply> {
        let template = self.store().suggested_template(intent.map(Intent::as_str), language).await?;
        let fill = |text: &str, source: ReplySource, template: Option<&sb_store::ReplyTemplate>| {
            let rendered = render(text, |name| values.get(name).cloned());
            SuggestedReply { source, template_id: template.map(|template| template.id), template_name: template.map(|template| template.name.clone()), complete: rendered.is_complete(), text: rendered.text, missing: rendered.missing }
        };
        Ok(match (template, workflow_draft) {
            (Some(template), _) if template.intent.is_some() => fill(&template.body, ReplySource::Template, Some(&template)),
            (_, Some(draft)) if !draft.trim().is_empty() => fill(&draft, ReplySource::WorkflowDraft, None),
            (Some(template), _) => fill(&template.body, ReplySource::GenericTemplate, Some(&template)),
            (None, _) => fill(BUILT_IN_REPLY, ReplySource::BuiltIn, None),
        })
    }

    async fn similar_tickets(&self, ticket: &Ticket, query: &str, with_replies: bool) -> Result<Vec<SimilarTicket>> {
        let Some(similar) = self.inner.similar.get().cloned() else { return Ok(Vec::new()) };
        if query.trim().is_empty() {
            return Ok(Vec::new());
        }
        let query_text = query.to_string();
        // A few more than needed: this ticket itself and reopened ones are dropped below.
        let results = tokio::task::spawn_blocking(move || similar.index.search(&query_text, SIMILAR_TICKETS + 6))
            .await
            .map_err(|error| Error::Internal(error.to_string()))?
            .map_err(|error| Error::Internal(format!("similar-ticket search: {error}")))?;
        let mut found = Vec::new();
        for hit in results.hits {
            let Some(other_id) = hit.article_id.strip_prefix("ticket-").and_then(|id| id.parse::<i64>().ok()) else { continue };
            if other_id == ticket.id {
                continue;
            }
            let other = match self.store().ticket(other_id).await {
                Ok(other) => other,
                Err(sb_store::Error::NotFound { .. }) => continue,
                Err(error) => return Err(error.into()),
            };
            if !is_done(other.status) {
                continue;
            }
            let reply = if with_replies {
                self.store().ticket_messages(other_id).await?.into_iter().rev().find(|message| message.direction == Direction::Outbound).map(|message| excerpt(&message_text(&message)))
            } else {
                None
            };
            found.push(SimilarTicket {
                ticket_id: other_id,
                subject: other.subject.clone(),
                intent: other.intent,
                status: other.status,
                resolved_at: other.resolved_at,
                score: hit.score,
                cosine: hit.cosine,
                request: excerpt(&hit.passage),
                resolution: self.store().ticket_summary(other_id).await?,
                reply,
            });
            if found.len() == SIMILAR_TICKETS {
                break;
            }
        }
        Ok(found)
    }

    async fn possible_duplicates(&self, ticket: &Ticket, request: &Request) -> Result<Vec<PossibleDuplicate>> {
        let Some(customer_id) = ticket.customer_id else { return Ok(Vec::new()) };
        let filter = TicketFilter { customer_id: Some(customer_id), status: Some(vec![TicketStatus::New, TicketStatus::Open, TicketStatus::Pending]), ..TicketFilter::default() };
        let (candidates, _) = self.store().list_tickets(&filter, Page { limit: DUPLICATE_CANDIDATES, offset: 0 }, Utc::now()).await?;
        let mut others = Vec::new();
        for candidate in candidates.into_iter().filter(|candidate| candidate.id != ticket.id) {
            let other_request = self.request_of(&candidate).await?;
            others.push((candidate, other_request));
        }
        if others.is_empty() {
            return Ok(Vec::new());
        }
        let own_orders = order_numbers(request.triage.as_ref());
        let embedder = self.knowledge().and_then(|knowledge| knowledge.embedder().cloned());
        let similarities: Vec<f32> = match embedder {
            Some(embedder) => {
                let mut texts = vec![request.text.clone()];
                texts.extend(others.iter().map(|(_, other)| other.text.clone()));
                let embeddings = tokio::task::spawn_blocking(move || embedder.embed(&texts.iter().map(String::as_str).collect::<Vec<_>>()))
                    .await
                    .map_err(|error| Error::Internal(error.to_string()))?
                    .map_err(|error| Error::Internal(format!("embedding for duplicates: {error}")))?;
                embeddings[1..].iter().map(|embedding| sb_kb::vectors::dot(&embeddings[0], embedding)).collect()
            }
            None => others.iter().map(|(_, other)| jaccard(&request.text, &other.text)).collect(),
        };
        let has_model = self.knowledge().is_some_and(|knowledge| knowledge.embedder().is_some());
        let threshold = if has_model { DUPLICATE_MIN_COSINE } else { DUPLICATE_MIN_JACCARD };
        Ok(others
            .into_iter()
            .zip(similarities)
            .map(|((candidate, other_request), similarity)| {
                let other_orders = order_numbers(other_request.triage.as_ref());
                let shared_order_numbers: Vec<String> = own_orders.iter().filter(|number| other_orders.contains(*number)).cloned().collect();
                PossibleDuplicate {
                    ticket_id: candidate.id,
                    subject: candidate.subject,
                    status: candidate.status,
                    created_at: candidate.created_at,
                    similarity,
                    flagged_for_merge: !shared_order_numbers.is_empty() || similarity >= threshold,
                    shared_order_numbers,
                }
            })
            .collect())
    }

    /// Where customers read an article: `{public_url}/help/{slug}`.
    pub fn article_url(&self, slug: &str) -> String {
        format!("{}/help/{slug}", self.config().public_url.trim_end_matches('/'))
    }
}

/// The ticket's first triaged request; the first inbound body when none was triaged.
fn request_from(messages: &[MessageRow], triage_rows: &[sb_store::TriageRow]) -> Request {
    if let Some(triage) = triage_rows.first().and_then(|row| serde_json::from_value::<TriageResult>(row.result.clone()).ok()) {
        let language = index_language(&triage.language.code);
        return Request { text: triage.redacted_text.clone(), language, triage: Some(triage) };
    }
    let text = messages.iter().find(|message| message.direction == Direction::Inbound).map(message_text).unwrap_or_default();
    let language = index_language(&sb_text::language::detect(&text).code);
    Request { text, language, triage: None }
}

/// The summary of a conversation, from the customers' messages as triage redacted them (so a
/// stored summary and a draft article never carry a detected email, phone or card) and the
/// replies and notes as written.
fn summarize_conversation(messages: &[MessageRow], triage_rows: &[sb_store::TriageRow]) -> ConversationSummary {
    let redacted: HashMap<i64, &str> = triage_rows.iter().filter_map(|row| row.result.get("redacted_text").and_then(|text| text.as_str()).map(|text| (row.message_id, text))).collect();
    let texts: Vec<(AuthorRole, String)> = messages
        .iter()
        .map(|message| {
            let text = match (message.direction, redacted.get(&message.id)) {
                (Direction::Inbound, Some(redacted)) => redacted.to_string(),
                _ => message_text(message),
            };
            (author_role(message), text)
        })
        .collect();
    summarize(texts.iter().map(|(role, text)| (*role, text.as_str())))
}

/// The draft article a ticket offers: only a resolved informational ticket that no article
/// answered automatically has one.
fn kb_draft_offer(ticket: &Ticket, request: &Request, summary: &ConversationSummary, messages: &[MessageRow], decisions: &[sb_store::DecisionRow]) -> Option<KbDraft> {
    let answered_by_article = decisions.iter().any(|decision| decision.reason_code == "auto_reply_article");
    (is_done(ticket.status) && ticket.category == Some(Category::Informational) && !answered_by_article).then(|| kb_draft(ticket, request, summary, messages))
}

fn ticket_document_id(ticket_id: i64) -> String {
    format!("ticket-{ticket_id}")
}

fn is_done(status: TicketStatus) -> bool {
    matches!(status, TicketStatus::Resolved | TicketStatus::Closed)
}

/// The index wants an ISO 639-1 code; an undetermined language is indexed as English.
pub(crate) fn index_language(code: &str) -> String {
    if code.len() == 2 && code.bytes().all(|byte| byte.is_ascii_lowercase()) {
        code.to_string()
    } else {
        "en".to_string()
    }
}

fn author_role(message: &MessageRow) -> AuthorRole {
    match message.direction {
        Direction::Inbound => AuthorRole::Customer,
        Direction::Outbound => AuthorRole::Agent,
        Direction::Note => AuthorRole::Internal,
    }
}

fn message_text(message: &MessageRow) -> String {
    if message.body_is_html {
        sb_text::normalize::html_to_text(&message.body)
    } else {
        message.body.clone()
    }
}

fn excerpt(text: &str) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= EXCERPT_CHARS {
        return flat;
    }
    format!("{}…", flat.chars().take(EXCERPT_CHARS).collect::<String>())
}

fn order_numbers(triage: Option<&TriageResult>) -> Vec<String> {
    triage
        .map(|triage| {
            triage
                .entities
                .iter()
                .filter_map(|entity| match &entity.value {
                    EntityValue::OrderNumber { number } => Some(number.clone()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Share of distinct lowercase words two texts have in common.
fn jaccard(a: &str, b: &str) -> f32 {
    let words = |text: &str| -> HashSet<String> { text.split(|character: char| !character.is_alphanumeric()).filter(|word| word.len() > 2).map(str::to_lowercase).collect() };
    let (a_words, b_words) = (words(a), words(b));
    let union = a_words.union(&b_words).count();
    if union == 0 {
        return 0.0;
    }
    a_words.intersection(&b_words).count() as f32 / union as f32
}

/// The values a reply template may use. A value that is not known is absent (the template
/// then shows the placeholder and lists it as missing).
pub(crate) fn template_values(ticket: &Ticket, customer: Option<&Customer>, order: Option<&Order>, article: Option<&AssistArticle>, agent_name: Option<&str>) -> HashMap<String, String> {
    let mut values = HashMap::new();
    let mut set = |name: &str, value: Option<String>| {
        if let Some(value) = value.filter(|value| !value.trim().is_empty()) {
            values.insert(name.to_string(), value);
        }
    };
    set("ticket.id", Some(ticket.id.to_string()));
    set("ticket.subject", ticket.subject.clone());
    if let Some(customer) = customer.filter(|customer| customer.erased_at.is_none()) {
        set("customer.name", customer.name.clone());
        set("customer.first_name", customer.name.as_deref().and_then(|name| name.split_whitespace().next()).map(str::to_string));
        set("customer.email", customer.email.clone());
    }
    if let Some(order) = order {
        set("order.number", Some(order.number.clone()));
        set("order.status", Some(order.status.as_str().replace('_', " ")));
        set("order.placed_date", Some(order.placed_at.date_naive().to_string()));
        set("order.promised_delivery", order.promised_delivery.map(|date| date.to_string()));
        set("order.carrier", order.carrier.map(|carrier| carrier.display_name().to_string()));
        set("order.tracking_number", order.tracking_number.clone());
        set("order.tracking_url", order.carrier.zip(order.tracking_number.as_deref()).map(|(carrier, number)| carrier.tracking_url(number)));
        set("order.total", Some(format!("{:.2} {}", order.total_minor as f64 / 100.0, order.currency)));
    }
    if let Some(article) = article {
        set("article.title", Some(article.title.clone()));
        set("article.url", Some(article.url.clone()));
        set("article.passage", Some(article.passage.clone()));
    }
    set("agent.name", agent_name.map(str::to_string));
    set("agent.first_name", agent_name.and_then(|name| name.split_whitespace().next()).map(str::to_string));
    values
}

/// The stored form of a summary: one line per part.
pub fn summary_text(summary: &ConversationSummary) -> String {
    let mut lines = vec![format!("Request: {}", if summary.request.is_empty() { "-" } else { &summary.request })];
    if !summary.done.is_empty() {
        lines.push(format!("Done: {}", summary.done.join(" ")));
    }
    if !summary.pending.is_empty() {
        lines.push(format!("Pending: {}", summary.pending.join(" ")));
    }
    lines.join("\n")
}

/// A draft article from a resolved ticket: the customer's question (redacted) and the answers
/// the agents sent, greetings and sign-offs left out, for an editor to generalise.
fn kb_draft(ticket: &Ticket, request: &Request, summary: &ConversationSummary, messages: &[MessageRow]) -> KbDraft {
    let question = if summary.request.is_empty() { excerpt(&request.text) } else { summary.request.clone() };
    let title: String = ticket.subject.clone().filter(|subject| !subject.trim().is_empty()).unwrap_or_else(|| question.chars().take(100).collect());
    let answers: Vec<String> = messages.iter().filter(|message| message.direction == Direction::Outbound && !is_automatic(message)).map(|message| strip_greeting_and_sign_off(&message_text(message))).filter(|text| !text.is_empty()).collect();
    let answer = if answers.is_empty() { summary.done.iter().chain(&summary.pending).cloned().collect::<Vec<_>>().join("\n") } else { answers.join("\n\n") };
    let body = format!("## Question\n\n{}\n\n## Answer\n\n{}\n\n<!-- Drafted from ticket {} when it was resolved: make it general (no customer details) before publishing. -->\n", request.text.trim(), if answer.trim().is_empty() { "(write the answer)" } else { answer.trim() }, ticket.id);
    KbDraft { slug: format!("draft-ticket-{}", ticket.id), title, body, intent: ticket.intent, language: request.language.clone() }
}

/// An automatic reply (the article or order status the system sent), not a person's answer.
fn is_automatic(message: &MessageRow) -> bool {
    message.metadata.as_ref().and_then(|metadata| metadata.get("automatic")).and_then(serde_json::Value::as_bool).unwrap_or(false)
}

fn strip_greeting_and_sign_off(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let is_greeting = |line: &str| {
        let lowered = line.trim().to_lowercase();
        ["hi", "hello", "dear", "hey", "hallo", "bonjour", "hola"].iter().any(|greeting| lowered.starts_with(greeting)) && line.split_whitespace().count() <= 4
    };
    let is_sign_off = |line: &str| {
        let lowered = line.trim().to_lowercase();
        ["best", "regards", "kind regards", "thanks", "thank you", "cheers", "sincerely"].iter().any(|sign_off| lowered.starts_with(sign_off)) && line.split_whitespace().count() <= 4
    };
    let start = lines.iter().position(|line| !line.trim().is_empty() && !is_greeting(line)).unwrap_or(lines.len());
    let end = lines.iter().rposition(|line| is_sign_off(line)).filter(|&idx| idx >= start).unwrap_or(lines.len());
    lines[start..end].join("\n").trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greetings_and_sign_offs_leave_the_answer() {
        let cases = [
            ("Hi Ana,\n\nYou can return shoes within 60 days.\nUnworn, with the box.\n\nBest regards,\nSam", "You can return shoes within 60 days.\nUnworn, with the box."),
            ("The store opens at 9.", "The store opens at 9."),
            ("Hello,\nThanks", ""),
        ];
        for (text, expected) in cases {
            assert_eq!(strip_greeting_and_sign_off(text), expected, "{text:?}");
        }
    }

    #[test]
    fn word_overlap_is_symmetric_and_bounded() {
        let cases = [("where is my order A10493", "where is my order A10493", 1.0), ("where is my order", "refund the blender", 0.0), ("", "", 0.0)];
        for (a, b, expected) in cases {
            assert!((jaccard(a, b) - expected).abs() < 1e-6, "{a:?} {b:?}");
            assert!((jaccard(b, a) - jaccard(a, b)).abs() < 1e-6);
        }
    }

    #[test]
    fn languages_the_index_cannot_take_become_english() {
        for (code, expected) in [("de", "de"), ("und", "en"), ("", "en"), ("EN", "en")] {
            assert_eq!(index_language(code), expected);
        }
    }

    /// Every `{{variable}}` of the shipped templates is one the assist panel can fill: a typo
    /// there would show as missing on every ticket.
    #[test]
    fn demo_templates_use_known_variables_only() {
        let known = [
            "ticket.id", "ticket.subject", "customer.name", "customer.first_name", "customer.email", "order.number", "order.status", "order.placed_date", "order.promised_delivery",
            "order.carrier", "order.tracking_number", "order.tracking_url", "order.total", "article.title", "article.url", "article.passage", "agent.name", "agent.first_name",
        ];
        let templates = crate::demo::parse_templates_csv(include_str!("../../../data/templates/templates.csv")).unwrap();
        assert!(templates.len() >= 20);
        for template in &templates {
            for variable in sb_kb::template::variables(&template.body) {
                assert!(known.contains(&variable.as_str()), "template `{}` uses unknown variable `{variable}`", template.name);
            }
        }
        // The values the panel fills are exactly the known ones.
        let ticket_json = serde_json::json!({"id": 7, "customer_id": 1, "channel": "email", "conversation_key": null, "subject": "Where is it", "status": "open", "queue": "human", "category": null, "intent": null, "severity": null, "confidence": null, "sentiment": null, "priority": 0, "route": null, "assignee_id": null, "sla_policy": null, "sla": null, "first_response_due_at": null, "resolution_due_at": null, "first_responded_at": null, "resolved_at": null, "sla_paused_at": null, "sla_paused_ms": 0, "first_response_breached": false, "resolution_breached": false, "merged_into": null, "created_at": "2026-12-01T10:00:00Z", "updated_at": "2026-12-01T10:00:00Z", "last_message_at": "2026-12-01T10:00:00Z"});
        let ticket: Ticket = serde_json::from_value(ticket_json).unwrap();
        let customer = Customer { id: 1, external_id: None, email: Some("ana@example.com".into()), phone: None, name: Some("Ana Silva".into()), vip: false, created_at: Utc::now(), erased_at: None };
        let order = Order {
            number: "A10493".into(),
            customer_email: None,
            customer_name: None,
            status: sb_domain::OrderStatus::Shipped,
            placed_at: Utc::now(),
            shipped_at: None,
            delivered_at: None,
            promised_delivery: Some(chrono::NaiveDate::from_ymd_opt(2026, 12, 9).unwrap()),
            carrier: Some(sb_domain::Carrier::Ups),
            tracking_number: Some("1Z999AA10123456784".into()),
            total_minor: 12_950,
            currency: "EUR".into(),
            items: Vec::new(),
        };
        let article = AssistArticle { article_id: "returns-policy".into(), version: 2, title: "Returns".into(), heading: String::new(), passage: "Within 30 days.".into(), score: 1.0, url: "http://x/help/returns-policy".into() };
        let values = template_values(&ticket, Some(&customer), Some(&order), Some(&article), Some("Sam Rivera"));
        let mut filled: Vec<&str> = values.keys().map(String::as_str).collect();
        filled.sort_unstable();
        let mut expected = known.to_vec();
        expected.sort_unstable();
        assert_eq!(filled, expected);
        assert_eq!(values["order.tracking_url"], "https://www.ups.com/track?tracknum=1Z999AA10123456784");
        assert_eq!(values["order.total"], "129.50 EUR");
        assert_eq!(values["customer.first_name"], "Ana");
    }

    /// A German complaint gets a German template: every intent's English template has a German,
    /// French and Spanish version with the same variables — except `{{order.status}}`, whose
    /// value is an English word (`shipped`) — and every canned response's shortcut works in the
    /// four languages (the store looks a shortcut up in the ticket's language, then English).
    #[test]
    fn demo_templates_speak_the_four_languages() {
        let templates = crate::demo::parse_templates_csv(include_str!("../../../data/templates/templates.csv")).unwrap();
        let variables = |body: &str| -> HashSet<String> { sb_kb::template::variables(body).into_iter().filter(|name| name != "order.status").collect() };
        let mut keys = HashSet::new();
        for template in &templates {
            let key = (template.kind.as_str(), template.intent.clone(), template.shortcut.clone(), template.language.clone());
            assert!(keys.insert(key), "template `{}` is there twice for {}", template.name, template.language);
        }
        for english in templates.iter().filter(|template| template.language == "en" && (template.intent.is_some() || template.shortcut.is_some())) {
            for language in ["de", "fr", "es"] {
                let translated = templates
                    .iter()
                    .find(|template| template.kind == english.kind && template.intent == english.intent && template.shortcut == english.shortcut && template.language == language)
                    .unwrap_or_else(|| panic!("template `{}` has no {language} version", english.name));
                assert_eq!(variables(&translated.body), variables(&english.body), "`{}` ({language}) and `{}` use other variables", translated.name, english.name);
            }
        }
    }

    #[test]
    fn summaries_are_stored_one_line_per_part() {
        let summary = ConversationSummary { request: "Can I return shoes?".into(), done: vec!["I have sent a label.".into()], pending: vec![] };
        assert_eq!(summary_text(&summary), "Request: Can I return shoes?\nDone: I have sent a label.");
    }
}
