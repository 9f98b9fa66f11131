//! Hostile and oversized inputs built in the test: a 25 MB attachment, 1000-deep MIME
//! nesting (multiparts and attached messages), a million empty parts, huge headers. Each must
//! parse without panicking, be flagged, and finish within a generous time bound (the bounds
//! hold on the 2-core shared build machine in a debug build with optimised dependencies; the
//! release figures are in docs/benchmarks-mail.md).

use std::time::{Duration, Instant};

use sb_mail::{auto_answer_allowed, parse, thread_keys, Flag, Limits, ParsedMail};

use crate::support::{fresh_sender_context, our_addresses};

fn parse_within(raw: &[u8], limits: &Limits, budget: Duration) -> ParsedMail {
    let started = Instant::now();
    let mail = parse(raw, limits);
    let _ = thread_keys(&mail);
    let our_addresses = our_addresses();
    let _ = auto_answer_allowed(&mail, &fresh_sender_context(&our_addresses));
    let elapsed = started.elapsed();
    assert!(elapsed < budget, "took {elapsed:?} for {} bytes (budget {budget:?})", raw.len());
    mail
}

const HEAD: &str = "Message-ID: <hostile@mail.example>\r\nDate: Mon, 27 Jan 2025 10:00:00 +0000\r\nFrom: Big Sender <big@mail.example>\r\nTo: support@shop.example\r\nSubject: big\r\nMIME-Version: 1.0\r\n";

fn base64_lines(n_bytes: usize) -> Vec<u8> {
    // 57 input bytes per 76-character line, a pattern that is cheap to make.
    let line = b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0\r\n";
    let n_lines = n_bytes.div_ceil(57);
    let mut encoded = Vec::with_capacity(n_lines * line.len());
    for _ in 0..n_lines {
        encoded.extend_from_slice(line);
    }
    encoded
}

fn mail_with_attachment(n_attachment_bytes: usize) -> Vec<u8> {
    let mut raw = Vec::new();
    raw.extend_from_slice(HEAD.as_bytes());
    raw.extend_from_slice(b"Content-Type: multipart/mixed; boundary=\"big\"\r\n\r\n--big\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe video of the broken delivery, order #A12000.\r\n--big\r\nContent-Type: video/mp4; name=\"unboxing.mp4\"\r\nContent-Disposition: attachment; filename=\"unboxing.mp4\"\r\nContent-Transfer-Encoding: base64\r\n\r\n");
    raw.extend_from_slice(&base64_lines(n_attachment_bytes));
    raw.extend_from_slice(b"--big--\r\n");
    raw
}

#[test]
fn attachment_of_25_mb_is_measured_not_kept() {
    let raw = mail_with_attachment(25 << 20);
    assert!(raw.len() > 33 << 20, "base64 of 25 MB is over 33 MB");
    let mail = parse_within(&raw, &Limits::default(), Duration::from_secs(10));
    assert_eq!(mail.body.stripped, "The video of the broken delivery, order #A12000.");
    let attachment = &mail.attachments[0];
    assert_eq!(attachment.filename.as_deref(), Some("unboxing.mp4"));
    assert!(attachment.size >= 25 << 20, "decoded size {}", attachment.size);
    assert!(attachment.over_size_cap && attachment.content.is_none());
    assert_eq!(mail.flags, vec![Flag::AttachmentOverSizeCap]);
}

#[test]
fn mail_over_the_size_cap_is_parsed_up_to_the_cap() {
    let raw = mail_with_attachment(3 << 20);
    let limits = Limits { max_message_bytes: 1 << 20, ..Limits::default() };
    let mail = parse_within(&raw, &limits, Duration::from_secs(5));
    assert!(mail.has_flag(Flag::MessageOverSizeCap));
    assert!(mail.has_flag(Flag::UnclosedMultipart), "{:?}", mail.flags);
    assert_eq!(mail.raw_size, raw.len());
    assert_eq!(mail.body.stripped, "The video of the broken delivery, order #A12000.");
}

fn nested_multiparts(depth: usize) -> Vec<u8> {
    let mut raw = String::from(HEAD);
    for level in 0..depth {
        raw.push_str(&format!("Content-Type: multipart/mixed; boundary=\"n{level}\"\r\n\r\n--n{level}\r\n"));
    }
    raw.push_str("Content-Type: text/plain\r\n\r\nbottom\r\n");
    for level in (0..depth).rev() {
        raw.push_str(&format!("--n{level}--\r\n"));
    }
    raw.into_bytes()
}

#[test]
fn thousand_deep_multipart_nesting_is_cut_at_the_depth_limit() {
    let mail = parse_within(&nested_multiparts(1000), &Limits::default(), Duration::from_secs(5));
    assert!(mail.has_flag(Flag::NestingTooDeep), "{:?}", mail.flags);
    assert!(mail.has_flag(Flag::NoTextBody), "the text below the limit is not used: {:?}", mail.flags);
    assert_eq!(mail.message_id.as_deref(), Some("hostile@mail.example"));
}

#[test]
fn nesting_within_the_limit_reaches_the_text() {
    let mail = parse_within(&nested_multiparts(10), &Limits::default(), Duration::from_secs(2));
    assert_eq!(mail.body.text.trim(), "bottom");
    assert!(!mail.has_flag(Flag::NestingTooDeep));
}

#[test]
fn thousand_deep_attached_messages() {
    let mut raw = String::from(HEAD);
    for _ in 0..1000 {
        raw.push_str("Content-Type: message/rfc822\r\n\r\nSubject: inner\r\n");
    }
    raw.push_str("Content-Type: text/plain\r\n\r\ninnermost\r\n");
    let mail = parse_within(raw.as_bytes(), &Limits::default(), Duration::from_secs(5));
    assert!(mail.has_flag(Flag::NestingTooDeep), "{:?}", mail.flags);
}

#[test]
fn million_empty_parts_are_bounded_by_the_part_limit() {
    let mut raw = String::from(HEAD);
    raw.push_str("Content-Type: multipart/mixed; boundary=\"e\"\r\n\r\n");
    raw.push_str(&"--e\r\n\r\n".repeat(1_000_000));
    raw.push_str("--e--\r\n");
    let mail = parse_within(raw.as_bytes(), &Limits::default(), Duration::from_secs(5));
    assert!(mail.has_flag(Flag::TooManyParts), "{:?}", mail.flags);
    assert!(mail.attachments.len() <= Limits::default().max_parts);
}

#[test]
fn huge_header_section_and_huge_subject() {
    let mut raw = String::from("Message-ID: <h@mail.example>\r\nFrom: a@mail.example\r\n");
    raw.push_str(&"X-Filler: some value that repeats\r\n".repeat(200_000));
    raw.push_str("Subject: ");
    raw.push_str(&"=?utf-8?q?A=0D=0A?= ".repeat(50_000));
    raw.push_str("\r\n\r\nbody\r\n");
    let mail = parse_within(raw.as_bytes(), &Limits::default(), Duration::from_secs(10));
    assert!(mail.has_flag(Flag::HeaderInjection));
    assert_eq!(mail.body.text.trim(), "body");
}

#[test]
fn long_body_is_cut_at_the_body_limit() {
    let mut raw = String::from(HEAD);
    raw.push_str("Content-Type: text/html; charset=utf-8\r\n\r\n");
    raw.push_str(&"<div><p>order #A12001 is late</p></div>\r\n".repeat(200_000));
    let mail = parse_within(raw.as_bytes(), &Limits::default(), Duration::from_secs(20));
    assert!(mail.has_flag(Flag::BodyTruncated));
    assert!(mail.body.html.as_ref().is_some_and(|html| html.len() <= Limits::default().max_body_bytes));
}

#[test]
fn limits_of_zero_do_not_break_parsing() {
    let limits =
        Limits { max_message_bytes: 0, max_attachment_bytes: 0, max_depth: 0, max_parts: 0, max_body_bytes: 0 };
    let mail = parse_within(&mail_with_attachment(1000), &limits, Duration::from_secs(1));
    assert!(mail.has_flag(Flag::NoHeaders));
}

/// Found by the mutation test: a multipart whose part list mail-parser loses track of
/// ("invalid part ID", a debug assertion in mail-parser 0.11.9 that release builds skip). The
/// mail must parse like any other, with the text found.
#[test]
fn duplicated_message_part_header_found_by_mutation() {
    let raw = "Message-ID: <fwd.attach@mail.example>\nFrom: Ian Scott <ian.scott@mail.example>\nSubject: Fwd: Payment declined\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"fwdb\"\n\n--fwdb\nContent-Type: text/plain; charset=utf-8\n\nForwarding the mail I got.\n\n--fwdb\nContent-Type: message/rfc822\nContent-D\n\n--fwdb\nContent-Type: message/rfc822\nContent-Disposition: attachment\n\nMessage-ID: <pay.declined.1@shop.example>\nSubject: Payment declined for order #A10760\n\nYour payment was declined.\n\n--fwdb--\n";
    let mail = parse_within(raw.as_bytes(), &Limits::default(), Duration::from_secs(1));
    assert!(!mail.has_flag(Flag::ParserFailure), "{:?}", mail.flags);
    assert_eq!(mail.body.stripped, "Forwarding the mail I got.");
}
