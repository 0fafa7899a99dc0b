//! The outbox on SQLite: mails queued inside the transaction of their
//! change, claimed by the sender through the single writer (which makes a
//! claim atomic across processes too), and the server key's check row.

use std::time::Duration;

use rusqlite::{Connection, OptionalExtension};

use super::SqliteStore;
use crate::domain::time::Timestamp;
use crate::store::StoreError;
use crate::store::mail::{ClaimedMail, Delivery, NewUndoLink, OutboxMail};

/// Queues `mail` inside the caller's transaction.
pub(super) fn insert_mail(connection: &Connection, mail: &OutboxMail) -> rusqlite::Result<()> {
    connection
        .prepare_cached(
            "INSERT INTO outbox (id, recipient, subject, sealed_body, status, next_attempt_at, created_at)
             VALUES (?1, ?2, ?3, ?4, 'queued', ?5, ?5)",
        )?
        .execute((
            &mail.id,
            &mail.to,
            &mail.subject,
            &mail.sealed_body,
            mail.created_at.as_millis(),
        ))?;
    Ok(())
}

/// Stores the undo link of an email change inside the caller's transaction.
pub(super) fn insert_undo_link(
    connection: &Connection,
    user_id: &str,
    link: &NewUndoLink,
    now: Timestamp,
) -> rusqlite::Result<()> {
    connection
        .prepare_cached(
            "INSERT INTO email_change_undo (token_hash, user_id, old_email, new_email, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute((
            link.token_hash.0.as_slice(),
            user_id,
            link.old_email.as_str(),
            link.new_email.as_str(),
            now.as_millis(),
            link.expires_at.as_millis(),
        ))?;
    Ok(())
}

impl SqliteStore {
    pub(super) async fn outbox_key_check(&self, sealed: Vec<u8>) -> Result<Vec<u8>, StoreError> {
        self.writer
            .write(move |connection| {
                connection
                    .prepare_cached(
                        "INSERT INTO server_key_check (id, sealed) VALUES (1, ?1) ON CONFLICT (id) DO NOTHING",
                    )?
                    .execute([&sealed])?;
                let stored: Vec<u8> = connection
                    .prepare_cached("SELECT sealed FROM server_key_check WHERE id = 1")?
                    .query_row([], |row| row.get(0))?;
                Ok(stored)
            })
            .await
    }

    pub(super) async fn outbox_claim(
        &self,
        now: Timestamp,
        lease: Duration,
        batch: u32,
    ) -> Result<Vec<ClaimedMail>, StoreError> {
        // A cheap read first: an idle outbox costs no write.
        let due = self
            .readers
            .read(move |connection| {
                Ok(connection
                    .prepare_cached(
                        "SELECT 1 FROM outbox WHERE status = 'queued' AND next_attempt_at <= ?1
                           AND (lease_until IS NULL OR lease_until <= ?1) LIMIT 1",
                    )?
                    .query_row([now.as_millis()], |_| Ok(()))
                    .optional()?
                    .is_some())
            })
            .await?;
        if !due {
            return Ok(Vec::new());
        }
        let lease_until = now.plus(lease);
        self.writer
            .write(move |connection| {
                let mut statement = connection.prepare_cached(
                    "UPDATE outbox SET lease_until = ?2, attempts = attempts + 1
                     WHERE id IN (SELECT id FROM outbox
                                  WHERE status = 'queued' AND next_attempt_at <= ?1
                                    AND (lease_until IS NULL OR lease_until <= ?1)
                                  ORDER BY next_attempt_at LIMIT ?3)
                     RETURNING id, recipient, subject, sealed_body, attempts, created_at",
                )?;
                let rows = statement.query_map(
                    (now.as_millis(), lease_until.as_millis(), batch),
                    |row| {
                        Ok(ClaimedMail {
                            id: row.get(0)?,
                            to: row.get(1)?,
                            subject: row.get(2)?,
                            sealed_body: row.get(3)?,
                            attempts: row.get(4)?,
                            created_at: Timestamp::from_millis(row.get(5)?),
                        })
                    },
                )?;
                Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
            })
            .await
    }

    pub(super) async fn outbox_finish(
        &self,
        id: &str,
        delivery: Delivery,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let id = id.to_owned();
        self.writer
            .write(move |connection| {
                match delivery {
                    Delivery::Sent => connection
                        .prepare_cached(
                            "UPDATE outbox SET status = 'sent', sealed_body = NULL, lease_until = NULL,
                                               finished_at = ?2, last_error = NULL WHERE id = ?1",
                        )?
                        .execute((&id, now.as_millis()))?,
                    Delivery::Retry { at, error } => connection
                        .prepare_cached(
                            "UPDATE outbox SET next_attempt_at = ?2, lease_until = NULL, last_error = ?3
                             WHERE id = ?1",
                        )?
                        .execute((&id, at.as_millis(), error))?,
                    Delivery::Failed { error } => connection
                        .prepare_cached(
                            "UPDATE outbox SET status = 'failed', sealed_body = NULL, lease_until = NULL,
                                               finished_at = ?2, last_error = ?3 WHERE id = ?1",
                        )?
                        .execute((&id, now.as_millis(), error))?,
                };
                Ok(())
            })
            .await
    }

    pub(super) async fn outbox_queued(&self) -> Result<u64, StoreError> {
        self.readers
            .read(|connection| {
                let count: i64 = connection
                    .prepare_cached("SELECT COUNT(*) FROM outbox WHERE status = 'queued'")?
                    .query_row([], |row| row.get(0))?;
                Ok(u64::try_from(count).unwrap_or(0))
            })
            .await
    }
}
