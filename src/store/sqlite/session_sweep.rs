//! Removing expired sessions a slice of the table at a time.
//!
//! Nothing indexes the expiry times (an index on `last_seen_at` would be
//! rewritten by every session refresh), so finding the dead sessions reads
//! the whole table. As one statement on the writer that read held every
//! other write back, at start and every hour after: with a million
//! sessions, longer than any PATCH should wait. Walked in key order, a few
//! thousand rows per writer job with a pause between two, the sweep does
//! the same work while the writes queued behind each slice wait for one
//! slice only.

use std::time::Duration;

use rusqlite::{Connection, OptionalExtension as _};

use super::SqliteStore;
use crate::domain::time::Timestamp;
use crate::store::StoreError;

/// Sessions looked at per writer job.
pub(super) const SLICE: u32 = 2_000;

/// The pause between two slices, for the writes waiting behind them.
const BREATHER: Duration = Duration::from_millis(5);

impl SqliteStore {
    pub(super) async fn sweep_expired_sessions(
        &self,
        created_before: Timestamp,
        seen_before: Timestamp,
        slice: u32,
    ) -> Result<u64, StoreError> {
        let cutoffs = (created_before.as_millis(), seen_before.as_millis());
        let mut after = Vec::new();
        let mut deleted = 0;
        loop {
            let from = std::mem::take(&mut after);
            let (removed, next) = self
                .writer
                .write(move |connection| sweep_slice(connection, &from, slice, cutoffs))
                .await?;
            deleted += removed;
            let Some(next) = next else {
                self.writer.write_alone(release_page_cache).await?;
                return Ok(deleted);
            };
            after = next;
            tokio::time::sleep(BREATHER).await;
        }
    }
}

/// The sweep read the whole table through the writer's page cache, which
/// keeps up to its size (2 MiB) of pages the writes may never need again;
/// at idle that is most of the process's own memory. Emptied, and the
/// C library's allocator (SQLite's) asked to hand the freed pages back to
/// the system, which glibc does not do by itself for a thread's arena.
/// The sweep also touched every page of the table through the writer's map
/// of the file: unmapped, the kernel keeps them as page cache but no longer
/// counts them in this process's RSS (SQLite maps again at the next read).
fn release_page_cache(connection: &mut Connection) -> Result<(), StoreError> {
    connection.execute_batch("PRAGMA shrink_memory")?;
    let mapped: i64 = connection.query_row("PRAGMA mmap_size", [], |row| row.get(0))?;
    if mapped > 0 {
        connection.pragma_update(None, "mmap_size", 0)?;
        connection.pragma_update(None, "mmap_size", mapped)?;
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes no pointer and only releases free memory.
    unsafe {
        libc::malloc_trim(0);
    }
    Ok(())
}

/// Deletes the expired sessions among the `slice` keys after `after` (the
/// empty key sorts before every other); answers how many it deleted and
/// the key to go on after, or `None` when the slice reached the table's end.
fn sweep_slice(
    connection: &Connection,
    after: &[u8],
    slice: u32,
    (created_before, seen_before): (i64, i64),
) -> Result<(u64, Option<Vec<u8>>), StoreError> {
    let last: Option<Vec<u8>> = connection
        .prepare_cached(
            "SELECT token_hash FROM sessions WHERE token_hash > ?1
             ORDER BY token_hash LIMIT 1 OFFSET ?2",
        )?
        .query_row((after, slice.max(1) - 1), |row| row.get(0))
        .optional()?;
    let deleted = match &last {
        Some(last) => connection
            .prepare_cached(
                "DELETE FROM sessions WHERE token_hash > ?1 AND token_hash <= ?2
                   AND (created_at < ?3 OR last_seen_at < ?4)",
            )?
            .execute((after, last, created_before, seen_before))?,
        None => connection
            .prepare_cached(
                "DELETE FROM sessions WHERE token_hash > ?1
                   AND (created_at < ?2 OR last_seen_at < ?3)",
            )?
            .execute((after, created_before, seen_before))?,
    };
    Ok((deleted as u64, last))
}

#[cfg(test)]
#[path = "session_sweep_tests.rs"]
mod tests;
