//! Wire shapes of the stored records, and masking that depends on who is looking: callers
//! without the PII permission (the viewer role, tokens without `read`) get the redacted text
//! instead of message bodies, and no customer email, phone or name.
//!
//! The records go out as the DTOs below, converted from the store's rows, so a column added to
//! the store does not reach clients until it is added here, and the OpenAPI document (their
//! `ToSchema`) describes exactly what is serialised.
//!
//! Masking happens here, at the edge, on the JSON about to be sent, so no storage or service
//! code has to know who reads. Where the triage stored a redacted copy of a message it is
//! used; anything else (agent replies, notes, untriaged messages, free-text fields inside
//! decision records) is redacted on the spot with `sb_text`'s PII detector.

use std::collections::HashMap;
use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use sb_domain::{Category, Channel, Intent, Severity};
use sb_store::{ApiToken, AuditEntry, ComplianceRecord, Customer, DecisionRow, Direction, MessageRow, MessageStage, Queue, Role, Scope, Ticket, TicketStatus, TriageRow, User};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// A customer. Callers without the PII permission get `[withheld]` for email, phone and name,
/// and `redacted: true`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Customer)]
pub struct CustomerDto {
    pub id: i64,
    /// The customer's id in the shop's own systems.
    pub external_id: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub name: Option<String>,
    pub vip: bool,
    pub created_at: DateTime<Utc>,
    /// Set once the customer's personal data was erased on request.
    pub erased_at: Option<DateTime<Utc>>,
    /// Present (true) when personal data was masked for this caller.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redacted: Option<bool>,
}

impl From<&Customer> for CustomerDto {
    fn from(customer: &Customer) -> CustomerDto {
        CustomerDto {
            id: customer.id,
            external_id: customer.external_id.clone(),
            email: customer.email.clone(),
            phone: customer.phone.clone(),
            name: customer.name.clone(),
            vip: customer.vip,
            created_at: customer.created_at,
            erased_at: customer.erased_at,
            redacted: None,
        }
    }
}

/// A ticket: one customer's case, with its triage outcome, routing and SLA clocks. Callers
/// without the PII permission get a redacted subject.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Ticket)]
pub struct TicketDto {
    pub id: i64,
    pub customer_id: Option<i64>,
    pub channel: Channel,
    /// The channel's thread key: later messages with the same key join this ticket while it is
    /// open (`conversation_id` of `POST /api/v1/messages`).
    pub conversation_key: Option<String>,
    pub subject: Option<String>,
    pub status: TicketStatus,
    pub queue: Queue,
    pub category: Option<Category>,
    pub intent: Option<Intent>,
    /// Set only for `safety_compliance` tickets.
    pub severity: Option<Severity>,
    /// Calibrated probability of `intent`.
    pub confidence: Option<f64>,
    /// Sentiment score of the latest customer message, in [-1, 1].
    pub sentiment: Option<f64>,
    /// 0–100; higher is served first.
    pub priority: i64,
    /// The decision's route: `auto_reply`, `human_queue` or `safety_queue`.
    pub route: Option<String>,
    pub assignee_id: Option<i64>,
    /// The assignee's name, in the ticket list and the ticket view (`GET /api/v1/tickets`,
    /// `GET /api/v1/tickets/{ticket_id}`); absent when nobody is assigned and from the answers
    /// of actions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assignee_name: Option<String>,
    /// Name of the SLA policy the clocks follow (see `GET /api/v1/sla/policies`).
    pub sla_policy: Option<String>,
    /// The SLA clocks (first response and resolution: deadlines, pauses, calendar) as the
    /// service keeps them.
    #[schema(value_type = Option<Object>)]
    pub sla: Option<Value>,
    pub first_response_due_at: Option<DateTime<Utc>>,
    pub resolution_due_at: Option<DateTime<Utc>>,
    pub first_responded_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// Set while the ticket is `pending` (the SLA clocks are paused).
    pub sla_paused_at: Option<DateTime<Utc>>,
    /// Total time the clocks have been paused, in milliseconds.
    pub sla_paused_ms: i64,
    pub first_response_breached: bool,
    pub resolution_breached: bool,
    /// The ticket this one was merged into.
    pub merged_into: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_message_at: DateTime<Utc>,
}

impl From<&Ticket> for TicketDto {
    fn from(ticket: &Ticket) -> TicketDto {
        TicketDto {
            id: ticket.id,
            customer_id: ticket.customer_id,
            channel: ticket.channel,
            conversation_key: ticket.conversation_key.clone(),
            subject: ticket.subject.clone(),
            status: ticket.status,
            queue: ticket.queue,
            category: ticket.category,
            intent: ticket.intent,
            severity: ticket.severity,
            confidence: ticket.confidence,
            sentiment: ticket.sentiment,
            priority: ticket.priority,
            route: ticket.route.clone(),
            assignee_id: ticket.assignee_id,
            assignee_name: None,
            sla_policy: ticket.sla_policy.clone(),
            sla: ticket.sla.clone(),
            first_response_due_at: ticket.first_response_due_at,
            resolution_due_at: ticket.resolution_due_at,
            first_responded_at: ticket.first_responded_at,
            resolved_at: ticket.resolved_at,
            sla_paused_at: ticket.sla_paused_at,
            sla_paused_ms: ticket.sla_paused_ms,
            first_response_breached: ticket.first_response_breached,
            resolution_breached: ticket.resolution_breached,
            merged_into: ticket.merged_into,
            created_at: ticket.created_at,
            updated_at: ticket.updated_at,
            last_message_at: ticket.last_message_at,
        }
    }
}

/// One message of a ticket: inbound from the customer, outbound reply, or internal note.
/// Callers without the PII permission get the redacted body and subject, no metadata, and
/// `redacted: true`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Message)]
pub struct MessageDto {
    pub id: i64,
    pub ticket_id: i64,
    pub channel: Channel,
    /// The sender's id for this delivery (idempotency key per channel).
    pub external_id: Option<String>,
    pub direction: Direction,
    /// The agent who wrote an outbound message or note.
    pub author_user_id: Option<i64>,
    pub content_type: String,
    pub subject: Option<String>,
    pub body: String,
    pub body_is_html: bool,
    /// Whatever the integration sent with the message.
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
    pub stage: MessageStage,
    /// Triage attempts so far.
    pub attempts: i64,
    pub last_error: Option<String>,
    pub received_at: DateTime<Utc>,
    pub triaged_at: Option<DateTime<Utc>>,
    /// Present (true) when personal data was masked for this caller.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redacted: Option<bool>,
}

impl From<&MessageRow> for MessageDto {
    fn from(message: &MessageRow) -> MessageDto {
        MessageDto {
            id: message.id,
            ticket_id: message.ticket_id,
            channel: message.channel,
            external_id: message.external_id.clone(),
            direction: message.direction,
            author_user_id: message.author_user_id,
            content_type: message.content_type.clone(),
            subject: message.subject.clone(),
            body: message.body.clone(),
            body_is_html: message.body_is_html,
            metadata: message.metadata.clone(),
            stage: message.stage,
            attempts: message.attempts,
            last_error: message.last_error.clone(),
            received_at: message.received_at,
            triaged_at: message.triaged_at,
            redacted: None,
        }
    }
}

/// One decision taken on a ticket (each triage of a message makes one; the history is kept).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Decision)]
pub struct DecisionDto {
    pub id: i64,
    pub ticket_id: i64,
    pub message_id: i64,
    pub triage_id: i64,
    /// `auto_reply`, `human_queue` or `safety_queue`.
    pub route: String,
    /// Why: the first blocker or the rule that decided.
    pub reason_code: String,
    pub priority: i64,
    /// The full decision record: triage result, workflow, decision with every blocker and the
    /// thresholds used, priority factors, SLA, model versions. Masked for callers without the
    /// PII permission.
    #[schema(value_type = Object)]
    pub record: Value,
    pub created_at: DateTime<Utc>,
}

impl From<&DecisionRow> for DecisionDto {
    fn from(decision: &DecisionRow) -> DecisionDto {
        DecisionDto {
            id: decision.id,
            ticket_id: decision.ticket_id,
            message_id: decision.message_id,
            triage_id: decision.triage_id,
            route: decision.route.clone(),
            reason_code: decision.reason_code.clone(),
            priority: decision.priority,
            record: decision.record.clone(),
            created_at: decision.created_at,
        }
    }
}

/// The append-only record kept for every safety report.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = ComplianceRecord)]
pub struct ComplianceRecordDto {
    pub id: i64,
    pub ticket_id: i64,
    pub message_id: i64,
    pub intent: String,
    pub severity: String,
    pub redacted_text: String,
    #[schema(value_type = Object)]
    pub record: Value,
    pub created_at: DateTime<Utc>,
}

impl From<&ComplianceRecord> for ComplianceRecordDto {
    fn from(record: &ComplianceRecord) -> ComplianceRecordDto {
        ComplianceRecordDto {
            id: record.id,
            ticket_id: record.ticket_id,
            message_id: record.message_id,
            intent: record.intent.clone(),
            severity: record.severity.clone(),
            redacted_text: record.redacted_text.clone(),
            record: record.record.clone(),
            created_at: record.created_at,
        }
    }
}

/// A console user (never with the password hash).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = User)]
pub struct UserDto {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

impl From<&User> for UserDto {
    fn from(user: &User) -> UserDto {
        UserDto { id: user.id, email: user.email.clone(), name: user.name.clone(), role: user.role, active: user.active, created_at: user.created_at }
    }
}

/// An API token (never with its secret: that is shown once, when it is created).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = ApiToken)]
pub struct ApiTokenDto {
    pub id: i64,
    pub name: String,
    /// The first characters of the secret, to tell tokens apart.
    pub prefix: String,
    pub scopes: Vec<Scope>,
    /// The user who created it (none when created from the command line).
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<&ApiToken> for ApiTokenDto {
    fn from(token: &ApiToken) -> ApiTokenDto {
        ApiTokenDto {
            id: token.id,
            name: token.name.clone(),
            prefix: token.prefix.clone(),
            scopes: token.scopes.clone(),
            created_by: token.created_by,
            created_at: token.created_at,
            last_used_at: token.last_used_at,
            revoked_at: token.revoked_at,
        }
    }
}

/// One entry of the hash-chained audit log.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = AuditEntry)]
pub struct AuditEntryDto {
    pub id: i64,
    pub at: DateTime<Utc>,
    /// `user:<id>`, `token:<id>` or `system`.
    pub actor: String,
    pub action: String,
    pub entity_type: String,
    pub entity_id: String,
    #[schema(value_type = Object)]
    pub details: Value,
    /// Hash of the previous entry: changing or removing an entry breaks the chain.
    pub prev_hash: String,
    pub hash: String,
}

impl From<&AuditEntry> for AuditEntryDto {
    fn from(entry: &AuditEntry) -> AuditEntryDto {
        AuditEntryDto {
            id: entry.id,
            at: entry.at,
            actor: entry.actor.clone(),
            action: entry.action.clone(),
            entity_type: entry.entity_type.clone(),
            entity_id: entry.entity_id.clone(),
            details: entry.details.clone(),
            prev_hash: entry.prev_hash.clone(),
            hash: entry.hash.clone(),
        }
    }
}

/// Converts each item: `dto::list(&rows, UserDto::from)`.
pub fn list<'rows, Row, Dto>(rows: &'rows [Row], convert: impl Fn(&'rows Row) -> Dto) -> Vec<Dto> {
    rows.iter().map(convert).collect()
}

/// Placeholder for text that cannot be shown and has no redacted copy.
const WITHHELD: &str = "[withheld]";

fn detector() -> Option<&'static sb_text::pii::PiiDetector> {
    static DETECTOR: OnceLock<Option<sb_text::pii::PiiDetector>> = OnceLock::new();
    DETECTOR.get_or_init(|| sb_text::pii::PiiDetector::new("US").ok()).as_ref()
}

/// The text with personal data replaced by placeholders; withheld whole if the detector is
/// unavailable (never shown unredacted).
pub fn redact(text: &str) -> String {
    match detector() {
        Some(detector) => detector.redact(text).redacted_text,
        None => WITHHELD.to_string(),
    }
}

/// Redacted copies of a ticket's triaged messages, by message id (the latest triage wins).
pub fn redacted_by_message(triage_rows: &[TriageRow]) -> HashMap<i64, String> {
    triage_rows
        .iter()
        .filter_map(|row| row.result.get("redacted_text").and_then(Value::as_str).map(|text| (row.message_id, text.to_string())))
        .collect()
}

pub fn message(message: &MessageRow, sees_pii: bool, redacted: &HashMap<i64, String>) -> Value {
    let mut value = serde_json::to_value(MessageDto::from(message)).unwrap_or(Value::Null);
    if sees_pii {
        return value;
    }
    if let Value::Object(fields) = &mut value {
        let body = redacted.get(&message.id).cloned().unwrap_or_else(|| redact(&message.body));
        fields.insert("body".into(), Value::String(body));
        fields.insert("redacted".into(), Value::Bool(true));
        if let Some(subject) = &message.subject {
            fields.insert("subject".into(), Value::String(redact(subject)));
        }
        // Metadata is whatever the integration sent: it may hold anything.
        fields.insert("metadata".into(), Value::Null);
    }
    value
}

pub fn customer(customer: &Customer, sees_pii: bool) -> Value {
    let mut value = serde_json::to_value(CustomerDto::from(customer)).unwrap_or(Value::Null);
    if sees_pii {
        return value;
    }
    if let Value::Object(fields) = &mut value {
        for key in ["email", "phone", "name"] {
            if fields.get(key).is_some_and(|field| !field.is_null()) {
                fields.insert(key.into(), Value::String(WITHHELD.into()));
            }
        }
        fields.insert("redacted".into(), Value::Bool(true));
    }
    value
}

pub fn ticket(ticket: &Ticket, sees_pii: bool) -> Value {
    let mut value = serde_json::to_value(TicketDto::from(ticket)).unwrap_or(Value::Null);
    if sees_pii {
        return value;
    }
    if let (Value::Object(fields), Some(subject)) = (&mut value, &ticket.subject) {
        fields.insert("subject".into(), Value::String(redact(subject)));
    }
    value
}

pub fn tickets(tickets: &[Ticket], sees_pii: bool) -> Vec<Value> {
    tickets.iter().map(|one| ticket(one, sees_pii)).collect()
}

/// [`ticket`] with its assignee's name (`names`: user id → name), as the list and the ticket
/// view show it.
pub fn ticket_with_assignee(one: &Ticket, sees_pii: bool, names: &std::collections::HashMap<i64, String>) -> Value {
    let mut value = ticket(one, sees_pii);
    if let (Value::Object(fields), Some(name)) = (&mut value, one.assignee_id.and_then(|user_id| names.get(&user_id))) {
        fields.insert("assignee_name".into(), Value::String(name.clone()));
    }
    value
}

/// Keys of decision records and triage results whose values are personal data outright.
const PII_KEYS: &[&str] = &["email", "phone", "customer_email", "customer_name", "recipient", "address", "e164"];
/// Keys whose values are free text that may contain personal data.
const FREE_TEXT_KEYS: &[&str] = &["text", "body", "reply", "subject", "normalized_text"];

/// Masks a decision record (or any JSON holding a triage result): the normalised text becomes
/// the stored redacted copy, email and phone entities go, contact fields are withheld and
/// free text is redacted.
pub fn decision_record(record: &Value, sees_pii: bool) -> Value {
    let mut value = record.clone();
    if !sees_pii {
        mask_json(&mut value);
    }
    value
}

fn mask_json(value: &mut Value) {
    match value {
        Value::Object(fields) => {
            if let (Some(Value::String(redacted)), true) = (fields.get("redacted_text").cloned(), fields.contains_key("normalized_text")) {
                fields.insert("normalized_text".into(), Value::String(redacted));
            }
            if let Some(Value::Array(entities)) = fields.get_mut("entities") {
                entities.retain(|entity| !matches!(entity.get("kind").and_then(Value::as_str), Some("email" | "phone")));
            }
            for (key, field) in fields.iter_mut() {
                if key == "normalized_text" || key == "redacted_text" {
                    continue;
                }
                match field {
                    Value::String(text) if PII_KEYS.contains(&key.as_str()) => *text = WITHHELD.to_string(),
                    Value::String(text) if FREE_TEXT_KEYS.contains(&key.as_str()) => *text = redact(text),
                    other => mask_json(other),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mask_json),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decision_records_lose_contact_details_and_raw_text() {
        let record = json!({
            "triage": {
                "normalized_text": "call me on +1 415 555 0101, ana@example.com",
                "redacted_text": "call me on [PHONE], [EMAIL]",
                "entities": [{"kind": "phone", "text": "+1 415 555 0101"}, {"kind": "order_number", "text": "A10493"}],
                "model": {"name": "triage-default"},
            },
            "workflow": {"order": {"number": "A10493", "customer_email": "ana@example.com", "customer_name": "Ana Silva"}},
            "decision": {"reply": "Hi, we wrote to ana@example.com"},
        });
        let masked = decision_record(&record, false);
        assert_eq!(masked["triage"]["normalized_text"], "call me on [PHONE], [EMAIL]");
        assert_eq!(masked["triage"]["entities"].as_array().unwrap().len(), 1);
        assert_eq!(masked["triage"]["model"]["name"], "triage-default");
        assert_eq!(masked["workflow"]["order"]["customer_email"], WITHHELD);
        assert_eq!(masked["workflow"]["order"]["number"], "A10493");
        assert!(!masked.to_string().contains("ana@example.com"), "{masked}");
        assert_eq!(decision_record(&record, true), record);
    }
}
