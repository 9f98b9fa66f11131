//! Reading tickets, their messages and decision records, and compliance records.

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::Json;
use chrono::Utc;
use sb_domain::Channel;
use sb_store::{Page, Queue, Scope, TicketFilter, TicketStatus};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::auth::Permission;
use crate::dto::{ComplianceRecordDto, CustomerDto, DecisionDto, MessageDto, TicketDto};
use crate::error::ErrorBody;
use crate::openapi::{Forbidden, NotFound, RateLimited, Unauthorized};
use crate::{dto, ApiError, AppState, Caller};

/// Filters of the ticket list; all optional, combined with AND.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TicketQuery {
    /// Comma-separated statuses: `new`, `open`, `pending`, `resolved`, `closed`, `merged`.
    status: Option<String>,
    /// `triage`, `auto`, `human` or `safety`.
    queue: Option<String>,
    /// `informational`, `service_action` or `safety_compliance`.
    category: Option<String>,
    /// One of the fifteen intents (`track_order`, `adverse_reaction`…).
    intent: Option<String>,
    /// `email`, `chat`, `voice`, `api` or `sms`.
    channel: Option<String>,
    /// Assigned to this user id.
    assignee: Option<i64>,
    /// `true`: only tickets nobody is assigned to.
    unassigned: Option<bool>,
    /// Priority at least this (0–100).
    min_priority: Option<i64>,
    /// Of this customer id.
    customer: Option<i64>,
    /// `breached` (a deadline passed) or `not_breached`.
    sla: Option<String>,
    /// Page size, 1 to 500 (default 50).
    limit: Option<i64>,
    /// Tickets to skip (default 0).
    offset: Option<i64>,
}

fn filter_from_query(query: &TicketQuery) -> Result<TicketFilter, ApiError> {
    let mut filter = TicketFilter::default();
    if let Some(statuses) = &query.status {
        let parsed: Result<Vec<TicketStatus>, ApiError> = statuses
            .split(',')
            .map(str::trim)
            .filter(|status| !status.is_empty())
            .map(|status| TicketStatus::parse(status).ok_or_else(|| ApiError::validation("invalid_filter", format!("unknown status `{status}`"))))
            .collect();
        filter.status = Some(parsed?);
    }
    if let Some(queue) = &query.queue {
        filter.queue = Some(Queue::parse(queue).ok_or_else(|| ApiError::validation("invalid_filter", format!("unknown queue `{queue}`")))?);
    }
    if let Some(category) = &query.category {
        category.parse::<sb_domain::Category>().map_err(|error| ApiError::validation("invalid_filter", error.to_string()))?;
        filter.category = Some(category.clone());
    }
    if let Some(intent) = &query.intent {
        intent.parse::<sb_domain::Intent>().map_err(|error| ApiError::validation("invalid_filter", error.to_string()))?;
        filter.intent = Some(intent.clone());
    }
    if let Some(channel) = &query.channel {
        filter.channel = Some(Channel::parse(channel).ok_or_else(|| ApiError::validation("invalid_filter", format!("unknown channel `{channel}`")))?);
    }
    filter.assignee_id = query.assignee;
    filter.unassigned = query.unassigned.unwrap_or(false);
    if let Some(min_priority) = query.min_priority {
        if !(0..=100).contains(&min_priority) {
            return Err(ApiError::validation("invalid_filter", format!("min_priority {min_priority} is not within 0 to 100")));
        }
        filter.min_priority = Some(min_priority);
    }
    filter.customer_id = query.customer;
    filter.sla_breached = match query.sla.as_deref() {
        None => None,
        Some("breached") => Some(true),
        Some("not_breached") => Some(false),
        Some(other) => return Err(ApiError::validation("invalid_filter", format!("unknown sla filter `{other}`: use breached or not_breached"))),
    };
    Ok(filter)
}

/// One page of tickets, most urgent first.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketList {
    #[schema(value_type = Vec<TicketDto>)]
    tickets: Vec<Value>,
    /// Tickets matching the filters, on all pages.
    total: i64,
    limit: i64,
    offset: i64,
}

/// List tickets
///
/// Highest priority first, then oldest.
#[utoipa::path(
    get, path = "/api/v1/tickets", tag = "tickets",
    params(TicketQuery),
    responses(
        (status = 200, description = "One page of tickets.", body = TicketList),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, description = "A bad filter. Codes: `invalid_filter` (unknown status, queue, category, intent, channel or sla value, min_priority outside 0–100), `invalid_query` (unknown parameter, or not a number).", body = ErrorBody),
        (status = 429, response = RateLimited),
    ),
    security(("bearer" = ["read"]), ("session" = ["admin", "supervisor", "agent", "compliance", "viewer"])),
)]
pub async fn list_tickets(State(state): State<AppState>, caller: Caller, query: Result<Query<TicketQuery>, QueryRejection>) -> Result<Json<TicketList>, ApiError> {
    caller.require(Scope::Read)?;
    let Query(query) = query?;
    let filter = filter_from_query(&query)?;
    let page = Page { limit: query.limit.unwrap_or(50).clamp(1, 500), offset: query.offset.unwrap_or(0).max(0) };
    let store = state.service.store();
    let (tickets, total) = store.list_tickets(&filter, page, Utc::now()).await?;
    let assignee_ids: Vec<i64> = tickets.iter().filter_map(|ticket| ticket.assignee_id).collect();
    let names = store.user_names(&assignee_ids).await?;
    let sees_pii = caller.can(Permission::SeePii);
    let tickets = tickets.iter().map(|ticket| dto::ticket_with_assignee(ticket, sees_pii, &names)).collect();
    Ok(Json(TicketList { tickets, total, limit: page.limit, offset: page.offset }))
}

/// A ticket with everything an agent needs to work on it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketDetail {
    #[schema(value_type = TicketDto)]
    ticket: Value,
    #[schema(value_type = Option<CustomerDto>)]
    customer: Option<Value>,
    /// Oldest first.
    #[schema(value_type = Vec<MessageDto>)]
    messages: Vec<Value>,
    /// The latest decision record (see `GET /api/v1/tickets/{ticket_id}/decisions` for all).
    #[schema(value_type = Option<Object>)]
    decision: Option<Value>,
    decision_count: usize,
}

/// Get a ticket
///
/// The ticket with its customer, messages and latest decision record. Callers without the PII
/// permission (the viewer role) get redacted text and no contact details.
#[utoipa::path(
    get, path = "/api/v1/tickets/{ticket_id}", tag = "tickets",
    params(("ticket_id" = i64, Path, description = "Ticket id.")),
    responses(
        (status = 200, description = "The ticket.", body = TicketDetail),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, description = "The id is not a number. Code: `invalid_path`.", body = ErrorBody),
        (status = 429, response = RateLimited),
    ),
    security(("bearer" = ["read"]), ("session" = ["admin", "supervisor", "agent", "compliance", "viewer"])),
)]
pub async fn get_ticket(State(state): State<AppState>, caller: Caller, ticket_id: Result<Path<i64>, PathRejection>) -> Result<Json<TicketDetail>, ApiError> {
    caller.require(Scope::Read)?;
    let Path(ticket_id) = ticket_id?;
    let store = state.service.store();
    let ticket = store.ticket(ticket_id).await?;
    let messages = store.ticket_messages(ticket_id).await?;
    let decisions = store.ticket_decisions(ticket_id).await?;
    let customer = match ticket.customer_id {
        Some(customer_id) => Some(store.customer(customer_id).await?),
        None => None,
    };
    // Callers without the PII permission get the redacted copies (see `dto`).
    let sees_pii = caller.can(Permission::SeePii);
    let triage_results = store.ticket_triage_results(ticket_id).await?;
    let redacted = if sees_pii { Default::default() } else { dto::redacted_by_message(&triage_results) };
    // Unmasked personal data: the customer's contact details, or what triage found in a message.
    let shows_pii = customer.as_ref().is_some_and(|customer| customer.email.is_some() || customer.phone.is_some() || customer.name.is_some())
        || triage_results.iter().any(|row| row.result.get("pii").and_then(serde_json::Value::as_array).is_some_and(|spans| !spans.is_empty()));
    if sees_pii && shows_pii {
        crate::ticket_actions::audit_pii_view(&state, &caller, "ticket", ticket_id).await?;
    }
    let messages: Vec<serde_json::Value> = messages.iter().map(|message| dto::message(message, sees_pii, &redacted)).collect();
    let customer = customer.map(|customer| dto::customer(&customer, sees_pii));
    let latest_decision = decisions.last().map(|row| dto::decision_record(&row.record, sees_pii));
    let names = store.user_names(&ticket.assignee_id.into_iter().collect::<Vec<_>>()).await?;
    Ok(Json(TicketDetail { ticket: dto::ticket_with_assignee(&ticket, sees_pii, &names), customer, messages, decision: latest_decision, decision_count: decisions.len() }))
}

/// Every decision taken on a ticket, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct DecisionList {
    #[schema(value_type = Vec<DecisionDto>)]
    decisions: Vec<Value>,
}

/// List a ticket's decisions
///
/// The decision history (each triage of a message, and each re-triage, makes one), with the
/// full records, masked for callers without the PII permission.
#[utoipa::path(
    get, path = "/api/v1/tickets/{ticket_id}/decisions", tag = "tickets",
    params(("ticket_id" = i64, Path, description = "Ticket id.")),
    responses(
        (status = 200, description = "The decisions.", body = DecisionList),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, description = "The id is not a number. Code: `invalid_path`.", body = ErrorBody),
        (status = 429, response = RateLimited),
    ),
    security(("bearer" = ["read"]), ("session" = ["admin", "supervisor", "agent", "compliance", "viewer"])),
)]
pub async fn ticket_decisions(State(state): State<AppState>, caller: Caller, ticket_id: Result<Path<i64>, PathRejection>) -> Result<Json<DecisionList>, ApiError> {
    caller.require(Scope::Read)?;
    let Path(ticket_id) = ticket_id?;
    state.service.store().ticket(ticket_id).await?;
    let decisions = state.service.store().ticket_decisions(ticket_id).await?;
    let sees_pii = caller.can(Permission::SeePii);
    let decisions: Vec<Value> = decisions
        .iter()
        .map(|row| {
            let mut value = serde_json::to_value(DecisionDto::from(row)).unwrap_or_default();
            value["record"] = dto::decision_record(&row.record, sees_pii);
            value
        })
        .collect();
    Ok(Json(DecisionList { decisions }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ComplianceQuery {
    /// Only this ticket's records.
    ticket: Option<i64>,
    /// Page size, 1 to 500 (default 50).
    limit: Option<i64>,
    /// Records to skip (default 0).
    offset: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ComplianceRecordList {
    records: Vec<ComplianceRecordDto>,
}

/// List compliance records
///
/// The append-only records kept for safety reports (adverse reactions, product hazards,
/// privacy requests), newest first.
#[utoipa::path(
    get, path = "/api/v1/compliance/records", tag = "compliance",
    params(ComplianceQuery),
    responses(
        (status = 200, description = "One page of records.", body = ComplianceRecordList),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, description = "A bad parameter. Code: `invalid_query`.", body = ErrorBody),
        (status = 429, response = RateLimited),
    ),
    security(("bearer" = ["read"]), ("session" = ["admin", "compliance"])),
)]
pub async fn compliance_records(State(state): State<AppState>, caller: Caller, query: Result<Query<ComplianceQuery>, QueryRejection>) -> Result<Json<ComplianceRecordList>, ApiError> {
    caller.require(Permission::ReadCompliance)?;
    let Query(query) = query?;
    let page = Page { limit: query.limit.unwrap_or(50).clamp(1, 500), offset: query.offset.unwrap_or(0).max(0) };
    let records = state.service.store().list_compliance_records(query.ticket, page).await?;
    Ok(Json(ComplianceRecordList { records: dto::list(&records, ComplianceRecordDto::from) }))
}
