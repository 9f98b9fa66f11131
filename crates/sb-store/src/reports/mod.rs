//! Reports for the supervisor dashboard and data export, computed on the store by indexed
//! queries (migration 0004 adds the indexes): the live queue, real-time metrics, customer 360,
//! SLA compliance, category and agent performance, LLM cost and the automation rate.
//!
//! Every report is one or a few aggregate queries over a [`ReportWindow`] (a date range in an
//! IANA time zone, optionally cut into local periods); the SQL is the same on SQLite and
//! PostgreSQL and the conformance suite checks both give the same rows. Rows are flat so that
//! they export to CSV as they are ([`write_csv`]).
//!
//! Hidden contracts:
//! - The report SQL is built from constants of this module and integers computed here (window
//!   bounds, period starts, `now`, ids); caller text never reaches it. Strings are bound.
//! - Tickets count in the period they were created in; merged tickets are left out (their
//!   messages live on in the ticket they were merged into). Decisions count when they were
//!   made, replies when they were written, LLM calls when they were made.
//! - `now` is an argument: the store never reads the clock.
//! - Averages of durations are wall-clock time (resolution includes nights and weekends);
//!   business-time SLA clocks are the service's, and what they concluded is in the breach
//!   flags and deadlines the reports read.

mod aggregates;
mod cost;
mod live;
mod rollup;
mod window;

use serde::Serialize;

pub use aggregates::{AgentRow, AutomationRow, CategoryRow, SlaDimension, SlaRow};
pub use cost::{CostRow, NewLlmUsage};
pub use rollup::RollupRefresh;
pub use live::{Customer360, CustomerOrderRow, CustomerTicketRow, PendingRow, RealtimeRow, SentimentPoint};
pub use window::{parse_time_zone, start_of_local_day, ParamError, Period, ReportWindow, WindowParams, DEFAULT_DAYS, MAX_PERIODS};

/// The reports, by the name the CLI and the API use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportName {
    /// Open tickets, most urgent first (the real-time queue).
    Pending,
    /// One customer: contact details, ticket history, sentiment trend, orders.
    Customer,
    /// The live numbers: queue depths, oldest waiting, overdue, arrivals, automation today.
    Realtime,
    /// First-response and resolution SLA met/breached, by a dimension and period.
    Sla,
    /// Per category and intent: volume, automation, resolution, response times, sentiment.
    Categories,
    /// Per agent: tickets assigned and resolved, replies, response and resolution times.
    Agents,
    /// LLM calls, tokens and money per provider and model, and per ticket.
    Cost,
    /// Automatic answers among decisions, and how many customers came back after one.
    Automation,
}

impl ReportName {
    pub const ALL: [ReportName; 8] =
        [ReportName::Pending, ReportName::Customer, ReportName::Realtime, ReportName::Sla, ReportName::Categories, ReportName::Agents, ReportName::Cost, ReportName::Automation];

    pub fn as_str(self) -> &'static str {
        match self {
            ReportName::Pending => "pending",
            ReportName::Customer => "customer",
            ReportName::Realtime => "realtime",
            ReportName::Sla => "sla",
            ReportName::Categories => "categories",
            ReportName::Agents => "agents",
            ReportName::Cost => "cost",
            ReportName::Automation => "automation",
        }
    }

    pub fn parse(label: &str) -> Option<ReportName> {
        ReportName::ALL.into_iter().find(|name| name.as_str() == label)
    }

    /// What a reader must know to read the numbers right: definitions, and what the store does
    /// not record. Shown with every answer (JSON `notes`, the CLI's table footer).
    pub fn notes(self) -> &'static [&'static str] {
        match self {
            ReportName::Pending => &["tickets with status new, open or pending, highest priority first, then oldest", "sla_state: breached (a deadline passed), due_within_hour, on_track, paused (waiting on the customer) or no_sla"],
            ReportName::Customer => &["the CSV export holds the ticket history; orders come from the built-in order store by the customer's email"],
            ReportName::Realtime => &["counts are of open tickets (new, open, pending) at generated_at; today is the local day in the report's time zone"],
            ReportName::Sla => &[
                "tickets by creation time; met: responded or resolved by the deadline; breached: flagged by the SLA watcher, answered late, or past the deadline with no answer; compliance = met / (met + breached)",
                "priority bands: p0_24, p25_49, p50_74, p75_100",
            ],
            ReportName::Categories => &["tickets by creation time; response and resolution averages are wall-clock seconds from creation, over the tickets that have them"],
            ReportName::Agents => &[
                "assigned/resolved: tickets by creation time with the agent as current assignee; replies: the agent's replies written in the period",
                "tickets_handled: tickets the agent replied to for the first time in the period (each counts once per agent, so periods add up)",
                "csat: ratings (1 to 5) customers gave in the period about tickets assigned to the agent when they rated; avg_csat is null without a rating",
            ],
            ReportName::Cost => &[
                "LLM calls recorded in llm_usage by the LLM provider integration; money in millionths of the currency unit (cost_micros); without a provider the figures are zero",
                "cost_per_ticket_micros divides the period's cost by the tickets created in it",
                "tickets_with_llm: tickets whose first call with that provider and model was in the period (each counts once per model, so periods add up)",
            ],
            ReportName::Automation => &[
                "decisions by the time they were made; automation_rate = auto-replied decisions / all decisions",
                "reopened: the customer wrote again on the ticket after the automatic answer; whether an answer was correct is not recorded, so not reopened is the best available signal",
            ],
        }
    }
}

/// Writes `rows` as CSV (RFC 4180: a header row, fields with commas, quotes or line breaks
/// quoted, quotes doubled), with the header even when there is no row. A text field that a
/// spreadsheet would run as a formula (`=`, `+`, `@`, tab, carriage return, or `-` not starting
/// a number) gets a leading `'`: subjects and names come from customers and staff.
pub fn write_csv<Row: Serialize + Default>(rows: &[Row], output: impl std::io::Write) -> Result<(), csv::Error> {
    let mut plain = csv::Writer::from_writer(Vec::new());
    if rows.is_empty() {
        plain.serialize(Row::default())?;
    }
    for row in rows {
        plain.serialize(row)?;
    }
    let bytes = plain.into_inner().map_err(|error| csv::Error::from(error.into_error()))?;
    let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(bytes.as_slice());
    let mut writer = csv::Writer::from_writer(output);
    for (record_idx, record) in reader.records().enumerate() {
        let record = record?;
        if rows.is_empty() && record_idx > 0 {
            break;
        }
        writer.write_record(record.iter().map(|field| defuse_formula(field).into_owned()))?;
    }
    writer.flush()?;
    Ok(())
}

fn defuse_formula(field: &str) -> std::borrow::Cow<'_, str> {
    let mut characters = field.chars();
    let dangerous = match characters.next() {
        Some('=' | '+' | '@' | '\t' | '\r') => true,
        Some('-') => !characters.next().is_some_and(|next| next.is_ascii_digit() || next == '.'),
        _ => false,
    };
    if dangerous {
        std::borrow::Cow::Owned(format!("'{field}"))
    } else {
        std::borrow::Cow::Borrowed(field)
    }
}

/// `part / whole`, or none when there is nothing to divide.
pub(crate) fn ratio(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// Milliseconds to seconds for averages.
pub(crate) fn seconds(milliseconds: Option<f64>) -> Option<f64> {
    milliseconds.map(|milliseconds| (milliseconds / 1000.0 * 10.0).round() / 10.0)
}

/// Fetches every row of a report query (no caller text in `$sql`) from the reader pool and
/// decodes each with `$convert` (a function generic over [`crate::records::DbRow`]). The
/// statement is not kept in the connection's cache: its text changes with the window.
macro_rules! fetch_report_rows {
    ($store:expr, $sql:expr, $convert:expr) => {
        $crate::on_reader!($store, |pool| {
            let rows = sqlx::query(sqlx::AssertSqlSafe($sql)).persistent(false).fetch_all(pool).await?;
            rows.iter().map($convert).collect::<$crate::Result<Vec<_>>>()?
        })
    };
}
pub(crate) use fetch_report_rows;

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{expect, Expect};

    #[derive(Default, Serialize)]
    struct Row {
        name: String,
        value: Option<f64>,
    }

    fn check(rows: &[Row], expect: Expect) {
        let mut output = Vec::new();
        write_csv(rows, &mut output).unwrap();
        expect.assert_eq(&String::from_utf8(output).unwrap());
    }

    #[test]
    fn csv_quotes_what_needs_quoting_and_defuses_formulas() {
        check(&[], expect![[r#"
            name,value
        "#]]);
        check(
            &[
                Row { name: "plain".into(), value: Some(0.5) },
                Row { name: "comma, \"quote\"\nnewline".into(), value: None },
                Row { name: "=HYPERLINK(\"x\")".into(), value: Some(-0.25) },
                Row { name: "-12".into(), value: Some(1.0) },
                Row { name: "-rm".into(), value: Some(2.0) },
            ],
            expect![[r#"
                name,value
                plain,0.5
                "comma, ""quote""
                newline",
                "'=HYPERLINK(""x"")",-0.25
                -12,1.0
                '-rm,2.0
            "#]],
        );
    }

    #[test]
    fn report_names_round_trip() {
        for name in ReportName::ALL {
            assert_eq!(ReportName::parse(name.as_str()), Some(name));
            assert!(!name.notes().is_empty());
        }
        assert_eq!(ReportName::parse("Sla"), None);
    }
}
