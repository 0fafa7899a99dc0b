//! The events of the second factor (contract section 15): turned on or
//! off, recovery codes renewed or used, a wrong code, and the `login` that
//! a second factor completes. None holds a code or a secret.

use serde_json::{Value, json};

use super::{Actor, EventKind, NewEvent};
use crate::domain::client::ClientOrigin;
use crate::domain::time::Timestamp;
use crate::domain::user::UserId;

/// Where a second-factor code was asked for (`second_factor_failed`'s
/// and `recovery_code_used`'s detail).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecondFactorStep {
    /// The second step of a sign-in.
    Login,
    /// Confirming a new enrolment.
    Confirm,
    /// Turning TOTP off.
    Disable,
    /// Renewing the recovery codes.
    Renew,
}

impl SecondFactorStep {
    fn as_str(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::Confirm => "confirm",
            Self::Disable => "disable",
            Self::Renew => "renew",
        }
    }
}

impl NewEvent {
    /// TOTP was confirmed and is on; ten recovery codes were issued.
    pub fn totp_enabled(user_id: &UserId, at: Timestamp, origin: &ClientOrigin) -> Self {
        Self::new(user_id, EventKind::TotpEnabled, at, origin, json!({}))
    }

    /// TOTP and the recovery codes are gone: by the owner with a code, or
    /// by an admin from the CLI.
    pub fn totp_disabled(
        user_id: &UserId,
        by: Actor,
        at: Timestamp,
        origin: &ClientOrigin,
    ) -> Self {
        Self::new(
            user_id,
            EventKind::TotpDisabled,
            at,
            origin,
            json!({ "by": by.as_str() }),
        )
    }

    /// Ten new recovery codes replaced the old ones.
    pub fn recovery_codes_renewed(user_id: &UserId, at: Timestamp, origin: &ClientOrigin) -> Self {
        Self::new(
            user_id,
            EventKind::RecoveryCodesRenewed,
            at,
            origin,
            json!({}),
        )
    }

    /// A recovery code was spent (never the code itself).
    pub fn recovery_code_used(
        user_id: &UserId,
        during: SecondFactorStep,
        at: Timestamp,
        origin: &ClientOrigin,
    ) -> Self {
        Self::new(
            user_id,
            EventKind::RecoveryCodeUsed,
            at,
            origin,
            json!({ "during": during.as_str() }),
        )
    }

    /// A wrong, reused or malformed-in-meaning code was refused.
    pub fn second_factor_failed(
        user_id: &UserId,
        during: SecondFactorStep,
        at: Timestamp,
        origin: &ClientOrigin,
    ) -> Self {
        Self::new(
            user_id,
            EventKind::SecondFactorFailed,
            at,
            origin,
            json!({ "during": during.as_str() }),
        )
    }

    /// The `login` of a sign-in finished by a second factor: the first
    /// factor's detail (`{"method":…}`), plus which second factor.
    pub fn login_with_second_factor(
        user_id: &UserId,
        first_factor: &Value,
        recovery_code: bool,
        at: Timestamp,
        origin: &ClientOrigin,
    ) -> Self {
        let mut detail = match first_factor {
            Value::Object(detail) => detail.clone(),
            _ => serde_json::Map::new(),
        };
        let second = if recovery_code {
            "recovery_code"
        } else {
            "totp"
        };
        detail.insert("second_factor".into(), second.into());
        Self::new(user_id, EventKind::Login, at, origin, Value::Object(detail))
    }
}
