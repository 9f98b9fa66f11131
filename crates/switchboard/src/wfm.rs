//! The workforce-management commands: `forecast` (and `forecast backtest`) and `staff`. Argument
//! parsing and output only; the maths lives in sb-wfm.

use crate::progress;
use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use sb_wfm::erlang::{self, ServiceLevelTarget, Target, Workload};
use sb_wfm::forecast::{self, BacktestOptions, ForecastOptions, Series};
use serde_json::json;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
    Csv,
}

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ForecastArgs {
    #[command(subcommand)]
    command: Option<ForecastCommand>,
    #[command(flatten)]
    forecast: ForecastRunArgs,
}

#[derive(Subcommand)]
enum ForecastCommand {
    /// Score every method against the baselines at weekly origins: MASE, WAPE, interval coverage.
    Backtest(BacktestArgs),
}

#[derive(Args)]
struct SeriesArgs {
    /// CSV of arrivals: interval start (ISO 8601), count; header names are free.
    #[arg(long)]
    arrivals: Option<PathBuf>,
    /// Instead of --arrivals: the system's own arrivals, counted from the inbound messages of
    /// this database (`sqlite://FILE` or `postgres://…`), in UTC intervals.
    #[arg(long, conflicts_with = "arrivals")]
    db: Option<String>,
    /// Weeks of history read from --db, ending with the last complete interval.
    #[arg(long, default_value_t = 8, requires = "db")]
    weeks: u32,
    /// Interval length (15m, 30m or 1h); inferred from the timestamps when omitted.
    #[arg(long)]
    interval: Option<String>,
    /// Intervals to forecast.
    #[arg(long, default_value_t = 168)]
    horizon: usize,
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    format: OutputFormat,
}

#[derive(Args)]
struct ForecastRunArgs {
    #[command(flatten)]
    series: SeriesArgs,
}

#[derive(Args)]
struct BacktestArgs {
    #[command(flatten)]
    series: SeriesArgs,
    /// Weekly evaluation origins, the last one a horizon before the end of the series.
    #[arg(long, default_value_t = 8)]
    origins: usize,
}

/// Parses `180s`, `3m`, `3min`, `1h`, `1.5h` or a bare number of seconds.
fn parse_duration_seconds(flag: &str, text: &str) -> Result<f64> {
    let trimmed = text.trim();
    let split = trimmed.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let multiplier = match unit.trim() {
        "" | "s" | "sec" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        _ => f64::NAN,
    };
    match number.parse::<f64>() {
        Ok(value) if multiplier.is_finite() && value.is_finite() && value > 0.0 => Ok(value * multiplier),
        _ => bail!("invalid {flag} `{text}`: give a positive duration such as 180s, 3m or 1h"),
    }
}

fn read_series(series_args: &SeriesArgs) -> Result<Series> {
    if series_args.arrivals.is_none() && series_args.db.is_none() {
        bail!("give the arrivals with --arrivals FILE.csv (columns: interval start, count), or --db URL for the system's own");
    }
    let interval_minutes = series_args
        .interval
        .as_deref()
        .map(|text| {
            let seconds = parse_duration_seconds("--interval", text)?;
            match seconds as u32 {
                900 | 1800 | 3600 if seconds.fract() == 0.0 => Ok(seconds as u32 / 60),
                _ => bail!("invalid --interval `{text}`: use 15m, 30m or 1h"),
            }
        })
        .transpose()?;
    if series_args.horizon == 0 {
        bail!("--horizon must be at least 1 interval");
    }
    if let Some(db) = &series_args.db {
        return series_from_store(db, series_args.weeks, interval_minutes.unwrap_or(60));
    }
    let path = series_args.arrivals.as_ref().expect("checked above");
    let file = std::fs::File::open(path).with_context(|| format!("cannot open {}: check the path", path.display()))?;
    Series::from_csv_reader(std::io::BufReader::new(file), interval_minutes).with_context(|| describe_csv_problem(path))
}

/// The inbound messages of the last `weeks` weeks per interval, up to the start of the
/// current interval (a partial interval would look like a drop in volume).
fn series_from_store(db: &str, weeks: u32, interval_minutes: u32) -> Result<Series> {
    if weeks == 0 {
        bail!("--weeks must be at least 1");
    }
    let interval_ms = i64::from(interval_minutes) * 60_000;
    let end_ms = chrono::Utc::now().timestamp_millis() / interval_ms * interval_ms;
    let start_ms = end_ms - i64::from(weeks) * 7 * 24 * 3_600_000;
    let (start, end) = (chrono::DateTime::from_timestamp_millis(start_ms).context("time out of range")?, chrono::DateTime::from_timestamp_millis(end_ms).context("time out of range")?);
    let counts = crate::server::runtime()?.block_on(async {
        let store = crate::server::open_store(db).await.with_context(|| format!("cannot open the database {}", sb_store::redact_url(db)))?;
        let counts = store.inbound_arrivals(start, end, interval_ms).await;
        store.close().await;
        Ok::<_, anyhow::Error>(counts?)
    })?;
    if counts.iter().all(|&count| count == 0) {
        bail!("the database has no inbound messages in the last {weeks} weeks: nothing to forecast from (give --arrivals FILE.csv, or more --weeks)");
    }
    Series::new(start.naive_utc(), interval_minutes, counts.into_iter().map(|count| count as f64).collect()).context("cannot build the arrival series from the database")
}

fn describe_csv_problem(path: &Path) -> String {
    format!("cannot use {} as arrivals (expected rows `interval start,count`, e.g. `2024-03-01T08:00:00,42`; fix or remove the row named below)", path.display())
}

pub fn forecast(args: ForecastArgs) -> Result<ExitCode> {
    if let Some(ForecastCommand::Backtest(backtest_args)) = args.command {
        return backtest(backtest_args);
    }
    let series_args = &args.forecast.series;
    let series = read_series(series_args)?;
    let output = forecast::forecast(&series, ForecastOptions::new(series_args.horizon))?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match series_args.format {
        OutputFormat::Json => {
            serde_json::to_writer(&mut out, &output.rows)?;
            writeln!(out)?;
        }
        OutputFormat::Csv => {
            writeln!(out, "timestamp,forecast,lo80,hi80,lo95,hi95")?;
            for row in &output.rows {
                writeln!(out, "{},{:.3},{:.3},{:.3},{:.3},{:.3}", row.timestamp.format("%Y-%m-%dT%H:%M:%S"), row.forecast, row.lo80, row.hi80, row.lo95, row.hi95)?;
            }
        }
        OutputFormat::Table => {
            let weights: Vec<String> = output.weights.iter().map(|(method, weight)| format!("{} {:.2}", method.name(), weight)).collect();
            writeln!(out, "method weights (from backtests before the origin): {}", weights.join(", "))?;
            writeln!(out, "{:<20} {:>9} {:>9} {:>9} {:>9} {:>9}", "interval start", "forecast", "lo80", "hi80", "lo95", "hi95")?;
            for row in &output.rows {
                writeln!(out, "{:<20} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>9.1}", row.timestamp.format("%Y-%m-%d %H:%M"), row.forecast, row.lo80, row.hi80, row.lo95, row.hi95)?;
            }
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn backtest(args: BacktestArgs) -> Result<ExitCode> {
    let series = read_series(&args.series)?;
    if args.origins == 0 {
        bail!("--origins must be at least 1");
    }
    let bar = progress::bar(args.origins as u64, "backtest origins");
    let options = BacktestOptions { forecast: ForecastOptions::new(args.series.horizon), evaluation_origins: args.origins };
    let report = forecast::backtest(&series, options, &mut |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    })?;
    bar.finish_and_clear();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match args.series.format {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &report)?;
            writeln!(out)?;
        }
        OutputFormat::Csv => {
            writeln!(out, "method,mase,wape,coverage80,coverage95")?;
            for score in &report.scores {
                writeln!(out, "{},{:.4},{:.4},{:.4},{:.4}", score.method, score.mase, score.wape, score.coverage80, score.coverage95)?;
            }
        }
        OutputFormat::Table => {
            let first = report.origins.first().map(|origin| origin.to_string()).unwrap_or_default();
            let last = report.origins.last().map(|origin| origin.to_string()).unwrap_or_default();
            writeln!(out, "{} weekly origins {first} .. {last}, horizon {} intervals", report.origins.len(), report.horizon)?;
            writeln!(out, "MASE scaled by the in-sample seasonal naive MAE (season {} intervals = one week)", report.mase_season)?;
            writeln!(out, "{:<16} {:>7} {:>7} {:>7} {:>7} {:>10}", "method", "MASE", "WAPE", "cov80", "cov95", "vs mean_4w")?;
            let baseline = report.score("mean_4w").map(|score| score.mase);
            for score in &report.scores {
                let relative = baseline.map_or(String::from("-"), |baseline| format!("{:+.1} %", 100.0 * (score.mase / baseline - 1.0)));
                writeln!(out, "{:<16} {:>7.3} {:>7.3} {:>7.3} {:>7.3} {:>10}", score.method, score.mase, score.wape, score.coverage80, score.coverage95, relative)?;
            }
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct StaffArgs {
    /// Contacts arriving in the interval.
    #[arg(long)]
    calls: f64,
    /// Interval length, e.g. 30m or 1h.
    #[arg(long, default_value = "30m")]
    interval: String,
    /// Average handling time (talk plus wrap-up), e.g. 180s.
    #[arg(long)]
    aht: String,
    /// Service-level target: share answered within a time, e.g. 80/20s.
    #[arg(long)]
    target: Option<String>,
    /// Average speed of answer not to exceed, e.g. 30s.
    #[arg(long)]
    asa: Option<String>,
    /// Share of paid time agents are not on the phones (breaks, training, absence), e.g. 0.3.
    #[arg(long, default_value_t = 0.0)]
    shrinkage: f64,
    /// Occupancy cap, e.g. 0.85.
    #[arg(long)]
    max_occupancy: Option<f64>,
    /// Mean caller patience (Erlang A): adds abandonment figures at the Erlang C staffing and the
    /// staffing Erlang A asks for.
    #[arg(long)]
    patience: Option<String>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

pub fn staff(args: StaffArgs) -> Result<ExitCode> {
    let interval_seconds = parse_duration_seconds("--interval", &args.interval)?;
    let aht_seconds = parse_duration_seconds("--aht", &args.aht)?;
    let service_level = args.target.as_deref().map(ServiceLevelTarget::parse).transpose().context("invalid --target")?;
    let max_asa_seconds = args.asa.as_deref().map(|text| parse_duration_seconds("--asa", text)).transpose()?;
    if service_level.is_none() && max_asa_seconds.is_none() && args.max_occupancy.is_none() {
        bail!("give a target: --target 80/20s, --asa 30s or --max-occupancy 0.85");
    }
    let patience_seconds = args.patience.as_deref().map(|text| parse_duration_seconds("--patience", text)).transpose()?;
    let workload = Workload::new(args.calls, interval_seconds, aht_seconds).context("invalid --calls, --interval or --aht")?;
    let target = Target { service_level, max_asa_seconds, max_occupancy: args.max_occupancy };
    let staffing = erlang::staff(&workload, &target, args.shrinkage)?;
    let answer_within = service_level.map_or(0.0, |target| target.seconds);
    // With a patience estimate: Erlang A at the Erlang C staffing, and the (smaller) staffing
    // Erlang A itself asks for.
    let erlang_a = patience_seconds
        .map(|patience| -> Result<_> {
            let at_erlang_c = erlang::erlang_a(&workload, staffing.agents, patience, answer_within)?;
            let own = erlang::agents_needed_erlang_a(&workload, patience, &target)?;
            Ok((at_erlang_c, own))
        })
        .transpose()?;
    if args.json {
        let mut value = serde_json::to_value(staffing)?;
        if let (Some((erlang_a, own)), Some(object)) = (erlang_a, value.as_object_mut()) {
            object.insert("probability_abandon".into(), json!(erlang_a.probability_abandon));
            object.insert("erlang_a_probability_wait".into(), json!(erlang_a.probability_wait));
            object.insert("erlang_a_service_level".into(), json!(erlang_a.service_level));
            object.insert("erlang_a_asa_seconds".into(), json!(erlang_a.asa_seconds));
            object.insert("erlang_a_agents".into(), json!(own.agents));
            object.insert("erlang_a_scheduled_agents".into(), json!(erlang::scheduled_agents(own.agents, args.shrinkage)?));
        }
        println!("{value}");
        return Ok(ExitCode::SUCCESS);
    }
    println!("load: {:.2} Erlangs ({} calls in {} s, AHT {} s)", workload.erlangs(), args.calls, interval_seconds, aht_seconds);
    println!("agents (Erlang C):   {}", staffing.agents);
    println!("scheduled agents:    {} (shrinkage {:.0} %)", staffing.scheduled_agents, 100.0 * args.shrinkage);
    match service_level {
        Some(target) => println!("service level:       {:.4} within {} s", staffing.service_level, target.seconds),
        None => println!("service level:       {:.4} answered at once", staffing.service_level),
    }
    println!("probability of wait: {:.4}", staffing.probability_wait);
    println!("ASA:                 {:.2} s", staffing.asa_seconds);
    println!("occupancy:           {:.3}", staffing.occupancy);
    if let Some((erlang_a, own)) = erlang_a {
        println!(
            "with abandonment (Erlang A) at {} agents: P(wait) {:.5}, P(abandon) {:.6}, service level {:.4}, ASA {:.3} s",
            erlang_a.agents, erlang_a.probability_wait, erlang_a.probability_abandon, erlang_a.service_level, erlang_a.asa_seconds
        );
        println!("agents under Erlang A: {} (P(abandon) {:.4}, service level {:.4})", own.agents, own.probability_abandon, own.service_level);
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::parse_duration_seconds;

    #[test]
    fn durations_parse() {
        let cases = [("180s", Some(180.0)), ("3m", Some(180.0)), ("30min", Some(1800.0)), ("1h", Some(3600.0)), ("1.5h", Some(5400.0)), ("90", Some(90.0)), ("0s", None), ("3x", None), ("", None), ("-5s", None)];
        for (text, expect) in cases {
            assert_eq!(parse_duration_seconds("--aht", text).ok(), expect, "{text}");
        }
    }
}
