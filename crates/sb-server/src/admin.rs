//! Administration over HTTP: the audit log, users and API tokens. A new token's secret is in
//! the creation answer only; it is never stored and never shown again.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use sb_store::{Role, Scope};
use serde::Deserialize;
use serde_json::json;

use crate::auth::Permission;
use crate::{ApiError, AppState, Caller};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    entity_type: Option<String>,
    entity_id: Option<String>,
    limit: Option<i64>,
}

/// `GET /api/v1/audit?entity_type=ticket&entity_id=7`: one entity's entries oldest first, or
/// the latest entries of all.
pub async fn list_audit(State(state): State<AppState>, caller: Caller, query: Result<Query<AuditQuery>, QueryRejection>) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(Permission::ReadAudit)?;
    let Query(query) = query?;
    let limit = query.limit.unwrap_or(200).clamp(1, 1_000);
    let entity = match (&query.entity_type, &query.entity_id) {
        (Some(entity_type), Some(entity_id)) => Some((entity_type.as_str(), entity_id.as_str())),
        (None, None) => None,
        _ => return Err(ApiError::validation("invalid_query", "give both entity_type and entity_id, or neither")),
    };
    let entries = state.service.store().list_audit(entity, limit).await?;
    Ok(Json(json!({"entries": entries})))
}

pub async fn list_users(State(state): State<AppState>, caller: Caller) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(Permission::ReadUsers)?;
    let users = state.service.store().list_users().await?;
    Ok(Json(json!({"users": users})))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    email: String,
    name: String,
    role: String,
    password: String,
}

pub async fn create_user(State(state): State<AppState>, caller: Caller, body: Result<Json<CreateUserRequest>, JsonRejection>) -> Result<Response, ApiError> {
    caller.require(Permission::ManageUsers)?;
    let Json(request) = body?;
    let role = Role::parse(request.role.trim()).ok_or_else(|| ApiError::validation("invalid_role", format!("unknown role `{}`: use admin, supervisor, agent, compliance or viewer", request.role)))?;
    let user = state.service.create_user(&request.email, &request.name, role, &request.password, &caller.actor()).await?;
    Ok((StatusCode::CREATED, Json(json!({"user": user}))).into_response())
}

pub async fn list_tokens(State(state): State<AppState>, caller: Caller) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(Permission::ManageTokens)?;
    let tokens = state.service.list_api_tokens().await?;
    Ok(Json(json!({"tokens": tokens})))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateTokenRequest {
    name: String,
    /// Scope names: ingest, read, write, admin.
    scopes: Vec<String>,
}

pub async fn create_token(State(state): State<AppState>, caller: Caller, body: Result<Json<CreateTokenRequest>, JsonRejection>) -> Result<Response, ApiError> {
    caller.require(Permission::ManageTokens)?;
    let Json(request) = body?;
    let scopes: Vec<Scope> = sb_store::parse_scopes(&request.scopes.join(",")).map_err(|error| ApiError::validation("invalid_scopes", error.to_string()))?;
    let (token, secret) = state.service.create_api_token(&request.name, &scopes, caller.user_id(), &caller.actor().audit_name).await?;
    Ok((StatusCode::CREATED, Json(json!({"token": token, "secret": secret, "note": "the secret is shown once; store it now"}))).into_response())
}

pub async fn revoke_token(State(state): State<AppState>, caller: Caller, token_id: Result<Path<i64>, PathRejection>) -> Result<StatusCode, ApiError> {
    caller.require(Permission::ManageTokens)?;
    let Path(token_id) = token_id?;
    state.service.revoke_api_token(token_id, &caller.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}
