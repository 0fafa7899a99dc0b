use std::time::{Duration, Instant};

use super::*;

const ROWS: usize = 60;

/// A writer connection on a new WAL database with one table, its
/// checkpoints handed over as the thresholds say, and its own part of them.
/// SQLite's autocheckpoint is set to 16 pages first, which the hand-over
/// must replace.
struct NewWriter {
    _directory: tempfile::TempDir,
    path: std::path::PathBuf,
    connection: Connection,
    long_log: LongLog,
    /// The database file's size before any row.
    before: u64,
}

impl NewWriter {
    /// The database file's size once at least half the rows' pages are
    /// copied into it.
    fn with_half_the_rows(&self) -> u64 {
        self.before + 4096 * (ROWS as u64 / 2)
    }
}

fn new_writer(wake: c_int, checkpoint_here: c_int) -> NewWriter {
    let directory = tempfile::tempdir().expect("temp dir");
    let path = directory.path().join("test.db");
    let mut connection = connection::open(&path, SqliteTuning::default()).expect("open");
    connection
        .pragma_update(None, "journal_mode", "WAL")
        .expect("wal");
    connection
        .execute_batch(
            "CREATE TABLE t (n INTEGER, filler BLOB); PRAGMA wal_checkpoint(TRUNCATE);
             PRAGMA wal_autocheckpoint = 16;",
        )
        .expect("table");
    let thresholds = Thresholds {
        wake,
        checkpoint_here,
    };
    let long_log =
        hand_over(&mut connection, &path, SqliteTuning::default(), thresholds).expect("hand over");
    let before = file_size(&path);
    NewWriter {
        _directory: directory,
        path,
        connection,
        long_log,
        before,
    }
}

/// Commits `ROWS` rows of about a page each, one commit per row, calling
/// `between_commits` after each (where the writer is between two groups).
fn write_rows(connection: &Connection, between_commits: impl Fn(&Connection)) {
    for n in 0..ROWS {
        connection
            .execute(
                "INSERT INTO t (n, filler) VALUES (?1, zeroblob(3000))",
                [n as i64],
            )
            .expect("insert");
        between_commits(connection);
    }
}

/// What the writer does between two groups.
fn as_the_writer(long_log: &LongLog) -> impl Fn(&Connection) + '_ {
    |connection| long_log.checkpoint_if_due(connection)
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).expect("metadata").len()
}

/// The database file's size once it has reached `enough`, or after 10 s.
/// (The checkpointer may copy in several passes while the rows are written,
/// so the first change of size is not yet the whole log.)
fn size_once_grown_to(path: &Path, enough: u64) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(10);
    while file_size(path) < enough && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    file_size(path)
}

#[test]
fn the_checkpointer_copies_the_log_while_the_writer_never_does() {
    let setup = new_writer(8, c_int::MAX);

    write_rows(&setup.connection, as_the_writer(&setup.long_log));

    let enough = setup.with_half_the_rows();
    let after = size_once_grown_to(&setup.path, enough);
    assert!(
        after >= enough,
        "the checkpointer copied {} bytes",
        after - setup.before
    );
}

#[test]
fn without_a_wake_up_nothing_is_copied_so_the_autocheckpoint_is_off() {
    let setup = new_writer(c_int::MAX, c_int::MAX);

    write_rows(&setup.connection, as_the_writer(&setup.long_log));
    std::thread::sleep(Duration::from_millis(200));

    assert_eq!(file_size(&setup.path), setup.before);
}

#[test]
fn a_long_log_is_copied_by_the_writer_itself_and_then_started_over() {
    let setup = new_writer(c_int::MAX, 16);

    write_rows(&setup.connection, as_the_writer(&setup.long_log));

    // No wait: the writer copied the log itself after the commits that
    // crossed 16 pages.
    assert!(file_size(&setup.path) >= setup.with_half_the_rows());
    // Started over each time: the log never held much more than 16 pages
    // (of 4 KiB and a 24-byte frame header each), not the 60-odd written.
    let log = file_size(&setup.path.with_extension("db-wal"));
    assert!(
        log <= 32 * 4120 + 32,
        "the log did not start over: {log} bytes"
    );
}

#[test]
fn a_long_log_waits_for_the_writer_to_be_between_groups() {
    let setup = new_writer(c_int::MAX, 16);

    // Commits with no pause between groups: the log is long, nothing copied.
    write_rows(&setup.connection, |_| {});
    assert_eq!(file_size(&setup.path), setup.before);

    setup.long_log.checkpoint_if_due(&setup.connection);
    assert!(file_size(&setup.path) >= setup.with_half_the_rows());
}
