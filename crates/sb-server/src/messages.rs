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
use sb_store::{NewCustomer, Scope};
use serde::{Deserialize, Serialize};

use crate::{ApiError, AppState, Caller, MAX_TEXT_CHARS};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CustomerDto {
    email: Option<String>,
    phone: Option<String>,
    name: Option<String>,
    external_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateMessageRequest {
    channel: String,
    text: String,
    external_id: Option<String>,
    subject: Option<String>,
    conversation_id: Option<String>,
    #[serde(default)]
    customer: Option<CustomerDto>,
    metadata: Option<serde_json::Value>,
}

/// Parses a JSON body: 415 unless JSON, 400 for syntax, 422 for a wrong shape.
fn parse_json<T: serde::de::DeserializeOwned>(headers: &HeaderMap, body: &[u8]) -> Result<T, ApiError> {
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

fn validate_text(text: &str) -> Result<(), ApiError> {
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

#[derive(Debug, Serialize)]
struct MessageResponse {
    ticket_id: i64,
    message_id: i64,
    customer_id: Option<i64>,
    /// `triaged`, `received` (triage will be retried) or `duplicate`.
    status: ReceiptStatus,
    ticket_status: String,
    queue: String,
    triage: Option<TriageResult>,
    decision: Option<serde_json::Value>,
    reply: Option<String>,
    pending_reason: Option<String>,
}

impl From<MessageReceipt> for MessageResponse {
    fn from(receipt: MessageReceipt) -> MessageResponse {
        MessageResponse {
            ticket_id: receipt.ingested.ticket_id,
            message_id: receipt.ingested.message_id,
            customer_id: receipt.ingested.customer_id,
            status: receipt.status,
            ticket_status: receipt.ticket.status.as_str().to_string(),
            queue: receipt.ticket.queue.as_str().to_string(),
            triage: receipt.triage,
            decision: receipt.decision.and_then(|decision| serde_json::to_value(decision).ok()),
            reply: receipt.reply,
            pending_reason: receipt.pending_reason,
        }
    }
}

/// Stores the message (durably, before answering), triages and routes it. 201 for a new
/// message, 200 for a repeated delivery of the same `external_id` on the same channel.
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

#[derive(Debug, Deserialize)]
struct ClassifyRequest {
    message: String,
    #[serde(default = "default_channel")]
    channel: String,
    #[allow(dead_code)]
    metadata: Option<serde_json::Value>,
}

fn default_channel() -> String {
    "api".into()
}

#[derive(Debug, Serialize)]
struct ClassifyResponse {
    category: String,
    confidence: f32,
    reasoning: String,
    decision_path: Vec<String>,
    next_step: String,
    processing_time_ms: f64,
    request_id: String,
    intent: String,
    severity: Option<String>,
}

/// Triage only, nothing stored: the classify endpoint of the orchestrator Switchboard replaces.
pub async fn classify(State(state): State<AppState>, caller: Caller, headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> Result<Json<serde_json::Value>, ApiError> {
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
    Ok(Json(serde_json::to_value(response).map_err(|error| ApiError::Internal(error.to_string()))?))
}
