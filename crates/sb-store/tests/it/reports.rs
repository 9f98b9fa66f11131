//! The reports on both backends. One scenario of seven tickets around the end of summer time
//! in Berlin (2026-10-25, 03:00 CEST → 02:00 CET) is written through the store's own API, and
//! every report must give the same rows on SQLite and PostgreSQL, as the snapshots say.
//!
//! The scenario (UTC creation time → Berlin local day), at `now` = 2026-10-27T12:00Z:
//! - T1 10-24 21:30 (24th): ana, email, track_order, agent A replied after 30 min (met),
//!   resolved after 2 h (met).
//! - T2 10-24 22:30 (25th): ana, chat, track_order, priority 80, agent A replied after 90 min
//!   (first response breached), unresolved past its deadline (resolution breached).
//! - T3 10-25 10:00 (25th): chat, product_info, answered automatically, resolved, and the
//!   customer wrote again 3 h later (reopened after an automatic answer).
//! - T4 10-25 23:30 (26th): email, adverse_reaction (high), safety queue, nobody answered.
//! - T5 10-26 08:00 (26th): ana, api, policy_info, answered automatically, open.
//! - T6 10-27 11:30 (27th): email, return_refund, first response due at 12:30, negative.
//! - T7 10-25 12:00 (25th): merged into T2: left out of every report.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use expect_test::{expect, Expect};
use sb_domain::{Carrier, Channel, Order, OrderStatus};
use sb_store::{
    Direction, NewAuditEntry, NewCustomer, NewInbound, NewLlmUsage, NewOutbound, NewUser, Queue, ReportWindow, Role, SlaDimension, Store, TicketStatus, TicketTriageUpdate,
    TicketUpdate, TriageOutcome, WindowParams,
};
use serde::Serialize;
use serde_json::json;

use crate::support::TestDb;

fn utc(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

fn now() -> DateTime<Utc> {
    utc("2026-10-27T12:00:00Z")
}

fn berlin() -> Tz {
    "Europe/Berlin".parse().unwrap()
}

fn window(from: &str, to: &str, period: Option<&str>) -> ReportWindow {
    ReportWindow::parse(&WindowParams { from: Some(from), to: Some(to), time_zone: Some("Europe/Berlin"), period }, now()).unwrap()
}

/// One ticket of the scenario.
struct Seed {
    created: &'static str,
    email: &'static str,
    channel: Channel,
    category: &'static str,
    intent: &'static str,
    severity: Option<&'static str>,
    priority: i64,
    route: &'static str,
    sentiment: f64,
    /// Minutes from creation to the first-response and resolution deadlines.
    first_due_minutes: i64,
    resolution_due_minutes: i64,
    /// An agent's reply (user id, minutes after creation).
    agent_reply: Option<(i64, i64)>,
    resolved_minutes: Option<i64>,
}

async fn seed(store: &Store, number: usize, seed: &Seed) -> i64 {
    let created = utc(seed.created);
    let inbound = NewInbound {
        channel: seed.channel,
        external_id: Some(format!("report-{number}")),
        conversation_key: None,
        ticket_id: None,
        subject: Some(format!("question {number}")),
        body: "the customer's words".into(),
        body_is_html: false,
        content_type: "text/plain".into(),
        raw_payload: b"the customer's words".to_vec(),
        metadata: None,
        customer: NewCustomer { email: Some(seed.email.into()), ..NewCustomer::default() },
        received_at: created,
        claim: None,
    };
    let ingested = store.ingest(&inbound).await.unwrap();
    let queue = match seed.route {
        "auto_reply" => Queue::Auto,
        "safety_queue" => Queue::Safety,
        _ => Queue::Human,
    };
    let reply = (seed.route == "auto_reply").then(|| NewOutbound {
        direction: Direction::Outbound,
        channel: seed.channel,
        author_user_id: None,
        subject: None,
        body: "an automatic answer".into(),
        recipient: None,
        metadata: None,
    });
    let outcome = TriageOutcome {
        message_id: ingested.message_id,
        ticket_id: ingested.ticket_id,
        model_name: "triage-default".into(),
        model_version: "v1".into(),
        result: json!({"intent": seed.intent}),
        latency_us: 900,
        route: seed.route.into(),
        reason_code: "test".into(),
        priority: seed.priority,
        decision: json!({"route": seed.route}),
        ticket: TicketTriageUpdate {
            status: TicketStatus::Open,
            queue,
            category: seed.category.into(),
            intent: seed.intent.into(),
            severity: seed.severity.map(str::to_string),
            confidence: 0.9,
            sentiment: seed.sentiment,
            priority: seed.priority,
            route: seed.route.into(),
            sla_policy: Some("default".into()),
            sla: None,
            first_response_due_at: Some(created + Duration::minutes(seed.first_due_minutes)),
            resolution_due_at: Some(created + Duration::minutes(seed.resolution_due_minutes)),
        },
        compliance: None,
        reply,
        audit: vec![NewAuditEntry::new("system", "ai.decision", "ticket", ingested.ticket_id, json!({}))],
    };
    store.record_triage(&outcome, created + Duration::minutes(1)).await.unwrap();
    if let Some((agent_id, minutes)) = seed.agent_reply {
        let reply = NewOutbound { direction: Direction::Outbound, channel: seed.channel, author_user_id: Some(agent_id), subject: None, body: "a person's answer".into(), recipient: None, metadata: None };
        let update = TicketUpdate { assignee_id: Some(Some(agent_id)), ..TicketUpdate::default() };
        store.update_ticket(ingested.ticket_id, &update, &[], created + Duration::minutes(2)).await.unwrap();
        store.add_outbound(ingested.ticket_id, &reply, &[], created + Duration::minutes(minutes)).await.unwrap();
    }
    if let Some(minutes) = seed.resolved_minutes {
        let resolved_at = created + Duration::minutes(minutes);
        let update = TicketUpdate { status: Some(TicketStatus::Resolved), resolved_at: Some(Some(resolved_at)), ..TicketUpdate::default() };
        store.update_ticket(ingested.ticket_id, &update, &[], resolved_at).await.unwrap();
    }
    ingested.ticket_id
}

/// The scenario of the module doc; returns (ticket ids T1…T7, agent A's id, ana's id).
async fn scenario(store: &Store) -> (Vec<i64>, i64, i64) {
    let agent = |email: &str, name: &str| NewUser { email: email.into(), name: name.into(), role: Role::Agent, password_hash: "not a real hash".into() };
    let agent_a = store.create_user(&agent("a@example.com", "Agent A"), &[], now()).await.unwrap().id;
    store.create_user(&agent("b@example.com", "Agent B"), &[], now()).await.unwrap();
    let base = Seed {
        created: "",
        email: "ana@example.com",
        channel: Channel::Email,
        category: "service_action",
        intent: "track_order",
        severity: None,
        priority: 40,
        route: "human_queue",
        sentiment: 0.0,
        first_due_minutes: 60,
        resolution_due_minutes: 24 * 60,
        agent_reply: None,
        resolved_minutes: None,
    };
    let seeds = [
        Seed { created: "2026-10-24T21:30:00Z", sentiment: 0.2, agent_reply: Some((agent_a, 30)), resolved_minutes: Some(120), ..base },
        Seed { created: "2026-10-24T22:30:00Z", channel: Channel::Chat, priority: 80, sentiment: -0.4, agent_reply: Some((agent_a, 90)), ..base },
        Seed {
            created: "2026-10-25T10:00:00Z",
            email: "ben@example.com",
            channel: Channel::Chat,
            category: "informational",
            intent: "product_info",
            priority: 10,
            route: "auto_reply",
            sentiment: 0.5,
            resolved_minutes: Some(60),
            ..base
        },
        Seed {
            created: "2026-10-25T23:30:00Z",
            email: "cleo@example.com",
            category: "safety_compliance",
            intent: "adverse_reaction",
            severity: Some("high"),
            priority: 90,
            route: "safety_queue",
            sentiment: -0.7,
            first_due_minutes: 120,
            ..base
        },
        Seed {
            created: "2026-10-26T08:00:00Z",
            channel: Channel::Api,
            category: "informational",
            intent: "policy_info",
            priority: 30,
            route: "auto_reply",
            sentiment: 0.1,
            resolution_due_minutes: 48 * 60,
            ..base
        },
        Seed { created: "2026-10-27T11:30:00Z", email: "dan@example.com", intent: "return_refund", priority: 50, sentiment: -0.6, ..base },
    ];
    let mut ticket_ids = Vec::new();
    for (seed_idx, one) in seeds.iter().enumerate() {
        ticket_ids.push(seed(store, seed_idx + 1, one).await);
    }
    // T3's customer writes again after the automatic answer.
    let follow_up = NewInbound {
        channel: Channel::Chat,
        external_id: Some("report-follow-up".into()),
        conversation_key: None,
        ticket_id: Some(ticket_ids[2]),
        subject: None,
        body: "that did not answer my question".into(),
        body_is_html: false,
        content_type: "text/plain".into(),
        raw_payload: b"that did not answer my question".to_vec(),
        metadata: None,
        customer: NewCustomer { email: Some("ben@example.com".into()), ..NewCustomer::default() },
        received_at: utc("2026-10-25T13:00:00Z"),
        claim: None,
    };
    assert_eq!(store.ingest(&follow_up).await.unwrap().ticket_id, ticket_ids[2]);
    // T7 is merged into T2.
    let mut duplicate = follow_up.clone();
    duplicate.external_id = Some("report-duplicate".into());
    duplicate.ticket_id = None;
    duplicate.received_at = utc("2026-10-25T12:00:00Z");
    duplicate.customer.email = Some("ana@example.com".into());
    let t7 = store.ingest(&duplicate).await.unwrap().ticket_id;
    store.merge_tickets(t7, ticket_ids[1], &[], utc("2026-10-25T12:05:00Z")).await.unwrap();
    ticket_ids.push(t7);
    let ana = store.find_customer_by_email("ana@example.com").await.unwrap().unwrap().id;
    (ticket_ids, agent_a, ana)
}

/// One JSON line per row, ticket ids replaced by their scenario names (the backends number
/// rows alike, but the snapshot should not depend on it).
fn lines<Row: Serialize>(rows: &[Row], ticket_ids: &[i64]) -> String {
    let mut text = String::new();
    for row in rows {
        let mut line = serde_json::to_string(row).unwrap();
        for (ticket_idx, ticket_id) in ticket_ids.iter().enumerate() {
            line = line.replace(&format!("\"ticket_id\":{ticket_id},"), &format!("\"ticket_id\":\"T{}\",", ticket_idx + 1));
        }
        text.push_str(&line);
        text.push('\n');
    }
    text
}

fn check<Row: Serialize>(rows: &[Row], ticket_ids: &[i64], expect: Expect) {
    expect.assert_eq(&lines(rows, ticket_ids));
}

async fn sla_compliance_buckets_by_local_day_across_dst(db: &TestDb) {
    let store = &db.store;
    let (ticket_ids, _, _) = scenario(store).await;
    // The 25th is 25 hours long; UTC days would put T2 on the 24th and T4 on the 25th.
    let days = window("2026-10-25", "2026-10-26", Some("day"));
    check(
        &store.report_sla(&days, SlaDimension::Category, now()).await.unwrap(),
        &ticket_ids,
        expect![[r#"
            {"period_start":"2026-10-25T00:00:00+02:00","dimension":"category","key":"informational","n_tickets":1,"first_response_met":1,"first_response_breached":0,"first_response_running":0,"first_response_no_target":0,"first_response_compliance":1.0,"resolution_met":1,"resolution_breached":0,"resolution_running":0,"resolution_no_target":0,"resolution_compliance":1.0}
            {"period_start":"2026-10-25T00:00:00+02:00","dimension":"category","key":"service_action","n_tickets":1,"first_response_met":0,"first_response_breached":1,"first_response_running":0,"first_response_no_target":0,"first_response_compliance":0.0,"resolution_met":0,"resolution_breached":1,"resolution_running":0,"resolution_no_target":0,"resolution_compliance":0.0}
            {"period_start":"2026-10-26T00:00:00+01:00","dimension":"category","key":"informational","n_tickets":1,"first_response_met":1,"first_response_breached":0,"first_response_running":0,"first_response_no_target":0,"first_response_compliance":1.0,"resolution_met":0,"resolution_breached":0,"resolution_running":1,"resolution_no_target":0,"resolution_compliance":null}
            {"period_start":"2026-10-26T00:00:00+01:00","dimension":"category","key":"safety_compliance","n_tickets":1,"first_response_met":0,"first_response_breached":1,"first_response_running":0,"first_response_no_target":0,"first_response_compliance":0.0,"resolution_met":0,"resolution_breached":1,"resolution_running":0,"resolution_no_target":0,"resolution_compliance":0.0}
        "#]],
    );
    let whole = window("2026-10-24", "2026-10-27", None);
    check(
        &store.report_sla(&whole, SlaDimension::Priority, now()).await.unwrap(),
        &ticket_ids,
        expect![[r#"
            {"period_start":"2026-10-24T00:00:00+02:00","dimension":"priority","key":"p0_24","n_tickets":1,"first_response_met":1,"first_response_breached":0,"first_response_running":0,"first_response_no_target":0,"first_response_compliance":1.0,"resolution_met":1,"resolution_breached":0,"resolution_running":0,"resolution_no_target":0,"resolution_compliance":1.0}
            {"period_start":"2026-10-24T00:00:00+02:00","dimension":"priority","key":"p25_49","n_tickets":2,"first_response_met":2,"first_response_breached":0,"first_response_running":0,"first_response_no_target":0,"first_response_compliance":1.0,"resolution_met":1,"resolution_breached":0,"resolution_running":1,"resolution_no_target":0,"resolution_compliance":1.0}
            {"period_start":"2026-10-24T00:00:00+02:00","dimension":"priority","key":"p50_74","n_tickets":1,"first_response_met":0,"first_response_breached":0,"first_response_running":1,"first_response_no_target":0,"first_response_compliance":null,"resolution_met":0,"resolution_breached":0,"resolution_running":1,"resolution_no_target":0,"resolution_compliance":null}
            {"period_start":"2026-10-24T00:00:00+02:00","dimension":"priority","key":"p75_100","n_tickets":2,"first_response_met":0,"first_response_breached":2,"first_response_running":0,"first_response_no_target":0,"first_response_compliance":0.0,"resolution_met":0,"resolution_breached":2,"resolution_running":0,"resolution_no_target":0,"resolution_compliance":0.0}
        "#]],
    );
    let severity = store.report_sla(&whole, SlaDimension::Severity, now()).await.unwrap();
    assert_eq!(severity.iter().map(|row| (row.key.as_deref(), row.n_tickets)).collect::<Vec<_>>(), vec![(None, 5), (Some("high"), 1)]);
    let channels = store.report_sla(&whole, SlaDimension::Channel, now()).await.unwrap();
    assert_eq!(channels.iter().map(|row| (row.key.as_deref(), row.n_tickets)).collect::<Vec<_>>(), vec![(Some("api"), 1), (Some("chat"), 2), (Some("email"), 3)]);
    // Hours: T6 at 12:30 local on the 27th is the only ticket between 12:00 and 13:00.
    let hours = window("2026-10-27T12:00", "2026-10-27T14:00", Some("hour"));
    let by_hour = store.report_sla(&hours, SlaDimension::All, now()).await.unwrap();
    assert_eq!(by_hour.iter().map(|row| (row.period_start.as_str(), row.n_tickets)).collect::<Vec<_>>(), vec![("2026-10-27T12:00:00+01:00", 1)]);
}

async fn category_and_agent_performance(db: &TestDb) {
    let store = &db.store;
    let (ticket_ids, _, _) = scenario(store).await;
    let days = window("2026-10-25", "2026-10-26", None);
    check(
        &store.report_categories(&days, now()).await.unwrap(),
        &ticket_ids,
        expect![[r#"
            {"period_start":"2026-10-25T00:00:00+02:00","category":"informational","intent":"policy_info","n_tickets":1,"n_auto_replied":1,"n_resolved":0,"n_sla_breached":0,"avg_first_response_seconds":60.0,"avg_resolution_seconds":null,"avg_confidence":0.9,"avg_sentiment":0.1,"n_negative":0}
            {"period_start":"2026-10-25T00:00:00+02:00","category":"informational","intent":"product_info","n_tickets":1,"n_auto_replied":1,"n_resolved":1,"n_sla_breached":0,"avg_first_response_seconds":60.0,"avg_resolution_seconds":3600.0,"avg_confidence":0.9,"avg_sentiment":0.5,"n_negative":0}
            {"period_start":"2026-10-25T00:00:00+02:00","category":"safety_compliance","intent":"adverse_reaction","n_tickets":1,"n_auto_replied":0,"n_resolved":0,"n_sla_breached":1,"avg_first_response_seconds":null,"avg_resolution_seconds":null,"avg_confidence":0.9,"avg_sentiment":-0.7,"n_negative":1}
            {"period_start":"2026-10-25T00:00:00+02:00","category":"service_action","intent":"track_order","n_tickets":1,"n_auto_replied":0,"n_resolved":0,"n_sla_breached":1,"avg_first_response_seconds":5400.0,"avg_resolution_seconds":null,"avg_confidence":0.9,"avg_sentiment":-0.4,"n_negative":0}
        "#]],
    );
    // Customers rate: Agent A's two tickets (one of them twice: the later rating counts), and an
    // unassigned ticket, which no agent's figures include. Ratings count in the period they were
    // given: the one of Monday the 26th opens the second ISO week of the window.
    let mut agent_tickets = Vec::new();
    let mut unassigned = None;
    for &ticket_id in &ticket_ids {
        match store.ticket(ticket_id).await.unwrap().assignee_id {
            Some(_) => agent_tickets.push(ticket_id),
            None => unassigned = unassigned.or(Some(ticket_id)),
        }
    }
    assert_eq!(agent_tickets.len(), 2, "the scenario assigns two tickets");
    store.record_csat(agent_tickets[0], 2, None, "api", &[], utc("2026-10-25T15:00:00Z")).await.unwrap();
    store.record_csat(agent_tickets[0], 5, Some("Quick and kind"), "chat", &[], utc("2026-10-25T16:00:00Z")).await.unwrap();
    store.record_csat(agent_tickets[1], 2, None, "api", &[], utc("2026-10-26T09:00:00Z")).await.unwrap();
    store.record_csat(unassigned.unwrap(), 1, None, "api", &[], utc("2026-10-26T09:00:00Z")).await.unwrap();
    let week = window("2026-10-24", "2026-10-27", Some("week"));
    check(
        &store.report_agents(&week, now()).await.unwrap(),
        &ticket_ids,
        expect![[r#"
            {"period_start":"2026-10-24T00:00:00+02:00","user_id":1,"name":"Agent A","n_assigned":2,"n_resolved":1,"n_sla_breached":1,"n_replies":2,"n_tickets_handled":2,"avg_first_response_seconds":3600.0,"avg_resolution_seconds":7200.0,"n_csat":1,"avg_csat":5.0}
            {"period_start":"2026-10-26T00:00:00+01:00","user_id":1,"name":"Agent A","n_assigned":0,"n_resolved":0,"n_sla_breached":0,"n_replies":0,"n_tickets_handled":0,"avg_first_response_seconds":null,"avg_resolution_seconds":null,"n_csat":1,"avg_csat":2.0}
        "#]],
    );
}

async fn automation_counts_customers_who_came_back(db: &TestDb) {
    let store = &db.store;
    let (ticket_ids, _, _) = scenario(store).await;
    let whole = window("2026-10-24", "2026-10-27", None);
    check(
        &store.report_automation(&whole).await.unwrap(),
        &ticket_ids,
        expect![[r#"
            {"period_start":"2026-10-24T00:00:00+02:00","intent":"adverse_reaction","n_decisions":1,"n_auto_replied":0,"n_human_queue":0,"n_safety_queue":1,"automation_rate":0.0,"n_reopened":0,"reopen_rate":null}
            {"period_start":"2026-10-24T00:00:00+02:00","intent":"policy_info","n_decisions":1,"n_auto_replied":1,"n_human_queue":0,"n_safety_queue":0,"automation_rate":1.0,"n_reopened":0,"reopen_rate":0.0}
            {"period_start":"2026-10-24T00:00:00+02:00","intent":"product_info","n_decisions":1,"n_auto_replied":1,"n_human_queue":0,"n_safety_queue":0,"automation_rate":1.0,"n_reopened":1,"reopen_rate":1.0}
            {"period_start":"2026-10-24T00:00:00+02:00","intent":"return_refund","n_decisions":1,"n_auto_replied":0,"n_human_queue":1,"n_safety_queue":0,"automation_rate":0.0,"n_reopened":0,"reopen_rate":null}
            {"period_start":"2026-10-24T00:00:00+02:00","intent":"track_order","n_decisions":2,"n_auto_replied":0,"n_human_queue":2,"n_safety_queue":0,"automation_rate":0.0,"n_reopened":0,"reopen_rate":null}
        "#]],
    );
}

async fn cost_is_zero_without_llm_calls_and_sums_them_per_ticket(db: &TestDb) {
    let store = &db.store;
    let (ticket_ids, _, _) = scenario(store).await;
    let days = window("2026-10-24", "2026-10-27", Some("day"));
    check(
        &store.report_cost(&days).await.unwrap(),
        &ticket_ids,
        expect![[r#"
            {"period_start":"2026-10-24T00:00:00+02:00","provider":null,"model":null,"currency":null,"n_calls":0,"prompt_tokens":0,"completion_tokens":0,"cost_micros":0,"n_tickets":1,"n_tickets_with_llm":0,"cost_per_ticket_micros":0}
            {"period_start":"2026-10-25T00:00:00+02:00","provider":null,"model":null,"currency":null,"n_calls":0,"prompt_tokens":0,"completion_tokens":0,"cost_micros":0,"n_tickets":2,"n_tickets_with_llm":0,"cost_per_ticket_micros":0}
            {"period_start":"2026-10-26T00:00:00+01:00","provider":null,"model":null,"currency":null,"n_calls":0,"prompt_tokens":0,"completion_tokens":0,"cost_micros":0,"n_tickets":2,"n_tickets_with_llm":0,"cost_per_ticket_micros":0}
            {"period_start":"2026-10-27T00:00:00+01:00","provider":null,"model":null,"currency":null,"n_calls":0,"prompt_tokens":0,"completion_tokens":0,"cost_micros":0,"n_tickets":1,"n_tickets_with_llm":0,"cost_per_ticket_micros":0}
        "#]],
    );
    let usage = |ticket_id: i64, provider: &str, cost_micros: i64, at: &str| NewLlmUsage {
        ticket_id: Some(ticket_id),
        provider: provider.into(),
        model: if provider == "ollama" { "llama3.1:8b".into() } else { "gpt-4o-mini".into() },
        purpose: "reply".into(),
        prompt_tokens: 1000,
        completion_tokens: 200,
        cost_micros,
        currency: "usd".into(),
        created_at: utc(at),
    };
    store.record_llm_usage(&usage(ticket_ids[2], "openai", 1500, "2026-10-25T10:01:00Z")).await.unwrap();
    store.record_llm_usage(&usage(ticket_ids[4], "openai", 700, "2026-10-26T08:01:00Z")).await.unwrap();
    store.record_llm_usage(&usage(ticket_ids[4], "ollama", 0, "2026-10-26T08:02:00Z")).await.unwrap();
    let mut negative = usage(ticket_ids[4], "openai", -1, "2026-10-26T08:02:00Z");
    assert!(matches!(store.record_llm_usage(&negative).await, Err(sb_store::Error::Invalid(_))));
    negative.cost_micros = 1;
    negative.currency = "dollars".into();
    assert!(matches!(store.record_llm_usage(&negative).await, Err(sb_store::Error::Invalid(_))));
    let whole = window("2026-10-24", "2026-10-27", None);
    check(
        &store.report_cost(&whole).await.unwrap(),
        &ticket_ids,
        expect![[r#"
            {"period_start":"2026-10-24T00:00:00+02:00","provider":"ollama","model":"llama3.1:8b","currency":"USD","n_calls":1,"prompt_tokens":1000,"completion_tokens":200,"cost_micros":0,"n_tickets":6,"n_tickets_with_llm":1,"cost_per_ticket_micros":0}
            {"period_start":"2026-10-24T00:00:00+02:00","provider":"openai","model":"gpt-4o-mini","currency":"USD","n_calls":2,"prompt_tokens":2000,"completion_tokens":400,"cost_micros":2200,"n_tickets":6,"n_tickets_with_llm":2,"cost_per_ticket_micros":366}
        "#]],
    );
}

async fn pending_queue_and_realtime_metrics_show_open_work(db: &TestDb) {
    let store = &db.store;
    let (ticket_ids, _, _) = scenario(store).await;
    check(
        &store.report_pending(berlin(), 100, now()).await.unwrap(),
        &ticket_ids,
        expect![[r#"
            {"ticket_id":"T4","status":"open","queue":"safety","channel":"email","category":"safety_compliance","intent":"adverse_reaction","severity":"high","priority":90,"assignee_id":null,"customer_id":3,"created_at":"2026-10-26T00:30:00+01:00","waiting_seconds":131400,"next_deadline_at":"2026-10-26T02:30:00+01:00","seconds_to_deadline":-124200,"sla_state":"breached"}
            {"ticket_id":"T2","status":"open","queue":"human","channel":"chat","category":"service_action","intent":"track_order","severity":null,"priority":80,"assignee_id":1,"customer_id":1,"created_at":"2026-10-25T00:30:00+02:00","waiting_seconds":221400,"next_deadline_at":"2026-10-25T23:30:00+01:00","seconds_to_deadline":-135000,"sla_state":"breached"}
            {"ticket_id":"T6","status":"open","queue":"human","channel":"email","category":"service_action","intent":"return_refund","severity":null,"priority":50,"assignee_id":null,"customer_id":4,"created_at":"2026-10-27T12:30:00+01:00","waiting_seconds":1800,"next_deadline_at":"2026-10-27T13:30:00+01:00","seconds_to_deadline":1800,"sla_state":"due_within_hour"}
            {"ticket_id":"T5","status":"open","queue":"auto","channel":"api","category":"informational","intent":"policy_info","severity":null,"priority":30,"assignee_id":null,"customer_id":1,"created_at":"2026-10-26T09:00:00+01:00","waiting_seconds":100800,"next_deadline_at":"2026-10-28T09:00:00+01:00","seconds_to_deadline":72000,"sla_state":"on_track"}
        "#]],
    );
    assert_eq!(store.report_pending(berlin(), 2, now()).await.unwrap().len(), 2);
    check(
        &[store.report_realtime(berlin(), now()).await.unwrap()],
        &ticket_ids,
        expect![[r#"
            {"generated_at":"2026-10-27T13:00:00+01:00","n_open":4,"n_queue_triage":0,"n_queue_auto":1,"n_queue_human":2,"n_queue_safety":1,"n_waiting_on_customer":0,"n_unassigned":2,"oldest_waiting_seconds":131400,"n_sla_breached":2,"n_sla_due_within_hour":1,"arrivals_last_hour":1,"arrivals_today":1,"resolved_today":0,"avg_sentiment_last_hour":-0.6,"n_negative_last_hour":1,"decisions_today":1,"auto_replied_today":0,"automation_rate_today":0.0}
        "#]],
    );
}

async fn customer_360_gathers_history_trend_and_orders(db: &TestDb) {
    let store = &db.store;
    let (ticket_ids, _, ana) = scenario(store).await;
    let order = Order {
        number: "A10493".into(),
        customer_email: Some("ana@example.com".into()),
        customer_name: Some("Ana Silva".into()),
        status: OrderStatus::Shipped,
        placed_at: Utc.with_ymd_and_hms(2026, 10, 20, 9, 0, 0).unwrap(),
        shipped_at: None,
        delivered_at: None,
        promised_delivery: NaiveDate::from_ymd_opt(2026, 10, 24),
        carrier: Some(Carrier::Ups),
        tracking_number: Some("1Z 999 AA1 01 2345 6784".into()),
        total_minor: 4999,
        currency: "EUR".into(),
        items: Vec::new(),
    };
    store.upsert_order(&order).await.unwrap();
    let days = window("2026-10-24", "2026-10-26", Some("day"));
    let view = store.report_customer(ana, &days).await.unwrap();
    assert_eq!(view.customer.email.as_deref(), Some("ana@example.com"));
    let summary = json!({
        "n_tickets": view.n_tickets,
        "n_open_tickets": view.n_open_tickets,
        "first_contact_at": view.first_contact_at,
        "last_contact_at": view.last_contact_at,
        "avg_sentiment": view.avg_sentiment,
    });
    check(&[summary], &ticket_ids, expect![[r#"
        {"avg_sentiment":-0.03333333333333333,"first_contact_at":"2026-10-24T23:30:00+02:00","last_contact_at":"2026-10-26T09:00:00+01:00","n_open_tickets":2,"n_tickets":3}
    "#]]);
    check(&view.sentiment_trend, &ticket_ids, expect![[r#"
        {"period_start":"2026-10-24T00:00:00+02:00","n_tickets":1,"avg_sentiment":0.2}
        {"period_start":"2026-10-25T00:00:00+02:00","n_tickets":1,"avg_sentiment":-0.4}
        {"period_start":"2026-10-26T00:00:00+01:00","n_tickets":1,"avg_sentiment":0.1}
    "#]]);
    check(&view.tickets, &ticket_ids, expect![[r#"
        {"ticket_id":"T5","created_at":"2026-10-26T09:00:00+01:00","channel":"api","status":"open","category":"informational","intent":"policy_info","priority":30,"sentiment":0.1,"subject":"question 5","resolved_at":null}
        {"ticket_id":"T7","created_at":"2026-10-25T13:00:00+01:00","channel":"chat","status":"merged","category":null,"intent":null,"priority":0,"sentiment":null,"subject":null,"resolved_at":null}
        {"ticket_id":"T2","created_at":"2026-10-25T00:30:00+02:00","channel":"chat","status":"open","category":"service_action","intent":"track_order","priority":80,"sentiment":-0.4,"subject":"question 2","resolved_at":null}
        {"ticket_id":"T1","created_at":"2026-10-24T23:30:00+02:00","channel":"email","status":"resolved","category":"service_action","intent":"track_order","priority":40,"sentiment":0.2,"subject":"question 1","resolved_at":"2026-10-25T01:30:00+02:00"}
    "#]]);
    check(&view.orders, &ticket_ids, expect![[r#"
        {"number":"A10493","status":"shipped","placed_at":"2026-10-20T11:00:00+02:00","total_minor":4999,"currency":"EUR","carrier":"ups","tracking_number":"1Z 999 AA1 01 2345 6784","tracking_url":"https://www.ups.com/track?tracknum=1Z999AA10123456784","promised_delivery":"2026-10-24"}
    "#]]);
    assert!(matches!(store.report_customer(999_999, &days).await, Err(sb_store::Error::NotFound { .. })));
}

/// Every report that reads rollups (SLA by each breakdown, categories, agents, automation, cost)
/// over windows that cut hours and days in several ways, as one JSON value per window.
async fn rollup_reports(store: &Store, at: DateTime<Utc>) -> Vec<serde_json::Value> {
    let windows = [
        ("2026-10-24", "2026-10-27", "Europe/Berlin", Some("day")),
        ("2026-10-24", "2026-10-28", "Europe/Berlin", Some("week")),
        ("2026-10-01", "2026-10-31", "Europe/Berlin", Some("month")),
        ("2026-10-24", "2026-10-27", "Europe/Berlin", None),
        ("2026-10-24T23:00", "2026-10-25T05:00", "Europe/Berlin", Some("hour")),
        ("2026-10-24", "2026-10-27", "UTC", Some("day")),
        // Half-hour offset: local days never start on a UTC hour.
        ("2026-10-24", "2026-10-27", "Asia/Kolkata", Some("day")),
        // A window that starts and ends inside hours.
        ("2026-10-24T23:45", "2026-10-27T12:10", "Europe/Berlin", Some("day")),
    ];
    let mut values = Vec::new();
    for (from, to, time_zone, period) in windows {
        let window = ReportWindow::parse(&WindowParams { from: Some(from), to: Some(to), time_zone: Some(time_zone), period }, at).unwrap();
        let mut sla = Vec::new();
        for dimension in SlaDimension::ALL {
            sla.push(store.report_sla(&window, dimension, at).await.unwrap());
        }
        values.push(json!({
            "window": [from, to, time_zone, period],
            "sla": sla,
            "categories": store.report_categories(&window, at).await.unwrap(),
            "agents": store.report_agents(&window, at).await.unwrap(),
            "automation": store.report_automation(&window).await.unwrap(),
            "cost": store.report_cost(&window).await.unwrap(),
        }));
    }
    values
}

/// Equal, with floats equal to 1e-9 (a rollup adds sums in another order than a scan).
fn assert_same(actual: &serde_json::Value, expected: &serde_json::Value, path: &str) {
    use serde_json::Value;
    match (actual, expected) {
        (Value::Number(left), Value::Number(right)) if left.is_f64() || right.is_f64() => {
            let (left, right) = (left.as_f64().unwrap(), right.as_f64().unwrap());
            assert!((left - right).abs() <= 1e-9 * left.abs().max(right.abs()).max(1.0), "{path}: {left} != {right}");
        }
        (Value::Array(left), Value::Array(right)) => {
            assert_eq!(left.len(), right.len(), "{path}: {actual} != {expected}");
            for (idx, (left, right)) in left.iter().zip(right).enumerate() {
                assert_same(left, right, &format!("{path}[{idx}]"));
            }
        }
        (Value::Object(left), Value::Object(right)) => {
            assert_eq!(left.keys().collect::<Vec<_>>(), right.keys().collect::<Vec<_>>(), "{path}");
            for (key, value) in left {
                assert_same(value, &right[key], &format!("{path}.{key}"));
            }
        }
        _ => assert_eq!(actual, expected, "{path}"),
    }
}

/// Builds every rollup up to `at`, in small steps as the server's builder does; returns the
/// hours and days built.
async fn build_rollups(store: &Store, at: DateTime<Utc>) -> (usize, usize) {
    let (mut hours, mut days) = (0, 0);
    loop {
        let refresh = store.refresh_report_rollups(at, 30).await.unwrap();
        assert!(!refresh.busy);
        hours += refresh.built_hours;
        days += refresh.built_days;
        if refresh.remaining_hours == 0 {
            return (hours, days);
        }
    }
}

/// A reply by a person on a ticket at a time.
async fn agent_reply(store: &Store, ticket_id: i64, agent_id: i64, at: &str) {
    let reply = NewOutbound { direction: Direction::Outbound, channel: Channel::Email, author_user_id: Some(agent_id), subject: None, body: "more help".into(), recipient: None, metadata: None };
    store.add_outbound(ticket_id, &reply, &[], utc(at)).await.unwrap();
}

/// One LLM call for a ticket.
fn llm_call(ticket_id: i64, model: &str, cost_micros: i64, at: &str) -> NewLlmUsage {
    NewLlmUsage {
        ticket_id: Some(ticket_id),
        provider: "openai".into(),
        model: model.into(),
        purpose: "reply".into(),
        prompt_tokens: 800,
        completion_tokens: 150,
        cost_micros,
        currency: "USD".into(),
        created_at: utc(at),
    }
}

/// The reports read from rollups equal the reports scanned from the tickets: right after a
/// build, after a running deadline passes (without any write), after tickets change (dirty
/// hours) and after a rebuild.
async fn rollups_give_the_same_reports_as_a_scan(db: &TestDb) {
    let store = &db.store;
    let (ticket_ids, agent_a, _) = scenario(store).await;
    // Beside the scenario: more replies (agent A again on T1 a day later, which is not a ticket
    // handled again; agent D's first and second on T1; agent A's first on T5), ratings (one
    // replaced) and LLM calls (a ticket's second call with the same model is not a new ticket).
    let agent_d = store.create_user(&NewUser { email: "d@example.com".into(), name: "Agent D".into(), role: Role::Agent, password_hash: "not a real hash".into() }, &[], now()).await.unwrap().id;
    agent_reply(store, ticket_ids[0], agent_a, "2026-10-26T09:10:00Z").await;
    agent_reply(store, ticket_ids[0], agent_d, "2026-10-26T09:20:00Z").await;
    agent_reply(store, ticket_ids[0], agent_d, "2026-10-26T10:20:00Z").await;
    agent_reply(store, ticket_ids[4], agent_a, "2026-10-26T09:40:00Z").await;
    store.record_csat(ticket_ids[0], 4, None, "api", &[], utc("2026-10-25T15:00:00Z")).await.unwrap();
    store.record_csat(ticket_ids[1], 2, None, "chat", &[], utc("2026-10-26T09:00:00Z")).await.unwrap();
    store.record_csat(ticket_ids[1], 5, None, "chat", &[], utc("2026-10-26T18:30:00Z")).await.unwrap();
    store.record_llm_usage(&llm_call(ticket_ids[2], "gpt-4o-mini", 1500, "2026-10-25T10:01:00Z")).await.unwrap();
    store.record_llm_usage(&llm_call(ticket_ids[4], "gpt-4o-mini", 700, "2026-10-26T08:01:00Z")).await.unwrap();
    store.record_llm_usage(&llm_call(ticket_ids[4], "gpt-4o", 2100, "2026-10-26T08:02:00Z")).await.unwrap();
    store.record_llm_usage(&llm_call(ticket_ids[2], "gpt-4o-mini", 900, "2026-10-26T09:00:00Z")).await.unwrap();
    let scanned = rollup_reports(store, now()).await;
    let (hours, days) = build_rollups(store, now()).await;
    // To the last whole hour before now (10-27 11:00), each family from its first row's hour:
    // tickets and decisions from T1's (10-24 21:00), replies from agent A's first (10-24 22:00),
    // ratings from 10-25 15:00,
    // LLM calls from 10-25 10:00; and the whole UTC days among them.
    assert_eq!((hours, days), (2 * (3 + 24 + 24 + 12) + (2 + 24 + 24 + 12) + (9 + 24 + 12) + (14 + 24 + 12), 2 * 2 + 2 + 1 + 1), "hours and days built");
    let again = store.refresh_report_rollups(now(), 1000).await.unwrap();
    assert_eq!((again.built_hours, again.built_days), (0, 0), "nothing is stale right after a build");
    assert_same(&json!(rollup_reports(store, now()).await), &json!(scanned), "after the build");

    // Both the day rows and the hour rows are read: a tampered row shows in the reports (then
    // it is put back). The window holds the UTC days 25 and 26 and the hours around them.
    let whole = window("2026-10-24", "2026-10-27", None);
    for span_hours in [24, 1] {
        db.raw_execute(&format!("UPDATE report_rollup_tickets SET n_tickets = n_tickets + 100 WHERE dimension = 'all' AND span_hours = {span_hours}")).await.unwrap();
        assert!(store.report_sla(&whole, SlaDimension::All, now()).await.unwrap()[0].n_tickets > 100, "the SLA report reads rollup rows of {span_hours} h");
        db.raw_execute(&format!("UPDATE report_rollup_tickets SET n_tickets = n_tickets - 100 WHERE dimension = 'all' AND span_hours = {span_hours}")).await.unwrap();
        // The count families, over a window that holds the UTC day 26 too (the only whole day
        // of LLM calls).
        let wide = window("2026-10-24", "2026-10-28", None);
        for (family, column) in [("replies", "c0"), ("csat", "c0"), ("llm", "c3")] {
            let total = async || -> i64 {
                match family {
                    "replies" => store.report_agents(&wide, now()).await.unwrap().iter().map(|row| row.n_replies).sum(),
                    "csat" => store.report_agents(&wide, now()).await.unwrap().iter().map(|row| row.n_csat).sum(),
                    _ => store.report_cost(&wide).await.unwrap().iter().map(|row| row.cost_micros).sum(),
                }
            };
            let before = total().await;
            db.raw_execute(&format!("UPDATE report_rollup_counts SET {column} = {column} + 100 WHERE family = '{family}' AND span_hours = {span_hours}")).await.unwrap();
            assert!(total().await > before, "the reports read {family} rollup rows of {span_hours} h");
            db.raw_execute(&format!("UPDATE report_rollup_counts SET {column} = {column} - 100 WHERE family = '{family}' AND span_hours = {span_hours}")).await.unwrap();
        }
    }

    // T6's first response falls due at 12:30 with nothing written: at 13:00 its hour is
    // scanned again, and the reports say breached as a scan does.
    let later = utc("2026-10-27T13:00:00Z");
    let with_rollups = rollup_reports(store, later).await;
    store.clear_report_rollups().await.unwrap();
    let scanned_later = rollup_reports(store, later).await;
    assert_ne!(json!(scanned_later), json!(scanned), "the passing deadline changes the reports");
    assert_same(&json!(with_rollups), &json!(scanned_later), "after a deadline passed");
    build_rollups(store, later).await;
    assert_same(&json!(rollup_reports(store, later).await), &json!(scanned_later), "rebuilt after the deadline");

    // Changes that move a "first" into an earlier rolled-up hour, and nothing else: agent D's
    // reply written back on the 25th (the one of the 26th, 09:20, is no longer D's first on T1),
    // an LLM call recorded back before T5's (its call of 08:01 is no longer the first). Only
    // the triggers' look at later rows marks the hours of 09:00 and 08:00.
    agent_reply(store, ticket_ids[0], agent_d, "2026-10-25T20:00:00Z").await;
    store.record_llm_usage(&llm_call(ticket_ids[4], "gpt-4o-mini", 300, "2026-10-26T07:00:00Z")).await.unwrap();
    let dirty = rollup_reports(store, later).await;
    store.clear_report_rollups().await.unwrap();
    let truth = rollup_reports(store, later).await;
    assert_ne!(json!(truth), json!(scanned_later), "the earlier reply and call change the reports");
    assert_same(&json!(dirty), &json!(truth), "hours of later replies and calls are scanned");
    build_rollups(store, later).await;
    let truth_before_changes = truth;

    // Changes to rolled-up hours: T2 is resolved and reassigned, T5 (answered automatically)
    // hears from its customer again, T4 is recategorised by a person, T2 is rated again, and
    // T5 is merged into T1 (agent A had answered both, so A's reply on T5 is no longer A's
    // first on its ticket; T5's customer's messages move too, so its automatic answer is no
    // longer reopened).
    let agent_b = store.create_user(&NewUser { email: "c@example.com".into(), name: "Agent C".into(), role: Role::Agent, password_hash: "not a real hash".into() }, &[], later).await.unwrap().id;
    let update = TicketUpdate { status: Some(TicketStatus::Resolved), resolved_at: Some(Some(later)), assignee_id: Some(Some(agent_b)), ..TicketUpdate::default() };
    store.update_ticket(ticket_ids[1], &update, &[], later).await.unwrap();
    let again = NewInbound {
        channel: Channel::Api,
        external_id: Some("report-t5-again".into()),
        conversation_key: None,
        ticket_id: Some(ticket_ids[4]),
        subject: None,
        body: "still waiting".into(),
        body_is_html: false,
        content_type: "text/plain".into(),
        raw_payload: b"still waiting".to_vec(),
        metadata: None,
        customer: NewCustomer { email: Some("ana@example.com".into()), ..NewCustomer::default() },
        received_at: later,
        claim: None,
    };
    store.ingest(&again).await.unwrap();
    store.update_ticket(ticket_ids[3], &TicketUpdate { category: Some(Some("service_action".into())), ..TicketUpdate::default() }, &[], later).await.unwrap();
    store.record_csat(ticket_ids[1], 3, None, "chat", &[], later).await.unwrap();
    store.merge_tickets(ticket_ids[4], ticket_ids[0], &[], later).await.unwrap();
    let dirty = rollup_reports(store, later).await;
    store.clear_report_rollups().await.unwrap();
    let truth = rollup_reports(store, later).await;
    assert_ne!(json!(truth), json!(truth_before_changes), "the changes change the reports");
    assert_same(&json!(dirty), &json!(truth), "dirty hours are scanned");
    build_rollups(store, later).await;
    assert_same(&json!(rollup_reports(store, later).await), &json!(truth), "after the rebuild");
}

conformance_tests!(
    sla_compliance_buckets_by_local_day_across_dst,
    category_and_agent_performance,
    automation_counts_customers_who_came_back,
    cost_is_zero_without_llm_calls_and_sums_them_per_ticket,
    pending_queue_and_realtime_metrics_show_open_work,
    customer_360_gathers_history_trend_and_orders,
    rollups_give_the_same_reports_as_a_scan,
);
