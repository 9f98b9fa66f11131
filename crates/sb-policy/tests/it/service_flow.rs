//! One message at a time through the whole policy, as the service drives it: the prepared
//! action, the decision, the SLA policy chosen from the decision, and the ticket's clocks over
//! the following hours.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use expect_test::{expect, Expect};
use sb_domain::{Carrier, Intent, Language, ModelInfo, Order, OrderStatus, RankedIntent, Sentiment, SentimentLabel, Severity, TriageResult};
use sb_policy::sla::{select_policy, validate_sla_policies, SlaPolicy, TicketSla};
use sb_policy::{decide, prepare_action, CustomerFlags, DecisionInput, OrderLookup, PolicyConfig, WorkflowOutcome};

const BERLIN: Tz = Tz::Europe__Berlin;

/// The shop's config and SLA policies as an admin would write them (JSON here; the service
/// reads TOML into the same types).
fn shop_policies() -> (PolicyConfig, Vec<SlaPolicy>) {
    let policy_config: PolicyConfig = serde_json::from_str(
        r#"{
            "auto_reply_confidence_by_intent": {"track_order": 0.8},
            "contact_options": {"email": "help@example.com", "team_name": "The Example Shop team"}
        }"#,
    )
    .unwrap();
    policy_config.validate().unwrap();
    let berlin_office = r#"{"kind": "business_hours", "time_zone": "Europe/Berlin",
        "weekly_hours": {"monday": ["09:00-17:00"], "tuesday": ["09:00-17:00"], "wednesday": ["09:00-17:00"],
                         "thursday": ["09:00-17:00"], "friday": ["09:00-17:00"]},
        "holidays": ["2024-10-03"]}"#;
    let sla_policies: Vec<SlaPolicy> = serde_json::from_str(&format!(
        r#"[
            {{"name": "safety urgent", "matches": {{"category": "safety_compliance", "severity": "urgent"}}, "first_response": "15m", "resolution": "4h", "calendar": {{"kind": "always_open"}}}},
            {{"name": "safety", "matches": {{"category": "safety_compliance"}}, "first_response": "2h", "resolution": "24h", "calendar": {{"kind": "always_open"}}}},
            {{"name": "high priority", "matches": {{"priority": {{"min": 10, "max": 100}}}}, "first_response": "2h", "resolution": "16h", "calendar": {berlin_office}}},
            {{"name": "standard", "first_response": "4h", "resolution": "24h", "calendar": {berlin_office}}}
        ]"#
    ))
    .unwrap();
    validate_sla_policies(&sla_policies).unwrap();
    (policy_config, sla_policies)
}

fn berlin(text: &str) -> DateTime<Utc> {
    let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap();
    BERLIN.from_local_datetime(&naive).single().unwrap().with_timezone(&Utc)
}

fn triage(intent: Intent, confidence: f32, sentiment_score: f32, severity: Option<Severity>) -> TriageResult {
    TriageResult {
        category: intent.category(),
        intent,
        confidence,
        ranking: vec![RankedIntent { intent, probability: confidence }],
        severity,
        safety_override: None,
        sentiment: Sentiment { score: sentiment_score, label: if sentiment_score < 0.0 { SentimentLabel::Negative } else { SentimentLabel::Neutral } },
        language: Language { code: "de".to_string(), confidence: 0.97 },
        entities: Vec::new(),
        pii: Vec::new(),
        normalized_text: String::new(),
        redacted_text: String::new(),
        model: ModelInfo { name: "switchboard-default".to_string(), version: "1".to_string(), features: vec!["tfidf".to_string()] },
    }
}

fn order(status: OrderStatus) -> Order {
    Order {
        number: "558201".to_string(),
        customer_email: Some("kim@example.com".to_string()),
        customer_name: Some("Kim".to_string()),
        status,
        placed_at: berlin("2024-09-30 12:00"),
        shipped_at: Some(berlin("2024-10-01 15:00")),
        delivered_at: (status == OrderStatus::Delivered).then(|| berlin("2024-10-02 11:00")),
        promised_delivery: NaiveDate::from_ymd_opt(2024, 10, 8),
        carrier: Some(Carrier::Dhl),
        tracking_number: Some("JD014600006281230704".to_string()),
        total_minor: 12900,
        currency: "EUR".to_string(),
        items: Vec::new(),
    }
}

/// Decides on a message that arrived at `arrived_text` (Berlin time), starts its SLA, plays
/// `events` (`respond HH:MM…`, `pause …`, `resume …`), and renders the ticket at each of
/// `look_at_texts`.
fn check(triage_result: TriageResult, vip: bool, workflow: WorkflowOutcome, arrived_text: &str, events: &[&str], look_at_texts: &[&str], expect: Expect) {
    let (policy_config, sla_policies) = shop_policies();
    let decision_input = DecisionInput { triage: &triage_result, customer: CustomerFlags { vip, owns_referenced_order: true }, workflow: &workflow, waiting: TimeDelta::zero(), sla_state: sb_policy::sla::SlaState::OnTrack };
    let decision = decide(&decision_input, &policy_config);
    let sla_policy = select_policy(&sla_policies, &decision.sla_subject(&triage_result)).expect("a catch-all policy matches everything");
    let mut ticket_sla = TicketSla::start(sla_policy, berlin(arrived_text));
    let mut rendered = format!(
        "{:?} ({:?}), priority {}, policy {}\n{}\n",
        decision.route,
        decision.reason_code,
        decision.priority.score,
        sla_policy.name,
        decision.reason
    );
    for event in events {
        let (verb, when_text) = event.split_once(' ').unwrap();
        let when = berlin(when_text);
        match verb {
            "respond" => ticket_sla.record_first_response(when),
            "pause" => ticket_sla.pause(when),
            "resume" => ticket_sla.resume(when),
            "resolve" => ticket_sla.record_resolution(when),
            _ => panic!("unknown event {verb}"),
        }
        .unwrap();
    }
    for look_at_text in look_at_texts {
        let now = berlin(look_at_text);
        let status = ticket_sla.status(now, policy_config.sla_at_risk_fraction);
        let local = |instant: DateTime<Utc>| instant.with_timezone(&BERLIN).format("%a %d %b %H:%M").to_string();
        rendered.push_str(&format!(
            "at {}: {:?}; first response due {} ({:?}), resolution due {} ({:?})",
            local(now),
            status.state,
            local(status.first_response.due_at),
            status.first_response.state,
            local(status.resolution.due_at),
            status.resolution.state
        ));
        for breach in ticket_sla.breaches(now) {
            rendered.push_str(&format!("; breached {:?}", breach.deadline));
        }
        rendered.push('\n');
    }
    expect.assert_eq(&rendered);
}

fn service_workflow(intent: Intent, order_lookup: OrderLookup, today: NaiveDate) -> WorkflowOutcome {
    let (policy_config, _) = shop_policies();
    let prepared = prepare_action(intent, &order_lookup, today, &policy_config).unwrap();
    WorkflowOutcome::ServiceAction { order: order_lookup.order().cloned(), prepared }
}

#[test]
fn a_tracking_question_on_a_saturday_is_answered_at_once() {
    let today = NaiveDate::from_ymd_opt(2024, 10, 5).unwrap();
    check(
        triage(Intent::TrackOrder, 0.82, 0.1, None),
        false,
        service_workflow(Intent::TrackOrder, OrderLookup::Found { order: order(OrderStatus::Shipped) }, today),
        "2024-10-05 10:00",
        &["respond 2024-10-05 10:00", "resolve 2024-10-05 10:00"],
        &["2024-10-09 12:00"],
        expect![[r#"
            AutoReply (AutoReplyOrderStatus), priority 0, policy standard
            Auto-replied with the status of order #558201: track_order confidence 0.82 reaches 0.80, sentiment 0.10 is not strongly negative, and the customer is not VIP.
            at Wed 09 Oct 12:00: OnTrack; first response due Mon 07 Oct 13:00 (OnTrack), resolution due Wed 09 Oct 17:00 (OnTrack)
        "#]],
    );
}

#[test]
fn an_upset_vip_with_a_damaged_item_gets_the_high_priority_sla_over_a_holiday() {
    // Wednesday 2 October, 16:30; Thursday 3 October is a holiday in this shop's calendar.
    let today = NaiveDate::from_ymd_opt(2024, 10, 2).unwrap();
    check(
        triage(Intent::DamagedOrWrongItem, 0.91, -0.6, None),
        true,
        service_workflow(Intent::DamagedOrWrongItem, OrderLookup::Found { order: order(OrderStatus::Delivered) }, today),
        "2024-10-02 16:30",
        &[],
        &["2024-10-02 16:45", "2024-10-04 09:50", "2024-10-04 10:45"],
        expect![[r#"
            HumanQueue (ActionNeedsHuman), priority 14, policy high priority
            A damaged_or_wrong_item request needs a person to act on it — sent to the human queue. Also kept from an auto-reply: sentiment -0.60 is strongly negative (at or below -0.50); the customer is VIP.
            at Wed 02 Oct 16:45: OnTrack; first response due Fri 04 Oct 10:30 (OnTrack), resolution due Mon 07 Oct 16:30 (OnTrack)
            at Fri 04 Oct 09:50: OnTrack; first response due Fri 04 Oct 10:30 (OnTrack), resolution due Mon 07 Oct 16:30 (OnTrack)
            at Fri 04 Oct 10:45: Breached; first response due Fri 04 Oct 10:30 (Breached), resolution due Mon 07 Oct 16:30 (OnTrack); breached FirstResponse
        "#]],
    );
}

#[test]
fn waiting_on_the_customer_over_a_weekend_stops_the_clocks() {
    let today = NaiveDate::from_ymd_opt(2024, 10, 4).unwrap();
    check(
        triage(Intent::ReturnRefund, 0.95, 0.0, None),
        false,
        service_workflow(Intent::ReturnRefund, OrderLookup::NoReference, today),
        "2024-10-04 14:00",
        &["respond 2024-10-04 14:30", "pause 2024-10-04 14:30", "resume 2024-10-07 12:00"],
        &["2024-10-07 12:00", "2024-10-10 10:00"],
        expect![[r#"
            HumanQueue (OrderReferenceMissing), priority 0, policy standard
            No order number in the message — sent to the human queue.
            at Mon 07 Oct 12:00: OnTrack; first response due Mon 07 Oct 10:00 (OnTrack), resolution due Thu 10 Oct 11:30 (OnTrack)
            at Thu 10 Oct 10:00: AtRisk; first response due Mon 07 Oct 10:00 (OnTrack), resolution due Thu 10 Oct 11:30 (AtRisk)
        "#]],
    );
}

#[test]
fn an_urgent_reaction_at_night_runs_on_the_round_the_clock_sla() {
    check(
        triage(Intent::AdverseReaction, 0.97, -0.7, Some(Severity::Urgent)),
        false,
        WorkflowOutcome::Safety { severity: Severity::Urgent },
        "2024-10-06 03:00",
        &[],
        &["2024-10-06 03:05", "2024-10-06 03:12", "2024-10-06 03:20"],
        expect![[r#"
            SafetyQueue (SafetyCompliance), priority 77, policy safety urgent
            Safety/compliance message (adverse_reaction, severity urgent): never auto-replied; sent to the safety queue.
            at Sun 06 Oct 03:05: OnTrack; first response due Sun 06 Oct 03:15 (OnTrack), resolution due Sun 06 Oct 07:00 (OnTrack)
            at Sun 06 Oct 03:12: AtRisk; first response due Sun 06 Oct 03:15 (AtRisk), resolution due Sun 06 Oct 07:00 (OnTrack)
            at Sun 06 Oct 03:20: Breached; first response due Sun 06 Oct 03:15 (Breached), resolution due Sun 06 Oct 07:00 (OnTrack); breached FirstResponse
        "#]],
    );
}
