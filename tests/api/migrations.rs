use crate::process::ServerProcess;

#[tokio::test]
async fn several_processes_starting_on_one_new_database_migrate_it_once() {
    let folder = tempfile::tempdir().unwrap();
    let database = folder.path().join("shared.db");

    let starters: Vec<_> = (0..4)
        .map(|_| {
            let database = database.clone();
            std::thread::spawn(move || ServerProcess::start(&database, &[]))
        })
        .collect();
    let servers: Vec<ServerProcess> = starters.into_iter().map(|s| s.join().unwrap()).collect();

    for server in &servers {
        let health = reqwest::get(format!("{}/health", server.base_url()))
            .await
            .unwrap();
        assert_eq!(health.status(), 200, "every process serves");
    }
    let db = rusqlite::Connection::open(&database).unwrap();
    let applied: Vec<i64> = db
        .prepare("SELECT version FROM schema_migrations ORDER BY version")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(applied, vec![1], "each migration ran exactly once");
    let mode: String = db
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn a_restart_on_an_existing_database_does_not_migrate_again() {
    let folder = tempfile::tempdir().unwrap();
    let database = folder.path().join("restart.db");
    let first = ServerProcess::start(&database, &[]);
    first.kill();

    let second = ServerProcess::start(&database, &[]);

    let db = rusqlite::Connection::open(&database).unwrap();
    let applied: i64 = db
        .query_row("SELECT COUNT(*) FROM schema_migrations", [], |row| {
            row.get(0)
        })
        .unwrap();
    assert_eq!(applied, 1);
    second.kill();
}
