//! Wire shapes that depend on who is looking: callers without the PII permission (the viewer
//! role, tokens without `read`) get the redacted text instead of message bodies, and no
//! customer email, phone or name.
//!
//! Masking happens here, at the edge, on the JSON about to be sent, so no storage or service
//! code has to know who reads. Where the triage stored a redacted copy of a message it is
//! used; anything else (agent replies, notes, untriaged messages, free-text fields inside
//! decision records) is redacted on the spot with `sb_text`'s PII detector.

use std::collections::HashMap;
use std::sync::OnceLock;

use sb_store::{Customer, MessageRow, Ticket, TriageRow};
use serde_json::Value;

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
    let mut value = serde_json::to_value(message).unwrap_or(Value::Null);
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
    let mut value = serde_json::to_value(customer).unwrap_or(Value::Null);
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
    let mut value = serde_json::to_value(ticket).unwrap_or(Value::Null);
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
