//! Golden tests for language: `tests/golden/language/cases.csv` holds `text,expected_code`
//! rows (chat lines and longer messages in the shop languages, other scripts, and texts that
//! must be `und`). The test prints the accuracy, split into short and long texts, and every
//! miss, then asserts a floor; add a row for every misdetection reported from production.

use std::path::Path;
use std::time::{Duration, Instant};

use sb_text::language::{detect, LanguageDetector, UNDETERMINED_CODE};

const MIN_CASES: usize = 30;

/// Below this the detector is not fit for routing. Long texts must do much better than short
/// ones, whose confidence is lowered precisely because they are often wrong.
const MIN_ACCURACY: f64 = 0.9;
const MIN_LONG_TEXT_ACCURACY: f64 = 0.95;

/// Must match the threshold in `language.rs` (texts with fewer letters are "short").
const SHORT_TEXT_LETTERS: usize = 25;

struct LanguageCase {
    text: String,
    expected_code: String,
}

fn load_cases() -> Vec<LanguageCase> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/language/cases.csv");
    let mut reader = csv::Reader::from_path(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    reader
        .records()
        .map(|record| {
            let record = record.expect("valid csv row");
            LanguageCase { text: record[0].to_owned(), expected_code: record[1].to_owned() }
        })
        .collect()
}

fn n_letters(text: &str) -> usize {
    text.chars().filter(|c| c.is_alphabetic()).count()
}

#[test]
fn language_golden_accuracy() {
    let cases = load_cases();
    assert!(cases.len() >= MIN_CASES, "only {} language cases", cases.len());
    let (mut n_short, mut n_short_correct, mut n_long, mut n_long_correct) = (0usize, 0usize, 0usize, 0usize);
    let mut misses = Vec::new();
    let started = Instant::now();
    for case in &cases {
        let detected = detect(&case.text);
        assert!((0.0..=1.0).contains(&detected.confidence), "{:?}: confidence {}", case.text, detected.confidence);
        if detected.code == UNDETERMINED_CODE {
            assert_eq!(detected.confidence, 0.0, "{:?}: und must have confidence 0", case.text);
        }
        let is_correct = detected.code == case.expected_code;
        if n_letters(&case.text) < SHORT_TEXT_LETTERS {
            n_short += 1;
            n_short_correct += usize::from(is_correct);
        } else {
            n_long += 1;
            n_long_correct += usize::from(is_correct);
        }
        if !is_correct {
            misses.push(format!(
                "  {:?}: expected {}, got {} ({:.2})",
                case.text, case.expected_code, detected.code, detected.confidence
            ));
        }
    }
    let per_text = started.elapsed() / cases.len() as u32;
    let ratio = |correct: usize, total: usize| if total == 0 { 1.0 } else { correct as f64 / total as f64 };
    let accuracy = ratio(n_short_correct + n_long_correct, n_short + n_long);
    let short_accuracy = ratio(n_short_correct, n_short);
    let long_accuracy = ratio(n_long_correct, n_long);
    eprintln!(
        "language accuracy: {:.1}% of {} cases (short texts {:.1}% of {}, long texts {:.1}% of {})",
        accuracy * 100.0,
        cases.len(),
        short_accuracy * 100.0,
        n_short,
        long_accuracy * 100.0,
        n_long
    );
    eprintln!("language detection: {per_text:?} per text");
    for miss in &misses {
        eprintln!("{miss}");
    }
    // Generous: catches a per-call regex compile or detector rebuild, not ordinary noise.
    assert!(per_text < Duration::from_millis(2), "language detection takes {per_text:?} per text");
    assert!(accuracy >= MIN_ACCURACY, "accuracy {accuracy:.3} below {MIN_ACCURACY}");
    assert!(
        long_accuracy >= MIN_LONG_TEXT_ACCURACY,
        "long-text accuracy {long_accuracy:.3} below {MIN_LONG_TEXT_ACCURACY}"
    );
}

#[test]
fn short_texts_are_less_confident_than_long_ones() {
    let short = detect("où est ma commande ?");
    let long = detect(
        "Bonjour, j'ai passé commande la semaine dernière et je n'ai toujours rien reçu. Pouvez-vous me dire où en est ma livraison ?",
    );
    assert_eq!((short.code.as_str(), long.code.as_str()), ("fr", "fr"));
    assert!(short.confidence < long.confidence, "short {} vs long {}", short.confidence, long.confidence);
    assert!(short.confidence > 0.0);
}

#[test]
fn custom_allow_list_changes_short_text_candidates() {
    // The same Scandinavian chat line is Swedish when only Swedish is allowed and Danish when
    // only Danish is: on short text the allow-list decides.
    let chat_line = "hej, min pakke";
    assert_eq!(LanguageDetector::new(&["sv"]).detect(chat_line).code, "sv");
    assert_eq!(LanguageDetector::new(&["da"]).detect(chat_line).code, "da");
}

#[test]
fn empty_allow_list_means_all_languages() {
    let detector = LanguageDetector::new(&[]);
    assert!(detector.allowed_codes().is_empty());
    let text = "Dobrý den, moje objednávka stále nedorazila. Můžete mi prosím sdělit, kde se zásilka nachází?";
    assert_eq!(detector.detect(text).code, "cs");
}

#[test]
fn detect_never_panics_on_odd_input() {
    let odd_inputs = [
        String::new(),
        "\u{0}\u{0}\u{0}".to_owned(),
        "\u{301}".repeat(100),
        "ﷺ".repeat(10),
        "a".repeat(1_000_000),
        "é".repeat(5_000), // truncation must land on a character boundary
        "🙂 ok 🙂".to_owned(),
    ];
    for input in &odd_inputs {
        let detected = detect(input);
        assert!((0.0..=1.0).contains(&detected.confidence));
        assert!(!detected.code.is_empty());
    }
}
