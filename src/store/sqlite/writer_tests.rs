//! Group commit: jobs waiting together share one commit, fail alone, and
//! are answered only once their commit is done.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use rusqlite::Connection;

use super::Writer;
use crate::store::StoreError;

const JOBS: usize = 20;

fn connect(path: &Path) -> Connection {
    let connection = Connection::open(path).expect("open");
    connection
        .pragma_update(None, "journal_mode", "WAL")
        .expect("wal");
    connection
        .execute_batch("PRAGMA wal_autocheckpoint = 0; CREATE TABLE IF NOT EXISTS t (n INTEGER)")
        .expect("schema");
    connection
}

fn writer(path: &Path) -> Arc<Writer> {
    Arc::new(Writer::spawn(connect(path), |_| {}).expect("writer"))
}

fn insert(connection: &Connection, n: i64) -> Result<(), StoreError> {
    connection.execute("INSERT INTO t (n) VALUES (?1)", [n])?;
    Ok(())
}

fn committed(path: &Path) -> Vec<i64> {
    let reader = Connection::open(path).expect("open");
    let mut statement = reader
        .prepare("SELECT n FROM t ORDER BY n")
        .expect("select");
    statement
        .query_map([], |row| row.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

/// Frames in the write-ahead log since the last call: one per page a
/// commit wrote. The log is checkpointed here, so the next commit starts it
/// again from its beginning.
fn log_frames(path: &Path) -> i64 {
    let reader = Connection::open(path).expect("open");
    reader
        .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| row.get(1))
        .expect("checkpoint")
}

/// Sends `work` to the writer from a task of its own.
fn spawn_write<T: Send + 'static>(
    writer: &Arc<Writer>,
    work: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
) -> tokio::task::JoinHandle<Result<T, StoreError>> {
    let writer = Arc::clone(writer);
    tokio::spawn(async move { writer.write(work).await })
}

/// Holds the writer in a job until the returned sender is used (or
/// dropped), so that the jobs sent meanwhile wait and run as one group.
async fn hold_writer(writer: &Arc<Writer>) -> mpsc::Sender<()> {
    let (release, released) = mpsc::channel::<()>();
    let (started, has_started) = mpsc::channel::<()>();
    let holder = Arc::clone(writer);
    tokio::spawn(async move {
        holder
            .write(move |_| {
                started.send(()).expect("started");
                let _ = released.recv();
                Ok(())
            })
            .await
    });
    tokio::task::spawn_blocking(move || has_started.recv().expect("holder runs"))
        .await
        .expect("join");
    release
}

/// Waits until `count` jobs are pending, then a little longer: a job is
/// counted just before it is put in the writer's queue, and the tests want
/// it in the queue before they release the writer.
async fn until_pending(writer: &Writer, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while writer.pending.load(Ordering::Relaxed) < count {
        assert!(Instant::now() < deadline, "jobs were not sent");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_that_wait_together_share_one_commit() {
    let directory = tempfile::tempdir().expect("temp dir");
    let path = directory.path().join("group.db");
    let writer = writer(&path);

    // One after the other: a commit each, each writing the table's page.
    for n in 0..JOBS {
        writer
            .write(move |connection| insert(connection, n as i64))
            .await
            .expect("write");
    }
    let alone = log_frames(&path);
    assert!(alone >= JOBS as i64, "{alone} frames for {JOBS} commits");

    let release = hold_writer(&writer).await;
    let jobs: Vec<_> = (JOBS..2 * JOBS)
        .map(|n| spawn_write(&writer, move |c| insert(c, n as i64)))
        .collect();
    until_pending(&writer, JOBS + 1).await;
    release.send(()).expect("release");
    for job in jobs {
        job.await.expect("join").expect("write");
    }
    let together = log_frames(&path);
    assert!(
        together < 5,
        "{together} frames for {JOBS} jobs in one group"
    );
    assert_eq!(committed(&path).len(), 2 * JOBS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_or_panicking_job_rolls_back_alone() {
    let directory = tempfile::tempdir().expect("temp dir");
    let path = directory.path().join("alone.db");
    let writer = writer(&path);
    let release = hold_writer(&writer).await;

    let first = spawn_write(&writer, |c| insert(c, 1));
    let refused = spawn_write(&writer, |c| {
        let savepoint = c.savepoint()?;
        insert(&savepoint, 2)?;
        Err::<(), _>(StoreError::EmailTaken)
    });
    let panicked = spawn_write(&writer, |c| -> Result<(), StoreError> {
        insert(c, 3)?;
        panic!("a bug in a write");
    });
    // No savepoint of its own: the writer's rolls its write back.
    let failed_bare = spawn_write(&writer, |c| {
        insert(c, 5)?;
        Err::<(), _>(StoreError::UserNotFound)
    });
    let last = spawn_write(&writer, |c| insert(c, 4));
    until_pending(&writer, 6).await;
    release.send(()).expect("release");

    assert!(first.await.expect("join").is_ok());
    assert!(matches!(
        refused.await.expect("join"),
        Err(StoreError::EmailTaken)
    ));
    assert!(matches!(
        panicked.await.expect("join"),
        Err(StoreError::Database(_))
    ));
    assert!(matches!(
        failed_bare.await.expect("join"),
        Err(StoreError::UserNotFound)
    ));
    assert!(last.await.expect("join").is_ok());
    assert_eq!(committed(&path), vec![1, 4]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_job_is_answered_before_its_commit() {
    let directory = tempfile::tempdir().expect("temp dir");
    let path = directory.path().join("durable.db");
    let writer = writer(&path);
    let release = hold_writer(&writer).await;

    let early = spawn_write(&writer, |c| insert(c, 1));
    // A later job of the same group keeps the group's commit waiting.
    let (finish, finished) = mpsc::channel::<()>();
    let late = spawn_write(&writer, move |c| {
        insert(c, 2)?;
        let _ = finished.recv();
        Ok(())
    });
    until_pending(&writer, 3).await;
    release.send(()).expect("release");

    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!early.is_finished(), "answered before its commit");
    assert!(committed(&path).is_empty());
    finish.send(()).expect("finish");
    early.await.expect("join").expect("write");
    late.await.expect("join").expect("write");
    assert_eq!(committed(&path), vec![1, 2]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_lock_held_elsewhere_fails_the_job_and_the_writer_goes_on() {
    let directory = tempfile::tempdir().expect("temp dir");
    let path = directory.path().join("locked.db");
    let connection = connect(&path);
    connection
        .busy_timeout(Duration::from_millis(50))
        .expect("timeout");
    let writer = Writer::spawn(connection, |_| {}).expect("writer");

    let other = connect(&path);
    other.execute_batch("BEGIN IMMEDIATE").expect("lock");
    let refused = writer.write(|c| insert(c, 1)).await;
    assert!(
        matches!(&refused, Err(StoreError::Database(why)) if why.contains("locked")),
        "{refused:?}"
    );
    other.execute_batch("COMMIT").expect("unlock");
    writer.write(|c| insert(c, 2)).await.expect("write");
    assert_eq!(committed(&path), vec![2]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkpoint_runs_alone_after_the_writes_before_it() {
    let directory = tempfile::tempdir().expect("temp dir");
    let path = directory.path().join("alone.db");
    let writer = writer(&path);
    let release = hold_writer(&writer).await;
    let queued = spawn_write(&writer, |c| insert(c, 1));
    until_pending(&writer, 2).await;
    let checkpoint = {
        let writer = Arc::clone(&writer);
        tokio::spawn(async move {
            writer
                .write_alone(|c| {
                    // Refused inside a transaction ("database table is locked").
                    let busy: i64 =
                        c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| row.get(0))?;
                    Ok(busy)
                })
                .await
        })
    };
    until_pending(&writer, 3).await;
    release.send(()).expect("release");

    queued.await.expect("join").expect("write");
    assert_eq!(checkpoint.await.expect("join").expect("checkpoint"), 0);
    let log = std::fs::metadata(directory.path().join("alone.db-wal")).expect("log");
    assert_eq!(
        log.len(),
        0,
        "the log was truncated after the write before it"
    );
    assert_eq!(committed(&path), vec![1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_is_answered_before_the_upkeep_after_it() {
    let directory = tempfile::tempdir().expect("temp dir");
    let path = directory.path().join("upkeep.db");
    let (upkeep_started, started) = mpsc::channel::<()>();
    let (finish_upkeep, finish) = mpsc::channel::<()>();
    let writer = Writer::spawn(connect(&path), move |_| {
        let _ = upkeep_started.send(());
        let _ = finish.recv();
    })
    .expect("writer");

    let answered = tokio::time::timeout(Duration::from_secs(10), writer.write(|c| insert(c, 1)))
        .await
        .expect("answered while the upkeep after its group still runs");
    answered.expect("write");
    started
        .recv_timeout(Duration::from_secs(10))
        .expect("the upkeep ran after the group");
    finish_upkeep.send(()).expect("finish");
    assert_eq!(committed(&path), vec![1]);
}
