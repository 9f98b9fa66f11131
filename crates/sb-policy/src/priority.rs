//! Ticket priority 0–100 and the factors behind it.
//!
//! Priority orders the human queues. It is a sum of five contributions — severity, negative
//! sentiment, VIP, waiting time and SLA risk — each listed in the result so an agent or an
//! auditor sees why a ticket sits where it does.
//!
//! The default weights put the severity in charge: every other factor together is worth at
//! most 30 points, and the severities are spaced so that
//! - an urgent safety ticket (70 and up) outranks every ticket that is not urgent (at most 65),
//! - a high-severity safety ticket (35 and up) outranks every non-safety ticket (at most 30),
//! - with equal other factors, urgent > high > standard > no severity.
//!
//! The sum is monotone in every factor (more negative, VIP, longer wait, worse SLA state never
//! lower the priority) and clamped to 0–100, so admin-edited weights cannot leave the range.

use crate::sla::SlaState;
use chrono::TimeDelta;
use sb_domain::Severity;
use serde::{Deserialize, Serialize};

/// How many points each factor is worth. Part of [`crate::PolicyConfig`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PriorityWeights {
    /// Points for a `safety_compliance` ticket of severity `urgent`.
    pub severity_urgent: f32,
    /// Points for a `safety_compliance` ticket of severity `high`.
    pub severity_high: f32,
    /// Points for a `safety_compliance` ticket of severity `standard`.
    pub severity_standard: f32,
    /// Points at the most negative sentiment (score -1); scaled linearly down to 0 at score 0.
    /// Neutral and positive sentiment add nothing.
    pub negative_sentiment: f32,
    /// Points when the customer is flagged VIP.
    pub vip: f32,
    /// Points per hour the ticket has waited, up to `wait_max`.
    pub wait_per_hour: f32,
    /// Cap on the waiting-time points.
    pub wait_max: f32,
    /// Points while an SLA deadline is at risk.
    pub sla_at_risk: f32,
    /// Points once an SLA deadline is breached.
    pub sla_breached: f32,
}

impl Default for PriorityWeights {
    fn default() -> PriorityWeights {
        PriorityWeights {
            severity_urgent: 70.0,
            severity_high: 35.0,
            severity_standard: 20.0,
            negative_sentiment: 10.0,
            vip: 8.0,
            wait_per_hour: 1.0,
            wait_max: 6.0,
            sla_at_risk: 3.0,
            sla_breached: 6.0,
        }
    }
}

impl PriorityWeights {
    /// Problems with these weights, for [`crate::PolicyConfig::validate`].
    pub(crate) fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let named_weights = [
            ("severity_urgent", self.severity_urgent),
            ("severity_high", self.severity_high),
            ("severity_standard", self.severity_standard),
            ("negative_sentiment", self.negative_sentiment),
            ("vip", self.vip),
            ("wait_per_hour", self.wait_per_hour),
            ("wait_max", self.wait_max),
            ("sla_at_risk", self.sla_at_risk),
            ("sla_breached", self.sla_breached),
        ];
        for (name, weight) in named_weights {
            if !weight.is_finite() || !(0.0..=100.0).contains(&weight) {
                problems.push(format!("priority_weights.{name} must be between 0 and 100, got {weight}"));
            }
        }
        // The order of the severities is a product rule (urgent ≫ high ≫ standard); weights that
        // invert it would silently reorder the safety queue.
        if self.severity_urgent < self.severity_high || self.severity_high < self.severity_standard {
            problems.push(format!(
                "priority_weights must keep severity_urgent ({}) >= severity_high ({}) >= severity_standard ({})",
                self.severity_urgent, self.severity_high, self.severity_standard
            ));
        }
        if self.sla_breached < self.sla_at_risk {
            problems.push(format!(
                "priority_weights.sla_breached ({}) must be at least sla_at_risk ({})",
                self.sla_breached, self.sla_at_risk
            ));
        }
        problems
    }
}

/// What priority is computed from.
#[derive(Debug, Clone, PartialEq)]
pub struct PriorityInput {
    /// Set only for `safety_compliance` tickets.
    pub severity: Option<Severity>,
    /// Sentiment score in [-1, 1]; anything outside is clamped, NaN counts as neutral.
    pub sentiment_score: f32,
    pub vip: bool,
    /// How long the ticket has waited for a response so far (zero at first triage).
    pub waiting: TimeDelta,
    /// The worst state of the ticket's SLA clocks.
    pub sla_state: SlaState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriorityFactorKind {
    Severity,
    Sentiment,
    Vip,
    Wait,
    SlaRisk,
}

/// One factor's share of the priority.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriorityFactor {
    pub factor: PriorityFactorKind,
    /// Points this factor added, rounded to hundredths.
    pub contribution: f32,
    /// What the factor saw, for people: `severity urgent`, `sentiment -0.80`, `waited 2h 15m`.
    pub detail: String,
}

/// Priority 0–100 with every factor's contribution, in a fixed order (severity, sentiment, VIP,
/// wait, SLA risk), zero contributions included so the record always has the same shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Priority {
    pub score: u8,
    pub factors: Vec<PriorityFactor>,
}

/// Computes the priority of a ticket.
pub fn compute_priority(priority_input: &PriorityInput, weights: &PriorityWeights) -> Priority {
    let severity_points = match priority_input.severity {
        Some(Severity::Urgent) => weights.severity_urgent,
        Some(Severity::High) => weights.severity_high,
        Some(Severity::Standard) => weights.severity_standard,
        None => 0.0,
    };
    let severity_detail = match priority_input.severity {
        Some(severity) => format!("severity {severity}"),
        None => "no safety severity".to_string(),
    };

    let sentiment_score = if priority_input.sentiment_score.is_nan() { 0.0 } else { priority_input.sentiment_score.clamp(-1.0, 1.0) };
    let negativity = (-sentiment_score).max(0.0);
    let sentiment_points = weights.negative_sentiment * negativity;

    let vip_points = if priority_input.vip { weights.vip } else { 0.0 };

    let waiting = priority_input.waiting.max(TimeDelta::zero());
    let waited_hours = waiting.num_seconds() as f32 / 3600.0;
    let wait_points = (weights.wait_per_hour * waited_hours).min(weights.wait_max);

    let sla_points = match priority_input.sla_state {
        SlaState::OnTrack => 0.0,
        SlaState::AtRisk => weights.sla_at_risk,
        SlaState::Breached => weights.sla_breached,
    };

    let factors = vec![
        factor(PriorityFactorKind::Severity, severity_points, severity_detail),
        factor(PriorityFactorKind::Sentiment, sentiment_points, format!("sentiment {sentiment_score:.2}")),
        factor(PriorityFactorKind::Vip, vip_points, if priority_input.vip { "VIP customer" } else { "not VIP" }.to_string()),
        factor(PriorityFactorKind::Wait, wait_points, format!("waited {}", crate::sla::format_duration(waiting))),
        factor(PriorityFactorKind::SlaRisk, sla_points, format!("SLA {}", priority_input.sla_state.as_str().replace('_', " "))),
    ];
    let total: f32 = factors.iter().map(|priority_factor| priority_factor.contribution).sum();
    Priority { score: total.round().clamp(0.0, 100.0) as u8, factors }
}

fn factor(kind: PriorityFactorKind, points: f32, detail: String) -> PriorityFactor {
    // Rounded so that the stored JSON reads 3.5, not 3.4999998.
    // `+ 0.0` turns a negative zero (from `-0.0 * weight`) into zero, which reads better.
    let contribution = if points.is_finite() { (points.max(0.0) * 100.0).round() / 100.0 + 0.0 } else { 0.0 };
    PriorityFactor { factor: kind, contribution, detail }
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{expect, Expect};

    fn input(severity: Option<Severity>, sentiment_score: f32, vip: bool, waiting_minutes: i64, sla_state: SlaState) -> PriorityInput {
        PriorityInput { severity, sentiment_score, vip, waiting: TimeDelta::minutes(waiting_minutes), sla_state }
    }

    fn check(priority_input: PriorityInput, expect: Expect) {
        let priority = compute_priority(&priority_input, &PriorityWeights::default());
        let mut rendered = format!("score {}\n", priority.score);
        for priority_factor in &priority.factors {
            rendered.push_str(&format!("  {:?}: {} ({})\n", priority_factor.factor, priority_factor.contribution, priority_factor.detail));
        }
        expect.assert_eq(&rendered);
    }

    #[test]
    fn factors_are_listed_with_their_contributions() {
        check(
            input(None, 0.2, false, 0, SlaState::OnTrack),
            expect![[r#"
                score 0
                  Severity: 0 (no safety severity)
                  Sentiment: 0 (sentiment 0.20)
                  Vip: 0 (not VIP)
                  Wait: 0 (waited 0s)
                  SlaRisk: 0 (SLA on track)
            "#]],
        );
        check(
            input(None, -0.8, true, 135, SlaState::AtRisk),
            expect![[r#"
                score 21
                  Severity: 0 (no safety severity)
                  Sentiment: 8 (sentiment -0.80)
                  Vip: 8 (VIP customer)
                  Wait: 2.25 (waited 2h15m)
                  SlaRisk: 3 (SLA at risk)
            "#]],
        );
        check(
            input(Some(Severity::Urgent), -1.0, true, 600, SlaState::Breached),
            expect![[r#"
                score 100
                  Severity: 70 (severity urgent)
                  Sentiment: 10 (sentiment -1.00)
                  Vip: 8 (VIP customer)
                  Wait: 6 (waited 10h)
                  SlaRisk: 6 (SLA breached)
            "#]],
        );
        // Out-of-range and NaN inputs are clamped rather than trusted.
        check(
            input(Some(Severity::Standard), f32::NAN, false, -30, SlaState::OnTrack),
            expect![[r#"
                score 20
                  Severity: 20 (severity standard)
                  Sentiment: 0 (sentiment 0.00)
                  Vip: 0 (not VIP)
                  Wait: 0 (waited 0s)
                  SlaRisk: 0 (SLA on track)
            "#]],
        );
    }

    /// Every combination of the non-severity factors at their extremes and in between.
    fn all_other_factor_combinations() -> Vec<(f32, bool, i64, SlaState)> {
        let mut combinations = Vec::new();
        for sentiment_score in [1.0, 0.0, -0.3, -0.5, -0.9, -1.0] {
            for vip in [false, true] {
                for waiting_minutes in [0, 30, 240, 6 * 60, 48 * 60] {
                    for sla_state in [SlaState::OnTrack, SlaState::AtRisk, SlaState::Breached] {
                        combinations.push((sentiment_score, vip, waiting_minutes, sla_state));
                    }
                }
            }
        }
        combinations
    }

    fn score(severity: Option<Severity>, (sentiment_score, vip, waiting_minutes, sla_state): (f32, bool, i64, SlaState)) -> u8 {
        compute_priority(&input(severity, sentiment_score, vip, waiting_minutes, sla_state), &PriorityWeights::default()).score
    }

    #[test]
    fn urgent_safety_outranks_every_ticket_that_is_not_urgent() {
        let combinations = all_other_factor_combinations();
        let weakest_urgent = combinations.iter().map(|&combination| score(Some(Severity::Urgent), combination)).min().unwrap();
        for severity in [None, Some(Severity::Standard), Some(Severity::High)] {
            let strongest = combinations.iter().map(|&combination| score(severity, combination)).max().unwrap();
            assert!(weakest_urgent > strongest, "urgent {weakest_urgent} vs {severity:?} {strongest}");
        }
    }

    #[test]
    fn high_severity_outranks_every_non_safety_ticket() {
        let combinations = all_other_factor_combinations();
        let weakest_high = combinations.iter().map(|&combination| score(Some(Severity::High), combination)).min().unwrap();
        let strongest_non_safety = combinations.iter().map(|&combination| score(None, combination)).max().unwrap();
        assert!(weakest_high > strongest_non_safety, "high {weakest_high} vs non-safety {strongest_non_safety}");
    }

    #[test]
    fn severity_orders_tickets_with_equal_other_factors() {
        for combination in all_other_factor_combinations() {
            let scores = [None, Some(Severity::Standard), Some(Severity::High), Some(Severity::Urgent)].map(|severity| score(severity, combination));
            assert!(scores.windows(2).all(|pair| pair[0] < pair[1]), "{combination:?}: {scores:?}");
        }
    }

    #[test]
    fn priority_is_monotone_in_every_factor() {
        for severity in [None, Some(Severity::Standard), Some(Severity::High), Some(Severity::Urgent)] {
            for (sentiment_score, vip, waiting_minutes, sla_state) in all_other_factor_combinations() {
                let base = score(severity, (sentiment_score, vip, waiting_minutes, sla_state));
                assert!(score(severity, (sentiment_score - 0.1, vip, waiting_minutes, sla_state)) >= base);
                assert!(score(severity, (sentiment_score, true, waiting_minutes, sla_state)) >= base);
                assert!(score(severity, (sentiment_score, vip, waiting_minutes + 45, sla_state)) >= base);
                let worse_sla_state = match sla_state {
                    SlaState::OnTrack => SlaState::AtRisk,
                    SlaState::AtRisk | SlaState::Breached => SlaState::Breached,
                };
                assert!(score(severity, (sentiment_score, vip, waiting_minutes, worse_sla_state)) >= base);
            }
        }
    }

    #[test]
    fn heavy_weights_are_clamped_to_one_hundred() {
        let weights = PriorityWeights { severity_urgent: 100.0, vip: 100.0, ..PriorityWeights::default() };
        let priority = compute_priority(&input(Some(Severity::Urgent), -1.0, true, 0, SlaState::OnTrack), &weights);
        assert_eq!(priority.score, 100);
    }

    #[test]
    fn default_weights_are_valid_and_inverted_severities_are_not() {
        assert_eq!(PriorityWeights::default().problems(), Vec::<String>::new());
        let weights = PriorityWeights { severity_high: 80.0, vip: -1.0, ..PriorityWeights::default() };
        expect![[r#"
            [
                "priority_weights.vip must be between 0 and 100, got -1",
                "priority_weights must keep severity_urgent (70) >= severity_high (80) >= severity_standard (20)",
            ]
        "#]]
        .assert_debug_eq(&weights.problems());
    }
}
