//! The session list and the account history on SQLite: reads on a read
//! connection, every change and its event in one writer transaction.

use async_trait::async_trait;
use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, Row};

use super::SqliteStore;
use crate::domain::client::ClientOrigin;
use crate::domain::event::{Actor, NewEvent, StoredEvent};
use crate::domain::time::Timestamp;
use crate::domain::user::UserId;
use crate::store::StoreError;
use crate::store::history::{AccountHistory, EventFilter, SessionSummary};

/// Writes `event` on `connection`, inside the caller's transaction.
pub(super) fn insert_event(connection: &Connection, event: &NewEvent) -> rusqlite::Result<()> {
    connection
        .prepare_cached(
            "INSERT INTO events (id, user_id, type, at, address, user_agent, detail)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute((
            &event.id,
            event.user_id.as_str(),
            event.kind.as_str(),
            event.at.as_millis(),
            event.origin.address.as_deref(),
            event.origin.user_agent.as_deref(),
            event.detail.to_string(),
        ))?;
    Ok(())
}

fn stored_event(row: &Row<'_>) -> rusqlite::Result<StoredEvent> {
    let detail: String = row.get(6)?;
    Ok(StoredEvent {
        id: row.get(0)?,
        user_id: UserId::from_trusted(row.get(1)?),
        kind: row.get(2)?,
        at: Timestamp::from_millis(row.get(3)?),
        origin: ClientOrigin {
            address: row.get(4)?,
            user_agent: row.get(5)?,
        },
        detail: serde_json::from_str(&detail).unwrap_or_default(),
    })
}

#[async_trait]
impl AccountHistory for SqliteStore {
    async fn list_sessions(&self, user_id: &UserId) -> Result<Vec<SessionSummary>, StoreError> {
        let user_id = user_id.clone();
        self.readers
            .read(move |connection| {
                let mut statement = connection.prepare_cached(
                    "SELECT s.public_id, s.created_at, s.last_seen_at, s.authenticated_at, d.user_agent, d.address
                     FROM sessions AS s LEFT JOIN session_devices AS d ON d.public_id = s.public_id
                     WHERE s.user_id = ?1 ORDER BY s.created_at DESC, s.public_id",
                )?;
                let rows = statement.query_map([user_id.as_str()], |row| {
                    Ok(SessionSummary {
                        public_id: row.get(0)?,
                        created_at: Timestamp::from_millis(row.get(1)?),
                        last_seen_at: Timestamp::from_millis(row.get(2)?),
                        authenticated_at: Timestamp::from_millis(row.get(3)?),
                        origin: ClientOrigin {
                            user_agent: row.get(4)?,
                            address: row.get(5)?,
                        },
                    })
                })?;
                Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
            })
            .await
    }

    async fn end_session(
        &self,
        user_id: &UserId,
        public_id: &str,
        live: (Timestamp, Timestamp),
        event: NewEvent,
    ) -> Result<bool, StoreError> {
        let (user_id, public_id) = (user_id.clone(), public_id.to_owned());
        self.writer
            .write(move |connection| {
                let transaction = connection.savepoint()?;
                let ended = transaction
                    .prepare_cached(
                        "DELETE FROM sessions WHERE user_id = ?1 AND public_id = ?2
                           AND created_at >= ?3 AND last_seen_at >= ?4",
                    )?
                    .execute((
                        user_id.as_str(),
                        &public_id,
                        live.0.as_millis(),
                        live.1.as_millis(),
                    ))?;
                if ended > 0 {
                    insert_event(&transaction, &event)?;
                }
                transaction.commit()?;
                Ok(ended > 0)
            })
            .await
    }

    async fn end_other_sessions(
        &self,
        user_id: &UserId,
        keep_public_id: &str,
        at: Timestamp,
        origin: ClientOrigin,
    ) -> Result<u64, StoreError> {
        let (user_id, keep) = (user_id.clone(), keep_public_id.to_owned());
        self.writer
            .write(move |connection| {
                let transaction = connection.savepoint()?;
                let ended = transaction
                    .prepare_cached("DELETE FROM sessions WHERE user_id = ?1 AND public_id <> ?2")?
                    .execute((user_id.as_str(), &keep))? as u64;
                if ended > 0 {
                    let event = NewEvent::sessions_ended(&user_id, ended, Actor::User, at, &origin);
                    insert_event(&transaction, &event)?;
                }
                transaction.commit()?;
                Ok(ended)
            })
            .await
    }

    async fn record_event(&self, event: NewEvent) -> Result<(), StoreError> {
        self.writer
            .write(move |connection| Ok(insert_event(connection, &event)?))
            .await
    }

    async fn list_events(&self, filter: EventFilter) -> Result<Vec<StoredEvent>, StoreError> {
        self.readers
            .read(move |connection| {
                let mut conditions = Vec::new();
                let mut values: Vec<SqlValue> = Vec::new();
                if let Some(user_id) = &filter.user_id {
                    values.push(SqlValue::Text(user_id.as_str().to_owned()));
                    conditions.push(format!("user_id = ?{}", values.len()));
                }
                if let Some(kind) = &filter.kind {
                    values.push(SqlValue::Text(kind.clone()));
                    conditions.push(format!("type = ?{}", values.len()));
                }
                if let Some(since) = filter.since {
                    values.push(SqlValue::Integer(since.as_millis()));
                    conditions.push(format!("at >= ?{}", values.len()));
                }
                if let Some(before) = &filter.before {
                    values.push(SqlValue::Text(before.clone()));
                    conditions.push(format!("id < ?{}", values.len()));
                }
                values.push(SqlValue::Integer(i64::from(filter.limit)));
                let limit = values.len();
                let condition = if conditions.is_empty() {
                    String::new()
                } else {
                    format!("WHERE {}", conditions.join(" AND "))
                };
                let mut statement = connection.prepare_cached(&format!(
                    "SELECT id, user_id, type, at, address, user_agent, detail FROM events
                     {condition} ORDER BY id DESC LIMIT ?{limit}"
                ))?;
                let rows = statement.query_map(rusqlite::params_from_iter(values), stored_event)?;
                Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
            })
            .await
    }

    async fn purge_events(&self, before: Timestamp, batch: u32) -> Result<u64, StoreError> {
        self.writer
            .write(move |connection| {
                let deleted = connection
                    .prepare_cached(
                        "DELETE FROM events WHERE rowid IN
                           (SELECT rowid FROM events WHERE at < ?1 LIMIT ?2)",
                    )?
                    .execute((before.as_millis(), batch))?;
                Ok(deleted as u64)
            })
            .await
    }
}
