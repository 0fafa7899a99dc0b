//! The throttle's rows in SQLite. A reservation is a read and a write in one
//! `BEGIN IMMEDIATE` transaction on the writer connection, so it is atomic
//! within this process (one writer thread) and across processes (the
//! database's write lock).

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension};

use super::SqliteStore;
use crate::domain::email::Email;
use crate::domain::throttle::{self, FailureRecord};
use crate::domain::time::Timestamp;
use crate::domain::user::UserId;
use crate::store::throttle::{PasswordCheckReservation, ThrottleStore};
use crate::store::{PasswordChangeLimit, StoreError};

/// Counts the user's recent password changes and records this one, or
/// refuses it when the cap is reached.
pub(super) fn record_password_change(
    connection: &Connection,
    user_id: &UserId,
    limit: PasswordChangeLimit,
    now: Timestamp,
) -> Result<(), StoreError> {
    let (count, oldest) = count_password_changes(connection, user_id, limit.since)?;
    if count >= limit.max {
        return Err(StoreError::TooManyPasswordChanges {
            oldest: oldest.unwrap_or(now),
        });
    }
    connection
        .prepare_cached("INSERT INTO password_changes (user_id, changed_at) VALUES (?1, ?2)")?
        .execute((user_id.as_str(), now.as_millis()))?;
    Ok(())
}

fn count_password_changes(
    connection: &Connection,
    user_id: &UserId,
    since: Timestamp,
) -> rusqlite::Result<(u32, Option<Timestamp>)> {
    connection
        .prepare_cached(
            "SELECT COUNT(*), MIN(changed_at) FROM password_changes WHERE user_id = ?1 AND changed_at > ?2",
        )?
        .query_row((user_id.as_str(), since.as_millis()), |row| {
            Ok((
                row.get::<_, u32>(0)?,
                row.get::<_, Option<i64>>(1)?.map(Timestamp::from_millis),
            ))
        })
}

#[async_trait]
impl ThrottleStore for SqliteStore {
    async fn reserve_password_check(
        &self,
        email: &Email,
        now: Timestamp,
    ) -> Result<PasswordCheckReservation, StoreError> {
        let email = email.clone();
        self.writer
            .write(move |connection| {
                let transaction =
                    connection.savepoint()?;
                let record = transaction
                    .prepare_cached(
                        "SELECT failures, last_failure_at FROM password_failures WHERE email = ?1",
                    )?
                    .query_row([email.as_str()], |row| {
                        Ok(FailureRecord {
                            failures: row.get(0)?,
                            last_failure_at: Timestamp::from_millis(row.get(1)?),
                        })
                    })
                    .optional()?;
                if let Some(wait) = throttle::retry_after(record, now) {
                    return Ok(PasswordCheckReservation::Wait(wait));
                }
                transaction
                    .prepare_cached(
                        "INSERT INTO password_failures (email, failures, last_failure_at) VALUES (?1, 1, ?2)
                         ON CONFLICT (email) DO UPDATE
                         SET failures = password_failures.failures + 1, last_failure_at = excluded.last_failure_at",
                    )?
                    .execute((email.as_str(), now.as_millis()))?;
                transaction.commit()?;
                Ok(PasswordCheckReservation::Reserved)
            })
            .await
    }

    async fn release_password_check(&self, email: &Email) -> Result<(), StoreError> {
        let email = email.clone();
        self.writer
            .write(move |connection| {
                connection
                    .prepare_cached(
                        "UPDATE password_failures SET failures = failures - 1
                         WHERE email = ?1 AND failures > 0",
                    )?
                    .execute([email.as_str()])?;
                Ok(())
            })
            .await
    }

    async fn clear_password_failures(&self, email: &Email) -> Result<(), StoreError> {
        let email = email.clone();
        self.writer
            .write(move |connection| {
                connection
                    .prepare_cached("DELETE FROM password_failures WHERE email = ?1")?
                    .execute([email.as_str()])?;
                Ok(())
            })
            .await
    }

    async fn password_changes_since(
        &self,
        user_id: &UserId,
        since: Timestamp,
    ) -> Result<(u32, Option<Timestamp>), StoreError> {
        let user_id = user_id.clone();
        self.readers
            .read(move |connection| Ok(count_password_changes(connection, &user_id, since)?))
            .await
    }

    async fn delete_stale_throttle_records(
        &self,
        failures_before: Timestamp,
        changes_before: Timestamp,
    ) -> Result<u64, StoreError> {
        self.writer
            .write(move |connection| {
                let transaction = connection.savepoint()?;
                let failures = transaction
                    .prepare_cached("DELETE FROM password_failures WHERE last_failure_at < ?1")?
                    .execute([failures_before.as_millis()])?;
                let changes = transaction
                    .prepare_cached("DELETE FROM password_changes WHERE changed_at < ?1")?
                    .execute([changes_before.as_millis()])?;
                transaction.commit()?;
                Ok((failures + changes) as u64)
            })
            .await
    }
}
