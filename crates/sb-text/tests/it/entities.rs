//! Golden tests for entity extraction: every `tests/golden/entities/NAME.txt` is extracted with
//! today = 2025-03-14 (a Friday) and the result, as pretty JSON, compared with
//! `NAME.expected.json` beside it. The input is the whole file, byte for byte (including a
//! final newline if the file has one), so spans in the expected file index that text.
//!
//! An optional `NAME.config.json` holds the [`EntityConfig`] for that case (missing fields take
//! their defaults), e.g. `{"default_phone_region": "DE"}`; otherwise the default config is used.
//!
//! To accept new output after an intended change, run
//! `UPDATE_EXPECT=1 cargo test -p sb-text --test it entities` and review the diff of the
//! `.expected.json` files like any other code change. A missing expected file is an error
//! unless `UPDATE_EXPECT=1` is set, in which case it is created.

use std::fs;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use sb_domain::{Entity, EntityKind, EntityValue};
use sb_text::entities::{EntityConfig, EntityExtractor};

const MIN_GOLDEN_CASES: usize = 40;

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/entities")
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 3, 14).expect("valid date")
}

fn default_extractor() -> EntityExtractor {
    EntityExtractor::new(&EntityConfig::default()).expect("default config is valid")
}

/// Names of the golden cases (`NAME` of each `NAME.txt`), sorted.
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
        let config: EntityConfig = match fs::read_to_string(&config_path) {
            Ok(json) => serde_json::from_str(&json)
                .unwrap_or_else(|error| panic!("{}: {error}", config_path.display())),
            Err(_) => EntityConfig::default(),
        };
        let extractor =
            EntityExtractor::new(&config).unwrap_or_else(|error| panic!("{name}: {error}"));
        let entities = extractor.extract(&text, today());
        check_invariants(name, &text, &entities);

        let actual = serde_json::to_string_pretty(&entities).expect("entities serialise") + "\n";
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

/// What must hold for any input: spans on char boundaries matching the text, sorted, disjoint.
fn check_invariants(name: &str, text: &str, entities: &[Entity]) {
    for entity in entities {
        let span = entity.span;
        assert!(
            span.start < span.end && span.end <= text.len(),
            "{name}: bad span {span:?}"
        );
        assert!(
            text.is_char_boundary(span.start) && text.is_char_boundary(span.end),
            "{name}: span {span:?} splits a char"
        );
        assert_eq!(
            &text[span.start..span.end],
            entity.text,
            "{name}: text does not match span"
        );
    }
    for pair in entities.windows(2) {
        assert!(
            pair[0].span.end <= pair[1].span.start,
            "{name}: {:?} and {:?} overlap or are unsorted",
            pair[0].span,
            pair[1].span
        );
    }
}

#[test]
fn tracking_number_is_not_also_an_order_or_phone() {
    let entities = default_extractor().extract("My DHL order 5550123456 hasn't moved", today());
    let kinds: Vec<EntityKind> = entities.iter().map(|entity| entity.kind).collect();
    // "order 5550123456" matches the order pattern and 555-012-3456 could be a phone; the
    // checksummed DHL waybill is the most specific reading.
    assert_eq!(kinds, vec![EntityKind::TrackingNumber]);
}

#[test]
fn wrong_ups_check_digit_is_reported_as_invalid() {
    let entities = default_extractor().extract("1Z4F82X70312345674", today());
    assert_eq!(entities.len(), 1);
    assert_eq!(
        entities[0].value,
        EntityValue::TrackingNumber {
            number: "1Z4F82X70312345674".to_owned(),
            carrier: sb_domain::Carrier::Ups,
            check_digit_valid: Some(false),
        }
    );
}

#[test]
fn huge_and_hostile_inputs_do_not_panic() {
    let extractor = default_extractor();
    let chunk = "héllo 😀 order #A10493 paid €49,99 on 14/03/2025, call +1 415 555 2671 or mail a@b.co; \
                 1Z4F82X70312345675 9400 1118 9922 3857 3912 22 4539 1488 0343 6467 \u{200d}\u{0}\n";
    let mut text = String::new();
    while text.len() < 10 * 1024 * 1024 {
        text.push_str(chunk);
    }
    let entities = extractor.extract(&text, today());
    check_invariants("huge", &text, &entities);
    assert!(
        entities.len() > 100_000,
        "found only {} entities",
        entities.len()
    );

    let digits_only = "1".repeat(1024 * 1024);
    assert!(extractor.extract(&digits_only, today()).is_empty());
    let separators = "1-".repeat(512 * 1024);
    check_invariants(
        "separators",
        &separators,
        &extractor.extract(&separators, today()),
    );
}
