//! Handing a ticket on: `POST /api/v1/tickets/{id}/transfer` (to another agent, another queue
//! or both, with an optional internal note, as one action) and `GET /api/v1/agents`, the people
//! a ticket can be handed to.
//!
//! An agent may transfer a ticket they may work on (theirs or nobody's) to anyone: handing
//! one's own work on is what a transfer is for, unlike `assign`, where agents only take or
//! give back. The service refuses a move out of the safety queue (409 `safety_wins`).

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::Json;
use sb_store::{Queue, Role};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Permission;
use crate::error::ErrorBody;
use crate::openapi::{Forbidden, MalformedJson, NotFound, PayloadTooLarge, RateLimited, Unauthorized, UnsupportedMediaType};
use crate::ticket_actions::{ticket_response, workable_ticket, TicketEnvelope};
use crate::{ApiError, AppState, Caller};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferRequest {
    /// The agent who takes the ticket over. Without it, the ticket goes to `queue` unassigned.
    #[serde(default)]
    assignee_id: Option<i64>,
    /// `human` or `safety`. Without it, the ticket stays in its queue (one of the automatic or
    /// triage queue moves to the human queue).
    #[serde(default)]
    queue: Option<String>,
    /// An internal note for whoever picks the ticket up (at most 20,000 characters), stored
    /// with the move.
    #[serde(default)]
    note: Option<String>,
}

/// Someone a ticket can be handed to.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentDto {
    id: i64,
    name: String,
    role: Role,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AgentList {
    /// Active users who work tickets (not viewers), by name.
    agents: Vec<AgentDto>,
}

/// Transfer a ticket
///
/// Hands the ticket to another agent, another queue (`human` or `safety`) or both, with an optional internal note, in one change (audited as `ticket.transferred`; a `ticket_updated` event follows). A queue without an agent puts the ticket back in that queue unassigned. Moving into the safety queue does what a safety escalation does (compliance record, severity, the severity SLA); nothing moves a ticket out of it. Agents transfer their own or unassigned tickets, to anyone.
#[utoipa::path(
    post, path = "/api/v1/tickets/{ticket_id}/transfer", tag = "tickets",
    params(("ticket_id" = i64, Path, description = "Ticket id.")),
    request_body = TransferRequest,
    responses(
        (status = 200, description = "The ticket where it now is.", body = TicketEnvelope),
        (status = 400, response = MalformedJson),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, description = "Codes: `safety_wins` (the ticket is in the safety queue and a transfer would take it out), `already_there` (that queue and agent already), `conflict` (a merged ticket, or one changed meanwhile).", body = ErrorBody),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, description = "Codes: `no_target` (neither agent nor queue), `unknown_agent`, `agent_unavailable` (deactivated, or a viewer), `unknown_queue` (neither the human nor the safety queue), `invalid` (a note too long), `invalid_field`, `invalid_path`.", body = ErrorBody),
        (status = 429, response = RateLimited),
    ),
    security(("bearer" = ["write"]), ("session" = ["admin", "supervisor", "agent"], "csrf" = [])),
)]
pub async fn transfer(State(state): State<AppState>, caller: Caller, ticket_id: Result<Path<i64>, PathRejection>, body: Result<Json<TransferRequest>, JsonRejection>) -> Result<Json<TicketEnvelope>, ApiError> {
    let Path(ticket_id) = ticket_id?;
    caller.require(Permission::Write)?;
    let Json(request) = body?;
    let queue = match request.queue.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(text) => match Queue::parse(text) {
            Some(queue @ (Queue::Human | Queue::Safety)) => Some(queue),
            _ => return Err(ApiError::validation("unknown_queue", format!("unknown queue `{text}`: transfer to `human` or `safety`"))),
        },
    };
    workable_ticket(&state, &caller, ticket_id).await?;
    let transfer = sb_service::Transfer { assignee_id: request.assignee_id, queue, note: request.note };
    let ticket = state.service.transfer_ticket(ticket_id, &transfer, &caller.actor()).await?;
    Ok(ticket_response(&caller, &ticket))
}

/// List the people tickets go to
///
/// Active users who work tickets (admins, supervisors, agents, compliance officers), by name: the choices of a transfer. Names and roles only.
#[utoipa::path(
    get, path = "/api/v1/agents", tag = "tickets",
    responses(
        (status = 200, description = "The agents.", body = AgentList),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 429, response = RateLimited),
    ),
    security(("bearer" = ["read"]), ("session" = ["admin", "supervisor", "agent", "compliance", "viewer"])),
)]
pub async fn list_agents(State(state): State<AppState>, caller: Caller) -> Result<Json<AgentList>, ApiError> {
    caller.require(Permission::Read)?;
    let mut agents: Vec<AgentDto> = state.service.store().list_users().await?.into_iter().filter(|user| user.active && user.role != Role::Viewer).map(|user| AgentDto { id: user.id, name: user.name, role: user.role }).collect();
    agents.sort_by(|left, right| left.name.to_lowercase().cmp(&right.name.to_lowercase()).then(left.id.cmp(&right.id)));
    Ok(Json(AgentList { agents }))
}
