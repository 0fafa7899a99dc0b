//! What the admin commands need beyond the service's own operations: find
//! and page through accounts, and change them without a session.

use std::path::Path;

use async_trait::async_trait;

use super::{NewUser, Store, StoreError};
use crate::domain::email::Email;
use crate::domain::event::NewEvent;
use crate::domain::time::Timestamp;
use crate::domain::user::{User, UserId};

/// An account as an operator sees it.
#[derive(Clone, Debug)]
pub struct AccountSummary {
    pub user: User,
    pub created_at: Timestamp,
    /// Live session rows (expired ones not yet swept included).
    pub sessions: u64,
}

/// How an operator names an account.
#[derive(Clone, Debug)]
pub enum AccountKey {
    Id(UserId),
    Email(Email),
}

#[async_trait]
pub trait AdminStore: Store {
    /// A new account without a session.
    async fn create_account(&self, user: NewUser) -> Result<(), StoreError>;

    /// Up to `limit` accounts in id order (creation order: ids are UUIDv7),
    /// after `after` when given.
    async fn list_accounts(
        &self,
        after: Option<&UserId>,
        limit: u32,
    ) -> Result<Vec<AccountSummary>, StoreError>;

    async fn find_account(&self, key: &AccountKey) -> Result<Option<AccountSummary>, StoreError>;

    /// In one transaction: the new hash, every session of the user ended,
    /// and `event`. The number ended, or `None` if there is no such user.
    async fn set_password(
        &self,
        user_id: &UserId,
        password_hash: String,
        event: NewEvent,
    ) -> Result<Option<u64>, StoreError>;

    /// The new email and `event`; `EmailTaken` when another account has it.
    /// False if there is no such user.
    async fn set_email(
        &self,
        user_id: &UserId,
        email: &Email,
        event: NewEvent,
    ) -> Result<bool, StoreError>;

    /// Ends every session of the user, recording a `session_ended` event
    /// (by the admin) when any ended; how many there were.
    async fn revoke_sessions(&self, user_id: &UserId, at: Timestamp) -> Result<u64, StoreError>;

    /// A consistent copy of the database in `destination`, taken while it
    /// is in use (SQLite's online backup). PostgreSQL has `pg_dump`.
    async fn backup(&self, destination: &Path) -> Result<(), StoreError>;

    /// Whether [`Self::backup`] can work here, asked before a destination
    /// file is made for it.
    fn can_back_up(&self) -> Result<(), StoreError> {
        Ok(())
    }
}
