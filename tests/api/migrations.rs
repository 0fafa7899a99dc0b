use crate::backend::{Backend, TestDatabase};
use crate::process::ServerProcess;

backend_test!(several_processes_starting_on_one_new_database_migrate_it_once);
async fn several_processes_starting_on_one_new_database_migrate_it_once(backend: Backend) {
    let database = backend.fresh_database().await;
    let url = database.url();

    let starters: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || ServerProcess::start(&url, &[]))
        })
        .collect();
    let servers: Vec<ServerProcess> = starters.into_iter().map(|s| s.join().unwrap()).collect();

    for server in &servers {
        let health = reqwest::get(format!("{}/health", server.base_url()))
            .await
            .unwrap();
        assert_eq!(health.status(), 200, "every process serves");
    }
    assert_each_migration_applied_once(&database).await;
}

backend_test!(a_restart_on_an_existing_database_does_not_migrate_again);
async fn a_restart_on_an_existing_database_does_not_migrate_again(backend: Backend) {
    let database = backend.fresh_database().await;
    ServerProcess::start(&database.url(), &[]).kill();

    let second = ServerProcess::start(&database.url(), &[]);

    assert_each_migration_applied_once(&database).await;
    second.kill();
}

/// How many migrations ship; both backends number theirs alike.
fn shipped_migrations() -> i64 {
    let folder = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite");
    let files = std::fs::read_dir(folder)
        .expect("migrations folder")
        .filter(|entry| {
            entry
                .as_ref()
                .is_ok_and(|entry| entry.path().extension().is_some_and(|ext| ext == "sql"))
        })
        .count();
    i64::try_from(files).expect("a small number")
}

/// Every shipped migration is recorded (its version is the table's key, so
/// a second run of one would have failed the process that ran it).
async fn assert_each_migration_applied_once(database: &TestDatabase) {
    let applied = database
        .query_i64("SELECT COUNT(*) FROM schema_migrations", &[])
        .await;
    assert_eq!(applied, Some(shipped_migrations()));
}

#[tokio::test]
async fn the_sqlite_database_runs_in_wal_mode() {
    let database = Backend::Sqlite.fresh_database().await;
    let server = ServerProcess::start(&database.url(), &[]);

    let mode = database.query_text("PRAGMA journal_mode", &[]).await;

    assert_eq!(mode.as_deref(), Some("wal"));
    server.kill();
}

/// Several processes racing to put a new file into WAL mode must all start:
/// the switch waits for the others instead of failing with "database is
/// locked". A race shows rarely, so the start is repeated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_processes_starting_at_once_on_a_new_sqlite_file_all_start_twenty_times_in_a_row() {
    for round in 0..20 {
        let database = Backend::Sqlite.fresh_database().await;
        let url = database.url();
        let gate = std::sync::Arc::new(std::sync::Barrier::new(8));
        let starters: Vec<_> = (0..8)
            .map(|_| {
                let (url, gate) = (url.clone(), std::sync::Arc::clone(&gate));
                std::thread::spawn(move || {
                    gate.wait();
                    ServerProcess::start(&url, &[])
                })
            })
            .collect();

        let started: Vec<_> = starters
            .into_iter()
            .map(std::thread::JoinHandle::join)
            .collect();

        let failures = started.iter().filter(|start| start.is_err()).count();
        assert_eq!(
            failures, 0,
            "round {round}: a process did not start (its log is above)"
        );
        assert_each_migration_applied_once(&database).await;
    }
}
