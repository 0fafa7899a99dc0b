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

/// How often the server's maps are read: often enough for the plateaus of
/// its Argon2 buffers and request load, rarely enough to cost the load
/// generator's core next to nothing.
const EVERY: Duration = Duration::from_millis(50);

/// Samples process `pid` until `sampling` turns false; the highest RSS
/// less the resident pages of `database` it saw, in KiB.
pub async fn peak_kib(
    pid: u32,
    database: PathBuf,
    sampling: Rc<Cell<bool>>,
) -> anyhow::Result<u64> {
    let database = database
        .canonicalize()
        .with_context(|| format!("resolving {}", database.display()))?;
    let mut peak = 0;
    while sampling.get() {
        let smaps = fs::read_to_string(format!("/proc/{pid}/smaps"))?;
        let resident = mapped_memory::resident(&smaps, &database);
        peak = peak.max(resident.total_kib - resident.file_kib);
        tokio::time::sleep(EVERY).await;
    }
    Ok(peak)
}
