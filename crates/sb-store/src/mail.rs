//! What the email channel asks of the store: threading lookups, the loop guard's budget, the
//! Message-IDs of a ticket for outgoing threading headers, and recording an SMTP send.
//!
//! No table of its own: an email message's Message-ID is its `external_id` (inbound: the id
//! the sender gave it, or a fallback key when it had none; outbound: the id Switchboard gave
//! it when it was sent), so the unique index on `(channel, external_id)` serves both the
//! idempotency of ingest and the lookup of a reply's ticket.

use chrono::{DateTime, Utc};
use sb_domain::Channel;
use sqlx::AssertSqlSafe;

use crate::{on_reader, on_writer, to_ms, Error, Result, Store};

/// Most Message-IDs looked up at once (a References header of a long thread is cut by the
/// caller, see `sb_mail::thread_keys`).
pub const MAX_THREAD_LOOKUP_IDS: usize = 64;

impl Store {
    /// The ticket of the first id of `message_ids` (most specific first) that an email message
    /// of the store carries, in or out. Ids beyond [`MAX_THREAD_LOOKUP_IDS`] are ignored.
    pub async fn email_ticket_by_message_ids(&self, message_ids: &[String]) -> Result<Option<i64>> {
        let message_ids = &message_ids[..message_ids.len().min(MAX_THREAD_LOOKUP_IDS)];
        if message_ids.is_empty() {
            return Ok(None);
        }
        let placeholders: Vec<String> = (0..message_ids.len()).map(|idx| format!("${}", idx + 2)).collect();
        let sql = format!("SELECT external_id, ticket_id FROM messages WHERE channel = $1 AND external_id IN ({})", placeholders.join(", "));
        // The writer: a reply may arrive right after the mail it answers was stored.
        let found: Vec<(String, i64)> = on_writer!(self, |pool| {
            let mut query = sqlx::query_as::<_, (String, i64)>(AssertSqlSafe(&*sql)).bind(Channel::Email.as_str());
            for message_id in message_ids {
                query = query.bind(message_id);
            }
            query.fetch_all(pool).await?
        });
        Ok(message_ids.iter().find_map(|wanted| found.iter().find(|(external_id, _)| external_id == wanted).map(|(_, ticket_id)| *ticket_id)))
    }

    /// Email tickets of the customer with this address (lower-cased in the store) that are not
    /// closed or merged and had a message at or after `since`, newest first: (ticket id,
    /// subject). The last-resort threading key compares their subjects.
    pub async fn recent_email_tickets(&self, customer_email: &str, since: DateTime<Utc>, limit: i64) -> Result<Vec<(i64, Option<String>)>> {
        let email = customer_email.trim().to_lowercase();
        let rows = on_writer!(self, |pool| {
            sqlx::query_as::<_, (i64, Option<String>)>(
                "SELECT tickets.id, tickets.subject FROM tickets JOIN customers ON customers.id = tickets.customer_id \
                 WHERE customers.email = $1 AND tickets.channel = $2 AND tickets.status NOT IN ('closed', 'merged') AND tickets.last_message_at >= $3 \
                 ORDER BY tickets.last_message_at DESC, tickets.id DESC LIMIT $4",
            )
            .bind(&email)
            .bind(Channel::Email.as_str())
            .bind(to_ms(since))
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    /// Automatic replies queued on `channel` for `recipient` at or after `since`: what the
    /// per-sender hourly budget of automatic answers counts. An automatic reply is one whose
    /// metadata says `"automatic":true` (the pipeline writes it so; an agent's or an
    /// integration's reply says `false`).
    pub async fn automatic_replies_to(&self, channel: Channel, recipient: &str, since: DateTime<Utc>) -> Result<i64> {
        let recipient = recipient.trim().to_lowercase();
        let count = on_writer!(self, |pool| {
            sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM outbox JOIN messages ON messages.id = outbox.message_id \
                 WHERE outbox.channel = $1 AND LOWER(outbox.recipient) = $2 AND outbox.created_at >= $3 AND messages.metadata LIKE '%\"automatic\":true%'",
            )
            .bind(channel.as_str())
            .bind(&recipient)
            .bind(to_ms(since))
            .fetch_one(pool)
            .await?
        });
        Ok(count)
    }

    /// The Message-IDs of a ticket's email messages (in and out) stored before the message
    /// `before_message_id`, oldest first: the References of a reply, whose last entry is its
    /// In-Reply-To.
    pub async fn email_thread_ids(&self, ticket_id: i64, before_message_id: i64) -> Result<Vec<String>> {
        let ids = on_reader!(self, |pool| {
            sqlx::query_scalar::<_, String>(
                "SELECT external_id FROM messages WHERE ticket_id = $1 AND channel = $2 AND id < $3 AND external_id IS NOT NULL \
                 AND direction IN ('inbound', 'outbound') ORDER BY id",
            )
            .bind(ticket_id)
            .bind(Channel::Email.as_str())
            .bind(before_message_id)
            .fetch_all(pool)
            .await?
        });
        Ok(ids)
    }

    /// Records a sent mail in one transaction: the outbox entry is `sent` and the message
    /// carries the Message-ID it was sent with (so a reply to it threads, and a retry after a
    /// crash can tell it was sent). A claim that another worker took over in the meantime is
    /// a conflict and changes nothing.
    pub async fn mark_outbox_sent_with_message_id(&self, outbox_id: i64, worker: &str, message_id: i64, sent_message_id: &str, now: DateTime<Utc>) -> Result<()> {
        on_writer!(self, |pool| {
            let mut tx = pool.begin().await?;
            let updated = sqlx::query(
                "UPDATE outbox SET status = 'sent', sent_at = $1, claimed_by = NULL, claimed_until = NULL WHERE id = $2 AND claimed_by = $3 AND status = 'pending'",
            )
            .bind(to_ms(now))
            .bind(outbox_id)
            .bind(worker)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if updated == 0 {
                return Err(Error::Conflict(format!("outbox entry {outbox_id} is no longer claimed by {worker}")));
            }
            sqlx::query("UPDATE messages SET external_id = $1 WHERE id = $2 AND (external_id IS NULL OR external_id = $3)")
                .bind(sent_message_id)
                .bind(message_id)
                .bind(sent_message_id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(())
    }
}
