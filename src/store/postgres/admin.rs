//! The admin operations on PostgreSQL.

use std::path::Path;

use async_trait::async_trait;
use tokio_postgres::Row;

use super::connect::from_driver;
use super::history::insert_event;
use super::{PostgresStore, insert_user};
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

fn summary(row: &Row) -> AccountSummary {
    AccountSummary {
        user: User {
            id: UserId::from_trusted(row.get(0)),
            email: Email::from_trusted(row.get(1)),
        },
        created_at: Timestamp::from_millis(row.get(2)),
        sessions: row.get::<_, i64>(3).try_into().unwrap_or_default(),
    }
}

#[async_trait]
impl AdminStore for PostgresStore {
    async fn create_account(&self, user: NewUser) -> Result<(), StoreError> {
        let client = self.client().await?;
        insert_user(&client, &user).await
    }

    async fn list_accounts(
        &self,
        after: Option<&UserId>,
        limit: u32,
    ) -> Result<Vec<AccountSummary>, StoreError> {
        let client = self.client().await?;
        let after = after.map_or("", UserId::as_str);
        let rows = client
            .query(
                &format!("{SUMMARY} WHERE u.id > $1 ORDER BY u.id LIMIT $2"),
                &[&after, &i64::from(limit)],
            )
            .await
            .map_err(from_driver)?;
        Ok(rows.iter().map(summary).collect())
    }

    async fn find_account(&self, key: &AccountKey) -> Result<Option<AccountSummary>, StoreError> {
        let client = self.client().await?;
        let (column, value) = match key {
            AccountKey::Id(id) => ("u.id", id.as_str()),
            AccountKey::Email(email) => ("u.email", email.as_str()),
        };
        let row = client
            .query_opt(&format!("{SUMMARY} WHERE {column} = $1"), &[&value])
            .await
            .map_err(from_driver)?;
        Ok(row.as_ref().map(summary))
    }

    async fn set_password(
        &self,
        user_id: &UserId,
        password_hash: String,
        event: NewEvent,
    ) -> Result<Option<u64>, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(from_driver)?;
        let changed = transaction
            .execute(
                "UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1",
                &[
                    &user_id.as_str(),
                    &password_hash,
                    &Timestamp::now().as_millis(),
                ],
            )
            .await
            .map_err(from_driver)?;
        if changed == 0 {
            return Ok(None);
        }
        let ended = transaction
            .execute(
                "DELETE FROM sessions WHERE user_id = $1",
                &[&user_id.as_str()],
            )
            .await
            .map_err(from_driver)?;
        insert_event(&transaction, &event).await?;
        transaction.commit().await.map_err(from_driver)?;
        Ok(Some(ended))
    }

    async fn set_email(
        &self,
        user_id: &UserId,
        email: &Email,
        event: NewEvent,
    ) -> Result<bool, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(from_driver)?;
        let changed = transaction
            .execute(
                "UPDATE users SET email = $2, updated_at = $3 WHERE id = $1",
                &[&user_id.as_str(), &email.as_str(), &event.at.as_millis()],
            )
            .await
            .map_err(from_driver)?;
        if changed > 0 {
            insert_event(&transaction, &event).await?;
        }
        transaction.commit().await.map_err(from_driver)?;
        Ok(changed > 0)
    }

    async fn revoke_sessions(&self, user_id: &UserId, at: Timestamp) -> Result<u64, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(from_driver)?;
        let ended = transaction
            .execute(
                "DELETE FROM sessions WHERE user_id = $1",
                &[&user_id.as_str()],
            )
            .await
            .map_err(from_driver)?;
        if ended > 0 {
            let origin = ClientOrigin::default();
            let event = NewEvent::sessions_ended(user_id, ended, Actor::Admin, at, &origin);
            insert_event(&transaction, &event).await?;
        }
        transaction.commit().await.map_err(from_driver)?;
        Ok(ended)
    }

    async fn backup(&self, _destination: &Path) -> Result<(), StoreError> {
        self.can_back_up()
    }

    fn can_back_up(&self) -> Result<(), StoreError> {
        Err(StoreError::Database(
            "backup copies SQLite databases; back PostgreSQL up with pg_dump".into(),
        ))
    }
}
