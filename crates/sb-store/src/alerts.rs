//! Alerts, webhooks and the webhook delivery log.
//!
//! An alert is raised by a rule for a de-duplication key; while its condition holds it is seen
//! again (one open alert per key, enforced by a partial unique index), and it is resolved when
//! the condition clears or a person resolves it. Raising and resolving enqueue one delivery per
//! active webhook in the same transaction, so an alert is never stored without its
//! notifications (or notified without being stored). A sender claims due deliveries (with
//! `FOR UPDATE SKIP LOCKED` on PostgreSQL), posts them, and records the outcome.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::AssertSqlSafe;

use crate::audit::append_audit;
use crate::records::{string_enum, DbRow};
use crate::{from_ms, from_ms_opt, on_reader, on_writer, to_ms, Backend, Error, NewAuditEntry, Result, Store};

string_enum!(
    /// How urgent an alert is.
    AlertSeverity {
        Info => "info",
        Warning => "warning",
        Critical => "critical",
    }
);

string_enum!(
    AlertStatus {
        Open => "open",
        Resolved => "resolved",
    }
);

/// What a rule reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewAlert {
    pub rule: String,
    /// One open alert per key: `queue_depth`, `vip_ticket:123`.
    pub dedup_key: String,
    pub severity: AlertSeverity,
    pub title: String,
    pub details: serde_json::Value,
    pub value: Option<f64>,
    pub threshold: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Alert {
    pub id: i64,
    pub rule: String,
    pub dedup_key: String,
    pub severity: AlertSeverity,
    pub status: AlertStatus,
    pub title: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub details: serde_json::Value,
    pub value: Option<f64>,
    pub threshold: Option<f64>,
    /// Evaluations that found the condition (1 when raised).
    pub occurrences: i64,
    pub first_seen_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolved_by: Option<String>,
}

const ALERT_COLUMNS: &str = "id, rule, dedup_key, severity, status, title, details, value, threshold, occurrences, first_seen_at, last_seen_at, resolved_at, resolved_by";

fn alert_from_row(row: &impl DbRow) -> Result<Alert> {
    let details = row.string("details")?;
    Ok(Alert {
        id: row.i64("id")?,
        rule: row.string("rule")?,
        dedup_key: row.string("dedup_key")?,
        severity: AlertSeverity::parse(&row.string("severity")?).ok_or_else(|| Error::Invalid("unknown alert severity in the database".into()))?,
        status: AlertStatus::parse(&row.string("status")?).ok_or_else(|| Error::Invalid("unknown alert status in the database".into()))?,
        title: row.string("title")?,
        details: serde_json::from_str(&details).map_err(|source| Error::Json { what: "alert details", source })?,
        value: row.f64_opt("value")?,
        threshold: row.f64_opt("threshold")?,
        occurrences: row.i64("occurrences")?,
        first_seen_at: from_ms(row.i64("first_seen_at")?),
        last_seen_at: from_ms(row.i64("last_seen_at")?),
        resolved_at: from_ms_opt(row.opt_i64("resolved_at")?),
        resolved_by: row.opt_string("resolved_by")?,
    })
}

/// A webhook as listed (the secret is shown once, at creation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Webhook {
    pub id: i64,
    pub name: String,
    pub url: String,
    pub active: bool,
    pub created_by: Option<String>,
    pub created_at: DateTime<Utc>,
}

const WEBHOOK_COLUMNS: &str = "id, name, url, active, created_by, created_at";

fn webhook_from_row(row: &impl DbRow) -> Result<Webhook> {
    Ok(Webhook {
        id: row.i64("id")?,
        name: row.string("name")?,
        url: row.string("url")?,
        active: row.bool("active")?,
        created_by: row.opt_string("created_by")?,
        created_at: from_ms(row.i64("created_at")?),
    })
}

/// One notification of one webhook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookDelivery {
    pub id: i64,
    pub webhook_id: i64,
    pub alert_id: i64,
    /// `alert.raised` or `alert.resolved`.
    pub event: String,
    /// The JSON body exactly as signed and sent.
    pub payload: String,
    /// `pending`, `delivered` or `failed` (out of attempts).
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

const DELIVERY_COLUMNS: &str = "id, webhook_id, alert_id, event, payload, status, attempts, next_attempt_at, last_status, last_error, created_at, delivered_at";

fn delivery_from_row(row: &impl DbRow) -> Result<WebhookDelivery> {
    Ok(WebhookDelivery {
        id: row.i64("id")?,
        webhook_id: row.i64("webhook_id")?,
        alert_id: row.i64("alert_id")?,
        event: row.string("event")?,
        payload: row.string("payload")?,
        status: row.string("status")?,
        attempts: row.i64("attempts")?,
        next_attempt_at: from_ms(row.i64("next_attempt_at")?),
        last_status: row.opt_i64("last_status")?,
        last_error: row.opt_string("last_error")?,
        created_at: from_ms(row.i64("created_at")?),
        delivered_at: from_ms_opt(row.opt_i64("delivered_at")?),
    })
}

/// How a webhook is reached: an `http(s)://` URL gets a signed POST, a `mailto:` address an
/// email from the SMTP sender. Each sender claims only its own kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryTarget {
    Http,
    Email,
}

/// The address of a `mailto:` webhook URL (the scheme in any case), `None` for any other URL.
/// The claim's SQL tells the kinds apart the same way (`LOWER(url) LIKE 'mailto:%'`).
pub fn mailto_address(url: &str) -> Option<&str> {
    url.get(..7).filter(|scheme| scheme.eq_ignore_ascii_case("mailto:")).and_then(|_| url.get(7..))
}

/// A claimed delivery with what is needed to send it.
#[derive(Debug, Clone, PartialEq)]
pub struct DueDelivery {
    pub delivery: WebhookDelivery,
    pub url: String,
    pub secret: String,
}

/// The body a webhook receives: the event and the alert as stored after it.
pub fn webhook_payload(event: &str, alert: &Alert, now: DateTime<Utc>) -> String {
    serde_json::json!({"event": event, "sent_at": now, "alert": alert}).to_string()
}

/// Whether raising an alert found it new or already open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Raised {
    New,
    AlreadyOpen,
}

impl Store {
    /// Raises `alert`, or counts it again when an alert with its key is open. A new alert gets
    /// one `alert.raised` delivery per active webhook, in the same transaction.
    pub async fn raise_alert(&self, alert: &NewAlert, now: DateTime<Utc>) -> Result<(Alert, Raised)> {
        let now_ms = to_ms(now);
        let details = alert.details.to_string();
        // Two processes may raise the same key at once: the partial unique index lets one
        // insert win; the other sees the conflict and counts the open alert instead.
        for _ in 0..2 {
            let outcome: std::result::Result<(i64, Raised), Error> = on_writer!(self, |pool| {
                let mut tx = pool.begin().await?;
                let open: Option<i64> = sqlx::query_scalar("SELECT id FROM alerts WHERE dedup_key = $1 AND status = 'open'").bind(&alert.dedup_key).fetch_optional(&mut *tx).await?;
                match open {
                    Some(id) => {
                        sqlx::query("UPDATE alerts SET occurrences = occurrences + 1, last_seen_at = $1, value = $2, details = $3 WHERE id = $4")
                            .bind(now_ms)
                            .bind(alert.value)
                            .bind(&details)
                            .bind(id)
                            .execute(&mut *tx)
                            .await?;
                        tx.commit().await?;
                        Ok((id, Raised::AlreadyOpen))
                    }
                    None => {
                        let inserted: std::result::Result<i64, sqlx::Error> = sqlx::query_scalar(
                            "INSERT INTO alerts (rule, dedup_key, severity, status, title, details, value, threshold, occurrences, first_seen_at, last_seen_at) \
                             VALUES ($1, $2, $3, 'open', $4, $5, $6, $7, 1, $8, $9) RETURNING id",
                        )
                        .bind(&alert.rule)
                        .bind(&alert.dedup_key)
                        .bind(alert.severity.as_str())
                        .bind(&alert.title)
                        .bind(&details)
                        .bind(alert.value)
                        .bind(alert.threshold)
                        .bind(now_ms)
                        .bind(now_ms)
                        .fetch_one(&mut *tx)
                        .await;
                        match inserted {
                            Ok(id) => {
                                let stored = alert_from_row(&sqlx::query(AssertSqlSafe(format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE id = $1"))).bind(id).fetch_one(&mut *tx).await?)?;
                                let payload = webhook_payload("alert.raised", &stored, now);
                                sqlx::query(
                                    "INSERT INTO webhook_deliveries (webhook_id, alert_id, event, payload, status, attempts, next_attempt_at, created_at) \
                                     SELECT id, $1, 'alert.raised', $2, 'pending', 0, $3, $4 FROM webhooks WHERE active",
                                )
                                .bind(id)
                                .bind(&payload)
                                .bind(now_ms)
                                .bind(now_ms)
                                .execute(&mut *tx)
                                .await?;
                                tx.commit().await?;
                                Ok((id, Raised::New))
                            }
                            Err(error) if is_unique_violation(&error) => Err(Error::Conflict("raced".into())),
                            Err(error) => Err(error.into()),
                        }
                    }
                }
            });
            match outcome {
                Ok((id, raised)) => return Ok((self.alert(id).await?, raised)),
                Err(Error::Conflict(_)) => continue,
                Err(error) => return Err(error),
            }
        }
        Err(Error::Conflict(format!("alert `{}` kept changing while it was raised", alert.dedup_key)))
    }

    /// Resolves the open alert of `dedup_key`, if any (`resolved_by` is `system` when its
    /// condition cleared, else the person), with one `alert.resolved` delivery per active
    /// webhook and the audit entries, in one transaction.
    pub async fn resolve_alert(&self, dedup_key: &str, resolved_by: &str, audit: &[NewAuditEntry], now: DateTime<Utc>) -> Result<Option<Alert>> {
        let now_ms = to_ms(now);
        let resolved = on_writer!(self, |pool| {
            let mut tx = pool.begin().await?;
            let row = sqlx::query(AssertSqlSafe(format!(
                "UPDATE alerts SET status = 'resolved', resolved_at = $1, resolved_by = $2 WHERE dedup_key = $3 AND status = 'open' RETURNING {ALERT_COLUMNS}"
            )))
            .bind(now_ms)
            .bind(resolved_by)
            .bind(dedup_key)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(row) = row else { return Ok(None) };
            let alert = alert_from_row(&row)?;
            let payload = webhook_payload("alert.resolved", &alert, now);
            sqlx::query(
                "INSERT INTO webhook_deliveries (webhook_id, alert_id, event, payload, status, attempts, next_attempt_at, created_at) \
                 SELECT id, $1, 'alert.resolved', $2, 'pending', 0, $3, $4 FROM webhooks WHERE active",
            )
            .bind(alert.id)
            .bind(&payload)
            .bind(now_ms)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
            append_audit!(self.backend(), tx, audit, now_ms);
            tx.commit().await?;
            Some(alert)
        });
        Ok(resolved)
    }

    pub async fn alert(&self, id: i64) -> Result<Alert> {
        let row = on_writer!(self, |pool| sqlx::query(AssertSqlSafe(format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE id = $1"))).bind(id).fetch_optional(pool).await?.map(|row| alert_from_row(&row)).transpose()?);
        row.ok_or_else(|| Error::not_found("alert", id))
    }

    /// Alerts, newest first; `status` filters.
    pub async fn list_alerts(&self, status: Option<AlertStatus>, limit: i64) -> Result<Vec<Alert>> {
        Ok(on_reader!(self, |pool| {
            let rows = sqlx::query(AssertSqlSafe(format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE ($1 IS NULL OR status = $2) ORDER BY id DESC LIMIT $3")))
                .bind(status.map(AlertStatus::as_str))
                .bind(status.map(AlertStatus::as_str))
                .bind(limit.clamp(1, 500))
                .fetch_all(pool)
                .await?;
            rows.iter().map(alert_from_row).collect::<Result<Vec<_>>>()?
        }))
    }

    /// The keys of the open alerts of `rule` (to resolve those whose condition cleared).
    pub async fn open_alert_keys(&self, rule: &str) -> Result<Vec<String>> {
        Ok(on_writer!(self, |pool| sqlx::query_scalar("SELECT dedup_key FROM alerts WHERE rule = $1 AND status = 'open' ORDER BY id").bind(rule).fetch_all(pool).await?))
    }

    pub async fn create_webhook(&self, name: &str, url: &str, secret: &str, created_by: Option<&str>, audit: &[NewAuditEntry], now: DateTime<Utc>) -> Result<Webhook> {
        let now_ms = to_ms(now);
        let id = on_writer!(self, |pool| {
            let mut tx = pool.begin().await?;
            let id: i64 = sqlx::query_scalar("INSERT INTO webhooks (name, url, secret, active, created_by, created_at) VALUES ($1, $2, $3, TRUE, $4, $5) RETURNING id")
                .bind(name)
                .bind(url)
                .bind(secret)
                .bind(created_by)
                .bind(now_ms)
                .fetch_one(&mut *tx)
                .await?;
            // The caller does not know the id yet: entries about "the webhook" get it here.
            let audit: Vec<NewAuditEntry> = audit
                .iter()
                .cloned()
                .map(|mut entry| {
                    if entry.entity_type == "webhook" && entry.entity_id.is_empty() {
                        entry.entity_id = id.to_string();
                    }
                    entry
                })
                .collect();
            append_audit!(self.backend(), tx, &audit, now_ms);
            tx.commit().await?;
            id
        });
        self.webhook(id).await
    }

    pub async fn webhook(&self, id: i64) -> Result<Webhook> {
        let row = on_writer!(self, |pool| sqlx::query(AssertSqlSafe(format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = $1"))).bind(id).fetch_optional(pool).await?.map(|row| webhook_from_row(&row)).transpose()?);
        row.ok_or_else(|| Error::not_found("webhook", id))
    }

    pub async fn list_webhooks(&self) -> Result<Vec<Webhook>> {
        Ok(on_reader!(self, |pool| {
            let rows = sqlx::query(AssertSqlSafe(format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks ORDER BY id"))).fetch_all(pool).await?;
            rows.iter().map(webhook_from_row).collect::<Result<Vec<_>>>()?
        }))
    }

    /// Stops a webhook (its pending deliveries are dropped as failed; the log stays).
    pub async fn deactivate_webhook(&self, id: i64, audit: &[NewAuditEntry], now: DateTime<Utc>) -> Result<()> {
        let now_ms = to_ms(now);
        let updated = on_writer!(self, |pool| {
            let mut tx = pool.begin().await?;
            let updated = sqlx::query("UPDATE webhooks SET active = FALSE WHERE id = $1 AND active").bind(id).execute(&mut *tx).await?.rows_affected();
            sqlx::query("UPDATE webhook_deliveries SET status = 'failed', last_error = 'webhook deactivated' WHERE webhook_id = $1 AND status = 'pending'").bind(id).execute(&mut *tx).await?;
            append_audit!(self.backend(), tx, audit, now_ms);
            tx.commit().await?;
            updated
        });
        if updated == 0 {
            return Err(Error::not_found("active webhook", id));
        }
        Ok(())
    }

    /// The delivery log of a webhook, newest first.
    pub async fn webhook_deliveries(&self, webhook_id: i64, limit: i64) -> Result<Vec<WebhookDelivery>> {
        Ok(on_reader!(self, |pool| {
            let rows = sqlx::query(AssertSqlSafe(format!("SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE webhook_id = $1 ORDER BY id DESC LIMIT $2")))
                .bind(webhook_id)
                .bind(limit.clamp(1, 500))
                .fetch_all(pool)
                .await?;
            rows.iter().map(delivery_from_row).collect::<Result<Vec<_>>>()?
        }))
    }

    /// Claims up to `limit` due deliveries to webhooks of `target`'s kind until `lease_until`
    /// (another sender takes them over after that), oldest first.
    pub async fn claim_webhook_deliveries(&self, target: DeliveryTarget, now: DateTime<Utc>, lease_until: DateTime<Utc>, limit: i64) -> Result<Vec<DueDelivery>> {
        let now_ms = to_ms(now);
        let lock_clause = if self.backend() == Backend::Postgres { "FOR UPDATE OF d SKIP LOCKED" } else { "" };
        let target_clause = match target {
            DeliveryTarget::Email => "LOWER(w.url) LIKE 'mailto:%'",
            DeliveryTarget::Http => "LOWER(w.url) NOT LIKE 'mailto:%'",
        };
        let claim = format!(
            "UPDATE webhook_deliveries SET claimed_until = $1 WHERE id IN ( \
                SELECT d.id FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id \
                WHERE d.status = 'pending' AND d.next_attempt_at <= $2 AND (d.claimed_until IS NULL OR d.claimed_until < $3) AND {target_clause} \
                ORDER BY d.id LIMIT $4 {lock_clause}) RETURNING id"
        );
        let ids: Vec<i64> = on_writer!(self, |pool| sqlx::query_scalar(AssertSqlSafe(&*claim)).bind(to_ms(lease_until)).bind(now_ms).bind(now_ms).bind(limit).fetch_all(pool).await?);
        let mut due = Vec::with_capacity(ids.len());
        for id in ids {
            let found = on_writer!(self, |pool| {
                let row = sqlx::query(AssertSqlSafe(format!(
                    "SELECT d.id, d.webhook_id, d.alert_id, d.event, d.payload, d.status, d.attempts, d.next_attempt_at, d.last_status, d.last_error, d.created_at, d.delivered_at, \
                     w.url, w.secret FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id WHERE d.id = $1"
                )))
                .bind(id)
                .fetch_one(pool)
                .await?;
                DueDelivery { delivery: delivery_from_row(&row)?, url: row.string("url")?, secret: row.string("secret")? }
            });
            due.push(found);
        }
        due.sort_by_key(|item| item.delivery.id);
        Ok(due)
    }

    /// Records an attempt: delivered, retried at `retry_at`, or failed for good.
    pub async fn record_webhook_attempt(&self, delivery_id: i64, outcome: DeliveryOutcome, now: DateTime<Utc>) -> Result<()> {
        let now_ms = to_ms(now);
        let (status, http_status, error, next_attempt_at, delivered_at) = match outcome {
            DeliveryOutcome::Delivered { http_status } => ("delivered", Some(http_status), None, None, Some(now_ms)),
            DeliveryOutcome::Retry { http_status, error, retry_at } => ("pending", http_status, Some(error), Some(to_ms(retry_at)), None),
            DeliveryOutcome::GaveUp { http_status, error } => ("failed", http_status, Some(error), None, None),
        };
        let error: Option<String> = error.map(|error| error.chars().take(500).collect());
        on_writer!(self, |pool| {
            sqlx::query(
                "UPDATE webhook_deliveries SET status = $1, attempts = attempts + 1, last_status = $2, last_error = $3, next_attempt_at = COALESCE($4, next_attempt_at), \
                 delivered_at = $5, claimed_until = NULL WHERE id = $6",
            )
            .bind(status)
            .bind(http_status)
            .bind(&error)
            .bind(next_attempt_at)
            .bind(delivered_at)
            .bind(delivery_id)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(())
    }
}

/// The figures the alert rules read, computed by indexed queries at `now`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AlertInputs {
    /// Tickets created in the last 24 hours, and those with a breached SLA clock.
    pub recent_tickets: i64,
    pub recent_breached: i64,
    /// Tickets waiting for a person: human and safety queues, new or open.
    pub waiting_for_a_person: i64,
    /// Inbound messages of the last 60 minutes, and of the same 60 minutes 1 to 4 weeks ago
    /// (only the weeks the store already existed in).
    pub last_hour_volume: i64,
    pub previous_weeks_volume: Vec<i64>,
    /// Tickets of the last 60 minutes with a sentiment, and those below the negative bound;
    /// the same over the 7 days before.
    pub last_hour_tickets: i64,
    pub last_hour_negative: i64,
    pub baseline_tickets: i64,
    pub baseline_negative: i64,
    /// VIP customers' tickets waiting for a first response: (ticket id, subject).
    pub vip_waiting: Vec<(i64, Option<String>)>,
    /// Messages of the last hour whose triage failed (waiting for a retry, or given up).
    pub failed_triage_last_hour: i64,
}

impl Store {
    pub async fn alert_inputs(&self, now: DateTime<Utc>, negative_below: f64) -> Result<AlertInputs> {
        const HOUR_MS: i64 = 3_600_000;
        const WEEK_MS: i64 = 7 * 24 * HOUR_MS;
        let now_ms = to_ms(now);
        let inputs = on_reader!(self, |pool| {
            let (recent_tickets, recent_breached): (i64, i64) = sqlx::query_as(
                "SELECT COUNT(*), COALESCE(SUM(CASE WHEN first_response_breached OR resolution_breached THEN 1 ELSE 0 END), 0) FROM tickets WHERE created_at >= $1 AND merged_into IS NULL",
            )
            .bind(now_ms - 24 * HOUR_MS)
            .fetch_one(pool)
            .await?;
            let waiting_for_a_person: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tickets WHERE status IN ('new', 'open') AND queue IN ('human', 'safety')").fetch_one(pool).await?;
            let volume = "SELECT COUNT(*) FROM messages WHERE direction = 'inbound' AND received_at >= $1 AND received_at < $2";
            let last_hour_volume: i64 = sqlx::query_scalar(volume).bind(now_ms - HOUR_MS).bind(now_ms + 1).fetch_one(pool).await?;
            let first_message: Option<i64> = sqlx::query_scalar("SELECT MIN(received_at) FROM messages WHERE direction = 'inbound'").fetch_one(pool).await?;
            let mut previous_weeks_volume = Vec::new();
            for weeks_back in 1..=4 {
                let (start, end) = (now_ms - HOUR_MS - weeks_back * WEEK_MS, now_ms - weeks_back * WEEK_MS);
                if first_message.is_some_and(|first| first <= start) {
                    previous_weeks_volume.push(sqlx::query_scalar(volume).bind(start).bind(end).fetch_one(pool).await?);
                }
            }
            let sentiment = "SELECT COUNT(*), COALESCE(SUM(CASE WHEN sentiment < $1 THEN 1 ELSE 0 END), 0) FROM tickets WHERE created_at >= $2 AND created_at < $3 AND sentiment IS NOT NULL";
            let (last_hour_tickets, last_hour_negative): (i64, i64) = sqlx::query_as(sentiment).bind(negative_below).bind(now_ms - HOUR_MS).bind(now_ms + 1).fetch_one(pool).await?;
            let (baseline_tickets, baseline_negative): (i64, i64) = sqlx::query_as(sentiment).bind(negative_below).bind(now_ms - HOUR_MS - WEEK_MS).bind(now_ms - HOUR_MS).fetch_one(pool).await?;
            let vip_waiting: Vec<(i64, Option<String>)> = sqlx::query_as(
                "SELECT t.id, t.subject FROM tickets t JOIN customers c ON c.id = t.customer_id \
                 WHERE c.vip AND t.status IN ('new', 'open') AND t.queue IN ('human', 'safety') AND t.first_responded_at IS NULL ORDER BY t.id LIMIT 100",
            )
            .fetch_all(pool)
            .await?;
            let failed_triage_last_hour: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM messages WHERE stage IN ('raw', 'failed') AND last_error IS NOT NULL AND received_at >= $1").bind(now_ms - HOUR_MS).fetch_one(pool).await?;
            AlertInputs {
                recent_tickets,
                recent_breached,
                waiting_for_a_person,
                last_hour_volume,
                previous_weeks_volume,
                last_hour_tickets,
                last_hour_negative,
                baseline_tickets,
                baseline_negative,
                vip_waiting,
                failed_triage_last_hour,
            }
        });
        Ok(inputs)
    }
}

impl Store {
    /// Inbound messages per interval of `interval_ms` from `from` (inclusive) to `to`
    /// (exclusive), zeros included: the arrivals a forecast learns from, and the volume rule's
    /// history (both read `messages_received`).
    pub async fn inbound_arrivals(&self, from: DateTime<Utc>, to: DateTime<Utc>, interval_ms: i64) -> Result<Vec<i64>> {
        if interval_ms <= 0 || to <= from {
            return Err(Error::Invalid("arrivals need a positive interval and `to` after `from`".into()));
        }
        let (from_ms, to_ms_value) = (to_ms(from), to_ms(to));
        let n_slots = usize::try_from((to_ms_value - from_ms + interval_ms - 1) / interval_ms).map_err(|_| Error::Invalid("too many intervals".into()))?;
        let rows: Vec<(i64, i64)> = on_reader!(self, |pool| {
            sqlx::query_as("SELECT (received_at - $1) / $2 AS slot, COUNT(*) FROM messages WHERE direction = 'inbound' AND received_at >= $3 AND received_at < $4 GROUP BY 1 ORDER BY 1")
                .bind(from_ms)
                .bind(interval_ms)
                .bind(from_ms)
                .bind(to_ms_value)
                .fetch_all(pool)
                .await?
        });
        let mut counts = vec![0_i64; n_slots];
        for (slot, count) in rows {
            if let Some(cell) = usize::try_from(slot).ok().and_then(|slot| counts.get_mut(slot)) {
                *cell = count;
            }
        }
        Ok(counts)
    }
}

/// What one delivery attempt came to.
#[derive(Debug, Clone, PartialEq)]
pub enum DeliveryOutcome {
    Delivered { http_status: i64 },
    Retry { http_status: Option<i64>, error: String, retry_at: DateTime<Utc> },
    GaveUp { http_status: Option<i64>, error: String },
}

fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(database_error) if database_error.is_unique_violation())
}
