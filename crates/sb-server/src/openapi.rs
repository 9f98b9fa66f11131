//! The OpenAPI document of the REST API, served at `GET /api/openapi.json` (public, like the
//! probes). It is generated from the code: each handler's `#[utoipa::path]` (method, path,
//! parameters, body, responses, who may call it) and the `ToSchema` of the wire types, so it
//! changes with them. `tests/it/openapi.rs` fails when a route of `app()` is missing from the
//! document or documented with the wrong method.
//!
//! Callers are three security schemes: `bearer` (API tokens; an operation lists the scope it
//! needs, and `admin` grants every scope), `session` (the console cookie; an operation lists
//! the roles allowed — OpenAPI 3.1 allows role names on non-OAuth schemes) and `csrf` (the
//! `X-CSRF-Token` header that cookie-authenticated changes must carry, so it is listed together
//! with `session` on every POST and DELETE).
//!
//! Errors are one schema (`Error`, `{"error": {"code", "message"}}`) and a reusable response per
//! status with the stable codes it carries; the 422 answers, whose codes differ per operation,
//! are written on each operation.

use std::sync::OnceLock;

use axum::http::header;
use axum::response::IntoResponse;
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{Object, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{Modify, OpenApi, ToResponse};

use crate::auth::SESSION_COOKIE;

/// An error response: the `Error` schema, with the codes it may carry in its description.
fn error_response(description: &str, codes: &[&str], retry_after: bool) -> Response {
    let codes: Vec<String> = codes.iter().map(|code| format!("`{code}`")).collect();
    let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("Error"))).build();
    let mut response = ResponseBuilder::new().description(format!("{description} Codes: {}.", codes.join(", "))).content("application/json", content);
    if retry_after {
        let seconds = HeaderBuilder::new().schema(Object::with_type(Type::Integer)).description(Some("Seconds to wait before trying again.")).build();
        response = response.header("Retry-After", seconds);
    }
    response.build()
}

/// Declares the reusable error responses: a type per response for `response = …` in the
/// operations, and [`ERROR_RESPONSES`] listing them for the tests.
macro_rules! error_responses {
    ($($name:ident($status:literal, [$($code:literal),+], $description:literal);)+) => {
        $(
            #[doc = $description]
            pub struct $name;

            impl<'r> ToResponse<'r> for $name {
                fn response() -> (&'r str, RefOr<Response>) {
                    (stringify!($name), RefOr::T(error_response($description, &[$($code),+], $status == 429)))
                }
            }
        )+

        /// Every reusable error response: its name under `components/responses`, the status
        /// operations use it with, and the error codes it carries.
        #[cfg(test)]
        pub const ERROR_RESPONSES: &[(&str, u16, &[&str])] = &[$((stringify!($name), $status, &[$($code),+])),+];
    };
}

error_responses! {
    MalformedJson(400, ["malformed_json"], "The body is not valid JSON.");
    Unauthorized(401, ["unauthorized"], "No credentials, or a token or session that is unknown, revoked or expired.");
    InvalidCredentials(401, ["invalid_credentials"], "Wrong email or password.");
    Forbidden(403, ["forbidden", "csrf_failed"], "The token lacks the scope or the role may not do this (`forbidden`), or a change authenticated by the session cookie came without the session's `X-CSRF-Token` (`csrf_failed`).");
    NotFound(404, ["not_found"], "No such object (or no such endpoint).");
    Conflict(409, ["conflict"], "The change does not fit the object's current state: a merged or closed ticket, a status change its status does not allow, a ticket changed meanwhile, a user's email already taken.");
    PayloadTooLarge(413, ["payload_too_large"], "The body is larger than 256 KiB.");
    UnsupportedMediaType(415, ["unsupported_media_type"], "The body is not sent as `Content-Type: application/json`.");
    RateLimited(429, ["rate_limited"], "Too many requests from this token, user or IP address; `Retry-After` says when to try again.");
    Unavailable(503, ["unavailable"], "The triage models are not loaded yet, or the database does not answer; retry shortly.");
}

/// Adds the security schemes the operations refer to.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let bearer = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some("An API token (`switchboard token create`, or `POST /api/v1/tokens`). Scopes: `ingest` sends messages in; `read` reads tickets, customers, decisions, compliance records, SLA policies and reports, with personal data; `write` acts on tickets and customers; `admin` grants every scope and manages users, tokens and the audit log."))
            .build();
        components.add_security_scheme("bearer", SecurityScheme::Http(bearer));
        let session = ApiKeyValue::with_description(SESSION_COOKIE, "A console session, from `POST /api/v1/session`. The values an operation lists are the roles allowed: admin, supervisor, agent, compliance, viewer (viewers see redacted text only).");
        components.add_security_scheme("session", SecurityScheme::ApiKey(ApiKey::Cookie(session)));
        let csrf = ApiKeyValue::with_description("X-CSRF-Token", "The session's CSRF token (`csrf_token` of `POST /api/v1/session` or `GET /api/v1/session`): required with the session cookie on every POST and DELETE; bearer tokens need none.");
        components.add_security_scheme("csrf", SecurityScheme::ApiKey(ApiKey::Header(csrf)));
        let chat_token = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some("A chat conversation's secret, answered once by `POST /api/v1/chat/conversations`: opens that one conversation only (to `/ws` it is sent as the `chat_token` query parameter, since browsers cannot set headers on a WebSocket)."))
            .build();
        components.add_security_scheme("chat_token", SecurityScheme::Http(chat_token));
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Switchboard",
        version = env!("CARGO_PKG_VERSION"),
        description = "The REST API of Switchboard, a self-hosted AI contact center: send customer messages in (stored durably, triaged, routed), work tickets, read decision records, compliance records, the audit log and SLA policies, and manage users and tokens.\n\nErrors are `{\"error\": {\"code\", \"message\"}}` with a stable `code`; an unexpected failure is 500 with code `internal` (details only in the server log).",
        license(name = "AGPL-3.0-only", identifier = "AGPL-3.0-only"),
    ),
    paths(
        crate::health,
        crate::ready,
        crate::metrics::serve_metrics,
        document,
        crate::messages::create_message,
        crate::messages::classify,
        crate::inbound_email::receive_email,
        crate::inbound_email::list_mailboxes,
        crate::tickets::list_tickets,
        crate::tickets::get_ticket,
        crate::attachments::email_attachment,
        crate::tickets::ticket_decisions,
        crate::assist::ticket_assist,
        crate::assist::create_kb_draft,
        crate::assist::help_page,
        crate::ws::events_socket,
        crate::chat::agent_typing,
        crate::chat::status,
        crate::chat::start,
        crate::chat::get_conversation,
        crate::chat::history,
        crate::chat::send,
        crate::chat::rate,
        crate::chat::customer_typing,
        crate::ticket_actions::assign,
        crate::ticket_actions::set_status,
        crate::ticket_actions::reply,
        crate::ticket_actions::add_note,
        crate::ticket_actions::escalate,
        crate::ticket_actions::record_csat,
        crate::ticket_actions::merge,
        crate::transfer::transfer,
        crate::transfer::list_agents,
        crate::ticket_actions::get_customer,
        crate::ticket_actions::set_vip,
        crate::tickets::compliance_records,
        crate::sla::list_sla_policies,
        crate::sla::set_sla_targets,
        crate::sla::reset_sla_targets,
        crate::admin::list_audit,
        crate::admin::verify_audit,
        crate::admin::list_users,
        crate::admin::create_user,
        crate::admin::update_user,
        crate::admin::list_tokens,
        crate::admin::create_token,
        crate::admin::revoke_token,
        crate::session::log_in,
        crate::session::current,
        crate::session::log_out,
        crate::kb::list_articles,
        crate::kb::create_article,
        crate::kb::get_article,
        crate::kb::update_article,
        crate::kb::archive_article,
        crate::kb::article_versions,
        crate::kb::search,
        crate::kb::list_templates,
        crate::kb::create_template,
        crate::kb::update_template,
        crate::kb::delete_template,
        crate::alerts::list_alerts,
        crate::alerts::resolve_alert,
        crate::alerts::list_webhooks,
        crate::alerts::create_webhook,
        crate::alerts::deactivate_webhook,
        crate::alerts::webhook_deliveries,
        crate::reports::pending,
        crate::reports::realtime,
        crate::reports::customer,
        crate::reports::sla,
        crate::reports::categories,
        crate::reports::agents,
        crate::reports::cost,
        crate::reports::automation,
        crate::dashboard::forecast_today,
        crate::routing::list_agents,
        crate::routing::set_skills,
        crate::routing::my_presence,
        crate::routing::set_my_presence,
        crate::routing::heartbeat,
        crate::survey::survey_page,
        crate::survey::submit_survey,
        crate::policy::thresholds,
        crate::policy::set_general_threshold,
        crate::policy::reset_general_threshold,
        crate::policy::set_intent_threshold,
        crate::policy::reset_intent_threshold,
    ),
    components(
        schemas(crate::error::ErrorBody),
        responses(MalformedJson, Unauthorized, InvalidCredentials, Forbidden, NotFound, Conflict, PayloadTooLarge, UnsupportedMediaType, RateLimited, Unavailable),
    ),
    modifiers(&SecuritySchemes),
    tags(
        (name = "messages", description = "Customer messages in: durable ingest with triage and routing, and triage alone."),
        (name = "tickets", description = "Tickets with their messages and decision records, and what agents do to them."),
        (name = "customers", description = "Customers with their history."),
        (name = "compliance", description = "Records kept for safety reports."),
        (name = "sla", description = "SLA policies: targets and business calendars; admins change targets."),
        (name = "admin", description = "Audit log, users and API tokens, auto-reply thresholds (admins change them), IMAP mailboxes."),
        (name = "knowledge", description = "Knowledge-base articles with their versions, hybrid search, reply templates."),
        (name = "alerts", description = "Alerts raised by the rules, and the webhooks that receive them (signed, retried, logged)."),
        (name = "reports", description = "Dashboard reports over a date range in a time zone, as JSON or CSV: pending queue, real-time metrics, customer 360, SLA compliance, category and agent performance, LLM cost, automation rate."),
        (name = "routing", description = "Live routing: agents' skills and capacity, and their presence (available or away, kept alive by the console's heartbeat)."),
        (name = "session", description = "Console login (cookie and CSRF token)."),
        (name = "chat", description = "The customer chat widget's public API: start a conversation (no API token), then send, read and signal typing with the conversation's own secret."),
        (name = "events", description = "Live ticket events over a WebSocket, with resume after a disconnect."),
        (name = "service", description = "Probes and this document; no authentication."),
    ),
)]
pub struct ApiDoc;

/// The document as JSON, built once (it depends on nothing but the code).
pub fn openapi_json() -> &'static str {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        // Serialising maps with string keys cannot fail; should it, the answer is still JSON.
        ApiDoc::openapi().to_pretty_json().unwrap_or_else(|error| serde_json::json!({"error": {"code": "internal", "message": error.to_string()}}).to_string())
    })
}

/// The OpenAPI document
///
/// This API described in OpenAPI 3.1, generated from the code.
#[utoipa::path(
    get, path = "/api/openapi.json", tag = "service",
    responses((status = 200, description = "The OpenAPI document.", content_type = "application/json", body = Object)),
)]
pub async fn document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], openapi_json())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ApiError;
    use axum::http::StatusCode;

    /// One error of each kind; the match has no catch-all arm, so a new variant does not
    /// compile until it is listed here (and so checked against the document below).
    fn one_error_of_each_kind() -> Vec<ApiError> {
        let errors = vec![
            ApiError::MalformedJson("x".into()),
            ApiError::validation("invalid_field", "x"),
            ApiError::InvalidPolicy { problems: vec!["x".into()] },
            ApiError::BadParameter { code: "invalid_date", message: "x".into() },
            ApiError::Unauthorized,
            ApiError::InvalidCredentials,
            ApiError::MissingScope("read"),
            ApiError::Forbidden("x".into()),
            ApiError::CsrfFailed,
            ApiError::NotFound("x".into()),
            ApiError::Conflict("x".into()),
            ApiError::StateConflict { code: "safety_wins", message: "x".into() },
            ApiError::PayloadTooLarge(1),
            ApiError::UnsupportedMediaType,
            ApiError::WrongMediaType { expected: "message/rfc822" },
            ApiError::RateLimited(1),
            ApiError::Unavailable("x".into()),
            ApiError::Internal("x".into()),
        ];
        for error in &errors {
            match error {
                ApiError::MalformedJson(_)
                | ApiError::Validation { .. }
                | ApiError::InvalidPolicy { .. }
                | ApiError::BadParameter { .. }
                | ApiError::Unauthorized
                | ApiError::InvalidCredentials
                | ApiError::MissingScope(_)
                | ApiError::Forbidden(_)
                | ApiError::CsrfFailed
                | ApiError::NotFound(_)
                | ApiError::Conflict(_)
                | ApiError::StateConflict { .. }
                | ApiError::PayloadTooLarge(_)
                | ApiError::UnsupportedMediaType
                | ApiError::WrongMediaType { .. }
                | ApiError::RateLimited(_)
                | ApiError::Unavailable(_)
                | ApiError::Internal(_) => {}
            }
        }
        errors
    }

    #[test]
    fn every_error_code_is_documented_with_the_status_it_is_answered_with() {
        for error in one_error_of_each_kind() {
            let (status, code) = error.status_and_code();
            match error {
                // 422 codes differ per operation and are written on each; 500 is in the info block.
                ApiError::Validation { .. } | ApiError::InvalidPolicy { .. } => assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY),
                // Like 422, the report parameters' codes are written on each report operation.
                ApiError::BadParameter { .. } => assert_eq!(status, StatusCode::BAD_REQUEST),
                // 409 codes of one operation's own (a transfer's) are written on that operation.
                ApiError::StateConflict { .. } => assert_eq!(status, StatusCode::CONFLICT),
                ApiError::Internal(_) => assert_eq!((status, code), (StatusCode::INTERNAL_SERVER_ERROR, "internal")),
                _ => {
                    let documented: Vec<u16> = ERROR_RESPONSES.iter().filter(|(_, _, codes)| codes.contains(&code)).map(|(_, status, _)| *status).collect();
                    assert_eq!(documented, vec![status.as_u16()], "code `{code}`");
                }
            }
        }
    }

    #[test]
    fn every_documented_code_is_one_the_api_answers_with() {
        let answered: Vec<(u16, &str)> = one_error_of_each_kind().iter().map(|error| error.status_and_code()).map(|(status, code)| (status.as_u16(), code)).collect();
        for (name, status, codes) in ERROR_RESPONSES {
            for code in *codes {
                assert!(answered.contains(&(*status, *code)), "{name}: {status} `{code}` is documented but never answered");
            }
        }
    }
}
