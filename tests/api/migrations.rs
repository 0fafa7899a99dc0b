use crate::backend::Backend;
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
    let applied = database
        .query_i64(
            "SELECT COUNT(*) FROM schema_migrations WHERE version = 1",
            &[],
        )
        .await;
    assert_eq!(applied, Some(1), "each migration ran exactly once");
    let total = database
        .query_i64("SELECT COUNT(*) FROM schema_migrations", &[])
        .await;
    assert_eq!(total, Some(1));
}

backend_test!(a_restart_on_an_existing_database_does_not_migrate_again);
async fn a_restart_on_an_existing_database_does_not_migrate_again(backend: Backend) {
    let database = backend.fresh_database().await;
    ServerProcess::start(&database.url(), &[]).kill();

    let second = ServerProcess::start(&database.url(), &[]);

    let applied = database
        .query_i64("SELECT COUNT(*) FROM schema_migrations", &[])
        .await;
    assert_eq!(applied, Some(1));
    second.kill();
}

#[tokio::test]
async fn the_sqlite_database_runs_in_wal_mode() {
    let database = Backend::Sqlite.fresh_database().await;
    let server = ServerProcess::start(&database.url(), &[]);

    let mode = database.query_text("PRAGMA journal_mode", &[]).await;

    assert_eq!(mode.as_deref(), Some("wal"));
    server.kill();
}
