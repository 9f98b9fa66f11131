//! Ticket actions through the API and what they leave behind (SLA clocks, outbox, audit),
//! sessions and CSRF, PII masking for viewers, and rate limits.

use axum::http::{Method, Request, StatusCode};
use sb_domain::Channel;
use sb_policy::sla::TicketSla;
use sb_server::{RateLimit, RateLimitConfig, SecurityConfig};
use sb_store::{Direction, Role, Scope};
use serde_json::json;

use crate::support::{Credential, TestServer, PASSWORD};

fn sla_of(ticket: &serde_json::Value) -> TicketSla {
    serde_json::from_value(ticket["sla"].clone()).unwrap()
}

fn audit_actions(entries: &serde_json::Value) -> Vec<String> {
    entries["entries"].as_array().unwrap().iter().map(|entry| format!("{} {}", entry["actor"].as_str().unwrap(), entry["action"].as_str().unwrap())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_changes_pause_resume_and_complete_the_sla_clocks() {
    let server = TestServer::new().await;
    let agent = server.user(Role::Agent).await;
    let as_agent = server.log_in(agent).await;
    let (ticket_id, _) = server.ticket("Where is my order?").await;
    let status_url = format!("/api/v1/tickets/{ticket_id}/status");

    let pending = server.post(&status_url, &as_agent, json!({"status": "pending"})).await;
    assert_eq!(pending.status, StatusCode::OK, "{pending:?}");
    let ticket = &pending.body["ticket"];
    assert_eq!(ticket["status"], "pending");
    assert!(ticket["sla_paused_at"].is_string());
    let sla = sla_of(ticket);
    assert!(sla.first_response.is_paused() && sla.resolution.is_paused(), "pending pauses both clocks");

    let open = server.post(&status_url, &as_agent, json!({"status": "open"})).await;
    let ticket = &open.body["ticket"];
    assert_eq!((ticket["status"].as_str(), ticket["sla_paused_at"].is_null()), (Some("open"), true), "{open:?}");
    assert!(!sla_of(ticket).first_response.is_paused());
    assert_eq!(sla_of(ticket).first_response.pauses().len(), 1);

    let resolved = server.post(&status_url, &as_agent, json!({"status": "resolved"})).await;
    let ticket = &resolved.body["ticket"];
    assert!(ticket["resolved_at"].is_string(), "{resolved:?}");
    assert!(sla_of(ticket).resolution.is_completed());
    let refused = server.post(&status_url, &as_agent, json!({"status": "pending"})).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "pending needs an open ticket: {refused:?}");

    let reopened = server.post(&status_url, &as_agent, json!({"status": "open"})).await;
    let ticket = &reopened.body["ticket"];
    assert!(ticket["resolved_at"].is_null(), "{reopened:?}");
    assert!(!sla_of(ticket).resolution.is_completed(), "a reopened ticket gets a fresh resolution clock");

    for (status, code) in [("merged", "invalid_status"), ("new", "invalid_status"), ("bogus", "invalid_status")] {
        let answer = server.post(&status_url, &as_agent, json!({"status": status})).await;
        assert_eq!((answer.status, answer.body["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(code)), "{status}");
    }
    let admin = server.token(&[Scope::Admin]).await;
    let audit = server.get(&format!("/api/v1/audit?entity_type=ticket&entity_id={ticket_id}"), &admin).await;
    let actor = format!("user:{agent}");
    assert_eq!(
        audit_actions(&audit.body),
        vec![
            format!("{actor} ticket.status_changed"),
            format!("{actor} ticket.status_changed"),
            format!("{actor} ticket.status_changed"),
            // An agent resolved an email ticket: its customer is mailed the survey link.
            "system csat.survey_sent".to_string(),
            format!("{actor} ticket.reopened")
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_goes_to_the_outbox_and_records_the_first_response() {
    let server = TestServer::new().await;
    let agent = server.user(Role::Agent).await;
    let as_agent = server.log_in(agent).await;
    let (ticket_id, customer_id) = server.ticket("Where is my order?").await;

    let note = server.post(&format!("/api/v1/tickets/{ticket_id}/notes"), &as_agent, json!({"body": "asked the warehouse"})).await;
    assert_eq!(note.status, StatusCode::CREATED, "{note:?}");
    let ticket = server.service.store().ticket(ticket_id).await.unwrap();
    assert!(ticket.first_responded_at.is_none(), "a note is not a response");

    let reply = server.post(&format!("/api/v1/tickets/{ticket_id}/reply"), &as_agent, json!({"body": "It ships today."})).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
    let ticket = &reply.body["ticket"];
    assert!(ticket["first_responded_at"].is_string());
    assert!(sla_of(ticket).first_response.is_completed());
    assert!(!sla_of(ticket).resolution.is_completed());

    let store = server.service.store();
    let message = store.message(reply.body["message_id"].as_i64().unwrap()).await.unwrap();
    assert_eq!((message.direction, message.author_user_id, message.body.as_str()), (Direction::Outbound, Some(agent), "It ships today."));
    let outbox = store.claim_outbox(Channel::Email, "smtp", chrono::Utc::now(), chrono::Utc::now() + chrono::TimeDelta::minutes(1), 10).await.unwrap();
    let customer = store.customer(customer_id).await.unwrap();
    assert_eq!(outbox.iter().map(|item| (item.message_id, item.recipient.clone())).collect::<Vec<_>>(), vec![(message.id, customer.email)]);

    let empty = server.post(&format!("/api/v1/tickets/{ticket_id}/reply"), &as_agent, json!({"body": "   "})).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    let missing = server.post("/api/v1/tickets/999999/reply", &as_agent, json!({"body": "hello"})).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merge_escalate_assign_and_agents_own_work() {
    let server = TestServer::new().await;
    let agent = server.user(Role::Agent).await;
    let other_agent = server.user(Role::Agent).await;
    let as_agent = server.log_in(agent).await;
    let supervisor = server.log_in(server.user(Role::Supervisor).await).await;
    let (first, _) = server.ticket("Where is my order?").await;
    let (second, _) = server.ticket("Where is my order? (again)").await;

    let merged = server.post(&format!("/api/v1/tickets/{second}/merge"), &as_agent, json!({"into_ticket_id": first})).await;
    assert_eq!((merged.status, merged.body["ticket"]["id"].as_i64()), (StatusCode::OK, Some(first)), "{merged:?}");
    let source = server.service.store().ticket(second).await.unwrap();
    assert_eq!((source.status.as_str(), source.merged_into), ("merged", Some(first)));
    assert_eq!(server.service.store().ticket_messages(first).await.unwrap().len(), 2);
    let again = server.post(&format!("/api/v1/tickets/{second}/reply"), &as_agent, json!({"body": "hello"})).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "a merged ticket takes no more actions: {again:?}");

    let escalated = server.post(&format!("/api/v1/tickets/{first}/escalate"), &as_agent, json!({"reason": "Customer reports a safety hazard: the kettle sparks"})).await;
    let ticket = &escalated.body["ticket"];
    assert_eq!((ticket["queue"].as_str(), ticket["severity"].as_str()), (Some("safety"), Some("high")), "{escalated:?}");
    assert!(ticket["priority"].as_i64().unwrap() >= 75);
    assert_eq!(sla_of(ticket).policy_name, "safety high", "the severity SLA replaces a looser one");
    let first_response_due = chrono::DateTime::parse_from_rfc3339(ticket["first_response_due_at"].as_str().unwrap()).unwrap();
    assert!(first_response_due <= chrono::Utc::now() + chrono::TimeDelta::hours(2), "{first_response_due}");
    // A safety case like any other: its category, its policy named on the ticket, and an
    // append-only compliance record about the latest customer message, PII redacted.
    assert_eq!((ticket["category"].as_str(), ticket["sla_policy"].as_str()), (Some("safety_compliance"), Some("safety high")), "{escalated:?}");
    let records = server.service.store().list_compliance_records(Some(first), sb_store::Page::default()).await.unwrap();
    assert_eq!(records.len(), 1, "{records:?}");
    let latest_inbound = server.service.store().ticket_messages(first).await.unwrap().into_iter().filter(|message| message.direction == sb_store::Direction::Inbound).last().unwrap();
    assert_eq!((records[0].message_id, records[0].severity.as_str()), (latest_inbound.id, "high"));
    assert_eq!(records[0].record["source"], "escalation");
    assert_eq!(records[0].record["reason"], "Customer reports a safety hazard: the kettle sparks");

    // The supervisor gives the ticket to another agent: now it is not ours to work on.
    let assigned = server.post(&format!("/api/v1/tickets/{first}/assign"), &supervisor, json!({"assignee_id": other_agent})).await;
    assert_eq!(assigned.body["ticket"]["assignee_id"].as_i64(), Some(other_agent), "{assigned:?}");
    for (path, body) in [("reply", json!({"body": "hi"})), ("status", json!({"status": "resolved"})), ("assign", json!({"assignee_id": agent}))] {
        let answer = server.post(&format!("/api/v1/tickets/{first}/{path}"), &as_agent, body).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{path}: {answer:?}");
    }
    let (third, _) = server.ticket("Can I change my address?").await;
    let taken = server.post(&format!("/api/v1/tickets/{third}/assign"), &as_agent, json!({"assignee_id": agent})).await;
    assert_eq!(taken.status, StatusCode::OK, "agents take unassigned tickets: {taken:?}");
    let given = server.post(&format!("/api/v1/tickets/{third}/assign"), &as_agent, json!({"assignee_id": other_agent})).await;
    assert_eq!(given.status, StatusCode::FORBIDDEN, "but do not hand them to others");
    let unknown = server.post(&format!("/api/v1/tickets/{third}/assign"), &supervisor, json!({"assignee_id": 424242})).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);

    let admin = server.token(&[Scope::Admin]).await;
    let audit = server.get(&format!("/api/v1/audit?entity_type=ticket&entity_id={first}"), &admin).await;
    let actions: Vec<String> = audit_actions(&audit.body).into_iter().map(|entry| entry.split(' ').nth(1).unwrap().to_string()).collect();
    assert_eq!(actions, vec!["ticket.merge_received", "ticket.escalated", "ticket.assigned"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_use_http_only_cookies_and_csrf_tokens() {
    let server = TestServer::new().await;
    let admin_id = server.user(Role::Admin).await;
    let email = server.service.store().user(admin_id).await.unwrap().email;

    let wrong = server.post("/api/v1/session", &Credential::None, json!({"email": email, "password": "not the password"})).await;
    assert_eq!((wrong.status, wrong.body["error"]["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_credentials")));
    let nobody = server.post("/api/v1/session", &Credential::None, json!({"email": "nobody@example.com", "password": PASSWORD})).await;
    assert_eq!(nobody.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.headers.get("set-cookie").is_none());

    let login = server.post("/api/v1/session", &Credential::None, json!({"email": email, "password": PASSWORD})).await;
    let set_cookie = login.headers.get("set-cookie").unwrap().to_str().unwrap().to_string();
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age="] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    assert!(login.body["user"].get("password_hash").is_none());
    let cookie = server.log_in(admin_id).await;
    let Credential::Cookie { session, csrf } = &cookie else { unreachable!() };
    let (ticket_id, _) = server.ticket("Where is my order?").await;
    let note_url = format!("/api/v1/tickets/{ticket_id}/notes");
    let body = json!({"body": "checked"}).to_string();
    let note = |csrf_header: Option<&str>| {
        let mut builder = Request::builder().method(Method::POST).uri(&note_url).header("cookie", format!("sb_session={session}"));
        if let Some(value) = csrf_header {
            builder = builder.header("x-csrf-token", value);
        }
        builder
    };
    let body_value: serde_json::Value = serde_json::from_str(&body).unwrap();
    for (header, expected) in [(None, StatusCode::FORBIDDEN), (Some("csrf_wrong"), StatusCode::FORBIDDEN), (Some(csrf.as_str()), StatusCode::CREATED)] {
        let answer = server.send(note(header), Some(&body_value)).await;
        assert_eq!(answer.status, expected, "{header:?}: {answer:?}");
        if expected == StatusCode::FORBIDDEN {
            assert_eq!(answer.body["error"]["code"], "csrf_failed");
        }
    }
    // Reads need no CSRF token; bearer tokens never do.
    assert_eq!(server.get("/api/v1/tickets", &cookie).await.status, StatusCode::OK);
    let writer = server.token(&[Scope::Write]).await;
    assert_eq!(server.post(&note_url, &writer, json!({"body": "via api"})).await.status, StatusCode::CREATED);
    // A bad bearer token is refused even next to a good cookie.
    let mixed = Request::builder().method(Method::GET).uri("/api/v1/tickets").header("cookie", format!("sb_session={session}")).header("authorization", "Bearer sbt_nope");
    assert_eq!(server.send(mixed, None).await.status, StatusCode::UNAUTHORIZED);

    let logout = server.request(Method::DELETE, "/api/v1/session", &cookie, None).await;
    assert_eq!(logout.status, StatusCode::NO_CONTENT);
    assert!(logout.headers.get("set-cookie").unwrap().to_str().unwrap().contains("Max-Age=0"));
    assert_eq!(server.get("/api/v1/tickets", &cookie).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewers_get_redacted_text_and_no_contact_details() {
    let server = TestServer::new().await;
    let viewer = server.log_in(server.user(Role::Viewer).await).await;
    let supervisor = server.log_in(server.user(Role::Supervisor).await).await;
    let (ticket_id, customer_id) = server.ticket("Please call me on +1 415 555 0199 or write to ana.private@example.com").await;
    let customer_email = server.service.store().customer(customer_id).await.unwrap().email.unwrap();

    let seen = server.get(&format!("/api/v1/tickets/{ticket_id}"), &viewer).await;
    assert_eq!(seen.status, StatusCode::OK);
    let text = seen.body.to_string();
    for secret in ["ana.private@example.com", "555 0199", customer_email.as_str(), "+14155550101", "Ana Silva"] {
        assert!(!text.contains(secret), "viewer saw {secret}: {text}");
    }
    assert!(seen.body["messages"][0]["body"].as_str().unwrap().contains("[EMAIL]"), "{text}");
    assert_eq!(seen.body["customer"]["redacted"], true);
    let customer = server.get(&format!("/api/v1/customers/{customer_id}"), &viewer).await.body.to_string();
    assert!(!customer.contains(&customer_email) && !customer.contains("+14155550101"), "{customer}");

    let full = server.get(&format!("/api/v1/tickets/{ticket_id}"), &supervisor).await;
    assert!(full.body["messages"][0]["body"].as_str().unwrap().contains("ana.private@example.com"));
    assert_eq!(full.body["customer"]["email"].as_str(), Some(customer_email.as_str()));
    let history = server.get(&format!("/api/v1/customers/{customer_id}"), &supervisor).await;
    assert_eq!(history.body["tickets"].as_array().unwrap().len(), 1);
    // Seeing personal data is audited; the viewer's masked look is not PII access.
    let admin = server.token(&[Scope::Admin]).await;
    let audit = server.get(&format!("/api/v1/audit?entity_type=customer&entity_id={customer_id}"), &admin).await;
    assert_eq!(audit_actions(&audit.body).iter().filter(|entry| entry.ends_with("pii.viewed")).count(), 1, "{:?}", audit.body);
    // The supervisor's unmasked ticket view is audited once, however often the page reloads.
    server.get(&format!("/api/v1/tickets/{ticket_id}"), &supervisor).await;
    let audit = server.get(&format!("/api/v1/audit?entity_type=ticket&entity_id={ticket_id}"), &admin).await;
    assert_eq!(audit_actions(&audit.body).iter().filter(|entry| entry.ends_with("pii.viewed")).count(), 1, "{:?}", audit.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_answer_429_with_retry_after() {
    const IP_BURST: u32 = 10;
    let tight = RateLimit { rate: 1, burst: 2 };
    let security = SecurityConfig {
        rate_limits: RateLimitConfig { per_credential: tight, per_ip: RateLimit { rate: 1, burst: IP_BURST }, logins_per_ip_per_minute: RateLimit { rate: 2, burst: 2 }, ..RateLimitConfig::default() },
        ..SecurityConfig::default()
    };
    let server = TestServer::with_security(security).await;
    let first = server.token(&[Scope::Read]).await;
    let second = server.token(&[Scope::Read]).await;
    let statuses: Vec<u16> = futures_statuses(&server, &first, 3).await;
    assert_eq!(statuses, vec![200, 200, 429], "per token");
    let limited = server.get("/api/v1/tickets", &first).await;
    assert_eq!(limited.body["error"]["code"], "rate_limited");
    let retry_after: u64 = limited.headers.get("retry-after").unwrap().to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    assert_eq!(server.get("/api/v1/tickets", &second).await.status, StatusCode::OK, "another token has its own budget");
    // Ingest draws on its own, larger budget: the spent token still classifies (and gets 503
    // only because no models are loaded here).
    for _ in 0..3 {
        assert_eq!(server.post("/api/v1/classify", &first, json!({"message": "where is my order?"})).await.status, StatusCode::SERVICE_UNAVAILABLE);
    }

    // Per client IP, whoever asks: each address has its own budget (the requests above all came
    // from the unspecified address that socketless requests get).
    let from = |ip: [u8; 4]| Request::builder().uri("/api/v1/tickets").extension(axum::extract::ConnectInfo(std::net::SocketAddr::from((ip, 4000))));
    assert_eq!(server.send(from([10, 0, 0, 1]), None).await.status, StatusCode::UNAUTHORIZED);
    let answers: Vec<u16> = {
        let mut answers = Vec::new();
        for _ in 0..IP_BURST {
            answers.push(server.send(from([10, 0, 0, 2]), None).await.status.as_u16());
        }
        answers
    };
    assert_eq!(answers, vec![401; IP_BURST as usize]);
    assert_eq!(server.send(from([10, 0, 0, 2]), None).await.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(server.send(from([10, 0, 0, 3]), None).await.status, StatusCode::UNAUTHORIZED);

    // Logins per IP: password guessing stops after the budget.
    let login = || Request::builder().method(Method::POST).uri("/api/v1/session").extension(axum::extract::ConnectInfo(std::net::SocketAddr::from(([10, 0, 0, 9], 4000))));
    let guess = json!({"email": "admin@example.com", "password": "guess"});
    let mut answers = Vec::new();
    for _ in 0..3 {
        answers.push(server.send(login(), Some(&guess)).await.status.as_u16());
    }
    assert_eq!(answers, vec![401, 401, 429]);
}

async fn futures_statuses(server: &TestServer, credential: &Credential, n_requests: usize) -> Vec<u16> {
    let mut statuses = Vec::new();
    for _ in 0..n_requests {
        statuses.push(server.get("/api/v1/tickets", credential).await.status.as_u16());
    }
    statuses
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_used_token_shows_when_it_was_last_used() {
    let server = TestServer::new().await;
    let reader = server.token(&[Scope::Read]).await;
    let admin = server.token(&[Scope::Admin]).await;
    assert_eq!(server.get("/api/v1/tickets", &reader).await.status, StatusCode::OK);
    // Recorded off the request path: wait for the write.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let tokens = server.get("/api/v1/tokens", &admin).await.body;
        let used: Vec<bool> = tokens["tokens"].as_array().unwrap().iter().map(|token| !token["last_used_at"].is_null()).collect();
        // Both the reader (one request) and the admin (this listing) have been used.
        if used.iter().all(|used| *used) {
            assert_eq!(used.len(), 2, "{tokens}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "last_used_at never written: {tokens}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
