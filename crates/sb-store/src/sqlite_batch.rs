//! The SQLite group commit's statements, run synchronously on the writer connection.
//!
//! sqlx's SQLite driver keeps each connection on a thread of its own and hands it every
//! statement (and every row) over a channel; the pipeline's two durable writes are about twenty
//! statements per message, so most of an ingest's CPU went to thread wake-ups. The group-commit
//! writer (`writer.rs`) therefore locks the writer connection once per batch
//! (`SqliteConnection::lock_handle`), wraps its raw handle in a non-owning rusqlite connection,
//! and runs the whole batch here on one blocking thread: the same SQL as the PostgreSQL path
//! (`ingest::sql`), prepared once per batch, no hop per statement.
//!
//! Both drivers link the same `libsqlite3-sys`, so the handle is the same type on both sides.
//!
//! The pipeline uses about thirty distinct statements, more than rusqlite's default statement
//! cache of sixteen: with the default, a batch's cycle through them evicted each statement just
//! before its next use, and every statement was compiled again for every message.
//! [`STATEMENT_CACHE_CAPACITY`] keeps them all.

use rusqlite::{params, Connection, OptionalExtension};

use crate::audit::{entry_hash, NewAuditEntry, GENESIS_HASH};
use crate::ingest::{finished_triage, follow_merge, sql, FinishTriage, IngestStep, Ingested, IngestedRows, MergeStep, PreparedInbound, PreparedTriage, RecordedTriage, StepWithTriage, MAX_MERGE_HOPS};
use crate::records::{customer_from_row, json_text, message_from_row, ticket_from_row, DbRow, Direction, Ticket, CUSTOMER_COLUMNS, MESSAGE_COLUMNS, TICKET_COLUMNS};
use crate::tickets::NewOutbound;
use crate::{to_ms, Result};

/// Room for every statement of a batch in the writer's statement cache (see the module docs).
pub(crate) const STATEMENT_CACHE_CAPACITY: usize = 64;

impl DbRow for rusqlite::Row<'_> {
    fn i64(&self, column: &str) -> Result<i64> {
        Ok(self.get::<_, i64>(column)?)
    }
    fn opt_i64(&self, column: &str) -> Result<Option<i64>> {
        Ok(self.get::<_, Option<i64>>(column)?)
    }
    fn f64_opt(&self, column: &str) -> Result<Option<f64>> {
        Ok(self.get::<_, Option<f64>>(column)?)
    }
    fn string(&self, column: &str) -> Result<String> {
        Ok(self.get::<_, String>(column)?)
    }
    fn opt_string(&self, column: &str) -> Result<Option<String>> {
        Ok(self.get::<_, Option<String>>(column)?)
    }
    fn bool(&self, column: &str) -> Result<bool> {
        Ok(self.get::<_, bool>(column)?)
    }
    fn bytes(&self, column: &str) -> Result<Vec<u8>> {
        Ok(self.get::<_, Vec<u8>>(column)?)
    }
}

/// One row by id, decoded by the record's shared decoder.
fn row_by_id<T>(conn: &Connection, table: &str, columns: &str, id: i64, decode: impl Fn(&rusqlite::Row<'_>) -> Result<T>) -> Result<T> {
    let mut statement = conn.prepare_cached(&format!("SELECT {columns} FROM {table} WHERE id = $1"))?;
    let mut rows = statement.query([id])?;
    match rows.next()? {
        Some(row) => decode(row),
        None => Err(crate::Error::not_found("row", format!("{table} {id}"))),
    }
}

fn ticket(conn: &Connection, id: i64) -> Result<Ticket> {
    row_by_id(conn, "tickets", TICKET_COLUMNS, id, |row| ticket_from_row(row))
}

/// The ingest of one message (see `ingest::ingest_statements_postgres`, which it mirrors step
/// for step), inside the batch's savepoint.
pub(crate) fn ingest(conn: &Connection, prepared: &PreparedInbound) -> Result<IngestStep> {
    let inbound = &prepared.inbound;
    let now_ms = prepared.now_ms;
    let email = prepared.email.as_deref();
    let channel = inbound.channel.as_str();
    let customer = &inbound.customer;
    if let Some(external_id) = &inbound.external_id {
        let existing: Option<(i64, i64)> =
            conn.prepare_cached(sql::FIND_MESSAGE_BY_EXTERNAL_ID)?.query_row(params![channel, external_id], |row| Ok((row.get(0)?, row.get(1)?))).optional()?;
        if let Some((message_id, ticket_id)) = existing {
            let customer_id: Option<i64> = conn.prepare_cached(sql::TICKET_CUSTOMER)?.query_row([ticket_id], |row| row.get(0))?;
            let ingested = Ingested { ticket_id, message_id, customer_id, created: false, new_ticket: false };
            return Ok(IngestStep::Done { rows: read_rows(conn, prepared, &ingested)?, ingested });
        }
    }

    let find_id = |statement: &str, value: &str| -> Result<Option<i64>> { Ok(conn.prepare_cached(statement)?.query_row([value], |row| row.get(0)).optional()?) };
    let mut customer_id: Option<i64> = None;
    if let Some(external_id) = &customer.external_id {
        customer_id = find_id(sql::CUSTOMER_BY_EXTERNAL_ID, external_id)?;
    }
    if customer_id.is_none() {
        if let Some(email) = email {
            customer_id = find_id(sql::CUSTOMER_BY_EMAIL, email)?;
        }
    }
    if customer_id.is_none() {
        if let Some(phone) = &customer.phone {
            customer_id = find_id(sql::CUSTOMER_BY_PHONE, phone)?;
        }
    }
    match customer_id {
        Some(id) => {
            conn.prepare_cached(sql::UPDATE_CUSTOMER)?.execute(params![customer.name, customer.phone, email, email, customer.external_id, customer.external_id, now_ms, id])?;
        }
        None if !customer.is_empty() => {
            let inserted: Option<i64> = conn
                .prepare_cached(sql::INSERT_CUSTOMER)?
                .query_row(params![customer.external_id, email, customer.phone, customer.name, now_ms, now_ms], |row| row.get(0))
                .optional()?;
            customer_id = match inserted {
                Some(id) => Some(id),
                None => conn.prepare_cached(sql::CUSTOMER_BY_EXTERNAL_ID_OR_EMAIL)?.query_row(params![customer.external_id, email], |row| row.get(0)).optional()?,
            };
        }
        None => {}
    }

    let mut ticket_id: Option<i64> = None;
    if let Some(target) = inbound.ticket_id {
        let mut current = Some(target);
        for _ in 0..MAX_MERGE_HOPS {
            let Some(candidate) = current else { break };
            let row: Option<(String, Option<i64>)> =
                conn.prepare_cached(sql::TICKET_STATUS_AND_MERGE)?.query_row([candidate], |row| Ok((row.get(0)?, row.get(1)?))).optional()?;
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
            ticket_id = conn.prepare_cached(sql::OPEN_TICKET_OF_CONVERSATION)?.query_row(params![channel, conversation_key], |row| row.get(0)).optional()?;
        }
    }
    let new_ticket = ticket_id.is_none();
    let ticket_id: i64 = match ticket_id {
        Some(id) => {
            conn.prepare_cached(sql::TOUCH_TICKET)?.execute(params![now_ms, now_ms, id])?;
            id
        }
        None => conn
            .prepare_cached(sql::INSERT_TICKET)?
            .query_row(params![customer_id, channel, inbound.conversation_key, inbound.subject, now_ms, now_ms, now_ms], |row| row.get(0))?,
    };

    let inserted: Option<i64> = conn
        .prepare_cached(sql::INSERT_INBOUND_MESSAGE)?
        .query_row(
            params![
                ticket_id,
                channel,
                inbound.external_id,
                inbound.content_type,
                inbound.raw_payload,
                inbound.subject,
                inbound.body,
                inbound.body_is_html,
                prepared.metadata_text,
                now_ms,
                prepared.claimed_by,
                prepared.claimed_until,
                now_ms
            ],
            |row| row.get(0),
        )
        .optional()?;
    match inserted {
        Some(message_id) => {
            let ingested = Ingested { ticket_id, message_id, customer_id, created: true, new_ticket };
            Ok(IngestStep::Done { rows: read_rows(conn, prepared, &ingested)?, ingested })
        }
        // The batch is the only writer, so the lookup above already found any earlier
        // delivery; kept for symmetry with PostgreSQL.
        None => Ok(IngestStep::LostRace),
    }
}

fn read_rows(conn: &Connection, prepared: &PreparedInbound, ingested: &Ingested) -> Result<Option<IngestedRows>> {
    if !prepared.with_rows {
        return Ok(None);
    }
    let message = row_by_id(conn, "messages", MESSAGE_COLUMNS, ingested.message_id, |row| message_from_row(row))?;
    let ticket = ticket(conn, ingested.ticket_id)?;
    let customer = ingested.customer_id.map(|id| row_by_id(conn, "customers", CUSTOMER_COLUMNS, id, |row| customer_from_row(row))).transpose()?;
    Ok(Some(IngestedRows { ingested: ingested.clone(), message, ticket, customer }))
}

/// Runs a parameterless statement from the statement cache (savepoints and transaction
/// control, several per message: `execute_batch` would parse each one again).
pub(crate) fn run_cached(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

/// An ingest and, for a new message, the triage record the caller builds from its rows, in a
/// savepoint of its own inside the job's: a failed record is undone alone and the raw message
/// stays (see `Store::ingest_and_record_triage`).
pub(crate) fn ingest_and_record_triage(conn: &Connection, prepared: &PreparedInbound, finish: FinishTriage) -> Result<StepWithTriage> {
    let step = ingest(conn, prepared)?;
    let recorded = match finished_triage(&step, finish) {
        None => None,
        Some(Err(error)) => Some(Err(error)),
        Some(Ok(prepared_triage)) => {
            run_cached(conn, "SAVEPOINT triage")?;
            let recorded = record_triage(conn, &prepared_triage);
            if recorded.is_err() {
                run_cached(conn, "ROLLBACK TO triage")?;
            }
            run_cached(conn, "RELEASE triage")?;
            Some(recorded)
        }
    };
    Ok(StepWithTriage { step, recorded })
}

/// One triage run's writes (see `ingest::record_triage_statements_postgres`), inside the
/// batch's savepoint.
pub(crate) fn record_triage(conn: &Connection, prepared: &PreparedTriage) -> Result<RecordedTriage> {
    let outcome = &prepared.outcome;
    let now_ms = prepared.now_ms;
    let update = &outcome.ticket;
    let triage_id: i64 = conn.prepare_cached(sql::INSERT_TRIAGE_RESULT)?.query_row(
        params![outcome.message_id, outcome.ticket_id, outcome.model_name, outcome.model_version, prepared.result_text, outcome.latency_us, now_ms],
        |row| row.get(0),
    )?;
    let decision_id: i64 = conn.prepare_cached(sql::INSERT_DECISION)?.query_row(
        params![outcome.ticket_id, outcome.message_id, triage_id, outcome.route, outcome.reason_code, outcome.priority, prepared.decision_text, now_ms],
        |row| row.get(0),
    )?;
    conn.prepare_cached(sql::UPDATE_TICKET_AFTER_TRIAGE)?.execute(params![
        update.status.as_str(),
        update.queue.as_str(),
        update.category,
        update.intent,
        update.severity,
        update.confidence,
        update.sentiment,
        update.priority,
        update.route,
        update.sla_policy,
        update.first_response_due_at.map(to_ms),
        update.resolution_due_at.map(to_ms),
        now_ms,
        prepared.sla_text,
        now_ms,
        outcome.ticket_id
    ])?;
    conn.prepare_cached(sql::MARK_MESSAGE_TRIAGED)?.execute(params![now_ms, outcome.message_id])?;
    if let Some((intent, severity, redacted_text, _)) = &outcome.compliance {
        conn.prepare_cached(sql::INSERT_COMPLIANCE_RECORD)?.execute(params![
            outcome.ticket_id,
            outcome.message_id,
            intent,
            severity,
            redacted_text,
            prepared.compliance_text,
            now_ms
        ])?;
    }
    let mut reply_message_id = None;
    if let Some(reply) = &outcome.reply {
        reply_message_id = Some(insert_outbound(conn, outcome.ticket_id, reply, now_ms)?);
        conn.prepare_cached(sql::MARK_FIRST_RESPONSE)?.execute(params![now_ms, outcome.ticket_id])?;
    }
    append_audit(conn, &outcome.audit, now_ms)?;
    let ticket = ticket(conn, outcome.ticket_id)?;
    Ok(RecordedTriage { triage_id, decision_id, reply_message_id, ticket })
}

/// `tickets::insert_outbound!` on this connection.
fn insert_outbound(conn: &Connection, ticket_id: i64, outbound: &NewOutbound, now_ms: i64) -> Result<i64> {
    let metadata_text = outbound.metadata.as_ref().map(|metadata| json_text("message metadata", metadata)).transpose()?;
    let message_id: i64 = conn.prepare_cached(crate::tickets::INSERT_OUTBOUND_MESSAGE)?.query_row(
        params![
            ticket_id,
            outbound.channel.as_str(),
            outbound.direction.as_str(),
            outbound.author_user_id,
            outbound.body.as_bytes(),
            outbound.subject,
            outbound.body,
            metadata_text,
            now_ms
        ],
        |row| row.get(0),
    )?;
    if outbound.direction == Direction::Outbound {
        let (status, sent_at) = crate::tickets::initial_outbox_state(outbound.channel, now_ms);
        conn.prepare_cached(crate::tickets::INSERT_OUTBOX)?.execute(params![ticket_id, message_id, outbound.channel.as_str(), outbound.recipient, status, now_ms, now_ms, sent_at])?;
    }
    conn.prepare_cached(crate::tickets::TOUCH_TICKET_UPDATED)?.execute(params![now_ms, ticket_id])?;
    Ok(message_id)
}

/// `audit::append_audit!` on this connection: each entry chained to the one before.
fn append_audit(conn: &Connection, entries: &[NewAuditEntry], now_ms: i64) -> Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let mut prev_hash: String = conn.prepare_cached(crate::audit::LAST_HASH)?.query_row([], |row| row.get(0)).optional()?.unwrap_or_else(|| GENESIS_HASH.to_string());
    for entry in entries {
        let details_text = json_text("audit details", &entry.details)?;
        let hash = entry_hash(&prev_hash, now_ms, &entry.actor, &entry.action, &entry.entity_type, &entry.entity_id, &details_text);
        conn.prepare_cached(crate::audit::INSERT_ENTRY)?.execute(params![now_ms, entry.actor, entry.action, entry.entity_type, entry.entity_id, details_text, prev_hash, hash])?;
        prev_hash = hash;
    }
    Ok(())
}
