//! The IMAP reader against a real Dovecot (`scripts/services.sh`: user switchboard /
//! switchboard-test, 127.0.0.1:3143 plain, 3993 TLS with a certificate for localhost from the
//! test CA /tmp/switchboard-imap/ca.pem). Each test works in a folder of its own.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use sb_domain::Channel;
use sb_mailnet::{ImapConfig, ImapReader, ImapTls};

use crate::support::{service, unique_name};

const USER: &str = "switchboard";
const PASSWORD: &str = "switchboard-test";
const PLAIN_PORT: u16 = 3143;
const TLS_PORT: u16 = 3993;

fn test_ca() -> PathBuf {
    PathBuf::from("/tmp/switchboard-imap/ca.pem")
}

/// Fails, saying how to start it, when the test IMAP server does not answer.
pub(crate) fn require_imap_server() {
    for port in [PLAIN_PORT, TLS_PORT] {
        let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        if std::net::TcpStream::connect_timeout(&address, Duration::from_secs(2)).is_err() {
            panic!("the test IMAP server does not answer at {address}: start it with scripts/services.sh (Dovecot from the Debian package dovecot-imapd; its log is /tmp/switchboard-imap/log)");
        }
    }
}

/// A plain session of the test user, for putting mail in and looking at flags.
pub(crate) async fn test_session() -> async_imap::Session<tokio::net::TcpStream> {
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", PLAIN_PORT)).await.unwrap();
    let mut client = async_imap::Client::new(stream);
    client.read_response().await.unwrap().unwrap();
    client.login(USER, PASSWORD).await.map_err(|(error, _)| error).unwrap()
}

/// A new folder holding `mails`, in order.
async fn folder_with(mails: &[String]) -> String {
    let folder = unique_name("Test");
    let mut session = test_session().await;
    session.create(&folder).await.unwrap();
    for mail in mails {
        session.append(&folder, None, None, mail.as_bytes()).await.unwrap();
    }
    session.logout().await.unwrap();
    folder
}

async fn unseen(folder: &str) -> usize {
    let mut session = test_session().await;
    session.select(folder).await.unwrap();
    let n_unseen = session.uid_search("UNSEEN").await.unwrap().len();
    session.logout().await.unwrap();
    n_unseen
}

fn mail(message_id: Option<&str>, from: &str, subject: &str, extra_headers: &str, body: &str) -> String {
    let id_header = message_id.map(|id| format!("Message-ID: <{id}>\r\n")).unwrap_or_default();
    format!("From: {from}\r\nTo: support@shop.example\r\n{id_header}Date: Mon, 2 Nov 2026 09:00:00 +0000\r\nSubject: {subject}\r\n{extra_headers}\r\n{body}\r\n")
}

pub(crate) fn config(folder: &str) -> ImapConfig {
    let mut config = ImapConfig::new("support", "127.0.0.1", PLAIN_PORT, ImapTls::None, USER, PASSWORD);
    config.folder = folder.to_string();
    config.timeout = Duration::from_secs(10);
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unseen_mail_becomes_tickets_once_and_is_flagged_seen_after_the_store() {
    require_imap_server();
    let server = service().await;
    let first_id = unique_name("a") + "@mail.example";
    let reply_id = unique_name("b") + "@mail.example";
    let folder = folder_with(&[
        mail(Some(&first_id), "ana@example.com", "Where is order A10493?", "", "It has not arrived."),
        mail(Some(&reply_id), "ana@example.com", "Re: Where is order A10493?", &format!("In-Reply-To: <{first_id}>\r\n"), "Any news?"),
        mail(None, "bo@example.com", "No id", "", "A mail without a Message-ID."),
        "this is not a mail, but a mailbox stores what it holds".to_string(),
    ])
    .await;
    let reader = ImapReader::new(server.service.clone(), config(&folder));

    let round = reader.fetch_once().await.unwrap();
    assert_eq!((round.fetched, round.stored, round.repeated, round.failed), (4, 4, 0, 0));
    assert_eq!(unseen(&folder).await, 0, "every stored mail is flagged seen");
    let store = server.service.store();
    let first = store.find_message_by_external_id(Channel::Email, &first_id).await.unwrap().unwrap();
    let reply = store.find_message_by_external_id(Channel::Email, &reply_id).await.unwrap().unwrap();
    assert_eq!(reply.ticket_id, first.ticket_id, "the reply joined its ticket by In-Reply-To");
    assert_eq!(first.raw_payload, mail(Some(&first_id), "ana@example.com", "Where is order A10493?", "", "It has not arrived.").into_bytes(), "stored byte for byte");

    // Nothing unseen: nothing fetched. A mail stored but not flagged (a crash between the two)
    // is fetched again and recognised, not stored twice.
    assert_eq!(reader.fetch_once().await.unwrap(), Default::default());
    let mut session = test_session().await;
    session.select(&folder).await.unwrap();
    session.uid_store("1:*", "-FLAGS.SILENT (\\Seen)").await.unwrap().try_collect::<Vec<_>>().await.unwrap();
    session.logout().await.unwrap();
    let again = reader.fetch_once().await.unwrap();
    assert_eq!((again.fetched, again.stored, again.repeated), (4, 0, 4), "the mail without a Message-ID is known by its UIDVALIDITY and UID");
    let (_, n_tickets) = store.list_tickets(&Default::default(), Default::default(), chrono::Utc::now()).await.unwrap();
    assert_eq!(n_tickets, 3, "Ana's thread, Bo's mail, the non-mail");
}

/// With a processed folder, stored mail leaves the read folder (flagged seen, then moved), and
/// the folder is created on the first connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_mail_is_moved_to_the_processed_folder() {
    require_imap_server();
    let server = service().await;
    let first = unique_name("moved-1") + "@mail.example";
    let second = unique_name("moved-2") + "@mail.example";
    let folder = folder_with(&[mail(Some(&first), "di@example.com", "One", "", "First"), mail(Some(&second), "ed@example.com", "Two", "", "Second")]).await;
    let processed = format!("{folder}-done");
    let mut moving = config(&folder);
    moving.processed_folder = Some(processed.clone());
    let round = ImapReader::new(server.service.clone(), moving.clone()).fetch_once().await.unwrap();
    assert_eq!((round.fetched, round.stored), (2, 2));
    let mut session = test_session().await;
    assert_eq!(session.select(&folder).await.unwrap().exists, 0, "nothing stays in the read folder");
    let moved = session.select(&processed).await.unwrap();
    assert_eq!(moved.exists, 2, "both mails are in the processed folder");
    let seen: Vec<u32> = session.uid_search("SEEN").await.unwrap().into_iter().collect();
    assert_eq!(seen.len(), 2, "and flagged seen there");
    session.logout().await.unwrap();
    // A second reader on the same mailbox finds nothing left to do (the folder exists now).
    let again = ImapReader::new(server.service.clone(), moving).fetch_once().await.unwrap();
    assert_eq!((again.fetched, again.stored), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_is_verified_against_the_servers_certificate() {
    require_imap_server();
    let server = service().await;
    let message_id = unique_name("tls") + "@mail.example";
    let folder = folder_with(&[mail(Some(&message_id), "cy@example.com", "Over TLS", "", "Hello")]).await;
    let mut tls = config(&folder);
    (tls.host, tls.port, tls.tls) = ("localhost".into(), TLS_PORT, ImapTls::Tls);
    let untrusted = ImapReader::new(server.service.clone(), tls.clone()).fetch_once().await;
    assert!(untrusted.as_ref().is_err_and(|error| error.to_string().contains("certificate")), "a certificate from an unknown CA is refused: {untrusted:?}");
    tls.ca_file = Some(test_ca());
    let round = ImapReader::new(server.service.clone(), tls).fetch_once().await.unwrap();
    assert_eq!((round.fetched, round.stored), (1, 1));
    assert!(server.service.store().find_message_by_external_id(Channel::Email, &message_id).await.unwrap().is_some());

    // STARTTLS on the plain port: upgraded and verified the same way before the password is sent.
    let message_id = unique_name("starttls") + "@mail.example";
    let folder = folder_with(&[mail(Some(&message_id), "cy@example.com", "Over STARTTLS", "", "Hello again")]).await;
    let mut starttls = config(&folder);
    (starttls.host, starttls.tls) = ("localhost".into(), ImapTls::Starttls);
    let untrusted = ImapReader::new(server.service.clone(), starttls.clone()).fetch_once().await;
    assert!(untrusted.as_ref().is_err_and(|error| error.to_string().contains("certificate")), "STARTTLS verifies the certificate too: {untrusted:?}");
    starttls.ca_file = Some(test_ca());
    let round = ImapReader::new(server.service.clone(), starttls).fetch_once().await.unwrap();
    assert_eq!((round.fetched, round.stored), (1, 1));
    assert!(server.service.store().find_message_by_external_id(Channel::Email, &message_id).await.unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_running_reader_idles_and_picks_up_new_mail_at_once() {
    require_imap_server();
    let server = service().await;
    let folder = folder_with(&[]).await;
    let mut idle_config = config(&folder);
    // No polling to fall back on: only IDLE can bring the mail in within the test's wait.
    idle_config.poll_interval = Duration::from_secs(3600);
    let reader = ImapReader::new(server.service.clone(), idle_config);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(async move { reader.run(stopped).await });
    tokio::time::sleep(Duration::from_millis(500)).await;

    let message_id = unique_name("idle") + "@mail.example";
    let mut session = test_session().await;
    session.append(&folder, None, None, mail(Some(&message_id), "dee@example.com", "New", "", "Hello").as_bytes()).await.unwrap();
    session.logout().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.service.store().find_message_by_external_id(Channel::Email, &message_id).await.unwrap().is_none() {
        assert!(Instant::now() < deadline, "the running reader did not pick the new mail up within 10 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(10), running).await.expect("the reader stops on shutdown").unwrap();
    assert_eq!(unseen(&folder).await, 0);
}
