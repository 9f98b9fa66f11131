//! What the supervisor dashboard needs beyond the stored reports: the live tile figures,
//! published periodically as a `metrics_tick` event, and today's volume against a forecast made
//! from the store's own arrivals.
//!
//! Hidden contracts:
//! - The tick carries counts, ages and rates only (no ticket subjects, no customers), like every
//!   event of the hub.
//! - Today's forecast is honest: it reads only the arrivals before today's local midnight, so the
//!   hours already past are compared with what was expected of them, not with a fit to them.
//!   The forecast runs on the blocking pool (MSTL and the backtests behind `auto` are
//!   milliseconds to a second of CPU), once per time zone and day: a forecast reads nothing of
//!   its own day, so it is kept until the day ends, and later asks read only today's actuals.

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use sb_wfm::forecast::{ForecastOptions, Series};
use serde::Serialize;
use tokio::sync::watch;

use crate::events::{EventKind, LiveMetrics};
use crate::{Error, Result, Service};

/// Weeks of arrivals the forecast learns from.
pub const FORECAST_HISTORY_WEEKS: i64 = 8;
const HOUR_MS: i64 = 3_600_000;
/// Hours of report rollups built per step of [`Service::run_report_rollups`] (ten days).
const ROLLUP_HOURS_PER_STEP: usize = 240;
const HOURS_PER_WEEK: usize = 7 * 24;

/// One hour of today: what arrived (for hours begun) and what was expected.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HourForecast {
    pub start: DateTime<Utc>,
    /// Inbound messages in the hour; `None` for hours not begun yet (the current hour counts
    /// what arrived so far).
    pub actual: Option<i64>,
    /// The forecast and its calibrated 80 % and 95 % intervals; `None` without a forecast.
    pub forecast: Option<f64>,
    pub lo80: Option<f64>,
    pub hi80: Option<f64>,
    pub lo95: Option<f64>,
    pub hi95: Option<f64>,
}

/// Today's arrivals against the forecast.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TodayForecast {
    pub day_start: DateTime<Utc>,
    pub hours: Vec<HourForecast>,
    /// Whole weeks of history the forecast used (0 without a forecast).
    pub history_weeks: usize,
    /// Why there is no forecast, when there is none.
    pub missing: Option<String>,
}

/// A day's forecast: the rows (or why there are none) and the weeks of history used.
type DayForecast = (std::result::Result<Vec<sb_wfm::forecast::ForecastRow>, String>, usize);

/// The forecasts made today, by time zone and day start: a forecast reads only the arrivals
/// before its day, so it holds all day (the dashboard asks at every burst of events; only the
/// actuals are read again). Days other than the newest are dropped.
#[derive(Default)]
pub(crate) struct ForecastCache(std::sync::Mutex<Vec<(String, DateTime<Utc>, DayForecast)>>);

impl ForecastCache {
    fn get(&self, time_zone: &str, day_start: DateTime<Utc>) -> Option<DayForecast> {
        let entries = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        entries.iter().find(|(zone, start, _)| zone == time_zone && *start == day_start).map(|(_, _, forecast)| forecast.clone())
    }

    fn put(&self, time_zone: &str, day_start: DateTime<Utc>, forecast: DayForecast) {
        let mut entries = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        entries.retain(|(_, start, _)| (day_start - *start).num_hours().abs() < 24);
        entries.push((time_zone.to_string(), day_start, forecast));
    }
}

impl Service {
    /// The tile figures now.
    pub async fn live_metrics(&self, now: DateTime<Utc>) -> Result<LiveMetrics> {
        let row = self.store().report_realtime(Tz::UTC, now).await?;
        Ok(LiveMetrics {
            n_open: row.n_open,
            queue_depth: row.n_queue_human + row.n_queue_safety,
            n_queue_human: row.n_queue_human,
            n_queue_safety: row.n_queue_safety,
            n_unassigned: row.n_unassigned,
            oldest_waiting_seconds: row.oldest_waiting_seconds,
            n_sla_at_risk: row.n_sla_due_within_hour,
            n_sla_breached: row.n_sla_breached,
            arrivals_last_hour: row.arrivals_last_hour,
            arrivals_today: row.arrivals_today,
            resolved_today: row.resolved_today,
            decisions_today: row.decisions_today,
            auto_replied_today: row.auto_replied_today,
            automation_rate_today: row.automation_rate_today,
            avg_sentiment_last_hour: row.avg_sentiment_last_hour,
            n_negative_last_hour: row.n_negative_last_hour,
        })
    }

    /// Publishes a `metrics_tick` every `interval` until `shutdown` turns true.
    pub async fn run_metrics_ticker(&self, interval: std::time::Duration, mut shutdown: watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                return;
            }
            match self.live_metrics(Utc::now()).await {
                Ok(metrics) => {
                    self.events().publish(EventKind::MetricsTick { metrics: Box::new(metrics) });
                }
                Err(error) => tracing::warn!(error = %error, "live metrics round failed"),
            }
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    /// Keeps the stores' hourly report rollups current: every `interval`, builds the hours
    /// that are missing, dirty or past a deadline, a few hundred at a time with a pause in
    /// between so ingest keeps the writer. A first build over a long history logs its progress.
    pub async fn run_report_rollups(&self, interval: std::time::Duration, mut shutdown: watch::Receiver<bool>) {
        loop {
            let mut built_this_round = 0usize;
            loop {
                if *shutdown.borrow() {
                    return;
                }
                match self.store().refresh_report_rollups(Utc::now(), ROLLUP_HOURS_PER_STEP).await {
                    Ok(refresh) => {
                        built_this_round += refresh.built_hours;
                        if refresh.remaining_hours == 0 || refresh.busy {
                            if built_this_round > ROLLUP_HOURS_PER_STEP {
                                tracing::info!(built_hours = built_this_round, "report rollups are up to date");
                                if let Err(error) = self.store().analyze_report_rollups().await {
                                    tracing::warn!(error = %error, "refreshing the statistics of the report rollups failed; reports stay correct, maybe slower");
                                }
                            }
                            break;
                        }
                        tracing::info!(built_hours = built_this_round, remaining_hours = refresh.remaining_hours, "building report rollups");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    }
                    Err(error) => {
                        tracing::warn!(error = %error, "report rollup round failed; reports scan the tickets until the next round");
                        break;
                    }
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    /// Today (the local day of `now` in `time_zone`) hour by hour: arrivals so far and the
    /// forecast from the [`FORECAST_HISTORY_WEEKS`] weeks before it.
    pub async fn forecast_today(&self, time_zone: Tz, now: DateTime<Utc>) -> Result<TodayForecast> {
        let local_date = now.with_timezone(&time_zone).date_naive();
        // Hour-aligned in UTC (the arrivals are counted per UTC hour; zones with half-hour
        // offsets see their day start half an hour early).
        let day_start = floor_hour(sb_store::start_of_local_day(time_zone, local_date));
        let next_day = floor_hour(sb_store::start_of_local_day(time_zone, local_date.succ_opt().unwrap_or(local_date)));
        let n_hours = ((next_day - day_start).num_hours().max(1)) as usize;
        let hours_begun = ((now - day_start).num_milliseconds() / HOUR_MS + 1).clamp(0, n_hours as i64) as usize;
        let actuals = if hours_begun == 0 { Vec::new() } else { self.store().inbound_arrivals(day_start, day_start + TimeDelta::hours(hours_begun as i64), HOUR_MS).await? };
        let forecast = match self.inner.forecasts.get(time_zone.name(), day_start) {
            Some(forecast) => forecast,
            None => {
                let history_start = day_start - TimeDelta::weeks(FORECAST_HISTORY_WEEKS);
                let history = self.store().inbound_arrivals(history_start, day_start, HOUR_MS).await?;
                let series_start_local = history_start.with_timezone(&time_zone).naive_local();
                let made = tokio::task::spawn_blocking(move || forecast_hours(series_start_local, &history, n_hours)).await.map_err(|error| Error::Internal(format!("forecast task: {error}")))?;
                let forecast: DayForecast = match made {
                    Ok((rows, weeks)) => (Ok(rows), weeks),
                    Err(why) => (Err(why), 0),
                };
                self.inner.forecasts.put(time_zone.name(), day_start, forecast.clone());
                forecast
            }
        };
        let (rows, history_weeks, missing) = match forecast {
            (Ok(rows), weeks) => (Some(rows), weeks, None),
            (Err(why), _) => (None, 0, Some(why)),
        };
        let hours = (0..n_hours)
            .map(|hour_idx| {
                let row = rows.as_ref().and_then(|rows| rows.get(hour_idx));
                HourForecast {
                    start: day_start + TimeDelta::hours(hour_idx as i64),
                    actual: actuals.get(hour_idx).copied(),
                    forecast: row.map(|row| row.forecast),
                    lo80: row.map(|row| row.lo80),
                    hi80: row.map(|row| row.hi80),
                    lo95: row.map(|row| row.lo95),
                    hi95: row.map(|row| row.hi95),
                }
            })
            .collect();
        Ok(TodayForecast { day_start, hours, history_weeks, missing })
    }
}

fn floor_hour(instant: DateTime<Utc>) -> DateTime<Utc> {
    let ms = instant.timestamp_millis().div_euclid(HOUR_MS) * HOUR_MS;
    DateTime::from_timestamp_millis(ms).unwrap_or(instant)
}

/// The forecast of the `n_hours` after `history` (hourly counts from `series_start_local`), from
/// the whole weeks since the first arrival (weeks of zeros before the system was used would drag
/// the forecast down). `Err` says in words why there is none.
fn forecast_hours(series_start_local: chrono::NaiveDateTime, history: &[i64], n_hours: usize) -> std::result::Result<(Vec<sb_wfm::forecast::ForecastRow>, usize), String> {
    let Some(first_arrival) = history.iter().position(|&count| count > 0) else {
        return Err(format!("no arrivals in the {FORECAST_HISTORY_WEEKS} weeks before today: the forecast starts after one whole week of messages"));
    };
    let n_weeks = (history.len() - first_arrival).div_ceil(HOURS_PER_WEEK).min(history.len() / HOURS_PER_WEEK);
    if n_weeks == 0 {
        return Err("less than one week of arrivals: the forecast starts after one whole week of messages".into());
    }
    let skip = history.len() - n_weeks * HOURS_PER_WEEK;
    let start = series_start_local + TimeDelta::hours(skip as i64);
    let values: Vec<f64> = history[skip..].iter().map(|&count| count as f64).collect();
    let series = Series::new(start, 60, values).map_err(|error| format!("the arrival series cannot be used: {error}"))?;
    let output = sb_wfm::forecast::forecast(&series, ForecastOptions::new(n_hours)).map_err(|error| format!("no forecast: {error}"))?;
    Ok((output.rows, n_weeks))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start() -> chrono::NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap().and_hms_opt(0, 0, 0).unwrap()
    }

    #[test]
    fn the_forecast_learns_from_whole_weeks_since_the_first_arrival() {
        // (history, expected Ok weeks or the start of the reason)
        let quiet = vec![0; 8 * HOURS_PER_WEEK];
        let mut five_days = vec![0; 8 * HOURS_PER_WEEK];
        five_days[8 * HOURS_PER_WEEK - 5 * 24..].iter_mut().for_each(|count| *count = 3);
        let mut two_and_a_bit = vec![0; 8 * HOURS_PER_WEEK];
        for (hour_idx, count) in two_and_a_bit.iter_mut().enumerate().skip(8 * HOURS_PER_WEEK - 2 * HOURS_PER_WEEK - 10) {
            *count = 2 + (hour_idx % 24 / 8) as i64;
        }
        let cases: [(&[i64], std::result::Result<usize, &str>); 3] = [(&quiet, Err("no arrivals")), (&five_days, Ok(1)), (&two_and_a_bit, Ok(3))];
        for (history, expected) in cases {
            let got = forecast_hours(start(), history, 24).map(|(rows, weeks)| {
                assert_eq!(rows.len(), 24);
                assert!(rows.iter().all(|row| row.lo95 <= row.forecast && row.forecast <= row.hi95 && row.forecast.is_finite()));
                weeks
            });
            match (got, expected) {
                (Ok(weeks), Ok(expected_weeks)) => assert_eq!(weeks, expected_weeks),
                (Err(why), Err(expected_start)) => assert!(why.starts_with(expected_start), "{why}"),
                (got, expected) => panic!("got {got:?}, expected {expected:?}"),
            }
        }
    }
}
