//! The HTTP edge of Switchboard: the REST API over the service.
//!
//! `app(state)` builds the whole router, so tests drive it without a socket
//! (`tower::ServiceExt::oneshot`) and `serve` only adds the listener and graceful shutdown.
//! Wire shapes (DTOs) live here and are converted from domain types; nothing below this crate
//! knows HTTP.

mod auth;
mod error;
mod messages;
mod tickets;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use sb_service::Service;

pub use crate::auth::Caller;
pub use crate::error::ApiError;

/// Largest request body accepted (a 5,000-character message is far below it; raw email has its
/// own endpoint and cap).
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// Chat and API message text limit (PRODUCT.md).
pub const MAX_TEXT_CHARS: usize = 5_000;

#[derive(Clone)]
pub struct AppState {
    pub service: Service,
    pub started_at: Arc<Instant>,
}

impl AppState {
    pub fn new(service: Service) -> AppState {
        AppState { service, started_at: Arc::new(Instant::now()) }
    }
}

/// The whole API.
pub fn app(state: AppState) -> Router {
    let api = Router::new()
        .route("/messages", post(messages::create_message))
        .route("/classify", post(messages::classify))
        .route("/tickets", get(tickets::list_tickets))
        .route("/tickets/{ticket_id}", get(tickets::get_ticket))
        .route("/tickets/{ticket_id}/decisions", get(tickets::ticket_decisions))
        .route("/compliance/records", get(tickets::compliance_records))
        .fallback(api_not_found);
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .nest("/api/v1", api)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

async fn api_not_found() -> ApiError {
    ApiError::NotFound("endpoint".into())
}

/// Liveness: the process answers.
async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok"}))
}

/// Readiness: the database answers with every migration applied, and the models are loaded.
async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    let database = state.service.store().is_ready().await.unwrap_or(false);
    let models = state.service.engine().is_some();
    let status = if database && models { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let body = serde_json::json!({
        "status": if status == StatusCode::OK { "ready" } else { "not_ready" },
        "database": database,
        "backend": state.service.store().backend().as_str(),
        "models": models,
        "embeddings": state.service.engine().is_some_and(|engine| engine.uses_embeddings()),
        "uptime_seconds": state.started_at.elapsed().as_secs(),
    });
    (status, Json(body))
}

/// Serves `router` on `addr` until `shutdown` resolves, then finishes in-flight requests.
pub async fn serve(addr: SocketAddr, router: Router, shutdown: impl std::future::Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(addr = %listener.local_addr()?, "listening");
    axum::serve(listener, router).with_graceful_shutdown(shutdown).await
}
