//! Agent assist over HTTP — the suggested reply, articles, similar solved tickets, possible
//! duplicates and summary of one ticket, and the draft article offered from a resolved one —
//! and the public help page that automatic answers and templates link to (`/help/{slug}`).

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use sb_service::assist::AssistOptions;
use sb_store::ArticleStatus;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::auth::Permission;
use crate::error::ErrorBody;
use crate::kb::ArticleEnvelope;
use crate::openapi::{Conflict, Forbidden, NotFound, RateLimited, Unauthorized};
use crate::{ApiError, AppState, Caller};

/// What the assist panel shows for a ticket.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketAssistDto {
    ticket_id: i64,
    /// ISO 639-1 code of the customer's request (the template language).
    language: String,
    /// `{source: template|workflow_draft|generic_template|built_in, template_id, template_name,
    /// text, missing: [variable], complete}`. A variable without a value stays as `{{name}}`
    /// in `text` and is listed in `missing`: never sent empty.
    #[schema(value_type = Object)]
    suggested_reply: Value,
    /// The best knowledge-base articles for the request: `{article_id, version, title, heading,
    /// passage, score, url}`.
    #[schema(value_type = Vec<Object>)]
    articles: Value,
    /// The most similar resolved tickets: `{ticket_id, subject, intent, status, resolved_at,
    /// score, cosine, request, resolution, reply}` (`reply` only with the PII permission).
    #[schema(value_type = Vec<Object>)]
    similar_tickets: Value,
    /// Open tickets of the same customer: `{ticket_id, subject, status, created_at,
    /// similarity, shared_order_numbers, flagged_for_merge}`.
    #[schema(value_type = Vec<Object>)]
    possible_duplicates: Value,
    /// `{request, done: [..], pending: [..]}`, from the conversation as it stands.
    #[schema(value_type = Object)]
    summary: Value,
    /// The summary stored when the ticket was resolved.
    stored_summary: Option<String>,
    /// For a resolved informational ticket no article answered: `{slug, title, body, intent,
    /// language}`, created as a draft article by `POST /tickets/{id}/kb-draft`.
    #[schema(value_type = Option<Object>)]
    kb_draft: Value,
    /// With `?canned=/shortcut`: that canned response filled for this ticket, shaped like
    /// `suggested_reply` (`source` = `canned`).
    #[schema(value_type = Option<Object>)]
    canned_reply: Value,
    /// False until the similar-ticket index has loaded after a start.
    similar_index_ready: bool,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AssistQuery {
    /// A canned response's shortcut (`/thanks`) to fill for this ticket, in its language (or
    /// English).
    canned: Option<String>,
}

/// Get a ticket's assist panel
///
/// The suggested reply (from the template for the ticket's intent and language, filled from
/// the ticket, its order and the best article), the best articles, similar resolved tickets,
/// possible duplicates from the same customer, and the conversation summary. Callers without
/// the PII permission get no customer details in the reply and no other customers' replies.
#[utoipa::path(
    get, path = "/api/v1/tickets/{ticket_id}/assist", tag = "tickets",
    params(("ticket_id" = i64, Path, description = "Ticket id."), AssistQuery),
    responses(
        (status = 200, description = "The assist panel.", body = TicketAssistDto),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, description = "No such ticket, or no canned response with that shortcut. Code: `not_found`.", body = ErrorBody),
        (status = 422, description = "Codes: `invalid_path` (the id is not a number), `invalid_query`.", body = ErrorBody),
        (status = 429, response = RateLimited),
    ),
    security(("bearer" = ["read"]), ("session" = ["admin", "supervisor", "agent", "compliance", "viewer"])),
)]
pub async fn ticket_assist(State(state): State<AppState>, caller: Caller, ticket_id: Result<Path<i64>, PathRejection>, query: Result<Query<AssistQuery>, QueryRejection>) -> Result<Json<TicketAssistDto>, ApiError> {
    caller.require(Permission::Read)?;
    let Path(ticket_id) = ticket_id?;
    let Query(query) = query?;
    let agent_name = match caller.user_id() {
        Some(user_id) => Some(state.service.store().user(user_id).await?.name),
        None => None,
    };
    let options = AssistOptions { agent_name, sees_pii: caller.can(Permission::SeePii), canned: query.canned };
    let assist = state.service.ticket_assist(ticket_id, &options).await?;
    Ok(Json(TicketAssistDto {
        ticket_id: assist.ticket_id,
        language: assist.language.clone(),
        suggested_reply: json(&assist.suggested_reply)?,
        articles: json(&assist.articles)?,
        similar_tickets: json(&assist.similar_tickets)?,
        possible_duplicates: json(&assist.possible_duplicates)?,
        summary: json(&assist.summary)?,
        stored_summary: assist.stored_summary.clone(),
        kb_draft: json(&assist.kb_draft)?,
        canned_reply: json(&assist.canned_reply)?,
        similar_index_ready: assist.similar_index_ready,
    }))
}

fn json<T: Serialize>(value: &T) -> Result<Value, ApiError> {
    serde_json::to_value(value).map_err(|error| ApiError::Internal(error.to_string()))
}

/// Create the draft article offered by a resolved ticket
///
/// The knowledge-base updater: a resolved informational ticket that no article answered offers
/// a draft (its question, redacted, and the agents' answer); this saves it as a draft article
/// for an editor to generalise and publish.
#[utoipa::path(
    post, path = "/api/v1/tickets/{ticket_id}/kb-draft", tag = "knowledge",
    params(("ticket_id" = i64, Path, description = "Ticket id.")),
    responses(
        (status = 201, description = "The draft article.", body = ArticleEnvelope),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, description = "Codes: `invalid_path`; `no_draft` when the ticket offers none (not resolved, not informational, or answered by an article).", body = ErrorBody),
        (status = 429, response = RateLimited),
    ),
    security(("bearer" = ["write"]), ("session" = ["admin", "supervisor"], "csrf" = [])),
)]
pub async fn create_kb_draft(State(state): State<AppState>, caller: Caller, ticket_id: Result<Path<i64>, PathRejection>) -> Result<(StatusCode, Json<ArticleEnvelope>), ApiError> {
    caller.require(Permission::ManageKnowledge)?;
    let Path(ticket_id) = ticket_id?;
    let article = state.service.create_kb_draft(ticket_id, &caller.actor()).await.map_err(|error| match error {
        sb_service::Error::Invalid(message) => ApiError::validation("no_draft", message),
        other => other.into(),
    })?;
    Ok((StatusCode::CREATED, Json(ArticleEnvelope { article })))
}

/// Read a help article
///
/// The public page of a published article, as HTML: what automatic answers and
/// `{{article.url}}` link to. No login; drafts and archived articles are not found.
#[utoipa::path(
    get, path = "/help/{slug}", tag = "knowledge",
    params(("slug" = String, Path, description = "The article's slug.")),
    responses(
        (status = 200, description = "The article as an HTML page.", content_type = "text/html", body = String),
        (status = 404, description = "No published article has this slug (an HTML page).", content_type = "text/html", body = String),
        (status = 503, description = "The database does not answer (an HTML page).", content_type = "text/html", body = String),
    ),
)]
pub async fn help_page(State(state): State<AppState>, slug: Result<Path<String>, PathRejection>) -> Response {
    let Ok(Path(slug)) = slug else { return help_not_found() };
    if !sb_store::valid_slug(&slug) {
        return help_not_found();
    }
    match state.service.store().article_by_slug(&slug).await {
        Ok(Some(article)) if article.status == ArticleStatus::Published => {
            let mut body_html = String::new();
            pulldown_cmark::html::push_html(&mut body_html, pulldown_cmark::Parser::new_ext(&article.body, pulldown_cmark::Options::ENABLE_TABLES).map(drop_raw_html));
            let page = format!(
                "<!doctype html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{title}</title>\
                 <style>body{{font:16px/1.5 system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem;color:#1d2430}}h1{{font-size:1.6rem}}footer{{margin-top:3rem;color:#5b6575;font-size:.85rem}}</style></head>\
                 <body><article><h1>{title}</h1>\n{body_html}</article><footer>Article {slug}, version {version}, updated {updated}.</footer></body></html>\n",
                lang = escape_html(&article.language),
                title = escape_html(&article.title),
                version = article.version,
                updated = article.updated_at.format("%Y-%m-%d"),
            );
            ([(header::CACHE_CONTROL, "public, max-age=60")], Html(page)).into_response()
        }
        Ok(_) => help_not_found(),
        Err(error) => {
            tracing::error!(error = %error, slug, "help page: cannot read the article");
            (StatusCode::SERVICE_UNAVAILABLE, Html("<!doctype html><title>Unavailable</title><p>The help centre is unavailable; try again in a moment.</p>\n")).into_response()
        }
    }
}

/// Article bodies are written by staff, but the page is public: raw HTML in the Markdown is
/// shown as text, never run.
fn drop_raw_html(event: pulldown_cmark::Event<'_>) -> pulldown_cmark::Event<'_> {
    match event {
        pulldown_cmark::Event::Html(html) | pulldown_cmark::Event::InlineHtml(html) => pulldown_cmark::Event::Text(html),
        other => other,
    }
}

fn help_not_found() -> Response {
    (StatusCode::NOT_FOUND, Html("<!doctype html><title>Not found</title><p>This help article does not exist or is no longer published.</p>\n")).into_response()
}

pub(crate) fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
