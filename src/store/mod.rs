//! The database behind the service: one interface, one implementation per
//! backend, the same behaviour on each. It knows nothing of HTTP.

pub mod admin;
pub mod history;
pub mod identities;
pub mod mail;
pub mod passkeys;
mod postgres;
pub mod second_factor;
mod sqlite;
pub mod throttle;

use std::sync::Arc;

use async_trait::async_trait;

pub use history::{AccountHistory, SessionSummary};
pub use identities::IdentityStore;
pub use mail::MailStore;
pub use passkeys::PasskeyStore;
pub use postgres::PostgresStore;
pub use second_factor::SecondFactorStore;
pub use sqlite::SqliteStore;
pub use throttle::{PasswordCheckReservation, ThrottleStore};

use crate::config::{DatabaseUrl, SqliteSynchronous};
use crate::domain::client::ClientOrigin;
use crate::domain::email::Email;
use crate::domain::event::NewEvent;
use crate::domain::session::SessionRow;
use crate::domain::session_token::SessionTokenHash;
use crate::domain::time::Timestamp;
use crate::domain::user::{User, UserId};

/// A user about to be created.
#[derive(Clone, Debug)]
pub struct NewUser {
    pub id: UserId,
    pub email: Email,
    pub password_hash: String,
    pub created_at: Timestamp,
}

/// A session about to start: its row, the device and network it comes
/// from, and the event (`sign_up`, `login`) written with it.
#[derive(Clone, Debug)]
pub struct NewSession {
    pub row: SessionRow,
    pub origin: ClientOrigin,
    pub event: NewEvent,
}

/// What login needs to check a password.
#[derive(Clone, Debug)]
pub struct Credentials {
    pub user_id: UserId,
    pub password_hash: String,
    /// TOTP is on: a right password only opens the second step.
    pub totp_enabled: bool,
}

/// A session together with the user it belongs to.
#[derive(Clone, Debug)]
pub struct SessionWithUser {
    pub session: SessionRow,
    pub user: User,
}

/// A change to a user's own account, applied with the rotation of the
/// session that asked for it.
#[derive(Clone, Debug)]
pub struct AccountUpdate {
    pub user_id: UserId,
    pub email: Option<Email>,
    pub password_hash: Option<String>,
    /// The token hash the request presented; it stops working.
    pub presented_token_hash: SessionTokenHash,
    /// The same session under its new token.
    pub rotated_session: SessionRow,
    /// When set and a password is given: refuse the change if `max` changes
    /// happened since `since`, else record this one — inside the transaction,
    /// so concurrent changes cannot both slip under the cap.
    pub password_change_limit: Option<PasswordChangeLimit>,
    /// The events of the change (`email_changed`, `password_changed`),
    /// written only if it commits.
    pub events: Vec<NewEvent>,
    /// The notifications of the change, queued only if it commits.
    pub mails: Vec<mail::OutboxMail>,
    /// With an email change and mail on: the undo link the old address gets.
    pub undo_link: Option<mail::NewUndoLink>,
}

/// What an update left behind.
#[derive(Clone, Debug)]
pub struct AccountUpdated {
    pub user: User,
    /// Other sessions ended because the password changed.
    pub revoked_sessions: u64,
}

/// The cap on password changes checked inside an update.
#[derive(Clone, Copy, Debug)]
pub struct PasswordChangeLimit {
    pub since: Timestamp,
    pub max: u32,
}

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The unique index on the email refused the write.
    #[error("email already taken")]
    EmailTaken,
    /// The user named by the write no longer exists.
    #[error("user not found")]
    UserNotFound,
    /// The session the write depends on ended meanwhile (logout, revocation).
    #[error("session not found")]
    SessionNotFound,
    /// The password was changed after the one a login verified.
    #[error("password changed during the login")]
    PasswordChanged,
    /// The password-change cap was reached; the oldest change in the window.
    #[error("too many password changes")]
    TooManyPasswordChanges { oldest: Timestamp },
    /// The credential id is registered already (to this or another account).
    #[error("passkey already registered")]
    PasskeyTaken,
    /// The passkey was used or deleted since its state was read.
    #[error("passkey changed meanwhile")]
    PasskeyChanged,
    /// The provider identity is linked to an account already.
    #[error("identity already linked")]
    IdentityTaken,
    /// The identity was unlinked since it was read.
    #[error("identity changed meanwhile")]
    IdentityChanged,
    #[error("database error: {0}")]
    Database(String),
}

/// The operations the HTTP layer needs, each one transaction.
#[async_trait]
pub trait Store:
    AccountHistory
    + ThrottleStore
    + MailStore
    + PasskeyStore
    + IdentityStore
    + SecondFactorStore
    + Send
    + Sync
    + 'static
{
    /// Creates a user, their first session and its `sign_up` event together.
    async fn create_user(&self, user: NewUser, session: NewSession) -> Result<(), StoreError>;

    /// The password hash of the user with this email, if any, and whether
    /// the account asks for a second factor.
    async fn find_credentials(&self, email: &Email) -> Result<Option<Credentials>, StoreError>;

    /// The password hash of the user with this id, if the user exists.
    async fn find_password_hash(&self, user_id: &UserId) -> Result<Option<String>, StoreError>;

    /// In one transaction: applies the new email and/or password hash, moves
    /// the presented session to its new token, and, when the password
    /// changed, ends every other session of the user. Returns the user as
    /// stored afterwards.
    async fn update_account(&self, update: AccountUpdate) -> Result<AccountUpdated, StoreError>;

    /// In one transaction: deletes the user and every one of their sessions.
    /// The number of sessions ended, or `None` if there was no such user.
    async fn delete_user(&self, user_id: &UserId) -> Result<Option<u64>, StoreError>;

    /// Stores a login's session and its event; replaces the user's password hash when it was
    /// re-hashed with the current cost. `verified_hash` is the hash the
    /// password was checked against: if the password changed meanwhile (a
    /// PATCH, an admin reset), nothing is written and the answer is
    /// `PasswordChanged`, so a reset is never undone by a rehash and no
    /// session outlives the revocation that came with it.
    async fn create_session(
        &self,
        session: NewSession,
        verified_hash: String,
        rehashed_password: Option<String>,
    ) -> Result<(), StoreError>;

    /// The session with this token hash and its user.
    async fn find_session(
        &self,
        token_hash: SessionTokenHash,
    ) -> Result<Option<SessionWithUser>, StoreError>;

    /// The session with this token hash alone, for a check that answers no
    /// user: one lookup where [`Store::find_session`] joins the user's row.
    /// A session row implies its user (deleting a user deletes its
    /// sessions in the same transaction).
    async fn find_session_row(
        &self,
        token_hash: SessionTokenHash,
    ) -> Result<Option<SessionRow>, StoreError>;

    /// Records use of a session for idle expiry.
    async fn touch_session(
        &self,
        token_hash: SessionTokenHash,
        now: Timestamp,
    ) -> Result<(), StoreError>;

    /// Ends one session (a logout) and records a `logout` event for its
    /// user from `origin`; true if it existed.
    async fn delete_session(
        &self,
        token_hash: SessionTokenHash,
        at: Timestamp,
        origin: ClientOrigin,
    ) -> Result<bool, StoreError>;

    /// Removes sessions created before `created_before` or unused since
    /// `seen_before`; returns how many.
    async fn delete_expired_sessions(
        &self,
        created_before: Timestamp,
        seen_before: Timestamp,
    ) -> Result<u64, StoreError>;

    /// A cheap round trip that proves the database answers.
    async fn ping(&self) -> Result<(), StoreError>;

    /// The connections this process holds, for metrics.
    fn pool_status(&self) -> PoolStatus;

    /// Ends cleanly at shutdown: SQLite folds its write-ahead log into the
    /// database file; PostgreSQL closes its connections.
    async fn close(&self);
}

/// Database connections of this process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolStatus {
    /// Connections the pool may open.
    pub max: usize,
    /// Connections working for a request now.
    pub in_use: usize,
}

/// How the SQLite store sets up each of its connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SqliteTuning {
    pub synchronous: SqliteSynchronous,
    /// MiB of the file that reads map into memory (0: none).
    pub mmap_mib: u32,
}

impl Default for SqliteTuning {
    /// The defaults of `serve`'s flags.
    fn default() -> Self {
        Self {
            synchronous: SqliteSynchronous::Normal,
            mmap_mib: crate::config::SQLITE_MMAP_MIB_MAX,
        }
    }
}

/// Store settings that are not part of the URL.
#[derive(Clone, Copy, Debug)]
pub struct StoreOptions {
    pub sqlite: SqliteTuning,
    /// Most connections one instance opens to PostgreSQL.
    pub max_connections: usize,
}

/// Opens the database named by `url` and brings its schema up to date.
pub async fn connect(
    url: &DatabaseUrl,
    options: StoreOptions,
) -> Result<Arc<dyn Store>, StoreError> {
    Ok(connect_admin(url, options).await?)
}

/// As [`connect`], with the admin operations too.
pub async fn connect_admin(
    url: &DatabaseUrl,
    options: StoreOptions,
) -> Result<Arc<dyn admin::AdminStore>, StoreError> {
    match url {
        DatabaseUrl::Sqlite(path) => {
            let store = SqliteStore::open(path.clone(), options.sqlite).await?;
            Ok(Arc::new(store))
        }
        DatabaseUrl::Postgres(url) => {
            let store = PostgresStore::open(url, options.max_connections).await?;
            Ok(Arc::new(store))
        }
    }
}
