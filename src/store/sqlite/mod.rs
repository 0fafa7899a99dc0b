//! The embedded SQLite store (rusqlite, bundled SQLite): WAL, reads on a small
//! pool of connections, writes through one writer thread.

mod admin;
mod connection;
mod journal;
mod migrations;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior};

use self::connection::ReadPool;
use self::writer::Writer;
use super::{
    AccountUpdate, AccountUpdated, Credentials, NewUser, PasswordChangeLimit, PoolStatus,
    SessionWithUser, Store, StoreError,
};
use crate::config::SqliteSynchronous;
use crate::domain::email::Email;
use crate::domain::session::SessionRow;
use crate::domain::session_token::SessionTokenHash;
use crate::domain::throttle::FailureRecord;
use crate::domain::time::Timestamp;
use crate::domain::user::{User, UserId};

/// A SQLite database file shared by any number of processes.
pub struct SqliteStore {
    readers: Arc<ReadPool>,
    writer: Writer,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and migrates it.
    pub async fn open(path: PathBuf, synchronous: SqliteSynchronous) -> Result<Self, StoreError> {
        let writer_path = path.clone();
        let connection =
            tokio::task::spawn_blocking(move || open_writer(&writer_path, synchronous))
                .await
                .map_err(|err| StoreError::Database(err.to_string()))??;
        let writer =
            Writer::spawn(connection).map_err(|err| StoreError::Database(err.to_string()))?;
        Ok(Self {
            readers: Arc::new(ReadPool::new(path, synchronous)),
            writer,
        })
    }
}

fn open_writer(path: &Path, synchronous: SqliteSynchronous) -> Result<Connection, StoreError> {
    let describe =
        |reason: String| StoreError::Database(format!("cannot open {}: {reason}", path.display()));
    if let Some(parent) = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        if !parent.is_dir() {
            return Err(describe(format!(
                "the folder {} does not exist",
                parent.display()
            )));
        }
    }
    let mut connection =
        connection::open(path, synchronous).map_err(|err| describe(err.to_string()))?;
    if connection.is_readonly(rusqlite::MAIN_DB).unwrap_or(true) {
        return Err(describe("the file is not writable".into()));
    }
    journal::switch_to_wal(&connection).map_err(describe)?;
    migrations::migrate(&mut connection).map_err(|err| describe(err.to_string()))?;
    Ok(connection)
}

const SELECT_SESSION: &str = "
    SELECT s.user_id, s.created_at, s.authenticated_at, s.last_seen_at, s.logged_in_at, u.email
    FROM sessions AS s JOIN users AS u ON u.id = s.user_id
    WHERE s.token_hash = ?1";

const INSERT_SESSION: &str = "
    INSERT INTO sessions (token_hash, user_id, created_at, authenticated_at, last_seen_at, logged_in_at)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

fn insert_user(connection: &Connection, user: &NewUser) -> rusqlite::Result<()> {
    connection
        .prepare_cached(
            "INSERT INTO users (id, email, password_hash, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?4)",
        )?
        .execute((
            user.id.as_str(),
            user.email.as_str(),
            &user.password_hash,
            user.created_at.as_millis(),
        ))?;
    Ok(())
}

fn insert_session(connection: &Connection, session: &SessionRow) -> rusqlite::Result<()> {
    connection.prepare_cached(INSERT_SESSION)?.execute((
        session.token_hash.0.as_slice(),
        session.user_id.as_str(),
        session.created_at.as_millis(),
        session.authenticated_at.as_millis(),
        session.last_seen_at.as_millis(),
        session.logged_in_at.as_millis(),
    ))?;
    Ok(())
}

/// Counts the user's recent password changes and records this one, or
/// refuses it when the cap is reached.
fn record_password_change(
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

fn session_from_row(
    token_hash: SessionTokenHash,
    row: &Row<'_>,
) -> rusqlite::Result<SessionWithUser> {
    let user_id = UserId::from_trusted(row.get(0)?);
    Ok(SessionWithUser {
        session: SessionRow {
            token_hash,
            user_id: user_id.clone(),
            created_at: Timestamp::from_millis(row.get(1)?),
            authenticated_at: Timestamp::from_millis(row.get(2)?),
            last_seen_at: Timestamp::from_millis(row.get(3)?),
            logged_in_at: Timestamp::from_millis(row.get(4)?),
        },
        user: User {
            id: user_id,
            email: Email::from_trusted(row.get(5)?),
        },
    })
}

#[async_trait]
impl Store for SqliteStore {
    async fn create_user(&self, user: NewUser, session: SessionRow) -> Result<(), StoreError> {
        self.writer
            .write(move |connection| {
                let transaction =
                    connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
                insert_user(&transaction, &user)?;
                insert_session(&transaction, &session)?;
                transaction.commit()?;
                Ok(())
            })
            .await
    }

    async fn find_credentials(&self, email: &Email) -> Result<Option<Credentials>, StoreError> {
        let email = email.clone();
        self.readers
            .read(move |connection| {
                let found = connection
                    .prepare_cached("SELECT id, password_hash FROM users WHERE email = ?1")?
                    .query_row([email.as_str()], |row| {
                        Ok(Credentials {
                            user_id: UserId::from_trusted(row.get(0)?),
                            password_hash: row.get(1)?,
                        })
                    })
                    .optional()?;
                Ok(found)
            })
            .await
    }

    async fn find_password_hash(&self, user_id: &UserId) -> Result<Option<String>, StoreError> {
        let user_id = user_id.clone();
        self.readers
            .read(move |connection| {
                let found = connection
                    .prepare_cached("SELECT password_hash FROM users WHERE id = ?1")?
                    .query_row([user_id.as_str()], |row| row.get(0))
                    .optional()?;
                Ok(found)
            })
            .await
    }

    async fn update_account(&self, update: AccountUpdate) -> Result<AccountUpdated, StoreError> {
        self.writer
            .write(move |connection| {
                let transaction =
                    connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let rotated = &update.rotated_session;
                let email: String = transaction
                    .prepare_cached(
                        "UPDATE users SET email = COALESCE(?2, email),
                                          password_hash = COALESCE(?3, password_hash),
                                          updated_at = ?4
                         WHERE id = ?1 RETURNING email",
                    )?
                    .query_row(
                        (
                            update.user_id.as_str(),
                            update.email.as_ref().map(Email::as_str),
                            update.password_hash.as_deref(),
                            rotated.logged_in_at.as_millis(),
                        ),
                        |row| row.get(0),
                    )
                    .optional()?
                    .ok_or(StoreError::UserNotFound)?;
                if let (Some(limit), Some(_)) =
                    (update.password_change_limit, &update.password_hash)
                {
                    record_password_change(
                        &transaction,
                        &update.user_id,
                        limit,
                        rotated.logged_in_at,
                    )?;
                }
                let moved = transaction
                    .prepare_cached(
                        "UPDATE sessions SET token_hash = ?3, authenticated_at = ?4,
                                             last_seen_at = ?5, logged_in_at = ?6
                         WHERE token_hash = ?1 AND user_id = ?2",
                    )?
                    .execute((
                        update.presented_token_hash.0.as_slice(),
                        update.user_id.as_str(),
                        rotated.token_hash.0.as_slice(),
                        rotated.authenticated_at.as_millis(),
                        rotated.last_seen_at.as_millis(),
                        rotated.logged_in_at.as_millis(),
                    ))?;
                if moved == 0 {
                    // Dropping the transaction rolls the user change back too.
                    return Err(StoreError::SessionNotFound);
                }
                let revoked_sessions = if update.password_hash.is_some() {
                    transaction
                        .prepare_cached(
                            "DELETE FROM sessions WHERE user_id = ?1 AND token_hash <> ?2",
                        )?
                        .execute((update.user_id.as_str(), rotated.token_hash.0.as_slice()))?
                } else {
                    0
                };
                transaction.commit()?;
                Ok(AccountUpdated {
                    user: User {
                        id: update.user_id,
                        email: Email::from_trusted(email),
                    },
                    revoked_sessions: revoked_sessions as u64,
                })
            })
            .await
    }

    async fn delete_user(&self, user_id: &UserId) -> Result<Option<u64>, StoreError> {
        let user_id = user_id.clone();
        self.writer
            .write(move |connection| {
                let transaction =
                    connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let sessions = transaction
                    .prepare_cached("DELETE FROM sessions WHERE user_id = ?1")?
                    .execute([user_id.as_str()])?;
                let deleted = transaction
                    .prepare_cached("DELETE FROM users WHERE id = ?1")?
                    .execute([user_id.as_str()])?;
                transaction.commit()?;
                Ok((deleted > 0).then_some(sessions as u64))
            })
            .await
    }

    async fn create_session(
        &self,
        session: SessionRow,
        verified_hash: String,
        rehashed_password: Option<String>,
    ) -> Result<(), StoreError> {
        self.writer
            .write(move |connection| {
                let transaction =
                    connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let current: Option<String> = transaction
                    .prepare_cached("SELECT password_hash FROM users WHERE id = ?1")?
                    .query_row([session.user_id.as_str()], |row| row.get(0))
                    .optional()?;
                match current {
                    None => return Err(StoreError::UserNotFound),
                    Some(current) if current != verified_hash => {
                        return Err(StoreError::PasswordChanged);
                    }
                    Some(_) => {}
                }
                insert_session(&transaction, &session)?;
                if let Some(password_hash) = rehashed_password {
                    transaction
                        .prepare_cached(
                            "UPDATE users SET password_hash = ?2, updated_at = ?3 WHERE id = ?1",
                        )?
                        .execute((
                            session.user_id.as_str(),
                            password_hash,
                            session.created_at.as_millis(),
                        ))?;
                }
                transaction.commit()?;
                Ok(())
            })
            .await
    }

    async fn find_session(
        &self,
        token_hash: SessionTokenHash,
    ) -> Result<Option<SessionWithUser>, StoreError> {
        self.readers
            .read(move |connection| {
                let found = connection
                    .prepare_cached(SELECT_SESSION)?
                    .query_row([token_hash.0.as_slice()], |row| {
                        session_from_row(token_hash, row)
                    })
                    .optional()?;
                Ok(found)
            })
            .await
    }

    async fn touch_session(
        &self,
        token_hash: SessionTokenHash,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.writer
            .write(move |connection| {
                connection
                    .prepare_cached(
                        "UPDATE sessions SET last_seen_at = ?2 WHERE token_hash = ?1 AND last_seen_at < ?2",
                    )?
                    .execute((token_hash.0.as_slice(), now.as_millis()))?;
                Ok(())
            })
            .await
    }

    async fn delete_session(&self, token_hash: SessionTokenHash) -> Result<bool, StoreError> {
        self.writer
            .write(move |connection| {
                let deleted = connection
                    .prepare_cached("DELETE FROM sessions WHERE token_hash = ?1")?
                    .execute([token_hash.0.as_slice()])?;
                Ok(deleted > 0)
            })
            .await
    }

    async fn delete_expired_sessions(
        &self,
        created_before: Timestamp,
        seen_before: Timestamp,
    ) -> Result<u64, StoreError> {
        self.writer
            .write(move |connection| {
                let deleted = connection
                    .prepare_cached(
                        "DELETE FROM sessions WHERE created_at < ?1 OR last_seen_at < ?2",
                    )?
                    .execute((created_before.as_millis(), seen_before.as_millis()))?;
                Ok(deleted as u64)
            })
            .await
    }

    async fn password_failures(&self, email: &Email) -> Result<Option<FailureRecord>, StoreError> {
        let email = email.clone();
        self.readers
            .read(move |connection| {
                let found = connection
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
                Ok(found)
            })
            .await
    }

    async fn record_password_failure(
        &self,
        email: &Email,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let email = email.clone();
        self.writer
            .write(move |connection| {
                connection
                    .prepare_cached(
                        "INSERT INTO password_failures (email, failures, last_failure_at) VALUES (?1, 1, ?2)
                         ON CONFLICT (email) DO UPDATE
                         SET failures = password_failures.failures + 1, last_failure_at = excluded.last_failure_at",
                    )?
                    .execute((email.as_str(), now.as_millis()))?;
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
                let transaction =
                    connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
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

    async fn ping(&self) -> Result<(), StoreError> {
        self.readers
            .read(|connection| {
                connection.query_row("SELECT 1", [], |_| Ok(()))?;
                Ok(())
            })
            .await
    }

    fn pool_status(&self) -> PoolStatus {
        // The readers, and the one writer (busy while it holds queued work).
        PoolStatus {
            max: self.readers.capacity() + 1,
            in_use: self.readers.in_use() + usize::from(self.writer.is_busy()),
        }
    }

    async fn close(&self) {
        let checkpoint = self
            .writer
            .write(|connection| {
                connection.execute_batch("PRAGMA optimize; PRAGMA wal_checkpoint(TRUNCATE);")?;
                Ok(())
            })
            .await;
        if let Err(err) = checkpoint {
            tracing::warn!(%err, "could not checkpoint the database at shutdown");
        }
    }
}
