//! SLA policies: which first-response and resolution targets, on which calendar, apply to a
//! ticket — chosen by category, intent, severity and priority, most specific match first.
//!
//! Specificity is ranked, not counted: a policy that names a severity beats one that names an
//! intent, which beats one that names a category, which beats one that names only a priority
//! range (narrower first). Severity ranks first because the safety SLAs of PRODUCT.md (15 min,
//! 2 h, 24 h) must not be displaced by an admin's per-intent policy for, say,
//! `privacy_request`. Ties go to the policy listed first, so selection is deterministic.

use super::calendar::{BusinessCalendar, BusinessCalendarSpec, Calendar, OpeningHours, WeeklyHours};
use super::duration_text::serde_duration;
use crate::{Error, Result};
use chrono::TimeDelta;
use sb_domain::{Category, Intent, Severity};
use serde::{Deserialize, Serialize};
use std::cmp::Reverse;

/// Priorities `min..=max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriorityRange {
    pub min: u8,
    pub max: u8,
}

impl PriorityRange {
    pub fn contains(&self, priority: u8) -> bool {
        (self.min..=self.max).contains(&priority)
    }

    fn width(&self) -> u8 {
        self.max.saturating_sub(self.min)
    }
}

/// What a policy applies to; an unset field matches anything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SlaMatch {
    pub category: Option<Category>,
    pub intent: Option<Intent>,
    /// Matches only tickets that have this severity (so only `safety_compliance`).
    pub severity: Option<Severity>,
    pub priority: Option<PriorityRange>,
}

/// What a ticket offers to policy selection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlaSubject {
    pub category: Category,
    pub intent: Intent,
    pub severity: Option<Severity>,
    pub priority: u8,
}

impl SlaMatch {
    pub fn matches(&self, sla_subject: &SlaSubject) -> bool {
        self.category.is_none_or(|category| category == sla_subject.category)
            && self.intent.is_none_or(|intent| intent == sla_subject.intent)
            && self.severity.is_none_or(|severity| Some(severity) == sla_subject.severity)
            && self.priority.is_none_or(|priority_range| priority_range.contains(sla_subject.priority))
    }

    /// Larger is more specific; see the module documentation for the ranking.
    fn specificity(&self) -> (bool, bool, bool, bool, Reverse<u8>) {
        (
            self.severity.is_some(),
            self.intent.is_some(),
            self.category.is_some(),
            self.priority.is_some(),
            Reverse(self.priority.map_or(u8::MAX, |priority_range| priority_range.width())),
        )
    }
}

/// Targets for one kind of ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaPolicy {
    /// Shown to agents and kept with each ticket's SLA.
    pub name: String,
    #[serde(default)]
    pub matches: SlaMatch,
    /// Business time allowed until the first response (`15m`, `4h`).
    #[serde(with = "serde_duration")]
    pub first_response: TimeDelta,
    /// Business time allowed until the ticket is resolved.
    #[serde(with = "serde_duration")]
    pub resolution: TimeDelta,
    /// When the clocks run.
    pub calendar: Calendar,
}

/// The most specific policy matching `sla_subject`; the first listed among equally specific
/// ones. `None` only when no policy matches (a list with a catch-all always matches).
pub fn select_policy<'policies>(sla_policies: &'policies [SlaPolicy], sla_subject: &SlaSubject) -> Option<&'policies SlaPolicy> {
    let mut best: Option<&SlaPolicy> = None;
    for sla_policy in sla_policies.iter().filter(|sla_policy| sla_policy.matches.matches(sla_subject)) {
        // Strictly greater: an equally specific policy listed later never replaces an earlier one.
        if best.is_none_or(|best_policy| sla_policy.matches.specificity() > best_policy.matches.specificity()) {
            best = Some(sla_policy);
        }
    }
    best
}

/// Problems that make policies wrong or unreachable, all at once.
pub fn validate_sla_policies(sla_policies: &[SlaPolicy]) -> Result<()> {
    let mut problems = Vec::new();
    for (policy_idx, sla_policy) in sla_policies.iter().enumerate() {
        // Unnamed policies are referred to by position so the message still points somewhere.
        let name = if sla_policy.name.trim().is_empty() { format!("#{}", policy_idx + 1) } else { sla_policy.name.clone() };
        if sla_policy.name.trim().is_empty() {
            problems.push(format!("sla policy {name} has no name"));
        }
        if sla_policies[..policy_idx].iter().any(|earlier| earlier.name == sla_policy.name) {
            problems.push(format!("sla policy name `{name}` is used twice"));
        }
        // A zero target would be breached the moment a ticket opens.
        if sla_policy.first_response <= TimeDelta::zero() || sla_policy.resolution <= TimeDelta::zero() {
            problems.push(format!("sla policy `{name}` needs positive first-response and resolution targets"));
        }
        if sla_policy.first_response > sla_policy.resolution {
            problems.push(format!("sla policy `{name}` allows more time for the first response than for the resolution"));
        }
        let matches = &sla_policy.matches;
        if let Some(priority_range) = matches.priority {
            if priority_range.min > priority_range.max || priority_range.max > 100 {
                problems.push(format!("sla policy `{name}` has priority range {}..={}; it must lie within 0..=100, min first", priority_range.min, priority_range.max));
            }
        }
        if let (Some(category), Some(intent)) = (matches.category, matches.intent) {
            if intent.category() != category {
                problems.push(format!("sla policy `{name}` can never match: intent `{intent}` is not in category `{category}`"));
            }
        }
        if matches.severity.is_some() {
            let category = matches.intent.map(Intent::category).or(matches.category);
            if category.is_some_and(|category| category != Category::SafetyCompliance) {
                problems.push(format!("sla policy `{name}` can never match: only safety_compliance tickets have a severity"));
            }
        }
        if let Some(earlier) = sla_policies[..policy_idx].iter().find(|earlier| earlier.matches == sla_policy.matches) {
            problems.push(format!("sla policy `{name}` can never be chosen: `{}` matches the same tickets and is listed first", earlier.name));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::InvalidSlaPolicies { problems })
    }
}

/// Monday to Friday, 09:00–17:00 UTC: the calendar of the default non-safety policies until an
/// admin sets the shop's own hours and time zone.
pub fn default_business_calendar() -> Calendar {
    let nine_to_five = [OpeningHours::new((9, 0), (17, 0)).expect("09:00-17:00 is valid")];
    let spec = BusinessCalendarSpec { time_zone: chrono_tz::Tz::UTC, weekly_hours: WeeklyHours::weekdays(&nine_to_five), holidays: Default::default() };
    Calendar::BusinessHours(BusinessCalendar::new(spec).expect("a weekday calendar is valid"))
}

/// The default policies: the severity SLAs of PRODUCT.md for `safety_compliance` on a 24/7
/// calendar, and business-hour targets on `business_calendar` for everything else.
pub fn default_sla_policies(business_calendar: &Calendar) -> Vec<SlaPolicy> {
    let safety = |name: &str, severity: Option<Severity>, first_response: TimeDelta, resolution: TimeDelta| SlaPolicy {
        name: name.to_string(),
        matches: SlaMatch { category: Some(Category::SafetyCompliance), severity, ..SlaMatch::default() },
        first_response,
        resolution,
        calendar: Calendar::AlwaysOpen,
    };
    vec![
        safety("safety urgent", Some(Severity::Urgent), TimeDelta::minutes(Severity::Urgent.first_response_minutes().into()), TimeDelta::hours(4)),
        safety("safety high", Some(Severity::High), TimeDelta::minutes(Severity::High.first_response_minutes().into()), TimeDelta::hours(24)),
        safety("safety standard", Some(Severity::Standard), TimeDelta::minutes(Severity::Standard.first_response_minutes().into()), TimeDelta::days(7)),
        // Triage always sets a severity on safety tickets; should one arrive without, it gets
        // the high-severity targets rather than the slowest.
        safety("safety, severity unknown", None, TimeDelta::minutes(Severity::High.first_response_minutes().into()), TimeDelta::hours(24)),
        SlaPolicy {
            // Priority 10 and up without a severity: a VIP with any negative sentiment, or a very
            // unhappy customer (see the default priority weights).
            name: "high priority".to_string(),
            matches: SlaMatch { priority: Some(PriorityRange { min: 10, max: 100 }), ..SlaMatch::default() },
            first_response: TimeDelta::hours(2),
            // Two business days of eight hours.
            resolution: TimeDelta::hours(16),
            calendar: business_calendar.clone(),
        },
        SlaPolicy {
            name: "standard".to_string(),
            matches: SlaMatch::default(),
            first_response: TimeDelta::hours(4),
            // Three business days of eight hours.
            resolution: TimeDelta::hours(24),
            calendar: business_calendar.clone(),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sla::duration_text::format_duration;
    use expect_test::{expect, Expect};

    fn check(sla_policies: &[SlaPolicy], intent: Intent, severity: Option<Severity>, priority: u8, expect: Expect) {
        let sla_subject = SlaSubject { category: intent.category(), intent, severity, priority };
        let rendered = match select_policy(sla_policies, &sla_subject) {
            Some(sla_policy) => format!(
                "{}: first response {}, resolution {}, {}",
                sla_policy.name,
                format_duration(sla_policy.first_response),
                format_duration(sla_policy.resolution),
                match sla_policy.calendar {
                    Calendar::AlwaysOpen => "24/7",
                    Calendar::BusinessHours(_) => "business hours",
                }
            ),
            None => "no policy".to_string(),
        };
        expect.assert_eq(&rendered);
    }

    #[test]
    fn default_policies_follow_the_severity_slas() {
        let sla_policies = default_sla_policies(&default_business_calendar());
        validate_sla_policies(&sla_policies).unwrap();
        check(&sla_policies, Intent::AdverseReaction, Some(Severity::Urgent), 90, expect!["safety urgent: first response 15m, resolution 4h, 24/7"]);
        check(&sla_policies, Intent::ProductHazard, Some(Severity::High), 50, expect!["safety high: first response 2h, resolution 24h, 24/7"]);
        check(&sla_policies, Intent::PrivacyRequest, Some(Severity::Standard), 20, expect!["safety standard: first response 24h, resolution 168h, 24/7"]);
        check(&sla_policies, Intent::PrivacyRequest, None, 0, expect!["safety, severity unknown: first response 2h, resolution 24h, 24/7"]);
        check(&sla_policies, Intent::TrackOrder, None, 4, expect!["standard: first response 4h, resolution 24h, business hours"]);
        check(&sla_policies, Intent::Complaint, None, 16, expect!["high priority: first response 2h, resolution 16h, business hours"]);
        check(&sla_policies, Intent::ProductInfo, None, 10, expect!["high priority: first response 2h, resolution 16h, business hours"]);
    }

    fn policy(name: &str, matches: SlaMatch) -> SlaPolicy {
        SlaPolicy { name: name.to_string(), matches, first_response: TimeDelta::hours(1), resolution: TimeDelta::hours(8), calendar: Calendar::AlwaysOpen }
    }

    #[test]
    fn the_most_specific_policy_wins_and_ties_go_to_the_first_listed() {
        let sla_policies = vec![
            policy("anything", SlaMatch::default()),
            policy("service", SlaMatch { category: Some(Category::ServiceAction), ..SlaMatch::default() }),
            policy("refunds", SlaMatch { intent: Some(Intent::ReturnRefund), ..SlaMatch::default() }),
            policy("hot 50+", SlaMatch { priority: Some(PriorityRange { min: 50, max: 100 }), ..SlaMatch::default() }),
            policy("hot 60-80", SlaMatch { priority: Some(PriorityRange { min: 60, max: 80 }), ..SlaMatch::default() }),
            policy("privacy", SlaMatch { intent: Some(Intent::PrivacyRequest), ..SlaMatch::default() }),
            policy("urgent", SlaMatch { severity: Some(Severity::Urgent), ..SlaMatch::default() }),
            policy("service again", SlaMatch { category: Some(Category::ServiceAction), priority: None, ..SlaMatch::default() }),
        ];
        check(&sla_policies, Intent::ReturnRefund, None, 10, expect!["refunds: first response 1h, resolution 8h, 24/7"]);
        check(&sla_policies, Intent::CancelOrder, None, 10, expect!["service: first response 1h, resolution 8h, 24/7"]);
        check(&sla_policies, Intent::ProductInfo, None, 10, expect!["anything: first response 1h, resolution 8h, 24/7"]);
        check(&sla_policies, Intent::ProductInfo, None, 55, expect!["hot 50+: first response 1h, resolution 8h, 24/7"]);
        check(&sla_policies, Intent::ProductInfo, None, 70, expect!["hot 60-80: first response 1h, resolution 8h, 24/7"]);
        // Severity outranks intent: an urgent privacy case keeps its 15-minute class of SLA.
        check(&sla_policies, Intent::PrivacyRequest, Some(Severity::Urgent), 90, expect!["urgent: first response 1h, resolution 8h, 24/7"]);
        check(&sla_policies, Intent::PrivacyRequest, Some(Severity::Standard), 90, expect!["privacy: first response 1h, resolution 8h, 24/7"]);
        check(&sla_policies[1..3], Intent::ProductInfo, None, 10, expect!["no policy"]);
    }

    #[test]
    fn policies_that_can_never_apply_are_reported_together() {
        let mut sla_policies = vec![
            policy("refunds", SlaMatch { category: Some(Category::Informational), intent: Some(Intent::ReturnRefund), ..SlaMatch::default() }),
            policy("refunds", SlaMatch { category: Some(Category::ServiceAction), severity: Some(Severity::High), ..SlaMatch::default() }),
            policy("", SlaMatch { priority: Some(PriorityRange { min: 80, max: 20 }), ..SlaMatch::default() }),
            policy("copy", SlaMatch { category: Some(Category::ServiceAction), severity: Some(Severity::High), ..SlaMatch::default() }),
        ];
        sla_policies[0].first_response = TimeDelta::hours(9);
        sla_policies[3].resolution = TimeDelta::zero();
        sla_policies[3].first_response = TimeDelta::zero();
        expect!["invalid sla policies: sla policy `refunds` allows more time for the first response than for the resolution; sla policy `refunds` can never match: intent `return_refund` is not in category `informational`; sla policy name `refunds` is used twice; sla policy `refunds` can never match: only safety_compliance tickets have a severity; sla policy #3 has no name; sla policy `#3` has priority range 80..=20; it must lie within 0..=100, min first; sla policy `copy` needs positive first-response and resolution targets; sla policy `copy` can never match: only safety_compliance tickets have a severity; sla policy `copy` can never be chosen: `refunds` matches the same tickets and is listed first"].assert_eq(&validate_sla_policies(&sla_policies).unwrap_err().to_string());
    }

    #[test]
    fn policies_round_trip_through_serde() {
        let json = r#"[{
            "name": "vip",
            "matches": {"priority": {"min": 10, "max": 100}},
            "first_response": "1h30m",
            "resolution": "16h",
            "calendar": {"kind": "business_hours", "time_zone": "America/New_York", "weekly_hours": {"monday": ["09:00-17:00"]}}
        }]"#;
        let sla_policies: Vec<SlaPolicy> = serde_json::from_str(json).unwrap();
        let reparsed: Vec<SlaPolicy> = serde_json::from_str(&serde_json::to_string(&sla_policies).unwrap()).unwrap();
        assert_eq!(reparsed, sla_policies);
        assert_eq!(sla_policies[0].first_response, TimeDelta::minutes(90));
        let unknown_field = serde_json::from_str::<SlaPolicy>(r#"{"name": "x", "first_response": "1h", "resolution": "2h", "calendar": {"kind": "always_open"}, "owner": "me"}"#);
        expect!["unknown field `owner`, expected one of `name`, `matches`, `first_response`, `resolution`, `calendar` at line 1 column 102"].assert_eq(&unknown_field.unwrap_err().to_string());
    }
}
