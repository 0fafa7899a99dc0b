use std::collections::BTreeSet;

use rusqlite::Connection;

use super::super::SqliteStore;
use crate::domain::time::Timestamp;
use crate::store::SqliteTuning;

const NOW: i64 = 1_800_000_000_000;
const CREATED_BEFORE: i64 = NOW - 1_000;
const SEEN_BEFORE: i64 = NOW - 100;

/// Session `n`: every third too old, every fifth idle too long, the rest
/// alive; keys spread over the whole key space, one at each end.
fn session(n: u32) -> (Vec<u8>, i64, i64) {
    let key = match n {
        0 => vec![0x00],
        1 => vec![0xff; 32],
        _ => n.wrapping_mul(2_654_435_761).to_be_bytes().to_vec(),
    };
    let created_at = if n.is_multiple_of(3) {
        CREATED_BEFORE - 1
    } else {
        CREATED_BEFORE
    };
    let last_seen_at = if n.is_multiple_of(5) {
        SEEN_BEFORE - 1
    } else {
        SEEN_BEFORE
    };
    (key, created_at, last_seen_at)
}

fn seed(path: &std::path::Path, sessions: u32) {
    let mut connection = Connection::open(path).expect("open");
    let transaction = connection.transaction().expect("transaction");
    transaction
        .execute(
            "INSERT INTO users (id, email, password_hash, created_at, updated_at)
             VALUES ('u', 'ada@example.com', 'x', 0, 0)",
            [],
        )
        .expect("user");
    for n in 0..sessions {
        let (key, created_at, last_seen_at) = session(n);
        transaction
            .execute(
                "INSERT INTO sessions (token_hash, user_id, created_at, authenticated_at,
                                       last_seen_at, logged_in_at, public_id)
                 VALUES (?1, 'u', ?2, ?2, ?3, ?2, ?4)",
                (key, created_at, last_seen_at, format!("p{n}")),
            )
            .expect("session");
    }
    transaction.commit().expect("commit");
}

fn remaining(path: &std::path::Path) -> BTreeSet<Vec<u8>> {
    let connection = Connection::open(path).expect("open");
    let mut statement = connection
        .prepare("SELECT token_hash FROM sessions")
        .expect("prepare");
    statement
        .query_map([], |row| row.get(0))
        .expect("query")
        .map(|key| key.expect("row"))
        .collect()
}

async fn swept(sessions: u32, slice: u32) -> (u64, BTreeSet<Vec<u8>>) {
    let directory = tempfile::tempdir().expect("temp dir");
    let path = directory.path().join("sweep.db");
    let store = SqliteStore::open(path.clone(), SqliteTuning::default())
        .await
        .expect("store");
    seed(&path, sessions);
    let deleted = store
        .sweep_expired_sessions(
            Timestamp::from_millis(CREATED_BEFORE),
            Timestamp::from_millis(SEEN_BEFORE),
            slice,
        )
        .await
        .expect("sweep");
    (deleted, remaining(&path))
}

fn alive(sessions: u32) -> BTreeSet<Vec<u8>> {
    (0..sessions)
        .filter(|n| !n.is_multiple_of(3) && !n.is_multiple_of(5))
        .map(|n| session(n).0)
        .collect()
}

#[tokio::test]
async fn every_expired_session_goes_and_every_live_one_stays_whatever_the_slice() {
    let sessions = 1_000;
    for slice in [7, 333, 999, 1_000, 1_001, 5_000] {
        let (deleted, left) = swept(sessions, slice).await;
        assert_eq!(left, alive(sessions), "slice {slice}");
        assert_eq!(
            deleted,
            u64::from(sessions) - left.len() as u64,
            "slice {slice}"
        );
    }
}

#[tokio::test]
async fn an_empty_table_is_swept_in_one_step() {
    let (deleted, left) = swept(0, 10).await;
    assert_eq!((deleted, left.len()), (0, 0));
}

/// KiB of `path` mapped into this process's memory now.
#[cfg(target_os = "linux")]
fn mapped_kib(path: &std::path::Path) -> u64 {
    let path = path.canonicalize().expect("canonical path");
    let smaps = std::fs::read_to_string("/proc/self/smaps").expect("smaps");
    crate::mapped_memory::resident_kib(&smaps, &path)
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn the_writer_lets_go_of_the_pages_a_sweep_mapped() {
    let directory = tempfile::tempdir().expect("temp dir");
    let path = directory.path().join("mapped.db");
    drop(
        SqliteStore::open(path.clone(), SqliteTuning::default())
            .await
            .expect("store"),
    );
    seed(&path, 20_000);
    let mut connection =
        super::super::connection::open(&path, SqliteTuning::default()).expect("open");
    // Pages still in the write-ahead log are read from it, not through the map.
    connection
        .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        .expect("checkpoint");
    // Reads every session's row, through the map when there is one.
    let sessions = |connection: &Connection| -> i64 {
        connection
            .query_row(
                "SELECT count(*) FROM sessions WHERE last_seen_at > 0",
                [],
                |row| row.get(0),
            )
            .expect("read every session")
    };
    assert_eq!(sessions(&connection), 20_000);
    let before = mapped_kib(&path);
    assert!(before > 1_024, "reading the table mapped only {before} KiB");
    super::release_page_cache(&mut connection).expect("release");
    assert_eq!(mapped_kib(&path), 0);
    let mapped: i64 = connection
        .query_row("PRAGMA mmap_size", [], |row| row.get(0))
        .expect("mmap_size");
    assert_eq!(mapped, i64::from(crate::config::SQLITE_MMAP_MIB_MAX) << 20);
    assert_eq!(sessions(&connection), 20_000);
    assert!(mapped_kib(&path) > 1_024, "the map was not taken up again");
}
