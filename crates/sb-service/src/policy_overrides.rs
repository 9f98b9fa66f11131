//! Admins' changes to the decision policy and the SLA policies, made in the console and stored
//! as overrides of the configuration file (`sb_store::PolicyOverride`, migration 0012): the
//! general auto-reply threshold, one intent's auto-reply threshold and switch, one SLA policy's
//! first-response and resolution targets.
//!
//! The policy in force is an [`EffectivePolicy`]: the configuration with the stored overrides
//! applied, validated by sb-policy's own `PolicyConfig::validate` and `validate_sla_policies`
//! (the checks the config loader runs). The service keeps one behind an `Arc` and swaps it:
//! a message takes the snapshot in force when it is decided, so a change applies to messages
//! triaged after it, and a ticket keeps the SLA deadlines it was given (its clocks are stored
//! with it).
//!
//! Hidden contracts:
//! - A change is validated against the policy as it is in the store at that moment (reloaded
//!   first) and saved only on the version it was made on (the store's check), so its audit
//!   entry's old value is the one it replaced. Overrides of different subjects never make each
//!   other invalid (each threshold is checked against the configuration's low-confidence line,
//!   each SLA policy against itself), so no lock across subjects is needed.
//! - This process installs the new policy before answering the change. Other processes poll
//!   the store's revision (`Service::refresh_policy`, every `[server]
//!   policy_refresh_seconds`) and reload when it moved.
//! - A stored override that a later configuration makes invalid (a low-confidence line raised
//!   above it, an SLA policy renamed away) is ignored with its reason, never fatal: the
//!   configuration's value applies and the admin page says so.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{TimeDelta, Utc};
use sb_domain::Intent;
use sb_policy::sla::{serde_duration, validate_sla_policies, SlaPolicy};
use sb_policy::PolicyConfig;
use sb_store::{NewAuditEntry, PolicyOverride, PolicyOverrideChange, PolicyOverrideKind, PolicyOverrides};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::actions::Actor;
use crate::{Error, Result, Service, ServiceConfig};

/// The subject of the general auto-reply threshold's override.
pub const GENERAL_SUBJECT: &str = "general";

/// `value` as the f64 with the same shortest decimal form: `serde_json::to_value` widens an f32
/// exactly (0.97 would be stored and audited as 0.9700000286102296).
fn shortest_f32(value: f32) -> f64 {
    value.to_string().parse().unwrap_or(f64::from(value))
}

fn serialize_f32<S: serde::Serializer>(value: &f32, serializer: S) -> std::result::Result<S::Ok, S::Error> {
    serializer.serialize_f64(shortest_f32(*value))
}

fn serialize_opt_f32<S: serde::Serializer>(value: &Option<f32>, serializer: S) -> std::result::Result<S::Ok, S::Error> {
    match value {
        Some(value) => serializer.serialize_some(&shortest_f32(*value)),
        None => serializer.serialize_none(),
    }
}

/// The general auto-reply threshold (intents without their own).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeneralAutoReply {
    #[serde(serialize_with = "serialize_f32")]
    pub auto_reply_confidence: f32,
}

/// How one intent is answered automatically.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntentAutoReply {
    /// The intent's own threshold; `None`: the general one applies.
    #[serde(serialize_with = "serialize_opt_f32")]
    pub auto_reply_confidence: Option<f32>,
    /// `false`: never answered automatically, whatever the confidence.
    pub auto_reply_enabled: bool,
}

/// One SLA policy's targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaTargets {
    #[serde(with = "serde_duration")]
    pub first_response: TimeDelta,
    #[serde(with = "serde_duration")]
    pub resolution: TimeDelta,
}

/// One change an admin asks for; `None` resets the subject to the configuration.
#[derive(Debug, Clone, PartialEq)]
pub enum PolicyEdit {
    General(Option<GeneralAutoReply>),
    Intent(Intent, Option<IntentAutoReply>),
    SlaTargets(String, Option<SlaTargets>),
}

impl PolicyEdit {
    /// Which stored override the edit changes.
    pub fn kind_and_subject(&self) -> (PolicyOverrideKind, String) {
        match self {
            PolicyEdit::General(_) => (PolicyOverrideKind::AutoReplyGeneral, GENERAL_SUBJECT.to_string()),
            PolicyEdit::Intent(intent, _) => (PolicyOverrideKind::AutoReplyIntent, intent.as_str().to_string()),
            PolicyEdit::SlaTargets(name, _) => (PolicyOverrideKind::SlaPolicy, name.clone()),
        }
    }

    fn value(&self) -> Result<Option<Value>> {
        Ok(match self {
            PolicyEdit::General(value) => value.map(serde_json::to_value).transpose()?,
            PolicyEdit::Intent(_, value) => value.map(serde_json::to_value).transpose()?,
            PolicyEdit::SlaTargets(_, value) => value.map(serde_json::to_value).transpose()?,
        })
    }
}

/// Which stored override a subject has.
pub type OverrideKey = (PolicyOverrideKind, String);

/// The policy in force: the configuration with the admins' overrides applied.
#[derive(Debug, Clone)]
pub struct EffectivePolicy {
    pub policy: PolicyConfig,
    pub sla_policies: Vec<SlaPolicy>,
    /// The store's revision the overrides were read at; -1 before the first read.
    pub revision: i64,
    /// Every stored override, resets included (they say who reset it and when).
    pub overrides: BTreeMap<OverrideKey, PolicyOverride>,
    /// Stored overrides that do not apply, with why.
    pub ignored: BTreeMap<OverrideKey, String>,
}

/// Every problem sb-policy's validation finds in the pair.
fn problems(policy: &PolicyConfig, sla_policies: &[SlaPolicy]) -> Vec<String> {
    let mut problems = Vec::new();
    for error in [policy.validate().err(), validate_sla_policies(sla_policies).err()].into_iter().flatten() {
        match error {
            sb_policy::Error::InvalidConfig { problems: found } | sb_policy::Error::InvalidSlaPolicies { problems: found } | sb_policy::Error::InvalidCalendar { problems: found } => problems.extend(found),
            other => problems.push(other.to_string()),
        }
    }
    problems
}

/// Applies one override value to the pair, or says why it cannot be read or has no subject.
fn apply(policy: &mut PolicyConfig, sla_policies: &mut [SlaPolicy], kind: PolicyOverrideKind, subject: &str, value: &Value) -> std::result::Result<(), String> {
    let unreadable = |error: serde_json::Error| format!("the stored value cannot be read: {error}");
    match kind {
        PolicyOverrideKind::AutoReplyGeneral => {
            let general: GeneralAutoReply = serde_json::from_value(value.clone()).map_err(unreadable)?;
            policy.auto_reply_confidence_threshold = general.auto_reply_confidence;
        }
        PolicyOverrideKind::AutoReplyIntent => {
            let intent = subject.parse::<Intent>().ok().ok_or_else(|| format!("`{subject}` is not an intent"))?;
            let intent_auto_reply: IntentAutoReply = serde_json::from_value(value.clone()).map_err(unreadable)?;
            policy.auto_reply_confidence_by_intent.remove(&intent);
            policy.auto_reply_disabled_intents.remove(&intent);
            if let Some(threshold) = intent_auto_reply.auto_reply_confidence {
                policy.auto_reply_confidence_by_intent.insert(intent, threshold);
            }
            if !intent_auto_reply.auto_reply_enabled {
                policy.auto_reply_disabled_intents.insert(intent);
            }
        }
        PolicyOverrideKind::SlaPolicy => {
            let targets: SlaTargets = serde_json::from_value(value.clone()).map_err(unreadable)?;
            let sla_policy = sla_policies.iter_mut().find(|sla_policy| sla_policy.name == subject).ok_or_else(|| format!("the configuration has no sla policy `{subject}` any more"))?;
            sla_policy.first_response = targets.first_response;
            sla_policy.resolution = targets.resolution;
        }
    }
    Ok(())
}

impl EffectivePolicy {
    /// The configuration alone, before the store was read.
    pub fn from_config(config: &ServiceConfig) -> EffectivePolicy {
        EffectivePolicy { policy: config.policy.clone(), sla_policies: config.sla_policies.clone(), revision: -1, overrides: BTreeMap::new(), ignored: BTreeMap::new() }
    }

    /// The configuration with `stored` applied in (kind, subject) order; an override that
    /// cannot be applied, or that would add a validation problem, is left out and listed in
    /// `ignored`.
    pub fn build(policy: &PolicyConfig, sla_policies: &[SlaPolicy], stored: PolicyOverrides) -> EffectivePolicy {
        let mut effective = EffectivePolicy { policy: policy.clone(), sla_policies: sla_policies.to_vec(), revision: stored.revision, overrides: BTreeMap::new(), ignored: BTreeMap::new() };
        let base_problems = problems(policy, sla_policies);
        let mut stored_overrides = stored.overrides;
        stored_overrides.sort_by(|left, right| (left.kind, &left.subject).cmp(&(right.kind, &right.subject)));
        for policy_override in stored_overrides {
            let key = (policy_override.kind, policy_override.subject.clone());
            if let Some(value) = &policy_override.value {
                let (mut candidate_policy, mut candidate_sla) = (effective.policy.clone(), effective.sla_policies.clone());
                let outcome = apply(&mut candidate_policy, &mut candidate_sla, policy_override.kind, &policy_override.subject, value).and_then(|()| {
                    let new_problems: Vec<String> = problems(&candidate_policy, &candidate_sla).into_iter().filter(|problem| !base_problems.contains(problem)).collect();
                    if new_problems.is_empty() {
                        Ok(())
                    } else {
                        Err(new_problems.join("; "))
                    }
                });
                match outcome {
                    Ok(()) => (effective.policy, effective.sla_policies) = (candidate_policy, candidate_sla),
                    Err(reason) => {
                        tracing::warn!(kind = policy_override.kind.as_str(), subject = %policy_override.subject, reason = %reason, "stored policy override ignored");
                        effective.ignored.insert(key.clone(), reason);
                    }
                }
            }
            effective.overrides.insert(key, policy_override);
        }
        effective
    }

    /// The stored override of a subject that is in force (not reset, not ignored).
    pub fn active_override(&self, kind: PolicyOverrideKind, subject: &str) -> Option<&PolicyOverride> {
        let key = (kind, subject.to_string());
        self.overrides.get(&key).filter(|policy_override| policy_override.value.is_some() && !self.ignored.contains_key(&key))
    }

    /// The version a change of the subject must name: 0 when it was never changed.
    pub fn version_of(&self, kind: PolicyOverrideKind, subject: &str) -> i64 {
        self.overrides.get(&(kind, subject.to_string())).map_or(0, |policy_override| policy_override.version)
    }

    /// How `intent` is answered automatically under this policy.
    pub fn intent_auto_reply(&self, intent: Intent) -> IntentAutoReply {
        IntentAutoReply { auto_reply_confidence: self.policy.auto_reply_confidence_by_intent.get(&intent).copied(), auto_reply_enabled: !self.policy.auto_reply_disabled_intents.contains(&intent) }
    }

    fn sla_targets(&self, name: &str) -> Option<SlaTargets> {
        self.sla_policies.iter().find(|sla_policy| sla_policy.name == name).map(|sla_policy| SlaTargets { first_response: sla_policy.first_response, resolution: sla_policy.resolution })
    }

    /// The subject's value in force, as the audit log records it.
    fn value_in_force(&self, edit: &PolicyEdit) -> Result<Value> {
        Ok(match edit {
            PolicyEdit::General(_) => json!(GeneralAutoReply { auto_reply_confidence: self.policy.auto_reply_confidence_threshold }),
            PolicyEdit::Intent(intent, _) => serde_json::to_value(self.intent_auto_reply(*intent))?,
            PolicyEdit::SlaTargets(name, _) => serde_json::to_value(self.sla_targets(name))?,
        })
    }
}

impl Service {
    /// The policy in force now; a message keeps the snapshot it was decided with.
    pub fn policy(&self) -> Arc<EffectivePolicy> {
        self.inner.policy.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Installs `effective` unless a newer revision is already installed (two reloads racing).
    fn install_policy(&self, effective: EffectivePolicy) -> Arc<EffectivePolicy> {
        let mut installed = self.inner.policy.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        if effective.revision >= installed.revision {
            *installed = Arc::new(effective);
        }
        installed.clone()
    }

    /// Reads every override and installs the policy they make.
    pub async fn reload_policy(&self) -> Result<Arc<EffectivePolicy>> {
        let stored = self.store().policy_overrides().await?;
        let config = self.config();
        Ok(self.install_policy(EffectivePolicy::build(&config.policy, &config.sla_policies, stored)))
    }

    /// Reloads when another process changed the overrides since the last read (one
    /// primary-key read otherwise); returns whether it reloaded.
    pub async fn refresh_policy(&self) -> Result<bool> {
        let revision = self.store().policy_revision().await?;
        if revision == self.policy().revision {
            return Ok(false);
        }
        self.reload_policy().await?;
        Ok(true)
    }

    /// Polls the store's revision every `interval` and reloads when another process changed
    /// the overrides, until `shutdown` says so (`serve`'s task; one primary-key read a round).
    pub async fn run_policy_refresher(&self, interval: std::time::Duration, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                return;
            }
            match self.refresh_policy().await {
                Ok(true) => tracing::info!(revision = self.policy().revision, "policy overrides reloaded"),
                Ok(false) => {}
                Err(error) => tracing::warn!(error = %error, "policy overrides refresh failed"),
            }
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    /// Saves an admin's change made on `expected_version` (0: never changed) with its audit
    /// entry (old and new value in force), and installs the new policy. Invalid values are
    /// [`Error::PolicyRejected`] with every problem; a stale version is a store conflict.
    pub async fn edit_policy(&self, actor: &Actor, edit: &PolicyEdit, expected_version: i64) -> Result<Arc<EffectivePolicy>> {
        let current = self.reload_policy().await?;
        let (kind, subject) = edit.kind_and_subject();
        if let PolicyEdit::SlaTargets(name, _) = edit {
            if !self.config().sla_policies.iter().any(|sla_policy| &sla_policy.name == name) {
                return Err(Error::Store(sb_store::Error::NotFound { entity: "sla policy", id: name.clone() }));
            }
        }
        let value = edit.value()?;
        if let Some(value) = &value {
            let mut edit_problems = Vec::new();
            if let PolicyEdit::Intent(intent, _) = edit {
                if intent.is_safety() {
                    edit_problems.push(format!("{intent} is a safety_compliance intent: it is never answered automatically"));
                }
            }
            let (mut candidate_policy, mut candidate_sla) = (current.policy.clone(), current.sla_policies.clone());
            apply(&mut candidate_policy, &mut candidate_sla, kind, &subject, value).map_err(|reason| Error::Internal(format!("an edit's own value did not apply: {reason}")))?;
            edit_problems.extend(problems(&candidate_policy, &candidate_sla));
            if !edit_problems.is_empty() {
                edit_problems.dedup();
                return Err(Error::PolicyRejected { problems: edit_problems });
            }
        }
        // What the change replaces and what it puts in force, for the audit entry: with the
        // subject's other overrides unchanged, the candidate below is the policy after it.
        let mut after_overrides = PolicyOverrides { revision: current.revision, overrides: current.overrides.values().filter(|stored| (stored.kind, &stored.subject) != (kind, &subject)).cloned().collect() };
        after_overrides.overrides.push(PolicyOverride {
            kind,
            subject: subject.clone(),
            value: value.clone(),
            version: expected_version + 1,
            changed_by: actor.audit_name.clone(),
            changed_by_user_id: actor.user_id,
            changed_by_name: None,
            changed_at: Utc::now(),
        });
        let config = self.config();
        let after = EffectivePolicy::build(&config.policy, &config.sla_policies, after_overrides);
        let (entity_type, action) = match (kind, value.is_some()) {
            (PolicyOverrideKind::SlaPolicy, true) => ("sla_policy", "sla_policy.targets_changed"),
            (PolicyOverrideKind::SlaPolicy, false) => ("sla_policy", "sla_policy.targets_reset"),
            (_, true) => ("auto_reply_threshold", "policy.auto_reply_threshold_changed"),
            (_, false) => ("auto_reply_threshold", "policy.auto_reply_threshold_reset"),
        };
        let details = json!({"old": current.value_in_force(edit)?, "new": after.value_in_force(edit)?, "override": value, "version": expected_version + 1});
        let audit = [NewAuditEntry::new(actor.audit_name.clone(), action, entity_type, &subject, details)];
        let change = PolicyOverrideChange { kind, subject: &subject, value: value.as_ref(), expected_version, changed_by: &actor.audit_name, changed_by_user_id: actor.user_id };
        self.store().set_policy_override(&change, &audit, Utc::now()).await?;
        self.reload_policy().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{expect, Expect};

    fn stored(kind: PolicyOverrideKind, subject: &str, value: Option<Value>, version: i64) -> PolicyOverride {
        PolicyOverride { kind, subject: subject.to_string(), value, version, changed_by: "user:1".into(), changed_by_user_id: Some(1), changed_by_name: Some("Ada".into()), changed_at: chrono::DateTime::<Utc>::default() }
    }

    /// Builds the policy from the default configuration and `overrides`, and renders what a
    /// message of each named intent and an SLA policy get, and what was ignored.
    fn check(overrides: Vec<PolicyOverride>, expect: Expect) {
        let config = ServiceConfig::new(PolicyConfig::default());
        let effective = EffectivePolicy::build(&config.policy, &config.sla_policies, PolicyOverrides { revision: 3, overrides });
        let mut lines = Vec::new();
        for intent in [Intent::TrackOrder, Intent::ProductInfo, Intent::AdverseReaction] {
            lines.push(format!("{intent}: threshold {}, enabled {}", effective.policy.auto_reply_threshold_for(intent), effective.policy.auto_reply_enabled_for(intent)));
        }
        let standard = effective.sla_targets("standard").unwrap();
        lines.push(format!("standard: {} / {}", sb_policy::sla::format_duration(standard.first_response), sb_policy::sla::format_duration(standard.resolution)));
        for ((kind, subject), reason) in &effective.ignored {
            lines.push(format!("ignored {} {subject}: {reason}", kind.as_str()));
        }
        expect.assert_eq(&lines.join("\n"));
    }

    #[test]
    fn overrides_replace_the_configuration_subject_by_subject() {
        check(Vec::new(), expect![[r#"
            track_order: threshold 0.85, enabled true
            product_info: threshold 0.85, enabled true
            adverse_reaction: threshold 0.85, enabled false
            standard: 4h / 24h"#]]);
        check(
            vec![
                stored(PolicyOverrideKind::AutoReplyGeneral, "general", Some(json!({"auto_reply_confidence": 0.7})), 1),
                stored(PolicyOverrideKind::AutoReplyIntent, "track_order", Some(json!({"auto_reply_confidence": 0.95, "auto_reply_enabled": true})), 2),
                stored(PolicyOverrideKind::AutoReplyIntent, "product_info", Some(json!({"auto_reply_confidence": null, "auto_reply_enabled": false})), 1),
                stored(PolicyOverrideKind::SlaPolicy, "standard", Some(json!({"first_response": "1h", "resolution": "8h"})), 1),
            ],
            expect![[r#"
                track_order: threshold 0.95, enabled true
                product_info: threshold 0.7, enabled false
                adverse_reaction: threshold 0.7, enabled false
                standard: 1h / 8h"#]],
        );
        // A reset (no value) leaves the configuration in force.
        check(vec![stored(PolicyOverrideKind::AutoReplyIntent, "track_order", None, 4)], expect![[r#"
            track_order: threshold 0.85, enabled true
            product_info: threshold 0.85, enabled true
            adverse_reaction: threshold 0.85, enabled false
            standard: 4h / 24h"#]]);
    }

    #[test]
    fn overrides_the_configuration_no_longer_allows_are_ignored_with_the_reason() {
        check(
            vec![
                stored(PolicyOverrideKind::AutoReplyIntent, "track_order", Some(json!({"auto_reply_confidence": 0.2, "auto_reply_enabled": true})), 1),
                stored(PolicyOverrideKind::AutoReplyIntent, "adverse_reaction", Some(json!({"auto_reply_confidence": 0.9, "auto_reply_enabled": true})), 1),
                stored(PolicyOverrideKind::SlaPolicy, "renamed away", Some(json!({"first_response": "1h", "resolution": "8h"})), 1),
                stored(PolicyOverrideKind::SlaPolicy, "standard", Some(json!({"first_response": "9h", "resolution": "8h"})), 1),
                stored(PolicyOverrideKind::AutoReplyGeneral, "general", Some(json!({"threshold": 0.9})), 1),
            ],
            expect![[r#"
                track_order: threshold 0.85, enabled true
                product_info: threshold 0.85, enabled true
                adverse_reaction: threshold 0.85, enabled false
                standard: 4h / 24h
                ignored auto_reply_general general: the stored value cannot be read: unknown field `threshold`, expected `auto_reply_confidence`
                ignored auto_reply_intent adverse_reaction: auto_reply_confidence_by_intent.adverse_reaction is set, but safety_compliance intents are never auto-replied
                ignored auto_reply_intent track_order: auto_reply_confidence_by_intent.track_order (0.2) is below low_confidence_threshold (0.5)
                ignored sla_policy renamed away: the configuration has no sla policy `renamed away` any more
                ignored sla_policy standard: sla policy `standard` allows more time for the first response than for the resolution"#]],
        );
    }
}
