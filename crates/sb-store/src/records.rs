//! The records the store hands out, and how they are read from a row of either backend.
//!
//! Statuses and kinds are stored as short lowercase strings (readable in SQL, stable across
//! versions) and become enums here. JSON columns (triage results, decision records) stay
//! `serde_json::Value`: the store keeps them, the service knows their shape.

use chrono::{DateTime, Utc};
use sb_domain::{Category, Channel, Intent, Severity};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::{from_ms, from_ms_opt, Error, Result};

/// Typed column access shared by SQLite and PostgreSQL rows, so each record is decoded by one
/// function for both backends.
pub(crate) trait DbRow {
    fn i64(&self, column: &str) -> Result<i64>;
    fn opt_i64(&self, column: &str) -> Result<Option<i64>>;
    fn f64_opt(&self, column: &str) -> Result<Option<f64>>;
    fn string(&self, column: &str) -> Result<String>;
    fn opt_string(&self, column: &str) -> Result<Option<String>>;
    fn bool(&self, column: &str) -> Result<bool>;
    fn bytes(&self, column: &str) -> Result<Vec<u8>>;
}

macro_rules! impl_db_row {
    ($row:ty) => {
        impl DbRow for $row {
            fn i64(&self, column: &str) -> Result<i64> {
                Ok(self.try_get::<i64, _>(column)?)
            }
            fn opt_i64(&self, column: &str) -> Result<Option<i64>> {
                Ok(self.try_get::<Option<i64>, _>(column)?)
            }
            fn f64_opt(&self, column: &str) -> Result<Option<f64>> {
                Ok(self.try_get::<Option<f64>, _>(column)?)
            }
            fn string(&self, column: &str) -> Result<String> {
                Ok(self.try_get::<String, _>(column)?)
            }
            fn opt_string(&self, column: &str) -> Result<Option<String>> {
                Ok(self.try_get::<Option<String>, _>(column)?)
            }
            fn bool(&self, column: &str) -> Result<bool> {
                Ok(self.try_get::<bool, _>(column)?)
            }
            fn bytes(&self, column: &str) -> Result<Vec<u8>> {
                Ok(self.try_get::<Vec<u8>, _>(column)?)
            }
        }
    };
}
impl_db_row!(sqlx::sqlite::SqliteRow);
impl_db_row!(sqlx::postgres::PgRow);

/// Declares a string-backed enum with `as_str` / `parse`.
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$variant_meta:meta])* $variant:ident => $label:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$variant_meta])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }

            pub fn parse(label: &str) -> Option<$name> {
                match label { $($label => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                formatter.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use string_enum;

string_enum!(
    /// Lifecycle of a ticket.
    TicketStatus {
        /// Received, not yet triaged.
        New => "new",
        /// Waiting for an agent (or answered automatically and still open to follow-ups).
        Open => "open",
        /// Waiting on the customer: the SLA clock is paused.
        Pending => "pending",
        Resolved => "resolved",
        Closed => "closed",
        /// Folded into another ticket (`merged_into`).
        Merged => "merged",
    }
);

string_enum!(
    /// Where a ticket waits.
    Queue {
        /// Triage has not finished yet (it is retried in the background).
        Triage => "triage",
        /// Answered automatically.
        Auto => "auto",
        Human => "human",
        Safety => "safety",
    }
);

string_enum!(
    Direction {
        Inbound => "inbound",
        Outbound => "outbound",
        /// Internal note: never sent to the customer.
        Note => "note",
    }
);

string_enum!(
    /// How far an inbound message has come through the pipeline (PRODUCT.md). Outbound
    /// messages and notes are `none`.
    MessageStage {
        Raw => "raw",
        Enriched => "enriched",
        Triaged => "triaged",
        /// Gave up after the retry budget; kept, visible, re-triageable.
        Failed => "failed",
        None => "none",
    }
);

pub(crate) fn parse_enum<T>(what: &'static str, label: &str, parse: impl Fn(&str) -> Option<T>) -> Result<T> {
    parse(label).ok_or_else(|| Error::Invalid(format!("unknown {what} `{label}` in the database")))
}

pub(crate) fn parse_channel(label: &str) -> Result<Channel> {
    parse_enum("channel", label, Channel::parse)
}

fn parse_json(what: &'static str, text: &str) -> Result<serde_json::Value> {
    serde_json::from_str(text).map_err(|source| Error::Json { what, source })
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Customer {
    pub id: i64,
    pub external_id: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub name: Option<String>,
    pub vip: bool,
    pub created_at: DateTime<Utc>,
    pub erased_at: Option<DateTime<Utc>>,
}

pub(crate) const CUSTOMER_COLUMNS: &str = "id, external_id, email, phone, name, vip, created_at, erased_at";

pub(crate) fn customer_from_row(row: &impl DbRow) -> Result<Customer> {
    Ok(Customer {
        id: row.i64("id")?,
        external_id: row.opt_string("external_id")?,
        email: row.opt_string("email")?,
        phone: row.opt_string("phone")?,
        name: row.opt_string("name")?,
        vip: row.bool("vip")?,
        created_at: from_ms(row.i64("created_at")?),
        erased_at: from_ms_opt(row.opt_i64("erased_at")?),
    })
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ticket {
    pub id: i64,
    pub customer_id: Option<i64>,
    pub channel: Channel,
    pub conversation_key: Option<String>,
    pub subject: Option<String>,
    pub status: TicketStatus,
    pub queue: Queue,
    pub category: Option<Category>,
    pub intent: Option<Intent>,
    pub severity: Option<Severity>,
    pub confidence: Option<f64>,
    pub sentiment: Option<f64>,
    pub priority: i64,
    pub route: Option<String>,
    pub assignee_id: Option<i64>,
    pub sla_policy: Option<String>,
    /// The SLA clocks as the service stores them (JSON).
    pub sla: Option<serde_json::Value>,
    pub first_response_due_at: Option<DateTime<Utc>>,
    pub resolution_due_at: Option<DateTime<Utc>>,
    pub first_responded_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub sla_paused_at: Option<DateTime<Utc>>,
    pub sla_paused_ms: i64,
    pub first_response_breached: bool,
    pub resolution_breached: bool,
    pub merged_into: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_message_at: DateTime<Utc>,
}

pub(crate) const TICKET_COLUMNS: &str = "id, customer_id, channel, conversation_key, subject, status, queue, category, intent, severity, \
     confidence, sentiment, priority, route, assignee_id, sla_policy, sla, first_response_due_at, resolution_due_at, first_responded_at, \
     resolved_at, sla_paused_at, sla_paused_ms, first_response_breached, resolution_breached, merged_into, created_at, updated_at, \
     last_message_at";

pub(crate) fn ticket_from_row(row: &impl DbRow) -> Result<Ticket> {
    let category = row.opt_string("category")?.map(|label| parse_enum("category", &label, |label| label.parse::<Category>().ok())).transpose()?;
    let intent = row.opt_string("intent")?.map(|label| parse_enum("intent", &label, |label| label.parse::<Intent>().ok())).transpose()?;
    let severity = row.opt_string("severity")?.map(|label| parse_enum("severity", &label, |label| label.parse::<Severity>().ok())).transpose()?;
    Ok(Ticket {
        id: row.i64("id")?,
        customer_id: row.opt_i64("customer_id")?,
        channel: parse_channel(&row.string("channel")?)?,
        conversation_key: row.opt_string("conversation_key")?,
        subject: row.opt_string("subject")?,
        status: parse_enum("ticket status", &row.string("status")?, TicketStatus::parse)?,
        queue: parse_enum("queue", &row.string("queue")?, Queue::parse)?,
        category,
        intent,
        severity,
        confidence: row.f64_opt("confidence")?,
        sentiment: row.f64_opt("sentiment")?,
        priority: row.i64("priority")?,
        route: row.opt_string("route")?,
        assignee_id: row.opt_i64("assignee_id")?,
        sla_policy: row.opt_string("sla_policy")?,
        sla: row.opt_string("sla")?.map(|text| parse_json("ticket sla", &text)).transpose()?,
        first_response_due_at: from_ms_opt(row.opt_i64("first_response_due_at")?),
        resolution_due_at: from_ms_opt(row.opt_i64("resolution_due_at")?),
        first_responded_at: from_ms_opt(row.opt_i64("first_responded_at")?),
        resolved_at: from_ms_opt(row.opt_i64("resolved_at")?),
        sla_paused_at: from_ms_opt(row.opt_i64("sla_paused_at")?),
        sla_paused_ms: row.i64("sla_paused_ms")?,
        first_response_breached: row.bool("first_response_breached")?,
        resolution_breached: row.bool("resolution_breached")?,
        merged_into: row.opt_i64("merged_into")?,
        created_at: from_ms(row.i64("created_at")?),
        updated_at: from_ms(row.i64("updated_at")?),
        last_message_at: from_ms(row.i64("last_message_at")?),
    })
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageRow {
    pub id: i64,
    pub ticket_id: i64,
    pub channel: Channel,
    pub external_id: Option<String>,
    pub direction: Direction,
    pub author_user_id: Option<i64>,
    pub content_type: String,
    /// Exactly as received (inbound) or as composed (outbound).
    #[serde(skip)]
    pub raw_payload: Vec<u8>,
    pub subject: Option<String>,
    pub body: String,
    pub body_is_html: bool,
    pub metadata: Option<serde_json::Value>,
    pub stage: MessageStage,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub received_at: DateTime<Utc>,
    pub triaged_at: Option<DateTime<Utc>>,
}

pub(crate) const MESSAGE_COLUMNS: &str = "id, ticket_id, channel, external_id, direction, author_user_id, content_type, raw_payload, subject, \
     body, body_is_html, metadata, stage, attempts, last_error, received_at, triaged_at";

pub(crate) fn message_from_row(row: &impl DbRow) -> Result<MessageRow> {
    Ok(MessageRow {
        id: row.i64("id")?,
        ticket_id: row.i64("ticket_id")?,
        channel: parse_channel(&row.string("channel")?)?,
        external_id: row.opt_string("external_id")?,
        direction: parse_enum("direction", &row.string("direction")?, Direction::parse)?,
        author_user_id: row.opt_i64("author_user_id")?,
        content_type: row.string("content_type")?,
        raw_payload: row.bytes("raw_payload")?,
        subject: row.opt_string("subject")?,
        body: row.string("body")?,
        body_is_html: row.bool("body_is_html")?,
        metadata: row.opt_string("metadata")?.map(|text| parse_json("message metadata", &text)).transpose()?,
        stage: parse_enum("message stage", &row.string("stage")?, MessageStage::parse)?,
        attempts: row.i64("attempts")?,
        last_error: row.opt_string("last_error")?,
        received_at: from_ms(row.i64("received_at")?),
        triaged_at: from_ms_opt(row.opt_i64("triaged_at")?),
    })
}

/// One triage run of one message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TriageRow {
    pub id: i64,
    pub message_id: i64,
    pub ticket_id: i64,
    pub model_name: String,
    pub model_version: String,
    pub result: serde_json::Value,
    pub latency_us: i64,
    pub created_at: DateTime<Utc>,
}

pub(crate) const TRIAGE_COLUMNS: &str = "id, message_id, ticket_id, model_name, model_version, result, latency_us, created_at";

pub(crate) fn triage_from_row(row: &impl DbRow) -> Result<TriageRow> {
    Ok(TriageRow {
        id: row.i64("id")?,
        message_id: row.i64("message_id")?,
        ticket_id: row.i64("ticket_id")?,
        model_name: row.string("model_name")?,
        model_version: row.string("model_version")?,
        result: parse_json("triage result", &row.string("result")?)?,
        latency_us: row.i64("latency_us")?,
        created_at: from_ms(row.i64("created_at")?),
    })
}

/// A decision record as stored; `record` is the full JSON the service wrote, with the triage
/// result it was made from under `triage` (kept once, in `triage_results`, and put back here
/// when read: see [`DECISION_SELECT`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionRow {
    pub id: i64,
    pub ticket_id: i64,
    pub message_id: i64,
    pub triage_id: i64,
    pub route: String,
    pub reason_code: String,
    pub priority: i64,
    pub record: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

/// Decisions with their triage result, for [`decision_from_row`]; a `WHERE` on `d.` columns
/// follows. The pipeline does not write the triage result into the decision record a second
/// time (each message stored it twice); a record that has no `triage` gets it from here.
pub(crate) const DECISION_SELECT: &str = "SELECT d.id, d.ticket_id, d.message_id, d.triage_id, d.route, d.reason_code, d.priority, d.record, d.created_at, \
     t.result AS triage_result FROM decisions d LEFT JOIN triage_results t ON t.id = d.triage_id";

pub(crate) fn decision_from_row(row: &impl DbRow) -> Result<DecisionRow> {
    Ok(DecisionRow {
        id: row.i64("id")?,
        ticket_id: row.i64("ticket_id")?,
        message_id: row.i64("message_id")?,
        triage_id: row.i64("triage_id")?,
        route: row.string("route")?,
        reason_code: row.string("reason_code")?,
        priority: row.i64("priority")?,
        record: with_triage(parse_json("decision record", &row.string("record")?)?, row.opt_string("triage_result")?)?,
        created_at: from_ms(row.i64("created_at")?),
    })
}

/// A decision record with its triage result under `triage`, unless the record carries one.
fn with_triage(mut record: serde_json::Value, triage_result: Option<String>) -> Result<serde_json::Value> {
    if let (serde_json::Value::Object(fields), Some(triage_text)) = (&mut record, triage_result) {
        if !fields.contains_key("triage") {
            fields.insert("triage".to_string(), parse_json("triage result", &triage_text)?);
        }
    }
    Ok(record)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComplianceRecord {
    pub id: i64,
    pub ticket_id: i64,
    pub message_id: i64,
    pub intent: String,
    pub severity: String,
    pub redacted_text: String,
    pub record: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

pub(crate) const COMPLIANCE_COLUMNS: &str = "id, ticket_id, message_id, intent, severity, redacted_text, record, created_at";

pub(crate) fn compliance_from_row(row: &impl DbRow) -> Result<ComplianceRecord> {
    Ok(ComplianceRecord {
        id: row.i64("id")?,
        ticket_id: row.i64("ticket_id")?,
        message_id: row.i64("message_id")?,
        intent: row.string("intent")?,
        severity: row.string("severity")?,
        redacted_text: row.string("redacted_text")?,
        record: parse_json("compliance record", &row.string("record")?)?,
        created_at: from_ms(row.i64("created_at")?),
    })
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlaPolicyRow {
    pub id: i64,
    pub name: String,
    pub definition: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub(crate) fn sla_policy_from_row(row: &impl DbRow) -> Result<SlaPolicyRow> {
    Ok(SlaPolicyRow {
        id: row.i64("id")?,
        name: row.string("name")?,
        definition: parse_json("sla policy", &row.string("definition")?)?,
        created_at: from_ms(row.i64("created_at")?),
        updated_at: from_ms(row.i64("updated_at")?),
    })
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlaEvent {
    pub id: i64,
    pub ticket_id: i64,
    pub kind: String,
    pub deadline_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

pub(crate) fn sla_event_from_row(row: &impl DbRow) -> Result<SlaEvent> {
    Ok(SlaEvent {
        id: row.i64("id")?,
        ticket_id: row.i64("ticket_id")?,
        kind: row.string("kind")?,
        deadline_at: from_ms(row.i64("deadline_at")?),
        created_at: from_ms(row.i64("created_at")?),
    })
}

pub(crate) fn json_text(what: &'static str, value: &impl Serialize) -> Result<String> {
    serde_json::to_string(value).map_err(|source| Error::Json { what, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_labels_round_trip() {
        for status in TicketStatus::ALL {
            assert_eq!(TicketStatus::parse(status.as_str()), Some(*status));
        }
        for queue in Queue::ALL {
            assert_eq!(Queue::parse(queue.as_str()), Some(*queue));
        }
        for stage in MessageStage::ALL {
            assert_eq!(MessageStage::parse(stage.as_str()), Some(*stage));
        }
        assert_eq!(TicketStatus::parse("Open"), None);
    }
}
