//! The embedded SQLite store (rusqlite, bundled SQLite): WAL, reads on a small
//! pool of connections, writes through one writer thread.

mod admin;
mod checkpointer;
mod connection;
mod history;
mod identities;
mod journal;
mod migrations;
mod outbox;
mod passkeys;
mod reset;
mod rows;
mod second_factor;
mod session_sweep;
mod spend_proof;
mod throttle;
mod ways_in;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension};

use self::connection::ReadPool;
use self::rows::{FIND_CREDENTIALS, insert_session, insert_user};
use self::throttle::record_password_change;
use self::writer::Writer;
use super::{
    AccountUpdate, AccountUpdated, Credentials, NewSession, NewUser, PoolStatus, SessionWithUser,
    SqliteTuning, Store, StoreError,
};
use crate::domain::client::ClientOrigin;
use crate::domain::email::Email;
use crate::domain::event::NewEvent;
use crate::domain::session::SessionRow;
use crate::domain::session_token::SessionTokenHash;
use crate::domain::time::Timestamp;
use crate::domain::user::{User, UserId};

/// A SQLite database file shared by any number of processes.
pub struct SqliteStore {
    readers: Arc<ReadPool>,
    writer: Writer,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and migrates it.
    pub async fn open(path: PathBuf, tuning: SqliteTuning) -> Result<Self, StoreError> {
        let writer_path = path.clone();
        connection::create_owner_only(&path).map_err(|err| {
            StoreError::Database(format!("cannot create {}: {err}", path.display()))
        })?;
        let (connection, long_log) =
            tokio::task::spawn_blocking(move || open_writer(&writer_path, tuning))
                .await
                .map_err(|err| StoreError::Database(err.to_string()))??;
        let writer = Writer::spawn(connection, move |connection| {
            long_log.checkpoint_if_due(connection);
        })
        .map_err(|err| StoreError::Database(err.to_string()))?;
        Ok(Self {
            readers: Arc::new(ReadPool::new(path, tuning)),
            writer,
        })
    }
}

/// The writer connection, migrated, and its part of the checkpoints.
fn open_writer(
    path: &Path,
    tuning: SqliteTuning,
) -> Result<(Connection, checkpointer::LongLog), StoreError> {
    let describe =
        |reason: String| StoreError::Database(format!("cannot open {}: {reason}", path.display()));
    if let Some(parent) = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
        && !parent.is_dir()
    {
        return Err(describe(format!(
            "the folder {} does not exist",
            parent.display()
        )));
    }
    let mut connection = connection::open(path, tuning).map_err(|err| describe(err.to_string()))?;
    if connection.is_readonly(rusqlite::MAIN_DB).unwrap_or(true) {
        return Err(describe("the file is not writable".into()));
    }
    journal::switch_to_wal(&connection).map_err(describe)?;
    migrations::migrate(&mut connection).map_err(|err| describe(err.to_string()))?;
    let long_log = checkpointer::hand_over(
        &mut connection,
        path,
        tuning,
        checkpointer::Thresholds::default(),
    )
    .map_err(describe)?;
    Ok((connection, long_log))
}

#[async_trait]
impl Store for SqliteStore {
    async fn create_user(&self, user: NewUser, session: NewSession) -> Result<(), StoreError> {
        self.writer
            .write(move |connection| {
                let transaction = connection.savepoint()?;
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
                    .prepare_cached(FIND_CREDENTIALS)?
                    .query_row([email.as_str()], |row| {
                        Ok(Credentials {
                            user_id: UserId::from_trusted(row.get(0)?),
                            password_hash: row.get(1)?,
                            totp_enabled: row.get(2)?,
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
                let transaction = connection.savepoint()?;
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
                for event in &update.events {
                    history::insert_event(&transaction, event)?;
                }
                for mail in &update.mails {
                    outbox::insert_mail(&transaction, mail)?;
                }
                if let Some(link) = &update.undo_link {
                    outbox::insert_undo_link(
                        &transaction,
                        update.user_id.as_str(),
                        link,
                        rotated.logged_in_at,
                    )?;
                }
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
                let transaction = connection.savepoint()?;
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
        new_session: NewSession,
        verified_hash: String,
        rehashed_password: Option<String>,
    ) -> Result<(), StoreError> {
        self.writer
            .write(move |connection| {
                let transaction = connection.savepoint()?;
                let session = &new_session.row;
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
                insert_session(&transaction, &new_session)?;
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
        let find = move |connection: &Connection| Ok(rows::find_session(connection, token_hash)?);
        self.readers.read(find).await
    }

    async fn find_session_row(
        &self,
        token_hash: SessionTokenHash,
    ) -> Result<Option<SessionRow>, StoreError> {
        let find =
            move |connection: &Connection| Ok(rows::find_session_row(connection, token_hash)?);
        self.readers.read(find).await
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

    async fn delete_session(
        &self,
        token_hash: SessionTokenHash,
        at: Timestamp,
        origin: ClientOrigin,
    ) -> Result<bool, StoreError> {
        self.writer
            .write(move |connection| {
                let transaction = connection.savepoint()?;
                let owner: Option<String> = transaction
                    .prepare_cached("DELETE FROM sessions WHERE token_hash = ?1 RETURNING user_id")?
                    .query_row([token_hash.0.as_slice()], |row| row.get(0))
                    .optional()?;
                if let Some(owner) = &owner {
                    let user_id = UserId::from_trusted(owner.clone());
                    history::insert_event(&transaction, &NewEvent::logout(&user_id, at, &origin))?;
                }
                transaction.commit()?;
                Ok(owner.is_some())
            })
            .await
    }

    async fn delete_expired_sessions(
        &self,
        created_before: Timestamp,
        seen_before: Timestamp,
    ) -> Result<u64, StoreError> {
        self.sweep_expired_sessions(created_before, seen_before, session_sweep::SLICE)
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
            .write_alone(|connection| {
                connection.execute_batch("PRAGMA optimize; PRAGMA wal_checkpoint(TRUNCATE);")?;
                Ok(())
            })
            .await;
        if let Err(err) = checkpoint {
            tracing::warn!(%err, "could not checkpoint the database at shutdown");
        }
    }
}

#[cfg(test)]
#[path = "statement_tests.rs"]
mod statement_tests;
