//! The throttle's rows in PostgreSQL. A reservation makes sure the email's
//! row exists, then locks it (`FOR UPDATE`) for the look and the count, so
//! concurrent attempts through any number of instances take turns.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;

use super::PostgresStore;
use super::connect::from_driver;
use crate::domain::email::Email;
use crate::domain::throttle::{self, FailureRecord};
use crate::domain::time::Timestamp;
use crate::domain::user::UserId;
use crate::store::throttle::{PasswordCheckReservation, ThrottleStore};
use crate::store::{PasswordChangeLimit, StoreError};

/// Counts the user's recent password changes and records this one, or
/// refuses it when the cap is reached.
pub(super) async fn record_password_change(
    transaction: &deadpool_postgres::Transaction<'_>,
    user_id: &UserId,
    limit: PasswordChangeLimit,
    now: Timestamp,
) -> Result<(), StoreError> {
    let (count, oldest) = count_password_changes(transaction, user_id, limit.since).await?;
    if count >= limit.max {
        return Err(StoreError::TooManyPasswordChanges {
            oldest: oldest.unwrap_or(now),
        });
    }
    let statement = transaction
        .prepare_cached("INSERT INTO password_changes (user_id, changed_at) VALUES ($1, $2)")
        .await
        .map_err(from_driver)?;
    transaction
        .execute(&statement, &[&user_id.as_str(), &now.as_millis()])
        .await
        .map_err(from_driver)?;
    Ok(())
}

async fn count_password_changes(
    client: &impl GenericClient,
    user_id: &UserId,
    since: Timestamp,
) -> Result<(u32, Option<Timestamp>), StoreError> {
    let statement = client
        .prepare_cached(
            "SELECT COUNT(*), MIN(changed_at) FROM password_changes WHERE user_id = $1 AND changed_at > $2",
        )
        .await
        .map_err(from_driver)?;
    let row = client
        .query_one(&statement, &[&user_id.as_str(), &since.as_millis()])
        .await
        .map_err(from_driver)?;
    let count: i64 = row.get(0);
    let oldest: Option<i64> = row.get(1);
    Ok((
        u32::try_from(count).unwrap_or(u32::MAX),
        oldest.map(Timestamp::from_millis),
    ))
}

#[async_trait]
impl ThrottleStore for PostgresStore {
    async fn reserve_password_check(
        &self,
        email: &Email,
        now: Timestamp,
    ) -> Result<PasswordCheckReservation, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(from_driver)?;
        // A row with no failures yet: something to lock, even for a new email.
        let ensure = transaction
            .prepare_cached(
                "INSERT INTO password_failures (email, failures, last_failure_at) VALUES ($1, 0, $2)
                 ON CONFLICT (email) DO NOTHING",
            )
            .await
            .map_err(from_driver)?;
        transaction
            .execute(&ensure, &[&email.as_str(), &now.as_millis()])
            .await
            .map_err(from_driver)?;
        let lock = transaction
            .prepare_cached(
                "SELECT failures, last_failure_at FROM password_failures WHERE email = $1 FOR UPDATE",
            )
            .await
            .map_err(from_driver)?;
        let row = transaction
            .query_one(&lock, &[&email.as_str()])
            .await
            .map_err(from_driver)?;
        let record = FailureRecord {
            failures: u32::try_from(row.get::<_, i64>(0)).unwrap_or(u32::MAX),
            last_failure_at: Timestamp::from_millis(row.get(1)),
        };
        if let Some(wait) = throttle::retry_after(Some(record), now) {
            transaction.rollback().await.map_err(from_driver)?;
            return Ok(PasswordCheckReservation::Wait(wait));
        }
        let count = transaction
            .prepare_cached(
                "UPDATE password_failures SET failures = failures + 1, last_failure_at = $2
                 WHERE email = $1",
            )
            .await
            .map_err(from_driver)?;
        transaction
            .execute(&count, &[&email.as_str(), &now.as_millis()])
            .await
            .map_err(from_driver)?;
        transaction.commit().await.map_err(from_driver)?;
        Ok(PasswordCheckReservation::Reserved)
    }

    async fn release_password_check(&self, email: &Email) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "UPDATE password_failures SET failures = failures - 1
                 WHERE email = $1 AND failures > 0",
                &[&email.as_str()],
            )
            .await
            .map_err(from_driver)?;
        Ok(())
    }

    async fn clear_password_failures(&self, email: &Email) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "DELETE FROM password_failures WHERE email = $1",
                &[&email.as_str()],
            )
            .await
            .map_err(from_driver)?;
        Ok(())
    }

    async fn password_changes_since(
        &self,
        user_id: &UserId,
        since: Timestamp,
    ) -> Result<(u32, Option<Timestamp>), StoreError> {
        let client = self.client().await?;
        count_password_changes(&client, user_id, since).await
    }

    async fn delete_stale_throttle_records(
        &self,
        failures_before: Timestamp,
        changes_before: Timestamp,
    ) -> Result<u64, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(from_driver)?;
        let failures = transaction
            .execute(
                "DELETE FROM password_failures WHERE last_failure_at < $1",
                &[&failures_before.as_millis()],
            )
            .await
            .map_err(from_driver)?;
        let changes = transaction
            .execute(
                "DELETE FROM password_changes WHERE changed_at < $1",
                &[&changes_before.as_millis()],
            )
            .await
            .map_err(from_driver)?;
        transaction.commit().await.map_err(from_driver)?;
        Ok(failures + changes)
    }
}
