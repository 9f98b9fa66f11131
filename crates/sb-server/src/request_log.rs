//! Request ids and the log span of each request.
//!
//! Every request gets an id: a valid incoming `x-request-id` is kept, so the id a load balancer
//! or a client chose follows the request through; anything else is replaced by a new UUID
//! (tower-http's request-id layers set it, and echo it in the response header). The request is
//! served inside a tracing span carrying the id, the method and the route template, so every
//! line logged while serving it — the pipeline's "message triaged" included — names the
//! request; one line at the end records status and latency. Error bodies carry the id too
//! ([`current_request_id`]).
//!
//! Nothing from the request's body, query string or headers other than the id is logged: those
//! hold customers' messages and contact details.

use std::time::Instant;

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tower_http::request_id::RequestId;
use tracing::Instrument;

use crate::metrics::{method_label, route_label};

/// The header that carries the request id, both ways.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Longest incoming request id kept.
const MAX_REQUEST_ID_BYTES: usize = 128;

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being served by this task, if any.
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// An incoming id is kept when it is short and made of letters, digits and `-_.:/+=@` (UUIDs,
/// ULIDs, trace ids of the common load balancers): it is written into every log line of the
/// request, so it must not be able to forge log content.
fn is_valid_request_id(value: &HeaderValue) -> bool {
    let bytes = value.as_bytes();
    !bytes.is_empty() && bytes.len() <= MAX_REQUEST_ID_BYTES && bytes.iter().all(|byte| byte.is_ascii_alphanumeric() || b"-_.:/+=@".contains(byte))
}

/// Middleware, before the request-id layers: drops an incoming id that is not valid, so a new
/// one is made.
pub async fn drop_invalid_request_id(mut request: Request) -> Request {
    let headers = request.headers_mut();
    if headers.get_all(REQUEST_ID_HEADER).iter().count() > 1 || headers.get(REQUEST_ID_HEADER).is_some_and(|value| !is_valid_request_id(value)) {
        headers.remove(REQUEST_ID_HEADER);
    }
    request
}

/// Middleware, inside the request-id layers: serves the request in its span and logs its end.
pub async fn log_request(request: Request, next: Next) -> Response {
    let request_id = request.extensions().get::<RequestId>().and_then(|id| id.header_value().to_str().ok()).unwrap_or_default().to_string();
    let route = route_label(request.extensions());
    let method = method_label(request.method());
    // At the highest level, so that the span is enabled (and names the request) whenever any
    // line inside it is logged, whatever level the operator chose.
    let span = tracing::error_span!("request", request_id = %request_id, method, route = %route);
    let started = Instant::now();
    let response = REQUEST_ID.scope(request_id, next.run(request)).instrument(span.clone()).await;
    let latency_ms = started.elapsed().as_secs_f64() * 1_000.0;
    let status = response.status().as_u16();
    span.in_scope(|| {
        if status >= 500 {
            tracing::warn!(status, latency_ms, "request finished");
        } else if matches!(route.as_str(), "/health" | "/ready" | "/metrics") {
            // Probes and scrapes every few seconds would drown the rest.
            tracing::debug!(status, latency_ms, "request finished");
        } else {
            tracing::info!(status, latency_ms, "request finished");
        }
    });
    response
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::is_valid_request_id;

    #[test]
    fn incoming_request_ids_are_kept_only_when_short_and_plain() {
        let cases: &[(&[u8], bool)] = &[
            (b"3f2b9c1e-7a4d-4e1b-9c59-2f0a6d8e1b7c", true),
            (b"Root=1-67891233-abcdef012345678912345678", true),
            (b"lb:edge-7/4711", true),
            (b"", false),
            (b"two words", false),
            (b"quote\"inside", false),
            (b"tab\tinside", false),
            (b"caf\xc3\xa9", false),
            (&[b'a'; 128], true),
            (&[b'a'; 129], false),
        ];
        for (raw, expected) in cases {
            let value = HeaderValue::from_bytes(raw).unwrap();
            assert_eq!(is_valid_request_id(&value), *expected, "{value:?}");
        }
    }
}
