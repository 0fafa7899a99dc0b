//! The PostgreSQL side of a run: a fresh database per size, created beside
//! the one `--database` names (so the benchmark never touches another
//! table) and dropped at the end, and its seeding with multi-row inserts
//! (`unnest` of arrays, 10,000 rows a statement, one transaction).

use std::future::Future;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use tokio_postgres::{Client, NoTls};

use crate::accounts::Accounts;
use crate::progress;
use crate::seed::{BENCH_ADDRESS, BENCH_USER_AGENT, SeedRow, seen_at};

/// PostgreSQL connections of the server's pool (`--database-max-connections`,
/// said rather than left to its default) and of the database ceilings.
pub const CONNECTIONS: usize = 10;

/// Rows per seeding statement.
const BATCH: u32 = 10_000;

/// A database made for one size of one run.
pub struct BenchDatabase {
    /// The URL `--database` named, where the database is created and dropped.
    admin_url: String,
    /// The same server, this database.
    pub url: String,
    pub name: String,
}

impl BenchDatabase {
    /// Creates `neptun_bench_PID_USERS` (dropping a leftover of that name).
    pub fn create(admin_url: &str, users: u32) -> anyhow::Result<Self> {
        let name = format!("neptun_bench_{}_{users}", std::process::id());
        let mut url = url::Url::parse(admin_url).context("--database is not a URL")?;
        url.set_path(&format!("/{name}"));
        block_on(async {
            let admin = connect(admin_url).await?;
            // Two statements: several in one string run as one transaction,
            // where neither may run.
            for statement in [
                format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                format!("CREATE DATABASE {name}"),
            ] {
                admin
                    .batch_execute(&statement)
                    .await
                    .with_context(|| format!("creating the database {name}"))?;
            }
            anyhow::Ok(())
        })?;
        Ok(Self {
            admin_url: admin_url.to_owned(),
            url: url.to_string(),
            name,
        })
    }

    /// Drops the database, closing what is still connected to it.
    pub fn drop_database(&self) -> anyhow::Result<()> {
        block_on(async {
            let admin = connect(&self.admin_url).await?;
            admin
                .batch_execute(&format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    self.name
                ))
                .await
                .with_context(|| format!("dropping the database {}", self.name))
        })
    }
}

/// The server's version (`SHOW server_version`), for the report.
pub fn server_version(url: &str) -> anyhow::Result<String> {
    block_on(async {
        let client = connect(url).await?;
        let row = client.query_one("SHOW server_version", &[]).await?;
        Ok(row.get(0))
    })
}

/// Connects without TLS (the benchmark's server is on loopback) and drives
/// the connection on the current runtime.
pub async fn connect(url: &str) -> anyhow::Result<Client> {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .with_context(|| format!("connecting to PostgreSQL at {}", without_password(url)))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

/// Runs `future` on a runtime of its own on this thread.
pub fn block_on<T>(future: impl Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(future)
}

/// `url` without its password, for messages and the report.
pub fn without_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

/// Inserts the users, sessions and devices [`crate::seed::seed`] inserts
/// into SQLite, then vacuums and analyses the tables; returns the time taken.
pub fn seed(
    url: &str,
    accounts: &Accounts,
    password_hash: &str,
    seen_ahead: Duration,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let seen_at = seen_at(accounts, seen_ahead);
    block_on(async {
        let mut client = connect(url).await?;
        let transaction = client.transaction().await?;
        transaction
            .batch_execute("SET LOCAL synchronous_commit = off")
            .await?;
        let insert_users = transaction
            .prepare(
                "INSERT INTO users (id, email, password_hash, created_at, updated_at)
                 SELECT id, email, $3, created_at, created_at
                 FROM unnest($1::text[], $2::text[], $4::bigint[]) AS t (id, email, created_at)",
            )
            .await?;
        let insert_sessions = transaction
            .prepare(
                "INSERT INTO sessions (token_hash, user_id, created_at, authenticated_at,
                                       last_seen_at, logged_in_at, public_id)
                 SELECT hash, user_id, created_at, created_at, $4, created_at, public_id
                 FROM unnest($1::bytea[], $2::text[], $3::bigint[], $5::text[])
                      AS t (hash, user_id, created_at, public_id)",
            )
            .await?;
        let insert_devices = transaction
            .prepare(
                "INSERT INTO session_devices (public_id, user_agent, address)
                 SELECT public_id, $2, $3 FROM unnest($1::text[]) AS t (public_id)",
            )
            .await?;
        let mut first = 0;
        while first < accounts.count {
            let rows: Vec<SeedRow> = (first..accounts.count.min(first + BATCH))
                .map(|index| SeedRow::of(accounts, index))
                .collect();
            first += BATCH;
            let ids: Vec<&str> = rows.iter().map(|row| row.user_id.as_str()).collect();
            let emails: Vec<&str> = rows.iter().map(|row| row.email.as_str()).collect();
            let created: Vec<i64> = rows.iter().map(|row| row.created_at).collect();
            let hashes: Vec<&[u8]> = rows.iter().map(|row| row.token_hash.as_slice()).collect();
            let public_ids: Vec<&str> = rows.iter().map(|row| row.public_id.as_str()).collect();
            transaction
                .execute(&insert_users, &[&ids, &emails, &password_hash, &created])
                .await?;
            transaction
                .execute(
                    &insert_sessions,
                    &[&hashes, &ids, &created, &seen_at, &public_ids],
                )
                .await?;
            transaction
                .execute(
                    &insert_devices,
                    &[&public_ids, &BENCH_USER_AGENT, &BENCH_ADDRESS],
                )
                .await?;
        }
        transaction.commit().await?;
        progress("PostgreSQL: VACUUM (ANALYZE) of the seeded tables");
        // Fresh statistics and visibility maps, as a database that has been
        // running a while has them.
        client
            .batch_execute("VACUUM (ANALYZE) users, sessions, session_devices")
            .await?;
        anyhow::Ok(())
    })
    .context("seeding PostgreSQL")?;
    Ok(started.elapsed())
}
