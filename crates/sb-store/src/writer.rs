//! Group commit for SQLite: the pipeline's durable writes from concurrent requests share one
//! transaction and one sync of the WAL.
//!
//! With `synchronous = FULL` every commit waits for the WAL to reach the disk, and SQLite has a
//! single writer, so committing each message on its own caps ingest at one sync per write. Here
//! a writer task takes the requests waiting in a bounded channel (as many as are there, up to
//! [`MAX_BATCH`]), runs each inside its own savepoint of one transaction, commits once, and only
//! then answers each caller with its own result. Durability is unchanged: a caller hears "stored"
//! only after the commit that contains its write has been synced. One request's failure rolls
//! back its savepoint alone; a failed commit fails every request of the batch (none of them is
//! stored).
//!
//! There is no timer: the batch is whatever queued while the previous commit was syncing, so a
//! lone request is committed at once and a busy server batches more.
//!
//! The task takes the single writer connection from the writer pool per batch, so the store's
//! other writes keep going through the same pool between batches. If the task is gone (its
//! runtime shut down), a request runs the same code as a batch of one in the caller's task.

use sqlx::{Connection, SqlitePool};
use tokio::sync::{mpsc, oneshot};

use crate::ingest::{ingest_statements_sqlite, record_triage_statements_sqlite, IngestStep, PreparedInbound, PreparedTriage, TriageIds};
use crate::{Error, Result};

/// Most requests committed together. Bounds the time one batch holds the writer.
const MAX_BATCH: usize = 64;
/// Requests waiting for the writer; further callers wait to enqueue (backpressure).
const QUEUE_CAPACITY: usize = 256;

/// One durable write and where its answer goes.
#[derive(Debug)]
enum WriteJob {
    Ingest { prepared: PreparedInbound, answer: oneshot::Sender<Result<IngestStep>> },
    RecordTriage { prepared: PreparedTriage, answer: oneshot::Sender<Result<TriageIds>> },
}

/// A job's result, held until the batch's commit decides whether it stands.
enum Pending {
    Ingest(oneshot::Sender<Result<IngestStep>>, Result<IngestStep>),
    RecordTriage(oneshot::Sender<Result<TriageIds>>, Result<TriageIds>),
}

impl Pending {
    fn failed(job: WriteJob, error: &str) -> Pending {
        match job {
            WriteJob::Ingest { answer, .. } => Pending::Ingest(answer, Err(batch_failed(error))),
            WriteJob::RecordTriage { answer, .. } => Pending::RecordTriage(answer, Err(batch_failed(error))),
        }
    }

    /// Sends the result; `commit_error` replaces a success when the commit failed.
    fn send(self, commit_error: Option<&str>) {
        // A caller that went away (client disconnected) drops its receiver: nothing to tell.
        match self {
            Pending::Ingest(answer, result) => {
                let _ = answer.send(result.and_then(|step| commit_error.map_or(Ok(step), |error| Err(batch_failed(error)))));
            }
            Pending::RecordTriage(answer, result) => {
                let _ = answer.send(result.and_then(|ids| commit_error.map_or(Ok(ids), |error| Err(batch_failed(error)))));
            }
        }
    }
}

fn batch_failed(error: &str) -> Error {
    Error::Database(sqlx::Error::Protocol(format!("group commit failed, nothing of this write was stored: {error}")))
}

/// The sending side of the writer task. Cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct GroupCommit {
    sender: mpsc::Sender<WriteJob>,
    writer: SqlitePool,
}

impl GroupCommit {
    /// Starts the writer task on the current tokio runtime (without one, every request runs
    /// as a batch of one in its caller's task).
    pub(crate) fn start(writer: SqlitePool) -> GroupCommit {
        let (sender, receiver) = mpsc::channel(QUEUE_CAPACITY);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(run_writer(writer.clone(), receiver));
        }
        GroupCommit { sender, writer }
    }

    pub(crate) async fn ingest(&self, prepared: PreparedInbound) -> Result<IngestStep> {
        let (answer, receiver) = oneshot::channel();
        self.submit(WriteJob::Ingest { prepared, answer }).await;
        receiver.await.unwrap_or_else(|_| Err(writer_gone()))
    }

    pub(crate) async fn record_triage(&self, prepared: PreparedTriage) -> Result<TriageIds> {
        let (answer, receiver) = oneshot::channel();
        self.submit(WriteJob::RecordTriage { prepared, answer }).await;
        receiver.await.unwrap_or_else(|_| Err(writer_gone()))
    }

    async fn submit(&self, job: WriteJob) {
        if let Err(mpsc::error::SendError(job)) = self.sender.send(job).await {
            // No writer task: run the job here, as a batch of one.
            commit_batch(&self.writer, vec![job]).await;
        }
    }
}

/// The task's answer channel closed before it answered: the runtime is shutting down and the
/// batch never committed.
fn writer_gone() -> Error {
    Error::Database(sqlx::Error::PoolClosed)
}

async fn run_writer(writer: SqlitePool, mut receiver: mpsc::Receiver<WriteJob>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while receiver.recv_many(&mut batch, MAX_BATCH).await > 0 {
        commit_batch(&writer, std::mem::take(&mut batch)).await;
    }
}

/// Runs `jobs` in one transaction, each in its own savepoint, commits, then answers each.
async fn commit_batch(writer: &SqlitePool, jobs: Vec<WriteJob>) {
    let mut pending: Vec<Pending> = Vec::with_capacity(jobs.len());
    let mut jobs = jobs.into_iter();
    let outcome: std::result::Result<(), sqlx::Error> = async {
        let mut connection = writer.acquire().await?;
        let mut tx = connection.begin().await?;
        for job in jobs.by_ref() {
            let mut savepoint = match tx.begin().await {
                Ok(savepoint) => savepoint,
                Err(error) => {
                    pending.push(Pending::failed(job, &error.to_string()));
                    return Err(error);
                }
            };
            // The result is queued before the savepoint is released or rolled back, so a
            // failure there still reaches this caller (as the batch's commit error).
            match job {
                WriteJob::Ingest { prepared, answer } => {
                    let result = ingest_statements_sqlite(&mut savepoint, &prepared).await;
                    let keep = matches!(result, Ok(IngestStep::Done(_)));
                    pending.push(Pending::Ingest(answer, result));
                    if keep {
                        savepoint.commit().await?;
                    } else {
                        savepoint.rollback().await?;
                    }
                }
                WriteJob::RecordTriage { prepared, answer } => {
                    let result = record_triage_statements_sqlite(&mut savepoint, &prepared).await;
                    let keep = result.is_ok();
                    pending.push(Pending::RecordTriage(answer, result));
                    if keep {
                        savepoint.commit().await?;
                    } else {
                        savepoint.rollback().await?;
                    }
                }
            }
        }
        tx.commit().await
    }
    .await;
    let commit_error = outcome.err().map(|error| error.to_string());
    if let Some(error) = &commit_error {
        tracing::warn!(error = %error, n_requests = pending.len() + jobs.len(), "sqlite group commit failed; no write of the batch was stored");
    }
    for result in pending {
        result.send(commit_error.as_deref());
    }
    // Jobs not reached because the transaction broke off.
    for job in jobs {
        Pending::failed(job, commit_error.as_deref().unwrap_or("transaction ended early")).send(None);
    }
}
