//! What the user can see of their account: their sessions (and ending
//! them) and the account history. Each change writes its event in the same
//! transaction.

use async_trait::async_trait;

use super::StoreError;
use crate::domain::client::ClientOrigin;
use crate::domain::event::{NewEvent, StoredEvent};
use crate::domain::time::Timestamp;
use crate::domain::user::UserId;

/// A session as its owner sees it in the list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionSummary {
    pub public_id: String,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub authenticated_at: Timestamp,
    pub origin: ClientOrigin,
}

/// Which events the operator asks for.
#[derive(Clone, Debug, Default)]
pub struct EventFilter {
    pub user_id: Option<UserId>,
    pub kind: Option<String>,
    pub since: Option<Timestamp>,
    /// Newest first, before this id (paging).
    pub before: Option<String>,
    pub limit: u32,
}

#[async_trait]
pub trait AccountHistory: Send + Sync {
    /// Every session row of the user, newest first (expired ones included:
    /// the caller knows the expiry rules).
    async fn list_sessions(&self, user_id: &UserId) -> Result<Vec<SessionSummary>, StoreError>;

    /// Ends the user's live session with this public id (created at or
    /// after `live.0`, seen at or after `live.1`) and records `event`; false
    /// (and nothing written) if the user has no such session.
    async fn end_session(
        &self,
        user_id: &UserId,
        public_id: &str,
        live: (Timestamp, Timestamp),
        event: NewEvent,
    ) -> Result<bool, StoreError>;

    /// Ends every session of the user except the one with `keep_public_id`;
    /// when any ended, records a `session_ended` event from `origin`.
    /// How many ended.
    async fn end_other_sessions(
        &self,
        user_id: &UserId,
        keep_public_id: &str,
        at: Timestamp,
        origin: ClientOrigin,
    ) -> Result<u64, StoreError>;

    /// Records an event that comes with no other change (`login_failed`).
    async fn record_event(&self, event: NewEvent) -> Result<(), StoreError>;

    /// Events matching `filter`, newest first.
    async fn list_events(&self, filter: EventFilter) -> Result<Vec<StoredEvent>, StoreError>;

    /// Deletes at most `batch` events older than `before`; how many. Small
    /// batches keep each write short on a busy database.
    async fn purge_events(&self, before: Timestamp, batch: u32) -> Result<u64, StoreError>;
}
