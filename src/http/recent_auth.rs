//! Recent authentication (contract sections 13 and 15): adding a passkey,
//! turning TOTP on or off need the session's last sign-in proof to be
//! recent, or a correct `current_password` in the same request.

use std::time::Duration;

use serde_json::{Map, Value};

use super::AppState;
use super::session::CurrentSession;
use super::throttle;
use super::validation::{Issues, string_field};
use crate::domain::password::Password;
use crate::domain::time::Timestamp;
use crate::error::{ApiError, BodyShape, Issue};

/// Recent authentication when `--require-recent-auth` is off: a
/// passkey is a way into the account and a second factor guards it, so it
/// is never optional.
pub const DEFAULT_RECENT_AUTH: Duration = Duration::from_secs(600);

/// Sections 13 and 15: the last sign-in proof within `--require-recent-auth` (10
/// minutes when unset), or a correct `current_password` now. A sent
/// `current_password` is always checked and counts toward the per-account
/// throttle, as on PATCH; on an account without a password it is ignored.
pub async fn ensure_recent_authentication(
    state: &AppState,
    current: &CurrentSession,
    body: &Map<String, Value>,
    shape: BodyShape,
) -> Result<(), ApiError> {
    let mut issues = Issues::default();
    let current_password = string_field(body, "current_password", false, &mut issues);
    if !issues.is_empty() {
        return Err(ApiError::InvalidBody {
            shape,
            issues: issues.into_vec(),
        });
    }
    let window = state.require_recent_auth.unwrap_or(DEFAULT_RECENT_AUTH);
    let proven_recently = Timestamp::now().since(current.session.authenticated_at) <= window;
    let Some(current_password) = current_password else {
        return if proven_recently {
            Ok(())
        } else {
            Err(ApiError::RecentAuthRequired)
        };
    };
    let stored = state
        .store
        .find_password_hash(&current.user.id)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    if stored.is_empty() {
        // No password to prove: `current_password` means nothing here.
        return if proven_recently {
            Ok(())
        } else {
            Err(ApiError::RecentAuthRequired)
        };
    }
    let check = throttle::reserve_password_check(state, &current.user.email).await?;
    let password = Password::new(current_password.to_owned());
    if check.verify(state, password, Some(stored)).await?.matched {
        check.succeeded(state).await
    } else {
        check.failed();
        Err(ApiError::InvalidBody {
            shape,
            issues: vec![Issue::wrong_current_password()],
        })
    }
}
