//! Retrieval evaluation of the demo knowledge base (what `switchboard kb eval` will print):
//! recall@1/3, MRR, declined unanswerable questions and wrong confident answers, on the dev
//! half, the held-out half and the whole of data/kb/eval.csv, with the shipped thresholds.
//!
//! `--all-languages` searches BM25 in every language's fields whatever the query's language.
//! `--tune` also searches thresholds on the dev half and reports them on the held-out half;
//! `--bm25-only` runs without the embedding model; `--misses` lists what went wrong;
//! `--features` prints every question's confidence features as CSV (for studying a rule);
//! `--dump FILE` writes every question's full search results (hits, scores, cosines,
//! confidence) as JSON lines, so two builds can be compared with `cmp` (f32 values are written
//! in their shortest exact form).
//!
//! cargo run --release -p sb-kb --example kb_eval -- [--tune] [--bm25-only] [--all-languages] [--misses] [--features] [--dump FILE]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use sb_kb::eval::{read_eval_csv, report, run_questions, split_dev_test, tune_confidence, EvalReport, QuestionResult};
use sb_kb::{fusion, ConfidenceConfig, KnowledgeBase, SearchConfig};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let has_flag = |flag: &str| args.iter().any(|arg| arg == flag);
    let value_of = |flag: &str| args.iter().position(|arg| arg == flag).and_then(|idx| args.get(idx + 1)).cloned();
    let kb_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/kb");

    let embedder = if has_flag("--bm25-only") {
        None
    } else {
        let model_dir = sb_embed::find_model_dir().ok_or_else(|| anyhow::anyhow!("no MiniLM model: run scripts/fetch-model.sh, or pass --bm25-only"))?;
        Some(Arc::new(sb_embed::Embedder::load(&model_dir)?))
    };
    let articles = sb_kb::read_markdown_dir(&kb_dir)?;
    // `--all-languages`: BM25 searches every language's fields even when the query's language
    // is known (the behaviour before the one-language rule), for comparison.
    let search_config = if has_flag("--all-languages") { SearchConfig { min_confidence_for_one_language: 2.0, ..SearchConfig::default() } } else { SearchConfig::default() };
    let knowledge_base = KnowledgeBase::in_memory(embedder, search_config)?;
    let started = Instant::now();
    knowledge_base.upsert_many(&articles)?;
    println!("indexed {} articles ({} chunks) in {:.2} s", knowledge_base.n_articles(), knowledge_base.n_chunks(), started.elapsed().as_secs_f64());

    let questions = read_eval_csv(&kb_dir.join("eval.csv"))?;
    let progress_bar = ProgressBar::new(questions.len() as u64).with_style(ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} questions")?).with_message("searching");
    let results = run_questions(&knowledge_base, &questions, |n_done| progress_bar.set_position(n_done as u64))?;
    progress_bar.finish_and_clear();
    let (dev, test) = split_dev_test(&results);

    let shipped = knowledge_base.config().confidence;
    println!("\nshipped thresholds: {shipped:?}");
    print_table(&[("dev half", report(&dev, &shipped)), ("held-out half", report(&test, &shipped)), ("all", report(&results, &shipped))]);

    if has_flag("--tune") {
        let tuned = tune_confidence(&dev, &shipped);
        println!("\ntuned on the dev half: {tuned:?}");
        print_table(&[("dev half", report(&dev, &tuned)), ("held-out half", report(&test, &tuned))]);
    }
    if has_flag("--misses") {
        print_misses(&results, &shipped);
    }
    if has_flag("--features") {
        print_features(&results);
    }
    if let Some(dump_path) = value_of("--dump") {
        let mut lines = String::new();
        for question in &questions {
            let search_results = knowledge_base.search(&question.question, sb_kb::eval::EVAL_RESULT_LIMIT)?;
            lines.push_str(&serde_json::to_string(&(&question.question, &search_results))?);
            lines.push('\n');
        }
        std::fs::write(&dump_path, lines)?;
        println!("\nsearch results of {} questions written to {dump_path}", questions.len());
    }
    Ok(())
}

/// One CSV row per question: its half, what was expected and found, and the features the
/// confidence rule weighs.
fn print_features(results: &[QuestionResult]) {
    println!("\nhalf,expected,top,expected_rank,bm25_lead,query_coverage,top_cosine,cosine_margin,bm25_agrees,question");
    let optional = |value: Option<f32>| value.map_or(String::new(), |value| format!("{value:.4}"));
    for (idx, result) in results.iter().enumerate() {
        println!(
            "{},{},{},{},{:.4},{},{},{},{},\"{}\"",
            if idx % 2 == 0 { "dev" } else { "held_out" },
            result.expected_article.as_deref().unwrap_or(""),
            result.ranked_articles.first().map(String::as_str).unwrap_or(""),
            result.expected_rank().map_or(String::new(), |rank| rank.to_string()),
            result.features.bm25_lead,
            optional(result.features.query_coverage),
            optional(result.features.top_cosine),
            optional(result.features.cosine_margin),
            result.features.bm25_agrees,
            result.question.replace('"', "\"\""),
        );
    }
}

fn print_table(rows: &[(&str, EvalReport)]) {
    print!("{}", sb_kb::eval::markdown_table(rows));
}

fn print_misses(results: &[QuestionResult], config: &ConfidenceConfig) {
    println!("\nmisses (expected not first, or a wrong confident answer):");
    for result in results {
        let confident = !result.ranked_articles.is_empty() && fusion::is_confident(&result.features, config);
        let top = result.ranked_articles.first().map(String::as_str).unwrap_or("-");
        let is_right = result.expected_article.as_deref() == Some(top);
        if is_right && result.expected_article.is_some() && !confident {
            continue;
        }
        if is_right || (result.expected_article.is_none() && !confident) {
            continue;
        }
        println!(
            "  {:<60} expected {:<28} got {:<28} rank {:?} conf {:.3} cos {:?} margin {:?} agree {} {}",
            result.question,
            result.expected_article.as_deref().unwrap_or("(none)"),
            top,
            result.expected_rank(),
            fusion::confidence(&result.features, config),
            result.features.top_cosine,
            result.features.cosine_margin,
            result.features.bm25_agrees,
            if confident { "CONFIDENT" } else { "" },
        );
    }
}
