//! `POST /api/v1/tickets/{id}/transfer` and `GET /api/v1/agents`: a ticket handed to another
//! agent or queue with a note in one change (audited, announced live), into the safety queue
//! as a safety escalation would, never out of it, and each refusal with its own code and
//! nothing written.

use axum::http::StatusCode;
use sb_service::EventKind;
use sb_store::{Direction, Role, Scope};
use serde_json::json;

use crate::support::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ticket_moves_to_an_agent_or_queue_with_its_note_and_never_leaves_the_safety_queue() {
    let server = TestServer::new().await;
    let alex = server.user(Role::Agent).await;
    let blake = server.user(Role::Agent).await;
    let as_alex = server.log_in(alex).await;
    let as_blake = server.log_in(blake).await;
    let admin = server.token(&[Scope::Admin]).await;
    let (ticket_id, _) = server.ticket("Where is my order A10493?").await;
    let url = format!("/api/v1/tickets/{ticket_id}/transfer");
    let mut events = server.service.events().subscribe(None).receiver;

    // Alex takes it, then hands it to Blake with a note: one change, one note, one audit entry.
    assert_eq!(server.post(&format!("/api/v1/tickets/{ticket_id}/assign"), &as_alex, json!({"assignee_id": alex})).await.status, StatusCode::OK);
    let handed = server.post(&url, &as_alex, json!({"assignee_id": blake, "note": "Customer prefers email; warehouse says it ships today."})).await;
    assert_eq!(handed.status, StatusCode::OK, "{handed:?}");
    assert_eq!((handed.body["ticket"]["assignee_id"].as_i64(), handed.body["ticket"]["queue"].as_str()), (Some(blake), Some("human")));
    let messages = server.service.store().ticket_messages(ticket_id).await.unwrap();
    let notes: Vec<_> = messages.iter().filter(|message| message.direction == Direction::Note).collect();
    assert_eq!(notes.len(), 1);
    assert_eq!((notes[0].body.as_str(), notes[0].author_user_id), ("Customer prefers email; warehouse says it ships today.", Some(alex)));
    let mut seen = Vec::new();
    while let Ok(event) = events.try_recv() {
        seen.push(event.kind.clone());
    }
    assert!(seen.contains(&EventKind::TicketUpdated { ticket_id, status: "open".into(), queue: "human".into(), assignee_id: Some(blake) }), "{seen:?}");
    assert!(seen.contains(&EventKind::MessageAdded { ticket_id, message_id: notes[0].id, direction: "note".into() }), "{seen:?}");
    // The list and the ticket name the assignee.
    let blake_name = server.service.store().user(blake).await.unwrap().name;
    let listed = server.get("/api/v1/tickets?status=new,open,pending", &as_alex).await;
    let row = listed.body["tickets"].as_array().unwrap().iter().find(|ticket| ticket["id"].as_i64() == Some(ticket_id)).cloned().unwrap();
    assert_eq!(row["assignee_name"], json!(blake_name), "{row}");
    let detail = server.get(&format!("/api/v1/tickets/{ticket_id}"), &as_alex).await;
    assert_eq!(detail.body["ticket"]["assignee_name"], json!(blake_name));
    // Now Blake's: Alex may no longer move it.
    let not_alex = server.post(&url, &as_alex, json!({"queue": "human"})).await;
    assert_eq!(not_alex.status, StatusCode::FORBIDDEN, "{not_alex:?}");

    // Refusals, each with its code, none writing anything.
    let viewer = server.user(Role::Viewer).await;
    for (body, status, code) in [
        (json!({}), StatusCode::UNPROCESSABLE_ENTITY, "no_target"),
        (json!({"note": "only a note"}), StatusCode::UNPROCESSABLE_ENTITY, "no_target"),
        (json!({"assignee_id": 987_654}), StatusCode::UNPROCESSABLE_ENTITY, "unknown_agent"),
        (json!({"assignee_id": viewer}), StatusCode::UNPROCESSABLE_ENTITY, "agent_unavailable"),
        (json!({"queue": "auto"}), StatusCode::UNPROCESSABLE_ENTITY, "unknown_queue"),
        (json!({"queue": "billing"}), StatusCode::UNPROCESSABLE_ENTITY, "unknown_queue"),
        (json!({"assignee_id": blake}), StatusCode::CONFLICT, "already_there"),
        (json!({"queue": "human", "assignee_id": blake, "note": "x"}), StatusCode::CONFLICT, "already_there"),
        (json!({"queue": "human", "note": "y".repeat(20_001)}), StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
        (json!({"queue": "human", "priority": 10}), StatusCode::UNPROCESSABLE_ENTITY, "invalid_field"),
    ] {
        let refused = server.post(&url, &as_blake, body.clone()).await;
        assert_eq!((refused.status, refused.body["error"]["code"].as_str()), (status, Some(code)), "{body}: {refused:?}");
    }
    assert_eq!(server.post("/api/v1/tickets/987654/transfer", &as_blake, json!({"queue": "human"})).await.status, StatusCode::NOT_FOUND);
    assert_eq!(server.service.store().ticket_messages(ticket_id).await.unwrap().len(), messages.len(), "no refused note was stored");

    // Back to the human queue, unassigned, for anyone to pick up.
    let back = server.post(&url, &as_blake, json!({"queue": "human"})).await;
    assert_eq!((back.status, back.body["ticket"]["assignee_id"].is_null()), (StatusCode::OK, true), "{back:?}");

    // Into the safety queue: what a safety escalation does (category, severity, compliance
    // record, the severity SLA), unassigned.
    let to_safety = server.post(&url, &as_alex, json!({"queue": "safety", "note": "The customer mentions the charger melted."})).await;
    let ticket = &to_safety.body["ticket"];
    assert_eq!(to_safety.status, StatusCode::OK, "{to_safety:?}");
    assert_eq!((ticket["queue"].as_str(), ticket["category"].as_str(), ticket["severity"].as_str()), (Some("safety"), Some("safety_compliance"), Some("high")));
    assert_eq!(ticket["sla_policy"].as_str(), Some("safety high"));
    let records = server.service.store().list_compliance_records(Some(ticket_id), sb_store::Page::default()).await.unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!((records[0].record["source"].as_str(), records[0].record["reason"].as_str()), (Some("transfer"), Some("The customer mentions the charger melted.")));

    // Safety wins: not out of it, by anyone; within it, to another agent, yes.
    let n_messages = server.service.store().ticket_messages(ticket_id).await.unwrap().len();
    for body in [json!({"queue": "human"}), json!({"queue": "human", "assignee_id": blake, "note": "not a safety case"})] {
        let refused = server.post(&url, &admin, body.clone()).await;
        assert_eq!((refused.status, refused.body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("safety_wins")), "{body}: {refused:?}");
    }
    assert_eq!(server.service.store().ticket_messages(ticket_id).await.unwrap().len(), n_messages);
    let within = server.post(&url, &admin, json!({"assignee_id": blake})).await;
    assert_eq!((within.status, within.body["ticket"]["queue"].as_str(), within.body["ticket"]["assignee_id"].as_i64()), (StatusCode::OK, Some("safety"), Some(blake)), "{within:?}");

    // The ticket's history, oldest first.
    let audit = server.get(&format!("/api/v1/audit?entity_type=ticket&entity_id={ticket_id}"), &admin).await;
    let entries = audit.body["entries"].as_array().unwrap();
    let moves: Vec<(String, String, Option<i64>)> = entries
        .iter()
        .filter(|entry| entry["action"] == "ticket.transferred")
        .map(|entry| (entry["details"]["from_queue"].as_str().unwrap_or_default().to_string(), entry["details"]["to_queue"].as_str().unwrap_or_default().to_string(), entry["details"]["to_assignee"].as_i64()))
        .collect();
    assert_eq!(
        moves,
        vec![("human".into(), "human".into(), Some(blake)), ("human".into(), "human".into(), None), ("human".into(), "safety".into(), None), ("safety".into(), "safety".into(), Some(blake))],
        "{audit:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agents_list_names_who_can_take_a_ticket() {
    let server = TestServer::new().await;
    let agent = server.user(Role::Agent).await;
    let supervisor = server.user(Role::Supervisor).await;
    let viewer = server.user(Role::Viewer).await;
    let as_agent = server.log_in(agent).await;
    let admin = server.token(&[Scope::Admin]).await;
    let gone = server.user(Role::Agent).await;
    assert_eq!(server.request(axum::http::Method::PATCH, &format!("/api/v1/users/{gone}"), &admin, Some(&json!({"active": false}))).await.status, StatusCode::OK);

    let answer = server.get("/api/v1/agents", &as_agent).await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    let listed: Vec<i64> = answer.body["agents"].as_array().unwrap().iter().map(|agent| agent["id"].as_i64().unwrap()).collect();
    assert!(listed.contains(&agent) && listed.contains(&supervisor), "{answer:?}");
    assert!(!listed.contains(&viewer) && !listed.contains(&gone), "no viewers, no deactivated users: {answer:?}");
    assert!(answer.body["agents"].as_array().unwrap().iter().all(|agent| agent.get("email").is_none()), "names and roles only");
}
