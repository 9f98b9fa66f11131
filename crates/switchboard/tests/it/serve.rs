//! `switchboard serve` as users run it: a real process on a real socket, on SQLite and on the
//! real PostgreSQL server. Covers the new-user path (token, message in, ticket with its
//! decision), every bad-input error code, kill -9 under load (nothing acknowledged lost,
//! nothing duplicated), and what operators see: JSON log lines that name the request and never
//! the customer, and `/metrics`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::cli::{cache_dir, ensure_tfidf_default_model, repo_root};

const POSTGRES_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A database for one test: a temp SQLite file, or a fresh PostgreSQL database (dropped after).
pub(crate) struct TestDatabase {
    pub(crate) url: String,
    postgres_name: Option<String>,
    _dir: tempfile::TempDir,
}

impl TestDatabase {
    pub(crate) async fn new(postgres: bool) -> TestDatabase {
        let dir = tempfile::tempdir().unwrap();
        if !postgres {
            return TestDatabase { url: format!("sqlite://{}", dir.path().join("switchboard.db").display()), postgres_name: None, _dir: dir };
        }
        use sqlx::Connection;
        let name = format!("sb_e2e_{}_{}", std::process::id(), chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default() % 1_000_000_000);
        let mut connection = sqlx::PgConnection::connect(POSTGRES_ADMIN_URL).await.unwrap_or_else(|error| {
            panic!("PostgreSQL is required and does not answer at {POSTGRES_ADMIN_URL}: {error}; start it with scripts/services.sh")
        });
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut connection).await.unwrap();
        TestDatabase { url: format!("postgres://postgres@127.0.0.1:5432/{name}"), postgres_name: Some(name), _dir: dir }
    }

    /// What an attacker with write access to the database would do: drop the append-only
    /// guard and rewrite an entry.
    async fn tamper_with_audit_entry(&self, entry_id: i64) {
        use sqlx::Connection;
        let edit = format!("UPDATE audit_log SET actor = 'user:999' WHERE id = {entry_id}");
        if self.postgres_name.is_some() {
            let mut connection = sqlx::PgConnection::connect(&self.url).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP TRIGGER audit_log_no_update ON audit_log; {edit}"))).execute(&mut connection).await.unwrap();
        } else {
            let mut connection = sqlx::SqliteConnection::connect(&self.url).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP TRIGGER audit_log_no_update; {edit}"))).execute(&mut connection).await.unwrap();
        }
    }

    pub(crate) async fn drop_database(&self) {
        if let Some(name) = &self.postgres_name {
            use sqlx::Connection;
            let mut connection = sqlx::PgConnection::connect(POSTGRES_ADMIN_URL).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))).execute(&mut connection).await.unwrap();
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub(crate) fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_switchboard"))
}

pub(crate) fn create_token(db_url: &str, scopes: &str) -> String {
    let output = Command::new(binary())
        .args(["token", "create", "--db", db_url, "--name", &format!("test-{scopes}"), "--scopes", scopes])
        .env("SWITCHBOARD_LOG", "warn")
        .current_dir(repo_root())
        .output()
        .unwrap();
    assert!(output.status.success(), "token create failed: {}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8(output.stdout).unwrap();
    let token = stdout.lines().last().unwrap().trim().to_string();
    assert!(token.starts_with("sbt_") && token.len() == 52, "token alone on the last line: {stdout:?}");
    token
}

/// A running `switchboard serve`; killed (SIGKILL) when dropped.
pub(crate) struct Server {
    child: Child,
    pub(crate) base_url: String,
    /// Standard error (the logs), when collected, and the thread that collects it.
    logs: Arc<Mutex<String>>,
    log_reader: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    pub(crate) async fn start(db_url: &str) -> Server {
        Server::start_with_logs(db_url, "warn", false).await
    }

    /// Starts with SWITCHBOARD_LOG=`log_level`; `collect_logs` keeps standard error for
    /// [`Server::stop_and_collect_logs`] instead of passing it through.
    async fn start_with_logs(db_url: &str, log_level: &str, collect_logs: bool) -> Server {
        Server::start_with_env(db_url, log_level, collect_logs, &[]).await
    }

    /// Like [`Server::start_with_logs`] with extra environment variables (configuration).
    pub(crate) async fn start_with_env(db_url: &str, log_level: &str, collect_logs: bool, env: &[(&str, String)]) -> Server {
        Server::spawn(db_url, log_level, collect_logs, &[], env).await
    }

    /// Starts with more arguments for `serve` (`--demo`, `--config FILE`…).
    pub(crate) async fn start_with_args(db_url: &str, extra_args: &[&str]) -> Server {
        Server::spawn(db_url, "warn", false, extra_args, &[]).await
    }

    async fn spawn(db_url: &str, log_level: &str, collect_logs: bool, extra_args: &[&str], env: &[(&str, String)]) -> Server {
        ensure_tfidf_default_model();
        let port = free_port();
        let mut child = Command::new(binary())
            .args(["serve", "--db", db_url, "--addr", &format!("127.0.0.1:{port}"), "--no-embeddings"])
            .envs(env.iter().map(|(name, value)| (*name, value.as_str())))
            .args(extra_args)
            .env("SWITCHBOARD_CACHE", cache_dir())
            .env("SWITCHBOARD_LOG", log_level)
            .current_dir(repo_root())
            .stdout(Stdio::null())
            .stderr(if collect_logs { Stdio::piped() } else { Stdio::inherit() })
            .spawn()
            .unwrap();
        let logs = Arc::new(Mutex::new(String::new()));
        let log_reader = child.stderr.take().map(|stderr| {
            let logs = logs.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { return };
                    let mut logs = logs.lock().unwrap();
                    logs.push_str(&line);
                    logs.push('\n');
                }
            })
        });
        let server = Server { child, base_url: format!("http://127.0.0.1:{port}"), logs, log_reader };
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Ok(response) = client.get(format!("{}/ready", server.base_url)).send().await {
                if response.status() == 200 {
                    return server;
                }
            }
            assert!(Instant::now() < deadline, "the server did not become ready within 120 s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub(crate) fn kill_9(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Kills the server and returns everything it wrote to standard error.
    fn stop_and_collect_logs(mut self) -> String {
        self.kill_9();
        if let Some(reader) = self.log_reader.take() {
            reader.join().unwrap();
        }
        self.logs.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) async fn post(client: &reqwest::Client, url: &str, token: Option<&str>, content_type: &str, body: impl Into<reqwest::Body>) -> (u16, Value) {
    let mut request = client.post(url).header("content-type", content_type).body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// A POST written whole to a plain socket before the answer is read (`Connection: close`).
async fn post_whole(url: &str, token: Option<&str>, content_type: &str, body: String) -> (u16, Value) {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let (host, path, token, content_type) = (host.to_string(), format!("/{path}"), token.map(str::to_string), content_type.to_string());
    tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(&host).unwrap();
        let authorization = token.map(|token| format!("Authorization: Bearer {token}\r\n")).unwrap_or_default();
        let head = format!("POST {path} HTTP/1.1\r\nHost: {host}\r\n{authorization}Content-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
        // The server may close its reading side once it has answered; the answer is still there.
        let _ = stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(body.as_bytes()));
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        let text = String::from_utf8_lossy(&answer).to_string();
        let status = text.split_whitespace().nth(1).and_then(|code| code.parse().ok()).unwrap_or(0);
        let json = text.split_once("\r\n\r\n").map(|(_, body)| body.trim()).and_then(|body| serde_json::from_str(body).ok()).unwrap_or(Value::String(text.clone()));
        (status, json)
    })
    .await
    .unwrap()
}

pub(crate) async fn get(client: &reqwest::Client, url: &str, token: &str) -> (u16, Value) {
    let response = client.get(url).bearer_auth(token).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn new_user_path(postgres: bool) {
    let database = TestDatabase::new(postgres).await;
    let token = create_token(&database.url, "ingest,read");
    let server = Server::start(&database.url).await;
    let client = reqwest::Client::new();
    let messages_url = format!("{}/api/v1/messages", server.base_url);

    let message = json!({"channel": "chat", "text": "My son swallowed a button battery from the remote!", "external_id": "m-1", "customer": {"email": "ana@example.com", "name": "Ana"}});
    let (status, created) = post(&client, &messages_url, Some(&token), "application/json", message.to_string()).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["status"], "triaged");
    assert_eq!(created["queue"], "safety");
    assert_eq!(created["triage"]["category"], "safety_compliance");
    assert_eq!(created["triage"]["severity"], "urgent");
    assert_eq!(created["decision"]["route"], "safety_queue");
    assert!(created["reply"].is_null(), "safety is never auto-replied");
    let ticket_id = created["ticket_id"].as_i64().unwrap();

    // A retried delivery: same ticket, 200, nothing new.
    let (status, again) = post(&client, &messages_url, Some(&token), "application/json", message.to_string()).await;
    assert_eq!((status, again["ticket_id"].as_i64(), again["status"].as_str()), (200, Some(ticket_id), Some("duplicate")));

    let (status, ticket) = get(&client, &format!("{}/api/v1/tickets/{ticket_id}", server.base_url), &token).await;
    assert_eq!(status, 200);
    assert_eq!(ticket["messages"].as_array().unwrap().len(), 1);
    assert_eq!(ticket["decision"]["decision"]["route"], "safety_queue");
    assert_eq!(ticket["decision_count"], 1);
    assert!(ticket["ticket"]["first_response_due_at"].is_string(), "the severity SLA is set: {ticket}");
    let (_, records) = get(&client, &format!("{}/api/v1/compliance/records?ticket={ticket_id}", server.base_url), &token).await;
    assert_eq!(records["records"].as_array().unwrap().len(), 1);

    // An informational question: no knowledge base yet, so a person answers — never a fake one.
    let question = json!({"channel": "api", "text": "Do you ship to Canada and how much does it cost?"});
    let (status, answered) = post(&client, &messages_url, Some(&token), "application/json", question.to_string()).await;
    assert_eq!(status, 201);
    assert_eq!(answered["decision"]["route"], "human_queue", "{answered}");
    assert_eq!(answered["decision"]["reason_code"], "no_article_found");

    let (status, listed) = get(&client, &format!("{}/api/v1/tickets?queue=safety", server.base_url), &token).await;
    assert_eq!((status, listed["total"].as_i64()), (200, Some(1)));
    drop(server);

    // The audit trail holds the token creation and both AI decisions, and verifies; after
    // someone with database access edits an entry, `audit verify` names it and fails.
    let verify = || Command::new(binary()).args(["audit", "verify", "--json", "--db", &database.url]).env("SWITCHBOARD_LOG", "warn").output().unwrap();
    let output = verify();
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(output.status.success(), "{report}");
    assert!(report["entries_checked"].as_u64().unwrap() >= 3 && report["first_bad_entry"].is_null(), "{report}");
    database.tamper_with_audit_entry(2).await;
    let output = verify();
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(report["first_bad_entry"][0], 2, "{report}");
    database.drop_database().await;
}

async fn bad_input_gets_stable_codes(postgres: bool) {
    let database = TestDatabase::new(postgres).await;
    let token = create_token(&database.url, "ingest,read");
    let read_only = create_token(&database.url, "read");
    let server = Server::start(&database.url).await;
    let client = reqwest::Client::new();
    let url = format!("{}/api/v1/messages", server.base_url);
    let long_text = "a".repeat(5_001);
    let huge_body = json!({"channel": "chat", "text": "a".repeat(300_000)}).to_string();
    let cases: Vec<(Option<&str>, &str, String, u16, &str)> = vec![
        (Some(&token), "application/json", "{\"channel\": \"chat\", \"text\":".into(), 400, "malformed_json"),
        (Some(&token), "application/json", json!({"channel": "fax", "text": "hi"}).to_string(), 422, "unknown_channel"),
        (Some(&token), "application/json", json!({"channel": "chat", "text": "  "}).to_string(), 422, "empty_text"),
        (Some(&token), "application/json", json!({"channel": "chat", "text": long_text}).to_string(), 422, "text_too_long"),
        (Some(&token), "application/json", json!({"channel": "chat"}).to_string(), 422, "invalid_field"),
        (Some(&token), "application/json", json!({"channel": "chat", "text": "hi", "customer": {"email": "not-an-email"}}).to_string(), 422, "invalid_field"),
        (None, "application/json", json!({"channel": "chat", "text": "hi"}).to_string(), 401, "unauthorized"),
        (Some("sbt_not_a_real_token"), "application/json", json!({"channel": "chat", "text": "hi"}).to_string(), 401, "unauthorized"),
        (Some(&read_only), "application/json", json!({"channel": "chat", "text": "hi"}).to_string(), 403, "forbidden"),
        (Some(&token), "text/plain", json!({"channel": "chat", "text": "hi"}).to_string(), 415, "unsupported_media_type"),
        (Some(&token), "application/json", huge_body, 413, "payload_too_large"),
    ];
    for (token, content_type, body, expected_status, expected_code) in cases {
        // The server answers 413 before the client has finished sending, and an HTTP client
        // may then report the early close instead of the answer: send that one whole over a
        // plain socket and read what comes back.
        let (status, answer) = if expected_status == 413 { post_whole(&url, token, content_type, body).await } else { post(&client, &url, token, content_type, body).await };
        assert_eq!((status, answer["error"]["code"].as_str()), (expected_status, Some(expected_code)), "{answer}");
        assert!(answer["error"]["message"].as_str().is_some_and(|message| !message.is_empty()));
    }
    // Invalid UTF-8 is malformed JSON, not a crash.
    let (status, answer) = post(&client, &url, Some(&token), "application/json", vec![b'{', 0xff, 0xfe, b'}']).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (400, Some("malformed_json")));
    let (status, answer) = get(&client, &format!("{}/api/v1/tickets/not-a-number", server.base_url), &token).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (422, Some("invalid_path")));
    let (status, answer) = get(&client, &format!("{}/api/v1/tickets?status=bogus", server.base_url), &token).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (422, Some("invalid_filter")));
    // Nothing was stored by any of them.
    let (_, listed) = get(&client, &format!("{}/api/v1/tickets", server.base_url), &token).await;
    assert_eq!(listed["total"], 0, "{listed}");
    drop(server);
    database.drop_database().await;
}

/// Sends messages from 16 concurrent clients, kills the server with SIGKILL in the middle,
/// restarts it, and re-sends every message: each acknowledged one must come back as a
/// duplicate of a stored ticket, and there must be exactly one ticket per message.
async fn kill_9_loses_nothing(postgres: bool) {
    const N_MESSAGES: usize = 400;
    const N_CLIENTS: usize = 16;
    let database = TestDatabase::new(postgres).await;
    let token = create_token(&database.url, "ingest,read");
    let mut server = Server::start(&database.url).await;
    let url = format!("{}/api/v1/messages", server.base_url);
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let body_for = |idx: usize| json!({"channel": "api", "text": format!("where is my order #A{:05}? it is late", idx), "external_id": format!("load-{idx}")}).to_string();

    let (acked_sender, mut acked_receiver) = tokio::sync::mpsc::unbounded_channel::<(usize, i64)>();
    let mut clients = Vec::new();
    for client_idx in 0..N_CLIENTS {
        let client = client.clone();
        let url = url.clone();
        let token = token.clone();
        let acked_sender = acked_sender.clone();
        let bodies: Vec<(usize, String)> = (client_idx..N_MESSAGES).step_by(N_CLIENTS).map(|idx| (idx, body_for(idx))).collect();
        clients.push(tokio::spawn(async move {
            for (idx, body) in bodies {
                let Ok(response) = client.post(&url).bearer_auth(&token).header("content-type", "application/json").body(body).send().await else { return };
                if response.status().is_success() {
                    let Ok(answer) = response.json::<Value>().await else { return };
                    let _ = acked_sender.send((idx, answer["ticket_id"].as_i64().unwrap()));
                }
            }
        }));
    }
    drop(acked_sender);
    // Let part of the load through, then kill.
    let mut acked: BTreeMap<usize, i64> = BTreeMap::new();
    while acked.len() < N_MESSAGES / 4 {
        match tokio::time::timeout(Duration::from_secs(60), acked_receiver.recv()).await {
            Ok(Some((idx, ticket_id))) => {
                acked.insert(idx, ticket_id);
            }
            _ => panic!("the load stalled before the kill ({} acknowledged)", acked.len()),
        }
    }
    server.kill_9();
    for handle in clients {
        let _ = handle.await;
    }
    while let Ok((idx, ticket_id)) = acked_receiver.try_recv() {
        acked.insert(idx, ticket_id);
    }
    assert!(acked.len() < N_MESSAGES, "the kill came too late to test anything");

    let server = Server::start(&database.url).await;
    let url = format!("{}/api/v1/messages", server.base_url);
    for idx in 0..N_MESSAGES {
        let (status, answer) = post(&client, &url, Some(&token), "application/json", body_for(idx)).await;
        match acked.get(&idx) {
            Some(ticket_id) => {
                assert_eq!(status, 200, "acknowledged message {idx} was lost: {answer}");
                assert_eq!(answer["ticket_id"].as_i64(), Some(*ticket_id), "message {idx} changed ticket");
            }
            None => assert!(status == 200 || status == 201, "message {idx}: {status} {answer}"),
        }
    }
    let (_, listed) = get(&client, &format!("{}/api/v1/tickets?limit=1", server.base_url), &token).await;
    assert_eq!(listed["total"].as_i64(), Some(N_MESSAGES as i64), "one ticket per message, none duplicated");
    drop(server);
    database.drop_database().await;
}

/// A backlog of stored-but-untriaged messages (as left by a crash or a model outage) is worked
/// off by two server processes on one database: every message is triaged exactly once.
async fn two_servers_share_the_backlog(postgres: bool) {
    const N_MESSAGES: usize = 120;
    let database = TestDatabase::new(postgres).await;
    let token = create_token(&database.url, "read");
    {
        let store = sb_store::Store::connect(&database.url, &sb_store::StoreOptions::default()).await.unwrap();
        for idx in 0..N_MESSAGES {
            let text = format!("my parcel {idx} has not arrived, where is it?");
            let inbound = sb_store::NewInbound {
                channel: sb_domain::Channel::Api,
                external_id: Some(format!("backlog-{idx}")),
                conversation_key: None,
                ticket_id: None,
                subject: None,
                body: text.clone(),
                body_is_html: false,
                content_type: "text/plain".into(),
                raw_payload: text.into_bytes(),
                metadata: None,
                customer: sb_store::NewCustomer::default(),
                received_at: chrono::Utc::now(),
                claim: None,
            };
            store.ingest(&inbound).await.unwrap();
        }
        store.close().await;
    }
    let first = Server::start(&database.url).await;
    let second = Server::start(&database.url).await;
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (_, waiting) = get(&client, &format!("{}/api/v1/tickets?queue=triage&limit=1", first.base_url), &token).await;
        if waiting["total"] == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "the backlog was not worked off: {waiting}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop(first);
    drop(second);
    let store = sb_store::Store::connect(&database.url, &sb_store::StoreOptions::default()).await.unwrap();
    for ticket_id in 1..=N_MESSAGES as i64 {
        let runs = store.ticket_triage_results(ticket_id).await.unwrap();
        assert_eq!(runs.len(), 1, "ticket {ticket_id} was triaged {} times", runs.len());
    }
    store.close().await;
    database.drop_database().await;
}

/// The knowledge base on the real binary: an article written over the API is searchable as soon
/// as the index is attached; a question it answers is answered automatically, citing the
/// article and its version; a question nothing answers goes to a person, and the decision
/// record says why.
async fn knowledge_base_answers_with_citations(postgres: bool) {
    let database = TestDatabase::new(postgres).await;
    let token = create_token(&database.url, "ingest,read,write");
    let server = Server::start(&database.url).await;
    let client = reqwest::Client::new();
    let base = server.base_url.clone();
    let article = json!({
        "slug": "returns-policy", "title": "Returning shoes and clothing", "status": "published", "intent": "policy_info",
        "body": "# Return window\n\nYou can return shoes, clothing and accessories within 30 days of delivery for a full refund.\n\n# How to return\n\nStart a return from your order page and print the free return label."
    });
    let (status, created) = post(&client, &format!("{base}/api/v1/kb/articles"), Some(&token), "application/json", article.to_string()).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["article"]["version"], 1);

    // The index opens in the background after /ready: search answers 503 until then.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, found) = get(&client, &format!("{base}/api/v1/kb/search?q=return%20shoes"), &token).await;
        if status == 200 {
            assert_eq!(found["hits"][0]["article_id"], "returns-policy", "{found}");
            break;
        }
        assert_eq!(status, 503, "{found}");
        assert!(Instant::now() < deadline, "the knowledge base was not attached within 60 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let messages_url = format!("{base}/api/v1/messages");
    let question = json!({"channel": "chat", "text": "What is your returns policy for shoes?", "customer": {"email": "kb-1@example.com"}});
    let (status, answered) = post(&client, &messages_url, Some(&token), "application/json", question.to_string()).await;
    assert_eq!(status, 201, "{answered}");
    let ticket_id = answered["ticket_id"].as_i64().unwrap();
    let (_, ticket) = get(&client, &format!("{base}/api/v1/tickets/{ticket_id}"), &token).await;
    let record = &ticket["decision"];
    assert_eq!(record["workflow"]["article"]["article_id"], "returns-policy", "{record}");
    assert_eq!(record["workflow"]["article"]["version"], 1, "{record}");
    assert_eq!(answered["decision"]["route"], "auto_reply", "{answered}");
    assert_eq!(answered["decision"]["reason_code"], "auto_reply_article", "{answered}");
    assert!(answered["reply"].as_str().unwrap().contains("article returns-policy version 1"), "the reply cites the article: {answered}");
    assert!(answered["reply"].as_str().unwrap().contains(&format!("{base}/help/returns-policy")), "the reply links the article: {answered}");
    // The link works without a login and shows the article.
    let page = client.get(format!("{base}/help/returns-policy")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("<h1>Returning shoes and clothing</h1>") && html.contains("within 30 days of delivery"), "{html}");

    let moon = json!({"channel": "chat", "text": "Do you sell gift cards for the moon?", "customer": {"email": "kb-2@example.com"}});
    let (status, routed) = post(&client, &messages_url, Some(&token), "application/json", moon.to_string()).await;
    assert_eq!(status, 201, "{routed}");
    assert_eq!(routed["decision"]["route"], "human_queue", "{routed}");
    assert!(routed["reply"].is_null(), "{routed}");
    // One article matching a single common word of the question is not an answer (BM25 only:
    // the server runs without the embedding model here).
    assert_eq!(routed["decision"]["reason_code"], "article_below_threshold", "{routed}");

    // Archiving withdraws the article from search at once.
    let article_id = created["article"]["id"].as_i64().unwrap();
    let response = client.delete(format!("{base}/api/v1/kb/articles/{article_id}")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let (_, found) = get(&client, &format!("{base}/api/v1/kb/search?q=return%20shoes"), &token).await;
    assert_eq!(found["hits"].as_array().map(Vec::len), Some(0), "{found}");
    let (_, versions) = get(&client, &format!("{base}/api/v1/kb/articles/{article_id}/versions"), &token).await;
    assert_eq!(versions["versions"].as_array().map(Vec::len), Some(2), "{versions}");
    // ... and from the help centre.
    assert_eq!(client.get(format!("{base}/help/returns-policy")).send().await.unwrap().status(), 404);
    assert_eq!(client.get(format!("{base}/help/..%2Fetc")).send().await.unwrap().status(), 404);
    drop(server);
    database.drop_database().await;
}

/// The informational workflow's automatic answers from the shipped reply templates, BM25-only
/// (the server runs without the embedding model): "What are your opening hours?" is answered
/// with the store-hours article through the `store_info` template, filled for the customer and
/// signed, and the decision record keeps the article's id, version and score. The same
/// question from a customer whose name is unknown goes to a person with the draft and the
/// reason: a variable is never sent empty. A German ticket gets the German template.
async fn automatic_answers_use_the_reply_templates(postgres: bool) {
    let database = TestDatabase::new(postgres).await;
    let import = crate::cli::switchboard(&["kb", "import", "data/kb", "--db", &database.url]);
    assert!(import.status.success(), "{}", crate::cli::stderr(&import));
    let token = create_token(&database.url, "ingest,read,write");
    let server = Server::start(&database.url).await;
    let client = reqwest::Client::new();
    let base = server.base_url.clone();
    let mut templates = csv::Reader::from_path(repo_root().join("data/templates/templates.csv")).unwrap();
    for record in templates.records() {
        let record = record.unwrap();
        let optional = |field: &str| Some(field.to_string()).filter(|field| !field.is_empty());
        let template = json!({"kind": &record[0], "shortcut": optional(&record[1]), "name": &record[2], "intent": optional(&record[3]), "language": &record[4], "body": &record[5]});
        let (status, created) = post(&client, &format!("{base}/api/v1/templates"), Some(&token), "application/json", template.to_string()).await;
        assert_eq!(status, 201, "{created}");
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while get(&client, &format!("{base}/api/v1/kb/search?q=opening%20hours"), &token).await.0 != 200 {
        assert!(Instant::now() < deadline, "the knowledge base was not attached within 60 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let messages_url = format!("{base}/api/v1/messages");
    let ask = |text: &str, customer: Value| json!({"channel": "chat", "text": text, "customer": customer}).to_string();
    let (status, answered) = post(&client, &messages_url, Some(&token), "application/json", ask("What are your opening hours?", json!({"email": "hours@example.com", "name": "Ana Silva"}))).await;
    assert_eq!(status, 201, "{answered}");
    assert_eq!((answered["triage"]["intent"].as_str(), answered["decision"]["route"].as_str(), answered["decision"]["reason_code"].as_str()), (Some("store_info"), Some("auto_reply"), Some("auto_reply_article")), "{answered}");
    let reply = answered["reply"].as_str().unwrap();
    assert!(reply.starts_with("Hi Ana,\n\nThanks for your message. ") && reply.contains("Monday to Saturday: 9 am to 9 pm"), "the store_info template quotes the passage: {reply}");
    assert!(reply.contains(&format!("More about our stores: {base}/help/store-hours")) && reply.ends_with("Best regards,\nCustomer Service"), "it links the article and is signed: {reply}");
    let ticket_id = answered["ticket_id"].as_i64().unwrap();
    let (_, ticket) = get(&client, &format!("{base}/api/v1/tickets/{ticket_id}"), &token).await;
    let article = &ticket["decision"]["workflow"]["article"];
    assert_eq!((article["article_id"].as_str(), article["version"].as_i64(), article["reply"]["template_name"].as_str()), (Some("store-hours"), Some(1), Some("Store question")), "{ticket}");
    assert!(article["score"].as_f64().unwrap() >= article["threshold"].as_f64().unwrap(), "{ticket}");

    let (status, held) = post(&client, &messages_url, Some(&token), "application/json", ask("What are your opening hours?", json!({"email": "anonymous@example.com"}))).await;
    assert_eq!(status, 201, "{held}");
    assert_eq!((held["decision"]["route"].as_str(), held["decision"]["reason_code"].as_str()), (Some("human_queue"), Some("template_variable_missing")), "{held}");
    assert!(held["reply"].is_null(), "{held}");
    assert!(held["decision"]["reason"].as_str().unwrap().contains("no value for customer.first_name"), "{held}");
    let draft = held["decision"]["suggested_reply"].as_str().unwrap();
    assert!(draft.starts_with("Hi {{customer.first_name}},") && draft.contains("/help/store-hours"), "the agent gets the draft with the gap shown: {draft}");

    let (status, complaint) = post(&client, &messages_url, Some(&token), "application/json", ask("Ich bin sehr unzufrieden. Die Lieferung kam zu spät, und niemand hat auf meine E-Mails geantwortet.", json!({"email": "klara@example.com", "name": "Klara Weber"}))).await;
    assert_eq!(status, 201, "{complaint}");
    assert_eq!(complaint["triage"]["language"]["code"], "de", "{complaint}");
    let complaint_id = complaint["ticket_id"].as_i64().unwrap();
    let (_, assist) = get(&client, &format!("{base}/api/v1/tickets/{complaint_id}/assist"), &token).await;
    assert_eq!((assist["language"].as_str(), assist["suggested_reply"]["source"].as_str()), (Some("de"), Some("template")), "{assist}");
    assert!(assist["suggested_reply"]["text"].as_str().unwrap().starts_with("Hallo Klara,"), "the German template: {assist}");
    let (_, thanks) = get(&client, &format!("{base}/api/v1/tickets/{complaint_id}/assist?canned=/thanks"), &token).await;
    assert_eq!(thanks["canned_reply"]["text"], "Vielen Dank für Ihre Geduld, Klara! Kann ich sonst noch etwas für Sie tun?", "{thanks}");
    drop(server);
    database.drop_database().await;
}

/// Agent assist on the real binary: a suggested reply from the intent's template with the
/// missing variables named (never sent empty), possible duplicates of the same customer by
/// their shared order number, the summary stored at resolution, the resolved ticket found as
/// the most similar one, and the draft article offered by a resolved question no article
/// answered.
async fn agent_assist_works_end_to_end(postgres: bool) {
    let database = TestDatabase::new(postgres).await;
    let token = create_token(&database.url, "ingest,read,write");
    let server = Server::start(&database.url).await;
    let client = reqwest::Client::new();
    let base = server.base_url.clone();
    let template = json!({"kind": "suggested", "name": "Order status", "intent": "track_order", "language": "en", "body": "Hi {{customer.first_name}}, order {{order.number}} is {{order.status}}: {{order.tracking_url}}\n{{agent.name}}"});
    let (status, created) = post(&client, &format!("{base}/api/v1/templates"), Some(&token), "application/json", template.to_string()).await;
    assert_eq!(status, 201, "{created}");

    let messages_url = format!("{base}/api/v1/messages");
    let send = |external_id: &str, text: &str| json!({"channel": "api", "external_id": external_id, "text": text, "customer": {"email": "ana.assist@example.com", "name": "Ana Silva"}}).to_string();
    let (status, first) = post(&client, &messages_url, Some(&token), "application/json", send("assist-1", "Where is my order #A77001? It still has not arrived.")).await;
    assert_eq!(status, 201, "{first}");
    let first_id = first["ticket_id"].as_i64().unwrap();
    assert_eq!(first["triage"]["intent"], "track_order", "{first}");
    let (status, second) = post(&client, &messages_url, Some(&token), "application/json", send("assist-2", "Hello again, order A77001 has not come yet. Can you check where it is?")).await;
    assert_eq!(status, 201, "{second}");
    let second_id = second["ticket_id"].as_i64().unwrap();
    assert_ne!(first_id, second_id);

    let (status, assist) = get(&client, &format!("{base}/api/v1/tickets/{first_id}/assist"), &token).await;
    assert_eq!(status, 200, "{assist}");
    let reply = &assist["suggested_reply"];
    assert_eq!(reply["source"], "template", "{assist}");
    // The shop has no order A77001 and a token has no name: those stay visible, never empty.
    assert_eq!(reply["text"], "Hi Ana, order {{order.number}} is {{order.status}}: {{order.tracking_url}}\n{{agent.name}}", "{assist}");
    assert_eq!(reply["missing"], json!(["order.number", "order.status", "order.tracking_url", "agent.name"]), "{assist}");
    assert_eq!(reply["complete"], false);
    assert_eq!(assist["summary"]["request"], "Where is my order #A77001?", "{assist}");
    let duplicates = assist["possible_duplicates"].as_array().unwrap();
    assert_eq!(duplicates.len(), 1, "{assist}");
    assert_eq!(duplicates[0]["ticket_id"], second_id);
    assert_eq!(duplicates[0]["shared_order_numbers"], json!(["A77001"]));
    assert_eq!(duplicates[0]["flagged_for_merge"], true);
    assert!(assist["stored_summary"].is_null() && assist["kb_draft"].is_null(), "{assist}");
    // A canned response by its shortcut, filled for the ticket.
    let canned = json!({"kind": "canned", "shortcut": "/thanks", "name": "Thanks", "language": "en", "body": "Thank you for your patience, {{customer.first_name}}!"});
    let (status, created) = post(&client, &format!("{base}/api/v1/templates"), Some(&token), "application/json", canned.to_string()).await;
    assert_eq!(status, 201, "{created}");
    let (status, with_canned) = get(&client, &format!("{base}/api/v1/tickets/{first_id}/assist?canned=/thanks"), &token).await;
    assert_eq!(status, 200, "{with_canned}");
    assert_eq!((with_canned["canned_reply"]["source"].as_str(), with_canned["canned_reply"]["text"].as_str()), (Some("canned"), Some("Thank you for your patience, Ana!")), "{with_canned}");
    let (status, unknown) = get(&client, &format!("{base}/api/v1/tickets/{first_id}/assist?canned=/nope"), &token).await;
    assert_eq!((status, unknown["error"]["code"].as_str()), (404, Some("not_found")), "{unknown}");

    // Answered and resolved: the summary is stored, and the ticket becomes the most similar
    // solved ticket of the second one (the index follows resolutions in the background).
    let action = |ticket_id: i64, name: &str| format!("{base}/api/v1/tickets/{ticket_id}/{name}");
    let (status, body) = post(&client, &action(first_id, "reply"), Some(&token), "application/json", json!({"body": "Hi Ana, I have checked with the carrier: the parcel was delayed and will arrive tomorrow."}).to_string()).await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = post(&client, &action(first_id, "status"), Some(&token), "application/json", json!({"status": "resolved"}).to_string()).await;
    assert_eq!(status, 200, "{body}");
    let (_, assist) = get(&client, &format!("{base}/api/v1/tickets/{first_id}/assist"), &token).await;
    let stored = assist["stored_summary"].as_str().unwrap_or_default();
    assert!(stored.starts_with("Request: Where is my order #A77001?") && stored.contains("will arrive tomorrow"), "{assist}");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, assist) = get(&client, &format!("{base}/api/v1/tickets/{second_id}/assist"), &token).await;
        if let Some(similar) = assist["similar_tickets"].as_array().and_then(|similar| similar.first()) {
            assert_eq!(similar["ticket_id"], first_id, "{assist}");
            assert_eq!(similar["resolution"].as_str(), Some(stored), "{assist}");
            assert!(similar["reply"].as_str().unwrap_or_default().contains("delayed"), "{assist}");
            break;
        }
        assert!(Instant::now() < deadline, "the resolved ticket never became a similar ticket: {assist}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (status, refused) = post(&client, &action(first_id, "kb-draft"), Some(&token), "application/json", String::new()).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (422, Some("no_draft")), "an order question offers no article: {refused}");

    // A question no article answers, answered by a person: the knowledge-base updater offers a
    // draft article from it.
    let (status, question) = post(&client, &messages_url, Some(&token), "application/json", send("assist-3", "Do you sell gift cards for the moon?")).await;
    assert_eq!(status, 201, "{question}");
    assert_eq!(question["triage"]["category"], "informational", "{question}");
    let question_id = question["ticket_id"].as_i64().unwrap();
    post(&client, &action(question_id, "reply"), Some(&token), "application/json", json!({"body": "Hi Ana,\nWe only sell gift cards for use on Earth, in our stores and online.\nBest regards,\nSam"}).to_string()).await;
    post(&client, &action(question_id, "status"), Some(&token), "application/json", json!({"status": "resolved"}).to_string()).await;
    let (_, assist) = get(&client, &format!("{base}/api/v1/tickets/{question_id}/assist"), &token).await;
    let draft = &assist["kb_draft"];
    assert_eq!(draft["slug"], format!("draft-ticket-{question_id}"), "{assist}");
    let draft_body = draft["body"].as_str().unwrap();
    assert!(draft_body.contains("gift cards for the moon") && draft_body.contains("We only sell gift cards for use on Earth") && !draft_body.contains("Best regards"), "{draft_body}");
    let (status, created) = post(&client, &action(question_id, "kb-draft"), Some(&token), "application/json", String::new()).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["article"]["status"], "draft");
    assert_eq!(created["article"]["slug"], format!("draft-ticket-{question_id}"));
    let (status, again) = post(&client, &action(question_id, "kb-draft"), Some(&token), "application/json", String::new()).await;
    assert_eq!(status, 409, "one draft per ticket: {again}");
    // Drafts are not public.
    assert_eq!(client.get(format!("{base}/help/draft-ticket-{question_id}")).send().await.unwrap().status(), 404);
    let (status, missing) = get(&client, &format!("{base}/api/v1/tickets/999999/assist"), &token).await;
    assert_eq!((status, missing["error"]["code"].as_str()), (404, Some("not_found")), "{missing}");
    drop(server);
    database.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_assist_on_sqlite() {
    agent_assist_works_end_to_end(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_assist_on_postgres() {
    agent_assist_works_end_to_end(true).await;
}

/// With `[knowledge] index_dir` the similar-ticket index is kept in the folder beside it with
/// its feed position: a restart opens it and reads only what was resolved since, instead of
/// re-embedding the recent resolved tickets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_similar_ticket_index_is_kept_across_restarts() {
    let database = TestDatabase::new(false).await;
    let token = create_token(&database.url, "ingest,read,write");
    let folder = tempfile::tempdir().unwrap();
    let index_dir = folder.path().join("kb-index");
    let env = [("SWITCHBOARD__KNOWLEDGE__INDEX_DIR", index_dir.display().to_string()), ("SWITCHBOARD__KNOWLEDGE__SYNC_INTERVAL_SECONDS", "1".to_string())];
    let server = Server::start_with_env(&database.url, "info", true, &env).await;
    let client = reqwest::Client::new();
    let base = server.base_url.clone();
    let send = |external_id: &str, text: &str| json!({"channel": "api", "external_id": external_id, "text": text, "customer": {"email": "kept.index@example.com"}}).to_string();
    let messages_url = format!("{base}/api/v1/messages");
    let (status, first) = post(&client, &messages_url, Some(&token), "application/json", send("kept-1", "My parcel for order #A55120 has been stuck in the depot for a week.")).await;
    assert_eq!(status, 201, "{first}");
    let first_id = first["ticket_id"].as_i64().unwrap();
    post(&client, &format!("{base}/api/v1/tickets/{first_id}/reply"), Some(&token), "application/json", json!({"body": "The depot released it today."}).to_string()).await;
    let (status, body) = post(&client, &format!("{base}/api/v1/tickets/{first_id}/status"), Some(&token), "application/json", json!({"status": "resolved"}).to_string()).await;
    assert_eq!(status, 200, "{body}");
    let (status, second) = post(&client, &messages_url, Some(&token), "application/json", send("kept-2", "Order #A55121 is stuck in your depot, nothing has moved for days.")).await;
    assert_eq!(status, 201, "{second}");
    let second_id = second["ticket_id"].as_i64().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, assist) = get(&client, &format!("{base}/api/v1/tickets/{second_id}/assist"), &token).await;
        if let Some(similar) = assist["similar_tickets"].as_array().and_then(|similar| similar.first()) {
            assert_eq!(similar["ticket_id"], first_id, "{assist}");
            break;
        }
        assert!(Instant::now() < deadline, "no similar ticket within 60 s: {assist}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let similar_dir = folder.path().join("kb-index-similar-tickets");
    let position: Value = serde_json::from_slice(&std::fs::read(similar_dir.join("feed-position.json")).unwrap()).unwrap();
    assert_eq!(position["after"][1], first_id, "the position is after the resolved ticket: {position}");
    let logs = server.stop_and_collect_logs();
    assert!(!logs.contains("opened where it was kept"), "the first start builds the index: {logs}");

    let server = Server::start_with_env(&database.url, "info", true, &env).await;
    let base = server.base_url.clone();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, assist) = get(&client, &format!("{base}/api/v1/tickets/{second_id}/assist"), &token).await;
        if assist["similar_index_ready"] == true {
            assert_eq!(assist["similar_tickets"][0]["ticket_id"], first_id, "{assist}");
            break;
        }
        assert!(Instant::now() < deadline, "the similar-ticket index was not attached within 60 s: {assist}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let logs = server.stop_and_collect_logs();
    assert!(logs.contains("opened where it was kept"), "the restart opens the kept index: {logs}");
    database.drop_database().await;
}

/// `serve` with the Shopify connector against the Shopify-shaped test server: an order question
/// is looked up in the shop and answered with its carrier and tracking; an order the shop does
/// not have goes to a person saying so; a shop that fails leaves the message stored and with a
/// person, never an error to the sender.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_are_looked_up_in_a_shopify_shop() {
    use sb_connectors::fake_shop::{FakeShop, FakeShopBehaviour, FAKE_SHOP_ACCESS_TOKEN, SHIPPED_ORDER};
    let shop = FakeShop::start().await.unwrap();
    let database = TestDatabase::new(false).await;
    let token = create_token(&database.url, "ingest,read");
    let env = [
        ("SWITCHBOARD__ORDERS__CONNECTOR", "shopify".to_string()),
        ("SWITCHBOARD__ORDERS__SHOPIFY_URL", shop.base_url()),
        ("SWITCHBOARD_SHOPIFY_TOKEN", FAKE_SHOP_ACCESS_TOKEN.to_string()),
    ];
    let server = Server::start_with_env(&database.url, "warn", false, &env).await;
    let client = reqwest::Client::new();
    let messages_url = format!("{}/api/v1/messages", server.base_url);
    let ask = |external_id: &str, text: String| json!({"channel": "chat", "external_id": external_id, "text": text, "customer": {"email": "ana.silva@example.com"}}).to_string();

    let (status, answered) = post(&client, &messages_url, Some(&token), "application/json", ask("shop-1", format!("Where is my order {SHIPPED_ORDER}? It has not arrived yet."))).await;
    assert_eq!(status, 201, "{answered}");
    assert_eq!(answered["triage"]["intent"], "track_order", "{answered}");
    let ticket_id = answered["ticket_id"].as_i64().unwrap();
    let (_, ticket) = get(&client, &format!("{}/api/v1/tickets/{ticket_id}", server.base_url), &token).await;
    let workflow = &ticket["decision"]["workflow"];
    assert_eq!(workflow["order"]["number"], SHIPPED_ORDER.trim_start_matches('#'), "the order came from the shop: {ticket}");
    assert_eq!(workflow["order"]["carrier"], "ups", "{ticket}");
    assert!(shop.n_requests() >= 1);
    // The prepared answer names the tracking link, sent or drafted for the agent.
    let text = answered["reply"].as_str().or(answered["decision"]["suggested_reply"].as_str()).unwrap_or_default().to_string();
    assert!(text.contains("ups.com"), "the carrier link is in the answer: {answered}");

    let (status, unknown) = post(&client, &messages_url, Some(&token), "application/json", ask("shop-2", "Where is my order #A99999? It has not arrived.".to_string())).await;
    assert_eq!(status, 201, "{unknown}");
    assert_eq!(unknown["decision"]["route"], "human_queue", "{unknown}");
    assert!(unknown["reply"].is_null());

    shop.set_behaviour(FakeShopBehaviour::ServerError);
    let (status, shop_down) = post(&client, &messages_url, Some(&token), "application/json", ask("shop-3", format!("Where is my order {SHIPPED_ORDER}? Still nothing."))).await;
    assert_eq!(status, 201, "the sender never sees the shop's failure: {shop_down}");
    assert_eq!(shop_down["decision"]["route"], "human_queue", "{shop_down}");
    assert!(shop_down["reply"].is_null(), "{shop_down}");
    drop(server);
}

/// A webhook receiver on a real socket: answers 204 and keeps what it got (headers and body).
struct WebhookReceiver {
    url: String,
    received: Arc<Mutex<Vec<(BTreeMap<String, String>, String)>>>,
}

impl WebhookReceiver {
    async fn start() -> WebhookReceiver {
        use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks/switchboard", listener.local_addr().unwrap());
        let received = Arc::new(Mutex::new(Vec::new()));
        let store = received.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                let store = store.clone();
                tokio::spawn(async move {
                    let mut reader = tokio::io::BufReader::new(stream);
                    let mut headers = BTreeMap::new();
                    let mut line = String::new();
                    reader.read_line(&mut line).await.unwrap();
                    loop {
                        line.clear();
                        reader.read_line(&mut line).await.unwrap();
                        let Some((name, value)) = line.trim_end().split_once(": ") else { break };
                        headers.insert(name.to_ascii_lowercase(), value.to_string());
                    }
                    let length: usize = headers.get("content-length").and_then(|length| length.parse().ok()).unwrap_or(0);
                    let mut body = vec![0; length];
                    reader.read_exact(&mut body).await.unwrap();
                    store.lock().unwrap().push((headers, String::from_utf8(body).unwrap()));
                    reader.into_inner().write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n").await.unwrap();
                });
            }
        });
        WebhookReceiver { url, received }
    }

    /// Waits for a delivery of `event` and returns its headers and parsed body.
    async fn wait_for(&self, event: &str) -> (BTreeMap<String, String>, String) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(found) = self.received.lock().unwrap().iter().find(|(headers, _)| headers.get("x-switchboard-event").map(String::as_str) == Some(event)) {
                return found.clone();
            }
            assert!(Instant::now() < deadline, "no {event} delivery within 30 s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Alerts end to end: a queue-depth threshold crossed raises one alert (seen again, not
/// duplicated, while the condition holds), a registered webhook receives it signed, and
/// resolving the tickets resolves the alert and notifies the webhook again.
async fn alerts_reach_webhooks(postgres: bool) {
    let database = TestDatabase::new(postgres).await;
    let token = create_token(&database.url, "admin");
    let receiver = WebhookReceiver::start().await;
    let env = [("SWITCHBOARD__ALERTS__QUEUE_DEPTH", "1".to_string()), ("SWITCHBOARD__ALERTS__EVALUATE_INTERVAL_SECONDS", "1".to_string())];
    let server = Server::start_with_env(&database.url, "warn", false, &env).await;
    let client = reqwest::Client::new();
    let base = server.base_url.clone();
    let (status, created) = post(&client, &format!("{base}/api/v1/webhooks"), Some(&token), "application/json", json!({"name": "ops", "url": receiver.url}).to_string()).await;
    assert_eq!(status, 201, "{created}");
    let secret = created["secret"].as_str().unwrap().to_string();
    let webhook_id = created["webhook"]["id"].as_i64().unwrap();
    let (status, refused) = post(&client, &format!("{base}/api/v1/webhooks"), Some(&token), "application/json", json!({"name": "bad", "url": "ftp://example.com/x"}).to_string()).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (422, Some("invalid")), "{refused}");

    let mut tickets = Vec::new();
    for (idx, text) in ["I want to complain, your courier was rude and threw the parcel at my door", "Do you sell gift cards for the moon?"].iter().enumerate() {
        let (status, sent) = post(&client, &format!("{base}/api/v1/messages"), Some(&token), "application/json", json!({"channel": "chat", "external_id": format!("alert-{idx}"), "text": text}).to_string()).await;
        assert_eq!(status, 201, "{sent}");
        assert_eq!(sent["queue"], "human", "{sent}");
        tickets.push(sent["ticket_id"].as_i64().unwrap());
    }
    let (headers, body) = receiver.wait_for("alert.raised").await;
    let timestamp: i64 = headers["x-switchboard-timestamp"].parse().unwrap();
    assert_eq!(headers["x-switchboard-signature"], sb_service::alerts::webhook_signature(&secret, timestamp, &body), "the signature verifies with the secret");
    let payload: Value = serde_json::from_str(&body).unwrap();
    assert_eq!((payload["alert"]["rule"].as_str(), payload["alert"]["status"].as_str()), (Some("queue_depth"), Some("open")), "{payload}");
    assert_eq!(payload["alert"]["value"], 2.0, "{payload}");

    // Seen again at every round while it holds, still one alert.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let (_, alerts) = get(&client, &format!("{base}/api/v1/alerts?status=open"), &token).await;
    let open = alerts["alerts"].as_array().unwrap();
    assert_eq!(open.len(), 1, "{alerts}");
    assert!(open[0]["occurrences"].as_i64().unwrap() >= 2, "{alerts}");

    for ticket_id in &tickets {
        let (status, body) = post(&client, &format!("{base}/api/v1/tickets/{ticket_id}/status"), Some(&token), "application/json", json!({"status": "resolved"}).to_string()).await;
        assert_eq!(status, 200, "{body}");
    }
    let (_, body) = receiver.wait_for("alert.resolved").await;
    let payload: Value = serde_json::from_str(&body).unwrap();
    assert_eq!((payload["alert"]["status"].as_str(), payload["alert"]["resolved_by"].as_str()), (Some("resolved"), Some("system")), "{payload}");
    let (_, log) = get(&client, &format!("{base}/api/v1/webhooks/{webhook_id}/deliveries"), &token).await;
    let statuses: Vec<(&str, &str)> = log["deliveries"].as_array().unwrap().iter().map(|delivery| (delivery["event"].as_str().unwrap(), delivery["status"].as_str().unwrap())).collect();
    assert_eq!(statuses, vec![("alert.resolved", "delivered"), ("alert.raised", "delivered")], "{log}");
    drop(server);
    database.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_on_sqlite() {
    alerts_reach_webhooks(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_on_postgres() {
    alerts_reach_webhooks(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn templated_answers_on_sqlite() {
    automatic_answers_use_the_reply_templates(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn templated_answers_on_postgres() {
    automatic_answers_use_the_reply_templates(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn knowledge_base_on_sqlite() {
    knowledge_base_answers_with_citations(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn knowledge_base_on_postgres() {
    knowledge_base_answers_with_citations(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_share_the_backlog_on_sqlite() {
    two_servers_share_the_backlog(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_share_the_backlog_on_postgres() {
    two_servers_share_the_backlog(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_user_path_on_sqlite() {
    new_user_path(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_user_path_on_postgres() {
    new_user_path(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_on_sqlite() {
    bad_input_gets_stable_codes(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_on_postgres() {
    bad_input_gets_stable_codes(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_on_sqlite() {
    kill_9_loses_nothing(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_on_postgres() {
    kill_9_loses_nothing(true).await;
}

/// The console's way in, on the real binary: `user create` with the password on stdin, login
/// over HTTP (HttpOnly cookie, CSRF token), a change refused without the CSRF header and
/// accepted with it, then logout.
async fn console_login_path(postgres: bool) {
    use std::io::Write;
    let database = TestDatabase::new(postgres).await;
    let mut child = Command::new(binary())
        .args(["user", "create", "--db", &database.url, "--email", "Sup@Example.com", "--name", "Sam Super", "--role", "supervisor", "--password-stdin"])
        .env("SWITCHBOARD_LOG", "warn")
        .env_remove("SWITCHBOARD_PASSWORD")
        .current_dir(repo_root())
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"a long console password\n").unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "user create failed: {}", String::from_utf8_lossy(&output.stderr));
    let token = create_token(&database.url, "ingest");
    let server = Server::start(&database.url).await;
    let client = reqwest::Client::new();
    let (status, created) = post(&client, &format!("{}/api/v1/messages", server.base_url), Some(&token), "application/json", json!({"channel": "chat", "text": "where is my order A10493?"}).to_string()).await;
    assert_eq!(status, 201, "{created}");
    let ticket_id = created["ticket_id"].as_i64().unwrap();

    let login = |password: &str| client.post(format!("{}/api/v1/session", server.base_url)).json(&json!({"email": "sup@example.com", "password": password})).send();
    assert_eq!(login("wrong password").await.unwrap().status(), 401);
    let response = login("a long console password").await.unwrap();
    assert_eq!(response.status(), 200);
    let set_cookie = response.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"), "{set_cookie}");
    let cookie = set_cookie.split(';').next().unwrap().to_string();
    let csrf = response.json::<Value>().await.unwrap()["csrf_token"].as_str().unwrap().to_string();

    let tickets = client.get(format!("{}/api/v1/tickets", server.base_url)).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(tickets.status(), 200);
    let note_url = format!("{}/api/v1/tickets/{ticket_id}/notes", server.base_url);
    let without = client.post(&note_url).header("cookie", &cookie).json(&json!({"body": "checked"})).send().await.unwrap();
    assert_eq!(without.status(), 403);
    let with = client.post(&note_url).header("cookie", &cookie).header("x-csrf-token", &csrf).json(&json!({"body": "checked"})).send().await.unwrap();
    assert_eq!(with.status(), 201);
    let logout = client.delete(format!("{}/api/v1/session", server.base_url)).header("cookie", &cookie).header("x-csrf-token", &csrf).send().await.unwrap();
    assert_eq!(logout.status(), 204);
    let after = client.get(format!("{}/api/v1/tickets", server.base_url)).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(after.status(), 401);
    drop(server);
    database.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_login_on_sqlite() {
    console_login_path(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_login_on_postgres() {
    console_login_path(true).await;
}

/// A message full of personal data, sent with a request id, on a server logging at debug level
/// (more than production): every line on standard error is JSON, the lines written while
/// serving the message (the pipeline's "message triaged" among them) carry the request id, none
/// holds the text or the customer's contact details, and `/metrics` counts the triage.
async fn json_logs_name_the_request_and_never_the_customer(postgres: bool) {
    let database = TestDatabase::new(postgres).await;
    let token = create_token(&database.url, "ingest,read");
    let server = Server::start_with_logs(&database.url, "debug", true).await;
    let client = reqwest::Client::new();
    let text = "Hi, this is Ana Silva. My card 4111 1111 1111 1111 was charged twice for order A10493; write to ana.silva@example.com or call +1 415 555 0132.";
    let message = json!({"channel": "chat", "text": text, "customer": {"email": "ana.silva@example.com", "phone": "+14155550132", "name": "Ana Silva"}});
    let response = client.post(format!("{}/api/v1/messages", server.base_url)).bearer_auth(&token).header("x-request-id", "e2e-logs-0001").json(&message).send().await.unwrap();
    assert_eq!((response.status().as_u16(), response.headers().get("x-request-id").and_then(|value| value.to_str().ok())), (201, Some("e2e-logs-0001")));
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["status"], "triaged", "{created}");

    let response = client.get(format!("{}/metrics", server.base_url)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let metrics = response.text().await.unwrap();
    let triaged = format!(
        r#"switchboard_messages_triaged_total{{category="{}",route="{}",channel="chat"}} 1"#,
        created["triage"]["category"].as_str().unwrap(),
        created["decision"]["route"].as_str().unwrap()
    );
    for sample in [triaged.as_str(), "switchboard_triage_duration_seconds_count 1", "switchboard_triage_confidence_count 1", r#"switchboard_triage_backlog{state="waiting"} 0"#] {
        assert!(metrics.lines().any(|line| line == sample), "no `{sample}` in:\n{metrics}");
    }
    let unauthenticated = client.get(format!("{}/metrics", server.base_url)).send().await.unwrap();
    assert_eq!(unauthenticated.status().as_u16(), 401);

    let logs = server.stop_and_collect_logs();
    let lines: Vec<Value> = logs.lines().map(|line| serde_json::from_str(line).unwrap_or_else(|error| panic!("not a JSON line ({error}): {line}"))).collect();
    let of_request: Vec<&str> = lines.iter().filter(|line| line["span"]["request_id"] == "e2e-logs-0001").filter_map(|line| line["fields"]["message"].as_str()).collect();
    assert!(of_request.contains(&"message triaged") && of_request.contains(&"request finished"), "{of_request:?}\n{logs}");
    for secret in [token.as_str(), "Ana Silva", "ana.silva@example.com", "4111 1111 1111 1111", "4111111111111111", "415 555 0132", "4155550132", "charged twice"] {
        assert!(!logs.contains(secret), "the log holds `{secret}`:\n{logs}");
    }
    database.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_on_sqlite() {
    json_logs_name_the_request_and_never_the_customer(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_on_postgres() {
    json_logs_name_the_request_and_never_the_customer(true).await;
}
