//! Customer satisfaction (migration 0008): one rating per ticket, 1 to 5 with an optional
//! comment, given by the customer after the ticket was resolved (from the chat widget, or by a
//! survey tool through the API), about the agent the ticket was assigned to at that moment.
//! The agent-performance report averages them (`reports/aggregates.rs`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::audit::append_audit;
use crate::records::DbRow;
use crate::{from_ms, on_reader, on_writer, to_ms, Error, NewAuditEntry, Result, Store};

/// A ticket's rating.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CsatRating {
    pub ticket_id: i64,
    /// 1 (very unhappy) to 5 (very happy).
    pub rating: i64,
    pub comment: Option<String>,
    /// The ticket's assignee when it was rated; none when nobody was assigned.
    pub agent_user_id: Option<i64>,
    /// `chat` (the widget) or `api` (a survey tool).
    pub source: String,
    pub rated_at: DateTime<Utc>,
}

const CSAT_COLUMNS: &str = "ticket_id, rating, comment, agent_user_id, source, rated_at";

fn csat_from_row(row: &impl DbRow) -> Result<CsatRating> {
    Ok(CsatRating {
        ticket_id: row.i64("ticket_id")?,
        rating: row.i64("rating")?,
        comment: row.opt_string("comment")?,
        agent_user_id: row.opt_i64("agent_user_id")?,
        source: row.string("source")?,
        rated_at: from_ms(row.i64("rated_at")?),
    })
}

impl Store {
    /// Records `rating` for the ticket (replacing an earlier rating), about its current
    /// assignee, with the audit entries, in one transaction. The caller checks what may be
    /// rated; the schema refuses a rating outside 1–5 or an unknown source.
    pub async fn record_csat(&self, ticket_id: i64, rating: i64, comment: Option<&str>, source: &str, audit: &[NewAuditEntry], now: DateTime<Utc>) -> Result<CsatRating> {
        let now_ms = to_ms(now);
        let recorded = on_writer!(self, |pool| {
            let mut tx = pool.begin().await?;
            let assignee: Option<Option<i64>> = sqlx::query_scalar("SELECT assignee_id FROM tickets WHERE id = $1").bind(ticket_id).fetch_optional(&mut *tx).await?;
            match assignee {
                None => None,
                Some(assignee) => {
                    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "INSERT INTO csat_ratings (ticket_id, rating, comment, agent_user_id, source, rated_at) VALUES ($1, $2, $3, $4, $5, $6) \
                         ON CONFLICT (ticket_id) DO UPDATE SET rating = excluded.rating, comment = excluded.comment, agent_user_id = excluded.agent_user_id, \
                         source = excluded.source, rated_at = excluded.rated_at RETURNING {CSAT_COLUMNS}"
                    )))
                    .bind(ticket_id)
                    .bind(rating)
                    .bind(comment)
                    .bind(assignee)
                    .bind(source)
                    .bind(now_ms)
                    .fetch_one(&mut *tx)
                    .await?;
                    let recorded = csat_from_row(&row)?;
                    append_audit!(self.backend(), tx, audit, now_ms);
                    tx.commit().await?;
                    Some(recorded)
                }
            }
        });
        recorded.ok_or_else(|| Error::not_found("ticket", ticket_id))
    }

    /// The ticket's rating, if it has one.
    pub async fn ticket_csat(&self, ticket_id: i64) -> Result<Option<CsatRating>> {
        let row = on_reader!(self, |pool| {
            let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {CSAT_COLUMNS} FROM csat_ratings WHERE ticket_id = $1"))).bind(ticket_id).fetch_optional(pool).await?;
            row.as_ref().map(csat_from_row).transpose()?
        });
        Ok(row)
    }
}
