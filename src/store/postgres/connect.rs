//! The PostgreSQL connection pool, migrations under an advisory lock, and
//! the mapping of driver errors to store errors.

use std::str::FromStr;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::error::SqlState;

use super::tls::TlsSettings;
use crate::store::StoreError;

/// How long a request waits for a free connection, a new connection may take
/// to open, and a returned one may take to be checked.
const POOL_TIMEOUT: Duration = Duration::from_secs(5);
/// The connect timeout used when the URL sets none.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Unacknowledged data older than this closes the connection (Linux
/// `TCP_USER_TIMEOUT`), so a database that vanishes without a reset fails
/// requests in seconds rather than hanging them until TCP gives up.
const TCP_USER_TIMEOUT: Duration = Duration::from_secs(10);
/// Serialises migrations of every instance on one database (any fixed number
/// works; this one spells "neptun" in ASCII).
const MIGRATION_LOCK_KEY: i64 = 0x6e65_7074_756e;

/// Every migration in order: (number, SQL). Numbers match the SQLite set.
const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        include_str!("../../../migrations/postgres/0001_accounts.sql"),
    ),
    (
        2,
        include_str!("../../../migrations/postgres/0002_throttle.sql"),
    ),
    (
        3,
        include_str!("../../../migrations/postgres/0003_history.sql"),
    ),
    (
        4,
        include_str!("../../../migrations/postgres/0004_mail.sql"),
    ),
    (
        5,
        include_str!("../../../migrations/postgres/0005_passkeys.sql"),
    ),
    (
        6,
        include_str!("../../../migrations/postgres/0006_identities.sql"),
    ),
    (
        7,
        include_str!("../../../migrations/postgres/0007_second_factor.sql"),
    ),
];

/// Builds the pool for `url` without connecting yet; the URL's `sslmode`
/// and `sslrootcert` choose the TLS checks (see `tls`).
pub fn pool(url: &str, max_connections: usize) -> Result<Pool, StoreError> {
    let invalid = |err: String| StoreError::Database(format!("invalid PostgreSQL URL: {err}"));
    let tls = TlsSettings::from_url(url).map_err(invalid)?;
    let mut config = tokio_postgres::Config::from_str(tls.driver_url())
        .map_err(|err| invalid(err.to_string()))?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    if config.get_tcp_user_timeout().is_none() {
        config.tcp_user_timeout(TCP_USER_TIMEOUT);
    }
    config.application_name("neptun-accounts");
    let connector = tls.connector().map_err(StoreError::Database)?;
    let manager = Manager::from_config(
        config,
        connector,
        ManagerConfig {
            // A broken connection is noticed by the query that meets it and
            // then dropped by the pool; no extra round trip per checkout.
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(max_connections)
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(POOL_TIMEOUT))
        .create_timeout(Some(POOL_TIMEOUT))
        .recycle_timeout(Some(POOL_TIMEOUT))
        .build()
        .map_err(|err| StoreError::Database(err.to_string()))
}

/// Brings the schema (in the connection's `search_path`) to the newest
/// version, holding a transaction-scoped advisory lock so that instances
/// starting together take turns.
pub async fn migrate(pool: &Pool) -> Result<(), StoreError> {
    let mut client = pool.get().await.map_err(unreachable)?;
    let transaction = client.transaction().await.map_err(from_driver)?;
    transaction
        .execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK_KEY])
        .await
        .map_err(from_driver)?;
    transaction
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version    BIGINT NOT NULL PRIMARY KEY,
                 applied_at BIGINT NOT NULL
             )",
        )
        .await
        .map_err(from_driver)?;
    let applied: Vec<i64> = transaction
        .query("SELECT version FROM schema_migrations", &[])
        .await
        .map_err(from_driver)?
        .iter()
        .map(|row| row.get(0))
        .collect();
    let newest = MIGRATIONS.last().map_or(0, |(version, _)| *version);
    if let Some(current) = applied.iter().copied().max().filter(|max| *max > newest) {
        return Err(StoreError::Database(format!(
            "the database schema is at version {current}, newer than this binary's {newest}"
        )));
    }
    // Numbers may have gaps: every listed number not yet recorded runs, in
    // order, so a later-merged lower number still runs after higher ones.
    for (version, sql) in MIGRATIONS
        .iter()
        .filter(|(version, _)| !applied.contains(version))
    {
        transaction.batch_execute(sql).await.map_err(from_driver)?;
        transaction
            .execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
                &[version, &crate::domain::time::Timestamp::now().as_millis()],
            )
            .await
            .map_err(from_driver)?;
    }
    transaction.commit().await.map_err(from_driver)
}

/// A pool that could not hand out a connection.
pub fn unreachable(err: deadpool_postgres::PoolError) -> StoreError {
    StoreError::Database(format!(
        "cannot reach PostgreSQL: {}",
        describe_pool_error(&err)
    ))
}

fn describe_pool_error(err: &deadpool_postgres::PoolError) -> String {
    match err {
        deadpool_postgres::PoolError::Backend(driver) => describe_driver_error(driver),
        other => other.to_string(),
    }
}

fn describe_driver_error(err: &tokio_postgres::Error) -> String {
    // The top-level message of a connection error is only "error connecting
    // to server"; the cause says which (refused, timed out, auth …).
    match std::error::Error::source(err) {
        Some(cause) => match super::tls::hint(cause) {
            Some(hint) => format!("{err}: {cause} ({hint})"),
            None => format!("{err}: {cause}"),
        },
        None => err.to_string(),
    }
}

/// Maps a driver error to the store's own: the unique index on the email and
/// the user foreign key have meanings of their own.
pub fn from_driver(err: tokio_postgres::Error) -> StoreError {
    if let Some(db) = err.as_db_error() {
        if *db.code() == SqlState::UNIQUE_VIOLATION && db.constraint() == Some("users_email_key") {
            return StoreError::EmailTaken;
        }
        if *db.code() == SqlState::UNIQUE_VIOLATION
            && db.constraint() == Some("passkeys_credential_id_key")
        {
            return StoreError::PasskeyTaken;
        }
        if *db.code() == SqlState::UNIQUE_VIOLATION
            && db.constraint() == Some("identities_provider_subject_key")
        {
            return StoreError::IdentityTaken;
        }
        if *db.code() == SqlState::FOREIGN_KEY_VIOLATION {
            return StoreError::UserNotFound;
        }
    }
    StoreError::Database(describe_driver_error(&err))
}
