//! The configuration of the decision policy: auto-reply thresholds (per intent), what counts as
//! low confidence and strongly negative sentiment, the refund window, priority weights and the
//! contact options offered when nothing answers a question.
//!
//! Defaults are PRODUCT.md's "Decision policy"; `validate` reports every problem at once so an
//! admin fixes a config file in one pass.

use crate::priority::PriorityWeights;
use crate::{Error, Result};
use sb_domain::Intent;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PolicyConfig {
    /// Minimum calibrated intent confidence for an auto-reply, for intents without an entry in
    /// `auto_reply_confidence_by_intent`.
    pub auto_reply_confidence_threshold: f32,
    /// Per-intent minimum confidence for an auto-reply, replacing
    /// `auto_reply_confidence_threshold` for that intent.
    pub auto_reply_confidence_by_intent: BTreeMap<Intent, f32>,
    /// Intents never auto-replied, whatever the confidence: their messages always go to a
    /// person. `safety_compliance` intents are never auto-replied in any case.
    pub auto_reply_disabled_intents: BTreeSet<Intent>,
    /// Below this confidence the intent is treated as unknown: the message goes to a person
    /// with the top candidate intents shown.
    pub low_confidence_threshold: f32,
    /// How many candidate intents to show for a low-confidence message.
    pub low_confidence_candidates: usize,
    /// A sentiment score at or below this (scores run from -1 to 1) is strongly negative and
    /// blocks auto-replies: an upset customer gets a person.
    pub strongly_negative_sentiment: f32,
    /// Days within which a return is refunded, counted from delivery (from the order date when
    /// the order has not been delivered).
    pub refund_window_days: u32,
    /// An SLA clock is at risk when less than this share of its allowed business time is left.
    pub sla_at_risk_fraction: f32,
    /// Points each factor adds to a ticket's priority.
    pub priority_weights: PriorityWeights,
    /// How customers can reach a person, offered when no answer is found.
    pub contact_options: ContactOptions,
}

impl Default for PolicyConfig {
    fn default() -> PolicyConfig {
        PolicyConfig {
            auto_reply_confidence_threshold: 0.85,
            auto_reply_confidence_by_intent: BTreeMap::new(),
            auto_reply_disabled_intents: BTreeSet::new(),
            low_confidence_threshold: 0.5,
            low_confidence_candidates: 3,
            strongly_negative_sentiment: -0.5,
            refund_window_days: 30,
            sla_at_risk_fraction: 0.25,
            priority_weights: PriorityWeights::default(),
            contact_options: ContactOptions::default(),
        }
    }
}

/// How to reach a person. Every field is optional: the contact-options text names only what is
/// set, and falls back to "reply to this message".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ContactOptions {
    /// Support email address.
    pub email: Option<String>,
    /// Support phone number, as customers should dial it.
    pub phone: Option<String>,
    /// When the phone line or team is staffed, in words (`Monday to Friday, 9:00–17:00`).
    pub hours: Option<String>,
    /// A help-centre or contact page.
    pub web_url: Option<String>,
    /// Who signs replies (`The Example Pharmacy team`).
    pub team_name: String,
}

impl Default for ContactOptions {
    fn default() -> ContactOptions {
        ContactOptions { email: None, phone: None, hours: None, web_url: None, team_name: "Customer service".to_string() }
    }
}

impl PolicyConfig {
    /// The auto-reply confidence threshold that applies to `intent`.
    pub fn auto_reply_threshold_for(&self, intent: Intent) -> f32 {
        self.auto_reply_confidence_by_intent.get(&intent).copied().unwrap_or(self.auto_reply_confidence_threshold)
    }

    pub fn auto_reply_enabled_for(&self, intent: Intent) -> bool {
        !intent.is_safety() && !self.auto_reply_disabled_intents.contains(&intent)
    }

    /// Every problem with this config, or `Ok` when there is none.
    pub fn validate(&self) -> Result<()> {
        let mut problems = Vec::new();
        let mut check_unit_interval = |name: String, value: f32| {
            if !(0.0..=1.0).contains(&value) {
                problems.push(format!("{name} must be between 0 and 1, got {value}"));
            }
        };
        check_unit_interval("auto_reply_confidence_threshold".to_string(), self.auto_reply_confidence_threshold);
        for (intent, threshold) in &self.auto_reply_confidence_by_intent {
            check_unit_interval(format!("auto_reply_confidence_by_intent.{intent}"), *threshold);
        }
        check_unit_interval("low_confidence_threshold".to_string(), self.low_confidence_threshold);
        check_unit_interval("sla_at_risk_fraction".to_string(), self.sla_at_risk_fraction);

        // A threshold for a safety intent would suggest that safety messages can be auto-replied.
        for intent in self.auto_reply_confidence_by_intent.keys().filter(|intent| intent.is_safety()) {
            problems.push(format!("auto_reply_confidence_by_intent.{intent} is set, but safety_compliance intents are never auto-replied"));
        }
        // An auto-reply threshold under the low-confidence line contradicts itself: the message
        // would be both too uncertain for any decision and certain enough to answer alone.
        let mut thresholds: Vec<(String, f32)> = vec![("auto_reply_confidence_threshold".to_string(), self.auto_reply_confidence_threshold)];
        thresholds.extend(self.auto_reply_confidence_by_intent.iter().map(|(intent, threshold)| (format!("auto_reply_confidence_by_intent.{intent}"), *threshold)));
        for (name, threshold) in thresholds {
            if threshold < self.low_confidence_threshold {
                problems.push(format!("{name} ({threshold}) is below low_confidence_threshold ({})", self.low_confidence_threshold));
            }
        }
        if !(-1.0..=1.0).contains(&self.strongly_negative_sentiment) {
            problems.push(format!("strongly_negative_sentiment must be between -1 and 1, got {}", self.strongly_negative_sentiment));
        }
        if !(1..=Intent::ALL.len()).contains(&self.low_confidence_candidates) {
            problems.push(format!("low_confidence_candidates must be between 1 and {}, got {}", Intent::ALL.len(), self.low_confidence_candidates));
        }
        // Ten years: anything longer is a typo, and date arithmetic stays far from overflow.
        if self.refund_window_days > 3650 {
            problems.push(format!("refund_window_days must be at most 3650, got {}", self.refund_window_days));
        }
        problems.extend(self.priority_weights.problems());
        let contact_fields = [("email", &self.contact_options.email), ("phone", &self.contact_options.phone), ("hours", &self.contact_options.hours), ("web_url", &self.contact_options.web_url)];
        for (name, value) in contact_fields {
            if value.as_deref().is_some_and(|text| text.trim().is_empty()) {
                problems.push(format!("contact_options.{name} is empty; leave it out instead"));
            }
        }
        if self.contact_options.team_name.trim().is_empty() {
            problems.push("contact_options.team_name must not be empty".to_string());
        }

        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::InvalidConfig { problems })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{expect, Expect};

    /// Parses `json` over the defaults, validates, and renders the outcome.
    fn check(json: &str, expect: Expect) {
        let rendered = match serde_json::from_str::<PolicyConfig>(json) {
            Err(error) => format!("parse error: {error}"),
            Ok(policy_config) => match policy_config.validate() {
                Ok(()) => format!(
                    "ok: track_order threshold {}, product_info threshold {}, track_order auto-reply enabled {}",
                    policy_config.auto_reply_threshold_for(Intent::TrackOrder),
                    policy_config.auto_reply_threshold_for(Intent::ProductInfo),
                    policy_config.auto_reply_enabled_for(Intent::TrackOrder)
                ),
                Err(Error::InvalidConfig { problems }) => problems.join("\n"),
                Err(other) => format!("unexpected error: {other}"),
            },
        };
        expect.assert_eq(&rendered);
    }

    #[test]
    fn defaults_match_the_product_brief() {
        let policy_config = PolicyConfig::default();
        policy_config.validate().unwrap();
        assert_eq!(policy_config.auto_reply_threshold_for(Intent::PolicyInfo), 0.85);
        assert_eq!(policy_config.low_confidence_threshold, 0.5);
        assert_eq!(policy_config.refund_window_days, 30);
        assert!(!policy_config.auto_reply_enabled_for(Intent::AdverseReaction));
        check("{}", expect!["ok: track_order threshold 0.85, product_info threshold 0.85, track_order auto-reply enabled true"]);
    }

    #[test]
    fn per_intent_thresholds_and_switches() {
        check(
            r#"{"auto_reply_confidence_by_intent": {"track_order": 0.7}, "auto_reply_disabled_intents": ["track_order"]}"#,
            expect!["ok: track_order threshold 0.7, product_info threshold 0.85, track_order auto-reply enabled false"],
        );
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        check(
            r#"{
                "auto_reply_confidence_threshold": 1.2,
                "auto_reply_confidence_by_intent": {"adverse_reaction": 0.9, "track_order": 0.3},
                "low_confidence_threshold": 0.5,
                "low_confidence_candidates": 0,
                "strongly_negative_sentiment": -2,
                "refund_window_days": 100000,
                "sla_at_risk_fraction": -0.1,
                "priority_weights": {"severity_urgent": 10},
                "contact_options": {"email": " ", "team_name": ""}
            }"#,
            expect![[r#"
                auto_reply_confidence_threshold must be between 0 and 1, got 1.2
                sla_at_risk_fraction must be between 0 and 1, got -0.1
                auto_reply_confidence_by_intent.adverse_reaction is set, but safety_compliance intents are never auto-replied
                auto_reply_confidence_by_intent.track_order (0.3) is below low_confidence_threshold (0.5)
                strongly_negative_sentiment must be between -1 and 1, got -2
                low_confidence_candidates must be between 1 and 15, got 0
                refund_window_days must be at most 3650, got 100000
                priority_weights must keep severity_urgent (10) >= severity_high (35) >= severity_standard (20)
                contact_options.email is empty; leave it out instead
                contact_options.team_name must not be empty"#]],
        );
    }

    #[test]
    fn unknown_fields_and_intents_are_refused() {
        check(r#"{"auto_reply_threshold": 0.9}"#, expect!["parse error: unknown field `auto_reply_threshold`, expected one of `auto_reply_confidence_threshold`, `auto_reply_confidence_by_intent`, `auto_reply_disabled_intents`, `low_confidence_threshold`, `low_confidence_candidates`, `strongly_negative_sentiment`, `refund_window_days`, `sla_at_risk_fraction`, `priority_weights`, `contact_options` at line 1 column 23"]);
        check(r#"{"auto_reply_confidence_by_intent": {"refund_please": 0.9}}"#, expect!["parse error: unknown variant `refund_please`, expected one of `product_info`, `policy_info`, `store_info`, `other`, `track_order`, `cancel_order`, `change_order`, `return_refund`, `damaged_or_wrong_item`, `payment_issue`, `account_update`, `complaint`, `adverse_reaction`, `product_hazard`, `privacy_request` at line 1 column 52"]);
        check(r#"{"priority_weights": {"vip_bonus": 3}}"#, expect!["parse error: unknown field `vip_bonus`, expected one of `severity_urgent`, `severity_high`, `severity_standard`, `negative_sentiment`, `vip`, `wait_per_hour`, `wait_max`, `sla_at_risk`, `sla_breached` at line 1 column 33"]);
    }

    #[test]
    fn config_round_trips_through_json() {
        let mut policy_config = PolicyConfig::default();
        policy_config.auto_reply_confidence_by_intent.insert(Intent::TrackOrder, 0.8);
        policy_config.auto_reply_disabled_intents.insert(Intent::Other);
        let json = serde_json::to_string(&policy_config).unwrap();
        assert_eq!(serde_json::from_str::<PolicyConfig>(&json).unwrap(), policy_config);
    }
}
