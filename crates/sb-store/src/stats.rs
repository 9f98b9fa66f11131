//! Operational counts for monitoring (`/metrics`): how much work waits, per queue and in the
//! pipeline. They run at every scrape, so each is one aggregate query answered from an index
//! (`tickets_status_priority` on the status, `messages_pending` on the stage) rather than a
//! scan of the whole table.

use serde::Serialize;

use crate::{on_reader, Error, MessageStage, Queue, Result, Store, TicketStatus};

/// The statuses of a ticket that still needs work (everything but resolved, closed, merged):
/// the ones [`Store::queue_depths`] counts.
pub const OPEN_TICKET_STATUSES: [TicketStatus; 3] = [TicketStatus::New, TicketStatus::Open, TicketStatus::Pending];

/// How many tickets wait in one queue with one status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct QueueDepth {
    pub queue: Queue,
    pub status: TicketStatus,
    pub n_tickets: i64,
}

/// Inbound messages that are stored but not triaged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TriageBacklog {
    /// Waiting for the background worker (raw or enriched): failed in-request triage, a crashed
    /// process, models not loaded, or a re-triage request.
    pub n_waiting: i64,
    /// Gave up after the retry budget: kept and visible, re-triaged only on request.
    pub n_failed: i64,
}

impl Store {
    /// Tickets still being worked (new, open, pending) per queue and status, ordered by queue
    /// then status. Combinations with no ticket are left out.
    pub async fn queue_depths(&self) -> Result<Vec<QueueDepth>> {
        // `status IN (…)` rather than `NOT IN (closed …)`: the listed statuses are seeks into the
        // status index, and closed tickets (the bulk of an old database) are never read.
        let rows: Vec<(String, String, i64)> = on_reader!(self, |pool| {
            sqlx::query_as::<_, (String, String, i64)>("SELECT queue, status, COUNT(*) FROM tickets WHERE status IN ($1, $2, $3) GROUP BY queue, status ORDER BY queue, status")
                .bind(OPEN_TICKET_STATUSES[0].as_str())
                .bind(OPEN_TICKET_STATUSES[1].as_str())
                .bind(OPEN_TICKET_STATUSES[2].as_str())
                .fetch_all(pool)
                .await?
        });
        rows.into_iter()
            .map(|(queue, status, n_tickets)| {
                let queue = Queue::parse(&queue).ok_or_else(|| Error::Invalid(format!("unknown queue `{queue}` in the database")))?;
                let status = TicketStatus::parse(&status).ok_or_else(|| Error::Invalid(format!("unknown ticket status `{status}` in the database")))?;
                Ok(QueueDepth { queue, status, n_tickets })
            })
            .collect()
    }

    /// Inbound messages waiting for triage and those given up on.
    pub async fn triage_backlog(&self) -> Result<TriageBacklog> {
        // Only inbound messages have these stages (outbound messages and notes are `none`), so
        // the stage index answers the count alone.
        let rows: Vec<(String, i64)> = on_reader!(self, |pool| {
            sqlx::query_as::<_, (String, i64)>("SELECT stage, COUNT(*) FROM messages WHERE stage IN ($1, $2, $3) GROUP BY stage")
                .bind(MessageStage::Raw.as_str())
                .bind(MessageStage::Enriched.as_str())
                .bind(MessageStage::Failed.as_str())
                .fetch_all(pool)
                .await?
        });
        let mut backlog = TriageBacklog::default();
        for (stage, n_messages) in rows {
            match MessageStage::parse(&stage) {
                Some(MessageStage::Raw | MessageStage::Enriched) => backlog.n_waiting += n_messages,
                Some(MessageStage::Failed) => backlog.n_failed += n_messages,
                Some(MessageStage::Triaged | MessageStage::None) | None => return Err(Error::Invalid(format!("unexpected message stage `{stage}` in the backlog count"))),
            }
        }
        Ok(backlog)
    }
}
