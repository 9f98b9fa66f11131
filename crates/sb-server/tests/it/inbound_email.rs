//! `POST /api/v1/inbound/email`: what is refused (as data), what is stored (the raw bytes
//! exactly, attachments as metadata), repeated deliveries, and threading of replies by
//! Message-ID, ticket token and sender + subject.

use axum::http::Method;
use sb_service::ServiceConfig;
use sb_store::Scope;
use serde_json::Value;

use crate::support::{Answer, Credential, TestServer};

const PATH: &str = "/api/v1/inbound/email";

async fn post_mail(server: &TestServer, token: &Credential, mail: &str) -> Answer {
    server.request_raw(Method::POST, PATH, token, Some("message/rfc822"), mail.as_bytes().to_vec()).await
}

fn mail(message_id: &str, from: &str, subject: &str, extra_headers: &str, body: &str) -> String {
    format!("From: {from}\r\nTo: support@shop.example\r\nMessage-ID: <{message_id}>\r\nDate: Mon, 2 Nov 2026 09:00:00 +0000\r\nSubject: {subject}\r\n{extra_headers}\r\n{body}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_is_not_a_mail_is_refused_with_a_stable_code_and_nothing_stored() {
    let mut config = ServiceConfig::new(Default::default());
    config.email.limits.max_message_bytes = 2_000;
    let server = TestServer::with_service_config(config).await;
    let token = server.token(&[Scope::Ingest]).await;
    let ok_mail = mail("ok@example.com", "ana@example.com", "Where is my order?", "", "Hello");
    let huge_mail = mail("huge@example.com", "ana@example.com", "Big", "", &"x".repeat(3_000));
    // (body, Content-Type, status, error code)
    let cases: Vec<(&str, Option<&str>, u16, &str)> = vec![
        ("", Some("message/rfc822"), 422, "empty_mail"),
        ("  \r\n\r\n ", Some("message/rfc822"), 422, "empty_mail"),
        ("just a sentence, no headers", Some("message/rfc822"), 422, "not_a_mail"),
        ("Please help: my order is late\n\nthanks", Some("message/rfc822"), 422, "not_a_mail"),
        ("X-Custom: 1\r\n\r\nbody without From, Date or Message-ID", Some("message/rfc822"), 422, "not_a_mail"),
        ("{\"channel\":\"email\",\"text\":\"hi\"}", Some("message/rfc822"), 422, "not_a_mail"),
        (&ok_mail, Some("application/json"), 415, "unsupported_media_type"),
        (&ok_mail, Some("text/plain"), 415, "unsupported_media_type"),
        (&ok_mail, None, 415, "unsupported_media_type"),
        (&huge_mail, Some("message/rfc822"), 413, "payload_too_large"),
    ];
    for (body, content_type, status, code) in cases {
        let answer = server.request_raw(Method::POST, PATH, &token, content_type, body.as_bytes().to_vec()).await;
        assert_eq!((answer.status.as_u16(), answer.body["error"]["code"].as_str().unwrap_or("")), (status, code), "{body:?} as {content_type:?}: {answer:?}");
    }
    let (tickets, total) = server.service.store().list_tickets(&Default::default(), Default::default(), chrono::Utc::now()).await.unwrap();
    assert_eq!((tickets.len(), total), (0, 0), "nothing stored for a refused body");
    // The same mail with the right media type (and a parameter) is taken.
    let answer = server.request_raw(Method::POST, PATH, &token, Some("message/rfc822; charset=utf-8"), ok_mail.into_bytes()).await;
    assert_eq!(answer.status.as_u16(), 201, "{answer:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mail_is_stored_raw_once_with_its_attachments_as_metadata() {
    let server = TestServer::new().await;
    let token = server.token(&[Scope::Ingest]).await;
    let raw = "From: \"Ana Silva\" <Ana.Silva@example.com>\r\nTo: support@shop.example\r\nMessage-ID: <att-1@mail.example>\r\n\
        Date: Mon, 2 Nov 2026 09:00:00 +0000\r\nSubject: =?utf-8?q?Damaged_lamp_=E2=80=93_photo?=\r\nMIME-Version: 1.0\r\n\
        Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
        The lamp from order A10493 arrived broken, photo attached.\r\n\r\nOn Sun, Bob wrote:\r\n> old quoted text\r\n\r\n\
        --b1\r\nContent-Type: image/jpeg; name=\"lamp.jpg\"\r\nContent-Disposition: attachment; filename=\"lamp.jpg\"\r\n\
        Content-Transfer-Encoding: base64\r\n\r\n/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDA==\r\n--b1--\r\n";
    let first = post_mail(&server, &token, raw).await;
    assert_eq!(first.status.as_u16(), 201, "{first:?}");
    assert_eq!(first.body["email_message_id"], "att-1@mail.example");
    assert_eq!(first.body["threaded_by"], "new_ticket");
    assert_eq!(first.body["status"], "received", "no models in this server: stored, triage pending");
    assert_eq!(first.body["auto_answer_refusal"], Value::Null);

    let message_id = first.body["message_id"].as_i64().unwrap();
    let stored = server.service.store().message(message_id).await.unwrap();
    assert_eq!(stored.raw_payload, raw.as_bytes(), "the raw mail is kept byte for byte");
    assert_eq!(stored.content_type, "message/rfc822");
    assert_eq!(stored.external_id.as_deref(), Some("att-1@mail.example"));
    assert_eq!(stored.subject.as_deref(), Some("Damaged lamp – photo"));
    assert!(stored.body.contains("arrived broken"), "{}", stored.body);
    assert!(!stored.body.contains("/9j/4AAQ"), "attachment content is not inlined into the text");
    let attachments = &stored.metadata.as_ref().unwrap()["email"]["attachments"];
    assert_eq!(attachments, &serde_json::json!([{"filename": "lamp.jpg", "content_type": "image/jpeg", "size": 40, "inline": false}]));
    let customer = server.service.store().customer(first.body["customer_id"].as_i64().unwrap()).await.unwrap();
    assert_eq!((customer.email.as_deref(), customer.name.as_deref()), (Some("ana.silva@example.com"), Some("Ana Silva")));

    // An agent opens the attachment: the decoded bytes as a download, never rendered in place.
    let ticket_id = first.body["ticket_id"].as_i64().unwrap();
    let agent = server.log_in(server.user(sb_store::Role::Agent).await).await;
    let download = server.request(Method::GET, &format!("/api/v1/tickets/{ticket_id}/messages/{message_id}/attachments/0"), &agent, None).await;
    assert_eq!(download.status.as_u16(), 200, "{download:?}");
    let header = |name: &str| download.headers.get(name).and_then(|value| value.to_str().ok()).unwrap_or_default().to_string();
    assert_eq!(header("content-type"), "image/jpeg");
    assert_eq!(header("content-disposition"), "attachment; filename=\"lamp.jpg\"; filename*=UTF-8''lamp.jpg");
    assert_eq!((header("x-content-type-options"), header("content-security-policy")), ("nosniff".to_string(), "sandbox; default-src 'none'".to_string()));
    assert_eq!(download.raw.len(), 40);
    assert_eq!(&download.raw[..3], &[0xFF, 0xD8, 0xFF], "the JPEG's own bytes");
    let audit = server.service.store().list_audit(Some(("message", &message_id.to_string())), 10).await.unwrap();
    assert!(audit.iter().any(|entry| entry.action == "pii.viewed"), "opening it is audited: {audit:?}");
    for (path, status, code) in [
        (format!("/api/v1/tickets/{ticket_id}/messages/{message_id}/attachments/1"), 404, "not_found"),
        (format!("/api/v1/tickets/{}/messages/{message_id}/attachments/0", ticket_id + 1000), 404, "not_found"),
        (format!("/api/v1/tickets/{ticket_id}/messages/{message_id}/attachments/first"), 422, "invalid_path"),
    ] {
        let answer = server.request(Method::GET, &path, &agent, None).await;
        assert_eq!((answer.status.as_u16(), answer.body["error"]["code"].as_str().unwrap_or_default()), (status, code), "{path}");
    }

    let again = post_mail(&server, &token, raw).await;
    assert_eq!(again.status.as_u16(), 200, "{again:?}");
    assert_eq!((again.body["ticket_id"].clone(), again.body["message_id"].clone(), again.body["status"].clone()), (first.body["ticket_id"].clone(), first.body["message_id"].clone(), Value::from("duplicate")));
    // Without a Message-ID the bytes are the key: the same bytes again are a repeat, others not.
    let no_id = "From: bo@example.com\r\nDate: Mon, 2 Nov 2026 09:00:00 +0000\r\nSubject: hi\r\n\r\nno message id\r\n";
    assert_eq!(post_mail(&server, &token, no_id).await.status.as_u16(), 201);
    assert_eq!(post_mail(&server, &token, no_id).await.status.as_u16(), 200);
    assert_eq!(post_mail(&server, &token, &no_id.replace("no message", "another")).await.status.as_u16(), 201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_thread_by_message_id_then_token_then_sender_and_subject() {
    let server = TestServer::new().await;
    let token = server.token(&[Scope::Ingest]).await;
    let first = post_mail(&server, &token, &mail("t1@mail.example", "ana@example.com", "Where is order A10493?", "", "It has not arrived.")).await;
    let ticket_id = first.body["ticket_id"].as_i64().unwrap();
    let sb_token = sb_mail_token(ticket_id);
    // (Message-ID, From, Subject, extra headers, expected: same ticket?, threaded_by)
    let cases: Vec<(&str, &str, String, String, bool, &str)> = vec![
        ("t2@mail.example", "someone.else@example.com", "Re: something".into(), "In-Reply-To: <t1@mail.example>\r\n".into(), true, "message_id"),
        ("t3@mail.example", "ana@example.com", "Re: x".into(), "References: <unknown@x> <t1@mail.example>\r\n".into(), true, "message_id"),
        ("t4@mail.example", "ana@example.com", format!("Re: {sb_token} Where is order A10493?"), String::new(), true, "ticket_token"),
        // A stranger quoting the token does not write into Ana's ticket.
        ("t5@mail.example", "mallory@example.com", format!("{sb_token} hello"), String::new(), false, "new_ticket"),
        ("t6@mail.example", "ana@example.com", "RE: AW: Where is order  A10493?".into(), String::new(), true, "sender_subject"),
        ("t7@mail.example", "ana@example.com", "A different question".into(), String::new(), false, "new_ticket"),
    ];
    for (message_id, from, subject, headers, joins, threaded_by) in cases {
        let answer = post_mail(&server, &token, &mail(message_id, from, &subject, &headers, "More text.")).await;
        assert_eq!(answer.status.as_u16(), 201, "{message_id}: {answer:?}");
        assert_eq!(answer.body["threaded_by"], threaded_by, "{message_id}: {answer:?}");
        assert_eq!(answer.body["ticket_id"].as_i64() == Some(ticket_id), joins, "{message_id}: {answer:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_replies_and_bounces_are_stored_with_the_reason_they_are_never_answered() {
    let mut config = ServiceConfig::new(Default::default());
    config.email.our_addresses = vec!["@shop.example".into()];
    let server = TestServer::with_service_config(config).await;
    let token = server.token(&[Scope::Ingest]).await;
    // (From, extra headers, refusal)
    let cases = [
        ("ana@example.com", "Auto-Submitted: auto-replied\r\n", "auto_reply"),
        ("ana@example.com", "X-Autoreply: yes\r\n", "auto_reply"),
        ("news@example.com", "List-Id: <deals.example.com>\r\n", "mailing_list"),
        ("ana@example.com", "Precedence: bulk\r\n", "bulk"),
        ("orders@shop.example", "", "own_address"),
        ("no-reply@example.com", "", "no_reply_sender"),
        ("ana@example.com", "", ""),
    ];
    for (case_idx, (from, headers, refusal)) in cases.into_iter().enumerate() {
        let answer = post_mail(&server, &token, &mail(&format!("auto-{case_idx}@x"), from, "A question", headers, "Is the shop open?")).await;
        assert_eq!(answer.status.as_u16(), 201, "{from} {headers}: {answer:?}");
        let expected = if refusal.is_empty() { Value::Null } else { Value::from(refusal) };
        assert_eq!(answer.body["auto_answer_refusal"], expected, "{from} {headers}: {answer:?}");
    }
}

/// The ticket token as Switchboard writes it into subjects (`[SB-<id>-<check letter>]`).
fn sb_mail_token(ticket_id: i64) -> String {
    sb_mail::format_ticket_token(u64::try_from(ticket_id).unwrap())
}
