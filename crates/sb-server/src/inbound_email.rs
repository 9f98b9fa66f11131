//! `POST /api/v1/inbound/email`: raw mail pushed by a provider's webhook (the body is the
//! RFC 5322 source, `Content-Type: message/rfc822`), stored exactly as received and sent
//! through the pipeline by `Service::receive_email`.
//!
//! 201 when stored, 200 when a mail with the same Message-ID (or, without one, the same
//! bytes) is already stored; 415 for another media type; 413 over the configured mail size;
//! 422 `empty_mail` / `not_a_mail` for bodies that are not a mail. Nothing is stored for any
//! 4xx.
//!
//! `GET /api/v1/email/mailboxes`: where each IMAP mailbox's reader stands (the admin page's
//! view of what `/metrics` counts).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use sb_service::{MailSource, ReceiptStatus, ThreadedBy, RFC822};
use sb_store::Scope;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::ErrorBody;
use crate::messages::MessageResponse;
use crate::openapi::{Forbidden, RateLimited, Unauthorized};
use crate::{ApiError, AppState, Caller};

/// How a mail found its ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = ThreadedBy)]
pub enum ThreadedByDto {
    /// A Message-ID of the ticket in In-Reply-To or References.
    MessageId,
    /// The ticket token (`[SB-123456-K]`) in the subject or the reply address, from the
    /// ticket's customer.
    TicketToken,
    /// The same customer and subject on a recent open ticket.
    SenderSubject,
    /// A new ticket.
    NewTicket,
}

impl From<ThreadedBy> for ThreadedByDto {
    fn from(threaded_by: ThreadedBy) -> ThreadedByDto {
        match threaded_by {
            ThreadedBy::MessageId => ThreadedByDto::MessageId,
            ThreadedBy::TicketToken => ThreadedByDto::TicketToken,
            ThreadedBy::SenderSubject => ThreadedByDto::SenderSubject,
            ThreadedBy::NewTicket => ThreadedByDto::NewTicket,
        }
    }
}

/// What became of a mail: the message's answer plus what the mail said about itself.
#[derive(Debug, Serialize, ToSchema)]
pub struct InboundEmailResponse {
    #[serde(flatten)]
    message: MessageResponse,
    /// The mail's Message-ID (without angle brackets); null when it had none.
    email_message_id: Option<String>,
    /// How the mail found its ticket (for a repeated delivery: how this delivery would have).
    threaded_by: ThreadedByDto,
    /// Anomalies found while parsing (`missing_date`, `malformed_mime`, `attachment_over_size_cap`…).
    mail_flags: Vec<String>,
    /// Why no automatic answer is sent to this mail (`auto_reply`, `bounce`, `mailing_list`,
    /// `own_address`…); null when one may be.
    auto_answer_refusal: Option<String>,
}

fn is_rfc822(headers: &HeaderMap) -> bool {
    let content_type = headers.get(axum::http::header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or("");
    let media_type = content_type.split(';').next().unwrap_or("").trim();
    media_type.eq_ignore_ascii_case(RFC822)
}

/// Push a raw mail in
///
/// For providers that forward mail by webhook. The body is the raw RFC 5322 mail (headers,
/// MIME parts, attachments) exactly as received; it is stored byte for byte before the answer,
/// threaded into its ticket (Message-ID, ticket token, sender and subject), and triaged.
/// Auto-replies, bounces and list mail are stored but never answered automatically.
#[utoipa::path(
    post, path = "/api/v1/inbound/email", tag = "messages",
    request_body(content = String, content_type = "message/rfc822", description = "The raw mail (RFC 5322), at most the configured size (40 MiB by default)."),
    responses(
        (status = 201, description = "Stored (and triaged, unless `status` is `received`).", body = InboundEmailResponse),
        (status = 200, description = "A mail with this Message-ID (or, without one, these bytes) is already stored: nothing new stored; the first delivery's result.", body = InboundEmailResponse),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 413, description = "The mail is larger than the configured limit. Code: `payload_too_large`.", body = ErrorBody),
        (status = 415, description = "The body is not sent as `Content-Type: message/rfc822`. Code: `unsupported_media_type`.", body = ErrorBody),
        (status = 422, description = "Not a mail. Codes: `empty_mail` (no bytes, or only whitespace), `not_a_mail` (no RFC 5322 header section with From, Date or Message-ID).", body = ErrorBody),
        (status = 429, response = RateLimited),
    ),
    security(("bearer" = ["ingest"]), ("session" = ["admin"], "csrf" = [])),
)]
pub async fn receive_email(State(state): State<AppState>, caller: Caller, headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> Result<Response, ApiError> {
    caller.require(Scope::Ingest)?;
    let max_message_bytes = state.service.config().email.limits.max_message_bytes;
    let body = body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge(max_message_bytes),
        _ => ApiError::validation("not_a_mail", rejection.body_text()),
    })?;
    if !is_rfc822(&headers) {
        return Err(ApiError::WrongMediaType { expected: RFC822 });
    }
    let email = state.service.receive_email(body.to_vec(), MailSource::Http).await?;
    let status = if email.receipt.status == ReceiptStatus::Duplicate { StatusCode::OK } else { StatusCode::CREATED };
    let refusal = email.auto_answer_refusal.as_ref().and_then(|refusal| serde_json::to_value(refusal).ok()).and_then(|value| value["reason"].as_str().map(str::to_string));
    let response = InboundEmailResponse {
        message: MessageResponse::from(email.receipt),
        email_message_id: email.message_id,
        threaded_by: email.threaded_by.into(),
        mail_flags: email.flags.iter().map(|flag| flag.as_str().to_string()).collect(),
        auto_answer_refusal: refusal,
    };
    Ok((status, Json(response)).into_response())
}

/// One IMAP mailbox's reader.
#[derive(Debug, Serialize, ToSchema)]
pub struct MailboxStatusDto {
    /// The mailbox's name in the configuration (`[[email.imap]] name`).
    mailbox: String,
    /// A session is open; false while the reader reconnects (with backoff).
    connected: bool,
    /// Since when `connected` has its value.
    since: Option<chrono::DateTime<chrono::Utc>>,
    /// Mails fetched since the process started.
    mails_fetched: u64,
    /// Failed sessions since the process started.
    errors: u64,
    /// The last failure (connection, login, a command, a timeout), without mail content.
    last_error: Option<String>,
    last_error_at: Option<chrono::DateTime<chrono::Utc>>,
    /// When a mail was last fetched.
    last_fetch_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// The IMAP mailboxes this process reads.
#[derive(Debug, Serialize, ToSchema)]
pub struct MailboxList {
    /// Every mailbox whose reader has reported, by name (empty when none is configured).
    mailboxes: Vec<MailboxStatusDto>,
}

/// IMAP mailboxes and their readers' state
///
/// Per process: each replica reads its own configured mailboxes. Counts start at zero when
/// the process starts (`/metrics` has the same as counters).
#[utoipa::path(
    get, path = "/api/v1/email/mailboxes", tag = "admin",
    responses(
        (status = 200, description = "Each mailbox's reader.", body = MailboxList),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 429, response = RateLimited),
    ),
    security(("bearer" = ["read"]), ("session" = ["admin", "supervisor"])),
)]
pub async fn list_mailboxes(State(state): State<AppState>, caller: Caller) -> Result<Json<MailboxList>, ApiError> {
    caller.require(crate::auth::Permission::ReadReports)?;
    let mailboxes = state
        .service
        .metrics()
        .mailbox_statuses()
        .into_iter()
        .map(|status| MailboxStatusDto {
            mailbox: status.mailbox,
            connected: status.connected,
            since: status.since,
            mails_fetched: status.mails_fetched,
            errors: status.errors,
            last_error: status.last_error,
            last_error_at: status.last_error_at,
            last_fetch_at: status.last_fetch_at,
        })
        .collect();
    Ok(Json(MailboxList { mailboxes }))
}
