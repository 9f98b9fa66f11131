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
//! The task takes the single writer connection from the writer pool, so the store's other
//! writes keep going through the same connection between batches and the database keeps
//! exactly one writer. The batch runs on a blocking thread with that connection locked, through
//! rusqlite on its raw handle (`sqlite_batch.rs`): sqlx's SQLite driver hands every statement
//! and every row to the connection's own thread over a channel, and at about twenty statements a
//! message those hand-offs cost more than the statements. Here it is one hand-off for a run of
//! batches: while requests are already waiting when a batch has committed, the same thread
//! commits them next on the still-locked connection (for at most [`MAX_HOLD`]), so at
//! saturation the writer goes from commit to commit with its prepared statements cached, and
//! the sync of a commit never holds up an async worker. Measured on 2 cores: the pool
//! acquisition, thread hand-off and handle lock between batches had left the writer idle a
//! quarter of the time while requests queued (docs/benchmarks.md, "Ingest: the writer's
//! critical path").
//!
//! Checkpoints run beside the writer: a task copies the WAL into the database file every
//! [`CHECKPOINT_INTERVAL`] from a reader connection, and SQLite's own checkpoint at commit is
//! only a backstop at [`WAL_AUTOCHECKPOINT_PAGES`].

use sqlx::pool::PoolConnection;
use sqlx::{Sqlite, SqlitePool};
use tokio::sync::{mpsc, oneshot};

use crate::ingest::{FinishTriage, IngestStep, PreparedInbound, PreparedTriage, RecordedTriage, StepWithTriage};
use crate::sqlite_batch::run_cached;
use crate::{sqlite_batch, Error, Result};

/// Most requests committed together. Bounds the time one batch holds the writer.
const MAX_BATCH: usize = 64;
/// Longest the writer keeps the connection for consecutive batches while requests keep
/// waiting; then it gives the connection back, so the store's other writes (agents' replies,
/// the SLA watcher) wait at most about this long at saturation.
const MAX_HOLD: std::time::Duration = std::time::Duration::from_millis(50);
/// Requests waiting for the writer; further callers wait to enqueue (backpressure).
const QUEUE_CAPACITY: usize = 256;

/// One durable write and where its answer goes.
enum WriteJob {
    Ingest { prepared: PreparedInbound, answer: oneshot::Sender<Result<IngestStep>> },
    RecordTriage { prepared: PreparedTriage, answer: oneshot::Sender<Result<RecordedTriage>> },
    /// An ingest and the triage record built from its rows, in one savepoint each.
    IngestAndRecord { prepared: PreparedInbound, finish: FinishTriage, answer: oneshot::Sender<Result<StepWithTriage>> },
}

/// A job's result, held until the batch's commit decides whether it stands.
enum Pending {
    Ingest(oneshot::Sender<Result<IngestStep>>, Result<IngestStep>),
    RecordTriage(oneshot::Sender<Result<RecordedTriage>>, Result<RecordedTriage>),
    IngestAndRecord(oneshot::Sender<Result<StepWithTriage>>, Result<StepWithTriage>),
}

impl Pending {
    fn failed(job: WriteJob, error: &str) -> Pending {
        match job {
            WriteJob::Ingest { answer, .. } => Pending::Ingest(answer, Err(batch_failed(error))),
            WriteJob::RecordTriage { answer, .. } => Pending::RecordTriage(answer, Err(batch_failed(error))),
            WriteJob::IngestAndRecord { answer, .. } => Pending::IngestAndRecord(answer, Err(batch_failed(error))),
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
            Pending::IngestAndRecord(answer, result) => {
                let _ = answer.send(result.and_then(|both| commit_error.map_or(Ok(both), |error| Err(batch_failed(error)))));
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
    /// `checkpointer` is a connection pool other than the writer's, on which the WAL is
    /// checkpointed in the background (see [`run_checkpointer`]).
    pub(crate) fn start(writer: SqlitePool, checkpointer: SqlitePool) -> GroupCommit {
        let (sender, receiver) = mpsc::channel(QUEUE_CAPACITY);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(run_writer(writer.clone(), receiver));
            runtime.spawn(run_checkpointer(checkpointer, sender.downgrade()));
        }
        GroupCommit { sender, writer }
    }

    pub(crate) async fn ingest(&self, prepared: PreparedInbound) -> Result<IngestStep> {
        let (answer, receiver) = oneshot::channel();
        self.submit(WriteJob::Ingest { prepared, answer }).await;
        receiver.await.unwrap_or_else(|_| Err(writer_gone()))
    }

    pub(crate) async fn record_triage(&self, prepared: PreparedTriage) -> Result<RecordedTriage> {
        let (answer, receiver) = oneshot::channel();
        self.submit(WriteJob::RecordTriage { prepared, answer }).await;
        receiver.await.unwrap_or_else(|_| Err(writer_gone()))
    }

    pub(crate) async fn ingest_and_record_triage(&self, prepared: PreparedInbound, finish: FinishTriage) -> Result<StepWithTriage> {
        let (answer, receiver) = oneshot::channel();
        self.submit(WriteJob::IngestAndRecord { prepared, finish, answer }).await;
        receiver.await.unwrap_or_else(|_| Err(writer_gone()))
    }

    async fn submit(&self, job: WriteJob) {
        if let Err(mpsc::error::SendError(job)) = self.sender.send(job).await {
            // No writer task: run the job here, as a batch of one.
            commit_batch(&self.writer, vec![job], None).await;
        }
    }
}

/// The task's answer channel closed before it answered: the runtime is shutting down (or the
/// batch panicked) and nothing of the write was committed.
fn writer_gone() -> Error {
    Error::Database(sqlx::Error::PoolClosed)
}

async fn run_writer(writer: SqlitePool, mut receiver: mpsc::Receiver<WriteJob>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while receiver.recv_many(&mut batch, MAX_BATCH).await > 0 {
        match commit_batch(&writer, std::mem::take(&mut batch), Some(receiver)).await {
            Some(returned) => receiver = returned,
            None => return,
        }
    }
}

/// How often the background checkpointer copies the WAL into the database file.
const CHECKPOINT_INTERVAL: std::time::Duration = std::time::Duration::from_millis(100);

/// WAL pages after which a commit checkpoints by itself (SQLite's `wal_autocheckpoint`, set on
/// every connection): the backstop behind [`run_checkpointer`]. Under sustained writes a
/// checkpoint from another connection rarely finds a moment with every frame copied and no new
/// commit, and only then can the next transaction start the WAL over; the writer's own
/// checkpoint, right after its commit, can. By then the background one has copied nearly every
/// frame, so it is short.
pub(crate) const WAL_AUTOCHECKPOINT_PAGES: u32 = 8_192;

/// Checkpoints the WAL (`PASSIVE`: never waits for, nor blocks, the writer or the readers) every
/// [`CHECKPOINT_INTERVAL`] on a connection of `pool`, until the store is dropped (no sender of
/// the group commit left). With SQLite's default, the commit that crosses 1,000 WAL pages
/// copies them into the database file and syncs it, inside the group commit: serial time that
/// every waiting request waits for. Here that copy runs beside the writer, on the other core.
async fn run_checkpointer(pool: SqlitePool, alive: mpsc::WeakSender<WriteJob>) {
    let mut interval = tokio::time::interval(CHECKPOINT_INTERVAL);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        if alive.upgrade().is_none() || pool.is_closed() {
            return;
        }
        if let Err(error) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&pool).await {
            // Not fatal: the writer's own checkpoint (the backstop) keeps the WAL bounded.
            tracing::debug!(error = %error, "background WAL checkpoint failed");
        }
    }
}

/// Runs `jobs` in one transaction, each in its own savepoint, commits, then answers each; with
/// `more` (the writer task's queue), also the batches waiting after it (see
/// [`commit_batches_blocking`]), and hands the queue back. `None` back only when the blocking
/// thread could not run at all (the runtime is shutting down).
///
/// A panic in a batch drops that batch's answer senders (its callers get `writer_gone`) but not
/// the queue: the writer goes on. Should the panic have left a transaction open, the next
/// batch's BEGIN fails, that batch is answered with the error and rolled back, and the batches
/// after it go through.
async fn commit_batch(writer: &SqlitePool, jobs: Vec<WriteJob>, mut more: Option<mpsc::Receiver<WriteJob>>) -> Option<mpsc::Receiver<WriteJob>> {
    let connection = match writer.acquire().await {
        Ok(connection) => connection,
        Err(error) => {
            fail_all(jobs, &error.to_string());
            return more;
        }
    };
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let committed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| commit_batches_blocking(&runtime, connection, jobs, more.as_mut())));
        if committed.is_err() {
            tracing::error!("sqlite group commit panicked; its requests were answered with an error");
        }
        more
    })
    .await
    .ok()
    .flatten()
}

fn fail_all(jobs: Vec<WriteJob>, error: &str) {
    tracing::warn!(error = %error, n_requests = jobs.len(), "sqlite group commit could not start; nothing of the batch was stored");
    for job in jobs {
        Pending::failed(job, error).send(None);
    }
}

/// Commits `jobs`, then, while more requests are already waiting in `more` and the connection
/// has been held for less than [`MAX_HOLD`], their batches too, on the same locked connection:
/// at saturation the writer goes from one commit straight to the next, without a pool
/// acquisition, a thread hand-off and a lock of the handle per batch, and the prepared
/// statements stay cached across the batches.
fn commit_batches_blocking(runtime: &tokio::runtime::Handle, mut connection: PoolConnection<Sqlite>, jobs: Vec<WriteJob>, mut more: Option<&mut mpsc::Receiver<WriteJob>>) {
    let mut locked = match runtime.block_on(connection.lock_handle()) {
        Ok(locked) => locked,
        Err(error) => return fail_all(jobs, &error.to_string()),
    };
    // SAFETY: the handle is sqlx's open connection, locked for us until `locked` drops: sqlx's
    // worker thread waits on that lock and touches the handle again only after we release it.
    // The rusqlite wrapper does not own the handle (it never closes it) and is dropped, with
    // the statements it prepared finalized, before `locked` is.
    let conn = match unsafe { rusqlite::Connection::from_handle(locked.as_raw_handle().as_ptr()) } {
        Ok(conn) => conn,
        Err(error) => return fail_all(jobs, &error.to_string()),
    };
    conn.set_prepared_statement_cache_capacity(sqlite_batch::STATEMENT_CACHE_CAPACITY);
    let held_since = std::time::Instant::now();
    let mut jobs = jobs;
    let poisoned = loop {
        let poisoned = commit_one_batch(&conn, jobs);
        if poisoned || held_since.elapsed() >= MAX_HOLD {
            break poisoned;
        }
        let Some(receiver) = more.as_deref_mut() else { break false };
        let mut next = Vec::with_capacity(MAX_BATCH);
        while next.len() < MAX_BATCH {
            match receiver.try_recv() {
                Ok(job) => next.push(job),
                Err(_) => break,
            }
        }
        if next.is_empty() {
            break false;
        }
        jobs = next;
    };
    drop(conn);
    drop(locked);
    if poisoned {
        connection.close_on_drop();
    }
}

/// One batch: its transaction, then every caller's answer. True when the connection is left
/// unusable (a failed rollback) and must not go back to the pool.
fn commit_one_batch(conn: &rusqlite::Connection, jobs: Vec<WriteJob>) -> bool {
    let n_jobs = jobs.len();
    let started = std::time::Instant::now();
    let mut pending: Vec<Pending> = Vec::with_capacity(jobs.len());
    let mut jobs = jobs.into_iter();
    let outcome = run_batch(conn, &mut jobs, &mut pending);
    tracing::debug!(n_jobs, micros = started.elapsed().as_micros() as u64, "sqlite group commit");
    let mut poisoned = false;
    if outcome.is_err() && !conn.is_autocommit() {
        // Never hand sqlx back a connection with a transaction open.
        poisoned = conn.execute_batch("ROLLBACK").is_err();
    }
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
    poisoned
}

/// BEGIN, each job in a savepoint (released when it succeeded, rolled back when it did not),
/// COMMIT. A job's result is queued before its savepoint ends, so a failure there still
/// reaches its caller (as the batch's error).
fn run_batch(conn: &rusqlite::Connection, jobs: &mut std::vec::IntoIter<WriteJob>, pending: &mut Vec<Pending>) -> std::result::Result<(), rusqlite::Error> {
    run_cached(conn, "BEGIN IMMEDIATE")?;
    for job in jobs.by_ref() {
        if let Err(error) = run_cached(conn, "SAVEPOINT job") {
            pending.push(Pending::failed(job, &error.to_string()));
            return Err(error);
        }
        let keep = match job {
            WriteJob::Ingest { prepared, answer } => {
                let result = sqlite_batch::ingest(conn, &prepared);
                let keep = matches!(result, Ok(IngestStep::Done { .. }));
                pending.push(Pending::Ingest(answer, result));
                keep
            }
            WriteJob::RecordTriage { prepared, answer } => {
                let result = sqlite_batch::record_triage(conn, &prepared);
                let keep = result.is_ok();
                pending.push(Pending::RecordTriage(answer, result));
                keep
            }
            WriteJob::IngestAndRecord { prepared, finish, answer } => {
                let result = sqlite_batch::ingest_and_record_triage(conn, &prepared, finish);
                let keep = matches!(result, Ok(StepWithTriage { step: IngestStep::Done { .. }, .. }));
                pending.push(Pending::IngestAndRecord(answer, result));
                keep
            }
        };
        if !keep {
            run_cached(conn, "ROLLBACK TO job")?;
        }
        run_cached(conn, "RELEASE job")?;
    }
    run_cached(conn, "COMMIT")
}
