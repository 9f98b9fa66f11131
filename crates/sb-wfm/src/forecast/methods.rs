//! Point-forecast methods. Each takes the history before an origin and returns `horizon` values;
//! none sees anything after the origin.
//!
//! - `seasonal_naive`: the same interval one week earlier.
//! - `mean_4w`: the mean of the same interval over the last four weeks (the baseline to beat).
//! - `mstl`: MSTL decomposition (daily and weekly seasons, augurs-mstl) with the deseasonalised
//!   level extrapolated by simple exponential smoothing.
//! - `profile` (ours): day totals per weekday from up to eight weeks, with days far from their
//!   weekday's median (holidays, outages) left out and recent weeks weighted more, multiplied by
//!   the weekday's intraday shape pooled over the same clean days. The baselines copy holidays
//!   into the next weeks and read each interval from only one to four noisy counts; the profile
//!   estimates a day's volume from whole days and its shape from many.

use super::Seasons;
use crate::{Error, Result};
use augurs_core::{Fit, Forecast, Predict};
use augurs_mstl::{FittedTrendModel, MSTLModel, TrendModel};
use serde::Serialize;
use std::borrow::Cow;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    SeasonalNaive,
    Mean4w,
    Mstl,
    Profile,
}

impl Method {
    pub const ALL: [Method; 4] = [Method::SeasonalNaive, Method::Mean4w, Method::Mstl, Method::Profile];

    pub fn name(self) -> &'static str {
        match self {
            Method::SeasonalNaive => "seasonal_naive",
            Method::Mean4w => "mean_4w",
            Method::Mstl => "mstl",
            Method::Profile => "profile",
        }
    }

    /// Whole weeks of history the method needs before it can forecast.
    pub fn min_weeks(self) -> usize {
        match self {
            Method::SeasonalNaive | Method::Mean4w | Method::Profile => 1,
            Method::Mstl => 2,
        }
    }
}

/// The point forecast of `method` for the `horizon` intervals after `history`; `seasons.phase`
/// is the slot of the day of `history[0]`.
pub fn point_forecast(method: Method, history: &[f64], seasons: Seasons, horizon: usize) -> Result<Vec<f64>> {
    let per_week = seasons.per_week();
    if history.len() < method.min_weeks() * per_week {
        return Err(Error::Series(format!(
            "{} needs at least {} week(s) of history ({} intervals), the series has {}",
            method.name(),
            method.min_weeks(),
            method.min_weeks() * per_week,
            history.len()
        )));
    }
    let forecast = match method {
        Method::SeasonalNaive => same_interval_mean(history, per_week, 1, horizon),
        Method::Mean4w => same_interval_mean(history, per_week, 4, horizon),
        Method::Mstl => mstl(history, seasons, horizon)?,
        Method::Profile => profile(history, seasons, horizon),
    };
    Ok(forecast.into_iter().map(|value| value.max(0.0)).collect())
}

/// Mean of the same interval over the last `weeks` weeks (fewer when the history is shorter).
fn same_interval_mean(history: &[f64], per_week: usize, weeks: usize, horizon: usize) -> Vec<f64> {
    let n = history.len();
    let weeks = weeks.min(n / per_week).max(1);
    (0..horizon)
        .map(|t| {
            let slot = t % per_week;
            let sum: f64 = (1..=weeks).map(|k| history[n - k * per_week + slot]).sum();
            sum / weeks as f64
        })
        .collect()
}

/// Simple exponential smoothing of the deseasonalised series: the trend model MSTL extrapolates.
/// The smoothing weight is chosen by one-step squared error on a grid (cheap and robust).
#[derive(Debug, Clone, Copy)]
struct SmoothedLevel;

#[derive(Debug)]
struct FittedSmoothedLevel {
    in_sample: Vec<f64>,
    level: f64,
}

impl TrendModel for SmoothedLevel {
    fn name(&self) -> Cow<'_, str> {
        Cow::Borrowed("simple exponential smoothing")
    }

    fn fit(&self, y: &[f64]) -> Result<Box<dyn FittedTrendModel + Sync + Send>, Box<dyn std::error::Error + Send + Sync + 'static>> {
        let first = *y.first().ok_or("empty series")?;
        let mut best: Option<(f64, Vec<f64>, f64)> = None;
        for alpha in [0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5] {
            let mut level = first;
            let mut sse = 0.0;
            let mut in_sample = Vec::with_capacity(y.len());
            for &value in y {
                in_sample.push(level);
                sse += (value - level).powi(2);
                level += alpha * (value - level);
            }
            if best.as_ref().is_none_or(|(best_sse, _, _)| sse < *best_sse) {
                best = Some((sse, in_sample, level));
            }
        }
        let (_, in_sample, level) = best.ok_or("no smoothing weight")?;
        Ok(Box::new(FittedSmoothedLevel { in_sample, level }))
    }
}

impl FittedTrendModel for FittedSmoothedLevel {
    fn predict_inplace(&self, horizon: usize, _level: Option<f64>, forecast: &mut Forecast) -> Result<(), Box<dyn std::error::Error + Send + Sync + 'static>> {
        // Intervals come from the backtest residuals, not from the trend model.
        forecast.intervals = None;
        forecast.point = vec![self.level; horizon];
        Ok(())
    }

    fn predict_in_sample_inplace(&self, _level: Option<f64>, forecast: &mut Forecast) -> Result<(), Box<dyn std::error::Error + Send + Sync + 'static>> {
        forecast.intervals = None;
        forecast.point = self.in_sample.clone();
        Ok(())
    }

    fn training_data_size(&self) -> Option<usize> {
        Some(self.in_sample.len())
    }
}

/// MSTL on the last (up to) eight weeks: older weeks only slow the LOESS passes down and tie
/// the seasonal shape to a past level.
fn mstl(history: &[f64], seasons: Seasons, horizon: usize) -> Result<Vec<f64>> {
    let per_week = seasons.per_week();
    let window = (8 * per_week).min(history.len() / per_week * per_week);
    let recent = &history[history.len() - window..];
    let model = MSTLModel::new(vec![seasons.per_day, per_week], SmoothedLevel);
    let fitted = model.fit(recent).map_err(|error| Error::Model { model: "mstl", message: error.to_string() })?;
    let forecast = fitted.predict(horizon, None).map_err(|error| Error::Model { model: "mstl", message: error.to_string() })?;
    Ok(forecast.point)
}

/// Weeks the profile looks back, how far a day may stray from its weekday's median before it is
/// treated as a holiday or an outage, and how fast older weeks lose weight.
const PROFILE_WEEKS: usize = 8;
const PROFILE_OUTLIER_RATIO: f64 = 0.25;
const PROFILE_DECAY: f64 = 0.85;

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// Day totals per weekday with outlier days left out, times the weekday's intraday shape.
fn profile(history: &[f64], seasons: Seasons, horizon: usize) -> Vec<f64> {
    let per_day = seasons.per_day;
    let n = history.len();
    // Complete calendar days in the history, by day number from the series' first day.
    let first_day = seasons.phase.div_ceil(per_day);
    let end_day = (n + seasons.phase) / per_day;
    let day_start = |day: usize| day * per_day - seasons.phase;
    let day_total = |day: usize| history[day_start(day)..day_start(day) + per_day].iter().sum::<f64>();

    // Forecast day totals and shapes for the seven weekdays (by day number mod 7).
    let mut day_forecast = [0.0f64; 7];
    let mut shapes = vec![vec![0.0f64; per_day]; 7];
    for weekday in 0..7 {
        let days: Vec<usize> = (first_day..end_day).rev().filter(|day| day % 7 == weekday).take(PROFILE_WEEKS).collect();
        if days.is_empty() {
            continue;
        }
        let totals: Vec<f64> = days.iter().map(|&day| day_total(day)).collect();
        let typical = median(&mut totals.clone());
        let tolerance = (PROFILE_OUTLIER_RATIO * typical).max(3.0 * typical.sqrt());
        let mut weight_sum = 0.0;
        let mut total_sum = 0.0;
        let mut shape = vec![0.0f64; per_day];
        for (age, (&day, &total)) in days.iter().zip(&totals).enumerate() {
            if (total - typical).abs() > tolerance {
                continue;
            }
            let weight = PROFILE_DECAY.powi(age as i32);
            weight_sum += weight;
            total_sum += weight * total;
            for (slot, value) in history[day_start(day)..day_start(day) + per_day].iter().enumerate() {
                shape[slot] += weight * value;
            }
        }
        if weight_sum == 0.0 {
            continue;
        }
        day_forecast[weekday] = total_sum / weight_sum;
        if total_sum > 0.0 {
            shape.iter_mut().for_each(|share| *share /= total_sum);
        }
        shapes[weekday] = shape;
    }
    (0..horizon)
        .map(|t| {
            let (day, slot) = seasons.day_and_slot(n + t);
            day_forecast[day % 7] * shapes[day % 7][slot]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three weeks of hourly data, each day a flat 10 per hour except day 16 (a holiday).
    fn weeks_with_holiday() -> Vec<f64> {
        let mut values = vec![10.0; 21 * 24];
        for value in &mut values[16 * 24..17 * 24] {
            *value = 1.0;
        }
        values
    }

    #[test]
    fn each_method_reproduces_a_flat_week() {
        let seasons = Seasons { per_day: 24, phase: 0 };
        let history = vec![2.0; 3 * 168];
        for method in Method::ALL {
            let forecast = point_forecast(method, &history, seasons, 30).unwrap();
            assert!(forecast.iter().all(|value| (value - 2.0).abs() < 1e-4), "{}: {forecast:?}", method.name());
        }
    }

    #[test]
    fn profile_ignores_a_holiday_the_baselines_copy() {
        let seasons = Seasons { per_day: 24, phase: 0 };
        let history = weeks_with_holiday();
        let profile = point_forecast(Method::Profile, &history, seasons, 168).unwrap();
        let naive = point_forecast(Method::SeasonalNaive, &history, seasons, 168).unwrap();
        assert!((profile[2 * 24 + 5] - 10.0).abs() < 1e-9, "{}", profile[2 * 24 + 5]);
        assert!((naive[2 * 24 + 5] - 1.0).abs() < 1e-9);
    }

    #[test]
    fn too_short_history_is_an_error() {
        let seasons = Seasons { per_day: 24, phase: 0 };
        let error = point_forecast(Method::Mstl, &[1.0; 200], seasons, 24).unwrap_err();
        assert_eq!(error.to_string(), "series: mstl needs at least 2 week(s) of history (336 intervals), the series has 200");
    }
}
