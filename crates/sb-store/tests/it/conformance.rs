//! The conformance suite: one body per behaviour, run against SQLite and PostgreSQL by the
//! `conformance_tests!` macro at the bottom. A backend that behaves differently fails here.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use sb_domain::{Carrier, Channel, Order, OrderItem, OrderStatus};
use sb_store::{
    AlertSeverity, AlertStatus, DeliveryOutcome, DeliveryTarget, NewAlert, Raised,
    ArticleChange, ArticleFilter, ArticleStatus, Direction, FinishTriage, ImportOutcome, IngestedRows, NewArticle, NewTemplate, TemplateKind, Error, MessageStage, NewAuditEntry, NewCustomer, NewInbound, NewOutbound, NewUser, Page, Queue, Role, Scope, Store, TicketFilter,
    TicketStatus, TicketTriageUpdate, TicketUpdate, TriageBacklog, TriageOutcome,
};
use serde_json::json;

use crate::support::TestDb;

fn at(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap() + Duration::minutes(minutes)
}

fn inbound(external_id: Option<&str>, body: &str, email: Option<&str>) -> NewInbound {
    NewInbound {
        channel: Channel::Api,
        external_id: external_id.map(str::to_string),
        conversation_key: None,
        ticket_id: None,
        subject: None,
        body: body.to_string(),
        body_is_html: false,
        content_type: "application/json".into(),
        raw_payload: format!("{{\"text\":{body:?}}}").into_bytes(),
        metadata: None,
        customer: NewCustomer { email: email.map(str::to_string), name: Some("Ana Silva".into()), ..NewCustomer::default() },
        received_at: at(0),
        claim: None,
    }
}

fn outcome(message_id: i64, ticket_id: i64, route: &str, safety: bool) -> TriageOutcome {
    TriageOutcome {
        message_id,
        ticket_id,
        model_name: "triage-default".into(),
        model_version: "v1".into(),
        result: json!({"intent": if safety { "adverse_reaction" } else { "track_order" }, "confidence": 0.93}),
        latency_us: 850,
        route: route.into(),
        reason_code: "test".into(),
        priority: if safety { 90 } else { 40 },
        decision: json!({"route": route, "reason": "because the test says so"}),
        ticket: TicketTriageUpdate {
            status: TicketStatus::Open,
            queue: if safety { Queue::Safety } else { Queue::Human },
            category: if safety { "safety_compliance".into() } else { "service_action".into() },
            intent: if safety { "adverse_reaction".into() } else { "track_order".into() },
            severity: safety.then(|| "high".to_string()),
            confidence: 0.93,
            sentiment: -0.2,
            priority: if safety { 90 } else { 40 },
            route: route.into(),
            sla_policy: Some("default".into()),
            sla: Some(json!({"policy_name": "default"})),
            first_response_due_at: Some(at(120)),
            resolution_due_at: Some(at(60 * 24)),
        },
        compliance: safety.then(|| ("adverse_reaction".to_string(), "high".to_string(), "rash after [EMAIL] cream".to_string(), json!({"model": "v1"}))),
        reply: None,
        audit: vec![NewAuditEntry::new("system", "ai.decision", "ticket", ticket_id, json!({"route": route}))],
    }
}

async fn migrations_are_idempotent_and_ready(db: &TestDb) {
    assert!(db.store.is_ready().await.unwrap());
    db.store.migrate().await.unwrap();
    assert!(db.store.is_ready().await.unwrap());
}

async fn ingest_keeps_the_raw_payload_and_creates_ticket_and_customer(db: &TestDb) {
    let store = &db.store;
    let mut message = inbound(Some("m-1"), "where is my order #A10493?", Some("Ana@Example.com"));
    // Not UTF-8: the raw payload is bytes, kept as received.
    message.raw_payload = vec![0xff, 0xfe, b'{', 0x00, b'}'];
    let ingested = store.ingest(&message).await.unwrap();
    assert!(ingested.created && ingested.new_ticket);
    let stored = store.message(ingested.message_id).await.unwrap();
    assert_eq!(stored.raw_payload, vec![0xff, 0xfe, b'{', 0x00, b'}']);
    assert_eq!(stored.stage, MessageStage::Raw);
    assert_eq!(stored.direction, Direction::Inbound);
    let ticket = store.ticket(ingested.ticket_id).await.unwrap();
    assert_eq!((ticket.status, ticket.queue, ticket.channel), (TicketStatus::New, Queue::Triage, Channel::Api));
    let customer = store.customer(ingested.customer_id.unwrap()).await.unwrap();
    assert_eq!(customer.email.as_deref(), Some("ana@example.com"));
    // The same customer is found again by email, case-insensitively.
    let second = store.ingest(&inbound(Some("m-2"), "and my other order?", Some("ANA@example.com"))).await.unwrap();
    assert_eq!(second.customer_id, ingested.customer_id);
    assert_ne!(second.ticket_id, ingested.ticket_id);
}

async fn duplicate_delivery_returns_the_first_ticket(db: &TestDb) {
    let store = &db.store;
    let first = store.ingest(&inbound(Some("dup-1"), "hello", Some("a@example.com"))).await.unwrap();
    let again = store.ingest(&inbound(Some("dup-1"), "hello again, changed text", Some("b@example.com"))).await.unwrap();
    assert!(!again.created);
    assert_eq!((again.ticket_id, again.message_id), (first.ticket_id, first.message_id));
    let (tickets, total) = store.list_tickets(&TicketFilter::default(), Page::default(), at(0)).await.unwrap();
    assert_eq!((tickets.len(), total), (1, 1));
    // The same external id on another channel is another message.
    let mut other_channel = inbound(Some("dup-1"), "hello", None);
    other_channel.channel = Channel::Chat;
    assert!(store.ingest(&other_channel).await.unwrap().created);
}

async fn concurrent_duplicates_make_one_ticket(db: &TestDb) {
    let mut handles = Vec::new();
    for attempt in 0..8 {
        let store = db.store.clone();
        handles.push(tokio::spawn(async move { store.ingest(&inbound(Some("race-1"), &format!("attempt {attempt}"), Some("race@example.com"))).await }));
    }
    let mut ticket_ids = Vec::new();
    let mut created = 0;
    for handle in handles {
        let ingested = handle.await.unwrap().unwrap();
        created += usize::from(ingested.created);
        ticket_ids.push(ingested.ticket_id);
    }
    assert_eq!(created, 1);
    ticket_ids.dedup();
    assert_eq!(ticket_ids.len(), 1);
    let (_, total) = db.store.list_tickets(&TicketFilter::default(), Page::default(), at(0)).await.unwrap();
    assert_eq!(total, 1);
}

async fn conversations_thread_into_one_open_ticket(db: &TestDb) {
    let store = &db.store;
    let mut first = inbound(Some("c-1"), "hi, my parcel is late", Some("c@example.com"));
    first.conversation_key = Some("chat-42".into());
    let mut second = first.clone();
    second.external_id = Some("c-2".into());
    second.body = "it was order 558201".into();
    let one = store.ingest(&first).await.unwrap();
    let two = store.ingest(&second).await.unwrap();
    assert_eq!(one.ticket_id, two.ticket_id);
    assert!(!two.new_ticket);
    assert_eq!(store.ticket_messages(one.ticket_id).await.unwrap().len(), 2);
    // A closed conversation starts a new ticket.
    store.update_ticket(one.ticket_id, &TicketUpdate { status: Some(TicketStatus::Closed), ..TicketUpdate::default() }, &[], at(5)).await.unwrap();
    let mut third = first.clone();
    third.external_id = Some("c-3".into());
    let three = store.ingest(&third).await.unwrap();
    assert!(three.new_ticket);
    // An explicit ticket id follows merges to the surviving ticket.
    let other = store.ingest(&inbound(Some("c-4"), "another thing", Some("c@example.com"))).await.unwrap();
    store.merge_tickets(other.ticket_id, three.ticket_id, &[], at(6)).await.unwrap();
    let mut follow_up = inbound(Some("c-5"), "any news?", Some("c@example.com"));
    follow_up.ticket_id = Some(other.ticket_id);
    assert_eq!(store.ingest(&follow_up).await.unwrap().ticket_id, three.ticket_id);
}

async fn claims_hold_until_their_lease_expires(db: &TestDb) {
    let store = &db.store;
    let mut claimed_in_request = inbound(Some("cl-1"), "one", None);
    claimed_in_request.claim = Some(("server-a".into(), at(1)));
    let held = store.ingest(&claimed_in_request).await.unwrap();
    let free = store.ingest(&inbound(Some("cl-2"), "two", None)).await.unwrap();
    let first = store.claim_pending("worker-b", at(0), at(2), 10).await.unwrap();
    assert_eq!(first.iter().map(|claimed| claimed.message.id).collect::<Vec<_>>(), vec![free.message_id]);
    // Nothing more while both claims hold.
    assert!(store.claim_pending("worker-c", at(0), at(2), 10).await.unwrap().is_empty());
    // After server-a's lease ran out (it died), its message is taken over.
    let later = store.claim_pending("worker-c", at(1) + Duration::seconds(1), at(3), 10).await.unwrap();
    assert_eq!(later.iter().map(|claimed| claimed.message.id).collect::<Vec<_>>(), vec![held.message_id]);
}

async fn concurrent_claimers_never_share_a_message(db: &TestDb) {
    let store = &db.store;
    for idx in 0..60 {
        store.ingest(&inbound(Some(&format!("w-{idx}")), "work", None)).await.unwrap();
    }
    let mut handles = Vec::new();
    for worker in 0..4 {
        let store = store.clone();
        handles.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let batch = store.claim_pending(&format!("worker-{worker}"), at(0), at(10), 5).await.unwrap();
                if batch.is_empty() {
                    return mine;
                }
                mine.extend(batch.into_iter().map(|claimed| claimed.message.id));
            }
        }));
    }
    let mut all = Vec::new();
    for handle in handles {
        all.extend(handle.await.unwrap());
    }
    let claimed = all.len();
    all.sort();
    all.dedup();
    assert_eq!((claimed, all.len()), (60, 60));
}

async fn ingest_with_rows_returns_the_rows_as_stored(db: &TestDb) {
    let store = &db.store;
    let mut first = inbound(Some("r-1"), "where is my parcel", Some("Rows@Example.com"));
    first.conversation_key = Some("conv-r".into());
    let stored = store.ingest_with_rows(&first).await.unwrap();
    assert!(stored.ingested.created && stored.ingested.new_ticket);
    assert_eq!(stored.message, store.message(stored.ingested.message_id).await.unwrap());
    assert_eq!(stored.ticket, store.ticket(stored.ingested.ticket_id).await.unwrap());
    let customer = stored.customer.clone().expect("the sender became a customer");
    assert_eq!(customer.email.as_deref(), Some("rows@example.com"));
    assert_eq!(Some(customer.id), stored.ingested.customer_id);

    // A follow-up in the same conversation: same ticket and customer, the ticket's latest state.
    let mut second = inbound(Some("r-2"), "still waiting", Some("rows@example.com"));
    second.conversation_key = Some("conv-r".into());
    second.received_at = at(5);
    let follow_up = store.ingest_with_rows(&second).await.unwrap();
    assert_eq!((follow_up.ingested.ticket_id, follow_up.ingested.new_ticket), (stored.ingested.ticket_id, false));
    assert_eq!(follow_up.ticket.last_message_at, at(5));
    assert_eq!(follow_up.ticket, store.ticket(follow_up.ingested.ticket_id).await.unwrap());
    assert_eq!(follow_up.customer.map(|customer| customer.id), Some(customer.id));

    // A repeated delivery: nothing written, the first delivery's rows.
    let again = store.ingest_with_rows(&first).await.unwrap();
    assert!(!again.ingested.created);
    assert_eq!(again.message.id, stored.message.id);
    assert_eq!(again.message.body, "where is my parcel");

    // Without a sender: no customer.
    let anonymous = store.ingest_with_rows(&inbound(Some("r-3"), "hello", None)).await.unwrap();
    assert_eq!((anonymous.customer, anonymous.ingested.customer_id), (None, None));
}

async fn triage_is_recorded_whole_and_retriage_keeps_history(db: &TestDb) {
    let store = &db.store;
    let ingested = store.ingest(&inbound(Some("t-1"), "the cream gave me a rash", Some("t@example.com"))).await.unwrap();
    let recorded = store.record_triage(&outcome(ingested.message_id, ingested.ticket_id, "safety_queue", true), at(1)).await.unwrap();
    assert!(recorded.triage_id > 0 && recorded.decision_id > 0 && recorded.reply_message_id.is_none());
    let ticket = store.ticket(ingested.ticket_id).await.unwrap();
    // The ticket handed back is the ticket as stored.
    assert_eq!(recorded.ticket, ticket);
    assert_eq!((ticket.status, ticket.queue, ticket.priority), (TicketStatus::Open, Queue::Safety, 90));
    assert_eq!(ticket.severity.map(|severity| severity.as_str()), Some("high"));
    assert_eq!(ticket.first_response_due_at, Some(at(120)));
    assert_eq!(ticket.sla, Some(json!({"policy_name": "default"})));
    assert_eq!(store.message(ingested.message_id).await.unwrap().stage, MessageStage::Triaged);
    let records = store.list_compliance_records(Some(ingested.ticket_id), Page::default()).await.unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].redacted_text, "rash after [EMAIL] cream");

    // Re-triage after a model update adds a decision; the first stays.
    store.request_retriage(ingested.message_id, at(2)).await.unwrap();
    let claimed = store.claim_pending("w", at(2), at(3), 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let mut second = outcome(ingested.message_id, ingested.ticket_id, "safety_queue", true);
    second.model_version = "v2".into();
    store.record_triage(&second, at(3)).await.unwrap();
    let decisions = store.ticket_decisions(ingested.ticket_id).await.unwrap();
    assert_eq!(decisions.len(), 2);
    let versions: Vec<String> = store.ticket_triage_results(ingested.ticket_id).await.unwrap().into_iter().map(|row| row.model_version).collect();
    assert_eq!(versions, vec!["v1", "v2"]);
}

async fn a_triaged_customer_message_ends_the_wait_on_the_customer(db: &TestDb) {
    let store = &db.store;
    let first = store.ingest(&inbound(Some("p-1"), "where is my parcel", Some("p@example.com"))).await.unwrap();
    store.record_triage(&outcome(first.message_id, first.ticket_id, "human_queue", false), at(1)).await.unwrap();
    let pending = TicketUpdate { status: Some(TicketStatus::Pending), sla_paused_at: Some(Some(at(10))), ..TicketUpdate::default() };
    store.update_ticket(first.ticket_id, &pending, &[], at(10)).await.unwrap();
    let mut follow_up = inbound(Some("p-2"), "here is the order number", Some("p@example.com"));
    follow_up.ticket_id = Some(first.ticket_id);
    let second = store.ingest(&follow_up).await.unwrap();
    assert_eq!(second.ticket_id, first.ticket_id);
    store.record_triage(&outcome(second.message_id, second.ticket_id, "human_queue", false), at(25)).await.unwrap();
    let ticket = store.ticket(first.ticket_id).await.unwrap();
    assert_eq!((ticket.status, ticket.sla_paused_at, ticket.sla_paused_ms), (TicketStatus::Open, None, 15 * 60_000));
}

async fn failed_triage_is_retried_then_marked_failed(db: &TestDb) {
    let store = &db.store;
    let ingested = store.ingest(&inbound(Some("f-1"), "text", None)).await.unwrap();
    assert_eq!(store.claim_pending("w", at(0), at(1), 10).await.unwrap().len(), 1);
    store.record_triage_failure(ingested.message_id, "model not loaded", Some(at(5))).await.unwrap();
    assert!(store.claim_pending("w", at(4), at(6), 10).await.unwrap().is_empty(), "not before its retry time");
    assert_eq!(store.claim_pending("w", at(5), at(6), 10).await.unwrap().len(), 1);
    store.record_triage_failure(ingested.message_id, "still broken", None).await.unwrap();
    let message = store.message(ingested.message_id).await.unwrap();
    assert_eq!((message.stage, message.attempts, message.last_error.as_deref()), (MessageStage::Failed, 2, Some("still broken")));
    assert!(store.claim_pending("w", at(60), at(61), 10).await.unwrap().is_empty());
}

async fn a_failing_triage_write_leaves_nothing_half_way(db: &TestDb) {
    let store = &db.store;
    let ingested = store.ingest(&inbound(Some("h-1"), "text", None)).await.unwrap();
    let mut broken = outcome(ingested.message_id, ingested.ticket_id, "no_such_route", false);
    broken.route = "no_such_route".into(); // violates the decisions.route CHECK after the triage row is written
    assert!(store.record_triage(&broken, at(1)).await.is_err());
    assert!(store.ticket_triage_results(ingested.ticket_id).await.unwrap().is_empty());
    assert!(store.ticket_decisions(ingested.ticket_id).await.unwrap().is_empty());
    assert_eq!(store.message(ingested.message_id).await.unwrap().stage, MessageStage::Raw);
}

/// One commit for the raw message and its triage run: what `finish` builds from the stored rows
/// is recorded with the message; a repeated delivery never calls it.
async fn ingest_and_triage_record_in_one_write(db: &TestDb) {
    let store = &db.store;
    let mut message = inbound(Some("one-1"), "the cream gave me a rash", Some("one@example.com"));
    message.claim = Some(("proc-1".into(), at(5)));
    let finish: FinishTriage = Box::new(|rows: &IngestedRows| {
        assert_eq!((rows.message.body.as_str(), rows.ticket.status), ("the cream gave me a rash", TicketStatus::New));
        assert_eq!(rows.customer.as_ref().and_then(|customer| customer.email.as_deref()), Some("one@example.com"));
        Some(outcome(rows.ingested.message_id, rows.ingested.ticket_id, "safety_queue", true))
    });
    let both = store.ingest_and_record_triage(&message, finish).await.unwrap();
    assert!(both.rows.ingested.created && both.rows.ingested.new_ticket);
    let recorded = both.recorded.expect("recorded with the ingest").unwrap();
    let ticket = store.ticket(both.rows.ingested.ticket_id).await.unwrap();
    assert_eq!(recorded.ticket, ticket);
    assert_eq!((ticket.status, ticket.queue, ticket.priority), (TicketStatus::Open, Queue::Safety, 90));
    let stored = store.message(both.rows.ingested.message_id).await.unwrap();
    assert_eq!((stored.stage, stored.raw_payload.clone()), (MessageStage::Triaged, message.raw_payload.clone()));
    assert_eq!(store.list_compliance_records(Some(ticket.id), Page::default()).await.unwrap().len(), 1);
    assert!(store.verify_audit(|_| {}).await.unwrap().first_bad_entry.is_none());
    // The decision record comes back with the triage result it was made from.
    let decisions = store.ticket_decisions(ticket.id).await.unwrap();
    assert_eq!(decisions.len(), 1);
    assert_eq!(decisions[0].record, json!({"route": "safety_queue", "reason": "because the test says so", "triage": {"intent": "adverse_reaction", "confidence": 0.93}}));

    let never: FinishTriage = Box::new(|_: &IngestedRows| panic!("a repeated delivery is not triaged again"));
    let again = store.ingest_and_record_triage(&message, never).await.unwrap();
    assert!(!again.rows.ingested.created && again.recorded.is_none());
    assert_eq!((again.rows.ingested.ticket_id, again.rows.ingested.message_id), (ticket.id, stored.id));
    assert_eq!(store.ticket_decisions(ticket.id).await.unwrap().len(), 1);
}

/// When the triage run is not built (the caller declines, or its code panics) or its write
/// fails, the raw message is stored alone, still claimed, for the caller or the worker.
async fn ingest_and_triage_keep_the_raw_message_when_triage_is_not_recorded(db: &TestDb) {
    let store = &db.store;
    let declined: FinishTriage = Box::new(|_: &IngestedRows| None);
    let panicked: FinishTriage = Box::new(|_: &IngestedRows| panic!("a bug in the decision"));
    // Violates the decisions.route CHECK after the triage row is written.
    let broken: FinishTriage = Box::new(|rows: &IngestedRows| Some(outcome(rows.ingested.message_id, rows.ingested.ticket_id, "no_such_route", false)));
    for (idx, finish) in [declined, panicked, broken].into_iter().enumerate() {
        let mut message = inbound(Some(&format!("raw-{idx}")), "where is my parcel", Some("raw@example.com"));
        message.claim = Some(("proc-1".into(), at(5)));
        let both = store.ingest_and_record_triage(&message, finish).await.unwrap();
        assert!(both.rows.ingested.created, "case {idx}");
        assert_eq!(both.recorded.as_ref().map(Result::is_err), if idx == 2 { Some(true) } else { None }, "case {idx}");
        let stored = store.message(both.rows.ingested.message_id).await.unwrap();
        assert_eq!(stored.stage, MessageStage::Raw, "case {idx}");
        assert!(store.ticket_triage_results(both.rows.ingested.ticket_id).await.unwrap().is_empty(), "case {idx}");
        assert!(store.ticket_decisions(both.rows.ingested.ticket_id).await.unwrap().is_empty(), "case {idx}");
        assert_eq!(store.ticket(both.rows.ingested.ticket_id).await.unwrap().status, TicketStatus::New, "case {idx}");
        // Claimed by the ingesting process: no worker takes it before the lease ends.
        assert!(store.claim_pending("w", at(1), at(2), 10).await.unwrap().is_empty(), "case {idx}");
        let claimed = store.claim_pending("w", at(6), at(7), 10).await.unwrap();
        assert_eq!(claimed.iter().map(|claimed| claimed.message.id).collect::<Vec<_>>(), vec![stored.id], "case {idx}");
        store.record_triage(&outcome(stored.id, stored.ticket_id, "human_queue", false), at(7)).await.unwrap();
    }
}

async fn compliance_records_are_append_only(db: &TestDb) {
    let store = &db.store;
    let ingested = store.ingest(&inbound(Some("ap-1"), "my child swallowed a battery", None)).await.unwrap();
    store.record_triage(&outcome(ingested.message_id, ingested.ticket_id, "safety_queue", true), at(1)).await.unwrap();
    assert!(db.raw_execute("UPDATE compliance_records SET severity = 'standard'").await.is_err());
    assert!(db.raw_execute("DELETE FROM compliance_records").await.is_err());
    assert_eq!(store.list_compliance_records(None, Page::default()).await.unwrap()[0].severity, "high");
}

async fn the_audit_chain_verifies_and_reports_tampering(db: &TestDb) {
    let store = &db.store;
    for idx in 0..5 {
        store.append_audit(&[NewAuditEntry::new("user:1", "ticket.status_changed", "ticket", idx, json!({"to": "resolved"}))], at(idx)).await.unwrap();
    }
    let verification = store.verify_audit(|_| {}).await.unwrap();
    assert_eq!((verification.entries_checked, verification.first_bad_entry.clone()), (5, None));
    let entries = store.list_audit(None, 10).await.unwrap();
    let third_id = entries.iter().map(|entry| entry.id).min().unwrap() + 2;
    assert!(db.raw_execute(&format!("UPDATE audit_log SET actor = 'user:2' WHERE id = {third_id}")).await.is_err(), "updates are refused");
    // Someone with full database access removes the guard and edits an entry.
    let drop_trigger = if db.schema.is_some() { "DROP TRIGGER audit_log_no_update ON audit_log" } else { "DROP TRIGGER audit_log_no_update" };
    db.raw_execute(drop_trigger).await.unwrap();
    db.raw_execute(&format!("UPDATE audit_log SET details = '{{\"to\":\"open\"}}' WHERE id = {third_id}")).await.unwrap();
    let verification = store.verify_audit(|_| {}).await.unwrap();
    assert_eq!(verification.first_bad_entry.map(|(id, _)| id), Some(third_id));
}

async fn concurrent_audit_appends_keep_one_chain(db: &TestDb) {
    let mut handles = Vec::new();
    for writer in 0..4 {
        let store = db.store.clone();
        handles.push(tokio::spawn(async move {
            for idx in 0..10 {
                store.append_audit(&[NewAuditEntry::new(format!("user:{writer}"), "note.added", "ticket", idx, json!({}))], at(idx)).await.unwrap();
            }
        }));
    }
    for handle in handles {
        handle.await.unwrap();
    }
    let verification = db.store.verify_audit(|_| {}).await.unwrap();
    assert_eq!((verification.entries_checked, verification.first_bad_entry), (40, None));
}

async fn ticket_lists_filter_and_page(db: &TestDb) {
    let store = &db.store;
    let mut ids = Vec::new();
    for idx in 0..6 {
        let ingested = store.ingest(&inbound(Some(&format!("l-{idx}")), "text", Some("l@example.com"))).await.unwrap();
        let safety = idx % 3 == 0;
        store.record_triage(&outcome(ingested.message_id, ingested.ticket_id, if safety { "safety_queue" } else { "human_queue" }, safety), at(1)).await.unwrap();
        ids.push(ingested.ticket_id);
    }
    let safety = TicketFilter { queue: Some(Queue::Safety), ..TicketFilter::default() };
    let (tickets, total) = store.list_tickets(&safety, Page::default(), at(2)).await.unwrap();
    assert_eq!((tickets.len(), total), (2, 2));
    let by_intent = TicketFilter { intent: Some("track_order".into()), status: Some(vec![TicketStatus::Open, TicketStatus::New]), ..TicketFilter::default() };
    assert_eq!(store.list_tickets(&by_intent, Page::default(), at(2)).await.unwrap().1, 4);
    let (page, total) = store.list_tickets(&TicketFilter::default(), Page { limit: 4, offset: 4 }, at(2)).await.unwrap();
    assert_eq!((page.len(), total), (2, 6));
    // Highest priority first.
    let (all, _) = store.list_tickets(&TicketFilter::default(), Page::default(), at(2)).await.unwrap();
    assert_eq!(all[0].priority, 90);
    // The first-response deadline (at(120)) has passed at at(121) and nobody answered.
    let breached = TicketFilter { sla_breached: Some(true), ..TicketFilter::default() };
    assert_eq!(store.list_tickets(&breached, Page::default(), at(121)).await.unwrap().1, 6);
    assert_eq!(store.list_tickets(&breached, Page::default(), at(60)).await.unwrap().1, 0);
    store.add_outbound(ids[0], &reply("We are on it"), &[], at(30)).await.unwrap();
    assert_eq!(store.list_tickets(&breached, Page::default(), at(121)).await.unwrap().1, 5);
    let none = TicketFilter { status: Some(vec![]), ..TicketFilter::default() };
    assert_eq!(store.list_tickets(&none, Page::default(), at(2)).await.unwrap().1, 0);
}

/// The "SLA breached" filter (an index range of `tickets::BREACH_AT` for open tickets) against
/// the deadlines, at at(100): a recorded breach, or the first response unanswered past its
/// deadline, or the resolution unresolved past its own, whichever comes first; answered or
/// resolved clocks no longer count. The same with and without the open-work statuses (with
/// them, the partial index answers).
async fn the_breached_filter_follows_the_deadlines(db: &TestDb) {
    let store = &db.store;
    // (first response due, responded, resolution due, resolved, breach recorded, breached at at(100))
    let cases: [(Option<i64>, Option<i64>, Option<i64>, Option<i64>, bool, bool); 10] = [
        (Some(50), None, Some(300), None, false, true),
        (Some(50), Some(40), Some(300), None, false, false),
        (Some(150), None, Some(90), None, false, true),
        (Some(150), None, Some(300), None, false, false),
        (None, None, None, None, false, false),
        (Some(150), None, Some(300), None, true, true),
        (None, None, Some(90), None, false, true),
        (Some(90), None, Some(50), Some(60), false, true),
        (Some(150), None, Some(50), Some(60), false, false),
        (Some(100), None, None, None, false, false),
    ];
    let mut expected = Vec::new();
    for (case_idx, (first_due, responded, resolution_due, resolved, recorded, breached)) in cases.into_iter().enumerate() {
        let ingested = store.ingest(&inbound(Some(&format!("breach-{case_idx}")), "text", Some("b@example.com"))).await.unwrap();
        let update = TicketUpdate {
            status: Some(TicketStatus::Open),
            first_response_due_at: Some(first_due.map(at)),
            first_responded_at: Some(responded.map(at)),
            resolution_due_at: Some(resolution_due.map(at)),
            resolved_at: Some(resolved.map(at)),
            first_response_breached: Some(recorded),
            ..TicketUpdate::default()
        };
        store.update_ticket(ingested.ticket_id, &update, &[], at(1)).await.unwrap();
        if breached {
            expected.push(ingested.ticket_id);
        }
    }
    let active = Some(vec![TicketStatus::New, TicketStatus::Open, TicketStatus::Pending]);
    for status in [active, None] {
        let filter = TicketFilter { sla_breached: Some(true), status: status.clone(), ..TicketFilter::default() };
        let (tickets, total) = store.list_tickets(&filter, Page::default(), at(100)).await.unwrap();
        let mut found: Vec<i64> = tickets.iter().map(|ticket| ticket.id).collect();
        found.sort();
        assert_eq!((found, total), (expected.clone(), expected.len() as i64), "statuses {status:?}");
    }
}

fn reply(body: &str) -> NewOutbound {
    NewOutbound {
        direction: Direction::Outbound,
        channel: Channel::Email,
        author_user_id: None,
        subject: Some("Re: your order".into()),
        body: body.into(),
        recipient: Some("r@example.com".into()),
        metadata: None,
    }
}

async fn replies_go_to_the_outbox_and_notes_do_not(db: &TestDb) {
    let store = &db.store;
    let ingested = store.ingest(&inbound(Some("o-1"), "text", Some("o@example.com"))).await.unwrap();
    let mut note = reply("internal: customer is a VIP");
    note.direction = Direction::Note;
    store.add_outbound(ingested.ticket_id, &note, &[], at(1)).await.unwrap();
    assert!(store.ticket(ingested.ticket_id).await.unwrap().first_responded_at.is_none());
    let reply_id = store.add_outbound(ingested.ticket_id, &reply("Here is your tracking link"), &[], at(2)).await.unwrap();
    assert_eq!(store.ticket(ingested.ticket_id).await.unwrap().first_responded_at, Some(at(2)));
    let items = store.claim_outbox(Channel::Email, "smtp-1", at(2), at(3), 10).await.unwrap();
    assert_eq!(items.iter().map(|item| item.message_id).collect::<Vec<_>>(), vec![reply_id]);
    assert_eq!((items[0].claims, items[0].claimed_before()), (1, false));
    assert!(store.claim_outbox(Channel::Email, "smtp-2", at(2), at(3), 10).await.unwrap().is_empty());
    store.mark_outbox_failed(items[0].id, "connection refused", Some(at(10))).await.unwrap();
    assert!(store.claim_outbox(Channel::Email, "smtp-2", at(9), at(11), 10).await.unwrap().is_empty());
    let retried = store.claim_outbox(Channel::Email, "smtp-2", at(10), at(11), 10).await.unwrap();
    assert_eq!((retried[0].attempts, retried[0].claims, retried[0].claimed_before()), (1, 2, true));
    // A sender that dies with the entry claimed leaves no failure behind; the next claim after
    // the lease still knows the entry was in a sender's hands.
    let after_crash = store.claim_outbox(Channel::Email, "smtp-3", at(12), at(13), 10).await.unwrap();
    assert_eq!((after_crash[0].attempts, after_crash[0].claims, after_crash[0].claimed_before()), (1, 3, true));
    store.mark_outbox_sent(retried[0].id, "sent", at(10)).await.unwrap();
    assert!(store.claim_outbox(Channel::Email, "smtp-2", at(20), at(21), 10).await.unwrap().is_empty());
    assert_eq!(store.add_outbound(999_999, &reply("x"), &[], at(3)).await.unwrap_err().to_string(), "ticket 999999 not found");
}

async fn ticket_updates_clear_and_set_fields(db: &TestDb) {
    let store = &db.store;
    let ingested = store.ingest(&inbound(Some("u-1"), "text", None)).await.unwrap();
    let user = store.create_user(&new_user("agent@example.com", Role::Agent), &[], at(0)).await.unwrap();
    let assign = TicketUpdate { assignee_id: Some(Some(user.id)), status: Some(TicketStatus::Pending), sla_paused_at: Some(Some(at(3))), ..TicketUpdate::default() };
    let audit = [NewAuditEntry::new(format!("user:{}", user.id), "ticket.assigned", "ticket", ingested.ticket_id, json!({"assignee": user.id}))];
    let ticket = store.update_ticket(ingested.ticket_id, &assign, &audit, at(3)).await.unwrap();
    assert_eq!((ticket.assignee_id, ticket.status, ticket.sla_paused_at), (Some(user.id), TicketStatus::Pending, Some(at(3))));
    let unassign = TicketUpdate { assignee_id: Some(None), sla_paused_at: Some(None), sla_paused_ms: Some(60_000), ..TicketUpdate::default() };
    let ticket = store.update_ticket(ingested.ticket_id, &unassign, &[], at(4)).await.unwrap();
    assert_eq!((ticket.assignee_id, ticket.sla_paused_at, ticket.sla_paused_ms), (None, None, 60_000));
    assert_eq!(store.list_audit(Some(("ticket", &ingested.ticket_id.to_string())), 10).await.unwrap().len(), 1);
    assert!(matches!(store.update_ticket(424_242, &TicketUpdate::default(), &[], at(4)).await, Err(Error::NotFound { .. })));
}

fn new_user(email: &str, role: Role) -> NewUser {
    NewUser { email: email.into(), name: "Test User".into(), role, password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g".into() }
}

async fn users_sessions_and_tokens_store_only_hashes(db: &TestDb) {
    let store = &db.store;
    let user = store.create_user(&new_user("Boss@Example.com", Role::Admin), &[], at(0)).await.unwrap();
    assert_eq!(user.email, "boss@example.com");
    assert!(matches!(store.create_user(&new_user("boss@example.com", Role::Agent), &[], at(0)).await, Err(Error::Conflict(_))));
    store.create_session(user.id, "session-secret", "csrf-1", at(60), at(0)).await.unwrap();
    assert_eq!(store.session("session-secret", at(1)).await.unwrap().unwrap().user.id, user.id);
    assert!(store.session("session-secret", at(61)).await.unwrap().is_none(), "expired");
    assert!(store.session("other", at(1)).await.unwrap().is_none());
    store.delete_session("session-secret").await.unwrap();
    assert!(store.session("session-secret", at(1)).await.unwrap().is_none());

    let token = store.create_api_token("shop", "sbt_0123456789abcdef", &[Scope::Ingest, Scope::Read], Some(user.id), &[], at(0)).await.unwrap();
    assert_eq!((token.prefix.as_str(), token.scopes.clone()), ("sbt_012345", vec![Scope::Ingest, Scope::Read]));
    assert_eq!(store.api_token("sbt_0123456789abcdef").await.unwrap().unwrap().id, token.id);
    assert!(store.api_token("sbt_0123456789abcdeX").await.unwrap().is_none());
    assert_eq!(token.last_used_at, None);
    store.touch_api_token(token.id, at(1)).await.unwrap();
    assert_eq!(store.api_token("sbt_0123456789abcdef").await.unwrap().unwrap().last_used_at, Some(at(1)));
    store.revoke_api_token(token.id, &[], at(1)).await.unwrap();
    assert!(store.api_token("sbt_0123456789abcdef").await.unwrap().is_none());
    assert!(store.revoke_api_token(token.id, &[], at(2)).await.is_err());
}

fn demo_order(number: &str, status: OrderStatus) -> Order {
    Order {
        number: number.into(),
        customer_email: Some("Ana@Example.com".into()),
        customer_name: Some("Ana Silva".into()),
        status,
        placed_at: at(-60 * 24 * 5),
        shipped_at: (status != OrderStatus::Unfulfilled).then(|| at(-60 * 24 * 3)),
        delivered_at: None,
        promised_delivery: Some(NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()),
        carrier: Some(Carrier::Ups),
        tracking_number: Some("1Z999AA10123456784".into()),
        total_minor: 4_999,
        currency: "USD".into(),
        items: vec![OrderItem { sku: "TEA-01".into(), name: "Green tea".into(), quantity: 2, unit_price_minor: 2_499 }],
    }
}

async fn orders_are_found_by_number_and_customer(db: &TestDb) {
    let store = &db.store;
    store.upsert_order(&demo_order("#a10493", OrderStatus::Shipped)).await.unwrap();
    store.upsert_order(&demo_order("A10494", OrderStatus::Unfulfilled)).await.unwrap();
    let found = store.find_order("A10493").await.unwrap().unwrap();
    assert_eq!((found.number.as_str(), found.status, found.carrier), ("A10493", OrderStatus::Shipped, Some(Carrier::Ups)));
    assert_eq!(found.items.len(), 1);
    assert!(found.is_late(NaiveDate::from_ymd_opt(2026, 11, 2).unwrap()));
    assert!(store.find_order("#A99999").await.unwrap().is_none());
    assert_eq!(store.orders_for_customer("ana@example.com", 10).await.unwrap().len(), 2);
    store.set_order_status("a10494", OrderStatus::Cancelled, at(0)).await.unwrap();
    assert_eq!(store.find_order("A10494").await.unwrap().unwrap().status, OrderStatus::Cancelled);
}

async fn sla_events_are_recorded_once(db: &TestDb) {
    let store = &db.store;
    let ingested = store.ingest(&inbound(Some("s-1"), "text", None)).await.unwrap();
    store.record_triage(&outcome(ingested.message_id, ingested.ticket_id, "human_queue", false), at(1)).await.unwrap();
    assert_eq!(store.tickets_with_sla_due(at(121), 10).await.unwrap().len(), 1);
    assert!(store.record_sla_event(ingested.ticket_id, "first_response_breached", at(120), at(121)).await.unwrap());
    assert!(!store.record_sla_event(ingested.ticket_id, "first_response_breached", at(120), at(122)).await.unwrap());
    assert!(store.ticket(ingested.ticket_id).await.unwrap().first_response_breached);
    assert_eq!(store.ticket_sla_events(ingested.ticket_id).await.unwrap().len(), 1);
    assert!(store.tickets_with_sla_due(at(121), 10).await.unwrap().is_empty());
    store.upsert_sla_policy("default", &json!({"first_response_minutes": 120}), &[], at(0)).await.unwrap();
    store.upsert_sla_policy("default", &json!({"first_response_minutes": 60}), &[], at(1)).await.unwrap();
    let policies = store.list_sla_policies().await.unwrap();
    assert_eq!(policies.len(), 1);
    assert_eq!(policies[0].definition["first_response_minutes"], 60);
}

async fn ticket_actions_apply_whole_and_refuse_stale_versions(db: &TestDb) {
    let store = &db.store;
    let ingested = store.ingest(&inbound(Some("act-1"), "text", Some("act@example.com"))).await.unwrap();
    let read = store.ticket(ingested.ticket_id).await.unwrap();
    let update = TicketUpdate { status: Some(TicketStatus::Pending), sla: Some(Some(json!({"paused": true}))), ..TicketUpdate::default() };
    let audit = [NewAuditEntry::new("user:1", "ticket.replied", "ticket", ingested.ticket_id, json!({}))];
    // A reply with its ticket change, outbox entry and audit entry, in one go.
    let (ticket, message_id) = store.apply_ticket_action(ingested.ticket_id, read.updated_at, &update, Some(&reply("On its way")), &audit, at(5)).await.unwrap();
    let message_id = message_id.unwrap();
    assert_eq!((ticket.status, ticket.first_responded_at, ticket.sla), (TicketStatus::Pending, Some(at(5)), Some(json!({"paused": true}))));
    assert_eq!(store.message(message_id).await.unwrap().direction, Direction::Outbound);
    assert_eq!(store.claim_outbox(Channel::Email, "smtp", at(5), at(6), 10).await.unwrap().len(), 1);
    assert_eq!(store.list_audit(Some(("ticket", &ingested.ticket_id.to_string())), 10).await.unwrap().len(), 1);
    // Acting on the version read before that change is refused, and writes nothing.
    let stale = TicketUpdate { status: Some(TicketStatus::Resolved), ..TicketUpdate::default() };
    let refused = store.apply_ticket_action(ingested.ticket_id, read.updated_at, &stale, Some(&reply("again")), &audit, at(6)).await;
    assert!(matches!(refused, Err(Error::Conflict(_))), "{refused:?}");
    let after = store.ticket(ingested.ticket_id).await.unwrap();
    assert_eq!((after.status, after.updated_at), (TicketStatus::Pending, ticket.updated_at));
    assert_eq!(store.ticket_messages(ingested.ticket_id).await.unwrap().len(), 2);
    assert_eq!(store.list_audit(Some(("ticket", &ingested.ticket_id.to_string())), 10).await.unwrap().len(), 1);
    // Two actions in the same millisecond still give two versions.
    let (first, _) = store.apply_ticket_action(ingested.ticket_id, after.updated_at, &TicketUpdate::default(), None, &[], at(5)).await.unwrap();
    assert!(first.updated_at > after.updated_at);
    let (_, note_id) = store.apply_ticket_action(ingested.ticket_id, first.updated_at, &TicketUpdate::default(), Some(&NewOutbound { direction: Direction::Note, ..reply("note") }), &[], at(5)).await.unwrap();
    assert_eq!(store.message(note_id.unwrap()).await.unwrap().direction, Direction::Note);
    assert!(matches!(store.apply_ticket_action(424_242, at(0), &TicketUpdate::default(), None, &[], at(7)).await, Err(Error::NotFound { .. })));
}

/// Safety wins in ticket actions too: no action moves a ticket out of the safety queue (the
/// service refuses first; the store's UPDATE is the last word when two changes race).
async fn ticket_actions_never_take_a_ticket_out_of_the_safety_queue(db: &TestDb) {
    let store = &db.store;
    let ingested = store.ingest(&inbound(Some("safe-1"), "the cream gave me a rash", Some("safe@example.com"))).await.unwrap();
    store.record_triage(&outcome(ingested.message_id, ingested.ticket_id, "safety_queue", true), at(1)).await.unwrap();
    let read = store.ticket(ingested.ticket_id).await.unwrap();
    assert_eq!(read.queue, Queue::Safety);
    let audit = [NewAuditEntry::new("user:1", "ticket.transferred", "ticket", ingested.ticket_id, json!({}))];
    let note = NewOutbound { direction: Direction::Note, ..reply("over to the human queue") };
    let leaving = TicketUpdate { queue: Some(Queue::Human), assignee_id: Some(None), ..TicketUpdate::default() };
    let refused = store.apply_ticket_action(ingested.ticket_id, read.updated_at, &leaving, Some(&note), &audit, at(5)).await;
    assert!(matches!(&refused, Err(Error::Conflict(message)) if message.contains("safety queue")), "{refused:?}");
    let after = store.ticket(ingested.ticket_id).await.unwrap();
    assert_eq!((after.queue, after.updated_at), (Queue::Safety, read.updated_at), "nothing written");
    assert_eq!(store.ticket_messages(ingested.ticket_id).await.unwrap().len(), 1, "no note written");
    assert!(store.list_audit(Some(("ticket", &ingested.ticket_id.to_string())), 10).await.unwrap().iter().all(|entry| entry.action != "ticket.transferred"));
    // Within the safety queue, changes apply.
    let staying = TicketUpdate { queue: Some(Queue::Safety), priority: Some(95), ..TicketUpdate::default() };
    let (ticket, _) = store.apply_ticket_action(ingested.ticket_id, read.updated_at, &staying, None, &audit, at(6)).await.unwrap();
    assert_eq!((ticket.queue, ticket.priority), (Queue::Safety, 95));
}

async fn queue_depths_and_the_triage_backlog_count_open_work(db: &TestDb) {
    let store = &db.store;
    assert_eq!(store.queue_depths().await.unwrap(), vec![]);
    assert_eq!(store.triage_backlog().await.unwrap(), TriageBacklog::default());
    // One ticket per row: the route of its triage (none: never triaged), the status an agent
    // gave it afterwards, and whether triage was given up on.
    let tickets = [
        ("q-human", Some("human_queue"), None, false),
        ("q-safety", Some("safety_queue"), None, false),
        ("q-pending", Some("human_queue"), Some(TicketStatus::Pending), false),
        ("q-resolved", Some("human_queue"), Some(TicketStatus::Resolved), false),
        ("q-waiting", None, None, false),
        ("q-failed", None, None, true),
    ];
    for (external_id, route, status, gave_up) in tickets {
        let ingested = store.ingest(&inbound(Some(external_id), "text", None)).await.unwrap();
        if let Some(route) = route {
            store.record_triage(&outcome(ingested.message_id, ingested.ticket_id, route, route == "safety_queue"), at(1)).await.unwrap();
            // A reply is a message too, but never part of the triage backlog.
            store.add_outbound(ingested.ticket_id, &reply("On its way"), &[], at(2)).await.unwrap();
        }
        if let Some(status) = status {
            store.update_ticket(ingested.ticket_id, &TicketUpdate { status: Some(status), ..TicketUpdate::default() }, &[], at(3)).await.unwrap();
        }
        if gave_up {
            store.record_triage_failure(ingested.message_id, "still broken", None).await.unwrap();
        }
    }
    let depths: Vec<(Queue, TicketStatus, i64)> = store.queue_depths().await.unwrap().into_iter().map(|depth| (depth.queue, depth.status, depth.n_tickets)).collect();
    let expected = vec![
        (Queue::Human, TicketStatus::Open, 1),
        (Queue::Human, TicketStatus::Pending, 1),
        (Queue::Safety, TicketStatus::Open, 1),
        (Queue::Triage, TicketStatus::New, 2),
    ];
    assert_eq!(depths, expected);
    assert_eq!(store.triage_backlog().await.unwrap(), TriageBacklog { n_waiting: 1, n_failed: 1 });
}

/// Expands each test body into a `sqlite` and a `postgres` test.
fn article(slug: &str, title: &str, body: &str) -> NewArticle {
    NewArticle {
        slug: slug.into(),
        title: title.into(),
        body: body.into(),
        tags: vec!["returns".into(), "policy".into()],
        intent: Some("return_request".into()),
        language: "en".into(),
        status: ArticleStatus::Published,
        author: Some("user:1".into()),
    }
}

async fn articles_keep_every_version_and_refuse_stale_edits(db: &TestDb) {
    let store = &db.store;
    let audit = [NewAuditEntry::new("user:1", "kb.article_created", "article", "", json!({}))];
    let created = store.create_article(&article("returns-window", "Returns", "You have 30 days."), &audit, at(0)).await.unwrap();
    assert_eq!((created.version, created.status), (1, ArticleStatus::Published));
    assert!(matches!(store.create_article(&article("returns-window", "Again", "x"), &[], at(1)).await, Err(Error::Conflict(_))));

    let change = ArticleChange { body: Some("You have 60 days.".into()), expected_version: Some(1), ..ArticleChange::default() };
    let updated = store.update_article(created.id, &change, &[], at(2)).await.unwrap();
    assert_eq!((updated.version, updated.body.as_str(), updated.title.as_str()), (2, "You have 60 days.", "Returns"));
    // The same edit against version 1 again: someone else saved in between.
    assert!(matches!(store.update_article(created.id, &change, &[], at(3)).await, Err(Error::Conflict(_))));
    // A change that changes nothing saves no version.
    let same = ArticleChange { body: Some("You have 60 days.".into()), ..ArticleChange::default() };
    assert_eq!(store.update_article(created.id, &same, &[], at(4)).await.unwrap().version, 2);

    let archived = store.archive_article(created.id, Some("user:2"), &[], at(5)).await.unwrap();
    assert_eq!((archived.version, archived.status), (3, ArticleStatus::Archived));
    let versions = store.article_versions(created.id).await.unwrap();
    assert_eq!(versions.iter().map(|version| (version.version, version.body.as_str())).collect::<Vec<_>>(), [(1, "You have 30 days."), (2, "You have 60 days."), (3, "You have 60 days.")]);
    assert_eq!(store.article_version(created.id, 1).await.unwrap().body, "You have 30 days.");
    assert!(matches!(store.article_version(created.id, 9).await, Err(Error::NotFound { .. })));
    assert!(db.raw_execute("UPDATE kb_article_versions SET body = 'rewritten history'").await.is_err());
    assert!(db.raw_execute("DELETE FROM kb_article_versions").await.is_err());
    // The audit entry names the article it created.
    let entries = store.list_audit(Some(("article", &created.id.to_string())), 10).await.unwrap();
    assert!(entries.iter().any(|entry| entry.action == "kb.article_created" && entry.entity_id == created.id.to_string()), "{entries:?}");

    for bad in [article("Bad Slug", "t", "b"), article("ok", " ", "b"), article("ok", "t", ""), NewArticle { language: "english".into(), ..article("ok", "t", "b") }] {
        assert!(matches!(store.create_article(&bad, &[], at(6)).await, Err(Error::Invalid(_))), "{bad:?}");
    }
}

async fn article_imports_create_update_or_leave_alone(db: &TestDb) {
    let store = &db.store;
    let (first, outcome) = store.import_article(&article("shipping-costs", "Shipping", "Free over $50."), &[], at(0)).await.unwrap();
    assert_eq!(outcome, ImportOutcome::Created);
    assert_eq!(store.import_article(&article("shipping-costs", "Shipping", "Free over $50."), &[], at(1)).await.unwrap().1, ImportOutcome::Unchanged);
    let (second, outcome) = store.import_article(&article("shipping-costs", "Shipping", "Free over $40."), &[], at(2)).await.unwrap();
    assert_eq!((outcome, second.id, second.version), (ImportOutcome::Updated, first.id, 2));

    let mut german = article("rueckgabe", "Rückgabe", "30 Tage Rückgaberecht.");
    german.language = "de".into();
    german.tags = vec!["rückgabe".into()];
    store.import_article(&german, &[], at(3)).await.unwrap();
    let mut draft = article("gift-cards", "Gift cards", "Soon.");
    draft.status = ArticleStatus::Draft;
    draft.intent = None;
    draft.tags = vec![];
    store.import_article(&draft, &[], at(4)).await.unwrap();

    let published = ArticleFilter { status: Some(ArticleStatus::Published), ..ArticleFilter::default() };
    let slugs = |articles: Vec<sb_store::Article>| articles.into_iter().map(|article| article.slug).collect::<Vec<_>>();
    assert_eq!(slugs(store.all_articles(&published).await.unwrap()), ["shipping-costs", "rueckgabe"]);
    assert_eq!(slugs(store.all_articles(&ArticleFilter { language: Some("de".into()), ..ArticleFilter::default() }).await.unwrap()), ["rueckgabe"]);
    assert_eq!(slugs(store.all_articles(&ArticleFilter { tag: Some("rückgabe".into()), ..ArticleFilter::default() }).await.unwrap()), ["rueckgabe"]);
    assert_eq!(slugs(store.all_articles(&ArticleFilter { intent: Some("return_request".into()), ..ArticleFilter::default() }).await.unwrap()), ["shipping-costs", "rueckgabe"]);
    assert_eq!(slugs(store.list_articles(&ArticleFilter::default(), first.id, 1).await.unwrap()), ["rueckgabe"]);
    assert_eq!(store.article_versions_by_slug(ArticleStatus::Published).await.unwrap(), [("shipping-costs".to_string(), 2), ("rueckgabe".to_string(), 1)]);
    assert_eq!(store.count_articles(Some(ArticleStatus::Draft)).await.unwrap(), 1);
    assert_eq!(store.count_articles(None).await.unwrap(), 3);
    assert_eq!(store.article_by_slug("gift-cards").await.unwrap().unwrap().intent, None);
    assert!(store.article_by_slug("nope").await.unwrap().is_none());
}

async fn reply_templates_resolve_by_intent_language_and_shortcut(db: &TestDb) {
    let store = &db.store;
    let template = |kind, shortcut: Option<&str>, intent: Option<&str>, language: &str, body: &str| NewTemplate {
        kind,
        shortcut: shortcut.map(str::to_string),
        name: format!("{body} ({language})"),
        intent: intent.map(str::to_string),
        language: language.into(),
        body: body.into(),
    };
    store.create_template(&template(TemplateKind::Suggested, None, None, "en", "general en"), &[], at(0)).await.unwrap();
    store.create_template(&template(TemplateKind::Suggested, None, Some("track_order"), "en", "track en"), &[], at(0)).await.unwrap();
    store.create_template(&template(TemplateKind::Suggested, None, Some("track_order"), "de", "track de"), &[], at(0)).await.unwrap();
    let thanks = store.create_template(&template(TemplateKind::Canned, Some("/thanks"), None, "en", "thanks en"), &[], at(0)).await.unwrap();
    store.create_template(&template(TemplateKind::Canned, Some("/thanks"), None, "fr", "thanks fr"), &[], at(0)).await.unwrap();

    let body = |found: Option<sb_store::ReplyTemplate>| found.map(|template| template.body);
    assert_eq!(body(store.suggested_template(Some("track_order"), "de").await.unwrap()).as_deref(), Some("track de"));
    assert_eq!(body(store.suggested_template(Some("track_order"), "es").await.unwrap()).as_deref(), Some("track en"));
    assert_eq!(body(store.suggested_template(Some("cancel_order"), "de").await.unwrap()).as_deref(), Some("general en"));
    assert_eq!(body(store.template_by_shortcut("/thanks", "fr").await.unwrap()).as_deref(), Some("thanks fr"));
    assert_eq!(body(store.template_by_shortcut("/thanks", "de").await.unwrap()).as_deref(), Some("thanks en"));
    assert_eq!(body(store.template_by_shortcut("/nope", "en").await.unwrap()), None);

    assert!(matches!(store.create_template(&template(TemplateKind::Canned, Some("/thanks"), None, "en", "again"), &[], at(1)).await, Err(Error::Conflict(_))));
    assert!(matches!(store.create_template(&template(TemplateKind::Canned, None, None, "en", "no shortcut"), &[], at(1)).await, Err(Error::Invalid(_))));
    assert!(matches!(store.create_template(&template(TemplateKind::Canned, Some("thanks"), None, "en", "no slash"), &[], at(1)).await, Err(Error::Invalid(_))));
    let renamed = store.update_template(thanks.id, &template(TemplateKind::Canned, Some("/ty"), None, "en", "thank you"), &[], at(2)).await.unwrap();
    assert_eq!((renamed.shortcut.as_deref(), renamed.body.as_str()), (Some("/ty"), "thank you"));
    assert_eq!(store.list_templates(Some(TemplateKind::Canned)).await.unwrap().len(), 2);
    store.delete_template(thanks.id, &[], at(3)).await.unwrap();
    assert!(matches!(store.template(thanks.id).await, Err(Error::NotFound { .. })));
    assert!(matches!(store.delete_template(thanks.id, &[], at(3)).await, Err(Error::NotFound { .. })));
    assert_eq!(store.list_templates(None).await.unwrap().len(), 4);
    // Changes carry their audit entries in the same transaction; a refused change writes none.
    let audited = |action: &str| vec![sb_store::NewAuditEntry::new("user:1", action, "template", "", serde_json::json!({"name": "audited"}))];
    let created = store.create_template(&template(TemplateKind::Suggested, None, Some("cancel_order"), "en", "cancel en"), &audited("template.created"), at(4)).await.unwrap();
    let with_id = |action: &str| vec![sb_store::NewAuditEntry::new("user:1", action, "template", created.id, serde_json::json!({}))];
    store.update_template(created.id, &template(TemplateKind::Suggested, None, Some("cancel_order"), "en", "cancel en 2"), &with_id("template.updated"), at(5)).await.unwrap();
    assert!(store.update_template(created.id + 1000, &template(TemplateKind::Suggested, None, None, "en", "nobody"), &with_id("template.updated"), at(5)).await.is_err());
    store.delete_template(created.id, &with_id("template.deleted"), at(6)).await.unwrap();
    let trail: Vec<(String, String)> = store.list_audit(Some(("template", &created.id.to_string())), 10).await.unwrap().into_iter().map(|entry| (entry.action, entry.entity_id)).collect();
    let id = created.id.to_string();
    let mut actions: Vec<&str> = trail.iter().map(|(action, entity_id)| {
        assert_eq!(entity_id, &id);
        action.as_str()
    }).collect();
    actions.sort_unstable();
    assert_eq!(actions, ["template.created", "template.deleted", "template.updated"]);
    assert!(store.verify_audit(|_| {}).await.unwrap().first_bad_entry.is_none());
}

async fn resolved_tickets_keep_their_summary(db: &TestDb) {
    let store = &db.store;
    let ingested = store.ingest(&inbound(Some("sum-1"), "where is my order", None)).await.unwrap();
    assert_eq!(store.ticket_summary(ingested.ticket_id).await.unwrap(), None);
    store.set_ticket_summary(ingested.ticket_id, "Asked where order A10493 is; tracking sent.").await.unwrap();
    assert_eq!(store.ticket_summary(ingested.ticket_id).await.unwrap().as_deref(), Some("Asked where order A10493 is; tracking sent."));
    assert!(matches!(store.set_ticket_summary(999_999, "x").await, Err(Error::NotFound { .. })));
}

async fn resolved_tickets_feed_in_resolution_order_and_resumes(db: &TestDb) {
    let store = &db.store;
    assert_eq!(store.recent_resolved_watermark(0).await.unwrap(), None);
    assert!(store.resolved_tickets_after(None, 10).await.unwrap().is_empty());
    let mut ids = Vec::new();
    for (idx, text) in ["first", "second", "third", "still open"].iter().enumerate() {
        let ingested = store.ingest(&inbound(Some(&format!("feed-{idx}")), text, None)).await.unwrap();
        ids.push(ingested.ticket_id);
    }
    // Resolved out of id order, two in the same millisecond: the feed follows (resolved_at, id).
    for (ticket_id, minute) in [(ids[2], 10), (ids[0], 20), (ids[1], 20)] {
        store.update_ticket(ticket_id, &TicketUpdate { status: Some(TicketStatus::Resolved), resolved_at: Some(Some(at(minute))), ..TicketUpdate::default() }, &[], at(minute)).await.unwrap();
    }
    let all: Vec<i64> = store.resolved_tickets_after(None, 10).await.unwrap().iter().map(|ticket| ticket.id).collect();
    assert_eq!(all, vec![ids[2], ids[0], ids[1]]);
    let first_page = store.resolved_tickets_after(None, 2).await.unwrap();
    let last = first_page.last().unwrap();
    let rest: Vec<i64> = store.resolved_tickets_after(Some((last.resolved_at.unwrap(), last.id)), 10).await.unwrap().iter().map(|ticket| ticket.id).collect();
    assert_eq!(rest, vec![ids[1]]);
    // The two most recent start after the oldest one.
    assert_eq!(store.recent_resolved_watermark(2).await.unwrap(), Some((at(10), ids[2])));
    assert_eq!(store.recent_resolved_watermark(3).await.unwrap(), None);
    // Reopened: out of the feed.
    store.update_ticket(ids[0], &TicketUpdate { status: Some(TicketStatus::Open), resolved_at: Some(None), ..TicketUpdate::default() }, &[], at(30)).await.unwrap();
    let after_reopen: Vec<i64> = store.resolved_tickets_after(None, 10).await.unwrap().iter().map(|ticket| ticket.id).collect();
    assert_eq!(after_reopen, vec![ids[2], ids[1]]);
}

async fn alerts_deduplicate_resolve_and_enqueue_webhook_deliveries(db: &TestDb) {
    let store = &db.store;
    let hook = store.create_webhook("ops", "http://127.0.0.1:9/hook", "s3cret", Some("user:1"), &[NewAuditEntry::new("user:1", "webhook.created", "webhook", "", json!({}))], at(0)).await.unwrap();
    let stopped = store.create_webhook("old", "http://127.0.0.1:9/old", "x", None, &[], at(0)).await.unwrap();
    let mail = store.create_webhook("on-call", "mailto:oncall@shop.example", "unused", None, &[], at(0)).await.unwrap();
    store.deactivate_webhook(stopped.id, &[], at(0)).await.unwrap();
    assert!(matches!(store.deactivate_webhook(stopped.id, &[], at(0)).await, Err(Error::NotFound { .. })));
    let depth = NewAlert { rule: "queue_depth".into(), dedup_key: "queue_depth".into(), severity: AlertSeverity::Warning, title: "64 tickets waiting".into(), details: json!({"depth": 64}), value: Some(64.0), threshold: Some(50.0) };
    let (raised, outcome) = store.raise_alert(&depth, at(1)).await.unwrap();
    assert_eq!((outcome, raised.status, raised.occurrences), (Raised::New, AlertStatus::Open, 1));
    let again = NewAlert { value: Some(70.0), details: json!({"depth": 70}), ..depth.clone() };
    let (seen, outcome) = store.raise_alert(&again, at(2)).await.unwrap();
    assert_eq!((outcome, seen.id, seen.occurrences, seen.value, seen.last_seen_at), (Raised::AlreadyOpen, raised.id, 2, Some(70.0), at(2)));
    assert_eq!(store.open_alert_keys("queue_depth").await.unwrap(), vec!["queue_depth".to_string()]);

    // The email recipient's delivery goes to the SMTP sender only.
    let mailed = store.claim_webhook_deliveries(DeliveryTarget::Email, at(2), at(3), 10).await.unwrap();
    assert_eq!(mailed.iter().map(|item| (item.url.as_str(), item.delivery.webhook_id)).collect::<Vec<_>>(), vec![("mailto:oncall@shop.example", mail.id)]);
    store.record_webhook_attempt(mailed[0].delivery.id, DeliveryOutcome::Delivered { http_status: 250 }, at(2)).await.unwrap();
    assert!(store.claim_webhook_deliveries(DeliveryTarget::Email, at(9), at(10), 10).await.unwrap().is_empty());
    store.deactivate_webhook(mail.id, &[], at(2)).await.unwrap();

    // One delivery for the active webhook, none for the stopped one; claimed once at a time.
    let due = store.claim_webhook_deliveries(DeliveryTarget::Http, at(2), at(3), 10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!((due[0].url.as_str(), due[0].secret.as_str(), due[0].delivery.event.as_str()), ("http://127.0.0.1:9/hook", "s3cret", "alert.raised"));
    let payload: serde_json::Value = serde_json::from_str(&due[0].delivery.payload).unwrap();
    assert_eq!(payload["alert"]["id"], raised.id);
    assert!(store.claim_webhook_deliveries(DeliveryTarget::Http, at(2), at(3), 10).await.unwrap().is_empty(), "claimed until its lease ends");
    store.record_webhook_attempt(due[0].delivery.id, DeliveryOutcome::Retry { http_status: Some(503), error: "503 Service Unavailable".into(), retry_at: at(5) }, at(2)).await.unwrap();
    assert!(store.claim_webhook_deliveries(DeliveryTarget::Http, at(4), at(6), 10).await.unwrap().is_empty(), "not due before its retry time");
    let retried = store.claim_webhook_deliveries(DeliveryTarget::Http, at(5), at(6), 10).await.unwrap();
    assert_eq!(retried.len(), 1);
    store.record_webhook_attempt(retried[0].delivery.id, DeliveryOutcome::Delivered { http_status: 204 }, at(5)).await.unwrap();
    let log = store.webhook_deliveries(hook.id, 10).await.unwrap();
    assert_eq!((log[0].status.as_str(), log[0].attempts, log[0].last_status, log[0].delivered_at), ("delivered", 2, Some(204), Some(at(5))));

    // Resolved: once, with its own delivery; the key can be raised anew afterwards.
    let resolved = store.resolve_alert("queue_depth", "system", &[], at(6)).await.unwrap().unwrap();
    assert_eq!((resolved.status, resolved.resolved_at, resolved.resolved_by.as_deref()), (AlertStatus::Resolved, Some(at(6)), Some("system")));
    assert_eq!(store.resolve_alert("queue_depth", "system", &[], at(7)).await.unwrap(), None);
    let due = store.claim_webhook_deliveries(DeliveryTarget::Http, at(7), at(8), 10).await.unwrap();
    assert_eq!(due.iter().map(|item| item.delivery.event.as_str()).collect::<Vec<_>>(), vec!["alert.resolved"]);
    store.record_webhook_attempt(due[0].delivery.id, DeliveryOutcome::GaveUp { http_status: None, error: "connection refused".into() }, at(7)).await.unwrap();
    let (reraised, outcome) = store.raise_alert(&depth, at(9)).await.unwrap();
    assert_eq!(outcome, Raised::New);
    assert_ne!(reraised.id, raised.id);
    let listed = store.list_alerts(None, 10).await.unwrap();
    assert_eq!(listed.iter().map(|alert| alert.id).collect::<Vec<_>>(), vec![reraised.id, raised.id], "newest first");
    assert_eq!(store.list_alerts(Some(AlertStatus::Resolved), 10).await.unwrap().len(), 1);
    assert_eq!(store.list_webhooks().await.unwrap().iter().map(|hook| hook.active).collect::<Vec<_>>(), vec![true, false, false]);
    // Concurrent raises of one key make one open alert.
    let concurrent = NewAlert { dedup_key: "vip_ticket:7".into(), rule: "vip_ticket".into(), ..depth.clone() };
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let (store, alert) = (store.clone(), concurrent.clone());
            tokio::spawn(async move { store.raise_alert(&alert, at(10)).await })
        })
        .collect();
    let mut outcomes = Vec::new();
    for handle in handles {
        outcomes.push(handle.await.unwrap());
    }
    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    assert_eq!(outcomes.iter().filter(|outcome| matches!(outcome, Ok((_, Raised::New)))).count(), 1, "{outcomes:?}");
}

async fn inbound_arrivals_count_each_interval_with_zeros(db: &TestDb) {
    let store = &db.store;
    // Messages at minutes 0, 10, 70, 75, 80 and 200; an outbound reply does not count.
    for (idx, minute) in [0, 10, 70, 75, 80, 200].iter().enumerate() {
        let mut message = inbound(Some(&format!("arrival-{idx}")), "where is my order", None);
        message.received_at = at(*minute);
        let ingested = store.ingest(&message).await.unwrap();
        if idx == 0 {
            store.add_outbound(ingested.ticket_id, &reply("on its way"), &[], at(5)).await.unwrap();
        }
    }
    let hourly = store.inbound_arrivals(at(0), at(240), 3_600_000).await.unwrap();
    assert_eq!(hourly, vec![2, 3, 0, 1]);
    // A window that starts mid-hour counts from its own start; the end is exclusive.
    assert_eq!(store.inbound_arrivals(at(30), at(90), 1_800_000).await.unwrap(), vec![0, 3]);
    assert!(matches!(store.inbound_arrivals(at(10), at(0), 3_600_000).await, Err(Error::Invalid(_))));
}

async fn users_change_role_and_access_and_the_audit_log_filters_and_pages(db: &TestDb) {
    let store = &db.store;
    let user = store.create_user(&new_user("pat@example.com", Role::Agent), &[], at(0)).await.unwrap();
    store.create_session(user.id, "session-secret", "csrf", at(600), at(0)).await.unwrap();
    let audit = [NewAuditEntry::new("user:1", "user.role_changed", "user", user.id, json!({}))];
    let changed = store.update_user(user.id, Some(Role::Supervisor), None, &audit, at(1)).await.unwrap();
    assert_eq!((changed.role, changed.active), (Role::Supervisor, true));
    assert!(store.session("session-secret", at(2)).await.unwrap().is_some(), "a role change keeps the session");
    let deactivated = store.update_user(user.id, None, Some(false), &[NewAuditEntry::new("user:1", "user.deactivated", "user", user.id, json!({}))], at(3)).await.unwrap();
    assert_eq!((deactivated.role, deactivated.active), (Role::Supervisor, false));
    assert!(store.session("session-secret", at(4)).await.unwrap().is_none(), "deactivating ends the sessions");
    assert!(matches!(store.update_user(999_999, Some(Role::Admin), None, &[], at(5)).await, Err(Error::NotFound { .. })));

    for (minute, actor, action) in [(10, "user:2", "ticket.replied"), (20, "system", "ai.decision"), (30, "user:2", "ticket.assigned"), (40, "user:2", "kb.article_updated")] {
        store.append_audit(&[NewAuditEntry::new(actor, action, "ticket", minute, json!({}))], at(minute)).await.unwrap();
    }
    let actions = |entries: Vec<sb_store::AuditEntry>| entries.into_iter().map(|entry| entry.action).collect::<Vec<_>>();
    let filter = |actor: Option<&str>, action: Option<&str>, from: Option<i64>, to: Option<i64>, before_id: Option<i64>, limit: i64| sb_store::AuditFilter {
        actor: actor.map(str::to_string),
        action_prefix: action.map(str::to_string),
        from: from.map(at),
        to: to.map(at),
        before_id,
        limit,
    };
    // (filter, expected actions newest first)
    let cases = [
        (filter(Some("user:2"), None, None, None, None, 10), vec!["kb.article_updated", "ticket.assigned", "ticket.replied"]),
        (filter(Some("user:2"), Some("ticket."), None, None, None, 10), vec!["ticket.assigned", "ticket.replied"]),
        (filter(None, Some("ai.decision"), None, None, None, 10), vec!["ai.decision"]),
        (filter(None, None, Some(20), Some(40), None, 10), vec!["ticket.assigned", "ai.decision"]),
        (filter(Some("user:2"), None, None, None, None, 2), vec!["kb.article_updated", "ticket.assigned"]),
        (filter(Some("nobody"), None, None, None, None, 10), vec![]),
    ];
    for (audit_filter, expected) in cases {
        assert_eq!(actions(store.list_audit_filtered(&audit_filter).await.unwrap()), expected, "{audit_filter:?}");
    }
    // The next page starts below the last id of the first.
    let first_page = store.list_audit_filtered(&filter(Some("user:2"), None, None, None, None, 2)).await.unwrap();
    let next_page = store.list_audit_filtered(&filter(Some("user:2"), None, None, None, Some(first_page[1].id), 2)).await.unwrap();
    assert_eq!(actions(next_page), vec!["ticket.replied"]);
}

fn email_inbound(message_id: &str, email: &str, subject: &str, received_at: DateTime<Utc>) -> NewInbound {
    NewInbound {
        channel: Channel::Email,
        external_id: Some(message_id.to_string()),
        subject: Some(subject.to_string()),
        content_type: "message/rfc822".into(),
        customer: NewCustomer { email: Some(email.to_string()), ..NewCustomer::default() },
        received_at,
        ..inbound(None, "hello", None)
    }
}

async fn email_threads_by_message_id_and_records_sent_ids(db: &TestDb) {
    let store = &db.store;
    let first = store.ingest(&email_inbound("a1@mail.example", "Ana@Example.com", "Order A10493", at(0))).await.unwrap();
    let other = store.ingest(&email_inbound("b1@mail.example", "bo@example.com", "Hello", at(1))).await.unwrap();
    // Most specific first: the first id that is known wins, unknown ones are skipped.
    let ids = |list: &[&str]| list.iter().map(|id| id.to_string()).collect::<Vec<_>>();
    assert_eq!(store.email_ticket_by_message_ids(&ids(&["nope@x", "a1@mail.example", "b1@mail.example"])).await.unwrap(), Some(first.ticket_id));
    assert_eq!(store.email_ticket_by_message_ids(&ids(&["b1@mail.example", "a1@mail.example"])).await.unwrap(), Some(other.ticket_id));
    assert_eq!(store.email_ticket_by_message_ids(&ids(&["nope@x"])).await.unwrap(), None);
    assert_eq!(store.email_ticket_by_message_ids(&[]).await.unwrap(), None);

    // Recent open email tickets of a customer (the address is compared lower-cased).
    let recent = store.recent_email_tickets("ana@example.com", at(0), 10).await.unwrap();
    assert_eq!(recent, vec![(first.ticket_id, Some("Order A10493".to_string()))]);
    assert!(store.recent_email_tickets("ana@example.com", at(5), 10).await.unwrap().is_empty());

    // An automatic reply counts toward the sender's budget; an agent's does not.
    let mut automatic = reply("Your order ships today");
    automatic.recipient = Some("ana@example.com".into());
    automatic.metadata = Some(json!({"automatic": true, "reason_code": "auto_reply_order_status"}));
    let reply_id = store.add_outbound(first.ticket_id, &automatic, &[], at(2)).await.unwrap();
    let mut by_agent = reply("I checked with the warehouse");
    by_agent.recipient = Some("ana@example.com".into());
    by_agent.metadata = Some(json!({"automatic": false}));
    let agent_reply_id = store.add_outbound(first.ticket_id, &by_agent, &[], at(2)).await.unwrap();
    assert_eq!(store.automatic_replies_to(Channel::Email, "Ana@example.com", at(0)).await.unwrap(), 1);
    assert_eq!(store.automatic_replies_to(Channel::Email, "ana@example.com", at(3)).await.unwrap(), 0);

    // Sending records the Message-ID: the thread's ids come back in order, and a reply to
    // the sent mail finds the ticket.
    let items = store.claim_outbox(Channel::Email, "smtp-1", at(2), at(3), 10).await.unwrap();
    assert_eq!(items.iter().map(|item| item.message_id).collect::<Vec<_>>(), vec![reply_id, agent_reply_id]);
    let stolen = store.mark_outbox_sent_with_message_id(items[0].id, "smtp-2", reply_id, "sb.1@shop.example", at(2)).await;
    assert!(matches!(stolen, Err(Error::Conflict(_))), "{stolen:?}");
    store.mark_outbox_sent_with_message_id(items[0].id, "smtp-1", reply_id, "sb.1@shop.example", at(2)).await.unwrap();
    let still_pending = store.claim_outbox(Channel::Email, "smtp-1", at(20), at(21), 10).await.unwrap();
    assert_eq!(still_pending.iter().map(|item| item.message_id).collect::<Vec<_>>(), vec![agent_reply_id], "only the sent entry left the outbox");
    assert_eq!(store.message(reply_id).await.unwrap().external_id.as_deref(), Some("sb.1@shop.example"));
    assert_eq!(store.email_ticket_by_message_ids(&ids(&["sb.1@shop.example"])).await.unwrap(), Some(first.ticket_id));
    assert_eq!(store.email_thread_ids(first.ticket_id, reply_id).await.unwrap(), ids(&["a1@mail.example"]));
    assert_eq!(store.email_thread_ids(first.ticket_id, reply_id + 1).await.unwrap(), ids(&["a1@mail.example", "sb.1@shop.example"]));

    // A repeated delivery is answered with its message's latest decision, read alone.
    assert!(store.latest_message_decision(first.ticket_id, first.message_id).await.unwrap().is_none());
    store.record_triage(&outcome(first.message_id, first.ticket_id, "human_queue", false), at(3)).await.unwrap();
    let retriaged = store.record_triage(&outcome(first.message_id, first.ticket_id, "auto_reply", false), at(4)).await.unwrap();
    let latest = store.latest_message_decision(first.ticket_id, first.message_id).await.unwrap().unwrap();
    assert_eq!((latest.id, latest.route.as_str()), (retriaged.decision_id, "auto_reply"));
    assert!(store.latest_message_decision(other.ticket_id, first.message_id).await.unwrap().is_none());
}

async fn a_ticket_keeps_one_rating_about_its_assignee(db: &TestDb) {
    let store = &db.store;
    let ingested = store.ingest(&inbound(Some("csat-1"), "where is my parcel", Some("csat@example.com"))).await.unwrap();
    assert_eq!(store.ticket_csat(ingested.ticket_id).await.unwrap(), None);
    let audit = [NewAuditEntry::new("customer:csat@example.com", "csat.recorded", "ticket", ingested.ticket_id, json!({"rating": 2}))];
    let first = store.record_csat(ingested.ticket_id, 2, Some("slow"), "chat", &audit, at(1)).await.unwrap();
    assert_eq!((first.rating, first.comment.as_deref(), first.agent_user_id, first.source.as_str(), first.rated_at), (2, Some("slow"), None, "chat", at(1)));
    // Rated again after an agent took the ticket: the later rating replaces it, about that agent.
    let agent = store.create_user(&NewUser { email: "rated@example.com".into(), name: "Rated Agent".into(), role: Role::Agent, password_hash: "x".into() }, &[], at(0)).await.unwrap();
    store.update_ticket(ingested.ticket_id, &TicketUpdate { assignee_id: Some(Some(agent.id)), ..TicketUpdate::default() }, &[], at(2)).await.unwrap();
    let second = store.record_csat(ingested.ticket_id, 5, None, "api", &[], at(3)).await.unwrap();
    assert_eq!((second.rating, second.comment.as_deref(), second.agent_user_id, second.source.as_str()), (5, None, Some(agent.id), "api"));
    assert_eq!(store.ticket_csat(ingested.ticket_id).await.unwrap(), Some(second));
    assert!(store.list_audit(Some(("ticket", &ingested.ticket_id.to_string())), 10).await.unwrap().iter().any(|entry| entry.action == "csat.recorded"));
    // Out of range or an unknown source: refused by the schema, nothing changed.
    assert!(store.record_csat(ingested.ticket_id, 6, None, "api", &[], at(4)).await.is_err());
    assert!(store.record_csat(ingested.ticket_id, 3, None, "phone", &[], at(4)).await.is_err());
    assert_eq!(store.ticket_csat(ingested.ticket_id).await.unwrap().unwrap().rating, 5);
    assert!(matches!(store.record_csat(999_999, 3, None, "api", &[], at(4)).await, Err(Error::NotFound { .. })));
}

async fn chat_conversations_open_by_secret_and_read_only_their_messages(db: &TestDb) {
    let store = &db.store;
    let ana = store.create_chat_conversation("sbc_ana-secret", "Ana Silva", "ana@example.com", at(0)).await.unwrap();
    let tom = store.create_chat_conversation("sbc_tom-secret", "Tom Berg", "tom@example.com", at(0)).await.unwrap();
    assert_eq!(store.chat_conversation_by_token("sbc_ana-secret").await.unwrap(), Some(ana.clone()));
    assert_eq!(store.chat_conversation_by_token("sbc_nobody").await.unwrap(), None);

    let chat_inbound = |conversation: &sb_store::ChatConversation, id: &str, body: &str| NewInbound {
        channel: Channel::Chat,
        external_id: Some(format!("{}:{id}", conversation.conversation_key())),
        conversation_key: Some(conversation.conversation_key()),
        ..inbound(None, body, Some(&conversation.customer_email))
    };
    let first = store.ingest(&chat_inbound(&ana, "1", "Where is my order?")).await.unwrap();
    let second = store.ingest(&chat_inbound(&ana, "2", "It was due Monday.")).await.unwrap();
    assert_eq!(first.ticket_id, second.ticket_id);
    store.ingest(&chat_inbound(&tom, "1", "Do you ship to Canada?")).await.unwrap();
    let mut note = reply("internal: carrier delay");
    note.channel = Channel::Chat;
    note.direction = Direction::Note;
    store.add_outbound(first.ticket_id, &note, &[], at(1)).await.unwrap();
    let mut answer = reply("It arrives tomorrow.");
    answer.channel = Channel::Chat;
    answer.recipient = None;
    let answer_id = store.add_outbound(first.ticket_id, &answer, &[], at(2)).await.unwrap();

    let messages = store.chat_messages(&ana, 0, 100).await.unwrap();
    let seen: Vec<(Direction, &str)> = messages.iter().map(|message| (message.direction, message.body.as_str())).collect();
    assert_eq!(seen, vec![(Direction::Inbound, "Where is my order?"), (Direction::Inbound, "It was due Monday."), (Direction::Outbound, "It arrives tomorrow.")]);
    assert_eq!(store.chat_messages(&ana, messages[1].id, 100).await.unwrap().len(), 1, "after an id");
    assert_eq!(store.chat_messages(&tom, 0, 100).await.unwrap().len(), 1, "Tom's conversation holds his message only");
    assert_eq!(store.chat_ticket_ids(&ana).await.unwrap(), vec![first.ticket_id]);

    // A chat reply is delivered by its commit: its outbox entry is written sent, and no
    // sender ever claims it; an email reply written the same way waits for the SMTP sender.
    assert!(store.claim_outbox(Channel::Chat, "chat", at(5), at(6), 10).await.unwrap().is_empty(), "reply {answer_id} is not pending");
    let mut by_email = reply("Sent by email too.");
    by_email.channel = Channel::Email;
    let email_reply_id = store.add_outbound(first.ticket_id, &by_email, &[], at(6)).await.unwrap();
    let waiting = store.claim_outbox(Channel::Email, "smtp", at(7), at(8), 10).await.unwrap();
    assert_eq!(waiting.iter().map(|item| item.message_id).collect::<Vec<_>>(), vec![email_reply_id]);
}


conformance_tests!(
    the_breached_filter_follows_the_deadlines,
    migrations_are_idempotent_and_ready,
    ingest_keeps_the_raw_payload_and_creates_ticket_and_customer,
    duplicate_delivery_returns_the_first_ticket,
    concurrent_duplicates_make_one_ticket,
    conversations_thread_into_one_open_ticket,
    claims_hold_until_their_lease_expires,
    concurrent_claimers_never_share_a_message,
    ingest_with_rows_returns_the_rows_as_stored,
    triage_is_recorded_whole_and_retriage_keeps_history,
    failed_triage_is_retried_then_marked_failed,
    a_triaged_customer_message_ends_the_wait_on_the_customer,
    a_failing_triage_write_leaves_nothing_half_way,
    ingest_and_triage_record_in_one_write,
    ingest_and_triage_keep_the_raw_message_when_triage_is_not_recorded,
    compliance_records_are_append_only,
    the_audit_chain_verifies_and_reports_tampering,
    concurrent_audit_appends_keep_one_chain,
    ticket_lists_filter_and_page,
    replies_go_to_the_outbox_and_notes_do_not,
    ticket_updates_clear_and_set_fields,
    users_sessions_and_tokens_store_only_hashes,
    orders_are_found_by_number_and_customer,
    sla_events_are_recorded_once,
    ticket_actions_apply_whole_and_refuse_stale_versions,
    ticket_actions_never_take_a_ticket_out_of_the_safety_queue,
    queue_depths_and_the_triage_backlog_count_open_work,
    articles_keep_every_version_and_refuse_stale_edits,
    article_imports_create_update_or_leave_alone,
    reply_templates_resolve_by_intent_language_and_shortcut,
    resolved_tickets_keep_their_summary,
    resolved_tickets_feed_in_resolution_order_and_resumes,
    alerts_deduplicate_resolve_and_enqueue_webhook_deliveries,
    email_threads_by_message_id_and_records_sent_ids,
    inbound_arrivals_count_each_interval_with_zeros,
    users_change_role_and_access_and_the_audit_log_filters_and_pages,
    chat_conversations_open_by_secret_and_read_only_their_messages,
    a_ticket_keeps_one_rating_about_its_assignee,
);

#[allow(dead_code)]
fn assert_store_is_send_sync(store: Store) -> impl Send + Sync {
    store
}
