//! Putting a database file into WAL mode, also when several processes open
//! a new file at the same moment.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, ErrorCode};

/// How long the switch keeps retrying while other processes hold the file.
const SWITCH_DEADLINE: Duration = Duration::from_secs(10);
/// The longest pause between two attempts.
const LONGEST_PAUSE: Duration = Duration::from_millis(50);

/// Switches `connection`'s database to WAL mode (a no-op when it is already).
///
/// The switch reads the file header under a shared lock, then upgrades to
/// an exclusive one. SQLite never waits on such an upgrade (two upgrading
/// readers would deadlock), so the busy timeout does not apply and the loser
/// of a race between processes starting together fails at once with
/// SQLITE_BUSY. It retries here instead, for a bounded time.
pub fn switch_to_wal(connection: &Connection) -> Result<(), String> {
    let started = Instant::now();
    let mut pause = Duration::from_millis(1);
    loop {
        match connection
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0))
        {
            Ok(mode) if mode.eq_ignore_ascii_case("wal") => return Ok(()),
            Ok(mode) => return Err(format!("WAL mode is unavailable (journal mode {mode})")),
            Err(err) if is_busy(&err) && started.elapsed() < SWITCH_DEADLINE => {
                std::thread::sleep(pause + jitter());
                pause = (pause * 2).min(LONGEST_PAUSE);
            }
            Err(err) => return Err(err.to_string()),
        }
    }
}

fn is_busy(err: &rusqlite::Error) -> bool {
    err.sqlite_error_code()
        .is_some_and(|code| matches!(code, ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked))
}

/// Up to a millisecond, so that processes that collided do not retry in step.
fn jitter() -> Duration {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.subsec_nanos());
    Duration::from_nanos(u64::from(nanos % 1_000_000))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn journal_mode(connection: &Connection) -> String {
        connection
            .query_row("PRAGMA journal_mode", [], |row| row.get(0))
            .unwrap()
    }

    /// What the loser of the start-up race meets: another process is
    /// writing the new file (it holds the write lock) when this one, having
    /// read the header, asks to upgrade.
    #[test]
    fn the_switch_waits_for_another_process_writing_the_new_file_instead_of_failing() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("new.db");
        let other = Connection::open(&path).unwrap();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();
        let switching = Connection::open(&path).unwrap();
        switching.busy_timeout(Duration::from_secs(5)).unwrap();
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            other.execute_batch("COMMIT").unwrap();
        });

        let switched = switch_to_wal(&switching);

        writer.join().unwrap();
        assert_eq!(switched, Ok(()));
        assert_eq!(journal_mode(&switching), "wal");
    }

    #[test]
    fn a_file_already_in_wal_mode_stays_in_it() {
        let folder = tempfile::tempdir().unwrap();
        let connection = Connection::open(folder.path().join("wal.db")).unwrap();
        switch_to_wal(&connection).unwrap();

        assert_eq!(switch_to_wal(&connection), Ok(()));
        assert_eq!(journal_mode(&connection), "wal");
    }
}
