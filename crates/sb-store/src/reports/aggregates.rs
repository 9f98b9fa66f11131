//! The aggregate reports over a window: SLA compliance by a dimension, category and agent
//! performance, and the automation rate. Each is one GROUP BY per period (and key) answered
//! from the covering index `tickets_report` (tickets by creation time), the partial index
//! `messages_authored` (agents' replies) or `decisions_report` (decisions by time).

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::rollup::{self, mean, TicketBreakdown};
use super::{fetch_report_rows, ratio, ParamError, ReportWindow};
use crate::records::DbRow;
use crate::{Result, Store};

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

    pub(super) fn sql(self) -> &'static str {
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
    /// Replies the agent wrote in the period.
    pub n_replies: i64,
    /// Tickets handled: tickets the agent replied to for the first time in the period. A
    /// ticket counts once per agent, in the period of the agent's first reply on it, so the
    /// periods of a window add up to the tickets the agent handled in the whole window.
    pub n_tickets_handled: i64,
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
        let totals = self.ticket_totals(window, TicketBreakdown::Sla(dimension), now).await?;
        let mut rows: Vec<(i64, SlaRow)> = totals
            .into_iter()
            .map(|(key, totals)| {
                let row = SlaRow {
                    period_start: period_label(window, key.period_idx),
                    dimension: dimension.as_str().to_string(),
                    key: key.key1,
                    n_tickets: totals.n_tickets,
                    first_response_met: totals.first_met,
                    first_response_breached: totals.first_breached,
                    first_response_running: totals.n_tickets - totals.first_none - totals.first_met - totals.first_breached,
                    first_response_no_target: totals.first_none,
                    first_response_compliance: ratio(totals.first_met, totals.first_met + totals.first_breached),
                    resolution_met: totals.resolution_met,
                    resolution_breached: totals.resolution_breached,
                    resolution_running: totals.n_tickets - totals.resolution_none - totals.resolution_met - totals.resolution_breached,
                    resolution_no_target: totals.resolution_none,
                    resolution_compliance: ratio(totals.resolution_met, totals.resolution_met + totals.resolution_breached),
                };
                (key.period_idx, row)
            })
            .collect();
        sort_rows(&mut rows, |row| (row.key.as_deref(), None, 0));
        Ok(rows.into_iter().map(|(_, row)| row).collect())
    }

    /// Per category and intent and period: the tickets created in `window`.
    pub async fn report_categories(&self, window: &ReportWindow, now: DateTime<Utc>) -> Result<Vec<CategoryRow>> {
        let totals = self.ticket_totals(window, TicketBreakdown::CategoryIntent, now).await?;
        let mut rows: Vec<(i64, CategoryRow)> = totals
            .into_iter()
            .map(|(key, totals)| {
                let row = CategoryRow {
                    period_start: period_label(window, key.period_idx),
                    category: key.key1,
                    intent: key.key2,
                    n_tickets: totals.n_tickets,
                    n_auto_replied: totals.n_auto_replied,
                    n_resolved: totals.n_resolved,
                    n_sla_breached: totals.n_sla_breached,
                    avg_first_response_seconds: totals.avg_first_response_seconds(),
                    avg_resolution_seconds: totals.avg_resolution_seconds(),
                    avg_confidence: totals.avg_confidence(),
                    avg_sentiment: totals.avg_sentiment(),
                    n_negative: totals.n_negative,
                };
                (key.period_idx, row)
            })
            .collect();
        sort_rows(&mut rows, |row| (row.category.as_deref(), row.intent.as_deref(), 0));
        Ok(rows.into_iter().map(|(_, row)| row).collect())
    }

    /// Per agent and period: assigned tickets created in `window`, replies written in it,
    /// tickets first replied to in it and customer ratings given in it.
    pub async fn report_agents(&self, window: &ReportWindow, now: DateTime<Utc>) -> Result<Vec<AgentRow>> {
        fn decode_user(row: &impl DbRow) -> Result<(i64, String)> {
            Ok((row.i64("id")?, row.string("name")?))
        }
        let users = async {
            let users: Vec<(i64, String)> = fetch_report_rows!(self, "SELECT id, name FROM users", decode_user);
            Ok::<_, crate::Error>(users)
        };
        // Three independent reads on reader connections, side by side (a year is three
        // aggregations of about 15,000 rollup rows each).
        let (ticket_totals, replies, ratings, users) =
            tokio::try_join!(self.ticket_totals(window, TicketBreakdown::Agent, now), self.count_totals(&rollup::REPLIES, window), self.count_totals(&rollup::CSAT, window), users)?;

        let mut by_key: std::collections::BTreeMap<(i64, i64), AgentRow> = std::collections::BTreeMap::new();
        for (key, totals) in ticket_totals {
            let Some(user_id) = key.agent_id else { continue };
            let row = AgentRow {
                user_id,
                n_assigned: totals.n_tickets,
                n_resolved: totals.n_resolved,
                n_sla_breached: totals.n_sla_breached,
                avg_first_response_seconds: totals.avg_first_response_seconds(),
                avg_resolution_seconds: totals.avg_resolution_seconds(),
                ..AgentRow::default()
            };
            by_key.insert((key.period_idx, user_id), row);
        }
        for (key, [n_replies, n_first_replies, ..]) in replies {
            let Some(user_id) = key.agent_id else { continue };
            let row = by_key.entry((key.period_idx, user_id)).or_insert_with(|| AgentRow { user_id, ..AgentRow::default() });
            row.n_replies = n_replies;
            row.n_tickets_handled = n_first_replies;
        }
        for (key, [n_csat, sum_ratings, ..]) in ratings {
            let Some(user_id) = key.agent_id else { continue };
            let row = by_key.entry((key.period_idx, user_id)).or_insert_with(|| AgentRow { user_id, ..AgentRow::default() });
            row.n_csat = n_csat;
            row.avg_csat = mean(sum_ratings as f64, n_csat);
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
        let totals = self.decision_totals(window).await?;
        let mut rows: Vec<(i64, AutomationRow)> = totals
            .into_iter()
            .map(|(key, totals)| {
                let row = AutomationRow {
                    period_start: period_label(window, key.period_idx),
                    intent: key.key1,
                    n_decisions: totals.n_decisions,
                    n_auto_replied: totals.n_auto_replied,
                    n_human_queue: totals.n_human_queue,
                    n_safety_queue: totals.n_safety_queue,
                    automation_rate: ratio(totals.n_auto_replied, totals.n_decisions),
                    n_reopened: totals.n_reopened,
                    reopen_rate: ratio(totals.n_reopened, totals.n_auto_replied),
                };
                (key.period_idx, row)
            })
            .collect();
        sort_rows(&mut rows, |row| (row.intent.as_deref(), None, 0));
        Ok(rows.into_iter().map(|(_, row)| row).collect())
    }
}
