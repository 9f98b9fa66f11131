//! The public chat API of the widget: starting a conversation without an API token, the
//! conversation's secret as its only key (a wrong one is 401, another conversation's id 404),
//! bad input refused with its stable code, a retried send stored once, a history that holds
//! the customer's messages and the replies but never notes or other conversations, replies
//! marked sent, the origin rules, the per-IP limit on starts, and `/ws` with a conversation's
//! secret hearing of its own conversation only.

use std::time::Duration;

use axum::http::{Method, StatusCode};
use chrono::Utc;
use sb_domain::Channel;
use sb_server::{ChatConfig, RateLimit, SecurityConfig};
use sb_service::actions::Actor;
use sb_store::Role;
use serde_json::{json, Value};

use crate::live::{listen, next_json, open};
use crate::support::{Credential, TestServer};

/// A started conversation: its id and its secret as a credential.
async fn start(server: &TestServer, name: &str, email: &str) -> (i64, Credential) {
    let answer = server.post("/api/v1/chat/conversations", &Credential::None, json!({"name": name, "email": email})).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{answer:?}");
    let token = answer.body["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("sbc_"), "{token}");
    (answer.body["conversation_id"].as_i64().unwrap(), Credential::Bearer(token))
}

async fn send(server: &TestServer, conversation_id: i64, credential: &Credential, text: &str, client_message_id: &str) -> crate::support::Answer {
    server.post(&format!("/api/v1/chat/conversations/{conversation_id}/messages"), credential, json!({"text": text, "client_message_id": client_message_id})).await
}

async fn history(server: &TestServer, conversation_id: i64, credential: &Credential) -> Vec<Value> {
    let answer = server.get(&format!("/api/v1/chat/conversations/{conversation_id}/messages"), credential).await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    answer.body["messages"].as_array().unwrap().clone()
}

fn code(answer: &crate::support::Answer) -> &str {
    answer.body["error"]["code"].as_str().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conversation_opens_only_with_its_own_secret_and_bad_input_is_refused() {
    let server = TestServer::new().await;
    let (ana_id, ana) = start(&server, "Ana Silva", "ana.silva@example.com").await;
    let (tom_id, tom) = start(&server, "Tom Berg", "tom.berg@example.com").await;
    let staff_token = server.token(&[sb_store::Scope::Admin]).await;
    let messages = |id: i64| format!("/api/v1/chat/conversations/{id}/messages");

    // Starting: the name and an email are required.
    for body in [json!({"name": "", "email": "a@example.com"}), json!({"name": "Ana", "email": "not-an-email"}), json!({"name": "Ana", "email": "ana@example"}), json!({"name": "Ana"})] {
        let answer = server.post("/api/v1/chat/conversations", &Credential::None, body.clone()).await;
        assert_eq!((answer.status, code(&answer)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_field"), "{body}: {answer:?}");
    }

    // (who, conversation, body, expected status, expected code)
    let cases: Vec<(&str, Credential, i64, Value, StatusCode, &str)> = vec![
        ("no secret", Credential::None, ana_id, json!({"text": "hi", "client_message_id": "a"}), StatusCode::UNAUTHORIZED, "unauthorized"),
        ("a made-up secret", Credential::Bearer("sbc_0000".into()), ana_id, json!({"text": "hi", "client_message_id": "a"}), StatusCode::UNAUTHORIZED, "unauthorized"),
        ("an admin API token", staff_token.clone(), ana_id, json!({"text": "hi", "client_message_id": "a"}), StatusCode::UNAUTHORIZED, "unauthorized"),
        ("Tom's secret on Ana's conversation", tom.clone(), ana_id, json!({"text": "hi", "client_message_id": "a"}), StatusCode::NOT_FOUND, "not_found"),
        ("blank text", ana.clone(), ana_id, json!({"text": "  \n ", "client_message_id": "a"}), StatusCode::UNPROCESSABLE_ENTITY, "empty_text"),
        ("5,001 characters", ana.clone(), ana_id, json!({"text": "x".repeat(5_001), "client_message_id": "a"}), StatusCode::UNPROCESSABLE_ENTITY, "text_too_long"),
        ("no client id", ana.clone(), ana_id, json!({"text": "hi"}), StatusCode::UNPROCESSABLE_ENTITY, "invalid_field"),
        ("a blank client id", ana.clone(), ana_id, json!({"text": "hi", "client_message_id": " "}), StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
        ("an unknown field", ana.clone(), ana_id, json!({"text": "hi", "client_message_id": "a", "ticket_id": 1}), StatusCode::UNPROCESSABLE_ENTITY, "invalid_field"),
    ];
    for (who, credential, conversation_id, body, status, expected_code) in cases {
        let answer = server.post(&messages(conversation_id), &credential, body).await;
        assert_eq!((answer.status, code(&answer)), (status, expected_code), "{who}: {answer:?}");
    }
    let oversized = format!("{{\"text\": \"{}\", \"client_message_id\": \"a\"}}", "x".repeat(60_000));
    let answer = server.request_raw(Method::POST, &messages(ana_id), &ana, Some("application/json"), oversized.into_bytes()).await;
    assert_eq!((answer.status, code(&answer)), (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"), "{answer:?}");
    let answer = server.request_raw(Method::POST, &messages(ana_id), &ana, Some("text/plain"), b"hi".to_vec()).await;
    assert_eq!(answer.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    for (credential, conversation_id, expected) in [(&tom, ana_id, StatusCode::NOT_FOUND), (&Credential::None, tom_id, StatusCode::UNAUTHORIZED), (&tom, tom_id, StatusCode::OK)] {
        assert_eq!(server.get(&messages(conversation_id), credential).await.status, expected);
        assert_eq!(server.get(&format!("/api/v1/chat/conversations/{conversation_id}"), credential).await.status, expected);
    }
    assert!(history(&server, ana_id, &ana).await.is_empty(), "nothing refused was stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_send_is_stored_once_and_the_customer_reads_replies_but_never_notes() {
    let server = TestServer::new().await;
    let (ana_id, ana) = start(&server, "Ana Silva", "ana.silva@example.com").await;
    let (tom_id, tom) = start(&server, "Tom Berg", "tom.berg@example.com").await;

    let first = send(&server, ana_id, &ana, "Where is my order #A10493?", "client-1").await;
    assert_eq!(first.status, StatusCode::CREATED, "{first:?}");
    let retried = send(&server, ana_id, &ana, "Where is my order #A10493?", "client-1").await;
    assert_eq!(retried.status, StatusCode::OK, "{retried:?}");
    assert_eq!((retried.body["duplicate"].as_bool(), &retried.body["message_id"]), (Some(true), &first.body["message_id"]));
    // Tom's client may pick the same id: his message is his own.
    let toms = send(&server, tom_id, &tom, "Do you ship to Canada?", "client-1").await;
    assert_eq!(toms.status, StatusCode::CREATED, "{toms:?}");
    assert_ne!(toms.body["ticket_id"], first.body["ticket_id"]);
    let second = send(&server, ana_id, &ana, "It was due on Monday.", "client-2").await;
    assert_eq!(second.body["ticket_id"], first.body["ticket_id"], "one conversation, one ticket");

    // The ticket is an ordinary chat ticket of the customer who started the chat.
    let ticket_id = first.body["ticket_id"].as_i64().unwrap();
    let ticket = server.service.store().ticket(ticket_id).await.unwrap();
    assert_eq!((ticket.channel, ticket.conversation_key.as_deref()), (Channel::Chat, Some(format!("chat-{ana_id}").as_str())));
    let customer = server.service.store().customer(ticket.customer_id.unwrap()).await.unwrap();
    assert_eq!((customer.email.as_deref(), customer.name.as_deref()), (Some("ana.silva@example.com"), Some("Ana Silva")));

    // An agent notes and replies: the customer reads the reply (with the agent's first name), not the note.
    let agent_id = server.user(Role::Agent).await;
    let actor = Actor::user(agent_id);
    server.service.add_ticket_note(ticket_id, "Carrier says it is stuck in Leipzig.", &actor).await.unwrap();
    server.service.reply_to_ticket(ticket_id, "Your parcel arrives tomorrow.", &actor).await.unwrap();
    let messages = history(&server, ana_id, &ana).await;
    let seen: Vec<(&str, &str)> = messages.iter().map(|message| (message["from"].as_str().unwrap(), message["text"].as_str().unwrap())).collect();
    assert_eq!(seen, vec![("customer", "Where is my order #A10493?"), ("customer", "It was due on Monday."), ("agent", "Your parcel arrives tomorrow.")]);
    assert_eq!(messages[2]["agent_name"], "Test");
    assert!(!serde_json::to_string(&messages).unwrap().contains("Leipzig"), "no internal note");
    let toms_history = history(&server, tom_id, &tom).await;
    assert_eq!(toms_history.len(), 1, "Tom reads only his own: {toms_history:?}");
    let after = messages[1]["id"].as_i64().unwrap();
    let newer = server.get(&format!("/api/v1/chat/conversations/{ana_id}/messages?after={after}"), &ana).await;
    assert_eq!(newer.body["messages"].as_array().unwrap().len(), 1, "`after` skips what the widget shows");

    // The chat reply is delivered: nothing of the chat channel waits in the outbox.
    let now = Utc::now();
    let waiting = server.service.store().claim_outbox(Channel::Chat, "test", now, now + chrono::TimeDelta::seconds(30), 10).await.unwrap();
    assert!(waiting.is_empty(), "chat replies are marked sent: {waiting:?}");

    // Typing needs the conversation's secret, like everything else.
    assert_eq!(server.request(Method::POST, &format!("/api/v1/chat/conversations/{ana_id}/typing"), &ana, None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(server.request(Method::POST, &format!("/api/v1/chat/conversations/{ana_id}/typing"), &tom, None).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_sites_are_refused_unless_allowed_and_starts_are_limited_per_ip() {
    let chat = ChatConfig { allowed_origins: vec!["https://shop.example".into()], starts_per_ip_per_minute: RateLimit { rate: 1, burst: 2 }, ..ChatConfig::default() };
    let server = TestServer::with_security(SecurityConfig { chat, ..SecurityConfig::default() }).await;
    let with_origin = |method: Method, origin: &str| axum::http::Request::builder().method(method).uri("/api/v1/chat/status").header("host", "support.example").header("origin", origin);

    let answer = server.send(with_origin(Method::GET, "https://evil.example"), None).await;
    assert_eq!((answer.status, code(&answer)), (StatusCode::FORBIDDEN, "forbidden"), "{answer:?}");
    let answer = server.send(with_origin(Method::GET, "https://support.example"), None).await;
    assert_eq!(answer.status, StatusCode::OK, "the widget's own page");
    assert!(answer.headers.get("access-control-allow-origin").is_none());
    let answer = server.send(with_origin(Method::GET, "https://shop.example"), None).await;
    assert_eq!((answer.status, answer.headers.get("access-control-allow-origin").and_then(|value| value.to_str().ok())), (StatusCode::OK, Some("https://shop.example")));
    let preflight = server.send(with_origin(Method::OPTIONS, "https://shop.example").header("access-control-request-method", "POST"), None).await;
    assert_eq!(preflight.status, StatusCode::NO_CONTENT);
    assert!(preflight.headers["access-control-allow-headers"].to_str().unwrap().contains("authorization"));
    assert_eq!(server.send(with_origin(Method::OPTIONS, "https://evil.example"), None).await.status, StatusCode::FORBIDDEN);

    let statuses: Vec<u16> = {
        let mut statuses = Vec::new();
        for number in 0..3 {
            statuses.push(server.post("/api/v1/chat/conversations", &Credential::None, json!({"name": "Ana", "email": format!("ana{number}@example.com")})).await.status.as_u16());
        }
        statuses
    };
    assert_eq!(statuses, vec![201, 201, 429], "the burst, then the per-IP limit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_socket_hears_its_own_conversation_only_and_agents_count_as_online() {
    let server = TestServer::new().await;
    let addr = listen(&server).await;
    let (ana_id, ana) = start(&server, "Ana Silva", "ana.silva@example.com").await;
    let (tom_id, tom) = start(&server, "Tom Berg", "tom.berg@example.com").await;
    let ana_ticket = send(&server, ana_id, &ana, "Where is my order #A10493?", "a1").await.body["ticket_id"].as_i64().unwrap();
    let tom_ticket = send(&server, tom_id, &tom, "Do you ship to Canada?", "t1").await.body["ticket_id"].as_i64().unwrap();
    let Credential::Bearer(ana_secret) = &ana else { unreachable!() };

    assert_eq!(server.get("/api/v1/chat/status", &Credential::None).await.body["agents_online"], false);
    let agent_id = server.user(Role::Agent).await;
    let agent = server.log_in(agent_id).await;
    let agent_socket = open(addr, "", &agent, None).await.unwrap();
    assert_eq!(server.get("/api/v1/chat/status", &Credential::None).await.body["agents_online"], true, "an agent with the console open");

    let refused = open(addr, "?chat_token=sbc_wrong", &Credential::None, None).await;
    assert!(matches!(refused, Err(tokio_tungstenite::tungstenite::Error::Http(ref response)) if response.status() == 401), "a wrong secret is refused");
    let mut customer = open(addr, &format!("?chat_token={ana_secret}"), &Credential::None, Some(&format!("http://{addr}"))).await.expect("the secret opens the socket");
    assert_eq!(next_json(&mut customer).await["type"], "hello");

    // Tom's ticket gets a reply and a note; Ana's gets a note, typing, then a reply.
    let actor = Actor::user(agent_id);
    server.service.reply_to_ticket(tom_ticket, "Yes, we ship to Canada.", &actor).await.unwrap();
    server.service.add_ticket_note(ana_ticket, "VIP? check.", &actor).await.unwrap();
    assert_eq!(server.post(&format!("/api/v1/tickets/{ana_ticket}/typing"), &agent, json!({})).await.status, StatusCode::NO_CONTENT);
    let typing = next_json(&mut customer).await;
    assert_eq!((typing["type"].as_str(), typing["party"].as_str(), typing["ticket_id"].as_i64()), (Some("typing"), Some("agent"), Some(ana_ticket)), "{typing}");
    server.service.reply_to_ticket(ana_ticket, "It arrives tomorrow.", &actor).await.unwrap();
    let added = next_json(&mut customer).await;
    assert_eq!((added["type"].as_str(), added["ticket_id"].as_i64()), (Some("message_added"), Some(ana_ticket)), "the first event after typing is Ana's reply: {added}");
    assert!(added.get("direction").is_none() && added.get("status").is_none(), "no internal labels: {added}");
    // Nothing else comes: not Tom's reply, not the note, not ticket states.
    let quiet = tokio::time::timeout(Duration::from_millis(500), next_json(&mut customer)).await;
    assert!(quiet.is_err(), "nothing more for Ana: {quiet:?}");

    drop(agent_socket);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while server.get("/api/v1/chat/status", &Credential::None).await.body["agents_online"] == true {
        assert!(std::time::Instant::now() < deadline, "the agent left: offline again");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_rates_a_resolved_conversation_and_a_survey_tool_rates_a_ticket() {
    let server = TestServer::new().await;
    let (conversation_id, secret) = start(&server, "Ana Silva", "ana.rates@example.com").await;
    let rating_path = format!("/api/v1/chat/conversations/{conversation_id}/rating");
    // Nothing to rate before a message, nor while the ticket is open.
    let early = server.post(&rating_path, &secret, json!({"rating": 5})).await;
    assert_eq!((early.status, code(&early)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid"), "{early:?}");
    let sent = send(&server, conversation_id, &secret, "Where is my parcel?", "r-1").await;
    let ticket_id = sent.body["ticket_id"].as_i64().unwrap();
    let open = server.post(&rating_path, &secret, json!({"rating": 5})).await;
    assert_eq!((open.status, code(&open)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid"), "{open:?}");

    // An agent takes it and resolves it; the customer rates, then changes their mind.
    let agent_id = server.user(Role::Agent).await;
    let actor = Actor { audit_name: format!("user:{agent_id}"), user_id: Some(agent_id) };
    server.service.assign_ticket(ticket_id, Some(agent_id), &actor).await.unwrap();
    server.service.set_ticket_status(ticket_id, sb_store::TicketStatus::Resolved, &actor).await.unwrap();
    for (body, status, error_code) in [
        (json!({"rating": 0}), StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
        (json!({"rating": 6}), StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
        (json!({"rating": "five"}), StatusCode::UNPROCESSABLE_ENTITY, "invalid_field"),
        (json!({"rating": 4, "comment": "x".repeat(1001)}), StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
        (json!({"rating": 4, "stars": 4}), StatusCode::UNPROCESSABLE_ENTITY, "invalid_field"),
    ] {
        let answer = server.post(&rating_path, &secret, body.clone()).await;
        assert_eq!((answer.status, code(&answer)), (status, error_code), "{body}: {answer:?}");
    }
    assert_eq!(server.service.store().ticket_csat(ticket_id).await.unwrap(), None, "nothing stored for refused ratings");
    let rated = server.post(&rating_path, &secret, json!({"rating": 2, "comment": "took long"})).await;
    assert_eq!(rated.status, StatusCode::OK, "{rated:?}");
    assert_eq!((rated.body["rating"].as_i64(), rated.body["agent_user_id"].as_i64(), rated.body["source"].as_str()), (Some(2), Some(agent_id), Some("chat")));
    let again = server.post(&rating_path, &secret, json!({"rating": 4, "comment": "  "})).await;
    assert_eq!((again.body["rating"].as_i64(), again.body["comment"].clone()), (Some(4), Value::Null));
    // Another conversation's secret cannot rate this one.
    let (_, other) = start(&server, "Tom Berg", "tom.rates@example.com").await;
    assert_eq!(server.post(&rating_path, &other, json!({"rating": 1})).await.status, StatusCode::NOT_FOUND);

    // A survey tool with a write token rates a resolved ticket through the API; agents may not.
    let survey = server.token(&[sb_store::Scope::Write]).await;
    let agent = server.log_in(agent_id).await;
    let csat_path = format!("/api/v1/tickets/{ticket_id}/csat");
    assert_eq!(server.post(&csat_path, &agent, json!({"rating": 5})).await.status, StatusCode::FORBIDDEN, "an agent does not rate their own work");
    let recorded = server.post(&csat_path, &survey, json!({"rating": 3})).await;
    assert_eq!((recorded.status, recorded.body["source"].as_str()), (StatusCode::OK, Some("api")), "{recorded:?}");
    assert_eq!(server.post("/api/v1/tickets/999999/csat", &survey, json!({"rating": 3})).await.status, StatusCode::NOT_FOUND);
    let audit = server.service.store().list_audit(Some(("ticket", &ticket_id.to_string())), 20).await.unwrap();
    assert_eq!(audit.iter().filter(|entry| entry.action == "csat.recorded").count(), 3);

    // The agent-performance report counts the latest rating.
    let reader = server.token(&[sb_store::Scope::Read]).await;
    let report = server.get("/api/v1/reports/agents", &reader).await;
    assert_eq!(report.status, StatusCode::OK, "{report:?}");
    let row = report.body["rows"].as_array().unwrap().iter().find(|row| row["user_id"] == agent_id).cloned().unwrap_or_default();
    assert_eq!((row["n_csat"].as_i64(), row["avg_csat"].as_f64()), (Some(1), Some(3.0)), "{}", report.body);
}
