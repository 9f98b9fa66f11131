//! The live router as `serve` runs it: a task woken by presence changes and by tickets coming
//! back to the queue, on a real SQLite store.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use sb_domain::Channel;
use sb_service::actions::Actor;
use sb_service::{DemoStoreConnector, EventKind, RoutingConfig, Service, ServiceConfig};
use sb_store::{NewCustomer, NewInbound, NewUser, PresenceStatus, Queue, Role, RoutingSkills, Store, StoreOptions, TicketStatus, TicketTriageUpdate, TriageOutcome};
use serde_json::json;

/// A service whose router only runs when woken (the interval is far longer than the test).
async fn routing_service(enabled: bool) -> (Service, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("sb.db").display());
    let store = Store::connect(&url, &StoreOptions::default()).await.unwrap();
    store.migrate().await.unwrap();
    let connector = Arc::new(DemoStoreConnector::new(store.clone()));
    let config = ServiceConfig { routing: RoutingConfig { enabled, interval: Duration::from_secs(3_600), ..RoutingConfig::default() }, ..ServiceConfig::new(Default::default()) };
    (Service::new(store, None, connector, config), dir)
}

async fn waiting_ticket(service: &Service, key: &str, safety: bool, priority: i64) -> i64 {
    let store = service.store();
    let now = Utc::now();
    let ingested = store
        .ingest(&NewInbound {
            channel: Channel::Email,
            external_id: Some(key.into()),
            conversation_key: Some(key.into()),
            ticket_id: None,
            subject: None,
            body: "help".into(),
            body_is_html: false,
            content_type: "text/plain".into(),
            raw_payload: b"help".to_vec(),
            metadata: None,
            customer: NewCustomer { email: Some(format!("{key}@example.com")), ..NewCustomer::default() },
            received_at: now,
            claim: None,
        })
        .await
        .unwrap();
    let route = if safety { "safety_queue" } else { "human_queue" };
    store
        .record_triage(
            &TriageOutcome {
                message_id: ingested.message_id,
                ticket_id: ingested.ticket_id,
                model_name: "test".into(),
                model_version: "1".into(),
                result: json!({"language": {"code": "en", "confidence": 0.9}}),
                latency_us: 1,
                route: route.into(),
                reason_code: "test".into(),
                priority,
                decision: json!({}),
                ticket: TicketTriageUpdate {
                    status: TicketStatus::Open,
                    queue: if safety { Queue::Safety } else { Queue::Human },
                    category: if safety { "safety_compliance".into() } else { "service_action".into() },
                    intent: if safety { "product_hazard".into() } else { "track_order".into() },
                    severity: safety.then(|| "urgent".to_string()),
                    confidence: 0.9,
                    sentiment: 0.0,
                    priority,
                    route: route.into(),
                    sla_policy: None,
                    sla: None,
                    first_response_due_at: Some(now + chrono::Duration::minutes(30)),
                    resolution_due_at: None,
                },
                compliance: None,
                reply: None,
                audit: vec![],
            },
            now,
        )
        .await
        .unwrap();
    ingested.ticket_id
}

async fn agent(service: &Service, name: &str, skills: RoutingSkills) -> i64 {
    let user = service.store().create_user(&NewUser { email: format!("{name}@example.com"), name: name.into(), role: Role::Agent, password_hash: "x".into() }, &[], Utc::now()).await.unwrap();
    service.set_agent_skills(user.id, &skills, &Actor::user(1)).await.unwrap();
    user.id
}

/// Waits (up to 5 s) until the tickets have these assignees.
async fn wait_for_assignees(service: &Service, expected: &[(i64, Option<i64>)]) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let mut actual = Vec::new();
        for &(ticket_id, _) in expected {
            actual.push((ticket_id, service.store().ticket(ticket_id).await.unwrap().assignee_id));
        }
        if actual == expected {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "assignees {actual:?}, expected {expected:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_router_follows_presence_skills_and_capacity() {
    let (service, _dir) = routing_service(true).await;
    let sara = agent(&service, "sara", RoutingSkills { safety: true, max_open_tickets: 1, ..RoutingSkills::default() }).await;
    let gus = agent(&service, "gus", RoutingSkills { languages: vec!["en".into()], ..RoutingSkills::default() }).await;
    let safety_ticket = waiting_ticket(&service, "s-1", true, 90).await;
    let human = [waiting_ticket(&service, "h-1", false, 40).await, waiting_ticket(&service, "h-2", false, 60).await];
    let mut subscription = service.events().subscribe(None);
    let (shutdown, receiver) = tokio::sync::watch::channel(false);
    let router = tokio::spawn({
        let service = service.clone();
        async move { service.run_router(receiver).await }
    });
    // Nobody is present: nothing moves.
    tokio::time::sleep(Duration::from_millis(100)).await;
    wait_for_assignees(&service, &[(safety_ticket, None), (human[0], None), (human[1], None)]).await;

    // Sara (safety, one ticket at most) comes in: the safety ticket, the most urgent, is hers.
    service.set_presence(sara, PresenceStatus::Available, &Actor::user(sara)).await.unwrap();
    wait_for_assignees(&service, &[(safety_ticket, Some(sara)), (human[0], None), (human[1], None)]).await;
    // Gus (no safety skill) takes the rest.
    let profile = service.set_presence(gus, PresenceStatus::Available, &Actor::user(gus)).await.unwrap();
    assert!(profile.present);
    wait_for_assignees(&service, &[(safety_ticket, Some(sara)), (human[0], Some(gus)), (human[1], Some(gus))]).await;
    // Gus leaves before starting: both come back to the queue, and Sara is full.
    service.set_presence(gus, PresenceStatus::Away, &Actor::user(gus)).await.unwrap();
    wait_for_assignees(&service, &[(safety_ticket, Some(sara)), (human[0], None), (human[1], None)]).await;
    // An admin gives Sara room for three: the waiting tickets are routed to her.
    let profile = service.set_agent_skills(sara, &RoutingSkills { safety: true, max_open_tickets: 3, ..RoutingSkills::default() }, &Actor::user(1)).await.unwrap();
    assert_eq!(profile.skills.max_open_tickets, 3);
    wait_for_assignees(&service, &[(safety_ticket, Some(sara)), (human[0], Some(sara)), (human[1], Some(sara))]).await;
    assert_eq!(service.agent_routing(sara).await.unwrap().open_tickets, 3);

    // Every change was published for the console, assignments and returns alike.
    let mut assigned = 0;
    let mut returned = 0;
    while let Ok(event) = subscription.receiver.try_recv() {
        if let EventKind::TicketUpdated { assignee_id, .. } = &event.kind {
            if assignee_id.is_some() {
                assigned += 1;
            } else {
                returned += 1;
            }
        }
    }
    assert_eq!((assigned, returned), (5, 2));
    shutdown.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), router).await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_router_does_not_run_and_bad_skills_are_refused() {
    let (service, _dir) = routing_service(false).await;
    let (_shutdown, receiver) = tokio::sync::watch::channel(false);
    tokio::time::timeout(Duration::from_secs(1), service.run_router(receiver)).await.expect("returns at once when disabled");
    let sara = agent(&service, "sara", RoutingSkills::default()).await;
    for bad in [RoutingSkills { intents: vec!["no_such_intent".into()], ..RoutingSkills::default() }, RoutingSkills { max_chats: -1, ..RoutingSkills::default() }] {
        assert!(matches!(service.set_agent_skills(sara, &bad, &Actor::user(1)).await, Err(sb_service::Error::Invalid(_))));
    }
    let viewer = service.store().create_user(&NewUser { email: "v@example.com".into(), name: "V".into(), role: Role::Viewer, password_hash: "x".into() }, &[], Utc::now()).await.unwrap();
    assert!(matches!(service.set_agent_skills(viewer.id, &RoutingSkills::default(), &Actor::user(1)).await, Err(sb_service::Error::Invalid(_))));
}
