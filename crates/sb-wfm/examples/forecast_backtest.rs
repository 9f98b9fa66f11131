//! Backtest of every forecasting method on an arrival CSV (default: the development series),
//! weekly origins over the last eight weeks, horizon 168 intervals: the figures in
//! docs/benchmarks-wfm.md.
//!
//! `cargo run --release -p sb-wfm --example forecast_backtest [-- FILE.csv [best|inverse]]`

use sb_wfm::forecast::{backtest, BacktestOptions, Combine, ForecastOptions, Series};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/arrivals/anonymous_bank_1999H1_hourly.csv").to_string());
    let combine = match args.next().as_deref() {
        Some("inverse") => Combine::InverseSquaredError,
        _ => Combine::Best,
    };
    let series = Series::from_csv_reader(std::fs::File::open(&path)?, None)?;
    let mut forecast_options = ForecastOptions::new(168);
    forecast_options.combine = combine;
    let options = BacktestOptions { forecast: forecast_options, evaluation_origins: 8 };
    let started = Instant::now();
    let report = backtest(&series, options, &mut |_, _| {})?;
    let elapsed = started.elapsed();
    println!("{path}: {} intervals of {} min, origins {} .. {}", series.len(), series.interval_minutes, report.origins[0], report.origins[report.origins.len() - 1]);
    println!("{:<16} {:>7} {:>7} {:>7} {:>7}", "method", "MASE", "WAPE", "cov80", "cov95");
    for score in &report.scores {
        println!("{:<16} {:>7.3} {:>7.3} {:>7.3} {:>7.3}", score.method, score.mase, score.wape, score.coverage80, score.coverage95);
    }
    println!("MASE by origin:");
    for (origin_idx, origin) in report.origins.iter().enumerate() {
        let row: Vec<String> = report.scores.iter().map(|score| format!("{} {:.3}", score.method, score.mase_by_origin[origin_idx])).collect();
        println!("  {}  {}", origin.date(), row.join("  "));
    }
    let baseline = report.score("mean_4w").ok_or("no baseline score")?.mase;
    let auto = report.score("auto").ok_or("no auto score")?.mase;
    println!("auto MASE {:.3} vs mean_4w {:.3}: {:+.1} %", auto, baseline, 100.0 * (auto / baseline - 1.0));
    println!("backtest time {:.2} s", elapsed.as_secs_f64());
    Ok(())
}
