//! The service's Prometheus metrics: what the pipeline, the retry worker and the SLA watcher
//! did (counted where it happens), and how much work waits (counted in the store when
//! scraped).
//!
//! The metrics live in the [`Service`]; whoever serves `/metrics` registers them into its own
//! registry with [`ServiceMetrics::register`], so two services in one process (tests) never
//! share counts and there is no global recorder.
//!
//! Every label takes its values from a closed set (categories, routes, channels, queues,
//! statuses, deadline kinds): the number of series is fixed whatever the traffic.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use sb_domain::{Category, Channel};
use sb_policy::sla::DeadlineKind;
use sb_store::{Queue, QueueDepth, TriageBacklog, OPEN_TICKET_STATUSES};

use crate::{Result, Service};

/// Upper bounds of the triage latency buckets, in seconds: TF-IDF alone takes about a
/// millisecond, MiniLM on two cores about 15 ms, a loaded machine more.
const TRIAGE_SECONDS_BUCKETS: [f64; 12] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5];

/// Upper bounds of the confidence buckets: finer near the auto-reply threshold (0.85 by
/// default), where a shift in the model's confidence changes how many messages a person sees.
const CONFIDENCE_BUCKETS: [f64; 12] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.99];

/// Where a triage attempt ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TriageSource {
    /// Within `receive`, before the answer to the channel.
    Request,
    /// In the background retry worker.
    Worker,
}

impl TriageSource {
    fn as_str(self) -> &'static str {
        match self {
            TriageSource::Request => "request",
            TriageSource::Worker => "worker",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct TriagedLabels {
    category: &'static str,
    route: &'static str,
    channel: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct FailureLabels {
    source: &'static str,
    /// `retry` (the worker tries again later) or `gave_up` (retry budget spent).
    outcome: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct BreachLabels {
    kind: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct QueueLabels {
    queue: &'static str,
    status: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct BacklogLabels {
    /// `waiting` (for the worker) or `failed` (given up).
    state: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct EmailReceivedLabels {
    /// `http` (webhook), `import` or `imap`.
    source: &'static str,
    /// `stored`, `duplicate` (already stored) or `refused` (not a mail).
    outcome: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct EmailSentLabels {
    outcome: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct MailboxLabels {
    /// A configured mailbox's name (a closed set: the configuration's).
    mailbox: String,
}

/// What became of one attempt to send an email reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailSendOutcome {
    /// The server accepted it.
    Sent,
    /// A temporary failure: tried again later.
    Retry,
    /// Failed for good (a 5xx answer, no recipient, attempts spent).
    Failed,
    /// An earlier attempt had reached the server (its copy is in the Sent folder): recorded as
    /// sent, not sent again.
    AlreadySent,
    /// An earlier attempt ended without a result and left no copy: sent again with the same
    /// Message-ID.
    Resent,
}

impl EmailSendOutcome {
    fn as_str(self) -> &'static str {
        match self {
            EmailSendOutcome::Sent => "sent",
            EmailSendOutcome::Retry => "retry",
            EmailSendOutcome::Failed => "failed",
            EmailSendOutcome::AlreadySent => "already_sent",
            EmailSendOutcome::Resent => "resent",
        }
    }
}

/// The service's metrics. Cheap to clone: clones share the same counts.
#[derive(Debug, Clone)]
pub struct ServiceMetrics {
    triage_duration: Histogram,
    triage_confidence: Histogram,
    messages_triaged: Family<TriagedLabels, Counter>,
    triage_failures: Family<FailureLabels, Counter>,
    worker_claims: Counter,
    sla_breaches: Family<BreachLabels, Counter>,
    queue_depth: Family<QueueLabels, Gauge>,
    triage_backlog: Family<BacklogLabels, Gauge>,
    database_up: Gauge,
    email_received: Family<EmailReceivedLabels, Counter>,
    email_sent: Family<EmailSentLabels, Counter>,
    imap_connected: Family<MailboxLabels, Gauge>,
    imap_fetched: Family<MailboxLabels, Counter>,
    imap_errors: Family<MailboxLabels, Counter>,
    /// Each mailbox's state for the admin page (the metrics above say the same in numbers).
    mailboxes: std::sync::Arc<std::sync::Mutex<std::collections::BTreeMap<String, MailboxStatus>>>,
}

/// Where one IMAP mailbox's reader stands, for the admin page and `GET /api/v1/email/mailboxes`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct MailboxStatus {
    pub mailbox: String,
    /// A session is open (false while it reconnects).
    pub connected: bool,
    /// Since when `connected` has its value.
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    pub mails_fetched: u64,
    pub errors: u64,
    /// The last failure, as the reader logged it (no mail content, no password).
    pub last_error: Option<String>,
    pub last_error_at: Option<chrono::DateTime<chrono::Utc>>,
    /// When a mail was last fetched.
    pub last_fetch_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl Default for ServiceMetrics {
    fn default() -> ServiceMetrics {
        ServiceMetrics {
            triage_duration: Histogram::new(TRIAGE_SECONDS_BUCKETS),
            triage_confidence: Histogram::new(CONFIDENCE_BUCKETS),
            messages_triaged: Family::default(),
            triage_failures: Family::default(),
            worker_claims: Counter::default(),
            sla_breaches: Family::default(),
            queue_depth: Family::default(),
            triage_backlog: Family::default(),
            database_up: Gauge::default(),
            email_received: Family::default(),
            email_sent: Family::default(),
            imap_connected: Family::default(),
            imap_fetched: Family::default(),
            imap_errors: Family::default(),
            mailboxes: Default::default(),
        }
    }
}

impl ServiceMetrics {
    /// Adds every metric to `registry` (each registry sees the same counts).
    pub fn register(&self, registry: &mut Registry) {
        registry.register("switchboard_triage_duration_seconds", "Time the triage engine took per message (model and rules, not storage)", self.triage_duration.clone());
        registry.register("switchboard_triage_confidence", "Confidence of the intent chosen for each triaged message (0 to 1)", self.triage_confidence.clone());
        registry.register("switchboard_messages_triaged", "Messages triaged and routed, by category, route and channel", self.messages_triaged.clone());
        registry.register(
            "switchboard_triage_failures",
            "Triage attempts that failed, in the request or in the background worker, and whether the message will be retried",
            self.triage_failures.clone(),
        );
        registry.register("switchboard_triage_retries", "Messages the background worker claimed for another triage attempt", self.worker_claims.clone());
        registry.register("switchboard_sla_breaches", "SLA deadlines recorded as breached by the SLA watcher, by kind", self.sla_breaches.clone());
        registry.register("switchboard_queue_depth", "Tickets still being worked (new, open, pending) per queue and status, counted at scrape time", self.queue_depth.clone());
        registry.register(
            "switchboard_triage_backlog",
            "Inbound messages stored but not triaged: waiting for the background worker, or failed after the retry budget",
            self.triage_backlog.clone(),
        );
        registry.register("switchboard_database_up", "1 when the last scrape-time count in the database succeeded, 0 when it failed", self.database_up.clone());
        registry.register("switchboard_email_received", "Raw mails received, by source (http, import, imap) and outcome (stored, duplicate, refused)", self.email_received.clone());
        registry.register("switchboard_email_sent", "Attempts to send an email reply over SMTP, by outcome (sent, retry, failed)", self.email_sent.clone());
        registry.register("switchboard_imap_connected", "1 while the IMAP reader of a mailbox has a session open, 0 while it reconnects", self.imap_connected.clone());
        registry.register("switchboard_imap_mails_fetched", "Mails fetched from each IMAP mailbox", self.imap_fetched.clone());
        registry.register("switchboard_imap_errors", "IMAP sessions of each mailbox that failed (connection, login, command, timeout)", self.imap_errors.clone());
    }

    /// A raw mail came in from `source` (`http`, `import`, `imap`) with `outcome` (`stored`,
    /// `duplicate`, `refused`).
    pub(crate) fn record_email_received(&self, source: &'static str, outcome: &'static str) {
        self.email_received.get_or_create(&EmailReceivedLabels { source, outcome }).inc();
    }

    /// An IMAP mailbox's session opened (`true`) or closed (`false`).
    pub fn record_imap_connected(&self, mailbox: &str, connected: bool) {
        self.imap_connected.get_or_create(&MailboxLabels { mailbox: mailbox.to_string() }).set(i64::from(connected));
        self.update_mailbox(mailbox, |status| {
            if status.connected != connected || status.since.is_none() {
                status.since = Some(chrono::Utc::now());
            }
            status.connected = connected;
        });
    }

    fn update_mailbox(&self, mailbox: &str, change: impl FnOnce(&mut MailboxStatus)) {
        let mut mailboxes = self.mailboxes.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let status = mailboxes.entry(mailbox.to_string()).or_insert_with(|| MailboxStatus { mailbox: mailbox.to_string(), ..MailboxStatus::default() });
        change(status);
    }

    /// Every mailbox a reader has reported on, by name.
    pub fn mailbox_statuses(&self) -> Vec<MailboxStatus> {
        self.mailboxes.lock().unwrap_or_else(std::sync::PoisonError::into_inner).values().cloned().collect()
    }

    /// A mail was fetched from an IMAP mailbox.
    pub fn record_imap_fetched(&self, mailbox: &str) {
        self.imap_fetched.get_or_create(&MailboxLabels { mailbox: mailbox.to_string() }).inc();
        self.update_mailbox(mailbox, |status| {
            status.mails_fetched += 1;
            status.last_fetch_at = Some(chrono::Utc::now());
        });
    }

    /// An IMAP session failed (connection, login, a command, a timeout), and why.
    pub fn record_imap_error(&self, mailbox: &str, error: &str) {
        self.imap_errors.get_or_create(&MailboxLabels { mailbox: mailbox.to_string() }).inc();
        self.update_mailbox(mailbox, |status| {
            status.errors += 1;
            status.last_error = Some(error.chars().take(500).collect());
            status.last_error_at = Some(chrono::Utc::now());
        });
    }

    /// One attempt to send an email reply ended with `outcome` (the SMTP sender reports it).
    pub fn record_email_sent(&self, outcome: EmailSendOutcome) {
        self.email_sent.get_or_create(&EmailSentLabels { outcome: outcome.as_str() }).inc();
    }

    /// A message was triaged (as `category` with `confidence`, in `latency_us` of engine time)
    /// and routed: `route` is the ticket's effective route.
    pub(crate) fn record_triaged(&self, category: Category, confidence: f32, route: &'static str, channel: Channel, latency_us: i64) {
        let latency = Duration::from_micros(u64::try_from(latency_us).unwrap_or_default());
        self.triage_duration.observe(latency.as_secs_f64());
        self.triage_confidence.observe(f64::from(confidence));
        let labels = TriagedLabels { category: category.as_str(), route, channel: channel.as_str() };
        self.messages_triaged.get_or_create(&labels).inc();
    }

    /// A triage attempt failed; `retried` says whether the message will be tried again.
    pub(crate) fn record_triage_failure(&self, source: TriageSource, retried: bool) {
        let labels = FailureLabels { source: source.as_str(), outcome: if retried { "retry" } else { "gave_up" } };
        self.triage_failures.get_or_create(&labels).inc();
    }

    /// The worker claimed `n_messages` for another attempt.
    pub(crate) fn record_worker_claims(&self, n_messages: usize) {
        self.worker_claims.inc_by(n_messages as u64);
    }

    /// The SLA watcher recorded a breach (once per ticket and deadline).
    pub(crate) fn record_sla_breach(&self, deadline: DeadlineKind) {
        let kind = match deadline {
            DeadlineKind::FirstResponse => "first_response",
            DeadlineKind::Resolution => "resolution",
        };
        self.sla_breaches.get_or_create(&BreachLabels { kind }).inc();
    }

    /// Sets the gauges counted in the store. Every queue and status gets a value (0 when no
    /// ticket waits there), so a queue that empties reads 0 rather than its last count.
    fn set_store_counts(&self, depths: &[QueueDepth], backlog: TriageBacklog) {
        for queue in Queue::ALL {
            for status in OPEN_TICKET_STATUSES {
                let n_tickets = depths.iter().find(|depth| depth.queue == *queue && depth.status == status).map_or(0, |depth| depth.n_tickets);
                self.queue_depth.get_or_create(&QueueLabels { queue: queue.as_str(), status: status.as_str() }).set(n_tickets);
            }
        }
        self.triage_backlog.get_or_create(&BacklogLabels { state: "waiting" }).set(backlog.n_waiting);
        self.triage_backlog.get_or_create(&BacklogLabels { state: "failed" }).set(backlog.n_failed);
    }
}

impl Service {
    /// Counts what waits in the store (queue depths, triage backlog) into the gauges: called
    /// when `/metrics` is scraped. On a database error the gauges keep their last values,
    /// `switchboard_database_up` turns 0, and the error is returned.
    pub async fn refresh_store_metrics(&self) -> Result<()> {
        let counts = async { Ok::<_, sb_store::Error>((self.store().queue_depths().await?, self.store().triage_backlog().await?)) }.await;
        match counts {
            Ok((depths, backlog)) => {
                self.metrics().set_store_counts(&depths, backlog);
                self.metrics().database_up.set(1);
                Ok(())
            }
            Err(error) => {
                self.metrics().database_up.set(0);
                Err(error.into())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use expect_test::{expect, Expect};
    use sb_domain::{Category, Channel};
    use sb_policy::sla::DeadlineKind;
    use sb_store::{Queue, QueueDepth, TicketStatus, TriageBacklog};

    use super::{ServiceMetrics, TriageSource};

    /// The samples of `metrics` in the Prometheus text format whose lines start with one of
    /// `keep`, sorted.
    fn check(metrics: &ServiceMetrics, keep: &[&str], expect: Expect) {
        let mut registry = prometheus_client::registry::Registry::default();
        metrics.register(&mut registry);
        let mut text = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut text, &registry).unwrap();
        // Label sets within a family come out in hash order: sort for a stable snapshot.
        let mut samples: Vec<&str> = text.lines().filter(|line| !line.starts_with('#') && keep.iter().any(|name| line.starts_with(name))).collect();
        samples.sort_unstable();
        expect.assert_eq(&samples.join("\n"));
    }

    #[test]
    fn triaged_messages_are_counted_by_category_route_and_channel() {
        let metrics = ServiceMetrics::default();
        metrics.record_triaged(Category::ServiceAction, 0.93, "auto_reply", Channel::Chat, 1_200);
        metrics.record_triaged(Category::SafetyCompliance, 0.62, "safety_queue", Channel::Email, 3_000);
        metrics.record_triaged(Category::ServiceAction, 0.97, "auto_reply", Channel::Chat, 900);
        check(
            &metrics,
            &["switchboard_messages_triaged", "switchboard_triage_confidence_bucket{le=\"0.6\"}", "switchboard_triage_confidence_bucket{le=\"0.9\"}", "switchboard_triage_duration_seconds_count", "switchboard_triage_duration_seconds_bucket{le=\"0.001\"}"],
            expect![[r#"
                switchboard_messages_triaged_total{category="safety_compliance",route="safety_queue",channel="email"} 1
                switchboard_messages_triaged_total{category="service_action",route="auto_reply",channel="chat"} 2
                switchboard_triage_confidence_bucket{le="0.6"} 0
                switchboard_triage_confidence_bucket{le="0.9"} 1
                switchboard_triage_duration_seconds_bucket{le="0.001"} 1
                switchboard_triage_duration_seconds_count 3"#]],
        );
    }

    #[test]
    fn failures_retries_and_breaches_are_counted_by_kind() {
        let metrics = ServiceMetrics::default();
        metrics.record_triage_failure(TriageSource::Request, true);
        metrics.record_worker_claims(3);
        metrics.record_triage_failure(TriageSource::Worker, true);
        metrics.record_triage_failure(TriageSource::Worker, false);
        metrics.record_sla_breach(DeadlineKind::FirstResponse);
        metrics.record_sla_breach(DeadlineKind::FirstResponse);
        metrics.record_sla_breach(DeadlineKind::Resolution);
        check(
            &metrics,
            &["switchboard_triage_failures", "switchboard_triage_retries", "switchboard_sla_breaches"],
            expect![[r#"
                switchboard_sla_breaches_total{kind="first_response"} 2
                switchboard_sla_breaches_total{kind="resolution"} 1
                switchboard_triage_failures_total{source="request",outcome="retry"} 1
                switchboard_triage_failures_total{source="worker",outcome="gave_up"} 1
                switchboard_triage_failures_total{source="worker",outcome="retry"} 1
                switchboard_triage_retries_total 3"#]],
        );
    }

    #[test]
    fn email_in_and_out_is_counted_by_source_outcome_and_mailbox() {
        let metrics = ServiceMetrics::default();
        metrics.record_email_received("http", "stored");
        metrics.record_email_received("http", "stored");
        metrics.record_email_received("import", "duplicate");
        metrics.record_email_received("http", "refused");
        metrics.record_email_sent(super::EmailSendOutcome::Sent);
        metrics.record_email_sent(super::EmailSendOutcome::Retry);
        metrics.record_email_sent(super::EmailSendOutcome::Failed);
        metrics.record_email_sent(super::EmailSendOutcome::Sent);
        metrics.record_imap_connected("support", true);
        metrics.record_imap_fetched("support");
        metrics.record_imap_fetched("support");
        metrics.record_imap_error("returns", "connection refused");
        metrics.record_imap_connected("returns", false);
        check(
            &metrics,
            &["switchboard_email", "switchboard_imap"],
            expect![[r#"
                switchboard_email_received_total{source="http",outcome="refused"} 1
                switchboard_email_received_total{source="http",outcome="stored"} 2
                switchboard_email_received_total{source="import",outcome="duplicate"} 1
                switchboard_email_sent_total{outcome="failed"} 1
                switchboard_email_sent_total{outcome="retry"} 1
                switchboard_email_sent_total{outcome="sent"} 2
                switchboard_imap_connected{mailbox="returns"} 0
                switchboard_imap_connected{mailbox="support"} 1
                switchboard_imap_errors_total{mailbox="returns"} 1
                switchboard_imap_mails_fetched_total{mailbox="support"} 2"#]],
        );
        let statuses = metrics.mailbox_statuses();
        assert_eq!(statuses.iter().map(|status| (status.mailbox.as_str(), status.connected, status.mails_fetched, status.errors)).collect::<Vec<_>>(), [("returns", false, 0, 1), ("support", true, 2, 0)]);
        assert_eq!(statuses[0].last_error.as_deref(), Some("connection refused"));
        assert!(statuses[1].last_fetch_at.is_some() && statuses[1].since.is_some() && statuses[1].last_error.is_none());
    }

    #[test]
    fn store_counts_cover_every_queue_and_status_and_empty_ones_read_zero() {
        let metrics = ServiceMetrics::default();
        let depths = [QueueDepth { queue: Queue::Human, status: TicketStatus::Open, n_tickets: 7 }, QueueDepth { queue: Queue::Safety, status: TicketStatus::New, n_tickets: 1 }];
        metrics.set_store_counts(&depths, TriageBacklog { n_waiting: 4, n_failed: 1 });
        // The human queue empties: its gauge falls to 0 instead of keeping 7.
        metrics.set_store_counts(&depths[1..], TriageBacklog { n_waiting: 0, n_failed: 1 });
        check(
            &metrics,
            &["switchboard_queue_depth{queue=\"human\"", "switchboard_queue_depth{queue=\"safety\"", "switchboard_triage_backlog"],
            expect![[r#"
                switchboard_queue_depth{queue="human",status="new"} 0
                switchboard_queue_depth{queue="human",status="open"} 0
                switchboard_queue_depth{queue="human",status="pending"} 0
                switchboard_queue_depth{queue="safety",status="new"} 1
                switchboard_queue_depth{queue="safety",status="open"} 0
                switchboard_queue_depth{queue="safety",status="pending"} 0
                switchboard_triage_backlog{state="failed"} 1
                switchboard_triage_backlog{state="waiting"} 0"#]],
        );
    }
}
