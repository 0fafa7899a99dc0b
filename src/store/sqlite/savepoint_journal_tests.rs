//! The writer's savepoints keep their journals in memory: a group of jobs
//! writes nothing to any file until its commit.

use std::path::Path;

use rusqlite::Connection;

use super::connection::open;
use super::open_writer;
use crate::store::SqliteTuning;

/// Jobs in the group, and rows of the table they change.
const JOBS: i64 = 4;
const ROWS: i64 = 2_000;

/// Bytes this thread has written to files so far (Linux's own count).
fn bytes_written_by_this_thread() -> u64 {
    let io = std::fs::read_to_string("/proc/thread-self/io").expect("thread io counters");
    io.lines()
        .find_map(|line| line.strip_prefix("wchar:"))
        .and_then(|value| value.trim().parse().ok())
        .expect("wchar")
}

/// A table of about a hundred pages: fewer than the page cache holds, so
/// that the cache never spills, more than a savepoint journal keeps in
/// memory by default (16 pages), so that a job changing a row on each page
/// would spill it.
fn fill(connection: &Connection) {
    connection
        .execute_batch(&format!(
            "CREATE TABLE filler (id INTEGER PRIMARY KEY, body BLOB NOT NULL);
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {ROWS})
             INSERT INTO filler (id, body) SELECT i, randomblob(180) FROM n;"
        ))
        .expect("fill");
}

/// Runs a group as the writer does (one transaction, each job in a
/// savepoint, every job changing a row on every page); answers what the
/// thread wrote before the commit and what the commit wrote.
fn run_group(connection: &Connection) -> (u64, u64) {
    let before = bytes_written_by_this_thread();
    connection.execute_batch("BEGIN IMMEDIATE").expect("begin");
    for job in 0..JOBS {
        connection
            .execute_batch(&format!(
                "SAVEPOINT writer_job;
                 UPDATE filler SET body = randomblob(180) WHERE id % 20 = {job};
                 RELEASE writer_job;"
            ))
            .expect("job");
    }
    let at_commit = bytes_written_by_this_thread();
    connection.execute_batch("COMMIT").expect("commit");
    (
        at_commit - before,
        bytes_written_by_this_thread() - at_commit,
    )
}

fn database(directory: &Path) -> std::path::PathBuf {
    directory.join("journal.db")
}

#[test]
fn the_writer_writes_nothing_before_its_commit() {
    let directory = tempfile::tempdir().expect("temp dir");
    let (connection, _long_log) =
        open_writer(&database(directory.path()), SqliteTuning::default()).expect("writer");
    fill(&connection);
    let (before_commit, by_commit) = run_group(&connection);
    assert_eq!(before_commit, 0, "savepoint journals spilled to a file");
    assert!(by_commit > 0, "the commit wrote its pages to the log");
}

/// The other side of the test above: with SQLite's default, the same group
/// writes the savepoints' journals to a temporary file before its commit.
#[test]
fn by_default_the_savepoint_journals_spill_to_a_file() {
    let directory = tempfile::tempdir().expect("temp dir");
    let path = database(directory.path());
    drop(open_writer(&path, SqliteTuning::default()).expect("migrated"));
    let connection = open(&path, SqliteTuning::default()).expect("open");
    fill(&connection);
    let (before_commit, _) = run_group(&connection);
    assert!(
        before_commit > 0,
        "nothing spilled: the test above proves nothing"
    );
}
