//! What the supervisor dashboard reads besides the stored reports:
//! `GET /api/v1/reports/forecast` (today's volume per hour against the forecast made from the
//! store's own arrivals). The auto-reply thresholds the admin pages read and change are in
//! `policy.rs`.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use chrono::{DateTime, Utc};
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
