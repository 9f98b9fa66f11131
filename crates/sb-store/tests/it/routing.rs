//! Live routing on both backends: skills and capacity kept whatever the router proposes, presence
//! with a heartbeat that expires, unstarted tickets given back when an agent goes away, and
//! concurrent routers that never assign a ticket twice or fill an agent past capacity.

use chrono::{DateTime, Duration, TimeZone, Utc};
use sb_domain::Channel;
use sb_store::{
    Direction, Error, NewAuditEntry, NewCustomer, NewInbound, NewOutbound, NewUser, PresenceStatus, Queue, Role, RoutedTicket, RoutingSkills, RoutingSnapshot, Store, TicketStatus,
    TicketTriageUpdate, TriageOutcome,
};
use serde_json::json;

use crate::support::TestDb;

const TTL: i64 = 90;

fn at(seconds: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap() + Duration::seconds(seconds)
}

fn ttl() -> Duration {
    Duration::seconds(TTL)
}

/// What a ticket to route looks like.
struct Waiting {
    channel: Channel,
    safety: bool,
    intent: &'static str,
    language: &'static str,
    priority: i64,
}

fn human(intent: &'static str, language: &'static str) -> Waiting {
    Waiting { channel: Channel::Email, safety: false, intent, language, priority: 40 }
}

async fn waiting_ticket(store: &Store, key: &str, waiting: &Waiting) -> i64 {
    let ingested = store
        .ingest(&NewInbound {
            channel: waiting.channel,
            external_id: Some(key.to_string()),
            conversation_key: Some(key.to_string()),
            ticket_id: None,
            subject: None,
            body: "help".into(),
            body_is_html: false,
            content_type: "application/json".into(),
            raw_payload: b"{}".to_vec(),
            metadata: None,
            customer: NewCustomer { email: Some(format!("{key}@example.com")), ..NewCustomer::default() },
            received_at: at(0),
            claim: None,
        })
        .await
        .unwrap();
    let route = if waiting.safety { "safety_queue" } else { "human_queue" };
    let category = if waiting.safety { "safety_compliance" } else { "service_action" };
    store
        .record_triage(
            &TriageOutcome {
                message_id: ingested.message_id,
                ticket_id: ingested.ticket_id,
                model_name: "triage-default".into(),
                model_version: "v1".into(),
                result: json!({"intent": waiting.intent, "language": {"code": waiting.language, "confidence": 0.9}}),
                latency_us: 100,
                route: route.into(),
                reason_code: "test".into(),
                priority: waiting.priority,
                decision: json!({"route": route}),
                ticket: TicketTriageUpdate {
                    status: TicketStatus::Open,
                    queue: if waiting.safety { Queue::Safety } else { Queue::Human },
                    category: category.into(),
                    intent: waiting.intent.into(),
                    severity: waiting.safety.then(|| "high".to_string()),
                    confidence: 0.9,
                    sentiment: 0.0,
                    priority: waiting.priority,
                    route: route.into(),
                    sla_policy: None,
                    sla: None,
                    first_response_due_at: Some(at(3_600 - waiting.priority)),
                    resolution_due_at: Some(at(86_400)),
                },
                compliance: waiting.safety.then(|| ("adverse_reaction".to_string(), "high".to_string(), "rash".to_string(), json!({}))),
                reply: None,
                audit: vec![],
            },
            at(1),
        )
        .await
        .unwrap();
    ingested.ticket_id
}

async fn agent(store: &Store, name: &str, skills: RoutingSkills) -> i64 {
    let user = store.create_user(&NewUser { email: format!("{name}@example.com"), name: name.into(), role: Role::Agent, password_hash: "x".into() }, &[], at(0)).await.unwrap();
    store.set_agent_skills(user.id, &skills, &[], at(0)).await.unwrap();
    user.id
}

fn skills(safety: bool, languages: &[&str], max_open_tickets: i64) -> RoutingSkills {
    RoutingSkills { safety, languages: languages.iter().map(|code| code.to_string()).collect(), max_open_tickets, ..RoutingSkills::default() }
}

/// Proposes every agent for every ticket, in order: the store must keep only what the rules allow.
fn everyone_for_everything(snapshot: &RoutingSnapshot) -> Vec<RoutedTicket> {
    snapshot.tickets.iter().flat_map(|ticket| snapshot.agents.iter().map(|agent| RoutedTicket { ticket_id: ticket.id, user_id: agent.user_id })).collect()
}

async fn assignee(store: &Store, ticket_id: i64) -> Option<i64> {
    store.ticket(ticket_id).await.unwrap().assignee_id
}

async fn routing_keeps_safety_skills_and_capacity_whatever_is_proposed(db: &TestDb) {
    let store = &db.store;
    let safe = agent(store, "safe", skills(true, &[], 2)).await;
    let spanish = agent(store, "spanish", skills(false, &["es"], 5)).await;
    let away = agent(store, "away", skills(true, &[], 5)).await;
    let stale = agent(store, "stale", skills(true, &[], 5)).await;
    store.set_agent_presence(safe, PresenceStatus::Available, "test", at(10)).await.unwrap();
    store.set_agent_presence(spanish, PresenceStatus::Available, "test", at(10)).await.unwrap();
    store.set_agent_presence(stale, PresenceStatus::Available, "test", at(10) - ttl() - Duration::seconds(1)).await.unwrap();
    let safety_ticket = waiting_ticket(store, "r-safety", &Waiting { safety: true, priority: 90, ..human("adverse_reaction", "en") }).await;
    let spanish_ticket = waiting_ticket(store, "r-es", &human("track_order", "es")).await;
    let english = [waiting_ticket(store, "r-en-1", &human("track_order", "en")).await, waiting_ticket(store, "r-en-2", &human("return_refund", "en")).await];
    // An agent who is away, or whose heartbeat expired, is not offered; nor are tickets in
    // the automatic queue or already assigned.
    let mut offered = None;
    let routed = store
        .route_tickets(at(10), ttl(), 50, |snapshot| {
            offered = Some(snapshot.clone());
            everyone_for_everything(snapshot)
        })
        .await
        .unwrap();
    let offered = offered.unwrap();
    assert_eq!(offered.agents.iter().map(|agent| agent.user_id).collect::<Vec<_>>(), vec![safe, spanish]);
    assert_eq!(offered.tickets.iter().map(|ticket| ticket.id).collect::<Vec<_>>(), vec![safety_ticket, spanish_ticket, english[0], english[1]], "priority first, then age");
    assert_eq!(offered.tickets[1].language.as_deref(), Some("es"));
    assert!(offered.tickets[0].needs_safety() && !offered.tickets[1].needs_safety());
    assert_eq!(offered.tickets[0].due_at, Some(at(3_600 - 90)));
    // The safety ticket only to the safety agent, who then has room for one more; the Spanish
    // speaker takes only the Spanish ticket; the last English ticket finds nobody.
    assert_eq!(routed, vec![RoutedTicket { ticket_id: safety_ticket, user_id: safe }, RoutedTicket { ticket_id: spanish_ticket, user_id: safe }]);
    assert_eq!(assignee(store, safety_ticket).await, Some(safe));
    assert_eq!(assignee(store, spanish_ticket).await, Some(safe), "the first proposal that keeps the rules wins");
    assert_eq!(assignee(store, english[0]).await, None, "the safety agent is full (2) and the other speaks only Spanish");
    assert_eq!(assignee(store, english[1]).await, None);
    assert!(!store.agent_routing(away, at(10), ttl()).await.unwrap().present);
    // Each assignment is audited as the router's.
    let audit = store.list_audit(Some(("ticket", &safety_ticket.to_string())), 10).await.unwrap();
    assert!(audit.iter().any(|entry| entry.action == "ticket.assigned" && entry.actor == "system" && entry.details["by"] == "router"));
    // A second round proposes nothing new: the tickets taken are no longer waiting.
    let again = store.route_tickets(at(11), ttl(), 50, everyone_for_everything).await.unwrap();
    assert!(again.is_empty());
    // Chats count against the chat capacity too.
    let chatty = agent(store, "chatty", RoutingSkills { max_chats: 1, ..skills(false, &[], 10) }).await;
    store.set_agent_presence(spanish, PresenceStatus::Away, "test", at(12)).await.unwrap();
    store.set_agent_presence(safe, PresenceStatus::Away, "test", at(12)).await.unwrap();
    store.set_agent_presence(chatty, PresenceStatus::Available, "test", at(12)).await.unwrap();
    let chats = [
        waiting_ticket(store, "r-chat-1", &Waiting { channel: Channel::Chat, ..human("track_order", "en") }).await,
        waiting_ticket(store, "r-chat-2", &Waiting { channel: Channel::Chat, ..human("track_order", "en") }).await,
    ];
    let routed = store.route_tickets(at(13), ttl(), 50, everyone_for_everything).await.unwrap();
    let chats_taken = routed.iter().filter(|routed| chats.contains(&routed.ticket_id)).count();
    assert_eq!(chats_taken, 1, "{routed:?}");
    assert!(routed.iter().all(|routed| routed.user_id == chatty));
    assert!(routed.iter().any(|routed| english.contains(&routed.ticket_id)), "email tickets still fit");
    assert_eq!(assignee(store, safety_ticket).await, None, "given back when its agent went away, and nobody present has the safety skill");
}

async fn presence_expires_and_going_away_gives_back_unstarted_tickets(db: &TestDb) {
    let store = &db.store;
    let ana = agent(store, "ana", skills(false, &[], 5)).await;
    let profile = store.agent_routing(ana, at(0), ttl()).await.unwrap();
    assert_eq!((profile.status, profile.present, profile.skills.max_open_tickets), (PresenceStatus::Away, false, 5));
    store.set_agent_presence(ana, PresenceStatus::Available, "user:1", at(10)).await.unwrap();
    assert!(store.agent_routing(ana, at(10 + TTL), ttl()).await.unwrap().present);
    assert!(!store.agent_routing(ana, at(11 + TTL), ttl()).await.unwrap().present, "the heartbeat expired");
    store.agent_heartbeat(ana, at(11 + TTL)).await.unwrap();
    assert!(store.agent_routing(ana, at(11 + TTL), ttl()).await.unwrap().present);

    let tickets = [waiting_ticket(store, "p-1", &human("track_order", "en")).await, waiting_ticket(store, "p-2", &human("track_order", "en")).await];
    let now = at(12 + TTL);
    let routed = store.route_tickets(now, ttl(), 50, everyone_for_everything).await.unwrap();
    assert_eq!(routed.len(), 2);
    let profile = store.agent_routing(ana, now, ttl()).await.unwrap();
    assert_eq!((profile.open_tickets, profile.open_chats), (2, 0));
    // Ana starts on the first ticket (a note), then goes away: only the second goes back.
    let note = NewOutbound { direction: Direction::Note, channel: Channel::Email, author_user_id: Some(ana), subject: None, body: "looking".into(), recipient: None, metadata: None };
    store.add_outbound(tickets[0], &note, &[], now).await.unwrap();
    let released = store.set_agent_presence(ana, PresenceStatus::Away, &format!("user:{ana}"), now).await.unwrap();
    assert_eq!(released, vec![tickets[1]]);
    assert_eq!((assignee(store, tickets[0]).await, assignee(store, tickets[1]).await), (Some(ana), None));
    let audit = store.list_audit(Some(("ticket", &tickets[1].to_string())), 10).await.unwrap();
    assert!(audit.iter().any(|entry| entry.action == "ticket.assigned" && entry.details["to"].is_null() && entry.details["reason"] == "agent_away"));
    let presence_audit = store.list_audit(Some(("user", &ana.to_string())), 10).await.unwrap();
    assert_eq!(presence_audit.iter().filter(|entry| entry.action == "agent.presence_changed").count(), 2, "away → available → away");

    // A heartbeat that stops: the unstarted tickets go back once, and the agent is routed to
    // again when the console comes back.
    let bo = agent(store, "bo", skills(false, &[], 5)).await;
    store.set_agent_presence(bo, PresenceStatus::Available, "test", now).await.unwrap();
    let routed = store.route_tickets(now, ttl(), 50, everyone_for_everything).await.unwrap();
    assert_eq!(routed, vec![RoutedTicket { ticket_id: tickets[1], user_id: bo }]);
    assert!(store.release_expired_agents(now + ttl(), ttl()).await.unwrap().is_empty(), "still fresh at the TTL itself");
    let later = now + ttl() + Duration::seconds(1);
    let released = store.release_expired_agents(later, ttl()).await.unwrap();
    assert_eq!(released.len(), 1);
    assert_eq!((released[0].user_id, released[0].ticket_ids.clone()), (bo, vec![tickets[1]]));
    assert!(store.release_expired_agents(later + Duration::seconds(5), ttl()).await.unwrap().is_empty(), "an expiry is acted on once");
    assert_eq!(assignee(store, tickets[1]).await, None);
    store.agent_heartbeat(bo, later + Duration::seconds(10)).await.unwrap();
    let routed = store.route_tickets(later + Duration::seconds(10), ttl(), 50, everyone_for_everything).await.unwrap();
    assert_eq!(routed, vec![RoutedTicket { ticket_id: tickets[1], user_id: bo }]);

    // Profiles: unknown users, and a capacity the schema refuses, change nothing.
    assert!(matches!(store.set_agent_presence(999_999, PresenceStatus::Available, "test", now).await, Err(Error::NotFound { .. })));
    assert!(matches!(store.set_agent_skills(999_999, &RoutingSkills::default(), &[], now).await, Err(Error::NotFound { .. })));
    assert!(store.set_agent_skills(bo, &skills(false, &[], 5_000), &[], now).await.is_err());
    let audit = [NewAuditEntry::new("user:1", "agent.routing_changed", "user", bo, json!({}))];
    store.set_agent_skills(bo, &RoutingSkills { intents: vec!["track_order".into()], channels: vec!["email".into()], ..skills(true, &["de", "en"], 3) }, &audit, now).await.unwrap();
    let profile = store.agent_routing(bo, later + Duration::seconds(10), ttl()).await.unwrap();
    assert_eq!(profile.skills, RoutingSkills { intents: vec!["track_order".into()], languages: vec!["de".into(), "en".into()], channels: vec!["email".into()], safety: true, max_open_tickets: 3, max_chats: 3 });
    assert!(profile.present, "changing skills keeps presence");
    let listed = store.list_agent_routing(now, ttl()).await.unwrap();
    assert_eq!(listed.iter().map(|profile| profile.user_id).collect::<Vec<_>>(), vec![ana, bo]);
}

async fn concurrent_routers_never_assign_twice_or_overfill(db: &TestDb) {
    let store = &db.store;
    let mut agents = Vec::new();
    for idx in 0..4 {
        let user_id = agent(store, &format!("c{idx}"), skills(false, &[], 5)).await;
        store.set_agent_presence(user_id, PresenceStatus::Available, "test", at(10)).await.unwrap();
        agents.push(user_id);
    }
    let mut tickets = Vec::new();
    for idx in 0..40 {
        tickets.push(waiting_ticket(store, &format!("c-{idx}"), &human("track_order", "en")).await);
    }
    let mut handles = Vec::new();
    for _ in 0..4 {
        let store = store.clone();
        handles.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            for round in 0..10 {
                mine.extend(store.route_tickets(at(20 + round), ttl(), 6, everyone_for_everything).await.unwrap());
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for handle in handles {
        all.extend(handle.await.unwrap());
    }
    // A router skips the agents and tickets another one holds (SKIP LOCKED), so a round can
    // come away short while the others commit; one more round alone fills what is left. The
    // rounds together must fill every place exactly once.
    all.extend(store.route_tickets(at(40), ttl(), 6, everyone_for_everything).await.unwrap());
    all.extend(store.route_tickets(at(41), ttl(), 6, everyone_for_everything).await.unwrap());
    assert_eq!(all.len(), 20, "4 agents × 5: {all:?}");
    let mut ticket_ids: Vec<i64> = all.iter().map(|routed| routed.ticket_id).collect();
    ticket_ids.sort_unstable();
    ticket_ids.dedup();
    assert_eq!(ticket_ids.len(), 20, "no ticket routed twice");
    for user_id in agents {
        assert_eq!(store.agent_routing(user_id, at(30), ttl()).await.unwrap().open_tickets, 5);
    }
    let mut n_audited = 0;
    for ticket_id in tickets {
        n_audited += store.list_audit(Some(("ticket", &ticket_id.to_string())), 10).await.unwrap().iter().filter(|entry| entry.action == "ticket.assigned").count();
    }
    assert_eq!(n_audited, 20);
}

conformance_tests!(routing_keeps_safety_skills_and_capacity_whatever_is_proposed, presence_expires_and_going_away_gives_back_unstarted_tickets, concurrent_routers_never_assign_twice_or_overfill);
