//! The hash-chained audit trail.
//!
//! Each entry's hash is `sha256(prev_hash ‖ canonical entry)`, where the canonical entry is a
//! fixed-order JSON array of its fields. Changing, inserting or deleting an entry in the middle
//! breaks the chain at that point, and [`Store::verify_audit`] reports the first entry that does
//! not match. Appends are serialised (one SQLite writer; a transaction-scoped advisory lock on
//! PostgreSQL) so concurrent processes extend one chain, never fork it.

use sqlx::AssertSqlSafe;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::records::DbRow;
use crate::{from_ms, on_reader, on_writer, to_ms, Result, Store};

/// The `prev_hash` of the first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Key of the PostgreSQL advisory lock that serialises appends ("sbaudit" in ASCII).
pub(crate) const AUDIT_LOCK_KEY: i64 = 0x7362_6175_6469_74;

/// What happened, by whom, to what. `details` must not hold raw message text or PII.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewAuditEntry {
    /// `user:<id>`, `token:<id>` or `system`.
    pub actor: String,
    /// Dotted verb, e.g. `ticket.status_changed`, `ai.decision`, `pii.viewed`, `user.created`.
    pub action: String,
    pub entity_type: String,
    pub entity_id: String,
    pub details: serde_json::Value,
}

impl NewAuditEntry {
    pub fn new(actor: impl Into<String>, action: impl Into<String>, entity_type: impl Into<String>, entity_id: impl ToString, details: serde_json::Value) -> NewAuditEntry {
        NewAuditEntry { actor: actor.into(), action: action.into(), entity_type: entity_type.into(), entity_id: entity_id.to_string(), details }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub entity_type: String,
    pub entity_id: String,
    pub details: serde_json::Value,
    pub prev_hash: String,
    pub hash: String,
}

/// Which audit entries to list: every set field must match.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditFilter {
    /// Exactly this actor (`user:3`, `token:2`, `system`).
    pub actor: Option<String>,
    /// Actions starting with this (`ticket.` for every ticket action, or one whole action).
    pub action_prefix: Option<String>,
    /// At or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Before this instant.
    pub to: Option<DateTime<Utc>>,
    /// Older than this entry id: the next page after a page whose last id this is.
    pub before_id: Option<i64>,
    pub limit: i64,
}

/// Result of walking the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditVerification {
    pub entries_checked: u64,
    /// The first entry whose link or hash does not match, with why.
    pub first_bad_entry: Option<(i64, String)>,
}

/// The hash of an entry given the previous entry's hash. `details_text` is the stored JSON text,
/// hashed as stored so that a re-serialisation can never change a verdict.
pub(crate) fn entry_hash(prev_hash: &str, at_ms: i64, actor: &str, action: &str, entity_type: &str, entity_id: &str, details_text: &str) -> String {
    let canonical = serde_json::json!([at_ms, actor, action, entity_type, entity_id, details_text]).to_string();
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    hasher.update(b"\n");
    hasher.update(canonical.as_bytes());
    hex::encode(hasher.finalize())
}

/// Appends entries to the chain inside the caller's open transaction `$tx` (either backend;
/// `$backend` says which, for PostgreSQL's lock).
macro_rules! append_audit {
    ($backend:expr, $tx:expr, $entries:expr, $now_ms:expr) => {{
        let entries: &[$crate::audit::NewAuditEntry] = $entries;
        if !entries.is_empty() {
            if $backend == $crate::Backend::Postgres {
                sqlx::query("SELECT pg_advisory_xact_lock($1)").bind($crate::audit::AUDIT_LOCK_KEY).execute(&mut *$tx).await?;
            }
            let mut prev_hash: String = sqlx::query_scalar::<_, String>($crate::audit::LAST_HASH)
                .fetch_optional(&mut *$tx)
                .await?
                .unwrap_or_else(|| $crate::audit::GENESIS_HASH.to_string());
            for entry in entries {
                let details_text = $crate::records::json_text("audit details", &entry.details)?;
                let hash = $crate::audit::entry_hash(&prev_hash, $now_ms, &entry.actor, &entry.action, &entry.entity_type, &entry.entity_id, &details_text);
                sqlx::query($crate::audit::INSERT_ENTRY)
                .bind($now_ms)
                .bind(&entry.actor)
                .bind(&entry.action)
                .bind(&entry.entity_type)
                .bind(&entry.entity_id)
                .bind(&details_text)
                .bind(&prev_hash)
                .bind(&hash)
                .execute(&mut *$tx)
                .await?;
                prev_hash = hash;
            }
        }
    }};
}
pub(crate) use append_audit;

/// The statements of [`append_audit`] (also run by the SQLite writer, `sqlite_batch.rs`).
pub(crate) const LAST_HASH: &str = "SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1";
pub(crate) const INSERT_ENTRY: &str = "INSERT INTO audit_log (at, actor, action, entity_type, entity_id, details, prev_hash, hash) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

const AUDIT_COLUMNS: &str = "id, at, actor, action, entity_type, entity_id, details, prev_hash, hash";

fn audit_from_row(row: &impl DbRow) -> Result<(AuditEntry, String)> {
    let details_text = row.string("details")?;
    let details = serde_json::from_str(&details_text).unwrap_or(serde_json::Value::String(details_text.clone()));
    Ok((
        AuditEntry {
            id: row.i64("id")?,
            at: from_ms(row.i64("at")?),
            actor: row.string("actor")?,
            action: row.string("action")?,
            entity_type: row.string("entity_type")?,
            entity_id: row.string("entity_id")?,
            details,
            prev_hash: row.string("prev_hash")?,
            hash: row.string("hash")?,
        },
        details_text,
    ))
}

impl Store {
    /// Appends entries in their own transaction (for actions that change nothing else).
    pub async fn append_audit(&self, entries: &[NewAuditEntry], now: DateTime<Utc>) -> Result<()> {
        let now_ms = to_ms(now);
        on_writer!(self, |pool| {
            let mut tx = pool.begin().await?;
            append_audit!(self.backend(), tx, entries, now_ms);
            tx.commit().await?;
        });
        Ok(())
    }

    /// Entries for one entity, oldest first, or the latest `limit` entries of all when
    /// `entity` is `None`.
    pub async fn list_audit(&self, entity: Option<(&str, &str)>, limit: i64) -> Result<Vec<AuditEntry>> {
        let rows = on_reader!(self, |pool| {
            let rows = match entity {
                Some((entity_type, entity_id)) => {
                    sqlx::query(AssertSqlSafe(&*format!("SELECT {AUDIT_COLUMNS} FROM audit_log WHERE entity_type = $1 AND entity_id = $2 ORDER BY id LIMIT $3")))
                        .bind(entity_type)
                        .bind(entity_id)
                        .bind(limit)
                        .fetch_all(pool)
                        .await?
                }
                None => sqlx::query(AssertSqlSafe(&*format!("SELECT {AUDIT_COLUMNS} FROM audit_log ORDER BY id DESC LIMIT $1"))).bind(limit).fetch_all(pool).await?,
            };
            rows.iter().map(|row| audit_from_row(row).map(|(entry, _)| entry)).collect::<Result<Vec<_>>>()?
        });
        Ok(rows)
    }

    /// One page of the audit log, newest first, narrowed by `filter` (the console's viewer).
    pub async fn list_audit_filtered(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>> {
        let action_prefix_chars = filter.action_prefix.as_deref().map(|prefix| prefix.chars().count() as i32);
        let rows = on_reader!(self, |pool| {
            let rows = sqlx::query(AssertSqlSafe(&*format!(
                "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE ($1 IS NULL OR actor = $1) AND ($2 IS NULL OR substr(action, 1, $3) = $2) \
                 AND ($4 IS NULL OR at >= $4) AND ($5 IS NULL OR at < $5) AND ($6 IS NULL OR id < $6) ORDER BY id DESC LIMIT $7"
            )))
            .bind(filter.actor.as_deref())
            .bind(filter.action_prefix.as_deref())
            .bind(action_prefix_chars)
            .bind(filter.from.map(to_ms))
            .bind(filter.to.map(to_ms))
            .bind(filter.before_id)
            .bind(filter.limit)
            .fetch_all(pool)
            .await?;
            rows.iter().map(|row| audit_from_row(row).map(|(entry, _)| entry)).collect::<Result<Vec<_>>>()?
        });
        Ok(rows)
    }

    /// Walks the whole chain in id order, in pages, and reports the first entry that does not
    /// match its predecessor or its own content. `progress` is called with the count so far.
    pub async fn verify_audit(&self, mut progress: impl FnMut(u64)) -> Result<AuditVerification> {
        const PAGE: i64 = 5_000;
        let mut prev_hash = GENESIS_HASH.to_string();
        let mut after_id = 0_i64;
        let mut entries_checked = 0_u64;
        loop {
            let page: Vec<(AuditEntry, String)> = on_reader!(self, |pool| {
                let rows = sqlx::query(AssertSqlSafe(&*format!("SELECT {AUDIT_COLUMNS} FROM audit_log WHERE id > $1 ORDER BY id LIMIT $2"))).bind(after_id).bind(PAGE).fetch_all(pool).await?;
                rows.iter().map(audit_from_row).collect::<Result<Vec<_>>>()?
            });
            if page.is_empty() {
                return Ok(AuditVerification { entries_checked, first_bad_entry: None });
            }
            for (entry, details_text) in &page {
                entries_checked += 1;
                if entry.prev_hash != prev_hash {
                    let reason = "its prev_hash does not match the hash of the entry before it (an entry was removed, inserted or changed)";
                    return Ok(AuditVerification { entries_checked, first_bad_entry: Some((entry.id, reason.to_string())) });
                }
                let expected = entry_hash(&prev_hash, entry.at.timestamp_millis(), &entry.actor, &entry.action, &entry.entity_type, &entry.entity_id, details_text);
                if expected != entry.hash {
                    let reason = "its content does not match its hash (the entry was modified)";
                    return Ok(AuditVerification { entries_checked, first_bad_entry: Some((entry.id, reason.to_string())) });
                }
                prev_hash = entry.hash.clone();
                after_id = entry.id;
            }
            progress(entries_checked);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_depends_on_every_field_and_the_link() {
        let base = entry_hash(GENESIS_HASH, 1, "system", "ai.decision", "ticket", "7", "{}");
        assert_eq!(base.len(), 64);
        assert_eq!(base, entry_hash(GENESIS_HASH, 1, "system", "ai.decision", "ticket", "7", "{}"));
        assert_ne!(base, entry_hash(&base, 1, "system", "ai.decision", "ticket", "7", "{}"));
        assert_ne!(base, entry_hash(GENESIS_HASH, 2, "system", "ai.decision", "ticket", "7", "{}"));
        assert_ne!(base, entry_hash(GENESIS_HASH, 1, "user:1", "ai.decision", "ticket", "7", "{}"));
        assert_ne!(base, entry_hash(GENESIS_HASH, 1, "system", "ai.decision", "ticket", "8", "{}"));
        assert_ne!(base, entry_hash(GENESIS_HASH, 1, "system", "ai.decision", "ticket", "7", "{\"a\":1}"));
        // Field boundaries are unambiguous: moving text between fields changes the hash.
        assert_ne!(entry_hash(GENESIS_HASH, 1, "ab", "c", "t", "1", "{}"), entry_hash(GENESIS_HASH, 1, "a", "bc", "t", "1", "{}"));
    }
}
