//! Switchboard's engine: the durable message pipeline of PRODUCT.md on top of the store.
//!
//! `Service::receive` is what every channel calls: it triages the message and runs the workflow
//! of its category, then writes the raw message durably (the acknowledgement point) and, in the
//! same store call (one transaction on SQLite), applies the decision policy, starts the SLA clocks and records it all —
//! within the request when it can; otherwise the raw message is stored alone and the background
//! worker (`Service::run_worker`) triages it, retrying with backoff.
//!
//! Architecture invariants:
//! - Knows no HTTP: the server crate turns requests into [`IncomingMessage`]s and results into
//!   JSON.
//! - CPU work runs off the async tasks: triage on rayon's pool, the rest on the blocking pool.
//! - A message acknowledged by `receive` is in the store; every later step can fail and be
//!   retried without losing it.

pub mod actions;
mod admin;
pub mod alerts;
pub mod assist;
pub mod dashboard;
mod chat;
mod csat;
mod demo;
mod email;
mod error;
pub mod events;
mod fanout;
mod knowledge;
mod metrics;
mod orders;
mod pipeline;
pub mod routing;
pub mod policy_overrides;
mod sla;
mod sla_watch;
mod transfer;

use std::sync::Arc;
use std::time::Duration;

use sb_connectors::OrderConnector;
use sb_policy::sla::SlaPolicy;
use sb_policy::PolicyConfig;
use sb_store::Store;
use sb_triage::TriageEngine;

pub use crate::admin::new_secret;
pub use crate::chat::{TypingParty, MAX_CLIENT_MESSAGE_ID_CHARS};
pub use crate::csat::{CsatSource, SurveyLink, MAX_CSAT_COMMENT_CHARS, SURVEY_VALID_DAYS};
pub use crate::demo::{seed_demo_data, DemoSummary};
pub use crate::email::{AttachmentFile, EmailConfig, EmailReceipt, MailSource, NotMail, ThreadedBy, RFC822};
pub use crate::error::{Error, Result};
pub use crate::events::{Event, EventHub, EventKind, LiveMetrics, Resume, Subscription};
pub use crate::knowledge::{index_article, stored_article};
pub use crate::metrics::{EmailSendOutcome, ServiceMetrics};
pub use crate::orders::DemoStoreConnector;
pub use crate::pipeline::{IncomingMessage, MessageReceipt, ReceiptStatus};
pub use crate::routing::RoutingConfig;
pub use crate::sla_watch::SlaRound;
pub use crate::transfer::{Transfer, TransferRefusal};

/// How the background worker retries.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// How often an idle worker looks for work.
    pub poll_interval: Duration,
    /// How long a claim on a message holds before another process may take it over.
    pub claim_lease: Duration,
    /// Attempts before a message is marked failed (it stays stored and visible).
    pub max_attempts: i64,
    /// First retry delay; doubled at each attempt, capped at `max_backoff`.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// Messages claimed per round.
    pub batch_size: i64,
}

impl Default for WorkerConfig {
    fn default() -> WorkerConfig {
        WorkerConfig {
            poll_interval: Duration::from_millis(500),
            claim_lease: Duration::from_secs(30),
            max_attempts: 8,
            base_backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(600),
            batch_size: 16,
        }
    }
}

/// [`ServiceConfig::answer_signer`] unless configured.
pub const DEFAULT_ANSWER_SIGNER: &str = "Customer Service";

/// Everything the service is configured with.
#[derive(Clone)]
pub struct ServiceConfig {
    pub policy: PolicyConfig,
    pub sla_policies: Vec<SlaPolicy>,
    pub worker: WorkerConfig,
    /// Names this process in claims (`host:pid` by default), so a crashed process's claims can
    /// be told apart from live ones in the database.
    pub instance_id: String,
    /// The address customers reach this server at, for links in replies (`{public_url}/help/
    /// {slug}` for an article).
    pub public_url: String,
    /// Who signs an automatic answer: fills `{{agent.name}}` and `{{agent.first_name}}` when an
    /// answer is written from a reply template (there is no agent). Empty: those variables have
    /// no value, and an answer whose template uses them goes to a person.
    pub answer_signer: String,
    pub alerts: alerts::AlertConfig,
    /// The email channel: parsing limits, our own addresses, loop protection, threading.
    pub email: EmailConfig,
    /// Live routing of the human and safety queues to present agents.
    pub routing: RoutingConfig,
}

impl ServiceConfig {
    pub fn new(policy: PolicyConfig) -> ServiceConfig {
        let calendar = sb_policy::sla::default_business_calendar();
        ServiceConfig {
            policy,
            sla_policies: sb_policy::sla::default_sla_policies(&calendar),
            worker: WorkerConfig::default(),
            instance_id: default_instance_id(),
            public_url: "http://127.0.0.1:8080".to_string(),
            answer_signer: DEFAULT_ANSWER_SIGNER.to_string(),
            alerts: alerts::AlertConfig::default(),
            email: EmailConfig::default(),
            routing: RoutingConfig::default(),
        }
    }
}

fn default_instance_id() -> String {
    let host = std::env::var("HOSTNAME").ok().filter(|host| !host.is_empty()).unwrap_or_else(|| "switchboard".to_string());
    format!("{host}:{}", std::process::id())
}

/// The engine. Cheap to clone.
#[derive(Clone)]
pub struct Service {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    engine: Option<Arc<TriageEngine>>,
    orders: Arc<dyn OrderConnector>,
    config: ServiceConfig,
    metrics: ServiceMetrics,
    /// Attached once the search index is open (see `knowledge.rs`).
    knowledge: std::sync::OnceLock<Arc<sb_kb::KnowledgeBase>>,
    /// Attached once the resolved tickets are loaded (see `assist.rs`).
    similar: std::sync::OnceLock<Arc<assist::SimilarTickets>>,
    /// Live events, published after each committed ticket change (see `events.rs`).
    events: EventHub,
    /// Today's forecast per time zone (see `dashboard.rs`): it reads only days before today.
    forecasts: dashboard::ForecastCache,
    /// Wakes this process's router task (see `routing.rs`) for a round now.
    router_wake: tokio::sync::Notify,
    /// The decision and SLA policy in force: the configuration with the admins' stored
    /// overrides (see `policy_overrides.rs`), swapped whole when they change.
    policy: std::sync::RwLock<Arc<policy_overrides::EffectivePolicy>>,
}

impl Service {
    /// `engine` is `None` while the models are not loaded (or failed to load): messages are then
    /// stored and acknowledged, and triaged by the worker once an engine is available.
    pub fn new(store: Store, engine: Option<Arc<TriageEngine>>, orders: Arc<dyn OrderConnector>, config: ServiceConfig) -> Service {
        let policy = std::sync::RwLock::new(Arc::new(policy_overrides::EffectivePolicy::from_config(&config)));
        Service { inner: Arc::new(Inner { store, engine, orders, config, metrics: ServiceMetrics::default(), knowledge: std::sync::OnceLock::new(), similar: std::sync::OnceLock::new(), events: EventHub::default(), forecasts: Default::default(), policy, router_wake: tokio::sync::Notify::new()  }) }
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn engine(&self) -> Option<&Arc<TriageEngine>> {
        self.inner.engine.as_ref()
    }

    pub fn config(&self) -> &ServiceConfig {
        &self.inner.config
    }

    pub fn orders(&self) -> &Arc<dyn OrderConnector> {
        &self.inner.orders
    }

    pub fn metrics(&self) -> &ServiceMetrics {
        &self.inner.metrics
    }

    /// The live event stream: subscribe here; the service publishes after each commit.
    pub fn events(&self) -> &EventHub {
        &self.inner.events
    }

    /// Publishes that `ticket` (as just committed) changed.
    pub(crate) fn publish_ticket_updated(&self, ticket: &sb_store::Ticket) {
        self.inner.events.publish(EventKind::ticket_updated(ticket));
    }

    pub(crate) fn publish_message_added(&self, ticket_id: i64, message_id: i64, direction: sb_store::Direction) {
        self.inner.events.publish(EventKind::message_added(ticket_id, message_id, direction));
    }
}

/// One plausible email address, `local@domain.tld`: at most 320 characters, one `@`, a dot
/// inside the domain, no whitespace, controls, commas, semicolons, brackets or
/// percent-escapes. What the chat widget's start and a `mailto:` webhook accept; delivery is
/// the real test.
pub fn plausible_email_address(address: &str) -> bool {
    let Some((local, domain)) = address.split_once('@') else { return false };
    let forbidden = |character: char| character.is_whitespace() || character.is_control() || matches!(character, ',' | ';' | '%' | '<' | '>' | '@');
    address.chars().count() <= 320 && !local.is_empty() && !local.chars().any(forbidden) && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.') && !domain.chars().any(forbidden)
}

#[cfg(test)]
mod address_tests {
    #[test]
    fn a_plausible_address_is_one_plain_recipient() {
        for (address, plausible) in [("oncall@shop.example", true), ("a.b+ops@mail.shop.example", true), ("oncall@localhost", false), ("a@b.example,c@d.example", false), ("a@b@c.example", false), ("a%40b@shop.example", false), ("@shop.example", false), ("oncall@shop.example.", false), ("on call@shop.example", false), ("ana@example", false)] {
            assert_eq!(super::plausible_email_address(address), plausible, "{address}");
        }
        assert!(!super::plausible_email_address(&format!("{}@shop.example", "a".repeat(320))));
    }
}
