//! Alerts and webhooks over HTTP: the alert feed (everyone who reads tickets), resolving an
//! alert by hand (admins, supervisors, `write` tokens), and the webhooks that receive alerts,
//! with their delivery logs (admins: they are integrations, like API tokens).

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use sb_store::{Alert, AlertStatus, Webhook, WebhookDelivery};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Permission;
use crate::error::ErrorBody;
use crate::openapi::{Conflict, Forbidden, MalformedJson, NotFound, PayloadTooLarge, RateLimited, Unauthorized, UnsupportedMediaType};
use crate::{ApiError, AppState, Caller};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AlertQuery {
    /// `open` or `resolved` (default: both).
    status: Option<String>,
    /// 1 to 500 (default 100).
    limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AlertList {
    /// Newest first.
    alerts: Vec<Alert>,
}

/// List alerts
///
/// What the rules raised (SLA breach rate, queue depth, volume above forecast, negative
/// sentiment spike, VIP ticket waiting, repeated triage failures), newest first, open and
/// resolved.
#[utoipa::path(
    get, path = "/api/v1/alerts", tag = "alerts",
    params(AlertQuery),
    responses(
        (status = 200, description = "The alerts.", body = AlertList),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, description = "Codes: `invalid_query`, `invalid_status`.", body = ErrorBody),
        (status = 429, response = RateLimited),
    ),
    security(("bearer" = ["read"]), ("session" = ["admin", "supervisor", "agent", "compliance", "viewer"])),
)]
pub async fn list_alerts(State(state): State<AppState>, caller: Caller, query: Result<Query<AlertQuery>, QueryRejection>) -> Result<Json<AlertList>, ApiError> {
    caller.require(Permission::Read)?;
    let Query(query) = query?;
    let status = match query.status.as_deref() {
        None => None,
        Some(label) => Some(AlertStatus::parse(label).ok_or_else(|| ApiError::validation("invalid_status", format!("unknown alert status `{label}`: use open or resolved")))?),
    };
    Ok(Json(AlertList { alerts: state.service.store().list_alerts(status, query.limit.unwrap_or(100)).await? }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AlertEnvelope {
    alert: Alert,
}

/// Resolve an alert
///
/// Closes an open alert by hand (audited); a rule whose condition still holds raises it again
/// at its next round.
#[utoipa::path(
    post, path = "/api/v1/alerts/{alert_id}/resolve", tag = "alerts",
    params(("alert_id" = i64, Path, description = "Alert id.")),
    responses(
        (status = 200, description = "The resolved alert.", body = AlertEnvelope),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, description = "The id is not a number. Code: `invalid_path`.", body = ErrorBody),
        (status = 429, response = RateLimited),
    ),
    security(("bearer" = ["write"]), ("session" = ["admin", "supervisor"], "csrf" = [])),
)]
pub async fn resolve_alert(State(state): State<AppState>, caller: Caller, alert_id: Result<Path<i64>, PathRejection>) -> Result<Json<AlertEnvelope>, ApiError> {
    caller.require(Permission::ResolveAlerts)?;
    let Path(alert_id) = alert_id?;
    Ok(Json(AlertEnvelope { alert: state.service.resolve_alert(alert_id, &caller.actor()).await? }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookList {
    webhooks: Vec<Webhook>,
}

/// List webhooks
#[utoipa::path(
    get, path = "/api/v1/webhooks", tag = "alerts",
    responses(
        (status = 200, description = "Every webhook, stopped ones included (secrets are never shown again).", body = WebhookList),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 429, response = RateLimited),
    ),
    security(("bearer" = ["admin"]), ("session" = ["admin"])),
)]
pub async fn list_webhooks(State(state): State<AppState>, caller: Caller) -> Result<Json<WebhookList>, ApiError> {
    caller.require(Permission::ManageTokens)?;
    Ok(Json(WebhookList { webhooks: state.service.store().list_webhooks().await? }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhookRequest {
    /// 1 to 100 characters.
    name: String,
    /// `http://` or `https://` URL that receives `POST`s with a JSON body, or `mailto:` and one
    /// address that receives each alert as an email (sent by the SMTP sender, `[email.smtp]`).
    url: String,
}

/// A new webhook and its signing secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookCreated {
    webhook: Webhook,
    /// Every delivery carries `X-Switchboard-Signature: sha256=<hex HMAC-SHA256 of
    /// "{X-Switchboard-Timestamp}.{body}" keyed with this secret>`.
    secret: String,
}

/// Register a webhook
///
/// From now on every alert raised or resolved is posted to the URL (`X-Switchboard-Event`:
/// `alert.raised` or `alert.resolved`), signed, and retried with backoff until it answers 2xx;
/// to a `mailto:` address it is mailed instead, with the SMTP reply code in the delivery log.
#[utoipa::path(
    post, path = "/api/v1/webhooks", tag = "alerts",
    request_body = CreateWebhookRequest,
    responses(
        (status = 201, description = "The webhook with its secret.", body = WebhookCreated),
        (status = 400, response = MalformedJson),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, description = "Codes: `invalid` (name empty or too long, not an http(s) URL nor mailto: with one address), `invalid_field`.", body = ErrorBody),
        (status = 429, response = RateLimited),
    ),
    security(("bearer" = ["admin"]), ("session" = ["admin"], "csrf" = [])),
)]
pub async fn create_webhook(State(state): State<AppState>, caller: Caller, body: Result<Json<CreateWebhookRequest>, JsonRejection>) -> Result<(StatusCode, Json<WebhookCreated>), ApiError> {
    caller.require(Permission::ManageTokens)?;
    let Json(request) = body?;
    let (webhook, secret) = state.service.create_webhook(&request.name, &request.url, &caller.actor()).await?;
    Ok((StatusCode::CREATED, Json(WebhookCreated { webhook, secret })))
}

/// Stop a webhook
///
/// No more deliveries; pending ones are marked failed. It stays listed with its log.
#[utoipa::path(
    delete, path = "/api/v1/webhooks/{webhook_id}", tag = "alerts",
    params(("webhook_id" = i64, Path, description = "Webhook id.")),
    responses(
        (status = 204, description = "Stopped."),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, description = "The id is not a number. Code: `invalid_path`.", body = ErrorBody),
        (status = 429, response = RateLimited),
    ),
    security(("bearer" = ["admin"]), ("session" = ["admin"], "csrf" = [])),
)]
pub async fn deactivate_webhook(State(state): State<AppState>, caller: Caller, webhook_id: Result<Path<i64>, PathRejection>) -> Result<StatusCode, ApiError> {
    caller.require(Permission::ManageTokens)?;
    let Path(webhook_id) = webhook_id?;
    state.service.deactivate_webhook(webhook_id, &caller.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryList {
    /// Newest first: event, body as sent, status (`pending`, `delivered`, `failed`), attempts,
    /// the receiver's last HTTP status and error.
    deliveries: Vec<WebhookDelivery>,
}

/// A webhook's delivery log
#[utoipa::path(
    get, path = "/api/v1/webhooks/{webhook_id}/deliveries", tag = "alerts",
    params(("webhook_id" = i64, Path, description = "Webhook id.")),
    responses(
        (status = 200, description = "The last 100 deliveries.", body = DeliveryList),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, description = "The id is not a number. Code: `invalid_path`.", body = ErrorBody),
        (status = 429, response = RateLimited),
    ),
    security(("bearer" = ["admin"]), ("session" = ["admin"])),
)]
pub async fn webhook_deliveries(State(state): State<AppState>, caller: Caller, webhook_id: Result<Path<i64>, PathRejection>) -> Result<Json<DeliveryList>, ApiError> {
    caller.require(Permission::ManageTokens)?;
    let Path(webhook_id) = webhook_id?;
    state.service.store().webhook(webhook_id).await?;
    Ok(Json(DeliveryList { deliveries: state.service.store().webhook_deliveries(webhook_id, 100).await? }))
}
