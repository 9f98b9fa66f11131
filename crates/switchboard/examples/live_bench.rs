//! The web console's numbers (issue 6) measured against the real binary: a fresh database, one
//! or two `switchboard serve` processes started from `--bin`, real HTTP and WebSocket clients on
//! the same machine.
//!
//! ```text
//! cargo build --release -p switchboard --example live_bench
//! target/release/examples/live_bench fanout --clients 500 --rate 200 --seconds 20 [--postgres] [--replicas 2]
//! target/release/examples/live_bench queue --tickets 10000 --rounds 100
//! target/release/examples/live_bench screen --messages 300 --rate 5
//! ```
//!
//! - `fanout`: `--clients` WebSockets on `/ws` (a `read` token), internal notes posted through
//!   the API at `--rate` per second round-robin over a few tickets (a note is exactly one
//!   event: `message_added`). Delivery latency per (client, event) two ways: from the client-side
//!   send time of the API call that caused it (matched by message id), and from the event's own
//!   `at` (stamped by the server when it published) to its arrival. With `--replicas 2` (on
//!   PostgreSQL) the clients are spread over two processes and the notes go to the first: half
//!   the clients hear them through LISTEN/NOTIFY.
//! - `queue`: seeds `--tickets` open tickets through `POST /api/v1/messages`, logs an agent in
//!   and times what the queue page costs the server: `GET /console` and the first
//!   `GET /api/v1/tickets` that `queue.js` sends, then each filter of the page. Server time is
//!   the latency of the server's own request-log line (`request finished`, matched by the
//!   `x-request-id` this tool sends); client time is measured beside it.
//! - `screen`: an agent's console (session cookie, `/ws`), and messages posted through
//!   `POST /api/v1/messages` at `--rate` per second; for each, the time from sending the POST to
//!   (a) the `/ws` event naming the new ticket and (b) the queue list that `queue.js` then
//!   fetches having returned with the ticket in it; queue.js's debounce is reported separately.
//!
//! Hidden contracts: the tool refuses to report when the server answered errors (a rate limit,
//! a failed write) instead of counting them as fast answers; the database is dropped (PostgreSQL)
//! or deleted (SQLite) at the end.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};
use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    bench: Bench,
    /// The binary to measure.
    #[arg(long, global = true, default_value = "target/release/switchboard")]
    bin: PathBuf,
    /// A fresh database on this PostgreSQL server (`postgres://postgres@127.0.0.1:5432/test`)
    /// instead of a SQLite file.
    #[arg(long, global = true)]
    postgres: Option<String>,
    /// Start the server with MiniLM embeddings (the default `serve`); off: `--no-embeddings`.
    #[arg(long, global = true)]
    embeddings: bool,
}

#[derive(Subcommand)]
enum Bench {
    Fanout {
        #[arg(long, default_value_t = 500)]
        clients: usize,
        /// Events (notes) per second.
        #[arg(long, default_value_t = 200.0)]
        rate: f64,
        #[arg(long, default_value_t = 20)]
        seconds: u64,
        /// Tickets the notes go to, round-robin (enough that two notes rarely meet on one
        /// ticket: a change to a ticket that changed meanwhile is refused as a conflict).
        #[arg(long, default_value_t = 1_000)]
        tickets: usize,
        /// Server processes (2 needs --postgres): clients spread over them, notes sent to the first.
        #[arg(long, default_value_t = 1)]
        replicas: usize,
    },
    Queue {
        #[arg(long, default_value_t = 10_000)]
        tickets: usize,
        /// Rounds of (page, first list, every filter).
        #[arg(long, default_value_t = 100)]
        rounds: usize,
    },
    Screen {
        #[arg(long, default_value_t = 300)]
        messages: usize,
        #[arg(long, default_value_t = 5.0)]
        rate: f64,
        /// Open tickets seeded first, so the queue list is the size an agent sees.
        #[arg(long, default_value_t = 1_000)]
        backlog: usize,
    },
}

// ---------------------------------------------------------------------------------------------
// The server under test

struct Database {
    url: String,
    postgres_admin: Option<(String, String)>,
    _dir: tempfile::TempDir,
}

impl Database {
    async fn fresh(postgres: Option<&str>) -> anyhow::Result<Database> {
        let dir = tempfile::tempdir()?;
        let Some(admin_url) = postgres else {
            return Ok(Database { url: format!("sqlite://{}", dir.path().join("bench.db").display()), postgres_admin: None, _dir: dir });
        };
        use sqlx::Connection;
        let name = format!("sb_live_bench_{}", std::process::id());
        let mut connection = sqlx::PgConnection::connect(admin_url).await.context("connecting to PostgreSQL")?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))).execute(&mut connection).await?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut connection).await?;
        let base = admin_url.rsplit_once('/').map_or(admin_url, |(base, _)| base);
        Ok(Database { url: format!("{base}/{name}"), postgres_admin: Some((admin_url.to_string(), name)), _dir: dir })
    }

    async fn drop_database(&self) -> anyhow::Result<()> {
        if let Some((admin_url, name)) = &self.postgres_admin {
            use sqlx::Connection;
            let mut connection = sqlx::PgConnection::connect(admin_url).await?;
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))).execute(&mut connection).await?;
        }
        Ok(())
    }
}

/// Server-side latency (ms) of each request, by request id, from the request log.
type ServerTimes = Arc<Mutex<HashMap<String, f64>>>;

struct Server {
    child: Child,
    base_url: String,
    server_times: ServerTimes,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn create_token(bin: &PathBuf, db_url: &str, scopes: &str) -> anyhow::Result<String> {
    let output = Command::new(bin).args(["token", "create", "--db", db_url, "--name", &format!("bench-{scopes}"), "--scopes", scopes]).env("SWITCHBOARD_LOG", "warn").output()?;
    if !output.status.success() {
        bail!("token create failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    Ok(String::from_utf8(output.stdout)?.lines().last().unwrap_or_default().trim().to_string())
}

/// Finds `key` anywhere in a JSON log line (fields and span fields nest differently per format).
fn find<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    match value {
        Value::Object(map) => map.get(key).or_else(|| map.values().find_map(|inner| find(inner, key))),
        Value::Array(items) => items.iter().find_map(|inner| find(inner, key)),
        _ => None,
    }
}

impl Server {
    async fn start(cli: &Cli, db_url: &str) -> anyhow::Result<Server> {
        let port = free_port()?;
        let mut command = Command::new(&cli.bin);
        command.args(["serve", "--db", db_url, "--addr", &format!("127.0.0.1:{port}")]);
        if !cli.embeddings {
            command.arg("--no-embeddings");
        }
        // The benchmarks drive hundreds of API calls per second from one token: the per-token
        // limit (50/s by default) is lifted so that it measures the server, not the limiter.
        let mut child = command
            .env("SWITCHBOARD_LOG", "info")
            .env("SWITCHBOARD__SECURITY__RATE_LIMIT_PER_CREDENTIAL__RATE", "100000")
            .env("SWITCHBOARD__SECURITY__RATE_LIMIT_PER_CREDENTIAL__BURST", "100000")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {}", cli.bin.display()))?;
        let server_times: ServerTimes = Arc::default();
        let stderr = child.stderr.take().context("no stderr")?;
        let times = server_times.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { return };
                if !line.contains("request finished") {
                    if line.contains("\"ERROR\"") || line.contains("\"WARN\"") {
                        eprintln!("server: {line}");
                    }
                    continue;
                }
                let Ok(value) = serde_json::from_str::<Value>(&line) else { continue };
                let (Some(request_id), Some(latency_ms)) = (find(&value, "request_id").and_then(Value::as_str), find(&value, "latency_ms").and_then(Value::as_f64)) else { continue };
                times.lock().unwrap().insert(request_id.to_string(), latency_ms);
            }
        });
        let server = Server { child, base_url: format!("http://127.0.0.1:{port}"), server_times };
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(300);
        loop {
            if let Ok(response) = client.get(format!("{}/ready", server.base_url)).send().await {
                if response.status() == 200 {
                    return Ok(server);
                }
            }
            if Instant::now() > deadline {
                bail!("the server was not ready within 300 s");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn ws_url(&self, query: &str) -> String {
        format!("{}/ws{query}", self.base_url.replace("http://", "ws://"))
    }

    fn server_time(&self, request_id: &str) -> Option<f64> {
        self.server_times.lock().unwrap().get(request_id).copied()
    }
}

/// A console session: the cookie and CSRF token of a logged-in agent.
struct Session {
    cookie: String,
    user_id: i64,
}

async fn agent_session(client: &reqwest::Client, server: &Server, admin_token: &str) -> anyhow::Result<Session> {
    let email = "bench.agent@example.com";
    let password = "bench-password-1234";
    let created = client.post(format!("{}/api/v1/users", server.base_url)).bearer_auth(admin_token).json(&json!({"email": email, "name": "Bench Agent", "role": "agent", "password": password})).send().await?;
    if !created.status().is_success() {
        bail!("creating the agent: {} {}", created.status(), created.text().await?);
    }
    let response = client.post(format!("{}/api/v1/session", server.base_url)).json(&json!({"email": email, "password": password})).send().await?;
    if !response.status().is_success() {
        bail!("logging in: {}", response.status());
    }
    let cookie = response.headers().get_all("set-cookie").iter().filter_map(|value| value.to_str().ok()).find_map(|value| value.split(';').next().filter(|pair| pair.starts_with("sb_session=")).map(str::to_string)).context("no session cookie")?;
    let body: Value = response.json().await?;
    let user_id = find(&body, "id").and_then(Value::as_i64).unwrap_or_default();
    Ok(Session { cookie, user_id })
}

// ---------------------------------------------------------------------------------------------
// Load

fn corpus() -> anyhow::Result<Vec<String>> {
    let path = PathBuf::from("data/taxonomy/test.csv");
    let mut reader = csv::Reader::from_path(&path).with_context(|| format!("reading {} (run from the repository root)", path.display()))?;
    let mut texts = Vec::new();
    for record in reader.records() {
        texts.push(record?.get(0).unwrap_or_default().to_string());
    }
    Ok(texts)
}

/// Posts `n_messages` new customer messages, `concurrency` at a time; returns the ticket ids.
async fn seed_messages(client: &reqwest::Client, server: &Server, token: &str, n_messages: usize, offset: usize, concurrency: usize) -> anyhow::Result<Vec<i64>> {
    let texts = Arc::new(corpus()?);
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    let started = Instant::now();
    for _ in 0..concurrency {
        let (client, url, token, texts, next) = (client.clone(), format!("{}/api/v1/messages", server.base_url), token.to_string(), texts.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut ticket_ids = Vec::new();
            loop {
                let idx = next.fetch_add(1, Ordering::Relaxed) as usize;
                if idx >= n_messages {
                    return anyhow::Ok(ticket_ids);
                }
                let number = offset + idx;
                let channel = ["email", "chat", "api", "sms"][number % 4];
                let body = json!({"channel": channel, "text": texts[number % texts.len()], "external_id": format!("bench-{number}"), "customer": {"email": format!("customer{}@example.com", number % 2_000)}});
                let response = client.post(&url).bearer_auth(&token).json(&body).send().await?;
                let status = response.status();
                let answer: Value = response.json().await?;
                if !status.is_success() {
                    bail!("POST /api/v1/messages answered {status}: {answer}");
                }
                ticket_ids.push(answer["ticket_id"].as_i64().unwrap_or_default());
            }
        }));
    }
    let mut ticket_ids = Vec::new();
    for task in tasks {
        ticket_ids.extend(task.await??);
    }
    eprintln!("seeded {n_messages} messages in {:.1} s", started.elapsed().as_secs_f64());
    Ok(ticket_ids)
}

async fn open_ticket_count(client: &reqwest::Client, server: &Server, token: &str) -> anyhow::Result<i64> {
    let page: Value = client.get(format!("{}/api/v1/tickets?status=new,open,pending&limit=1", server.base_url)).bearer_auth(token).send().await?.json().await?;
    page["total"].as_i64().context("no total")
}

// ---------------------------------------------------------------------------------------------
// Statistics

fn percentile(sorted: &[f64], fraction: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((sorted.len() as f64 * fraction).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn describe(name: &str, mut values: Vec<f64>) -> Value {
    values.sort_by(f64::total_cmp);
    let line = json!({
        "measure": name, "n": values.len(),
        "p50_ms": round(percentile(&values, 0.50)), "p90_ms": round(percentile(&values, 0.90)),
        "p99_ms": round(percentile(&values, 0.99)), "max_ms": round(values.last().copied().unwrap_or(f64::NAN)),
    });
    println!("{line}");
    line
}

fn round(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg").map(|text| text.split_whitespace().take(3).collect::<Vec<_>>().join(" ")).unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// fanout

/// The clients' WebSocket settings: a read buffer of 8 KiB instead of tungstenite's 128 KiB,
/// which it zero-fills before every read. With 500 clients reading 200 frames/s each that
/// zero-filling was half of this tool's CPU (perf), taken from the server it shares the machine
/// with; the frames are ~150 bytes.
fn socket_config() -> tokio_tungstenite::tungstenite::protocol::WebSocketConfig {
    tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default().read_buffer_size(8 * 1024)
}

/// What one client saw of one event.
struct Arrival {
    message_id: i64,
    received: Instant,
    /// Arrival minus the event's `at`, in ms (wall clock; same machine).
    since_published_ms: f64,
}

#[derive(serde::Deserialize)]
struct Frame {
    #[serde(rename = "type")]
    kind: String,
    message_id: Option<i64>,
    at: Option<DateTime<Utc>>,
}

async fn fanout(cli: &Cli, clients: usize, rate: f64, seconds: u64, n_tickets: usize, replicas: usize) -> anyhow::Result<()> {
    if replicas > 1 && cli.postgres.is_none() {
        bail!("--replicas needs --postgres: SQLite is one process per file");
    }
    let database = Database::fresh(cli.postgres.as_deref()).await?;
    let token = create_token(&cli.bin, &database.url, "ingest,read,write")?;
    let mut servers = Vec::new();
    for _ in 0..replicas.max(1) {
        servers.push(Server::start(cli, &database.url).await?);
    }
    let client = reqwest::Client::builder().pool_max_idle_per_host(256).build()?;
    let ticket_ids = seed_messages(&client, &servers[0], &token, n_tickets, 0, 8).await?;

    // The listeners.
    let arrivals: Arc<Mutex<Vec<Vec<Arrival>>>> = Arc::default();
    let resets = Arc::new(AtomicU64::new(0));
    let (stop_sender, stop_receiver) = tokio::sync::watch::channel(false);
    let mut listeners = Vec::new();
    let connect_started = Instant::now();
    for client_idx in 0..clients {
        let server = &servers[client_idx % servers.len()];
        let mut request = server.ws_url("").into_client_request()?;
        request.headers_mut().insert("authorization", format!("Bearer {token}").parse()?);
        let (mut socket, _) = tokio_tungstenite::connect_async_with_config(request, Some(socket_config()), false).await.with_context(|| format!("opening socket {client_idx}"))?;
        let (arrivals, resets, mut stop) = (arrivals.clone(), resets.clone(), stop_receiver.clone());
        listeners.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            loop {
                // No timer per frame: the stop signal is a branch of its own.
                let frame = tokio::select! {
                    _ = stop.changed() => break,
                    frame = socket.next() => frame,
                };
                let Message::Text(text) = (match frame {
                    Some(Ok(frame)) => frame,
                    Some(Err(_)) | None => break,
                }) else { continue };
                let received = Instant::now();
                let Ok(frame) = serde_json::from_str::<Frame>(&text) else { continue };
                match (frame.kind.as_str(), frame.message_id, frame.at) {
                    ("message_added", Some(message_id), Some(at)) => {
                        let since_published_ms = (Utc::now() - at).num_microseconds().unwrap_or_default() as f64 / 1_000.0;
                        seen.push(Arrival { message_id, received, since_published_ms });
                    }
                    ("reset", _, _) => {
                        resets.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {}
                }
            }
            arrivals.lock().unwrap().push(seen);
        }));
    }
    eprintln!("{clients} sockets open in {:.1} s on {} server(s)", connect_started.elapsed().as_secs_f64(), servers.len());
    tokio::time::sleep(Duration::from_secs(1)).await;

    // The events: notes at `rate` per second, each timed from just before its request.
    let sent: Arc<Mutex<HashMap<i64, Instant>>> = Arc::default();
    let errors = Arc::new(AtomicU64::new(0));
    let api_times: Arc<Mutex<Vec<f64>>> = Arc::default();
    let in_flight = Arc::new(tokio::sync::Semaphore::new(128));
    let interval = Duration::from_secs_f64(1.0 / rate);
    let n_events = (rate * seconds as f64) as usize;
    let load_before = load_average();
    let started = Instant::now();
    let mut senders = Vec::new();
    for event_idx in 0..n_events {
        let due = started + interval * event_idx as u32;
        tokio::time::sleep_until(due.into()).await;
        let permit = in_flight.clone().acquire_owned().await?;
        let (client, sent, errors, api_times) = (client.clone(), sent.clone(), errors.clone(), api_times.clone());
        let url = format!("{}/api/v1/tickets/{}/notes", servers[0].base_url, ticket_ids[event_idx % ticket_ids.len()]);
        let token = token.clone();
        senders.push(tokio::spawn(async move {
            let _permit = permit;
            let request_started = Instant::now();
            let answer = client.post(&url).bearer_auth(&token).json(&json!({"body": format!("bench note {event_idx}")})).send().await;
            let answer = match answer {
                Ok(response) if response.status().is_success() => response.json::<Value>().await.ok(),
                Ok(response) => {
                    let status = response.status();
                    eprintln!("note refused: {status} {}", response.text().await.unwrap_or_default());
                    None
                }
                Err(error) => {
                    eprintln!("note failed: {error}");
                    None
                }
            };
            match answer.and_then(|answer| answer["message_id"].as_i64()) {
                Some(message_id) => {
                    sent.lock().unwrap().insert(message_id, request_started);
                    api_times.lock().unwrap().push(request_started.elapsed().as_secs_f64() * 1_000.0);
                }
                None => {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for sender in senders {
        sender.await?;
    }
    let sending_seconds = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let load_after = load_average();
    stop_sender.send(true)?;
    for listener in listeners {
        listener.await?;
    }
    let n_errors = errors.load(Ordering::Relaxed);
    if n_errors > 0 {
        bail!("{n_errors} notes were refused or failed: no figures from a run with errors");
    }

    let sent = sent.lock().unwrap();
    let arrivals = arrivals.lock().unwrap();
    let mut since_sent = Vec::new();
    let mut since_published = Vec::new();
    let mut last_client: HashMap<i64, f64> = HashMap::new();
    let mut n_arrivals = 0usize;
    for seen in arrivals.iter() {
        for arrival in seen {
            let Some(sent_at) = sent.get(&arrival.message_id) else { continue };
            n_arrivals += 1;
            let latency = arrival.received.duration_since(*sent_at).as_secs_f64() * 1_000.0;
            since_sent.push(latency);
            since_published.push(arrival.since_published_ms);
            let slowest = last_client.entry(arrival.message_id).or_insert(0.0);
            *slowest = slowest.max(latency);
        }
    }
    let expected = sent.len() * clients;
    println!(
        "{}",
        json!({"bench": "fanout", "clients": clients, "replicas": servers.len(), "backend": if cli.postgres.is_some() {"postgres"} else {"sqlite"}, "target_rate": rate, "achieved_rate": round(sent.len() as f64 / sending_seconds), "events": sent.len(), "deliveries": n_arrivals, "expected_deliveries": expected, "resets": resets.load(Ordering::Relaxed), "load_before": load_before, "load_after": load_after, "date": Utc::now().to_rfc3339()})
    );
    describe("api_note_post", api_times.lock().unwrap().clone());
    describe("delivery_since_api_send", since_sent);
    describe("delivery_since_published", since_published);
    describe("event_to_last_client_since_api_send", last_client.into_values().collect());
    drop(servers);
    database.drop_database().await?;
    if n_arrivals < expected {
        bail!("{} deliveries missing", expected - n_arrivals);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// queue

async fn queue(cli: &Cli, n_tickets: usize, rounds: usize) -> anyhow::Result<()> {
    let database = Database::fresh(cli.postgres.as_deref()).await?;
    let token = create_token(&cli.bin, &database.url, "ingest,read,write,admin")?;
    let server = Server::start(cli, &database.url).await?;
    let client = reqwest::Client::builder().pool_max_idle_per_host(64).build()?;
    // Automatic answers close some tickets: top up until n_tickets are open.
    let mut seeded = 0;
    loop {
        let n_open = open_ticket_count(&client, &server, &token).await? as usize;
        if n_open >= n_tickets {
            eprintln!("{n_open} open tickets ({seeded} messages)");
            break;
        }
        let missing = (n_tickets - n_open).max(50);
        seed_messages(&client, &server, &token, missing, seeded, 16).await?;
        seeded += missing;
    }
    let session = agent_session(&client, &server, &token).await?;
    let me = session.user_id.to_string();
    // The page's requests, as queue.js sends them: the page, then the list with the default
    // filter ("Active"), then each filter alone (on top of "Active").
    let active = "status=new%2Copen%2Cpending";
    let filters: Vec<(&str, String)> = vec![
        ("filter_queue_human", format!("/api/v1/tickets?{active}&queue=human&limit=50")),
        ("filter_queue_safety", format!("/api/v1/tickets?{active}&queue=safety&limit=50")),
        ("filter_category_service_action", format!("/api/v1/tickets?{active}&category=service_action&limit=50")),
        ("filter_intent_track_order", format!("/api/v1/tickets?{active}&intent=track_order&limit=50")),
        ("filter_min_priority_50", format!("/api/v1/tickets?{active}&min_priority=50&limit=50")),
        ("filter_channel_chat", format!("/api/v1/tickets?{active}&channel=chat&limit=50")),
        ("filter_assignee_me", format!("/api/v1/tickets?{active}&assignee={me}&limit=50")),
        ("filter_unassigned", format!("/api/v1/tickets?{active}&unassigned=true&limit=50")),
        ("filter_sla_breached", format!("/api/v1/tickets?{active}&sla=breached&limit=50")),
        ("filter_any_status", "/api/v1/tickets?limit=50".to_string()),
        ("load_more_200", format!("/api/v1/tickets?{active}&limit=200")),
    ];
    let mut timings: HashMap<String, (Vec<f64>, Vec<f64>)> = HashMap::new();
    let mut first_render = Vec::new();
    let load_before = load_average();
    let mut request_number = 0u64;
    let mut timed = |name: &str, path: String| {
        request_number += 1;
        let request_id = format!("bench-{}-{request_number}", name.replace('_', "-"));
        let (client, url, cookie) = (client.clone(), format!("{}{path}", server.base_url), session.cookie.clone());
        let name = name.to_string();
        async move {
            let started = Instant::now();
            let response = client.get(&url).header("cookie", cookie).header("x-request-id", &request_id).send().await?;
            let status = response.status();
            let body = response.bytes().await?;
            let client_ms = started.elapsed().as_secs_f64() * 1_000.0;
            if !status.is_success() {
                bail!("GET {url} answered {status}: {}", String::from_utf8_lossy(&body));
            }
            anyhow::Ok((name, request_id, client_ms))
        }
    };
    let mut results = Vec::new();
    for _ in 0..rounds {
        let page = timed("console_page", "/console".to_string()).await?;
        let list = timed("first_list", format!("/api/v1/tickets?{active}&limit=50")).await?;
        results.push((page.clone(), list.clone()));
        for (name, path) in &filters {
            let (name, request_id, client_ms) = timed(name, path.clone()).await?;
            results.push(((name, request_id, client_ms), (String::new(), String::new(), 0.0)));
        }
    }
    // The log lines arrive on the server's stderr a moment after the answers.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for ((name, request_id, client_ms), second) in results {
        let server_ms = server.server_time(&request_id).with_context(|| format!("no request-log line for {request_id}"))?;
        let entry = timings.entry(name.clone()).or_default();
        entry.0.push(server_ms);
        entry.1.push(client_ms);
        if second.0.is_empty() {
            continue;
        }
        let list_server_ms = server.server_time(&second.1).with_context(|| format!("no request-log line for {}", second.1))?;
        let entry = timings.entry(second.0.clone()).or_default();
        entry.0.push(list_server_ms);
        entry.1.push(second.2);
        first_render.push((server_ms + list_server_ms, client_ms + second.2));
    }
    let n_open = open_ticket_count(&client, &server, &token).await?;
    println!("{}", json!({"bench": "queue", "open_tickets": n_open, "rounds": rounds, "backend": if cli.postgres.is_some() {"postgres"} else {"sqlite"}, "load_before": load_before, "load_after": load_average(), "date": Utc::now().to_rfc3339()}));
    describe("first_render_server (page + first list)", first_render.iter().map(|(server_ms, _)| *server_ms).collect());
    describe("first_render_client", first_render.iter().map(|(_, client_ms)| *client_ms).collect());
    let mut names: Vec<&String> = timings.keys().collect();
    names.sort();
    let mut all_filters_server = Vec::new();
    for name in names {
        let (server_ms, client_ms) = &timings[name];
        describe(&format!("{name}_server"), server_ms.clone());
        describe(&format!("{name}_client"), client_ms.clone());
        if name.starts_with("filter_") {
            all_filters_server.extend(server_ms.iter().copied());
        }
    }
    describe("every_filter_server", all_filters_server);
    drop(server);
    database.drop_database().await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// screen

async fn screen(cli: &Cli, n_messages: usize, rate: f64, backlog: usize) -> anyhow::Result<()> {
    let database = Database::fresh(cli.postgres.as_deref()).await?;
    let token = create_token(&cli.bin, &database.url, "ingest,read,write,admin")?;
    let server = Server::start(cli, &database.url).await?;
    let client = reqwest::Client::builder().pool_max_idle_per_host(64).build()?;
    if backlog > 0 {
        seed_messages(&client, &server, &token, backlog, 0, 8).await?;
    }
    let session = agent_session(&client, &server, &token).await?;
    // The agent's console: the socket with the session cookie and the page's own Origin.
    let mut request = server.ws_url("").into_client_request()?;
    request.headers_mut().insert("cookie", session.cookie.parse()?);
    request.headers_mut().insert("origin", server.base_url.parse()?);
    let (mut socket, _) = tokio_tungstenite::connect_async_with_config(request, Some(socket_config()), false).await.context("opening the console's socket")?;

    // ticket id → when the socket named it.
    let seen: Arc<Mutex<HashMap<i64, Instant>>> = Arc::default();
    let (list_sender, mut list_receiver) = tokio::sync::mpsc::unbounded_channel::<(i64, Instant)>();
    let stop = Arc::new(AtomicBool::new(false));
    let listener = {
        let (seen, stop) = (seen.clone(), stop.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let Ok(Some(Ok(Message::Text(text)))) = tokio::time::timeout(Duration::from_millis(200), socket.next()).await else { continue };
                let received = Instant::now();
                let Ok(event) = serde_json::from_str::<Value>(&text) else { continue };
                if event["type"] == "ticket_created" {
                    if let Some(ticket_id) = event["ticket_id"].as_i64() {
                        seen.lock().unwrap().entry(ticket_id).or_insert(received);
                        let _ = list_sender.send((ticket_id, received));
                    }
                }
            }
        })
    };
    // queue.js: on an event, (after its debounce) the list with the page's filter. This fetcher
    // fetches at once; the debounce is added in the report.
    let listed: Arc<Mutex<HashMap<i64, (Instant, bool)>>> = Arc::default();
    let fetcher = {
        let (client, listed, url, cookie) = (client.clone(), listed.clone(), format!("{}/api/v1/tickets?status=new%2Copen%2Cpending&limit=50", server.base_url), session.cookie.clone());
        tokio::spawn(async move {
            while let Some((ticket_id, _)) = list_receiver.recv().await {
                let Ok(response) = client.get(&url).header("cookie", &cookie).send().await else { continue };
                let Ok(page) = response.json::<Value>().await else { continue };
                let done = Instant::now();
                let shown = page["tickets"].as_array().is_some_and(|tickets| tickets.iter().any(|ticket| ticket["id"] == ticket_id));
                listed.lock().unwrap().insert(ticket_id, (done, shown));
            }
        })
    };
    let texts = corpus()?;
    let load_before = load_average();
    let mut posted = Vec::new();
    let interval = Duration::from_secs_f64(1.0 / rate);
    let started = Instant::now();
    for idx in 0..n_messages {
        tokio::time::sleep_until((started + interval * idx as u32).into()).await;
        let body = json!({"channel": "chat", "text": texts[(idx * 7) % texts.len()], "external_id": format!("screen-{idx}"), "customer": {"email": format!("screen{idx}@example.com")}});
        let sent_at = Instant::now();
        let response = client.post(format!("{}/api/v1/messages", server.base_url)).bearer_auth(&token).json(&body).send().await?;
        let status = response.status();
        let answer: Value = response.json().await?;
        let answered = Instant::now();
        if !status.is_success() {
            bail!("POST /api/v1/messages answered {status}: {answer}");
        }
        posted.push((answer["ticket_id"].as_i64().context("no ticket id")?, sent_at, answered));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);
    listener.await?;
    fetcher.abort();
    let (seen, listed) = (seen.lock().unwrap(), listed.lock().unwrap());
    let (mut to_post_answer, mut to_event, mut to_list, mut n_missing, mut n_not_in_page) = (Vec::new(), Vec::new(), Vec::new(), 0, 0);
    for (ticket_id, sent_at, answered) in &posted {
        to_post_answer.push(answered.duration_since(*sent_at).as_secs_f64() * 1_000.0);
        let (Some(event_at), Some((listed_at, shown))) = (seen.get(ticket_id), listed.get(ticket_id)) else {
            n_missing += 1;
            continue;
        };
        to_event.push(event_at.duration_since(*sent_at).as_secs_f64() * 1_000.0);
        to_list.push(listed_at.duration_since(*sent_at).as_secs_f64() * 1_000.0);
        if !shown {
            n_not_in_page += 1;
        }
    }
    println!("{}", json!({"bench": "screen", "messages": posted.len(), "rate": rate, "backlog": backlog, "embeddings": cli.embeddings, "missing": n_missing, "not_in_first_page": n_not_in_page, "backend": if cli.postgres.is_some() {"postgres"} else {"sqlite"}, "load_before": load_before, "load_after": load_average(), "date": Utc::now().to_rfc3339()}));
    describe("post_message_answered", to_post_answer);
    describe("post_to_ws_event", to_event);
    describe("post_to_queue_list_fetched", to_list);
    drop(server);
    database.drop_database().await?;
    if n_missing > 0 {
        bail!("{n_missing} tickets never reached the console");
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(async {
        match &cli.bench {
            Bench::Fanout { clients, rate, seconds, tickets, replicas } => fanout(&cli, *clients, *rate, *seconds, *tickets, *replicas).await,
            Bench::Queue { tickets, rounds } => queue(&cli, *tickets, *rounds).await,
            Bench::Screen { messages, rate, backlog } => screen(&cli, *messages, *rate, *backlog).await,
        }
    })
}
