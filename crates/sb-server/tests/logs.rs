//! The log lines of a request: they name it (request id, method, route, status, latency) and
//! never hold the customer's message, contact details or the caller's token.
//!
//! A test binary of its own: the test installs a thread-local subscriber, and tracing caches
//! each log site's interest process-wide, so other tests hitting the same sites from other
//! threads at the same moment could leave a line unrecorded here (seen: one run in seven).

use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::http::{Method, Request, StatusCode};
use sb_store::Scope;
use serde_json::{json, Value};

#[allow(dead_code)]
#[path = "it/support.rs"]
mod support;

use crate::support::{Credential, TestServer};

/// Log output collected in memory.
#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl Write for LogBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs on the test's single thread, so the subscriber set for this thread sees every line the
/// request logs (the service has no models here: nothing goes to the blocking pool).
#[tokio::test]
async fn log_lines_name_the_request_and_never_the_customer() {
    let buffer = LogBuffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt().json().with_max_level(tracing::Level::TRACE).with_writer(move || writer.clone()).finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = TestServer::new().await;
    let ingester = server.token(&[Scope::Ingest]).await;
    let Credential::Bearer(secret) = &ingester else { unreachable!() };
    let text = "Hi, this is Ana Silva. My card 4111 1111 1111 1111 was charged twice; write to ana.silva@example.com or call +1 415 555 0132.";
    let body = json!({"channel": "chat", "text": text, "customer": {"email": "ana.silva@example.com", "phone": "+14155550132", "name": "Ana Silva"}});
    let request = Request::builder().method(Method::POST).uri("/api/v1/messages").header("authorization", format!("Bearer {secret}")).header("x-request-id", "it-logs-0001");
    let answer = server.send(request, Some(&body)).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{answer:?}");

    let output = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<Value> = output.lines().map(|line| serde_json::from_str(line).unwrap_or_else(|error| panic!("not a JSON line ({error}): {line}"))).collect();
    let of_request: Vec<&Value> = lines.iter().filter(|line| line["span"]["request_id"] == "it-logs-0001").collect();
    let messages: Vec<&str> = of_request.iter().filter_map(|line| line["fields"]["message"].as_str()).collect();
    assert!(messages.contains(&"triage failed in the request; the worker will retry"), "the service's line carries the request id: {messages:?}\n{output}");
    let finished = of_request.iter().find(|line| line["fields"]["message"] == "request finished").unwrap_or_else(|| panic!("no end line:\n{output}"));
    assert_eq!((finished["fields"]["status"].as_u64(), finished["span"]["route"].as_str(), finished["span"]["method"].as_str()), (Some(201), Some("/api/v1/messages"), Some("POST")));
    assert!(finished["fields"]["latency_ms"].as_f64().is_some(), "{finished}");
    for secret_text in [secret.as_str(), "Ana Silva", "ana.silva@example.com", "4111 1111 1111 1111", "4111111111111111", "415 555 0132", "4155550132", "charged twice"] {
        assert!(!output.contains(secret_text), "the log holds `{secret_text}`:\n{output}");
    }
}
