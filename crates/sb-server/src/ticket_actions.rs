//! What agents do to tickets and customers: assign, status, reply, internal note, escalate,
//! merge; a customer with their history; the VIP flag.
//!
//! Authorisation is two-step: the permission first (before reading anything), then, for
//! agents, whether the ticket is theirs to work on (after reading it). The service re-reads
//! the ticket and refuses the change with 409 if someone changed it in between.

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use sb_store::{TicketStatus, Ticket};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::auth::Permission;
use crate::dto::{CustomerDto, TicketDto};
use crate::error::ErrorBody;
use crate::openapi::{Conflict, Forbidden, MalformedJson, NotFound, PayloadTooLarge, RateLimited, Unauthorized, UnsupportedMediaType};
use crate::{dto, ApiError, AppState, Caller};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignRequest {
    /// The user to assign to; `null` unassigns.
    assignee_id: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusRequest {
    /// `open`, `pending` (pauses the SLA clocks until the ticket is open again), `resolved`
    /// or `closed`.
    status: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BodyRequest {
    /// Not blank; at most 20,000 characters.
    body: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EscalateRequest {
    /// Why (at most 1,000 characters); kept in the audit log. A reason about safety moves the
    /// ticket to the safety queue.
    reason: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeRequest {
    /// The ticket that receives this one's messages; this one becomes `merged`.
    into_ticket_id: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VipRequest {
    vip: bool,
}

/// A ticket the caller may work on (agents: theirs or nobody's).
pub(crate) async fn workable_ticket(state: &AppState, caller: &Caller, ticket_id: i64) -> Result<Ticket, ApiError> {
    caller.require(Permission::Write)?;
    let ticket = state.service.store().ticket(ticket_id).await?;
    caller.require_work_on(&ticket)?;
    Ok(ticket)
}

/// The ticket after the change.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketEnvelope {
    #[schema(value_type = TicketDto)]
    pub(crate) ticket: Value,
}

pub(crate) fn ticket_response(caller: &Caller, ticket: &Ticket) -> Json<TicketEnvelope> {
    Json(TicketEnvelope { ticket: dto::ticket(ticket, caller.can(Permission::SeePii)) })
}

/// A reply was stored (and queued for sending on the ticket's channel).
#[derive(Debug, Serialize, ToSchema)]
pub struct ReplyCreated {
    message_id: i64,
    #[schema(value_type = TicketDto)]
    ticket: Value,
}

/// An internal note was stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct NoteCreated {
    message_id: i64,
    ticket_id: i64,
}

/// A customer with their latest tickets.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerHistoryResponse {
    #[schema(value_type = CustomerDto)]
    customer: Value,
    /// Newest first, at most 100.
    #[schema(value_type = Vec<TicketDto>)]
    tickets: Vec<Value>,
    total_tickets: i64,
}

/// The customer after the change.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerEnvelope {
    #[schema(value_type = CustomerDto)]
    customer: Value,
}

/// Assign a ticket
///
/// To a user, or to nobody with `null`. Agents may only take an unassigned ticket themselves or give back their own; supervisors and admins assign anyone.
#[utoipa::path(
    post, path = "/api/v1/tickets/{ticket_id}/assign", tag = "tickets",
    params(("ticket_id" = i64, Path, description = "Ticket id.")),
    request_body = AssignRequest,
    responses(
        (status = 200, description = "The ticket, assigned.", body = TicketEnvelope),
        (status = 400, response = MalformedJson),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, description = "Codes: `invalid` (the user is inactive or a viewer), `invalid_field`, `invalid_path`.", body = ErrorBody),
        (status = 429, response = RateLimited),
    ),
    security(("bearer" = ["write"]), ("session" = ["admin", "supervisor", "agent"], "csrf" = [])),
)]
pub async fn assign(State(state): State<AppState>, caller: Caller, ticket_id: Result<Path<i64>, PathRejection>, body: Result<Json<AssignRequest>, JsonRejection>) -> Result<Json<TicketEnvelope>, ApiError> {
    let Path(ticket_id) = ticket_id?;
    if !caller.can(Permission::Assign) {
        caller.require(Permission::Write)?;
    }
    let Json(request) = body?;
    let ticket = state.service.store().ticket(ticket_id).await?;
    caller.require_assign(&ticket, request.assignee_id)?;
    let ticket = state.service.assign_ticket(ticket_id, request.assignee_id, &caller.actor()).await?;
    Ok(ticket_response(&caller, &ticket))
}

/// Set a ticket's status
///
/// `pending` pauses the SLA clocks and `open` resumes them; `resolved` completes the resolution clock and reopening starts a fresh one. Agents act on their own or unassigned tickets.
#[utoipa::path(
    post, path = "/api/v1/tickets/{ticket_id}/status", tag = "tickets",
    params(("ticket_id" = i64, Path, description = "Ticket id.")),
    request_body = StatusRequest,
    responses(
        (status = 200, description = "The ticket with its new status and SLA clocks.", body = TicketEnvelope),
        (status = 400, response = MalformedJson),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, description = "Codes: `invalid_status`, `invalid_field`, `invalid_path`.", body = ErrorBody),
        (status = 429, response = RateLimited),
    ),
    security(("bearer" = ["write"]), ("session" = ["admin", "supervisor", "agent"], "csrf" = [])),
)]
pub async fn set_status(State(state): State<AppState>, caller: Caller, ticket_id: Result<Path<i64>, PathRejection>, body: Result<Json<StatusRequest>, JsonRejection>) -> Result<Json<TicketEnvelope>, ApiError> {
    let Path(ticket_id) = ticket_id?;
    caller.require(Permission::Write)?;
    let Json(request) = body?;
    let status = match TicketStatus::parse(request.status.trim()) {
        Some(status @ (TicketStatus::Open | TicketStatus::Pending | TicketStatus::Resolved | TicketStatus::Closed)) => status,
        _ => return Err(ApiError::validation("invalid_status", format!("unknown status `{}`: use open, pending, resolved or closed", request.status))),
    };
    workable_ticket(&state, &caller, ticket_id).await?;
    let ticket = state.service.set_ticket_status(ticket_id, status, &caller.actor()).await?;
    Ok(ticket_response(&caller, &ticket))
}

/// Reply to the customer
///
/// Stores the reply, queues it for sending on the ticket's channel and completes the first-response clock. Agents act on their own or unassigned tickets.
#[utoipa::path(
    post, path = "/api/v1/tickets/{ticket_id}/reply", tag = "tickets",
    params(("ticket_id" = i64, Path, description = "Ticket id.")),
    request_body = BodyRequest,
    responses(
        (status = 201, description = "The reply is stored.", body = ReplyCreated),
        (status = 400, response = MalformedJson),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, description = "Codes: `invalid` (empty or too long), `invalid_field`, `invalid_path`.", body = ErrorBody),
        (status = 429, response = RateLimited),
    ),
    security(("bearer" = ["write"]), ("session" = ["admin", "supervisor", "agent"], "csrf" = [])),
)]
pub async fn reply(State(state): State<AppState>, caller: Caller, ticket_id: Result<Path<i64>, PathRejection>, body: Result<Json<BodyRequest>, JsonRejection>) -> Result<Response, ApiError> {
    let Path(ticket_id) = ticket_id?;
    caller.require(Permission::Write)?;
    let Json(request) = body?;
    workable_ticket(&state, &caller, ticket_id).await?;
    let (message_id, ticket) = state.service.reply_to_ticket(ticket_id, &request.body, &caller.actor()).await?;
    let body = ReplyCreated { message_id, ticket: dto::ticket(&ticket, caller.can(Permission::SeePii)) };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// Add an internal note
///
/// Never sent to the customer. Agents act on their own or unassigned tickets.
#[utoipa::path(
    post, path = "/api/v1/tickets/{ticket_id}/notes", tag = "tickets",
    params(("ticket_id" = i64, Path, description = "Ticket id.")),
    request_body = BodyRequest,
    responses(
        (status = 201, description = "The note is stored.", body = NoteCreated),
        (status = 400, response = MalformedJson),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, description = "Codes: `invalid` (empty or too long), `invalid_field`, `invalid_path`.", body = ErrorBody),
        (status = 429, response = RateLimited),
    ),
    security(("bearer" = ["write"]), ("session" = ["admin", "supervisor", "agent"], "csrf" = [])),
)]
pub async fn add_note(State(state): State<AppState>, caller: Caller, ticket_id: Result<Path<i64>, PathRejection>, body: Result<Json<BodyRequest>, JsonRejection>) -> Result<Response, ApiError> {
    let Path(ticket_id) = ticket_id?;
    caller.require(Permission::Write)?;
    let Json(request) = body?;
    workable_ticket(&state, &caller, ticket_id).await?;
    let message_id = state.service.add_ticket_note(ticket_id, &request.body, &caller.actor()).await?;
    Ok((StatusCode::CREATED, Json(NoteCreated { message_id, ticket_id })).into_response())
}

/// Escalate a ticket
///
/// Raises the priority (to at least 75); a reason about safety moves the ticket to the safety queue with tighter SLA clocks; a resolved or closed ticket is reopened. Agents act on their own or unassigned tickets.
#[utoipa::path(
    post, path = "/api/v1/tickets/{ticket_id}/escalate", tag = "tickets",
    params(("ticket_id" = i64, Path, description = "Ticket id.")),
    request_body = EscalateRequest,
    responses(
        (status = 200, description = "The escalated ticket.", body = TicketEnvelope),
        (status = 400, response = MalformedJson),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, description = "Codes: `invalid` (empty or too long reason), `invalid_field`, `invalid_path`.", body = ErrorBody),
        (status = 429, response = RateLimited),
    ),
    security(("bearer" = ["write"]), ("session" = ["admin", "supervisor", "agent"], "csrf" = [])),
)]
pub async fn escalate(State(state): State<AppState>, caller: Caller, ticket_id: Result<Path<i64>, PathRejection>, body: Result<Json<EscalateRequest>, JsonRejection>) -> Result<Json<TicketEnvelope>, ApiError> {
    let Path(ticket_id) = ticket_id?;
    caller.require(Permission::Write)?;
    let Json(request) = body?;
    workable_ticket(&state, &caller, ticket_id).await?;
    let ticket = state.service.escalate_ticket(ticket_id, &request.reason, &caller.actor()).await?;
    Ok(ticket_response(&caller, &ticket))
}

/// Merge a ticket into another
///
/// This ticket's messages move to `into_ticket_id` and this one becomes `merged`. An agent must be allowed to work on both tickets.
#[utoipa::path(
    post, path = "/api/v1/tickets/{ticket_id}/merge", tag = "tickets",
    params(("ticket_id" = i64, Path, description = "Ticket id.")),
    request_body = MergeRequest,
    responses(
        (status = 200, description = "The ticket merged into.", body = TicketEnvelope),
        (status = 400, response = MalformedJson),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, description = "Codes: `invalid` (a ticket merged into itself), `invalid_field`, `invalid_path`.", body = ErrorBody),
        (status = 429, response = RateLimited),
    ),
    security(("bearer" = ["write"]), ("session" = ["admin", "supervisor", "agent"], "csrf" = [])),
)]
pub async fn merge(State(state): State<AppState>, caller: Caller, ticket_id: Result<Path<i64>, PathRejection>, body: Result<Json<MergeRequest>, JsonRejection>) -> Result<Json<TicketEnvelope>, ApiError> {
    let Path(ticket_id) = ticket_id?;
    caller.require(Permission::Write)?;
    let Json(request) = body?;
    // Both tickets change: an agent must be allowed to work on both.
    workable_ticket(&state, &caller, ticket_id).await?;
    workable_ticket(&state, &caller, request.into_ticket_id).await?;
    let target = state.service.merge_tickets(ticket_id, request.into_ticket_id, &caller.actor()).await?;
    Ok(ticket_response(&caller, &target))
}

/// Get a customer
///
/// The customer with their latest tickets. Reading a customer's contact details is recorded
/// in the audit log; callers without the PII permission get them withheld.
#[utoipa::path(
    get, path = "/api/v1/customers/{customer_id}", tag = "customers",
    params(("customer_id" = i64, Path, description = "Customer id.")),
    responses(
        (status = 200, description = "The customer and their tickets.", body = CustomerHistoryResponse),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, description = "The id is not a number. Code: `invalid_path`.", body = ErrorBody),
        (status = 429, response = RateLimited),
    ),
    security(("bearer" = ["read"]), ("session" = ["admin", "supervisor", "agent", "compliance", "viewer"])),
)]
pub async fn get_customer(State(state): State<AppState>, caller: Caller, customer_id: Result<Path<i64>, PathRejection>) -> Result<Json<CustomerHistoryResponse>, ApiError> {
    let Path(customer_id) = customer_id?;
    caller.require(Permission::Read)?;
    let sees_pii = caller.can(Permission::SeePii);
    let history = state.service.customer_history(customer_id, 100).await?;
    if sees_pii {
        audit_pii_view(&state, &caller, "customer", customer_id).await?;
    }
    Ok(Json(CustomerHistoryResponse { customer: dto::customer(&history.customer, sees_pii), tickets: dto::tickets(&history.tickets, sees_pii), total_tickets: history.total_tickets }))
}

/// Set a customer's VIP flag
///
/// VIP customers' tickets get a higher priority.
#[utoipa::path(
    post, path = "/api/v1/customers/{customer_id}/vip", tag = "customers",
    params(("customer_id" = i64, Path, description = "Customer id.")),
    request_body = VipRequest,
    responses(
        (status = 200, description = "The customer with the flag set.", body = CustomerEnvelope),
        (status = 400, response = MalformedJson),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, description = "Codes: `invalid_field`, `invalid_path`.", body = ErrorBody),
        (status = 429, response = RateLimited),
    ),
    security(("bearer" = ["write"]), ("session" = ["admin", "supervisor"], "csrf" = [])),
)]
pub async fn set_vip(State(state): State<AppState>, caller: Caller, customer_id: Result<Path<i64>, PathRejection>, body: Result<Json<VipRequest>, JsonRejection>) -> Result<Json<CustomerEnvelope>, ApiError> {
    let Path(customer_id) = customer_id?;
    caller.require(Permission::ManageCustomers)?;
    let Json(request) = body?;
    let customer = state.service.set_customer_vip(customer_id, request.vip, &caller.actor()).await?;
    Ok(Json(CustomerEnvelope { customer: dto::customer(&customer, caller.can(Permission::SeePii)) }))
}

/// Appends a `pii.viewed` audit entry for a caller who just received `entity_type`
/// `entity_id`'s personal data unmasked — once per caller and record per ten minutes, so the
/// trail says who looked without an entry per page refresh.
pub(crate) async fn audit_pii_view(state: &AppState, caller: &Caller, entity_type: &'static str, entity_id: i64) -> Result<(), ApiError> {
    let actor = caller.actor();
    if state.pii_views.fire((actor.audit_name.clone(), entity_type, entity_id)) {
        state.service.record_pii_access(entity_type, entity_id, &actor).await?;
    }
    Ok(())
}

/// Record a customer's rating
///
/// A survey tool passes on the customer's satisfaction with a resolved ticket: 1 (very unhappy)
/// to 5 (very happy), with an optional comment; a later rating replaces the earlier one. It
/// counts for the agent the ticket is assigned to (the agent-performance report). For `write`
/// tokens and admins: agents and supervisors do not rate their own work.
#[utoipa::path(
    post, path = "/api/v1/tickets/{ticket_id}/csat", tag = "tickets",
    params(("ticket_id" = i64, Path, description = "Ticket id.")),
    request_body = crate::chat::RatingRequest,
    responses(
        (status = 200, description = "Recorded.", body = sb_store::CsatRating),
        (status = 400, response = MalformedJson),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, description = "Codes: `invalid` (rating outside 1–5, comment too long, ticket not resolved), `invalid_field`, `invalid_path`.", body = ErrorBody),
        (status = 429, response = RateLimited),
    ),
    security(("bearer" = ["write"]), ("session" = ["admin"], "csrf" = [])),
)]
pub async fn record_csat(State(state): State<AppState>, caller: Caller, ticket_id: Result<Path<i64>, PathRejection>, body: Result<Json<crate::chat::RatingRequest>, JsonRejection>) -> Result<Json<sb_store::CsatRating>, ApiError> {
    let Path(ticket_id) = ticket_id?;
    caller.require(Permission::RecordCsat)?;
    let Json(request) = body?;
    let rating = state.service.rate_ticket(ticket_id, request.rating, request.comment.as_deref(), sb_service::CsatSource::Api, &caller.actor().audit_name).await?;
    Ok(Json(rating))
}
