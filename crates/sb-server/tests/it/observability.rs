//! What operators see: `/metrics` (route templates, never raw paths; what waits in the store;
//! SLA breaches; in-request triage failures), request ids (kept, made, echoed, in error bodies)
//! (the log lines of a request are checked in `tests/logs.rs`, a binary of their own).

use axum::http::{Method, Request, StatusCode};
use chrono::{Duration, Utc};
use sb_server::SecurityConfig;
use sb_store::Scope;
use serde_json::json;

use crate::support::{Credential, TestServer};

/// Fails with every expected sample line that `metrics` lacks.
fn check_samples(metrics: &str, expected: &[String]) {
    let lines: Vec<&str> = metrics.lines().collect();
    let missing: Vec<&String> = expected.iter().filter(|sample| !lines.contains(&sample.as_str())).collect();
    assert!(missing.is_empty(), "missing samples:\n{}\n\nin:\n{metrics}", missing.iter().map(|sample| sample.as_str()).collect::<Vec<_>>().join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_by_route_template_and_what_waits() {
    let server = TestServer::new().await;
    let reader = server.token(&[Scope::Read]).await;
    let ingester = server.token(&[Scope::Ingest]).await;
    let (ticket_id, _) = server.ticket("Where is my order A10493?").await;
    assert_eq!(server.get(&format!("/api/v1/tickets/{ticket_id}"), &reader).await.status, StatusCode::OK);
    assert_eq!(server.get("/api/v1/tickets/999999", &reader).await.status, StatusCode::NOT_FOUND);
    assert_eq!(server.get("/api/v1/no/such/endpoint", &reader).await.status, StatusCode::NOT_FOUND);
    // No models in these tests: the message is stored, its triage fails in the request and
    // waits for the worker.
    let created = server.post("/api/v1/messages", &ingester, json!({"channel": "chat", "text": "where is my parcel?"})).await;
    assert_eq!((created.status, created.body["status"].as_str()), (StatusCode::CREATED, Some("received")), "{created:?}");
    let round = server.service.check_slas(Utc::now() + Duration::days(30)).await.unwrap();
    assert_eq!(round.breached, 2, "first response and resolution of the one ticket with clocks");

    let scraped = server.get("/metrics", &reader).await;
    assert_eq!(scraped.status, StatusCode::OK);
    assert_eq!(scraped.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
    let expected: Vec<String> = [
        r#"switchboard_http_requests_total{route="/api/v1/tickets/{ticket_id}",method="GET",status="200"} 1"#,
        r#"switchboard_http_requests_total{route="/api/v1/tickets/{ticket_id}",method="GET",status="404"} 1"#,
        r#"switchboard_http_requests_total{route="unmatched",method="GET",status="404"} 1"#,
        r#"switchboard_http_requests_total{route="/api/v1/messages",method="POST",status="201"} 1"#,
        r#"switchboard_http_request_duration_seconds_count{route="/api/v1/tickets/{ticket_id}",method="GET"} 2"#,
        r#"switchboard_triage_failures_total{source="request",outcome="retry"} 1"#,
        // The ingested message, and the message of the test ticket (stored raw, never triaged).
        r#"switchboard_triage_backlog{state="waiting"} 2"#,
        r#"switchboard_triage_backlog{state="failed"} 0"#,
        r#"switchboard_queue_depth{queue="human",status="open"} 1"#,
        r#"switchboard_queue_depth{queue="triage",status="new"} 1"#,
        r#"switchboard_queue_depth{queue="safety",status="open"} 0"#,
        r#"switchboard_sla_breaches_total{kind="first_response"} 1"#,
        r#"switchboard_sla_breaches_total{kind="resolution"} 1"#,
        r#"switchboard_database_up 1"#,
        &format!(r#"switchboard_build_info{{version="{}"}} 1"#, env!("CARGO_PKG_VERSION")),
    ]
    .iter()
    .map(|sample| sample.to_string())
    .collect();
    check_samples(&scraped.text, &expected);
    assert!(!scraped.text.contains(&format!("/api/v1/tickets/{ticket_id}\"")), "a raw path became a label:\n{}", scraped.text);
    assert!(scraped.text.contains("# TYPE switchboard_triage_duration_seconds histogram"), "{}", scraped.text);

    // The scrape itself is counted, and the depth follows the store: the ticket is resolved.
    let resolved = server.service.store().update_ticket(ticket_id, &sb_store::TicketUpdate { status: Some(sb_store::TicketStatus::Resolved), ..Default::default() }, &[], Utc::now()).await;
    assert!(resolved.is_ok(), "{resolved:?}");
    let again = server.get("/metrics", &reader).await;
    let expected = [r#"switchboard_http_requests_total{route="/metrics",method="GET",status="200"} 1"#, r#"switchboard_queue_depth{queue="human",status="open"} 0"#];
    check_samples(&again.text, &expected.map(String::from));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_need_a_token_unless_made_public() {
    // (metrics_public, credential, status)
    let cases = [(false, "none", StatusCode::UNAUTHORIZED), (false, "ingest", StatusCode::FORBIDDEN), (false, "read", StatusCode::OK), (true, "none", StatusCode::OK), (true, "ingest", StatusCode::OK)];
    for (metrics_public, who, expected) in cases {
        let server = TestServer::with_security(SecurityConfig { metrics_public, ..SecurityConfig::default() }).await;
        let credential = match who {
            "none" => Credential::None,
            "ingest" => server.token(&[Scope::Ingest]).await,
            _ => server.token(&[Scope::Read]).await,
        };
        let answer = server.get("/metrics", &credential).await;
        assert_eq!(answer.status, expected, "public={metrics_public} as {who}: {}", answer.text);
        if expected == StatusCode::OK {
            assert!(answer.text.contains("switchboard_build_info"), "{}", answer.text);
        }
    }
}

fn is_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.iter().map(|group| group.len()).collect::<Vec<_>>() == [8, 4, 4, 4, 12] && groups.iter().all(|group| group.chars().all(|character| character.is_ascii_hexdigit()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_ids_are_kept_when_valid_made_otherwise_and_echoed_in_errors() {
    let server = TestServer::new().await;
    // (incoming x-request-id, kept)
    let cases: [(Option<&str>, bool); 4] = [(Some("lb-7f3a.4711"), true), (None, false), (Some("two words"), false), (Some(&"x".repeat(200)), false)];
    let mut made = Vec::new();
    for (incoming, kept) in cases {
        for path in ["/health", "/api/v1/tickets"] {
            let mut builder = Request::builder().method(Method::GET).uri(path);
            if let Some(incoming) = incoming {
                builder = builder.header("x-request-id", incoming);
            }
            let answer = server.send(builder, None).await;
            let echoed = answer.headers.get("x-request-id").map(|value| value.to_str().unwrap().to_string()).unwrap_or_default();
            if kept {
                assert_eq!(Some(echoed.as_str()), incoming, "{path}");
            } else {
                assert!(is_uuid(&echoed), "{path}: {incoming:?} gave {echoed:?}");
                made.push(echoed.clone());
            }
            if path == "/api/v1/tickets" {
                // Unauthenticated: the error body names the same id, in the usual shape.
                assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
                assert_eq!(answer.body["error"]["code"], "unauthorized");
                assert_eq!(answer.body["error"]["request_id"].as_str(), Some(echoed.as_str()), "{answer:?}");
            }
        }
    }
    let n_made = made.len();
    made.sort();
    made.dedup();
    assert_eq!(made.len(), n_made, "every made id is new");
}
