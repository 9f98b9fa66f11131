//! Fuzz target: any bytes through the whole pure mail path (parse, threading keys, the
//! auto-answer decision). Nothing may panic, and the parse must keep its invariants.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sb_mail::{auto_answer_allowed, parse, thread_keys, AutoAnswerContext, Flag, Limits};

fuzz_target!(|raw: &[u8]| {
    // Small limits so the fuzzer reaches the limit paths with small inputs.
    let limits = Limits {
        max_message_bytes: 64 << 10,
        max_attachment_bytes: 1 << 10,
        max_depth: 8,
        max_parts: 32,
        max_body_bytes: 8 << 10,
    };
    let mail = parse(raw, &limits);
    let keys = thread_keys(&mail);
    let our_addresses = vec!["support@shop.example".to_string(), "@shop.example".to_string()];
    let context = AutoAnswerContext {
        our_addresses: &our_addresses,
        answers_to_sender_last_hour: 1,
        max_answers_per_sender_per_hour: 3,
    };
    let _ = auto_answer_allowed(&mail, &context);

    assert_eq!(mail.raw_size, raw.len());
    if mail.message_id.is_none() {
        assert!(mail.has_flag(Flag::MissingMessageId));
    }
    for text in mail.subject.iter().chain(keys.message_ids.iter()) {
        assert!(!text.contains(['\r', '\n']), "CR/LF left in a header value");
    }
    for attachment in &mail.attachments {
        assert_eq!(attachment.content.is_none(), attachment.over_size_cap);
    }
});
