//! The outbox: replies waiting for their channel to send them. A sender claims entries (with
//! `FOR UPDATE SKIP LOCKED` on PostgreSQL), sends, and marks them sent or failed with a retry
//! time; an entry is never lost between "stored" and "sent".

use sqlx::AssertSqlSafe;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::records::{parse_channel, DbRow};
use crate::{from_ms, from_ms_opt, on_writer, to_ms, Backend, Result, Store};
use sb_domain::Channel;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxItem {
    pub id: i64,
    pub ticket_id: i64,
    pub message_id: i64,
    pub channel: Channel,
    pub recipient: Option<String>,
    pub status: String,
    pub attempts: i64,
    /// Times a sender claimed the entry, this claim included.
    pub claims: i64,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

const OUTBOX_COLUMNS: &str = "id, ticket_id, message_id, channel, recipient, status, attempts, claims, last_error, created_at, sent_at";

impl OutboxItem {
    /// A sender held the entry before this claim and did not see it through (a failure, a
    /// crash, a lost lease): what it sent may have reached the recipient already.
    pub fn claimed_before(&self) -> bool {
        self.claims > 1
    }
}

fn outbox_from_row(row: &impl DbRow) -> Result<OutboxItem> {
    Ok(OutboxItem {
        id: row.i64("id")?,
        ticket_id: row.i64("ticket_id")?,
        message_id: row.i64("message_id")?,
        channel: parse_channel(&row.string("channel")?)?,
        recipient: row.opt_string("recipient")?,
        status: row.string("status")?,
        attempts: row.i64("attempts")?,
        claims: row.i64("claims")?,
        last_error: row.opt_string("last_error")?,
        created_at: from_ms(row.i64("created_at")?),
        sent_at: from_ms_opt(row.opt_i64("sent_at")?),
    })
}

impl Store {
    /// Claims up to `limit` pending entries of `channel` that are due, for `worker` until
    /// `lease_until`, counting the claim in `claims`.
    pub async fn claim_outbox(&self, channel: Channel, worker: &str, now: DateTime<Utc>, lease_until: DateTime<Utc>, limit: i64) -> Result<Vec<OutboxItem>> {
        let now_ms = to_ms(now);
        let lock_clause = if self.backend() == Backend::Postgres { "FOR UPDATE SKIP LOCKED" } else { "" };
        let sql = format!(
            "UPDATE outbox SET claimed_by = $1, claimed_until = $2, claims = claims + 1 WHERE id IN ( \
                SELECT id FROM outbox WHERE status = 'pending' AND channel = $3 AND next_attempt_at <= $4 \
                AND (claimed_until IS NULL OR claimed_until < $5) ORDER BY id LIMIT $6 {lock_clause}) RETURNING {OUTBOX_COLUMNS}"
        );
        let mut items = on_writer!(self, |pool| {
            let rows = sqlx::query(AssertSqlSafe(&*sql)).bind(worker).bind(to_ms(lease_until)).bind(channel.as_str()).bind(now_ms).bind(now_ms).bind(limit).fetch_all(pool).await?;
            rows.iter().map(outbox_from_row).collect::<Result<Vec<_>>>()?
        });
        items.sort_by_key(|item| item.id);
        Ok(items)
    }

    /// Marks an entry sent (or delivered inline, for chat replies the client reads itself).
    pub async fn mark_outbox_sent(&self, outbox_id: i64, status: &str, now: DateTime<Utc>) -> Result<()> {
        on_writer!(self, |pool| {
            sqlx::query("UPDATE outbox SET status = $1, sent_at = $2, claimed_by = NULL, claimed_until = NULL WHERE id = $3")
                .bind(status)
                .bind(to_ms(now))
                .bind(outbox_id)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Records a failed send: retried at `retry_at`, or failed for good when `None`.
    pub async fn mark_outbox_failed(&self, outbox_id: i64, error: &str, retry_at: Option<DateTime<Utc>>) -> Result<()> {
        let status = if retry_at.is_some() { "pending" } else { "failed" };
        let error_text: String = error.chars().take(500).collect();
        on_writer!(self, |pool| {
            sqlx::query(
                "UPDATE outbox SET status = $1, attempts = attempts + 1, last_error = $2, next_attempt_at = COALESCE($3, next_attempt_at), \
                 claimed_by = NULL, claimed_until = NULL WHERE id = $4",
            )
            .bind(status)
            .bind(&error_text)
            .bind(retry_at.map(to_ms))
            .bind(outbox_id)
            .execute(pool)
            .await?;
        });
        Ok(())
    }
}
