//! The `switchboard` binary: a thin CLI that wires configuration to the library crates.

mod commands;
mod config;
mod data;
mod kb_cli;
mod import;
mod knowledge;
mod logging;
mod models;
mod progress;
mod report;
mod server;
mod wfm;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// mimalloc for the whole process: the server allocates and frees small buffers on many threads
/// (HTTP, triage on rayon, the SQLite writer), where glibc's arenas cost about a tenth of the
/// ingest path's CPU (docs/benchmarks.md, "Ingest CPU profile").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "switchboard", version, about = "Self-hosted AI contact center: durable message pipeline, local calibrated triage, REST API")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Triage one message, or every line of a file (JSON lines `{"text": …}` or plain text).
    Triage(commands::TriageArgs),
    /// Train an intent model from a labelled CSV.
    Train(commands::TrainArgs),
    /// Train on one CSV, score another: accuracy, macro-F1, ECE, per-class table, speed.
    Eval(commands::EvalArgs),
    /// Evaluate the full triage engine (model + safety rules + severity) on a taxonomy test CSV.
    EvalTriage(commands::EvalTriageArgs),
    /// Time single-message latency, batch throughput and memory of a trained model.
    Bench(commands::BenchArgs),
    /// Build the default triage model (if needed) and print its directory.
    DefaultModel {
        /// Train without sentence embeddings even if MiniLM is present.
        #[arg(long)]
        no_embeddings: bool,
    },
    /// Print the default triage model directory (no training).
    Paths,
    /// Run the HTTP server: durable ingest, triage, decisions, the REST API.
    Serve(server::ServeArgs),
    /// Apply database migrations and exit.
    Migrate(server::DbArgs),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(server::TokenCommand),
    /// Manage console users.
    #[command(subcommand)]
    User(server::UserCommand),
    /// Check the audit trail.
    #[command(subcommand)]
    Audit(server::AuditCommand),
    /// Import stored mail (an mbox file or a folder of .eml files) into the pipeline; safe to
    /// run again.
    #[command(subcommand)]
    Import(import::ImportCommand),
    /// Forecast contact volume per interval from an arrivals CSV, or backtest the methods.
    Forecast(wfm::ForecastArgs),
    /// The knowledge base: import, export, reindex, search, eval.
    #[command(subcommand)]
    Kb(kb_cli::KbCommand),
    /// Agents needed for an interval's workload (Erlang C; Erlang A figures with --patience).
    Staff(wfm::StaffArgs),
    /// Print a dashboard report from the database (pending, customer, realtime, sla,
    /// categories, agents, cost, automation) as JSON or CSV.
    Report(report::ReportArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // `serve` sets up its logs from its configuration (JSON lines by default).
    if !matches!(cli.command, Command::Serve(_)) {
        logging::init(config::LogFormat::Text, "info");
    }
    let outcome = match cli.command {
        Command::Triage(args) => commands::triage(args),
        Command::Train(args) => commands::train(args),
        Command::Eval(args) => commands::eval(args),
        Command::EvalTriage(args) => commands::eval_triage(args),
        Command::Bench(args) => commands::bench(args),
        Command::DefaultModel { no_embeddings } => models::load_embedder(no_embeddings).and_then(|embedder| {
            let dir = models::ensure_default_model(embedder.as_deref())?;
            println!("{}", dir.display());
            Ok(ExitCode::SUCCESS)
        }),
        Command::Serve(args) => server::serve(args),
        Command::Migrate(args) => server::migrate(args),
        Command::Token(command) => server::token(command),
        Command::User(command) => server::user(command),
        Command::Audit(command) => server::audit(command),
        Command::Import(command) => import::import(command),
        Command::Forecast(args) => wfm::forecast(args),
        Command::Staff(args) => wfm::staff(args),
        Command::Kb(command) => kb_cli::run(command),
        Command::Report(args) => report::report(args),
        Command::Paths => {
            println!("cache: {}", models::cache_dir().display());
            println!("minilm: {}", sb_embed::default_model_dir().display());
            Ok(ExitCode::SUCCESS)
        }
    };
    match outcome {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

