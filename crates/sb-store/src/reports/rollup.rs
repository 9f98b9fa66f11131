//! Hourly rollups for the window reports (migrations 0009 and 0014): per UTC hour and
//! breakdown, the sums the SLA, category, agent, automation and cost reports add up, so a report
//! over a year reads a few rows per hour instead of a million tickets. Five families: tickets and
//! decisions (tables of their own), and the "count" families — agents' replies, customer
//! ratings, LLM calls — in one table of five integer counts ([`CountSpec`]).
//!
//! Counts of *distinct* tickets cannot be summed over hours, so the two reports that had them
//! count each ticket once, in the period of its first event: "tickets handled" is the tickets an
//! agent replied to for the first time in the period, "tickets with an LLM call" the tickets
//! whose first call with that model was in it. Summed over the periods of a window, both give
//! the window's distinct count.
//!
//! A report cuts its window into hours it may read from the rollup and stretches it must scan
//! ([`RollupPlan`]); both parts give the same columns ([`TicketTotals`], [`DecisionTotals`]),
//! which are added per period and key. Nothing else in the reports changes: with no rollup
//! built the plan is "scan everything", which is exactly the report of before.
//!
//! Hidden contracts:
//! - **A rolled-up hour is used only when it is still true.** Triggers (migrations 0009, 0014)
//!   mark an hour dirty when a ticket created in it, a decision made in it, the intent of a
//!   decided ticket or the customer messages after an automatic answer change; for the count
//!   families, when a reply, rating or call of the hour changes, and when an earlier reply or
//!   call on the same ticket appears, moves (a merge) or goes, since "first" depends on it. The SLA counts also
//!   depend on the clock (a running deadline passes without any write), so each hour keeps the
//!   earliest deadline that was still running when it was built; from then on it is read from
//!   the tickets again until it is rebuilt.
//! - An hour is read from the rollup only when it lies wholly inside the window and inside one
//!   of its periods, so any time zone (also with half-hour offsets), any `from` and DST days
//!   give the same rows as a scan.
//! - Hours without a row are simply scanned: rollups are an accelerator the builder
//!   ([`Store::refresh_report_rollups`]) fills in the background, and deleting them all
//!   ([`Store::clear_report_rollups`]) changes no report.
//! - Building an hour runs in one transaction that first takes the hour rows (created, dirty,
//!   in a transaction of their own before), so a ticket changed while the hour is rebuilt marks
//!   it dirty again after the rebuild rather than being lost; on PostgreSQL one builder at a
//!   time holds an advisory lock, others skip the round.
//! - Averages are sums and counts in both parts, divided at the end: integer sums of
//!   milliseconds are exact, sums of confidence and sentiment may differ from a scan's in the
//!   last bits only.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};

use super::window::ReportWindow;
use super::{fetch_report_rows, seconds, SlaDimension};
use crate::records::DbRow;
use crate::{on_reader, on_writer, to_ms, Result, Store};

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// Hours built per transaction: a day of tickets is about 2,700 rows at a million a year, read
/// once per breakdown, so the writer is held for tens of milliseconds (a whole year's first
/// build is a few hundred such transactions, between which ingest goes on).
const HOURS_PER_TRANSACTION: usize = 24;

/// More separate stretches to scan than this and the report scans its whole window instead
/// (the SQL would grow long; it only happens when the builder is far behind).
const MAX_SCAN_RANGES: usize = 48;

/// Stretches of up to this many hours (or days) are read as members of an `IN` list rather
/// than as a range each (see [`RollupPlan::rolled_rows_sql`]).
const SHORT_STRETCH: i64 = 3;

/// Days summed per transaction (a month).
const DAYS_PER_TRANSACTION: usize = 31;

/// PostgreSQL advisory lock key of the rollup builder ("sb-rollu").
const BUILDER_LOCK_KEY: i64 = 0x7362_2d72_6f6c_6c75;

/// What a rollup row sums.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    /// Tickets by the hour they were created (SLA, categories, agents).
    Tickets,
    /// Decisions by the hour they were made (automation).
    Decisions,
    /// Agents' replies by the hour they were written (agents), in `report_rollup_counts`.
    Replies,
    /// Customer ratings by the hour they were given (agents), in `report_rollup_counts`.
    Csat,
    /// LLM calls by the hour they were made (cost), in `report_rollup_counts`.
    Llm,
}

impl Family {
    const ALL: [Family; 5] = [Family::Tickets, Family::Decisions, Family::Replies, Family::Csat, Family::Llm];

    fn as_str(self) -> &'static str {
        match self {
            Family::Tickets => "tickets",
            Family::Decisions => "decisions",
            Family::Replies => "replies",
            Family::Csat => "csat",
            Family::Llm => "llm",
        }
    }

    /// The time of the family's oldest source row (where its hours start).
    fn oldest_sql(self) -> String {
        match self.counts() {
            Some(spec) => format!("SELECT MIN({time}) FROM {from} WHERE {filter}", time = spec.time, from = spec.from, filter = spec.filter),
            None => format!("SELECT MIN(created_at) FROM {}", if self == Family::Tickets { "tickets" } else { "decisions" }),
        }
    }

    /// How a count family is summed; `None` for tickets and decisions, which have tables of
    /// their own.
    fn counts(self) -> Option<&'static CountSpec> {
        match self {
            Family::Tickets | Family::Decisions => None,
            Family::Replies => Some(&REPLIES),
            Family::Csat => Some(&CSAT),
            Family::Llm => Some(&LLM),
        }
    }
}

/// A family summed into `report_rollup_counts`: up to three text keys and an agent id, and
/// five integer counts `c0`…`c4`, each an aggregate over the rows of `from` (whose time column
/// is `time`) that pass `filter`. Every aggregate is an integer sum, so hours and days add up.
pub(crate) struct CountSpec {
    family: Family,
    from: &'static str,
    time: &'static str,
    filter: &'static str,
    /// SQL for key1, key2, key3 and agent_id.
    keys: [&'static str; 4],
    /// SQL for c0…c4.
    counts: [&'static str; 5],
}

const NO_TEXT: &str = "CAST(NULL AS TEXT)";
const ZERO: &str = "CAST(0 AS BIGINT)";

/// Agents' replies (`c0`) and those that were the author's first on their ticket (`c1`): the
/// agent report's tickets handled. "First" is judged against the ticket's messages as they are
/// now (after merges), by time and then id; the triggers of migration 0014 mark the hours whose
/// answer a new, moved or deleted reply changes.
pub(crate) static REPLIES: CountSpec = CountSpec {
    family: Family::Replies,
    from: "messages m",
    time: "m.received_at",
    filter: "m.author_user_id IS NOT NULL AND m.direction = 'outbound'",
    keys: [NO_TEXT, NO_TEXT, NO_TEXT, "m.author_user_id"],
    counts: [
        "COUNT(*)",
        "SUM(CASE WHEN NOT EXISTS (SELECT 1 FROM messages e WHERE e.ticket_id = m.ticket_id AND e.author_user_id = m.author_user_id AND e.direction = 'outbound' \
         AND (e.received_at < m.received_at OR (e.received_at = m.received_at AND e.id < m.id))) THEN 1 ELSE 0 END)",
        ZERO,
        ZERO,
        ZERO,
    ],
};

/// Customer ratings about an agent (`c0`) and the sum of their stars (`c1`).
pub(crate) static CSAT: CountSpec = CountSpec {
    family: Family::Csat,
    from: "csat_ratings r",
    time: "r.rated_at",
    filter: "r.agent_user_id IS NOT NULL",
    keys: [NO_TEXT, NO_TEXT, NO_TEXT, "r.agent_user_id"],
    counts: ["COUNT(*)", "SUM(r.rating)", ZERO, ZERO, ZERO],
};

/// LLM calls per provider, model and currency: calls, tokens, cost, and the calls that were
/// their ticket's first with that provider, model and currency (the cost report's tickets with
/// an LLM call).
pub(crate) static LLM: CountSpec = CountSpec {
    family: Family::Llm,
    from: "llm_usage u",
    time: "u.created_at",
    filter: "1 = 1",
    keys: ["u.provider", "u.model", "u.currency", "CAST(NULL AS BIGINT)"],
    counts: [
        "COUNT(*)",
        "SUM(u.prompt_tokens)",
        "SUM(u.completion_tokens)",
        "SUM(u.cost_micros)",
        "SUM(CASE WHEN u.ticket_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM llm_usage e WHERE e.ticket_id = u.ticket_id AND e.provider = u.provider \
         AND e.model = u.model AND e.currency = u.currency AND (e.created_at < u.created_at OR (e.created_at = u.created_at AND e.id < u.id))) THEN 1 ELSE 0 END)",
    ],
};

const COUNT_COLUMNS: [&str; 5] = ["c0", "c1", "c2", "c3", "c4"];

impl CountSpec {
    /// The rows of `ranges` grouped by `group` (an expression over `time`, named `g`) and the
    /// keys, with the five counts as BIGINT.
    fn grouped_sql(&self, group: &str, ranges: &[(i64, i64)]) -> String {
        let counts: Vec<String> = self.counts.iter().zip(COUNT_COLUMNS).map(|(count, column)| format!("CAST(COALESCE({count}, 0) AS BIGINT) AS {column}")).collect();
        format!(
            "SELECT {group} AS g, {k1} AS key1, {k2} AS key2, {k3} AS key3, {agent} AS agent_id, {counts} FROM {from} WHERE {filter} AND {ranges} \
             GROUP BY g, key1, key2, key3, agent_id",
            k1 = self.keys[0],
            k2 = self.keys[1],
            k3 = self.keys[2],
            agent = self.keys[3],
            counts = counts.join(", "),
            from = self.from,
            filter = self.filter,
            ranges = ranges_sql(self.time, ranges),
        )
    }
}

/// A group of a count family: its period, keys and agent id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct CountKey {
    pub period_idx: i64,
    pub key1: Option<String>,
    pub key2: Option<String>,
    pub key3: Option<String>,
    pub agent_id: Option<i64>,
}

fn decode_counts(row: &impl DbRow) -> Result<(CountKey, [i64; 5])> {
    let key = CountKey { period_idx: row.i64("g")?, key1: row.opt_string("key1")?, key2: row.opt_string("key2")?, key3: row.opt_string("key3")?, agent_id: row.opt_i64("agent_id")? };
    Ok((key, [row.i64("c0")?, row.i64("c1")?, row.i64("c2")?, row.i64("c3")?, row.i64("c4")?]))
}

/// How a ticket report breaks its totals down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TicketBreakdown {
    Sla(SlaDimension),
    CategoryIntent,
    Agent,
}

impl TicketBreakdown {
    const ALL: [TicketBreakdown; 8] = [
        TicketBreakdown::Sla(SlaDimension::All),
        TicketBreakdown::Sla(SlaDimension::Category),
        TicketBreakdown::Sla(SlaDimension::Intent),
        TicketBreakdown::Sla(SlaDimension::Priority),
        TicketBreakdown::Sla(SlaDimension::Severity),
        TicketBreakdown::Sla(SlaDimension::Channel),
        TicketBreakdown::CategoryIntent,
        TicketBreakdown::Agent,
    ];

    /// The `dimension` label of its rollup rows.
    fn label(self) -> &'static str {
        match self {
            TicketBreakdown::Sla(dimension) => dimension.as_str(),
            TicketBreakdown::CategoryIntent => "category_intent",
            TicketBreakdown::Agent => "agent",
        }
    }

    /// SQL over `tickets` for `key1`, `key2` and `agent_id`, and an extra row filter.
    fn keys_sql(self) -> (&'static str, &'static str, &'static str, &'static str) {
        const NO_TEXT: &str = "CAST(NULL AS TEXT)";
        const NO_ID: &str = "CAST(NULL AS BIGINT)";
        match self {
            TicketBreakdown::Sla(dimension) => (dimension.sql(), NO_TEXT, NO_ID, ""),
            TicketBreakdown::CategoryIntent => ("category", "intent", NO_ID, ""),
            TicketBreakdown::Agent => (NO_TEXT, NO_TEXT, "assignee_id", " AND assignee_id IS NOT NULL"),
        }
    }
}

/// A first response counts as breached when the SLA watcher flagged it, when it came after
/// the deadline, or when none came and the (running) deadline has passed.
pub(crate) fn first_response_breached(now_ms: i64) -> String {
    format!(
        "(first_response_breached OR first_responded_at > first_response_due_at \
         OR (first_responded_at IS NULL AND sla_paused_at IS NULL AND first_response_due_at < {now_ms}))"
    )
}

pub(crate) fn resolution_breached(now_ms: i64) -> String {
    format!("(resolution_breached OR resolved_at > resolution_due_at OR (resolved_at IS NULL AND sla_paused_at IS NULL AND resolution_due_at < {now_ms}))")
}

/// The sums of a group of tickets, as both the scan and the rollup give them.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct TicketTotals {
    pub n_tickets: i64,
    pub first_none: i64,
    pub first_met: i64,
    pub first_breached: i64,
    pub resolution_none: i64,
    pub resolution_met: i64,
    pub resolution_breached: i64,
    pub n_auto_replied: i64,
    pub n_resolved: i64,
    pub n_sla_breached: i64,
    pub sum_first_response_ms: i64,
    pub n_first_response: i64,
    pub sum_resolution_ms: i64,
    pub n_resolution: i64,
    pub sum_confidence: f64,
    pub n_confidence: i64,
    pub sum_sentiment: f64,
    pub n_sentiment: i64,
    pub n_negative: i64,
}

/// The integer columns of [`TicketTotals`] (in order) and its two float sums.
const TICKET_COUNT_COLUMNS: [&str; 17] = [
    "n_tickets",
    "first_none",
    "first_met",
    "first_breached",
    "resolution_none",
    "resolution_met",
    "resolution_breached",
    "n_auto_replied",
    "n_resolved",
    "n_sla_breached",
    "sum_first_response_ms",
    "n_first_response",
    "sum_resolution_ms",
    "n_resolution",
    "n_confidence",
    "n_sentiment",
    "n_negative",
];
const TICKET_SUM_COLUMNS: [&str; 2] = ["sum_confidence", "sum_sentiment"];

impl TicketTotals {
    fn add(&mut self, other: &TicketTotals) {
        self.n_tickets += other.n_tickets;
        self.first_none += other.first_none;
        self.first_met += other.first_met;
        self.first_breached += other.first_breached;
        self.resolution_none += other.resolution_none;
        self.resolution_met += other.resolution_met;
        self.resolution_breached += other.resolution_breached;
        self.n_auto_replied += other.n_auto_replied;
        self.n_resolved += other.n_resolved;
        self.n_sla_breached += other.n_sla_breached;
        self.sum_first_response_ms += other.sum_first_response_ms;
        self.n_first_response += other.n_first_response;
        self.sum_resolution_ms += other.sum_resolution_ms;
        self.n_resolution += other.n_resolution;
        self.sum_confidence += other.sum_confidence;
        self.n_confidence += other.n_confidence;
        self.sum_sentiment += other.sum_sentiment;
        self.n_sentiment += other.n_sentiment;
        self.n_negative += other.n_negative;
    }

    fn decode(row: &impl DbRow) -> Result<TicketTotals> {
        Ok(TicketTotals {
            n_tickets: row.i64("n_tickets")?,
            first_none: row.i64("first_none")?,
            first_met: row.i64("first_met")?,
            first_breached: row.i64("first_breached")?,
            resolution_none: row.i64("resolution_none")?,
            resolution_met: row.i64("resolution_met")?,
            resolution_breached: row.i64("resolution_breached")?,
            n_auto_replied: row.i64("n_auto_replied")?,
            n_resolved: row.i64("n_resolved")?,
            n_sla_breached: row.i64("n_sla_breached")?,
            sum_first_response_ms: row.i64("sum_first_response_ms")?,
            n_first_response: row.i64("n_first_response")?,
            sum_resolution_ms: row.i64("sum_resolution_ms")?,
            n_resolution: row.i64("n_resolution")?,
            sum_confidence: row.f64_opt("sum_confidence")?.unwrap_or(0.0),
            n_confidence: row.i64("n_confidence")?,
            sum_sentiment: row.f64_opt("sum_sentiment")?.unwrap_or(0.0),
            n_sentiment: row.i64("n_sentiment")?,
            n_negative: row.i64("n_negative")?,
        })
    }

    /// Mean seconds (to a tenth) from creation to the first response and to resolution.
    pub fn avg_first_response_seconds(&self) -> Option<f64> {
        seconds(mean(self.sum_first_response_ms as f64, self.n_first_response))
    }

    pub fn avg_resolution_seconds(&self) -> Option<f64> {
        seconds(mean(self.sum_resolution_ms as f64, self.n_resolution))
    }

    pub fn avg_confidence(&self) -> Option<f64> {
        mean(self.sum_confidence, self.n_confidence)
    }

    pub fn avg_sentiment(&self) -> Option<f64> {
        mean(self.sum_sentiment, self.n_sentiment)
    }
}

pub(crate) fn mean(sum: f64, count: i64) -> Option<f64> {
    (count > 0).then(|| sum / count as f64)
}

/// The aggregate columns of [`TicketTotals`] over rows of `tickets`, with the clock at `now_ms`.
fn ticket_aggregates_sql(now_ms: i64) -> String {
    let (first_breached, resolution_breached) = (first_response_breached(now_ms), resolution_breached(now_ms));
    format!(
        "COUNT(*) AS n_tickets, \
         SUM(CASE WHEN first_response_due_at IS NULL THEN 1 ELSE 0 END) AS first_none, \
         SUM(CASE WHEN first_response_due_at IS NOT NULL AND first_responded_at IS NOT NULL AND NOT {first_breached} THEN 1 ELSE 0 END) AS first_met, \
         SUM(CASE WHEN first_response_due_at IS NOT NULL AND {first_breached} THEN 1 ELSE 0 END) AS first_breached, \
         SUM(CASE WHEN resolution_due_at IS NULL THEN 1 ELSE 0 END) AS resolution_none, \
         SUM(CASE WHEN resolution_due_at IS NOT NULL AND resolved_at IS NOT NULL AND NOT {resolution_breached} THEN 1 ELSE 0 END) AS resolution_met, \
         SUM(CASE WHEN resolution_due_at IS NOT NULL AND {resolution_breached} THEN 1 ELSE 0 END) AS resolution_breached, \
         SUM(CASE WHEN route = 'auto_reply' THEN 1 ELSE 0 END) AS n_auto_replied, \
         SUM(CASE WHEN resolved_at IS NOT NULL THEN 1 ELSE 0 END) AS n_resolved, \
         SUM(CASE WHEN {first_breached} OR {resolution_breached} THEN 1 ELSE 0 END) AS n_sla_breached, \
         CAST(COALESCE(SUM(first_responded_at - created_at), 0) AS BIGINT) AS sum_first_response_ms, \
         COUNT(first_responded_at) AS n_first_response, \
         CAST(COALESCE(SUM(resolved_at - created_at), 0) AS BIGINT) AS sum_resolution_ms, \
         COUNT(resolved_at) AS n_resolution, \
         COALESCE(SUM(confidence), 0.0) AS sum_confidence, COUNT(confidence) AS n_confidence, \
         COALESCE(SUM(sentiment), 0.0) AS sum_sentiment, COUNT(sentiment) AS n_sentiment, \
         SUM(CASE WHEN sentiment <= -0.5 THEN 1 ELSE 0 END) AS n_negative"
    )
}

/// The same columns summed over rollup rows, each row weighted by `weight` (`""` or
/// [`SIGNED`]).
fn ticket_rollup_sums_sql(weight: &str) -> String {
    let counts = TICKET_COUNT_COLUMNS.iter().map(|column| format!("CAST(SUM({weight}{column}) AS BIGINT) AS {column}"));
    let sums = TICKET_SUM_COLUMNS.iter().map(|column| format!("SUM({weight}{column}) AS {column}"));
    counts.chain(sums).collect::<Vec<_>>().join(", ")
}

/// The sums of a group of decisions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct DecisionTotals {
    pub n_decisions: i64,
    pub n_auto_replied: i64,
    pub n_human_queue: i64,
    pub n_safety_queue: i64,
    pub n_reopened: i64,
}

const DECISION_COLUMNS: [&str; 5] = ["n_decisions", "n_auto_replied", "n_human_queue", "n_safety_queue", "n_reopened"];

impl DecisionTotals {
    fn add(&mut self, other: &DecisionTotals) {
        self.n_decisions += other.n_decisions;
        self.n_auto_replied += other.n_auto_replied;
        self.n_human_queue += other.n_human_queue;
        self.n_safety_queue += other.n_safety_queue;
        self.n_reopened += other.n_reopened;
    }

    fn decode(row: &impl DbRow) -> Result<DecisionTotals> {
        Ok(DecisionTotals {
            n_decisions: row.i64("n_decisions")?,
            n_auto_replied: row.i64("n_auto_replied")?,
            n_human_queue: row.i64("n_human_queue")?,
            n_safety_queue: row.i64("n_safety_queue")?,
            n_reopened: row.i64("n_reopened")?,
        })
    }
}

/// The aggregate columns of [`DecisionTotals`] over `decisions d JOIN tickets t`. A later
/// inbound message on the ticket has a larger id than the decided message: ids grow with
/// time, and the ticket's messages are read through `messages_ticket`.
const DECISION_AGGREGATES_SQL: &str = "COUNT(*) AS n_decisions, \
     SUM(CASE WHEN d.route = 'auto_reply' THEN 1 ELSE 0 END) AS n_auto_replied, \
     SUM(CASE WHEN d.route = 'human_queue' THEN 1 ELSE 0 END) AS n_human_queue, \
     SUM(CASE WHEN d.route = 'safety_queue' THEN 1 ELSE 0 END) AS n_safety_queue, \
     SUM(CASE WHEN d.route = 'auto_reply' AND EXISTS (SELECT 1 FROM messages m WHERE m.ticket_id = d.ticket_id AND m.id > d.message_id \
     AND m.direction = 'inbound') THEN 1 ELSE 0 END) AS n_reopened";

/// The columns of [`DecisionTotals`] summed over rollup rows.
fn decision_rollup_sums_sql(weight: &str) -> String {
    DECISION_COLUMNS.iter().map(|column| format!("CAST(SUM({weight}{column}) AS BIGINT) AS {column}")).collect::<Vec<_>>().join(", ")
}

/// The count columns summed over rollup rows.
fn count_rollup_sums_sql(weight: &str) -> String {
    COUNT_COLUMNS.iter().map(|column| format!("CAST(SUM({weight}{column}) AS BIGINT) AS {column}")).collect::<Vec<_>>().join(", ")
}

/// The summed columns of a family's rollup rows, in the order its sums SQL gives them.
fn summed_columns(family: Family) -> Vec<&'static str> {
    match family {
        Family::Tickets => TICKET_COUNT_COLUMNS.iter().chain(TICKET_SUM_COLUMNS.iter()).copied().collect(),
        Family::Decisions => DECISION_COLUMNS.to_vec(),
        Family::Replies | Family::Csat | Family::Llm => COUNT_COLUMNS.to_vec(),
    }
}

/// The weight of a row of [`RollupPlan::rolled_rows_sql`] in a sum.
const SIGNED: &str = "sign * ";

/// `[start, end)` stretches of epoch milliseconds as an SQL condition on `column`.
fn ranges_sql(column: &str, ranges: &[(i64, i64)]) -> String {
    let parts: Vec<String> = ranges.iter().map(|(start, end)| format!("({column} >= {start} AND {column} < {end})")).collect();
    format!("({})", parts.join(" OR "))
}

fn floor_hour(ms: i64) -> i64 {
    ms - ms.rem_euclid(HOUR_MS)
}

/// Which parts of a window a report reads from rollups and which it scans.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RollupPlan {
    /// Whole hours, each inside one period, whose hour rows are current.
    pub rolled_hours: Vec<(i64, i64)>,
    /// UTC days whose day rows are current and of which at least 13 whole hours lie inside the
    /// window and inside one period: the day counts for that period (the one holding its noon,
    /// which those 13 hours always contain) ...
    pub rolled_days: Vec<(i64, i64)>,
    /// ... less these hours of those days, which lie outside the window or in another period
    /// (their hour rows are subtracted; a current day has all its hours current). A local day
    /// an hour or two off UTC (Europe, for one) is then a day row and a few hour rows instead
    /// of 24 hour rows.
    pub negated_hours: Vec<(i64, i64)>,
    /// The rest of the window.
    pub scanned: Vec<(i64, i64)>,
}

impl RollupPlan {
    fn scan_all(window: &ReportWindow) -> RollupPlan {
        RollupPlan { scanned: vec![(window.from_ms(), window.to_ms())], ..RollupPlan::default() }
    }

    /// The plan's rolled rows of a rollup table as one derived table: one `SELECT columns FROM
    /// table WHERE filter AND span_hours = … AND hour_ms` range per stretch, joined by UNION
    /// ALL, so each is an index range (an OR of the stretches made SQLite scan every row of
    /// the breakdown); `None` when nothing is rolled. Each row also has `sign` (1, or −1 for a
    /// negated hour: sum `sign * column`) and `pt`, the instant whose period it counts in (a
    /// day's and its negated hours' is the day's noon). A group whose rows cancel out (its
    /// count sums to zero: nothing of it in the covered hours) is left out with `HAVING`.
    fn rolled_rows_sql(&self, table: &str, columns: &str, filter: &str) -> Option<String> {
        const NOON_MS: i64 = DAY_MS / 2;
        let parts = [
            (1, &self.rolled_hours, 1, "hour_ms".to_string()),
            (24, &self.rolled_days, 1, format!("hour_ms + {NOON_MS}")),
            (1, &self.negated_hours, -1, format!("hour_ms - hour_ms % {DAY_MS} + {NOON_MS}")),
        ];
        // Long stretches are index ranges; short ones (a local day's edge hours, one per day)
        // are gathered into one `IN` list, which both backends probe row by row: a year by
        // day would otherwise be hundreds of selects to plan.
        let mut selects: Vec<String> = Vec::new();
        for (span_hours, ranges, sign, pt) in &parts {
            let step = span_hours * HOUR_MS;
            let select = |condition: String| format!("SELECT {columns}, {sign} AS sign, {pt} AS pt FROM {table} WHERE {filter}span_hours = {span_hours} AND {condition}");
            let mut short: Vec<String> = Vec::new();
            for (start, end) in ranges.iter() {
                if (end - start) / step > SHORT_STRETCH {
                    selects.push(select(format!("hour_ms >= {start} AND hour_ms < {end}")));
                } else {
                    short.extend((*start..*end).step_by(step as usize).map(|at| at.to_string()));
                }
            }
            if !short.is_empty() {
                selects.push(select(format!("hour_ms IN ({})", short.join(", "))));
            }
        }
        (!selects.is_empty()).then(|| format!("({}) rolled", selects.join(" UNION ALL ")))
    }
}

/// The parts of sorted, disjoint `ranges` outside sorted, disjoint `minus`.
fn subtract_ranges(ranges: &[(i64, i64)], minus: &[(i64, i64)]) -> Vec<(i64, i64)> {
    let mut left = Vec::new();
    for (start, end) in ranges {
        let mut cursor = *start;
        for (minus_start, minus_end) in minus.iter().filter(|(minus_start, minus_end)| minus_end > start && minus_start < end) {
            if cursor < *minus_start {
                left.push((cursor, *minus_start));
            }
            cursor = cursor.max(*minus_end);
        }
        if cursor < *end {
            left.push((cursor, *end));
        }
    }
    left
}

/// Appends `[start, end)` to sorted stretches, joining it to the last one when they touch.
fn push_range(ranges: &mut Vec<(i64, i64)>, start: i64, end: i64) {
    match ranges.last_mut() {
        Some(last) if last.1 == start => last.1 = end,
        _ => ranges.push((start, end)),
    }
}

/// One rolled-up hour's state.
struct HourState {
    hour_ms: i64,
    dirty: bool,
    built: bool,
    generation: i64,
    first_response_valid_until: Option<i64>,
    resolution_valid_until: Option<i64>,
}

impl HourState {
    fn current_at(&self, now_ms: i64) -> bool {
        self.built && !self.dirty && self.first_response_valid_until.is_none_or(|until| now_ms <= until) && self.resolution_valid_until.is_none_or(|until| now_ms <= until)
    }
}

/// The largest build generation of the day starting at `day_ms` when all its 24 hours are
/// current at `now_ms`; `None` otherwise (a day row may then not be used or built).
fn day_generation(hours: &HashMap<i64, HourState>, day_ms: i64, now_ms: i64) -> Option<i64> {
    let mut generation = 0;
    for hour_idx in 0..24 {
        let hour = hours.get(&(day_ms + hour_idx * HOUR_MS)).filter(|hour| hour.current_at(now_ms))?;
        generation = generation.max(hour.generation);
    }
    Some(generation)
}

/// What one call of [`Store::refresh_report_rollups`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RollupRefresh {
    /// Hours (of both families) built or rebuilt.
    pub built_hours: usize,
    /// Days (of both families) summed from their hours.
    pub built_days: usize,
    /// Hours still missing, dirty or expired after this call.
    pub remaining_hours: usize,
    /// True when another process held the builder's lock (PostgreSQL): nothing was done.
    pub busy: bool,
}

impl Store {
    /// The hour states of `family` whose hour starts in one of `ranges` (all hours: `None`), by
    /// hour.
    async fn hour_states(&self, family: Family, ranges: Option<&[(i64, i64)]>) -> Result<HashMap<i64, HourState>> {
        let sql = format!(
            "SELECT hour_ms, dirty, built_at, generation, first_response_valid_until, resolution_valid_until FROM report_rollup_hours \
             WHERE family = '{family}'{ranges}",
            family = family.as_str(),
            ranges = ranges.map_or_else(String::new, |ranges| format!(" AND {}", ranges_sql("hour_ms", ranges))),
        );
        fn decode(row: &impl DbRow) -> Result<HourState> {
            Ok(HourState {
                hour_ms: row.i64("hour_ms")?,
                dirty: row.bool("dirty")?,
                built: row.opt_i64("built_at")?.is_some(),
                generation: row.i64("generation")?,
                first_response_valid_until: row.opt_i64("first_response_valid_until")?,
                resolution_valid_until: row.opt_i64("resolution_valid_until")?,
            })
        }
        let hours: Vec<HourState> = fetch_report_rows!(self, &*sql, decode);
        Ok(hours.into_iter().map(|hour| (hour.hour_ms, hour)).collect())
    }

    /// The generation each built day of `family` summed.
    async fn day_states(&self, family: Family) -> Result<HashMap<i64, i64>> {
        let sql = format!("SELECT day_ms, generation FROM report_rollup_days WHERE family = '{}'", family.as_str());
        fn decode(row: &impl DbRow) -> Result<(i64, i64)> {
            Ok((row.i64("day_ms")?, row.i64("generation")?))
        }
        let days: Vec<(i64, i64)> = fetch_report_rows!(self, &*sql, decode);
        Ok(days.into_iter().collect())
    }

    /// The days of `family` between the two (inclusive) whose day rows are current at `now_ms`:
    /// all 24 hours built, clean, within their deadlines and not rebuilt since the day was
    /// summed (the same test as [`day_generation`], made in SQL so a year's plan does not read
    /// 8,760 hour states).
    async fn current_days(&self, family: Family, first_day: i64, last_day: i64, now_ms: i64) -> Result<std::collections::HashSet<i64>> {
        let sql = format!(
            "SELECT d.day_ms FROM report_rollup_days d WHERE d.family = '{family}' AND d.day_ms >= {first_day} AND d.day_ms <= {last_day} \
             AND (SELECT COUNT(*) FROM report_rollup_hours h WHERE h.family = d.family AND h.hour_ms >= d.day_ms AND h.hour_ms < d.day_ms + {DAY_MS} \
             AND NOT h.dirty AND h.built_at IS NOT NULL AND h.generation <= d.generation \
             AND (h.first_response_valid_until IS NULL OR h.first_response_valid_until >= {now_ms}) \
             AND (h.resolution_valid_until IS NULL OR h.resolution_valid_until >= {now_ms})) = 24",
            family = family.as_str(),
        );
        fn decode(row: &impl DbRow) -> Result<i64> {
            row.i64("day_ms")
        }
        let days: Vec<i64> = fetch_report_rows!(self, &*sql, decode);
        Ok(days.into_iter().collect())
    }

    /// Reads which days and hours of `window` have current rollups of `family` at `now_ms`.
    pub(crate) async fn rollup_plan(&self, family: Family, window: &ReportWindow, now_ms: i64) -> Result<RollupPlan> {
        let (from_ms, to_ms) = (window.from_ms(), window.to_ms());
        let first_hour = floor_hour(from_ms) + if from_ms.rem_euclid(HOUR_MS) == 0 { 0 } else { HOUR_MS };
        if first_hour + HOUR_MS > to_ms {
            return Ok(RollupPlan::scan_all(window));
        }
        let first_day = first_hour - first_hour.rem_euclid(DAY_MS);
        let current_days = self.current_days(family, first_day, floor_hour(to_ms - 1), now_ms).await?;
        let in_one_period = |start: i64, end: i64| window.period_index(start) == window.period_index(end - 1);
        let mut plan = RollupPlan::default();
        // Days first (see `RollupPlan::rolled_days`); the hours elsewhere are candidates,
        // judged on their own states.
        let mut candidate_hours: Vec<(i64, i64)> = Vec::new();
        let mut hour = first_hour;
        while hour + HOUR_MS <= to_ms {
            let day = hour - hour.rem_euclid(DAY_MS);
            // The whole hours of `day` inside the window and inside the period of its noon.
            let (period_start, period_end) = window.period_bounds_ms((day + DAY_MS / 2).clamp(from_ms, to_ms - 1));
            let covered_start = day.max(first_hour).max(period_start + (HOUR_MS - period_start.rem_euclid(HOUR_MS)) % HOUR_MS);
            let covered_end = (day + DAY_MS).min(floor_hour(to_ms)).min(floor_hour(period_end));
            if hour == covered_start && covered_end - covered_start >= 13 * HOUR_MS && current_days.contains(&day) {
                push_range(&mut plan.rolled_days, day, day + DAY_MS);
                if day < covered_start {
                    push_range(&mut plan.negated_hours, day, covered_start);
                }
                if covered_end < day + DAY_MS {
                    push_range(&mut plan.negated_hours, covered_end, day + DAY_MS);
                }
                hour = covered_end;
            } else {
                push_range(&mut candidate_hours, hour, hour + HOUR_MS);
                hour += HOUR_MS;
            }
        }
        if !candidate_hours.is_empty() {
            let hours = if candidate_hours.len() <= MAX_SCAN_RANGES { self.hour_states(family, Some(&candidate_hours)).await? } else { self.hour_states(family, None).await? };
            for (start, end) in &candidate_hours {
                for hour in (*start..*end).step_by(HOUR_MS as usize) {
                    if hours.get(&hour).is_some_and(|state| state.current_at(now_ms)) && in_one_period(hour, hour + HOUR_MS) {
                        push_range(&mut plan.rolled_hours, hour, hour + HOUR_MS);
                    }
                }
            }
        }
        // What the rollups cover: the rolled hours, and the days less their negated hours.
        let mut rolled: Vec<(i64, i64)> = plan.rolled_hours.clone();
        rolled.extend(subtract_ranges(&plan.rolled_days, &plan.negated_hours));
        rolled.sort_unstable();
        let mut cursor = from_ms;
        for (start, end) in rolled {
            if cursor < start {
                plan.scanned.push((cursor, start));
            }
            cursor = end;
        }
        if cursor < to_ms {
            plan.scanned.push((cursor, to_ms));
        }
        if plan.scanned.len() > MAX_SCAN_RANGES {
            return Ok(RollupPlan::scan_all(window));
        }
        Ok(plan)
    }

    /// Ticket totals of `window` per (period, key1, key2, agent id), from rollups where they
    /// are current and from the tickets elsewhere.
    pub(crate) async fn ticket_totals(&self, window: &ReportWindow, breakdown: TicketBreakdown, now: DateTime<Utc>) -> Result<Vec<(TotalsKey, TicketTotals)>> {
        let now_ms = to_ms(now);
        let plan = self.rollup_plan(Family::Tickets, window, now_ms).await?;
        let (key1, key2, agent, extra) = breakdown.keys_sql();
        fn decode(row: &impl DbRow) -> Result<(TotalsKey, TicketTotals)> {
            Ok((TotalsKey::decode(row)?, TicketTotals::decode(row)?))
        }
        let mut totals: BTreeMap<TotalsKey, TicketTotals> = BTreeMap::new();
        if !plan.scanned.is_empty() {
            let sql = format!(
                "SELECT CAST({period} AS BIGINT) AS period_idx, {key1} AS key1, {key2} AS key2, {agent} AS agent_id, {aggregates} \
                 FROM tickets WHERE {ranges} AND status <> 'merged'{extra} GROUP BY period_idx, key1, key2, agent_id",
                period = window.period_sql("created_at"),
                aggregates = ticket_aggregates_sql(now_ms),
                ranges = ranges_sql("created_at", &plan.scanned),
            );
            let rows: Vec<(TotalsKey, TicketTotals)> = fetch_report_rows!(self, &*sql, decode);
            for (key, row) in rows {
                totals.entry(key).or_default().add(&row);
            }
        }
        let columns = format!("hour_ms, key1, key2, agent_id, {}", summed_columns(Family::Tickets).join(", "));
        if let Some(rolled) = plan.rolled_rows_sql("report_rollup_tickets", &columns, &format!("dimension = '{}' AND ", breakdown.label())) {
            let sql = format!(
                "SELECT CAST({period} AS BIGINT) AS period_idx, key1, key2, agent_id, {sums} FROM {rolled} GROUP BY period_idx, key1, key2, agent_id HAVING SUM(sign * n_tickets) <> 0",
                period = window.period_sql("pt"),
                sums = ticket_rollup_sums_sql(SIGNED),
            );
            let rows: Vec<(TotalsKey, TicketTotals)> = fetch_report_rows!(self, &*sql, decode);
            for (key, row) in rows {
                totals.entry(key).or_default().add(&row);
            }
        }
        Ok(totals.into_iter().collect())
    }

    /// Decision totals of `window` per (period, the ticket's intent).
    pub(crate) async fn decision_totals(&self, window: &ReportWindow) -> Result<Vec<(TotalsKey, DecisionTotals)>> {
        // Decision rollups never depend on the clock (no hour keeps a deadline), so any `now`.
        let plan = self.rollup_plan(Family::Decisions, window, 0).await?;
        fn decode(row: &impl DbRow) -> Result<(TotalsKey, DecisionTotals)> {
            Ok((TotalsKey::decode(row)?, DecisionTotals::decode(row)?))
        }
        let mut totals: BTreeMap<TotalsKey, DecisionTotals> = BTreeMap::new();
        if !plan.scanned.is_empty() {
            let sql = format!(
                "SELECT CAST({period} AS BIGINT) AS period_idx, t.intent AS key1, CAST(NULL AS TEXT) AS key2, CAST(NULL AS BIGINT) AS agent_id, {DECISION_AGGREGATES_SQL} \
                 FROM decisions d JOIN tickets t ON t.id = d.ticket_id WHERE {ranges} GROUP BY period_idx, t.intent",
                period = window.period_sql("d.created_at"),
                ranges = ranges_sql("d.created_at", &plan.scanned),
            );
            let rows: Vec<(TotalsKey, DecisionTotals)> = fetch_report_rows!(self, &*sql, decode);
            for (key, row) in rows {
                totals.entry(key).or_default().add(&row);
            }
        }
        let columns = format!("hour_ms, intent, {}", DECISION_COLUMNS.join(", "));
        if let Some(rolled) = plan.rolled_rows_sql("report_rollup_decisions", &columns, "") {
            let sql = format!(
                "SELECT CAST({period} AS BIGINT) AS period_idx, intent AS key1, CAST(NULL AS TEXT) AS key2, CAST(NULL AS BIGINT) AS agent_id, {sums} \
                 FROM {rolled} GROUP BY period_idx, intent HAVING SUM(sign * n_decisions) <> 0",
                period = window.period_sql("pt"),
                sums = decision_rollup_sums_sql(SIGNED),
            );
            let rows: Vec<(TotalsKey, DecisionTotals)> = fetch_report_rows!(self, &*sql, decode);
            for (key, row) in rows {
                totals.entry(key).or_default().add(&row);
            }
        }
        Ok(totals.into_iter().collect())
    }

    /// The five counts of a count family over `window` per (period, keys, agent id), from
    /// rollups where they are current and from the source rows elsewhere.
    pub(crate) async fn count_totals(&self, spec: &CountSpec, window: &ReportWindow) -> Result<Vec<(CountKey, [i64; 5])>> {
        // Count rollups never depend on the clock (no hour keeps a deadline), so any `now`.
        let plan = self.rollup_plan(spec.family, window, 0).await?;
        let mut totals: BTreeMap<CountKey, [i64; 5]> = BTreeMap::new();
        let mut add = |rows: Vec<(CountKey, [i64; 5])>| {
            for (key, counts) in rows {
                let entry = totals.entry(key).or_default();
                for (total, count) in entry.iter_mut().zip(counts) {
                    *total += count;
                }
            }
        };
        if !plan.scanned.is_empty() {
            let sql = spec.grouped_sql(&format!("CAST({} AS BIGINT)", window.period_sql(spec.time)), &plan.scanned);
            add(fetch_report_rows!(self, &*sql, decode_counts));
        }
        let columns = format!("hour_ms, key1, key2, key3, agent_id, {}", COUNT_COLUMNS.join(", "));
        if let Some(rolled) = plan.rolled_rows_sql("report_rollup_counts", &columns, &format!("family = '{}' AND ", spec.family.as_str())) {
            let sql = format!(
                "SELECT CAST({period} AS BIGINT) AS g, key1, key2, key3, agent_id, {sums} FROM {rolled} GROUP BY g, key1, key2, key3, agent_id HAVING SUM(sign * c0) <> 0",
                period = window.period_sql("pt"),
                sums = count_rollup_sums_sql(SIGNED),
            );
            add(fetch_report_rows!(self, &*sql, decode_counts));
        }
        Ok(totals.into_iter().collect())
    }

    /// Builds or rebuilds up to `max_hours` hours of rollups: hours not rolled up yet (from the
    /// oldest ticket or decision to the last whole hour before `now`), dirty ones, and ones
    /// whose running deadlines have passed since they were built. Call it again while
    /// `remaining_hours` is not zero.
    pub async fn refresh_report_rollups(&self, now: DateTime<Utc>, max_hours: usize) -> Result<RollupRefresh> {
        let now_ms = to_ms(now);
        let mut refresh = RollupRefresh::default();
        for family in Family::ALL {
            let stale = self.stale_hours(family, now_ms).await?;
            let budget = max_hours.saturating_sub(refresh.built_hours);
            let (todo, later) = stale.split_at(stale.len().min(budget));
            refresh.remaining_hours += later.len();
            for chunk in todo.chunks(HOURS_PER_TRANSACTION) {
                if !self.build_hours(family, chunk, now_ms).await? {
                    refresh.busy = true;
                    refresh.remaining_hours += chunk.len();
                    continue;
                }
                refresh.built_hours += chunk.len();
            }
            if !refresh.busy {
                let (built_days, busy) = self.build_days(family, now_ms).await?;
                refresh.built_days += built_days;
                refresh.busy |= busy;
            }
        }
        Ok(refresh)
    }

    /// Refreshes the planner's statistics of the rollup tables after a large build (PostgreSQL;
    /// on SQLite nothing: its plans for them do not depend on statistics). Without it a
    /// freshly built table is estimated at a row per range, and a year's report sorts 30,000
    /// rows on disk instead of hashing them (88 ms against 50 ms for the agent report);
    /// autovacuum keeps them current once the builder only adds an hour at a time.
    pub async fn analyze_report_rollups(&self) -> Result<()> {
        if matches!(self.backend(), crate::Backend::Postgres) {
            on_writer!(self, |pool| {
                sqlx::query("ANALYZE report_rollup_hours, report_rollup_days, report_rollup_tickets, report_rollup_decisions, report_rollup_counts").execute(pool).await?;
            });
        }
        Ok(())
    }

    /// Deletes every rollup (reports then scan until the builder has run again).
    pub async fn clear_report_rollups(&self) -> Result<()> {
        on_writer!(self, |pool| {
            let mut tx = pool.begin().await?;
            for table in ["report_rollup_hours", "report_rollup_days", "report_rollup_tickets", "report_rollup_decisions", "report_rollup_counts"] {
                sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table}"))).execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Hours of `family` to build, oldest first: missing between the oldest source row and the
    /// last whole hour before `now_ms`, dirty, or past a deadline that was running at build.
    async fn stale_hours(&self, family: Family, now_ms: i64) -> Result<Vec<i64>> {
        let end_hour = floor_hour(now_ms);
        let oldest: Option<i64> = on_reader!(self, |pool| sqlx::query_scalar(sqlx::AssertSqlSafe(family.oldest_sql())).fetch_one(pool).await?);
        let Some(oldest) = oldest else {
            return Ok(Vec::new());
        };
        let known = self.hour_states(family, None).await?;
        let mut stale: Vec<i64> = known.values().filter(|hour| !hour.current_at(now_ms)).map(|hour| hour.hour_ms).collect();
        let mut hour = floor_hour(oldest);
        while hour < end_hour {
            if !known.contains_key(&hour) {
                stale.push(hour);
            }
            hour += HOUR_MS;
        }
        stale.sort_unstable();
        Ok(stale)
    }

    /// Builds `hours` (sorted) of `family` in one transaction. False when another process holds
    /// the builder's lock.
    async fn build_hours(&self, family: Family, hours: &[i64], now_ms: i64) -> Result<bool> {
        let family_label = family.as_str();
        let hour_list = hours.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
        // Rows for new hours first, committed on their own and dirty: from now on the triggers
        // see them, so a change during the build below marks the hour dirty again.
        let values = hours.iter().map(|hour| format!("('{family_label}', {hour}, TRUE)")).collect::<Vec<_>>().join(", ");
        on_writer!(self, |pool| {
            sqlx::query(sqlx::AssertSqlSafe(format!("INSERT INTO report_rollup_hours (family, hour_ms, dirty) VALUES {values} ON CONFLICT (family, hour_ms) DO NOTHING")))
                .execute(pool)
                .await?;
        });
        let ranges: Vec<(i64, i64)> = contiguous(hours);
        let postgres = matches!(self.backend(), crate::Backend::Postgres);
        let built = on_writer!(self, |pool| {
            let mut tx = pool.begin().await?;
            let locked = if postgres {
                sqlx::query_scalar::<_, bool>(sqlx::AssertSqlSafe(format!("SELECT pg_try_advisory_xact_lock({BUILDER_LOCK_KEY})"))).fetch_one(&mut *tx).await?
            } else {
                true
            };
            if locked {
                // Taking the hour rows first: a trigger of a concurrent ticket change waits for
                // this commit and then marks the hour dirty (SQLite has one writer anyway).
                sqlx::query(sqlx::AssertSqlSafe(format!("UPDATE report_rollup_hours SET dirty = FALSE WHERE family = '{family_label}' AND hour_ms IN ({hour_list})")))
                    .execute(&mut *tx)
                    .await?;
                // This build's number: the days summed from these hours before are now stale.
                let generation: i64 = sqlx::query_scalar("SELECT CAST(COALESCE(MAX(generation), 0) + 1 AS BIGINT) FROM report_rollup_hours").fetch_one(&mut *tx).await?;
                let hour_ranges = ranges_sql("hour_ms", &ranges);
                // The hours' state once built, for the families whose counts do not depend on
                // the clock.
                let built_without_deadlines = format!(
                    "UPDATE report_rollup_hours SET built_at = {now_ms}, generation = {generation}, first_response_valid_until = NULL, resolution_valid_until = NULL \
                     WHERE family = '{family_label}' AND hour_ms IN ({hour_list})"
                );
                match family {
                    Family::Tickets => {
                        sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM report_rollup_tickets WHERE span_hours = 1 AND {hour_ranges}"))).execute(&mut *tx).await?;
                        let columns = summed_columns(Family::Tickets);
                        for breakdown in TicketBreakdown::ALL {
                            let (key1, key2, agent, extra) = breakdown.keys_sql();
                            let sql = format!(
                                "INSERT INTO report_rollup_tickets (hour_ms, span_hours, dimension, key1, key2, agent_id, {columns}) \
                                 SELECT hour_ms, 1, '{label}', key1, key2, agent_id, {columns} FROM ( \
                                 SELECT created_at - created_at % {HOUR_MS} AS hour_ms, {key1} AS key1, {key2} AS key2, {agent} AS agent_id, {aggregates} \
                                 FROM tickets WHERE {ticket_ranges} AND status <> 'merged'{extra} \
                                 GROUP BY hour_ms, key1, key2, agent_id) grouped",
                                columns = columns.join(", "),
                                label = breakdown.label(),
                                aggregates = ticket_aggregates_sql(now_ms),
                                ticket_ranges = ranges_sql("created_at", &ranges),
                            );
                            sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut *tx).await?;
                        }
                        // The earliest deadline still running at `now_ms` per hour (no response
                        // or resolution yet, clock not paused, not flagged, not passed): until
                        // then the breach counts above hold.
                        let sql = format!(
                            "UPDATE report_rollup_hours SET built_at = {now_ms}, generation = {generation}, \
                             first_response_valid_until = (SELECT MIN(first_response_due_at) FROM tickets t WHERE t.created_at >= report_rollup_hours.hour_ms \
                               AND t.created_at < report_rollup_hours.hour_ms + {HOUR_MS} AND t.status <> 'merged' AND t.first_responded_at IS NULL AND t.sla_paused_at IS NULL \
                               AND NOT t.first_response_breached AND t.first_response_due_at >= {now_ms}), \
                             resolution_valid_until = (SELECT MIN(resolution_due_at) FROM tickets t WHERE t.created_at >= report_rollup_hours.hour_ms \
                               AND t.created_at < report_rollup_hours.hour_ms + {HOUR_MS} AND t.status <> 'merged' AND t.resolved_at IS NULL AND t.sla_paused_at IS NULL \
                               AND NOT t.resolution_breached AND t.resolution_due_at >= {now_ms}) \
                             WHERE family = '{family_label}' AND hour_ms IN ({hour_list})"
                        );
                        sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut *tx).await?;
                    }
                    Family::Replies | Family::Csat | Family::Llm => {
                        let spec = family.counts().expect("a count family");
                        sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM report_rollup_counts WHERE family = '{family_label}' AND span_hours = 1 AND {hour_ranges}")))
                            .execute(&mut *tx)
                            .await?;
                        let columns = COUNT_COLUMNS.join(", ");
                        let sql = format!(
                            "INSERT INTO report_rollup_counts (family, hour_ms, span_hours, key1, key2, key3, agent_id, {columns}) \
                             SELECT '{family_label}', g, 1, key1, key2, key3, agent_id, {columns} FROM ({grouped}) grouped",
                            grouped = spec.grouped_sql(&format!("{time} - {time} % {HOUR_MS}", time = spec.time), &ranges),
                        );
                        sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut *tx).await?;
                        sqlx::query(sqlx::AssertSqlSafe(&*built_without_deadlines)).execute(&mut *tx).await?;
                    }
                    Family::Decisions => {
                        sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM report_rollup_decisions WHERE span_hours = 1 AND {hour_ranges}"))).execute(&mut *tx).await?;
                        let columns = DECISION_COLUMNS.join(", ");
                        let sql = format!(
                            "INSERT INTO report_rollup_decisions (hour_ms, span_hours, intent, {columns}) \
                             SELECT d.created_at - d.created_at % {HOUR_MS}, 1, t.intent, {DECISION_AGGREGATES_SQL} \
                             FROM decisions d JOIN tickets t ON t.id = d.ticket_id WHERE {decision_ranges} \
                             GROUP BY d.created_at - d.created_at % {HOUR_MS}, t.intent",
                            decision_ranges = ranges_sql("d.created_at", &ranges),
                        );
                        sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut *tx).await?;
                        sqlx::query(sqlx::AssertSqlSafe(&*built_without_deadlines)).execute(&mut *tx).await?;
                    }
                }
            }
            tx.commit().await?;
            locked
        });
        Ok(built)
    }

    /// Sums the hour rows of every UTC day of `family` whose 24 hours are current at `now_ms`
    /// and were rebuilt since the day was last summed (or never summed), a month of days per
    /// transaction. Returns the days built and whether another process held the lock.
    async fn build_days(&self, family: Family, now_ms: i64) -> Result<(usize, bool)> {
        let hours = self.hour_states(family, None).await?;
        let days = self.day_states(family).await?;
        let mut candidates: Vec<i64> = hours.keys().map(|hour| hour - hour.rem_euclid(DAY_MS)).collect();
        candidates.sort_unstable();
        candidates.dedup();
        let todo: Vec<(i64, i64)> = candidates
            .into_iter()
            .filter_map(|day| day_generation(&hours, day, now_ms).filter(|generation| days.get(&day) != Some(generation)).map(|generation| (day, generation)))
            .collect();
        let family_label = family.as_str();
        let postgres = matches!(self.backend(), crate::Backend::Postgres);
        let mut built = 0;
        for chunk in todo.chunks(DAYS_PER_TRANSACTION) {
            let day_ranges = ranges_sql("hour_ms", &chunk.iter().map(|(day, _)| (*day, day + DAY_MS)).collect::<Vec<_>>());
            // The rollup table, the rows of this family in it, its key and summed columns.
            let (table, only_family, group, sums) = match family {
                Family::Tickets => ("report_rollup_tickets", String::new(), "dimension, key1, key2, agent_id", ticket_rollup_sums_sql("")),
                Family::Decisions => ("report_rollup_decisions", String::new(), "intent", decision_rollup_sums_sql("")),
                Family::Replies | Family::Csat | Family::Llm => ("report_rollup_counts", format!("family = '{family_label}' AND "), "family, key1, key2, key3, agent_id", count_rollup_sums_sql("")),
            };
            let columns = format!("{group}, {}", summed_columns(family).join(", "));
            let values = chunk.iter().map(|(day, generation)| format!("('{family_label}', {day}, {generation})")).collect::<Vec<_>>().join(", ");
            let locked = on_writer!(self, |pool| {
                let mut tx = pool.begin().await?;
                let locked = if postgres {
                    sqlx::query_scalar::<_, bool>(sqlx::AssertSqlSafe(format!("SELECT pg_try_advisory_xact_lock({BUILDER_LOCK_KEY})"))).fetch_one(&mut *tx).await?
                } else {
                    true
                };
                if locked {
                    sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table} WHERE {only_family}span_hours = 24 AND {day_ranges}"))).execute(&mut *tx).await?;
                    let sql = format!(
                        "INSERT INTO {table} (hour_ms, span_hours, {columns}) SELECT day_ms, 24, {columns} FROM ( \
                         SELECT hour_ms - hour_ms % {DAY_MS} AS day_ms, {group}, {sums} FROM {table} WHERE {only_family}span_hours = 1 AND {day_ranges} \
                         GROUP BY hour_ms - hour_ms % {DAY_MS}, {group}) summed"
                    );
                    sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut *tx).await?;
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "INSERT INTO report_rollup_days (family, day_ms, generation) VALUES {values} ON CONFLICT (family, day_ms) DO UPDATE SET generation = excluded.generation"
                    )))
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                locked
            });
            if !locked {
                return Ok((built, true));
            }
            built += chunk.len();
        }
        Ok((built, false))
    }
}

/// Sorted hour starts as `[start, end)` stretches of consecutive hours.
fn contiguous(hours: &[i64]) -> Vec<(i64, i64)> {
    let mut ranges: Vec<(i64, i64)> = Vec::new();
    for hour in hours {
        match ranges.last_mut() {
            Some(last) if last.1 == *hour => last.1 = hour + HOUR_MS,
            _ => ranges.push((*hour, hour + HOUR_MS)),
        }
    }
    ranges
}

/// A group of a report: its period and up to two text keys and an agent id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct TotalsKey {
    pub period_idx: i64,
    pub key1: Option<String>,
    pub key2: Option<String>,
    pub agent_id: Option<i64>,
}

impl TotalsKey {
    fn decode(row: &impl DbRow) -> Result<TotalsKey> {
        Ok(TotalsKey { period_idx: row.i64("period_idx")?, key1: row.opt_string("key1")?, key2: row.opt_string("key2")?, agent_id: row.opt_i64("agent_id")? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consecutive_hours_become_one_stretch() {
        let h = HOUR_MS;
        assert_eq!(contiguous(&[0, h, 2 * h, 5 * h, 6 * h, 9 * h]), vec![(0, 3 * h), (5 * h, 7 * h), (9 * h, 10 * h)]);
        assert_eq!(contiguous(&[]), Vec::<(i64, i64)>::new());
    }

    #[test]
    fn negated_hours_are_cut_out_of_their_days() {
        let (h, d) = (HOUR_MS, DAY_MS);
        // Two days in one stretch less the last hour of each (a zone an hour east of UTC).
        assert_eq!(subtract_ranges(&[(0, 2 * d)], &[(23 * h, d), (d + 23 * h, 2 * d)]), vec![(0, 23 * h), (d, d + 23 * h)]);
        // Stretches that touch across a day boundary, and nothing to cut.
        assert_eq!(subtract_ranges(&[(0, 2 * d)], &[(22 * h, d + h)]), vec![(0, 22 * h), (d + h, 2 * d)]);
        assert_eq!(subtract_ranges(&[(0, d)], &[]), vec![(0, d)]);
        assert_eq!(subtract_ranges(&[(0, d)], &[(0, d)]), Vec::<(i64, i64)>::new());
    }

    #[test]
    fn an_hour_is_current_until_its_earliest_running_deadline() {
        let hour = HourState { hour_ms: 0, dirty: false, built: true, generation: 1, first_response_valid_until: Some(5_000), resolution_valid_until: Some(9_000) };
        assert!(hour.current_at(5_000));
        assert!(!hour.current_at(5_001));
        assert!(!HourState { dirty: true, ..hour }.current_at(0));
        assert!(!HourState { built: false, dirty: false, ..hour }.current_at(0));
        assert!(HourState { first_response_valid_until: None, resolution_valid_until: None, ..hour }.current_at(i64::MAX));
    }
}
