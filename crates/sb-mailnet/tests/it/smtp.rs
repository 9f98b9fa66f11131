//! Replies sent through a real SMTP server, read back from its Maildir.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use sb_domain::Channel;
use sb_mailnet::{SmtpConfig, SmtpSender, TlsMode};
use sb_service::actions::Actor;
use sb_service::{MailSource, ThreadedBy};

use crate::support::{service, unique_name};

/// Where the test SMTP server listens and stores, failing loudly when it does not answer.
fn smtp_server() -> (String, u16, PathBuf) {
    let address = std::env::var("SWITCHBOARD_TEST_SMTP").unwrap_or_else(|_| "127.0.0.1:2525".into());
    let maildir = PathBuf::from(std::env::var("SWITCHBOARD_TEST_SMTP_MAILDIR").unwrap_or_else(|_| "/tmp/switchboard-smtp/maildir".into()));
    if std::net::TcpStream::connect_timeout(&address.parse().unwrap(), Duration::from_secs(2)).is_err() {
        panic!("the test SMTP server does not answer at {address}: start it with scripts/services.sh (it runs aiosmtpd from the Debian package python3-aiosmtpd, storing mail in {})", maildir.display());
    }
    let (host, port) = address.rsplit_once(':').unwrap();
    (host.to_string(), port.parse().unwrap(), maildir)
}

/// A unique address per run, so runs and parallel tests never read each other's mail.
fn unique_address(name: &str) -> String {
    format!("{}@example.com", unique_name(name))
}

/// The mail the server stored for `recipient` (waits up to 10 s for it to appear).
fn delivered_to(maildir: &PathBuf, recipient: &str) -> Vec<u8> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        for folder in ["new", "cur"] {
            let Ok(entries) = std::fs::read_dir(maildir.join(folder)) else { continue };
            for entry in entries.flatten() {
                let bytes = std::fs::read(entry.path()).unwrap_or_default();
                if String::from_utf8_lossy(&bytes).contains(recipient) {
                    return bytes;
                }
            }
        }
        assert!(Instant::now() < deadline, "no mail to {recipient} in {}", maildir.display());
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn customer_mail(message_id: &str, from: &str, subject: &str, extra_headers: &str, body: &str) -> Vec<u8> {
    format!("From: Ana Silva <{from}>\r\nTo: support@shop.example\r\nMessage-ID: <{message_id}>\r\nDate: Mon, 2 Nov 2026 09:00:00 +0000\r\nSubject: {subject}\r\n{extra_headers}\r\n{body}\r\n").into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_reaches_the_customer_threaded_and_their_answer_joins_the_ticket() {
    let (host, port, maildir) = smtp_server();
    let server = service().await;
    let customer = unique_address("ana");
    let inbound_id = format!("in-1.{customer}");
    let first = server.service.receive_email(customer_mail(&inbound_id, &customer, "Where is order A10493?", "", "It has not arrived."), MailSource::Http).await.unwrap();
    let ticket_id = first.receipt.ticket.id;
    let actor = Actor { audit_name: "user:1".into(), user_id: None };
    let (reply_id, _) = server.service.reply_to_ticket(ticket_id, "It left the warehouse today.\nTracking: 1Z999AA10123456784", &actor).await.unwrap();

    let mut config = SmtpConfig::new(host, port, TlsMode::None, "support@shop.example");
    config.from_name = Some("Shop Support".into());
    config.signature = "The Shop team".into();
    let sender = SmtpSender::new(server.service.clone(), config).unwrap();
    let round = sender.send_round().await.unwrap();
    assert_eq!((round.sent, round.retried, round.failed), (1, 0, 0));
    assert_eq!(sender.send_round().await.unwrap(), Default::default(), "a sent reply is not sent again");

    let stored_reply = server.service.store().message(reply_id).await.unwrap();
    let sent_id = stored_reply.external_id.clone().expect("the reply keeps the Message-ID it was sent with");
    let delivered = sb_mail::parse(&delivered_to(&maildir, &customer), &sb_mail::Limits::default());
    assert_eq!(delivered.message_id.as_deref(), Some(sent_id.as_str()));
    assert_eq!(delivered.in_reply_to, vec![inbound_id.clone()]);
    assert_eq!(delivered.references, vec![inbound_id.clone()]);
    assert_eq!(delivered.subject, Some(format!("Re: Where is order A10493? {}", sb_mail::format_ticket_token(ticket_id as u64))));
    assert_eq!(delivered.from[0].address, "support@shop.example");
    assert!(delivered.body.text.contains("left the warehouse") && delivered.body.text.contains("The Shop team"), "{}", delivered.body.text);
    assert!(delivered.body.html.as_deref().is_some_and(|html| html.contains("left the warehouse")), "an HTML alternative");
    assert!(delivered.auto_signals.is_empty(), "an agent's reply is not marked automatic: {:?}", delivered.auto_signals);

    // The customer answers the reply: it joins the ticket by its Message-ID, even from a
    // client that dropped the subject's token.
    let answer = customer_mail(&format!("in-2.{customer}"), &customer, "Re: thanks", &format!("In-Reply-To: <{sent_id}>\r\n"), "Thanks, got the tracking.");
    let answered = server.service.receive_email(answer, MailSource::Http).await.unwrap();
    assert_eq!((answered.receipt.ticket.id, answered.threaded_by), (ticket_id, ThreadedBy::MessageId));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_is_retried_and_a_bad_recipient_fails_for_good() {
    let (host, port, _) = smtp_server();
    let server = service().await;
    let customer = unique_address("bo");
    let first = server.service.receive_email(customer_mail(&format!("in.{customer}"), &customer, "Question", "", "Hello?"), MailSource::Http).await.unwrap();
    let actor = Actor { audit_name: "user:1".into(), user_id: None };
    server.service.reply_to_ticket(first.receipt.ticket.id, "Hello!", &actor).await.unwrap();

    // Nobody listens on port 1: a temporary failure, retried later.
    let mut unreachable = SmtpConfig::new(host.clone(), 1, TlsMode::None, "support@shop.example");
    unreachable.timeout = Duration::from_secs(2);
    let round = SmtpSender::new(server.service.clone(), unreachable).unwrap().send_round().await.unwrap();
    assert_eq!((round.sent, round.retried, round.failed), (0, 1, 0));
    let sender = SmtpSender::new(server.service.clone(), SmtpConfig::new(host.clone(), port, TlsMode::None, "support@shop.example")).unwrap();
    assert_eq!(sender.send_round().await.unwrap(), Default::default(), "the retry waits for its backoff");

    // A reply whose recipient is not an address cannot be composed: failed at once, with why.
    let other = server.service.receive_email(customer_mail(&format!("in-x.{customer}"), &customer, "Another", "", "Hi"), MailSource::Http).await.unwrap();
    let now = chrono::Utc::now();
    let outbound = sb_store::NewOutbound {
        direction: sb_store::Direction::Outbound,
        channel: Channel::Email,
        author_user_id: None,
        subject: Some("Re: Another".into()),
        body: "Hi".into(),
        recipient: Some("not an address".into()),
        metadata: None,
    };
    server.service.store().add_outbound(other.receipt.ticket.id, &outbound, &[], now).await.unwrap();
    let round = sender.send_round().await.unwrap();
    assert_eq!((round.sent, round.retried, round.failed), (0, 0, 1));
}

/// Every mail the server stored for `recipient`, read after `settle` (for counting copies).
fn all_delivered_to(maildir: &PathBuf, recipient: &str, settle: Duration) -> Vec<Vec<u8>> {
    std::thread::sleep(settle);
    let mut mails = Vec::new();
    for folder in ["new", "cur"] {
        let Ok(entries) = std::fs::read_dir(maildir.join(folder)) else { continue };
        for entry in entries.flatten() {
            let bytes = std::fs::read(entry.path()).unwrap_or_default();
            if String::from_utf8_lossy(&bytes).contains(recipient) {
                mails.push(bytes);
            }
        }
    }
    mails
}

/// The Message-IDs of the mails in a folder of the test IMAP account.
async fn message_ids_in(folder: &str) -> Vec<String> {
    let mut session = crate::imap::test_session().await;
    session.select(folder).await.unwrap();
    let fetched: Vec<_> = session.fetch("1:*", "BODY.PEEK[]").await.unwrap().try_collect().await.unwrap();
    let ids = fetched.iter().filter_map(|fetch| sb_mail::parse(fetch.body()?, &sb_mail::Limits::default()).message_id).collect();
    session.logout().await.unwrap();
    ids
}

/// A ticket with an agent's reply waiting in the outbox for `customer`.
async fn ticket_with_a_reply(server: &crate::support::TestServer, customer: &str) -> (i64, i64) {
    let first = server.service.receive_email(customer_mail(&format!("in.{customer}"), customer, "Refund for A10493", "", "Where is my refund?"), MailSource::Http).await.unwrap();
    let actor = Actor { audit_name: "user:1".into(), user_id: None };
    let (reply_id, _) = server.service.reply_to_ticket(first.receipt.ticket.id, "The refund left today.", &actor).await.unwrap();
    (first.receipt.ticket.id, reply_id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sent_reply_is_copied_to_the_sent_folder_and_a_crash_after_the_250_sends_nothing_twice() {
    let (host, port, maildir) = smtp_server();
    crate::imap::require_imap_server();
    let server = service().await;
    let store = server.service.store().clone();
    let sent_folder = unique_name("Sent");
    let mut config = SmtpConfig::new(host.clone(), port, TlsMode::None, "support@shop.example");
    config.sent_folder = Some(crate::imap::config(&sent_folder));

    // 1. The normal path: sent, then copied to the Sent folder (created on the first copy).
    let customer = unique_address("cy");
    let (_, reply_id) = ticket_with_a_reply(&server, &customer).await;
    let sender = SmtpSender::new(server.service.clone(), config.clone()).unwrap();
    let round = sender.send_round().await.unwrap();
    assert_eq!((round.sent, round.already_sent), (1, 0));
    let sent_id = store.message(reply_id).await.unwrap().external_id.unwrap();
    assert_eq!(message_ids_in(&sent_folder).await, vec![sent_id.clone()]);

    // 2. A sender that died after the server's 250 and the copy, before its bookkeeping: the
    // steps it got through are done here by hand, with the library's own Message-ID and
    // composition, and the claim is left to expire as a killed process leaves it.
    let customer = unique_address("dee");
    let (ticket_id, reply_id) = ticket_with_a_reply(&server, &customer).await;
    let now = chrono::Utc::now();
    let claimed = store.claim_outbox(Channel::Email, "crashed/smtp", now, now, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let message = store.message(reply_id).await.unwrap();
    let message_id = sb_mailnet::message_id_for(ticket_id, reply_id, message.received_at, "shop.example");
    let thread_ids = store.email_thread_ids(ticket_id, reply_id).await.unwrap();
    let mail = sb_mailnet::compose(&sb_mailnet::OutgoingMail {
        from_address: "support@shop.example",
        from_name: None,
        to_address: &customer,
        ticket_id,
        subject: message.subject.as_deref(),
        body: &message.body,
        signature: "",
        message_id: &message_id,
        thread_ids: &thread_ids,
        automatic: false,
        date: now,
    })
    .unwrap();
    let raw = mail.formatted();
    use lettre::AsyncTransport;
    lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::builder_dangerous(&host).port(port).build().send(mail).await.unwrap();
    sb_mailnet::SentFolder::new(crate::imap::config(&sent_folder)).append(&raw).await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;

    // The restarted sender claims the entry again, finds its Message-ID in the Sent folder and
    // records it as sent without a second mail.
    let round = sender.send_round().await.unwrap();
    assert_eq!((round.sent, round.already_sent, round.retried, round.failed), (0, 1, 0, 0));
    assert_eq!(store.message(reply_id).await.unwrap().external_id.as_deref(), Some(message_id.as_str()), "the reply keeps the Message-ID it went out with");
    assert_eq!(sender.send_round().await.unwrap(), Default::default(), "recorded as sent");
    assert_eq!(all_delivered_to(&maildir, &customer, Duration::from_millis(500)).len(), 1, "the customer got it once");
    assert_eq!(message_ids_in(&sent_folder).await.iter().filter(|id| **id == message_id).count(), 1);

    // 3. A sender that died before the server's answer (or between the 250 and the copy) left
    // no copy: the reply is sent again, with the same Message-ID.
    let customer = unique_address("eve");
    let (ticket_id, reply_id) = ticket_with_a_reply(&server, &customer).await;
    let now = chrono::Utc::now();
    assert_eq!(store.claim_outbox(Channel::Email, "crashed/smtp", now, now, 10).await.unwrap().len(), 1);
    tokio::time::sleep(Duration::from_millis(20)).await;
    let round = sender.send_round().await.unwrap();
    assert_eq!((round.sent, round.already_sent), (1, 0));
    let message = store.message(reply_id).await.unwrap();
    let expected_id = sb_mailnet::message_id_for(ticket_id, reply_id, message.received_at, "shop.example");
    assert_eq!(message.external_id.as_deref(), Some(expected_id.as_str()));
    let delivered = all_delivered_to(&maildir, &customer, Duration::from_millis(500));
    assert_eq!(delivered.len(), 1);
    assert_eq!(sb_mail::parse(&delivered[0], &sb_mail::Limits::default()).message_id.as_deref(), Some(expected_id.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_reaches_a_mailto_webhook_by_mail_and_the_http_sender_leaves_it_alone() {
    let (host, port, maildir) = smtp_server();
    let server = service().await;
    let store = server.service.store().clone();
    let on_call = unique_address("oncall");
    let actor = Actor { audit_name: "user:1".into(), user_id: None };
    let (hook, _) = server.service.create_webhook("on-call", &format!("mailto:{on_call}"), &actor).await.unwrap();
    assert!(server.service.create_webhook("two", "mailto:a@shop.example,b@shop.example", &actor).await.is_err(), "one address per webhook");
    let alert = sb_store::NewAlert {
        rule: "queue_depth".into(),
        dedup_key: unique_name("queue_depth"),
        severity: sb_store::AlertSeverity::Critical,
        title: "81 tickets waiting for a person".into(),
        details: serde_json::json!({"depth": 81}),
        value: Some(81.0),
        threshold: Some(50.0),
    };
    let (raised, _) = store.raise_alert(&alert, chrono::Utc::now()).await.unwrap();
    assert_eq!(server.service.send_due_webhooks(&reqwest::Client::new()).await.unwrap(), 0, "not an HTTP delivery");

    let sender = SmtpSender::new(server.service.clone(), SmtpConfig::new(host, port, TlsMode::None, "support@shop.example")).unwrap();
    let round = sender.send_round().await.unwrap();
    assert_eq!((round.alerts_sent, round.alerts_failed, round.sent), (1, 0, 0));
    let delivered = sb_mail::parse(&delivered_to(&maildir, &on_call), &sb_mail::Limits::default());
    assert_eq!(delivered.subject.as_deref(), Some("[Switchboard] Critical alert: 81 tickets waiting for a person"));
    assert!(delivered.body.text.contains(&format!("Alert #{} was raised", raised.id)) && delivered.body.text.contains("Value: 81 (threshold 50)"), "{}", delivered.body.text);
    assert!(delivered.auto_signals.contains(&sb_mail::AutoSignal::AutoSubmitted));
    let log = store.webhook_deliveries(hook.id, 10).await.unwrap();
    assert_eq!((log[0].status.as_str(), log[0].last_status, log[0].attempts), ("delivered", Some(250), 1));
    assert_eq!(sender.send_round().await.unwrap(), Default::default(), "mailed once");

    // Resolved: a second mail says so.
    store.resolve_alert(&alert.dedup_key, "system", &[], chrono::Utc::now()).await.unwrap().unwrap();
    assert_eq!(sender.send_round().await.unwrap().alerts_sent, 1);
    let resolved = all_delivered_to(&maildir, &on_call, Duration::from_millis(300));
    assert_eq!(resolved.len(), 2);
    assert!(resolved.iter().any(|raw| sb_mail::parse(raw, &sb_mail::Limits::default()).subject.as_deref() == Some("[Switchboard] Resolved: 81 tickets waiting for a person")));
}
