//! Report benchmark: generates a year of synthetic contact-center history (1,000,000 tickets
//! by default, with their messages, triage results, decisions, LLM calls and customer ratings), bulk-loaded
//! straight into the tables, then times every report over the windows a dashboard asks for.
//!
//! ```text
//! cargo run -p sb-store --example report_bench -- --db sqlite:///tmp/sb-report-bench.db
//! cargo run -p sb-store --example report_bench -- --db postgres://postgres@127.0.0.1:5432/test --schema sb_report_bench
//! ```
//! Options: `--tickets N` (default 1000000), `--days D` (365), `--runs R` (5 timed runs per
//! report, after one warm-up). A database that already holds the N tickets is reused (delete
//! the file or drop the schema to regenerate). The hourly report rollups are built (timed)
//! before the reports run; `--no-rollups` deletes them instead, so every report scans.
//!
//! Loading bypasses the store's API on purpose: SQLite through one rusqlite connection with
//! prepared statements in large transactions, PostgreSQL with `COPY … FROM STDIN` (foreign-key
//! and append-only triggers off for the loading session only). The data is deterministic (a
//! seeded SplitMix64).

use std::io::Write;
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, TimeZone, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use sb_store::{ReportWindow, SlaDimension, Store, StoreOptions, WindowParams};
use sqlx::Connection;

/// The end of the generated history, and the `now` of the live reports.
fn end() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 14, 0, 0).unwrap()
}

const N_AGENTS: i64 = 50;
const TIME_ZONE: &str = "Europe/Berlin";

struct Options {
    db: String,
    schema: Option<String>,
    n_tickets: i64,
    days: i64,
    runs: usize,
    rollups: bool,
}

fn options() -> Options {
    let mut options = Options { db: String::new(), schema: None, n_tickets: 1_000_000, days: 365, runs: 5, rollups: true };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "--no-rollups" {
            options.rollups = false;
            continue;
        }
        let value = args.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--db" => options.db = value,
            "--schema" => options.schema = Some(value),
            "--tickets" => options.n_tickets = value.parse().expect("--tickets N"),
            "--days" => options.days = value.parse().expect("--days D"),
            "--runs" => options.runs = value.parse().expect("--runs R"),
            other => panic!("unknown option {other}"),
        }
    }
    assert!(!options.db.is_empty(), "give --db sqlite://FILE or --db postgres://…");
    options
}

/// SplitMix64: small, fast, deterministic.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, bound: u64) -> i64 {
        (self.next() % bound) as i64
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn chance(&mut self, probability: f64) -> bool {
        self.unit() < probability
    }
}

/// A column value, written as SQLite binds it or as PostgreSQL's COPY text reads it.
#[derive(Clone)]
enum Value {
    Int(i64),
    Float(f64),
    Text(&'static str),
    Owned(String),
    Bool(bool),
    Bytes(&'static [u8]),
    Null,
}

impl Value {
    fn sqlite(&self) -> rusqlite::types::Value {
        use rusqlite::types::Value as Sql;
        match self {
            Value::Int(value) => Sql::Integer(*value),
            Value::Float(value) => Sql::Real(*value),
            Value::Text(value) => Sql::Text((*value).to_string()),
            Value::Owned(value) => Sql::Text(value.clone()),
            Value::Bool(value) => Sql::Integer(i64::from(*value)),
            Value::Bytes(value) => Sql::Blob(value.to_vec()),
            Value::Null => Sql::Null,
        }
    }

    /// COPY text format: tab-separated, `\N` for NULL; the generated text has no tab, newline
    /// or backslash, so nothing else needs escaping.
    fn copy_text(&self, out: &mut String) {
        use std::fmt::Write as _;
        match self {
            Value::Int(value) => write!(out, "{value}").unwrap(),
            Value::Float(value) => write!(out, "{value}").unwrap(),
            Value::Text(value) => out.push_str(value),
            Value::Owned(value) => out.push_str(value),
            Value::Bool(value) => out.push(if *value { 't' } else { 'f' }),
            Value::Bytes(value) => {
                out.push_str("\\\\x");
                for byte in *value {
                    write!(out, "{byte:02x}").unwrap();
                }
            }
            Value::Null => out.push_str("\\N"),
        }
    }
}

struct Table {
    name: &'static str,
    columns: &'static [&'static str],
}

const CUSTOMERS: Table = Table { name: "customers", columns: &["id", "email", "name", "vip", "created_at", "updated_at"] };
const USERS: Table = Table { name: "users", columns: &["id", "email", "name", "role", "password_hash", "active", "created_at", "updated_at"] };
const TICKETS: Table = Table {
    name: "tickets",
    columns: &[
        "id", "customer_id", "channel", "subject", "status", "queue", "category", "intent", "severity", "confidence", "sentiment", "priority", "route",
        "assignee_id", "sla_policy", "sla", "first_response_due_at", "resolution_due_at", "first_responded_at", "resolved_at", "sla_paused_at", "sla_paused_ms",
        "first_response_breached", "resolution_breached", "created_at", "updated_at", "last_message_at",
    ],
};
const MESSAGES: Table = Table {
    name: "messages",
    columns: &["id", "ticket_id", "channel", "direction", "author_user_id", "content_type", "raw_payload", "body", "body_is_html", "stage", "attempts", "received_at", "triaged_at"],
};
const TRIAGE: Table = Table { name: "triage_results", columns: &["id", "message_id", "ticket_id", "model_name", "model_version", "result", "latency_us", "created_at"] };
const DECISIONS: Table = Table { name: "decisions", columns: &["id", "ticket_id", "message_id", "triage_id", "route", "reason_code", "priority", "record", "created_at"] };
const LLM_USAGE: Table = Table { name: "llm_usage", columns: &["ticket_id", "provider", "model", "purpose", "prompt_tokens", "completion_tokens", "cost_micros", "currency", "created_at"] };
const CSAT: Table = Table { name: "csat_ratings", columns: &["ticket_id", "rating", "comment", "agent_user_id", "source", "rated_at"] };
const TABLES: [&Table; 8] = [&CUSTOMERS, &USERS, &TICKETS, &MESSAGES, &TRIAGE, &DECISIONS, &LLM_USAGE, &CSAT];

/// ((intent, category), weight): the default taxonomy with a plausible mix.
const INTENTS: [((&str, &str), u64); 15] = [
    (("product_info", "informational"), 9),
    (("policy_info", "informational"), 8),
    (("store_info", "informational"), 4),
    (("other", "informational"), 5),
    (("track_order", "service_action"), 22),
    (("cancel_order", "service_action"), 6),
    (("change_order", "service_action"), 5),
    (("return_refund", "service_action"), 12),
    (("damaged_or_wrong_item", "service_action"), 7),
    (("payment_issue", "service_action"), 6),
    (("account_update", "service_action"), 5),
    (("complaint", "service_action"), 5),
    (("adverse_reaction", "safety_compliance"), 3),
    (("product_hazard", "safety_compliance"), 2),
    (("privacy_request", "safety_compliance"), 1),
];
const CHANNELS: [(&str, u64); 5] = [("email", 40), ("chat", 35), ("api", 15), ("voice", 5), ("sms", 5)];

fn pick<T: Copy>(random: &mut Random, choices: &[(T, u64)]) -> T {
    let total: u64 = choices.iter().map(|(_, weight)| weight).sum();
    let mut draw = random.next() % total;
    for (choice, weight) in choices {
        if draw < *weight {
            return *choice;
        }
        draw -= weight;
    }
    choices[0].0
}

/// The rows one ticket brings into every table.
#[derive(Default)]
struct Batch {
    rows: [Vec<Vec<Value>>; 8],
}

struct Generator {
    random: Random,
    start_ms: i64,
    span_ms: i64,
    n_tickets: i64,
    n_customers: i64,
    next_message_id: i64,
}

const SLA_JSON: &str = r#"{"policy_name":"standard","calendar":{"kind":"business_hours","time_zone":"Europe/Berlin"},"first_response":{"target_seconds":14400,"paused_ms":0},"resolution":{"target_seconds":259200,"paused_ms":0}}"#;

impl Generator {
    fn ticket(&mut self, ticket_idx: i64, batch: &mut Batch) {
        let random = &mut self.random;
        let ticket_id = ticket_idx + 1;
        // Evenly spread with jitter inside each ticket's own slot, so the last one is before `end()`.
        let slot_ms = (self.span_ms / self.n_tickets).max(1);
        let created_ms = self.start_ms + ticket_idx * self.span_ms / self.n_tickets + random.below(slot_ms as u64);
        let age_ms = self.start_ms + self.span_ms - created_ms;
        let channel = pick(random, &CHANNELS);
        let (intent, category) = pick(random, &INTENTS);
        let safety = category == "safety_compliance";
        let severity = safety.then(|| pick(random, &[("urgent", 1), ("high", 4), ("standard", 5)]));
        let auto = !safety && match intent {
            "product_info" | "policy_info" | "store_info" => random.chance(0.55),
            "track_order" => random.chance(0.4),
            _ => random.chance(0.05),
        };
        let route = if safety { "safety_queue" } else if auto { "auto_reply" } else { "human_queue" };
        let queue = if safety { "safety" } else if auto { "auto" } else { "human" };
        let priority = if safety { 70 + random.below(31) } else { random.below(70) };
        let sentiment = (random.unit() * 2.0 - 1.0) * if intent == "complaint" { 1.0 } else { 0.6 };
        let first_target_ms = match severity {
            Some("urgent") => 15 * 60_000,
            Some("high") => 2 * 3_600_000,
            Some(_) => 24 * 3_600_000,
            None => 4 * 3_600_000,
        };
        let resolution_target_ms = if safety { 24 * 3_600_000 } else { 72 * 3_600_000 };
        let first_due = created_ms + first_target_ms;
        let resolution_due = created_ms + resolution_target_ms;
        // Recent tickets are still being worked; older ones are done.
        let open = (age_ms < 3 * 86_400_000 && random.chance(0.6)) || random.chance(0.01);
        let responded_ms = if auto {
            Some(created_ms + 1_000)
        } else if open && random.chance(0.4) {
            None
        } else {
            Some(created_ms + 60_000 + (random.unit().powi(2) * (first_target_ms as f64) * 1.6) as i64)
        };
        let responded_ms = responded_ms.filter(|at| *at < self.start_ms + self.span_ms);
        let resolved_ms = (!open).then(|| created_ms + 600_000 + (random.unit().powi(2) * resolution_target_ms as f64 * 1.5) as i64);
        let status = match (open, resolved_ms) {
            (true, _) if random.chance(0.15) => "pending",
            (true, _) if responded_ms.is_none() => "new",
            (true, _) => "open",
            (false, _) if random.chance(0.3) => "closed",
            (false, _) => "resolved",
        };
        let status = if status == "new" && !auto { "open" } else { status };
        let assignee = (!auto && (!open || random.chance(0.7))).then(|| 1 + random.below(N_AGENTS as u64));
        let customer_id = 1 + random.below(self.n_customers as u64);
        let first_breached = responded_ms.is_some_and(|at| at > first_due);
        let resolution_breached = resolved_ms.is_some_and(|at| at > resolution_due);
        let last_ms = resolved_ms.or(responded_ms).unwrap_or(created_ms);
        batch.rows[2].push(vec![
            Value::Int(ticket_id),
            Value::Int(customer_id),
            Value::Text(channel),
            Value::Text("About my order"),
            Value::Text(status),
            Value::Text(queue),
            Value::Text(category),
            Value::Text(intent),
            severity.map_or(Value::Null, Value::Text),
            Value::Float(0.5 + random.unit() * 0.5),
            Value::Float((sentiment * 1000.0).round() / 1000.0),
            Value::Int(priority),
            Value::Text(route),
            assignee.map_or(Value::Null, Value::Int),
            Value::Text("standard"),
            Value::Text(SLA_JSON),
            Value::Int(first_due),
            Value::Int(resolution_due),
            responded_ms.map_or(Value::Null, Value::Int),
            resolved_ms.map_or(Value::Null, Value::Int),
            if status == "pending" { Value::Int(created_ms + 3_600_000) } else { Value::Null },
            Value::Int(0),
            Value::Bool(first_breached),
            Value::Bool(resolution_breached),
            Value::Int(created_ms),
            Value::Int(last_ms),
            Value::Int(last_ms),
        ]);
        let message_id = self.next_message_id;
        let message = |id: i64, direction: &'static str, author: Option<i64>, at: i64, stage: &'static str| {
            vec![
                Value::Int(id),
                Value::Int(ticket_id),
                Value::Text(channel),
                Value::Text(direction),
                author.map_or(Value::Null, Value::Int),
                Value::Text("text/plain"),
                Value::Bytes(b"hi"),
                Value::Text("Where is my order? It has been a week."),
                Value::Bool(false),
                Value::Text(stage),
                Value::Int(0),
                Value::Int(at),
                if stage == "triaged" { Value::Int(at + 200) } else { Value::Null },
            ]
        };
        batch.rows[3].push(message(message_id, "inbound", None, created_ms, "triaged"));
        let mut n_messages = 1;
        if let Some(at) = responded_ms {
            batch.rows[3].push(message(message_id + n_messages, "outbound", if auto { None } else { assignee }, at, "none"));
            n_messages += 1;
            // A third of the tickets a person answered get a second reply from them before
            // they are resolved.
            if let (false, Some(resolved)) = (auto, resolved_ms) {
                if resolved > at + 120_000 && random.chance(0.35) {
                    batch.rows[3].push(message(message_id + n_messages, "outbound", assignee, at + (resolved - at) / 2, "none"));
                    n_messages += 1;
                }
            }
        }
        // Some customers write again after an automatic answer.
        if auto && random.chance(0.12) {
            batch.rows[3].push(message(message_id + n_messages, "inbound", None, created_ms + 3_600_000, "triaged"));
            n_messages += 1;
        }
        self.next_message_id += n_messages;
        batch.rows[4].push(vec![
            Value::Int(ticket_id),
            Value::Int(message_id),
            Value::Int(ticket_id),
            Value::Text("triage-default"),
            Value::Text("v1"),
            Value::Text(r#"{"intent":"track_order"}"#),
            Value::Int(800 + random.below(2000)),
            Value::Int(created_ms + 200),
        ]);
        batch.rows[5].push(vec![
            Value::Int(ticket_id),
            Value::Int(ticket_id),
            Value::Int(message_id),
            Value::Int(ticket_id),
            Value::Text(route),
            Value::Text("generated"),
            Value::Int(priority),
            Value::Text(r#"{"route":"generated"}"#),
            Value::Int(created_ms + 200),
        ]);
        if random.chance(0.2) {
            // A drafted reply, and for a quarter of those tickets a summary an hour later.
            let calls = if random.chance(0.25) { [(300, "reply"), (3_600_000, "summary")].as_slice() } else { [(300, "reply")].as_slice() };
            for (after_ms, purpose) in calls {
                let at = created_ms + after_ms;
                if at >= self.start_ms + self.span_ms {
                    continue;
                }
                let prompt_tokens = 300 + random.below(1500);
                let completion_tokens = 50 + random.below(400);
                batch.rows[6].push(vec![
                    Value::Int(ticket_id),
                    Value::Text("openai"),
                    Value::Text("gpt-4o-mini"),
                    Value::Text(purpose),
                    Value::Int(prompt_tokens),
                    Value::Int(completion_tokens),
                    // $0.15 per million prompt tokens, $0.60 per million completion tokens.
                    Value::Int((prompt_tokens * 15 + completion_tokens * 60) / 100),
                    Value::Text("USD"),
                    Value::Int(at),
                ]);
            }
        }
        // A fifth of the resolved tickets with an agent are rated within a day.
        if let (Some(agent), Some(resolved)) = (assignee, resolved_ms) {
            let rated_ms = resolved + random.below(86_400_000);
            if random.chance(0.2) && rated_ms < self.start_ms + self.span_ms {
                let rating = pick(random, &[(1, 1), (2, 1), (3, 2), (4, 5), (5, 8)]);
                batch.rows[7].push(vec![Value::Int(ticket_id), Value::Int(rating), Value::Null, Value::Int(agent), Value::Text("chat"), Value::Int(rated_ms)]);
            }
        }
    }
}

fn people(n_customers: i64, batch: &mut Batch) {
    let created_ms = end().timestamp_millis() - 400 * 86_400_000;
    for customer_id in 1..=n_customers {
        batch.rows[0].push(vec![
            Value::Int(customer_id),
            Value::Owned(format!("customer-{customer_id}@example.com")),
            Value::Text("Generated Customer"),
            Value::Bool(customer_id % 97 == 0),
            Value::Int(created_ms),
            Value::Int(created_ms),
        ]);
    }
    for user_id in 1..=N_AGENTS {
        batch.rows[1].push(vec![
            Value::Int(user_id),
            Value::Owned(format!("agent-{user_id}@example.com")),
            Value::Owned(format!("Agent {user_id}")),
            Value::Text("agent"),
            Value::Text("not a real hash"),
            Value::Bool(true),
            Value::Int(created_ms),
            Value::Int(created_ms),
        ]);
    }
}

/// Writes a batch on the SQLite file through one rusqlite connection, one transaction.
fn write_sqlite(connection: &mut rusqlite::Connection, batch: &Batch) -> rusqlite::Result<()> {
    let transaction = connection.transaction()?;
    for (table, rows) in TABLES.iter().zip(&batch.rows) {
        if rows.is_empty() {
            continue;
        }
        let placeholders = vec!["?"; table.columns.len()].join(", ");
        let mut statement = transaction.prepare_cached(&format!("INSERT INTO {} ({}) VALUES ({placeholders})", table.name, table.columns.join(", ")))?;
        for row in rows {
            statement.execute(rusqlite::params_from_iter(row.iter().map(Value::sqlite)))?;
        }
    }
    transaction.commit()
}

/// Writes a batch with COPY, one table after the other.
async fn write_postgres(connection: &mut sqlx::PgConnection, batch: &Batch) -> Result<(), sqlx::Error> {
    for (table, rows) in TABLES.iter().zip(&batch.rows) {
        if rows.is_empty() {
            continue;
        }
        let mut text = String::with_capacity(rows.len() * 200);
        for row in rows {
            for (column_idx, value) in row.iter().enumerate() {
                if column_idx > 0 {
                    text.push('\t');
                }
                value.copy_text(&mut text);
            }
            text.push('\n');
        }
        let mut copy = connection.copy_in_raw(&format!("COPY {} ({}) FROM STDIN", table.name, table.columns.join(", "))).await?;
        copy.send(text.into_bytes()).await?;
        copy.finish().await?;
    }
    Ok(())
}

enum Loader {
    Sqlite(rusqlite::Connection),
    Postgres(sqlx::PgConnection),
}

impl Loader {
    async fn open(options: &Options) -> Loader {
        if let Some(path) = options.db.strip_prefix("sqlite://") {
            let connection = rusqlite::Connection::open(path).expect("open the sqlite file");
            // Loading only: a crash here loses nothing that matters (regenerate).
            connection.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF; PRAGMA foreign_keys = OFF;").expect("sqlite pragmas");
            return Loader::Sqlite(connection);
        }
        let mut connection = sqlx::PgConnection::connect(&options.db).await.expect("connect to postgres");
        let schema = options.schema.as_deref().unwrap_or("public");
        // Foreign-key and append-only triggers are off for this session only (a superuser's
        // bulk load); the generator writes consistent ids.
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("SET search_path TO {schema}; SET session_replication_role = replica; SET synchronous_commit = off;")))
            .execute(&mut connection)
            .await
            .expect("postgres session settings");
        Loader::Postgres(connection)
    }

    async fn write(&mut self, batch: &Batch) {
        match self {
            Loader::Sqlite(connection) => write_sqlite(connection, batch).expect("sqlite bulk insert"),
            Loader::Postgres(connection) => write_postgres(connection, batch).await.expect("postgres copy"),
        }
    }

    /// Fresh statistics for the planners (and PostgreSQL's visibility map, which index-only
    /// scans need; autovacuum would do it in production).
    async fn analyze(&mut self) {
        match self {
            Loader::Sqlite(connection) => connection.execute_batch("ANALYZE; PRAGMA wal_checkpoint(TRUNCATE);").expect("sqlite analyze"),
            Loader::Postgres(connection) => {
                // VACUUM cannot share a multi-statement (implicitly transactional) batch.
                sqlx::raw_sql("VACUUM ANALYZE").execute(&mut *connection).await.expect("postgres vacuum analyze");
                sqlx::raw_sql("SELECT setval(pg_get_serial_sequence('tickets', 'id'), (SELECT MAX(id) FROM tickets)); \
                     SELECT setval(pg_get_serial_sequence('messages', 'id'), (SELECT MAX(id) FROM messages)); \
                     SELECT setval(pg_get_serial_sequence('triage_results', 'id'), (SELECT MAX(id) FROM triage_results)); \
                     SELECT setval(pg_get_serial_sequence('decisions', 'id'), (SELECT MAX(id) FROM decisions)); \
                     SELECT setval(pg_get_serial_sequence('customers', 'id'), (SELECT MAX(id) FROM customers)); \
                     SELECT setval(pg_get_serial_sequence('users', 'id'), (SELECT MAX(id) FROM users));")
                    .execute(&mut *connection)
                    .await
                    .expect("postgres sequences after the load");
            }
        }
    }
}

async fn generate(options: &Options) {
    let n_customers = (options.n_tickets / 10).max(1);
    let mut loader = Loader::open(options).await;
    let mut batch = Batch::default();
    people(n_customers, &mut batch);
    loader.write(&batch).await;
    let span_ms = options.days * 86_400_000;
    let mut generator = Generator { random: Random(7), start_ms: end().timestamp_millis() - span_ms, span_ms, n_tickets: options.n_tickets, n_customers, next_message_id: 1 };
    let progress = ProgressBar::new(options.n_tickets as u64);
    progress.set_style(ProgressStyle::with_template("generating {pos}/{len} tickets [{bar:40}] {per_sec} eta {eta}").expect("progress template").progress_chars("=> "));
    let started = Instant::now();
    const BATCH_TICKETS: i64 = 20_000;
    let mut ticket_idx = 0;
    while ticket_idx < options.n_tickets {
        let mut batch = Batch::default();
        let batch_end = (ticket_idx + BATCH_TICKETS).min(options.n_tickets);
        while ticket_idx < batch_end {
            generator.ticket(ticket_idx, &mut batch);
            ticket_idx += 1;
        }
        loader.write(&batch).await;
        progress.set_position(ticket_idx as u64);
        // indicatif draws nothing when stderr is not a terminal (a log file): a line instead.
        if progress.is_hidden() && ticket_idx % 100_000 == 0 {
            eprintln!("generated {ticket_idx}/{} tickets in {:.1} s", options.n_tickets, started.elapsed().as_secs_f64());
        }
    }
    progress.finish_and_clear();
    eprintln!("generated {} tickets and {} messages in {:.1} s", options.n_tickets, generator.next_message_id - 1, started.elapsed().as_secs_f64());
    let started = Instant::now();
    loader.analyze().await;
    eprintln!("analyzed in {:.1} s", started.elapsed().as_secs_f64());
}

/// The last `days` days up to `end()`, or today (local) when `days` is 0.
fn window(days: i64, period: &str) -> ReportWindow {
    let from = if days == 0 { end().with_timezone(&TIME_ZONE.parse::<chrono_tz::Tz>().expect("zone")).date_naive().to_string() } else { (end() - Duration::days(days)).to_rfc3339() };
    let to = end().to_rfc3339();
    ReportWindow::parse(&WindowParams { from: Some(&from), to: Some(&to), time_zone: Some(TIME_ZONE), period: Some(period) }, end()).expect("window")
}

/// Runs `report` once to warm up, then `runs` times; returns (median, max) and the rows of
/// the last run.
async fn time<F, Fut>(runs: usize, mut report: F) -> (StdDuration, StdDuration, usize)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = usize>,
{
    report().await;
    let mut durations = Vec::new();
    let mut n_rows = 0;
    for _ in 0..runs {
        let started = Instant::now();
        n_rows = report().await;
        durations.push(started.elapsed());
    }
    durations.sort();
    (durations[durations.len() / 2], durations[durations.len() - 1], n_rows)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let options = options();
    let store_options = StoreOptions { postgres_schema: options.schema.clone(), ..StoreOptions::default() };
    let store = Store::connect(&options.db, &store_options).await.expect("connect");
    store.migrate().await.expect("migrate");
    let window_all = ReportWindow::new(end() - Duration::days(options.days + 1), end(), chrono_tz::UTC, None).expect("window");
    let n_existing: i64 = store.report_cost(&window_all).await.expect("count tickets").iter().map(|row| row.n_tickets).sum();
    if n_existing == 0 {
        generate(&options).await;
    } else if n_existing != options.n_tickets {
        panic!("the database holds {n_existing} tickets, not {}: delete it (or drop the schema) to regenerate", options.n_tickets);
    } else {
        eprintln!("reusing the {n_existing} tickets already in the database");
    }

    let now = end();
    if options.rollups {
        let started = Instant::now();
        let mut built = 0;
        loop {
            let refresh = store.refresh_report_rollups(now, 24 * 30).await.expect("build report rollups");
            built += refresh.built_hours;
            if refresh.remaining_hours == 0 {
                break;
            }
            eprintln!("report rollups: {built} hours built, {} to go ({:.1} s)", refresh.remaining_hours, started.elapsed().as_secs_f64());
        }
        // As the server's builder does after a catch-up.
        if built > 0 {
            store.analyze_report_rollups().await.expect("analyze report rollups");
        }
        eprintln!("report rollups: {built} hours built in {:.1} s", started.elapsed().as_secs_f64());
    } else {
        store.clear_report_rollups().await.expect("delete report rollups");
        eprintln!("report rollups deleted: every report scans");
    }
    let time_zone: chrono_tz::Tz = TIME_ZONE.parse().expect("zone");
    let windows = [("today by hour", window(0, "hour")), ("7 days by day", window(7, "day")), ("30 days by day", window(30, "day")), ("365 days by month", window(365, "month"))];
    let mut out = std::io::stdout().lock();
    writeln!(out, "| report | window | rows | median ms | max ms |").unwrap();
    writeln!(out, "|---|---|---:|---:|---:|").unwrap();
    let store = &store;
    let month_window = &windows[2].1;
    let mut print = |name: &str, window: &str, (median, max, n_rows): (StdDuration, StdDuration, usize)| {
        writeln!(out, "| {name} | {window} | {n_rows} | {:.1} | {:.1} |", median.as_secs_f64() * 1000.0, max.as_secs_f64() * 1000.0).unwrap();
    };
    print("pending (200 most urgent)", "now", time(options.runs, || async move { store.report_pending(time_zone, 200, now).await.expect("pending").len() }).await);
    print("realtime", "now", time(options.runs, || async move { store.report_realtime(time_zone, now).await.map(|_| 1).expect("realtime") }).await);
    print("customer 360", "30 days by day", time(options.runs, || async move { store.report_customer(4242, month_window).await.expect("customer").tickets.len() }).await);
    for (label, window) in &windows {
        print("sla by category", label, time(options.runs, || async move { store.report_sla(window, SlaDimension::Category, now).await.expect("sla").len() }).await);
        print("sla by priority", label, time(options.runs, || async move { store.report_sla(window, SlaDimension::Priority, now).await.expect("sla").len() }).await);
        print("categories", label, time(options.runs, || async move { store.report_categories(window, now).await.expect("categories").len() }).await);
        print("agents", label, time(options.runs, || async move { store.report_agents(window, now).await.expect("agents").len() }).await);
        print("cost", label, time(options.runs, || async move { store.report_cost(window).await.expect("cost").len() }).await);
        print("automation", label, time(options.runs, || async move { store.report_automation(window).await.expect("automation").len() }).await);
    }
    store.close().await;
}
