//! The events of sign-in providers (contract section 14): a sign-in or
//! sign-up through a provider, and identities linked and unlinked.

use serde_json::json;

use super::{EventKind, NewEvent};
use crate::domain::client::ClientOrigin;
use crate::domain::time::Timestamp;
use crate::domain::user::UserId;

/// What happened to a linked identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdentityChange {
    Linked,
    Unlinked,
}

impl NewEvent {
    /// A sign-in through a provider (section 14).
    pub fn login_with_provider(
        user_id: &UserId,
        provider: &str,
        at: Timestamp,
        origin: &ClientOrigin,
    ) -> Self {
        Self::new(
            user_id,
            EventKind::Login,
            at,
            origin,
            json!({ "method": "provider", "provider": provider }),
        )
    }

    /// An account a provider sign-in created.
    pub fn sign_up_with_provider(
        user_id: &UserId,
        provider: &str,
        at: Timestamp,
        origin: &ClientOrigin,
    ) -> Self {
        Self::new(
            user_id,
            EventKind::SignUp,
            at,
            origin,
            json!({ "method": "provider", "provider": provider }),
        )
    }

    /// An identity linked to the account, or unlinked from it.
    pub fn identity(
        user_id: &UserId,
        kind: IdentityChange,
        identity: (&str, &str),
        at: Timestamp,
        origin: &ClientOrigin,
    ) -> Self {
        let (identity_id, provider) = identity;
        let kind = match kind {
            IdentityChange::Linked => EventKind::IdentityLinked,
            IdentityChange::Unlinked => EventKind::IdentityUnlinked,
        };
        Self::new(
            user_id,
            kind,
            at,
            origin,
            json!({ "identity_id": identity_id, "provider": provider }),
        )
    }
}
