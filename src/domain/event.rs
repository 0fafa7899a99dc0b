//! The account history (contract section 12): what happened, when, and
//! from where. Events are written by the store in the transaction of the
//! change they record; this module only names them. An event never holds
//! a secret: no password, token, code or hash goes into its detail.

use serde_json::{Value, json};

mod identity;
mod second_factor;

pub use identity::IdentityChange;
pub use second_factor::SecondFactorStep;

use super::client::ClientOrigin;
use super::email::Email;
use super::time::Timestamp;
use super::user::UserId;

/// The kinds of events, as the API and the database name them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    SignUp,
    Login,
    LoginFailed,
    Logout,
    PasswordChanged,
    EmailChanged,
    SessionEnded,
    PasswordResetRequested,
    PasswordReset,
    EmailChangeUndone,
    PasskeyAdded,
    PasskeyRemoved,
    IdentityLinked,
    IdentityUnlinked,
    TotpEnabled,
    TotpDisabled,
    RecoveryCodesRenewed,
    RecoveryCodeUsed,
    SecondFactorFailed,
}

impl EventKind {
    pub const ALL: [Self; 19] = [
        Self::SignUp,
        Self::Login,
        Self::LoginFailed,
        Self::Logout,
        Self::PasswordChanged,
        Self::EmailChanged,
        Self::SessionEnded,
        Self::PasswordResetRequested,
        Self::PasswordReset,
        Self::EmailChangeUndone,
        Self::PasskeyAdded,
        Self::PasskeyRemoved,
        Self::IdentityLinked,
        Self::IdentityUnlinked,
        Self::TotpEnabled,
        Self::TotpDisabled,
        Self::RecoveryCodesRenewed,
        Self::RecoveryCodeUsed,
        Self::SecondFactorFailed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::SignUp => "sign_up",
            Self::Login => "login",
            Self::LoginFailed => "login_failed",
            Self::Logout => "logout",
            Self::PasswordChanged => "password_changed",
            Self::EmailChanged => "email_changed",
            Self::SessionEnded => "session_ended",
            Self::PasswordResetRequested => "password_reset_requested",
            Self::PasswordReset => "password_reset",
            Self::EmailChangeUndone => "email_change_undone",
            Self::PasskeyAdded => "passkey_added",
            Self::PasskeyRemoved => "passkey_removed",
            Self::IdentityLinked => "identity_linked",
            Self::IdentityUnlinked => "identity_unlinked",
            Self::TotpEnabled => "totp_enabled",
            Self::TotpDisabled => "totp_disabled",
            Self::RecoveryCodesRenewed => "recovery_codes_renewed",
            Self::RecoveryCodeUsed => "recovery_code_used",
            Self::SecondFactorFailed => "second_factor_failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == text)
    }
}

/// How a sign-in was proven (`login`'s detail).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginMethod {
    Password,
    Passkey,
}

impl LoginMethod {
    /// What a `login` by this method records as its detail.
    pub fn detail(self) -> Value {
        let method = match self {
            Self::Password => "password",
            Self::Passkey => "passkey",
        };
        json!({ "method": method })
    }
}

/// An event about to be written.
#[derive(Clone, Debug, PartialEq)]
pub struct NewEvent {
    /// A UUIDv7: ids sort in the order events happened.
    pub id: String,
    pub user_id: UserId,
    pub kind: EventKind,
    pub at: Timestamp,
    pub origin: ClientOrigin,
    /// Always an object.
    pub detail: Value,
}

impl NewEvent {
    pub(super) fn new(
        user_id: &UserId,
        kind: EventKind,
        at: Timestamp,
        origin: &ClientOrigin,
        detail: Value,
    ) -> Self {
        Self {
            id: uuid::Uuid::now_v7().hyphenated().to_string(),
            user_id: user_id.clone(),
            kind,
            at,
            origin: origin.clone(),
            detail,
        }
    }

    pub fn sign_up(user_id: &UserId, at: Timestamp, origin: &ClientOrigin) -> Self {
        Self::new(user_id, EventKind::SignUp, at, origin, json!({}))
    }

    pub fn login(
        user_id: &UserId,
        method: LoginMethod,
        at: Timestamp,
        origin: &ClientOrigin,
    ) -> Self {
        Self::new(user_id, EventKind::Login, at, origin, method.detail())
    }

    pub fn login_failed(user_id: &UserId, at: Timestamp, origin: &ClientOrigin) -> Self {
        Self::new(
            user_id,
            EventKind::LoginFailed,
            at,
            origin,
            json!({ "method": "password" }),
        )
    }

    pub fn logout(user_id: &UserId, at: Timestamp, origin: &ClientOrigin) -> Self {
        Self::new(user_id, EventKind::Logout, at, origin, json!({}))
    }

    /// `by` says who changed it: `user` through the API, `admin` from the CLI.
    pub fn password_changed(
        user_id: &UserId,
        by: Actor,
        at: Timestamp,
        origin: &ClientOrigin,
    ) -> Self {
        Self::new(
            user_id,
            EventKind::PasswordChanged,
            at,
            origin,
            json!({ "by": by.as_str() }),
        )
    }

    pub fn email_changed(
        user_id: &UserId,
        old: &Email,
        new: &Email,
        by: Actor,
        at: Timestamp,
        origin: &ClientOrigin,
    ) -> Self {
        Self::new(
            user_id,
            EventKind::EmailChanged,
            at,
            origin,
            json!({ "old": old.as_str(), "new": new.as_str(), "by": by.as_str() }),
        )
    }

    /// One session ended by its owner from the session list.
    pub fn session_ended(
        user_id: &UserId,
        session_id: &str,
        at: Timestamp,
        origin: &ClientOrigin,
    ) -> Self {
        Self::new(
            user_id,
            EventKind::SessionEnded,
            at,
            origin,
            json!({ "session_id": session_id }),
        )
    }

    /// Every session but the caller's (or, from the CLI, every session) ended.
    pub fn sessions_ended(
        user_id: &UserId,
        ended: u64,
        by: Actor,
        at: Timestamp,
        origin: &ClientOrigin,
    ) -> Self {
        Self::new(
            user_id,
            EventKind::SessionEnded,
            at,
            origin,
            json!({ "sessions_ended": ended, "by": by.as_str() }),
        )
    }

    /// A passkey was registered to the account.
    pub fn passkey_added(
        user_id: &UserId,
        passkey_id: &str,
        name: &str,
        at: Timestamp,
        origin: &ClientOrigin,
    ) -> Self {
        Self::new(
            user_id,
            EventKind::PasskeyAdded,
            at,
            origin,
            json!({ "passkey_id": passkey_id, "name": name }),
        )
    }

    /// A passkey was deleted from the account.
    pub fn passkey_removed(
        user_id: &UserId,
        passkey_id: &str,
        at: Timestamp,
        origin: &ClientOrigin,
    ) -> Self {
        Self::new(
            user_id,
            EventKind::PasskeyRemoved,
            at,
            origin,
            json!({ "passkey_id": passkey_id }),
        )
    }
}

impl NewEvent {
    /// A reset code was mailed (never the code itself).
    pub fn password_reset_requested(
        user_id: &UserId,
        at: Timestamp,
        origin: &ClientOrigin,
    ) -> Self {
        Self::new(
            user_id,
            EventKind::PasswordResetRequested,
            at,
            origin,
            json!({}),
        )
    }

    /// The password was reset with a code; every session ended.
    pub fn password_reset(
        user_id: &UserId,
        sessions_ended: u64,
        at: Timestamp,
        origin: &ClientOrigin,
    ) -> Self {
        Self::new(
            user_id,
            EventKind::PasswordReset,
            at,
            origin,
            json!({ "sessions_ended": sessions_ended }),
        )
    }

    /// The old address was restored through the undo link.
    pub fn email_change_undone(
        user_id: &UserId,
        undone: &Email,
        restored: &Email,
        sessions_ended: u64,
        at: Timestamp,
        origin: &ClientOrigin,
    ) -> Self {
        Self::new(
            user_id,
            EventKind::EmailChangeUndone,
            at,
            origin,
            json!({ "undone": undone.as_str(), "restored": restored.as_str(), "sessions_ended": sessions_ended }),
        )
    }
}

/// Who made a change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Actor {
    User,
    Admin,
}

impl Actor {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Admin => "admin",
        }
    }
}

/// An event as read back.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredEvent {
    pub id: String,
    pub user_id: UserId,
    pub kind: String,
    pub at: Timestamp,
    pub origin: ClientOrigin,
    pub detail: Value,
}

impl StoredEvent {
    /// The event as the API shows it.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "type": self.kind,
            "at": self.at.to_iso8601(),
            "address": self.origin.address,
            "user_agent": self.origin.user_agent,
            "detail": self.detail,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_their_names() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(EventKind::parse("password"), None);
    }

    #[test]
    fn event_ids_are_uuid_v7_in_time_order() {
        let user = UserId::generate();
        let origin = ClientOrigin::default();
        let first = NewEvent::logout(&user, Timestamp::now(), &origin);
        let second = NewEvent::logout(&user, Timestamp::now(), &origin);
        assert_eq!(
            uuid::Uuid::parse_str(&first.id).unwrap().get_version_num(),
            7
        );
        assert!(first.id < second.id);
    }
}
