//! What the supervisor dashboard and the admin pages read besides the stored reports:
//! `GET /api/v1/reports/forecast` (today's volume per hour against the forecast made from the
//! store's own arrivals) and `GET /api/v1/policy/thresholds` (the decision policy's auto-reply
//! thresholds per intent, as the running service applies them).
//!
//! The thresholds are read-only here: they come from the `[policy]` section of the
//! configuration file, which the service reads at start. Changing them is a configuration
//! change (reviewed, versioned with the deployment), not a click.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use chrono::{DateTime, Utc};
use sb_domain::{Category, Intent};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Permission;
use crate::error::ErrorBody;
use crate::openapi::{Forbidden, RateLimited, Unauthorized};
use crate::{ApiError, AppState, Caller};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ForecastQuery {
    /// IANA time zone whose day "today" is (default UTC).
    tz: Option<String>,
}

/// One hour of today.
#[derive(Debug, Serialize, ToSchema)]
pub struct ForecastHour {
    /// Start of the hour.
    start: DateTime<Utc>,
    /// Inbound messages in the hour so far; null for hours not begun.
    actual: Option<i64>,
    /// Expected messages and the calibrated 80 % and 95 % intervals; null without a forecast.
    forecast: Option<f64>,
    lo80: Option<f64>,
    hi80: Option<f64>,
    lo95: Option<f64>,
    hi95: Option<f64>,
}

/// Today's arrivals against the forecast.
#[derive(Debug, Serialize, ToSchema)]
pub struct TodayForecast {
    time_zone: String,
    day_start: DateTime<Utc>,
    generated_at: DateTime<Utc>,
    /// Whole weeks of arrivals the forecast learnt from (up to 8; 0 without a forecast).
    history_weeks: usize,
    /// Why there is no forecast (too little history), when there is none.
    missing: Option<String>,
    hours: Vec<ForecastHour>,
}

/// Today's volume against the forecast
///
/// Inbound messages per hour of today (in `tz`) and the forecast for each hour, made from the
/// eight weeks of arrivals before today only (the `auto` method of `switchboard forecast`, with
/// its calibrated intervals), so the hours already past are compared honestly.
#[utoipa::path(
    get, path = "/api/v1/reports/forecast", tag = "reports",
    params(ForecastQuery),
    responses(
        (status = 200, description = "Today, hour by hour.", body = TodayForecast),
        (status = 400, description = "Code: `invalid_time_zone`, `invalid_parameter`.", body = ErrorBody),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 429, response = RateLimited),
    ),
    security(("bearer" = ["read"]), ("session" = ["admin", "supervisor"])),
)]
pub async fn forecast_today(State(state): State<AppState>, caller: Caller, query: Result<Query<ForecastQuery>, QueryRejection>) -> Result<Json<TodayForecast>, ApiError> {
    caller.require(Permission::ReadReports)?;
    let Query(query) = query.map_err(|rejection| ApiError::BadParameter { code: "invalid_parameter", message: rejection.body_text() })?;
    let time_zone = sb_store::parse_time_zone(query.tz.as_deref())?;
    let now = Utc::now();
    let today = state.service.forecast_today(time_zone, now).await?;
    let hours = today
        .hours
        .into_iter()
        .map(|hour| ForecastHour { start: hour.start, actual: hour.actual, forecast: hour.forecast, lo80: hour.lo80, hi80: hour.hi80, lo95: hour.lo95, hi95: hour.hi95 })
        .collect();
    Ok(Json(TodayForecast { time_zone: time_zone.name().to_string(), day_start: today.day_start, generated_at: now, history_weeks: today.history_weeks, missing: today.missing, hours }))
}

/// How one intent is decided.
#[derive(Debug, Serialize, ToSchema)]
pub struct IntentThreshold {
    intent: Intent,
    category: Category,
    /// Minimum calibrated confidence for an automatic answer; null when the intent is never
    /// answered automatically.
    auto_reply_confidence: Option<f32>,
    /// `default` (the general threshold), `intent` (set for this intent), `disabled` (listed
    /// in `auto_reply_disabled_intents`) or `safety` (never: safety_compliance).
    source: &'static str,
}

/// The decision policy's thresholds as the service runs with them.
#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyThresholds {
    auto_reply_confidence_threshold: f32,
    low_confidence_threshold: f32,
    strongly_negative_sentiment: f32,
    sla_at_risk_fraction: f32,
    intents: Vec<IntentThreshold>,
    /// Where to change them.
    configured_in: &'static str,
}

/// Auto-reply thresholds per intent
///
/// Read-only: the `[policy]` section of the configuration file sets them (read at start).
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
    let policy = &state.service.config().policy;
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
            IntentThreshold { intent, category: intent.category(), auto_reply_confidence, source }
        })
        .collect();
    Ok(Json(PolicyThresholds {
        auto_reply_confidence_threshold: policy.auto_reply_confidence_threshold,
        low_confidence_threshold: policy.low_confidence_threshold,
        strongly_negative_sentiment: policy.strongly_negative_sentiment,
        sla_at_risk_fraction: policy.sla_at_risk_fraction,
        intents,
        configured_in: "the [policy] section of the configuration file (auto_reply_confidence_threshold, auto_reply_confidence_by_intent, auto_reply_disabled_intents); restart to apply",
    }))
}
