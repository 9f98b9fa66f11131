//! Customer satisfaction (migration 0008): one rating per ticket, 1 to 5 with an optional
//! comment, given by the customer after the ticket was resolved (from the chat widget, or by a
//! survey tool through the API), about the agent the ticket was assigned to at that moment.
//! The agent-performance report averages them (`reports/aggregates.rs`).
//!
//! Surveys (migration 0011): when an agent resolves an email ticket, the customer is mailed a
//! link to a public rating page. The link's secret is stored only as its sha256, one survey per
//! ticket; the mail is an outbox entry written in the same transaction as the survey.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::audit::append_audit;
use crate::records::DbRow;
use crate::tickets::{insert_outbound, NewOutbound};
use crate::{from_ms, on_reader, on_writer, to_ms, Error, NewAuditEntry, Result, Store};

/// A ticket's survey link, as stored (the secret itself is not).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsatSurvey {
    pub ticket_id: i64,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

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
    /// `chat` (the widget), `api` (a survey tool) or `email` (the survey link mailed at resolution).
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

    /// Stores a survey for the ticket under `token_hash` and, in the same transaction, the mail
    /// that carries its link (`outbound`, to the outbox) with the audit entries. A ticket has at
    /// most one survey: when it already has one, nothing is written and the answer is `None`;
    /// otherwise the mail's message id.
    pub async fn create_csat_survey(&self, ticket_id: i64, token_hash: &str, expires_at: DateTime<Utc>, outbound: &NewOutbound, audit: &[NewAuditEntry], now: DateTime<Utc>) -> Result<Option<i64>> {
        let now_ms = to_ms(now);
        let message_id = on_writer!(self, |pool| {
            let mut tx = pool.begin().await?;
            let created: Option<i64> = sqlx::query_scalar("INSERT INTO csat_surveys (ticket_id, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4) ON CONFLICT (ticket_id) DO NOTHING RETURNING ticket_id")
                .bind(ticket_id)
                .bind(token_hash)
                .bind(now_ms)
                .bind(to_ms(expires_at))
                .fetch_optional(&mut *tx)
                .await?;
            if created.is_none() {
                return Ok(None);
            }
            let message_id = insert_outbound!(tx, ticket_id, outbound, now_ms);
            append_audit!(self.backend(), tx, audit, now_ms);
            tx.commit().await?;
            Some(message_id)
        });
        Ok(message_id)
    }

    /// The survey a link's secret opens (by its sha256), expired or not.
    pub async fn csat_survey_by_token_hash(&self, token_hash: &str) -> Result<Option<CsatSurvey>> {
        let survey = on_reader!(self, |pool| {
            let row = sqlx::query("SELECT ticket_id, created_at, expires_at FROM csat_surveys WHERE token_hash = $1").bind(token_hash).fetch_optional(pool).await?;
            match row {
                Some(row) => Some(CsatSurvey { ticket_id: row.i64("ticket_id")?, created_at: from_ms(row.i64("created_at")?), expires_at: from_ms(row.i64("expires_at")?) }),
                None => None,
            }
        });
        Ok(survey)
    }
}
