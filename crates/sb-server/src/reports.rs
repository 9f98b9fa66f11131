//! `GET /api/v1/reports/…`: the dashboard reports of the store (`sb_store::reports`) as JSON or
//! CSV. Every report reads `tz` (an IANA zone; UTC by default) and `format` (`json` by default,
//! or `csv`); the window reports also `from`, `to` and `period`. Bad parameters are 400 with a
//! stable code (`invalid_date`, `invalid_range`, `invalid_time_zone`, `invalid_period`,
//! `too_many_periods`, `invalid_dimension`, `invalid_format`, `invalid_parameter`).
//!
//! Reports are for supervisors (and admins, and `read` tokens for exports); the customer 360 is
//! part of an agent's ticket view, so it needs only `read`, and it masks personal data for
//! callers without PII permission as the customer endpoint does.

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sb_store::{
    AgentRow, AutomationRow, CategoryRow, CostRow, CustomerOrderRow, CustomerTicketRow, ParamError, PendingRow, Period, RealtimeRow, ReportName, ReportWindow, SentimentPoint,
    SlaDimension, SlaRow, WindowParams,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::auth::Permission;
use crate::dto::{self, CustomerDto};
use crate::error::ErrorBody;
use crate::openapi::{Forbidden, NotFound, RateLimited, Unauthorized};
use crate::{ApiError, AppState, Caller};

/// The 400 answer of every report, with its codes (the OpenAPI test reads them from here).
const BAD_PARAMETER: &str = "A parameter that cannot be used. Codes: `invalid_date`, `invalid_range`, `invalid_time_zone`, `invalid_period`, `too_many_periods`, `invalid_dimension`, `invalid_format`, `invalid_parameter`.";

impl From<ParamError> for ApiError {
    fn from(error: ParamError) -> ApiError {
        ApiError::BadParameter { code: error.code, message: error.message }
    }
}

fn bad_query(rejection: QueryRejection) -> ApiError {
    ApiError::BadParameter { code: "invalid_parameter", message: rejection.body_text() }
}

/// How the answer is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Csv,
}

impl Format {
    fn parse(text: Option<&str>) -> Result<Format, ApiError> {
        match text.map(str::trim) {
            None | Some("" | "json") => Ok(Format::Json),
            Some("csv") => Ok(Format::Csv),
            Some(other) => Err(ApiError::BadParameter { code: "invalid_format", message: format!("unknown format `{other}`: use json or csv") }),
        }
    }
}

fn parse_zone(text: Option<&str>) -> Result<Tz, ApiError> {
    Ok(sb_store::parse_time_zone(text)?)
}

/// The parameters of a report over a date range.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WindowQuery {
    /// Start (inclusive): a date (`2026-03-01`, its local start), a local time
    /// (`2026-03-01T08:00`) or an instant (`2026-03-01T08:00:00Z`). Default: the local start of
    /// the day six days before `to`'s.
    from: Option<String>,
    /// End: as `from`; a date includes that whole day. Default: now.
    to: Option<String>,
    /// IANA time zone of the dates and periods (`Europe/Berlin`). Default: UTC.
    tz: Option<String>,
    /// `hour`, `day`, `week` (ISO, from Monday) or `month`; default: one period for the window.
    period: Option<String>,
    /// `json` (default) or `csv` (a header row, RFC 4180 quoting).
    format: Option<String>,
}

impl WindowQuery {
    fn window(&self, now: DateTime<Utc>) -> Result<ReportWindow, ApiError> {
        let params = WindowParams { from: self.from.as_deref(), to: self.to.as_deref(), time_zone: self.tz.as_deref(), period: self.period.as_deref() };
        Ok(ReportWindow::parse(&params, now)?)
    }
}

/// What every supervisor report over a window starts with: the permission, then the
/// parameters. Returns the format, the window and the `now` the report is computed at.
fn window_request(caller: &Caller, query: Result<Query<WindowQuery>, QueryRejection>) -> Result<(Format, ReportWindow, DateTime<Utc>), ApiError> {
    caller.require(Permission::ReadReports)?;
    let Query(query) = query.map_err(bad_query)?;
    let now = Utc::now();
    Ok((Format::parse(query.format.as_deref())?, query.window(now)?, now))
}

/// The SLA report's parameters: a window and a breakdown.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SlaQuery {
    /// As for every window report: date, local time or instant; default a week ago.
    from: Option<String>,
    /// Date (inclusive), local time or instant; default now.
    to: Option<String>,
    /// IANA time zone; default UTC.
    tz: Option<String>,
    /// `hour`, `day`, `week` or `month`.
    period: Option<String>,
    /// Breakdown: `category`, `intent`, `priority` (bands of 25), `severity`, `channel` or
    /// `all` (default).
    by: Option<String>,
    /// `json` (default) or `csv`.
    format: Option<String>,
}

/// The live reports' parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LiveQuery {
    /// IANA time zone of the times (and of "today"); default UTC.
    tz: Option<String>,
    /// `json` (default) or `csv`.
    format: Option<String>,
}

/// The pending queue's parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PendingQuery {
    /// IANA time zone of the times; default UTC.
    tz: Option<String>,
    /// Tickets to list, 1 to 1000 (default 200).
    limit: Option<i64>,
    /// `json` (default) or `csv`.
    format: Option<String>,
}

/// Declares a report's JSON answer: the window it covers, the notes, the rows.
macro_rules! window_report {
    ($(#[$meta:meta])* $name:ident, $row:ty) => {
        $(#[$meta])*
        #[derive(Debug, Serialize, ToSchema)]
        pub struct $name {
            /// The report's name.
            report: &'static str,
            /// Start of the window (inclusive), RFC 3339 in `time_zone`.
            from: String,
            /// End of the window (exclusive).
            to: String,
            /// IANA time zone of the periods and times.
            time_zone: String,
            /// How the rows are cut in time; null: one period for the whole window.
            period: Option<Period>,
            generated_at: String,
            /// Definitions, and what the store does not record.
            notes: Vec<&'static str>,
            rows: Vec<$row>,
        }

        impl $name {
            fn new(name: ReportName, window: &ReportWindow, now: DateTime<Utc>, rows: Vec<$row>) -> $name {
                $name {
                    report: name.as_str(),
                    from: window.local(window.from),
                    to: window.local(window.to),
                    time_zone: window.time_zone.name().to_string(),
                    period: window.period,
                    generated_at: window.local(now),
                    notes: name.notes().to_vec(),
                    rows,
                }
            }
        }
    };
}

window_report!(
    /// SLA compliance per period and key.
    SlaReport,
    SlaRow
);
window_report!(
    /// Category and intent performance per period.
    CategoryReport,
    CategoryRow
);
window_report!(
    /// Agent performance per period.
    AgentReport,
    AgentRow
);
window_report!(
    /// LLM cost per period, provider and model.
    CostReport,
    CostRow
);
window_report!(
    /// Automation rate per period and intent.
    AutomationReport,
    AutomationRow
);

/// The open tickets, most urgent first.
#[derive(Debug, Serialize, ToSchema)]
pub struct PendingReport {
    report: &'static str,
    time_zone: String,
    generated_at: String,
    notes: Vec<&'static str>,
    rows: Vec<PendingRow>,
}

/// The live numbers (one row).
#[derive(Debug, Serialize, ToSchema)]
pub struct RealtimeReport {
    report: &'static str,
    time_zone: String,
    generated_at: String,
    notes: Vec<&'static str>,
    rows: Vec<RealtimeRow>,
}

/// A customer with their history, sentiment trend and orders.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerReport {
    report: &'static str,
    from: String,
    to: String,
    time_zone: String,
    period: Option<Period>,
    generated_at: String,
    notes: Vec<&'static str>,
    /// Contact details are withheld without PII permission.
    #[schema(value_type = CustomerDto)]
    customer: Value,
    n_tickets: i64,
    n_open_tickets: i64,
    first_contact_at: Option<String>,
    last_contact_at: Option<String>,
    avg_sentiment: Option<f64>,
    sentiment_trend: Vec<SentimentPoint>,
    /// Newest first (at most 50); subjects are redacted without PII permission.
    tickets: Vec<CustomerTicketRow>,
    /// Newest first (at most 10).
    orders: Vec<CustomerOrderRow>,
}

/// JSON as `wrap` makes it from the rows, or the rows as a CSV attachment named after the
/// report.
fn respond<Row: Serialize + Default, Body: Serialize>(format: Format, name: ReportName, rows: Vec<Row>, wrap: impl FnOnce(Vec<Row>) -> Body) -> Result<Response, ApiError> {
    match format {
        Format::Json => Ok(Json(wrap(rows)).into_response()),
        Format::Csv => {
            let mut body = Vec::new();
            sb_store::write_csv(&rows, &mut body).map_err(|error| ApiError::Internal(format!("csv export of {}: {error}", name.as_str())))?;
            let disposition = format!("attachment; filename=\"{}.csv\"", name.as_str());
            Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()), (header::CONTENT_DISPOSITION, disposition)], body).into_response())
        }
    }
}

/// SLA compliance
///
/// First-response and resolution SLAs met and breached among the tickets created in the
/// window, per period and by category, intent, priority band, severity or channel.
#[utoipa::path(
    get, path = "/api/v1/reports/sla", tag = "reports",
    params(SlaQuery),
    responses(
        (status = 200, description = "The report as JSON, or CSV with `format=csv`.", content((SlaReport = "application/json"), (String = "text/csv"))),
        (status = 400, description = BAD_PARAMETER, body = ErrorBody),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 429, response = RateLimited),
    ),
    security(("bearer" = ["read"]), ("session" = ["admin", "supervisor"])),
)]
pub async fn sla(State(state): State<AppState>, caller: Caller, query: Result<Query<SlaQuery>, QueryRejection>) -> Result<Response, ApiError> {
    caller.require(Permission::ReadReports)?;
    let Query(query) = query.map_err(bad_query)?;
    let now = Utc::now();
    let format = Format::parse(query.format.as_deref())?;
    let params = WindowParams { from: query.from.as_deref(), to: query.to.as_deref(), time_zone: query.tz.as_deref(), period: query.period.as_deref() };
    let window = ReportWindow::parse(&params, now)?;
    let dimension = SlaDimension::parse(query.by.as_deref())?;
    let rows = state.service.store().report_sla(&window, dimension, now).await?;
    respond(format, ReportName::Sla, rows, |rows| SlaReport::new(ReportName::Sla, &window, now, rows))
}

/// Category performance
///
/// Per category and intent and period: tickets, automatic answers, resolutions, SLA breaches,
/// mean first-response and resolution times, confidence and sentiment.
#[utoipa::path(
    get, path = "/api/v1/reports/categories", tag = "reports",
    params(WindowQuery),
    responses(
        (status = 200, description = "The report as JSON, or CSV with `format=csv`.", content((CategoryReport = "application/json"), (String = "text/csv"))),
        (status = 400, description = BAD_PARAMETER, body = ErrorBody),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 429, response = RateLimited),
    ),
    security(("bearer" = ["read"]), ("session" = ["admin", "supervisor"])),
)]
pub async fn categories(State(state): State<AppState>, caller: Caller, query: Result<Query<WindowQuery>, QueryRejection>) -> Result<Response, ApiError> {
    let (format, window, now) = window_request(&caller, query)?;
    let rows = state.service.store().report_categories(&window, now).await?;
    respond(format, ReportName::Categories, rows, |rows| CategoryReport::new(ReportName::Categories, &window, now, rows))
}

/// Agent performance
///
/// Per agent and period: tickets assigned and resolved, SLA breaches, replies written and the
/// tickets they went to, mean first-response and resolution times. No CSAT: it is not
/// collected yet.
#[utoipa::path(
    get, path = "/api/v1/reports/agents", tag = "reports",
    params(WindowQuery),
    responses(
        (status = 200, description = "The report as JSON, or CSV with `format=csv`.", content((AgentReport = "application/json"), (String = "text/csv"))),
        (status = 400, description = BAD_PARAMETER, body = ErrorBody),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 429, response = RateLimited),
    ),
    security(("bearer" = ["read"]), ("session" = ["admin", "supervisor"])),
)]
pub async fn agents(State(state): State<AppState>, caller: Caller, query: Result<Query<WindowQuery>, QueryRejection>) -> Result<Response, ApiError> {
    let (format, window, now) = window_request(&caller, query)?;
    let rows = state.service.store().report_agents(&window, now).await?;
    respond(format, ReportName::Agents, rows, |rows| AgentReport::new(ReportName::Agents, &window, now, rows))
}

/// LLM cost
///
/// LLM calls, tokens and money (millionths of the currency unit) per period, provider and
/// model, and the cost per ticket. Zero while no LLM provider is used.
#[utoipa::path(
    get, path = "/api/v1/reports/cost", tag = "reports",
    params(WindowQuery),
    responses(
        (status = 200, description = "The report as JSON, or CSV with `format=csv`.", content((CostReport = "application/json"), (String = "text/csv"))),
        (status = 400, description = BAD_PARAMETER, body = ErrorBody),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 429, response = RateLimited),
    ),
    security(("bearer" = ["read"]), ("session" = ["admin", "supervisor"])),
)]
pub async fn cost(State(state): State<AppState>, caller: Caller, query: Result<Query<WindowQuery>, QueryRejection>) -> Result<Response, ApiError> {
    let (format, window, now) = window_request(&caller, query)?;
    let rows = state.service.store().report_cost(&window).await?;
    respond(format, ReportName::Cost, rows, |rows| CostReport::new(ReportName::Cost, &window, now, rows))
}

/// Automation rate
///
/// Per period and intent: decisions, automatic answers, and how many customers wrote again
/// after one.
#[utoipa::path(
    get, path = "/api/v1/reports/automation", tag = "reports",
    params(WindowQuery),
    responses(
        (status = 200, description = "The report as JSON, or CSV with `format=csv`.", content((AutomationReport = "application/json"), (String = "text/csv"))),
        (status = 400, description = BAD_PARAMETER, body = ErrorBody),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 429, response = RateLimited),
    ),
    security(("bearer" = ["read"]), ("session" = ["admin", "supervisor"])),
)]
pub async fn automation(State(state): State<AppState>, caller: Caller, query: Result<Query<WindowQuery>, QueryRejection>) -> Result<Response, ApiError> {
    let (format, window, now) = window_request(&caller, query)?;
    let rows = state.service.store().report_automation(&window).await?;
    respond(format, ReportName::Automation, rows, |rows| AutomationReport::new(ReportName::Automation, &window, now, rows))
}

/// Pending tickets
///
/// The open tickets (new, open, pending), highest priority first, then oldest, with their wait
/// and the state of their next SLA deadline.
#[utoipa::path(
    get, path = "/api/v1/reports/pending", tag = "reports",
    params(PendingQuery),
    responses(
        (status = 200, description = "The report as JSON, or CSV with `format=csv`.", content((PendingReport = "application/json"), (String = "text/csv"))),
        (status = 400, description = BAD_PARAMETER, body = ErrorBody),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 429, response = RateLimited),
    ),
    security(("bearer" = ["read"]), ("session" = ["admin", "supervisor"])),
)]
pub async fn pending(State(state): State<AppState>, caller: Caller, query: Result<Query<PendingQuery>, QueryRejection>) -> Result<Response, ApiError> {
    caller.require(Permission::ReadReports)?;
    let Query(query) = query.map_err(bad_query)?;
    let now = Utc::now();
    let format = Format::parse(query.format.as_deref())?;
    let time_zone = parse_zone(query.tz.as_deref())?;
    let limit = query.limit.unwrap_or(200);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::BadParameter { code: "invalid_parameter", message: format!("limit {limit} is outside 1 to 1000") });
    }
    let rows = state.service.store().report_pending(time_zone, limit, now).await?;
    let generated_at = now.with_timezone(&time_zone).to_rfc3339();
    respond(format, ReportName::Pending, rows, |rows| PendingReport {
        report: ReportName::Pending.as_str(),
        time_zone: time_zone.name().to_string(),
        generated_at,
        notes: ReportName::Pending.notes().to_vec(),
        rows,
    })
}

/// Real-time metrics
///
/// Queue depths, unassigned and overdue work, the oldest unanswered ticket, arrivals and
/// sentiment of the last hour, and today's resolutions and automation rate (one row).
#[utoipa::path(
    get, path = "/api/v1/reports/realtime", tag = "reports",
    params(LiveQuery),
    responses(
        (status = 200, description = "The report as JSON, or CSV with `format=csv`.", content((RealtimeReport = "application/json"), (String = "text/csv"))),
        (status = 400, description = BAD_PARAMETER, body = ErrorBody),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 429, response = RateLimited),
    ),
    security(("bearer" = ["read"]), ("session" = ["admin", "supervisor"])),
)]
pub async fn realtime(State(state): State<AppState>, caller: Caller, query: Result<Query<LiveQuery>, QueryRejection>) -> Result<Response, ApiError> {
    caller.require(Permission::ReadReports)?;
    let Query(query) = query.map_err(bad_query)?;
    let now = Utc::now();
    let format = Format::parse(query.format.as_deref())?;
    let time_zone = parse_zone(query.tz.as_deref())?;
    let row = state.service.store().report_realtime(time_zone, now).await?;
    let generated_at = row.generated_at.clone();
    respond(format, ReportName::Realtime, vec![row], |rows| RealtimeReport {
        report: ReportName::Realtime.as_str(),
        time_zone: time_zone.name().to_string(),
        generated_at,
        notes: ReportName::Realtime.notes().to_vec(),
        rows,
    })
}

/// Customer 360
///
/// A customer with their ticket history, mean sentiment per period of the window, and their
/// orders. Contact details and ticket subjects are withheld without PII permission; a caller
/// with it is recorded in the audit log. The CSV holds the ticket history.
#[utoipa::path(
    get, path = "/api/v1/reports/customers/{customer_id}", tag = "reports",
    params(("customer_id" = i64, Path, description = "Customer id."), WindowQuery),
    responses(
        (status = 200, description = "The report as JSON, or the ticket history as CSV with `format=csv`.", content((CustomerReport = "application/json"), (String = "text/csv"))),
        (status = 400, description = BAD_PARAMETER, body = ErrorBody),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, description = "Codes: `invalid_path`.", body = ErrorBody),
        (status = 429, response = RateLimited),
    ),
    security(("bearer" = ["read"]), ("session" = ["admin", "supervisor", "agent", "compliance", "viewer"])),
)]
pub async fn customer(
    State(state): State<AppState>,
    caller: Caller,
    customer_id: Result<Path<i64>, PathRejection>,
    query: Result<Query<WindowQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Path(customer_id) = customer_id?;
    caller.require(Permission::Read)?;
    let Query(query) = query.map_err(bad_query)?;
    let now = Utc::now();
    let format = Format::parse(query.format.as_deref())?;
    let window = query.window(now)?;
    let view = state.service.store().report_customer(customer_id, &window).await?;
    let sees_pii = caller.can(Permission::SeePii);
    if sees_pii {
        state.service.record_pii_access("customer", customer_id, &caller.actor()).await?;
    }
    let tickets: Vec<CustomerTicketRow> = view
        .tickets
        .into_iter()
        .map(|ticket| match sees_pii {
            true => ticket,
            false => CustomerTicketRow { subject: ticket.subject.as_deref().map(dto::redact), ..ticket },
        })
        .collect();
    let name = ReportName::Customer;
    respond(format, name, tickets, |tickets| CustomerReport {
        report: name.as_str(),
        from: window.local(window.from),
        to: window.local(window.to),
        time_zone: window.time_zone.name().to_string(),
        period: window.period,
        generated_at: window.local(now),
        notes: name.notes().to_vec(),
        customer: dto::customer(&view.customer, sees_pii),
        n_tickets: view.n_tickets,
        n_open_tickets: view.n_open_tickets,
        first_contact_at: view.first_contact_at,
        last_contact_at: view.last_contact_at,
        avg_sentiment: view.avg_sentiment,
        sentiment_trend: view.sentiment_trend,
        tickets,
        orders: view.orders,
    })
}
