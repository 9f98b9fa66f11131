//! The knowledge base over HTTP: articles (with their version history), hybrid search, and
//! reply templates (suggested replies per intent, canned responses by shortcut).
//!
//! Everyone who reads tickets reads the knowledge base; admins and supervisors (and tokens with
//! the `write` scope, for a help-centre sync) change it. Articles are archived, never deleted:
//! `DELETE` archives, so decision records that cite a version keep their meaning.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use sb_store::{Article, ArticleChange, ArticleFilter, ArticleStatus, ArticleVersion, NewArticle, NewAuditEntry, NewTemplate, ReplyTemplate, TemplateKind};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Permission;
use crate::error::ErrorBody;
use crate::openapi::{Conflict, Forbidden, MalformedJson, NotFound, PayloadTooLarge, RateLimited, Unauthorized, UnsupportedMediaType};
use crate::{ApiError, AppState, Caller};

/// Longest article body accepted (Markdown).
pub const MAX_ARTICLE_CHARS: usize = 100_000;
/// Longest search query.
pub const MAX_QUERY_CHARS: usize = 1_000;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ArticleQuery {
    /// `draft`, `published` or `archived`.
    status: Option<String>,
    /// ISO 639-1 code.
    language: Option<String>,
    intent: Option<String>,
    tag: Option<String>,
    /// The last id of the previous page (default 0).
    after: Option<i64>,
    /// 1 to 500 (default 100).
    limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ArticleList {
    articles: Vec<Article>,
    /// Pass as `after` for the next page; absent on the last page.
    next_after: Option<i64>,
}

/// A new article.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ArticleRequest {
    /// Stable name: 1–100 of `a-z`, `0-9`, `-`, `_` (the file name on export).
    slug: String,
    title: String,
    /// Markdown; `#` headings cut it into the passages search returns.
    body: String,
    #[serde(default)]
    tags: Vec<String>,
    /// The intent it answers, when it answers one.
    intent: Option<String>,
    /// ISO 639-1 code (default `en`).
    language: Option<String>,
    /// `draft` (default) or `published`.
    status: Option<String>,
}

/// A change; absent fields are kept. `intent: null` clears the intent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ArticlePatch {
    title: Option<String>,
    body: Option<String>,
    tags: Option<Vec<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    intent: Option<Option<String>>,
    language: Option<String>,
    status: Option<String>,
    /// The version the change was made on: a newer version saved meanwhile is a 409.
    expected_version: Option<i64>,
}

/// `"intent": null` (clear) differs from no `intent` (keep).
fn double_option<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Option<String>>, D::Error> {
    Ok(Some(Option::deserialize(deserializer)?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ArticleEnvelope {
    pub(crate) article: Article,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ArticleVersionList {
    versions: Vec<ArticleVersion>,
}

fn parse_status(label: &str) -> Result<ArticleStatus, ApiError> {
    ArticleStatus::parse(label.trim()).ok_or_else(|| ApiError::validation("invalid_status", format!("unknown article status `{label}`: use draft, published or archived")))
}

fn check_lengths(title: Option<&str>, body: Option<&str>) -> Result<(), ApiError> {
    if title.is_some_and(|title| title.chars().count() > 300) {
        return Err(ApiError::validation("invalid_field", "the title is longer than 300 characters"));
    }
    if body.is_some_and(|body| body.chars().count() > MAX_ARTICLE_CHARS) {
        return Err(ApiError::validation("text_too_long", format!("the article body is longer than {MAX_ARTICLE_CHARS} characters")));
    }
    Ok(())
}

/// List articles
///
/// Filtered by status, language, intent or tag; by id, a page at a time.
#[utoipa::path(
    get, path = "/api/v1/kb/articles", tag = "knowledge",
    params(ArticleQuery),
    responses(
        (status = 200, description = "A page of articles.", body = ArticleList),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, description = "Codes: `invalid_query`, `invalid_status`.", body = ErrorBody),
        (status = 429, response = RateLimited),
    ),
    security(("bearer" = ["read"]), ("session" = ["admin", "supervisor", "agent", "compliance", "viewer"])),
)]
pub async fn list_articles(State(state): State<AppState>, caller: Caller, query: Result<Query<ArticleQuery>, QueryRejection>) -> Result<Json<ArticleList>, ApiError> {
    caller.require(Permission::Read)?;
    let Query(query) = query?;
    let status = query.status.as_deref().map(parse_status).transpose()?;
    let limit = query.limit.unwrap_or(100).clamp(1, 500);
    let filter = ArticleFilter { status, language: query.language, intent: query.intent, tag: query.tag };
    let articles = state.service.store().list_articles(&filter, query.after.unwrap_or(0), limit).await?;
    let next_after = (articles.len() as i64 == limit).then(|| articles.last().map(|article| article.id)).flatten();
    Ok(Json(ArticleList { articles, next_after }))
}

/// Create an article
///
/// Saved as version 1 and, when published, searchable at once.
#[utoipa::path(
    post, path = "/api/v1/kb/articles", tag = "knowledge",
    request_body = ArticleRequest,
    responses(
        (status = 201, description = "The article.", body = ArticleEnvelope),
        (status = 400, response = MalformedJson),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, description = "Codes: `invalid` (slug, title, body or language), `invalid_status`, `invalid_field`, `text_too_long`.", body = ErrorBody),
        (status = 429, response = RateLimited),
    ),
    security(("bearer" = ["write"]), ("session" = ["admin", "supervisor"], "csrf" = [])),
)]
pub async fn create_article(State(state): State<AppState>, caller: Caller, body: Result<Json<ArticleRequest>, JsonRejection>) -> Result<(StatusCode, Json<ArticleEnvelope>), ApiError> {
    caller.require(Permission::ManageKnowledge)?;
    let Json(request) = body?;
    check_lengths(Some(&request.title), Some(&request.body))?;
    let status = match request.status.as_deref().map(parse_status).transpose()? {
        Some(ArticleStatus::Archived) => return Err(ApiError::validation("invalid_status", "a new article is a draft or published")),
        status => status.unwrap_or(ArticleStatus::Draft),
    };
    let actor = caller.actor();
    let article = NewArticle {
        slug: request.slug,
        title: request.title,
        body: request.body,
        tags: request.tags,
        intent: request.intent,
        language: request.language.unwrap_or_else(|| "en".to_string()),
        status,
        author: Some(actor.audit_name.clone()),
    };
    let article = state.service.create_article(&actor, &article).await?;
    Ok((StatusCode::CREATED, Json(ArticleEnvelope { article })))
}

/// Get an article
#[utoipa::path(
    get, path = "/api/v1/kb/articles/{article_id}", tag = "knowledge",
    params(("article_id" = i64, Path, description = "Article id.")),
    responses(
        (status = 200, description = "The current version.", body = ArticleEnvelope),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, description = "Code: `invalid_path`.", body = ErrorBody),
        (status = 429, response = RateLimited),
    ),
    security(("bearer" = ["read"]), ("session" = ["admin", "supervisor", "agent", "compliance", "viewer"])),
)]
pub async fn get_article(State(state): State<AppState>, caller: Caller, article_id: Result<Path<i64>, PathRejection>) -> Result<Json<ArticleEnvelope>, ApiError> {
    caller.require(Permission::Read)?;
    let Path(article_id) = article_id?;
    Ok(Json(ArticleEnvelope { article: state.service.store().article(article_id).await? }))
}

/// Change an article
///
/// Saves the next version (nothing when the change changes nothing). Send `expected_version` so that a version saved by someone else meanwhile is a 409 instead of being overwritten.
#[utoipa::path(
    patch, path = "/api/v1/kb/articles/{article_id}", tag = "knowledge",
    params(("article_id" = i64, Path, description = "Article id.")),
    request_body = ArticlePatch,
    responses(
        (status = 200, description = "The article after the change.", body = ArticleEnvelope),
        (status = 400, response = MalformedJson),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, description = "Codes: `invalid`, `invalid_status`, `invalid_field`, `text_too_long`, `invalid_path`.", body = ErrorBody),
        (status = 429, response = RateLimited),
    ),
    security(("bearer" = ["write"]), ("session" = ["admin", "supervisor"], "csrf" = [])),
)]
pub async fn update_article(State(state): State<AppState>, caller: Caller, article_id: Result<Path<i64>, PathRejection>, body: Result<Json<ArticlePatch>, JsonRejection>) -> Result<Json<ArticleEnvelope>, ApiError> {
    let Path(article_id) = article_id?;
    caller.require(Permission::ManageKnowledge)?;
    let Json(patch) = body?;
    check_lengths(patch.title.as_deref(), patch.body.as_deref())?;
    let actor = caller.actor();
    let change = ArticleChange {
        title: patch.title,
        body: patch.body,
        tags: patch.tags,
        intent: patch.intent,
        language: patch.language,
        status: patch.status.as_deref().map(parse_status).transpose()?,
        author: Some(actor.audit_name.clone()),
        expected_version: patch.expected_version,
    };
    Ok(Json(ArticleEnvelope { article: state.service.update_article(&actor, article_id, &change).await? }))
}

/// Archive an article
///
/// A new, archived version: search and automatic answers stop using it at once; its versions stay readable.
#[utoipa::path(
    delete, path = "/api/v1/kb/articles/{article_id}", tag = "knowledge",
    params(("article_id" = i64, Path, description = "Article id.")),
    responses(
        (status = 200, description = "The archived article.", body = ArticleEnvelope),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, description = "Code: `invalid_path`.", body = ErrorBody),
        (status = 429, response = RateLimited),
    ),
    security(("bearer" = ["write"]), ("session" = ["admin", "supervisor"], "csrf" = [])),
)]
pub async fn archive_article(State(state): State<AppState>, caller: Caller, article_id: Result<Path<i64>, PathRejection>) -> Result<Json<ArticleEnvelope>, ApiError> {
    let Path(article_id) = article_id?;
    caller.require(Permission::ManageKnowledge)?;
    Ok(Json(ArticleEnvelope { article: state.service.archive_article(&caller.actor(), article_id).await? }))
}

/// An article's versions
///
/// Every saved version, oldest first: what a decision record citing "article, version" showed.
#[utoipa::path(
    get, path = "/api/v1/kb/articles/{article_id}/versions", tag = "knowledge",
    params(("article_id" = i64, Path, description = "Article id.")),
    responses(
        (status = 200, description = "The versions.", body = ArticleVersionList),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, description = "Code: `invalid_path`.", body = ErrorBody),
        (status = 429, response = RateLimited),
    ),
    security(("bearer" = ["read"]), ("session" = ["admin", "supervisor", "agent", "compliance", "viewer"])),
)]
pub async fn article_versions(State(state): State<AppState>, caller: Caller, article_id: Result<Path<i64>, PathRejection>) -> Result<Json<ArticleVersionList>, ApiError> {
    caller.require(Permission::Read)?;
    let Path(article_id) = article_id?;
    Ok(Json(ArticleVersionList { versions: state.service.store().article_versions(article_id).await? }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// The question, as a customer would write it (1 to 1,000 characters).
    q: String,
    /// 1 to 20 (default 5).
    limit: Option<usize>,
}

/// One article found.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchHitDto {
    /// The article's slug.
    article_id: String,
    article_version: u32,
    title: String,
    language: String,
    /// The best passage and its heading path.
    heading: String,
    passage: String,
    /// Fused rank score (comparable within one answer only).
    score: f32,
    bm25_score: Option<f32>,
    /// Cosine of the question with the passage (absent without the embedding model).
    cosine: Option<f32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SearchAnswer {
    hits: Vec<SearchHitDto>,
    /// Confidence that the first hit answers the question (0–1).
    confidence: f32,
    /// Whether the first hit is confident enough for an automatic answer.
    confident: bool,
    /// Language detected for the question (`und` when unsure).
    query_language: String,
}

/// Search the knowledge base
///
/// Hybrid search (BM25 with per-language stemming, fused with MiniLM passage similarity) over the published articles, with the confidence decision the automatic answers use.
#[utoipa::path(
    get, path = "/api/v1/kb/search", tag = "knowledge",
    params(SearchQuery),
    responses(
        (status = 200, description = "The best articles, best first.", body = SearchAnswer),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, description = "Codes: `invalid_query`, `empty_text`, `text_too_long`.", body = ErrorBody),
        (status = 429, response = RateLimited),
        (status = 503, description = "Code: `unavailable` (the search index is still opening).", body = ErrorBody),
    ),
    security(("bearer" = ["read"]), ("session" = ["admin", "supervisor", "agent", "compliance", "viewer"])),
)]
pub async fn search(State(state): State<AppState>, caller: Caller, query: Result<Query<SearchQuery>, QueryRejection>) -> Result<Json<SearchAnswer>, ApiError> {
    caller.require(Permission::Read)?;
    let Query(query) = query?;
    let text = query.q.trim();
    if text.is_empty() {
        return Err(ApiError::validation("empty_text", "the query `q` is empty"));
    }
    if text.chars().count() > MAX_QUERY_CHARS {
        return Err(ApiError::validation("text_too_long", format!("the query is longer than {MAX_QUERY_CHARS} characters")));
    }
    let results = state.service.search_knowledge(text, query.limit.unwrap_or(5).clamp(1, 20)).await?;
    let hits = results
        .hits
        .into_iter()
        .map(|hit| SearchHitDto {
            article_id: hit.article_id,
            article_version: hit.article_version,
            title: hit.title,
            language: hit.language,
            heading: hit.heading,
            passage: hit.passage,
            score: hit.score,
            bm25_score: hit.bm25_score,
            cosine: hit.cosine,
        })
        .collect();
    Ok(Json(SearchAnswer { hits, confidence: results.confidence, confident: results.confident, query_language: results.query_language }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TemplateQuery {
    /// `suggested` or `canned`.
    kind: Option<String>,
}

/// A reply template.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateRequest {
    /// `suggested` (picked by intent and language) or `canned` (picked by shortcut).
    kind: String,
    /// Canned responses: `/` and a word, unique per language.
    shortcut: Option<String>,
    name: String,
    /// Suggested replies: the intent they answer (absent: any).
    intent: Option<String>,
    /// ISO 639-1 code (default `en`).
    language: Option<String>,
    /// Text with variables such as `{{customer.first_name}}`, `{{order.number}}`, `{{article.url}}`.
    body: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateList {
    templates: Vec<ReplyTemplate>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateEnvelope {
    template: ReplyTemplate,
}

fn new_template(request: TemplateRequest) -> Result<NewTemplate, ApiError> {
    let kind = TemplateKind::parse(request.kind.trim()).ok_or_else(|| ApiError::validation("invalid_field", format!("unknown template kind `{}`: use suggested or canned", request.kind)))?;
    if request.body.chars().count() > 20_000 {
        return Err(ApiError::validation("text_too_long", "the template body is longer than 20,000 characters"));
    }
    Ok(NewTemplate { kind, shortcut: request.shortcut, name: request.name, intent: request.intent, language: request.language.unwrap_or_else(|| "en".to_string()), body: request.body })
}

/// List reply templates
#[utoipa::path(
    get, path = "/api/v1/templates", tag = "knowledge",
    params(TemplateQuery),
    responses(
        (status = 200, description = "The templates.", body = TemplateList),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, description = "Codes: `invalid_query`, `invalid_field`.", body = ErrorBody),
        (status = 429, response = RateLimited),
    ),
    security(("bearer" = ["read"]), ("session" = ["admin", "supervisor", "agent", "compliance", "viewer"])),
)]
pub async fn list_templates(State(state): State<AppState>, caller: Caller, query: Result<Query<TemplateQuery>, QueryRejection>) -> Result<Json<TemplateList>, ApiError> {
    caller.require(Permission::Read)?;
    let Query(query) = query?;
    let kind = query.kind.as_deref().map(|label| TemplateKind::parse(label.trim()).ok_or_else(|| ApiError::validation("invalid_field", format!("unknown template kind `{label}`: use suggested or canned")))).transpose()?;
    Ok(Json(TemplateList { templates: state.service.store().list_templates(kind).await? }))
}

/// Create a reply template
#[utoipa::path(
    post, path = "/api/v1/templates", tag = "knowledge",
    request_body = TemplateRequest,
    responses(
        (status = 201, description = "The template.", body = TemplateEnvelope),
        (status = 400, response = MalformedJson),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, description = "Codes: `invalid` (no name or body, a canned response without a shortcut), `invalid_field`, `text_too_long`.", body = ErrorBody),
        (status = 429, response = RateLimited),
    ),
    security(("bearer" = ["write"]), ("session" = ["admin", "supervisor"], "csrf" = [])),
)]
pub async fn create_template(State(state): State<AppState>, caller: Caller, body: Result<Json<TemplateRequest>, JsonRejection>) -> Result<(StatusCode, Json<TemplateEnvelope>), ApiError> {
    caller.require(Permission::ManageKnowledge)?;
    let Json(request) = body?;
    let template = new_template(request)?;
    let audit = template_audit(&caller, "template.created", "", &template);
    let template = state.service.store().create_template(&template, &audit, chrono::Utc::now()).await?;
    Ok((StatusCode::CREATED, Json(TemplateEnvelope { template })))
}

/// Replace a reply template
#[utoipa::path(
    put, path = "/api/v1/templates/{template_id}", tag = "knowledge",
    params(("template_id" = i64, Path, description = "Template id.")),
    request_body = TemplateRequest,
    responses(
        (status = 200, description = "The template.", body = TemplateEnvelope),
        (status = 400, response = MalformedJson),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, description = "Codes: `invalid`, `invalid_field`, `text_too_long`, `invalid_path`.", body = ErrorBody),
        (status = 429, response = RateLimited),
    ),
    security(("bearer" = ["write"]), ("session" = ["admin", "supervisor"], "csrf" = [])),
)]
pub async fn update_template(State(state): State<AppState>, caller: Caller, template_id: Result<Path<i64>, PathRejection>, body: Result<Json<TemplateRequest>, JsonRejection>) -> Result<Json<TemplateEnvelope>, ApiError> {
    let Path(template_id) = template_id?;
    caller.require(Permission::ManageKnowledge)?;
    let Json(request) = body?;
    let template = new_template(request)?;
    let audit = template_audit(&caller, "template.updated", &template_id.to_string(), &template);
    let template = state.service.store().update_template(template_id, &template, &audit, chrono::Utc::now()).await?;
    Ok(Json(TemplateEnvelope { template }))
}

/// Delete a reply template
///
/// Replies already sent keep their text.
#[utoipa::path(
    delete, path = "/api/v1/templates/{template_id}", tag = "knowledge",
    params(("template_id" = i64, Path, description = "Template id.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, description = "Code: `invalid_path`.", body = ErrorBody),
        (status = 429, response = RateLimited),
    ),
    security(("bearer" = ["write"]), ("session" = ["admin", "supervisor"], "csrf" = [])),
)]
pub async fn delete_template(State(state): State<AppState>, caller: Caller, template_id: Result<Path<i64>, PathRejection>) -> Result<StatusCode, ApiError> {
    let Path(template_id) = template_id?;
    caller.require(Permission::ManageKnowledge)?;
    let audit = [NewAuditEntry::new(caller.actor().audit_name, "template.deleted", "template", template_id, serde_json::json!({}))];
    state.service.store().delete_template(template_id, &audit, chrono::Utc::now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The audit entry of a template change: who, and the template's labels (its text is the
/// template's own; an empty id is filled in by the store for a new template).
fn template_audit(caller: &Caller, action: &str, template_id: &str, template: &NewTemplate) -> [NewAuditEntry; 1] {
    let details = serde_json::json!({"kind": template.kind.as_str(), "name": template.name, "shortcut": template.shortcut, "intent": template.intent, "language": template.language});
    [NewAuditEntry::new(caller.actor().audit_name, action, "template", template_id, details)]
}
