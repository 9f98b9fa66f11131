//! The gates end to end: training picks thresholds on out-of-fold scores, the model directory
//! records them, and the engine's decisions follow the rules and the gates.

use chrono::NaiveDate;
use sb_classify::TrainConfig;
use sb_domain::InboundMessage;
use sb_triage::{ModelInput, TriageConfig, TriageCorpus, TriageEngine, TriageManifest, TriageTrainConfig};
use std::sync::OnceLock;

/// A small corpus: three everyday intents and the three safety intents, each phrased a few
/// ways with varying details so the folds differ.
fn corpus_rows() -> Vec<(String, &'static str, &'static str)> {
    let templates: &[(&str, &str, &[&str])] = &[
        ("track_order", "", &["where is my parcel {n}", "order {n} has not arrived yet", "tracking for order {n} has not moved", "when will order {n} be delivered"]),
        ("return_refund", "", &["I want to return order {n} for a refund", "how do I send back item {n}", "refund for return {n} still missing", "please send a return label for order {n}"]),
        ("account_update", "", &["I can't log in to my account {n}", "change the email on account {n}", "password reset for account {n} never arrives", "update the phone number on account {n}"]),
        ("adverse_reaction", "high", &["the cream {n} gave me a rash", "itchy red skin after using lotion {n}", "my lips are sore and blistered after balm {n}", "headache and nausea after vitamin {n}"]),
        ("product_hazard", "high", &["charger {n} sparked and smells of burning", "found glass in jar {n}", "heater {n} overheated and melted the plug", "mould inside the sealed pack {n}"]),
        ("privacy_request", "standard", &["please delete my personal data, customer {n}", "send me a copy of the data you hold about me, ref {n}", "GDPR erasure request for account {n}", "stop sharing my data with third parties, customer {n}"]),
    ];
    let mut rows = Vec::new();
    for n in 0..5 {
        for (intent, severity, phrasings) in templates {
            for phrasing in phrasings.iter() {
                rows.push((phrasing.replace("{n}", &(100 + n * 37).to_string()), *intent, *severity));
            }
        }
    }
    rows
}

fn engine() -> &'static (TriageEngine, tempfile::TempDir) {
    static ENGINE: OnceLock<(TriageEngine, tempfile::TempDir)> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let rows = corpus_rows();
        let corpus = TriageCorpus {
            texts: rows.iter().map(|(text, ..)| text.as_str()).collect(),
            intents: rows.iter().map(|(_, intent, _)| *intent).collect(),
            severities: Some(rows.iter().map(|(.., severity)| *severity).collect()),
            embeddings: None,
        };
        let intent_config = TrainConfig { c_grid: vec![10.0], ..TrainConfig::default() };
        let trained = sb_triage::train::train(&corpus, &TriageTrainConfig::new(intent_config), &|_| {}).expect("the small corpus trains");
        let dir = tempfile::tempdir().unwrap();
        trained.save(dir.path()).unwrap();
        let engine = TriageEngine::load(dir.path(), None, TriageConfig::default()).unwrap();
        (engine, dir)
    })
}

/// `expected` is `category/intent` or `category/intent/severity`; an intent of `*` accepts any.
fn check(text: &str, expected: &str) {
    let today = NaiveDate::from_ymd_opt(2025, 3, 14).unwrap();
    let result = engine().0.triage(&InboundMessage::chat(text), today).unwrap();
    let mut found = format!("{}/{}", result.category.as_str(), result.intent.as_str());
    if let Some(severity) = result.severity {
        found.push('/');
        found.push_str(severity.as_str());
    }
    let expected = expected.replace("/*/", &format!("/{}/", result.intent.as_str()));
    assert_eq!(found, expected, "{text} (override: {:?})", result.safety_override);
}

#[test]
fn the_model_directory_records_how_it_was_trained() {
    let (engine, dir) = engine();
    let manifest = TriageManifest::load(dir.path()).unwrap().expect("a manifest");
    assert_eq!(manifest.models_read, ModelInput::MarkedText);
    let safety_gate = engine.safety_gate().expect("a safety gate");
    assert!(safety_gate.threshold > 0.0 && safety_gate.threshold < 1.0, "{safety_gate:?}");
    assert!(safety_gate.out_of_fold_recall >= safety_gate.target_recall, "{safety_gate:?}");
    assert_eq!(safety_gate.n_positive + safety_gate.n_negative, corpus_rows().len());
    let urgent_gate = engine.urgent_gate();
    assert!(urgent_gate.is_none(), "the corpus has no urgent rows, so no urgent gate: {urgent_gate:?}");
}

#[test]
fn everyday_messages_stay_out_of_the_safety_queue() {
    check("where is my parcel 555", "service_action/track_order");
    check("how do I send back item 912", "service_action/return_refund");
    check("I'm dying to know where my parcel is", "service_action/track_order");
}

#[test]
fn safety_messages_reach_the_safety_queue() {
    check("the lotion gave me an itchy rash", "safety_compliance/adverse_reaction/high");
    check("please delete my personal data", "safety_compliance/privacy_request/standard");
}

#[test]
fn emergencies_are_urgent_in_four_languages() {
    // Emergency phrases choose between the two harm intents by the model; the queue and the
    // severity are the rules' call.
    check("my son swallowed a button battery", "safety_compliance/*/urgent");
    check("mi hijo se ha tragado una pila de botón", "safety_compliance/*/urgent");
    check("mon fils a avalé une pile bouton", "safety_compliance/*/urgent");
    check("mein Sohn hat eine Knopfzelle verschluckt", "safety_compliance/*/urgent");
}
