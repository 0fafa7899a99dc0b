//! `/api/auth/passkey` (contract section 13): signing in with a
//! discoverable passkey, no email or password. The session it makes is a
//! login's (`authenticated_at` = now, a `login` event with
//! `{"method":"passkey"}`). Any failure is the same 401, so a caller cannot
//! tell an unknown credential from a bad signature or a used challenge; it
//! never touches the password throttle.

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use serde_json::{Value, json};

use super::AppState;
use super::auth::signed_in;
use super::client_origin::Client;
use super::json_body::{JsonObject, OptionalJsonObject};
use super::openapi::{
    BodyRouteRefusals, ErrorBody, PasskeyOptions, PasskeySignInOptionsRequest,
    PasskeySignInRequest, SessionBody,
};
use super::passkeys::{relying_party, store_challenge};
use super::session::SignedOut;
use crate::domain::event::{LoginMethod, NewEvent};
use crate::domain::passkey::Assertion;
use crate::domain::time::Timestamp;
use crate::error::ApiError;
use crate::store::NewSession;
use crate::store::passkeys::{ChallengePurpose, PasskeySignIn};
use crate::telemetry;

/// `POST /api/auth/passkey/options`: request options for any passkey.
#[utoipa::path(
    post,
    path = "/api/auth/passkey/options",
    tag = "passkeys",
    request_body(content = Option<PasskeySignInOptionsRequest>, description = "Optional and ignored; an empty body needs no `Content-Type`."),
    security((), ("session" = [])),
    responses(
        (status = 200, description = "Request options for `PublicKeyCredential.parseRequestOptionsFromJSON()` (discoverable credentials, user verification required) and the `challenge_id` to finish with within 5 minutes.", body = PasskeyOptions),
        (status = 400, description = "`Invalid JSON body.`", body = ErrorBody),
        (status = 403, description = "`Cross-site request refused`, or `Please log out first` (a valid session was sent).", body = ErrorBody),
        BodyRouteRefusals,
    )
)]
pub async fn sign_in_options(
    State(state): State<AppState>,
    _: SignedOut,
    OptionalJsonObject(_body): OptionalJsonObject,
) -> Result<Json<Value>, ApiError> {
    let started = relying_party(&state)?
        .start_authentication()
        .map_err(|err| ApiError::Internal(err.into()))?;
    let challenge_id = store_challenge(
        &state,
        ChallengePurpose::Authentication,
        None,
        started.server_state,
    )
    .await?;
    Ok(Json(
        json!({ "challenge_id": challenge_id, "publicKey": started.public_key }),
    ))
}

/// `POST /api/auth/passkey`: signs in with a passkey, as a login does.
#[utoipa::path(
    post,
    path = "/api/auth/passkey",
    tag = "passkeys",
    request_body = PasskeySignInRequest,
    security((), ("session" = [])),
    responses(
        (status = 200, description = "Signed in.", body = SessionBody, headers(("set-cookie" = String, description = "`neptun-session=…; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age=…`"))),
        (status = 400, description = "`Invalid JSON body.`", body = ErrorBody),
        (status = 401, description = "`Passkey not recognised`, whatever the cause: an unknown or deleted credential, a bad signature, a foreign origin or RP id, a used or stale challenge, a signature counter that did not go up.", body = ErrorBody),
        (status = 403, description = "`Cross-site request refused`, or `Please log out first` (a valid session was sent).", body = ErrorBody),
        BodyRouteRefusals,
    )
)]
pub async fn sign_in(
    State(state): State<AppState>,
    _: SignedOut,
    Client(origin): Client,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    let relying_party = relying_party(&state)?;
    let refused = |cause: &str| {
        telemetry::login(false);
        tracing::info!(cause, "passkey sign-in refused");
        ApiError::PasskeyNotRecognised
    };
    let Some(Value::String(challenge_id)) = body.get("challenge_id") else {
        return Err(refused("no challenge_id"));
    };
    // The challenge is taken first, so any attempt with it uses it up.
    let now = Timestamp::now();
    let Some(server_state) = state
        .store
        .take_challenge(challenge_id, ChallengePurpose::Authentication, None, now)
        .await?
    else {
        return Err(refused("unknown, used or stale challenge"));
    };
    let Some(assertion) = body
        .get("credential")
        .and_then(|credential| Assertion::parse(credential).ok())
    else {
        return Err(refused("malformed credential"));
    };
    let Some(passkey) = state
        .store
        .find_passkey_by_credential(&assertion.credential_id())
        .await?
    else {
        return Err(refused("unknown credential"));
    };
    let verified = relying_party.finish_authentication(
        &server_state,
        &assertion,
        &passkey.user_id,
        &passkey.credential,
    );
    let new_state = match verified {
        Ok(new_state) => new_state,
        Err(err) => return Err(refused(&err.to_string())),
    };
    let now = Timestamp::now();
    let issued = state.sessions.issue(passkey.user_id.clone(), now)?;
    let session = NewSession {
        row: issued.row.clone(),
        event: NewEvent::login(&passkey.user_id, LoginMethod::Passkey, now, &origin),
        origin,
    };
    state
        .store
        .sign_in_with_passkey(PasskeySignIn {
            passkey_id: passkey.id.clone(),
            previous_sign_count: passkey.credential.state.sign_count,
            state: new_state,
            session,
        })
        .await
        .map_err(|err| match ApiError::from(err) {
            // The user was deleted meanwhile.
            ApiError::Unauthorized => ApiError::PasskeyNotRecognised,
            other => other,
        })?;
    let found = state.store.find_session(issued.row.token_hash).await?;
    let Some(user) = found.map(|found| found.user) else {
        return Err(refused("account deleted during sign-in"));
    };
    telemetry::login(true);
    tracing::info!(user_id = %user.id, passkey_id = %passkey.id, "user signed in with a passkey");
    Ok(signed_in(&state, &user, &issued, now))
}
