//! `/ws` over a real socket: the session cookie opens it, ticket changes made through the API
//! arrive as events with increasing ids, a client that reconnects after its last id gets what
//! it missed, one whose id the server cannot replay is told to reset, and strangers and other
//! sites' pages are refused.

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::StreamExt;
use sb_store::Role;
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::support::{Credential, TestServer};

pub(crate) type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub(crate) async fn listen(server: &TestServer) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = server.app.clone().into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// Opens `/ws{query}` with the cookie of `credential` and, when given, an `Origin` header.
pub(crate) async fn open(addr: SocketAddr, query: &str, credential: &Credential, origin: Option<&str>) -> Result<Socket, tokio_tungstenite::tungstenite::Error> {
    let mut request = format!("ws://{addr}/ws{query}").into_client_request().unwrap();
    if let Credential::Cookie { session, .. } = credential {
        request.headers_mut().insert("cookie", format!("sb_session={session}").parse().unwrap());
    }
    if let Some(origin) = origin {
        request.headers_mut().insert("origin", origin.parse().unwrap());
    }
    tokio_tungstenite::connect_async(request).await.map(|(socket, _)| socket)
}

pub(crate) async fn next_json(socket: &mut Socket) -> Value {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), socket.next()).await.expect("an event within 10 s").expect("socket open").unwrap();
        if let Message::Text(text) = frame {
            return serde_json::from_str(&text).unwrap();
        }
    }
}

/// Reads events until one of `kind` about `ticket_id` arrives; returns it and the ids seen.
async fn until(socket: &mut Socket, kind: &str, ticket_id: i64) -> (Value, Vec<u64>) {
    let mut ids = Vec::new();
    loop {
        let event = next_json(socket).await;
        if let Some(id) = event["id"].as_u64() {
            ids.push(id);
        }
        if event["type"] == kind && event["ticket_id"] == ticket_id {
            return (event, ids);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_arrive_live_and_a_reconnect_resumes_after_the_last_id() {
    let server = TestServer::new().await;
    let addr = listen(&server).await;
    let agent = server.log_in(server.user(Role::Agent).await).await;
    let (ticket_id, _) = server.ticket("Where is my order A10493?").await;

    let mut socket = open(addr, "", &agent, Some(&format!("http://{addr}"))).await.expect("the session cookie opens the socket");
    let hello = next_json(&mut socket).await;
    assert_eq!(hello["type"], "hello", "{hello}");
    let epoch = hello["epoch"].as_str().unwrap().to_string();

    let answer = server.post(&format!("/api/v1/tickets/{ticket_id}/reply"), &agent, json!({"body": "It left our warehouse today."})).await;
    assert_eq!(answer.status, 201, "{answer:?}");
    let (added, _) = until(&mut socket, "message_added", ticket_id).await;
    assert_eq!(added["direction"], "outbound");
    assert!(added.get("body").is_none() && !added.to_string().contains("warehouse"), "events carry no message text: {added}");
    let (updated, _) = until(&mut socket, "ticket_updated", ticket_id).await;
    let last_seen = updated["id"].as_u64().unwrap();
    assert!(last_seen > added["id"].as_u64().unwrap(), "ids increase: {added} then {updated}");
    socket.close(None).await.unwrap();

    // Changes while disconnected are replayed, in order, after the last id seen.
    server.post(&format!("/api/v1/tickets/{ticket_id}/notes"), &agent, json!({"body": "Asked the carrier."})).await;
    server.post(&format!("/api/v1/tickets/{ticket_id}/status"), &agent, json!({"status": "pending"})).await;
    let mut resumed = open(addr, &format!("?after={last_seen}&epoch={epoch}"), &agent, None).await.unwrap();
    assert_eq!(next_json(&mut resumed).await["type"], "hello");
    let (note, ids) = until(&mut resumed, "message_added", ticket_id).await;
    assert_eq!((note["direction"].as_str(), ids.first().copied()), (Some("note"), Some(last_seen + 1)), "replay starts right after the last id");
    let (pending, more_ids) = until(&mut resumed, "ticket_updated", ticket_id).await;
    assert_eq!(pending["status"], "pending");
    let all_ids: Vec<u64> = ids.into_iter().chain(more_ids).collect();
    assert!(all_ids.windows(2).all(|pair| pair[1] == pair[0] + 1), "no gap, no double: {all_ids:?}");

    // An id from another process lifetime cannot be replayed: the client must reload.
    let mut stale = open(addr, &format!("?after={last_seen}&epoch=another-process"), &agent, None).await.unwrap();
    assert_eq!(next_json(&mut stale).await["type"], "hello");
    assert_eq!(next_json(&mut stale).await["type"], "reset");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strangers_and_other_sites_cannot_open_the_socket() {
    let server = TestServer::new().await;
    let addr = listen(&server).await;
    let viewer = server.log_in(server.user(Role::Viewer).await).await;
    let cases = [
        (Credential::None, None, Some(401)),
        (viewer.clone(), Some("http://evil.example".to_string()), Some(403)),
        (viewer.clone(), Some(format!("http://{addr}")), None),
    ];
    for (credential, origin, refused_with) in cases {
        let outcome = open(addr, "", &credential, origin.as_deref()).await;
        match (outcome, refused_with) {
            (Err(tokio_tungstenite::tungstenite::Error::Http(response)), Some(status)) => assert_eq!(response.status().as_u16(), status, "origin {origin:?}"),
            (Ok(_), None) => {}
            (outcome, expected) => panic!("origin {origin:?}: expected refusal {expected:?}, got {:?}", outcome.map(|_| "an open socket")),
        }
    }
}

/// Reads events until one of `kind` arrives.
async fn until_type(socket: &mut Socket, kind: &str) -> Value {
    loop {
        let event = next_json(socket).await;
        if event["type"] == kind {
            return event;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_and_metrics_ticks_arrive_live_without_personal_data() {
    let server = TestServer::new().await;
    let addr = listen(&server).await;
    let supervisor = server.log_in(server.user(Role::Supervisor).await).await;
    let mut socket = open(addr, "", &supervisor, None).await.unwrap();
    assert_eq!(next_json(&mut socket).await["type"], "hello");

    // A VIP customer's ticket waits for a person: the evaluator raises an alert, live.
    let (ticket_id, customer_id) = server.ticket("Where is my order A10493? I am a regular.").await;
    assert_eq!(server.post(&format!("/api/v1/tickets/{ticket_id}/escalate"), &supervisor, json!({"reason": "VIP waiting"})).await.status, 200);
    assert_eq!(server.post(&format!("/api/v1/customers/{customer_id}/vip"), &supervisor, json!({"vip": true})).await.status, 200);
    let round = server.service.evaluate_alerts(chrono::Utc::now()).await.unwrap();
    assert_eq!(round.raised, vec![format!("vip_ticket:{ticket_id}")]);
    let raised = until_type(&mut socket, "alert_raised").await;
    assert_eq!((raised["rule"].as_str(), raised["severity"].as_str()), (Some("vip_ticket"), Some("info")), "{raised}");
    assert!(raised.get("title").is_none() && !raised.to_string().contains("order"), "the event names no subject: {raised}");

    // A supervisor resolves it: the feed hears that too.
    let alert_id = raised["alert_id"].as_i64().unwrap();
    assert_eq!(server.post(&format!("/api/v1/alerts/{alert_id}/resolve"), &supervisor, json!({})).await.status, 200);
    let resolved = until_type(&mut socket, "alert_resolved").await;
    assert_eq!(resolved["alert_id"], alert_id);

    // The ticker publishes the tile figures: counts, no personal data.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let service = server.service.clone();
    let ticker = tokio::spawn(async move { service.run_metrics_ticker(Duration::from_millis(50), stopped).await });
    let tick = until_type(&mut socket, "metrics_tick").await;
    stop.send(true).unwrap();
    ticker.await.unwrap();
    let metrics = &tick["metrics"];
    assert_eq!(metrics["queue_depth"], 1, "the escalated ticket waits for a person: {tick}");
    assert_eq!(metrics["arrivals_today"], 1, "{tick}");
    assert!(!tick.to_string().contains("Ana") && !tick.to_string().contains("example.com"), "no personal data: {tick}");
}
