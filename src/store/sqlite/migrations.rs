//! Numbered schema migrations, applied at start inside one `BEGIN IMMEDIATE`
//! transaction, so processes starting together take turns and each file runs
//! exactly once. Numbers may have gaps (a number can be reserved for work
//! that lands later): every listed number not yet recorded is applied, in
//! order, so a later-merged lower number still runs on a database that has
//! the higher ones.

use rusqlite::{Connection, TransactionBehavior};

use crate::store::StoreError;

/// Every migration in order: (number, SQL). Numbers match the PostgreSQL set.
const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        include_str!("../../../migrations/sqlite/0001_accounts.sql"),
    ),
    (
        2,
        include_str!("../../../migrations/sqlite/0002_throttle.sql"),
    ),
    (
        3,
        include_str!("../../../migrations/sqlite/0003_history.sql"),
    ),
    (4, include_str!("../../../migrations/sqlite/0004_mail.sql")),
    (
        5,
        include_str!("../../../migrations/sqlite/0005_passkeys.sql"),
    ),
    (
        6,
        include_str!("../../../migrations/sqlite/0006_identities.sql"),
    ),
    (
        7,
        include_str!("../../../migrations/sqlite/0007_second_factor.sql"),
    ),
];

/// Brings the schema to the newest version this binary knows.
pub fn migrate(connection: &mut Connection) -> Result<(), StoreError> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    transaction.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version    INTEGER NOT NULL PRIMARY KEY,
             applied_at INTEGER NOT NULL
         )",
    )?;
    let applied: Vec<i64> = transaction
        .prepare("SELECT version FROM schema_migrations")?
        .query_map([], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let newest = MIGRATIONS.last().map_or(0, |(version, _)| *version);
    if let Some(current) = applied.iter().copied().max().filter(|max| *max > newest) {
        return Err(StoreError::Database(format!(
            "the database schema is at version {current}, newer than this binary's {newest}"
        )));
    }
    for (version, sql) in MIGRATIONS
        .iter()
        .filter(|(version, _)| !applied.contains(version))
    {
        transaction.execute_batch(sql)?;
        transaction.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
            (version, crate::domain::time::Timestamp::now().as_millis()),
        )?;
    }
    transaction.commit()?;
    Ok(())
}
