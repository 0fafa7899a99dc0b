//! Linked identities and the provider flows in flight (contract section
//! 14). A flow and a pending link are bound to one browser (the hash of its
//! flow cookie), live 10 minutes and are taken (deleted) once, on whichever
//! instance. Every change writes its event in the same transaction; every
//! [`super::Store`] is one of these.

use async_trait::async_trait;

use super::{NewSession, NewUser, StoreError};
use crate::domain::client::ClientOrigin;
use crate::domain::email::Email;
use crate::domain::event::NewEvent;
use crate::domain::time::Timestamp;
use crate::domain::user::UserId;

/// A flow just started.
#[derive(Clone, Debug)]
pub struct NewOAuthFlow {
    /// The `state` sent to the provider: 128 random bits, base64url.
    pub state: String,
    pub provider: String,
    /// SHA-256 of the flow cookie's value.
    pub browser_binding: Vec<u8>,
    pub pkce_verifier: String,
    pub nonce: Option<String>,
    /// Where the browser lands after a sign-in; checked before it is stored.
    pub redirect_path: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// What a callback needs of its flow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OAuthFlow {
    pub pkce_verifier: String,
    pub nonce: Option<String>,
    pub redirect_path: String,
}

/// A linked identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// UUIDv7: the public id in the API.
    pub id: String,
    pub user_id: UserId,
    pub provider: String,
    pub subject: String,
    pub email: Email,
    pub created_at: Timestamp,
}

/// An identity waiting for the owner of `user_id` to confirm the link.
#[derive(Clone, Debug)]
pub struct NewPendingLink {
    pub id: String,
    pub browser_binding: Vec<u8>,
    pub user_id: UserId,
    pub provider: String,
    pub subject: String,
    pub email: Email,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// A confirmation of a pending link: the identity it creates (its id and
/// time; the rest comes from the link) and where the request came from.
#[derive(Clone, Debug)]
pub struct LinkConfirmation {
    pub user_id: UserId,
    pub browser_binding: Vec<u8>,
    pub identity_id: String,
    pub now: Timestamp,
    pub origin: ClientOrigin,
}

/// An account created by a provider sign-in, with its identity, its first
/// session (whose event is the `login`) and its `sign_up` event.
#[derive(Clone, Debug)]
pub struct ProviderSignUp {
    pub user: NewUser,
    pub identity: Identity,
    pub sign_up_event: NewEvent,
    pub session: NewSession,
}

/// What an unlinking did: the same outcomes as a passkey's removal.
pub use super::passkeys::PasskeyRemoval as IdentityRemoval;

#[async_trait]
pub trait IdentityStore: Send + Sync + 'static {
    async fn create_oauth_flow(&self, flow: NewOAuthFlow) -> Result<(), StoreError>;

    /// Takes (deletes and returns) the live flow `state` of `provider`
    /// started by the browser with this binding. A flow that does not
    /// match stays untouched (a foreign browser cannot burn it).
    async fn take_oauth_flow(
        &self,
        state: &str,
        provider: &str,
        browser_binding: &[u8],
        now: Timestamp,
    ) -> Result<Option<OAuthFlow>, StoreError>;

    /// The identity of `provider` with this subject, whoever owns it.
    async fn find_identity(
        &self,
        provider: &str,
        subject: &str,
    ) -> Result<Option<Identity>, StoreError>;

    /// In one transaction: the identity's last use and current email, and
    /// the session with its `login` event. `IdentityChanged` (nothing
    /// written) if the identity was unlinked meanwhile.
    async fn sign_in_with_identity(
        &self,
        identity_id: &str,
        email: &Email,
        session: NewSession,
    ) -> Result<(), StoreError>;

    /// In one transaction: a password-less user, their identity, the
    /// `sign_up` event and the session. `EmailTaken` if the address was
    /// taken meanwhile, `IdentityTaken` if the identity was linked.
    async fn create_user_with_identity(&self, sign_up: ProviderSignUp) -> Result<(), StoreError>;

    async fn create_pending_link(&self, link: NewPendingLink) -> Result<(), StoreError>;

    /// Takes the newest live pending link of this browser for the user and
    /// links it, with its `identity_linked` event. `None` when there is
    /// none; `IdentityTaken` when the identity was linked meanwhile.
    async fn confirm_pending_link(
        &self,
        confirmation: LinkConfirmation,
    ) -> Result<Option<Identity>, StoreError>;

    /// The user's identities, newest first.
    async fn list_identities(&self, user_id: &UserId) -> Result<Vec<Identity>, StoreError>;

    /// Unlinks the user's identity with its `identity_unlinked` event,
    /// unless the account would keep no way to sign in.
    async fn delete_identity(
        &self,
        user_id: &UserId,
        identity_id: &str,
        event: NewEvent,
    ) -> Result<IdentityRemoval, StoreError>;

    /// Removes flows and pending links expired before `now`; how many.
    async fn delete_expired_oauth_state(&self, now: Timestamp) -> Result<u64, StoreError>;
}

/// The one SQL condition, on `users AS u`, that says the account keeps a
/// way to sign in besides the identity `{identity}`: a password, a
/// passkey, or another identity.
pub const OTHER_WAY_IN_THAN_IDENTITY: &str = "(u.password_hash <> ''
     OR EXISTS (SELECT 1 FROM passkeys AS p WHERE p.user_id = u.id)
     OR EXISTS (SELECT 1 FROM identities AS other
                WHERE other.user_id = u.id AND other.id <> {identity}))";
