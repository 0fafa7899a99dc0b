//! `/api/users/{user_id}/totp` (contract section 15): turning TOTP on (a
//! pending enrolment, then a confirming code that brings the recovery
//! codes), turning it off, and renewing the recovery codes. Recent
//! authentication is checked before any code; every code checked counts
//! toward the per-account throttle until it proves right, and a right one
//! is released, never a reset (only a completed sign-in resets it).

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use qrcode::QrCode;
use qrcode::render::svg;
use serde_json::{Value, json};

use super::AppState;
use super::client_origin::Client;
use super::json_body::{JsonObject, OptionalJsonObject};
use super::openapi::{
    BodyRouteRefusals, ErrorBody, RecoveryCodes, TotpCodeRequest, TotpEnrolment,
    TotpEnrolmentRequest, TotpStatus,
};
use super::recent_auth::ensure_recent_authentication;
use super::second_factor_codes::{CodeKind, code_field, internal, proof_of, with_code};
use super::session::CurrentSession;
use super::throttle;
use super::users::ensure_own_id;
use crate::domain::event::{Actor, NewEvent, SecondFactorStep};
use crate::domain::time::Timestamp;
use crate::domain::totp::{ENROLMENT_LIFETIME, RecoveryCode, TotpSecret};
use crate::error::{ApiError, BodyShape};
use crate::store::second_factor::{Checked, Proof, TotpConfirmation, TotpRecord};

/// `GET /api/users/{user_id}/totp`: whether TOTP is on (for the account page).
#[utoipa::path(
    get,
    path = "/api/users/{user_id}/totp",
    tag = "second factor",
    params(("user_id" = String, Path, description = "The caller's own id; any other value is 404.")),
    security(("session" = [])),
    responses(
        (status = 200, description = "`enabled`: TOTP is on; `pending`: an enrolment waits for its confirming code.", body = TotpStatus),
        (status = 401, description = "`Unauthorized`: no valid session.", body = ErrorBody),
        (status = 404, description = "`User not found`: not the caller's id.", body = ErrorBody),
    )
)]
pub async fn totp_status(
    State(state): State<AppState>,
    current: CurrentSession,
    user_id: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    ensure_own_id(&current, user_id)?;
    let record = state.store.find_totp(&current.user.id).await?;
    let now = Timestamp::now();
    Ok(Json(json!({
        "enabled": record.as_ref().is_some_and(TotpRecord::is_enabled),
        "pending": record.as_ref().is_some_and(|record| record.is_pending_at(now)),
    })))
}

/// `POST /api/users/{user_id}/totp`: a pending enrolment.
#[utoipa::path(
    post,
    path = "/api/users/{user_id}/totp",
    tag = "second factor",
    params(("user_id" = String, Path, description = "The caller's own id; any other value is 404.")),
    request_body(content = Option<TotpEnrolmentRequest>, description = "Optional; an empty body needs no `Content-Type`."),
    security(("session" = [])),
    responses(
        (status = 200, description = "A pending enrolment for 10 minutes, replacing any pending one: confirm it with a code of this secret.", body = TotpEnrolment),
        (status = 400, description = "`Invalid JSON body.`, or `Invalid body(?current_password).` with `data.issues` (a wrong `current_password`: issue `Current password is incorrect`).", body = ErrorBody),
        (status = 401, description = "`Unauthorized`: no valid session.", body = ErrorBody),
        (status = 403, description = "`Cross-site request refused`, or `Recent authentication required`: the session's last sign-in proof is older than `--require-recent-auth` (10 minutes when unset) and no `current_password` was sent.", body = ErrorBody),
        (status = 404, description = "`User not found`: not the caller's id.", body = ErrorBody),
        (status = 409, description = "`TOTP already enabled`.", body = ErrorBody),
        BodyRouteRefusals,
    )
)]
pub async fn enrol_totp(
    State(state): State<AppState>,
    current: CurrentSession,
    user_id: Result<Path<String>, PathRejection>,
    OptionalJsonObject(body): OptionalJsonObject,
) -> Result<Json<Value>, ApiError> {
    ensure_own_id(&current, user_id)?;
    ensure_recent_authentication(&state, &current, &body, BodyShape::TotpEnrolment).await?;
    let secret = TotpSecret::generate()?;
    let sealed = secret.seal(&state.server_key).map_err(internal)?;
    let now = Timestamp::now();
    let started = state
        .store
        .begin_totp_enrolment(&current.user.id, sealed, now, now.plus(ENROLMENT_LIFETIME))
        .await?;
    if !started {
        return Err(ApiError::TotpAlreadyEnabled);
    }
    let otpauth_uri = secret
        .otpauth_uri(current.user.email.as_str())
        .map_err(internal)?;
    let qr_svg = qr_svg(&otpauth_uri)?;
    tracing::info!(user_id = %current.user.id, "TOTP enrolment started");
    Ok(Json(json!({
        "secret": secret.base32().map_err(internal)?,
        "otpauth_uri": otpauth_uri,
        "qr_svg": qr_svg,
    })))
}

/// `POST /api/users/{user_id}/totp/confirm`: turns TOTP on.
#[utoipa::path(
    post,
    path = "/api/users/{user_id}/totp/confirm",
    tag = "second factor",
    params(("user_id" = String, Path, description = "The caller's own id; any other value is 404.")),
    request_body = TotpCodeRequest,
    security(("session" = [])),
    responses(
        (status = 200, description = "TOTP is on (a `totp_enabled` event); the ten recovery codes are shown this once.", body = RecoveryCodes),
        (status = 400, description = "`Invalid body(code, ?current_password).` with `data.issues` (a code that is not six digits), `Invalid code` (not the code of the pending secret), or `Invalid JSON body.`", body = ErrorBody),
        (status = 401, description = "`Unauthorized`: no valid session.", body = ErrorBody),
        (status = 403, description = "`Cross-site request refused`.", body = ErrorBody),
        (status = 404, description = "`User not found`: not the caller's id.", body = ErrorBody),
        (status = 409, description = "`TOTP not enabled`: no enrolment is pending (none started, expired, or already confirmed).", body = ErrorBody),
        BodyRouteRefusals,
    )
)]
pub async fn confirm_totp(
    State(state): State<AppState>,
    current: CurrentSession,
    Client(origin): Client,
    user_id: Result<Path<String>, PathRejection>,
    JsonObject(body): JsonObject,
) -> Result<Json<Value>, ApiError> {
    ensure_own_id(&current, user_id)?;
    let code = code_field(&body, CodeKind::Totp)?;
    let now = Timestamp::now();
    let pending = state
        .store
        .find_totp(&current.user.id)
        .await?
        .filter(|record| record.is_pending_at(now))
        .ok_or(ApiError::TotpNotEnabled)?;
    let check = throttle::reserve_password_check(&state, &current.user.email).await?;
    let user = &current.user.id;
    // Only six digits parse here, so the proof is a step or nothing.
    let step = match proof_of(&state.server_key, user, &pending.sealed_secret, &code, now)? {
        Proof::TotpStep(step) => Some(step),
        Proof::RecoveryCode(_) | Proof::Wrong => None,
    };
    let codes = RecoveryCode::generate_set()?;
    let confirmation = TotpConfirmation {
        user_id: user.clone(),
        step,
        recovery_codes: codes
            .iter()
            .map(|code| code.hash(&state.server_key, user))
            .collect(),
        now,
        enabled: NewEvent::totp_enabled(user, now, &origin),
        failed: NewEvent::second_factor_failed(user, SecondFactorStep::Confirm, now, &origin),
    };
    match state.store.confirm_totp(confirmation).await? {
        Checked::Done => {
            check.released(&state).await?;
            tracing::info!(user_id = %user, "TOTP enabled");
            Ok(Json(recovery_codes_body(&codes)))
        }
        Checked::Refused => {
            check.failed();
            Err(ApiError::InvalidCode { signing_in: false })
        }
        Checked::NotEnabled => {
            check.released(&state).await?;
            Err(ApiError::TotpNotEnabled)
        }
    }
}

/// `DELETE /api/users/{user_id}/totp`: turns TOTP off.
#[utoipa::path(
    delete,
    path = "/api/users/{user_id}/totp",
    tag = "second factor",
    params(("user_id" = String, Path, description = "The caller's own id; any other value is 404.")),
    request_body = TotpCodeRequest,
    security(("session" = [])),
    responses(
        (status = 200, description = "`true`: TOTP and the recovery codes are gone (a `totp_disabled` event).", body = bool, content_type = "application/json"),
        (status = 400, description = "`Invalid body(code, ?current_password).` with `data.issues` (neither six digits nor a recovery code; a wrong `current_password`), `Invalid code` (wrong, or already used), or `Invalid JSON body.`", body = ErrorBody),
        (status = 401, description = "`Unauthorized`: no valid session.", body = ErrorBody),
        (status = 403, description = "`Cross-site request refused`, or `Recent authentication required` (checked before the code).", body = ErrorBody),
        (status = 404, description = "`User not found`: not the caller's id.", body = ErrorBody),
        (status = 409, description = "`TOTP not enabled`.", body = ErrorBody),
        BodyRouteRefusals,
    )
)]
pub async fn disable_totp(
    State(state): State<AppState>,
    current: CurrentSession,
    Client(origin): Client,
    user_id: Result<Path<String>, PathRejection>,
    JsonObject(body): JsonObject,
) -> Result<Json<bool>, ApiError> {
    ensure_own_id(&current, user_id)?;
    ensure_recent_authentication(&state, &current, &body, BodyShape::TotpCode).await?;
    let code = code_field(&body, CodeKind::Either)?;
    let now = Timestamp::now();
    let user = &current.user.id;
    let disabled = NewEvent::totp_disabled(user, Actor::User, now, &origin);
    with_code(
        &state,
        &current,
        code,
        SecondFactorStep::Disable,
        &origin,
        |proof, events| {
            let store = state.store.clone();
            let user = user.clone();
            async move { store.disable_totp(&user, proof, disabled, events).await }
        },
    )
    .await?;
    tracing::info!(user_id = %user, "TOTP disabled");
    Ok(Json(true))
}

/// `POST /api/users/{user_id}/totp/recovery-codes`: ten new recovery codes.
#[utoipa::path(
    post,
    path = "/api/users/{user_id}/totp/recovery-codes",
    tag = "second factor",
    params(("user_id" = String, Path, description = "The caller's own id; any other value is 404.")),
    request_body = TotpCodeRequest,
    security(("session" = [])),
    responses(
        (status = 200, description = "Ten new recovery codes, shown this once; the old ones are void (a `recovery_codes_renewed` event).", body = RecoveryCodes),
        (status = 400, description = "`Invalid body(code, ?current_password).` with `data.issues` (neither six digits nor a recovery code), `Invalid code` (wrong, or already used), or `Invalid JSON body.`", body = ErrorBody),
        (status = 401, description = "`Unauthorized`: no valid session.", body = ErrorBody),
        (status = 403, description = "`Cross-site request refused`.", body = ErrorBody),
        (status = 404, description = "`User not found`: not the caller's id.", body = ErrorBody),
        (status = 409, description = "`TOTP not enabled`.", body = ErrorBody),
        BodyRouteRefusals,
    )
)]
pub async fn renew_recovery_codes(
    State(state): State<AppState>,
    current: CurrentSession,
    Client(origin): Client,
    user_id: Result<Path<String>, PathRejection>,
    JsonObject(body): JsonObject,
) -> Result<Json<Value>, ApiError> {
    ensure_own_id(&current, user_id)?;
    let code = code_field(&body, CodeKind::Either)?;
    let now = Timestamp::now();
    let user = &current.user.id;
    let codes = RecoveryCode::generate_set()?;
    let hashes = codes
        .iter()
        .map(|code| code.hash(&state.server_key, user))
        .collect();
    let renewed = NewEvent::recovery_codes_renewed(user, now, &origin);
    with_code(
        &state,
        &current,
        code,
        SecondFactorStep::Renew,
        &origin,
        |proof, events| {
            let store = state.store.clone();
            let user = user.clone();
            async move {
                store
                    .renew_recovery_codes(&user, proof, hashes, renewed, events, now)
                    .await
            }
        },
    )
    .await?;
    tracing::info!(user_id = %user, "recovery codes renewed");
    Ok(Json(recovery_codes_body(&codes)))
}

fn recovery_codes_body(codes: &[RecoveryCode]) -> Value {
    let shown: Vec<String> = codes.iter().map(RecoveryCode::display).collect();
    json!({ "recovery_codes": shown })
}

/// The otpauth URI as an SVG QR code, without the XML declaration so the
/// page can place it inline.
fn qr_svg(uri: &str) -> Result<String, ApiError> {
    let code = QrCode::new(uri.as_bytes()).map_err(|err| internal(err.to_string()))?;
    let image = code
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    Ok(match image.split_once("?>") {
        Some((_, svg)) => svg.to_owned(),
        None => image,
    })
}
