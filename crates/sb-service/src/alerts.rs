//! Alerts (PRODUCT.md, "Analytics"): rules evaluated every round on the store's figures, raised
//! with de-duplication and resolved when their condition clears, and the webhook sender that
//! delivers them, signed, with retries.
//!
//! The rules:
//! - `sla_breach_rate`: share of the last 24 hours' tickets with a breached SLA clock above
//!   10 % (from 20 tickets);
//! - `queue_depth`: tickets waiting for a person (human and safety queues, new or open) above
//!   50;
//! - `volume_above_forecast`: inbound messages of the last 60 minutes above the forecast's 95 %
//!   interval *and* more than 50 % above the forecast — the forecast being the mean of the same
//!   60 minutes in each of the last four weeks, its interval from the spread of those weeks
//!   (at least Poisson's);
//! - `negative_sentiment_spike`: share of negative tickets (sentiment below −0.3) in the last
//!   60 minutes above the upper end of the binomial 95 % interval around the previous week's
//!   share (from 20 tickets);
//! - `vip_ticket`: a VIP customer's ticket waiting for its first response (one alert per
//!   ticket, resolved by the response);
//! - `system_errors`: messages of the last hour whose triage failed and waits for a retry, at
//!   least 5;
//! - `llm_budget`: only with an LLM provider, which this build does not have; listed as
//!   inactive.
//!
//! Several processes may evaluate at once: raising is idempotent per key (the store keeps one
//! open alert per key) and resolving an already resolved key does nothing.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sb_store::{AlertSeverity, DeliveryOutcome, DeliveryTarget, NewAlert, NewAuditEntry, Raised};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::watch;

use crate::actions::Actor;
use crate::{Error, Result, Service};

/// Thresholds of the rules (the `[alerts]` section of the configuration).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertConfig {
    /// Seconds between evaluations of the rules.
    pub evaluate_interval_seconds: u64,
    pub sla_breach_rate: f64,
    pub sla_min_tickets: i64,
    pub queue_depth: i64,
    /// The last hour's volume must exceed the forecast by this share (and its 95 % interval).
    pub volume_above_forecast: f64,
    pub volume_min_messages: i64,
    /// Sentiment score below which a ticket counts as negative.
    pub negative_sentiment_below: f64,
    pub sentiment_min_tickets: i64,
    pub system_errors: i64,
}

impl Default for AlertConfig {
    fn default() -> AlertConfig {
        AlertConfig {
            evaluate_interval_seconds: 60,
            sla_breach_rate: 0.10,
            sla_min_tickets: 20,
            queue_depth: 50,
            volume_above_forecast: 0.5,
            volume_min_messages: 20,
            negative_sentiment_below: -0.3,
            sentiment_min_tickets: 20,
            system_errors: 5,
        }
    }
}

/// What one evaluation found, per rule: the alerts it raised (new or still open) and the keys
/// it resolved.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AlertRound {
    pub raised: Vec<String>,
    pub still_open: Vec<String>,
    pub resolved: Vec<String>,
}

/// The signature header: `sha256=` and the hex HMAC-SHA256, keyed with the webhook's secret,
/// of `{timestamp}.{body}` (the timestamp is sent in `X-Switchboard-Timestamp`, so a receiver
/// can refuse old replays).
pub fn webhook_signature(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<sha2_11::Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Attempts before a delivery is given up.
const MAX_DELIVERY_ATTEMPTS: i64 = 8;
/// How long one attempt may take.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

fn delivery_backoff(attempts: i64) -> TimeDelta {
    // 10 s, 20 s, 40 s, … capped at one hour.
    TimeDelta::seconds((10_i64 << attempts.clamp(0, 9)).min(3_600))
}

impl Service {
    /// Evaluates every rule once at `now`.
    pub async fn evaluate_alerts(&self, now: DateTime<Utc>) -> Result<AlertRound> {
        let config = &self.config().alerts;
        let inputs = self.store().alert_inputs(now, config.negative_sentiment_below).await?;
        let mut round = AlertRound::default();
        let mut wanted: Vec<(&'static str, Vec<NewAlert>)> = Vec::new();

        let mut sla = Vec::new();
        if inputs.recent_tickets >= config.sla_min_tickets {
            let rate = inputs.recent_breached as f64 / inputs.recent_tickets as f64;
            if rate > config.sla_breach_rate {
                sla.push(alert("sla_breach_rate", "sla_breach_rate", AlertSeverity::Critical, format!("{:.0} % of the last 24 hours' tickets breached their SLA", rate * 100.0), json!({"tickets": inputs.recent_tickets, "breached": inputs.recent_breached}), rate, config.sla_breach_rate));
            }
        }
        wanted.push(("sla_breach_rate", sla));

        let mut depth = Vec::new();
        if inputs.waiting_for_a_person > config.queue_depth {
            depth.push(alert("queue_depth", "queue_depth", AlertSeverity::Warning, format!("{} tickets are waiting for a person", inputs.waiting_for_a_person), json!({"waiting": inputs.waiting_for_a_person}), inputs.waiting_for_a_person as f64, config.queue_depth as f64));
        }
        wanted.push(("queue_depth", depth));

        let mut volume = Vec::new();
        let forecast = same_window_forecast(&inputs.previous_weeks_volume);
        if inputs.last_hour_volume >= config.volume_min_messages {
            let above_interval = inputs.last_hour_volume as f64 > forecast.hi95;
            let above_ratio = inputs.last_hour_volume as f64 > forecast.expected * (1.0 + config.volume_above_forecast);
            if above_interval && above_ratio {
                volume.push(alert(
                    "volume_above_forecast",
                    "volume_above_forecast",
                    AlertSeverity::Warning,
                    format!("{} messages in the last hour against {:.0} expected", inputs.last_hour_volume, forecast.expected),
                    json!({"messages": inputs.last_hour_volume, "expected": forecast.expected, "hi95": forecast.hi95, "same_hour_previous_weeks": inputs.previous_weeks_volume}),
                    inputs.last_hour_volume as f64,
                    forecast.hi95.max(forecast.expected * (1.0 + config.volume_above_forecast)),
                ));
            }
        }
        wanted.push(("volume_above_forecast", volume));

        let mut sentiment = Vec::new();
        if inputs.last_hour_tickets >= config.sentiment_min_tickets && inputs.baseline_tickets > 0 {
            let share = inputs.last_hour_negative as f64 / inputs.last_hour_tickets as f64;
            let baseline = inputs.baseline_negative as f64 / inputs.baseline_tickets as f64;
            let upper = baseline + 1.96 * (baseline * (1.0 - baseline) / inputs.last_hour_tickets as f64).sqrt();
            if share > upper {
                sentiment.push(alert(
                    "negative_sentiment_spike",
                    "negative_sentiment_spike",
                    AlertSeverity::Warning,
                    format!("{:.0} % of the last hour's tickets are negative against {:.0} % over the week", share * 100.0, baseline * 100.0),
                    json!({"tickets": inputs.last_hour_tickets, "negative": inputs.last_hour_negative, "week_share": baseline, "upper95": upper}),
                    share,
                    upper,
                ));
            }
        }
        wanted.push(("negative_sentiment_spike", sentiment));

        let vip = inputs
            .vip_waiting
            .iter()
            .map(|(ticket_id, subject)| {
                let title = match subject {
                    Some(subject) => format!("VIP ticket {ticket_id} waits for a first response: {subject}"),
                    None => format!("VIP ticket {ticket_id} waits for a first response"),
                };
                alert("vip_ticket", &format!("vip_ticket:{ticket_id}"), AlertSeverity::Info, title, json!({"ticket_id": ticket_id}), 1.0, 1.0)
            })
            .collect();
        wanted.push(("vip_ticket", vip));

        let mut errors = Vec::new();
        if inputs.failed_triage_last_hour >= config.system_errors {
            errors.push(alert("system_errors", "system_errors", AlertSeverity::Critical, format!("{} messages of the last hour failed triage and wait for a retry", inputs.failed_triage_last_hour), json!({"failed_triage": inputs.failed_triage_last_hour}), inputs.failed_triage_last_hour as f64, config.system_errors as f64));
        }
        wanted.push(("system_errors", errors));

        for (rule, alerts) in wanted {
            let mut keep = Vec::new();
            for new_alert in &alerts {
                let (stored, raised) = self.store().raise_alert(new_alert, now).await?;
                keep.push(new_alert.dedup_key.clone());
                match raised {
                    Raised::New => {
                        // A VIP ticket waiting is news for the feed, not a problem of the system.
                        if new_alert.severity == AlertSeverity::Info {
                            tracing::info!(rule, key = %new_alert.dedup_key, title = %new_alert.title, "alert raised");
                        } else {
                            tracing::warn!(rule, key = %new_alert.dedup_key, title = %new_alert.title, "alert raised");
                        }
                        self.events().publish(crate::EventKind::AlertRaised { alert_id: stored.id, rule: stored.rule.clone(), severity: stored.severity.as_str().to_string() });
                        round.raised.push(new_alert.dedup_key.clone());
                    }
                    Raised::AlreadyOpen => round.still_open.push(new_alert.dedup_key.clone()),
                }
            }
            for key in self.store().open_alert_keys(rule).await? {
                if keep.contains(&key) {
                    continue;
                }
                if let Some(resolved) = self.store().resolve_alert(&key, "system", &[], now).await? {
                    tracing::info!(rule, key = %key, "alert resolved: its condition cleared");
                    self.events().publish(crate::EventKind::AlertResolved { alert_id: resolved.id, rule: resolved.rule });
                    round.resolved.push(key);
                }
            }
        }
        Ok(round)
    }

    /// A person resolves an alert (it is raised again if its condition still holds at the next
    /// round).
    pub async fn resolve_alert(&self, alert_id: i64, actor: &Actor) -> Result<sb_store::Alert> {
        let alert = self.store().alert(alert_id).await?;
        let audit = [NewAuditEntry::new(&actor.audit_name, "alert.resolved", "alert", alert_id, json!({"rule": alert.rule, "key": alert.dedup_key}))];
        match self.store().resolve_alert(&alert.dedup_key, &actor.audit_name, &audit, Utc::now()).await? {
            Some(resolved) if resolved.id == alert_id => {
                self.events().publish(crate::EventKind::AlertResolved { alert_id, rule: resolved.rule.clone() });
                Ok(resolved)
            }
            _ => Err(Error::Store(sb_store::Error::Conflict(format!("alert {alert_id} is not open")))),
        }
    }

    /// Registers a webhook; returns it with its signing secret (shown once).
    pub async fn create_webhook(&self, name: &str, url: &str, actor: &Actor) -> Result<(sb_store::Webhook, String)> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(Error::Invalid("`name` must be 1 to 100 characters".into()));
        }
        let parsed = reqwest::Url::parse(url).map_err(|error| Error::Invalid(format!("`url` is not a URL: {error}")))?;
        match parsed.scheme() {
            "http" | "https" if parsed.host_str().is_some() => {}
            // An email recipient: the SMTP sender mails the alert (one address, no headers).
            "mailto" if crate::plausible_email_address(parsed.path()) && parsed.query().is_none() => {}
            _ => return Err(Error::Invalid("`url` must be an http:// or https:// URL with a host, or mailto: with one address".into())),
        }
        let secret = crate::new_secret("whsec_")?;
        let audit = [NewAuditEntry::new(&actor.audit_name, "webhook.created", "webhook", "", json!({"name": name, "url": url}))];
        let webhook = self.store().create_webhook(name, parsed.as_str(), &secret, Some(&actor.audit_name), &audit, Utc::now()).await?;
        Ok((webhook, secret))
    }

    pub async fn deactivate_webhook(&self, webhook_id: i64, actor: &Actor) -> Result<()> {
        let audit = [NewAuditEntry::new(&actor.audit_name, "webhook.deactivated", "webhook", webhook_id, json!({}))];
        Ok(self.store().deactivate_webhook(webhook_id, &audit, Utc::now()).await?)
    }

    /// Evaluates the rules every `interval` until `shutdown` turns true.
    pub async fn run_alert_watcher(&self, interval: Duration, mut shutdown: watch::Receiver<bool>) {
        loop {
            if let Err(error) = self.evaluate_alerts(Utc::now()).await {
                tracing::warn!(error = %error, "alert evaluation failed; retrying next round");
            }
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = shutdown.changed() => return,
            }
            if *shutdown.borrow() {
                return;
            }
        }
    }

    /// Sends due webhook deliveries until `shutdown` turns true.
    pub async fn run_webhook_sender(&self, poll_interval: Duration, mut shutdown: watch::Receiver<bool>) {
        let client = match reqwest::Client::builder().timeout(DELIVERY_TIMEOUT).user_agent(concat!("switchboard-webhooks/", env!("CARGO_PKG_VERSION"))).build() {
            Ok(client) => client,
            Err(error) => {
                tracing::error!(error = %error, "cannot start the webhook sender");
                return;
            }
        };
        loop {
            let sent = match self.send_due_webhooks(&client).await {
                Ok(sent) => sent,
                Err(error) => {
                    tracing::warn!(error = %error, "webhook round failed");
                    0
                }
            };
            if sent == 0 {
                tokio::select! {
                    _ = tokio::time::sleep(poll_interval) => {}
                    _ = shutdown.changed() => return,
                }
            }
            if *shutdown.borrow() {
                return;
            }
        }
    }

    /// One round of the sender: claims due deliveries and posts each. Returns how many were
    /// attempted.
    pub async fn send_due_webhooks(&self, client: &reqwest::Client) -> Result<usize> {
        let now = Utc::now();
        let lease = TimeDelta::from_std(DELIVERY_TIMEOUT * 3).unwrap_or(TimeDelta::seconds(30));
        let due = self.store().claim_webhook_deliveries(DeliveryTarget::Http, now, now + lease, 20).await?;
        for item in &due {
            let timestamp = Utc::now().timestamp();
            let request = client
                .post(&item.url)
                .header("content-type", "application/json")
                .header("x-switchboard-event", &item.delivery.event)
                .header("x-switchboard-delivery", item.delivery.id.to_string())
                .header("x-switchboard-timestamp", timestamp.to_string())
                .header("x-switchboard-signature", webhook_signature(&item.secret, timestamp, &item.delivery.payload))
                .body(item.delivery.payload.clone());
            let attempts = item.delivery.attempts + 1;
            let retry_or_give_up = |http_status: Option<i64>, error: String| {
                if attempts >= MAX_DELIVERY_ATTEMPTS {
                    DeliveryOutcome::GaveUp { http_status, error }
                } else {
                    DeliveryOutcome::Retry { http_status, error, retry_at: Utc::now() + delivery_backoff(attempts) }
                }
            };
            let outcome = match request.send().await {
                Ok(response) if response.status().is_success() => DeliveryOutcome::Delivered { http_status: i64::from(response.status().as_u16()) },
                Ok(response) => {
                    let status = response.status();
                    let http_status = Some(i64::from(status.as_u16()));
                    let error = format!("the receiver answered {status}");
                    // A receiver that refuses the request will refuse it again; a busy or
                    // broken one may not.
                    if status.is_server_error() || status.as_u16() == 408 || status.as_u16() == 429 {
                        retry_or_give_up(http_status, error)
                    } else {
                        DeliveryOutcome::GaveUp { http_status, error }
                    }
                }
                Err(error) => retry_or_give_up(None, format!("not delivered: {error}")),
            };
            if !matches!(outcome, DeliveryOutcome::Delivered { .. }) {
                tracing::warn!(delivery_id = item.delivery.id, webhook_id = item.delivery.webhook_id, outcome = ?outcome, "webhook delivery failed");
            }
            self.store().record_webhook_attempt(item.delivery.id, outcome, Utc::now()).await?;
        }
        Ok(due.len())
    }
}

fn alert(rule: &str, key: &str, severity: AlertSeverity, title: String, details: serde_json::Value, value: f64, threshold: f64) -> NewAlert {
    NewAlert { rule: rule.to_string(), dedup_key: key.to_string(), severity, title, details, value: Some(value), threshold: Some(threshold) }
}

/// The 4-week same-window forecast and the upper end of its 95 % interval: the spread of the
/// weeks, and never less than Poisson's (counts of a few weeks understate their variance).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowForecast {
    pub expected: f64,
    pub hi95: f64,
}

pub fn same_window_forecast(previous_weeks: &[i64]) -> WindowForecast {
    if previous_weeks.is_empty() {
        return WindowForecast { expected: 0.0, hi95: 0.0 };
    }
    let n = previous_weeks.len() as f64;
    let expected = previous_weeks.iter().sum::<i64>() as f64 / n;
    let variance = if previous_weeks.len() > 1 { previous_weeks.iter().map(|&count| (count as f64 - expected).powi(2)).sum::<f64>() / (n - 1.0) } else { 0.0 };
    let spread = variance.max(expected).sqrt();
    WindowForecast { expected, hi95: expected + 1.96 * spread }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_forecast_interval_is_never_narrower_than_poisson() {
        let cases: [(&[i64], f64, f64); 4] = [(&[], 0.0, 0.0), (&[100, 100, 100, 100], 100.0, 119.6), (&[40, 80, 120, 160], 100.0, 201.21), (&[9], 9.0, 14.88)];
        for (weeks, expected, hi95) in cases {
            let forecast = same_window_forecast(weeks);
            assert!((forecast.expected - expected).abs() < 0.01 && (forecast.hi95 - hi95).abs() < 0.01, "{weeks:?}: {forecast:?}");
        }
    }

    #[test]
    fn signatures_are_hmac_sha256_of_timestamp_and_body() {
        // RFC 4231 test case 2 (key "Jefe", data "what do ya want for nothing?") with the
        // timestamp prefix made part of the data.
        let signature = webhook_signature("Jefe", 0, "what do ya want for nothing?");
        let expected_without_prefix = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
        assert_ne!(signature, format!("sha256={expected_without_prefix}"), "the timestamp is signed too");
        let mut mac = Hmac::<sha2_11::Sha256>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        assert_eq!(hex::encode(mac.finalize().into_bytes()), expected_without_prefix, "the HMAC is RFC 4231's");
        assert_eq!(webhook_signature("Jefe", 0, "what do ya want for nothing?"), signature, "deterministic");
        assert_ne!(webhook_signature("Jefe", 1, "what do ya want for nothing?"), signature);
    }

    #[test]
    fn backoff_doubles_to_an_hour() {
        let delays: Vec<i64> = (1..=10).map(|attempts| delivery_backoff(attempts).num_seconds()).collect();
        assert_eq!(delays, vec![20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600]);
    }
}
