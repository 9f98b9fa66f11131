//! Golden tests for normalize: every input under `tests/golden/normalize/` is run through
//! [`normalize`] and compared with the `NAME.expected.txt` beside it.
//!
//! Input files, by suffix:
//! - `NAME.input.txt`: a plain-text chat message (normalisation only, no email stripping);
//! - `NAME.eml.txt`: a plain-text email body;
//! - `NAME.html`: an HTML email body;
//! - optional `NAME.subject.txt`: the email's subject (first line), for forward detection.
//!
//! To accept new output after an intended change, run
//! `UPDATE_EXPECT=1 cargo test -p sb-text --test it normalize` and review the diff of the
//! `.expected.txt` files like any other code change. A missing expected file is an error
//! unless `UPDATE_EXPECT=1` is set, in which case it is created.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sb_domain::{Channel, InboundMessage};
use sb_text::normalize::{normalize, normalize_text};
use unicode_normalization::is_nfc;

const MIN_GOLDEN_CASES: usize = 25;

struct GoldenCase {
    name: String,
    message: InboundMessage,
    expected_path: PathBuf,
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/normalize")
}

fn load_cases() -> Vec<GoldenCase> {
    let dir = golden_dir();
    let mut cases = Vec::new();
    let entries = fs::read_dir(&dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        let file_name = path.file_name().and_then(|n| n.to_str()).expect("utf-8 file name").to_owned();
        let (name, channel, body_is_html) = if let Some(name) = file_name.strip_suffix(".input.txt") {
            (name, Channel::Chat, false)
        } else if let Some(name) = file_name.strip_suffix(".eml.txt") {
            (name, Channel::Email, false)
        } else if let Some(name) = file_name.strip_suffix(".html") {
            (name, Channel::Email, true)
        } else {
            continue;
        };
        let body = fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let subject_path = dir.join(format!("{name}.subject.txt"));
        let subject = fs::read_to_string(&subject_path).ok().map(|s| s.lines().next().unwrap_or("").to_owned());
        cases.push(GoldenCase {
            name: name.to_owned(),
            message: InboundMessage { channel, subject, body, body_is_html },
            expected_path: dir.join(format!("{name}.expected.txt")),
        });
    }
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    cases
}

/// Expected files end with a newline (POSIX text files); the normalised text never does.
fn as_file_content(normalized: &str) -> String {
    format!("{normalized}\n")
}

#[test]
fn normalize_golden_cases() {
    let cases = load_cases();
    assert!(cases.len() >= MIN_GOLDEN_CASES, "only {} golden cases found in {}", cases.len(), golden_dir().display());
    let update_expect = std::env::var_os("UPDATE_EXPECT").is_some_and(|v| v == "1");
    let mut failures = Vec::new();
    for case in &cases {
        let actual = as_file_content(&normalize(&case.message));
        let expected = fs::read_to_string(&case.expected_path).ok();
        if expected.as_deref() == Some(actual.as_str()) {
            continue;
        }
        if update_expect {
            fs::write(&case.expected_path, &actual).expect("write expected file");
            eprintln!("updated {}", case.expected_path.display());
            continue;
        }
        failures.push(match expected {
            Some(expected) => format!("--- {}: expected\n{expected}--- actual\n{actual}", case.name),
            None => format!("--- {}: missing {}\n--- actual\n{actual}", case.name, case.expected_path.display()),
        });
    }
    eprintln!("normalize golden: {} cases, {} failures", cases.len(), failures.len());
    assert!(
        failures.is_empty(),
        "{} of {} golden cases differ (UPDATE_EXPECT=1 to accept):\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn normalize_output_invariants_hold_on_golden_inputs() {
    for case in load_cases() {
        let normalized = normalize(&case.message);
        let name = &case.name;
        assert!(is_nfc(&normalized), "{name}: output is not NFC");
        assert!(!normalized.contains('\r'), "{name}: output has a carriage return");
        assert!(!normalized.contains('\u{200B}') && !normalized.contains('\u{FEFF}'), "{name}: zero-width left");
        assert!(!normalized.contains("\n\n\n"), "{name}: more than one blank line in a row");
        assert_eq!(normalized.trim(), normalized, "{name}: output is not trimmed");
        assert_eq!(normalize_text(&normalized), normalized, "{name}: normalize_text is not idempotent");
        let input_has_content = !normalize_text(&case.message.body).is_empty();
        assert_eq!(!normalized.is_empty(), input_has_content, "{name}: empty output for non-empty input or vice versa");
    }
}

#[test]
fn normalize_is_fast_on_golden_inputs() {
    let cases = load_cases();
    // Warm up the lazily compiled regexes so the measurement is of steady-state work.
    for case in &cases {
        normalize(&case.message);
    }
    let n_rounds = 20;
    let started = Instant::now();
    for _ in 0..n_rounds {
        for case in &cases {
            std::hint::black_box(normalize(&case.message));
        }
    }
    let per_message = started.elapsed() / (n_rounds * cases.len()) as u32;
    eprintln!("normalize: {per_message:?} per golden message");
    // The triage budget is ~1 ms per message for everything; this generous ceiling only
    // catches accidental blow-ups (a regex compiled per call, a quadratic loop).
    assert!(per_message < Duration::from_millis(5), "normalize takes {per_message:?} per message");
}

#[test]
fn subject_is_not_prepended_to_the_body() {
    let message = InboundMessage {
        channel: Channel::Email,
        subject: Some("Order A10493 missing".to_owned()),
        body: "Hello, where is my parcel?".to_owned(),
        body_is_html: false,
    };
    assert_eq!(normalize(&message), "Hello, where is my parcel?");
}

#[test]
fn chat_messages_are_not_stripped_like_email() {
    // A chat line starting with ">" or ending with "Thanks,\nName" is the customer's own text.
    let message = InboundMessage::chat("> is this in stock?\nThanks,\nAnna");
    assert_eq!(normalize(&message), "> is this in stock?\nThanks,\nAnna");
}
