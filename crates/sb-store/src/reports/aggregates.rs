//! The aggregate reports over a window: SLA compliance by a dimension, category and agent
//! performance, and the automation rate. Each is one GROUP BY per period (and key) answered
//! from the covering index `tickets_report` (tickets by creation time), the partial index
//! `messages_authored` (agents' replies) or `decisions_report` (decisions by time).

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{fetch_report_rows, ratio, seconds, ParamError, ReportWindow};
use crate::records::DbRow;
use crate::{to_ms, Result, Store};

/// What SLA compliance is broken down by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SlaDimension {
    /// Everything in one row per period (`key` is `all`).
    All,
    Category,
    Intent,
    /// Bands of 25: `p0_24`, `p25_49`, `p50_74`, `p75_100`.
    Priority,
    /// Safety tickets' severity (`urgent`, `high`, `standard`); other tickets have none.
    Severity,
    Channel,
}

impl SlaDimension {
    pub const ALL: [SlaDimension; 6] = [SlaDimension::All, SlaDimension::Category, SlaDimension::Intent, SlaDimension::Priority, SlaDimension::Severity, SlaDimension::Channel];

    pub fn as_str(self) -> &'static str {
        match self {
            SlaDimension::All => "all",
            SlaDimension::Category => "category",
            SlaDimension::Intent => "intent",
            SlaDimension::Priority => "priority",
            SlaDimension::Severity => "severity",
            SlaDimension::Channel => "channel",
        }
    }

    /// `None` (absent or empty) is [`SlaDimension::All`].
    pub fn parse(label: Option<&str>) -> Result<SlaDimension, ParamError> {
        match label.map(str::trim).filter(|label| !label.is_empty()) {
            None => Ok(SlaDimension::All),
            Some(label) => SlaDimension::ALL
                .into_iter()
                .find(|dimension| dimension.as_str() == label)
                .ok_or_else(|| ParamError::new("invalid_dimension", format!("unknown breakdown `{label}`: use category, intent, priority, severity, channel or all"))),
        }
    }

    fn sql(self) -> &'static str {
        match self {
            SlaDimension::All => "CAST('all' AS TEXT)",
            SlaDimension::Category => "category",
            SlaDimension::Intent => "intent",
            SlaDimension::Priority => "CASE WHEN priority >= 75 THEN 'p75_100' WHEN priority >= 50 THEN 'p50_74' WHEN priority >= 25 THEN 'p25_49' ELSE 'p0_24' END",
            SlaDimension::Severity => "severity",
            SlaDimension::Channel => "channel",
        }
    }
}

/// A first response counts as breached when the SLA watcher flagged it, when it came after
/// the deadline, or when none came and the (running) deadline has passed.
fn first_response_breached(now_ms: i64) -> String {
    format!(
        "(first_response_breached OR first_responded_at > first_response_due_at \
         OR (first_responded_at IS NULL AND sla_paused_at IS NULL AND first_response_due_at < {now_ms}))"
    )
}

fn resolution_breached(now_ms: i64) -> String {
    format!("(resolution_breached OR resolved_at > resolution_due_at OR (resolved_at IS NULL AND sla_paused_at IS NULL AND resolution_due_at < {now_ms}))")
}

/// Tickets created in the window, merged ones left out.
fn tickets_in(window: &ReportWindow) -> String {
    format!("created_at >= {} AND created_at < {} AND status <> 'merged'", window.from_ms(), window.to_ms())
}

/// SLA compliance of one period and key.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SlaRow {
    /// Start of the period in the report's time zone (RFC 3339 with offset).
    pub period_start: String,
    /// What `key` is: `all`, `category`, `intent`, `priority`, `severity` or `channel`.
    pub dimension: String,
    /// The category, intent, priority band, severity or channel; null for tickets without one
    /// (not triaged yet; no severity outside safety).
    pub key: Option<String>,
    pub n_tickets: i64,
    pub first_response_met: i64,
    pub first_response_breached: i64,
    /// Deadline still ahead (or the clock paused) with no response yet.
    pub first_response_running: i64,
    /// Tickets without a first-response deadline (not triaged yet).
    pub first_response_no_target: i64,
    /// met / (met + breached); null when neither.
    pub first_response_compliance: Option<f64>,
    pub resolution_met: i64,
    pub resolution_breached: i64,
    pub resolution_running: i64,
    pub resolution_no_target: i64,
    pub resolution_compliance: Option<f64>,
}

/// Volume and quality of one category and intent in one period.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CategoryRow {
    pub period_start: String,
    /// Null for tickets not triaged yet.
    pub category: Option<String>,
    pub intent: Option<String>,
    pub n_tickets: i64,
    /// Tickets whose latest decision was an automatic answer.
    pub n_auto_replied: i64,
    pub n_resolved: i64,
    /// Tickets with a breached first-response or resolution SLA.
    pub n_sla_breached: i64,
    pub avg_first_response_seconds: Option<f64>,
    pub avg_resolution_seconds: Option<f64>,
    pub avg_confidence: Option<f64>,
    pub avg_sentiment: Option<f64>,
    /// Tickets with sentiment at or below −0.5.
    pub n_negative: i64,
}

/// One agent in one period.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentRow {
    pub period_start: String,
    pub user_id: i64,
    /// Null when the user no longer exists.
    pub name: Option<String>,
    /// Tickets created in the period and assigned to this agent now.
    pub n_assigned: i64,
    pub n_resolved: i64,
    pub n_sla_breached: i64,
    /// Replies the agent wrote in the period, and the tickets they went to (handled).
    pub n_replies: i64,
    pub n_tickets_replied: i64,
    pub avg_first_response_seconds: Option<f64>,
    pub avg_resolution_seconds: Option<f64>,
    /// Customer ratings given in the period about this agent's tickets, and their mean (1–5;
    /// null without a rating).
    pub n_csat: i64,
    pub avg_csat: Option<f64>,
}

/// Decisions of one period and intent.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AutomationRow {
    pub period_start: String,
    /// The ticket's intent; null when it has none.
    pub intent: Option<String>,
    pub n_decisions: i64,
    pub n_auto_replied: i64,
    pub n_human_queue: i64,
    pub n_safety_queue: i64,
    /// n_auto_replied / n_decisions.
    pub automation_rate: Option<f64>,
    /// Automatic answers after which the customer wrote again on the same ticket.
    pub n_reopened: i64,
    /// n_reopened / n_auto_replied.
    pub reopen_rate: Option<f64>,
}

/// Sorts rows by period, then key with missing keys first: the same order on both backends
/// (they disagree on where NULL sorts).
fn sort_rows<Row>(rows: &mut [(i64, Row)], key: impl Fn(&Row) -> (Option<&str>, Option<&str>, i64)) {
    rows.sort_by(|(left_period, left), (right_period, right)| left_period.cmp(right_period).then_with(|| key(left).cmp(&key(right))));
}

fn period_label(window: &ReportWindow, period_idx: i64) -> String {
    usize::try_from(period_idx).ok().filter(|period_idx| *period_idx < window.n_periods()).map_or_else(String::new, |period_idx| window.period_label(period_idx))
}

impl Store {
    /// SLA compliance of the tickets created in `window`, by `dimension` and period.
    pub async fn report_sla(&self, window: &ReportWindow, dimension: SlaDimension, now: DateTime<Utc>) -> Result<Vec<SlaRow>> {
        let now_ms = to_ms(now);
        let (first_breached, resolution_breached) = (first_response_breached(now_ms), resolution_breached(now_ms));
        let sql = format!(
            "SELECT CAST({period} AS BIGINT) AS period_idx, {key} AS dimension_key, COUNT(*) AS n_tickets, \
             SUM(CASE WHEN first_response_due_at IS NULL THEN 1 ELSE 0 END) AS first_none, \
             SUM(CASE WHEN first_response_due_at IS NOT NULL AND first_responded_at IS NOT NULL AND NOT {first_breached} THEN 1 ELSE 0 END) AS first_met, \
             SUM(CASE WHEN first_response_due_at IS NOT NULL AND {first_breached} THEN 1 ELSE 0 END) AS first_breached, \
             SUM(CASE WHEN resolution_due_at IS NULL THEN 1 ELSE 0 END) AS resolution_none, \
             SUM(CASE WHEN resolution_due_at IS NOT NULL AND resolved_at IS NOT NULL AND NOT {resolution_breached} THEN 1 ELSE 0 END) AS resolution_met, \
             SUM(CASE WHEN resolution_due_at IS NOT NULL AND {resolution_breached} THEN 1 ELSE 0 END) AS resolution_breached \
             FROM tickets WHERE {filter} GROUP BY period_idx, dimension_key",
            period = window.period_sql("created_at"),
            key = dimension.sql(),
            filter = tickets_in(window),
        );
        fn decode(row: &impl DbRow) -> Result<(i64, SlaRow)> {
            let n_tickets = row.i64("n_tickets")?;
            let (first_none, first_met, first_breached) = (row.i64("first_none")?, row.i64("first_met")?, row.i64("first_breached")?);
            let (resolution_none, resolution_met, resolution_breached) = (row.i64("resolution_none")?, row.i64("resolution_met")?, row.i64("resolution_breached")?);
            Ok((
                row.i64("period_idx")?,
                SlaRow {
                    key: row.opt_string("dimension_key")?,
                    n_tickets,
                    first_response_met: first_met,
                    first_response_breached: first_breached,
                    first_response_running: n_tickets - first_none - first_met - first_breached,
                    first_response_no_target: first_none,
                    first_response_compliance: ratio(first_met, first_met + first_breached),
                    resolution_met,
                    resolution_breached,
                    resolution_running: n_tickets - resolution_none - resolution_met - resolution_breached,
                    resolution_no_target: resolution_none,
                    resolution_compliance: ratio(resolution_met, resolution_met + resolution_breached),
                    ..SlaRow::default()
                },
            ))
        }
        let mut rows: Vec<(i64, SlaRow)> = fetch_report_rows!(self, &*sql, decode);
        sort_rows(&mut rows, |row| (row.key.as_deref(), None, 0));
        Ok(rows
            .into_iter()
            .map(|(period_idx, row)| SlaRow { period_start: period_label(window, period_idx), dimension: dimension.as_str().to_string(), ..row })
            .collect())
    }

    /// Per category and intent and period: the tickets created in `window`.
    pub async fn report_categories(&self, window: &ReportWindow, now: DateTime<Utc>) -> Result<Vec<CategoryRow>> {
        let now_ms = to_ms(now);
        let sql = format!(
            "SELECT CAST({period} AS BIGINT) AS period_idx, category, intent, COUNT(*) AS n_tickets, \
             SUM(CASE WHEN route = 'auto_reply' THEN 1 ELSE 0 END) AS n_auto_replied, \
             SUM(CASE WHEN resolved_at IS NOT NULL THEN 1 ELSE 0 END) AS n_resolved, \
             SUM(CASE WHEN {first_breached} OR {resolution_breached} THEN 1 ELSE 0 END) AS n_sla_breached, \
             AVG(CAST(first_responded_at - created_at AS DOUBLE PRECISION)) AS avg_first_response_ms, \
             AVG(CAST(resolved_at - created_at AS DOUBLE PRECISION)) AS avg_resolution_ms, \
             AVG(confidence) AS avg_confidence, AVG(sentiment) AS avg_sentiment, \
             SUM(CASE WHEN sentiment <= -0.5 THEN 1 ELSE 0 END) AS n_negative \
             FROM tickets WHERE {filter} GROUP BY period_idx, category, intent",
            period = window.period_sql("created_at"),
            first_breached = first_response_breached(now_ms),
            resolution_breached = resolution_breached(now_ms),
            filter = tickets_in(window),
        );
        fn decode(row: &impl DbRow) -> Result<(i64, CategoryRow)> {
            Ok((
                row.i64("period_idx")?,
                CategoryRow {
                    period_start: String::new(),
                    category: row.opt_string("category")?,
                    intent: row.opt_string("intent")?,
                    n_tickets: row.i64("n_tickets")?,
                    n_auto_replied: row.i64("n_auto_replied")?,
                    n_resolved: row.i64("n_resolved")?,
                    n_sla_breached: row.i64("n_sla_breached")?,
                    avg_first_response_seconds: seconds(row.f64_opt("avg_first_response_ms")?),
                    avg_resolution_seconds: seconds(row.f64_opt("avg_resolution_ms")?),
                    avg_confidence: row.f64_opt("avg_confidence")?,
                    avg_sentiment: row.f64_opt("avg_sentiment")?,
                    n_negative: row.i64("n_negative")?,
                },
            ))
        }
        let mut rows: Vec<(i64, CategoryRow)> = fetch_report_rows!(self, &*sql, decode);
        sort_rows(&mut rows, |row| (row.category.as_deref(), row.intent.as_deref(), 0));
        Ok(rows.into_iter().map(|(period_idx, row)| CategoryRow { period_start: period_label(window, period_idx), ..row }).collect())
    }

    /// Per agent and period: assigned tickets created in `window`, replies written in it and
    /// customer ratings given in it.
    pub async fn report_agents(&self, window: &ReportWindow, now: DateTime<Utc>) -> Result<Vec<AgentRow>> {
        let now_ms = to_ms(now);
        let tickets_sql = format!(
            "SELECT CAST({period} AS BIGINT) AS period_idx, assignee_id, COUNT(*) AS n_assigned, \
             SUM(CASE WHEN resolved_at IS NOT NULL THEN 1 ELSE 0 END) AS n_resolved, \
             SUM(CASE WHEN {first_breached} OR {resolution_breached} THEN 1 ELSE 0 END) AS n_sla_breached, \
             AVG(CAST(first_responded_at - created_at AS DOUBLE PRECISION)) AS avg_first_response_ms, \
             AVG(CAST(resolved_at - created_at AS DOUBLE PRECISION)) AS avg_resolution_ms \
             FROM tickets WHERE {filter} AND assignee_id IS NOT NULL GROUP BY period_idx, assignee_id",
            period = window.period_sql("created_at"),
            first_breached = first_response_breached(now_ms),
            resolution_breached = resolution_breached(now_ms),
            filter = tickets_in(window),
        );
        // The predicate repeats the partial index's (`author_user_id IS NOT NULL`), so both
        // backends can use it.
        let replies_sql = format!(
            "SELECT CAST({period} AS BIGINT) AS period_idx, author_user_id, COUNT(*) AS n_replies, COUNT(DISTINCT ticket_id) AS n_tickets_replied \
             FROM messages WHERE author_user_id IS NOT NULL AND direction = 'outbound' AND received_at >= {from} AND received_at < {to} \
             GROUP BY period_idx, author_user_id",
            period = window.period_sql("received_at"),
            from = window.from_ms(),
            to = window.to_ms(),
        );
        let csat_sql = format!(
            "SELECT CAST({period} AS BIGINT) AS period_idx, agent_user_id, COUNT(*) AS n_csat, AVG(CAST(rating AS DOUBLE PRECISION)) AS avg_csat \
             FROM csat_ratings WHERE agent_user_id IS NOT NULL AND rated_at >= {from} AND rated_at < {to} GROUP BY period_idx, agent_user_id",
            period = window.period_sql("rated_at"),
            from = window.from_ms(),
            to = window.to_ms(),
        );
        fn decode_tickets(row: &impl DbRow) -> Result<((i64, i64), AgentRow)> {
            let user_id = row.i64("assignee_id")?;
            Ok((
                (row.i64("period_idx")?, user_id),
                AgentRow {
                    user_id,
                    n_assigned: row.i64("n_assigned")?,
                    n_resolved: row.i64("n_resolved")?,
                    n_sla_breached: row.i64("n_sla_breached")?,
                    avg_first_response_seconds: seconds(row.f64_opt("avg_first_response_ms")?),
                    avg_resolution_seconds: seconds(row.f64_opt("avg_resolution_ms")?),
                    ..AgentRow::default()
                },
            ))
        }
        fn decode_replies(row: &impl DbRow) -> Result<((i64, i64), (i64, i64))> {
            Ok(((row.i64("period_idx")?, row.i64("author_user_id")?), (row.i64("n_replies")?, row.i64("n_tickets_replied")?)))
        }
        fn decode_csat(row: &impl DbRow) -> Result<((i64, i64), (i64, Option<f64>))> {
            Ok(((row.i64("period_idx")?, row.i64("agent_user_id")?), (row.i64("n_csat")?, row.f64_opt("avg_csat")?)))
        }
        fn decode_user(row: &impl DbRow) -> Result<(i64, String)> {
            Ok((row.i64("id")?, row.string("name")?))
        }
        let ticket_rows: Vec<((i64, i64), AgentRow)> = fetch_report_rows!(self, &*tickets_sql, decode_tickets);
        let reply_rows: Vec<((i64, i64), (i64, i64))> = fetch_report_rows!(self, &*replies_sql, decode_replies);
        let csat_rows: Vec<((i64, i64), (i64, Option<f64>))> = fetch_report_rows!(self, &*csat_sql, decode_csat);
        let users: Vec<(i64, String)> = fetch_report_rows!(self, "SELECT id, name FROM users", decode_user);

        let mut by_key: std::collections::BTreeMap<(i64, i64), AgentRow> = ticket_rows.into_iter().collect();
        for (key, (n_replies, n_tickets_replied)) in reply_rows {
            let row = by_key.entry(key).or_insert_with(|| AgentRow { user_id: key.1, ..AgentRow::default() });
            row.n_replies = n_replies;
            row.n_tickets_replied = n_tickets_replied;
        }
        for (key, (n_csat, avg_csat)) in csat_rows {
            let row = by_key.entry(key).or_insert_with(|| AgentRow { user_id: key.1, ..AgentRow::default() });
            row.n_csat = n_csat;
            row.avg_csat = avg_csat;
        }
        let names: std::collections::HashMap<i64, String> = users.into_iter().collect();
        Ok(by_key
            .into_iter()
            .map(|((period_idx, user_id), row)| AgentRow { period_start: period_label(window, period_idx), name: names.get(&user_id).cloned(), ..row })
            .collect())
    }

    /// Per period and intent: decisions made in `window` and how many were automatic answers
    /// after which the customer came back.
    pub async fn report_automation(&self, window: &ReportWindow) -> Result<Vec<AutomationRow>> {
        // A later inbound message on the ticket has a larger id than the decided message: ids
        // grow with time, and the ticket's messages are read through `messages_ticket`.
        let sql = format!(
            "SELECT CAST({period} AS BIGINT) AS period_idx, t.intent AS intent, COUNT(*) AS n_decisions, \
             SUM(CASE WHEN d.route = 'auto_reply' THEN 1 ELSE 0 END) AS n_auto_replied, \
             SUM(CASE WHEN d.route = 'human_queue' THEN 1 ELSE 0 END) AS n_human_queue, \
             SUM(CASE WHEN d.route = 'safety_queue' THEN 1 ELSE 0 END) AS n_safety_queue, \
             SUM(CASE WHEN d.route = 'auto_reply' AND EXISTS (SELECT 1 FROM messages m WHERE m.ticket_id = d.ticket_id AND m.id > d.message_id \
             AND m.direction = 'inbound') THEN 1 ELSE 0 END) AS n_reopened \
             FROM decisions d JOIN tickets t ON t.id = d.ticket_id \
             WHERE d.created_at >= {from} AND d.created_at < {to} GROUP BY period_idx, t.intent",
            period = window.period_sql("d.created_at"),
            from = window.from_ms(),
            to = window.to_ms(),
        );
        fn decode(row: &impl DbRow) -> Result<(i64, AutomationRow)> {
            let (n_decisions, n_auto_replied, n_reopened) = (row.i64("n_decisions")?, row.i64("n_auto_replied")?, row.i64("n_reopened")?);
            Ok((
                row.i64("period_idx")?,
                AutomationRow {
                    period_start: String::new(),
                    intent: row.opt_string("intent")?,
                    n_decisions,
                    n_auto_replied,
                    n_human_queue: row.i64("n_human_queue")?,
                    n_safety_queue: row.i64("n_safety_queue")?,
                    automation_rate: ratio(n_auto_replied, n_decisions),
                    n_reopened,
                    reopen_rate: ratio(n_reopened, n_auto_replied),
                },
            ))
        }
        let mut rows: Vec<(i64, AutomationRow)> = fetch_report_rows!(self, &*sql, decode);
        sort_rows(&mut rows, |row| (row.intent.as_deref(), None, 0));
        Ok(rows.into_iter().map(|(period_idx, row)| AutomationRow { period_start: period_label(window, period_idx), ..row }).collect())
    }
}
