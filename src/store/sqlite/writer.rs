//! The one connection that writes, on a thread of its own fed by a channel.
//! SQLite allows one writer at a time anyway; one thread makes that explicit,
//! keeps write transactions short and serial inside this process, and leaves
//! the busy timeout to settle contention with other processes.
//!
//! Group commit: the writer owns the transaction. Jobs that are waiting when
//! it takes one run together inside one `BEGIN IMMEDIATE … COMMIT`, each in
//! a savepoint of its own, so they share one commit (and, with
//! `synchronous=FULL`, one fsync). A job's answer is sent only after the
//! commit that holds its writes has returned, so no caller ever sees a write
//! that a crash could still take back. A job that fails keeps its own
//! semantics: the writer rolls its savepoint back whenever it returns an
//! error or panics, whether or not the job opened a savepoint of its own,
//! and the others commit. Upkeep that must not delay answers (the long
//! log's checkpoint) runs after a group's answers are sent.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::store::StoreError;

/// The most jobs one commit takes: enough to share a commit among all the
/// requests a busy server has in flight, few enough that the first job's
/// answer does not wait long behind the rest.
const MOST_JOBS_PER_COMMIT: usize = 64;

/// What a job does once its group's commit has ended: `None` when it
/// committed, else why not.
type Delivery = Box<dyn FnOnce(Option<&str>) + Send>;
/// What a job has done: whether it failed (its writes must not stay), and
/// what to do once its group's commit has ended.
struct Ran {
    failed: bool,
    delivery: Delivery,
}
/// A job gets the connection, or why there is none to run it on.
type Job = Box<dyn for<'c> FnOnce(Result<&'c mut Connection, &str>) -> Ran + Send>;

/// A job as queued: grouped with others, or run alone, outside any
/// transaction (what SQLite refuses inside one, such as a checkpoint).
struct Queued {
    job: Job,
    alone: bool,
}

/// A handle to the writer thread; the thread ends when every handle is gone.
pub struct Writer {
    jobs: mpsc::Sender<Queued>,
    /// Jobs sent and not yet answered.
    pending: Arc<AtomicUsize>,
}

/// Counts a job as pending from its creation until it is dropped: answered,
/// panicked or never sent.
struct PendingJob(Arc<AtomicUsize>);

impl PendingJob {
    fn new(pending: &Arc<AtomicUsize>) -> Self {
        pending.fetch_add(1, Ordering::Relaxed);
        Self(Arc::clone(pending))
    }
}

impl Drop for PendingJob {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Writer {
    /// Starts the writer thread on `connection`; it calls `after_each_group`
    /// once the answers of a group are sent (and of the job that must run
    /// alone after it, if one ended the group).
    pub fn spawn(
        connection: Connection,
        after_each_group: impl FnMut(&Connection) + Send + 'static,
    ) -> std::io::Result<Self> {
        let (jobs, queue) = mpsc::channel::<Queued>();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || serve(connection, &queue, after_each_group))?;
        Ok(Self {
            jobs,
            pending: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// Whether a write is running or waiting.
    pub fn is_busy(&self) -> bool {
        self.pending.load(Ordering::Relaxed) > 0
    }

    /// Runs `work` on the writer connection, inside the group's transaction,
    /// and answers once that transaction has committed. `work` makes its
    /// writes atomic with `connection.savepoint()`, as it would with a
    /// transaction of its own.
    pub async fn write<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        self.send(work, false).await
    }

    /// Runs `work` on the writer connection outside any transaction, after
    /// the jobs queued before it: for what SQLite refuses inside one (a
    /// checkpoint that truncates the log).
    pub async fn write_alone<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        self.send(work, true).await
    }

    async fn send<T, F>(&self, work: F, alone: bool) -> Result<T, StoreError>
    where
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let pending = PendingJob::new(&self.pending);
        let job: Job = Box::new(move |connection| {
            let result = match connection {
                Ok(connection) => work(connection),
                Err(why) => Err(StoreError::Database(why.to_owned())),
            };
            let failed = result.is_err();
            let delivery: Delivery = Box::new(move |failure: Option<&str>| {
                let result = match (failure, result) {
                    (Some(why), Ok(_)) => Err(StoreError::Database(why.to_owned())),
                    (_, result) => result,
                };
                drop(pending);
                let _ = reply.send(result);
            });
            Ran { failed, delivery }
        });
        self.jobs
            .send(Queued { job, alone })
            .map_err(|_| StoreError::Database("the database writer has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Database("a database write was lost".into()))?
    }
}

/// The writer thread: takes the jobs waiting, runs them as one group (a job
/// that must run alone ends the group and runs after it), and again, until
/// every handle is gone.
fn serve(
    mut connection: Connection,
    queue: &mpsc::Receiver<Queued>,
    mut after_each_group: impl FnMut(&Connection),
) {
    let mut group = Vec::with_capacity(MOST_JOBS_PER_COMMIT);
    while let Ok(first) = queue.recv() {
        let mut next = Some(first);
        while let Some(Queued { job, alone }) = next.take() {
            if alone {
                run_group(&mut connection, group.drain(..));
                run_alone(&mut connection, job);
                break;
            }
            group.push(job);
            if group.len() < MOST_JOBS_PER_COMMIT {
                next = queue.try_recv().ok();
            }
        }
        run_group(&mut connection, group.drain(..));
        after_each_group(&connection);
    }
}

/// Runs a job outside any transaction and answers it at once.
fn run_alone(connection: &mut Connection, job: Job) {
    match catch_unwind(AssertUnwindSafe(|| job(Ok(&mut *connection)))) {
        Ok(ran) => (ran.delivery)(None),
        Err(_) => tracing::error!("a database write panicked"),
    }
}

/// Runs jobs in one transaction and answers each after its commit.
fn run_group(connection: &mut Connection, jobs: impl Iterator<Item = Job>) {
    let mut done: Vec<Delivery> = Vec::with_capacity(MOST_JOBS_PER_COMMIT);
    let mut open = false;
    for job in jobs {
        if !open {
            if let Err(err) = execute(connection, "BEGIN IMMEDIATE") {
                // Another process holds the write lock past the busy timeout.
                answer_all(&mut done, Some(&err));
                (job(Err(&err)).delivery)(None);
                continue;
            }
            open = true;
        }
        if let Some(delivery) = run_job(connection, job) {
            done.push(delivery);
        }
        if connection.is_autocommit() {
            // An I/O error or a full disk rolled the whole transaction back,
            // the jobs before this one with it.
            answer_all(&mut done, Some("the database transaction was rolled back"));
            open = false;
        }
    }
    if !open {
        return;
    }
    match execute(connection, "COMMIT") {
        Ok(()) => answer_all(&mut done, None),
        Err(err) => {
            if !connection.is_autocommit() {
                let _ = execute(connection, "ROLLBACK");
            }
            answer_all(&mut done, Some(&err));
        }
    }
}

/// Runs one job in its own savepoint. A job that returns an error has its
/// writes rolled back (its caller has the error); one that panics too, and
/// its caller is told that the write was lost.
fn run_job(connection: &mut Connection, job: Job) -> Option<Delivery> {
    if let Err(err) = execute(connection, "SAVEPOINT writer_job") {
        (job(Err(&err)).delivery)(None);
        return None;
    }
    let outcome = catch_unwind(AssertUnwindSafe(|| job(Ok(&mut *connection))));
    let failed = match &outcome {
        Ok(ran) => ran.failed,
        Err(_) => {
            tracing::error!("a database write panicked");
            true
        }
    };
    if failed && !connection.is_autocommit() {
        let _ = execute(connection, "ROLLBACK TO writer_job");
    }
    let _ = execute(connection, "RELEASE writer_job");
    outcome.ok().map(|ran| ran.delivery)
}

fn answer_all(done: &mut Vec<Delivery>, failure: Option<&str>) {
    for delivery in done.drain(..) {
        delivery(failure);
    }
}

/// Runs a statement of the writer's own, prepared once.
fn execute(connection: &Connection, sql: &str) -> Result<(), String> {
    connection
        .prepare_cached(sql)
        .and_then(|mut statement| statement.execute([]))
        .map(|_| ())
        .map_err(|err| format!("database write failed: {err}"))
}

#[cfg(test)]
#[path = "writer_tests.rs"]
mod tests;
