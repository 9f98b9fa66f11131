//! Live routing over HTTP: admins set each agent's skills and capacity, supervisors and admins
//! read everyone's profile with presence and load, and agents set their own presence and keep it
//! alive with a heartbeat from the console.
//!
//! Presence belongs to a person: it is set through a console session, never with an API token
//! (a token has no user), and only by those who work tickets (the `write` permission).

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::Json;
use sb_store::{AgentRouting, PresenceStatus, RoutingSkills, DEFAULT_MAX_CHATS, DEFAULT_MAX_OPEN_TICKETS};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Permission;
use crate::error::ErrorBody;
use crate::openapi::{Forbidden, MalformedJson, NotFound, PayloadTooLarge, RateLimited, Unauthorized, UnsupportedMediaType};
use crate::{ApiError, AppState, Caller};

/// Skills and capacity; a field left out takes its default (PUT replaces the whole profile's
/// skills; presence is the agent's own and is kept).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct SkillsRequest {
    /// Intent labels (`track_order`, `refund_request`, …); empty or left out: every intent.
    intents: Vec<String>,
    /// ISO 639-1 codes (`en`, `es`, …); empty: every language.
    languages: Vec<String>,
    /// `email`, `chat`, `api`, `sms`, `voice`; empty: every channel.
    channels: Vec<String>,
    /// May receive safety-queue tickets. Default false.
    safety: bool,
    /// Open tickets the router fills the agent up to (0–1000, default 8).
    #[schema(default = 8)]
    max_open_tickets: i64,
    /// Open chats the router fills the agent up to (0–1000, default 3).
    #[schema(default = 3)]
    max_chats: i64,
}

impl Default for SkillsRequest {
    fn default() -> SkillsRequest {
        SkillsRequest { intents: Vec::new(), languages: Vec::new(), channels: Vec::new(), safety: false, max_open_tickets: DEFAULT_MAX_OPEN_TICKETS, max_chats: DEFAULT_MAX_CHATS }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AgentRoutingEnvelope {
    agent: AgentRouting,
    /// How often the console renews its heartbeat to stay present (a third of the presence
    /// time-to-live).
    heartbeat_seconds: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AgentRoutingList {
    agents: Vec<AgentRouting>,
    /// Whether this server routes tickets automatically (`[routing] enabled`).
    routing_enabled: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PresenceRequest {
    /// `available` (take routed tickets while the console stays open) or `away` (unstarted
    /// tickets go back to the queue).
    status: PresenceStatus,
}

fn envelope(state: &AppState, agent: AgentRouting) -> Json<AgentRoutingEnvelope> {
    Json(AgentRoutingEnvelope { agent, heartbeat_seconds: state.service.config().routing.heartbeat_interval().as_secs() })
}

/// The session's user, who must work tickets.
fn own_user(caller: &Caller) -> Result<i64, ApiError> {
    caller.require(Permission::Write)?;
    caller.user_id().ok_or_else(|| ApiError::Forbidden("presence belongs to a person: sign in to the console (API tokens have no presence)".into()))
}

/// List agents' routing profiles
///
/// Every user who works tickets, with skills, capacity, presence (`present`: available with a
/// live console) and open work.
#[utoipa::path(
    get, path = "/api/v1/agents/routing", tag = "routing",
    responses(
        (status = 200, description = "Profiles by user id.", body = AgentRoutingList),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 429, response = RateLimited),
    ),
    security(("bearer" = ["admin"]), ("session" = ["admin", "supervisor"])),
)]
pub async fn list_agents(State(state): State<AppState>, caller: Caller) -> Result<Json<AgentRoutingList>, ApiError> {
    caller.require(Permission::ReadUsers)?;
    let agents = state.service.list_agent_routing().await?;
    Ok(Json(AgentRoutingList { agents, routing_enabled: state.service.config().routing.enabled }))
}

/// Set a user's skills and capacity
///
/// Replaces the skills and capacity (presence is kept). Audited (`agent.routing_changed`).
/// Labels are checked: known intents and channels, two-letter language codes.
#[utoipa::path(
    put, path = "/api/v1/users/{user_id}/routing", tag = "routing",
    params(("user_id" = i64, Path, description = "User id.")),
    request_body = SkillsRequest,
    responses(
        (status = 200, description = "The profile as now stored.", body = AgentRoutingEnvelope),
        (status = 400, response = MalformedJson),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, description = "Codes: `invalid` (an unknown label, a capacity outside 0–1000, a user who does not work tickets), `invalid_field`, `invalid_path`.", body = ErrorBody),
        (status = 429, response = RateLimited),
    ),
    security(("bearer" = ["admin"]), ("session" = ["admin"], "csrf" = [])),
)]
pub async fn set_skills(State(state): State<AppState>, caller: Caller, user_id: Result<Path<i64>, PathRejection>, body: Result<Json<SkillsRequest>, JsonRejection>) -> Result<Json<AgentRoutingEnvelope>, ApiError> {
    caller.require(Permission::ManageUsers)?;
    let Path(user_id) = user_id?;
    let Json(request) = body?;
    let skills = RoutingSkills { intents: request.intents, languages: request.languages, channels: request.channels, safety: request.safety, max_open_tickets: request.max_open_tickets, max_chats: request.max_chats };
    let agent = state.service.set_agent_skills(user_id, &skills, &caller.actor()).await?;
    Ok(envelope(&state, agent))
}

/// Your routing profile and presence
#[utoipa::path(
    get, path = "/api/v1/me/presence", tag = "routing",
    responses(
        (status = 200, description = "Your profile, presence and open work.", body = AgentRoutingEnvelope),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 429, response = RateLimited),
    ),
    security(("session" = ["admin", "supervisor", "agent"])),
)]
pub async fn my_presence(State(state): State<AppState>, caller: Caller) -> Result<Json<AgentRoutingEnvelope>, ApiError> {
    let user_id = own_user(&caller)?;
    Ok(envelope(&state, state.service.agent_routing(user_id).await?))
}

/// Set your presence
///
/// `available` starts the heartbeat's clock: keep it alive with `POST /api/v1/me/presence/heartbeat`
/// every `heartbeat_seconds`. `away` (or a heartbeat that stops) gives your unstarted tickets
/// (open, nothing written by you) back to the queue. Audited when it changes
/// (`agent.presence_changed`).
#[utoipa::path(
    put, path = "/api/v1/me/presence", tag = "routing",
    request_body = PresenceRequest,
    responses(
        (status = 200, description = "Your profile with the new presence.", body = AgentRoutingEnvelope),
        (status = 400, response = MalformedJson),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, description = "Codes: `invalid_field` (a status other than available or away).", body = ErrorBody),
        (status = 429, response = RateLimited),
    ),
    security(("session" = ["admin", "supervisor", "agent"], "csrf" = [])),
)]
pub async fn set_my_presence(State(state): State<AppState>, caller: Caller, body: Result<Json<PresenceRequest>, JsonRejection>) -> Result<Json<AgentRoutingEnvelope>, ApiError> {
    let user_id = own_user(&caller)?;
    let Json(request) = body?;
    Ok(envelope(&state, state.service.set_presence(user_id, request.status, &caller.actor()).await?))
}

/// Renew your presence heartbeat
///
/// What the open console sends every `heartbeat_seconds`; not audited.
#[utoipa::path(
    post, path = "/api/v1/me/presence/heartbeat", tag = "routing",
    responses(
        (status = 200, description = "Your profile.", body = AgentRoutingEnvelope),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 429, response = RateLimited),
    ),
    security(("session" = ["admin", "supervisor", "agent"], "csrf" = [])),
)]
pub async fn heartbeat(State(state): State<AppState>, caller: Caller) -> Result<Json<AgentRoutingEnvelope>, ApiError> {
    let user_id = own_user(&caller)?;
    Ok(envelope(&state, state.service.presence_heartbeat(user_id).await?))
}
