//! Reading tickets, their messages and decision records, and compliance records.

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::Json;
use chrono::Utc;
use sb_domain::Channel;
use sb_store::{Page, Queue, Scope, TicketFilter, TicketStatus};
use serde::Deserialize;

use crate::auth::Permission;
use crate::{dto, ApiError, AppState, Caller};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TicketQuery {
    /// Comma-separated statuses.
    status: Option<String>,
    queue: Option<String>,
    category: Option<String>,
    intent: Option<String>,
    channel: Option<String>,
    assignee: Option<i64>,
    customer: Option<i64>,
    sla: Option<String>,
    limit: Option<i64>,
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
    filter.customer_id = query.customer;
    filter.sla_breached = match query.sla.as_deref() {
        None => None,
        Some("breached") => Some(true),
        Some("not_breached") => Some(false),
        Some(other) => return Err(ApiError::validation("invalid_filter", format!("unknown sla filter `{other}`: use breached or not_breached"))),
    };
    Ok(filter)
}

pub async fn list_tickets(State(state): State<AppState>, caller: Caller, query: Result<Query<TicketQuery>, QueryRejection>) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(Scope::Read)?;
    let Query(query) = query?;
    let filter = filter_from_query(&query)?;
    let page = Page { limit: query.limit.unwrap_or(50).clamp(1, 500), offset: query.offset.unwrap_or(0).max(0) };
    let (tickets, total) = state.service.store().list_tickets(&filter, page, Utc::now()).await?;
    let tickets = dto::tickets(&tickets, caller.can(Permission::SeePii));
    Ok(Json(serde_json::json!({"tickets": tickets, "total": total, "limit": page.limit, "offset": page.offset})))
}

pub async fn get_ticket(State(state): State<AppState>, caller: Caller, ticket_id: Result<Path<i64>, PathRejection>) -> Result<Json<serde_json::Value>, ApiError> {
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
    let redacted = if sees_pii { Default::default() } else { dto::redacted_by_message(&store.ticket_triage_results(ticket_id).await?) };
    let messages: Vec<serde_json::Value> = messages.iter().map(|message| dto::message(message, sees_pii, &redacted)).collect();
    let customer = customer.map(|customer| dto::customer(&customer, sees_pii));
    let latest_decision = decisions.last().map(|row| dto::decision_record(&row.record, sees_pii));
    Ok(Json(serde_json::json!({
        "ticket": dto::ticket(&ticket, sees_pii),
        "customer": customer,
        "messages": messages,
        "decision": latest_decision,
        "decision_count": decisions.len(),
    })))
}

pub async fn ticket_decisions(State(state): State<AppState>, caller: Caller, ticket_id: Result<Path<i64>, PathRejection>) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(Scope::Read)?;
    let Path(ticket_id) = ticket_id?;
    state.service.store().ticket(ticket_id).await?;
    let decisions = state.service.store().ticket_decisions(ticket_id).await?;
    let sees_pii = caller.can(Permission::SeePii);
    let decisions: Vec<serde_json::Value> = decisions
        .iter()
        .map(|row| {
            let mut value = serde_json::to_value(row).unwrap_or_default();
            value["record"] = dto::decision_record(&row.record, sees_pii);
            value
        })
        .collect();
    Ok(Json(serde_json::json!({"decisions": decisions})))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComplianceQuery {
    ticket: Option<i64>,
    limit: Option<i64>,
    offset: Option<i64>,
}

pub async fn compliance_records(State(state): State<AppState>, caller: Caller, query: Result<Query<ComplianceQuery>, QueryRejection>) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(Permission::ReadCompliance)?;
    let Query(query) = query?;
    let page = Page { limit: query.limit.unwrap_or(50).clamp(1, 500), offset: query.offset.unwrap_or(0).max(0) };
    let records = state.service.store().list_compliance_records(query.ticket, page).await?;
    Ok(Json(serde_json::json!({"records": records})))
}
