//! The outbox on PostgreSQL: mails queued inside the transaction of their
//! change, claimed with `FOR UPDATE SKIP LOCKED` and a lease, so any number
//! of instances send each mail once; and the server key's check row.

use std::time::Duration;

use deadpool_postgres::GenericClient;

use super::PostgresStore;
use super::connect::from_driver;
use crate::domain::time::Timestamp;
use crate::store::StoreError;
use crate::store::mail::{ClaimedMail, Delivery, NewUndoLink, OutboxMail};

/// Queues `mail` inside the caller's transaction.
pub(super) async fn insert_mail(
    client: &impl GenericClient,
    mail: &OutboxMail,
) -> Result<(), StoreError> {
    client
        .execute(
            "INSERT INTO outbox (id, recipient, subject, sealed_body, status, next_attempt_at, created_at)
             VALUES ($1, $2, $3, $4, 'queued', $5, $5)",
            &[
                &mail.id,
                &mail.to,
                &mail.subject,
                &mail.sealed_body,
                &mail.created_at.as_millis(),
            ],
        )
        .await
        .map_err(from_driver)?;
    Ok(())
}

/// Stores the undo link of an email change inside the caller's transaction.
pub(super) async fn insert_undo_link(
    client: &impl GenericClient,
    user_id: &str,
    link: &NewUndoLink,
    now: Timestamp,
) -> Result<(), StoreError> {
    client
        .execute(
            "INSERT INTO email_change_undo (token_hash, user_id, old_email, new_email, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &link.token_hash.0.as_slice(),
                &user_id,
                &link.old_email.as_str(),
                &link.new_email.as_str(),
                &now.as_millis(),
                &link.expires_at.as_millis(),
            ],
        )
        .await
        .map_err(from_driver)?;
    Ok(())
}

impl PostgresStore {
    pub(super) async fn outbox_key_check(&self, sealed: Vec<u8>) -> Result<Vec<u8>, StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO server_key_check (id, sealed) VALUES (1, $1) ON CONFLICT (id) DO NOTHING",
                &[&sealed],
            )
            .await
            .map_err(from_driver)?;
        let row = client
            .query_one("SELECT sealed FROM server_key_check WHERE id = 1", &[])
            .await
            .map_err(from_driver)?;
        Ok(row.get(0))
    }

    pub(super) async fn outbox_claim(
        &self,
        now: Timestamp,
        lease: Duration,
        batch: u32,
    ) -> Result<Vec<ClaimedMail>, StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(
                "WITH due AS (
                     SELECT id FROM outbox
                     WHERE status = 'queued' AND next_attempt_at <= $1
                       AND (lease_until IS NULL OR lease_until <= $1)
                     ORDER BY next_attempt_at LIMIT $3
                     FOR UPDATE SKIP LOCKED)
                 UPDATE outbox AS o SET lease_until = $2, attempts = o.attempts + 1
                 FROM due WHERE o.id = due.id
                 RETURNING o.id, o.recipient, o.subject, o.sealed_body, o.attempts, o.created_at",
            )
            .await
            .map_err(from_driver)?;
        let rows = client
            .query(
                &statement,
                &[
                    &now.as_millis(),
                    &now.plus(lease).as_millis(),
                    &i64::from(batch),
                ],
            )
            .await
            .map_err(from_driver)?;
        Ok(rows
            .iter()
            .map(|row| ClaimedMail {
                id: row.get(0),
                to: row.get(1),
                subject: row.get(2),
                sealed_body: row.get(3),
                attempts: u32::try_from(row.get::<_, i64>(4)).unwrap_or(u32::MAX),
                created_at: Timestamp::from_millis(row.get(5)),
            })
            .collect())
    }

    pub(super) async fn outbox_finish(
        &self,
        id: &str,
        delivery: Delivery,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        let done = match &delivery {
            Delivery::Sent => {
                client
                    .execute(
                        "UPDATE outbox SET status = 'sent', sealed_body = NULL, lease_until = NULL,
                                           finished_at = $2, last_error = NULL WHERE id = $1",
                        &[&id, &now.as_millis()],
                    )
                    .await
            }
            Delivery::Retry { at, error } => client
                .execute(
                    "UPDATE outbox SET next_attempt_at = $2, lease_until = NULL, last_error = $3
                         WHERE id = $1",
                    &[&id, &at.as_millis(), error],
                )
                .await,
            Delivery::Failed { error } => client
                .execute(
                    "UPDATE outbox SET status = 'failed', sealed_body = NULL, lease_until = NULL,
                                           finished_at = $2, last_error = $3 WHERE id = $1",
                    &[&id, &now.as_millis(), error],
                )
                .await,
        };
        done.map_err(from_driver)?;
        Ok(())
    }

    pub(super) async fn outbox_queued(&self) -> Result<u64, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_one("SELECT COUNT(*) FROM outbox WHERE status = 'queued'", &[])
            .await
            .map_err(from_driver)?;
        Ok(u64::try_from(row.get::<_, i64>(0)).unwrap_or(0))
    }
}
