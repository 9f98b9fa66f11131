//! The durable pipeline: raw ingest, claiming work, recording triage.
//!
//! `ingest` is the write that must be durable before a sender is acknowledged: in one
//! transaction it finds or creates the customer, threads the message into its ticket (or opens
//! one), and stores the raw payload. It is idempotent on (channel, external id): a retried
//! delivery returns the ticket of the first one.
//!
//! The ingesting process holds a short *claim* on the message while it triages in the request;
//! if it dies, the claim expires and a background worker of any process takes the message
//! (`claim_pending`, with `FOR UPDATE SKIP LOCKED` on PostgreSQL so two processes never take
//! the same one).
//!
//! On SQLite both durable writes of the pipeline (`ingest` and `record_triage`) go through the
//! group-commit writer (`writer.rs`): concurrent requests share one transaction and one sync,
//! each answered only after the commit that contains its write, and the writer runs the whole
//! batch on the connection's own handle (`sqlite_batch.rs`). The statements are written once,
//! in [`sql`], and run by sqlx on PostgreSQL and by that batch on SQLite.
//!
//! When the caller has triaged the message before storing it, `ingest_and_record_triage` does
//! both writes in one call: the ingest first, then the caller's [`FinishTriage`] turns the
//! stored rows into the triage run to record. On SQLite both are one transaction (one writer
//! visit, one commit) with the triage record in a savepoint of its own; on PostgreSQL, where
//! connections commit in parallel, they are two transactions one after the other. A triage record that fails (or that the caller declines to build)
//! leaves the raw message stored with its claim, exactly as a separate ingest would: the
//! acknowledgement still means "stored", and the retry worker or the caller takes it from there.

use sqlx::AssertSqlSafe;
use chrono::{DateTime, Utc};
use sb_domain::Channel;
use serde::{Deserialize, Serialize};

use crate::audit::{append_audit, NewAuditEntry};
use crate::records::{customer_from_row, json_text, message_from_row, ticket_from_row, Customer, MessageRow, Queue, Ticket, TicketStatus, CUSTOMER_COLUMNS, MESSAGE_COLUMNS, TICKET_COLUMNS};
use crate::tickets::NewOutbound;
use crate::{on_writer, to_ms, Backend, Error, Pools, Result, Store};

/// What identifies the sender; any field may be missing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewCustomer {
    pub email: Option<String>,
    pub phone: Option<String>,
    pub name: Option<String>,
    pub external_id: Option<String>,
}

impl NewCustomer {
    pub(crate) fn is_empty(&self) -> bool {
        self.email.is_none() && self.phone.is_none() && self.external_id.is_none()
    }
}

/// An inbound message to store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewInbound {
    pub channel: Channel,
    /// The channel's id for this delivery (Message-ID, chat message id, API idempotency key).
    pub external_id: Option<String>,
    /// The channel's thread key: messages with the same key join the same open ticket.
    pub conversation_key: Option<String>,
    /// Join this ticket (threading already resolved by the channel), if it is still open.
    pub ticket_id: Option<i64>,
    pub subject: Option<String>,
    pub body: String,
    pub body_is_html: bool,
    /// Media type of `raw_payload`.
    pub content_type: String,
    pub raw_payload: Vec<u8>,
    pub metadata: Option<serde_json::Value>,
    pub customer: NewCustomer,
    pub received_at: DateTime<Utc>,
    /// Who holds the triage claim after ingest (this process), and until when.
    pub claim: Option<(String, DateTime<Utc>)>,
}

/// What `ingest` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ingested {
    pub ticket_id: i64,
    pub message_id: i64,
    pub customer_id: Option<i64>,
    /// False when this (channel, external id) was already stored: nothing was written.
    pub created: bool,
    /// True when the message opened a new ticket.
    pub new_ticket: bool,
}

/// Builds the triage run to record from the rows the ingest just stored (the message, its
/// ticket and customer as the transaction sees them). Runs on the writer, inside the
/// transaction, so it must be quick and must not block; `None` records nothing beyond the
/// ingest (the caller then records triage separately, or leaves the message to the worker).
pub type FinishTriage = Box<dyn FnOnce(&IngestedRows) -> Option<TriageOutcome> + Send>;

/// What [`Store::ingest_and_record_triage`] did.
#[derive(Debug)]
pub struct IngestedWithTriage {
    /// The ingest, as [`Store::ingest_with_rows`] returns it.
    pub rows: IngestedRows,
    /// The triage record written in the same commit: `None` when the message was already
    /// stored (a repeated delivery) or the caller's [`FinishTriage`] built nothing; an error
    /// when writing it failed (the raw message is stored all the same).
    pub recorded: Option<Result<RecordedTriage>>,
}

/// An ingest step and, when it stored a new message, the triage record written after it.
#[derive(Debug)]
pub(crate) struct StepWithTriage {
    pub(crate) step: IngestStep,
    pub(crate) recorded: Option<Result<RecordedTriage>>,
}

/// The caller's triage run for a newly stored message, serialised for the writer; `None` when
/// nothing is to be recorded with the ingest. A panic in the caller's code records nothing (and
/// leaves the transaction usable) rather than unwinding through the writer.
pub(crate) fn finished_triage(step: &IngestStep, finish: FinishTriage) -> Option<Result<PreparedTriage>> {
    let IngestStep::Done { ingested, rows: Some(rows) } = step else { return None };
    if !ingested.created {
        return None;
    }
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || finish(rows))).ok().flatten()?;
    Some(PreparedTriage::new(outcome, chrono::Utc::now()))
}

/// A message a worker has claimed for (re-)triage.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedMessage {
    pub message: MessageRow,
    /// The message's ticket as it stood when claimed.
    pub ticket: Ticket,
}

/// Everything one triage run writes, in one transaction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TriageOutcome {
    pub message_id: i64,
    pub ticket_id: i64,
    pub model_name: String,
    pub model_version: String,
    /// The `TriageResult` as JSON.
    pub result: serde_json::Value,
    pub latency_us: i64,
    /// The decision record: route, reason code, priority and the whole record as JSON. Leave
    /// the triage result out of it: reading the decision back puts `result` under `triage`.
    pub route: String,
    pub reason_code: String,
    pub priority: i64,
    pub decision: serde_json::Value,
    /// The ticket after this decision.
    pub ticket: TicketTriageUpdate,
    /// For safety_compliance: (intent, severity, redacted text, record).
    pub compliance: Option<(String, String, String, serde_json::Value)>,
    /// An automatic reply to store and hand to the outbox.
    pub reply: Option<NewOutbound>,
    pub audit: Vec<NewAuditEntry>,
}

/// The ticket fields a triage run sets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketTriageUpdate {
    pub status: TicketStatus,
    pub queue: Queue,
    pub category: String,
    pub intent: String,
    pub severity: Option<String>,
    pub confidence: f64,
    pub sentiment: f64,
    pub priority: i64,
    pub route: String,
    pub sla_policy: Option<String>,
    /// The SLA clocks (JSON), kept with the ticket.
    pub sla: Option<serde_json::Value>,
    pub first_response_due_at: Option<DateTime<Utc>>,
    pub resolution_due_at: Option<DateTime<Utc>>,
}

fn normalise_email(email: &Option<String>) -> Option<String> {
    email.as_deref().map(str::trim).filter(|email| !email.is_empty()).map(str::to_lowercase)
}


/// The pipeline's statements, written once: the PostgreSQL functions below run them through
/// sqlx, the SQLite group-commit writer (`sqlite_batch.rs`) through rusqlite. Parameters are
/// numbered in order of first appearance (SQLite numbers `$N` parameters that way), which a test
/// checks.
pub(crate) mod sql {
    pub(crate) const FIND_MESSAGE_BY_EXTERNAL_ID: &str = "SELECT id, ticket_id FROM messages WHERE channel = $1 AND external_id = $2";
    pub(crate) const TICKET_CUSTOMER: &str = "SELECT customer_id FROM tickets WHERE id = $1";
    pub(crate) const CUSTOMER_BY_EXTERNAL_ID: &str = "SELECT id FROM customers WHERE external_id = $1";
    pub(crate) const CUSTOMER_BY_EMAIL: &str = "SELECT id FROM customers WHERE email = $1";
    pub(crate) const CUSTOMER_BY_PHONE: &str = "SELECT id FROM customers WHERE phone = $1 ORDER BY id LIMIT 1";
    /// Fills in what we did not know; never overwrites what we did, and never takes an email or
    /// external id another customer already has (a failed statement would abort the whole
    /// transaction on PostgreSQL).
    pub(crate) const UPDATE_CUSTOMER: &str = "UPDATE customers SET name = COALESCE(name, $1), phone = COALESCE(phone, $2), \
         email = COALESCE(email, (SELECT $3 WHERE NOT EXISTS (SELECT 1 FROM customers WHERE email = $4))), \
         external_id = COALESCE(external_id, (SELECT $5 WHERE NOT EXISTS (SELECT 1 FROM customers WHERE external_id = $6))), \
         updated_at = $7 WHERE id = $8 AND erased_at IS NULL";
    /// ON CONFLICT: a concurrent message from the same new customer may have created them
    /// first; then [`CUSTOMER_BY_EXTERNAL_ID_OR_EMAIL`] takes theirs.
    pub(crate) const INSERT_CUSTOMER: &str = "INSERT INTO customers (external_id, email, phone, name, vip, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, FALSE, $5, $6) ON CONFLICT DO NOTHING RETURNING id";
    pub(crate) const CUSTOMER_BY_EXTERNAL_ID_OR_EMAIL: &str = "SELECT id FROM customers WHERE external_id = $1 OR email = $2 ORDER BY id LIMIT 1";
    pub(crate) const TICKET_STATUS_AND_MERGE: &str = "SELECT status, merged_into FROM tickets WHERE id = $1";
    pub(crate) const OPEN_TICKET_OF_CONVERSATION: &str = "SELECT id FROM tickets WHERE channel = $1 AND conversation_key = $2 AND status NOT IN ('closed', 'merged') \
         ORDER BY id DESC LIMIT 1";
    pub(crate) const TOUCH_TICKET: &str = "UPDATE tickets SET last_message_at = $1, updated_at = $2 WHERE id = $3";
    pub(crate) const INSERT_TICKET: &str = "INSERT INTO tickets (customer_id, channel, conversation_key, subject, status, queue, priority, created_at, updated_at, last_message_at) \
         VALUES ($1, $2, $3, $4, 'new', 'triage', 0, $5, $6, $7) RETURNING id";
    pub(crate) const INSERT_INBOUND_MESSAGE: &str = "INSERT INTO messages (ticket_id, channel, external_id, direction, content_type, raw_payload, subject, body, body_is_html, \
         metadata, stage, attempts, next_attempt_at, claimed_by, claimed_until, received_at) \
         VALUES ($1, $2, $3, 'inbound', $4, $5, $6, $7, $8, $9, 'raw', 0, $10, $11, $12, $13) \
         ON CONFLICT (channel, external_id) DO NOTHING RETURNING id";
    pub(crate) const INSERT_TRIAGE_RESULT: &str = "INSERT INTO triage_results (message_id, ticket_id, model_name, model_version, result, latency_us, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id";
    pub(crate) const INSERT_DECISION: &str = "INSERT INTO decisions (ticket_id, message_id, triage_id, route, reason_code, priority, record, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id";
    /// Safety wins at the ticket level: the service keeps a safety ticket's queue when a later
    /// message is routine, and the last clause makes that hold even when two messages of one
    /// ticket are triaged at once from the same earlier snapshot of it.
    pub(crate) const UPDATE_TICKET_AFTER_TRIAGE: &str = "UPDATE tickets SET status = $1, queue = $2, category = $3, intent = $4, severity = $5, confidence = $6, sentiment = $7, \
         priority = $8, route = $9, sla_policy = $10, first_response_due_at = $11, resolution_due_at = $12, updated_at = $13, \
         sla = $14, sla_paused_ms = sla_paused_ms + CASE WHEN sla_paused_at IS NULL THEN 0 ELSE $15 - sla_paused_at END, \
         sla_paused_at = NULL WHERE id = $16 AND NOT (queue = 'safety' AND $2 <> 'safety')";
    pub(crate) const MARK_MESSAGE_TRIAGED: &str = "UPDATE messages SET stage = 'triaged', triaged_at = $1, claimed_by = NULL, claimed_until = NULL, last_error = NULL WHERE id = $2";
    pub(crate) const INSERT_COMPLIANCE_RECORD: &str = "INSERT INTO compliance_records (ticket_id, message_id, intent, severity, redacted_text, record, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)";
    pub(crate) const MARK_FIRST_RESPONSE: &str = "UPDATE tickets SET first_responded_at = COALESCE(first_responded_at, $1) WHERE id = $2";

    /// Every statement above, for the parameter-order test.
    #[cfg(test)]
    pub(crate) const ALL: &[&str] = &[
        FIND_MESSAGE_BY_EXTERNAL_ID, TICKET_CUSTOMER, CUSTOMER_BY_EXTERNAL_ID, CUSTOMER_BY_EMAIL, CUSTOMER_BY_PHONE, UPDATE_CUSTOMER,
        INSERT_CUSTOMER, CUSTOMER_BY_EXTERNAL_ID_OR_EMAIL, TICKET_STATUS_AND_MERGE, OPEN_TICKET_OF_CONVERSATION, TOUCH_TICKET, INSERT_TICKET,
        INSERT_INBOUND_MESSAGE, INSERT_TRIAGE_RESULT, INSERT_DECISION, UPDATE_TICKET_AFTER_TRIAGE, MARK_MESSAGE_TRIAGED, INSERT_COMPLIANCE_RECORD,
        MARK_FIRST_RESPONSE,
    ];
}

/// An inbound message with its bind values worked out, owned so that it can travel to the
/// SQLite writer task.
#[derive(Debug)]
pub(crate) struct PreparedInbound {
    pub(crate) inbound: NewInbound,
    pub(crate) now_ms: i64,
    pub(crate) email: Option<String>,
    pub(crate) metadata_text: Option<String>,
    pub(crate) claimed_by: Option<String>,
    pub(crate) claimed_until: Option<i64>,
    /// Read back the stored message, ticket and customer inside the same transaction.
    pub(crate) with_rows: bool,
}

impl PreparedInbound {
    fn new(inbound: &NewInbound, with_rows: bool) -> Result<PreparedInbound> {
        let metadata_text = inbound.metadata.as_ref().map(|metadata| json_text("message metadata", metadata)).transpose()?;
        let (claimed_by, claimed_until) = match &inbound.claim {
            Some((holder, until)) => (Some(holder.clone()), Some(to_ms(*until))),
            None => (None, None),
        };
        Ok(PreparedInbound {
            now_ms: to_ms(inbound.received_at),
            email: normalise_email(&inbound.customer.email),
            metadata_text,
            claimed_by,
            claimed_until,
            with_rows,
            inbound: inbound.clone(),
        })
    }
}

/// What the ingest statements did inside their (sub)transaction.
#[derive(Debug)]
pub(crate) enum IngestStep {
    /// Stored, or found already stored: keep the writes and answer after the commit.
    Done { ingested: Ingested, rows: Option<IngestedRows> },
    /// A concurrent delivery of the same message won the race (PostgreSQL): undo what this one
    /// wrote and answer with the first one's ticket.
    LostRace,
}

/// A triage run with its JSON already serialised (outside the writer), owned for the same
/// reason as [`PreparedInbound`].
#[derive(Debug)]
pub(crate) struct PreparedTriage {
    pub(crate) outcome: TriageOutcome,
    pub(crate) now_ms: i64,
    pub(crate) result_text: String,
    pub(crate) decision_text: String,
    pub(crate) sla_text: Option<String>,
    pub(crate) compliance_text: Option<String>,
}

impl PreparedTriage {
    fn new(outcome: TriageOutcome, now: DateTime<Utc>) -> Result<PreparedTriage> {
        Ok(PreparedTriage {
            now_ms: to_ms(now),
            result_text: json_text("triage result", &outcome.result)?,
            decision_text: json_text("decision record", &outcome.decision)?,
            sla_text: outcome.ticket.sla.as_ref().map(|sla| json_text("ticket sla", sla)).transpose()?,
            compliance_text: outcome.compliance.as_ref().map(|(_, _, _, record)| json_text("compliance record", record)).transpose()?,
            outcome,
        })
    }
}

/// What `record_triage` wrote, and the ticket as it stands after it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedTriage {
    pub triage_id: i64,
    pub decision_id: i64,
    /// The automatic reply's message, when there was one.
    pub reply_message_id: Option<i64>,
    pub ticket: Ticket,
}

/// An ingest with the rows it stored (or found), read in its transaction: the pipeline goes on
/// without reading them again.
#[derive(Debug, Clone, PartialEq)]
pub struct IngestedRows {
    pub ingested: Ingested,
    pub message: MessageRow,
    pub ticket: Ticket,
    pub customer: Option<Customer>,
}

/// The ingest statements on PostgreSQL, inside a transaction the caller opened (and commits or
/// rolls back). The SQLite flavour of the same steps is `sqlite_batch::ingest`.
pub(crate) async fn ingest_statements_postgres(conn: &mut sqlx::PgConnection, prepared: &PreparedInbound) -> Result<IngestStep> {
    let inbound = &prepared.inbound;
    let now_ms = prepared.now_ms;
    let email = &prepared.email;
    let channel = inbound.channel.as_str();
    if let Some(external_id) = &inbound.external_id {
        let existing: Option<(i64, i64)> = sqlx::query_as(sql::FIND_MESSAGE_BY_EXTERNAL_ID).bind(channel).bind(external_id).fetch_optional(&mut *conn).await?;
        if let Some((message_id, ticket_id)) = existing {
            let customer_id: Option<i64> = sqlx::query_scalar(sql::TICKET_CUSTOMER).bind(ticket_id).fetch_one(&mut *conn).await?;
            let ingested = Ingested { ticket_id, message_id, customer_id, created: false, new_ticket: false };
            return Ok(IngestStep::Done { rows: read_rows_postgres(conn, prepared, &ingested).await?, ingested });
        }
    }

    // The customer: by external id, then email, then phone; created when the message says who
    // sent it.
    let mut customer_id: Option<i64> = None;
    if let Some(external_id) = &inbound.customer.external_id {
        customer_id = sqlx::query_scalar(sql::CUSTOMER_BY_EXTERNAL_ID).bind(external_id).fetch_optional(&mut *conn).await?;
    }
    if customer_id.is_none() {
        if let Some(email) = &email {
            customer_id = sqlx::query_scalar(sql::CUSTOMER_BY_EMAIL).bind(email).fetch_optional(&mut *conn).await?;
        }
    }
    if customer_id.is_none() {
        if let Some(phone) = &inbound.customer.phone {
            customer_id = sqlx::query_scalar(sql::CUSTOMER_BY_PHONE).bind(phone).fetch_optional(&mut *conn).await?;
        }
    }
    match customer_id {
        Some(id) => {
            sqlx::query(sql::UPDATE_CUSTOMER)
                .bind(&inbound.customer.name)
                .bind(&inbound.customer.phone)
                .bind(email)
                .bind(email)
                .bind(&inbound.customer.external_id)
                .bind(&inbound.customer.external_id)
                .bind(now_ms)
                .bind(id)
                .execute(&mut *conn)
                .await?;
        }
        None if !inbound.customer.is_empty() => {
            let inserted: Option<i64> = sqlx::query_scalar(sql::INSERT_CUSTOMER)
                .bind(&inbound.customer.external_id)
                .bind(email)
                .bind(&inbound.customer.phone)
                .bind(&inbound.customer.name)
                .bind(now_ms)
                .bind(now_ms)
                .fetch_optional(&mut *conn)
                .await?;
            customer_id = match inserted {
                Some(id) => Some(id),
                None => sqlx::query_scalar(sql::CUSTOMER_BY_EXTERNAL_ID_OR_EMAIL).bind(&inbound.customer.external_id).bind(email).fetch_optional(&mut *conn).await?,
            };
        }
        None => {}
    }

    // The ticket: an explicit target, then the open ticket of the conversation, else a new one.
    // Merged tickets forward to the ticket they were merged into.
    let mut ticket_id: Option<i64> = None;
    if let Some(target) = inbound.ticket_id {
        let mut current = Some(target);
        for _ in 0..MAX_MERGE_HOPS {
            let Some(candidate) = current else { break };
            let row: Option<(String, Option<i64>)> = sqlx::query_as(sql::TICKET_STATUS_AND_MERGE).bind(candidate).fetch_optional(&mut *conn).await?;
            match follow_merge(candidate, row) {
                MergeStep::Take(id) => {
                    ticket_id = Some(id);
                    break;
                }
                MergeStep::Forward(next) => current = Some(next),
                MergeStep::Stop => break,
            }
        }
    }
    if ticket_id.is_none() {
        if let Some(conversation_key) = &inbound.conversation_key {
            ticket_id = sqlx::query_scalar(sql::OPEN_TICKET_OF_CONVERSATION).bind(channel).bind(conversation_key).fetch_optional(&mut *conn).await?;
        }
    }
    let new_ticket = ticket_id.is_none();
    let ticket_id: i64 = match ticket_id {
        Some(id) => {
            sqlx::query(sql::TOUCH_TICKET).bind(now_ms).bind(now_ms).bind(id).execute(&mut *conn).await?;
            id
        }
        None => {
            sqlx::query_scalar(sql::INSERT_TICKET)
                .bind(customer_id)
                .bind(channel)
                .bind(&inbound.conversation_key)
                .bind(&inbound.subject)
                .bind(now_ms)
                .bind(now_ms)
                .bind(now_ms)
                .fetch_one(&mut *conn)
                .await?
        }
    };

    let inserted: Option<i64> = sqlx::query_scalar(sql::INSERT_INBOUND_MESSAGE)
        .bind(ticket_id)
        .bind(channel)
        .bind(&inbound.external_id)
        .bind(&inbound.content_type)
        .bind(&inbound.raw_payload)
        .bind(&inbound.subject)
        .bind(&inbound.body)
        .bind(inbound.body_is_html)
        .bind(&prepared.metadata_text)
        .bind(now_ms)
        .bind(&prepared.claimed_by)
        .bind(prepared.claimed_until)
        .bind(now_ms)
        .fetch_optional(&mut *conn)
        .await?;
    match inserted {
        Some(message_id) => {
            let ingested = Ingested { ticket_id, message_id, customer_id, created: true, new_ticket };
            Ok(IngestStep::Done { rows: read_rows_postgres(conn, prepared, &ingested).await?, ingested })
        }
        None => Ok(IngestStep::LostRace),
    }
}

/// How many merge forwards an explicit ticket target may follow.
pub(crate) const MAX_MERGE_HOPS: usize = 8;

pub(crate) enum MergeStep {
    Take(i64),
    Forward(i64),
    Stop,
}

/// One step of following an explicit ticket target through merges: a merged ticket forwards,
/// a closed or missing one ends the search (a new ticket opens), any other is taken.
pub(crate) fn follow_merge(candidate: i64, row: Option<(String, Option<i64>)>) -> MergeStep {
    match row {
        Some((status, Some(merged_into))) if status == "merged" => MergeStep::Forward(merged_into),
        Some((status, _)) if status != "closed" => MergeStep::Take(candidate),
        _ => MergeStep::Stop,
    }
}

/// The stored rows after an ingest, read inside its transaction when the caller asked for them.
async fn read_rows_postgres(conn: &mut sqlx::PgConnection, prepared: &PreparedInbound, ingested: &Ingested) -> Result<Option<IngestedRows>> {
    if !prepared.with_rows {
        return Ok(None);
    }
    let message_sql = format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = $1");
    let ticket_sql = format!("SELECT {TICKET_COLUMNS} FROM tickets WHERE id = $1");
    let message = message_from_row(&sqlx::query(AssertSqlSafe(message_sql)).bind(ingested.message_id).fetch_one(&mut *conn).await?)?;
    let ticket = ticket_from_row(&sqlx::query(AssertSqlSafe(ticket_sql)).bind(ingested.ticket_id).fetch_one(&mut *conn).await?)?;
    let customer = match ingested.customer_id {
        Some(id) => {
            let customer_sql = format!("SELECT {CUSTOMER_COLUMNS} FROM customers WHERE id = $1");
            Some(customer_from_row(&sqlx::query(AssertSqlSafe(customer_sql)).bind(id).fetch_one(&mut *conn).await?)?)
        }
        None => None,
    };
    Ok(Some(IngestedRows { ingested: ingested.clone(), message, ticket, customer }))
}

/// The record-triage statements on PostgreSQL, inside a transaction the caller opened (and
/// commits or rolls back). The SQLite flavour is `sqlite_batch::record_triage`.
pub(crate) async fn record_triage_statements_postgres(conn: &mut sqlx::PgConnection, prepared: &PreparedTriage) -> Result<RecordedTriage> {
    let outcome = &prepared.outcome;
    let now_ms = prepared.now_ms;
    let ticket = &outcome.ticket;
    let triage_id: i64 = sqlx::query_scalar(sql::INSERT_TRIAGE_RESULT)
        .bind(outcome.message_id)
        .bind(outcome.ticket_id)
        .bind(&outcome.model_name)
        .bind(&outcome.model_version)
        .bind(&prepared.result_text)
        .bind(outcome.latency_us)
        .bind(now_ms)
        .fetch_one(&mut *conn)
        .await?;
    let decision_id: i64 = sqlx::query_scalar(sql::INSERT_DECISION)
        .bind(outcome.ticket_id)
        .bind(outcome.message_id)
        .bind(triage_id)
        .bind(&outcome.route)
        .bind(&outcome.reason_code)
        .bind(outcome.priority)
        .bind(&prepared.decision_text)
        .bind(now_ms)
        .fetch_one(&mut *conn)
        .await?;
    sqlx::query(sql::UPDATE_TICKET_AFTER_TRIAGE)
        .bind(ticket.status.as_str())
        .bind(ticket.queue.as_str())
        .bind(&ticket.category)
        .bind(&ticket.intent)
        .bind(&ticket.severity)
        .bind(ticket.confidence)
        .bind(ticket.sentiment)
        .bind(ticket.priority)
        .bind(&ticket.route)
        .bind(&ticket.sla_policy)
        .bind(ticket.first_response_due_at.map(to_ms))
        .bind(ticket.resolution_due_at.map(to_ms))
        .bind(now_ms)
        .bind(&prepared.sla_text)
        .bind(now_ms)
        .bind(outcome.ticket_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query(sql::MARK_MESSAGE_TRIAGED).bind(now_ms).bind(outcome.message_id).execute(&mut *conn).await?;
    if let Some((intent, severity, redacted_text, _)) = &outcome.compliance {
        sqlx::query(sql::INSERT_COMPLIANCE_RECORD)
            .bind(outcome.ticket_id)
            .bind(outcome.message_id)
            .bind(intent)
            .bind(severity)
            .bind(redacted_text)
            .bind(&prepared.compliance_text)
            .bind(now_ms)
            .execute(&mut *conn)
            .await?;
    }
    let mut reply_message_id = None;
    if let Some(reply) = &outcome.reply {
        let id = crate::tickets::insert_outbound!(conn, outcome.ticket_id, reply, now_ms);
        sqlx::query(sql::MARK_FIRST_RESPONSE).bind(now_ms).bind(outcome.ticket_id).execute(&mut *conn).await?;
        reply_message_id = Some(id);
    }
    append_audit!(Backend::Postgres, conn, &outcome.audit, now_ms);
    let ticket_sql = format!("SELECT {TICKET_COLUMNS} FROM tickets WHERE id = $1");
    let ticket = ticket_from_row(&sqlx::query(AssertSqlSafe(ticket_sql)).bind(outcome.ticket_id).fetch_one(&mut *conn).await?)?;
    Ok(RecordedTriage { triage_id, decision_id, reply_message_id, ticket })
}

/// One ingest in a transaction of its own on PostgreSQL: committed when it stored (or found) the
/// message, rolled back when a concurrent delivery won the race.
async fn ingest_postgres(pool: &sqlx::PgPool, prepared: &PreparedInbound) -> Result<IngestStep> {
    let mut tx = pool.begin().await?;
    let step = ingest_statements_postgres(&mut tx, prepared).await?;
    match step {
        IngestStep::Done { .. } => tx.commit().await?,
        IngestStep::LostRace => tx.rollback().await?,
    }
    Ok(step)
}

/// One triage run in a transaction of its own on PostgreSQL.
async fn record_triage_postgres(pool: &sqlx::PgPool, prepared: &PreparedTriage) -> Result<RecordedTriage> {
    let mut tx = pool.begin().await?;
    let recorded = record_triage_statements_postgres(&mut tx, prepared).await?;
    tx.commit().await?;
    Ok(recorded)
}

impl Store {
    /// Stores an inbound message durably (see the module docs). On SQLite the commit is synced
    /// to disk before this returns.
    pub async fn ingest(&self, inbound: &NewInbound) -> Result<Ingested> {
        Ok(self.ingest_step(inbound, false).await?.0)
    }

    /// [`Store::ingest`], also returning the stored message, its ticket and its customer as the
    /// transaction left them (what the pipeline needs next, without reading them again).
    pub async fn ingest_with_rows(&self, inbound: &NewInbound) -> Result<IngestedRows> {
        match self.ingest_step(inbound, true).await? {
            (_, Some(rows)) => Ok(rows),
            (ingested, None) => {
                // Lost a race to a concurrent duplicate: read the first delivery's rows.
                let message = self.message(ingested.message_id).await?;
                let ticket = self.ticket(ingested.ticket_id).await?;
                let customer = match ingested.customer_id {
                    Some(id) => Some(self.customer(id).await?),
                    None => None,
                };
                Ok(IngestedRows { ingested, message, ticket, customer })
            }
        }
    }

    async fn ingest_step(&self, inbound: &NewInbound, with_rows: bool) -> Result<(Ingested, Option<IngestedRows>)> {
        let prepared = PreparedInbound::new(inbound, with_rows)?;
        let step = match &self.pools {
            Pools::Sqlite { group_commit, .. } => group_commit.ingest(prepared).await?,
            Pools::Postgres(pool) => ingest_postgres(pool, &prepared).await?,
        };
        match step {
            IngestStep::Done { ingested, rows } => Ok((ingested, rows)),
            IngestStep::LostRace => {
                let external_id = inbound.external_id.as_deref().unwrap_or_default();
                let message = self.find_message_by_external_id(inbound.channel, external_id).await?.ok_or_else(|| Error::not_found("message", external_id))?;
                let customer_id = self.ticket(message.ticket_id).await?.customer_id;
                Ok((Ingested { ticket_id: message.ticket_id, message_id: message.id, customer_id, created: false, new_ticket: false }, None))
            }
        }
    }

    /// Stores an inbound message and the triage run `finish` builds from the stored rows (see
    /// the module docs): on SQLite in the same transaction, one commit instead of two; on
    /// PostgreSQL in a second transaction right after the ingest's. The ingest is durable when
    /// this returns, whatever happened to the triage record.
    pub async fn ingest_and_record_triage(&self, inbound: &NewInbound, finish: FinishTriage) -> Result<IngestedWithTriage> {
        let prepared = PreparedInbound::new(inbound, true)?;
        let StepWithTriage { step, recorded } = match &self.pools {
            Pools::Sqlite { group_commit, .. } => group_commit.ingest_and_record_triage(prepared, finish).await?,
            // Two transactions on PostgreSQL, committed one after the other: in one, the
            // customer's row lock taken by the ingest was held while the triage record queued
            // for the audit chain's lock, and concurrent messages of one customer convoyed
            // behind it (ingest fell by a quarter in the benchmark). Several connections commit
            // in parallel there, so the second commit costs little.
            Pools::Postgres(pool) => {
                let step = ingest_postgres(pool, &prepared).await?;
                let recorded = match finished_triage(&step, finish) {
                    None => None,
                    Some(Err(error)) => Some(Err(error)),
                    Some(Ok(prepared_triage)) => Some(record_triage_postgres(pool, &prepared_triage).await),
                };
                StepWithTriage { step, recorded }
            }
        };
        match step {
            IngestStep::Done { rows: Some(rows), .. } => Ok(IngestedWithTriage { rows, recorded }),
            IngestStep::Done { rows: None, .. } | IngestStep::LostRace => Ok(IngestedWithTriage { rows: self.ingest_with_rows(inbound).await?, recorded: None }),
        }
    }

    /// Takes up to `limit` inbound messages that still need triage and whose claim (if any)
    /// has expired, claiming each for `worker` until `lease_until`. Two processes never receive
    /// the same message while its claim holds.
    pub async fn claim_pending(&self, worker: &str, now: DateTime<Utc>, lease_until: DateTime<Utc>, limit: i64) -> Result<Vec<ClaimedMessage>> {
        let now_ms = to_ms(now);
        let until_ms = to_ms(lease_until);
        let lock_clause = match self.backend() {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            // One writer connection: the UPDATE below runs alone.
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE messages SET claimed_by = $1, claimed_until = $2 WHERE id IN ( \
                SELECT id FROM messages WHERE stage = 'raw' AND direction = 'inbound' AND next_attempt_at <= $3 \
                AND (claimed_until IS NULL OR claimed_until < $4) ORDER BY next_attempt_at, id LIMIT $5 {lock_clause}) \
             RETURNING {}",
            crate::records::MESSAGE_COLUMNS
        );
        let messages: Vec<MessageRow> = on_writer!(self, |pool| {
            let rows = sqlx::query(AssertSqlSafe(&*sql)).bind(worker).bind(until_ms).bind(now_ms).bind(now_ms).bind(limit).fetch_all(pool).await?;
            rows.iter().map(message_from_row).collect::<Result<Vec<_>>>()?
        });
        let mut claimed = Vec::with_capacity(messages.len());
        for message in messages {
            let ticket = self.ticket(message.ticket_id).await?;
            claimed.push(ClaimedMessage { message, ticket });
        }
        claimed.sort_by_key(|claimed_message| claimed_message.message.id);
        Ok(claimed)
    }

    /// Records a failed triage attempt: the message stays stored, its claim is released, and it
    /// is retried at `retry_at` — or marked failed when `retry_at` is `None` (retry budget spent).
    pub async fn record_triage_failure(&self, message_id: i64, error: &str, retry_at: Option<DateTime<Utc>>) -> Result<()> {
        let stage = if retry_at.is_some() { "raw" } else { "failed" };
        let retry_ms = retry_at.map(to_ms);
        let error_text: String = error.chars().take(500).collect();
        on_writer!(self, |pool| {
            sqlx::query(
                "UPDATE messages SET attempts = attempts + 1, last_error = $1, stage = $2, next_attempt_at = $3, claimed_by = NULL, \
                 claimed_until = NULL WHERE id = $4 AND stage IN ('raw', 'enriched')",
            )
            .bind(&error_text)
            .bind(stage)
            .bind(retry_ms)
            .bind(message_id)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Puts a message back for triage (after a model update); its earlier results and decisions
    /// stay.
    pub async fn request_retriage(&self, message_id: i64, now: DateTime<Utc>) -> Result<()> {
        let now_ms = to_ms(now);
        let updated = on_writer!(self, |pool| {
            sqlx::query(
                "UPDATE messages SET stage = 'raw', next_attempt_at = $1, claimed_by = NULL, claimed_until = NULL, attempts = 0 \
                 WHERE id = $2 AND direction = 'inbound'",
            )
            .bind(now_ms)
            .bind(message_id)
            .execute(pool)
            .await?
            .rows_affected()
        });
        if updated == 0 {
            return Err(Error::not_found("inbound message", message_id));
        }
        Ok(())
    }

    /// Writes one triage run (which opens the ticket and ends any wait on the customer): the
    /// triage result, the decision record, the ticket's new state, the compliance record, the
    /// automatic reply with its outbox entry, and the audit entries — all or nothing. Returns
    /// the ids written and the ticket as it stands after the write.
    pub async fn record_triage(&self, outcome: &TriageOutcome, now: DateTime<Utc>) -> Result<RecordedTriage> {
        let prepared = PreparedTriage::new(outcome.clone(), now)?;
        match &self.pools {
            Pools::Sqlite { group_commit, .. } => group_commit.record_triage(prepared).await,
            Pools::Postgres(pool) => record_triage_postgres(pool, &prepared).await,
        }
    }
}

#[cfg(test)]
mod tests {
    /// SQLite numbers `$N` parameters by first appearance and the SQLite writer binds by
    /// position, so every statement must introduce `$1`, `$2`, … in order.
    #[test]
    fn statement_parameters_appear_in_order() {
        let others = [crate::audit::INSERT_ENTRY, crate::tickets::INSERT_OUTBOUND_MESSAGE, crate::tickets::INSERT_OUTBOX, crate::tickets::TOUCH_TICKET_UPDATED];
        for statement in super::sql::ALL.iter().chain(others.iter()) {
            let mut highest = 0;
            for number in parameters(statement) {
                assert!(number <= highest + 1, "`${number}` appears before `${}` in: {statement}", highest + 1);
                highest = highest.max(number);
            }
            assert!(highest > 0, "no parameters in: {statement}");
        }
    }

    /// The SQLite writer's statement cache holds every statement a batch runs (the pipeline's,
    /// the audit chain's two, the outbound reply's three and the three row reads), or each
    /// message compiles its statements again.
    #[test]
    fn batch_statements_fit_the_statement_cache() {
        let others = [crate::audit::INSERT_ENTRY, crate::audit::LAST_HASH, crate::tickets::INSERT_OUTBOUND_MESSAGE, crate::tickets::INSERT_OUTBOX, crate::tickets::TOUCH_TICKET_UPDATED];
        let row_reads = ["messages", "tickets", "customers"].len();
        let used = super::sql::ALL.len() + others.len() + row_reads;
        assert!(used <= crate::sqlite_batch::STATEMENT_CACHE_CAPACITY, "{used} statements, cache of {}", crate::sqlite_batch::STATEMENT_CACHE_CAPACITY);
    }

    /// The numbers of the `$N` parameters of `statement`, in order of appearance.
    fn parameters(statement: &str) -> Vec<usize> {
        let bytes = statement.as_bytes();
        let mut numbers = Vec::new();
        let mut index = 0;
        while index < bytes.len() {
            if bytes[index] == b'$' {
                let digits: String = statement[index + 1..].chars().take_while(char::is_ascii_digit).collect();
                if let Ok(number) = digits.parse() {
                    numbers.push(number);
                }
                index += 1 + digits.len();
            } else {
                index += 1;
            }
        }
        numbers
    }
}
