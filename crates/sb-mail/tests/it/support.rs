//! Shared by the test modules: the corpus folder, its mails, and the context the golden
//! expectations use for the auto-answer decision.

use std::fs;
use std::path::{Path, PathBuf};

use sb_mail::AutoAnswerContext;

pub fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

/// `(name, raw bytes)` of every `tests/corpus/NAME.eml`, sorted by name.
pub fn corpus_mails() -> Vec<(String, Vec<u8>)> {
    let dir = corpus_dir();
    let mut mails: Vec<(String, Vec<u8>)> = fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter_map(|path| {
            let name = path.file_name()?.to_str()?.strip_suffix(".eml")?.to_string();
            let bytes = fs::read(&path).expect("read corpus mail");
            Some((name, bytes))
        })
        .collect();
    mails.sort();
    mails
}

pub fn our_addresses() -> Vec<String> {
    vec!["support@shop.example".to_string(), "@mx.shop.example".to_string()]
}

/// No answers yet to the sender, at most 3 per hour.
pub fn fresh_sender_context(our_addresses: &[String]) -> AutoAnswerContext<'_> {
    AutoAnswerContext { our_addresses, answers_to_sender_last_hour: 0, max_answers_per_sender_per_hour: 3 }
}
