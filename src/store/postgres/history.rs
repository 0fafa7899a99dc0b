//! The session list and the account history on PostgreSQL: every change
//! and its event in one transaction.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::PostgresStore;
use super::connect::from_driver;
use crate::domain::client::ClientOrigin;
use crate::domain::event::{Actor, NewEvent, StoredEvent};
use crate::domain::time::Timestamp;
use crate::domain::user::UserId;
use crate::store::StoreError;
use crate::store::history::{AccountHistory, EventFilter, SessionSummary};

/// Writes `event` through `client`, inside the caller's transaction.
pub(super) async fn insert_event(
    client: &impl GenericClient,
    event: &NewEvent,
) -> Result<(), StoreError> {
    let statement = client
        .prepare_cached(
            "INSERT INTO events (id, user_id, type, at, address, user_agent, detail)
             VALUES ($1, $2, $3, $4, $5, $6, $7::text::jsonb)",
        )
        .await
        .map_err(from_driver)?;
    client
        .execute(
            &statement,
            &[
                &event.id,
                &event.user_id.as_str(),
                &event.kind.as_str(),
                &event.at.as_millis(),
                &event.origin.address,
                &event.origin.user_agent,
                &event.detail.to_string(),
            ],
        )
        .await
        .map_err(from_driver)?;
    Ok(())
}

fn stored_event(row: &Row) -> StoredEvent {
    let detail: String = row.get(6);
    StoredEvent {
        id: row.get(0),
        user_id: UserId::from_trusted(row.get(1)),
        kind: row.get(2),
        at: Timestamp::from_millis(row.get(3)),
        origin: ClientOrigin {
            address: row.get(4),
            user_agent: row.get(5),
        },
        detail: serde_json::from_str(&detail).unwrap_or_default(),
    }
}

#[async_trait]
impl AccountHistory for PostgresStore {
    async fn list_sessions(&self, user_id: &UserId) -> Result<Vec<SessionSummary>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT s.public_id, s.created_at, s.last_seen_at, s.authenticated_at, d.user_agent, d.address
                 FROM sessions AS s LEFT JOIN session_devices AS d ON d.public_id = s.public_id
                 WHERE s.user_id = $1 ORDER BY s.created_at DESC, s.public_id",
                &[&user_id.as_str()],
            )
            .await
            .map_err(from_driver)?;
        Ok(rows
            .iter()
            .map(|row| SessionSummary {
                public_id: row.get(0),
                created_at: Timestamp::from_millis(row.get(1)),
                last_seen_at: Timestamp::from_millis(row.get(2)),
                authenticated_at: Timestamp::from_millis(row.get(3)),
                origin: ClientOrigin {
                    user_agent: row.get(4),
                    address: row.get(5),
                },
            })
            .collect())
    }

    async fn end_session(
        &self,
        user_id: &UserId,
        public_id: &str,
        live: (Timestamp, Timestamp),
        event: NewEvent,
    ) -> Result<bool, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(from_driver)?;
        let ended = transaction
            .execute(
                "DELETE FROM sessions WHERE user_id = $1 AND public_id = $2
                   AND created_at >= $3 AND last_seen_at >= $4",
                &[
                    &user_id.as_str(),
                    &public_id,
                    &live.0.as_millis(),
                    &live.1.as_millis(),
                ],
            )
            .await
            .map_err(from_driver)?;
        if ended == 0 {
            return Ok(false);
        }
        insert_event(&transaction, &event).await?;
        transaction.commit().await.map_err(from_driver)?;
        Ok(true)
    }

    async fn end_other_sessions(
        &self,
        user_id: &UserId,
        keep_public_id: &str,
        at: Timestamp,
        origin: ClientOrigin,
    ) -> Result<u64, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(from_driver)?;
        let ended = transaction
            .execute(
                "DELETE FROM sessions WHERE user_id = $1 AND public_id <> $2",
                &[&user_id.as_str(), &keep_public_id],
            )
            .await
            .map_err(from_driver)?;
        if ended > 0 {
            let event = NewEvent::sessions_ended(user_id, ended, Actor::User, at, &origin);
            insert_event(&transaction, &event).await?;
        }
        transaction.commit().await.map_err(from_driver)?;
        Ok(ended)
    }

    async fn record_event(&self, event: NewEvent) -> Result<(), StoreError> {
        let client = self.client().await?;
        insert_event(&client, &event).await
    }

    async fn list_events(&self, filter: EventFilter) -> Result<Vec<StoredEvent>, StoreError> {
        let client = self.client().await?;
        let since = filter.since.map(Timestamp::as_millis);
        let limit = i64::from(filter.limit);
        let user_id = filter.user_id.as_ref().map(UserId::as_str);
        // One statement for every filter: a NULL parameter matches all.
        let parameters: [&(dyn ToSql + Sync); 5] =
            [&user_id, &filter.kind, &since, &filter.before, &limit];
        let rows = client
            .query(
                "SELECT id, user_id, type, at, address, user_agent, detail::text FROM events
                 WHERE ($1::text IS NULL OR user_id = $1)
                   AND ($2::text IS NULL OR type = $2)
                   AND ($3::bigint IS NULL OR at >= $3)
                   AND ($4::text IS NULL OR id < $4)
                 ORDER BY id DESC LIMIT $5",
                &parameters,
            )
            .await
            .map_err(from_driver)?;
        Ok(rows.iter().map(stored_event).collect())
    }

    async fn purge_events(&self, before: Timestamp, batch: u32) -> Result<u64, StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "DELETE FROM events WHERE id IN
                   (SELECT id FROM events WHERE at < $1 LIMIT $2)",
                &[&before.as_millis(), &i64::from(batch)],
            )
            .await
            .map_err(from_driver)
    }
}
