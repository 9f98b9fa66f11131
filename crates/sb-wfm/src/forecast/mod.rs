//! Contact-volume forecasting per interval (15 min, 30 min or an hour): the arrival series and
//! its CSV reader, the forecasting methods, and the rolling-origin backtest that picks weights,
//! calibrates prediction intervals and reports MASE, WAPE and interval coverage.
//!
//! Invariant: a forecast made at an origin reads only `values[..origin]`; the backtest enforces it
//! by slicing, never by convention.

mod backtest;
mod methods;
mod series;

pub use backtest::{backtest, forecast, BacktestOptions, BacktestReport, Combine, ForecastOptions, ForecastOutput, ForecastRow, MethodScore};
pub use methods::{point_forecast, Method};
pub use series::Series;

/// The daily and weekly cycle of a series, and where its first value sits in the day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seasons {
    /// Intervals per day (24 for hourly data, 96 for 15 minutes).
    pub per_day: usize,
    /// Slot of the day of the series' first value (0 when it starts at midnight).
    pub phase: usize,
}

impl Seasons {
    pub fn per_week(&self) -> usize {
        7 * self.per_day
    }

    /// Calendar day (counted from the series' first day) and slot of the day of position `idx`.
    pub fn day_and_slot(&self, idx: usize) -> (usize, usize) {
        let shifted = idx + self.phase;
        (shifted / self.per_day, shifted % self.per_day)
    }
}
