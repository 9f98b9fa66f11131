//! `serve`, `migrate`, `token create` and `user create`: wiring the store, models, service and
//! HTTP server.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use sb_service::{DemoStoreConnector, Service, ServiceConfig};
use sb_store::{Store, StoreOptions};
use sb_triage::{TriageConfig, TriageEngine};

use crate::{models, progress};

/// Where the embedded database lives unless `--db` or `SWITCHBOARD_DB` says otherwise.
pub const DEFAULT_DB_URL: &str = "sqlite://var/switchboard.db";

#[derive(clap::Args)]
pub struct DbArgs {
    /// Database: `sqlite://FILE` (created if missing) or `postgres://USER@HOST/DB`.
    #[arg(long, env = "SWITCHBOARD_DB", default_value = DEFAULT_DB_URL)]
    pub(crate) db: String,
}

#[derive(clap::Args)]
pub struct ServeArgs {
    /// Configuration file (TOML; see config/switchboard.example.toml).
    #[arg(long, env = "SWITCHBOARD_CONFIG")]
    config: Option<PathBuf>,
    /// Database: `sqlite://FILE` (created if missing) or `postgres://USER@HOST/DB` [default:
    /// server.db of the config, sqlite://var/switchboard.db].
    #[arg(long, env = "SWITCHBOARD_DB")]
    db: Option<String>,
    /// Address to listen on [default: server.addr of the config, 127.0.0.1:8080].
    #[arg(long, env = "SWITCHBOARD_ADDR")]
    addr: Option<SocketAddr>,
    /// Load demo customers, orders and a few hundred tickets (unless already loaded) and
    /// create a demo API token, saved next to an SQLite database.
    #[arg(long)]
    demo: bool,
    /// How many demo tickets to send through the pipeline.
    #[arg(long, default_value_t = 300)]
    demo_tickets: usize,
    /// Use TF-IDF features only, even when the MiniLM files are present.
    #[arg(long)]
    no_embeddings: bool,
    /// Background triage workers in this process [default: server.workers of the config, 1].
    #[arg(long)]
    workers: Option<usize>,
}

#[derive(clap::Subcommand)]
pub enum AuditCommand {
    /// Walk the hash chain of the audit log and report the first tampered entry (exit 1 if any).
    Verify {
        #[command(flatten)]
        db: DbArgs,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(clap::Subcommand)]
pub enum UserCommand {
    /// Create a console user. The password comes from standard input (`--password-stdin`) or
    /// the SWITCHBOARD_PASSWORD environment variable, never from a flag (flags show in `ps`
    /// and in shell history).
    Create {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// admin, supervisor, agent, compliance or viewer.
        #[arg(long)]
        role: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(clap::Subcommand)]
pub enum TokenCommand {
    /// Create an API token; the token is printed alone on the last line (shown once).
    Create {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        name: String,
        /// Comma-separated: ingest, read, write, admin.
        #[arg(long)]
        scopes: String,
    },
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")
}

/// Connects (creating an SQLite file's folder) and migrates.
pub(crate) async fn open_store(url: &str) -> Result<Store> {
    if let Some(path) = sqlite_path(url) {
        if let Some(parent) = path.parent().filter(|parent| !parent.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).with_context(|| format!("cannot create the database folder {}", parent.display()))?;
        }
    }
    let store = Store::connect(url, &StoreOptions::default()).await?;
    store.migrate().await?;
    Ok(store)
}

/// A service on the database of `db` for the CLI's one-off commands: no models, the demo order
/// connector, default configuration.
pub(crate) async fn open_service(db: &DbArgs) -> Result<Service> {
    let store = open_store(&db.db).await.with_context(|| format!("cannot open the database {}", sb_store::redact_url(&db.db)))?;
    Ok(Service::new(store.clone(), None, Arc::new(DemoStoreConnector::new(store)), ServiceConfig::new(Default::default())))
}

pub(crate) fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

pub fn migrate(args: DbArgs) -> Result<ExitCode> {
    runtime()?.block_on(async {
        let store = open_store(&args.db).await?;
        tracing::info!(backend = store.backend().as_str(), db = %sb_store::redact_url(&args.db), "migrations applied");
        store.close().await;
        Ok(ExitCode::SUCCESS)
    })
}

pub fn token(command: TokenCommand) -> Result<ExitCode> {
    let TokenCommand::Create { db, name, scopes } = command;
    let scopes = sb_store::parse_scopes(&scopes)?;
    runtime()?.block_on(async {
        let service = open_service(&db).await?;
        let (token, secret) = service.create_api_token(&name, &scopes, None, "cli").await?;
        eprintln!("created token {} (id {}) with scopes {}; it is shown once:", token.name, token.id, scopes.iter().map(|scope| scope.as_str()).collect::<Vec<_>>().join(","));
        println!("{secret}");
        service.store().close().await;
        Ok(ExitCode::SUCCESS)
    })
}

pub fn audit(command: AuditCommand) -> Result<ExitCode> {
    let AuditCommand::Verify { db, json } = command;
    runtime()?.block_on(async {
        let store = open_store(&db.db).await?;
        let spinner = progress::bar(0, "verifying the audit chain");
        let verification = store.verify_audit(|checked| spinner.set_position(checked)).await?;
        spinner.finish_and_clear();
        store.close().await;
        if json {
            println!("{}", serde_json::to_string(&verification)?);
        }
        match &verification.first_bad_entry {
            None => {
                if !json {
                    println!("audit chain intact: {} entries verified", verification.entries_checked);
                }
                Ok(ExitCode::SUCCESS)
            }
            Some((entry_id, reason)) => {
                if !json {
                    println!("audit chain broken at entry {entry_id}: {reason}");
                    println!("entries before {entry_id} verified; restore the audit_log table from a backup and investigate who had write access");
                }
                Ok(ExitCode::FAILURE)
            }
        }
    })
}

/// The service's configuration from the file's sections.
fn service_config(config: &crate::config::Config) -> ServiceConfig {
    let mut service_config = ServiceConfig::new(config.policy.clone());
    if !config.sla_policies.is_empty() {
        service_config.sla_policies = config.sla_policies.clone();
    }
    service_config.worker = config.worker.to_service();
    service_config.email = config.email.to_service();
    service_config.alerts = config.alerts.clone();
    service_config.routing = config.routing.to_service();
    service_config.answer_signer = config.knowledge.answer_signer.clone();
    service_config.public_url = if config.server.public_url.is_empty() { format!("http://{}", config.server.addr) } else { config.server.public_url.clone() };
    service_config
}

/// A service for a one-shot command (`import`): the store migrated, the models loaded unless
/// `no_triage` (messages are then stored and triaged by `serve`'s worker).
pub(crate) async fn build_service(db_url: &str, config: &crate::config::Config, no_triage: bool, no_embeddings: bool) -> Result<Service> {
    let store = open_store(db_url).await.with_context(|| format!("cannot open the database {}", sb_store::redact_url(db_url)))?;
    let engine = if no_triage {
        None
    } else {
        let (engine, _) = tokio::task::spawn_blocking(move || load_engine(no_embeddings)).await.context("model loading panicked")??;
        Some(Arc::new(engine))
    };
    let orders = order_connector(&config.orders, &store)?;
    let service = Service::new(store, engine, orders, service_config(config));
    service.reload_policy().await.context("cannot read the policy overrides")?;
    Ok(service)
}

/// The order connector the configuration names.
fn order_connector(orders: &crate::config::OrdersConfig, store: &Store) -> Result<Arc<dyn sb_connectors::OrderConnector>> {
    match orders.connector {
        crate::config::ConnectorKind::DemoStore => Ok(Arc::new(DemoStoreConnector::new(store.clone()))),
        crate::config::ConnectorKind::Shopify => {
            let url = orders.shopify_url.clone().unwrap_or_default();
            let token = std::env::var(&orders.shopify_token_env).with_context(|| format!("{} is not set", orders.shopify_token_env))?;
            let mut shopify = sb_connectors::ShopifyConfig::new(url, token);
            shopify.api_version = orders.shopify_api_version.clone();
            shopify.timeout = std::time::Duration::from_secs(orders.shopify_timeout_seconds.max(1));
            Ok(Arc::new(sb_connectors::ShopifyConnector::new(shopify)?))
        }
    }
}

/// The password for `user create`: the first line of standard input, or SWITCHBOARD_PASSWORD.
fn read_password(from_stdin: bool) -> Result<String> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).context("cannot read the password from standard input")?;
        let password = line.trim_end_matches(['\n', '\r']).to_string();
        if password.is_empty() {
            bail!("standard input held no password");
        }
        return Ok(password);
    }
    match std::env::var("SWITCHBOARD_PASSWORD") {
        Ok(password) if !password.is_empty() => Ok(password),
        _ => bail!("give the password on standard input with --password-stdin, or in the SWITCHBOARD_PASSWORD environment variable"),
    }
}

pub fn user(command: UserCommand) -> Result<ExitCode> {
    let UserCommand::Create { db, email, name, role, password_stdin } = command;
    let role = sb_store::Role::parse(role.trim()).with_context(|| format!("unknown role `{role}`: use admin, supervisor, agent, compliance or viewer"))?;
    let password = read_password(password_stdin)?;
    runtime()?.block_on(async {
        let service = open_service(&db).await?;
        let actor = sb_service::actions::Actor { audit_name: "cli".into(), user_id: None };
        let user = service.create_user(&email, &name, role, &password, &actor).await?;
        eprintln!("created user {} (id {}) with role {}", user.email, user.id, user.role.as_str());
        service.store().close().await;
        Ok(ExitCode::SUCCESS)
    })
}

/// The triage engine, and the embedder it uses (shared with the knowledge base).
fn load_engine(no_embeddings: bool) -> Result<(TriageEngine, Option<Arc<sb_embed::Embedder>>)> {
    let embedder = models::load_embedder(no_embeddings)?;
    let dir = models::ensure_default_model(embedder.as_deref())?;
    Ok((TriageEngine::load(&dir, embedder.clone(), TriageConfig::default())?, embedder))
}

/// The demo token: created once, its secret kept in a file beside the SQLite database (mode
/// 0600) so later runs can print it again.
async fn demo_token(service: &Service, db_url: &str) -> Result<Option<String>> {
    let Some(db_path) = sqlite_path(db_url) else {
        let (_, secret) = service.create_api_token("demo", &[sb_store::Scope::Ingest, sb_store::Scope::Read, sb_store::Scope::Write], None, "demo").await?;
        return Ok(Some(secret));
    };
    let token_file = db_path.with_file_name("demo-token");
    if let Ok(secret) = std::fs::read_to_string(&token_file) {
        let secret = secret.trim().to_string();
        if service.store().api_token(&secret).await?.is_some() {
            return Ok(Some(secret));
        }
    }
    let (_, secret) = service.create_api_token("demo", &[sb_store::Scope::Ingest, sb_store::Scope::Read, sb_store::Scope::Write], None, "demo").await?;
    write_private(&token_file, &secret)?;
    Ok(Some(secret))
}

/// The demo's console login: a supervisor (works tickets, sees the assist panel, edits the
/// knowledge base, reads reports). Beside an SQLite database the password is kept in
/// `demo-login` (mode 0600) and shown at every start; elsewhere it is shown once, when the user
/// is created. `None` when the user exists and its password is not known here.
async fn demo_login(service: &Service, db_url: &str) -> Result<Option<(String, String)>> {
    const DEMO_EMAIL: &str = "demo@switchboard.local";
    let login_file = sqlite_path(db_url).map(|db_path| db_path.with_file_name("demo-login"));
    if let Some(password) = login_file.as_ref().and_then(|file| std::fs::read_to_string(file).ok()) {
        if service.authenticate(DEMO_EMAIL, password.trim()).await?.is_some() {
            return Ok(Some((DEMO_EMAIL.to_string(), password.trim().to_string())));
        }
    }
    if service.store().find_user_by_email(DEMO_EMAIL).await?.is_some() {
        return Ok(None);
    }
    let password = sb_service::new_secret("demo-")?;
    let actor = sb_service::actions::Actor { audit_name: "demo".into(), user_id: None };
    service.create_user(DEMO_EMAIL, "Sam Rivera (demo supervisor)", sb_store::Role::Supervisor, &password, &actor).await?;
    if let Some(file) = &login_file {
        write_private(file, &password)?;
    }
    Ok(Some((DEMO_EMAIL.to_string(), password)))
}

fn write_private(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options.open(path).with_context(|| format!("cannot write {}", path.display()))?;
    writeln!(file, "{text}")?;
    Ok(())
}

async fn shutdown_signal(sender: tokio::sync::watch::Sender<bool>) {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
    tracing::info!("shutting down: finishing requests in flight");
    let _ = sender.send(true);
}

pub fn serve(args: ServeArgs) -> Result<ExitCode> {
    let started = std::time::Instant::now();
    let mut config = crate::config::load(args.config.as_deref())?;
    if let Some(db) = &args.db {
        config.server.db = db.clone();
    }
    if let Some(addr) = args.addr {
        config.server.addr = addr;
    }
    if let Some(workers) = args.workers {
        config.server.workers = workers;
    }
    crate::logging::init(config.log.format, &config.log.level);
    let db_url = config.server.db.clone();
    let addr = config.server.addr;
    let runtime = runtime()?;
    runtime.block_on(async move {
        let store = open_store(&db_url).await.with_context(|| format!("cannot open the database {}", sb_store::redact_url(&db_url)))?;
        let no_embeddings = args.no_embeddings;
        let (engine, embedder) = tokio::task::spawn_blocking(move || load_engine(no_embeddings)).await.context("model loading panicked")??;
        tracing::info!(model = %engine.model_info().name, version = %engine.model_info().version, embeddings = engine.uses_embeddings(), "triage models loaded");
        let orders = order_connector(&config.orders, &store)?;
        let service = Service::new(store.clone(), Some(Arc::new(engine)), orders, service_config(&config));
        // Admins' changes to thresholds and SLA targets, before the first message is decided.
        service.reload_policy().await.context("cannot read the policy overrides")?;

        if args.demo {
            let secret = demo_token(&service, &db_url).await?;
            let bar = progress::bar(args.demo_tickets as u64, "loading demo tickets");
            let summary = sb_service::seed_demo_data(&service, args.demo_tickets, |done, total| {
                bar.set_length(total as u64);
                bar.set_position(done as u64);
            })
            .await?;
            bar.finish_and_clear();
            if summary.loaded {
                tracing::info!(customers = summary.customers, orders = summary.orders, tickets = summary.tickets, pending = summary.pending, templates = summary.templates, resolved = summary.resolved, "demo data loaded");
            } else {
                tracing::info!("demo data already loaded");
            }
            crate::knowledge::import_demo_articles(&service).await?;
            match demo_login(&service, &db_url).await? {
                Some((email, password)) => eprintln!("demo console login: http://{addr}/console as {email} with password {password}"),
                None => eprintln!("demo console user demo@switchboard.local exists; its password is not stored here (create another with `switchboard user create`)"),
            }
            if let Some(secret) = secret {
                eprintln!("demo API token (ingest, read, write): {secret}");
                eprintln!("try: curl -s -H 'Authorization: Bearer {secret}' -H 'Content-Type: application/json' \\");
                eprintln!("       -d '{{\"channel\":\"chat\",\"text\":\"where is my order #A10493?\",\"customer\":{{\"email\":\"ana.silva@example.com\"}}}}' http://{addr}/api/v1/messages");
            }
        }

        let (shutdown_sender, shutdown_receiver) = tokio::sync::watch::channel(false);
        let mut worker_handles = Vec::new();
        // On PostgreSQL, live events reach the /ws clients of every replica (LISTEN/NOTIFY).
        if let Some(fanout) = service.start_event_fanout().await.context("listening for other replicas' events")? {
            worker_handles.push(tokio::spawn(fanout.run(shutdown_receiver.clone())));
        }
        for _ in 0..config.server.workers {
            let worker_service = service.clone();
            let receiver = shutdown_receiver.clone();
            worker_handles.push(tokio::spawn(async move { worker_service.run_worker(receiver).await }));
        }
        {
            let sla_watch_interval = std::time::Duration::from_secs(config.server.sla_watch_interval_seconds.max(1));
            let watcher_service = service.clone();
            let receiver = shutdown_receiver.clone();
            worker_handles.push(tokio::spawn(async move { watcher_service.run_sla_watcher(sla_watch_interval, receiver).await }));
        }
        {
            let refresh_interval = std::time::Duration::from_secs(config.server.policy_refresh_seconds.max(1));
            let refresher_service = service.clone();
            let receiver = shutdown_receiver.clone();
            worker_handles.push(tokio::spawn(async move { refresher_service.run_policy_refresher(refresh_interval, receiver).await }));
        }
        {
            let tick_interval = std::time::Duration::from_secs(config.server.metrics_tick_seconds.max(1));
            let ticker_service = service.clone();
            let receiver = shutdown_receiver.clone();
            worker_handles.push(tokio::spawn(async move { ticker_service.run_metrics_ticker(tick_interval, receiver).await }));
        }
        if config.server.report_rollup_interval_seconds > 0 {
            let rollup_interval = std::time::Duration::from_secs(config.server.report_rollup_interval_seconds);
            let rollup_service = service.clone();
            let receiver = shutdown_receiver.clone();
            worker_handles.push(tokio::spawn(async move { rollup_service.run_report_rollups(rollup_interval, receiver).await }));
        }
        {
            let router_service = service.clone();
            let receiver = shutdown_receiver.clone();
            worker_handles.push(tokio::spawn(async move { router_service.run_router(receiver).await }));
        }
        {
            let alert_interval = std::time::Duration::from_secs(config.alerts.evaluate_interval_seconds.max(1));
            let alert_service = service.clone();
            let receiver = shutdown_receiver.clone();
            worker_handles.push(tokio::spawn(async move { alert_service.run_alert_watcher(alert_interval, receiver).await }));
            let sender_service = service.clone();
            let receiver = shutdown_receiver.clone();
            worker_handles.push(tokio::spawn(async move { sender_service.run_webhook_sender(std::time::Duration::from_secs(1), receiver).await }));
        }
        {
            let index_dir = crate::knowledge::index_dir(&config.knowledge);
            let interval = std::time::Duration::from_secs(config.knowledge.sync_interval_seconds.max(1));
            worker_handles.push(tokio::spawn(crate::knowledge::run_index_task(service.clone(), index_dir, embedder, interval, shutdown_receiver.clone())));
        }
        if let Some(smtp) = config.email.smtp.to_sender(&config.email.imap) {
            let sender = sb_mailnet::SmtpSender::new(service.clone(), smtp)?;
            let receiver = shutdown_receiver.clone();
            worker_handles.push(tokio::spawn(async move { sender.run(receiver).await }));
        }
        for mailbox in &config.email.imap {
            let reader = sb_mailnet::ImapReader::new(service.clone(), mailbox.to_reader());
            let receiver = shutdown_receiver.clone();
            worker_handles.push(tokio::spawn(async move { reader.run(receiver).await }));
        }
        let mut security = config.security.to_server();
        security.metrics_public = config.metrics.public;
        security.chat = config.chat.to_server();
        let router = sb_server::app_with(sb_server::AppState::with_security(service, security), sb_console::router());
        let mut shutdown_wait = shutdown_receiver.clone();
        tracing::info!(seconds = started.elapsed().as_secs_f64(), "ready");
        let server = sb_server::serve(addr, router, async move {
            let _ = shutdown_wait.wait_for(|stop| *stop).await;
        });
        let signals = tokio::spawn(shutdown_signal(shutdown_sender));
        let outcome = server.await;
        signals.abort();
        for handle in worker_handles {
            handle.abort();
        }
        store.close().await;
        if let Err(error) = outcome {
            bail!("cannot serve on {addr}: {error}");
        }
        Ok(ExitCode::SUCCESS)
    })
}
