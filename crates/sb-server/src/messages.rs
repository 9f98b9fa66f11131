//! `POST /api/v1/messages` (durable ingest, then triage) and `POST /api/v1/classify`
//! (triage only, compatible with the FastAPI orchestrator's classify endpoint).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use sb_domain::{Channel, TriageResult};
use sb_service::{IncomingMessage, MessageReceipt, ReceiptStatus};
use sb_store::{NewCustomer, Queue, Scope, TicketStatus};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ErrorBody;
use crate::openapi::{Forbidden, MalformedJson, PayloadTooLarge, RateLimited, Unauthorized, Unavailable, UnsupportedMediaType};
use crate::{ApiError, AppState, Caller, MAX_TEXT_CHARS};

/// Who sent the message; matched to a known customer by external id, email or phone, or
/// created.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = MessageCustomer)]
pub struct CustomerRequest {
    #[schema(max_length = 320)]
    email: Option<String>,
    #[schema(max_length = 320)]
    phone: Option<String>,
    #[schema(max_length = 320)]
    name: Option<String>,
    /// The customer's id in the sender's own systems.
    #[schema(max_length = 320)]
    external_id: Option<String>,
}

/// One inbound customer message.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateMessageRequest {
    /// `chat`, `email`, `voice`, `api` or `sms`.
    #[schema(value_type = Channel)]
    channel: String,
    /// The message text: not blank, at most 5,000 characters.
    #[schema(min_length = 1, max_length = 5000)]
    text: String,
    /// The sender's id for this delivery: a repeated delivery with the same id on the same
    /// channel answers 200 with the first one's result and stores nothing new.
    #[schema(max_length = 500)]
    external_id: Option<String>,
    #[schema(max_length = 1000)]
    subject: Option<String>,
    /// Thread key: messages with the same key on the same channel join one open ticket.
    #[schema(max_length = 500)]
    conversation_id: Option<String>,
    #[serde(default)]
    customer: Option<CustomerRequest>,
    /// Anything the integration wants kept with the message.
    #[schema(value_type = Option<Object>)]
    metadata: Option<serde_json::Value>,
}

/// Parses a JSON body: 415 unless JSON, 400 for syntax, 422 for a wrong shape.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(headers: &HeaderMap, body: &[u8]) -> Result<T, ApiError> {
    let content_type = headers.get(axum::http::header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or("");
    if !content_type.starts_with("application/json") {
        return Err(ApiError::UnsupportedMediaType);
    }
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|error| ApiError::MalformedJson(error.to_string()))?;
    serde_json::from_value(value).map_err(|error| ApiError::validation("invalid_field", error.to_string()))
}

fn parse_channel(label: &str) -> Result<Channel, ApiError> {
    Channel::parse(label).ok_or_else(|| ApiError::validation("unknown_channel", format!("unknown channel `{label}`: use chat, email, voice, api or sms")))
}

pub(crate) fn validate_text(text: &str) -> Result<(), ApiError> {
    if text.trim().is_empty() {
        return Err(ApiError::validation("empty_text", "the message text is empty"));
    }
    let n_chars = text.chars().count();
    if n_chars > MAX_TEXT_CHARS {
        return Err(ApiError::validation("text_too_long", format!("the message text has {n_chars} characters; the limit is {MAX_TEXT_CHARS}")));
    }
    Ok(())
}

fn validate_optional(field: &'static str, value: &Option<String>, max_chars: usize) -> Result<(), ApiError> {
    match value {
        Some(text) if text.chars().count() > max_chars => Err(ApiError::validation("invalid_field", format!("`{field}` is longer than {max_chars} characters"))),
        _ => Ok(()),
    }
}

fn clean(value: Option<String>) -> Option<String> {
    value.map(|text| text.trim().to_string()).filter(|text| !text.is_empty())
}

/// How far the message got within the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = ReceiptStatus)]
pub enum ReceiptStatusDto {
    /// Stored, triaged and routed.
    Triaged,
    /// Stored; triage did not finish and is retried in the background.
    Received,
    /// This delivery was already stored: the answer describes the first one.
    Duplicate,
}

impl From<ReceiptStatus> for ReceiptStatusDto {
    fn from(status: ReceiptStatus) -> ReceiptStatusDto {
        match status {
            ReceiptStatus::Triaged => ReceiptStatusDto::Triaged,
            ReceiptStatus::Received => ReceiptStatusDto::Received,
            ReceiptStatus::Duplicate => ReceiptStatusDto::Duplicate,
        }
    }
}

/// What became of a message: its ticket, the triage result, the decision and the automatic
/// reply when there was one.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageResponse {
    ticket_id: i64,
    message_id: i64,
    customer_id: Option<i64>,
    status: ReceiptStatusDto,
    ticket_status: TicketStatus,
    queue: Queue,
    /// Null while triage is pending (`status` = `received`).
    triage: Option<TriageResult>,
    /// The decision: route, reason, every blocker and the thresholds used, priority and its
    /// factors, SLA.
    #[schema(value_type = Option<Object>)]
    decision: Option<serde_json::Value>,
    /// The automatic reply sent, when the decision was to answer automatically.
    reply: Option<String>,
    /// Why triage did not finish within the request.
    pending_reason: Option<String>,
}

impl From<MessageReceipt> for MessageResponse {
    fn from(receipt: MessageReceipt) -> MessageResponse {
        MessageResponse {
            ticket_id: receipt.ingested.ticket_id,
            message_id: receipt.ingested.message_id,
            customer_id: receipt.ingested.customer_id,
            status: receipt.status.into(),
            ticket_status: receipt.ticket.status,
            queue: receipt.ticket.queue,
            triage: receipt.triage,
            decision: receipt.decision.and_then(|decision| serde_json::to_value(decision).ok()),
            reply: receipt.reply,
            pending_reason: receipt.pending_reason,
        }
    }
}

/// Send a customer message in
///
/// Stores the message (durably, before answering), triages and routes it. 201 for a new
/// message, 200 for a repeated delivery of the same `external_id` on the same channel.
#[utoipa::path(
    post, path = "/api/v1/messages", tag = "messages",
    request_body = CreateMessageRequest,
    responses(
        (status = 201, description = "Stored (and triaged, unless `status` is `received`).", body = MessageResponse),
        (status = 200, description = "A repeated delivery of the same `external_id` on the same channel: nothing new stored; the first delivery's result.", body = MessageResponse),
        (status = 400, response = MalformedJson),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, description = "Invalid message. Codes: `unknown_channel`, `empty_text`, `text_too_long` (over 5,000 characters), `invalid_field` (wrong type, unknown field, a field too long, a customer email without @).", body = ErrorBody),
        (status = 429, response = RateLimited),
    ),
    security(("bearer" = ["ingest"]), ("session" = ["admin"], "csrf" = [])),
)]
pub async fn create_message(State(state): State<AppState>, caller: Caller, headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> Result<Response, ApiError> {
    caller.require(Scope::Ingest)?;
    let body = body.map_err(ApiError::from)?;
    let request: CreateMessageRequest = parse_json(&headers, &body)?;
    let channel = parse_channel(&request.channel)?;
    validate_text(&request.text)?;
    validate_optional("external_id", &request.external_id, 500)?;
    validate_optional("subject", &request.subject, 1_000)?;
    validate_optional("conversation_id", &request.conversation_id, 500)?;
    let customer = request.customer.map(|customer| NewCustomer {
        email: clean(customer.email),
        phone: clean(customer.phone),
        name: clean(customer.name),
        external_id: clean(customer.external_id),
    });
    if let Some(customer) = &customer {
        for (field, value) in [("customer.email", &customer.email), ("customer.phone", &customer.phone), ("customer.name", &customer.name), ("customer.external_id", &customer.external_id)] {
            validate_optional(field, value, 320)?;
        }
        if customer.email.as_deref().is_some_and(|email| !email.contains('@')) {
            return Err(ApiError::validation("invalid_field", "`customer.email` is not an email address"));
        }
    }
    let incoming = IncomingMessage {
        channel,
        text: request.text,
        body_is_html: false,
        subject: clean(request.subject),
        external_id: clean(request.external_id),
        conversation_id: clean(request.conversation_id),
        ticket_id: None,
        customer: customer.unwrap_or_default(),
        metadata: request.metadata,
        raw_payload: body.to_vec(),
        content_type: "application/json".into(),
    };
    let receipt = state.service.receive(incoming).await?;
    let status = if receipt.status == ReceiptStatus::Duplicate { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, Json(MessageResponse::from(receipt))).into_response())
}

/// A text to triage; nothing is stored.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ClassifyRequest {
    /// Not blank, at most 5,000 characters.
    #[schema(min_length = 1, max_length = 5000)]
    message: String,
    /// `chat`, `email`, `voice`, `api` (the default) or `sms`.
    #[serde(default = "default_channel")]
    #[schema(value_type = Option<Channel>)]
    channel: String,
    /// Accepted for compatibility and ignored.
    #[allow(dead_code)]
    #[schema(value_type = Option<Object>)]
    metadata: Option<serde_json::Value>,
}

fn default_channel() -> String {
    "api".into()
}

/// The triage of a text in the shape of the classify endpoint Switchboard replaces.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClassifyResponse {
    #[schema(value_type = sb_domain::Category)]
    category: String,
    /// Calibrated probability of `intent`.
    confidence: f32,
    /// The model and its ranking of intents.
    reasoning: String,
    /// The steps that led to `next_step`: intent, safety override, severity.
    decision_path: Vec<String>,
    /// `safety_queue`, `service_action_workflow` or `knowledge_base_lookup`.
    next_step: String,
    processing_time_ms: f64,
    request_id: String,
    #[schema(value_type = sb_domain::Intent)]
    intent: String,
    #[schema(value_type = Option<sb_domain::Severity>)]
    severity: Option<String>,
}

/// Classify a text
///
/// Triage only, nothing stored: the classify endpoint of the orchestrator Switchboard replaces.
#[utoipa::path(
    post, path = "/api/v1/classify", tag = "messages",
    request_body = ClassifyRequest,
    responses(
        (status = 200, description = "The triage of the text.", body = ClassifyResponse),
        (status = 400, response = MalformedJson),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, description = "Invalid text. Codes: `unknown_channel`, `empty_text`, `text_too_long`, `invalid_field`.", body = ErrorBody),
        (status = 429, response = RateLimited),
        (status = 503, response = Unavailable),
    ),
    security(("bearer" = ["ingest"]), ("bearer" = ["read"]), ("session" = ["admin", "supervisor", "agent", "compliance", "viewer"], "csrf" = [])),
)]
pub async fn classify(State(state): State<AppState>, caller: Caller, headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> Result<Json<ClassifyResponse>, ApiError> {
    caller.require_any(&[Scope::Ingest, Scope::Read])?;
    let body = body.map_err(ApiError::from)?;
    let started = std::time::Instant::now();
    let request: ClassifyRequest = parse_json(&headers, &body)?;
    let channel = parse_channel(&request.channel)?;
    validate_text(&request.message)?;
    let triage = state.service.classify(channel, &request.message).await?;
    let next_step = match triage.category {
        sb_domain::Category::SafetyCompliance => "safety_queue",
        sb_domain::Category::ServiceAction => "service_action_workflow",
        sb_domain::Category::Informational => "knowledge_base_lookup",
    };
    let mut decision_path = vec![format!("intent={} ({:.2})", triage.intent.as_str(), triage.confidence)];
    if let Some(reason) = &triage.safety_override {
        decision_path.push(reason.clone());
    }
    if let Some(severity) = triage.severity {
        decision_path.push(format!("severity={}", severity.as_str()));
    }
    decision_path.push(format!("next_step={next_step}"));
    let ranking: Vec<String> = triage.ranking.iter().map(|ranked| format!("{} {:.2}", ranked.intent.as_str(), ranked.probability)).collect();
    let response = ClassifyResponse {
        category: triage.category.as_str().to_string(),
        confidence: triage.confidence,
        reasoning: format!("local model {}@{}: {}", triage.model.name, triage.model.version, ranking.join(", ")),
        decision_path,
        next_step: next_step.to_string(),
        processing_time_ms: started.elapsed().as_secs_f64() * 1_000.0,
        request_id: crate::request_log::current_request_id().unwrap_or_default(),
        intent: triage.intent.as_str().to_string(),
        severity: triage.severity.map(|severity| severity.as_str().to_string()),
    };
    Ok(Json(response))
}
