//! Checkpoints on a thread of their own, so that the writer does not stop
//! taking writes while the log is copied into the database file and the
//! file is synced.
//!
//! SQLite's autocheckpoint runs inside the commit that crossed 1,000 log
//! pages, on the committing connection: with one writer thread, every write
//! waiting behind that commit waited for the copy and its `fsync` too. Here
//! the writer's commit hook only wakes the checkpointer, whose connection
//! runs a `PASSIVE` checkpoint: it copies what no reader still needs,
//! without taking the write lock, while the writer goes on.
//!
//! A log that is being copied while it grows is never copied to its very
//! end, and SQLite starts the log over only at a write that finds it fully
//! copied. So when the log has grown past [`Thresholds::checkpoint_here`]
//! the writer checkpoints itself once, between two of its transactions,
//! where nothing can be appended meanwhile: little is left to copy by then,
//! and its next write starts the log over.

use std::os::raw::c_int;
use std::path::Path;
use std::sync::mpsc;

use rusqlite::Connection;

use super::connection;
use crate::store::SqliteTuning;

/// When the log's page count makes the writer act.
#[derive(Clone, Copy, Debug)]
pub struct Thresholds {
    /// Pages appended since the last wake-up that wake the checkpointer
    /// (SQLite's own autocheckpoint threshold).
    pub wake: c_int,
    /// A log this long is checkpointed by the writer itself (16 MiB of
    /// 4 KiB pages). What is left to copy then, and the sync, is a pause
    /// for the writes queued meanwhile: at 16,000 pages PATCH email at 1M
    /// users gained 12 % in requests/s over 4,000 but its p99 went from 47
    /// to 79 ms (neptun-bench, one run each).
    pub checkpoint_here: c_int,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            wake: 1_000,
            checkpoint_here: 4_000,
        }
    }
}

/// Starts the checkpointer thread for the database at `path` and hands the
/// writer connection's checkpoints to it. The thread ends with the writer
/// connection (its commit hook holds the thread's only wake-up handle).
pub fn hand_over(
    writer: &mut Connection,
    path: &Path,
    tuning: SqliteTuning,
    thresholds: Thresholds,
) -> Result<(), String> {
    let (wake, woken) = mpsc::sync_channel::<()>(1);
    let path = path.to_path_buf();
    std::thread::Builder::new()
        .name("sqlite-checkpoint".into())
        .spawn(move || {
            crate::thread_priority::lower();
            checkpoint_when_woken(&path, tuning, &woken);
        })
        .map_err(|err| format!("cannot start the checkpointer: {err}"))?;
    let mut pages_at_wake: c_int = 0;
    // Replaces the autocheckpoint: SQLite's is a commit hook too.
    writer
        .wal_hook(Some(move |wal: &mut rusqlite::hooks::Wal, pages: c_int| {
            if pages < pages_at_wake {
                // The log started over.
                pages_at_wake = 0;
            }
            if pages >= thresholds.checkpoint_here {
                if let Err(err) = wal.checkpoint() {
                    tracing::warn!(%err, pages, "the writer could not checkpoint a long log");
                }
                pages_at_wake = pages;
            } else if pages - pages_at_wake >= thresholds.wake {
                // Full: a wake-up is pending already, which will see these
                // pages too.
                let _ = wake.try_send(());
                pages_at_wake = pages;
            }
            Ok(())
        }))
        .map_err(|err| format!("cannot hand checkpoints over: {err}"))
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
        let checkpoint = connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
            row.get::<_, i64>(0)
        });
        if let Err(err) = checkpoint {
            tracing::warn!(%err, "a checkpoint failed; the next wake-up tries again");
        }
    }
}

#[cfg(test)]
#[path = "checkpointer_tests.rs"]
mod tests;
