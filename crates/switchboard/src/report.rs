//! `switchboard report NAME`: the dashboard reports of the store (pending, customer, realtime,
//! sla, categories, agents, cost, automation) over a date range in a time zone, printed as JSON
//! (the rows with the window and the notes) or CSV (the rows). The reports themselves live in
//! `sb_store::reports`; this is argument parsing and output.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use chrono::Utc;
use clap::{Args, ValueEnum};
use sb_store::{ReportName, ReportWindow, SlaDimension, Store, WindowParams};
use serde::Serialize;
use serde_json::json;

use crate::server::{open_store, runtime, DbArgs};

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Json,
    Csv,
}

#[derive(Args)]
pub struct ReportArgs {
    /// pending, customer, realtime, sla, categories, agents, cost or automation.
    name: String,
    #[command(flatten)]
    db: DbArgs,
    /// Start: a date (2026-03-01), a local time (2026-03-01T08:00) or an instant
    /// (2026-03-01T08:00:00Z) [default: six days before `--to`'s day].
    #[arg(long)]
    from: Option<String>,
    /// End: as `--from`; a date includes the whole day [default: now].
    #[arg(long)]
    to: Option<String>,
    /// IANA time zone of the dates and periods (Europe/Berlin) [default: UTC].
    #[arg(long)]
    tz: Option<String>,
    /// Cut the rows by hour, day, week or month.
    #[arg(long)]
    period: Option<String>,
    /// sla: break down by category, intent, priority, severity, channel or all.
    #[arg(long)]
    by: Option<String>,
    /// customer: the customer id.
    #[arg(long)]
    customer: Option<i64>,
    /// pending: tickets to list (1–1000).
    #[arg(long, default_value_t = 200)]
    limit: i64,
    #[arg(long, value_enum, default_value_t = ReportFormat::Json)]
    format: ReportFormat,
}

/// The rows as JSON with the window and the notes, or as CSV.
fn print_rows<Row: Serialize + Default>(format: ReportFormat, name: ReportName, window: Option<&ReportWindow>, rows: &[Row], extra: serde_json::Value) -> Result<()> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match format {
        ReportFormat::Csv => sb_store::write_csv(rows, &mut out)?,
        ReportFormat::Json => {
            let mut document = json!({"report": name.as_str(), "notes": name.notes(), "rows": rows});
            if let Some(window) = window {
                document["from"] = json!(window.local(window.from));
                document["to"] = json!(window.local(window.to));
                document["time_zone"] = json!(window.time_zone.name());
                document["period"] = json!(window.period);
            }
            if let (Some(fields), serde_json::Value::Object(extra)) = (document.as_object_mut(), extra) {
                fields.extend(extra);
            }
            serde_json::to_writer_pretty(&mut out, &document)?;
            writeln!(out)?;
        }
    }
    out.flush()?;
    Ok(())
}

pub fn report(args: ReportArgs) -> Result<ExitCode> {
    let names: Vec<&str> = ReportName::ALL.iter().map(|name| name.as_str()).collect();
    let Some(name) = ReportName::parse(&args.name) else {
        bail!("unknown report `{}`: use one of {}", args.name, names.join(", "));
    };
    if args.by.is_some() && name != ReportName::Sla {
        bail!("--by applies to the sla report only");
    }
    if args.customer.is_some() != (name == ReportName::Customer) {
        bail!("--customer ID is needed by the customer report, and only by it");
    }
    if !(1..=1000).contains(&args.limit) {
        bail!("--limit {} is outside 1 to 1000", args.limit);
    }
    let now = Utc::now();
    let params = WindowParams { from: args.from.as_deref(), to: args.to.as_deref(), time_zone: args.tz.as_deref(), period: args.period.as_deref() };
    let window = ReportWindow::parse(&params, now).context("bad report window")?;
    let dimension = SlaDimension::parse(args.by.as_deref())?;
    runtime()?.block_on(async {
        let store = open_store(&args.db.db).await?;
        let outcome = run(&store, &args, name, &window, dimension, now).await;
        store.close().await;
        outcome
    })?;
    Ok(ExitCode::SUCCESS)
}

async fn run(store: &Store, args: &ReportArgs, name: ReportName, window: &ReportWindow, dimension: SlaDimension, now: chrono::DateTime<Utc>) -> Result<()> {
    let none = json!({});
    match name {
        ReportName::Pending => print_rows(args.format, name, None, &store.report_pending(window.time_zone, args.limit, now).await?, json!({"time_zone": window.time_zone.name()})),
        ReportName::Realtime => print_rows(args.format, name, None, &[store.report_realtime(window.time_zone, now).await?], json!({"time_zone": window.time_zone.name()})),
        ReportName::Customer => {
            let customer_id = args.customer.unwrap_or_default();
            let view = store.report_customer(customer_id, window).await?;
            let extra = json!({
                "customer": view.customer,
                "n_tickets": view.n_tickets,
                "n_open_tickets": view.n_open_tickets,
                "first_contact_at": view.first_contact_at,
                "last_contact_at": view.last_contact_at,
                "avg_sentiment": view.avg_sentiment,
                "sentiment_trend": view.sentiment_trend,
                "orders": view.orders,
            });
            print_rows(args.format, name, Some(window), &view.tickets, extra)
        }
        ReportName::Sla => print_rows(args.format, name, Some(window), &store.report_sla(window, dimension, now).await?, none),
        ReportName::Categories => print_rows(args.format, name, Some(window), &store.report_categories(window, now).await?, none),
        ReportName::Agents => print_rows(args.format, name, Some(window), &store.report_agents(window, now).await?, none),
        ReportName::Cost => print_rows(args.format, name, Some(window), &store.report_cost(window).await?, none),
        ReportName::Automation => print_rows(args.format, name, Some(window), &store.report_automation(window).await?, none),
    }
}
