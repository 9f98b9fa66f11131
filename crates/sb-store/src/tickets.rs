//! Tickets, their messages and decision history, customers, compliance records and SLA data:
//! what agents and the API read and change after ingest.

use sqlx::AssertSqlSafe;
use chrono::{DateTime, Utc};
use sb_domain::Channel;
use serde::{Deserialize, Serialize};

use crate::audit::{append_audit, NewAuditEntry};
use crate::records::{
    compliance_from_row, customer_from_row, decision_from_row, message_from_row, sla_event_from_row, sla_policy_from_row, ticket_from_row, triage_from_row,
    ComplianceRecord, Customer, DecisionRow, Direction, MessageRow, Queue, SlaEvent, SlaPolicyRow, Ticket, TicketStatus, TriageRow, COMPLIANCE_COLUMNS,
    CUSTOMER_COLUMNS, DECISION_SELECT, MESSAGE_COLUMNS, TICKET_COLUMNS, TRIAGE_COLUMNS,
};
use crate::{on_reader, on_writer, to_ms, Error, Result, Store};

/// A message written by Switchboard or an agent: a reply (sent through the outbox) or an
/// internal note (never sent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewOutbound {
    pub direction: Direction,
    pub channel: Channel,
    pub author_user_id: Option<i64>,
    pub subject: Option<String>,
    pub body: String,
    /// Where the channel sends it (an email address, a phone number); `None` for chat and
    /// notes, which are delivered to the conversation itself.
    pub recipient: Option<String>,
    pub metadata: Option<serde_json::Value>,
}

/// Inserts an outbound message (and its outbox entry when it is to be sent) inside the
/// caller's transaction; evaluates to the new message id.
macro_rules! insert_outbound {
    ($tx:expr, $ticket_id:expr, $outbound:expr, $now_ms:expr) => {{
        let outbound: &$crate::tickets::NewOutbound = $outbound;
        let metadata_text = outbound.metadata.as_ref().map(|metadata| $crate::records::json_text("message metadata", metadata)).transpose()?;
        let message_id: i64 = sqlx::query_scalar($crate::tickets::INSERT_OUTBOUND_MESSAGE)
        .bind($ticket_id)
        .bind(outbound.channel.as_str())
        .bind(outbound.direction.as_str())
        .bind(outbound.author_user_id)
        .bind(outbound.body.as_bytes())
        .bind(&outbound.subject)
        .bind(&outbound.body)
        .bind(&metadata_text)
        .bind($now_ms)
        .fetch_one(&mut *$tx)
        .await?;
        if outbound.direction == $crate::records::Direction::Outbound {
            let (status, sent_at) = $crate::tickets::initial_outbox_state(outbound.channel, $now_ms);
            sqlx::query($crate::tickets::INSERT_OUTBOX)
            .bind($ticket_id)
            .bind(message_id)
            .bind(outbound.channel.as_str())
            .bind(&outbound.recipient)
            .bind(status)
            .bind($now_ms)
            .bind($now_ms)
            .bind(sent_at)
            .execute(&mut *$tx)
            .await?;
        }
        sqlx::query($crate::tickets::TOUCH_TICKET_UPDATED).bind($now_ms).bind($ticket_id).execute(&mut *$tx).await?;
        message_id
    }};
}
pub(crate) use insert_outbound;

/// The statements of [`insert_outbound`] (also run by the SQLite writer, `sqlite_batch.rs`).
pub(crate) const INSERT_OUTBOUND_MESSAGE: &str = "INSERT INTO messages (ticket_id, channel, direction, author_user_id, content_type, raw_payload, subject, body, body_is_html, \
     metadata, stage, attempts, received_at) VALUES ($1, $2, $3, $4, 'text/plain', $5, $6, $7, FALSE, $8, 'none', 0, $9) RETURNING id";
pub(crate) const INSERT_OUTBOX: &str = "INSERT INTO outbox (ticket_id, message_id, channel, recipient, status, attempts, next_attempt_at, created_at, sent_at) \
     VALUES ($1, $2, $3, $4, $5, 0, $6, $7, $8)";

/// The outbox status and sent time a new reply starts with. A chat reply is delivered by its
/// own commit (the customer reads the conversation through the API and hears of it over
/// `/ws`), so it is written sent in that transaction; every other channel waits for its sender.
pub(crate) fn initial_outbox_state(channel: sb_domain::Channel, now_ms: i64) -> (&'static str, Option<i64>) {
    match channel {
        sb_domain::Channel::Chat => ("sent", Some(now_ms)),
        _ => ("pending", None),
    }
}
pub(crate) const TOUCH_TICKET_UPDATED: &str = "UPDATE tickets SET updated_at = $1 WHERE id = $2";

/// When a ticket's SLA is (or was) breached, in epoch milliseconds: 0 once a breach is
/// recorded (`first_response_breached`, `resolution_breached`), else the earlier of the
/// deadlines still running (first response while unanswered, resolution while unresolved),
/// NULL with none. `BREACH_AT < now` is the queue's "SLA breached" filter. Migration 0013
/// indexes this very expression (`tickets_active_breach`, both backends): an index on an
/// expression serves only a query that writes the same expression, so the two change together
/// (a unit test compares them).
pub(crate) const BREACH_AT: &str = "(CASE WHEN first_response_breached OR resolution_breached THEN 0 \
     WHEN first_responded_at IS NULL AND first_response_due_at IS NOT NULL AND (resolved_at IS NOT NULL OR resolution_due_at IS NULL OR first_response_due_at < resolution_due_at) THEN first_response_due_at \
     WHEN resolved_at IS NULL THEN resolution_due_at END)";

/// Filters of the ticket list; every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TicketFilter {
    pub status: Option<Vec<TicketStatus>>,
    pub queue: Option<Queue>,
    pub category: Option<String>,
    pub intent: Option<String>,
    pub channel: Option<Channel>,
    pub assignee_id: Option<i64>,
    /// Only tickets nobody is assigned to.
    pub unassigned: bool,
    pub customer_id: Option<i64>,
    pub min_priority: Option<i64>,
    /// `breached`: a deadline already passed (evaluated at `now`); `at_risk` is the service's
    /// to compute (it knows the calendars).
    pub sla_breached: Option<bool>,
    pub created_after: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    pub limit: i64,
    pub offset: i64,
}

impl Default for Page {
    fn default() -> Page {
        Page { limit: 50, offset: 0 }
    }
}

/// A change to a ticket. `None` leaves a field as it is; `Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TicketUpdate {
    pub status: Option<TicketStatus>,
    pub queue: Option<Queue>,
    pub priority: Option<i64>,
    pub assignee_id: Option<Option<i64>>,
    pub severity: Option<Option<String>>,
    pub resolved_at: Option<Option<DateTime<Utc>>>,
    pub first_responded_at: Option<Option<DateTime<Utc>>>,
    pub sla_paused_at: Option<Option<DateTime<Utc>>>,
    pub sla_paused_ms: Option<i64>,
    pub first_response_due_at: Option<Option<DateTime<Utc>>>,
    pub resolution_due_at: Option<Option<DateTime<Utc>>>,
    pub first_response_breached: Option<bool>,
    pub resolution_breached: Option<bool>,
    pub merged_into: Option<Option<i64>>,
    /// The SLA clocks (JSON).
    pub sla: Option<Option<serde_json::Value>>,
    /// The name of the SLA policy the clocks come from.
    pub sla_policy: Option<Option<String>>,
    pub category: Option<Option<String>>,
    /// A compliance record appended in the same transaction (a person escalated the ticket to
    /// the safety queue).
    pub compliance: Option<NewComplianceRecord>,
}

/// A compliance record written by a person's action rather than by triage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewComplianceRecord {
    /// The message the record is about (the ticket's latest inbound message).
    pub message_id: i64,
    pub intent: String,
    pub severity: String,
    /// The PII-redacted text of that message.
    pub redacted_text: String,
    pub record: serde_json::Value,
}

enum SqlValue {
    Int(Option<i64>),
    Text(Option<String>),
    Bool(bool),
}

impl TicketUpdate {
    fn assignments(&self) -> Vec<(&'static str, SqlValue)> {
        let mut assignments = Vec::new();
        let time = |value: &Option<DateTime<Utc>>| SqlValue::Int(value.map(to_ms));
        if let Some(status) = self.status {
            assignments.push(("status", SqlValue::Text(Some(status.as_str().to_string()))));
        }
        if let Some(queue) = self.queue {
            assignments.push(("queue", SqlValue::Text(Some(queue.as_str().to_string()))));
        }
        if let Some(priority) = self.priority {
            assignments.push(("priority", SqlValue::Int(Some(priority))));
        }
        if let Some(assignee_id) = self.assignee_id {
            assignments.push(("assignee_id", SqlValue::Int(assignee_id)));
        }
        if let Some(severity) = &self.severity {
            assignments.push(("severity", SqlValue::Text(severity.clone())));
        }
        if let Some(resolved_at) = &self.resolved_at {
            assignments.push(("resolved_at", time(resolved_at)));
        }
        if let Some(first_responded_at) = &self.first_responded_at {
            assignments.push(("first_responded_at", time(first_responded_at)));
        }
        if let Some(sla_paused_at) = &self.sla_paused_at {
            assignments.push(("sla_paused_at", time(sla_paused_at)));
        }
        if let Some(sla_paused_ms) = self.sla_paused_ms {
            assignments.push(("sla_paused_ms", SqlValue::Int(Some(sla_paused_ms))));
        }
        if let Some(due) = &self.first_response_due_at {
            assignments.push(("first_response_due_at", time(due)));
        }
        if let Some(due) = &self.resolution_due_at {
            assignments.push(("resolution_due_at", time(due)));
        }
        if let Some(breached) = self.first_response_breached {
            assignments.push(("first_response_breached", SqlValue::Bool(breached)));
        }
        if let Some(breached) = self.resolution_breached {
            assignments.push(("resolution_breached", SqlValue::Bool(breached)));
        }
        if let Some(sla_policy) = &self.sla_policy {
            assignments.push(("sla_policy", SqlValue::Text(sla_policy.clone())));
        }
        if let Some(category) = &self.category {
            assignments.push(("category", SqlValue::Text(category.clone())));
        }
        if let Some(merged_into) = self.merged_into {
            assignments.push(("merged_into", SqlValue::Int(merged_into)));
        }
        if let Some(sla) = &self.sla {
            assignments.push(("sla", SqlValue::Text(sla.as_ref().map(|sla| sla.to_string()))));
        }
        assignments
    }
}

/// Binds a list of [`SqlValue`]s onto a query of either backend.
macro_rules! bind_values {
    ($query:expr, $values:expr) => {{
        let mut query = $query;
        for value in $values {
            query = match value {
                SqlValue::Int(value) => query.bind(*value),
                SqlValue::Text(value) => query.bind(value.clone()),
                SqlValue::Bool(value) => query.bind(*value),
            };
        }
        query
    }};
}

impl TicketFilter {
    /// The WHERE clause (starting at parameter `$1`) and its values.
    fn where_clause(&self, now: DateTime<Utc>) -> (String, Vec<SqlValue>) {
        let mut conditions: Vec<String> = Vec::new();
        let mut values: Vec<SqlValue> = Vec::new();
        // `?` in a condition becomes the next numbered parameter.
        fn push(conditions: &mut Vec<String>, values: &mut Vec<SqlValue>, condition: &str, value: SqlValue) {
            values.push(value);
            conditions.push(condition.replace('?', &format!("${}", values.len())));
        }
        if let Some(statuses) = &self.status {
            // Literals, not parameters: the partial indexes of open work (`WHERE status IN
            // ('new', 'open', 'pending')`, migrations 0004 and 0013) apply only when the planner
            // sees that the query's statuses are theirs, which neither SQLite nor a generic
            // PostgreSQL plan can through placeholders. The labels are the closed set of
            // `TicketStatus::as_str`, in declaration order (the indexes' order: SQLite compares
            // the lists term by term) and without repeats.
            let labels: Vec<String> = TicketStatus::ALL.iter().filter(|status| statuses.contains(status)).map(|status| format!("'{}'", status.as_str())).collect();
            if labels.is_empty() {
                conditions.push("1 = 0".into());
            } else {
                conditions.push(format!("status IN ({})", labels.join(", ")));
            }
        }
        if let Some(queue) = self.queue {
            push(&mut conditions, &mut values, "queue = ?", SqlValue::Text(Some(queue.as_str().to_string())));
        }
        if let Some(category) = &self.category {
            push(&mut conditions, &mut values, "category = ?", SqlValue::Text(Some(category.clone())));
        }
        if let Some(intent) = &self.intent {
            push(&mut conditions, &mut values, "intent = ?", SqlValue::Text(Some(intent.clone())));
        }
        if let Some(channel) = self.channel {
            push(&mut conditions, &mut values, "channel = ?", SqlValue::Text(Some(channel.as_str().to_string())));
        }
        if let Some(assignee_id) = self.assignee_id {
            push(&mut conditions, &mut values, "assignee_id = ?", SqlValue::Int(Some(assignee_id)));
        }
        if self.unassigned {
            conditions.push("assignee_id IS NULL".into());
        }
        if let Some(customer_id) = self.customer_id {
            push(&mut conditions, &mut values, "customer_id = ?", SqlValue::Int(Some(customer_id)));
        }
        if let Some(min_priority) = self.min_priority {
            push(&mut conditions, &mut values, "priority >= ?", SqlValue::Int(Some(min_priority)));
        }
        if let Some(breached) = self.sla_breached {
            let now_ms = to_ms(now);
            if breached {
                // The indexed form (tickets_active_breach): true exactly when a breach is
                // recorded or an unanswered first response or an unresolved resolution is past
                // its deadline (the condition negated below).
                push(&mut conditions, &mut values, &format!("{BREACH_AT} < ?"), SqlValue::Int(Some(now_ms)));
            } else {
                values.push(SqlValue::Int(Some(now_ms)));
                let first = values.len();
                values.push(SqlValue::Int(Some(now_ms)));
                let second = values.len();
                conditions.push(format!(
                    "NOT (first_response_breached OR resolution_breached OR (first_responded_at IS NULL AND first_response_due_at < ${first}) \
                     OR (resolved_at IS NULL AND resolution_due_at < ${second}))"
                ));
            }
        }
        if let Some(after) = self.created_after {
            push(&mut conditions, &mut values, "created_at >= ?", SqlValue::Int(Some(to_ms(after))));
        }
        if let Some(before) = self.created_before {
            push(&mut conditions, &mut values, "created_at < ?", SqlValue::Int(Some(to_ms(before))));
        }
        let clause = if conditions.is_empty() { String::new() } else { format!("WHERE {}", conditions.join(" AND ")) };
        (clause, values)
    }

    /// The ticket list's page query (its last two parameters are the limit and the offset, bound
    /// after `values`) and count query, with the filter's values.
    fn list_statements(&self, now: DateTime<Utc>) -> (String, String, Vec<SqlValue>) {
        let (where_clause, values) = self.where_clause(now);
        let limit_index = values.len() + 1;
        let select = format!("SELECT {TICKET_COLUMNS} FROM tickets {where_clause} ORDER BY priority DESC, created_at, id LIMIT ${limit_index} OFFSET ${}", limit_index + 1);
        let count = format!("SELECT COUNT(*) FROM tickets {where_clause}");
        (select, count, values)
    }
}

impl Store {
    pub async fn ticket(&self, ticket_id: i64) -> Result<Ticket> {
        let row = on_reader!(self, |pool| {
            let row = sqlx::query(AssertSqlSafe(&*format!("SELECT {TICKET_COLUMNS} FROM tickets WHERE id = $1"))).bind(ticket_id).fetch_optional(pool).await?;
            row.map(|row| ticket_from_row(&row)).transpose()?
        });
        row.ok_or_else(|| Error::not_found("ticket", ticket_id))
    }

    /// Tickets matching `filter`, highest priority first, then oldest; and the total count.
    pub async fn list_tickets(&self, filter: &TicketFilter, page: Page, now: DateTime<Utc>) -> Result<(Vec<Ticket>, i64)> {
        let (select, count, values) = filter.list_statements(now);
        let result = on_reader!(self, |pool| {
            let query = bind_values!(sqlx::query(AssertSqlSafe(&*select)), &values).bind(page.limit.clamp(1, 500)).bind(page.offset.max(0));
            let rows = query.fetch_all(pool).await?;
            let tickets = rows.iter().map(ticket_from_row).collect::<Result<Vec<_>>>()?;
            let total: i64 = bind_values!(sqlx::query_scalar(AssertSqlSafe(&*count)), &values).fetch_one(pool).await?;
            (tickets, total)
        });
        Ok(result)
    }

    pub async fn message(&self, message_id: i64) -> Result<MessageRow> {
        let row = on_reader!(self, |pool| {
            let row = sqlx::query(AssertSqlSafe(&*format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = $1"))).bind(message_id).fetch_optional(pool).await?;
            row.map(|row| message_from_row(&row)).transpose()?
        });
        row.ok_or_else(|| Error::not_found("message", message_id))
    }

    pub async fn find_message_by_external_id(&self, channel: Channel, external_id: &str) -> Result<Option<MessageRow>> {
        // The writer: this is read right after a write that may not be visible to a reader
        // connection's snapshot yet.
        let row = on_writer!(self, |pool| {
            let row = sqlx::query(AssertSqlSafe(&*format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE channel = $1 AND external_id = $2")))
                .bind(channel.as_str())
                .bind(external_id)
                .fetch_optional(pool)
                .await?;
            row.map(|row| message_from_row(&row)).transpose()?
        });
        Ok(row)
    }

    /// The messages of a ticket in order (inbound, replies and notes).
    pub async fn ticket_messages(&self, ticket_id: i64) -> Result<Vec<MessageRow>> {
        let rows = on_reader!(self, |pool| {
            let rows = sqlx::query(AssertSqlSafe(&*format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE ticket_id = $1 ORDER BY id"))).bind(ticket_id).fetch_all(pool).await?;
            rows.iter().map(message_from_row).collect::<Result<Vec<_>>>()?
        });
        Ok(rows)
    }

    /// Every decision taken on a ticket, oldest first (re-triage adds, never replaces).
    pub async fn ticket_decisions(&self, ticket_id: i64) -> Result<Vec<DecisionRow>> {
        let rows = on_reader!(self, |pool| {
            let rows = sqlx::query(AssertSqlSafe(&*format!("{DECISION_SELECT} WHERE d.ticket_id = $1 ORDER BY d.id"))).bind(ticket_id).fetch_all(pool).await?;
            rows.iter().map(decision_from_row).collect::<Result<Vec<_>>>()?
        });
        Ok(rows)
    }

    /// The latest decision recorded for one message of a ticket (what a repeated delivery is
    /// answered with): one row decoded, however long the ticket's history.
    pub async fn latest_message_decision(&self, ticket_id: i64, message_id: i64) -> Result<Option<DecisionRow>> {
        let row = on_reader!(self, |pool| {
            let sql = format!("{DECISION_SELECT} WHERE d.ticket_id = $1 AND d.message_id = $2 ORDER BY d.id DESC LIMIT 1");
            let row = sqlx::query(AssertSqlSafe(&*sql)).bind(ticket_id).bind(message_id).fetch_optional(pool).await?;
            row.map(|row| decision_from_row(&row)).transpose()?
        });
        Ok(row)
    }

    pub async fn ticket_triage_results(&self, ticket_id: i64) -> Result<Vec<TriageRow>> {
        let rows = on_reader!(self, |pool| {
            let rows = sqlx::query(AssertSqlSafe(&*format!("SELECT {TRIAGE_COLUMNS} FROM triage_results WHERE ticket_id = $1 ORDER BY id"))).bind(ticket_id).fetch_all(pool).await?;
            rows.iter().map(triage_from_row).collect::<Result<Vec<_>>>()?
        });
        Ok(rows)
    }

    /// Applies `update` and the audit entries in one transaction; returns the ticket after it.
    pub async fn update_ticket(&self, ticket_id: i64, update: &TicketUpdate, audit: &[NewAuditEntry], now: DateTime<Utc>) -> Result<Ticket> {
        let now_ms = to_ms(now);
        let assignments = update.assignments();
        let mut set_clause: Vec<String> = assignments.iter().enumerate().map(|(idx, (column, _))| format!("{column} = ${}", idx + 1)).collect();
        set_clause.push(format!("updated_at = ${}", assignments.len() + 1));
        let sql = format!("UPDATE tickets SET {} WHERE id = ${}", set_clause.join(", "), assignments.len() + 2);
        let values: Vec<SqlValue> = assignments.into_iter().map(|(_, value)| value).collect();
        let updated = on_writer!(self, |pool| {
            let mut tx = pool.begin().await?;
            let updated = bind_values!(sqlx::query(AssertSqlSafe(&*sql)), &values).bind(now_ms).bind(ticket_id).execute(&mut *tx).await?.rows_affected();
            if updated == 1 {
                append_audit!(self.backend(), tx, audit, now_ms);
                tx.commit().await?;
            }
            updated
        });
        if updated == 0 {
            return Err(Error::not_found("ticket", ticket_id));
        }
        self.ticket(ticket_id).await
    }

    /// Adds an agent reply or internal note (replies go to the outbox), records the first
    /// response time, and appends the audit entries. Returns the message id.
    pub async fn add_outbound(&self, ticket_id: i64, outbound: &NewOutbound, audit: &[NewAuditEntry], now: DateTime<Utc>) -> Result<i64> {
        let now_ms = to_ms(now);
        let message_id = on_writer!(self, |pool| {
            let mut tx = pool.begin().await?;
            let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM tickets WHERE id = $1").bind(ticket_id).fetch_optional(&mut *tx).await?;
            if exists.is_none() {
                return Err(Error::not_found("ticket", ticket_id));
            }
            let message_id = insert_outbound!(tx, ticket_id, outbound, now_ms);
            if outbound.direction == Direction::Outbound {
                sqlx::query("UPDATE tickets SET first_responded_at = COALESCE(first_responded_at, $1) WHERE id = $2").bind(now_ms).bind(ticket_id).execute(&mut *tx).await?;
            }
            append_audit!(self.backend(), tx, audit, now_ms);
            tx.commit().await?;
            message_id
        });
        Ok(message_id)
    }

    /// Folds `source` into `target`: its messages move to `target`, it becomes `merged` and
    /// points at `target`; its decision history stays with it.
    pub async fn merge_tickets(&self, source: i64, target: i64, audit: &[NewAuditEntry], now: DateTime<Utc>) -> Result<Ticket> {
        if source == target {
            return Err(Error::Invalid("a ticket cannot be merged into itself".into()));
        }
        let now_ms = to_ms(now);
        on_writer!(self, |pool| {
            let mut tx = pool.begin().await?;
            let statuses: Vec<(i64, String)> = sqlx::query_as("SELECT id, status FROM tickets WHERE id IN ($1, $2)").bind(source).bind(target).fetch_all(&mut *tx).await?;
            for id in [source, target] {
                match statuses.iter().find(|(found, _)| *found == id) {
                    None => return Err(Error::not_found("ticket", id)),
                    Some((_, status)) if status == "merged" => return Err(Error::Conflict(format!("ticket {id} is already merged"))),
                    Some(_) => {}
                }
            }
            sqlx::query("UPDATE messages SET ticket_id = $1 WHERE ticket_id = $2").bind(target).bind(source).execute(&mut *tx).await?;
            sqlx::query("UPDATE tickets SET status = 'merged', merged_into = $1, updated_at = $2 WHERE id = $3").bind(target).bind(now_ms).bind(source).execute(&mut *tx).await?;
            sqlx::query("UPDATE tickets SET updated_at = $1, last_message_at = CASE WHEN last_message_at > $2 THEN last_message_at ELSE $3 END WHERE id = $4")
                .bind(now_ms)
                .bind(now_ms)
                .bind(now_ms)
                .bind(target)
                .execute(&mut *tx)
                .await?;
            append_audit!(self.backend(), tx, audit, now_ms);
            tx.commit().await?;
        });
        self.ticket(target).await
    }

    pub async fn customer(&self, customer_id: i64) -> Result<Customer> {
        let row = on_reader!(self, |pool| {
            let row = sqlx::query(AssertSqlSafe(&*format!("SELECT {CUSTOMER_COLUMNS} FROM customers WHERE id = $1"))).bind(customer_id).fetch_optional(pool).await?;
            row.map(|row| customer_from_row(&row)).transpose()?
        });
        row.ok_or_else(|| Error::not_found("customer", customer_id))
    }

    pub async fn find_customer_by_email(&self, email: &str) -> Result<Option<Customer>> {
        let email = email.trim().to_lowercase();
        let row = on_reader!(self, |pool| {
            let row = sqlx::query(AssertSqlSafe(&*format!("SELECT {CUSTOMER_COLUMNS} FROM customers WHERE email = $1"))).bind(&email).fetch_optional(pool).await?;
            row.map(|row| customer_from_row(&row)).transpose()?
        });
        Ok(row)
    }

    /// Creates or updates a customer by email (demo data, admin edits).
    pub async fn upsert_customer(&self, email: &str, name: Option<&str>, phone: Option<&str>, vip: bool, now: DateTime<Utc>) -> Result<i64> {
        let email = email.trim().to_lowercase();
        let now_ms = to_ms(now);
        let id = on_writer!(self, |pool| {
            sqlx::query_scalar::<_, i64>(
                "INSERT INTO customers (email, name, phone, vip, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (email) DO UPDATE SET name = COALESCE(excluded.name, customers.name), phone = COALESCE(excluded.phone, customers.phone), \
                 vip = excluded.vip, updated_at = excluded.updated_at RETURNING id",
            )
            .bind(&email)
            .bind(name)
            .bind(phone)
            .bind(vip)
            .bind(now_ms)
            .bind(now_ms)
            .fetch_one(pool)
            .await?
        });
        Ok(id)
    }

    pub async fn set_customer_vip(&self, customer_id: i64, vip: bool, audit: &[NewAuditEntry], now: DateTime<Utc>) -> Result<()> {
        let now_ms = to_ms(now);
        let updated = on_writer!(self, |pool| {
            let mut tx = pool.begin().await?;
            let updated = sqlx::query("UPDATE customers SET vip = $1, updated_at = $2 WHERE id = $3").bind(vip).bind(now_ms).bind(customer_id).execute(&mut *tx).await?.rows_affected();
            append_audit!(self.backend(), tx, audit, now_ms);
            tx.commit().await?;
            updated
        });
        if updated == 0 {
            return Err(Error::not_found("customer", customer_id));
        }
        Ok(())
    }

    /// Compliance records, newest first; of one ticket when given.
    pub async fn list_compliance_records(&self, ticket_id: Option<i64>, page: Page) -> Result<Vec<ComplianceRecord>> {
        let rows = on_reader!(self, |pool| {
            let rows = match ticket_id {
                Some(ticket_id) => {
                    sqlx::query(AssertSqlSafe(&*format!("SELECT {COMPLIANCE_COLUMNS} FROM compliance_records WHERE ticket_id = $1 ORDER BY id DESC LIMIT $2 OFFSET $3")))
                        .bind(ticket_id)
                        .bind(page.limit)
                        .bind(page.offset)
                        .fetch_all(pool)
                        .await?
                }
                None => sqlx::query(AssertSqlSafe(&*format!("SELECT {COMPLIANCE_COLUMNS} FROM compliance_records ORDER BY id DESC LIMIT $1 OFFSET $2")))
                    .bind(page.limit)
                    .bind(page.offset)
                    .fetch_all(pool)
                    .await?,
            };
            rows.iter().map(compliance_from_row).collect::<Result<Vec<_>>>()?
        });
        Ok(rows)
    }

    pub async fn list_sla_policies(&self) -> Result<Vec<SlaPolicyRow>> {
        let rows = on_reader!(self, |pool| {
            let rows = sqlx::query("SELECT id, name, definition, created_at, updated_at FROM sla_policies ORDER BY name").fetch_all(pool).await?;
            rows.iter().map(sla_policy_from_row).collect::<Result<Vec<_>>>()?
        });
        Ok(rows)
    }

    pub async fn upsert_sla_policy(&self, name: &str, definition: &serde_json::Value, audit: &[NewAuditEntry], now: DateTime<Utc>) -> Result<i64> {
        let now_ms = to_ms(now);
        let definition_text = crate::records::json_text("sla policy", definition)?;
        let id = on_writer!(self, |pool| {
            let mut tx = pool.begin().await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO sla_policies (name, definition, created_at, updated_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (name) DO UPDATE SET definition = excluded.definition, updated_at = excluded.updated_at RETURNING id",
            )
            .bind(name)
            .bind(&definition_text)
            .bind(now_ms)
            .bind(now_ms)
            .fetch_one(&mut *tx)
            .await?;
            append_audit!(self.backend(), tx, audit, now_ms);
            tx.commit().await?;
            id
        });
        Ok(id)
    }

    /// Records an SLA event once per (ticket, kind, deadline); returns whether it is new. A
    /// breach also sets the ticket's breach flag.
    pub async fn record_sla_event(&self, ticket_id: i64, kind: &str, deadline_at: DateTime<Utc>, now: DateTime<Utc>) -> Result<bool> {
        let now_ms = to_ms(now);
        let deadline_ms = to_ms(deadline_at);
        let flag_column = match kind {
            "first_response_breached" => Some("first_response_breached"),
            "resolution_breached" => Some("resolution_breached"),
            _ => None,
        };
        let inserted = on_writer!(self, |pool| {
            let mut tx = pool.begin().await?;
            let inserted = sqlx::query("INSERT INTO sla_events (ticket_id, kind, deadline_at, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING")
                .bind(ticket_id)
                .bind(kind)
                .bind(deadline_ms)
                .bind(now_ms)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if let Some(column) = flag_column {
                sqlx::query(AssertSqlSafe(&*format!("UPDATE tickets SET {column} = TRUE WHERE id = $1"))).bind(ticket_id).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            inserted == 1
        });
        Ok(inserted)
    }

    pub async fn ticket_sla_events(&self, ticket_id: i64) -> Result<Vec<SlaEvent>> {
        let rows = on_reader!(self, |pool| {
            let rows = sqlx::query("SELECT id, ticket_id, kind, deadline_at, created_at FROM sla_events WHERE ticket_id = $1 ORDER BY id").bind(ticket_id).fetch_all(pool).await?;
            rows.iter().map(sla_event_from_row).collect::<Result<Vec<_>>>()?
        });
        Ok(rows)
    }

    /// Open tickets with a running SLA clock whose first-response or resolution deadline is
    /// before `horizon` and not yet flagged as breached: what the SLA watcher looks at.
    pub async fn tickets_with_sla_due(&self, horizon: DateTime<Utc>, limit: i64) -> Result<Vec<Ticket>> {
        let horizon_ms = to_ms(horizon);
        let rows = on_reader!(self, |pool| {
            let rows = sqlx::query(AssertSqlSafe(&*format!(
                "SELECT {TICKET_COLUMNS} FROM tickets WHERE status IN ('new', 'open') AND sla_paused_at IS NULL AND ( \
                 (first_responded_at IS NULL AND NOT first_response_breached AND first_response_due_at < $1) OR \
                 (resolved_at IS NULL AND NOT resolution_breached AND resolution_due_at < $2)) ORDER BY id LIMIT $3"
            )))
            .bind(horizon_ms)
            .bind(horizon_ms)
            .bind(limit)
            .fetch_all(pool)
            .await?;
            rows.iter().map(ticket_from_row).collect::<Result<Vec<_>>>()?
        });
        Ok(rows)
    }
}

impl Store {
    /// Applies an agent's action to a ticket in one transaction: `update`, optionally a reply
    /// or note (`outbound`, which goes to the outbox when it is a reply), and the audit entries.
    ///
    /// Optimistic concurrency: the change applies only while the ticket's `updated_at` is still
    /// `seen_updated_at` (the version the caller read and computed `update` from, e.g. its SLA
    /// clocks); otherwise nothing is written and the answer is a conflict, so two agents acting
    /// at once never silently overwrite each other's SLA pause or status. Returns the ticket
    /// after the change and the new message id.
    ///
    /// Safety wins: an update that sets any queue but `safety` never applies to a ticket in the
    /// safety queue (enforced in the UPDATE itself, as for triage writes); that is a conflict
    /// which names the safety queue.
    pub async fn apply_ticket_action(
        &self,
        ticket_id: i64,
        seen_updated_at: DateTime<Utc>,
        update: &TicketUpdate,
        outbound: Option<&NewOutbound>,
        audit: &[NewAuditEntry],
        now: DateTime<Utc>,
    ) -> Result<(Ticket, Option<i64>)> {
        let now_ms = to_ms(now);
        let assignments = update.assignments();
        let mut set_clause: Vec<String> = assignments.iter().enumerate().map(|(idx, (column, _))| format!("{column} = ${}", idx + 1)).collect();
        // `updated_at` must move even when the clock has not (two actions in one millisecond).
        set_clause.push(format!("updated_at = CASE WHEN ${0} > updated_at THEN ${0} ELSE updated_at + 1 END", assignments.len() + 1));
        let leaves_safety = update.queue.is_some_and(|queue| queue != Queue::Safety);
        let safety_guard = if leaves_safety { " AND queue <> 'safety'" } else { "" };
        let sql = format!("UPDATE tickets SET {} WHERE id = ${} AND updated_at = ${}{safety_guard}", set_clause.join(", "), assignments.len() + 2, assignments.len() + 3);
        let values: Vec<SqlValue> = assignments.into_iter().map(|(_, value)| value).collect();
        let message_id = on_writer!(self, |pool| {
            let mut tx = pool.begin().await?;
            let updated = bind_values!(sqlx::query(AssertSqlSafe(&*sql)), &values).bind(now_ms).bind(ticket_id).bind(to_ms(seen_updated_at)).execute(&mut *tx).await?.rows_affected();
            if updated == 0 {
                let queue: Option<String> = sqlx::query_scalar("SELECT queue FROM tickets WHERE id = $1").bind(ticket_id).fetch_optional(&mut *tx).await?;
                return Err(match queue {
                    None => Error::not_found("ticket", ticket_id),
                    Some(queue) if leaves_safety && queue == Queue::Safety.as_str() => Error::Conflict(format!("ticket {ticket_id} is in the safety queue and stays there (safety wins)")),
                    Some(_) => Error::Conflict(format!("ticket {ticket_id} changed since it was read; reload it and try again")),
                });
            }
            let message_id = match outbound {
                Some(outbound) => {
                    let message_id = insert_outbound!(tx, ticket_id, outbound, now_ms);
                    if outbound.direction == Direction::Outbound {
                        sqlx::query("UPDATE tickets SET first_responded_at = COALESCE(first_responded_at, $1) WHERE id = $2").bind(now_ms).bind(ticket_id).execute(&mut *tx).await?;
                    }
                    Some(message_id)
                }
                None => None,
            };
            if let Some(record) = &update.compliance {
                sqlx::query(crate::ingest::sql::INSERT_COMPLIANCE_RECORD)
                    .bind(ticket_id)
                    .bind(record.message_id)
                    .bind(&record.intent)
                    .bind(&record.severity)
                    .bind(&record.redacted_text)
                    .bind(crate::records::json_text("compliance record", &record.record)?)
                    .bind(now_ms)
                    .execute(&mut *tx)
                    .await?;
            }
            append_audit!(self.backend(), tx, audit, now_ms);
            tx.commit().await?;
            message_id
        });
        Ok((self.ticket(ticket_id).await?, message_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn migration_text(backend: &str) -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(backend).join("0013_queue_filters.sql");
        std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
    }

    fn one_line(text: &str) -> String {
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn the_breach_index_is_on_the_filters_expression() {
        for backend in ["sqlite", "postgres"] {
            assert!(one_line(&migration_text(backend)).contains(&one_line(BREACH_AT)), "{backend}'s tickets_active_breach must index tickets::BREACH_AT as written");
        }
    }

    /// A fresh SQLite schema (every migration) in memory.
    fn sqlite_schema() -> rusqlite::Connection {
        let connection = rusqlite::Connection::open_in_memory().unwrap();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
        let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|entry| entry.unwrap().path()).collect();
        files.sort();
        for file in files {
            connection.execute_batch(&std::fs::read_to_string(&file).unwrap()).unwrap_or_else(|error| panic!("{}: {error}", file.display()));
        }
        connection
    }

    /// What SQLite's planner does with `sql`: the details of `EXPLAIN QUERY PLAN`, one per line.
    fn plan(connection: &rusqlite::Connection, sql: &str) -> String {
        let mut statement = connection.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        // The parameters stay unbound (NULL): the plans do not depend on their values.
        let mut rows = statement.raw_query();
        let mut details = Vec::new();
        while let Some(row) = rows.next().unwrap() {
            details.push(row.get::<_, String>(3).unwrap());
        }
        details.join("\n")
    }

    /// The console's queue filters (each on top of "Active", as queue.js sends them) read an
    /// index of open work on SQLite: the page, and the count. (Category, intent and channel
    /// have none by choice: see migration 0013.)
    /// SQLite plans without statistics (the store never runs ANALYZE), so the plan is fixed
    /// by the schema and the SQL alone.
    #[test]
    fn each_queue_filter_reads_an_index_on_sqlite() {
        let connection = sqlite_schema();
        let active = || TicketFilter { status: Some(vec![TicketStatus::Pending, TicketStatus::New, TicketStatus::Open]), ..TicketFilter::default() };
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        // (filter, the page's plan, the count's plan)
        let cases: Vec<(&str, TicketFilter, &str, &str)> = vec![
            ("active", active(), "SEARCH tickets USING INDEX tickets_status_priority (status=?)", "COVERING INDEX"),
            ("queue", TicketFilter { queue: Some(Queue::Human), ..active() }, "SEARCH tickets USING INDEX tickets_open (queue=? AND status=?)", "COVERING INDEX tickets_open (queue=? AND status=?)"),
            ("assigned to me", TicketFilter { assignee_id: Some(7), ..active() }, "SEARCH tickets USING INDEX tickets_assignee (assignee_id=? AND status=?)", "COVERING INDEX tickets_assignee (assignee_id=? AND status=?)"),
            ("unassigned", TicketFilter { unassigned: true, ..active() }, "SEARCH tickets USING INDEX tickets_assignee (assignee_id=? AND status=?)", "COVERING INDEX tickets_assignee (assignee_id=? AND status=?)"),
            ("min priority", TicketFilter { min_priority: Some(50), ..active() }, "SEARCH tickets USING INDEX tickets_status_priority (status=? AND priority>?)", "COVERING INDEX"),
            ("sla breached", TicketFilter { sla_breached: Some(true), ..active() }, "SEARCH tickets USING INDEX tickets_active_breach (status=? AND <expr><?)", "COVERING INDEX tickets_active_breach (status=? AND <expr><?)"),
        ];
        for (name, filter, page_plan, count_plan) in cases {
            let (select, count, _) = filter.list_statements(now);
            let (page, counted) = (plan(&connection, &select), plan(&connection, &count));
            assert!(page.contains(page_plan), "{name}: the page is planned as\n{page}");
            assert!(counted.contains(count_plan), "{name}: the count is planned as\n{counted}");
        }
    }

    #[test]
    fn statuses_are_written_once_in_declaration_order() {
        let filter = TicketFilter { status: Some(vec![TicketStatus::Pending, TicketStatus::Open, TicketStatus::New, TicketStatus::Open]), ..TicketFilter::default() };
        let (clause, values) = filter.where_clause(DateTime::from_timestamp(0, 0).unwrap());
        assert_eq!((clause.as_str(), values.len()), ("WHERE status IN ('new', 'open', 'pending')", 0));
        let nothing = TicketFilter { status: Some(vec![]), ..TicketFilter::default() };
        assert_eq!(nothing.where_clause(DateTime::from_timestamp(0, 0).unwrap()).0, "WHERE 1 = 0");
    }
}
