//! An alert as an email: what a `mailto:` webhook receives (PRODUCT.md, "Analytics": alerts
//! to a webhook or an email), sent by the same SMTP sender as the replies.
//!
//! The mail is built from the delivery's stored payload (the JSON a webhook would be posted),
//! so a retry sends what was decided when the alert was raised. It says what happened, the
//! figures behind it and where to look; it carries `Auto-Submitted: auto-generated` (RFC 3834)
//! so an on-call mailbox's auto-responder stays quiet, and a Message-ID derived from the
//! delivery, the same on every attempt.
//!
//! Pure: no clock, no I/O.

use chrono::{DateTime, Utc};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::message::header::ContentType;
use lettre::Message;
use sb_store::Alert;
use serde::Deserialize;

use crate::compose::{html_alternative, AutoSubmitted};
use crate::Error;

/// What an alert mail is made of.
#[derive(Debug, Clone)]
pub struct AlertMail<'a> {
    pub from_address: &'a str,
    pub from_name: Option<&'a str>,
    /// The webhook's URL, `mailto:oncall@shop.example`.
    pub to_url: &'a str,
    /// The delivery's payload: `{"event": "alert.raised" | "alert.resolved", "alert": {…}}`.
    pub payload: &'a str,
    pub delivery_id: i64,
    /// Where the console is reached, for the link to the dashboard.
    pub console_url: &'a str,
    pub message_id_domain: &'a str,
    pub date: DateTime<Utc>,
}

#[derive(Deserialize)]
struct Payload {
    event: String,
    alert: Alert,
}

/// The Message-ID of an alert delivery's mail.
pub fn alert_message_id(delivery_id: i64, domain: &str) -> String {
    format!("sb.alert.{delivery_id}@{domain}")
}

/// The alert as a mail, ready to send.
pub fn compose_alert(mail: &AlertMail<'_>) -> Result<Message, Error> {
    let payload: Payload = serde_json::from_str(mail.payload).map_err(|error| Error::Compose(format!("the alert delivery's payload is not an alert: {error}")))?;
    let address = sb_store::mailto_address(mail.to_url).ok_or_else(|| Error::Compose(format!("`{}` is not a mailto: address", mail.to_url)))?;
    let to_address = address.parse().map_err(|error| Error::Compose(format!("alert recipient `{address}`: {error}")))?;
    let from_address = mail.from_address.parse().map_err(|error| Error::Compose(format!("from address `{}`: {error}", mail.from_address)))?;
    let (subject, text) = alert_text(&payload.event, &payload.alert, mail.console_url);
    let html = html_alternative(&text);
    Message::builder()
        .from(Mailbox::new(mail.from_name.map(str::to_string), from_address))
        .to(Mailbox::new(None, to_address))
        .subject(subject)
        .message_id(Some(format!("<{}>", alert_message_id(mail.delivery_id, mail.message_id_domain))))
        .date(mail.date.into())
        .header(AutoSubmitted::generated())
        .multipart(MultiPart::alternative().singlepart(SinglePart::builder().header(ContentType::TEXT_PLAIN).body(text)).singlepart(SinglePart::builder().header(ContentType::TEXT_HTML).body(html)))
        .map_err(|error| Error::Compose(error.to_string()))
}

/// Subject and text of an alert mail.
fn alert_text(event: &str, alert: &Alert, console_url: &str) -> (String, String) {
    let severity = alert.severity.as_str();
    let resolved = event == "alert.resolved";
    let subject = if resolved { format!("[Switchboard] Resolved: {}", alert.title) } else { format!("[Switchboard] {} alert: {}", capitalised(severity), alert.title) };
    let mut text = String::new();
    if resolved {
        let by = match alert.resolved_by.as_deref() {
            Some("system") | None => "its condition cleared".to_string(),
            Some(person) => format!("resolved by {person}"),
        };
        text.push_str(&format!("Alert #{} is resolved ({by}) at {}.\n", alert.id, minute(alert.resolved_at.unwrap_or(alert.last_seen_at))));
    } else {
        text.push_str(&format!("Alert #{} was raised at {}.\n", alert.id, minute(alert.first_seen_at)));
    }
    text.push_str(&format!("\n{}\n\nRule: {} · severity: {severity}\n", alert.title, alert.rule));
    match (alert.value, alert.threshold) {
        (Some(value), Some(threshold)) => text.push_str(&format!("Value: {} (threshold {})\n", figure(value), figure(threshold))),
        (Some(value), None) => text.push_str(&format!("Value: {}\n", figure(value))),
        _ => {}
    }
    text.push_str(&format!("Seen {} time{} between {} and {}.\n", alert.occurrences, if alert.occurrences == 1 { "" } else { "s" }, minute(alert.first_seen_at), minute(alert.last_seen_at)));
    if let Some(details) = alert.details.as_object().filter(|details| !details.is_empty()) {
        text.push_str("\nDetails:\n");
        for (key, value) in details {
            let shown = match value {
                serde_json::Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            text.push_str(&format!("  {key}: {shown}\n"));
        }
    }
    text.push_str(&format!("\nThe dashboard: {}/console/dashboard\n", console_url.trim_end_matches('/')));
    (subject, text)
}

fn minute(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// A value without a pointless fraction: `64`, `0.13`.
fn figure(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else {
        format!("{:.3}", value).trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

fn capitalised(word: &str) -> String {
    let mut characters = word.chars();
    characters.next().map(|first| first.to_uppercase().chain(characters).collect()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use sb_store::{AlertSeverity, AlertStatus};

    fn alert(status: AlertStatus, resolved_by: Option<&str>) -> Alert {
        let at = |minute| Utc.with_ymd_and_hms(2026, 12, 4, 10, minute, 0).unwrap();
        Alert {
            id: 12,
            rule: "queue_depth".into(),
            dedup_key: "queue_depth".into(),
            severity: AlertSeverity::Warning,
            status,
            title: "64 tickets waiting for a person".into(),
            details: serde_json::json!({"depth": 64, "queues": "human, safety"}),
            value: Some(64.0),
            threshold: Some(50.0),
            occurrences: 3,
            first_seen_at: at(0),
            last_seen_at: at(2),
            resolved_at: resolved_by.map(|_| at(5)),
            resolved_by: resolved_by.map(str::to_string),
        }
    }

    fn composed(event: &str, alert: &Alert, to_url: &str) -> Result<sb_mail::ParsedMail, Error> {
        let payload = sb_store::webhook_payload(event, alert, Utc::now());
        let mail = AlertMail {
            from_address: "support@shop.example",
            from_name: Some("Switchboard"),
            to_url,
            payload: &payload,
            delivery_id: 77,
            console_url: "https://help.shop.example/",
            message_id_domain: "shop.example",
            date: Utc.with_ymd_and_hms(2026, 12, 4, 10, 0, 0).unwrap(),
        };
        Ok(sb_mail::parse(&compose_alert(&mail)?.formatted(), &sb_mail::Limits::default()))
    }

    #[test]
    fn a_raised_alert_says_what_where_and_how_much() {
        let parsed = composed("alert.raised", &alert(AlertStatus::Open, None), "mailto:oncall@shop.example").unwrap();
        assert_eq!(parsed.subject.as_deref(), Some("[Switchboard] Warning alert: 64 tickets waiting for a person"));
        assert_eq!(parsed.message_id.as_deref(), Some("sb.alert.77@shop.example"));
        assert!(parsed.auto_signals.contains(&sb_mail::AutoSignal::AutoSubmitted), "{:?}", parsed.auto_signals);
        let text = &parsed.body.text;
        for expected in ["Alert #12 was raised at 2026-12-04 10:00 UTC", "Rule: queue_depth", "Value: 64 (threshold 50)", "Seen 3 times", "depth: 64", "queues: human, safety", "https://help.shop.example/console/dashboard"] {
            assert!(text.contains(expected), "{expected:?} in {text}");
        }
    }

    #[test]
    fn a_resolved_alert_says_by_whom_and_bad_input_is_refused() {
        let parsed = composed("alert.resolved", &alert(AlertStatus::Resolved, Some("user:7")), "MAILTO:oncall@shop.example").unwrap();
        assert_eq!(parsed.subject.as_deref(), Some("[Switchboard] Resolved: 64 tickets waiting for a person"));
        assert!(parsed.body.text.contains("resolved by user:7) at 2026-12-04 10:05 UTC"), "{}", parsed.body.text);
        assert!(composed("alert.raised", &alert(AlertStatus::Open, None), "https://hooks.example/x").is_err());
        assert!(composed("alert.raised", &alert(AlertStatus::Open, None), "mailto:not an address").is_err());
        assert_eq!((figure(0.125), figure(64.0), figure(0.1)), ("0.125".to_string(), "64".to_string(), "0.1".to_string()));
    }
}
