//! The server's own memory in a window: its RSS less the pages of the
//! SQLite file that it reads through a memory map. Those pages are the
//! kernel's page cache, which holds them whether SQLite maps or copies
//! them; mapped, they count in the RSS and its peak (VmHWM), so the peak
//! of the rest is sampled.

use std::cell::Cell;
use std::fs;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Duration;

use anyhow::Context as _;
use neptun_accounts::mapped_memory;

use crate::process;

/// How often the server's RSS is read.
const EVERY: Duration = Duration::from_millis(50);

/// Samples process `pid` until `sampling` turns false; the highest RSS
/// less the resident pages of `database` it saw, in KiB.
///
/// Only `/proc/PID/smaps` tells one file's pages from another's, and
/// reading it walks every page the process maps: with a million users'
/// database mapped, often enough to catch a peak it took the load
/// generator's core from under it (the server idled a sixth of each
/// check run). So smaps is read once, for the file-backed pages that are
/// not the database (the binary's code, mostly, which a run barely
/// changes), and the samples read `/proc/PID/status`'s counters.
pub async fn peak_kib(
    pid: u32,
    database: PathBuf,
    sampling: Rc<Cell<bool>>,
) -> anyhow::Result<u64> {
    let database = database
        .canonicalize()
        .with_context(|| format!("resolving {}", database.display()))?;
    let smaps = fs::read_to_string(format!("/proc/{pid}/smaps"))?;
    let file_backed = process::memory_kib(pid, "RssFile")?;
    let other_files = file_backed.saturating_sub(mapped_memory::resident_kib(&smaps, &database));
    let mut peak = 0;
    while sampling.get() {
        let own = process::memory_kib(pid, "RssAnon")?
            + process::memory_kib(pid, "RssShmem")?
            + other_files;
        peak = peak.max(own);
        tokio::time::sleep(EVERY).await;
    }
    Ok(peak)
}
