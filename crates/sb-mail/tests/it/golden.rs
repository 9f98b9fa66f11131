//! The golden corpus: every `tests/corpus/NAME.eml` is parsed with the default limits, and a
//! readable summary of the result (ids, addresses, customer, subject, bodies, attachments,
//! auto-reply and bounce signals, flags, threading keys, the auto-answer decision) is compared
//! with `NAME.json` beside it.
//!
//! The mails are written by `tests/make_corpus.py`. To accept new output after an intended
//! change, run `UPDATE_EXPECT=1 cargo test -p sb-mail --test it golden` and review the diff of
//! the `.json` files like any other code change. A missing expectation is an error unless
//! `UPDATE_EXPECT=1` is set, in which case it is created.

use std::fs;

use sb_mail::{
    auto_answer_allowed, parse, thread_keys, AutoSignal, BodySource, Bounce, Flag, Limits, Mailbox, ParsedMail,
    ThreadKeys,
};
use serde::Serialize;

use crate::support::{corpus_dir, corpus_mails, fresh_sender_context, our_addresses};

const MIN_GOLDEN_CASES: usize = 60;
/// Body text longer than this is cut in the summary (the count of characters is kept).
const MAX_SUMMARY_BODY_CHARS: usize = 1500;
/// Attachments listed in the summary (the total is kept).
const MAX_SUMMARY_ATTACHMENTS: usize = 12;

fn is_false(value: &bool) -> bool {
    !*value
}

#[derive(Serialize)]
struct Summary<'m> {
    #[serde(skip_serializing_if = "Option::is_none")]
    message_id: Option<&'m str>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    in_reply_to: &'m [String],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    references: &'m [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    date: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    from: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sender: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    reply_to: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    to: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    cc: Vec<String>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    delivered_to: &'m [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    customer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<&'m str>,
    body_source: BodySource,
    body_text_chars: usize,
    body_text: String,
    body_stripped: String,
    #[serde(skip_serializing_if = "is_false")]
    has_html: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    attachments: Vec<AttachmentSummary<'m>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attachments_total: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    list_id: Option<&'m str>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    auto_signals: &'m [AutoSignal],
    #[serde(skip_serializing_if = "Option::is_none")]
    bounce: Option<&'m Bounce>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    flags: &'m [Flag],
    thread_keys: ThreadKeys,
    auto_answer: String,
}

#[derive(Serialize)]
struct AttachmentSummary<'m> {
    #[serde(skip_serializing_if = "Option::is_none")]
    filename: Option<&'m str>,
    content_type: &'m str,
    size: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_id: Option<&'m str>,
    inline: bool,
    content_kept: bool,
    #[serde(skip_serializing_if = "is_false")]
    over_size_cap: bool,
}

fn mailbox_label(mailbox: &Mailbox) -> String {
    match &mailbox.name {
        Some(name) => format!("{name} <{}>", mailbox.address),
        None => mailbox.address.clone(),
    }
}

fn cut_chars(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((cut_idx, _)) => format!("{}…", &text[..cut_idx]),
        None => text.to_string(),
    }
}

fn summarize(mail: &ParsedMail) -> Summary<'_> {
    let our_addresses = our_addresses();
    let auto_answer = match auto_answer_allowed(mail, &fresh_sender_context(&our_addresses)) {
        Ok(()) => "allowed".to_string(),
        Err(refusal) => format!("refused: {refusal}"),
    };
    let attachments_total = (mail.attachments.len() > MAX_SUMMARY_ATTACHMENTS).then_some(mail.attachments.len());
    Summary {
        message_id: mail.message_id.as_deref(),
        in_reply_to: &mail.in_reply_to,
        references: &mail.references,
        date: mail.date.map(|date| date.to_rfc3339()),
        from: mail.from.iter().map(mailbox_label).collect(),
        sender: mail.sender.as_ref().map(mailbox_label),
        reply_to: mail.reply_to.iter().map(mailbox_label).collect(),
        to: mail.to.iter().map(mailbox_label).collect(),
        cc: mail.cc.iter().map(mailbox_label).collect(),
        delivered_to: &mail.delivered_to,
        customer: mail.customer.as_ref().map(|customer| {
            let source = serde_json::to_value(customer.source).expect("source serialises");
            format!("{} via {}", mailbox_label(&customer.mailbox), source.as_str().unwrap_or_default())
        }),
        subject: mail.subject.as_deref(),
        body_source: mail.body_source,
        body_text_chars: mail.body.text.chars().count(),
        body_text: cut_chars(&mail.body.text, MAX_SUMMARY_BODY_CHARS),
        body_stripped: cut_chars(&mail.body.stripped, MAX_SUMMARY_BODY_CHARS),
        has_html: mail.body.html.is_some(),
        attachments: mail
            .attachments
            .iter()
            .take(MAX_SUMMARY_ATTACHMENTS)
            .map(|attachment| AttachmentSummary {
                filename: attachment.filename.as_deref(),
                content_type: &attachment.content_type,
                size: attachment.size,
                content_id: attachment.content_id.as_deref(),
                inline: attachment.inline,
                content_kept: attachment.content.is_some(),
                over_size_cap: attachment.over_size_cap,
            })
            .collect(),
        attachments_total,
        list_id: mail.list_id.as_deref(),
        auto_signals: &mail.auto_signals,
        bounce: mail.bounce.as_ref(),
        flags: &mail.flags,
        thread_keys: thread_keys(mail),
        auto_answer,
    }
}

#[test]
fn golden_corpus() {
    let dir = corpus_dir();
    let update = std::env::var_os("UPDATE_EXPECT").is_some_and(|value| value == "1");
    let mails = corpus_mails();
    assert!(
        mails.len() >= MIN_GOLDEN_CASES,
        "expected at least {MIN_GOLDEN_CASES} corpus mails, found {}",
        mails.len()
    );

    let limits = Limits::default();
    let mut failures = Vec::new();
    for (name, raw) in &mails {
        let mail = parse(raw, &limits);
        check_invariants(name, raw, &mail);
        let actual = serde_json::to_string_pretty(&summarize(&mail)).expect("summary serialises") + "\n";
        let expected_path = dir.join(format!("{name}.json"));
        let expected = fs::read_to_string(&expected_path).ok();
        if expected.as_deref() == Some(actual.as_str()) {
            continue;
        }
        if update {
            fs::write(&expected_path, &actual).expect("write expected file");
            continue;
        }
        match expected {
            Some(expected) => failures.push(format!("{name}:\n--- expected\n{expected}--- actual\n{actual}")),
            None => failures.push(format!("{name}: missing {} (run with UPDATE_EXPECT=1)", expected_path.display())),
        }
    }
    // An expectation without its mail is a leftover from a renamed or removed case.
    for entry in fs::read_dir(&dir).expect("read corpus dir") {
        let path = entry.expect("directory entry").path();
        let Some(name) = path.file_name().and_then(|name| name.to_str()).and_then(|name| name.strip_suffix(".json"))
        else {
            continue;
        };
        if !mails.iter().any(|(mail_name, _)| mail_name == name) {
            failures.push(format!("{name}.json has no {name}.eml"));
        }
    }
    assert!(failures.is_empty(), "{} golden case(s) differ:\n\n{}", failures.len(), failures.join("\n"));
}

/// What must hold for every mail, whatever the expectation file says.
fn check_invariants(name: &str, raw: &[u8], mail: &ParsedMail) {
    assert_eq!(mail.raw_size, raw.len(), "{name}: raw size");
    let mut sorted_flags = mail.flags.clone();
    sorted_flags.sort();
    sorted_flags.dedup();
    assert_eq!(sorted_flags, mail.flags, "{name}: flags sorted and unique");
    let header_texts = mail
        .subject
        .iter()
        .chain(mail.message_id.iter())
        .chain(mail.in_reply_to.iter())
        .chain(mail.references.iter())
        .chain(
            mail.from
                .iter()
                .chain(&mail.to)
                .chain(&mail.cc)
                .chain(&mail.reply_to)
                .flat_map(|mailbox| std::iter::once(&mailbox.address).chain(mailbox.name.iter())),
        );
    for text in header_texts {
        assert!(!text.contains(['\r', '\n', '\0']), "{name}: header value with CR/LF/NUL: {text:?}");
    }
    if mail.message_id.is_none() {
        assert!(mail.has_flag(Flag::MissingMessageId), "{name}: no id but not flagged");
    }
    if mail.body.text.trim().is_empty() {
        assert!(mail.has_flag(Flag::NoTextBody), "{name}: empty body but not flagged");
    }
    if !mail.body.text.trim().is_empty() {
        assert!(!mail.body.stripped.is_empty(), "{name}: stripping emptied a body with content");
    }
    for attachment in &mail.attachments {
        assert_eq!(attachment.content.is_none(), attachment.over_size_cap, "{name}: content kept iff within the cap");
        if let Some(content) = &attachment.content {
            assert_eq!(content.len(), attachment.size, "{name}: attachment size");
        }
    }
}
