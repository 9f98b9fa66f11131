//! Email attachments for agents: the bytes of one attachment of a stored mail, decoded from the
//! raw source on request (the store keeps the mail exactly as received; the message's
//! `metadata.email.attachments` lists what it holds).
//!
//! An attachment cannot be masked, so only callers who may see personal data open one, and the
//! opening is audited like an unmasked ticket view. What a customer sent is served as a
//! download, never rendered by the console's origin: `Content-Disposition: attachment`,
//! `nosniff`, a sandboxing CSP, and a content type from a short list of passive ones
//! (anything else, HTML and SVG included, is `application/octet-stream`).

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use sb_store::Scope;

use crate::auth::Permission;
use crate::error::ErrorBody;
use crate::openapi::{Forbidden, NotFound, RateLimited, Unauthorized};
use crate::ticket_actions::audit_pii_view;
use crate::{ApiError, AppState, Caller};

/// Types served as themselves; the rest is `application/octet-stream`.
const PASSIVE_TYPES: &[&str] = &["image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain", "text/csv", "message/rfc822"];

/// Download an email attachment
///
/// The attachment at `index` (the order of the message's `metadata.email.attachments`) of an
/// email message of the ticket, as a download. Needs the personal-data permission (the viewer
/// role is refused); each opening is audited as `pii.viewed` of the message.
#[utoipa::path(
    get, path = "/api/v1/tickets/{ticket_id}/messages/{message_id}/attachments/{index}", tag = "tickets",
    params(
        ("ticket_id" = i64, Path, description = "Ticket id."),
        ("message_id" = i64, Path, description = "Message id (an email message of the ticket)."),
        ("index" = usize, Path, description = "Position in `metadata.email.attachments`, from 0."),
    ),
    responses(
        (status = 200, description = "The attachment's bytes, with `Content-Disposition: attachment` and its file name.", content_type = "application/octet-stream"),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, description = "Codes: `invalid_path` (an id is not a number), `invalid` (the attachment is larger than the message size limit).", body = ErrorBody),
        (status = 429, response = RateLimited),
    ),
    security(("bearer" = ["read"]), ("session" = ["admin", "supervisor", "agent", "compliance"])),
)]
pub async fn email_attachment(State(state): State<AppState>, caller: Caller, path: Result<Path<(i64, i64, usize)>, PathRejection>) -> Result<Response, ApiError> {
    caller.require(Scope::Read)?;
    caller.require(Permission::SeePii)?;
    let Path((ticket_id, message_id, index)) = path?;
    let file = state.service.email_attachment(ticket_id, message_id, index).await?;
    audit_pii_view(&state, &caller, "message", message_id).await?;
    let declared = file.content_type.to_ascii_lowercase();
    let content_type = match declared.as_str() {
        "text/plain" | "text/csv" => format!("{declared}; charset=utf-8"),
        passive if PASSIVE_TYPES.contains(&passive) => declared.clone(),
        _ => "application/octet-stream".to_string(),
    };
    let filename = file.filename.unwrap_or_else(|| format!("attachment-{index}"));
    let headers = [
        (header::CONTENT_TYPE, content_type),
        (header::CONTENT_DISPOSITION, content_disposition(&filename)),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
        (header::CONTENT_SECURITY_POLICY, "sandbox; default-src 'none'".to_string()),
        (header::CACHE_CONTROL, "private, no-store".to_string()),
    ];
    Ok((headers, file.content).into_response())
}

/// `attachment; filename="<ASCII fallback>"; filename*=UTF-8''<percent-encoded>` (RFC 6266,
/// RFC 8187): the ASCII form for old clients, the exact name for the rest.
fn content_disposition(filename: &str) -> String {
    let fallback: String = filename.chars().map(|character| if character.is_ascii_graphic() && !matches!(character, '"' | '\\' | '%' | ';') || character == ' ' { character } else { '_' }).collect();
    let mut encoded = String::new();
    for byte in filename.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_quoted_safely_and_kept_exactly_in_the_encoded_form() {
        for (name, expected) in [
            ("photo.jpg", "attachment; filename=\"photo.jpg\"; filename*=UTF-8''photo.jpg"),
            ("Rechnung März.pdf", "attachment; filename=\"Rechnung M_rz.pdf\"; filename*=UTF-8''Rechnung%20M%C3%A4rz.pdf"),
            ("a\";b%.txt", "attachment; filename=\"a__b_.txt\"; filename*=UTF-8''a%22%3Bb%25.txt"),
        ] {
            assert_eq!(content_disposition(name), expected);
        }
    }
}
