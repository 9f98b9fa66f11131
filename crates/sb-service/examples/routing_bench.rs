//! Routing benchmark: how long one routing round takes with N present agents and M waiting
//! tickets, on SQLite and PostgreSQL, through the same call the router task makes
//! (`Store::route_tickets` with `sb_service::routing::decide_routes`), and the decision alone.
//!
//! ```text
//! cargo run --release -p sb-service --example routing_bench -- --agents 50 --tickets 200
//! cargo run --release -p sb-service --example routing_bench -- --agents 50 --tickets 200 --postgres postgres://postgres@127.0.0.1:5432/test
//! ```
//! Each run builds a fresh database (a temporary SQLite file, or a throwaway PostgreSQL schema):
//! agents with mixed languages, a quarter with the safety skill, capacity 4–10; tickets with
//! priorities, languages, one in ten in the safety queue, one in five a chat. A round assigns
//! what fits; the timed rounds are repeated on fresh copies of the queue (the assignments are
//! undone between rounds, outside the timing). Prints the median and the spread of `--runs`
//! rounds (default 11).

use std::time::{Duration as StdDuration, Instant};

use chrono::{Duration, Utc};
use sb_domain::Channel;
use sb_service::routing::decide_routes;
use sb_store::{NewCustomer, NewInbound, NewUser, PresenceStatus, Queue, Role, RoutingSkills, Store, StoreOptions, TicketStatus, TicketTriageUpdate, TriageOutcome};
use serde_json::json;

struct Options {
    n_agents: usize,
    n_tickets: usize,
    runs: usize,
    postgres: Option<String>,
}

fn options() -> Options {
    let mut options = Options { n_agents: 50, n_tickets: 200, runs: 11, postgres: None };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next().unwrap_or_else(|| panic!("{arg} needs a value"));
        match arg.as_str() {
            "--agents" => options.n_agents = value.parse().expect("--agents N"),
            "--tickets" => options.n_tickets = value.parse().expect("--tickets M"),
            "--runs" => options.runs = value.parse().expect("--runs R"),
            "--postgres" => options.postgres = Some(value),
            other => panic!("unknown option {other}"),
        }
    }
    options
}

const LANGUAGES: [&str; 4] = ["en", "es", "de", "fr"];

async fn populate(store: &Store, options: &Options) {
    let now = Utc::now();
    for agent_idx in 0..options.n_agents {
        let user = store.create_user(&NewUser { email: format!("agent-{agent_idx}@bench.example"), name: format!("Agent {agent_idx}"), role: Role::Agent, password_hash: "x".into() }, &[], now).await.unwrap();
        let languages = if agent_idx % 3 == 0 { vec!["en".to_string(), LANGUAGES[1 + agent_idx % 3].to_string()] } else { vec!["en".to_string()] };
        let skills = RoutingSkills { languages, safety: agent_idx % 4 == 0, max_open_tickets: 4 + (agent_idx % 7) as i64, ..RoutingSkills::default() };
        store.set_agent_skills(user.id, &skills, &[], now).await.unwrap();
        store.set_agent_presence(user.id, PresenceStatus::Available, "bench", now).await.unwrap();
    }
    for ticket_idx in 0..options.n_tickets {
        let channel = if ticket_idx % 5 == 0 { Channel::Chat } else { Channel::Email };
        let key = format!("bench-{ticket_idx}");
        let ingested = store
            .ingest(&NewInbound {
                channel,
                external_id: Some(key.clone()),
                conversation_key: Some(key.clone()),
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
        let safety = ticket_idx % 10 == 0;
        let priority = [20_i64, 40, 60, 90][ticket_idx % 4];
        let language = if ticket_idx % 5 == 1 { LANGUAGES[1 + ticket_idx % 3] } else { "en" };
        let route = if safety { "safety_queue" } else { "human_queue" };
        store
            .record_triage(
                &TriageOutcome {
                    message_id: ingested.message_id,
                    ticket_id: ingested.ticket_id,
                    model_name: "bench".into(),
                    model_version: "1".into(),
                    result: json!({"language": {"code": language, "confidence": 0.9}}),
                    latency_us: 1,
                    route: route.into(),
                    reason_code: "bench".into(),
                    priority,
                    decision: json!({}),
                    ticket: TicketTriageUpdate {
                        status: TicketStatus::Open,
                        queue: if safety { Queue::Safety } else { Queue::Human },
                        category: if safety { "safety_compliance".into() } else { "service_action".into() },
                        intent: if safety { "product_hazard".into() } else { "track_order".into() },
                        severity: None,
                        confidence: 0.9,
                        sentiment: 0.0,
                        priority,
                        route: route.into(),
                        sla_policy: None,
                        sla: None,
                        first_response_due_at: Some(now + Duration::minutes((ticket_idx % 120) as i64)),
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
    }
}

fn median(mut durations: Vec<StdDuration>) -> (StdDuration, StdDuration, StdDuration) {
    durations.sort();
    (durations[0], durations[durations.len() / 2], durations[durations.len() - 1])
}

async fn bench(label: &str, store: &Store, options: &Options) {
    populate(store, options).await;
    let ttl = Duration::seconds(90);
    let mut round_times = Vec::new();
    let mut decide_times = Vec::new();
    let mut n_routed = 0;
    for _ in 0..options.runs + 1 {
        let now = Utc::now();
        let started = Instant::now();
        let routed = store.route_tickets(now, ttl, options.n_tickets as i64, decide_routes).await.unwrap();
        round_times.push(started.elapsed());
        n_routed = routed.len();
        // The decision alone, on the snapshot the store read (timed outside the transaction).
        let mut snapshot = None;
        for user_id in routed.iter().map(|routed| routed.user_id).collect::<std::collections::BTreeSet<_>>() {
            store.set_agent_presence(user_id, PresenceStatus::Away, "bench", now).await.unwrap();
            store.set_agent_presence(user_id, PresenceStatus::Available, "bench", now).await.unwrap();
        }
        store
            .route_tickets(now, ttl, options.n_tickets as i64, |read| {
                snapshot = Some(read.clone());
                Vec::new()
            })
            .await
            .unwrap();
        let snapshot = snapshot.expect("agents are present");
        let started = Instant::now();
        let decided = decide_routes(&snapshot);
        decide_times.push(started.elapsed());
        assert_eq!(decided.len(), n_routed, "the same queue gives the same decision");
    }
    // The first round warms caches: left out.
    let (round_min, round_median, round_max) = median(round_times.split_off(1));
    let (decide_min, decide_median, decide_max) = median(decide_times.split_off(1));
    println!(
        "{label}: {} agents, {} tickets, {n_routed} routed per round; round median {:.2} ms (min {:.2}, max {:.2}); decision alone median {:.3} ms (min {:.3}, max {:.3})",
        options.n_agents,
        options.n_tickets,
        round_median.as_secs_f64() * 1e3,
        round_min.as_secs_f64() * 1e3,
        round_max.as_secs_f64() * 1e3,
        decide_median.as_secs_f64() * 1e3,
        decide_min.as_secs_f64() * 1e3,
        decide_max.as_secs_f64() * 1e3,
    );
}

#[tokio::main]
async fn main() {
    let options = options();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("routing-bench.db").display());
    let store = Store::connect(&url, &StoreOptions::default()).await.unwrap();
    store.migrate().await.unwrap();
    bench("sqlite", &store, &options).await;
    store.close().await;
    if let Some(postgres) = &options.postgres {
        let schema = format!("sb_routing_bench_{}", std::process::id());
        let store = Store::connect(postgres, &StoreOptions { postgres_schema: Some(schema.clone()), ..StoreOptions::default() }).await.unwrap();
        store.migrate().await.unwrap();
        bench("postgres", &store, &options).await;
        store.drop_postgres_schema(&schema).await.unwrap();
        store.close().await;
    }
}
