//! `switchboard kb …`: the knowledge base from the command line — import Markdown articles
//! into the database, export them back, rebuild the search index, search it, and evaluate
//! retrieval on a question set. The database is the source of truth; the index is derived
//! from it (see `knowledge.rs`). Long steps show a progress bar on a terminal.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use sb_kb::eval::{markdown_table, read_eval_csv, report, run_questions, split_dev_test};
use sb_kb::{IndexProgress, KnowledgeBase, OpenOutcome, SearchConfig};
use sb_service::actions::Actor;
use sb_store::{ArticleFilter, ArticleStatus};

use crate::server::{open_service, runtime, DbArgs};
use crate::{config, models, progress};

#[derive(clap::Subcommand)]
pub enum KbCommand {
    /// Import the Markdown articles (`*.md` with front matter) of a folder: new slugs are
    /// created, changed ones get a new version, identical ones are left alone.
    Import {
        dir: PathBuf,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Write every article (latest version) as `SLUG.md` into a folder, in the format `import`
    /// reads.
    Export {
        dir: PathBuf,
        /// Which articles: published, draft, archived or all.
        #[arg(long, default_value = "all")]
        status: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Rebuild the search index from the database (into `--index-dir`, or the configured
    /// `[knowledge] index_dir`; in memory, as a check and a timing, when neither is set).
    Reindex {
        #[command(flatten)]
        index: IndexArgs,
    },
    /// Search the published articles as the informational workflow does.
    Search {
        query: String,
        #[arg(long, default_value_t = 5)]
        limit: usize,
        /// Print the results as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        index: IndexArgs,
    },
    /// Retrieval figures on a question set: recall@1/3, MRR, unanswerable questions declined,
    /// wrong confident answers — on the dev half, the held-out half and all questions.
    Eval {
        /// Evaluation CSV: `question,article_id,language` (an empty article id: no article
        /// answers it).
        #[arg(long, default_value = "data/kb/eval.csv")]
        questions: PathBuf,
        /// Evaluate the Markdown articles of this folder instead of the database's.
        #[arg(long)]
        articles: Option<PathBuf>,
        /// Print the reports as JSON.
        #[arg(long)]
        json: bool,
        /// Also list the questions that went wrong.
        #[arg(long)]
        misses: bool,
        #[command(flatten)]
        index: IndexArgs,
    },
}

#[derive(clap::Args)]
pub struct IndexArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Configuration file, for `[knowledge] index_dir`.
    #[arg(long, env = "SWITCHBOARD_CONFIG")]
    config: Option<PathBuf>,
    /// Index folder (overrides the configuration).
    #[arg(long)]
    index_dir: Option<PathBuf>,
    /// Search BM25-only, without the MiniLM embeddings.
    #[arg(long)]
    no_embeddings: bool,
}

impl IndexArgs {
    fn index_dir(&self) -> Result<Option<PathBuf>> {
        if let Some(dir) = &self.index_dir {
            return Ok(Some(dir.clone()));
        }
        let config = config::load(self.config.as_deref())?;
        Ok(crate::knowledge::index_dir(&config.knowledge))
    }
}

pub fn run(command: KbCommand) -> Result<ExitCode> {
    match command {
        KbCommand::Import { dir, db } => import(&dir, &db),
        KbCommand::Export { dir, status, db } => export(&dir, &status, &db),
        KbCommand::Reindex { index } => reindex(&index),
        KbCommand::Search { query, limit, json, index } => search(&query, limit, json, &index),
        KbCommand::Eval { questions, articles, json, misses, index } => eval(&questions, articles.as_deref(), json, misses, &index),
    }
}

fn cli_actor() -> Actor {
    Actor { audit_name: "cli".into(), user_id: None }
}

fn import(dir: &Path, db: &DbArgs) -> Result<ExitCode> {
    let articles = crate::knowledge::read_articles(dir)?;
    if articles.is_empty() {
        bail!("{} holds no *.md articles", dir.display());
    }
    runtime()?.block_on(async {
        let service = open_service(db).await?;
        let bar = progress::bar(articles.len() as u64, "importing articles");
        let (created, updated, unchanged) = crate::knowledge::import_articles(&service, &articles, &cli_actor(), || bar.inc(1)).await?;
        bar.finish_and_clear();
        println!("imported {} articles from {}: {created} created, {updated} updated (new version), {unchanged} unchanged", articles.len(), dir.display());
        println!("a running server picks the changes up within its [knowledge] sync interval");
        service.store().close().await;
        Ok(ExitCode::SUCCESS)
    })
}

fn export(dir: &Path, status: &str, db: &DbArgs) -> Result<ExitCode> {
    let status = match status {
        "all" => None,
        other => Some(ArticleStatus::parse(other).with_context(|| format!("unknown status `{other}`: use published, draft, archived or all"))?),
    };
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    runtime()?.block_on(async {
        let service = open_service(db).await?;
        let articles = service.store().all_articles(&ArticleFilter { status, ..ArticleFilter::default() }).await?;
        let bar = progress::bar(articles.len() as u64, "exporting articles");
        for article in &articles {
            let path = dir.join(format!("{}.md", article.slug));
            std::fs::write(&path, sb_kb::front_matter::to_markdown(&sb_service::index_article(article))).with_context(|| format!("cannot write {}", path.display()))?;
            bar.inc(1);
        }
        bar.finish_and_clear();
        println!("exported {} articles to {}", articles.len(), dir.display());
        service.store().close().await;
        Ok(ExitCode::SUCCESS)
    })
}

/// Builds the index from `articles` with a progress bar: into `dir` (replacing what is there)
/// or in memory.
fn build_index(articles: Vec<sb_kb::Article>, dir: Option<&Path>, no_embeddings: bool) -> Result<KnowledgeBase> {
    let embedder = models::load_embedder(no_embeddings)?;
    let n_published = articles.iter().filter(|article| article.is_searchable()).count();
    let bar = progress::bar(articles.len() as u64, if embedder.is_some() { "indexing (BM25 + embeddings)" } else { "indexing (BM25 only)" });
    let on_progress = |step: IndexProgress| bar.set_position(step.n_done as u64);
    let started = Instant::now();
    let knowledge = match dir {
        Some(dir) => {
            // A rebuild on purpose: drop what is there so `open_or_rebuild` starts afresh.
            if dir.exists() {
                std::fs::remove_dir_all(dir).with_context(|| format!("cannot clear the index folder {}", dir.display()))?;
            }
            let (knowledge, outcome) = KnowledgeBase::open_or_rebuild(dir, embedder, SearchConfig::default(), move || Ok::<_, std::io::Error>(articles), on_progress)?;
            debug_assert!(matches!(outcome, OpenOutcome::Rebuilt { .. }));
            knowledge
        }
        None => {
            let knowledge = KnowledgeBase::in_memory(embedder, SearchConfig::default())?;
            knowledge.rebuild(articles, on_progress)?;
            knowledge
        }
    };
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "indexed {n_published} published articles ({} chunks, {}) in {seconds:.2} s ({:.0} articles/s)",
        knowledge.n_chunks(),
        if knowledge.has_embeddings() { "BM25 + MiniLM" } else { "BM25 only" },
        n_published as f64 / seconds.max(1e-9)
    );
    Ok(knowledge)
}

/// The index to search: the configured folder as it is (rebuilt if missing or stale), or one
/// built in memory from the database.
async fn searchable_index(index: &IndexArgs) -> Result<KnowledgeBase> {
    let service = open_service(&index.db).await?;
    let articles = service.articles_for_index().await?;
    service.store().close().await;
    if !articles.iter().any(sb_kb::Article::is_searchable) {
        bail!("the database has no published articles: import some with `switchboard kb import DIR` (the demo ones are in data/kb)");
    }
    let dir = index.index_dir()?;
    let no_embeddings = index.no_embeddings;
    tokio::task::spawn_blocking(move || match dir {
        Some(dir) => {
            let embedder = models::load_embedder(no_embeddings)?;
            let bar = progress::bar(articles.len() as u64, "rebuilding the index");
            let (knowledge, _) = KnowledgeBase::open_or_rebuild(&dir, embedder, SearchConfig::default(), move || Ok::<_, std::io::Error>(articles), |step| bar.set_position(step.n_done as u64))?;
            bar.finish_and_clear();
            Ok(knowledge)
        }
        None => build_index(articles, None, no_embeddings),
    })
    .await
    .context("index task panicked")?
}

fn reindex(index: &IndexArgs) -> Result<ExitCode> {
    runtime()?.block_on(async {
        let service = open_service(&index.db).await?;
        let articles = service.articles_for_index().await?;
        service.store().close().await;
        let dir = index.index_dir()?;
        let no_embeddings = index.no_embeddings;
        let shown = dir.as_ref().map(|dir| dir.display().to_string());
        tokio::task::spawn_blocking(move || build_index(articles, dir.as_deref(), no_embeddings)).await.context("index task panicked")??;
        match shown {
            Some(dir) => println!("index rebuilt in {dir}; a running server using it must be restarted to reopen it"),
            None => println!("no index folder configured (--index-dir or [knowledge] index_dir): the server builds its index in memory at each start, as this run just did"),
        }
        Ok(ExitCode::SUCCESS)
    })
}

fn search(query: &str, limit: usize, json: bool, index: &IndexArgs) -> Result<ExitCode> {
    if query.trim().is_empty() {
        bail!("the query is empty");
    }
    runtime()?.block_on(async {
        let knowledge = searchable_index(index).await?;
        let started = Instant::now();
        let results = knowledge.search(query, limit)?;
        let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
        if json {
            println!("{}", serde_json::to_string_pretty(&results)?);
            return Ok(ExitCode::SUCCESS);
        }
        let verdict = if results.confident { "confident: the informational workflow would answer with the first article" } else { "not confident: a person would answer, with these articles attached" };
        println!("{} results in {elapsed_ms:.1} ms (query language {}); confidence {:.2} — {verdict}", results.hits.len(), results.query_language, results.confidence);
        for (rank, hit) in results.hits.iter().enumerate() {
            let heading = if hit.heading.is_empty() { String::new() } else { format!(" › {}", hit.heading) };
            println!("\n{}. {} (v{}, {}) — {}{heading}", rank + 1, hit.article_id, hit.article_version, hit.language, hit.title);
            println!("   score {:.4}  bm25 {}  cosine {}", hit.score, hit.bm25_score.map_or("-".into(), |score| format!("{score:.2}")), hit.cosine.map_or("-".into(), |cosine| format!("{cosine:.3}")));
            println!("   {}", shorten(&hit.passage, 240));
        }
        Ok(ExitCode::SUCCESS)
    })
}

fn shorten(text: &str, max_chars: usize) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max_chars {
        return flat;
    }
    format!("{}…", flat.chars().take(max_chars).collect::<String>())
}

fn eval(questions_path: &Path, articles_dir: Option<&Path>, json: bool, misses: bool, index: &IndexArgs) -> Result<ExitCode> {
    let questions = read_eval_csv(questions_path).with_context(|| format!("cannot read the question set {} (columns question,article_id,language)", questions_path.display()))?;
    let knowledge = match articles_dir {
        Some(dir) => {
            let articles = crate::knowledge::read_articles(dir)?;
            build_index(articles, None, index.no_embeddings)?
        }
        None => runtime()?.block_on(searchable_index(index))?,
    };
    let bar = progress::bar(questions.len() as u64, "searching the questions");
    let started = Instant::now();
    let results = run_questions(&knowledge, &questions, |n_done| bar.set_position(n_done as u64))?;
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    let thresholds = knowledge.config().confidence;
    let (dev, held_out) = split_dev_test(&results);
    let rows = [("held-out half (odd rows)", report(&held_out, &thresholds)), ("dev half (even rows; thresholds tuned here)", report(&dev, &thresholds)), ("all", report(&results, &thresholds))];
    if json {
        let reports: serde_json::Map<String, serde_json::Value> = [("held_out", &rows[0].1), ("dev", &rows[1].1), ("all", &rows[2].1)].into_iter().map(|(name, figures)| (name.to_string(), serde_json::to_value(figures).expect("a report serialises"))).collect();
        println!("{}", serde_json::to_string_pretty(&serde_json::json!({"mode": if knowledge.has_embeddings() { "hybrid" } else { "bm25" }, "thresholds": thresholds, "reports": reports}))?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{} questions against {} articles, {} ({:.1} ms per question)\n",
        questions.len(),
        knowledge.n_articles(),
        if knowledge.has_embeddings() { "hybrid BM25 + MiniLM" } else { "BM25 only" },
        1000.0 * seconds / questions.len().max(1) as f64
    );
    print!("{}", markdown_table(&rows));
    let held_out = &rows[0].1;
    let checks = [
        ("recall@3 ≥ 0.90", held_out.recall_at_3 >= 0.90),
        ("MRR ≥ 0.80", held_out.mrr >= 0.80),
        ("unanswerable declined ≥ 90 %", held_out.unanswerable_declined_rate >= 0.90),
        ("wrong confident answers ≤ 2 %", held_out.wrong_confident_rate <= 0.02),
    ];
    println!("\ntargets on the held-out half: {}", checks.iter().map(|(name, met)| format!("{name} {}", if *met { "met" } else { "NOT met" })).collect::<Vec<_>>().join(", "));
    if misses {
        println!("\nquestions answered wrongly or with the right article not first:");
        for result in &results {
            let top = result.ranked_articles.first().map(String::as_str);
            let confident = top.is_some() && sb_kb::fusion::is_confident(&result.features, &thresholds);
            let wrong = match result.expected_article.as_deref() {
                Some(expected) => top != Some(expected),
                None => confident,
            };
            if wrong {
                println!("  {:<70} expected {:<28} got {:<28}{}", shorten(&result.question, 70), result.expected_article.as_deref().unwrap_or("(none)"), top.unwrap_or("-"), if confident { " CONFIDENT" } else { "" });
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
