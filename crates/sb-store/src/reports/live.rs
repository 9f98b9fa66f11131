//! The live reports: the pending queue, the real-time metrics and one customer's 360° view.
//! Open work is read through the partial index `tickets_open` (only new, open and pending
//! tickets are in it, so its size follows the queue, not the history); recent arrivals through
//! `tickets_report`, resolutions through `tickets_resolved`, today's decisions through
//! `decisions_report`, a customer's tickets through `tickets_customer`.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::{fetch_report_rows, start_of_local_day, ReportWindow};
use crate::records::{customer_from_row, DbRow, Customer, CUSTOMER_COLUMNS};
use crate::{from_ms, from_ms_opt, to_ms, Error, Result, Store};

/// The statuses of open work, written as the partial indexes' predicate.
const OPEN: &str = "status IN ('new', 'open', 'pending')";

/// How close a deadline must be for `due_within_hour`.
const DUE_SOON_MS: i64 = 60 * 60 * 1000;

/// One open ticket of the queue.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PendingRow {
    pub ticket_id: i64,
    pub status: String,
    pub queue: String,
    pub channel: String,
    pub category: Option<String>,
    pub intent: Option<String>,
    pub severity: Option<String>,
    pub priority: i64,
    pub assignee_id: Option<i64>,
    pub customer_id: Option<i64>,
    /// RFC 3339 in the report's time zone.
    pub created_at: String,
    pub waiting_seconds: i64,
    /// The deadline that matters now: first response until there is one, then resolution.
    pub next_deadline_at: Option<String>,
    /// Seconds until that deadline (negative once it has passed).
    pub seconds_to_deadline: Option<i64>,
    /// `breached`, `due_within_hour`, `on_track`, `paused` or `no_sla`.
    pub sla_state: String,
}

/// The supervisor dashboard's live numbers at `generated_at`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RealtimeRow {
    pub generated_at: String,
    /// Open tickets (new, open, pending) in all queues.
    pub n_open: i64,
    pub n_queue_triage: i64,
    pub n_queue_auto: i64,
    pub n_queue_human: i64,
    pub n_queue_safety: i64,
    /// Open tickets waiting on the customer (SLA paused).
    pub n_waiting_on_customer: i64,
    /// Open tickets in the human and safety queues with nobody assigned.
    pub n_unassigned: i64,
    /// Age of the oldest open ticket without a first response (null when none waits).
    pub oldest_waiting_seconds: Option<i64>,
    /// Open tickets past a deadline they have not met.
    pub n_sla_breached: i64,
    /// Open tickets whose next deadline is within the hour.
    pub n_sla_due_within_hour: i64,
    pub arrivals_last_hour: i64,
    /// Tickets created since local midnight.
    pub arrivals_today: i64,
    pub resolved_today: i64,
    /// Mean sentiment of the last hour's tickets (−1 to 1).
    pub avg_sentiment_last_hour: Option<f64>,
    pub n_negative_last_hour: i64,
    pub decisions_today: i64,
    pub auto_replied_today: i64,
    pub automation_rate_today: Option<f64>,
}

/// One ticket of a customer's history.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CustomerTicketRow {
    pub ticket_id: i64,
    pub created_at: String,
    pub channel: String,
    pub status: String,
    pub category: Option<String>,
    pub intent: Option<String>,
    pub priority: i64,
    pub sentiment: Option<f64>,
    /// As the customer wrote it (personal data).
    pub subject: Option<String>,
    pub resolved_at: Option<String>,
}

/// The customer's tickets and mean sentiment in one period of the window.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SentimentPoint {
    pub period_start: String,
    pub n_tickets: i64,
    pub avg_sentiment: Option<f64>,
}

/// An order of the customer (built-in order store).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CustomerOrderRow {
    pub number: String,
    pub status: String,
    pub placed_at: String,
    pub total_minor: i64,
    pub currency: String,
    /// `ups`, `fedex`, `usps` or `dhl`, once shipped.
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
    /// The carrier's public tracking page for the tracking number.
    pub tracking_url: Option<String>,
    /// The delivery date promised to the customer (ISO date).
    pub promised_delivery: Option<String>,
}

/// Everything an agent sees about a customer beside a ticket.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Customer360 {
    pub customer: Customer,
    pub n_tickets: i64,
    pub n_open_tickets: i64,
    pub first_contact_at: Option<String>,
    pub last_contact_at: Option<String>,
    /// Mean sentiment over all their tickets.
    pub avg_sentiment: Option<f64>,
    /// Per period of the window.
    pub sentiment_trend: Vec<SentimentPoint>,
    /// Newest first, at most [`CUSTOMER_TICKETS`].
    pub tickets: Vec<CustomerTicketRow>,
    /// Newest first, at most [`CUSTOMER_ORDERS`].
    pub orders: Vec<CustomerOrderRow>,
}

/// Tickets and orders a customer 360 lists.
pub const CUSTOMER_TICKETS: i64 = 50;
pub const CUSTOMER_ORDERS: i64 = 10;

fn sla_state(row: &impl DbRow, now_ms: i64) -> Result<(Option<i64>, &'static str)> {
    if row.opt_i64("sla_paused_at")?.is_some() {
        return Ok((None, "paused"));
    }
    let first_due = match row.opt_i64("first_responded_at")? {
        None => row.opt_i64("first_response_due_at")?,
        Some(_) => None,
    };
    let resolution_due = match row.opt_i64("resolved_at")? {
        None => row.opt_i64("resolution_due_at")?,
        Some(_) => None,
    };
    let deadline = first_due.or(resolution_due);
    let flagged = row.bool("first_response_breached")? || row.bool("resolution_breached")?;
    let state = match deadline {
        _ if flagged => "breached",
        None => "no_sla",
        Some(due) if due < now_ms => "breached",
        Some(due) if due < now_ms + DUE_SOON_MS => "due_within_hour",
        Some(_) => "on_track",
    };
    Ok((deadline, state))
}

fn pending_row(row: &impl DbRow, now_ms: i64, time_zone: Tz) -> Result<PendingRow> {
    let local = |ms: i64| from_ms(ms).with_timezone(&time_zone).to_rfc3339();
    let created_ms = row.i64("created_at")?;
    let (deadline, state) = sla_state(row, now_ms)?;
    Ok(PendingRow {
        ticket_id: row.i64("id")?,
        status: row.string("status")?,
        queue: row.string("queue")?,
        channel: row.string("channel")?,
        category: row.opt_string("category")?,
        intent: row.opt_string("intent")?,
        severity: row.opt_string("severity")?,
        priority: row.i64("priority")?,
        assignee_id: row.opt_i64("assignee_id")?,
        customer_id: row.opt_i64("customer_id")?,
        created_at: local(created_ms),
        waiting_seconds: (now_ms - created_ms).max(0) / 1000,
        next_deadline_at: deadline.map(local),
        seconds_to_deadline: deadline.map(|due| (due - now_ms).div_euclid(1000)),
        sla_state: state.to_string(),
    })
}

impl Store {
    /// The open tickets, most urgent first, at most `limit` (1–1000).
    pub async fn report_pending(&self, time_zone: Tz, limit: i64, now: DateTime<Utc>) -> Result<Vec<PendingRow>> {
        let now_ms = to_ms(now);
        let sql = format!(
            "SELECT id, status, queue, channel, category, intent, severity, priority, assignee_id, customer_id, created_at, first_response_due_at, \
             first_responded_at, resolution_due_at, resolved_at, sla_paused_at, first_response_breached, resolution_breached \
             FROM tickets WHERE {OPEN} ORDER BY priority DESC, created_at, id LIMIT {}",
            limit.clamp(1, 1000)
        );
        let rows: Vec<PendingRow> = fetch_report_rows!(self, &*sql, |row| pending_row(row, now_ms, time_zone));
        Ok(rows)
    }

    /// The live numbers at `now`; "today" is the local day in `time_zone`.
    pub async fn report_realtime(&self, time_zone: Tz, now: DateTime<Utc>) -> Result<RealtimeRow> {
        let now_ms = to_ms(now);
        let today_ms = to_ms(start_of_local_day(time_zone, now.with_timezone(&time_zone).date_naive()));
        let hour_ago_ms = to_ms(now - Duration::hours(1));
        let open_sql = format!(
            "SELECT queue, COUNT(*) AS n_tickets, \
             SUM(CASE WHEN status = 'pending' THEN 1 ELSE 0 END) AS n_waiting, \
             SUM(CASE WHEN assignee_id IS NULL AND queue IN ('human', 'safety') THEN 1 ELSE 0 END) AS n_unassigned, \
             MIN(CASE WHEN first_responded_at IS NULL THEN created_at END) AS oldest_unanswered, \
             SUM(CASE WHEN first_response_breached OR resolution_breached OR (sla_paused_at IS NULL AND \
             ((first_responded_at IS NULL AND first_response_due_at < {now_ms}) OR (resolved_at IS NULL AND resolution_due_at < {now_ms}))) THEN 1 ELSE 0 END) AS n_breached, \
             SUM(CASE WHEN NOT (first_response_breached OR resolution_breached) AND sla_paused_at IS NULL AND \
             ((first_responded_at IS NULL AND first_response_due_at >= {now_ms} AND first_response_due_at < {soon}) \
             OR (first_responded_at IS NOT NULL AND resolved_at IS NULL AND resolution_due_at >= {now_ms} AND resolution_due_at < {soon})) THEN 1 ELSE 0 END) AS n_due_soon \
             FROM tickets WHERE {OPEN} GROUP BY queue",
            soon = now_ms + DUE_SOON_MS,
        );
        let since_ms = today_ms.min(hour_ago_ms);
        let arrivals_sql = format!(
            "SELECT COALESCE(SUM(CASE WHEN created_at >= {hour_ago_ms} THEN 1 ELSE 0 END), 0) AS last_hour, \
             COALESCE(SUM(CASE WHEN created_at >= {today_ms} THEN 1 ELSE 0 END), 0) AS today, \
             AVG(CASE WHEN created_at >= {hour_ago_ms} THEN sentiment END) AS avg_sentiment, \
             COALESCE(SUM(CASE WHEN created_at >= {hour_ago_ms} AND sentiment <= -0.5 THEN 1 ELSE 0 END), 0) AS n_negative \
             FROM tickets WHERE created_at >= {since_ms} AND created_at <= {now_ms} AND status <> 'merged'"
        );
        let resolved_sql = format!("SELECT COUNT(*) AS n_resolved FROM tickets WHERE resolved_at >= {today_ms} AND resolved_at <= {now_ms}");
        let decisions_sql = format!(
            "SELECT COUNT(*) AS n_decisions, COALESCE(SUM(CASE WHEN route = 'auto_reply' THEN 1 ELSE 0 END), 0) AS n_auto \
             FROM decisions WHERE created_at >= {today_ms} AND created_at <= {now_ms}"
        );
        fn decode_open(row: &impl DbRow) -> Result<(String, [i64; 5], Option<i64>)> {
            Ok((
                row.string("queue")?,
                [row.i64("n_tickets")?, row.i64("n_waiting")?, row.i64("n_unassigned")?, row.i64("n_breached")?, row.i64("n_due_soon")?],
                row.opt_i64("oldest_unanswered")?,
            ))
        }
        fn decode_arrivals(row: &impl DbRow) -> Result<(i64, i64, Option<f64>, i64)> {
            Ok((row.i64("last_hour")?, row.i64("today")?, row.f64_opt("avg_sentiment")?, row.i64("n_negative")?))
        }
        fn decode_count(row: &impl DbRow) -> Result<i64> {
            row.i64("n_resolved")
        }
        fn decode_decisions(row: &impl DbRow) -> Result<(i64, i64)> {
            Ok((row.i64("n_decisions")?, row.i64("n_auto")?))
        }
        let open_rows: Vec<(String, [i64; 5], Option<i64>)> = fetch_report_rows!(self, &*open_sql, decode_open);
        let arrivals: Vec<(i64, i64, Option<f64>, i64)> = fetch_report_rows!(self, &*arrivals_sql, decode_arrivals);
        let resolved: Vec<i64> = fetch_report_rows!(self, &*resolved_sql, decode_count);
        let decisions: Vec<(i64, i64)> = fetch_report_rows!(self, &*decisions_sql, decode_decisions);

        let mut row = RealtimeRow { generated_at: now.with_timezone(&time_zone).to_rfc3339(), ..RealtimeRow::default() };
        let mut oldest_unanswered: Option<i64> = None;
        for (queue, [n_tickets, n_waiting, n_unassigned, n_breached, n_due_soon], oldest) in open_rows {
            match queue.as_str() {
                "triage" => row.n_queue_triage = n_tickets,
                "auto" => row.n_queue_auto = n_tickets,
                "human" => row.n_queue_human = n_tickets,
                "safety" => row.n_queue_safety = n_tickets,
                other => return Err(Error::Invalid(format!("unknown queue `{other}` in the database"))),
            }
            row.n_open += n_tickets;
            row.n_waiting_on_customer += n_waiting;
            row.n_unassigned += n_unassigned;
            row.n_sla_breached += n_breached;
            row.n_sla_due_within_hour += n_due_soon;
            oldest_unanswered = match (oldest_unanswered, oldest) {
                (Some(current), Some(candidate)) => Some(current.min(candidate)),
                (current, candidate) => current.or(candidate),
            };
        }
        row.oldest_waiting_seconds = oldest_unanswered.map(|created_ms| (now_ms - created_ms).max(0) / 1000);
        if let Some((last_hour, today, avg_sentiment, n_negative)) = arrivals.into_iter().next() {
            (row.arrivals_last_hour, row.arrivals_today, row.avg_sentiment_last_hour, row.n_negative_last_hour) = (last_hour, today, avg_sentiment, n_negative);
        }
        row.resolved_today = resolved.into_iter().next().unwrap_or(0);
        if let Some((n_decisions, n_auto)) = decisions.into_iter().next() {
            (row.decisions_today, row.auto_replied_today, row.automation_rate_today) = (n_decisions, n_auto, super::ratio(n_auto, n_decisions));
        }
        Ok(row)
    }

    /// One customer: totals over all their tickets, the sentiment trend over `window`, their
    /// latest tickets and orders.
    pub async fn report_customer(&self, customer_id: i64, window: &ReportWindow) -> Result<Customer360> {
        let customer_sql = format!("SELECT {CUSTOMER_COLUMNS} FROM customers WHERE id = {customer_id}");
        let customer: Option<Customer> = fetch_report_rows!(self, &*customer_sql, customer_from_row).into_iter().next();
        let customer = customer.ok_or_else(|| Error::not_found("customer", customer_id))?;
        let totals_sql = format!(
            "SELECT COUNT(*) AS n_tickets, COALESCE(SUM(CASE WHEN {OPEN} THEN 1 ELSE 0 END), 0) AS n_open, MIN(created_at) AS first_contact, \
             MAX(last_message_at) AS last_contact, AVG(sentiment) AS avg_sentiment FROM tickets WHERE customer_id = {customer_id} AND status <> 'merged'"
        );
        let trend_sql = format!(
            "SELECT CAST({period} AS BIGINT) AS period_idx, COUNT(*) AS n_tickets, AVG(sentiment) AS avg_sentiment FROM tickets \
             WHERE customer_id = {customer_id} AND created_at >= {from} AND created_at < {to} AND status <> 'merged' GROUP BY period_idx",
            period = window.period_sql("created_at"),
            from = window.from_ms(),
            to = window.to_ms(),
        );
        let tickets_sql = format!(
            "SELECT id, created_at, channel, status, category, intent, priority, sentiment, subject, resolved_at FROM tickets \
             WHERE customer_id = {customer_id} ORDER BY created_at DESC, id DESC LIMIT {CUSTOMER_TICKETS}"
        );
        fn decode_totals(row: &impl DbRow) -> Result<(i64, i64, Option<i64>, Option<i64>, Option<f64>)> {
            Ok((row.i64("n_tickets")?, row.i64("n_open")?, row.opt_i64("first_contact")?, row.opt_i64("last_contact")?, row.f64_opt("avg_sentiment")?))
        }
        fn decode_trend(row: &impl DbRow) -> Result<(i64, i64, Option<f64>)> {
            Ok((row.i64("period_idx")?, row.i64("n_tickets")?, row.f64_opt("avg_sentiment")?))
        }
        fn decode_ticket(row: &impl DbRow) -> Result<(CustomerTicketRow, i64, Option<i64>)> {
            let ticket = CustomerTicketRow {
                ticket_id: row.i64("id")?,
                channel: row.string("channel")?,
                status: row.string("status")?,
                category: row.opt_string("category")?,
                intent: row.opt_string("intent")?,
                priority: row.i64("priority")?,
                sentiment: row.f64_opt("sentiment")?,
                subject: row.opt_string("subject")?,
                ..CustomerTicketRow::default()
            };
            Ok((ticket, row.i64("created_at")?, row.opt_i64("resolved_at")?))
        }
        let totals: Vec<(i64, i64, Option<i64>, Option<i64>, Option<f64>)> = fetch_report_rows!(self, &*totals_sql, decode_totals);
        let trend: Vec<(i64, i64, Option<f64>)> = fetch_report_rows!(self, &*trend_sql, decode_trend);
        let tickets: Vec<(CustomerTicketRow, i64, Option<i64>)> = fetch_report_rows!(self, &*tickets_sql, decode_ticket);
        let orders = match &customer.email {
            Some(email) => self.orders_for_customer(email, CUSTOMER_ORDERS).await?,
            None => Vec::new(),
        };

        let local = |ms: i64| window.local(from_ms(ms));
        let (n_tickets, n_open_tickets, first_contact, last_contact, avg_sentiment) = totals.into_iter().next().unwrap_or((0, 0, None, None, None));
        let mut trend_by_period: std::collections::HashMap<i64, (i64, Option<f64>)> = trend.into_iter().map(|(period_idx, n, average)| (period_idx, (n, average))).collect();
        let sentiment_trend = (0..window.n_periods())
            .map(|period_idx| {
                let (n_tickets, avg_sentiment) = trend_by_period.remove(&(period_idx as i64)).unwrap_or((0, None));
                SentimentPoint { period_start: window.period_label(period_idx), n_tickets, avg_sentiment }
            })
            .collect();
        Ok(Customer360 {
            customer,
            n_tickets,
            n_open_tickets,
            first_contact_at: first_contact.map(local),
            last_contact_at: last_contact.map(local),
            avg_sentiment,
            sentiment_trend,
            tickets: tickets
                .into_iter()
                .map(|(ticket, created_ms, resolved_ms)| CustomerTicketRow { created_at: local(created_ms), resolved_at: from_ms_opt(resolved_ms).map(|at| window.local(at)), ..ticket })
                .collect(),
            orders: orders
                .into_iter()
                .map(|order| CustomerOrderRow {
                    placed_at: window.local(order.placed_at),
                    status: order.status.as_str().to_string(),
                    number: order.number,
                    total_minor: order.total_minor,
                    currency: order.currency,
                    carrier: order.carrier.map(|carrier| carrier.as_str().to_string()),
                    tracking_url: order.carrier.zip(order.tracking_number.as_deref()).filter(|(_, number)| !number.trim().is_empty()).map(|(carrier, number)| carrier.tracking_url(number)),
                    tracking_number: order.tracking_number,
                    promised_delivery: order.promised_delivery.map(|date| date.format("%Y-%m-%d").to_string()),
                })
                .collect(),
        })
    }

}
