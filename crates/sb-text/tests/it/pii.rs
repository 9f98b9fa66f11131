//! Golden tests for PII detection and redaction: every `tests/golden/pii/NAME.txt` is redacted
//! and the result compared with `NAME.expected.json` beside it, which holds the redacted text
//! and each span with its kind and the original text it covers (for review; the test checks
//! it too). The input is the whole file, byte for byte.
//!
//! An optional `NAME.config.json` sets the phone region, e.g. `{"default_phone_region": "DE"}`;
//! the default is `US`.
//!
//! To accept new output after an intended change, run
//! `UPDATE_EXPECT=1 cargo test -p sb-text --test it pii` and review the diff of the
//! `.expected.json` files like any other code change. A missing expected file is an error
//! unless `UPDATE_EXPECT=1` is set, in which case it is created.

use std::fs;
use std::path::{Path, PathBuf};

use sb_domain::{PiiKind, Redaction};
use sb_text::pii::{apply_redaction, PiiDetector};
use serde::{Deserialize, Serialize};

const MIN_GOLDEN_CASES: usize = 30;

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/pii")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseConfig {
    default_phone_region: String,
}

/// The expected-file format: the redaction plus the text under each span.
#[derive(Serialize)]
struct GoldenRedaction<'a> {
    redacted_text: &'a str,
    spans: Vec<GoldenSpan<'a>>,
}

#[derive(Serialize)]
struct GoldenSpan<'a> {
    kind: PiiKind,
    start: usize,
    end: usize,
    text: &'a str,
}

fn render(text: &str, redaction: &Redaction) -> String {
    let golden = GoldenRedaction {
        redacted_text: &redaction.redacted_text,
        spans: redaction
            .spans
            .iter()
            .map(|pii| GoldenSpan {
                kind: pii.kind,
                start: pii.span.start,
                end: pii.span.end,
                text: &text[pii.span.start..pii.span.end],
            })
            .collect(),
    };
    serde_json::to_string_pretty(&golden).expect("redaction serialises") + "\n"
}

fn case_names(dir: &Path) -> Vec<String> {
    let entries =
        fs::read_dir(dir).unwrap_or_else(|error| panic!("cannot read {}: {error}", dir.display()));
    let mut names: Vec<String> = entries
        .map(|entry| {
            entry
                .expect("directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter_map(|file_name| file_name.strip_suffix(".txt").map(str::to_owned))
        .collect();
    names.sort();
    names
}

#[test]
fn golden_cases() {
    let dir = golden_dir();
    let update = std::env::var_os("UPDATE_EXPECT").is_some_and(|value| value == "1");
    let names = case_names(&dir);
    assert!(
        names.len() >= MIN_GOLDEN_CASES,
        "expected at least {MIN_GOLDEN_CASES} golden cases, found {}",
        names.len()
    );

    let mut failures = Vec::new();
    for name in &names {
        let text = fs::read_to_string(dir.join(format!("{name}.txt"))).expect("input is UTF-8");
        let config_path = dir.join(format!("{name}.config.json"));
        let region = match fs::read_to_string(&config_path) {
            Ok(json) => {
                let config: CaseConfig = serde_json::from_str(&json)
                    .unwrap_or_else(|error| panic!("{}: {error}", config_path.display()));
                config.default_phone_region
            }
            Err(_) => "US".to_owned(),
        };
        let detector = PiiDetector::new(&region).unwrap_or_else(|error| panic!("{name}: {error}"));
        let redaction = detector.redact(&text);
        check_invariants(name, &text, &redaction);

        let actual = render(&text, &redaction);
        let expected_path = dir.join(format!("{name}.expected.json"));
        let expected = fs::read_to_string(&expected_path).ok();
        if expected.as_deref() == Some(actual.as_str()) {
            continue;
        }
        if update {
            fs::write(&expected_path, &actual).expect("write expected file");
            continue;
        }
        match expected {
            Some(expected) => failures.push(format!(
                "{name}:\n--- expected\n{expected}--- actual\n{actual}"
            )),
            None => failures.push(format!(
                "{name}: missing {} (run with UPDATE_EXPECT=1)",
                expected_path.display()
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{} golden case(s) differ:\n\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// What must hold for any input: `redact` agrees with `detect` + `apply_redaction`, spans are
/// sorted, disjoint and on char boundaries, and no placeholder-free PII text survives.
fn check_invariants(name: &str, text: &str, redaction: &Redaction) {
    for pii in &redaction.spans {
        let span = pii.span;
        assert!(
            span.start < span.end && span.end <= text.len(),
            "{name}: bad span {span:?}"
        );
        assert!(
            text.is_char_boundary(span.start) && text.is_char_boundary(span.end),
            "{name}: span {span:?} splits a char"
        );
    }
    for pair in redaction.spans.windows(2) {
        assert!(
            pair[0].span.end <= pair[1].span.start,
            "{name}: spans overlap or are unsorted"
        );
    }
    assert_eq!(
        &apply_redaction(text, &redaction.spans),
        redaction,
        "{name}: redact != apply_redaction(detect)"
    );
    let n_removed: usize = redaction.spans.iter().map(|pii| pii.span.len()).sum();
    let n_added: usize = redaction
        .spans
        .iter()
        .map(|pii| pii.kind.placeholder().len())
        .sum();
    assert_eq!(
        redaction.redacted_text.len(),
        text.len() - n_removed + n_added,
        "{name}: redacted length"
    );
}

#[test]
fn order_and_tracking_numbers_survive_redaction() {
    let detector = PiiDetector::new("US").expect("known region");
    let text = "Order #4155552671 shipped with UPS 1Z4F82X70312345675; my cell is 415-555-2671.";
    assert_eq!(
        detector.redact(text).redacted_text,
        "Order #4155552671 shipped with UPS 1Z4F82X70312345675; my cell is [PHONE]."
    );
}

#[test]
fn huge_and_hostile_inputs_do_not_panic() {
    let detector = PiiDetector::new("GB").expect("known region");
    let chunk = "naïve 😀 jane@example.org, 221B Baker Street, GB15 MIDL 4005 1512 3456 78, \
                 4539 1488 0343 6467, AB 12 34 56 C, +44 20 7946 0958 \u{200d}\u{0}\n";
    let mut text = String::new();
    while text.len() < 10 * 1024 * 1024 {
        text.push_str(chunk);
    }
    let redaction = detector.redact(&text);
    check_invariants("huge", &text, &redaction);
    assert!(
        redaction.spans.len() > 100_000,
        "found only {} spans",
        redaction.spans.len()
    );
    for hostile in [
        "",
        "\u{0}",
        "@",
        "@@@@",
        "+",
        "+++(((",
        "1Z",
        "DE89",
        "٣٣٣-٣٣-٣٣٣٣",
    ] {
        check_invariants(hostile, hostile, &detector.redact(hostile));
    }
}
