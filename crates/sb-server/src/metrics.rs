//! `GET /metrics` in the Prometheus text format, and the middleware that counts HTTP requests.
//!
//! Each server owns its registry ([`HttpMetrics`], built with the [`AppState`]): the service's
//! metrics (pipeline, worker, SLA watcher, queue depths) are registered into it next to the
//! HTTP ones, so two apps in one process (tests) never share counts.
//!
//! Hidden contracts:
//! - Requests are labelled by the route template they matched (`/api/v1/tickets/{ticket_id}`),
//!   never by their raw path, and unknown methods fold into `other`: the number of series stays
//!   fixed however many tickets exist or whatever a client sends. Requests that match no route
//!   are `unmatched`.
//! - Scrapers usually cannot log in, so `/metrics` asks for an API token with the `read` or
//!   `admin` scope (or an admin's session), unless the operator made it public
//!   (`SecurityConfig::metrics_public`, for a scraper on a private network).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, Extensions, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use sb_service::Service;

use crate::auth::Permission;
use crate::{ApiError, AppState, Caller};

/// The route label of a request that matched no route.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// Upper bounds of the request latency buckets, in seconds (an ingest with triage takes a few
/// milliseconds; a login hashes a password for about a tenth of a second).
const HTTP_SECONDS_BUCKETS: [f64; 14] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: &'static str,
    status: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RouteLabels {
    route: String,
    method: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
}

fn http_histogram() -> Histogram {
    Histogram::new(HTTP_SECONDS_BUCKETS)
}

/// One server's registry and its HTTP metrics.
#[derive(Debug)]
pub struct HttpMetrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: Family<RouteLabels, Histogram, fn() -> Histogram>,
}

impl HttpMetrics {
    /// A registry with the HTTP metrics, build information and start time, and `service`'s
    /// metrics.
    pub fn new(service: &Service) -> HttpMetrics {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        let durations = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(http_histogram);
        registry.register("switchboard_http_requests", "HTTP requests answered, by route template, method and status", requests.clone());
        registry.register("switchboard_http_request_duration_seconds", "Time to answer an HTTP request (until the response headers), by route template and method", durations.clone());
        let build_info = Family::<BuildLabels, Gauge>::default();
        build_info.get_or_create(&BuildLabels { version: env!("CARGO_PKG_VERSION") }).set(1);
        registry.register("switchboard_build_info", "Always 1; the labels say which build of Switchboard answers", build_info);
        let started = Gauge::<i64>::default();
        started.set(SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since_epoch| since_epoch.as_secs() as i64));
        registry.register("switchboard_start_time_seconds", "When this server started, in seconds since the Unix epoch (a change means a restart)", started);
        service.metrics().register(&mut registry);
        HttpMetrics { registry, requests, durations }
    }

    fn observe(&self, route: String, method: &'static str, status: u16, elapsed: Duration) {
        self.durations.get_or_create(&RouteLabels { route: route.clone(), method }).observe(elapsed.as_secs_f64());
        self.requests.get_or_create(&RequestLabels { route, method, status }).inc();
    }

    /// Everything registered, in the Prometheus text format (version 0.0.4).
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

/// The route template the request matched, or [`UNMATCHED_ROUTE`].
pub fn route_label(extensions: &Extensions) -> String {
    extensions.get::<MatchedPath>().map_or_else(|| UNMATCHED_ROUTE.to_string(), |matched| matched.as_str().to_string())
}

/// The method, from a closed set.
pub fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Middleware: counts the request and times it.
pub async fn record_request(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = route_label(request.extensions());
    let method = method_label(request.method());
    let started = Instant::now();
    let response = next.run(request).await;
    state.metrics.observe(route, method, response.status().as_u16(), started.elapsed());
    response
}

/// `GET /metrics`.
#[utoipa::path(
    get, path = "/metrics", tag = "service",
    responses(
        (status = 200, description = "Prometheus text exposition format: HTTP requests and latency by route template, triage latency and confidence, messages triaged by category, route and channel, queue depths, the triage backlog, triage failures and retries, SLA breaches, build info.", content_type = "text/plain", body = String),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, response = crate::openapi::Forbidden),
    ),
    security(("bearer" = ["read", "admin"]), ("session" = ["admin"]), ()),
)]
pub async fn serve_metrics(State(state): State<AppState>, caller: Result<Caller, ApiError>) -> Result<Response, ApiError> {
    if !state.security.metrics_public {
        caller?.require(Permission::ReadMetrics)?;
    }
    // A database that does not answer must not hide the other metrics: the gauges keep their
    // last values and `switchboard_database_up` says 0.
    if let Err(error) = state.service.refresh_store_metrics().await {
        tracing::warn!(error = %error, "metrics: cannot count the queues in the database");
    }
    let text = state.metrics.encode().map_err(|_| ApiError::Internal("cannot encode the metrics".into()))?;
    Ok(([(header::CONTENT_TYPE, prometheus_client::encoding::prometheus_text::CONTENT_TYPE)], text).into_response())
}
