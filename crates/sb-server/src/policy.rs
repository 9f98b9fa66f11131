//! The auto-reply thresholds in force and an admin's changes to them:
//! `GET /api/v1/policy/thresholds`, `PUT`/`DELETE /api/v1/policy/thresholds` (the general
//! threshold) and `PUT`/`DELETE /api/v1/policy/thresholds/{intent}` (one intent's threshold and
//! switch). A change is stored as an override of the configuration file's `[policy]` section
//! (`sb_service::policy_overrides`), validated by the checks the config loader runs (422
//! `invalid_policy` listing every problem), audited with the old and new value, and applied to
//! messages triaged after it: at once in this process, within `[server] policy_refresh_seconds`
//! in the others on the same PostgreSQL. `DELETE` resets to the configuration.
//!
//! Each subject has a version (0 until first changed): a change that names an older
//! `expected_version` is a 409, never an overwrite; without one, it applies to the version the
//! server read just before. [`PolicyChange`] (who changed a subject last, and when) is shared
//! with the SLA policies' edits (`sla.rs`).

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::Json;
use chrono::{DateTime, Utc};
use sb_domain::{Category, Intent};
use sb_service::policy_overrides::{EffectivePolicy, GeneralAutoReply, IntentAutoReply, PolicyEdit, GENERAL_SUBJECT};
use sb_store::{PolicyOverride, PolicyOverrideKind};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Permission;
use crate::error::ErrorBody;
use crate::openapi::{Conflict, Forbidden, MalformedJson, NotFound, PayloadTooLarge, RateLimited, Unauthorized, UnsupportedMediaType};
use crate::{ApiError, AppState, Caller};

/// The last change of a subject made through the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PolicyChange {
    /// The version this change made.
    version: i64,
    /// Audit name of who made it (`user:3`, `token:2`).
    changed_by: String,
    /// That user's name, when a person made it.
    changed_by_name: Option<String>,
    changed_at: DateTime<Utc>,
    /// True when the change was a reset to the configuration.
    reset: bool,
}

impl From<&PolicyOverride> for PolicyChange {
    fn from(policy_override: &PolicyOverride) -> PolicyChange {
        PolicyChange {
            version: policy_override.version,
            changed_by: policy_override.changed_by.clone(),
            changed_by_name: policy_override.changed_by_name.clone(),
            changed_at: policy_override.changed_at,
            reset: policy_override.value.is_none(),
        }
    }
}

/// Where a subject's value comes from, for every editable subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Provenance {
    /// The version a change must name in `expected_version` (0: never changed).
    version: i64,
    /// True while an admin's change is in force; false when the configuration's value is.
    overridden: bool,
    /// The last change (also a reset), if any.
    last_change: Option<PolicyChange>,
    /// Why a stored change is not in force (the configuration changed under it), if so.
    ignored: Option<String>,
}

impl Provenance {
    pub(crate) fn of(effective: &EffectivePolicy, kind: PolicyOverrideKind, subject: &str) -> Provenance {
        let key = (kind, subject.to_string());
        let stored = effective.overrides.get(&key);
        Provenance {
            version: effective.version_of(kind, subject),
            overridden: effective.active_override(kind, subject).is_some(),
            last_change: stored.map(PolicyChange::from),
            ignored: effective.ignored.get(&key).cloned(),
        }
    }
}

/// How one intent is answered automatically.
#[derive(Debug, Serialize, ToSchema)]
pub struct IntentAutoReplyDto {
    /// The intent's own threshold; null: the general one applies.
    auto_reply_confidence: Option<f32>,
    /// False: never answered automatically.
    auto_reply_enabled: bool,
}

impl From<IntentAutoReply> for IntentAutoReplyDto {
    fn from(intent_auto_reply: IntentAutoReply) -> IntentAutoReplyDto {
        IntentAutoReplyDto { auto_reply_confidence: intent_auto_reply.auto_reply_confidence, auto_reply_enabled: intent_auto_reply.auto_reply_enabled }
    }
}

/// How one intent is decided.
#[derive(Debug, Serialize, ToSchema)]
pub struct IntentThreshold {
    intent: Intent,
    category: Category,
    /// Minimum calibrated confidence for an automatic answer; null when the intent is never
    /// answered automatically.
    auto_reply_confidence: Option<f32>,
    /// `default` (the general threshold), `intent` (set for this intent), `disabled` (never
    /// automatic) or `safety` (never: safety_compliance).
    source: &'static str,
    /// False for safety_compliance intents, which are never answered automatically.
    editable: bool,
    /// In force now.
    current: IntentAutoReplyDto,
    /// What the configuration file says.
    configured: IntentAutoReplyDto,
    #[serde(flatten)]
    provenance: Provenance,
}

/// The general auto-reply threshold: in force, configured, and who changed it.
#[derive(Debug, Serialize, ToSchema)]
pub struct GeneralThreshold {
    auto_reply_confidence: f32,
    configured: f32,
    #[serde(flatten)]
    provenance: Provenance,
}

/// The decision policy's thresholds as the service runs with them.
#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyThresholds {
    /// The general threshold in force (also under `general`).
    auto_reply_confidence_threshold: f32,
    low_confidence_threshold: f32,
    strongly_negative_sentiment: f32,
    sla_at_risk_fraction: f32,
    general: GeneralThreshold,
    intents: Vec<IntentThreshold>,
    /// Where the values that are not editable here are set.
    configured_in: &'static str,
}

fn thresholds_of(state: &AppState, effective: &EffectivePolicy) -> PolicyThresholds {
    let configured = &state.service.config().policy;
    let policy = &effective.policy;
    let intents = Intent::ALL
        .iter()
        .map(|&intent| {
            let (auto_reply_confidence, source) = if intent.is_safety() {
                (None, "safety")
            } else if policy.auto_reply_disabled_intents.contains(&intent) {
                (None, "disabled")
            } else if policy.auto_reply_confidence_by_intent.contains_key(&intent) {
                (Some(policy.auto_reply_threshold_for(intent)), "intent")
            } else {
                (Some(policy.auto_reply_confidence_threshold), "default")
            };
            let configured_auto_reply = IntentAutoReply { auto_reply_confidence: configured.auto_reply_confidence_by_intent.get(&intent).copied(), auto_reply_enabled: !configured.auto_reply_disabled_intents.contains(&intent) };
            IntentThreshold {
                intent,
                category: intent.category(),
                auto_reply_confidence,
                source,
                editable: !intent.is_safety(),
                current: effective.intent_auto_reply(intent).into(),
                configured: configured_auto_reply.into(),
                provenance: Provenance::of(effective, PolicyOverrideKind::AutoReplyIntent, intent.as_str()),
            }
        })
        .collect();
    PolicyThresholds {
        auto_reply_confidence_threshold: policy.auto_reply_confidence_threshold,
        low_confidence_threshold: policy.low_confidence_threshold,
        strongly_negative_sentiment: policy.strongly_negative_sentiment,
        sla_at_risk_fraction: policy.sla_at_risk_fraction,
        general: GeneralThreshold {
            auto_reply_confidence: policy.auto_reply_confidence_threshold,
            configured: configured.auto_reply_confidence_threshold,
            provenance: Provenance::of(effective, PolicyOverrideKind::AutoReplyGeneral, GENERAL_SUBJECT),
        },
        intents,
        configured_in: "the [policy] section of the configuration file (low_confidence_threshold, strongly_negative_sentiment, sla_at_risk_fraction); restart to apply",
    }
}

/// Auto-reply thresholds per intent
///
/// The thresholds in force: the configuration file's `[policy]` section with the changes
/// admins made here, each with its version and who changed it last.
#[utoipa::path(
    get, path = "/api/v1/policy/thresholds", tag = "admin",
    responses(
        (status = 200, description = "The thresholds in force.", body = PolicyThresholds),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 429, response = RateLimited),
    ),
    security(("bearer" = ["read"]), ("session" = ["admin", "supervisor"])),
)]
pub async fn thresholds(State(state): State<AppState>, caller: Caller) -> Result<Json<PolicyThresholds>, ApiError> {
    caller.require(Permission::ReadReports)?;
    Ok(Json(thresholds_of(&state, &state.service.policy())))
}

/// A new general auto-reply threshold.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GeneralThresholdChange {
    /// 0 to 1, not below the low-confidence threshold.
    auto_reply_confidence_threshold: f32,
    /// The version the change was made on (`general.version`): a newer one is a 409.
    expected_version: Option<i64>,
}

/// A new threshold and switch for one intent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IntentThresholdChange {
    /// The intent's own threshold (0 to 1, not below the low-confidence threshold); null:
    /// the general threshold applies.
    auto_reply_confidence: Option<f32>,
    /// False: never answered automatically, whatever the confidence.
    auto_reply_enabled: bool,
    /// The version the change was made on (the intent's `version`): a newer one is a 409.
    expected_version: Option<i64>,
}

/// `?expected_version=` of a reset.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ResetQuery {
    /// The version the reset was decided on: a newer one is a 409.
    pub(crate) expected_version: Option<i64>,
}

/// Saves `edit` on `expected_version` (or on the version in force when none is named).
pub(crate) async fn save(state: &AppState, caller: &Caller, edit: &PolicyEdit, expected_version: Option<i64>) -> Result<std::sync::Arc<EffectivePolicy>, ApiError> {
    let expected_version = match expected_version {
        Some(version) if version < 0 => return Err(ApiError::validation("invalid_field", "expected_version must be 0 or more")),
        Some(version) => version,
        None => {
            let (kind, subject) = edit.kind_and_subject();
            state.service.reload_policy().await?.version_of(kind, &subject)
        }
    };
    Ok(state.service.edit_policy(&caller.actor(), edit, expected_version).await?)
}

fn intent_of(intent: Result<Path<String>, PathRejection>) -> Result<Intent, ApiError> {
    let Path(intent) = intent?;
    intent.parse::<Intent>().map_err(|_| ApiError::NotFound(format!("intent `{intent}`")))
}

/// Change the general auto-reply threshold
///
/// The threshold of every intent without its own, for messages triaged from now on.
#[utoipa::path(
    put, path = "/api/v1/policy/thresholds", tag = "admin",
    request_body = GeneralThresholdChange,
    responses(
        (status = 200, description = "The thresholds in force after the change.", body = PolicyThresholds),
        (status = 400, response = MalformedJson),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, description = "Codes: `invalid_policy` (every problem listed in the error's problems), `invalid_field`.", body = ErrorBody),
        (status = 429, response = RateLimited),
    ),
    security(("bearer" = ["admin"]), ("session" = ["admin"], "csrf" = [])),
)]
pub async fn set_general_threshold(State(state): State<AppState>, caller: Caller, body: Result<Json<GeneralThresholdChange>, JsonRejection>) -> Result<Json<PolicyThresholds>, ApiError> {
    caller.require(Permission::ManagePolicy)?;
    let Json(change) = body?;
    let edit = PolicyEdit::General(Some(GeneralAutoReply { auto_reply_confidence: change.auto_reply_confidence_threshold }));
    let effective = save(&state, &caller, &edit, change.expected_version).await?;
    Ok(Json(thresholds_of(&state, &effective)))
}

/// Reset the general auto-reply threshold
///
/// Back to the configuration file's value.
#[utoipa::path(
    delete, path = "/api/v1/policy/thresholds", tag = "admin",
    params(ResetQuery),
    responses(
        (status = 200, description = "The thresholds in force after the reset.", body = PolicyThresholds),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 422, description = "Codes: `invalid_query`, `invalid_field`.", body = ErrorBody),
        (status = 429, response = RateLimited),
    ),
    security(("bearer" = ["admin"]), ("session" = ["admin"], "csrf" = [])),
)]
pub async fn reset_general_threshold(State(state): State<AppState>, caller: Caller, query: Result<Query<ResetQuery>, QueryRejection>) -> Result<Json<PolicyThresholds>, ApiError> {
    caller.require(Permission::ManagePolicy)?;
    let Query(query) = query?;
    let effective = save(&state, &caller, &PolicyEdit::General(None), query.expected_version).await?;
    Ok(Json(thresholds_of(&state, &effective)))
}

/// Change one intent's auto-reply threshold
///
/// Its own threshold (or the general one) and whether it is answered automatically at all,
/// for messages triaged from now on. Safety intents are never answered automatically (422).
#[utoipa::path(
    put, path = "/api/v1/policy/thresholds/{intent}", tag = "admin",
    params(("intent" = String, Path, description = "The intent, e.g. `track_order`.")),
    request_body = IntentThresholdChange,
    responses(
        (status = 200, description = "The thresholds in force after the change.", body = PolicyThresholds),
        (status = 400, response = MalformedJson),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, description = "Codes: `invalid_policy` (every problem listed in the error's problems), `invalid_field`, `invalid_path`.", body = ErrorBody),
        (status = 429, response = RateLimited),
    ),
    security(("bearer" = ["admin"]), ("session" = ["admin"], "csrf" = [])),
)]
pub async fn set_intent_threshold(State(state): State<AppState>, caller: Caller, intent: Result<Path<String>, PathRejection>, body: Result<Json<IntentThresholdChange>, JsonRejection>) -> Result<Json<PolicyThresholds>, ApiError> {
    caller.require(Permission::ManagePolicy)?;
    let intent = intent_of(intent)?;
    let Json(change) = body?;
    let edit = PolicyEdit::Intent(intent, Some(IntentAutoReply { auto_reply_confidence: change.auto_reply_confidence, auto_reply_enabled: change.auto_reply_enabled }));
    let effective = save(&state, &caller, &edit, change.expected_version).await?;
    Ok(Json(thresholds_of(&state, &effective)))
}

/// Reset one intent's auto-reply threshold
///
/// Back to what the configuration file says for the intent.
#[utoipa::path(
    delete, path = "/api/v1/policy/thresholds/{intent}", tag = "admin",
    params(("intent" = String, Path, description = "The intent, e.g. `track_order`."), ResetQuery),
    responses(
        (status = 200, description = "The thresholds in force after the reset.", body = PolicyThresholds),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, description = "Codes: `invalid_query`, `invalid_path`, `invalid_field`.", body = ErrorBody),
        (status = 429, response = RateLimited),
    ),
    security(("bearer" = ["admin"]), ("session" = ["admin"], "csrf" = [])),
)]
pub async fn reset_intent_threshold(State(state): State<AppState>, caller: Caller, intent: Result<Path<String>, PathRejection>, query: Result<Query<ResetQuery>, QueryRejection>) -> Result<Json<PolicyThresholds>, ApiError> {
    caller.require(Permission::ManagePolicy)?;
    let intent = intent_of(intent)?;
    let Query(query) = query?;
    let effective = save(&state, &caller, &PolicyEdit::Intent(intent, None), query.expected_version).await?;
    Ok(Json(thresholds_of(&state, &effective)))
}
