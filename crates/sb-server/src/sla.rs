//! `GET /api/v1/sla/policies`: the SLA policies the service runs with (the configured ones, or
//! the defaults), each with what it applies to, its first-response and resolution targets and
//! the business calendar its clocks run on.
//!
//! The wire shape follows the configuration file's `[[sla_policies]]` (durations as `4h`,
//! calendars tagged by `kind`), with the targets also in seconds for clients that compute with
//! them.

use axum::extract::State;
use axum::Json;
use chrono::NaiveDate;
use sb_domain::{Category, Intent, Severity};
use sb_policy::sla::{format_duration, Calendar, PriorityRange, SlaMatch, SlaPolicy, WeeklyHours};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Permission;
use crate::openapi::{Forbidden, RateLimited, Unauthorized};
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

impl From<&SlaPolicy> for SlaPolicyDto {
    fn from(sla_policy: &SlaPolicy) -> SlaPolicyDto {
        SlaPolicyDto {
            name: sla_policy.name.clone(),
            matches: SlaMatchDto::from(&sla_policy.matches),
            first_response: format_duration(sla_policy.first_response),
            first_response_seconds: sla_policy.first_response.num_seconds(),
            resolution: format_duration(sla_policy.resolution),
            resolution_seconds: sla_policy.resolution.num_seconds(),
            calendar: CalendarDto::from(&sla_policy.calendar),
        }
    }
}

/// The policies in the order they are listed (the order that breaks ties).
#[derive(Debug, Serialize, ToSchema)]
pub struct SlaPolicyList {
    policies: Vec<SlaPolicyDto>,
}

/// List the SLA policies
///
/// The policies the service runs with, in the configured order, with their targets and
/// calendars. Configured in `[[sla_policies]]` of the configuration file; without any, the
/// defaults (the safety severity SLAs on a 24/7 calendar, business-hour targets otherwise).
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
    let policies = state.service.config().sla_policies.iter().map(SlaPolicyDto::from).collect();
    Ok(Json(SlaPolicyList { policies }))
}
