//! The server's configuration: built-in defaults < TOML file (`--config` or
//! `SWITCHBOARD_CONFIG`) < environment (`SWITCHBOARD__SECTION__KEY`, e.g.
//! `SWITCHBOARD__POLICY__AUTO_REPLY_CONFIDENCE_THRESHOLD=0.9`) < command-line flags.
//!
//! Every section refuses unknown keys, and every problem found is reported at once, each with
//! where it came from, so a config file is fixed in one pass. `config/switchboard.example.toml`
//! documents every key.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Result};
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use sb_policy::sla::SlaPolicy;
use sb_policy::PolicyConfig;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    /// The decision policy: auto-reply thresholds (per intent), low confidence, sentiment,
    /// refund window, priority weights, contact options.
    pub policy: PolicyConfig,
    /// SLA policies, most specific match wins; empty means the built-in ones (safety 15 min /
    /// 2 h / 24 h around the clock, business-hours targets for the rest).
    pub sla_policies: Vec<SlaPolicy>,
    pub worker: WorkerConfig,
    pub orders: OrdersConfig,
    pub security: SecurityConfig,
    pub log: LogConfig,
    pub metrics: MetricsConfig,
    pub knowledge: KnowledgeConfig,
    /// Alert rules' thresholds and how often they run (sb_service::alerts).
    pub alerts: sb_service::alerts::AlertConfig,
    pub email: EmailConfig,
    pub chat: ChatConfig,
    pub routing: RoutingConfig,
}

/// `[routing]`: live routing of unassigned human- and safety-queue tickets to present agents
/// (skills, capacity and presence are set over the API and kept in the database).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RoutingConfig {
    /// Route automatically (each `serve` process runs one router).
    pub enabled: bool,
    /// Seconds between rounds when nothing wakes the router sooner (a new ticket, an agent
    /// becoming present).
    pub interval_seconds: u64,
    /// Seconds a console's heartbeat keeps its agent present; the console beats three times
    /// per period. Past it the agent's unstarted tickets go back to the queue.
    pub presence_ttl_seconds: u64,
    /// Waiting tickets one round considers, most urgent first.
    pub batch_size: i64,
}

impl Default for RoutingConfig {
    fn default() -> RoutingConfig {
        let defaults = sb_service::RoutingConfig::default();
        RoutingConfig { enabled: defaults.enabled, interval_seconds: defaults.interval.as_secs(), presence_ttl_seconds: defaults.presence_ttl.as_secs(), batch_size: defaults.batch_size }
    }
}

impl RoutingConfig {
    pub fn to_service(&self) -> sb_service::RoutingConfig {
        sb_service::RoutingConfig {
            enabled: self.enabled,
            interval: std::time::Duration::from_secs(self.interval_seconds),
            presence_ttl: std::time::Duration::from_secs(self.presence_ttl_seconds),
            batch_size: self.batch_size,
        }
    }

    fn problems(&self, problems: &mut Vec<String>) {
        if !(1..=3_600).contains(&self.interval_seconds) {
            problems.push(format!("routing.interval_seconds: {} is outside 1..=3600", self.interval_seconds));
        }
        if !(15..=86_400).contains(&self.presence_ttl_seconds) {
            problems.push(format!("routing.presence_ttl_seconds: {} is outside 15..=86400", self.presence_ttl_seconds));
        }
        if !(1..=5_000).contains(&self.batch_size) {
            problems.push(format!("routing.batch_size: {} is outside 1..=5000", self.batch_size));
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address to listen on.
    pub addr: SocketAddr,
    /// `sqlite://FILE` or `postgres://USER@HOST/DB`.
    pub db: String,
    /// Background triage workers in this process.
    pub workers: usize,
    /// Seconds between SLA watcher rounds.
    pub sla_watch_interval_seconds: u64,
    /// Seconds between the live dashboard's `metrics_tick` events.
    pub metrics_tick_seconds: u64,
    /// Seconds between rounds of the report rollup builder (hourly sums that let reports over
    /// months answer from a few rows per hour); 0 turns it off and reports scan the tickets.
    pub report_rollup_interval_seconds: u64,
    /// Seconds between two reads of the policy overrides' revision: how soon a threshold or
    /// SLA target an admin changed through another process applies in this one (the process
    /// that saved it applies it at once).
    pub policy_refresh_seconds: u64,
    /// The address customers reach this server at, for links in replies (help articles).
    /// Empty: `http://` + `addr`.
    pub public_url: String,
}

impl Default for ServerConfig {
    fn default() -> ServerConfig {
        ServerConfig { addr: SocketAddr::from(([127, 0, 0, 1], 8080)), db: crate::server::DEFAULT_DB_URL.to_string(), workers: 1, sla_watch_interval_seconds: 30, metrics_tick_seconds: 10, report_rollup_interval_seconds: 60, policy_refresh_seconds: 5, public_url: String::new() }
    }
}

/// How the retry worker behaves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkerConfig {
    /// Milliseconds an idle worker waits before looking for work again.
    pub poll_interval_ms: u64,
    /// Seconds a claim on a message holds before another process may take it over.
    pub claim_lease_seconds: u64,
    /// Attempts before a message is marked failed (it stays stored and visible).
    pub max_attempts: i64,
    /// First retry delay in seconds, doubled at each attempt up to `max_backoff_seconds`.
    pub base_backoff_seconds: u64,
    pub max_backoff_seconds: u64,
    /// Messages claimed per round.
    pub batch_size: i64,
}

impl Default for WorkerConfig {
    fn default() -> WorkerConfig {
        let defaults = sb_service::WorkerConfig::default();
        WorkerConfig {
            poll_interval_ms: defaults.poll_interval.as_millis() as u64,
            claim_lease_seconds: defaults.claim_lease.as_secs(),
            max_attempts: defaults.max_attempts,
            base_backoff_seconds: defaults.base_backoff.as_secs(),
            max_backoff_seconds: defaults.max_backoff.as_secs(),
            batch_size: defaults.batch_size,
        }
    }
}

impl WorkerConfig {
    pub fn to_service(&self) -> sb_service::WorkerConfig {
        sb_service::WorkerConfig {
            poll_interval: Duration::from_millis(self.poll_interval_ms),
            claim_lease: Duration::from_secs(self.claim_lease_seconds),
            max_attempts: self.max_attempts,
            base_backoff: Duration::from_secs(self.base_backoff_seconds),
            max_backoff: Duration::from_secs(self.max_backoff_seconds),
            batch_size: self.batch_size,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectorKind {
    /// The built-in demo store (the `orders` table).
    DemoStore,
    /// A Shopify-compatible Admin REST API.
    Shopify,
}

/// Where orders are looked up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OrdersConfig {
    pub connector: ConnectorKind,
    /// The shop's base URL (Shopify only), e.g. `https://example.myshopify.com`.
    pub shopify_url: Option<String>,
    /// Name of the environment variable that holds the Admin API token (never the token
    /// itself: config files get committed).
    pub shopify_token_env: String,
    pub shopify_api_version: String,
    pub shopify_timeout_seconds: u64,
}

impl Default for OrdersConfig {
    fn default() -> OrdersConfig {
        OrdersConfig {
            connector: ConnectorKind::DemoStore,
            shopify_url: None,
            shopify_token_env: "SWITCHBOARD_SHOPIFY_TOKEN".into(),
            shopify_api_version: "2024-10".into(),
            shopify_timeout_seconds: 10,
        }
    }
}

/// One rate-limit budget: a sustained `rate` and the `burst` allowed at once (0 turns it off).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSetting {
    pub rate: u32,
    pub burst: u32,
}

impl From<sb_server::RateLimit> for RateLimitSetting {
    fn from(limit: sb_server::RateLimit) -> RateLimitSetting {
        RateLimitSetting { rate: limit.rate, burst: limit.burst }
    }
}

impl From<RateLimitSetting> for sb_server::RateLimit {
    fn from(setting: RateLimitSetting) -> sb_server::RateLimit {
        sb_server::RateLimit { rate: setting.rate, burst: setting.burst }
    }
}

/// Sessions, cookies and rate limits (the HTTP edge's protection).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecurityConfig {
    /// Hours a console session lasts.
    pub session_ttl_hours: u32,
    /// Mark the session cookie `Secure`: turn on when the console is served over HTTPS.
    pub secure_cookies: bool,
    /// Requests per second per token or user, on everything but ingest.
    pub rate_limit_per_credential: RateLimitSetting,
    /// Requests per second per token or user on `POST /messages` and `/classify`.
    pub rate_limit_per_credential_ingest: RateLimitSetting,
    /// Requests per second per client IP on every `/api` request.
    pub rate_limit_per_ip: RateLimitSetting,
    /// Login attempts per client IP per minute.
    pub login_attempts_per_ip_per_minute: RateLimitSetting,
}

impl Default for SecurityConfig {
    fn default() -> SecurityConfig {
        let defaults = sb_server::SecurityConfig::default();
        SecurityConfig {
            session_ttl_hours: u32::try_from(defaults.session_ttl.num_hours()).unwrap_or(12),
            secure_cookies: defaults.secure_cookies,
            rate_limit_per_credential: defaults.rate_limits.per_credential.into(),
            rate_limit_per_credential_ingest: defaults.rate_limits.per_credential_ingest.into(),
            rate_limit_per_ip: defaults.rate_limits.per_ip.into(),
            login_attempts_per_ip_per_minute: defaults.rate_limits.logins_per_ip_per_minute.into(),
        }
    }
}

impl SecurityConfig {
    pub fn to_server(&self) -> sb_server::SecurityConfig {
        sb_server::SecurityConfig {
            rate_limits: sb_server::RateLimitConfig {
                per_credential: self.rate_limit_per_credential.into(),
                per_credential_ingest: self.rate_limit_per_credential_ingest.into(),
                per_ip: self.rate_limit_per_ip.into(),
                logins_per_ip_per_minute: self.login_attempts_per_ip_per_minute.into(),
            },
            session_ttl: chrono::TimeDelta::hours(i64::from(self.session_ttl_hours)),
            secure_cookies: self.secure_cookies,
            ..sb_server::SecurityConfig::default()
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// One JSON object per line (for log collectors): the request's span (request id, method,
    /// route) rides along on every line.
    Json,
    /// Human-readable lines (for a terminal).
    Text,
}

/// What `serve` logs, on standard error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    pub format: LogFormat,
    /// A level (`error`, `warn`, `info`, `debug`, `trace`) or per-module directives such as
    /// `info,sb_service=debug`. The SWITCHBOARD_LOG environment variable, when set, wins.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> LogConfig {
        LogConfig { format: LogFormat::Json, level: "info".into() }
    }
}

/// The customer chat widget (`/widget.js`, `/chat`, `/api/v1/chat/…`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChatConfig {
    /// Sites (`https://shop.example`, scheme and host only) whose pages may embed the widget
    /// and call the chat API from their own scripts. Empty: any site may embed the widget, and
    /// only the widget's own page calls the API.
    pub allowed_origins: Vec<String>,
    /// Conversations started per client IP per minute.
    pub starts_per_ip_per_minute: RateLimitSetting,
    /// Messages and typing signals per conversation per second.
    pub messages_per_conversation: RateLimitSetting,
}

impl Default for ChatConfig {
    fn default() -> ChatConfig {
        let defaults = sb_server::ChatConfig::default();
        ChatConfig { allowed_origins: defaults.allowed_origins, starts_per_ip_per_minute: defaults.starts_per_ip_per_minute.into(), messages_per_conversation: defaults.messages_per_conversation.into() }
    }
}

impl ChatConfig {
    pub fn to_server(&self) -> sb_server::ChatConfig {
        sb_server::ChatConfig {
            allowed_origins: self.allowed_origins.iter().map(|origin| origin.trim_end_matches('/').to_string()).collect(),
            starts_per_ip_per_minute: self.starts_per_ip_per_minute.into(),
            messages_per_conversation: self.messages_per_conversation.into(),
        }
    }

    fn problems(&self, problems: &mut Vec<String>) {
        for origin in &self.allowed_origins {
            let origin = origin.trim_end_matches('/');
            let well_formed = origin.split_once("://").is_some_and(|(scheme, host)| matches!(scheme, "http" | "https") && !host.is_empty() && !host.contains('/') && !host.contains(char::is_whitespace));
            if !well_formed {
                problems.push(format!("chat.allowed_origins: `{origin}` is not an origin like https://shop.example"));
            }
        }
        for (name, limit) in [("starts_per_ip_per_minute", self.starts_per_ip_per_minute), ("messages_per_conversation", self.messages_per_conversation)] {
            if limit.rate > 0 && limit.burst == 0 {
                problems.push(format!("chat.{name}: burst must be at least 1 when rate is set (rate 0 turns the limit off)"));
            }
        }
    }
}

/// The Prometheus endpoint, `GET /metrics`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Serve `/metrics` without credentials, for a scraper on a private network that cannot
    /// send a token. Otherwise it needs a token with the `read` or `admin` scope.
    pub public: bool,
}

/// The knowledge base's search index (derived from the database, rebuilt from it when
/// missing or from an older version).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KnowledgeConfig {
    /// Index folder, kept across restarts (rebuilt from the database when missing or from an
    /// older version); one per process. The similar-ticket index is kept beside it, in
    /// `<index_dir>-similar-tickets`. Empty: both are built in memory from the database at
    /// each start.
    pub index_dir: String,
    /// Seconds between checks that the index has every article version of the database (the
    /// changes other replicas saved).
    pub sync_interval_seconds: u64,
    /// Who signs the automatic answers written from reply templates (their `{{agent.name}}`);
    /// empty: an answer whose template names the agent goes to a person instead.
    pub answer_signer: String,
}

impl Default for KnowledgeConfig {
    fn default() -> KnowledgeConfig {
        KnowledgeConfig { index_dir: String::new(), sync_interval_seconds: 30, answer_signer: sb_service::DEFAULT_ANSWER_SIGNER.to_string() }
    }
}

/// The email channel: parsing limits, our own addresses, loop protection, threading, and the
/// SMTP server replies go out through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmailConfig {
    /// Our own addresses (`support@shop.example`) or whole domains (`@shop.example`): mail from
    /// them is never answered automatically.
    pub our_addresses: Vec<String>,
    /// Largest mail taken (webhook, import) and parsed, in bytes; the default takes a 25 MB
    /// attachment after base64.
    pub max_message_bytes: usize,
    /// Attachment content kept while parsing; a larger attachment keeps its name, type and size.
    pub max_attachment_bytes: usize,
    /// Automatic answers one sender gets per hour at most; then a person answers.
    pub max_auto_answers_per_sender_per_hour: u32,
    /// Hours the last-resort threading (same sender, same subject, open ticket) looks back;
    /// 0 turns it off.
    pub subject_thread_window_hours: u64,
    pub smtp: SmtpSettings,
    /// Mailboxes `serve` reads (`[[email.imap]]`, one table per mailbox); none by default.
    pub imap: Vec<ImapMailbox>,
}

impl Default for EmailConfig {
    fn default() -> EmailConfig {
        let defaults = sb_service::EmailConfig::default();
        EmailConfig {
            our_addresses: defaults.our_addresses,
            max_message_bytes: defaults.limits.max_message_bytes,
            max_attachment_bytes: defaults.limits.max_attachment_bytes,
            max_auto_answers_per_sender_per_hour: defaults.max_auto_answers_per_sender_per_hour,
            subject_thread_window_hours: defaults.subject_thread_window.as_secs() / 3600,
            smtp: SmtpSettings::default(),
            imap: Vec::new(),
        }
    }
}

impl EmailConfig {
    pub fn to_service(&self) -> sb_service::EmailConfig {
        let mut email = sb_service::EmailConfig::default();
        email.limits.max_message_bytes = self.max_message_bytes;
        email.limits.max_attachment_bytes = self.max_attachment_bytes;
        email.our_addresses = self.our_addresses.clone();
        if !self.smtp.from_address.is_empty() && !email.our_addresses.contains(&self.smtp.from_address) {
            email.our_addresses.push(self.smtp.from_address.clone());
        }
        email.max_auto_answers_per_sender_per_hour = self.max_auto_answers_per_sender_per_hour;
        email.subject_thread_window = Duration::from_secs(self.subject_thread_window_hours.saturating_mul(3600));
        email
    }
}

/// One IMAP mailbox read into the pipeline (unseen mail, flagged seen once stored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImapMailbox {
    /// A short name for metrics and logs (`support`, `returns`).
    pub name: String,
    pub host: String,
    #[serde(default = "default_imaps_port")]
    pub port: u16,
    /// `tls` (port 993), `starttls` (port 143, upgraded before the login) or `none` (a server
    /// on this host only).
    #[serde(default = "default_imap_tls")]
    pub tls: sb_mailnet::ImapTls,
    pub username: String,
    /// Name of the environment variable that holds the password or app token.
    pub password_env: String,
    #[serde(default = "default_imap_folder")]
    pub folder: String,
    /// Folder stored mail is moved to (created when missing); empty: it stays in `folder`,
    /// flagged `\Seen`.
    #[serde(default)]
    pub processed_folder: String,
    /// A PEM file of extra trusted certificates (a private CA); empty for none.
    #[serde(default)]
    pub ca_file: String,
    /// Seconds between checks when the server has no IDLE.
    #[serde(default = "default_imap_poll_seconds")]
    pub poll_interval_seconds: u64,
}

fn default_imaps_port() -> u16 {
    993
}

fn default_imap_tls() -> sb_mailnet::ImapTls {
    sb_mailnet::ImapTls::Tls
}

fn default_imap_folder() -> String {
    "INBOX".into()
}

fn default_imap_poll_seconds() -> u64 {
    30
}

impl ImapMailbox {
    /// The reader's settings, with the password read from the environment.
    pub fn to_reader(&self) -> sb_mailnet::ImapConfig {
        let password = std::env::var(&self.password_env).unwrap_or_default();
        let mut config = sb_mailnet::ImapConfig::new(self.name.clone(), self.host.clone(), self.port, self.tls, self.username.clone(), password);
        config.folder = self.folder.clone();
        config.processed_folder = Some(self.processed_folder.clone()).filter(|folder| !folder.is_empty());
        config.ca_file = Some(std::path::PathBuf::from(&self.ca_file)).filter(|path| !path.as_os_str().is_empty());
        config.poll_interval = Duration::from_secs(self.poll_interval_seconds.max(1));
        config
    }

    fn problems(&self, problems: &mut Vec<String>) {
        let name = &self.name;
        if name.is_empty() || !name.chars().all(|character| character.is_ascii_alphanumeric() || character == '-' || character == '_') {
            problems.push(format!("email.imap: name `{name}` must be letters, digits, - and _"));
        }
        if self.host.trim().is_empty() {
            problems.push(format!("email.imap `{name}`: host is required"));
        }
        if std::env::var(&self.password_env).map_or(true, |password| password.is_empty()) {
            problems.push(format!("email.imap `{name}`: the environment variable {} must hold the password of {}", self.password_env, self.username));
        }
        if !self.ca_file.is_empty() && !Path::new(&self.ca_file).is_file() {
            problems.push(format!("email.imap `{name}`: ca_file {} does not exist", self.ca_file));
        }
    }
}

/// Outgoing mail: replies and automatic answers from the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpSettings {
    /// Send email replies from `serve`; off by default (they wait in the outbox).
    pub enabled: bool,
    pub host: String,
    pub port: u16,
    /// `starttls` (port 587), `tls` (port 465) or `none` (a relay on this host only).
    pub tls: sb_mailnet::TlsMode,
    /// Login name; empty for a server without authentication.
    pub username: String,
    /// Name of the environment variable that holds the password (never the password itself).
    pub password_env: String,
    /// The From of every reply.
    pub from_address: String,
    pub from_name: String,
    /// The right side of Message-IDs; empty: the from address's domain.
    pub message_id_domain: String,
    /// Appended below every reply.
    pub signature: String,
    pub timeout_seconds: u64,
    pub poll_interval_ms: u64,
    /// Attempts before a reply is marked failed; retries wait `base_backoff_seconds`, doubling
    /// up to `max_backoff_seconds`.
    pub max_attempts: i64,
    pub base_backoff_seconds: u64,
    pub max_backoff_seconds: u64,
    /// Keep a copy of every sent mail in this folder (e.g. `Sent`, created when missing) of the
    /// `[[email.imap]]` mailbox named `sent_folder_mailbox`, over its server and login; a reply
    /// whose sender died after the server's `250` is found there and not sent twice. Empty:
    /// no copy.
    pub sent_folder: String,
    pub sent_folder_mailbox: String,
}

impl Default for SmtpSettings {
    fn default() -> SmtpSettings {
        let defaults = sb_mailnet::SmtpConfig::new("", 587, sb_mailnet::TlsMode::Starttls, "");
        SmtpSettings {
            enabled: false,
            host: String::new(),
            port: defaults.port,
            tls: defaults.tls,
            username: String::new(),
            password_env: "SWITCHBOARD_SMTP_PASSWORD".into(),
            from_address: String::new(),
            from_name: String::new(),
            message_id_domain: String::new(),
            signature: String::new(),
            timeout_seconds: defaults.timeout.as_secs(),
            poll_interval_ms: defaults.poll_interval.as_millis() as u64,
            max_attempts: defaults.max_attempts,
            base_backoff_seconds: defaults.base_backoff.as_secs(),
            max_backoff_seconds: defaults.max_backoff.as_secs(),
            sent_folder: String::new(),
            sent_folder_mailbox: String::new(),
        }
    }
}

impl SmtpSettings {
    /// The sender's settings with the password read from the environment (`None` when off);
    /// the Sent folder's login is that of the mailbox of `mailboxes` it names.
    pub fn to_sender(&self, mailboxes: &[ImapMailbox]) -> Option<sb_mailnet::SmtpConfig> {
        if !self.enabled {
            return None;
        }
        let mut config = sb_mailnet::SmtpConfig::new(self.host.clone(), self.port, self.tls, self.from_address.clone());
        if !self.username.is_empty() {
            config.username = Some(self.username.clone());
            config.password = std::env::var(&self.password_env).ok();
        }
        config.from_name = Some(self.from_name.clone()).filter(|name| !name.is_empty());
        config.message_id_domain = self.message_id_domain.clone();
        config.signature = self.signature.clone();
        config.timeout = Duration::from_secs(self.timeout_seconds.max(1));
        config.poll_interval = Duration::from_millis(self.poll_interval_ms.max(10));
        config.max_attempts = self.max_attempts;
        config.base_backoff = Duration::from_secs(self.base_backoff_seconds);
        config.max_backoff = Duration::from_secs(self.max_backoff_seconds);
        if !self.sent_folder.is_empty() {
            config.sent_folder = mailboxes.iter().find(|mailbox| mailbox.name == self.sent_folder_mailbox).map(|mailbox| {
                let mut imap = mailbox.to_reader();
                imap.folder = self.sent_folder.clone();
                imap
            });
        }
        Some(config)
    }

    fn problems(&self, mailboxes: &[ImapMailbox], problems: &mut Vec<String>) {
        if !self.enabled {
            return;
        }
        if !self.sent_folder.is_empty() {
            match mailboxes.iter().find(|mailbox| mailbox.name == self.sent_folder_mailbox) {
                None => problems.push(format!("email.smtp.sent_folder_mailbox: `{}` names no [[email.imap]] mailbox (the Sent folder `{}` is reached through one)", self.sent_folder_mailbox, self.sent_folder)),
                // The reader would take every sent reply in as a customer's mail.
                Some(mailbox) if self.sent_folder.eq_ignore_ascii_case(&mailbox.folder) || self.sent_folder.eq_ignore_ascii_case(&mailbox.processed_folder) => {
                    problems.push(format!("email.smtp.sent_folder: `{}` is a folder the mailbox `{}` reads or moves mail to; use a folder of its own, such as `Sent`", self.sent_folder, mailbox.name));
                }
                Some(_) => {}
            }
        }
        if self.host.trim().is_empty() {
            problems.push("email.smtp.host: required when email.smtp.enabled = true".into());
        }
        if !self.from_address.contains('@') {
            problems.push(format!("email.smtp.from_address: `{}` is not an address", self.from_address));
        }
        if self.max_attempts < 1 {
            problems.push("email.smtp.max_attempts: must be at least 1".into());
        }
        if !self.username.is_empty() && std::env::var(&self.password_env).map_or(true, |password| password.is_empty()) {
            problems.push(format!("email.smtp: the environment variable {} must hold the password of {}", self.password_env, self.username));
        }
    }
}

/// Reads the layers (the file only when given) and validates the result.
pub fn load(file: Option<&Path>) -> Result<Config> {
    let mut figment = Figment::from(Serialized::defaults(Config::default()));
    if let Some(file) = file {
        if !file.exists() {
            bail!("config file {} does not exist (see config/switchboard.example.toml)", file.display());
        }
        figment = figment.merge(Toml::file(file));
    }
    figment = figment.merge(Env::prefixed("SWITCHBOARD__").split("__"));
    let config: Config = match figment.extract() {
        Ok(config) => config,
        Err(errors) => {
            let messages: Vec<String> = errors.into_iter().map(|error| format!("  - {error}")).collect();
            bail!("the configuration has {} problem(s):\n{}", messages.len(), messages.join("\n"));
        }
    };
    validate(&config)?;
    Ok(config)
}

/// Every semantic problem at once.
pub fn validate(config: &Config) -> Result<()> {
    let mut problems: Vec<String> = Vec::new();
    if let Err(error) = config.policy.validate() {
        problems.push(format!("policy: {error}"));
    }
    if !config.sla_policies.is_empty() {
        if let Err(error) = sb_policy::sla::validate_sla_policies(&config.sla_policies) {
            problems.push(format!("sla_policies: {error}"));
        }
    }
    if config.server.workers > 64 {
        problems.push(format!("server.workers: {} is more than 64", config.server.workers));
    }
    if config.worker.max_attempts < 1 {
        problems.push("worker.max_attempts: must be at least 1".into());
    }
    if config.worker.batch_size < 1 {
        problems.push("worker.batch_size: must be at least 1".into());
    }
    if config.security.session_ttl_hours == 0 || config.security.session_ttl_hours > 24 * 30 {
        problems.push(format!("security.session_ttl_hours: {} is outside 1..=720", config.security.session_ttl_hours));
    }
    for (name, limit) in [
        ("rate_limit_per_credential", config.security.rate_limit_per_credential),
        ("rate_limit_per_credential_ingest", config.security.rate_limit_per_credential_ingest),
        ("rate_limit_per_ip", config.security.rate_limit_per_ip),
        ("login_attempts_per_ip_per_minute", config.security.login_attempts_per_ip_per_minute),
    ] {
        if limit.rate > 0 && limit.burst == 0 {
            problems.push(format!("security.{name}: burst must be at least 1 when rate is set (rate 0 turns the limit off)"));
        }
    }
    if let Err(error) = tracing_subscriber::EnvFilter::try_new(&config.log.level) {
        problems.push(format!("log.level: `{}` is not a level or filter directive ({error})", config.log.level));
    }
    if config.orders.connector == ConnectorKind::Shopify {
        if config.orders.shopify_url.as_deref().is_none_or(str::is_empty) {
            problems.push("orders.shopify_url: required when orders.connector = \"shopify\"".into());
        }
        if std::env::var(&config.orders.shopify_token_env).map_or(true, |token| token.trim().is_empty()) {
            problems.push(format!("orders: the environment variable {} must hold the Shopify Admin API token", config.orders.shopify_token_env));
        }
    }
    if config.email.max_message_bytes < 1024 {
        problems.push(format!("email.max_message_bytes: {} is less than 1024", config.email.max_message_bytes));
    }
    config.email.smtp.problems(&config.email.imap, &mut problems);
    config.chat.problems(&mut problems);
    config.routing.problems(&mut problems);
    for mailbox in &config.email.imap {
        mailbox.problems(&mut problems);
    }
    let mut names: Vec<&str> = config.email.imap.iter().map(|mailbox| mailbox.name.as_str()).collect();
    names.sort_unstable();
    if names.windows(2).any(|pair| pair[0] == pair[1]) {
        problems.push("email.imap: two mailboxes have the same name".into());
    }
    if problems.is_empty() {
        return Ok(());
    }
    bail!("the configuration has {} problem(s):\n{}", problems.len(), problems.iter().map(|problem| format!("  - {problem}")).collect::<Vec<_>>().join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(toml: &str) -> Result<Config> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("switchboard.toml");
        std::fs::write(&path, toml).unwrap();
        load(Some(&path))
    }

    #[test]
    fn defaults_load_and_validate() {
        let config = load(None).unwrap();
        assert_eq!(config, Config::default());
    }

    #[test]
    fn a_file_overrides_defaults_per_key() {
        let config = load_text(
            r#"
            [server]
            addr = "0.0.0.0:9000"
            [policy]
            auto_reply_confidence_threshold = 0.9
            [policy.auto_reply_confidence_by_intent]
            track_order = 0.8
            "#,
        )
        .unwrap();
        assert_eq!(config.server.addr.port(), 9000);
        assert_eq!(config.server.db, crate::server::DEFAULT_DB_URL);
        assert_eq!(config.policy.auto_reply_confidence_threshold, 0.9);
        assert_eq!(config.policy.auto_reply_threshold_for(sb_domain::Intent::TrackOrder), 0.8);
    }

    #[test]
    fn the_security_section_reaches_the_http_edge() {
        let config = load_text(
            r#"
            [security]
            secure_cookies = true
            session_ttl_hours = 8
            rate_limit_per_ip = { rate = 5, burst = 10 }
            "#,
        )
        .unwrap();
        let server = config.security.to_server();
        assert!(server.secure_cookies);
        assert_eq!(server.session_ttl, chrono::TimeDelta::hours(8));
        assert_eq!(server.rate_limits.per_ip, sb_server::RateLimit { rate: 5, burst: 10 });
        assert_eq!(server.rate_limits.per_credential, sb_server::RateLimitConfig::default().per_credential);
        assert_eq!(SecurityConfig::default().to_server().rate_limits, sb_server::RateLimitConfig::default());

        let error = load_text("[security]\nsession_ttl_hours = 0\nrate_limit_per_credential = { rate = 5, burst = 0 }\n").unwrap_err().to_string();
        assert!(error.contains("2 problem(s)"), "{error}");
        assert!(error.contains("security.session_ttl_hours") && error.contains("security.rate_limit_per_credential"), "{error}");
    }

    #[test]
    fn unknown_keys_and_bad_values_are_all_reported() {
        let error = load_text("[server]\nport = 80\n").unwrap_err().to_string();
        assert!(error.contains("port"), "{error}");
        let error = load_text("[policy]\nauto_reply_confidence_threshold = 1.5\nlow_confidence_threshold = -1\n[worker]\nmax_attempts = 0\n").unwrap_err().to_string();
        assert!(error.contains("worker.max_attempts") && error.contains("policy"), "{error}");
        let error = load_text("[orders]\nconnector = \"shopify\"\nshopify_token_env = \"SB_TEST_UNSET_TOKEN_VARIABLE\"\n").unwrap_err().to_string();
        assert!(error.contains("shopify_url") && error.contains("SB_TEST_UNSET_TOKEN_VARIABLE"), "{error}");
        let error = load_text("[log]\nformat = \"xml\"\n").unwrap_err().to_string();
        assert!(error.contains("xml"), "{error}");
        let error = load_text("[log]\nlevel = \"info,sb_service=loud\"\n").unwrap_err().to_string();
        assert!(error.contains("log.level"), "{error}");
    }

    #[test]
    fn log_and_metrics_settings_come_from_the_file() {
        let config = load_text("[log]\nformat = \"text\"\nlevel = \"warn,sb_server=debug\"\n[metrics]\npublic = true\n").unwrap();
        assert_eq!(config.log, LogConfig { format: LogFormat::Text, level: "warn,sb_server=debug".into() });
        assert!(config.metrics.public);
        assert_eq!(load(None).unwrap().log.format, LogFormat::Json, "JSON lines by default");
    }

    #[test]
    fn the_email_section_reaches_the_service_and_the_sender() {
        let config = load_text(
            r#"
            [email]
            our_addresses = ["@shop.example"]
            max_message_bytes = 1000000
            subject_thread_window_hours = 0
            [email.smtp]
            enabled = true
            host = "127.0.0.1"
            port = 2525
            tls = "none"
            from_address = "support@shop.example"
            signature = "The Shop team"
            "#,
        )
        .unwrap();
        let email = config.email.to_service();
        assert_eq!(email.our_addresses, vec!["@shop.example".to_string(), "support@shop.example".to_string()]);
        assert_eq!(email.limits.max_message_bytes, 1_000_000);
        assert!(email.subject_thread_window.is_zero());
        let smtp = config.email.smtp.to_sender(&config.email.imap).unwrap();
        assert_eq!((smtp.host.as_str(), smtp.port, smtp.tls, smtp.signature.as_str(), smtp.sent_folder.is_none()), ("127.0.0.1", 2525, sb_mailnet::TlsMode::None, "The Shop team", true));
        assert!(Config::default().email.smtp.to_sender(&[]).is_none(), "off by default");

        let mailbox = "[[email.imap]]\nname = \"support\"\nhost = \"imap.shop.example\"\nusername = \"support@shop.example\"\npassword_env = \"PATH\"\n";
        let smtp = "[email.smtp]\nenabled = true\nhost = \"smtp.shop.example\"\nfrom_address = \"support@shop.example\"\nsent_folder = \"Sent\"\n";
        let config = load_text(&format!("{smtp}sent_folder_mailbox = \"support\"\n{mailbox}")).unwrap();
        let sent = config.email.smtp.to_sender(&config.email.imap).unwrap().sent_folder.expect("a Sent folder");
        assert_eq!((sent.host.as_str(), sent.folder.as_str(), sent.username.as_str()), ("imap.shop.example", "Sent", "support@shop.example"), "the named mailbox's server and login");
        let error = load_text(&format!("{smtp}sent_folder_mailbox = \"returns\"\n{mailbox}")).unwrap_err().to_string();
        assert!(error.contains("names no [[email.imap]] mailbox"), "{error}");
        let error = load_text(&format!("{}sent_folder_mailbox = \"support\"\n{mailbox}", smtp.replace("\"Sent\"", "\"INBOX\""))).unwrap_err().to_string();
        assert!(error.contains("a folder the mailbox `support` reads"), "{error}");

        let config = load_text("[[email.imap]]\nname = \"support\"\nhost = \"imap.shop.example\"\nusername = \"support@shop.example\"\npassword_env = \"PATH\"\n").unwrap();
        let reader = config.email.imap[0].to_reader();
        assert_eq!((reader.port, reader.tls, reader.folder.as_str(), reader.ca_file.is_none()), (993, sb_mailnet::ImapTls::Tls, "INBOX", true), "TLS on 993 and INBOX unless told");
        let error = load_text("[[email.imap]]\nname = \"a b\"\nhost = \"\"\nusername = \"u\"\npassword_env = \"SB_TEST_UNSET_IMAP_PASSWORD\"\nca_file = \"/nonexistent.pem\"\n").unwrap_err().to_string();
        assert!(error.contains("4 problem(s)") && error.contains("SB_TEST_UNSET_IMAP_PASSWORD") && error.contains("ca_file"), "{error}");

        let error = load_text("[email.smtp]\nenabled = true\nfrom_address = \"nobody\"\nusername = \"u\"\npassword_env = \"SB_TEST_UNSET_SMTP_PASSWORD\"\n").unwrap_err().to_string();
        assert!(error.contains("3 problem(s)"), "{error}");
        assert!(error.contains("email.smtp.host") && error.contains("email.smtp.from_address") && error.contains("SB_TEST_UNSET_SMTP_PASSWORD"), "{error}");
    }

    #[test]
    fn the_example_file_parses_to_the_defaults() {
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/switchboard.example.toml");
        assert_eq!(load(Some(&example)).unwrap(), Config::default());
    }

    #[test]
    fn a_missing_file_says_where_the_example_is() {
        let error = load(Some(Path::new("/nonexistent/switchboard.toml"))).unwrap_err().to_string();
        assert!(error.contains("switchboard.example.toml"), "{error}");
    }
}
