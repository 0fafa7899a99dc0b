//! The databases a test can run on: a fresh SQLite file always, and a fresh
//! PostgreSQL schema when `NEPTUN_TEST_POSTGRES_URL` names a server. Each
//! test body is written once and declared for both with `backend_test!`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use tempfile::TempDir;
use tokio::sync::OnceCell;

/// The environment variable that turns the PostgreSQL runs on.
pub const POSTGRES_URL_VAR: &str = "NEPTUN_TEST_POSTGRES_URL";
/// A file each PostgreSQL test that ran to its end appends its name to.
pub const POSTGRES_RAN_FILE_VAR: &str = "NEPTUN_TEST_POSTGRES_RAN_FILE";
/// Test schemas are named `neptun_test_<unix seconds>_<pid>_<n>`.
const SCHEMA_PREFIX: &str = "neptun_test_";
/// Schemas older than this were left by a run that died; swept at start.
const STALE_SCHEMA_SECS: u64 = 3600;

/// Declares `$name` (an `async fn(Backend)`) as two tests, `$name::sqlite`
/// and `$name::postgres`. The PostgreSQL one runs when the server URL is set;
/// under CI it must be, so it can never pass by being skipped there.
macro_rules! backend_test {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(crate::backend::Backend::Sqlite).await;
            }

            postgres_test!(@variant $name);
        }
    };
}

/// Declares `$name` (an `async fn(Backend)`) as one test, `$name::postgres`,
/// for what only PostgreSQL has. Skipped like the PostgreSQL half of
/// [`backend_test!`], and counted like it.
macro_rules! postgres_test {
    ($name:ident) => {
        mod $name {
            postgres_test!(@variant $name);
        }
    };
    (@variant $name:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn postgres() {
            let test = crate::backend::postgres_test_name(module_path!());
            if let Some(backend) = crate::backend::Backend::postgres_for(&test) {
                super::$name(backend).await;
                crate::backend::record_postgres_run(&test);
            }
        }
    };
}

/// Which database a test runs on.
#[derive(Clone, Debug)]
pub enum Backend {
    Sqlite,
    /// The server URL, without a schema.
    Postgres(String),
}

impl Backend {
    /// PostgreSQL for the test named `test`, if this run has a server for
    /// it. Otherwise the skip is said: a `SKIP` line for the test (seen with
    /// `--nocapture`) and, once per run, a note that is never captured.
    pub fn postgres_for(test: &str) -> Option<Self> {
        match std::env::var(POSTGRES_URL_VAR) {
            Ok(url) if !url.is_empty() => Some(Self::Postgres(url)),
            _ => {
                assert!(
                    std::env::var_os("CI").is_none(),
                    "{POSTGRES_URL_VAR} must be set under CI: PostgreSQL tests may not be skipped there"
                );
                eprintln!("SKIP {test}: set {POSTGRES_URL_VAR} to run it");
                note_skipping_once();
                None
            }
        }
    }

    /// A new, empty database of this kind.
    pub async fn fresh_database(&self) -> TestDatabase {
        let folder = tempfile::tempdir().expect("temporary folder");
        match self {
            Self::Sqlite => TestDatabase {
                place: Place::Sqlite(folder.path().join("accounts.db")),
                _folder: folder,
            },
            Self::Postgres(server_url) => {
                sweep_stale_schemas(server_url).await;
                let schema = new_schema_name();
                let client = connect(server_url).await;
                client
                    .batch_execute(&format!("CREATE SCHEMA {schema}"))
                    .await
                    .expect("create test schema");
                TestDatabase {
                    place: Place::Postgres {
                        server_url: server_url.clone(),
                        schema,
                    },
                    _folder: folder,
                }
            }
        }
    }
}

/// `api::x::y` (a test module's path) as the harness lists the test: `x::y::postgres`.
pub fn postgres_test_name(module_path: &str) -> String {
    let path = module_path
        .split_once("::")
        .map_or(module_path, |(_, path)| path);
    format!("{path}::postgres")
}

/// Appends `test` to the file named by [`POSTGRES_RAN_FILE_VAR`], if any:
/// called when a PostgreSQL test's body has run to its end, so CI can count
/// the tests that really ran rather than the ones that reported ok.
pub fn record_postgres_run(test: &str) {
    use std::io::Write as _;
    let Some(path) = std::env::var_os(POSTGRES_RAN_FILE_VAR) else {
        return;
    };
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .unwrap_or_else(|err| panic!("cannot open {}: {err}", path.to_string_lossy()));
    // One short appended line per write, so tests running at once never interleave.
    file.write_all(format!("{test}\n").as_bytes())
        .expect("record the PostgreSQL run");
}

/// Tells, once per run and past the harness's output capture, that the
/// PostgreSQL tests report ok without running.
fn note_skipping_once() {
    use std::io::Write as _;
    static NOTED: std::sync::Once = std::sync::Once::new();
    NOTED.call_once(|| {
        let _ = writeln!(
            std::io::stderr(),
            "note: {POSTGRES_URL_VAR} is not set: every ::postgres test is skipped and reports ok without running"
        );
    });
}

/// One test's database, removed when dropped.
pub struct TestDatabase {
    place: Place,
    /// Holds the SQLite file, and is removed with it.
    _folder: TempDir,
}

enum Place {
    Sqlite(PathBuf),
    Postgres { server_url: String, schema: String },
}

impl TestDatabase {
    /// The `--database-url` that reaches this database.
    pub fn url(&self) -> String {
        match &self.place {
            Place::Sqlite(path) => format!("sqlite://{}", path.display()),
            Place::Postgres { server_url, schema } => with_search_path(server_url, schema),
        }
    }

    /// The first column of the first row of `sql`, with text parameters `$1`….
    pub async fn query_i64(&self, sql: &str, params: &[&str]) -> Option<i64> {
        match &self.place {
            Place::Sqlite(path) => sqlite_row(path, sql, params, |row| row.get(0)),
            Place::Postgres { .. } => self.pg_row(sql, params).await.map(|row| row.get(0)),
        }
    }

    /// Like [`Self::query_i64`] for a text column.
    pub async fn query_text(&self, sql: &str, params: &[&str]) -> Option<String> {
        match &self.place {
            Place::Sqlite(path) => sqlite_row(path, sql, params, |row| row.get(0)),
            Place::Postgres { .. } => self.pg_row(sql, params).await.map(|row| row.get(0)),
        }
    }

    /// Like [`Self::query_i64`] for three integer columns.
    pub async fn query_three_i64(&self, sql: &str, params: &[&[u8]]) -> Option<(i64, i64, i64)> {
        match &self.place {
            Place::Sqlite(path) => {
                let db = rusqlite::Connection::open(path).expect("open test database");
                db.query_row(sql, rusqlite::params_from_iter(params.iter()), |row| {
                    Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                })
                .ok()
            }
            Place::Postgres { server_url, schema } => {
                let client = connect(&with_search_path(server_url, schema)).await;
                let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
                    params.iter().map(|param| param as _).collect();
                let row = client.query_opt(sql, &params).await.expect("query");
                row.map(|row| (row.get(0), row.get(1), row.get(2)))
            }
        }
    }

    /// Runs a statement with text parameters; returns the rows it changed.
    pub async fn execute(&self, sql: &str, params: &[&str]) -> u64 {
        match &self.place {
            Place::Sqlite(path) => {
                let db = rusqlite::Connection::open(path).expect("open test database");
                db.execute(sql, rusqlite::params_from_iter(params.iter()))
                    .expect("statement") as u64
            }
            Place::Postgres { server_url, schema } => {
                let client = connect(&with_search_path(server_url, schema)).await;
                let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
                    params.iter().map(|param| param as _).collect();
                client.execute(sql, &params).await.expect("statement")
            }
        }
    }

    async fn pg_row(&self, sql: &str, params: &[&str]) -> Option<tokio_postgres::Row> {
        let Place::Postgres { server_url, schema } = &self.place else {
            unreachable!("only called for PostgreSQL");
        };
        let client = connect(&with_search_path(server_url, schema)).await;
        let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
            params.iter().map(|param| param as _).collect();
        client.query_opt(sql, &params).await.expect("query")
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Place::Postgres { server_url, schema } = &self.place {
            let (server_url, schema) = (server_url.clone(), schema.clone());
            // Drop runs outside any runtime we could block on; use a thread of its own.
            let dropped = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                runtime.block_on(async {
                    let client = connect(&server_url).await;
                    let _ = client
                        .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                        .await;
                });
            });
            let _ = dropped.join();
        }
    }
}

fn sqlite_row<T>(
    path: &std::path::Path,
    sql: &str,
    params: &[&str],
    read: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> Option<T> {
    let db = rusqlite::Connection::open(path).expect("open test database");
    db.query_row(sql, rusqlite::params_from_iter(params.iter()), read)
        .ok()
}

/// `server_url` with the connection option that selects `schema`.
fn with_search_path(server_url: &str, schema: &str) -> String {
    let separator = if server_url.contains('?') { '&' } else { '?' };
    format!("{server_url}{separator}options=-c%20search_path%3D{schema}")
}

/// A plain (no TLS) connection to `url` as the tests' superuser.
pub async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|err| panic!("cannot connect to the test PostgreSQL server: {err}"));
    tokio::spawn(connection);
    client
}

fn new_schema_name() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let seconds = unix_seconds();
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{SCHEMA_PREFIX}{seconds}_{}_{n}", std::process::id())
}

fn unix_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

/// Drops test schemas that a crashed earlier run left behind, once per run.
async fn sweep_stale_schemas(server_url: &str) {
    static SWEPT: OnceCell<()> = OnceCell::const_new();
    SWEPT
        .get_or_init(|| async {
            let client = connect(server_url).await;
            let pattern = format!("{SCHEMA_PREFIX}%");
            let rows = client
                .query(
                    "SELECT nspname FROM pg_namespace WHERE nspname LIKE $1",
                    &[&pattern],
                )
                .await
                .expect("list test schemas");
            let cutoff = unix_seconds().saturating_sub(STALE_SCHEMA_SECS);
            for row in rows {
                let schema: String = row.get(0);
                let created = schema
                    .strip_prefix(SCHEMA_PREFIX)
                    .and_then(|rest| rest.split('_').next())
                    .and_then(|seconds| seconds.parse::<u64>().ok());
                if created.is_some_and(|created| created < cutoff) {
                    let _ = client
                        .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                        .await;
                }
            }
        })
        .await;
}
