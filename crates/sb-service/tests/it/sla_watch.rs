//! The SLA watcher on a real SQLite store: at-risk before the deadline, one breach event after
//! it (however many rounds run), none for a ticket answered in time.

use chrono::{DateTime, Duration, TimeZone, Utc};
use sb_domain::{Channel, Intent, Severity};
use sb_policy::sla::{default_business_calendar, default_sla_policies, select_policy, SlaSubject, TicketSla};
use sb_service::Service;

use crate::service;
use sb_store::{NewCustomer, NewInbound, NewOutbound, Queue, TicketStatus, TicketTriageUpdate, TriageOutcome};
use serde_json::json;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 4, 10, 0, 0).unwrap()
}

/// Stores an urgent safety ticket created at `t0()` with its SLA clocks (15 minutes, 24/7).
async fn urgent_ticket(service: &Service, external_id: &str) -> i64 {
    let store = service.store();
    let inbound = NewInbound {
        channel: Channel::Chat,
        external_id: Some(external_id.into()),
        conversation_key: None,
        ticket_id: None,
        subject: None,
        body: "my son swallowed a battery".into(),
        body_is_html: false,
        content_type: "text/plain".into(),
        raw_payload: b"my son swallowed a battery".to_vec(),
        metadata: None,
        customer: NewCustomer::default(),
        received_at: t0(),
        claim: None,
    };
    let ingested = store.ingest(&inbound).await.unwrap();
    let policies = default_sla_policies(&default_business_calendar());
    let subject = SlaSubject { category: Intent::ProductHazard.category(), intent: Intent::ProductHazard, severity: Some(Severity::Urgent), priority: 90 };
    let policy = select_policy(&policies, &subject).unwrap();
    let ticket_sla = TicketSla::start(policy, t0());
    assert_eq!(ticket_sla.first_response.deadline(t0(), &ticket_sla.calendar), t0() + Duration::minutes(15));
    let outcome = TriageOutcome {
        message_id: ingested.message_id,
        ticket_id: ingested.ticket_id,
        model_name: "test".into(),
        model_version: "1".into(),
        result: json!({}),
        latency_us: 1,
        route: "safety_queue".into(),
        reason_code: "safety_compliance".into(),
        priority: 90,
        decision: json!({}),
        ticket: TicketTriageUpdate {
            status: TicketStatus::Open,
            queue: Queue::Safety,
            category: "safety_compliance".into(),
            intent: "product_hazard".into(),
            severity: Some("urgent".into()),
            confidence: 0.99,
            sentiment: -0.4,
            priority: 90,
            route: "safety_queue".into(),
            sla_policy: Some(ticket_sla.policy_name.clone()),
            sla: Some(serde_json::to_value(&ticket_sla).unwrap()),
            first_response_due_at: Some(t0() + Duration::minutes(15)),
            resolution_due_at: Some(ticket_sla.resolution.deadline(t0(), &ticket_sla.calendar)),
        },
        compliance: None,
        reply: None,
        audit: vec![],
    };
    store.record_triage(&outcome, t0()).await.unwrap();
    ingested.ticket_id
}

#[tokio::test]
async fn urgent_ticket_goes_at_risk_then_breaches_once() {
    let (service, _dir) = service().await;
    let ticket_id = urgent_ticket(&service, "u-1").await;
    let early = service.check_slas(t0() + Duration::minutes(5)).await.unwrap();
    assert_eq!((early.at_risk, early.breached), (0, 0));
    let late = service.check_slas(t0() + Duration::minutes(13)).await.unwrap();
    assert_eq!((late.at_risk, late.breached), (1, 0), "under a quarter of 15 minutes left");
    let breached = service.check_slas(t0() + Duration::minutes(16)).await.unwrap();
    assert_eq!(breached.breached, 1);
    let again = service.check_slas(t0() + Duration::minutes(17)).await.unwrap();
    assert_eq!(again.breached, 0, "a breach is recorded once");
    let ticket = service.store().ticket(ticket_id).await.unwrap();
    assert!(ticket.first_response_breached);
    let kinds: Vec<String> = service.store().ticket_sla_events(ticket_id).await.unwrap().into_iter().map(|event| event.kind).collect();
    assert_eq!(kinds, vec!["at_risk", "first_response_breached"]);
    let audit = service.store().list_audit(Some(("ticket", &ticket_id.to_string())), 10).await.unwrap();
    assert_eq!(audit.iter().filter(|entry| entry.action == "sla.breached").count(), 1);
}

#[tokio::test]
async fn a_ticket_answered_in_time_never_breaches_its_first_response() {
    let (service, _dir) = service().await;
    let ticket_id = urgent_ticket(&service, "u-2").await;
    let reply = NewOutbound {
        direction: sb_store::Direction::Outbound,
        channel: Channel::Chat,
        author_user_id: None,
        subject: None,
        body: "We are calling you now.".into(),
        recipient: None,
        metadata: None,
    };
    service.store().add_outbound(ticket_id, &reply, &[], t0() + Duration::minutes(4)).await.unwrap();
    let round = service.check_slas(t0() + Duration::minutes(30)).await.unwrap();
    assert_eq!(round.breached, 0);
    assert!(!service.store().ticket(ticket_id).await.unwrap().first_response_breached);
}
