//! Passkeys and the WebAuthn ceremonies in flight (contract section 13).
//! Challenges live in the database, so any instance finishes a ceremony
//! another began; each is taken (deleted) once. Every change writes its
//! event in the same transaction; every [`super::Store`] is one of these.

use async_trait::async_trait;

use super::{NewSession, StoreError};
use crate::domain::event::NewEvent;
use crate::domain::passkey::{PasskeyState, StoredCredential};
use crate::domain::time::Timestamp;
use crate::domain::user::UserId;

/// What a challenge was issued for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChallengePurpose {
    Registration,
    Authentication,
}

impl ChallengePurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Registration => "registration",
            Self::Authentication => "authentication",
        }
    }
}

/// A ceremony just started.
#[derive(Clone, Debug)]
pub struct NewChallenge {
    /// 128 random bits, base64url: the `challenge_id` of the API.
    pub id: String,
    pub purpose: ChallengePurpose,
    /// A registration's user and session; none for a sign-in.
    pub owner: Option<ChallengeOwner>,
    pub server_state: Vec<u8>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// The session that started a registration, which alone may finish it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChallengeOwner {
    pub user_id: UserId,
    pub session_public_id: String,
}

/// A passkey as stored.
#[derive(Clone, Debug)]
pub struct Passkey {
    pub id: String,
    pub user_id: UserId,
    pub name: String,
    pub credential: StoredCredential,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
}

/// A sign-in with a passkey: its new state, written only if nobody used
/// the passkey meanwhile, with the session it starts (and its event).
#[derive(Clone, Debug)]
pub struct PasskeySignIn {
    pub passkey_id: String,
    /// The counter the verification started from.
    pub previous_sign_count: u32,
    pub state: PasskeyState,
    pub session: NewSession,
}

/// What a deletion did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasskeyRemoval {
    Removed,
    NotFound,
    /// The account would keep no way to sign in; nothing was deleted.
    LastWayIn,
}

#[async_trait]
pub trait PasskeyStore: Send + Sync + 'static {
    /// Stores a started ceremony.
    async fn create_challenge(&self, challenge: NewChallenge) -> Result<(), StoreError>;

    /// Takes (deletes and returns the state of) the live challenge `id` of
    /// `purpose`, if it has not expired at `now` and, for a registration,
    /// belongs to `owner`. A challenge that does not match stays untouched.
    async fn take_challenge(
        &self,
        id: &str,
        purpose: ChallengePurpose,
        owner: Option<&ChallengeOwner>,
        now: Timestamp,
    ) -> Result<Option<Vec<u8>>, StoreError>;

    /// Removes challenges expired before `now`; how many.
    async fn delete_expired_challenges(&self, now: Timestamp) -> Result<u64, StoreError>;

    /// The user's passkeys, newest first.
    async fn list_passkeys(&self, user_id: &UserId) -> Result<Vec<Passkey>, StoreError>;

    /// The passkey with this credential id, whoever owns it.
    async fn find_passkey_by_credential(
        &self,
        credential_id: &[u8],
    ) -> Result<Option<Passkey>, StoreError>;

    /// Stores a new passkey and its `passkey_added` event. A credential id
    /// already stored is `PasskeyTaken`; a deleted user `UserNotFound`.
    async fn add_passkey(&self, passkey: Passkey, event: NewEvent) -> Result<(), StoreError>;

    /// In one transaction: the passkey's new state and last use, and the
    /// session with its `login` event. `PasskeyChanged` if the passkey was
    /// used (or deleted) since its state was read; nothing is written then.
    async fn sign_in_with_passkey(&self, sign_in: PasskeySignIn) -> Result<(), StoreError>;

    /// Renames the user's passkey; `None` if the user has no such passkey.
    async fn rename_passkey(
        &self,
        user_id: &UserId,
        passkey_id: &str,
        name: &str,
    ) -> Result<Option<Passkey>, StoreError>;

    /// Deletes the user's passkey with its `passkey_removed` event, unless
    /// the account would keep no way to sign in (see [`OTHER_WAY_IN`]).
    async fn delete_passkey(
        &self,
        user_id: &UserId,
        passkey_id: &str,
        event: NewEvent,
    ) -> Result<PasskeyRemoval, StoreError>;
}

/// The one SQL condition, on `users AS u`, that says the account keeps a
/// way to sign in besides the passkey `?passkey` (written `{passkey}`):
/// a password, another passkey, or a linked identity.
pub const OTHER_WAY_IN: &str = "(u.password_hash <> ''
     OR EXISTS (SELECT 1 FROM passkeys AS other
                WHERE other.user_id = u.id AND other.id <> {passkey})
     OR EXISTS (SELECT 1 FROM identities AS i WHERE i.user_id = u.id))";
