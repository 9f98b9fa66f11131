//! The HTTP edge of Switchboard: the REST API over the service.
//!
//! `app(state)` builds the whole router, so tests drive it without a socket
//! (`tower::ServiceExt::oneshot`) and `serve` only adds the listener and graceful shutdown.
//! Wire shapes (DTOs) live here and are converted from domain types; nothing below this crate
//! knows HTTP. Beside the API under `/api/v1` sit the probes (`/health`, `/ready`) and the
//! Prometheus endpoint (`/metrics`); every request carries an id (`x-request-id`) into its log
//! lines and error body.

mod admin;
mod alerts;
mod assist;
mod attachments;
mod auth;
mod dashboard;
mod chat;
mod dto;
mod error;
mod inbound_email;
mod kb;
mod messages;
mod metrics;
mod openapi;
mod policy;
mod rate_limit;
mod reports;
mod request_log;
mod routing;
mod session;
mod sla;
mod survey;
mod ticket_actions;
mod throttle;
mod tickets;
mod transfer;
mod ws;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{delete, get, patch, post, put};
use axum::{Json, Router};
use sb_service::Service;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};

pub use crate::chat::{ChatConfig, ChatState, Presence, CHAT_MAX_BODY_BYTES};
pub use crate::auth::{Caller, Credential, Permission, CSRF_HEADER, SESSION_COOKIE};
pub use crate::error::ApiError;
pub use crate::rate_limit::{RateLimit, RateLimitConfig};

/// Largest request body accepted (a 5,000-character message is far below it; raw email has its
/// own endpoint and cap).
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// Chat and API message text limit (PRODUCT.md).
pub const MAX_TEXT_CHARS: usize = 5_000;

/// How the server protects itself and its users.
#[derive(Debug, Clone)]
pub struct SecurityConfig {
    pub rate_limits: RateLimitConfig,
    /// How long a console session lasts.
    pub session_ttl: chrono::TimeDelta,
    /// Mark the session cookie `Secure` (set it when the console is served over HTTPS).
    pub secure_cookies: bool,
    /// Serve `/metrics` without credentials (for a scraper on a private network that cannot
    /// send a token); otherwise it needs a token with the `read` or `admin` scope.
    pub metrics_public: bool,
    /// The customer chat widget: sites allowed to embed it, its limits.
    pub chat: ChatConfig,
}

impl Default for SecurityConfig {
    fn default() -> SecurityConfig {
        SecurityConfig { rate_limits: RateLimitConfig::default(), session_ttl: chrono::TimeDelta::hours(12), secure_cookies: false, metrics_public: false, chat: ChatConfig::default() }
    }
}

/// How often a token's `last_used_at` is written at most.
const TOKEN_USE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);
/// Repeated views of one record's personal data by one caller make one audit entry per this.
const PII_VIEW_AUDIT_INTERVAL: std::time::Duration = std::time::Duration::from_secs(600);

#[derive(Clone)]
pub struct AppState {
    pub service: Service,
    pub started_at: Arc<Instant>,
    pub security: Arc<SecurityConfig>,
    pub(crate) limits: Arc<rate_limit::Limits>,
    /// This server's metrics registry (the service's metrics are registered into it).
    pub(crate) metrics: Arc<metrics::HttpMetrics>,
    /// Token id → when its `last_used_at` was last written.
    pub(crate) token_use: Arc<throttle::Throttle<i64>>,
    /// (caller, entity type, entity id) → when viewing its personal data was last audited.
    pub(crate) pii_views: Arc<throttle::Throttle<(String, &'static str, i64)>>,
    /// The chat widget's settings, presence of agents and limiters.
    pub chat: Arc<ChatState>,
}

impl AppState {
    pub fn new(service: Service) -> AppState {
        AppState::with_security(service, SecurityConfig::default())
    }

    pub fn with_security(service: Service, security: SecurityConfig) -> AppState {
        let limits = Arc::new(rate_limit::Limits::new(&security.rate_limits));
        let metrics = Arc::new(metrics::HttpMetrics::new(&service));
        let chat = Arc::new(ChatState::new(security.chat.clone()));
        AppState {
            chat,
            service,
            started_at: Arc::new(Instant::now()),
            security: Arc::new(security),
            limits,
            metrics,
            token_use: Arc::new(throttle::Throttle::new(TOKEN_USE_INTERVAL)),
            pii_views: Arc::new(throttle::Throttle::new(PII_VIEW_AUDIT_INTERVAL)),
        }
    }
}

/// The whole API.
pub fn app(state: AppState) -> Router {
    app_with(state, Router::new())
}

/// The API plus `pages` (the web console's routes, from sb-console), which get the same
/// request ids, logs and metrics as the API. The console depends on this crate,
/// not the reverse: the server knows nothing of pages, the binary puts them together.
pub fn app_with(state: AppState, pages: Router<AppState>) -> Router {
    let api = Router::new()
        .route("/messages", post(messages::create_message))
        .route("/classify", post(messages::classify))
        // Raw mail is far larger than a JSON message: its own body limit, the parser's.
        .route(
            "/inbound/email",
            post(inbound_email::receive_email).layer(DefaultBodyLimit::max(state.service.config().email.limits.max_message_bytes)),
        )
        .route("/tickets", get(tickets::list_tickets))
        .route("/tickets/{ticket_id}", get(tickets::get_ticket))
        .route("/tickets/{ticket_id}/decisions", get(tickets::ticket_decisions))
        .route("/tickets/{ticket_id}/messages/{message_id}/attachments/{index}", get(attachments::email_attachment))
        .route("/tickets/{ticket_id}/assign", post(ticket_actions::assign))
        .route("/tickets/{ticket_id}/status", post(ticket_actions::set_status))
        .route("/tickets/{ticket_id}/reply", post(ticket_actions::reply))
        .route("/tickets/{ticket_id}/notes", post(ticket_actions::add_note))
        .route("/tickets/{ticket_id}/escalate", post(ticket_actions::escalate))
        .route("/tickets/{ticket_id}/merge", post(ticket_actions::merge))
        .route("/tickets/{ticket_id}/transfer", post(transfer::transfer))
        .route("/agents", get(transfer::list_agents))
        .route("/tickets/{ticket_id}/assist", get(assist::ticket_assist))
        .route("/tickets/{ticket_id}/typing", post(chat::agent_typing))
        .route("/tickets/{ticket_id}/kb-draft", post(assist::create_kb_draft))
        .route("/tickets/{ticket_id}/csat", post(ticket_actions::record_csat))
        .route("/customers/{customer_id}", get(ticket_actions::get_customer))
        .route("/customers/{customer_id}/vip", post(ticket_actions::set_vip))
        .route("/compliance/records", get(tickets::compliance_records))
        .route("/sla/policies", get(sla::list_sla_policies))
        .route("/sla/policies/{name}", put(sla::set_sla_targets).delete(sla::reset_sla_targets))
        .route("/audit", get(admin::list_audit))
        .route("/audit/verify", get(admin::verify_audit))
        .route("/users", get(admin::list_users).post(admin::create_user))
        .route("/users/{user_id}", patch(admin::update_user))
        .route("/users/{user_id}/routing", put(routing::set_skills))
        .route("/agents/routing", get(routing::list_agents))
        .route("/me/presence", get(routing::my_presence).put(routing::set_my_presence))
        .route("/me/presence/heartbeat", post(routing::heartbeat))
        .route("/tokens", get(admin::list_tokens).post(admin::create_token))
        .route("/tokens/{token_id}", delete(admin::revoke_token))
        .route("/session", post(session::log_in).get(session::current).delete(session::log_out))
        .route("/kb/articles", get(kb::list_articles).post(kb::create_article))
        .route("/kb/articles/{article_id}", get(kb::get_article).patch(kb::update_article).delete(kb::archive_article))
        .route("/kb/articles/{article_id}/versions", get(kb::article_versions))
        .route("/kb/search", get(kb::search))
        .route("/templates", get(kb::list_templates).post(kb::create_template))
        .route("/templates/{template_id}", put(kb::update_template).delete(kb::delete_template))
        .route("/alerts", get(alerts::list_alerts))
        .route("/alerts/{alert_id}/resolve", post(alerts::resolve_alert))
        .route("/webhooks", get(alerts::list_webhooks).post(alerts::create_webhook))
        .route("/webhooks/{webhook_id}", delete(alerts::deactivate_webhook))
        .route("/webhooks/{webhook_id}/deliveries", get(alerts::webhook_deliveries))
        .route("/reports/pending", get(reports::pending))
        .route("/reports/realtime", get(reports::realtime))
        .route("/reports/customers/{customer_id}", get(reports::customer))
        .route("/reports/sla", get(reports::sla))
        .route("/reports/categories", get(reports::categories))
        .route("/reports/agents", get(reports::agents))
        .route("/reports/cost", get(reports::cost))
        .route("/reports/automation", get(reports::automation))
        .route("/reports/forecast", get(dashboard::forecast_today))
        .route("/policy/thresholds", get(policy::thresholds).put(policy::set_general_threshold).delete(policy::reset_general_threshold))
        .route("/policy/thresholds/{intent}", put(policy::set_intent_threshold).delete(policy::reset_intent_threshold))
        .route("/email/mailboxes", get(inbound_email::list_mailboxes))
        .nest("/chat", chat_routes(&state))
        .fallback(api_not_found)
        .layer(axum::middleware::from_fn_with_state(state.limits.clone(), rate_limit::limit_by_ip));
    // Layers run outermost last: the request id is checked, set and echoed before the request's
    // span opens, and the span holds the metrics middleware and the handler.
    Router::new()
        .route("/api/openapi.json", get(openapi::document))
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics::serve_metrics))
        .route("/help/{slug}", get(assist::help_page))
        .route("/rate/{secret}", get(survey::survey_page).post(survey::submit_survey))
        .route("/ws", get(ws::events_socket))
        .nest("/api/v1", api)
        .merge(pages)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::record_request))
        .layer(axum::middleware::from_fn(request_log::log_request))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(axum::middleware::map_request(request_log::drop_invalid_request_id))
        .with_state(state)
}

/// The public customer chat API (`chat.rs`): its own body cap and origin rules.
fn chat_routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/status", get(chat::status))
        .route("/conversations", post(chat::start))
        .route("/conversations/{conversation_id}", get(chat::get_conversation))
        .route("/conversations/{conversation_id}/messages", get(chat::history).post(chat::send))
        .route("/conversations/{conversation_id}/rating", post(chat::rate))
        .route("/conversations/{conversation_id}/typing", post(chat::customer_typing))
        .layer(DefaultBodyLimit::max(CHAT_MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(state.clone(), chat::origin_guard))
}

async fn api_not_found() -> ApiError {
    ApiError::NotFound("endpoint".into())
}

#[derive(serde::Serialize, utoipa::ToSchema)]
struct Health {
    /// Always `ok`.
    status: &'static str,
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/health", tag = "service", responses((status = 200, description = "The process answers.", body = Health)))]
async fn health() -> Json<Health> {
    Json(Health { status: "ok" })
}

#[derive(serde::Serialize, utoipa::ToSchema)]
struct Readiness {
    /// `ready` or `not_ready`.
    status: &'static str,
    /// The database answers with every migration applied.
    database: bool,
    /// `sqlite` or `postgres`.
    backend: &'static str,
    /// The triage models are loaded.
    models: bool,
    /// The models use MiniLM sentence embeddings (not only TF-IDF features).
    embeddings: bool,
    uptime_seconds: u64,
}

/// Readiness: the database answers with every migration applied, and the models are loaded.
#[utoipa::path(get, path = "/ready", tag = "service", responses((status = 200, description = "Ready.", body = Readiness), (status = 503, description = "Not ready: the database or the models are not there yet.", body = Readiness)))]
async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    let database = state.service.store().is_ready().await.unwrap_or(false);
    let models = state.service.engine().is_some();
    let status = if database && models { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let body = Readiness {
        status: if status == StatusCode::OK { "ready" } else { "not_ready" },
        database,
        backend: state.service.store().backend().as_str(),
        models,
        embeddings: state.service.engine().is_some_and(|engine| engine.uses_embeddings()),
        uptime_seconds: state.started_at.elapsed().as_secs(),
    };
    (status, Json(body))
}

/// Serves `router` on `addr` until `shutdown` resolves, then finishes in-flight requests.
pub async fn serve(addr: SocketAddr, router: Router, shutdown: impl std::future::Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(addr = %listener.local_addr()?, "listening");
    // The peer address feeds the per-IP rate limit.
    axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>()).with_graceful_shutdown(shutdown).await
}
