//! Rolling-origin backtests on the series itself: they weight the methods into the `auto`
//! combination, calibrate prediction intervals, and score every method (MASE, WAPE, coverage).
//!
//! Origins step back one week at a time from the forecast origin. A backtest at origin `o` only
//! uses origins `o_k` whose whole horizon ends by `o` (`o_k + horizon ≤ o`), and every forecast
//! slices `values[..o_k]`; so weights and intervals at `o` are built from data before `o` only,
//! and the `auto` forecasts used to calibrate its own intervals are themselves honest.
//!
//! Intervals: residuals are standardised by a negative-binomial-like scale
//! `s(f) = sqrt(1 + f + κ²·f²)` (Poisson noise plus a share proportional to the level; the 1
//! keeps night-time intervals from collapsing to a point), κ² fitted by least squares on the
//! calibration residuals; the 10/90 % and 2.5/97.5 % quantiles of the standardised residuals per
//! horizon day give the 80 % and 95 % bounds.

use super::methods::{point_forecast, Method};
use super::{Seasons, Series};
use crate::{Error, Result};
use chrono::NaiveDateTime;
use serde::Serialize;
use std::collections::HashMap;

/// How the `auto` forecast is made from the methods' recent backtest errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Combine {
    /// Weights proportional to 1 / MAE² over the selection origins.
    InverseSquaredError,
    /// The single method with the lowest MAE over the selection origins.
    Best,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ForecastOptions {
    pub horizon: usize,
    /// Past origins whose errors set the `auto` weights.
    pub selection_origins: usize,
    /// Past origins whose residuals calibrate the intervals.
    pub calibration_origins: usize,
    pub combine: Combine,
}

impl ForecastOptions {
    pub fn new(horizon: usize) -> ForecastOptions {
        ForecastOptions { horizon, selection_origins: 4, calibration_origins: 6, combine: Combine::Best }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BacktestOptions {
    pub forecast: ForecastOptions,
    /// Weekly evaluation origins, the last one `horizon` intervals before the end of the series.
    pub evaluation_origins: usize,
}

/// One forecast interval, as printed by `switchboard forecast --format json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ForecastRow {
    #[serde(serialize_with = "serialize_timestamp")]
    pub timestamp: NaiveDateTime,
    pub forecast: f64,
    pub lo80: f64,
    pub hi80: f64,
    pub lo95: f64,
    pub hi95: f64,
}

fn serialize_timestamp<S: serde::Serializer>(timestamp: &NaiveDateTime, serializer: S) -> std::result::Result<S::Ok, S::Error> {
    serializer.serialize_str(&timestamp.format("%Y-%m-%dT%H:%M:%S").to_string())
}

/// The forecast from the end of a series and the weights `auto` gave each method.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ForecastOutput {
    pub rows: Vec<ForecastRow>,
    pub weights: Vec<(Method, f64)>,
}

/// Scores of one method over the evaluation origins.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MethodScore {
    pub method: String,
    /// Mean over origins of MAE / in-sample MAE of the weekly seasonal naive forecast.
    pub mase: f64,
    /// Σ|error| / Σ actual over all evaluated intervals.
    pub wape: f64,
    pub coverage80: f64,
    pub coverage95: f64,
    /// MASE at each evaluation origin, in the order of [`BacktestReport::origins`].
    pub mase_by_origin: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BacktestReport {
    pub horizon: usize,
    /// Season of the MASE scale, in intervals (one week).
    pub mase_season: usize,
    #[serde(serialize_with = "serialize_timestamps")]
    pub origins: Vec<NaiveDateTime>,
    pub scores: Vec<MethodScore>,
}

fn serialize_timestamps<S: serde::Serializer>(timestamps: &[NaiveDateTime], serializer: S) -> std::result::Result<S::Ok, S::Error> {
    serializer.collect_seq(timestamps.iter().map(|timestamp| timestamp.format("%Y-%m-%dT%H:%M:%S").to_string()))
}

impl BacktestReport {
    pub fn score(&self, method: &str) -> Option<&MethodScore> {
        self.scores.iter().find(|score| score.method == method)
    }
}

/// What is forecast: one method, or the weighted combination of all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Forecaster {
    Base(Method),
    Auto,
}

impl Forecaster {
    fn name(self) -> &'static str {
        match self {
            Forecaster::Base(method) => method.name(),
            Forecaster::Auto => "auto",
        }
    }
}

struct PointForecast {
    values: Vec<f64>,
    weights: Vec<(Method, f64)>,
}

struct Bounds {
    lo80: Vec<f64>,
    hi80: Vec<f64>,
    lo95: Vec<f64>,
    hi95: Vec<f64>,
}

/// Forecasts per (forecaster, origin), computed once: consecutive evaluation origins share most
/// of their selection and calibration origins.
struct Backtester<'a> {
    values: &'a [f64],
    seasons: Seasons,
    options: ForecastOptions,
    step: usize,
    cache: HashMap<(Forecaster, usize), Option<std::rc::Rc<PointForecast>>>,
}

impl<'a> Backtester<'a> {
    /// Internally every forecast covers at least a week, so that a short requested horizon (a
    /// few hours) is still selected and calibrated on whole weekly cycles, not on a handful of
    /// night hours; callers read the first `horizon` values.
    fn new(values: &'a [f64], seasons: Seasons, options: ForecastOptions) -> Backtester<'a> {
        let options = ForecastOptions { horizon: options.horizon.max(seasons.per_week()), ..options };
        Backtester { values, seasons, options, step: seasons.per_week(), cache: HashMap::new() }
    }

    /// Origins before `origin` whose whole horizon is observed by `origin` and that have at
    /// least a week of history, newest first.
    fn past_origins(&self, origin: usize, count: usize) -> Vec<usize> {
        let horizon = self.options.horizon;
        (0..count).map_while(|k| origin.checked_sub(horizon + k * self.step)).filter(|&past| past >= self.step).collect()
    }

    fn actual(&self, origin: usize) -> &'a [f64] {
        &self.values[origin..origin + self.options.horizon]
    }

    /// The point forecast at `origin` from `values[..origin]`, or None when the history is too
    /// short for this forecaster.
    fn point(&mut self, forecaster: Forecaster, origin: usize) -> Result<Option<std::rc::Rc<PointForecast>>> {
        if let Some(cached) = self.cache.get(&(forecaster, origin)) {
            return Ok(cached.clone());
        }
        let computed = match forecaster {
            Forecaster::Base(method) => {
                if origin < method.min_weeks() * self.seasons.per_week() {
                    None
                } else {
                    let values = point_forecast(method, &self.values[..origin], self.seasons, self.options.horizon)?;
                    Some(PointForecast { values, weights: vec![(method, 1.0)] })
                }
            }
            Forecaster::Auto => self.auto(origin)?,
        }
        .map(std::rc::Rc::new);
        self.cache.insert((forecaster, origin), computed.clone());
        Ok(computed)
    }

    /// Weights from each method's MAE at the selection origins before `origin`, then the
    /// weighted forecast. With no usable past origin it falls back to the profile method.
    fn auto(&mut self, origin: usize) -> Result<Option<PointForecast>> {
        let selection = self.past_origins(origin, self.options.selection_origins);
        let mut scored: Vec<(Method, f64)> = Vec::new();
        for method in Method::ALL {
            let mut abs_error = 0.0;
            let mut n_origins = 0;
            for &past in &selection {
                let Some(past_forecast) = self.point(Forecaster::Base(method), past)? else { continue };
                abs_error += mean_abs_error(&past_forecast.values, self.actual(past));
                n_origins += 1;
            }
            // A method is compared only where it could forecast at every selection origin.
            if n_origins > 0 && n_origins == selection.len() {
                scored.push((method, abs_error / n_origins as f64));
            }
        }
        let weights: Vec<(Method, f64)> = if scored.is_empty() {
            vec![(Method::Profile, 1.0)]
        } else {
            match self.options.combine {
                Combine::Best => {
                    let best = scored.iter().min_by(|a, b| a.1.total_cmp(&b.1)).map(|(method, _)| *method).unwrap_or(Method::Profile);
                    vec![(best, 1.0)]
                }
                Combine::InverseSquaredError => {
                    let inverse: Vec<(Method, f64)> = scored.iter().map(|&(method, mae)| (method, 1.0 / mae.max(1e-9).powi(2))).collect();
                    let total: f64 = inverse.iter().map(|(_, weight)| weight).sum();
                    inverse.into_iter().map(|(method, weight)| (method, weight / total)).collect()
                }
            }
        };
        let mut combined = vec![0.0; self.options.horizon];
        for &(method, weight) in &weights {
            let Some(method_forecast) = self.point(Forecaster::Base(method), origin)? else {
                return Ok(None);
            };
            for (sum, value) in combined.iter_mut().zip(&method_forecast.values) {
                *sum += weight * value;
            }
        }
        Ok(Some(PointForecast { values: combined, weights }))
    }

    /// Interval bounds around `point` at `origin` from the forecaster's residuals at the
    /// calibration origins before it.
    fn bounds(&mut self, forecaster: Forecaster, origin: usize, point: &[f64]) -> Result<Bounds> {
        let horizon = self.options.horizon;
        let per_day = self.seasons.per_day;
        let mut residuals: Vec<(usize, f64, f64)> = Vec::new(); // (horizon step, forecast, actual)
        for past in self.past_origins(origin, self.options.calibration_origins) {
            let Some(past_forecast) = self.point(forecaster, past)? else { continue };
            let actual = self.actual(past);
            residuals.extend(past_forecast.values.iter().zip(actual).enumerate().map(|(step, (&f, &y))| (step, f, y)));
        }
        // κ² by least squares of (r² − f) on f², through the origin, never negative.
        let numerator: f64 = residuals.iter().map(|&(_, f, y)| ((y - f).powi(2) - f) * f * f).sum();
        let denominator: f64 = residuals.iter().map(|&(_, f, _)| f.powi(4)).sum();
        let kappa_squared = if denominator > 0.0 { (numerator / denominator).max(0.0) } else { 0.01 };
        let scale = |f: f64| (1.0 + f + kappa_squared * f * f).sqrt();
        let n_buckets = horizon.div_ceil(per_day);
        let mut by_bucket: Vec<Vec<f64>> = vec![Vec::new(); n_buckets];
        for &(step, f, y) in &residuals {
            by_bucket[step / per_day].push((y - f) / scale(f));
        }
        // Normal quantiles when there is nothing to calibrate on (a short series).
        let fallback = [-1.2816, 1.2816, -1.96, 1.96];
        let quantiles: Vec<[f64; 4]> = by_bucket
            .iter_mut()
            .map(|standardised| {
                if standardised.len() < 20 {
                    return fallback;
                }
                standardised.sort_by(f64::total_cmp);
                [quantile(standardised, 0.1), quantile(standardised, 0.9), quantile(standardised, 0.025), quantile(standardised, 0.975)]
            })
            .collect();
        let mut bounds = Bounds { lo80: Vec::with_capacity(horizon), hi80: Vec::with_capacity(horizon), lo95: Vec::with_capacity(horizon), hi95: Vec::with_capacity(horizon) };
        for (step, &f) in point.iter().enumerate() {
            let [q10, q90, q025, q975] = quantiles[step / per_day];
            let s = scale(f);
            bounds.lo80.push((f + q10 * s).max(0.0).min(f));
            bounds.hi80.push((f + q90 * s).max(f));
            bounds.lo95.push((f + q025 * s).max(0.0).min(f));
            bounds.hi95.push((f + q975 * s).max(f));
        }
        Ok(bounds)
    }
}

/// Linear-interpolation quantile of sorted values (Hyndman & Fan type 7).
fn quantile(sorted: &[f64], probability: f64) -> f64 {
    let position = probability * (sorted.len() - 1) as f64;
    let below = position.floor() as usize;
    let above = position.ceil() as usize;
    sorted[below] + (sorted[above] - sorted[below]) * (position - below as f64)
}

fn mean_abs_error(forecast: &[f64], actual: &[f64]) -> f64 {
    forecast.iter().zip(actual).map(|(f, y)| (f - y).abs()).sum::<f64>() / actual.len() as f64
}

/// In-sample MAE of the seasonal naive forecast with lag `season` (the MASE denominator).
fn seasonal_naive_scale(history: &[f64], season: usize) -> f64 {
    if history.len() <= season {
        return f64::NAN;
    }
    let n = history.len() - season;
    (season..history.len()).map(|t| (history[t] - history[t - season]).abs()).sum::<f64>() / n as f64
}

fn check_options(series: &Series, horizon: usize) -> Result<()> {
    if horizon == 0 {
        return Err(crate::invalid("horizon", "must be at least one interval"));
    }
    if series.len() < series.seasons().per_week() {
        return Err(Error::Series(format!("{} intervals is less than one week: forecasting needs at least one whole week", series.len())));
    }
    Ok(())
}

/// Forecasts the `horizon` intervals after the end of `series` with the `auto` combination and
/// calibrated 80 % and 95 % intervals.
pub fn forecast(series: &Series, options: ForecastOptions) -> Result<ForecastOutput> {
    check_options(series, options.horizon)?;
    let mut backtester = Backtester::new(&series.values, series.seasons(), options);
    let origin = series.len();
    let point = backtester.point(Forecaster::Auto, origin)?.ok_or_else(|| Error::Series("the history is too short for any method".into()))?;
    let bounds = backtester.bounds(Forecaster::Auto, origin, &point.values)?;
    let rows = (0..options.horizon)
        .map(|step| ForecastRow {
            timestamp: series.timestamp(origin + step),
            forecast: point.values[step],
            lo80: bounds.lo80[step],
            hi80: bounds.hi80[step],
            lo95: bounds.lo95[step],
            hi95: bounds.hi95[step],
        })
        .collect();
    Ok(ForecastOutput { rows, weights: point.weights.clone() })
}

/// Scores every method and `auto` at weekly origins ending at the series' end. `progress` is
/// called with (origins done, origins in all).
pub fn backtest(series: &Series, options: BacktestOptions, progress: &mut dyn FnMut(usize, usize)) -> Result<BacktestReport> {
    let horizon = options.forecast.horizon;
    check_options(series, horizon)?;
    let seasons = series.seasons();
    let per_week = seasons.per_week();
    let last_origin = series.len().checked_sub(horizon).ok_or_else(|| Error::Series("the series is shorter than the horizon".into()))?;
    let mut origins: Vec<usize> = (0..options.evaluation_origins).map_while(|k| last_origin.checked_sub(k * per_week)).filter(|&origin| origin >= 2 * per_week).collect();
    origins.reverse();
    if origins.is_empty() {
        return Err(Error::Series(format!("the series needs at least two weeks before the last {horizon} intervals to backtest")));
    }
    let mut backtester = Backtester::new(&series.values, seasons, options.forecast);
    let forecasters: Vec<Forecaster> = Method::ALL.iter().map(|&method| Forecaster::Base(method)).chain([Forecaster::Auto]).collect();
    // Per forecaster: Σ MASE, Σ|e|, Σ actual, covered 80, covered 95, points, origins.
    let mut sums: Vec<[f64; 7]> = vec![[0.0; 7]; forecasters.len()];
    let mut mase_by_origin: Vec<Vec<f64>> = vec![Vec::new(); forecasters.len()];
    for (done, &origin) in origins.iter().enumerate() {
        progress(done, origins.len());
        let actual = &series.values[origin..origin + horizon];
        let scale = seasonal_naive_scale(&series.values[..origin], per_week);
        for (forecaster_idx, &forecaster) in forecasters.iter().enumerate() {
            let Some(point) = backtester.point(forecaster, origin)? else { continue };
            let bounds = backtester.bounds(forecaster, origin, &point.values)?;
            let sum = &mut sums[forecaster_idx];
            let mae = mean_abs_error(&point.values[..horizon], actual);
            mase_by_origin[forecaster_idx].push(mae / scale);
            sum[0] += mae / scale;
            sum[1] += mae * horizon as f64;
            sum[2] += actual.iter().sum::<f64>();
            for (step, &y) in actual.iter().enumerate() {
                sum[3] += f64::from(u8::from(bounds.lo80[step] <= y && y <= bounds.hi80[step]));
                sum[4] += f64::from(u8::from(bounds.lo95[step] <= y && y <= bounds.hi95[step]));
            }
            sum[5] += horizon as f64;
            sum[6] += 1.0;
        }
    }
    progress(origins.len(), origins.len());
    let scores = forecasters
        .iter()
        .zip(&sums)
        .zip(mase_by_origin)
        .filter(|((_, sum), _)| sum[6] > 0.0)
        .map(|((forecaster, sum), mase_by_origin)| MethodScore {
            method: forecaster.name().to_string(),
            mase: sum[0] / sum[6],
            wape: sum[1] / sum[2],
            coverage80: sum[3] / sum[5],
            coverage95: sum[4] / sum[5],
            mase_by_origin,
        })
        .collect();
    Ok(BacktestReport { horizon, mase_season: per_week, origins: origins.iter().map(|&origin| series.timestamp(origin)).collect(), scores })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A weekly pattern with noise from a fixed linear congruential sequence (no rand needed).
    fn synthetic(weeks: usize) -> Vec<f64> {
        let mut state = 12345u64;
        (0..weeks * 168)
            .map(|idx| {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let noise = (state >> 33) as f64 / (1u64 << 31) as f64 - 0.5;
                let hour = idx % 24;
                let weekday = (idx / 24) % 7;
                let base = if (8..18).contains(&hour) { 40.0 } else { 4.0 };
                let day_factor = if weekday >= 5 { 0.3 } else { 1.0 };
                (base * day_factor * (1.0 + 0.3 * noise)).round()
            })
            .collect()
    }

    #[test]
    fn forecasts_and_bounds_ignore_data_after_the_origin() {
        let values = synthetic(12);
        let origin = 10 * 168;
        let mut altered = values.clone();
        altered[origin..].iter_mut().for_each(|value| *value *= 3.0);
        let seasons = Seasons { per_day: 24, phase: 0 };
        for forecaster in [Forecaster::Base(Method::Profile), Forecaster::Base(Method::Mstl), Forecaster::Auto] {
            let mut original = Backtester::new(&values, seasons, ForecastOptions::new(168));
            let mut changed = Backtester::new(&altered, seasons, ForecastOptions::new(168));
            let point = original.point(forecaster, origin).unwrap().unwrap();
            let point_changed = changed.point(forecaster, origin).unwrap().unwrap();
            assert_eq!(point.values, point_changed.values, "{}", forecaster.name());
            let bounds = original.bounds(forecaster, origin, &point.values).unwrap();
            let bounds_changed = changed.bounds(forecaster, origin, &point.values).unwrap();
            assert_eq!((bounds.lo80, bounds.hi95), (bounds_changed.lo80, bounds_changed.hi95), "{}", forecaster.name());
        }
    }

    #[test]
    fn bounds_are_ordered_and_nonnegative() {
        let start = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap().and_hms_opt(0, 0, 0).unwrap();
        let series = Series::new(start, 60, synthetic(10)).unwrap();
        let output = forecast(&series, ForecastOptions::new(48)).unwrap();
        assert_eq!(output.rows.len(), 48);
        assert_eq!(output.rows[0].timestamp, series.timestamp(series.len()));
        for row in &output.rows {
            assert!(0.0 <= row.lo95 && row.lo95 <= row.lo80 && row.lo80 <= row.forecast && row.forecast <= row.hi80 && row.hi80 <= row.hi95, "{row:?}");
        }
        assert!((output.weights.iter().map(|(_, weight)| weight).sum::<f64>() - 1.0).abs() < 1e-9);
    }

    #[test]
    fn short_series_are_errors() {
        let start = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap().and_hms_opt(0, 0, 0).unwrap();
        let series = Series::new(start, 60, vec![1.0; 100]).unwrap();
        let error = forecast(&series, ForecastOptions::new(24)).unwrap_err();
        assert_eq!(error.to_string(), "series: 100 intervals is less than one week: forecasting needs at least one whole week");
    }
}
