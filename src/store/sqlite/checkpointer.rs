//! Checkpoints on a thread of their own, so that the writer does not stop
//! taking writes while the log is copied into the database file and the
//! file is synced.
//!
//! SQLite's autocheckpoint runs inside the commit that crossed 1,000 log
//! pages, on the committing connection: with one writer thread, every write
//! waiting behind that commit waited for the copy and its `fsync` too. Here
//! the writer's commit hook only wakes the checkpointer, whose connection
//! runs a `PASSIVE` checkpoint: it copies what no reader still needs,
//! without taking the write lock, while the writer goes on. It runs at the
//! request threads' priority: a checkpointer pushed aside holds the
//! checkpoint lock meanwhile and falls behind, and what it leaves the writer
//! to copy is a pause for every write (at 1M users, with the thresholds
//! below, PATCH email's p99 was 371 ms with it at nice 10, 43 to 48 ms
//! without; BENCHMARKS.md).
//!
//! A log that is being copied while it grows is never copied to its very
//! end, and SQLite starts the log over only at a write that finds it fully
//! copied. So when the log has grown past [`Thresholds::checkpoint_here`]
//! the writer checkpoints itself once, between two of its transactions,
//! where nothing can be appended meanwhile: little is left to copy by then,
//! and its next write starts the log over. It does so after it has answered
//! the group that crossed the threshold ([`LongLog`]), not inside that
//! group's commit: the copy ends with an `fsync` that waits for the disk,
//! and meanwhile the answered requests are sent and the next ones read.

use std::os::raw::c_int;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

use rusqlite::Connection;

use super::connection;
use crate::store::SqliteTuning;

/// When the log's page count makes the writer act.
#[derive(Clone, Copy, Debug)]
pub struct Thresholds {
    /// Pages appended since the last wake-up that wake the checkpointer:
    /// often, so that each pass is short and little is left behind it.
    pub wake: c_int,
    /// A log this long is checkpointed by the writer itself (62.5 MiB of
    /// 4 KiB pages; the log file keeps that size once it has reached it).
    /// What is left to copy then, and the sync, is a pause for the writes
    /// queued meanwhile; the writer's checkpoint starts the log over, and
    /// the longer the log, the rarer the pause. PATCH email at 1M users
    /// (wrk, 32 connections; BENCHMARKS.md): 3,340 to 3,460 req/s at 4,000
    /// pages woken every 1,000, 3,690 to 4,260 at 16,000 woken every 250
    /// or 100, with p99 36 to 48 ms.
    pub checkpoint_here: c_int,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            wake: 250,
            checkpoint_here: 16_000,
        }
    }
}

/// The writer's own checkpoint of a long log: marked due by the commit
/// that made the log long, run by the writer between two groups. Without
/// it nothing starts the log over, so the writer must run it.
///
/// Set and read on the writer's thread; atomic only because SQLite's hook
/// must be `Send`.
#[derive(Debug)]
#[must_use = "the writer must call checkpoint_if_due between its groups"]
pub struct LongLog {
    due: Arc<AtomicBool>,
}

impl LongLog {
    /// Copies what is left of the log into the database file, if a commit
    /// since the last call made the log long. When the checkpointer's pass
    /// holds the checkpoint lock, nothing is copied now; the next commit
    /// finds the log still long and marks it due again.
    pub fn checkpoint_if_due(&self, writer: &Connection) {
        if !self.due.swap(false, Ordering::Relaxed) {
            return;
        }
        if let Err(err) = copy_passively(writer) {
            tracing::warn!(%err, "the writer could not checkpoint a long log");
        }
    }
}

/// Starts the checkpointer thread for the database at `path` and hands the
/// writer connection's checkpoints to it: the returned [`LongLog`] is the
/// writer's part. The thread ends with the writer connection (its commit
/// hook holds the thread's only wake-up handle).
pub fn hand_over(
    writer: &mut Connection,
    path: &Path,
    tuning: SqliteTuning,
    thresholds: Thresholds,
) -> Result<LongLog, String> {
    let (wake, woken) = mpsc::sync_channel::<()>(1);
    let path = path.to_path_buf();
    std::thread::Builder::new()
        .name("sqlite-checkpoint".into())
        .spawn(move || {
            checkpoint_when_woken(&path, tuning, &woken);
        })
        .map_err(|err| format!("cannot start the checkpointer: {err}"))?;
    let long_log = LongLog {
        due: Arc::new(AtomicBool::new(false)),
    };
    let due = Arc::clone(&long_log.due);
    let mut pages_at_wake: c_int = 0;
    // Replaces the autocheckpoint: SQLite's is a commit hook too.
    writer
        .wal_hook(Some(move |_: &mut rusqlite::hooks::Wal, pages: c_int| {
            if pages < pages_at_wake {
                // The log started over.
                pages_at_wake = 0;
            }
            if pages >= thresholds.checkpoint_here {
                due.store(true, Ordering::Relaxed);
                pages_at_wake = pages;
            } else if pages - pages_at_wake >= thresholds.wake {
                // Full: a wake-up is pending already, which will see these
                // pages too.
                let _ = wake.try_send(());
                pages_at_wake = pages;
            }
            Ok(())
        }))
        .map_err(|err| format!("cannot hand checkpoints over: {err}"))?;
    Ok(long_log)
}

fn checkpoint_when_woken(path: &Path, tuning: SqliteTuning, woken: &mpsc::Receiver<()>) {
    let mut checkpointer: Option<Connection> = None;
    while woken.recv().is_ok() {
        if checkpointer.is_none() {
            match connection::open(path, tuning) {
                Ok(opened) => checkpointer = Some(opened),
                Err(err) => {
                    tracing::warn!(%err, "cannot open the checkpointer's connection");
                    continue;
                }
            }
        }
        let Some(connection) = &checkpointer else {
            continue;
        };
        if let Err(err) = copy_passively(connection) {
            tracing::warn!(%err, "a checkpoint failed; the next wake-up tries again");
        }
    }
}

/// A `PASSIVE` checkpoint: copies what no reader still needs, without
/// taking the write lock.
fn copy_passively(connection: &Connection) -> rusqlite::Result<()> {
    connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
}

#[cfg(test)]
#[path = "checkpointer_tests.rs"]
mod tests;
