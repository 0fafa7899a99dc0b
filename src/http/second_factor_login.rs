//! The second step of a sign-in (contract section 15): a login whose
//! password was right on an account with TOTP on answers 401 `Second factor
//! required` with a challenge; `POST /api/auth/login/second-factor` finishes
//! it with a TOTP or recovery code, exactly as a login would have (the same
//! session, cookie and `login` event). A challenge lives 5 minutes, takes 5
//! wrong codes, and may be bound to one browser: the provider sign-in of
//! section 14 starts one with [`start_provider_challenge`] and binds it to
//! its flow cookie, which [`presented_binding`] reads back.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Map, Value};

use super::AppState;
use super::auth::signed_in;
use super::client_origin::Client;
use super::json_body::JsonObject;
use super::openapi::{BodyRouteRefusals, ErrorBody, SecondFactorRequest, SessionBody};
use super::second_factor_codes::{CodeKind, PresentedCode, parse_code, proof_of};
use super::session::SignedOut;
use super::throttle;
use super::validation::{Issues, string_field};
use crate::domain::event::{NewEvent, SecondFactorStep};
use crate::domain::session::new_public_id;
use crate::domain::time::Timestamp;
use crate::domain::totp::{BrowserBinding, CHALLENGE_LIFETIME};
use crate::domain::user::{User, UserId};
use crate::error::{ApiError, BodyShape, Issue};
use crate::store::NewSession;
use crate::store::second_factor::{
    NewLoginChallenge, ProofEvents, SecondFactorSignIn, SignInOutcome,
};
use crate::telemetry;

/// How the first step proved the user.
pub(crate) struct FirstFactor {
    /// The `login` event's detail for it (`{"method":"password"}` …); the
    /// completed sign-in records it, with the second factor added.
    pub detail: Value,
    /// A password's: the hash it was checked against (a password changed
    /// since voids the challenge) and its re-hash at today's cost, if any.
    pub verified_hash: Option<String>,
    pub rehashed_hash: Option<String>,
}

/// Stores a sign-in challenge for `user_id`, bound to `binding` when given;
/// its `challenge_id`.
pub(crate) async fn start_challenge(
    state: &AppState,
    user_id: &UserId,
    first_factor: FirstFactor,
    binding: Option<BrowserBinding>,
) -> Result<String, ApiError> {
    let now = Timestamp::now();
    let id = new_public_id()?;
    state
        .store
        .create_login_challenge(NewLoginChallenge {
            id: id.clone(),
            user_id: user_id.clone(),
            first_factor: first_factor.detail,
            verified_hash: first_factor.verified_hash,
            rehashed_hash: first_factor.rehashed_hash,
            binding,
            created_at: now,
            expires_at: now.plus(CHALLENGE_LIFETIME),
        })
        .await?;
    Ok(id)
}

/// For the provider sign-in (section 14): when [`totp_enabled`] says the
/// account it resolved asks for a second factor, the callback calls this
/// instead of starting a session, with the `login` detail it would have
/// recorded and the binding of its flow cookie
/// (`BrowserBinding::of(cookie_value)`), then lands the browser on
/// `/account?second_factor=CHALLENGE_ID`. The challenge is dead to any
/// request whose [`presented_binding`] differs.
pub(crate) async fn start_provider_challenge(
    state: &AppState,
    user_id: &UserId,
    login_detail: Value,
    binding: BrowserBinding,
) -> Result<String, ApiError> {
    let first_factor = FirstFactor {
        detail: login_detail,
        verified_hash: None,
        rehashed_hash: None,
    };
    start_challenge(state, user_id, first_factor, Some(binding)).await
}

/// Whether `user_id` has TOTP on (a password login learns it from the
/// credentials it reads anyway).
pub(crate) async fn totp_enabled(state: &AppState, user_id: &UserId) -> Result<bool, ApiError> {
    Ok(state
        .store
        .find_totp(user_id)
        .await?
        .is_some_and(|record| record.is_enabled()))
}

/// The browser binding the request presents: the hash of the provider
/// sign-in's flow cookie, so that a challenge its callback started is dead
/// without that cookie. Challenges of a password login are bound to no
/// browser and admit any.
pub(crate) fn presented_binding(headers: &HeaderMap, state: &AppState) -> Option<BrowserBinding> {
    super::oauth::flow_cookie::FlowCookie::presented(headers, state.cookie)
        .map(|cookie| cookie.browser_binding())
}

/// `POST /api/auth/login/second-factor`: finishes a login with a code.
#[utoipa::path(
    post,
    path = "/api/auth/login/second-factor",
    tag = "auth",
    request_body = SecondFactorRequest,
    security((), ("session" = [])),
    responses(
        (status = 200, description = "Signed in, as a login.", body = SessionBody, headers(("set-cookie" = String, description = "`neptun-session=…; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age=…`"))),
        (status = 400, description = "`Invalid body(challenge_id, ?code, ?recovery_code).` with `data.issues` (no `challenge_id`; not exactly one of `code` (six digits) and `recovery_code` (`xxxxx-xxxxx`)), or `Invalid JSON body.`", body = ErrorBody),
        (status = 401, description = "`Invalid code` (wrong or already used; the fifth wrong code voids the challenge), or `Login expired, sign in again` (an unknown, stale or used-up challenge, or one bound to another browser).", body = ErrorBody),
        (status = 403, description = "`Cross-site request refused`, or `Please log out first` (a valid session was sent).", body = ErrorBody),
        BodyRouteRefusals,
    )
)]
pub async fn login_second_factor(
    State(state): State<AppState>,
    _: SignedOut,
    Client(origin): Client,
    headers: HeaderMap,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    let (challenge_id, code) = parse_body(&body)?;
    let now = Timestamp::now();
    let pending = state
        .store
        .find_login_challenge(&challenge_id, now)
        .await?
        .ok_or(ApiError::LoginExpired)?;
    let presented = presented_binding(&headers, &state);
    if !BrowserBinding::admits(pending.binding.as_ref(), presented.as_ref()) {
        tracing::info!("second factor refused: the challenge is bound to another browser");
        return Err(ApiError::LoginExpired);
    }
    // TOTP turned off meanwhile deleted the challenge; a row without a
    // secret is a race with that.
    let Some(sealed_secret) = pending.sealed_secret else {
        return Err(ApiError::LoginExpired);
    };
    let check = throttle::reserve_password_check(&state, &pending.email).await?;
    let user_id = pending.user_id.clone();
    let proof = proof_of(&state.server_key, &user_id, &sealed_secret, &code, now)?;
    let issued = state.sessions.issue(user_id.clone(), now)?;
    let recovery = matches!(code, PresentedCode::Recovery(_));
    let event =
        NewEvent::login_with_second_factor(&user_id, &pending.first_factor, recovery, now, &origin);
    let sign_in = SecondFactorSignIn {
        challenge_id,
        proof,
        events: ProofEvents {
            failed: NewEvent::second_factor_failed(&user_id, SecondFactorStep::Login, now, &origin),
            recovery_used: NewEvent::recovery_code_used(
                &user_id,
                SecondFactorStep::Login,
                now,
                &origin,
            ),
        },
        session: NewSession {
            row: issued.row.clone(),
            origin,
            event,
        },
        now,
    };
    match state.store.complete_login_challenge(sign_in).await? {
        SignInOutcome::SignedIn => {
            check.succeeded(&state).await?;
            telemetry::login(true);
            tracing::info!(user_id = %user_id, "user logged in with a second factor");
            let user = User {
                id: user_id,
                email: pending.email,
            };
            Ok(signed_in(&state, &user, &issued, now))
        }
        SignInOutcome::Refused => {
            check.failed();
            telemetry::login(false);
            tracing::info!(user_id = %user_id, "second factor refused: wrong or used code");
            Err(ApiError::InvalidCode { signing_in: true })
        }
        SignInOutcome::Expired => {
            check.released(&state).await?;
            Err(ApiError::LoginExpired)
        }
    }
}

/// `challenge_id` and exactly one of `code` and `recovery_code`.
fn parse_body(body: &Map<String, Value>) -> Result<(String, PresentedCode), ApiError> {
    let mut issues = Issues::default();
    let challenge_id = string_field(body, "challenge_id", true, &mut issues);
    let code = match (
        body.contains_key("code"),
        body.contains_key("recovery_code"),
    ) {
        (_, false) => parse_code(body, "code", CodeKind::Totp, &mut issues),
        (false, true) => parse_code(body, "recovery_code", CodeKind::Recovery, &mut issues),
        (true, true) => {
            issues.push(Issue::custom(
                "recovery_code",
                "Send either code or recovery_code, not both",
            ));
            None
        }
    };
    match (challenge_id, code) {
        (Some(challenge_id), Some(code)) if issues.is_empty() => {
            Ok((challenge_id.to_owned(), code))
        }
        _ => Err(ApiError::InvalidBody {
            shape: BodyShape::SecondFactor,
            issues: issues.into_vec(),
        }),
    }
}
