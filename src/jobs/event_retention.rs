//! Deletes events older than `--event-retention`, in small batches with a
//! pause between them, so a large backlog never holds the write lock (the
//! SQLite writer, a PostgreSQL table lock) for long.

use std::time::Duration;

use crate::domain::time::Timestamp;
use crate::http::AppState;
use crate::telemetry;

/// Events deleted per statement.
const BATCH: u32 = 500;
/// The pause between two batches, for the writes waiting behind them.
const BREATHER: Duration = Duration::from_millis(20);

/// How often the purge runs: a quarter of the retention, between 100 ms
/// (short retentions in tests) and an hour.
pub fn interval(retention: Duration) -> Duration {
    (retention / 4).clamp(Duration::from_millis(100), Duration::from_secs(3600))
}

/// Runs forever: every interval, purges what has aged out.
pub async fn run(state: AppState) {
    let mut ticks = tokio::time::interval(interval(state.event_retention));
    loop {
        ticks.tick().await;
        let cutoff = Timestamp::now().minus(state.event_retention);
        match purge(&state, cutoff).await {
            Ok(0) => {}
            Ok(deleted) => tracing::info!(deleted, "old events removed"),
            Err(err) => tracing::warn!(%err, "could not remove old events"),
        }
    }
}

/// Deletes every event older than `cutoff`, a batch at a time.
async fn purge(state: &AppState, cutoff: Timestamp) -> Result<u64, crate::store::StoreError> {
    let mut total = 0;
    loop {
        let deleted = state.store.purge_events(cutoff, BATCH).await?;
        total += deleted;
        telemetry::events_purged(deleted);
        if deleted < u64::from(BATCH) {
            return Ok(total);
        }
        tokio::time::sleep(BREATHER).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_purge_runs_a_quarter_of_the_retention_within_bounds() {
        assert_eq!(
            interval(Duration::from_secs(90 * 86_400)),
            Duration::from_secs(3600)
        );
        assert_eq!(interval(Duration::from_secs(8)), Duration::from_secs(2));
        assert_eq!(
            interval(Duration::from_millis(200)),
            Duration::from_millis(100)
        );
    }
}
