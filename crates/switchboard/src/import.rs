//! `switchboard import mbox FILE` and `switchboard import eml FOLDER`: stored mail into the
//! durable pipeline, with a progress bar, safe to run again (a mail already stored, by
//! Message-ID or, without one, by its bytes, is counted and skipped).
//!
//! A reader thread streams the file (one mail in memory at a time, `sb_mail::mailbox`) into a
//! bounded channel; the runtime sends up to `--concurrency` mails at once through
//! `Service::receive_email`, so parsing, the store's group commit and triage overlap.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use sb_mail::mailbox::{EmlFolderReader, MboxReader, MboxVariant, RawMail};
use sb_service::{MailSource, ReceiptStatus, Service};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::progress;

#[derive(clap::Subcommand)]
pub enum ImportCommand {
    /// Import every mail of an mbox file (mboxrd unless --mboxo).
    Mbox {
        file: PathBuf,
        /// The file was written in the old mboxo style (only `From ` lines quoted).
        #[arg(long)]
        mboxo: bool,
        #[command(flatten)]
        options: ImportOptions,
    },
    /// Import every `.eml` file of a folder (not its subfolders), in name order.
    Eml {
        folder: PathBuf,
        #[command(flatten)]
        options: ImportOptions,
    },
}

#[derive(clap::Args)]
pub struct ImportOptions {
    /// Database: `sqlite://FILE` or `postgres://USER@HOST/DB`.
    #[arg(long, env = "SWITCHBOARD_DB", default_value = crate::server::DEFAULT_DB_URL)]
    db: String,
    /// Configuration file (the `[email]` section: size limits, our own addresses, threading).
    #[arg(long, env = "SWITCHBOARD_CONFIG")]
    config: Option<PathBuf>,
    /// Store only; `serve` triages the mails later (faster, no models needed).
    #[arg(long)]
    no_triage: bool,
    /// Use TF-IDF features only, even when the MiniLM files are present.
    #[arg(long)]
    no_embeddings: bool,
    /// Mails in flight at once.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Print the summary as one JSON object.
    #[arg(long)]
    json: bool,
}

/// What an import did.
#[derive(Debug, Default, serde::Serialize)]
struct Summary {
    /// Mails read from the file or folder.
    read: u64,
    /// Newly stored.
    stored: u64,
    /// Already stored before (a re-run, or a mail present twice).
    already_stored: u64,
    /// Stored and triaged within the import.
    triaged: u64,
    /// Not a mail (empty, no header section) or over the size limit: not stored.
    refused: u64,
    /// Could not be stored (database errors); re-running the import retries them.
    failed: u64,
    seconds: f64,
    mails_per_second: f64,
}

/// What the reader thread hands over: a mail, or why one could not be read.
enum Read {
    Mail(RawMail),
    Refused(String),
}

pub fn import(command: ImportCommand) -> Result<ExitCode> {
    let (path, options, variant) = match command {
        ImportCommand::Mbox { file, mboxo, options } => (file, options, Some(if mboxo { MboxVariant::Mboxo } else { MboxVariant::Mboxrd })),
        ImportCommand::Eml { folder, options } => (folder, options, None),
    };
    let config = crate::config::load(options.config.as_deref())?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let service = crate::server::build_service(&options.db, &config, options.no_triage, options.no_embeddings).await?;
        let summary = run_import(&service, &path, variant, options.concurrency.max(1)).await?;
        service.store().close().await;
        if options.json {
            println!("{}", serde_json::to_string(&summary)?);
        } else {
            println!(
                "read {} mails from {} in {:.1} s ({:.0}/s): {} stored ({} triaged), {} already stored, {} refused, {} failed",
                summary.read,
                path.display(),
                summary.seconds,
                summary.mails_per_second,
                summary.stored,
                summary.triaged,
                summary.already_stored,
                summary.refused,
                summary.failed
            );
        }
        Ok(if summary.failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
    })
}

async fn run_import(service: &Service, path: &Path, variant: Option<MboxVariant>, concurrency: usize) -> Result<Summary> {
    let started = Instant::now();
    let max_mail_bytes = service.config().email.limits.max_message_bytes;
    let (total, is_bytes) = match variant {
        Some(_) => (std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?.len(), true),
        None => (EmlFolderReader::open(path, max_mail_bytes)?.remaining() as u64, false),
    };
    let bar = Arc::new(progress::bar(total, if is_bytes { "importing mbox (bytes)" } else { "importing .eml files" }));
    let (sender, mut receiver) = mpsc::channel::<Read>(concurrency * 4);
    let reader_path = path.to_path_buf();
    let reader_bar = bar.clone();
    // The reader is plain blocking file I/O: its own thread, feeding the bounded channel.
    let reader = tokio::task::spawn_blocking(move || -> Result<()> {
        let forward = |item: sb_mail::Result<RawMail>, position: u64| -> bool {
            reader_bar.set_position(position);
            let read = match item {
                Ok(mail) => Read::Mail(mail),
                Err(sb_mail::Error::MailTooLarge { index, limit, .. }) => Read::Refused(format!("mail {index} is larger than {limit} bytes")),
                Err(error) => Read::Refused(error.to_string()),
            };
            sender.blocking_send(read).is_ok()
        };
        match variant {
            Some(variant) => {
                let mut mbox = MboxReader::open(&reader_path, variant, max_mail_bytes)?;
                while let Some(item) = mbox.next() {
                    if !forward(item, mbox.bytes_read()) {
                        break;
                    }
                }
            }
            None => {
                let mut n_files = 0u64;
                for item in EmlFolderReader::open(&reader_path, max_mail_bytes)? {
                    n_files += 1;
                    if !forward(item, n_files) {
                        break;
                    }
                }
            }
        }
        Ok(())
    });

    let file_label = path.display().to_string();
    let mut summary = Summary::default();
    let mut in_flight: JoinSet<sb_service::Result<sb_service::EmailReceipt>> = JoinSet::new();
    let mut reading = true;
    while reading || !in_flight.is_empty() {
        tokio::select! {
            read = receiver.recv(), if reading && in_flight.len() < concurrency => match read {
                Some(Read::Mail(mail)) => {
                    summary.read += 1;
                    let service = service.clone();
                    let source = MailSource::Import { file: file_label.clone() };
                    in_flight.spawn(async move { service.receive_email(mail.bytes, source).await });
                }
                Some(Read::Refused(reason)) => {
                    summary.read += 1;
                    summary.refused += 1;
                    tracing::warn!(file = %file_label, reason = %reason, "mail not imported");
                }
                None => reading = false,
            },
            Some(joined) = in_flight.join_next(), if !in_flight.is_empty() => match joined {
                Ok(Ok(email)) => match email.receipt.status {
                    ReceiptStatus::Duplicate => summary.already_stored += 1,
                    ReceiptStatus::Triaged => {
                        summary.stored += 1;
                        summary.triaged += 1;
                    }
                    ReceiptStatus::Received => summary.stored += 1,
                },
                Ok(Err(sb_service::Error::NotMail(reason))) => {
                    summary.refused += 1;
                    tracing::warn!(file = %file_label, reason = %reason, "mail not imported");
                }
                Ok(Err(error)) => {
                    summary.failed += 1;
                    tracing::error!(file = %file_label, error = %error, "mail could not be stored");
                }
                Err(error) => {
                    summary.failed += 1;
                    tracing::error!(file = %file_label, error = %error, "import task failed");
                }
            },
        }
    }
    reader.await.context("the mail reader panicked")??;
    bar.finish_and_clear();
    summary.seconds = started.elapsed().as_secs_f64();
    summary.mails_per_second = summary.read as f64 / summary.seconds.max(1e-9);
    Ok(summary)
}
