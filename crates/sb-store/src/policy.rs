//! Admins' changes to the decision policy and the SLA policies (migration 0012), kept as
//! overrides of the configuration file: the general auto-reply threshold, one intent's
//! auto-reply threshold, or one SLA policy's targets. The service merges them over the
//! configuration and validates the result (`sb-service`'s `policy_overrides.rs`); this module
//! only stores them.
//!
//! Hidden contracts:
//! - An override is never deleted: a reset stores `value = None` with the next version, so a
//!   version never comes back and an edit made on a version from before a reset is a conflict.
//! - A change names the version it was made on (`expected_version`, 0 for "never changed");
//!   another change saved meanwhile makes it a [`Error::Conflict`], never an overwrite. The
//!   check is the write itself (`UPDATE … WHERE version = $expected`, `INSERT … ON CONFLICT DO
//!   NOTHING`), so two processes racing on PostgreSQL cannot both win.
//! - Every change raises the single `policy_revision` row in the same transaction as the
//!   override and its audit entries. [`Store::policy_overrides`] reads the revision before the
//!   rows: a change committed in between leaves the reader with newer rows than its revision,
//!   and its next [`Store::policy_revision`] poll reloads once more (never the other way round,
//!   which would miss a change).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::audit::append_audit;
use crate::records::DbRow;
use crate::{from_ms, on_reader, on_writer, to_ms, Error, NewAuditEntry, Result, Store};

/// What an override changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyOverrideKind {
    /// The auto-reply threshold of intents without their own (subject `general`).
    AutoReplyGeneral,
    /// One intent's auto-reply threshold and switch (subject: the intent).
    AutoReplyIntent,
    /// One SLA policy's targets (subject: the policy's name).
    SlaPolicy,
}

impl PolicyOverrideKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyOverrideKind::AutoReplyGeneral => "auto_reply_general",
            PolicyOverrideKind::AutoReplyIntent => "auto_reply_intent",
            PolicyOverrideKind::SlaPolicy => "sla_policy",
        }
    }

    /// What the override of `subject` is, in words, for messages.
    pub fn describe(self, subject: &str) -> String {
        match self {
            PolicyOverrideKind::AutoReplyGeneral => "the general auto-reply threshold".to_string(),
            PolicyOverrideKind::AutoReplyIntent => format!("the auto-reply threshold of `{subject}`"),
            PolicyOverrideKind::SlaPolicy => format!("sla policy `{subject}`"),
        }
    }

    pub fn parse(text: &str) -> Option<PolicyOverrideKind> {
        [PolicyOverrideKind::AutoReplyGeneral, PolicyOverrideKind::AutoReplyIntent, PolicyOverrideKind::SlaPolicy].into_iter().find(|kind| kind.as_str() == text)
    }
}

/// One stored override, as last changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyOverride {
    pub kind: PolicyOverrideKind,
    pub subject: String,
    /// The override; `None` after a reset to the configuration.
    pub value: Option<serde_json::Value>,
    /// 1 for the first change, one more for each change after.
    pub version: i64,
    /// Audit name of who changed it last (`user:3`, `token:2`).
    pub changed_by: String,
    pub changed_by_user_id: Option<i64>,
    /// That user's name now, when the change was a person's.
    pub changed_by_name: Option<String>,
    pub changed_at: DateTime<Utc>,
}

/// All overrides with the revision they are at least as new as.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyOverrides {
    pub revision: i64,
    pub overrides: Vec<PolicyOverride>,
}

/// A change of one override.
#[derive(Debug, Clone, Copy)]
pub struct PolicyOverrideChange<'change> {
    pub kind: PolicyOverrideKind,
    pub subject: &'change str,
    /// The new override, or `None` to reset to the configuration.
    pub value: Option<&'change serde_json::Value>,
    /// The version the change was made on; 0 when the subject was never changed.
    pub expected_version: i64,
    pub changed_by: &'change str,
    pub changed_by_user_id: Option<i64>,
}

const OVERRIDE_SELECT: &str = "SELECT o.kind, o.subject, o.value, o.version, o.changed_by, o.changed_by_user_id, u.name AS changed_by_name, o.changed_at \
     FROM policy_overrides o LEFT JOIN users u ON u.id = o.changed_by_user_id";

fn override_from_row(row: &impl DbRow) -> Result<PolicyOverride> {
    let kind_text = row.string("kind")?;
    let kind = PolicyOverrideKind::parse(&kind_text).ok_or_else(|| Error::Invalid(format!("unknown policy override kind `{kind_text}`")))?;
    let value = match row.opt_string("value")? {
        None => None,
        Some(text) => Some(serde_json::from_str(&text).map_err(|source| Error::Json { what: "policy override", source })?),
    };
    Ok(PolicyOverride {
        kind,
        subject: row.string("subject")?,
        value,
        version: row.i64("version")?,
        changed_by: row.string("changed_by")?,
        changed_by_user_id: row.opt_i64("changed_by_user_id")?,
        changed_by_name: row.opt_string("changed_by_name")?,
        changed_at: from_ms(row.i64("changed_at")?),
    })
}

impl Store {
    /// The revision of the overrides: one primary-key read, for polling.
    pub async fn policy_revision(&self) -> Result<i64> {
        let revision = on_reader!(self, |pool| sqlx::query_scalar::<_, i64>("SELECT revision FROM policy_revision WHERE id = 1").fetch_one(pool).await?);
        Ok(revision)
    }

    /// Every override, by kind and subject, with the revision read before them.
    pub async fn policy_overrides(&self) -> Result<PolicyOverrides> {
        let revision = self.policy_revision().await?;
        let overrides = on_reader!(self, |pool| {
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!("{OVERRIDE_SELECT} ORDER BY o.kind, o.subject"))).fetch_all(pool).await?;
            rows.iter().map(override_from_row).collect::<Result<Vec<_>>>()?
        });
        Ok(PolicyOverrides { revision, overrides })
    }

    /// Saves one change with its audit entries and raises the revision, in one transaction.
    /// A stale `expected_version` is a conflict and stores nothing.
    pub async fn set_policy_override(&self, change: &PolicyOverrideChange<'_>, audit: &[NewAuditEntry], now: DateTime<Utc>) -> Result<PolicyOverride> {
        let now_ms = to_ms(now);
        let value_text = change.value.map(|value| crate::records::json_text("policy override", value)).transpose()?;
        let kind = change.kind.as_str();
        let saved = on_writer!(self, |pool| {
            let mut tx = pool.begin().await?;
            let n_written = if change.expected_version == 0 {
                sqlx::query(
                    "INSERT INTO policy_overrides (kind, subject, value, version, changed_by, changed_by_user_id, changed_at) VALUES ($1, $2, $3, 1, $4, $5, $6) \
                     ON CONFLICT (kind, subject) DO NOTHING",
                )
                .bind(kind)
                .bind(change.subject)
                .bind(&value_text)
                .bind(change.changed_by)
                .bind(change.changed_by_user_id)
                .bind(now_ms)
                .execute(&mut *tx)
                .await?
                .rows_affected()
            } else {
                sqlx::query(
                    "UPDATE policy_overrides SET value = $1, version = version + 1, changed_by = $2, changed_by_user_id = $3, changed_at = $4 \
                     WHERE kind = $5 AND subject = $6 AND version = $7",
                )
                .bind(&value_text)
                .bind(change.changed_by)
                .bind(change.changed_by_user_id)
                .bind(now_ms)
                .bind(kind)
                .bind(change.subject)
                .bind(change.expected_version)
                .execute(&mut *tx)
                .await?
                .rows_affected()
            };
            if n_written == 1 {
                sqlx::query("UPDATE policy_revision SET revision = revision + 1 WHERE id = 1").execute(&mut *tx).await?;
                append_audit!(self.backend(), tx, audit, now_ms);
                let row = sqlx::query(sqlx::AssertSqlSafe(format!("{OVERRIDE_SELECT} WHERE o.kind = $1 AND o.subject = $2"))).bind(kind).bind(change.subject).fetch_one(&mut *tx).await?;
                let saved = override_from_row(&row)?;
                tx.commit().await?;
                Ok(saved)
            } else {
                let current: Option<i64> = sqlx::query_scalar("SELECT version FROM policy_overrides WHERE kind = $1 AND subject = $2").bind(kind).bind(change.subject).fetch_optional(&mut *tx).await?;
                Err(current.unwrap_or(0))
            }
        });
        saved.map_err(|current_version| {
            Error::Conflict(format!(
                "{} is at version {current_version}, not {}: someone changed it meanwhile; reload it and apply the change again",
                change.kind.describe(change.subject),
                change.expected_version
            ))
        })
    }
}
