//! The PostgreSQL store (tokio-postgres on a deadpool pool), for several
//! instances on one database. Same operations and meaning as the SQLite
//! store; only the SQL dialect differs.

mod admin;
mod connect;
mod history;
mod identities;
mod outbox;
mod passkeys;
mod reset;
mod rows;
mod second_factor;
mod spend_proof;
mod throttle;
mod tls;
mod ways_in;

use async_trait::async_trait;
use deadpool_postgres::{Object, Pool};
use tokio_postgres::Row;

use self::connect::{from_driver, unreachable};
use self::rows::{
    SELECT_SESSION, SELECT_SESSION_ROW, insert_session, insert_user, session_from_row,
    session_with_user,
};
use self::throttle::record_password_change;
use super::{
    AccountUpdate, AccountUpdated, Credentials, NewSession, NewUser, PoolStatus, SessionWithUser,
    Store, StoreError,
};
use crate::domain::client::ClientOrigin;
use crate::domain::email::Email;
use crate::domain::event::NewEvent;
use crate::domain::session::SessionRow;
use crate::domain::session_token::SessionTokenHash;
use crate::domain::time::Timestamp;
use crate::domain::user::{User, UserId};

/// A PostgreSQL database shared by any number of instances.
pub struct PostgresStore {
    pool: Pool,
}

impl PostgresStore {
    /// Connects to `url` (failing at once if the server cannot be reached)
    /// and migrates the schema in the connection's `search_path`.
    pub async fn open(url: &str, max_connections: usize) -> Result<Self, StoreError> {
        let pool = connect::pool(url, max_connections)?;
        connect::migrate(&pool).await?;
        Ok(Self { pool })
    }

    async fn client(&self) -> Result<Object, StoreError> {
        self.pool.get().await.map_err(unreachable)
    }

    /// The row `sql` (a session read) finds by the session's token hash.
    async fn session_by_hash(
        &self,
        sql: &str,
        token_hash: &SessionTokenHash,
    ) -> Result<Option<Row>, StoreError> {
        let client = self.client().await?;
        let statement = client.prepare_cached(sql).await.map_err(from_driver)?;
        client
            .query_opt(&statement, &[&token_hash.0.as_slice()])
            .await
            .map_err(from_driver)
    }
}

#[async_trait]
impl Store for PostgresStore {
    async fn create_user(&self, user: NewUser, session: NewSession) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(from_driver)?;
        insert_user(&transaction, &user).await?;
        insert_session(&transaction, &session).await?;
        transaction.commit().await.map_err(from_driver)
    }

    async fn find_credentials(&self, email: &Email) -> Result<Option<Credentials>, StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(
                "SELECT u.id, u.password_hash,
                        EXISTS (SELECT 1 FROM totp AS t
                                WHERE t.user_id = u.id AND t.enabled_at IS NOT NULL)
                 FROM users AS u WHERE u.email = $1",
            )
            .await
            .map_err(from_driver)?;
        let row = client
            .query_opt(&statement, &[&email.as_str()])
            .await
            .map_err(from_driver)?;
        Ok(row.map(|row| Credentials {
            user_id: UserId::from_trusted(row.get(0)),
            password_hash: row.get(1),
            totp_enabled: row.get(2),
        }))
    }

    async fn find_password_hash(&self, user_id: &UserId) -> Result<Option<String>, StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached("SELECT password_hash FROM users WHERE id = $1")
            .await
            .map_err(from_driver)?;
        let row = client
            .query_opt(&statement, &[&user_id.as_str()])
            .await
            .map_err(from_driver)?;
        Ok(row.map(|row| row.get(0)))
    }

    async fn update_account(&self, update: AccountUpdate) -> Result<AccountUpdated, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(from_driver)?;
        let rotated = &update.rotated_session;
        let update_user = transaction
            .prepare_cached(
                "UPDATE users SET email = COALESCE($2, email),
                                  password_hash = COALESCE($3, password_hash),
                                  updated_at = $4
                 WHERE id = $1 RETURNING email",
            )
            .await
            .map_err(from_driver)?;
        let email: String = transaction
            .query_opt(
                &update_user,
                &[
                    &update.user_id.as_str(),
                    &update.email.as_ref().map(Email::as_str),
                    &update.password_hash.as_deref(),
                    &rotated.logged_in_at.as_millis(),
                ],
            )
            .await
            .map_err(from_driver)?
            .ok_or(StoreError::UserNotFound)?
            .get(0);
        // The UPDATE above holds the user's row lock, so concurrent changes of
        // one account count and record their password changes in turn.
        if let (Some(limit), Some(_)) = (update.password_change_limit, &update.password_hash) {
            record_password_change(&transaction, &update.user_id, limit, rotated.logged_in_at)
                .await?;
        }
        let move_session = transaction
            .prepare_cached(
                "UPDATE sessions SET token_hash = $3, authenticated_at = $4,
                                     last_seen_at = $5, logged_in_at = $6
                 WHERE token_hash = $1 AND user_id = $2",
            )
            .await
            .map_err(from_driver)?;
        let moved = transaction
            .execute(
                &move_session,
                &[
                    &update.presented_token_hash.0.as_slice(),
                    &update.user_id.as_str(),
                    &rotated.token_hash.0.as_slice(),
                    &rotated.authenticated_at.as_millis(),
                    &rotated.last_seen_at.as_millis(),
                    &rotated.logged_in_at.as_millis(),
                ],
            )
            .await
            .map_err(from_driver)?;
        if moved == 0 {
            // Dropping the transaction rolls the user change back too.
            return Err(StoreError::SessionNotFound);
        }
        let mut revoked_sessions = 0;
        if update.password_hash.is_some() {
            let revoke_others = transaction
                .prepare_cached("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2")
                .await
                .map_err(from_driver)?;
            revoked_sessions = transaction
                .execute(
                    &revoke_others,
                    &[&update.user_id.as_str(), &rotated.token_hash.0.as_slice()],
                )
                .await
                .map_err(from_driver)?;
        }
        for event in &update.events {
            history::insert_event(&transaction, event).await?;
        }
        for mail in &update.mails {
            outbox::insert_mail(&transaction, mail).await?;
        }
        if let Some(link) = &update.undo_link {
            outbox::insert_undo_link(
                &transaction,
                update.user_id.as_str(),
                link,
                rotated.logged_in_at,
            )
            .await?;
        }
        transaction.commit().await.map_err(from_driver)?;
        Ok(AccountUpdated {
            user: User {
                id: update.user_id,
                email: Email::from_trusted(email),
            },
            revoked_sessions,
        })
    }

    async fn delete_user(&self, user_id: &UserId) -> Result<Option<u64>, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(from_driver)?;
        let sessions = transaction
            .execute(
                "DELETE FROM sessions WHERE user_id = $1",
                &[&user_id.as_str()],
            )
            .await
            .map_err(from_driver)?;
        let deleted = transaction
            .execute("DELETE FROM users WHERE id = $1", &[&user_id.as_str()])
            .await
            .map_err(from_driver)?;
        transaction.commit().await.map_err(from_driver)?;
        Ok((deleted > 0).then_some(sessions))
    }

    async fn create_session(
        &self,
        new_session: NewSession,
        verified_hash: String,
        rehashed_password: Option<String>,
    ) -> Result<(), StoreError> {
        let session = &new_session.row;
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(from_driver)?;
        // The row lock orders this login with any concurrent password change.
        let current = transaction
            .query_opt(
                "SELECT password_hash FROM users WHERE id = $1 FOR UPDATE",
                &[&session.user_id.as_str()],
            )
            .await
            .map_err(from_driver)?;
        match current.map(|row| row.get::<_, String>(0)) {
            None => return Err(StoreError::UserNotFound),
            Some(current) if current != verified_hash => return Err(StoreError::PasswordChanged),
            Some(_) => {}
        }
        insert_session(&transaction, &new_session).await?;
        if let Some(password_hash) = rehashed_password {
            transaction
                .execute(
                    "UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1",
                    &[
                        &session.user_id.as_str(),
                        &password_hash,
                        &session.created_at.as_millis(),
                    ],
                )
                .await
                .map_err(from_driver)?;
        }
        transaction.commit().await.map_err(from_driver)
    }

    async fn find_session(
        &self,
        token_hash: SessionTokenHash,
    ) -> Result<Option<SessionWithUser>, StoreError> {
        let row = self.session_by_hash(SELECT_SESSION, &token_hash).await?;
        Ok(row.map(|row| session_with_user(token_hash, &row)))
    }

    async fn find_session_row(
        &self,
        token_hash: SessionTokenHash,
    ) -> Result<Option<SessionRow>, StoreError> {
        let row = self
            .session_by_hash(SELECT_SESSION_ROW, &token_hash)
            .await?;
        Ok(row.map(|row| session_from_row(token_hash, &row)))
    }

    async fn touch_session(
        &self,
        token_hash: SessionTokenHash,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(
                "UPDATE sessions SET last_seen_at = $2 WHERE token_hash = $1 AND last_seen_at < $2",
            )
            .await
            .map_err(from_driver)?;
        client
            .execute(&statement, &[&token_hash.0.as_slice(), &now.as_millis()])
            .await
            .map_err(from_driver)?;
        Ok(())
    }

    async fn delete_session(
        &self,
        token_hash: SessionTokenHash,
        at: Timestamp,
        origin: ClientOrigin,
    ) -> Result<bool, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(from_driver)?;
        let statement = transaction
            .prepare_cached("DELETE FROM sessions WHERE token_hash = $1 RETURNING user_id")
            .await
            .map_err(from_driver)?;
        let owner = transaction
            .query_opt(&statement, &[&token_hash.0.as_slice()])
            .await
            .map_err(from_driver)?;
        let Some(owner) = owner else {
            return Ok(false);
        };
        let user_id = UserId::from_trusted(owner.get(0));
        history::insert_event(&transaction, &NewEvent::logout(&user_id, at, &origin)).await?;
        transaction.commit().await.map_err(from_driver)?;
        Ok(true)
    }

    async fn delete_expired_sessions(
        &self,
        created_before: Timestamp,
        seen_before: Timestamp,
    ) -> Result<u64, StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "DELETE FROM sessions WHERE created_at < $1 OR last_seen_at < $2",
                &[&created_before.as_millis(), &seen_before.as_millis()],
            )
            .await
            .map_err(from_driver)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let client = self.client().await?;
        client.simple_query("SELECT 1").await.map_err(from_driver)?;
        Ok(())
    }

    fn pool_status(&self) -> PoolStatus {
        let status = self.pool.status();
        PoolStatus {
            max: status.max_size,
            in_use: status.size.saturating_sub(status.available),
        }
    }

    async fn close(&self) {
        self.pool.close();
    }
}
