//! `GET /api/v1/sla/policies`: the SLA policies the service runs with (the configured ones, or
//! the defaults, with the targets admins changed), each with what it applies to, its
//! first-response and resolution targets and the business calendar its clocks run on.
//! `PUT /api/v1/sla/policies/{name}` changes a policy's targets, `DELETE` resets them to the
//! configuration (admins only; versions, validation and audit as for the thresholds, see
//! `policy.rs`). A change applies to tickets whose clocks start after it: a ticket keeps the
//! deadlines it was given.
//!
//! The wire shape follows the configuration file's `[[sla_policies]]` (durations as `4h`,
//! calendars tagged by `kind`), with the targets also in seconds for clients that compute with
//! them.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::Json;
use chrono::NaiveDate;
use sb_domain::{Category, Intent, Severity};
use sb_policy::sla::{format_duration, parse_duration, Calendar, PriorityRange, SlaMatch, SlaPolicy, WeeklyHours};
use sb_service::policy_overrides::{EffectivePolicy, PolicyEdit, SlaTargets};
use sb_store::PolicyOverrideKind;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Permission;
use crate::error::ErrorBody;
use crate::openapi::{Conflict, Forbidden, MalformedJson, NotFound, PayloadTooLarge, RateLimited, Unauthorized, UnsupportedMediaType};
use crate::policy::{Provenance, ResetQuery};
use crate::{ApiError, AppState, Caller};

/// Which tickets a policy applies to; an unset field matches anything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = SlaMatch)]
pub struct SlaMatchDto {
    category: Option<Category>,
    intent: Option<Intent>,
    /// Matches only tickets with this severity (so only `safety_compliance`).
    severity: Option<Severity>,
    priority: Option<PriorityRangeDto>,
}

/// Priorities `min..=max` (0–100).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = PriorityRange)]
pub struct PriorityRangeDto {
    min: u8,
    max: u8,
}

/// Opening hours per day of the week as `HH:MM-HH:MM` spans in local time; a day without
/// spans is closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = WeeklyHours)]
pub struct WeeklyHoursDto {
    monday: Vec<String>,
    tuesday: Vec<String>,
    wednesday: Vec<String>,
    thursday: Vec<String>,
    friday: Vec<String>,
    saturday: Vec<String>,
    sunday: Vec<String>,
}

/// When an SLA clock runs.
// A wire value built per request and serialised at once: boxing the large variant would buy
// nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[schema(as = SlaCalendar)]
pub enum CalendarDto {
    /// Every moment counts: 24/7, as for the safety SLAs.
    AlwaysOpen,
    /// Weekly opening hours in an IANA time zone, minus holidays.
    BusinessHours {
        /// IANA time zone of the opening hours and holidays, e.g. `Europe/Berlin`.
        time_zone: String,
        weekly_hours: WeeklyHoursDto,
        /// Local dates on which the calendar is closed all day.
        holidays: Vec<NaiveDate>,
    },
}

/// One SLA policy. The most specific matching policy applies to a ticket: one naming a
/// severity beats one naming an intent, which beats a category, which beats a priority range
/// (the narrower first); ties go to the policy listed first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = SlaPolicy)]
pub struct SlaPolicyDto {
    /// Shown to agents and kept with each ticket's SLA (`sla_policy` of a ticket).
    name: String,
    matches: SlaMatchDto,
    /// Business time allowed until the first response, as `15m`, `4h`, `1h30m`.
    first_response: String,
    first_response_seconds: i64,
    /// Business time allowed until the ticket is resolved.
    resolution: String,
    resolution_seconds: i64,
    /// When the clocks run.
    calendar: CalendarDto,
    /// The targets the configuration file sets (the defaults' when it sets no policies).
    configured_first_response: String,
    configured_resolution: String,
    #[serde(flatten)]
    provenance: Provenance,
}

fn weekly_hours(weekly_hours: &WeeklyHours) -> WeeklyHoursDto {
    let day = |opening_hours: &[sb_policy::sla::OpeningHours]| opening_hours.iter().map(ToString::to_string).collect();
    WeeklyHoursDto {
        monday: day(&weekly_hours.monday),
        tuesday: day(&weekly_hours.tuesday),
        wednesday: day(&weekly_hours.wednesday),
        thursday: day(&weekly_hours.thursday),
        friday: day(&weekly_hours.friday),
        saturday: day(&weekly_hours.saturday),
        sunday: day(&weekly_hours.sunday),
    }
}

impl From<&Calendar> for CalendarDto {
    fn from(calendar: &Calendar) -> CalendarDto {
        match calendar {
            Calendar::AlwaysOpen => CalendarDto::AlwaysOpen,
            Calendar::BusinessHours(business_calendar) => CalendarDto::BusinessHours {
                time_zone: business_calendar.time_zone().name().to_string(),
                weekly_hours: weekly_hours(business_calendar.weekly_hours()),
                holidays: business_calendar.holidays().iter().copied().collect(),
            },
        }
    }
}

impl From<&SlaMatch> for SlaMatchDto {
    fn from(sla_match: &SlaMatch) -> SlaMatchDto {
        let priority = sla_match.priority.map(|PriorityRange { min, max }| PriorityRangeDto { min, max });
        SlaMatchDto { category: sla_match.category, intent: sla_match.intent, severity: sla_match.severity, priority }
    }
}

impl SlaPolicyDto {
    /// `sla_policy` as in force, with its configured targets and who changed them.
    fn of(sla_policy: &SlaPolicy, configured: Option<&SlaPolicy>, effective: &EffectivePolicy) -> SlaPolicyDto {
        let configured = configured.unwrap_or(sla_policy);
        SlaPolicyDto {
            name: sla_policy.name.clone(),
            matches: SlaMatchDto::from(&sla_policy.matches),
            first_response: format_duration(sla_policy.first_response),
            first_response_seconds: sla_policy.first_response.num_seconds(),
            resolution: format_duration(sla_policy.resolution),
            resolution_seconds: sla_policy.resolution.num_seconds(),
            calendar: CalendarDto::from(&sla_policy.calendar),
            configured_first_response: format_duration(configured.first_response),
            configured_resolution: format_duration(configured.resolution),
            provenance: Provenance::of(effective, PolicyOverrideKind::SlaPolicy, &sla_policy.name),
        }
    }
}

/// The policies in the order they are listed (the order that breaks ties).
#[derive(Debug, Serialize, ToSchema)]
pub struct SlaPolicyList {
    policies: Vec<SlaPolicyDto>,
}

/// One policy.
#[derive(Debug, Serialize, ToSchema)]
pub struct SlaPolicyEnvelope {
    policy: SlaPolicyDto,
}

fn policy_dto(state: &AppState, effective: &EffectivePolicy, name: &str) -> Option<SlaPolicyDto> {
    let configured = state.service.config().sla_policies.iter().find(|sla_policy| sla_policy.name == name);
    effective.sla_policies.iter().find(|sla_policy| sla_policy.name == name).map(|sla_policy| SlaPolicyDto::of(sla_policy, configured, effective))
}

/// List the SLA policies
///
/// The policies the service runs with, in the configured order, with their targets and
/// calendars. Configured in `[[sla_policies]]` of the configuration file; without any, the
/// defaults (the safety severity SLAs on a 24/7 calendar, business-hour targets otherwise).
/// Targets an admin changed (`overridden`) replace the configured ones.
#[utoipa::path(
    get, path = "/api/v1/sla/policies", tag = "sla",
    responses(
        (status = 200, description = "The SLA policies.", body = SlaPolicyList),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 429, response = RateLimited),
    ),
    security(("bearer" = ["read"]), ("session" = ["admin", "supervisor", "agent", "compliance", "viewer"])),
)]
pub async fn list_sla_policies(State(state): State<AppState>, caller: Caller) -> Result<Json<SlaPolicyList>, ApiError> {
    caller.require(Permission::Read)?;
    let effective = state.service.policy();
    let policies = effective.sla_policies.iter().filter_map(|sla_policy| policy_dto(&state, &effective, &sla_policy.name)).collect();
    Ok(Json(SlaPolicyList { policies }))
}

/// New targets for one SLA policy.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SlaTargetsChange {
    /// Business time until the first response, as `15m`, `4h`, `1h30m`; positive.
    first_response: String,
    /// Business time until resolution; positive, at least the first response's.
    resolution: String,
    /// The version the change was made on (the policy's `version`): a newer one is a 409.
    expected_version: Option<i64>,
}

fn policy_name(name: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    let Path(name) = name?;
    Ok(name)
}

/// Change an SLA policy's targets
///
/// For tickets whose clocks start from now on; tickets already open keep their deadlines.
/// The matches and calendar stay as configured.
#[utoipa::path(
    put, path = "/api/v1/sla/policies/{name}", tag = "sla",
    params(("name" = String, Path, description = "The policy's name, e.g. `standard`.")),
    request_body = SlaTargetsChange,
    responses(
        (status = 200, description = "The policy after the change.", body = SlaPolicyEnvelope),
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
pub async fn set_sla_targets(State(state): State<AppState>, caller: Caller, name: Result<Path<String>, PathRejection>, body: Result<Json<SlaTargetsChange>, JsonRejection>) -> Result<Json<SlaPolicyEnvelope>, ApiError> {
    caller.require(Permission::ManagePolicy)?;
    let name = policy_name(name)?;
    let Json(change) = body?;
    // Every unreadable duration at once, as the loader reports a config file's problems.
    let first_response = parse_duration(&change.first_response).map_err(|error| format!("first_response: {error}"));
    let resolution = parse_duration(&change.resolution).map_err(|error| format!("resolution: {error}"));
    let (first_response, resolution) = match (first_response, resolution) {
        (Ok(first_response), Ok(resolution)) => (first_response, resolution),
        (first_response, resolution) => return Err(ApiError::InvalidPolicy { problems: [first_response.err(), resolution.err()].into_iter().flatten().collect() }),
    };
    let edit = PolicyEdit::SlaTargets(name.clone(), Some(SlaTargets { first_response, resolution }));
    let effective = crate::policy::save(&state, &caller, &edit, change.expected_version).await?;
    let policy = policy_dto(&state, &effective, &name).ok_or_else(|| ApiError::NotFound(format!("sla policy {name}")))?;
    Ok(Json(SlaPolicyEnvelope { policy }))
}

/// Reset an SLA policy's targets
///
/// Back to the configuration file's targets, for tickets whose clocks start from now on.
#[utoipa::path(
    delete, path = "/api/v1/sla/policies/{name}", tag = "sla",
    params(("name" = String, Path, description = "The policy's name, e.g. `standard`."), ResetQuery),
    responses(
        (status = 200, description = "The policy after the reset.", body = SlaPolicyEnvelope),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, description = "Codes: `invalid_query`, `invalid_path`, `invalid_field`.", body = ErrorBody),
        (status = 429, response = RateLimited),
    ),
    security(("bearer" = ["admin"]), ("session" = ["admin"], "csrf" = [])),
)]
pub async fn reset_sla_targets(State(state): State<AppState>, caller: Caller, name: Result<Path<String>, PathRejection>, query: Result<Query<ResetQuery>, QueryRejection>) -> Result<Json<SlaPolicyEnvelope>, ApiError> {
    caller.require(Permission::ManagePolicy)?;
    let name = policy_name(name)?;
    let Query(query) = query?;
    let effective = crate::policy::save(&state, &caller, &PolicyEdit::SlaTargets(name.clone(), None), query.expected_version).await?;
    let policy = policy_dto(&state, &effective, &name).ok_or_else(|| ApiError::NotFound(format!("sla policy {name}")))?;
    Ok(Json(SlaPolicyEnvelope { policy }))
}
