//! Switchboard's system of record: one API over two backends.
//!
//! SQLite is the embedded default (one file, WAL, `synchronous = FULL` so a committed write
//! survives a crash before the sender is acknowledged); PostgreSQL is the production store that
//! several server processes share. Both run the same SQL wherever the dialects agree; the few
//! places they differ (claiming work with `FOR UPDATE SKIP LOCKED`, serialising the audit chain)
//! branch on [`Backend`]. The conformance suite in `tests/it` runs every test on both.
//!
//! Invariants:
//! - Times are stored as milliseconds since the Unix epoch (UTC) on both backends.
//! - Every multi-row change is one transaction: nothing is stored half-way.
//! - Compliance records and the audit log are append-only (database triggers enforce it).
//! - The raw payload of an inbound message is kept byte for byte.
//! - On SQLite all writes go through one connection (a single writer never meets
//!   `SQLITE_BUSY`); reads use a separate pool and see committed data (WAL). The pipeline's
//!   durable writes (ingest, record triage, or both at once) are group-committed by a writer
//!   task (`writer.rs`): one sync for all the requests waiting, each answered after that commit.
//! - Processes sharing a PostgreSQL database hear each other through LISTEN/NOTIFY
//!   (`notify.rs`: [`Store::notify`], [`Store::listen`]); SQLite has one process per file.

mod alerts;
mod audit;
mod auth;
mod chat;
mod csat;
mod error;
mod ingest;
mod kb;
mod mail;
mod notify;
mod orders;
mod outbox;
mod policy;
mod records;
mod reports;
mod routing;
mod sqlite_batch;
mod stats;
mod tickets;
mod writer;

use sqlx::AssertSqlSafe;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

pub use crate::audit::{AuditEntry, AuditFilter, AuditVerification, NewAuditEntry};
pub use crate::chat::{ChatConversation, ChatMessage};
pub use crate::csat::{CsatRating, CsatSurvey};
pub use crate::auth::{parse_scopes, secret_hash, ApiToken, NewUser, Role, Scope, Session, User};
pub use crate::error::{Error, Result};
pub use crate::ingest::{ClaimedMessage, FinishTriage, Ingested, IngestedRows, IngestedWithTriage, NewCustomer, NewInbound, RecordedTriage, TicketTriageUpdate, TriageOutcome};
pub use crate::alerts::{mailto_address, webhook_payload, Alert, AlertInputs, AlertSeverity, AlertStatus, DeliveryOutcome, DeliveryTarget, DueDelivery, NewAlert, Raised, Webhook, WebhookDelivery};
pub use crate::kb::{valid_slug, Article, ArticleChange, ArticleFilter, ArticleStatus, ArticleVersion, ImportOutcome, NewArticle, NewTemplate, ReplyTemplate, TemplateKind};
pub use crate::mail::MAX_THREAD_LOOKUP_IDS;
pub use crate::notify::{Notification, Notifications, MAX_NOTIFICATION_BYTES};
pub use crate::orders::normalise_order_number;
pub use crate::outbox::OutboxItem;
pub use crate::policy::{PolicyOverride, PolicyOverrideChange, PolicyOverrideKind, PolicyOverrides};
pub use crate::records::{
    ComplianceRecord, Customer, DecisionRow, Direction, MessageRow, MessageStage, Queue, SlaEvent, SlaPolicyRow, Ticket, TicketStatus,
    TriageRow,
};
pub use crate::reports::{
    parse_time_zone, start_of_local_day, write_csv, AgentRow, AutomationRow, CategoryRow, CostRow, Customer360, CustomerOrderRow, CustomerTicketRow, NewLlmUsage, ParamError, PendingRow, Period,
    RealtimeRow, ReportName, ReportWindow, RollupRefresh, SentimentPoint, SlaDimension, SlaRow, WindowParams, DEFAULT_DAYS, MAX_PERIODS,
};
pub use crate::routing::{AgentRouting, PresenceStatus, ReleasedTickets, RoutableAgent, RoutableTicket, RoutedTicket, RoutingSkills, RoutingSnapshot, DEFAULT_MAX_CHATS, DEFAULT_MAX_OPEN_TICKETS, MAX_CAPACITY};
pub use crate::stats::{QueueDepth, TriageBacklog, OPEN_TICKET_STATUSES};
pub use crate::tickets::{NewComplianceRecord, NewOutbound, Page, TicketFilter, TicketUpdate};

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Which database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

#[derive(Clone)]
enum Pools {
    /// `group_commit` batches the pipeline's durable writes onto `writer` (see `writer.rs`).
    Sqlite { writer: SqlitePool, reader: SqlitePool, group_commit: writer::GroupCommit },
    Postgres(PgPool),
}

/// Connection settings beyond the URL.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Connections in the PostgreSQL pool, or SQLite readers (SQLite always has one writer).
    pub max_connections: u32,
    /// PostgreSQL only: schema to use (created if missing). Tests give each test its own.
    pub postgres_schema: Option<String>,
    /// How long to wait for a connection (and, on SQLite, for a lock) before failing.
    pub acquire_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> StoreOptions {
        StoreOptions { max_connections: 8, postgres_schema: None, acquire_timeout: Duration::from_secs(10) }
    }
}

/// The store. Cheap to clone (pools are shared).
#[derive(Clone)]
pub struct Store {
    pools: Pools,
    /// PostgreSQL: the LISTEN/NOTIFY channel of this database and schema (see `notify.rs`).
    notification_channel: Option<String>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("Store").field("backend", &self.backend()).finish()
    }
}

/// Runs `$body` with `$pool` bound to the backend's pool: the SQL is written once and compiled
/// for each driver. `$writer` is the SQLite writer (the PostgreSQL pool otherwise).
macro_rules! on_writer {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.pools {
            $crate::Pools::Sqlite { writer: $pool, .. } => $body,
            $crate::Pools::Postgres($pool) => $body,
        }
    };
}
macro_rules! on_reader {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.pools {
            $crate::Pools::Sqlite { reader: $pool, .. } => $body,
            $crate::Pools::Postgres($pool) => $body,
        }
    };
}
pub(crate) use {on_reader, on_writer};

impl Store {
    /// Connects to `sqlite://path/to/file.db` (created if missing) or `postgres://…`.
    /// Does not migrate: call [`Store::migrate`].
    pub async fn connect(url: &str, options: &StoreOptions) -> Result<Store> {
        if url.starts_with("sqlite:") {
            return Store::connect_sqlite(url, options).await;
        }
        if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            return Store::connect_postgres(url, options).await;
        }
        Err(Error::BadUrl(format!("`{}` is neither sqlite://FILE nor postgres://…", redact_url(url))))
    }

    async fn connect_sqlite(url: &str, options: &StoreOptions) -> Result<Store> {
        let connect_options = SqliteConnectOptions::from_str(url)
            .map_err(|error| Error::BadUrl(format!("{}: {error}", redact_url(url))))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: the WAL is synced at every commit, so an acknowledged message survives a
            // power cut, not only a killed process.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            // Savepoints (one per request in a group commit) journal into memory, not into a
            // temporary file written at every first change of a page.
            .pragma("temp_store", "memory")
            // The WAL is checkpointed in the background (writer.rs); this is the backstop.
            .pragma("wal_autocheckpoint", writer::WAL_AUTOCHECKPOINT_PAGES.to_string())
            .busy_timeout(options.acquire_timeout);
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect_options.clone())
            .await
            .map_err(|error| Error::Connect(format!("{}: {error}", redact_url(url))))?;
        let reader = SqlitePoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect_options.read_only(false))
            .await
            .map_err(|error| Error::Connect(format!("{}: {error}", redact_url(url))))?;
        let group_commit = writer::GroupCommit::start(writer.clone(), reader.clone());
        Ok(Store { pools: Pools::Sqlite { writer, reader, group_commit }, notification_channel: None })
    }

    async fn connect_postgres(url: &str, options: &StoreOptions) -> Result<Store> {
        let mut connect_options = PgConnectOptions::from_str(url).map_err(|error| Error::BadUrl(format!("{}: {error}", redact_url(url))))?;
        if let Some(schema) = &options.postgres_schema {
            if !schema.chars().all(|character| character.is_ascii_alphanumeric() || character == '_') {
                return Err(Error::BadUrl(format!("schema name `{schema}` must be letters, digits and _")));
            }
            // Create the schema on a plain connection first, then point every pooled
            // connection's search_path at it.
            let bootstrap = PgPoolOptions::new()
                .max_connections(1)
                .acquire_timeout(options.acquire_timeout)
                .connect_with(connect_options.clone())
                .await
                .map_err(|error| Error::Connect(format!("{}: {error}", redact_url(url))))?;
            sqlx::query(AssertSqlSafe(&*format!("CREATE SCHEMA IF NOT EXISTS {schema}"))).execute(&bootstrap).await?;
            bootstrap.close().await;
            connect_options = connect_options.options([("search_path", schema.as_str())]);
        }
        // No JIT: the store's expensive queries are the reports, which read tens of thousands of
        // index entries in tens of milliseconds; compiling them took as long again or longer
        // (30-day SLA report 71 ms with JIT, 38 ms without; automation 658 ms against 327 ms).
        connect_options = connect_options.options([("jit", "off")]);
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(2))
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect_options)
            .await
            .map_err(|error| Error::Connect(format!("{}: {error}", redact_url(url))))?;
        let notification_channel = notify::channel_name(options.postgres_schema.as_deref());
        Ok(Store { pools: Pools::Postgres(pool), notification_channel: Some(notification_channel) })
    }

    pub fn backend(&self) -> Backend {
        match self.pools {
            Pools::Sqlite { .. } => Backend::Sqlite,
            Pools::Postgres(_) => Backend::Postgres,
        }
    }

    /// Applies pending migrations. Safe to run from several processes at once (sqlx takes an
    /// advisory lock on PostgreSQL; SQLite has one writer).
    pub async fn migrate(&self) -> Result<()> {
        match &self.pools {
            Pools::Sqlite { writer, .. } => SQLITE_MIGRATIONS.run(writer).await?,
            Pools::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await?,
        }
        Ok(())
    }

    /// True when the database answers and every migration this binary knows is applied: what
    /// `/ready` reports.
    pub async fn is_ready(&self) -> Result<bool> {
        let migrator = match self.backend() {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        let expected = migrator.iter().filter(|migration| migration.migration_type.is_up_migration()).count() as i64;
        let applied: Result<i64> = on_reader!(self, |pool| {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM _sqlx_migrations WHERE success").fetch_one(pool).await.map_err(Error::from)
        });
        match applied {
            Ok(applied) => Ok(applied >= expected),
            Err(Error::Database(_)) => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// Closes the pools, waiting for connections in use to be returned.
    pub async fn close(&self) {
        match &self.pools {
            Pools::Sqlite { writer, reader, .. } => {
                reader.close().await;
                writer.close().await;
            }
            Pools::Postgres(pool) => pool.close().await,
        }
    }

    /// Drops the schema given in [`StoreOptions::postgres_schema`] (tests clean up with it).
    pub async fn drop_postgres_schema(&self, schema: &str) -> Result<()> {
        if let Pools::Postgres(pool) = &self.pools {
            sqlx::query(AssertSqlSafe(&*format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))).execute(pool).await?;
        }
        Ok(())
    }
}

/// Hides the password of a database URL before it reaches a log or an error message.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let Some((credentials, host)) = rest.split_once('@') else { return url.to_string() };
    match credentials.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

pub(crate) fn to_ms(time: DateTime<Utc>) -> i64 {
    time.timestamp_millis()
}

pub(crate) fn from_ms(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or(DateTime::<Utc>::MIN_UTC)
}

pub(crate) fn from_ms_opt(ms: Option<i64>) -> Option<DateTime<Utc>> {
    ms.map(from_ms)
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn urls_lose_their_password() {
        assert_eq!(redact_url("postgres://sb:secret@db:5432/sb"), "postgres://sb:***@db:5432/sb");
        assert_eq!(redact_url("postgres://postgres@127.0.0.1/test"), "postgres://postgres@127.0.0.1/test");
        assert_eq!(redact_url("sqlite://data/switchboard.db"), "sqlite://data/switchboard.db");
    }
}
