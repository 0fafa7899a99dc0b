//! The one connection that writes, on a thread of its own fed by a channel.
//! SQLite allows one writer at a time anyway; one thread makes that explicit,
//! keeps write transactions short and serial inside this process, and leaves
//! the busy timeout to settle contention with other processes.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::store::StoreError;

type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// A handle to the writer thread; the thread ends when every handle is gone.
pub struct Writer {
    jobs: mpsc::Sender<Job>,
    /// Jobs sent and not yet finished.
    pending: Arc<AtomicUsize>,
}

/// Counts a job as pending from its creation until it is dropped: run,
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
    pub fn spawn(mut connection: Connection) -> std::io::Result<Self> {
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || {
                for job in queue {
                    // A panicking job drops its reply sender, which its caller
                    // sees as an error; the writer itself keeps serving.
                    if catch_unwind(AssertUnwindSafe(|| job(&mut connection))).is_err() {
                        tracing::error!("a database write panicked");
                    }
                }
            })?;
        Ok(Self {
            jobs,
            pending: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// Whether a write is running or waiting.
    pub fn is_busy(&self) -> bool {
        self.pending.load(Ordering::Relaxed) > 0
    }

    /// Runs `work` on the writer connection and waits for its result.
    pub async fn write<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let pending = PendingJob::new(&self.pending);
        let job: Job = Box::new(move |connection| {
            let result = work(connection);
            drop(pending);
            let _ = reply.send(result);
        });
        self.jobs
            .send(job)
            .map_err(|_| StoreError::Database("the database writer has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Database("a database write was lost".into()))?
    }
}
