//! Tests of sentiment analysis, kept as data.
//!
//! - `GOLDEN`: short targeted messages with the label a supervisor would give them, one rule
//!   each (negation, scope, boosters, caps, "!!!", "??", emoji, "but", polite formulas,
//!   customer-service phrases, Spanish, French, German).
//! - `ORDERINGS`: pairs whose labels may agree but whose scores must not, e.g. capitals or
//!   elongation must make a complaint more negative.
//! - The labelled corpora `data/sentiment/dev.csv` (used to tune the lexicon and rules) and
//!   `data/sentiment/test.csv` (held out, evaluated only): accuracy, per-class precision and
//!   recall and the confusion matrix are printed, and accuracy must stay above a floor set
//!   just below what was measured.
//!
//! Labelling guide for the corpora: negative = the customer expresses or reports a bad
//! experience (frustration, complaint, a delivery or product that went wrong, repeated
//! contact); neutral = a question, request or status check with no feeling expressed, even if
//! it mentions a refund or a problem; positive = thanks that mean it, praise, satisfaction.
//! Mixed messages take the label of their main point.

use std::path::PathBuf;
use std::time::Instant;

use sb_domain::SentimentLabel;
use sb_text::sentiment::{analyze, SentimentAnalyzer};

/// `label | message`; `\n` in a message stands for a line break.
const GOLDEN: &str = r#"
# negation and its scope
negative | I am not happy with this at all
negative | My parcel never arrived
negative | It still hasn't arrived
negative | Nobody has answered my emails
negative | I haven't received a reply from anyone
negative | The app doesn't work on my phone
negative | I want my money back
neutral  | My order hasn't arrived yet, can you check?
neutral  | No problem, I can wait until Monday.
neutral  | The new update is not bad.
neutral  | The driver was not rude, just in a hurry
positive | Not bad at all, actually pretty good.
positive | No, the package was perfect
positive | I wasn't sure at first but I love it
positive | no worries at all, thanks for checking!
# boosters and dampeners
negative | I'm very disappointed
negative | The delivery was very slow
neutral  | The delivery was a bit slow
positive | The agent was extremely helpful
positive | Really really good service
# capitals, exclamation and question marks
negative | I am NOT happy
negative | This is UNACCEPTABLE
neutral  | thanks
positive | Thanks!
positive | Thank you SO much!!
neutral  | Where is my order?
negative | Where is my order??
negative | Why was I charged twice?!
# emoji, emoticons and elongation
negative | Order arrived 😡
positive | Order arrived 🙏
positive | got it today :)
negative | still nothing :(
negative | sooo disappointed
positive | thaaaank you soooo much
positive | Love it ❤️
negative | two weeks and counting 🙄
# "but", "although", trailing "though"
negative | The product is great but the delivery was awful
positive | The delivery was late but the product is great
positive | Good product, although delivery took a while.
positive | Happy with it, the box was a bit damaged though.
positive | I had a problem at first. But your team fixed it in minutes, great service.
# polite formulas do not make a message positive, and do not soften a complaint
neutral  | Thanks in advance for your help.
neutral  | Could you send me the invoice? Thank you.
neutral  | Hello,\nI would like to change my delivery address.\nKind regards,\nAnna
negative | The item arrived broken.\nKind regards,\nAnna
negative | I would appreciate an answer, this is the third time I am writing.\nBest regards
neutral  | I would appreciate it if you could confirm the new date.
neutral  | Good morning, is the shop open on Sunday?
# customer-service specifics
negative | Still waiting for my refund
negative | This is the third time I'm contacting you
negative | Worst shop ever
negative | This is ridiculous
negative | Unacceptable.
negative | Thanks for nothing.
negative | I was charged twice for the same order
negative | The tracking says delivered but there is nothing here
negative | I've been on hold for an hour
neutral  | I would like a refund for order 12345.
neutral  | Refund
neutral  | Where is my order
neutral  | I ordered the wrong size, can I exchange it?
neutral  | Please cancel my subscription.
neutral  | Is there a problem with my account?
neutral  | Can you resend the tracking link?
positive | Problem solved, thank you!
positive | The parcel arrived right on time, thanks a lot
# Spanish
negative | Muy mal servicio
negative | No funciona y nadie me contesta
negative | Sigo esperando mi reembolso, es inaceptable
neutral  | ¿Dónde está mi pedido?
neutral  | Quiero cambiar la dirección de envío, gracias de antemano
positive | ¡Muchas gracias, todo perfecto!
positive | Muy amables, lo recomiendo
# French
negative | Je ne suis pas content du tout
negative | Toujours pas reçu mon colis
negative | Le colis est arrivé abîmé
neutral  | Où est ma commande ?
neutral  | Merci de m'envoyer la facture.
positive | Merci beaucoup, c'est parfait
positive | Service impeccable, je recommande
# German
negative | Ich bin nicht zufrieden
negative | Es funktioniert nicht
negative | Die Lieferung ist schon wieder zu spät
neutral  | Das Paket ist noch nicht angekommen, können Sie nachsehen?
neutral  | Wo ist meine Bestellung?
neutral  | Bitte ändern Sie meine Adresse. Vielen Dank im Voraus
positive | Vielen Dank, super Service!
"#;

/// `message A  <  message B`: A must score strictly lower than B.
const ORDERINGS: &str = r#"
I am ANGRY                          < I am angry
The delivery was LATE               < The delivery was late
sooo slow                           < so slow
This is terrible!!!                 < This is terrible
This is terrible!                   < This is terrible
where is my parcel??                < where is my parcel?
very disappointed                   < disappointed
disappointed                        < slightly disappointed
the product is great but the delivery was late < the delivery was late but the product is great
not happy                           < happy
not bad                             < good
bad                                 < not bad
thanks                              < thanks!
thanks                              < thanks a lot
thanks                              < Thank you SO much
It has not arrived                  < It has not arrived yet
still waiting 😡                    < still waiting
"#;

fn parse_label(label: &str) -> SentimentLabel {
    match label.trim() {
        "negative" => SentimentLabel::Negative,
        "neutral" => SentimentLabel::Neutral,
        "positive" => SentimentLabel::Positive,
        other => panic!("unknown label `{other}`"),
    }
}

fn data_lines(table: &str) -> impl Iterator<Item = &str> {
    table
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
}

#[test]
fn sentiment_golden_cases() {
    let mut failures = Vec::new();
    let mut n_cases = 0;
    for line in data_lines(GOLDEN) {
        let (label, message) = line
            .split_once('|')
            .unwrap_or_else(|| panic!("no `|` in `{line}`"));
        let message = message.trim().replace("\\n", "\n");
        let expected = parse_label(label);
        let sentiment = analyze(&message);
        n_cases += 1;
        if sentiment.label != expected {
            failures.push(format!(
                "  {:<8} expected {:<8} score {:+.3}  {message:?}",
                sentiment.label.as_str(),
                expected.as_str(),
                sentiment.score
            ));
        }
    }
    assert!(n_cases >= 80, "golden table has only {n_cases} cases");
    assert!(
        failures.is_empty(),
        "{} of {n_cases} golden cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn sentiment_orderings() {
    let mut failures = Vec::new();
    for line in data_lines(ORDERINGS) {
        let (lower, higher) = line
            .split_once(" < ")
            .unwrap_or_else(|| panic!("no ` < ` in `{line}`"));
        let (lower, higher) = (lower.trim(), higher.trim());
        let (lower_score, higher_score) = (analyze(lower).score, analyze(higher).score);
        if lower_score >= higher_score {
            failures.push(format!(
                "  {lower:?} {lower_score:+.3} should be below {higher:?} {higher_score:+.3}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "orderings failed:\n{}",
        failures.join("\n")
    );
}

struct LabelledMessage {
    text: String,
    label: SentimentLabel,
    language: String,
}

fn read_corpus(file_name: &str) -> Vec<LabelledMessage> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/sentiment")
        .join(file_name);
    let mut reader = csv::Reader::from_path(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    assert_eq!(reader.headers().unwrap(), vec!["text", "label", "language"]);
    reader
        .records()
        .map(|record| {
            let record = record.unwrap();
            LabelledMessage {
                text: record[0].to_string(),
                label: parse_label(&record[1]),
                language: record[2].to_string(),
            }
        })
        .collect()
}

const LABELS: [SentimentLabel; 3] = [
    SentimentLabel::Negative,
    SentimentLabel::Neutral,
    SentimentLabel::Positive,
];

fn label_idx(label: SentimentLabel) -> usize {
    LABELS
        .iter()
        .position(|candidate| *candidate == label)
        .unwrap()
}

/// Evaluates the analyser on a corpus, prints the report and returns the accuracy.
fn evaluate(file_name: &str) -> f64 {
    let corpus = read_corpus(file_name);
    // confusion[expected][predicted]
    let mut confusion = [[0usize; 3]; 3];
    let mut misclassified = Vec::new();
    let mut n_correct_by_language: Vec<(String, usize, usize)> = Vec::new();
    for message in &corpus {
        let sentiment = analyze(&message.text);
        confusion[label_idx(message.label)][label_idx(sentiment.label)] += 1;
        let correct = sentiment.label == message.label;
        match n_correct_by_language
            .iter_mut()
            .find(|(language, _, _)| *language == message.language)
        {
            Some((_, n_correct, n_total)) => {
                *n_correct += usize::from(correct);
                *n_total += 1;
            }
            None => n_correct_by_language.push((message.language.clone(), usize::from(correct), 1)),
        }
        if !correct {
            misclassified.push(format!(
                "  expected {:<8} got {:<8} {:+.3}  {:?}",
                message.label.as_str(),
                sentiment.label.as_str(),
                sentiment.score,
                message.text
            ));
        }
    }
    let n_correct: usize = (0..3).map(|idx| confusion[idx][idx]).sum();
    let accuracy = n_correct as f64 / corpus.len() as f64;
    println!(
        "== sentiment on {file_name}: {} messages, accuracy {:.3} ({n_correct}/{})",
        corpus.len(),
        accuracy,
        corpus.len()
    );
    println!(
        "  {:<9} {:>9} {:>9} {:>9}",
        "class", "precision", "recall", "support"
    );
    for (idx, label) in LABELS.iter().enumerate() {
        let n_predicted: usize = (0..3).map(|expected| confusion[expected][idx]).sum();
        let n_expected: usize = confusion[idx].iter().sum();
        let precision = confusion[idx][idx] as f64 / n_predicted.max(1) as f64;
        let recall = confusion[idx][idx] as f64 / n_expected.max(1) as f64;
        println!(
            "  {:<9} {precision:>9.3} {recall:>9.3} {n_expected:>9}",
            label.as_str()
        );
    }
    println!("  confusion (rows expected, columns predicted): negative neutral positive");
    for (idx, label) in LABELS.iter().enumerate() {
        println!(
            "  {:<9} {:>8} {:>7} {:>8}",
            label.as_str(),
            confusion[idx][0],
            confusion[idx][1],
            confusion[idx][2]
        );
    }
    let by_language: Vec<String> = n_correct_by_language
        .iter()
        .map(|(language, n_correct, n_total)| format!("{language} {n_correct}/{n_total}"))
        .collect();
    println!("  by language: {}", by_language.join(", "));
    println!("  misclassified:\n{}", misclassified.join("\n"));
    accuracy
}

#[test]
fn sentiment_accuracy_on_dev_set() {
    // Tuned on this set (measured 0.990); the floor guards against regressions while the
    // lexicon grows.
    let accuracy = evaluate("dev.csv");
    assert!(
        accuracy >= 0.97,
        "dev accuracy {accuracy:.3} fell below 0.97"
    );
}

#[test]
fn sentiment_accuracy_on_held_out_test_set() {
    // Never tuned on: measured once, at 0.935, when the rules were settled on dev.csv. Its
    // errors are complaints without sentiment words ("It's Friday. Where is it?") and sarcasm.
    let accuracy = evaluate("test.csv");
    assert!(
        accuracy >= 0.92,
        "held-out accuracy {accuracy:.3} fell below 0.92"
    );
}

#[test]
fn sentiment_corpora_have_a_realistic_mix() {
    for file_name in ["dev.csv", "test.csv"] {
        let corpus = read_corpus(file_name);
        assert!(
            corpus.len() >= 200,
            "{file_name} has {} messages",
            corpus.len()
        );
        let share = |label: SentimentLabel| {
            corpus.iter().filter(|m| m.label == label).count() as f64 / corpus.len() as f64
        };
        let non_english =
            corpus.iter().filter(|m| m.language != "en").count() as f64 / corpus.len() as f64;
        assert!(
            (0.35..=0.55).contains(&share(SentimentLabel::Negative)),
            "{file_name}"
        );
        assert!(
            (0.25..=0.45).contains(&share(SentimentLabel::Neutral)),
            "{file_name}"
        );
        assert!(
            (0.12..=0.30).contains(&share(SentimentLabel::Positive)),
            "{file_name}"
        );
        assert!(
            non_english >= 0.10,
            "{file_name}: only {non_english:.2} non-English"
        );
    }
}

#[test]
fn sentiment_fits_the_triage_budget() {
    // Triage has about 1 ms per message for everything; sentiment must be a small part of it
    // even on the longest chat message allowed (5,000 characters), in an unoptimised build.
    let analyzer = SentimentAnalyzer::new();
    let sentence = "I've been waiting for two weeks and still nothing, this is NOT acceptable!!! ";
    let long_message: String = sentence.repeat(5_000 / sentence.len());
    let n_runs = 50;
    let started = Instant::now();
    for _ in 0..n_runs {
        std::hint::black_box(analyzer.analyze(std::hint::black_box(&long_message)));
    }
    let per_long_message = started.elapsed() / n_runs;
    let corpus = read_corpus("dev.csv");
    let started = Instant::now();
    for message in &corpus {
        std::hint::black_box(analyzer.analyze(std::hint::black_box(&message.text)));
    }
    let per_message = started.elapsed() / corpus.len() as u32;
    println!("sentiment: {per_message:?} per dev message, {per_long_message:?} per 5,000-character message");
    assert!(per_message.as_micros() < 500, "{per_message:?} per message");
    assert!(
        per_long_message.as_millis() < 20,
        "{per_long_message:?} per long message"
    );
}
