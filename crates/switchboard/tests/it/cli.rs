//! The CLI as a user drives it: triage output fields, bad input, training and evaluation.
//!
//! Every test shares one cache folder (under cargo's per-target temp dir) so the default model
//! is trained once per test run; MiniLM is switched off to keep the tests about the CLI.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, OnceLock};

pub(crate) fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub(crate) fn cache_dir() -> &'static Path {
    static CACHE: OnceLock<PathBuf> = OnceLock::new();
    CACHE.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("switchboard-cli-cache");
        std::fs::create_dir_all(&dir).unwrap();
        dir
    })
}

pub(crate) fn switchboard(args: &[&str]) -> Output {
    // Serialise the first model build; later calls find the model in the cache.
    static BUILD: Mutex<()> = Mutex::new(());
    let _guard = BUILD.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(args)
        .env("SWITCHBOARD_CACHE", cache_dir())
        .env("SWITCHBOARD_LOG", "warn")
        .current_dir(repo_root())
        .output()
        .expect("the binary starts")
}

/// Builds the TF-IDF default model in the shared cache (once), so servers started by the tests
/// never race to train it.
pub(crate) fn ensure_tfidf_default_model() {
    let output = switchboard(&["default-model", "--no-embeddings"]);
    assert!(output.status.success(), "default-model failed: {}", stderr(&output));
}

pub(crate) fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub(crate) fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub(crate) fn assert_clean_failure(output: &Output, expected_in_stderr: &str) {
    assert_eq!(output.status.code(), Some(1), "exit code (a panic exits 101); stderr: {}", stderr(output));
    assert!(stderr(output).contains(expected_in_stderr), "stderr lacks `{expected_in_stderr}`: {}", stderr(output));
}

#[test]
fn triage_json_has_every_field() {
    let output = switchboard(&["triage", "--json", "--no-embeddings", "--today", "2025-03-14", "Where is my order #A10493? I paid $49.99 last Tuesday, call me at +1 415 555 0132"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let result: Value = serde_json::from_str(stdout(&output).trim()).unwrap();
    for field in ["category", "intent", "confidence", "ranking", "severity", "sentiment", "language", "entities", "pii", "redacted_text", "model", "latency_us"] {
        assert!(result.get(field).is_some(), "missing {field}: {result}");
    }
    assert_eq!(result["intent"], "track_order", "{result}");
    assert_eq!(result["category"], "service_action");
    assert!(result["severity"].is_null());
    assert_eq!(result["ranking"].as_array().unwrap().len(), 3);
    let confidence = result["confidence"].as_f64().unwrap();
    assert!(confidence > 0.0 && confidence <= 1.0);
    let entities = result["entities"].to_string();
    assert!(entities.contains("A10493"), "{entities}");
    assert!(entities.contains("49.99"), "{entities}");
    assert!(entities.contains("2025-03-11"), "last Tuesday before Friday 2025-03-14: {entities}");
    assert!(result["redacted_text"].as_str().unwrap().contains("[PHONE]"), "{result}");
    assert_eq!(result["model"]["features"], serde_json::json!(["tfidf"]));
}

#[test]
fn emergencies_are_urgent_safety_and_figures_of_speech_are_not() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("messages.jsonl");
    std::fs::write(
        &file,
        concat!(
            "{\"text\": \"I want a refund, the cream gave me a rash\"}\n",
            "my son swallowed a button battery from the remote what do I do\n",
            "\n",
            "I'm dying to know where my order is\n",
        ),
    )
    .unwrap();
    let output = switchboard(&["triage", "--json", "--no-embeddings", "--file", file.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let results: Vec<Value> = stdout(&output).lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    assert_eq!(results.len(), 3, "blank lines are skipped, order kept");
    assert_eq!(results[0]["intent"], "adverse_reaction", "{}", results[0]);
    assert_eq!(results[1]["category"], "safety_compliance", "{}", results[1]);
    assert_eq!(results[1]["severity"], "urgent", "{}", results[1]);
    assert_ne!(results[2]["category"], "safety_compliance", "{}", results[2]);
}

#[test]
fn bad_lines_get_error_objects_in_order_and_a_failing_exit() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("messages.txt");
    let mut bytes = b"where is my parcel\n".to_vec();
    bytes.extend_from_slice(b"caf\xe9 invalid utf8\n");
    bytes.extend_from_slice(b"{\"subject\": \"no text\"}\n");
    bytes.extend_from_slice(&vec![b'a'; 10 * 1024 * 1024]);
    bytes.extend_from_slice(b"\n{\"text\": \"   \"}\n");
    std::fs::write(&file, bytes).unwrap();
    let output = switchboard(&["triage", "--json", "--no-embeddings", "--file", file.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let lines: Vec<Value> = stdout(&output).lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    assert_eq!(lines.len(), 5);
    assert_eq!(lines[0]["intent"], "track_order");
    let codes: Vec<&str> = lines[1..].iter().map(|line| line["error"]["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["invalid_utf8", "missing_text", "text_too_long", "empty_text"]);
}

#[test]
fn missing_files_and_columns_say_what_to_do() {
    assert_clean_failure(&switchboard(&["triage", "--file", "/nonexistent/messages.jsonl"]), "cannot open /nonexistent/messages.jsonl");
    assert_clean_failure(&switchboard(&["triage", "  "]), "empty");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("model");
    assert_clean_failure(
        &switchboard(&["train", "--data", "data/taxonomy/train.csv", "--label-col", "nope", "--out", out.to_str().unwrap(), "--no-embeddings"]),
        "no column `nope`",
    );
    assert_clean_failure(
        &switchboard(&["eval", "--train", "/nonexistent.csv", "--test", "data/taxonomy/test.csv", "--no-embeddings"]),
        "cannot read /nonexistent.csv",
    );
}

#[test]
fn train_then_triage_with_the_trained_model() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("train.csv");
    let mut csv = String::from("text,intent\n");
    for round in 0..8 {
        csv.push_str(&format!("where is my parcel number {round},track_order\nmy order {round} has not arrived yet,track_order\n"));
        csv.push_str(&format!("please cancel order {round},cancel_order\nI want to cancel my subscription {round},cancel_order\n"));
    }
    std::fs::write(&data, csv).unwrap();
    let model = dir.path().join("model");
    let output = switchboard(&["train", "--data", data.to_str().unwrap(), "--out", model.to_str().unwrap(), "--no-embeddings"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let output = switchboard(&["triage", "--json", "--model", model.to_str().unwrap(), "--no-embeddings", "cancel my order please"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let result: Value = serde_json::from_str(stdout(&output).trim()).unwrap();
    assert_eq!(result["intent"], "cancel_order");
}

#[test]
fn eval_prints_the_report_and_a_json_last_line() {
    let output = switchboard(&["eval", "--train", "data/taxonomy/train.csv", "--test", "data/taxonomy/test.csv", "--label-col", "category", "--no-embeddings", "--c-grid", "30", "--json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("macro-F1") && text.contains("top confusions"), "{text}");
    let last: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    for field in ["accuracy", "macro_f1", "ece", "train_seconds"] {
        assert!(last[field].is_number(), "{field}: {last}");
    }
    // Category model on our own test split, TF-IDF only, C=30: measured 0.919 accuracy and ECE
    // 0.034 (2026-11-23); the floors sit below that to catch regressions, not noise.
    assert!(last["accuracy"].as_f64().unwrap() >= 0.88, "{last}");
    assert!(last["ece"].as_f64().unwrap() <= 0.06, "{last}");
}
