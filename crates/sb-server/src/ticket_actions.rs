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
use serde::Deserialize;
use serde_json::json;

use crate::auth::Permission;
use crate::{dto, ApiError, AppState, Caller};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignRequest {
    /// The user to assign to; `null` unassigns.
    assignee_id: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusRequest {
    status: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BodyRequest {
    body: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalateRequest {
    reason: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MergeRequest {
    into_ticket_id: i64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VipRequest {
    vip: bool,
}

/// A ticket the caller may work on (agents: theirs or nobody's).
async fn workable_ticket(state: &AppState, caller: &Caller, ticket_id: i64) -> Result<Ticket, ApiError> {
    caller.require(Permission::Write)?;
    let ticket = state.service.store().ticket(ticket_id).await?;
    caller.require_work_on(&ticket)?;
    Ok(ticket)
}

fn ticket_response(caller: &Caller, ticket: &Ticket) -> Json<serde_json::Value> {
    Json(json!({"ticket": dto::ticket(ticket, caller.can(Permission::SeePii))}))
}

pub async fn assign(State(state): State<AppState>, caller: Caller, ticket_id: Result<Path<i64>, PathRejection>, body: Result<Json<AssignRequest>, JsonRejection>) -> Result<Json<serde_json::Value>, ApiError> {
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

pub async fn set_status(State(state): State<AppState>, caller: Caller, ticket_id: Result<Path<i64>, PathRejection>, body: Result<Json<StatusRequest>, JsonRejection>) -> Result<Json<serde_json::Value>, ApiError> {
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

pub async fn reply(State(state): State<AppState>, caller: Caller, ticket_id: Result<Path<i64>, PathRejection>, body: Result<Json<BodyRequest>, JsonRejection>) -> Result<Response, ApiError> {
    let Path(ticket_id) = ticket_id?;
    caller.require(Permission::Write)?;
    let Json(request) = body?;
    workable_ticket(&state, &caller, ticket_id).await?;
    let (message_id, ticket) = state.service.reply_to_ticket(ticket_id, &request.body, &caller.actor()).await?;
    let body = json!({"message_id": message_id, "ticket": dto::ticket(&ticket, caller.can(Permission::SeePii))});
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

pub async fn add_note(State(state): State<AppState>, caller: Caller, ticket_id: Result<Path<i64>, PathRejection>, body: Result<Json<BodyRequest>, JsonRejection>) -> Result<Response, ApiError> {
    let Path(ticket_id) = ticket_id?;
    caller.require(Permission::Write)?;
    let Json(request) = body?;
    workable_ticket(&state, &caller, ticket_id).await?;
    let message_id = state.service.add_ticket_note(ticket_id, &request.body, &caller.actor()).await?;
    Ok((StatusCode::CREATED, Json(json!({"message_id": message_id, "ticket_id": ticket_id}))).into_response())
}

pub async fn escalate(State(state): State<AppState>, caller: Caller, ticket_id: Result<Path<i64>, PathRejection>, body: Result<Json<EscalateRequest>, JsonRejection>) -> Result<Json<serde_json::Value>, ApiError> {
    let Path(ticket_id) = ticket_id?;
    caller.require(Permission::Write)?;
    let Json(request) = body?;
    workable_ticket(&state, &caller, ticket_id).await?;
    let ticket = state.service.escalate_ticket(ticket_id, &request.reason, &caller.actor()).await?;
    Ok(ticket_response(&caller, &ticket))
}

pub async fn merge(State(state): State<AppState>, caller: Caller, ticket_id: Result<Path<i64>, PathRejection>, body: Result<Json<MergeRequest>, JsonRejection>) -> Result<Json<serde_json::Value>, ApiError> {
    let Path(ticket_id) = ticket_id?;
    caller.require(Permission::Write)?;
    let Json(request) = body?;
    // Both tickets change: an agent must be allowed to work on both.
    workable_ticket(&state, &caller, ticket_id).await?;
    workable_ticket(&state, &caller, request.into_ticket_id).await?;
    let target = state.service.merge_tickets(ticket_id, request.into_ticket_id, &caller.actor()).await?;
    Ok(ticket_response(&caller, &target))
}

pub async fn get_customer(State(state): State<AppState>, caller: Caller, customer_id: Result<Path<i64>, PathRejection>) -> Result<Json<serde_json::Value>, ApiError> {
    let Path(customer_id) = customer_id?;
    caller.require(Permission::Read)?;
    let sees_pii = caller.can(Permission::SeePii);
    let history = state.service.customer_history(customer_id, 100).await?;
    if sees_pii {
        state.service.record_pii_access("customer", customer_id, &caller.actor()).await?;
    }
    Ok(Json(json!({
        "customer": dto::customer(&history.customer, sees_pii),
        "tickets": dto::tickets(&history.tickets, sees_pii),
        "total_tickets": history.total_tickets,
    })))
}

pub async fn set_vip(State(state): State<AppState>, caller: Caller, customer_id: Result<Path<i64>, PathRejection>, body: Result<Json<VipRequest>, JsonRejection>) -> Result<Json<serde_json::Value>, ApiError> {
    let Path(customer_id) = customer_id?;
    caller.require(Permission::ManageCustomers)?;
    let Json(request) = body?;
    let customer = state.service.set_customer_vip(customer_id, request.vip, &caller.actor()).await?;
    Ok(Json(json!({"customer": dto::customer(&customer, caller.can(Permission::SeePii))})))
}
