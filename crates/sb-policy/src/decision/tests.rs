//! The decision policy's rules as data: one triage result, customer and workflow outcome per
//! case, the decision rendered as text.

use super::*;
use crate::actions::{prepare_action, OrderLookup};
use chrono::{NaiveDate, Utc};
use expect_test::{expect, Expect};
use sb_domain::{Carrier, Language, OrderStatus, Sentiment, SentimentLabel};

fn triage(intent: Intent, confidence: f32, sentiment_score: f32) -> TriageResult {
    let mut ranking = vec![RankedIntent { intent, probability: confidence }];
    let runners_up = [Intent::ReturnRefund, Intent::ProductInfo, Intent::Complaint, Intent::CancelOrder];
    // The rest of the probability mass, shared 50/30/20 and kept below the top intent so the
    // ranking stays sorted.
    for (runner_up, share) in runners_up.into_iter().filter(|runner_up| *runner_up != intent).zip([0.5, 0.3, 0.2]) {
        let probability = ((1.0 - confidence) * share).min(confidence * 0.9);
        ranking.push(RankedIntent { intent: runner_up, probability: (probability * 100.0).round() / 100.0 });
    }
    TriageResult {
        category: intent.category(),
        intent,
        confidence,
        ranking,
        severity: None,
        safety_override: None,
        sentiment: Sentiment { score: sentiment_score, label: if sentiment_score < -0.2 { SentimentLabel::Negative } else { SentimentLabel::Neutral } },
        language: Language { code: "en".to_string(), confidence: 0.99 },
        entities: Vec::new(),
        pii: Vec::new(),
        normalized_text: String::new(),
        redacted_text: String::new(),
        model: ModelInfo { name: "switchboard-default".to_string(), version: "2024.06.1".to_string(), features: vec!["tfidf".to_string()] },
    }
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 6, 4).unwrap()
}

fn shipped_order() -> Order {
    Order {
        number: "A10493".to_string(),
        customer_email: None,
        customer_name: Some("Jane Doe".to_string()),
        status: OrderStatus::Shipped,
        placed_at: "2024-06-01T10:00:00Z".parse::<chrono::DateTime<Utc>>().unwrap(),
        shipped_at: Some("2024-06-03T10:00:00Z".parse().unwrap()),
        delivered_at: None,
        promised_delivery: NaiveDate::from_ymd_opt(2024, 6, 6),
        carrier: Some(Carrier::Usps),
        tracking_number: Some("9400111899223856928499".to_string()),
        total_minor: 4990,
        currency: "USD".to_string(),
        items: Vec::new(),
    }
}

fn service(intent: Intent, order_lookup: OrderLookup, today: NaiveDate) -> WorkflowOutcome {
    let prepared = prepare_action(intent, &order_lookup, today, &PolicyConfig::default()).unwrap();
    WorkflowOutcome::ServiceAction { order: order_lookup.order().cloned(), prepared }
}

fn article(score: f32) -> WorkflowOutcome {
    WorkflowOutcome::Informational {
        article: Some(ArticleMatch {
            article_id: "kb-12".to_string(),
            version: 3,
            title: "Returns and refunds".to_string(),
            answer: "You can return any unused item within 30 days of delivery for a full refund.".to_string(),
            score,
            threshold: 0.6,
            url: None,
            reply: None,
        }),
    }
}

/// The article above its threshold with an answer rendered from a stored template.
fn templated_article(text: &str, missing: &[&str]) -> WorkflowOutcome {
    let WorkflowOutcome::Informational { article: Some(mut article) } = article(0.72) else { unreachable!() };
    article.reply = Some(TemplatedReply { template_id: 4, template_name: "Policy question".to_string(), language: "en".to_string(), text: text.to_string(), missing: missing.iter().map(|name| name.to_string()).collect() });
    WorkflowOutcome::Informational { article: Some(article) }
}

fn check_with(triage_result: &TriageResult, vip: bool, workflow: &WorkflowOutcome, policy_config: &PolicyConfig, expect: Expect) {
    let decision_input = DecisionInput { triage: triage_result, customer: CustomerFlags { vip, owns_referenced_order: true }, workflow, waiting: TimeDelta::zero(), sla_state: SlaState::OnTrack };
    let decision = decide(&decision_input, policy_config);
    let blockers: Vec<String> = decision.auto_reply_blockers.iter().map(|blocker| serde_json::to_string(blocker).unwrap().trim_matches('"').to_string()).collect();
    let mut rendered = format!(
        "{} / {}\n{}\nblockers: [{}]\npriority {}, auto-reply threshold {}",
        serde_json::to_string(&decision.route).unwrap().trim_matches('"'),
        serde_json::to_string(&decision.reason_code).unwrap().trim_matches('"'),
        decision.reason,
        blockers.join(", "),
        decision.priority.score,
        decision.thresholds.auto_reply_confidence
    );
    if decision.low_confidence {
        let candidates: Vec<String> = decision.candidates.iter().map(|candidate| format!("{} {}", candidate.intent, candidate.probability)).collect();
        rendered.push_str(&format!("\nlow confidence, candidates: {}", candidates.join(", ")));
    }
    if let Some(reply) = &decision.reply {
        rendered.push_str(&format!("\nreply:\n{reply}"));
    }
    if let Some(suggested_reply) = &decision.suggested_reply {
        rendered.push_str(&format!("\nsuggested reply: {}", suggested_reply.lines().nth(2).unwrap_or("")));
    }
    rendered.push('\n');
    expect.assert_eq(&rendered);
}

fn check(triage_result: &TriageResult, vip: bool, workflow: &WorkflowOutcome, expect: Expect) {
    check_with(triage_result, vip, workflow, &PolicyConfig::default(), expect);
}

#[test]
fn informational_without_an_article_goes_to_a_person_with_contact_options() {
    check(&triage(Intent::ProductInfo, 0.95, 0.3), false, &WorkflowOutcome::Informational { article: None }, expect![[r#"
        human_queue / no_article_found
        No knowledge-base article found for this product_info question, so it goes to a person; the suggested reply offers contact options instead of an answer.
        blockers: [no_article_found]
        priority 0, auto-reply threshold 0.85
        suggested reply: Thanks for your question. We couldn't find the answer in our help articles, so a member of our team will reply to you personally.
    "#]]);
}

#[test]
fn informational_with_an_article_above_its_threshold_is_auto_replied() {
    check(&triage(Intent::PolicyInfo, 0.91, 0.0), false, &article(0.72), expect![[r#"
        auto_reply / auto_reply_article
        Auto-replied with the knowledge-base article "Returns and refunds": policy_info confidence 0.91 reaches 0.85, sentiment 0.00 is not strongly negative, and the customer is not VIP.
        blockers: []
        priority 0, auto-reply threshold 0.85
        reply:
        You can return any unused item within 30 days of delivery for a full refund.

        (From our help article "Returns and refunds", article kb-12 version 3.)
    "#]]);
}

#[test]
fn a_stored_template_writes_the_automatic_answer() {
    let text = "Hi Ana,\n\nFrom our help article \"Returns and refunds\": You can return any unused item within 30 days.\n\nBest regards,\nCustomer Service";
    check(&triage(Intent::PolicyInfo, 0.91, 0.0), false, &templated_article(text, &[]), expect![[r#"
        auto_reply / auto_reply_article
        Auto-replied with the knowledge-base article "Returns and refunds": policy_info confidence 0.91 reaches 0.85, sentiment 0.00 is not strongly negative, and the customer is not VIP.
        blockers: []
        priority 0, auto-reply threshold 0.85
        reply:
        Hi Ana,

        From our help article "Returns and refunds": You can return any unused item within 30 days.

        Best regards,
        Customer Service
    "#]]);
}

#[test]
fn a_template_variable_without_a_value_sends_the_answer_to_a_person_as_a_draft() {
    let text = "Hi {{customer.first_name}},\n\nFrom our help article \"Returns and refunds\": You can return any unused item within 30 days.";
    check(&triage(Intent::PolicyInfo, 0.91, 0.0), false, &templated_article(text, &["customer.first_name"]), expect![[r#"
        human_queue / template_variable_missing
        The article "Returns and refunds" answers it, but the reply template "Policy question" has no value for customer.first_name, so it goes to a person with the draft: an automatic answer never sends a variable empty.
        blockers: [template_variable_missing]
        priority 0, auto-reply threshold 0.85
        suggested reply: From our help article "Returns and refunds": You can return any unused item within 30 days.
    "#]]);
}

#[test]
fn informational_with_a_weak_article_goes_to_a_person() {
    check(&triage(Intent::PolicyInfo, 0.91, 0.0), false, &article(0.41), expect![[r#"
        human_queue / article_below_threshold
        The best knowledge-base article "Returns and refunds" scored 0.41, below its threshold 0.60, so it goes to a person; the suggested reply offers contact options instead of an answer.
        blockers: [article_below_threshold]
        priority 0, auto-reply threshold 0.85
        suggested reply: Thanks for your question. We couldn't find the answer in our help articles, so a member of our team will reply to you personally.
    "#]]);
}

#[test]
fn track_order_with_the_order_found_is_auto_replied() {
    check(&triage(Intent::TrackOrder, 0.93, -0.1), false, &service(Intent::TrackOrder, OrderLookup::Found { order: shipped_order() }, today()), expect![[r#"
        auto_reply / auto_reply_order_status
        Auto-replied with the status of order #A10493: track_order confidence 0.93 reaches 0.85, sentiment -0.10 is not strongly negative, and the customer is not VIP.
        blockers: []
        priority 1, auto-reply threshold 0.85
        reply:
        Hi Jane,

        Thanks for getting in touch. Your order #A10493 shipped on June 3, 2024 with USPS and is on its way. It is expected to arrive on June 6, 2024.

        You can follow the parcel here: https://tools.usps.com/go/TrackConfirmAction?tLabels=9400111899223856928499

        Best regards,
        Customer service
    "#]]);
}

/// Anyone can type an order number: the status goes automatically only to the order's own
/// customer; otherwise a person answers, with the draft.
#[test]
fn track_order_from_someone_else_goes_to_a_person() {
    let workflow = service(Intent::TrackOrder, OrderLookup::Found { order: shipped_order() }, today());
    let triage_result = triage(Intent::TrackOrder, 0.93, -0.1);
    for owns_referenced_order in [true, false] {
        let decision_input = DecisionInput { triage: &triage_result, customer: CustomerFlags { vip: false, owns_referenced_order }, workflow: &workflow, waiting: TimeDelta::zero(), sla_state: SlaState::OnTrack };
        let decision = decide(&decision_input, &PolicyConfig::default());
        if owns_referenced_order {
            assert_eq!((decision.route, decision.reason_code), (Route::AutoReply, ReasonCode::AutoReplyOrderStatus));
        } else {
            assert_eq!((decision.route, decision.reason_code), (Route::HumanQueue, ReasonCode::OrderNotTheSenders));
            assert!(decision.reply.is_none() && decision.suggested_reply.is_some());
            assert!(decision.reason.contains("#A10493 is not the sender's"), "{}", decision.reason);
        }
    }
}

#[test]
fn track_order_for_a_vip_goes_to_a_person() {
    check(&triage(Intent::TrackOrder, 0.93, -0.1), true, &service(Intent::TrackOrder, OrderLookup::Found { order: shipped_order() }, today()), expect![[r#"
        human_queue / vip_customer
        The customer is VIP — sent to the human queue.
        blockers: [vip_customer]
        priority 9, auto-reply threshold 0.85
        suggested reply: Thanks for getting in touch. Your order #A10493 shipped on June 3, 2024 with USPS and is on its way. It is expected to arrive on June 6, 2024.
    "#]]);
}

#[test]
fn every_blocker_is_listed() {
    // Unsure, upset and VIP, with no order number.
    check(&triage(Intent::TrackOrder, 0.7, -0.8), true, &service(Intent::TrackOrder, OrderLookup::NoReference, today()), expect![[r#"
        human_queue / order_reference_missing
        No order number in the message — sent to the human queue. Also kept from an auto-reply: confidence 0.70 is below the auto-reply threshold 0.85 for track_order; sentiment -0.80 is strongly negative (at or below -0.50); the customer is VIP.
        blockers: [order_reference_missing, confidence_below_threshold, strongly_negative_sentiment, vip_customer]
        priority 16, auto-reply threshold 0.85
        suggested reply: Thanks for getting in touch. So that we can check where your order is, could you send us your order number? You'll find it in your order confirmation email.
    "#]]);
}

#[test]
fn late_orders_need_a_follow_up() {
    let late_day = NaiveDate::from_ymd_opt(2024, 6, 10).unwrap();
    check(&triage(Intent::TrackOrder, 0.93, -0.1), false, &service(Intent::TrackOrder, OrderLookup::Found { order: shipped_order() }, late_day), expect![[r#"
        human_queue / order_needs_follow_up
        Order #A10493 needs a follow-up (late, cancelled or returned) — sent to the human queue.
        blockers: [order_needs_follow_up]
        priority 1, auto-reply threshold 0.85
        suggested reply: Thanks for getting in touch. Your order #A10493 shipped on June 3, 2024 with USPS and is on its way. It was expected on June 6, 2024, so it is running late — we're sorry for the delay.
    "#]]);
}

#[test]
fn service_actions_that_change_orders_go_to_a_person() {
    check(&triage(Intent::CancelOrder, 0.97, 0.0), false, &service(Intent::CancelOrder, OrderLookup::Found { order: shipped_order() }, today()), expect![[r#"
        human_queue / action_needs_human
        A cancel_order request needs a person to act on it — sent to the human queue.
        blockers: [action_needs_human]
        priority 0, auto-reply threshold 0.85
        suggested reply: Thanks for getting in touch. Your order #A10493 has already shipped, so we can no longer cancel it. You can still refuse the delivery or, once it arrives, return it by July 1, 2024 for a refund.
    "#]]);
    check(
        &triage(Intent::ReturnRefund, 0.97, 0.0),
        false,
        &service(Intent::ReturnRefund, OrderLookup::NotFound { order_number: "Z1".to_string() }, today()),
        expect![[r#"
            human_queue / order_not_found
            Order #Z1 was not found — sent to the human queue.
            blockers: [order_not_found]
            priority 0, auto-reply threshold 0.85
            suggested reply: Thanks for getting in touch. We couldn't find an order with the number Z1. So that we can help with your return or refund, could you check the number in your order confirmation email and send it to us again?
        "#]],
    );
}

#[test]
fn low_confidence_goes_to_a_person_with_the_top_candidates() {
    check(&triage(Intent::TrackOrder, 0.42, 0.0), false, &service(Intent::TrackOrder, OrderLookup::Found { order: shipped_order() }, today()), expect![[r#"
        human_queue / low_confidence
        Low confidence 0.42 (below 0.50; top candidates: track_order 0.42, return_refund 0.29, product_info 0.17) — sent to the human queue.
        blockers: [low_confidence]
        priority 0, auto-reply threshold 0.85
        low confidence, candidates: track_order 0.42, return_refund 0.29, product_info 0.17
        suggested reply: Thanks for getting in touch. Your order #A10493 shipped on June 3, 2024 with USPS and is on its way. It is expected to arrive on June 6, 2024.
    "#]]);
}

#[test]
fn safety_goes_to_the_safety_queue_whatever_else_holds() {
    let mut adverse_reaction = triage(Intent::AdverseReaction, 0.99, 0.2);
    adverse_reaction.severity = Some(Severity::Urgent);
    check(&adverse_reaction, false, &WorkflowOutcome::Safety { severity: Severity::Urgent }, expect![[r#"
        safety_queue / safety_compliance
        Safety/compliance message (adverse_reaction, severity urgent): never auto-replied; sent to the safety queue.
        blockers: [safety_compliance]
        priority 70, auto-reply threshold 0.85
    "#]]);
    // Unsure, upset and VIP: still the safety queue, and the low confidence is recorded.
    let unsure_hazard = triage(Intent::ProductHazard, 0.3, -0.6);
    check(&unsure_hazard, true, &WorkflowOutcome::Safety { severity: Severity::Standard }, expect![[r#"
        safety_queue / safety_compliance
        Safety/compliance message (product_hazard, severity standard): never auto-replied; sent to the safety queue. Low confidence 0.30 (below 0.50; top candidates: product_hazard 0.30, return_refund 0.27, product_info 0.21).
        blockers: [safety_compliance, low_confidence]
        priority 34, auto-reply threshold 0.85
        low confidence, candidates: product_hazard 0.3, return_refund 0.27, product_info 0.21
    "#]]);
    check(&triage(Intent::PrivacyRequest, 0.9, 0.0), false, &article(0.99), expect![[r#"
        safety_queue / safety_compliance
        Safety/compliance message (privacy_request, severity high): never auto-replied; sent to the safety queue.
        blockers: [safety_compliance]
        priority 35, auto-reply threshold 0.85
    "#]]);
}

#[test]
fn per_intent_thresholds_and_switches_apply() {
    let triage_result = triage(Intent::TrackOrder, 0.75, 0.0);
    let workflow = service(Intent::TrackOrder, OrderLookup::Found { order: shipped_order() }, today());
    let mut policy_config = PolicyConfig::default();
    policy_config.auto_reply_confidence_by_intent.insert(Intent::TrackOrder, 0.7);
    check_with(&triage_result, false, &workflow, &policy_config, expect![[r#"
        auto_reply / auto_reply_order_status
        Auto-replied with the status of order #A10493: track_order confidence 0.75 reaches 0.70, sentiment 0.00 is not strongly negative, and the customer is not VIP.
        blockers: []
        priority 0, auto-reply threshold 0.7
        reply:
        Hi Jane,

        Thanks for getting in touch. Your order #A10493 shipped on June 3, 2024 with USPS and is on its way. It is expected to arrive on June 6, 2024.

        You can follow the parcel here: https://tools.usps.com/go/TrackConfirmAction?tLabels=9400111899223856928499

        Best regards,
        Customer service
    "#]]);
    policy_config.auto_reply_disabled_intents.insert(Intent::TrackOrder);
    check_with(&triage_result, false, &workflow, &policy_config, expect![[r#"
        human_queue / auto_reply_disabled
        Auto-reply is disabled for track_order — sent to the human queue.
        blockers: [auto_reply_disabled]
        priority 0, auto-reply threshold 0.7
        suggested reply: Thanks for getting in touch. Your order #A10493 shipped on June 3, 2024 with USPS and is on its way. It is expected to arrive on June 6, 2024.
    "#]]);
}

#[test]
fn a_workflow_that_does_not_fit_the_intent_is_never_sent() {
    let workflow = service(Intent::TrackOrder, OrderLookup::Found { order: shipped_order() }, today());
    check(&triage(Intent::CancelOrder, 0.95, 0.0), false, &workflow, expect![[r#"
        human_queue / workflow_mismatch
        The workflow's result does not fit the triaged intent cancel_order — sent to the human queue.
        blockers: [workflow_mismatch]
        priority 0, auto-reply threshold 0.85
    "#]]);
    check(&triage(Intent::TrackOrder, 0.95, 0.0), false, &article(0.9), expect![[r#"
        human_queue / workflow_mismatch
        The workflow's result does not fit the triaged intent track_order — sent to the human queue.
        blockers: [workflow_mismatch]
        priority 0, auto-reply threshold 0.85
    "#]]);
}

#[test]
fn the_decision_record_serializes_with_every_field() {
    let triage_result = triage(Intent::TrackOrder, 0.93, -0.1);
    let workflow = service(Intent::TrackOrder, OrderLookup::Found { order: shipped_order() }, today());
    let decision_input = DecisionInput { triage: &triage_result, customer: CustomerFlags { vip: false, owns_referenced_order: true }, workflow: &workflow, waiting: TimeDelta::minutes(90), sla_state: SlaState::AtRisk };
    let decision = decide(&decision_input, &PolicyConfig::default());
    // The reply text is checked above; here only the shape matters. (Serialized straight to
    // text: through `serde_json::Value` the f32 fields would widen to f64 and print as
    // 0.9300000071525574.)
    let shape_only = Decision { reply: Some("…".to_string()), ..decision.clone() };
    expect![[r#"
        {
          "route": "auto_reply",
          "reason_code": "auto_reply_order_status",
          "reason": "Auto-replied with the status of order #A10493: track_order confidence 0.93 reaches 0.85, sentiment -0.10 is not strongly negative, and the customer is not VIP.",
          "auto_reply_blockers": [],
          "intent": "track_order",
          "confidence": 0.93,
          "severity": null,
          "thresholds": {
            "auto_reply_confidence": 0.85,
            "low_confidence": 0.5,
            "strongly_negative_sentiment": -0.5,
            "article_score": null
          },
          "model": {
            "name": "switchboard-default",
            "version": "2024.06.1",
            "features": [
              "tfidf"
            ]
          },
          "priority": {
            "score": 6,
            "factors": [
              {
                "factor": "severity",
                "contribution": 0.0,
                "detail": "no safety severity"
              },
              {
                "factor": "sentiment",
                "contribution": 1.0,
                "detail": "sentiment -0.10"
              },
              {
                "factor": "vip",
                "contribution": 0.0,
                "detail": "not VIP"
              },
              {
                "factor": "wait",
                "contribution": 1.5,
                "detail": "waited 1h30m"
              },
              {
                "factor": "sla_risk",
                "contribution": 3.0,
                "detail": "SLA at risk"
              }
            ]
          },
          "low_confidence": false,
          "candidates": [],
          "reply": "…",
          "suggested_reply": null
        }"#]].assert_eq(&serde_json::to_string_pretty(&shape_only).unwrap());
    let reparsed: Decision = serde_json::from_value(serde_json::to_value(&decision).unwrap()).unwrap();
    assert_eq!(reparsed, decision);
    let workflow_json = serde_json::to_string(&workflow).unwrap();
    assert_eq!(serde_json::from_str::<WorkflowOutcome>(&workflow_json).unwrap(), workflow);
}

/// Across a grid of inputs: safety is never auto-replied, and an auto-reply happens exactly
/// when every condition of the policy holds.
#[test]
fn auto_replies_happen_exactly_when_every_condition_holds() {
    let policy_config = PolicyConfig::default();
    let workflows = [
        (Intent::TrackOrder, service(Intent::TrackOrder, OrderLookup::Found { order: shipped_order() }, today()), true),
        (Intent::TrackOrder, service(Intent::TrackOrder, OrderLookup::NoReference, today()), false),
        (Intent::ChangeOrder, service(Intent::ChangeOrder, OrderLookup::Found { order: shipped_order() }, today()), false),
        (Intent::PolicyInfo, article(0.8), true),
        (Intent::PolicyInfo, article(0.5), false),
        (Intent::StoreInfo, WorkflowOutcome::Informational { article: None }, false),
        (Intent::AdverseReaction, WorkflowOutcome::Safety { severity: Severity::High }, false),
        (Intent::PrivacyRequest, article(0.9), false),
    ];
    for (intent, workflow, complete_answer) in &workflows {
        for confidence in [0.3, 0.5, 0.84, 0.85, 0.99] {
            for sentiment_score in [-0.9, -0.5, -0.49, 0.0, 0.8] {
                for vip in [false, true] {
                    let triage_result = triage(*intent, confidence, sentiment_score);
                    let decision_input = DecisionInput { triage: &triage_result, customer: CustomerFlags { vip, owns_referenced_order: true }, workflow, waiting: TimeDelta::zero(), sla_state: SlaState::OnTrack };
                    let decision = decide(&decision_input, &policy_config);
                    let every_condition_holds = *complete_answer && !intent.is_safety() && confidence >= 0.85 && sentiment_score > -0.5 && !vip;
                    assert_eq!(decision.route == Route::AutoReply, every_condition_holds, "{intent} {confidence} {sentiment_score} {vip}: {}", decision.reason);
                    assert_eq!(decision.reply.is_some(), every_condition_holds);
                    assert_eq!(decision.auto_reply_blockers.is_empty(), every_condition_holds);
                    if intent.is_safety() {
                        assert_eq!(decision.route, Route::SafetyQueue);
                        assert!(decision.suggested_reply.is_none());
                    }
                    assert_eq!(decision.low_confidence, confidence < 0.5);
                }
            }
        }
    }
}
