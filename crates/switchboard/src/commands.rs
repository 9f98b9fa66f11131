//! The CLI commands: triage, train, eval and eval-triage.

use crate::data::read_labelled_csv;
use crate::models::{self, load_embedder};
use anyhow::{bail, Context, Result};
use clap::Args;
use sb_classify::{evaluate, Scored, TrainConfig};
use sb_domain::{Channel, InboundMessage, TriageResult};
use sb_triage::{TriageConfig, TriageEngine};
use serde_json::json;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

/// Longest message the CLI accepts, in characters; longer input is refused, not truncated,
/// so nobody triages half a message without knowing.
const MAX_MESSAGE_CHARS: usize = 20_000;

#[derive(Args)]
pub struct TriageArgs {
    /// The message text (omit with --file).
    text: Option<String>,
    /// A file with one message a line: `{"text": …, "subject": …, "channel": …}` or plain text.
    #[arg(long, conflicts_with = "text")]
    file: Option<PathBuf>,
    /// One JSON object a line, in input order.
    #[arg(long)]
    json: bool,
    /// A triage model directory (default: the built-in taxonomy model, built on first use).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Do not load MiniLM even if present.
    #[arg(long)]
    no_embeddings: bool,
    /// Reference date for relative dates such as "last Tuesday" (default: today).
    #[arg(long)]
    today: Option<chrono::NaiveDate>,
    /// Channel of the messages (email bodies get quoted history and signatures stripped).
    #[arg(long, default_value = "chat")]
    channel: String,
}

fn parse_channel(name: &str) -> Result<Channel> {
    match Channel::parse(name) {
        Some(channel) => Ok(channel),
        None => bail!("unknown channel `{name}`: use email, chat, voice, api or sms"),
    }
}

fn load_engine(model: Option<PathBuf>, no_embeddings: bool) -> Result<TriageEngine> {
    let embedder = load_embedder(no_embeddings)?;
    let dir = match model {
        Some(dir) => dir,
        None => models::ensure_default_model(embedder.as_deref())?,
    };
    Ok(TriageEngine::load(&dir, embedder, TriageConfig::default())?)
}

/// A line of input that could not become a message: (stable code, message).
type LineError = (&'static str, String);

fn parse_line(bytes: &[u8], channel: Channel) -> Result<InboundMessage, LineError> {
    let line = std::str::from_utf8(bytes).map_err(|error| ("invalid_utf8", format!("not valid UTF-8 ({error}); re-save the file as UTF-8")))?;
    let line = line.trim_end_matches('\r');
    let message = if line.trim_start().starts_with('{') {
        let value: serde_json::Value = serde_json::from_str(line).map_err(|error| ("invalid_json", format!("not a JSON object: {error}")))?;
        let text = value.get("text").and_then(|text| text.as_str()).ok_or(("missing_text", "the object has no string field `text`".to_string()))?;
        let channel = match value.get("channel").and_then(|channel| channel.as_str()) {
            Some(name) => parse_channel(name).map_err(|error| ("invalid_channel", error.to_string()))?,
            None => channel,
        };
        InboundMessage {
            channel,
            subject: value.get("subject").and_then(|subject| subject.as_str()).map(str::to_string),
            body: text.to_string(),
            body_is_html: value.get("html").and_then(|html| html.as_bool()).unwrap_or(false),
        }
    } else {
        InboundMessage { channel, subject: None, body: line.to_string(), body_is_html: false }
    };
    check_message(&message)?;
    Ok(message)
}

fn check_message(message: &InboundMessage) -> Result<(), LineError> {
    if message.body.trim().is_empty() {
        return Err(("empty_text", "the message text is empty".to_string()));
    }
    let n_chars = message.body.chars().count();
    if n_chars > MAX_MESSAGE_CHARS {
        return Err(("text_too_long", format!("the message has {n_chars} characters; the limit is {MAX_MESSAGE_CHARS} — split it or triage its first part")));
    }
    Ok(())
}

fn result_json(result: &TriageResult, latency_us: u128) -> serde_json::Value {
    json!({
        "category": result.category,
        "intent": result.intent,
        "confidence": result.confidence,
        "ranking": result.ranking,
        "severity": result.severity,
        "safety_override": result.safety_override,
        "sentiment": result.sentiment,
        "language": result.language,
        "entities": result.entities,
        "pii": result.pii,
        "redacted_text": result.redacted_text,
        "model": result.model,
        "latency_us": latency_us,
    })
}

fn print_human(out: &mut impl Write, result: &TriageResult, latency_us: u128) -> std::io::Result<()> {
    let ranking: Vec<String> = result.ranking.iter().map(|ranked| format!("{} {:.2}", ranked.intent, ranked.probability)).collect();
    writeln!(out, "{} / {} (confidence {:.2}; top: {})", result.category, result.intent, result.confidence, ranking.join(", "))?;
    if let Some(severity) = result.severity {
        writeln!(out, "  severity: {severity}")?;
    }
    if let Some(reason) = &result.safety_override {
        writeln!(out, "  safety rule: {reason}")?;
    }
    writeln!(out, "  sentiment: {} ({:+.2}); language: {} ({:.2})", result.sentiment.label.as_str(), result.sentiment.score, result.language.code, result.language.confidence)?;
    for entity in &result.entities {
        writeln!(out, "  entity {:?}: {}", entity.kind, entity.text)?;
    }
    if !result.pii.is_empty() {
        writeln!(out, "  redacted: {}", result.redacted_text)?;
    }
    writeln!(out, "  {latency_us} µs, model {} {} ({})", result.model.name, result.model.version, result.model.features.join("+"))
}

pub fn triage(args: TriageArgs) -> Result<ExitCode> {
    let channel = parse_channel(&args.channel)?;
    let today = args.today.unwrap_or_else(|| chrono::Local::now().date_naive());
    let inputs: Vec<Result<InboundMessage, LineError>> = match (&args.text, &args.file) {
        (Some(text), None) => {
            let message = InboundMessage { channel, subject: None, body: text.clone(), body_is_html: false };
            if let Err((_, reason)) = check_message(&message) {
                bail!("{reason}");
            }
            vec![Ok(message)]
        }
        (None, Some(path)) => {
            let file = std::fs::File::open(path).with_context(|| format!("cannot open {}: check the path", path.display()))?;
            let mut inputs = Vec::new();
            for line in std::io::BufReader::new(file).split(b'\n') {
                let line = line.with_context(|| format!("cannot read {}", path.display()))?;
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                inputs.push(parse_line(&line, channel));
            }
            if inputs.is_empty() {
                bail!("{} holds no messages", path.display());
            }
            inputs
        }
        _ => bail!("give a message text or --file FILE (see `switchboard triage --help`)"),
    };
    let engine = load_engine(args.model, args.no_embeddings)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut n_failed = 0usize;
    for (line_idx, input) in inputs.into_iter().enumerate() {
        let outcome = input.and_then(|message| {
            let started = Instant::now();
            let result = engine.triage(&message, today).map_err(|error| ("triage_failed", error.to_string()))?;
            Ok((result, started.elapsed().as_micros()))
        });
        match (outcome, args.json) {
            (Ok((result, latency_us)), true) => writeln!(out, "{}", result_json(&result, latency_us))?,
            (Ok((result, latency_us)), false) => print_human(&mut out, &result, latency_us)?,
            (Err((code, message)), true) => {
                n_failed += 1;
                writeln!(out, "{}", json!({"line": line_idx + 1, "error": {"code": code, "message": message}}))?
            }
            (Err((code, message)), false) => {
                n_failed += 1;
                writeln!(out, "line {}: error {code}: {message}", line_idx + 1)?
            }
        }
    }
    out.flush()?;
    if n_failed > 0 {
        eprintln!("error: {n_failed} message(s) could not be triaged (see the error lines)");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct TrainArgs {
    /// Labelled CSV with a header.
    #[arg(long)]
    data: PathBuf,
    #[arg(long, default_value = "intent")]
    label_col: String,
    #[arg(long, default_value = "text")]
    text_col: String,
    /// Column with the safety severity; trains the severity model too (default taxonomy).
    #[arg(long)]
    severity_col: Option<String>,
    /// Output model directory.
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    options: TrainOptions,
}

#[derive(Args, Clone)]
pub struct TrainOptions {
    /// Train on TF-IDF features only, even if MiniLM is present.
    #[arg(long)]
    no_embeddings: bool,
    /// Values of C (inverse regularisation) to try on the validation split.
    #[arg(long, value_delimiter = ',', default_value = "10,30,100")]
    c_grid: Vec<f32>,
    /// Scales of the embedding block to try on the validation split.
    #[arg(long, value_delimiter = ',', default_value = "1,2")]
    embedding_scales: Vec<f32>,
    /// Folds for temperature calibration (1 = reuse the validation split).
    #[arg(long, default_value_t = 1)]
    calibration_folds: usize,
    /// Model name recorded in decision records.
    #[arg(long, default_value = "intent")]
    name: String,
    #[arg(long, default_value = "1")]
    model_version: String,
}

impl TrainOptions {
    fn config(&self) -> TrainConfig {
        TrainConfig {
            name: self.name.clone(),
            version: self.model_version.clone(),
            c_grid: self.c_grid.clone(),
            embedding_scale_grid: self.embedding_scales.clone(),
            calibration_folds: self.calibration_folds,
            ..TrainConfig::default()
        }
    }
}

pub fn train(args: TrainArgs) -> Result<ExitCode> {
    let extra: Vec<&str> = args.severity_col.as_deref().into_iter().collect();
    let rows = read_labelled_csv(&args.data, &args.text_col, &args.label_col, &extra)?;
    if let Some(name) = &args.severity_col {
        if rows.extra.is_empty() {
            bail!("{}: no column `{name}` for --severity-col", args.data.display());
        }
    }
    let embedder = load_embedder(args.options.no_embeddings)?;
    let texts: Vec<&str> = rows.texts.iter().map(String::as_str).collect();
    let labels: Vec<&str> = rows.labels.iter().map(String::as_str).collect();
    let severities = rows.extra.first().map(|(_, values)| values.as_slice());
    let report = models::train_triage_model(&texts, &labels, severities, embedder.as_deref(), &args.options.config(), &args.out)?;
    eprintln!(
        "trained {} labels on {} examples in {:.1}s (features {}, C={}, temperature {:.3}); model written to {}",
        report.n_classes,
        report.n_examples,
        report.train_seconds,
        report.features.join("+"),
        report.chosen_c,
        report.temperature,
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct EvalArgs {
    #[arg(long)]
    train: PathBuf,
    #[arg(long)]
    test: PathBuf,
    #[arg(long, default_value = "intent")]
    label_col: String,
    #[arg(long, default_value = "text")]
    text_col: String,
    /// Print the report as one JSON object on the last line.
    #[arg(long)]
    json: bool,
    /// Also save the trained model here (e.g. to benchmark it with `switchboard bench`).
    #[arg(long)]
    save: Option<PathBuf>,
    #[command(flatten)]
    options: TrainOptions,
}

pub fn eval(args: EvalArgs) -> Result<ExitCode> {
    let train_rows = read_labelled_csv(&args.train, &args.text_col, &args.label_col, &[])?;
    let test_rows = read_labelled_csv(&args.test, &args.text_col, &args.label_col, &[])?;
    let embedder = load_embedder(args.options.no_embeddings)?;
    let train_texts: Vec<&str> = train_rows.texts.iter().map(String::as_str).collect();
    let train_labels: Vec<&str> = train_rows.labels.iter().map(String::as_str).collect();
    let started = Instant::now();
    let (classifier, report) = models::train_classifier(&train_texts, &train_labels, embedder.as_deref(), &args.options.config())?;
    let train_seconds = started.elapsed().as_secs_f64();
    if let Some(dir) = &args.save {
        classifier.save(dir).with_context(|| format!("cannot save the model to {}", dir.display()))?;
    }

    let test_texts: Vec<&str> = test_rows.texts.iter().map(String::as_str).collect();
    let inference_started = Instant::now();
    let embeddings = match embedder.as_deref() {
        Some(embedder) => Some(embedder.embed(&test_texts)?),
        None => None,
    };
    let predictions = classifier.predict_batch(&test_texts, embeddings.as_deref())?;
    let inference_seconds = inference_started.elapsed().as_secs_f64();

    // Test labels the training data never had still count, as errors.
    let mut labels: Vec<String> = classifier.labels().to_vec();
    for label in &test_rows.labels {
        if !labels.contains(label) {
            labels.push(label.clone());
        }
    }
    let scored: Vec<Scored> = predictions
        .iter()
        .zip(&test_rows.labels)
        .map(|(prediction, gold_label)| {
            let (predicted, confidence) = prediction.top_k(1)[0];
            let gold = labels.iter().position(|label| label == gold_label).expect("every test label was added");
            let gold_probability = prediction.probabilities.get(gold).copied().unwrap_or(0.0);
            Scored { gold, predicted, confidence, gold_probability }
        })
        .collect();
    let evaluation = evaluate(&labels, &scored, 15);
    let throughput = test_texts.len() as f64 / inference_seconds;

    println!("train {} ({} rows), test {} ({} rows), {} labels, features {}", args.train.display(), train_texts.len(), args.test.display(), test_texts.len(), classifier.labels().len(), report.features.join("+"));
    println!("chosen C={} embedding scale={:?} temperature={:.3} (validation split {} rows)", report.chosen_c, report.chosen_embedding_scale, report.temperature, report.n_validation);
    println!("accuracy   {:.4}", evaluation.accuracy);
    println!("macro-F1   {:.4}", evaluation.macro_f1);
    println!("ECE (15)   {:.4}", evaluation.ece);
    println!("log-loss   {:.4}", evaluation.log_loss);
    println!("training   {train_seconds:.1} s");
    println!("inference  {throughput:.0} msg/s ({} messages in {inference_seconds:.2} s, both cores)", test_texts.len());
    println!("\n{:<40} {:>9} {:>9} {:>9} {:>8}", "label", "precision", "recall", "f1", "support");
    for class in &evaluation.per_class {
        println!("{:<40} {:>9.3} {:>9.3} {:>9.3} {:>8}", class.label, class.precision, class.recall, class.f1, class.support);
    }
    println!("\ntop confusions (gold -> predicted):");
    for confusion in &evaluation.top_confusions {
        println!("  {:>4}  {} -> {}", confusion.count, confusion.gold, confusion.predicted);
    }
    if args.json {
        println!(
            "{}",
            json!({
                "accuracy": evaluation.accuracy,
                "macro_f1": evaluation.macro_f1,
                "ece": evaluation.ece,
                "log_loss": evaluation.log_loss,
                "train_seconds": train_seconds,
                "inference_msgs_per_s": throughput,
                "n_train": train_texts.len(),
                "n_test": test_texts.len(),
                "features": report.features,
                "chosen_c": report.chosen_c,
                "chosen_embedding_scale": report.chosen_embedding_scale,
                "temperature": report.temperature,
                "grid": report.grid,
                "per_class": evaluation.per_class,
                "top_confusions": evaluation.top_confusions,
            })
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct EvalTriageArgs {
    /// Taxonomy CSV with columns text, category, intent, severity, scored once by the model.
    #[arg(long, required_unless_present = "cross_validate", conflicts_with = "cross_validate")]
    test: Option<PathBuf>,
    /// Instead of a test file: K-fold cross-validation over this training CSV. Each fold trains
    /// the default model's recipe on the other folds and scores the held-out one; the report
    /// pools the folds and lists every safety error, for working from validation errors.
    #[arg(long, value_name = "TRAIN_CSV")]
    cross_validate: Option<PathBuf>,
    /// Number of folds for --cross-validate.
    #[arg(long, default_value_t = 5, requires = "cross_validate")]
    folds: usize,
    /// Write one JSON line per scored row (gold, prediction, safety scores) to this file.
    #[arg(long)]
    rows_out: Option<PathBuf>,
    /// Triage model directory (default: the built-in taxonomy model).
    #[arg(long, conflicts_with = "cross_validate")]
    model: Option<PathBuf>,
    #[arg(long)]
    no_embeddings: bool,
    #[arg(long)]
    json: bool,
}

/// A taxonomy CSV: text, intent, category and severity of every row.
struct TaxonomyRows {
    texts: Vec<String>,
    intents: Vec<String>,
    categories: Vec<String>,
    severities: Vec<String>,
}

fn read_taxonomy_csv(path: &std::path::Path) -> Result<TaxonomyRows> {
    let mut rows = read_labelled_csv(path, "text", "intent", &["category", "severity"])?;
    if rows.extra.len() != 2 {
        bail!("{}: needs the columns text, category, intent and severity", path.display());
    }
    let severities = rows.extra.pop().expect("two extra columns").1;
    let categories = rows.extra.pop().expect("two extra columns").1;
    Ok(TaxonomyRows { texts: rows.texts, intents: rows.labels, categories, severities })
}

/// The taxonomy targets, accumulated row by row (over a test file, or over the held-out folds
/// of a cross-validation).
#[derive(Default)]
struct TriageScores {
    n_rows: usize,
    category_correct: usize,
    intent_correct: usize,
    n_safety: usize,
    safety_found: usize,
    n_urgent: usize,
    urgent_found: usize,
    n_non_safety: usize,
    false_safety: usize,
    severity_correct: usize,
    scored: Vec<Scored>,
    missed_safety: Vec<String>,
    missed_urgent: Vec<String>,
    false_alarms: Vec<String>,
}

fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

fn intent_labels() -> Vec<String> {
    sb_domain::Intent::ALL.iter().map(|intent| intent.as_str().to_string()).collect()
}

impl TriageScores {
    fn add(&mut self, rows: &TaxonomyRows, row_idx: usize, result: &TriageResult) -> Result<()> {
        let gold_intent = &rows.intents[row_idx];
        let gold_severity = rows.severities[row_idx].as_str();
        let found_safety = result.category == sb_domain::Category::SafetyCompliance;
        let short_text = || rows.texts[row_idx].chars().take(100).collect::<String>().replace('\n', " ");
        self.n_rows += 1;
        self.category_correct += (result.category.as_str() == rows.categories[row_idx]) as usize;
        self.intent_correct += (result.intent.as_str() == gold_intent) as usize;
        if rows.categories[row_idx] == "safety_compliance" {
            self.n_safety += 1;
            if found_safety {
                self.safety_found += 1;
            } else {
                self.missed_safety.push(format!("{gold_intent}/{gold_severity} -> {}: {}", result.intent, short_text()));
            }
            self.severity_correct += (result.severity.map(|severity| severity.as_str()) == Some(gold_severity)) as usize;
            if gold_severity == "urgent" {
                self.n_urgent += 1;
                if result.severity == Some(sb_domain::Severity::Urgent) {
                    self.urgent_found += 1;
                } else {
                    let predicted = result.severity.map_or("-", |severity| severity.as_str());
                    self.missed_urgent.push(format!("{gold_intent} -> {}/{predicted}: {}", result.intent, short_text()));
                }
            }
        } else {
            self.n_non_safety += 1;
            if found_safety {
                self.false_safety += 1;
                self.false_alarms.push(format!("{gold_intent} -> {}: {}", result.intent, short_text()));
            }
        }
        let labels = intent_labels();
        let gold = labels.iter().position(|label| label == gold_intent).context("unknown intent in the taxonomy file")?;
        let predicted = labels.iter().position(|label| label == result.intent.as_str()).expect("taxonomy intent");
        self.scored.push(Scored { gold, predicted, confidence: result.confidence, gold_probability: if gold == predicted { result.confidence } else { 0.0 } });
        Ok(())
    }

    fn evaluation(&self) -> sb_classify::EvalReport {
        evaluate(&intent_labels(), &self.scored, 15)
    }

    fn summary(&self) -> serde_json::Value {
        let evaluation = self.evaluation();
        json!({
            "n_rows": self.n_rows,
            "category_accuracy": ratio(self.category_correct, self.n_rows),
            "intent_accuracy": ratio(self.intent_correct, self.n_rows),
            "intent_macro_f1": evaluation.macro_f1,
            "intent_ece": evaluation.ece,
            "safety_recall": ratio(self.safety_found, self.n_safety),
            "urgent_recall": ratio(self.urgent_found, self.n_urgent),
            "severity_accuracy_on_safety": ratio(self.severity_correct, self.n_safety),
            "non_safety_flagged_as_safety": ratio(self.false_safety, self.n_non_safety),
        })
    }

    fn one_line(&self) -> String {
        format!(
            "category {:.4}, safety recall {:.4} ({}/{}), urgent recall {:.4} ({}/{}), non-safety flagged {:.4} ({}/{})",
            ratio(self.category_correct, self.n_rows),
            ratio(self.safety_found, self.n_safety),
            self.safety_found,
            self.n_safety,
            ratio(self.urgent_found, self.n_urgent),
            self.urgent_found,
            self.n_urgent,
            ratio(self.false_safety, self.n_non_safety),
            self.false_safety,
            self.n_non_safety
        )
    }

    fn print(&self) {
        let evaluation = self.evaluation();
        println!("category accuracy            {:.4}", ratio(self.category_correct, self.n_rows));
        println!("intent accuracy / macro-F1   {:.4} / {:.4}", ratio(self.intent_correct, self.n_rows), evaluation.macro_f1);
        println!("intent ECE (15 bins)         {:.4}", evaluation.ece);
        println!("safety recall                {:.4} ({}/{})", ratio(self.safety_found, self.n_safety), self.safety_found, self.n_safety);
        println!("urgent recall                {:.4} ({}/{})", ratio(self.urgent_found, self.n_urgent), self.urgent_found, self.n_urgent);
        println!("severity accuracy (safety)   {:.4}", ratio(self.severity_correct, self.n_safety));
        println!("non-safety flagged as safety {:.4} ({}/{})", ratio(self.false_safety, self.n_non_safety), self.false_safety, self.n_non_safety);
        println!("\n{:<24} {:>9} {:>9} {:>8}", "intent", "precision", "recall", "support");
        for class in &evaluation.per_class {
            println!("{:<24} {:>9.3} {:>9.3} {:>8}", class.label, class.precision, class.recall, class.support);
        }
    }
}

/// One JSON line of `--rows-out`.
fn row_json(rows: &TaxonomyRows, row_idx: usize, fold: Option<usize>, result: &TriageResult, assessment: &sb_triage::SafetyAssessment) -> serde_json::Value {
    json!({
        "fold": fold,
        "text": rows.texts[row_idx],
        "gold_intent": rows.intents[row_idx],
        "gold_severity": rows.severities[row_idx],
        "intent": result.intent,
        "severity": result.severity,
        "confidence": result.confidence,
        "ranking": result.ranking,
        "safety_override": result.safety_override,
        "intent_safety_probability": assessment.intent_safety_probability,
        "safety_probability": assessment.safety_probability,
        "safety_score": assessment.safety_score,
        "urgent_probability": assessment.urgent_probability,
        "emergency": assessment.signals.emergency,
        "figure_of_speech": assessment.signals.figure_of_speech,
        "cues": assessment.cues,
    })
}

fn gate_line(name: &str, decision: Option<&sb_triage::GateDecision>) -> String {
    match decision {
        Some(decision) => format!(
            "{name} gate threshold {:.4} (out-of-fold recall {:.4}, false alarms {:.4}, {} folds)",
            decision.threshold, decision.out_of_fold_recall, decision.out_of_fold_false_alarm_rate, decision.n_folds
        ),
        None => format!("no {name} gate"),
    }
}

pub fn eval_triage(args: EvalTriageArgs) -> Result<ExitCode> {
    if let Some(train_path) = args.cross_validate.clone() {
        return cross_validate_triage(&args, &train_path);
    }
    let test_path = args.test.clone().context("give --test FILE or --cross-validate TRAIN_CSV")?;
    let rows = read_taxonomy_csv(&test_path)?;
    let engine = load_engine(args.model.clone(), args.no_embeddings)?;
    let today = chrono::NaiveDate::from_ymd_opt(2025, 3, 14).expect("valid date");
    let messages: Vec<InboundMessage> = rows.texts.iter().map(|text| InboundMessage::chat(text.clone())).collect();
    let started = Instant::now();
    let results = engine.triage_batch_explained(&messages, today);
    let seconds = started.elapsed().as_secs_f64();
    let mut rows_out = args.rows_out.as_ref().map(|path| std::fs::File::create(path).map(std::io::BufWriter::new).with_context(|| format!("cannot create {}", path.display()))).transpose()?;
    let mut scores = TriageScores::default();
    for (row_idx, outcome) in results.iter().enumerate() {
        let (result, assessment) = outcome.as_ref().map_err(|error| anyhow::anyhow!("row {}: {error}", row_idx + 2))?;
        scores.add(&rows, row_idx, result)?;
        if let Some(out) = rows_out.as_mut() {
            writeln!(out, "{}", row_json(&rows, row_idx, None, result, assessment))?;
        }
    }
    if let Some(mut out) = rows_out {
        out.flush()?;
    }
    scores.print();
    println!("{}", gate_line("safety", engine.safety_gate()));
    println!("{}", gate_line("urgent", engine.urgent_gate()));
    for text in &scores.missed_safety {
        println!("missed safety: {text}");
    }
    if args.json {
        let mut summary = scores.summary();
        summary["n_test"] = json!(results.len());
        summary["msgs_per_s"] = json!(results.len() as f64 / seconds);
        summary["model"] = json!(engine.model_info());
        summary["safety_gate"] = json!(engine.safety_gate());
        summary["urgent_gate"] = json!(engine.urgent_gate());
        println!("{summary}");
    }
    Ok(ExitCode::SUCCESS)
}

/// K-fold cross-validation of the default recipe over a training CSV: the validation figures
/// to tune against, so the test file is scored only once, at the end.
fn cross_validate_triage(args: &EvalTriageArgs, train_path: &std::path::Path) -> Result<ExitCode> {
    if args.folds < 2 {
        bail!("--folds must be at least 2");
    }
    let rows = read_taxonomy_csv(train_path)?;
    let embedder = load_embedder(args.no_embeddings)?;
    let texts: Vec<&str> = rows.texts.iter().map(String::as_str).collect();
    let embeddings = models::embed_corpus(embedder.as_deref(), &texts)?;
    let labels = intent_labels();
    let gold: Vec<u32> = rows
        .intents
        .iter()
        .map(|intent| labels.iter().position(|label| label == intent).map(|idx| idx as u32).with_context(|| format!("unknown intent `{intent}` in {}", train_path.display())))
        .collect::<Result<_>>()?;
    let fold_of = sb_classify::split::stratified_folds(&gold, labels.len(), args.folds, 0x5eed);
    let config = models::default_triage_config();
    let today = chrono::NaiveDate::from_ymd_opt(2025, 3, 14).expect("valid date");
    let mut rows_out = args.rows_out.as_ref().map(|path| std::fs::File::create(path).map(std::io::BufWriter::new).with_context(|| format!("cannot create {}", path.display()))).transpose()?;
    let mut scores = TriageScores::default();
    let mut fold_summaries = Vec::new();
    for fold in 0..args.folds {
        let train_idx: Vec<usize> = (0..rows.texts.len()).filter(|&idx| fold_of[idx] != fold).collect();
        let held_idx: Vec<usize> = (0..rows.texts.len()).filter(|&idx| fold_of[idx] == fold).collect();
        let fold_texts: Vec<&str> = train_idx.iter().map(|&idx| texts[idx]).collect();
        let fold_labels: Vec<&str> = train_idx.iter().map(|&idx| rows.intents[idx].as_str()).collect();
        let fold_severities: Vec<String> = train_idx.iter().map(|&idx| rows.severities[idx].clone()).collect();
        let fold_embeddings = embeddings.as_ref().map(|matrix| models::subset_embeddings(matrix, &train_idx));
        let dir = std::env::temp_dir().join(format!("switchboard-cv-{}-fold{fold}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let started = Instant::now();
        let report = models::train_triage_embedded(&fold_texts, &fold_labels, Some(&fold_severities), fold_embeddings, &config, &dir)?;
        let train_seconds = started.elapsed().as_secs_f64();
        let engine = TriageEngine::load(&dir, embedder.clone(), TriageConfig::default())?;
        let messages: Vec<InboundMessage> = held_idx.iter().map(|&idx| InboundMessage::chat(rows.texts[idx].clone())).collect();
        let results = engine.triage_batch_explained(&messages, today);
        let _ = std::fs::remove_dir_all(&dir);
        let mut fold_scores = TriageScores::default();
        for (&row_idx, outcome) in held_idx.iter().zip(&results) {
            let (result, assessment) = outcome.as_ref().map_err(|error| anyhow::anyhow!("row {}: {error}", row_idx + 2))?;
            scores.add(&rows, row_idx, result)?;
            fold_scores.add(&rows, row_idx, result)?;
            if let Some(out) = rows_out.as_mut() {
                writeln!(out, "{}", row_json(&rows, row_idx, Some(fold), result, assessment))?;
            }
        }
        println!("fold {}/{} ({} rows, trained in {train_seconds:.0} s): {}", fold + 1, args.folds, held_idx.len(), fold_scores.one_line());
        println!("    {}; {}", gate_line("safety", report.safety_gate.as_ref()), gate_line("urgent", report.urgent_gate.as_ref()));
        let mut fold_summary = fold_scores.summary();
        fold_summary["safety_gate"] = json!(report.safety_gate);
        fold_summary["urgent_gate"] = json!(report.urgent_gate);
        fold_summaries.push(fold_summary);
    }
    if let Some(mut out) = rows_out {
        out.flush()?;
    }
    println!("\n{}-fold cross-validation over {} ({} rows), pooled:", args.folds, train_path.display(), rows.texts.len());
    scores.print();
    for text in &scores.missed_safety {
        println!("missed safety: {text}");
    }
    for text in &scores.missed_urgent {
        println!("missed urgent: {text}");
    }
    for text in &scores.false_alarms {
        println!("false alarm: {text}");
    }
    if args.json {
        let mut summary = scores.summary();
        summary["folds"] = json!(fold_summaries);
        println!("{summary}");
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct BenchArgs {
    /// A model directory written by `switchboard train`.
    #[arg(long)]
    model: PathBuf,
    /// CSV whose `text` column is used as the messages.
    #[arg(long)]
    data: PathBuf,
    #[arg(long, default_value = "text")]
    text_col: String,
    /// Also time the full triage engine on the default taxonomy model.
    #[arg(long)]
    triage: bool,
    #[arg(long)]
    no_embeddings: bool,
    #[arg(long, default_value_t = 3)]
    rounds: usize,
}

fn percentile(sorted: &[f64], quantile: f64) -> f64 {
    let position = (sorted.len() - 1) as f64 * quantile;
    let (low, high) = (position.floor() as usize, position.ceil() as usize);
    sorted[low] + (sorted[high] - sorted[low]) * (position - low as f64)
}

fn latency_summary(mut micros: Vec<f64>) -> serde_json::Value {
    micros.sort_by(f64::total_cmp);
    json!({"n": micros.len(), "median_ms": percentile(&micros, 0.5) / 1e3, "p99_ms": percentile(&micros, 0.99) / 1e3, "max_ms": micros[micros.len() - 1] / 1e3})
}

fn resident_megabytes() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kilobytes| kilobytes / 1024.0)
}

/// Single-message latency (one call per message, after a warm-up) and batch throughput.
pub fn bench(args: BenchArgs) -> Result<ExitCode> {
    let rows = read_labelled_csv(&args.data, &args.text_col, &args.text_col, &[])?;
    let texts: Vec<&str> = rows.texts.iter().map(String::as_str).collect();
    let classifier = sb_classify::Classifier::load(&args.model).with_context(|| format!("cannot load {}", args.model.display()))?;
    let embedder = if classifier.embedding().is_some() { load_embedder(args.no_embeddings)? } else { None };
    if classifier.embedding().is_some() && embedder.is_none() {
        bail!("{} needs MiniLM embeddings: run scripts/fetch-model.sh", args.model.display());
    }
    let mut report = serde_json::Map::new();
    report.insert("model".into(), json!(args.model.display().to_string()));
    report.insert("features".into(), json!(classifier.metadata().feature_names()));
    report.insert("n_messages".into(), json!(texts.len()));
    report.insert("rss_mb_after_load".into(), json!(resident_megabytes()));
    let mut scratch = sb_classify::PredictScratch::default();
    let mut rounds = Vec::new();
    for _ in 0..args.rounds {
        let mut round = serde_json::Map::new();
        // Classifier path alone (TF-IDF vectorising + linear scoring), one message at a time.
        for text in texts.iter().take(50) {
            if embedder.is_none() {
                classifier.predict_into(text, None, &mut scratch)?;
            }
        }
        let mut single = Vec::with_capacity(texts.len());
        for text in &texts {
            let started = Instant::now();
            match &embedder {
                Some(embedder) => {
                    let vector = embedder.embed_one(text)?;
                    classifier.predict_into(text, Some(&vector), &mut scratch)?;
                }
                None => classifier.predict_into(text, None, &mut scratch)?,
            }
            single.push(started.elapsed().as_secs_f64() * 1e6);
        }
        round.insert("single_message".into(), latency_summary(single));
        // Batch: repeat the set until at least a second has passed.
        let started = Instant::now();
        let mut n_done = 0usize;
        while started.elapsed().as_secs_f64() < 1.0 {
            let embeddings = match &embedder {
                Some(embedder) => Some(embedder.embed(&texts)?),
                None => None,
            };
            classifier.predict_batch(&texts, embeddings.as_deref())?;
            n_done += texts.len();
        }
        round.insert("batch_msgs_per_s".into(), json!(n_done as f64 / started.elapsed().as_secs_f64()));
        rounds.push(serde_json::Value::Object(round));
    }
    report.insert("rounds".into(), json!(rounds));
    if args.triage {
        let engine = load_engine(None, args.no_embeddings)?;
        let today = chrono::Local::now().date_naive();
        let messages: Vec<InboundMessage> = texts.iter().map(|text| InboundMessage::chat(*text)).collect();
        for message in messages.iter().take(50) {
            engine.triage(message, today)?;
        }
        let mut single = Vec::with_capacity(messages.len());
        for message in &messages {
            let started = Instant::now();
            engine.triage(message, today)?;
            single.push(started.elapsed().as_secs_f64() * 1e6);
        }
        report.insert("triage_single_message".into(), latency_summary(single));
        let started = Instant::now();
        let results = engine.triage_batch(&messages, today);
        report.insert("triage_batch_msgs_per_s".into(), json!(results.len() as f64 / started.elapsed().as_secs_f64()));
        report.insert("triage_features".into(), json!(engine.model_info().features));
    }
    report.insert("rss_mb_at_end".into(), json!(resident_megabytes()));
    println!("{}", serde_json::to_string_pretty(&serde_json::Value::Object(report))?);
    Ok(ExitCode::SUCCESS)
}
