//! The admin operations on SQLite: writes through the writer thread, reads
//! and the online backup on a read connection.

use std::path::Path;

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, Row};

use super::history::insert_event;
use super::{SqliteStore, insert_user};
use crate::domain::client::ClientOrigin;
use crate::domain::email::Email;
use crate::domain::event::{Actor, NewEvent};
use crate::domain::time::Timestamp;
use crate::domain::user::{User, UserId};
use crate::store::admin::{AccountKey, AccountSummary, AdminStore};
use crate::store::{NewUser, StoreError};

const SUMMARY: &str = "SELECT u.id, u.email, u.created_at,
        (SELECT COUNT(*) FROM sessions s WHERE s.user_id = u.id)
     FROM users u";

fn summary(row: &Row<'_>) -> rusqlite::Result<AccountSummary> {
    Ok(AccountSummary {
        user: User {
            id: UserId::from_trusted(row.get(0)?),
            email: Email::from_trusted(row.get(1)?),
        },
        created_at: Timestamp::from_millis(row.get(2)?),
        sessions: row.get::<_, i64>(3)?.try_into().unwrap_or_default(),
    })
}

fn end_sessions(connection: &Connection, user_id: &UserId) -> rusqlite::Result<u64> {
    let ended = connection
        .prepare_cached("DELETE FROM sessions WHERE user_id = ?1")?
        .execute([user_id.as_str()])?;
    Ok(ended as u64)
}

#[async_trait]
impl AdminStore for SqliteStore {
    async fn create_account(&self, user: NewUser) -> Result<(), StoreError> {
        self.writer
            .write(move |connection| Ok(insert_user(connection, &user)?))
            .await
    }

    async fn list_accounts(
        &self,
        after: Option<&UserId>,
        limit: u32,
    ) -> Result<Vec<AccountSummary>, StoreError> {
        let after = after.map_or_else(String::new, |id| id.as_str().to_owned());
        self.readers
            .read(move |connection| {
                let mut statement = connection
                    .prepare_cached(&format!("{SUMMARY} WHERE u.id > ?1 ORDER BY u.id LIMIT ?2"))?;
                let rows = statement.query_map((after, limit), summary)?;
                Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
            })
            .await
    }

    async fn find_account(&self, key: &AccountKey) -> Result<Option<AccountSummary>, StoreError> {
        let (column, value) = match key {
            AccountKey::Id(id) => ("u.id", id.as_str().to_owned()),
            AccountKey::Email(email) => ("u.email", email.as_str().to_owned()),
        };
        self.readers
            .read(move |connection| {
                Ok(connection
                    .prepare_cached(&format!("{SUMMARY} WHERE {column} = ?1"))?
                    .query_row([value], summary)
                    .optional()?)
            })
            .await
    }

    async fn set_password(
        &self,
        user_id: &UserId,
        password_hash: String,
        event: NewEvent,
    ) -> Result<Option<u64>, StoreError> {
        let user_id = user_id.clone();
        self.writer
            .write(move |connection| {
                let transaction = connection.savepoint()?;
                let changed = transaction
                    .prepare_cached(
                        "UPDATE users SET password_hash = ?2, updated_at = ?3 WHERE id = ?1",
                    )?
                    .execute((
                        user_id.as_str(),
                        &password_hash,
                        Timestamp::now().as_millis(),
                    ))?;
                if changed == 0 {
                    return Ok(None);
                }
                let ended = end_sessions(&transaction, &user_id)?;
                insert_event(&transaction, &event)?;
                transaction.commit()?;
                Ok(Some(ended))
            })
            .await
    }

    async fn set_email(
        &self,
        user_id: &UserId,
        email: &Email,
        event: NewEvent,
    ) -> Result<bool, StoreError> {
        let (user_id, email) = (user_id.clone(), email.clone());
        self.writer
            .write(move |connection| {
                let transaction = connection.savepoint()?;
                let changed = transaction
                    .prepare_cached("UPDATE users SET email = ?2, updated_at = ?3 WHERE id = ?1")?
                    .execute((user_id.as_str(), email.as_str(), event.at.as_millis()))?;
                if changed > 0 {
                    insert_event(&transaction, &event)?;
                }
                transaction.commit()?;
                Ok(changed > 0)
            })
            .await
    }

    async fn revoke_sessions(&self, user_id: &UserId, at: Timestamp) -> Result<u64, StoreError> {
        let user_id = user_id.clone();
        self.writer
            .write(move |connection| {
                let transaction = connection.savepoint()?;
                let ended = end_sessions(&transaction, &user_id)?;
                if ended > 0 {
                    let origin = ClientOrigin::default();
                    let event =
                        NewEvent::sessions_ended(&user_id, ended, Actor::Admin, at, &origin);
                    insert_event(&transaction, &event)?;
                }
                transaction.commit()?;
                Ok(ended)
            })
            .await
    }

    async fn backup(&self, destination: &Path) -> Result<(), StoreError> {
        let destination = destination.to_owned();
        self.readers
            .read(move |connection| {
                // All pages in one step: one read transaction, which in WAL
                // mode never blocks the service's writes, and is never
                // restarted by them as a page-by-page backup would be.
                let copy = || -> rusqlite::Result<()> {
                    let mut copy = Connection::open(&destination)?;
                    let backup = rusqlite::backup::Backup::new(connection, &mut copy)?;
                    loop {
                        match backup.step(-1)? {
                            rusqlite::backup::StepResult::Done => return Ok(()),
                            // Busy or locked by a writer of another process: again.
                            _ => std::thread::sleep(std::time::Duration::from_millis(50)),
                        }
                    }
                };
                copy().map_err(|err| {
                    StoreError::Database(format!(
                        "backup to {} failed: {err}",
                        destination.display()
                    ))
                })
            })
            .await
    }
}
