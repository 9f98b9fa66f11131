//! Administration over HTTP: the audit log, users and API tokens. A new token's secret is in
//! the creation answer only; it is never stored and never shown again.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use sb_store::{Role, Scope};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Permission;
use crate::dto::{self, ApiTokenDto, AuditEntryDto, UserDto};
use crate::error::ErrorBody;
use crate::openapi::{Conflict, Forbidden, MalformedJson, NotFound, PayloadTooLarge, RateLimited, Unauthorized, UnsupportedMediaType};
use crate::{ApiError, AppState, Caller};

/// Give both `entity_type` and `entity_id` (one entity's history, oldest first), or neither
/// (the latest entries, newest first, narrowed by `actor`, `action`, `from`, `to` and paged
/// with `before`).
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// `ticket`, `customer`, `user`, `api_token`…
    entity_type: Option<String>,
    entity_id: Option<String>,
    /// Exactly this actor: `user:3`, `token:2`, `system`.
    actor: Option<String>,
    /// Actions starting with this: `ticket.` for every ticket action, or one whole action.
    action: Option<String>,
    /// At or after this instant (RFC 3339) or the start of this UTC date (`2026-03-01`).
    from: Option<String>,
    /// Before this instant, or before the end of this UTC date (the date is included).
    to: Option<String>,
    /// Entries older than this id: the next page after a page whose last entry has it.
    before: Option<i64>,
    /// At most this many entries, 1 to 1,000 (default 200).
    limit: Option<i64>,
}

/// An instant, or a UTC date (its start; with `end_of_day`, the start of the next day).
fn audit_instant(name: &str, text: &str, end_of_day: bool) -> Result<chrono::DateTime<chrono::Utc>, ApiError> {
    let text = text.trim();
    if let Ok(instant) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(instant.with_timezone(&chrono::Utc));
    }
    let date = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| ApiError::validation("invalid_query", format!("`{name}` must be a date (2026-03-01) or an RFC 3339 instant")))?;
    let date = if end_of_day { date.succ_opt().unwrap_or(date) } else { date };
    Ok(date.and_time(chrono::NaiveTime::MIN).and_utc())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntryList {
    entries: Vec<AuditEntryDto>,
}

/// Read the audit log
///
/// `GET /api/v1/audit?entity_type=ticket&entity_id=7`: one entity's entries oldest first, or
/// the latest entries of all.
#[utoipa::path(
    get, path = "/api/v1/audit", tag = "admin",
    params(AuditQuery),
    responses(
        (status = 200, description = "Audit entries.", body = AuditEntryList),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, description = "Code: `invalid_query` (only one of entity_type and entity_id, an entity with filters, a date that cannot be read, an unknown parameter, or a limit that is not a number).", body = ErrorBody),
        (status = 429, response = RateLimited),
    ),
    security(("bearer" = ["admin"]), ("session" = ["admin", "compliance"])),
)]
pub async fn list_audit(State(state): State<AppState>, caller: Caller, query: Result<Query<AuditQuery>, QueryRejection>) -> Result<Json<AuditEntryList>, ApiError> {
    caller.require(Permission::ReadAudit)?;
    let Query(query) = query?;
    let limit = query.limit.unwrap_or(200).clamp(1, 1_000);
    let filtered = query.actor.is_some() || query.action.is_some() || query.from.is_some() || query.to.is_some() || query.before.is_some();
    let entries = match (&query.entity_type, &query.entity_id) {
        (Some(_), Some(_)) if filtered => return Err(ApiError::validation("invalid_query", "an entity's history takes no actor, action, from, to or before")),
        (Some(entity_type), Some(entity_id)) => state.service.store().list_audit(Some((entity_type.as_str(), entity_id.as_str())), limit).await?,
        (None, None) if filtered => {
            let non_empty = |text: &Option<String>| text.as_deref().map(str::trim).filter(|text| !text.is_empty()).map(str::to_string);
            let filter = sb_store::AuditFilter {
                actor: non_empty(&query.actor),
                action_prefix: non_empty(&query.action),
                from: non_empty(&query.from).map(|text| audit_instant("from", &text, false)).transpose()?,
                to: non_empty(&query.to).map(|text| audit_instant("to", &text, true)).transpose()?,
                before_id: query.before,
                limit,
            };
            state.service.store().list_audit_filtered(&filter).await?
        }
        (None, None) => state.service.store().list_audit(None, limit).await?,
        _ => return Err(ApiError::validation("invalid_query", "give both entity_type and entity_id, or neither")),
    };
    Ok(Json(AuditEntryList { entries: dto::list(&entries, AuditEntryDto::from) }))
}

/// The result of walking the audit chain.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditVerification {
    entries_checked: u64,
    /// True when every entry links to its predecessor and matches its own hash.
    intact: bool,
    /// The first entry that was changed or removed, and why; null when intact.
    first_bad_entry_id: Option<i64>,
    problem: Option<String>,
}

/// Verify the audit chain
///
/// Walks the whole hash-chained log in id order (as `switchboard audit verify` does) and names
/// the first entry whose link or hash does not match. Reads every entry: seconds on a log of
/// millions.
#[utoipa::path(
    get, path = "/api/v1/audit/verify", tag = "admin",
    responses(
        (status = 200, description = "What the walk found.", body = AuditVerification),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 429, response = RateLimited),
    ),
    security(("bearer" = ["admin"]), ("session" = ["admin", "compliance"])),
)]
pub async fn verify_audit(State(state): State<AppState>, caller: Caller) -> Result<Json<AuditVerification>, ApiError> {
    caller.require(Permission::ReadAudit)?;
    let verification = state.service.store().verify_audit(|_| {}).await?;
    let (first_bad_entry_id, problem) = verification.first_bad_entry.map_or((None, None), |(entry_id, problem)| (Some(entry_id), Some(problem)));
    Ok(Json(AuditVerification { entries_checked: verification.entries_checked, intact: first_bad_entry_id.is_none(), first_bad_entry_id, problem }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserList {
    users: Vec<UserDto>,
}

/// List console users
#[utoipa::path(
    get, path = "/api/v1/users", tag = "admin",
    responses(
        (status = 200, description = "Every user.", body = UserList),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 429, response = RateLimited),
    ),
    security(("bearer" = ["admin"]), ("session" = ["admin", "supervisor"])),
)]
pub async fn list_users(State(state): State<AppState>, caller: Caller) -> Result<Json<UserList>, ApiError> {
    caller.require(Permission::ReadUsers)?;
    let users = state.service.store().list_users().await?;
    Ok(Json(UserList { users: dto::list(&users, UserDto::from) }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    email: String,
    name: String,
    /// `admin`, `supervisor`, `agent`, `compliance` or `viewer`.
    #[schema(value_type = Role)]
    role: String,
    /// 10 to 1,024 characters; stored as an argon2id hash.
    #[schema(min_length = 10, max_length = 1024)]
    password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserEnvelope {
    user: UserDto,
}

/// Create a console user
#[utoipa::path(
    post, path = "/api/v1/users", tag = "admin",
    request_body = CreateUserRequest,
    responses(
        (status = 201, description = "The new user.", body = UserEnvelope),
        (status = 400, response = MalformedJson),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, description = "Codes: `invalid_role`, `invalid` (not an email address, a password too short or too long), `invalid_field`.", body = ErrorBody),
        (status = 429, response = RateLimited),
    ),
    security(("bearer" = ["admin"]), ("session" = ["admin"], "csrf" = [])),
)]
pub async fn create_user(State(state): State<AppState>, caller: Caller, body: Result<Json<CreateUserRequest>, JsonRejection>) -> Result<Response, ApiError> {
    caller.require(Permission::ManageUsers)?;
    let Json(request) = body?;
    let role = Role::parse(request.role.trim()).ok_or_else(|| ApiError::validation("invalid_role", format!("unknown role `{}`: use admin, supervisor, agent, compliance or viewer", request.role)))?;
    let user = state.service.create_user(&request.email, &request.name, role, &request.password, &caller.actor()).await?;
    Ok((StatusCode::CREATED, Json(UserEnvelope { user: UserDto::from(&user) })).into_response())
}

/// Give `role`, `active` or both.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserRequest {
    /// `admin`, `supervisor`, `agent`, `compliance` or `viewer`.
    #[schema(value_type = Option<Role>)]
    role: Option<String>,
    /// `false` deactivates the user (they cannot sign in, and their sessions end now); `true`
    /// lets them sign in again.
    active: Option<bool>,
}

/// Change a user's role or access
///
/// Audited (`user.role_changed`, `user.deactivated`, `user.reactivated`). Nobody changes
/// their own role or access.
#[utoipa::path(
    patch, path = "/api/v1/users/{user_id}", tag = "admin",
    params(("user_id" = i64, Path, description = "User id.")),
    request_body = UpdateUserRequest,
    responses(
        (status = 200, description = "The user as now stored.", body = UserEnvelope),
        (status = 400, response = MalformedJson),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, description = "Codes: `invalid_role`, `invalid` (neither field, or your own user), `invalid_field`, `invalid_path`.", body = ErrorBody),
        (status = 429, response = RateLimited),
    ),
    security(("bearer" = ["admin"]), ("session" = ["admin"], "csrf" = [])),
)]
pub async fn update_user(State(state): State<AppState>, caller: Caller, user_id: Result<Path<i64>, PathRejection>, body: Result<Json<UpdateUserRequest>, JsonRejection>) -> Result<Json<UserEnvelope>, ApiError> {
    caller.require(Permission::ManageUsers)?;
    let Path(user_id) = user_id?;
    let Json(request) = body?;
    let role = request
        .role
        .as_deref()
        .map(|role| Role::parse(role.trim()).ok_or_else(|| ApiError::validation("invalid_role", format!("unknown role `{role}`: use admin, supervisor, agent, compliance or viewer"))))
        .transpose()?;
    let user = state.service.update_user(user_id, role, request.active, &caller.actor()).await?;
    Ok(Json(UserEnvelope { user: UserDto::from(&user) }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiTokenList {
    tokens: Vec<ApiTokenDto>,
}

/// List API tokens
///
/// Every token, revoked ones included; secrets are never stored, so never shown.
#[utoipa::path(
    get, path = "/api/v1/tokens", tag = "admin",
    responses(
        (status = 200, description = "Every token.", body = ApiTokenList),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 429, response = RateLimited),
    ),
    security(("bearer" = ["admin"]), ("session" = ["admin"])),
)]
pub async fn list_tokens(State(state): State<AppState>, caller: Caller) -> Result<Json<ApiTokenList>, ApiError> {
    caller.require(Permission::ManageTokens)?;
    let tokens = state.service.list_api_tokens().await?;
    Ok(Json(ApiTokenList { tokens: dto::list(&tokens, ApiTokenDto::from) }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTokenRequest {
    /// 1 to 100 characters.
    name: String,
    /// Scope names: ingest, read, write, admin.
    #[schema(value_type = Vec<Scope>)]
    scopes: Vec<String>,
}

/// A new token and its secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiTokenCreated {
    token: ApiTokenDto,
    /// Send as `Authorization: Bearer <secret>`. Only its hash is stored: it cannot be shown
    /// again.
    secret: String,
    note: String,
}

/// Create an API token
#[utoipa::path(
    post, path = "/api/v1/tokens", tag = "admin",
    request_body = CreateTokenRequest,
    responses(
        (status = 201, description = "The token with its secret.", body = ApiTokenCreated),
        (status = 400, response = MalformedJson),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, description = "Codes: `invalid_scopes` (none, or an unknown one), `invalid` (a name that is empty or over 100 characters), `invalid_field`.", body = ErrorBody),
        (status = 429, response = RateLimited),
    ),
    security(("bearer" = ["admin"]), ("session" = ["admin"], "csrf" = [])),
)]
pub async fn create_token(State(state): State<AppState>, caller: Caller, body: Result<Json<CreateTokenRequest>, JsonRejection>) -> Result<Response, ApiError> {
    caller.require(Permission::ManageTokens)?;
    let Json(request) = body?;
    let scopes: Vec<Scope> = sb_store::parse_scopes(&request.scopes.join(",")).map_err(|error| ApiError::validation("invalid_scopes", error.to_string()))?;
    let (token, secret) = state.service.create_api_token(&request.name, &scopes, caller.user_id(), &caller.actor().audit_name).await?;
    let created = ApiTokenCreated { token: ApiTokenDto::from(&token), secret, note: "the secret is shown once; store it now".into() };
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

/// Revoke an API token
///
/// The token stops working at once; it stays listed, with `revoked_at`.
#[utoipa::path(
    delete, path = "/api/v1/tokens/{token_id}", tag = "admin",
    params(("token_id" = i64, Path, description = "Token id.")),
    responses(
        (status = 204, description = "Revoked."),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, description = "The id is not a number. Code: `invalid_path`.", body = ErrorBody),
        (status = 429, response = RateLimited),
    ),
    security(("bearer" = ["admin"]), ("session" = ["admin"], "csrf" = [])),
)]
pub async fn revoke_token(State(state): State<AppState>, caller: Caller, token_id: Result<Path<i64>, PathRejection>) -> Result<StatusCode, ApiError> {
    caller.require(Permission::ManageTokens)?;
    let Path(token_id) = token_id?;
    state.service.revoke_api_token(token_id, &caller.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}
