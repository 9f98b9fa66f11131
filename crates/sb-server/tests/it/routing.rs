//! Live routing over HTTP (skills set by an admin, presence set by the agent, the profile list),
//! and the satisfaction survey mailed when an agent resolves an email ticket: its public page,
//! its form, and what it refuses.

use axum::http::{Method, StatusCode};
use chrono::{TimeDelta, Utc};
use sb_store::{Direction, NewOutbound, Role, Scope};
use serde_json::json;

use crate::support::{Credential, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_set_skills_and_agents_their_presence() {
    let server = TestServer::new().await;
    let admin = server.log_in(server.user(Role::Admin).await).await;
    let agent_id = server.user(Role::Agent).await;
    let agent = server.log_in(agent_id).await;
    let supervisor = server.log_in(server.user(Role::Supervisor).await).await;

    let skills = json!({"intents": ["track_order", "return_refund"], "languages": ["EN", "es"], "safety": true, "max_open_tickets": 4});
    let set = server.request(Method::PUT, &format!("/api/v1/users/{agent_id}/routing"), &admin, Some(&skills)).await;
    assert_eq!(set.status, StatusCode::OK, "{set:?}");
    assert_eq!(set.body["agent"]["skills"], json!({"intents": ["return_refund", "track_order"], "languages": ["en", "es"], "channels": [], "safety": true, "max_open_tickets": 4, "max_chats": 3}));
    assert_eq!((set.body["agent"]["status"].as_str(), set.body["agent"]["present"].as_bool()), (Some("away"), Some(false)));
    for (body, code) in [
        (json!({"intents": ["world_peace"]}), "invalid"),
        (json!({"max_open_tickets": 5000}), "invalid"),
        (json!({"languages": "en"}), "invalid_field"),
        (json!({"skill": "x"}), "invalid_field"),
    ] {
        let refused = server.request(Method::PUT, &format!("/api/v1/users/{agent_id}/routing"), &admin, Some(&body)).await;
        assert_eq!((refused.status, refused.body["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(code)), "{body}: {refused:?}");
    }
    assert_eq!(server.request(Method::PUT, "/api/v1/users/999999/routing", &admin, Some(&json!({}))).await.status, StatusCode::NOT_FOUND);

    // The agent becomes available: present while the heartbeat is fresh.
    let mine = server.get("/api/v1/me/presence", &agent).await;
    assert_eq!((mine.body["agent"]["present"].as_bool(), mine.body["heartbeat_seconds"].as_u64()), (Some(false), Some(30)), "{mine:?}");
    let available = server.request(Method::PUT, "/api/v1/me/presence", &agent, Some(&json!({"status": "available"}))).await;
    assert_eq!((available.status, available.body["agent"]["present"].as_bool()), (StatusCode::OK, Some(true)), "{available:?}");
    let beat = server.post("/api/v1/me/presence/heartbeat", &agent, json!({})).await;
    assert_eq!(beat.body["agent"]["status"], "available");
    let refused = server.request(Method::PUT, "/api/v1/me/presence", &agent, Some(&json!({"status": "busy"}))).await;
    assert_eq!(refused.body["error"]["code"], "invalid_field", "{refused:?}");
    let list = server.get("/api/v1/agents/routing", &supervisor).await;
    assert_eq!(list.body["routing_enabled"], true);
    let listed = list.body["agents"].as_array().unwrap().iter().find(|profile| profile["user_id"] == agent_id).cloned().unwrap();
    assert_eq!((listed["present"].as_bool(), listed["skills"]["max_open_tickets"].as_i64()), (Some(true), Some(4)));
    // Presence is a person's: a token, even an admin one, has none.
    let token = server.token(&[Scope::Admin]).await;
    assert_eq!(server.get("/api/v1/me/presence", &token).await.status, StatusCode::FORBIDDEN);

    let audit = server.service.store().list_audit(Some(("user", &agent_id.to_string())), 20).await.unwrap();
    let actions: Vec<&str> = audit.iter().map(|entry| entry.action.as_str()).collect();
    assert!(actions.contains(&"agent.routing_changed") && actions.contains(&"agent.presence_changed"), "{actions:?}");
    // Only one routing change was stored: the refused ones left nothing.
    assert_eq!(actions.iter().filter(|action| **action == "agent.routing_changed").count(), 1);
}

/// The survey link in the ticket's outbound mails, if any: (count of survey mails, secret).
async fn survey_mails(server: &TestServer, ticket_id: i64) -> (usize, Option<String>) {
    let messages = server.service.store().ticket_messages(ticket_id).await.unwrap();
    let surveys: Vec<_> = messages.iter().filter(|message| message.direction == Direction::Outbound && message.metadata.as_ref().is_some_and(|metadata| metadata["csat_survey"] == true)).collect();
    let secret = surveys.first().and_then(|message| message.body.split("/rate/").nth(1)).map(|rest| rest.split_whitespace().next().unwrap_or_default().to_string());
    (surveys.len(), secret)
}

async fn form_post(server: &TestServer, path: &str, form: &str) -> crate::support::Answer {
    server.request_raw(Method::POST, path, &Credential::None, Some("application/x-www-form-urlencoded"), form.as_bytes().to_vec()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_resolving_an_email_ticket_mails_a_survey_link_once() {
    let server = TestServer::new().await;
    let agent = server.log_in(server.user(Role::Agent).await).await;
    let (ticket_id, _) = server.ticket("Where is my order A10493?").await;
    let resolved = server.post(&format!("/api/v1/tickets/{ticket_id}/status"), &agent, json!({"status": "resolved"})).await;
    assert_eq!(resolved.status, StatusCode::OK, "{resolved:?}");
    let (n_surveys, secret) = survey_mails(&server, ticket_id).await;
    let secret = secret.expect("the mail carries the link");
    assert_eq!(n_surveys, 1);
    assert!(secret.starts_with("sbr_") && secret.len() > 40, "{secret}");
    let outbox = server.service.store().ticket_messages(ticket_id).await.unwrap();
    assert!(outbox.iter().any(|message| message.body.contains(&format!("http://127.0.0.1:8080/rate/{secret}"))), "the link uses the public url");

    // The page: a form, no login, no script, nothing about the ticket.
    let page = server.get(&format!("/rate/{secret}"), &Credential::None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("name=\"rating\" value=\"5\"") && page.text.contains(&format!("action=\"/rate/{secret}\"")), "{}", page.text);
    assert!(!page.text.contains("<script") && !page.text.contains("A10493") && !page.text.contains("About my order"));
    assert!(page.headers.get("content-security-policy").unwrap().to_str().unwrap().contains("default-src 'none'"));

    // Bad input: the form again, nothing stored.
    for form in ["comment=nice", "rating=9", "rating=x"] {
        let refused = form_post(&server, &format!("/rate/{secret}"), form).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{form}");
        assert!(refused.text.contains("role=\"alert\""), "{form}");
    }
    let too_long = form_post(&server, &format!("/rate/{secret}"), &format!("rating=3&comment={}", "a".repeat(1_001))).await;
    assert_eq!(too_long.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(server.service.store().ticket_csat(ticket_id).await.unwrap(), None);

    let thanks = form_post(&server, &format!("/rate/{secret}"), "rating=4&comment=Quick+%26+kind").await;
    assert_eq!(thanks.status, StatusCode::OK, "{}", thanks.text);
    let rating = server.service.store().ticket_csat(ticket_id).await.unwrap().unwrap();
    assert_eq!((rating.rating, rating.comment.as_deref(), rating.source.as_str()), (4, Some("Quick & kind"), "email"));
    // Opened again, the page shows the rating given, escaped.
    let again = server.get(&format!("/rate/{secret}"), &Credential::None).await;
    assert!(again.text.contains("value=\"4\" required checked") && again.text.contains("Quick &amp; kind"), "{}", again.text);

    // Reopened and resolved again: no second mail.
    server.post(&format!("/api/v1/tickets/{ticket_id}/status"), &agent, json!({"status": "open"})).await;
    server.post(&format!("/api/v1/tickets/{ticket_id}/status"), &agent, json!({"status": "resolved"})).await;
    assert_eq!(survey_mails(&server, ticket_id).await.0, 1);

    // Unknown and expired links.
    assert_eq!(server.get("/rate/sbr_0000", &Credential::None).await.status, StatusCode::NOT_FOUND);
    assert_eq!(form_post(&server, "/rate/nothing", "rating=5").await.status, StatusCode::NOT_FOUND);
    let (old_ticket, _) = server.ticket("Old question").await;
    let outbound = NewOutbound { direction: Direction::Outbound, channel: sb_domain::Channel::Email, author_user_id: None, subject: None, body: "survey".into(), recipient: Some("a@example.com".into()), metadata: None };
    let created = Utc::now() - TimeDelta::days(40);
    server.service.store().create_csat_survey(old_ticket, &sb_store::secret_hash("sbr_old-link"), created + TimeDelta::days(30), &outbound, &[], created).await.unwrap();
    assert_eq!(server.get("/rate/sbr_old-link", &Credential::None).await.status, StatusCode::GONE);
    assert_eq!(form_post(&server, "/rate/sbr_old-link", "rating=5").await.status, StatusCode::GONE);

    // Resolved by a token (an integration) or on another channel: no survey.
    let token = server.token(&[Scope::Write]).await;
    let (by_token, _) = server.ticket("Another question").await;
    server.post(&format!("/api/v1/tickets/{by_token}/status"), &token, json!({"status": "resolved"})).await;
    assert_eq!(survey_mails(&server, by_token).await.0, 0);
}
