//! The public customer chat API behind the widget (`/api/v1/chat/…`), the agents' typing
//! signal, and who is online.
//!
//! No API token: a customer starts a conversation with a name and an email and gets a secret
//! for that one conversation (`Authorization: Bearer sbc_…`), stored hashed. Every other call
//! names the conversation in its path and must carry its secret: a wrong or unknown secret is
//! 401, another conversation's id with a valid secret is 404 (the caller learns nothing about
//! it). Customers read only their conversation's messages and replies, never notes.
//!
//! Limits: the per-IP budget of every `/api` request, plus conversations started per IP per
//! minute and messages per conversation (both [`ChatConfig`]); bodies are capped at
//! [`CHAT_MAX_BODY_BYTES`], text at 5,000 characters like every channel.
//!
//! Origins: the widget's page (`/chat`) is served by this server and framed by the shop's page,
//! so its calls are same-origin. A request with an `Origin` of another site is refused (403)
//! unless that site is in [`ChatConfig::allowed_origins`], which also gets the CORS headers
//! (and preflight answers) so a shop can call the API from its own scripts.
//!
//! Availability: [`Presence`] counts console sessions that can answer (a role with the write
//! permission) connected to `/ws` on this process. No one connected means the widget shows its
//! offline notice; messages are still taken, answered automatically when the policy allows, and
//! queued for the team.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use sb_service::{ReceiptStatus, TypingParty};
use sb_store::{ChatConversation, ChatMessage, Direction};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Permission;
use crate::error::ErrorBody;
use crate::messages::{parse_json, validate_text};
use crate::openapi::{Forbidden, MalformedJson, NotFound, PayloadTooLarge, RateLimited, Unauthorized, UnsupportedMediaType};
use crate::rate_limit::{client_ip, RateLimit};
use crate::{ApiError, AppState, Caller};

/// Largest chat request body: 5,000 characters of JSON-escaped text and an id fit well below.
pub const CHAT_MAX_BODY_BYTES: usize = 48 * 1024;

/// Messages of history answered at most per request.
const HISTORY_LIMIT: i64 = 500;

/// The chat widget's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatConfig {
    /// Sites (`https://shop.example`) whose pages may frame the widget and call the chat API
    /// directly (CORS). Empty: any site may frame the widget, and only the widget's own page
    /// (same origin) calls the API.
    pub allowed_origins: Vec<String>,
    /// Conversations started per client IP per minute.
    pub starts_per_ip_per_minute: RateLimit,
    /// Messages and typing signals per conversation per second.
    pub messages_per_conversation: RateLimit,
}

impl Default for ChatConfig {
    fn default() -> ChatConfig {
        ChatConfig { allowed_origins: Vec::new(), starts_per_ip_per_minute: RateLimit { rate: 10, burst: 20 }, messages_per_conversation: RateLimit { rate: 2, burst: 20 } }
    }
}

/// Console sessions that can answer customers, connected live on this process.
#[derive(Debug, Default)]
pub struct Presence {
    n_agents: AtomicUsize,
}

impl Presence {
    pub fn agents_online(&self) -> bool {
        self.n_agents.load(Ordering::Relaxed) > 0
    }

    /// Counts one connected agent until the guard is dropped.
    pub(crate) fn agent_connected(self: &Arc<Presence>) -> PresenceGuard {
        self.n_agents.fetch_add(1, Ordering::Relaxed);
        PresenceGuard { presence: self.clone() }
    }
}

pub(crate) struct PresenceGuard {
    presence: Arc<Presence>,
}

impl Drop for PresenceGuard {
    fn drop(&mut self) {
        self.presence.n_agents.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The chat API's shared state: settings, presence, limiters.
pub struct ChatState {
    pub config: ChatConfig,
    pub presence: Arc<Presence>,
    starts: Option<DefaultKeyedRateLimiter<IpAddr>>,
    messages: Option<DefaultKeyedRateLimiter<i64>>,
}

fn keyed<K: std::hash::Hash + Eq + Clone>(limit: RateLimit, per_minute: bool) -> Option<DefaultKeyedRateLimiter<K>> {
    let rate = NonZeroU32::new(limit.rate)?;
    let burst = NonZeroU32::new(limit.burst).unwrap_or(rate);
    let quota = if per_minute { Quota::per_minute(rate) } else { Quota::per_second(rate) };
    Some(RateLimiter::keyed(quota.allow_burst(burst)))
}

fn check<K: std::hash::Hash + Eq + Clone>(limiter: &Option<DefaultKeyedRateLimiter<K>>, key: &K, retry_after_seconds: u64) -> Result<(), ApiError> {
    match limiter {
        Some(limiter) if limiter.check_key(key).is_err() => Err(ApiError::RateLimited(retry_after_seconds)),
        _ => Ok(()),
    }
}

impl ChatState {
    pub fn new(config: ChatConfig) -> ChatState {
        let starts = keyed(config.starts_per_ip_per_minute, true);
        let messages = keyed(config.messages_per_conversation, false);
        ChatState { config, presence: Arc::new(Presence::default()), starts, messages }
    }

    /// Whether a page of `origin` may frame the widget.
    pub fn may_embed(&self, origin: &str) -> bool {
        self.config.allowed_origins.is_empty() || self.config.allowed_origins.iter().any(|allowed| allowed.eq_ignore_ascii_case(origin))
    }

    /// The `frame-ancestors` source list of the widget's page.
    pub fn frame_ancestors(&self) -> String {
        if self.config.allowed_origins.is_empty() {
            return "*".to_string();
        }
        std::iter::once("'self'").chain(self.config.allowed_origins.iter().map(String::as_str)).collect::<Vec<_>>().join(" ")
    }
}

/// The origin of `headers`' `Origin` when it is not this server's own.
fn foreign_origin(headers: &HeaderMap) -> Option<String> {
    let origin = headers.get(header::ORIGIN)?.to_str().unwrap_or("null").to_string();
    let host = headers.get(header::HOST).and_then(|host| host.to_str().ok()).unwrap_or_default();
    let origin_host = origin.split_once("://").map_or("", |(_, rest)| rest);
    if !host.is_empty() && origin_host.eq_ignore_ascii_case(host) {
        return None;
    }
    Some(origin)
}

/// Middleware of the chat routes: same-origin calls pass; another site's only when it is
/// allowed, with CORS headers (and the answer to its preflight).
pub async fn origin_guard(State(state): State<AppState>, request: Request, next: Next) -> Result<Response, ApiError> {
    let Some(origin) = foreign_origin(request.headers()) else { return Ok(next.run(request).await) };
    let allowed = state.chat.config.allowed_origins.iter().any(|allowed| allowed.eq_ignore_ascii_case(&origin));
    if !allowed {
        return Err(ApiError::Forbidden(format!("the chat API does not accept calls from {origin}; add it to [chat] allowed_origins")));
    }
    let mut response = if request.method() == Method::OPTIONS { StatusCode::NO_CONTENT.into_response() } else { next.run(request).await };
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&origin) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
    }
    headers.insert(header::VARY, HeaderValue::from_static("Origin"));
    headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, POST, OPTIONS"));
    headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("authorization, content-type"));
    headers.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
    Ok(response)
}

/// The conversation secret of `Authorization: Bearer …`.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let secret = value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer "))?.trim();
    (!secret.is_empty() && secret.len() <= 200).then_some(secret)
}

/// The conversation the request's secret opens, which must be `conversation_id`.
async fn conversation(state: &AppState, headers: &HeaderMap, conversation_id: i64) -> Result<ChatConversation, ApiError> {
    let secret = bearer(headers).ok_or(ApiError::Unauthorized)?;
    let conversation = state.service.chat_conversation(secret).await?.ok_or(ApiError::Unauthorized)?;
    if conversation.id != conversation_id {
        return Err(ApiError::NotFound(format!("conversation {conversation_id}")));
    }
    Ok(conversation)
}

fn body_bytes(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|rejection| if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE { ApiError::PayloadTooLarge(CHAT_MAX_BODY_BYTES) } else { ApiError::from(rejection) })
}

/// Whether anyone can answer now.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChatStatus {
    /// An agent (or supervisor, or admin) has the console open. When false the widget shows
    /// its offline notice; messages are still taken and answered when someone is back.
    agents_online: bool,
}

/// Is anyone there
///
/// Whether an agent is connected to the console right now (the widget's offline notice).
#[utoipa::path(
    get, path = "/api/v1/chat/status", tag = "chat",
    responses((status = 200, description = "Availability.", body = ChatStatus), (status = 403, response = Forbidden), (status = 429, response = RateLimited)),
)]
pub async fn status(State(state): State<AppState>) -> Json<ChatStatus> {
    Json(ChatStatus { agents_online: state.chat.presence.agents_online() })
}

/// A customer starting a chat.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartChatRequest {
    #[schema(min_length = 1, max_length = 200)]
    name: String,
    #[schema(min_length = 3, max_length = 320)]
    email: String,
}

/// A started conversation and the secret that opens it (shown once; keep it).
#[derive(Debug, Serialize, ToSchema)]
pub struct StartedChat {
    conversation_id: i64,
    /// Send as `Authorization: Bearer <token>` on every call about this conversation, and as
    /// `chat_token` to `/ws`.
    token: String,
    agents_online: bool,
}

/// Start a chat
///
/// Opens a conversation for a customer (no API token needed) and answers the secret that
/// opens it. Limited per client IP.
#[utoipa::path(
    post, path = "/api/v1/chat/conversations", tag = "chat",
    request_body = StartChatRequest,
    responses(
        (status = 201, description = "Started.", body = StartedChat),
        (status = 400, response = MalformedJson),
        (status = 403, response = Forbidden),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, description = "Invalid name or email. Code: `invalid_field`.", body = ErrorBody),
        (status = 429, response = RateLimited),
    ),
)]
pub async fn start(State(state): State<AppState>, request: Request) -> Result<Response, ApiError> {
    let ip = client_ip(request.extensions());
    let headers = request.headers().clone();
    let body = axum::body::to_bytes(request.into_body(), CHAT_MAX_BODY_BYTES).await.map_err(|_| ApiError::PayloadTooLarge(CHAT_MAX_BODY_BYTES))?;
    let start: StartChatRequest = parse_json(&headers, &body)?;
    let name = start.name.trim();
    let email = start.email.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(ApiError::validation("invalid_field", "`name` must be 1 to 200 characters"));
    }
    if !sb_service::plausible_email_address(email) {
        return Err(ApiError::validation("invalid_field", "`email` is not an email address"));
    }
    check(&state.chat.starts, &ip, 60)?;
    let (conversation, token) = state.service.start_chat(name, email).await?;
    let started = StartedChat { conversation_id: conversation.id, token, agents_online: state.chat.presence.agents_online() };
    Ok((StatusCode::CREATED, Json(started)).into_response())
}

/// A conversation as its customer sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChatConversationDto {
    conversation_id: i64,
    name: String,
    email: String,
    /// The conversation's tickets, oldest first: `/ws` sends the events of these.
    ticket_ids: Vec<i64>,
    agents_online: bool,
    /// The latest ticket, once resolved or closed: what the widget asks the customer to rate
    /// (`POST …/rating`). Null while the conversation is open.
    rating_ticket_id: Option<i64>,
    /// Whether that ticket has a rating already.
    rated: bool,
}

/// Read a conversation
///
/// The conversation the secret opens: who started it, its tickets, whether an agent is online.
#[utoipa::path(
    get, path = "/api/v1/chat/conversations/{conversation_id}", tag = "chat",
    params(("conversation_id" = i64, Path, description = "The conversation's id.")),
    responses(
        (status = 200, description = "The conversation.", body = ChatConversationDto),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, description = "A path that is not a conversation id. Code: `invalid_path`.", body = ErrorBody),
        (status = 429, response = RateLimited),
    ),
    security(("chat_token" = [])),
)]
pub async fn get_conversation(State(state): State<AppState>, headers: HeaderMap, conversation_id: Result<Path<i64>, axum::extract::rejection::PathRejection>) -> Result<Json<ChatConversationDto>, ApiError> {
    let Path(conversation_id) = conversation_id?;
    let conversation = conversation(&state, &headers, conversation_id).await?;
    let ticket_ids = state.service.chat_ticket_ids(&conversation).await?;
    let rating = state.service.chat_rating_state(&conversation).await?;
    Ok(Json(ChatConversationDto {
        conversation_id: conversation.id,
        name: conversation.customer_name,
        email: conversation.customer_email,
        ticket_ids,
        agents_online: state.chat.presence.agents_online(),
        rating_ticket_id: rating.map(|(ticket_id, _)| ticket_id),
        rated: rating.is_some_and(|(_, rated)| rated),
    }))
}

/// Who wrote a message, as the customer sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChatAuthor {
    /// The customer.
    Customer,
    /// An automatic answer.
    Automatic,
    /// A person of the team.
    Agent,
}

/// The help article an automatic answer comes from.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CitedArticle {
    title: String,
    /// Where the customer reads it (`/help/{slug}`).
    url: String,
}

/// One message of the conversation.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChatMessageDto {
    id: i64,
    ticket_id: i64,
    from: ChatAuthor,
    /// The text; an automatic answer's citation is in `article` rather than the text.
    text: String,
    /// The replying agent's first name.
    agent_name: Option<String>,
    article: Option<CitedArticle>,
    at: chrono::DateTime<chrono::Utc>,
}

impl From<ChatMessage> for ChatMessageDto {
    fn from(message: ChatMessage) -> ChatMessageDto {
        let automatic = message.metadata.as_ref().is_some_and(|metadata| metadata["automatic"] == serde_json::json!(true));
        let from = match (message.direction, automatic) {
            (Direction::Inbound, _) => ChatAuthor::Customer,
            (_, true) => ChatAuthor::Automatic,
            (_, false) => ChatAuthor::Agent,
        };
        let article = message.metadata.as_ref().and_then(|metadata| {
            let article = metadata.get("article")?;
            Some(CitedArticle { title: article["title"].as_str()?.to_string(), url: article["url"].as_str()?.to_string() })
        });
        // The automatic answer ends with its citation in words (for channels without cards);
        // the widget shows the card instead.
        let text = match &article {
            Some(article) => match message.body.rfind(&format!("\n\nFrom our help article \"{}\"", article.title)) {
                Some(cut) => message.body[..cut].trim_end().to_string(),
                None => message.body,
            },
            None => message.body,
        };
        let agent_name = (from == ChatAuthor::Agent).then(|| message.author_name.as_deref().and_then(|name| name.split_whitespace().next()).map(str::to_string)).flatten();
        ChatMessageDto { id: message.id, ticket_id: message.ticket_id, from, text, agent_name, article, at: message.at }
    }
}

/// The conversation's messages.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChatHistory {
    messages: Vec<ChatMessageDto>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// Only messages after this message id (what the widget already shows).
    after: Option<i64>,
}

/// Read the messages
///
/// The customer's messages and the replies (automatic answers with their cited article, and
/// agents'), oldest first; never internal notes.
#[utoipa::path(
    get, path = "/api/v1/chat/conversations/{conversation_id}/messages", tag = "chat",
    params(("conversation_id" = i64, Path, description = "The conversation's id."), HistoryQuery),
    responses(
        (status = 200, description = "The messages.", body = ChatHistory),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, description = "A bad path or query. Codes: `invalid_path`, `invalid_query`.", body = ErrorBody),
        (status = 429, response = RateLimited),
    ),
    security(("chat_token" = [])),
)]
pub async fn history(
    State(state): State<AppState>,
    headers: HeaderMap,
    conversation_id: Result<Path<i64>, axum::extract::rejection::PathRejection>,
    query: Result<Query<HistoryQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<ChatHistory>, ApiError> {
    let Path(conversation_id) = conversation_id?;
    let Query(query) = query?;
    let conversation = conversation(&state, &headers, conversation_id).await?;
    let messages = state.service.chat_history(&conversation, query.after.unwrap_or(0), HISTORY_LIMIT).await?;
    Ok(Json(ChatHistory { messages: messages.into_iter().map(ChatMessageDto::from).collect() }))
}

/// A customer's message.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendChatMessage {
    /// Not blank, at most 5,000 characters.
    #[schema(min_length = 1, max_length = 5000)]
    text: String,
    /// The browser's id for this message, made before the first attempt: a retry with the
    /// same id answers 200 with the first one's result and stores nothing.
    #[schema(min_length = 1, max_length = 100)]
    client_message_id: String,
}

/// What became of a sent message.
#[derive(Debug, Serialize, ToSchema)]
pub struct SentChatMessage {
    message_id: i64,
    ticket_id: i64,
    /// A retry of a message already stored.
    duplicate: bool,
}

/// Send a message
///
/// Stores the customer's message through the durable pipeline (chat channel) and triages it;
/// an automatic answer, if any, is in the messages when this returns.
#[utoipa::path(
    post, path = "/api/v1/chat/conversations/{conversation_id}/messages", tag = "chat",
    params(("conversation_id" = i64, Path, description = "The conversation's id.")),
    request_body = SendChatMessage,
    responses(
        (status = 201, description = "Stored.", body = SentChatMessage),
        (status = 200, description = "A retry of a stored message (same `client_message_id`): nothing new stored.", body = SentChatMessage),
        (status = 400, response = MalformedJson),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, description = "Invalid message. Codes: `empty_text`, `text_too_long` (over 5,000 characters), `invalid_field`, `invalid_path`, `invalid`.", body = ErrorBody),
        (status = 429, response = RateLimited),
    ),
    security(("chat_token" = [])),
)]
pub async fn send(
    State(state): State<AppState>,
    headers: HeaderMap,
    conversation_id: Result<Path<i64>, axum::extract::rejection::PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let Path(conversation_id) = conversation_id?;
    let conversation = conversation(&state, &headers, conversation_id).await?;
    let body = body_bytes(body)?;
    let message: SendChatMessage = parse_json(&headers, &body)?;
    validate_text(&message.text)?;
    check(&state.chat.messages, &conversation.id, 1)?;
    let receipt = state.service.receive_chat(&conversation, &message.text, &message.client_message_id, body.to_vec()).await?;
    let duplicate = receipt.status == ReceiptStatus::Duplicate;
    let sent = SentChatMessage { message_id: receipt.ingested.message_id, ticket_id: receipt.ingested.ticket_id, duplicate };
    Ok((if duplicate { StatusCode::OK } else { StatusCode::CREATED }, Json(sent)).into_response())
}

/// The customer is typing
///
/// Shows "customer is typing" in the ticket view of the conversation's open ticket (nothing is
/// stored). Send it every few seconds while the customer types.
#[utoipa::path(
    post, path = "/api/v1/chat/conversations/{conversation_id}/typing", tag = "chat",
    params(("conversation_id" = i64, Path, description = "The conversation's id.")),
    responses(
        (status = 204, description = "Passed on (or nothing to pass on yet: no message sent)."),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, description = "A path that is not a conversation id. Code: `invalid_path`.", body = ErrorBody),
        (status = 429, response = RateLimited),
    ),
    security(("chat_token" = [])),
)]
pub async fn customer_typing(State(state): State<AppState>, headers: HeaderMap, conversation_id: Result<Path<i64>, axum::extract::rejection::PathRejection>) -> Result<StatusCode, ApiError> {
    let Path(conversation_id) = conversation_id?;
    let conversation = conversation(&state, &headers, conversation_id).await?;
    check(&state.chat.messages, &conversation.id, 1)?;
    if let Some(ticket_id) = state.service.chat_ticket_ids(&conversation).await?.last() {
        state.service.publish_typing(*ticket_id, TypingParty::Customer);
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The agent is typing
///
/// Shows "typing…" to the customer of a chat ticket (nothing is stored). The console's
/// composer sends it every few seconds while the agent writes a reply.
#[utoipa::path(
    post, path = "/api/v1/tickets/{ticket_id}/typing", tag = "tickets",
    params(("ticket_id" = i64, Path, description = "The ticket's id.")),
    responses(
        (status = 204, description = "Passed on."),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, description = "A path that is not a ticket id. Code: `invalid_path`.", body = ErrorBody),
        (status = 429, response = RateLimited),
    ),
    security(("bearer" = ["write"]), ("session" = ["admin", "supervisor", "agent"], "csrf" = [])),
)]
pub async fn agent_typing(State(state): State<AppState>, caller: Caller, ticket_id: Result<Path<i64>, axum::extract::rejection::PathRejection>) -> Result<StatusCode, ApiError> {
    caller.require(Permission::Write)?;
    let Path(ticket_id) = ticket_id?;
    // Existence only: typing changes nothing, so it is not held to the ticket's assignee.
    state.service.store().ticket(ticket_id).await?;
    state.service.publish_typing(ticket_id, TypingParty::Agent);
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_automatic_answer_shows_its_article_as_a_card_not_twice() {
        let body = "Returns are free within 30 days.\n\nFrom our help article \"Returns\": http://x/help/returns (article returns version 2).";
        let message = ChatMessage {
            id: 7,
            ticket_id: 3,
            direction: Direction::Outbound,
            body: body.into(),
            metadata: Some(serde_json::json!({"automatic": true, "article": {"title": "Returns", "url": "http://x/help/returns"}})),
            author_name: None,
            at: chrono::Utc::now(),
        };
        let dto = ChatMessageDto::from(message);
        assert_eq!((dto.from, dto.text.as_str()), (ChatAuthor::Automatic, "Returns are free within 30 days."));
        assert_eq!(dto.article, Some(CitedArticle { title: "Returns".into(), url: "http://x/help/returns".into() }));
    }

    #[test]
    fn an_agent_reply_names_the_agent_by_first_name_and_a_customer_message_names_nobody() {
        for (direction, automatic, author, expected_from, expected_name) in [
            (Direction::Outbound, false, Some("Alex Agent"), ChatAuthor::Agent, Some("Alex")),
            (Direction::Inbound, false, None, ChatAuthor::Customer, None),
            (Direction::Outbound, true, None, ChatAuthor::Automatic, None),
        ] {
            let message = ChatMessage { id: 1, ticket_id: 1, direction, body: "Hi".into(), metadata: Some(serde_json::json!({"automatic": automatic})), author_name: author.map(str::to_string), at: chrono::Utc::now() };
            let dto = ChatMessageDto::from(message);
            assert_eq!((dto.from, dto.agent_name.as_deref()), (expected_from, expected_name));
        }
    }

    #[test]
    fn the_widget_may_be_framed_anywhere_unless_sites_are_listed() {
        let open = ChatState::new(ChatConfig::default());
        assert!(open.may_embed("https://any.example"));
        assert_eq!(open.frame_ancestors(), "*");
        let listed = ChatState::new(ChatConfig { allowed_origins: vec!["https://shop.example".into()], ..ChatConfig::default() });
        assert!(listed.may_embed("https://SHOP.example") && !listed.may_embed("https://evil.example"));
        assert_eq!(listed.frame_ancestors(), "'self' https://shop.example");
    }
}

/// A customer's satisfaction rating.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RatingRequest {
    /// 1 (very unhappy) to 5 (very happy).
    pub(crate) rating: i64,
    /// Optional, at most 1,000 characters.
    #[serde(default)]
    pub(crate) comment: Option<String>,
}

/// Rate the conversation
///
/// The customer's satisfaction with their conversation's latest ticket, once an agent resolved
/// it (the widget offers it then). Rating again replaces the earlier rating.
#[utoipa::path(
    post, path = "/api/v1/chat/conversations/{conversation_id}/rating", tag = "chat",
    params(("conversation_id" = i64, Path, description = "The conversation's id.")),
    request_body = RatingRequest,
    responses(
        (status = 200, description = "Recorded.", body = sb_store::CsatRating),
        (status = 400, response = MalformedJson),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, description = "Codes: `invalid` (rating outside 1–5, comment too long, nothing resolved to rate), `invalid_field`, `invalid_path`.", body = ErrorBody),
        (status = 429, response = RateLimited),
    ),
    security(("chat_token" = [])),
)]
pub async fn rate(
    State(state): State<AppState>,
    headers: HeaderMap,
    conversation_id: Result<Path<i64>, axum::extract::rejection::PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<sb_store::CsatRating>, ApiError> {
    let Path(conversation_id) = conversation_id?;
    let conversation = conversation(&state, &headers, conversation_id).await?;
    let body = body_bytes(body)?;
    let request: RatingRequest = parse_json(&headers, &body)?;
    check(&state.chat.messages, &conversation.id, 1)?;
    Ok(Json(state.service.rate_chat(&conversation, request.rating, request.comment.as_deref()).await?))
}
