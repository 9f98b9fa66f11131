//! Every error a client can see, with its stable code, mapped to HTTP in one exhaustive match.
//! Internal details (SQL, file paths) are logged, never sent. The body is
//! `{"error": {"code", "message", "request_id"}}`; the request id is also in the `x-request-id`
//! header.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

/// The body of every error answer: `{"error": {"code": "...", "message": "..."}}`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable code (`text_too_long`, `forbidden`…): match on this.
    pub code: String,
    /// Human-readable explanation; wording may change.
    pub message: String,
    /// The request's id (also in the `x-request-id` response header).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Every problem found, for `invalid_policy` (the message joins them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problems: Option<Vec<String>>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("the request body is not valid JSON: {0}")]
    MalformedJson(String),
    #[error("{message}")]
    Validation { code: &'static str, message: String },
    /// A policy change sb-policy's validation refuses (the checks of the config loader).
    #[error("the policy change is invalid: {}", .problems.join("; "))]
    InvalidPolicy { problems: Vec<String> },
    /// A query parameter that cannot be used (a report's date, zone, period, format…).
    #[error("{message}")]
    BadParameter { code: &'static str, message: String },
    #[error("missing or invalid credentials: send `Authorization: Bearer <token>` or log in")]
    Unauthorized,
    #[error("wrong email or password")]
    InvalidCredentials,
    #[error("this token lacks the `{0}` scope")]
    MissingScope(&'static str),
    #[error("{0}")]
    Forbidden(String),
    #[error("missing or wrong X-CSRF-Token header: send the csrf_token from POST /api/v1/session")]
    CsrfFailed,
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// A conflict with the state of the thing acted on that has a code of its own (a
    /// transfer out of the safety queue, a transfer to where the ticket already is).
    #[error("{message}")]
    StateConflict { code: &'static str, message: String },
    #[error("the request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("the request body must be JSON (Content-Type: application/json)")]
    UnsupportedMediaType,
    #[error("the request body must be sent as Content-Type: {expected}")]
    WrongMediaType { expected: &'static str },
    #[error("too many requests; retry after {0} seconds")]
    RateLimited(u64),
    #[error("the service is starting or a dependency is down; retry shortly")]
    Unavailable(String),
    #[error("internal error; the server log has the details under this request id")]
    Internal(String),
}

impl ApiError {
    pub fn validation(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::Validation { code, message: message.into() }
    }

    pub(crate) fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::MalformedJson(_) => (StatusCode::BAD_REQUEST, "malformed_json"),
            ApiError::Validation { code, .. } => (StatusCode::UNPROCESSABLE_ENTITY, code),
            ApiError::InvalidPolicy { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_policy"),
            ApiError::BadParameter { code, .. } => (StatusCode::BAD_REQUEST, code),
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::InvalidCredentials => (StatusCode::UNAUTHORIZED, "invalid_credentials"),
            ApiError::MissingScope(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::CsrfFailed => (StatusCode::FORBIDDEN, "csrf_failed"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::StateConflict { code, .. } => (StatusCode::CONFLICT, code),
            ApiError::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::UnsupportedMediaType | ApiError::WrongMediaType { .. } => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
            ApiError::RateLimited(_) => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        match &self {
            ApiError::Internal(detail) | ApiError::Unavailable(detail) => tracing::error!(code, detail = %detail, "request failed"),
            _ => tracing::debug!(code, "request rejected"),
        }
        // The request id lets a client quote the failure to support and finds its log lines.
        let problems = match &self {
            ApiError::InvalidPolicy { problems } => Some(problems.clone()),
            _ => None,
        };
        let body = ErrorBody { error: ErrorDetail { code: code.to_string(), message: self.to_string(), request_id: crate::request_log::current_request_id(), problems } };
        let mut response = (status, Json(body)).into_response();
        if let ApiError::RateLimited(seconds) = self {
            if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
                response.headers_mut().insert("retry-after", value);
            }
        }
        response
    }
}

impl From<sb_store::Error> for ApiError {
    fn from(error: sb_store::Error) -> ApiError {
        match error {
            sb_store::Error::NotFound { entity, id } => ApiError::NotFound(format!("{entity} {id}")),
            sb_store::Error::Conflict(message) => ApiError::Conflict(message),
            sb_store::Error::Invalid(message) => ApiError::validation("invalid", message),
            sb_store::Error::Connect(detail) => ApiError::Unavailable(detail),
            error @ (sb_store::Error::BadUrl(_) | sb_store::Error::Database(_) | sb_store::Error::Sqlite(_) | sb_store::Error::Migrate(_) | sb_store::Error::Json { .. }) => ApiError::Internal(error.to_string()),
        }
    }
}

impl From<sb_service::Error> for ApiError {
    fn from(error: sb_service::Error) -> ApiError {
        match error {
            sb_service::Error::Store(store_error) => store_error.into(),
            sb_service::Error::Invalid(message) => ApiError::validation("invalid", message),
            sb_service::Error::ModelsNotLoaded => ApiError::Unavailable("the triage models are not loaded".into()),
            sb_service::Error::NotMail(not_mail) => match not_mail {
                sb_service::NotMail::Empty => ApiError::validation("empty_mail", not_mail.to_string()),
                sb_service::NotMail::NoHeaders => ApiError::validation("not_a_mail", not_mail.to_string()),
                sb_service::NotMail::TooLarge { limit, .. } => ApiError::PayloadTooLarge(limit),
            },
            sb_service::Error::Transfer(refusal) => {
                let message = refusal.to_string();
                match refusal {
                    sb_service::TransferRefusal::NoTarget => ApiError::validation("no_target", message),
                    sb_service::TransferRefusal::UnknownAgent(_) => ApiError::validation("unknown_agent", message),
                    sb_service::TransferRefusal::AgentUnavailable(..) => ApiError::validation("agent_unavailable", message),
                    sb_service::TransferRefusal::QueueNotTransferable(_) => ApiError::validation("unknown_queue", message),
                    sb_service::TransferRefusal::SafetyStays(_) => ApiError::StateConflict { code: "safety_wins", message },
                    sb_service::TransferRefusal::AlreadyThere(_) => ApiError::StateConflict { code: "already_there", message },
                }
            }
            sb_service::Error::PolicyRejected { problems } => ApiError::InvalidPolicy { problems },
            sb_service::Error::KnowledgeNotLoaded => ApiError::Unavailable("the knowledge-base index is still opening".into()),
            error @ (sb_service::Error::Triage(_) | sb_service::Error::Policy(_) | sb_service::Error::Encode(_) | sb_service::Error::Internal(_)) => ApiError::Internal(error.to_string()),
        }
    }
}

impl From<axum::extract::rejection::BytesRejection> for ApiError {
    fn from(rejection: axum::extract::rejection::BytesRejection) -> ApiError {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return ApiError::PayloadTooLarge(crate::MAX_BODY_BYTES);
        }
        ApiError::MalformedJson(rejection.body_text())
    }
}

impl From<axum::extract::rejection::JsonRejection> for ApiError {
    fn from(rejection: axum::extract::rejection::JsonRejection) -> ApiError {
        use axum::extract::rejection::JsonRejection;
        match rejection {
            JsonRejection::JsonDataError(error) => ApiError::validation("invalid_field", error.body_text()),
            JsonRejection::JsonSyntaxError(error) => ApiError::MalformedJson(error.body_text()),
            JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType,
            JsonRejection::BytesRejection(error) => error.into(),
            other => ApiError::MalformedJson(other.body_text()),
        }
    }
}

impl From<axum::extract::rejection::QueryRejection> for ApiError {
    fn from(rejection: axum::extract::rejection::QueryRejection) -> ApiError {
        ApiError::validation("invalid_query", rejection.body_text())
    }
}

impl From<axum::extract::rejection::PathRejection> for ApiError {
    fn from(rejection: axum::extract::rejection::PathRejection) -> ApiError {
        ApiError::validation("invalid_path", rejection.body_text())
    }
}
