//! The codes of the second factor as the HTTP layer reads and checks them:
//! six digits or a recovery code parsed from a body (a 400 with an issue
//! otherwise), what a code proves against the user's sealed secret, and
//! the throttled check of a code on an account route.

use serde_json::{Map, Value};

use super::AppState;
use super::session::CurrentSession;
use super::throttle;
use super::validation::{Issues, string_field};
use crate::domain::client::ClientOrigin;
use crate::domain::event::{NewEvent, SecondFactorStep};
use crate::domain::server_key::ServerKey;
use crate::domain::time::Timestamp;
use crate::domain::totp::{RecoveryCode, TotpCode, TotpSecret};
use crate::domain::user::UserId;
use crate::error::{ApiError, BodyShape, Issue};
use crate::store::StoreError;
use crate::store::second_factor::{Checked, Proof, ProofEvents};

/// A code as sent, before it is checked.
pub(super) enum PresentedCode {
    Totp(TotpCode),
    Recovery(RecoveryCode),
}

/// Runs `change` (one store call that spends the proof) for a code on an
/// account with TOTP on: 409 without TOTP, 429 while the account waits,
/// 400 `Invalid code` when the store refuses the proof.
pub(super) async fn with_code<F, Fut>(
    state: &AppState,
    current: &CurrentSession,
    code: PresentedCode,
    during: SecondFactorStep,
    origin: &ClientOrigin,
    change: F,
) -> Result<(), ApiError>
where
    F: FnOnce(Proof, ProofEvents) -> Fut,
    Fut: std::future::Future<Output = Result<Checked, StoreError>>,
{
    let now = Timestamp::now();
    let user = &current.user.id;
    let record = state
        .store
        .find_totp(user)
        .await?
        .filter(|record| record.is_enabled())
        .ok_or(ApiError::TotpNotEnabled)?;
    let check = throttle::reserve_password_check(state, &current.user.email).await?;
    let proof = proof_of(&state.server_key, user, &record.sealed_secret, &code, now)?;
    let events = ProofEvents {
        failed: NewEvent::second_factor_failed(user, during, now, origin),
        recovery_used: NewEvent::recovery_code_used(user, during, now, origin),
    };
    match change(proof, events).await? {
        Checked::Done => check.released(state).await,
        Checked::Refused => {
            check.failed();
            tracing::info!(user_id = %user, "second-factor code refused");
            Err(ApiError::InvalidCode { signing_in: false })
        }
        Checked::NotEnabled => {
            check.released(state).await?;
            Err(ApiError::TotpNotEnabled)
        }
    }
}

/// What `code` proves against the user's sealed secret and codes.
pub(super) fn proof_of(
    key: &ServerKey,
    user_id: &UserId,
    sealed_secret: &[u8],
    code: &PresentedCode,
    now: Timestamp,
) -> Result<Proof, ApiError> {
    match code {
        PresentedCode::Totp(code) => {
            let secret = TotpSecret::open(key, sealed_secret).map_err(internal)?;
            Ok(secret
                .matching_step(code, now)
                .map_err(internal)?
                .map_or(Proof::Wrong, Proof::TotpStep))
        }
        PresentedCode::Recovery(code) => Ok(Proof::RecoveryCode(code.hash(key, user_id))),
    }
}

/// Which codes a field takes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum CodeKind {
    Totp,
    Recovery,
    Either,
}

/// The string field `field` as a code of `kind`; anything else is an issue.
pub(super) fn parse_code(
    body: &Map<String, Value>,
    field: &'static str,
    kind: CodeKind,
    issues: &mut Issues,
) -> Option<PresentedCode> {
    let text = string_field(body, field, true, issues)?;
    let totp = (kind != CodeKind::Recovery)
        .then(|| TotpCode::parse(text).map(PresentedCode::Totp))
        .flatten();
    let parsed = totp.or_else(|| {
        (kind != CodeKind::Totp)
            .then(|| RecoveryCode::parse(text).map(PresentedCode::Recovery))
            .flatten()
    });
    if parsed.is_none() {
        issues.push(Issue::invalid_code(field, kind != CodeKind::Totp));
    }
    parsed
}

/// The account routes' `code`: a 400 with its issue unless it parses.
pub(super) fn code_field(
    body: &Map<String, Value>,
    kind: CodeKind,
) -> Result<PresentedCode, ApiError> {
    let mut issues = Issues::default();
    parse_code(body, "code", kind, &mut issues).ok_or_else(|| ApiError::InvalidBody {
        shape: BodyShape::TotpCode,
        issues: issues.into_vec(),
    })
}

pub(super) fn internal(err: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(anyhow::anyhow!("second factor: {err}"))
}
