//! The email channel through the real binary: mail pushed to `serve` over HTTP and triaged,
//! loop protection (auto-replies and a sender's hourly budget never get an automatic answer),
//! `serve` sending the automatic answer through the test SMTP server and reading a Dovecot
//! mailbox (both started by `scripts/services.sh`), with the mailbox's state in `/metrics`,
//! and `switchboard import mbox` / `import eml` run twice without a second copy of anything.

use std::process::Command;

use serde_json::Value;

use crate::cli::{cache_dir, ensure_tfidf_default_model, repo_root};
use crate::serve::{binary, create_token, get, post, Server, TestDatabase};

fn mail(message_id: &str, from: &str, subject: &str, extra_headers: &str, body: &str) -> String {
    format!("From: Ana Silva <{from}>\r\nTo: support@shop.example\r\nMessage-ID: <{message_id}>\r\nDate: Mon, 2 Nov 2026 09:00:00 +0000\r\nSubject: {subject}\r\n{extra_headers}\r\n{body}\r\n")
}

const TRACK_ORDER: &str = "Hi, where is my order #A10493? The UPS tracking hasn't moved since Monday.\r\n\r\nThanks,\r\nAna\r\n\r\nOn Sun, 1 Nov 2026, Shop <support@shop.example> wrote:\r\n> Your order A10493 has shipped.\r\n> Kind regards";

async fn email_is_triaged_and_loops_never_start(postgres: bool) {
    let database = TestDatabase::new(postgres).await;
    let server = Server::start_with_args(&database.url, &["--demo", "--demo-tickets", "0"]).await;
    let token = create_token(&database.url, "ingest,read");
    let client = reqwest::Client::new();
    let url = format!("{}/api/v1/inbound/email", server.base_url);
    let sender = "ana.silva@example.com";

    let (status, first) = post(&client, &url, Some(&token), "message/rfc822", mail("e2e-1@mail.example", sender, "Order A10493", "", TRACK_ORDER)).await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["status"], "triaged", "{first}");
    assert_eq!(first["triage"]["intent"], "track_order", "{first}");
    // Triage read the mail without its quoted history and signature.
    let expected_text = sb_mail::parse(mail("x@y", sender, "Order A10493", "", TRACK_ORDER).as_bytes(), &sb_mail::Limits::default()).body.stripped;
    assert_eq!(first["triage"]["normalized_text"], Value::from(expected_text.clone()), "{first}");
    assert!(!expected_text.contains("has shipped"), "{expected_text}");
    assert_eq!(first["decision"]["route"], "auto_reply", "a found, shipped order is answered automatically: {first}");

    // The same question from the customer's auto-responder, and past the hourly budget of
    // automatic answers (3 per sender): stored, triaged, answered by a person.
    let (status, auto) = post(&client, &url, Some(&token), "message/rfc822", mail("e2e-2@mail.example", sender, "Automatic reply: Order A10493", "Auto-Submitted: auto-replied\r\n", TRACK_ORDER)).await;
    assert_eq!(status, 201, "{auto}");
    assert_eq!((auto["auto_answer_refusal"].as_str(), auto["decision"]["route"].as_str(), auto["decision"]["reason_code"].as_str()), (Some("auto_reply"), Some("human_queue"), Some("auto_answer_refused")), "{auto}");
    assert!(auto["reply"].is_null() && auto["decision"]["suggested_reply"].is_string(), "{auto}");
    let mut routes = Vec::new();
    for message_idx in 3..=5 {
        let (status, answer) = post(&client, &url, Some(&token), "message/rfc822", mail(&format!("e2e-{message_idx}@mail.example"), sender, &format!("Order A10493 ({message_idx})"), "", TRACK_ORDER)).await;
        assert_eq!(status, 201, "{answer}");
        routes.push(answer["decision"]["reason_code"].as_str().unwrap_or_default().to_string());
    }
    // The demo data answered Ana automatically once already (its first order question comes by
    // email), and the first mail above made two: one more, then the budget of 3 is spent.
    assert_eq!(routes, ["auto_reply_order_status", "auto_answer_refused", "auto_answer_refused"], "the 4th automatic answer within the hour goes to a person");

    // A repeated delivery is 200 with the first delivery's ticket.
    let (status, again) = post(&client, &url, Some(&token), "message/rfc822", mail("e2e-1@mail.example", sender, "Order A10493", "", TRACK_ORDER)).await;
    assert_eq!((status, again["ticket_id"].clone(), again["status"].as_str()), (200, first["ticket_id"].clone(), Some("duplicate")));
    let (status, ticket) = get(&client, &format!("{}/api/v1/tickets/{}", server.base_url, first["ticket_id"]), &token).await;
    assert_eq!(status, 200, "{ticket}");
    drop(server);
    database.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_on_sqlite() {
    email_is_triaged_and_loops_never_start(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_on_postgres() {
    email_is_triaged_and_loops_never_start(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_sends_automatic_answers_over_smtp() {
    let smtp_address = "127.0.0.1:2525";
    let maildir = std::path::Path::new("/tmp/switchboard-smtp/maildir");
    if std::net::TcpStream::connect_timeout(&smtp_address.parse().unwrap(), std::time::Duration::from_secs(2)).is_err() {
        panic!("the test SMTP server does not answer at {smtp_address}: start it with scripts/services.sh (aiosmtpd from the Debian package python3-aiosmtpd, storing mail in {})", maildir.display());
    }
    let database = TestDatabase::new(false).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("switchboard.toml");
    std::fs::write(&config, "[email.smtp]\nenabled = true\nhost = \"127.0.0.1\"\nport = 2525\ntls = \"none\"\nfrom_address = \"support@shop.example\"\nsignature = \"The Shop team\"\npoll_interval_ms = 100\n").unwrap();
    let server = Server::start_with_args(&database.url, &["--demo", "--demo-tickets", "0", "--config", config.to_str().unwrap()]).await;
    let token = create_token(&database.url, "ingest,read");
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    // The demo order's own customer: an order's status is only sent automatically to them.
    let customer = "ana.silva@example.com";
    let inbound_id = format!("smtp-e2e.{nanos}@mail.example");
    let (status, answer) = post(&reqwest::Client::new(), &format!("{}/api/v1/inbound/email", server.base_url), Some(&token), "message/rfc822", mail(&inbound_id, customer, "Order A10493", "", TRACK_ORDER)).await;
    assert_eq!((status, answer["decision"]["route"].as_str()), (201, Some("auto_reply")), "{answer}");

    // serve's SMTP sender picks the answer from the outbox and the server stores it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let delivered = loop {
        let found = ["new", "cur"].iter().filter_map(|folder| std::fs::read_dir(maildir.join(folder)).ok()).flatten().flatten().find_map(|entry| {
            let bytes = std::fs::read(entry.path()).ok()?;
            // The answer to this test's mail: it names the mail's Message-ID (In-Reply-To).
            String::from_utf8_lossy(&bytes).contains(&inbound_id).then_some(bytes)
        });
        if let Some(bytes) = found {
            break sb_mail::parse(&bytes, &sb_mail::Limits::default());
        }
        assert!(std::time::Instant::now() < deadline, "no automatic answer to {customer} reached the SMTP server within 30 s");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert_eq!(delivered.in_reply_to, vec![inbound_id]);
    assert!(delivered.auto_signals.contains(&sb_mail::AutoSignal::AutoSubmitted), "an automatic answer says so: {:?}", delivered.auto_signals);
    assert_eq!(sb_mail::thread_keys(&delivered).ticket_id, answer["ticket_id"].as_u64(), "the ticket token is in the subject: {:?}", delivered.subject);
    assert!(delivered.body.text.contains("A10493") && delivered.body.text.contains("The Shop team"), "{}", delivered.body.text);
    drop(server);
    database.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_reads_an_imap_mailbox_and_reports_it_in_metrics() {
    let imap_address = std::net::SocketAddr::from(([127, 0, 0, 1], 3143));
    if std::net::TcpStream::connect_timeout(&imap_address, std::time::Duration::from_secs(2)).is_err() {
        panic!("the test IMAP server does not answer at {imap_address}: start it with scripts/services.sh (Dovecot from the Debian package dovecot-imapd)");
    }
    // A folder of its own with one unseen mail, put there over IMAP as a mail server would.
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let folder = format!("Serve{}n{nanos}", std::process::id());
    let message_id = format!("imap-e2e.{nanos}@mail.example");
    let mut session = {
        let stream = tokio::net::TcpStream::connect(imap_address).await.unwrap();
        let mut client = async_imap::Client::new(stream);
        client.read_response().await.unwrap().unwrap();
        client.login("switchboard", "switchboard-test").await.map_err(|(error, _)| error).unwrap()
    };
    session.create(&folder).await.unwrap();
    session.append(&folder, None, None, mail(&message_id, "ana.silva@example.com", "Order A10493", "", TRACK_ORDER).as_bytes()).await.unwrap();
    session.logout().await.unwrap();

    let database = TestDatabase::new(false).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("switchboard.toml");
    std::fs::write(&config, format!("[[email.imap]]\nname = \"support\"\nhost = \"127.0.0.1\"\nport = 3143\ntls = \"none\"\nusername = \"switchboard\"\npassword_env = \"SB_TEST_IMAP_PASSWORD\"\nfolder = \"{folder}\"\n")).unwrap();
    std::env::set_var("SB_TEST_IMAP_PASSWORD", "switchboard-test");
    let server = Server::start_with_args(&database.url, &["--config", config.to_str().unwrap()]).await;
    let token = create_token(&database.url, "read");
    let client = reqwest::Client::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let ticket = loop {
        let (_, listed) = get(&client, &format!("{}/api/v1/tickets?channel=email", server.base_url), &token).await;
        // Listed once stored, with its intent once triaged.
        if let Some(ticket) = listed["tickets"].as_array().and_then(|tickets| tickets.first()).filter(|ticket| ticket["intent"].is_string()).cloned() {
            break ticket;
        }
        assert!(std::time::Instant::now() < deadline, "the mailbox's mail did not become a triaged ticket within 30 s: {listed}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert_eq!(ticket["intent"], "track_order", "{ticket}");
    let metrics = client.get(format!("{}/metrics", server.base_url)).bearer_auth(&token).send().await.unwrap().text().await.unwrap();
    for line in ["switchboard_imap_connected{mailbox=\"support\"} 1", "switchboard_imap_mails_fetched_total{mailbox=\"support\"} 1", "switchboard_email_received_total{source=\"imap\",outcome=\"stored\"} 1"] {
        assert!(metrics.lines().any(|metric| metric == line), "`{line}` missing from /metrics");
    }
    let (status, mailboxes) = get(&client, &format!("{}/api/v1/email/mailboxes", server.base_url), &token).await;
    assert_eq!(status, 200, "{mailboxes}");
    let support = &mailboxes["mailboxes"][0];
    assert_eq!((support["mailbox"].as_str(), support["connected"].as_bool(), support["mails_fetched"].as_u64(), support["errors"].as_u64()), (Some("support"), Some(true), Some(1), Some(0)), "{mailboxes}");
    assert!(support["last_fetch_at"].is_string() && support["last_error"].is_null(), "{mailboxes}");
    drop(server);
    database.drop_database().await;
}

/// `serve` killed with SIGKILL while it reads a mailbox of 300 mails, then started again: every
/// mail becomes exactly one ticket (a mail stored but not yet flagged is fetched again and
/// recognised by its Message-ID), and the mailbox ends with nothing unseen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_an_imap_fetch_loses_no_mail_and_stores_none_twice() {
    const MAILS: usize = 300;
    let imap_address = std::net::SocketAddr::from(([127, 0, 0, 1], 3143));
    if std::net::TcpStream::connect_timeout(&imap_address, std::time::Duration::from_secs(2)).is_err() {
        panic!("the test IMAP server does not answer at {imap_address}: start it with scripts/services.sh (Dovecot from the Debian package dovecot-imapd)");
    }
    let connect = || async {
        let stream = tokio::net::TcpStream::connect(imap_address).await.unwrap();
        let mut client = async_imap::Client::new(stream);
        client.read_response().await.unwrap().unwrap();
        client.login("switchboard", "switchboard-test").await.map_err(|(error, _)| error).unwrap()
    };
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let folder = format!("Kill{}n{nanos}", std::process::id());
    let mut session = connect().await;
    session.create(&folder).await.unwrap();
    for idx in 0..MAILS {
        // Distinct senders and subjects: one ticket per mail, so a second copy would show.
        let raw = mail(&format!("kill-{idx}.{nanos}@mail.example"), &format!("customer{idx}@example.com"), &format!("Question {idx}"), "", &format!("Hello, do you ship to island {idx}?"));
        session.append(&folder, None, None, raw.as_bytes()).await.unwrap();
    }
    session.logout().await.unwrap();

    let database = TestDatabase::new(false).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("switchboard.toml");
    std::fs::write(&config, format!("[[email.imap]]\nname = \"support\"\nhost = \"127.0.0.1\"\nport = 3143\ntls = \"none\"\nusername = \"switchboard\"\npassword_env = \"SB_TEST_IMAP_PASSWORD\"\nfolder = \"{folder}\"\npoll_interval_seconds = 1\n")).unwrap();
    std::env::set_var("SB_TEST_IMAP_PASSWORD", "switchboard-test");
    let token = create_token(&database.url, "read");
    let client = reqwest::Client::new();
    let email_tickets = |base: String| {
        let (client, token) = (client.clone(), token.clone());
        async move { get(&client, &format!("{base}/api/v1/tickets?channel=email&limit=1"), &token).await.1["total"].as_i64().unwrap_or(0) }
    };
    let mut server = Server::start_with_args(&database.url, &["--config", config.to_str().unwrap()]).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let at_kill = loop {
        let stored = email_tickets(server.base_url.clone()).await;
        if stored >= 10 {
            break stored;
        }
        assert!(std::time::Instant::now() < deadline, "the reader stored nothing within 60 s");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    server.kill_9();
    assert!(at_kill < MAILS as i64, "killed mid-mailbox ({at_kill} of {MAILS} stored): the test needs the kill to land during the fetch");

    let server = Server::start_with_args(&database.url, &["--config", config.to_str().unwrap()]).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let stored = email_tickets(server.base_url.clone()).await;
        assert!(stored <= MAILS as i64, "{stored} tickets for {MAILS} mails: a mail was stored twice");
        if stored == MAILS as i64 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "only {stored} of {MAILS} mails stored within 120 s of the restart (killed at {at_kill})");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    // Flagged only after storing: give the last round its STORE, then nothing is left unseen.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let mut session = connect().await;
        session.select(&folder).await.unwrap();
        let unseen = session.uid_search("UNSEEN").await.unwrap().len();
        session.logout().await.unwrap();
        if unseen == 0 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{unseen} mails still unseen after every mail was stored");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(email_tickets(server.base_url.clone()).await, MAILS as i64, "a re-fetched mail never became a second ticket");
    drop(server);
    database.drop_database().await;
}

fn import(kind: &str, path: &std::path::Path, db_url: &str) -> Value {
    let output = Command::new(binary())
        .args(["import", kind, path.to_str().unwrap(), "--db", db_url, "--no-embeddings", "--json"])
        .env("SWITCHBOARD_CACHE", cache_dir())
        .env("SWITCHBOARD_LOG", "warn")
        .current_dir(repo_root())
        .output()
        .unwrap();
    assert!(output.status.success(), "import {kind} failed: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap_or_else(|error| panic!("{error}: {}", String::from_utf8_lossy(&output.stdout)))
}

/// (read, stored, triaged, already stored, refused, failed) of an import summary.
fn counts(summary: &Value) -> [u64; 6] {
    ["read", "stored", "triaged", "already_stored", "refused", "failed"].map(|field| summary[field].as_u64().unwrap_or(u64::MAX))
}

#[test]
fn imports_are_triaged_and_safe_to_run_again() {
    ensure_tfidf_default_model();
    let dir = tempfile::tempdir().unwrap();
    let db_url = format!("sqlite://{}", dir.path().join("switchboard.db").display());

    // An mbox of three mails (one a reply to the first, one with a quoted `>From ` line)
    // and a non-mail between them.
    let mbox = dir.path().join("support.mbox");
    let mbox_text = [
        "From ana@example.com Mon Nov  2 09:00:00 2026\n",
        &mail("mb-1@mail.example", "ana@example.com", "Refund for order A10500", "", "I want a refund for order A10500, the kettle is broken.").replace("\r\n", "\n"),
        "\nFrom bo@example.com Mon Nov  2 09:05:00 2026\n",
        &mail("mb-2@mail.example", "bo@example.com", "Opening hours", "", "When are you open on Sunday?\n>From the website I could not tell.").replace("\r\n", "\n"),
        "\nFrom x@example.com Mon Nov  2 09:06:00 2026\n",
        "this is not a mail at all\n",
        "\nFrom ana@example.com Mon Nov  2 09:10:00 2026\n",
        &mail("mb-3@mail.example", "ana@example.com", "Re: Refund for order A10500", "In-Reply-To: <mb-1@mail.example>\n", "Any news?").replace("\r\n", "\n"),
    ]
    .concat();
    std::fs::write(&mbox, mbox_text).unwrap();
    let first = import("mbox", &mbox, &db_url);
    assert_eq!(counts(&first), [4, 3, 3, 0, 1, 0], "{first}");
    let again = import("mbox", &mbox, &db_url);
    assert_eq!(counts(&again), [4, 0, 0, 3, 1, 0], "nothing stored twice: {again}");

    // A folder of .eml files: one new mail, one already imported from the mbox.
    let folder = dir.path().join("eml");
    std::fs::create_dir(&folder).unwrap();
    std::fs::write(folder.join("a.eml"), mail("eml-1@mail.example", "cy@example.com", "Damaged parcel", "", "The box arrived crushed.")).unwrap();
    std::fs::write(folder.join("b.EML"), mail("mb-2@mail.example", "bo@example.com", "Opening hours", "", "When are you open on Sunday?")).unwrap();
    std::fs::write(folder.join("notes.txt"), "not an .eml file").unwrap();
    let from_folder = import("eml", &folder, &db_url);
    assert_eq!(counts(&from_folder), [2, 1, 1, 1, 0, 0], "{from_folder}");
}
