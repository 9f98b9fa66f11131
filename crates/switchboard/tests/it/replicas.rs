//! Two `switchboard serve` processes on one PostgreSQL database share their live events
//! (LISTEN/NOTIFY): a console's WebSocket on replica B hears of a message posted to replica A,
//! a chat customer connected to B gets the agent's reply sent through A, each event exactly once
//! and under B's own ids, and B's own events are not echoed back to it.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use crate::serve::{create_token, post, Server, TestDatabase};

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens `/ws{query}` on `server`, with `token` as bearer when given.
async fn open(server: &Server, query: &str, token: Option<&str>) -> Socket {
    let url = format!("{}/ws{query}", server.base_url.replace("http://", "ws://"));
    let mut request = url.into_client_request().unwrap();
    if let Some(token) = token {
        request.headers_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    }
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.expect("the socket opens");
    assert_eq!(next_json(&mut socket).await["type"], "hello");
    socket
}

async fn next_json(socket: &mut Socket) -> Value {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), socket.next()).await.expect("an event within 10 s").expect("socket open").unwrap();
        if let Message::Text(text) = frame {
            return serde_json::from_str(&text).unwrap();
        }
    }
}

/// The events (type, ticket) that arrive within `quiet` of each other, until none does.
async fn events_until_quiet(socket: &mut Socket, quiet: Duration) -> Vec<Value> {
    let mut events = Vec::new();
    while let Ok(Some(Ok(frame))) = tokio::time::timeout(quiet, socket.next()).await {
        if let Message::Text(text) = frame {
            events.push(serde_json::from_str(&text).unwrap());
        }
    }
    events
}

fn summary(events: &[Value], ticket_id: i64) -> Vec<(String, String)> {
    events
        .iter()
        .filter(|event| event["ticket_id"] == ticket_id)
        .map(|event| (event["type"].as_str().unwrap_or_default().to_string(), event["direction"].as_str().unwrap_or_default().to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_sent_through_one_replica_reaches_a_customer_connected_to_another() {
    let database = TestDatabase::new(true).await;
    let token = create_token(&database.url, "ingest,read,write");
    let replica_a = Server::start(&database.url).await;
    let replica_b = Server::start(&database.url).await;
    let client = reqwest::Client::new();
    let mut console_b = open(&replica_b, "", Some(&token)).await;

    // A message posted to A: B's console hears the new ticket and its message, once each.
    let (status, created) = post(&client, &format!("{}/api/v1/messages", replica_a.base_url), Some(&token), "application/json", json!({"channel": "api", "text": "My parcel never arrived, where is it?", "customer": {"email": "ana.silva@example.com"}}).to_string()).await;
    assert_eq!(status, 201, "{created}");
    let ticket_id = created["ticket_id"].as_i64().unwrap();
    let events = events_until_quiet(&mut console_b, Duration::from_secs(3)).await;
    let heard = summary(&events, ticket_id);
    assert!(heard.starts_with(&[("ticket_created".into(), String::new()), ("message_added".into(), "inbound".into())]), "{heard:?}");
    assert_eq!(heard.iter().filter(|(kind, _)| kind == "message_added").count(), 1, "once: {heard:?}");
    let added = events.iter().find(|event| event["type"] == "message_added").unwrap();
    assert_eq!(added["message_id"], created["message_id"]);
    assert!(!added.to_string().contains("parcel") && !added.to_string().contains("ana.silva"), "no text or contact travels: {added}");
    // B numbers them itself: one gap-free sequence for its own clients.
    let ids: Vec<u64> = events.iter().filter_map(|event| event["id"].as_u64()).collect();
    assert!(ids.windows(2).all(|pair| pair[1] == pair[0] + 1), "B's ids follow on: {ids:?}");

    // A chat customer starts a conversation on B and listens on B.
    let (status, started) = post(&client, &format!("{}/api/v1/chat/conversations", replica_b.base_url), None, "application/json", json!({"name": "Tom Berg", "email": "tom.berg@example.com"}).to_string()).await;
    assert_eq!(status, 201, "{started}");
    let (conversation_id, secret) = (started["conversation_id"].as_i64().unwrap(), started["token"].as_str().unwrap().to_string());
    let (status, sent) = post(&client, &format!("{}/api/v1/chat/conversations/{conversation_id}/messages", replica_b.base_url), Some(&secret), "application/json", json!({"text": "Do you ship to Canada?", "client_message_id": "t-1"}).to_string()).await;
    assert!(status == 201 || status == 200, "{status} {sent}");
    let chat_ticket = sent["ticket_id"].as_i64().unwrap();
    let mut customer_b = open(&replica_b, &format!("?chat_token={secret}"), None).await;
    // B's own events reached A's listeners, not B's twice: the console on B heard them once.
    let own = summary(&events_until_quiet(&mut console_b, Duration::from_secs(2)).await, chat_ticket);
    assert_eq!(own.iter().filter(|(kind, direction)| kind == "message_added" && direction == "inbound").count(), 1, "B's own event once: {own:?}");

    // The agent answers through A; the customer on B hears of the reply.
    let (status, reply) = post(&client, &format!("{}/api/v1/tickets/{chat_ticket}/reply", replica_a.base_url), Some(&token), "application/json", json!({"body": "Yes, we ship to Canada."}).to_string()).await;
    assert_eq!(status, 201, "{reply}");
    let heard = next_json(&mut customer_b).await;
    assert_eq!((heard["type"].as_str(), heard["ticket_id"].as_i64(), heard["message_id"].as_i64()), (Some("message_added"), Some(chat_ticket), reply["message_id"].as_i64()), "{heard}");
    // The customer reads it through the chat API of the replica it is connected to.
    let response = client.get(format!("{}/api/v1/chat/conversations/{conversation_id}/messages", replica_b.base_url)).bearer_auth(&secret).send().await.unwrap();
    let history: Value = response.json().await.unwrap();
    assert!(history.to_string().contains("we ship to Canada"), "{history}");
    // Only its own conversation's messages, nothing else relayed from A.
    let rest = events_until_quiet(&mut customer_b, Duration::from_millis(700)).await;
    assert!(rest.iter().all(|event| event["ticket_id"] == chat_ticket && event["type"] == "message_added"), "{rest:?}");

    drop(replica_a);
    drop(replica_b);
    database.drop_database().await;
}
