//! Replies sent through a real SMTP server, read back from its Maildir.

use std::path::PathBuf;
use std::time::{Duration, Instant};

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
