//! `/api/users/{user_id}/passkeys` (contract section 13): the caller's
//! passkeys — registration options, adding one, the list, renaming and
//! deleting. Registration needs a session *and* recent authentication,
//! checked when the options are asked for and recorded in the challenge,
//! which only the same session may finish.

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use serde_json::{Map, Value, json};

use super::AppState;
use super::client_origin::Client;
use super::json_body::{JsonObject, OptionalJsonObject};
use super::openapi::{
    AddPasskeyRequest, BodyRouteRefusals, ErrorBody, PasskeyBody, PasskeyList, PasskeyOptions,
    PasskeyRegistrationOptionsRequest, RenamePasskeyRequest,
};
use super::recent_auth::ensure_recent_authentication;
use super::session::CurrentSession;
use super::users::ensure_own_id;
use super::validation::{Issues, string_field};
use crate::domain::event::NewEvent;
use crate::domain::passkey::{self, CEREMONY_LIFETIME, RelyingParty};
use crate::domain::session::new_public_id;
use crate::domain::time::Timestamp;
use crate::error::{ApiError, BodyShape, Issue};
use crate::store::passkeys::{
    ChallengeOwner, ChallengePurpose, NewChallenge, Passkey, PasskeyRemoval,
};

/// `POST /api/users/{user_id}/passkeys/options`: creation options.
#[utoipa::path(
    post,
    path = "/api/users/{user_id}/passkeys/options",
    tag = "passkeys",
    params(("user_id" = String, Path, description = "The caller's own id; any other value is 404.")),
    request_body(content = Option<PasskeyRegistrationOptionsRequest>, description = "Optional; an empty body needs no `Content-Type`."),
    security(("session" = [])),
    responses(
        (status = 200, description = "Creation options for `PublicKeyCredential.parseCreationOptionsFromJSON()` (resident key and user verification required; the caller's passkeys excluded) and the `challenge_id` to finish with, from this session, within 5 minutes.", body = PasskeyOptions),
        (status = 400, description = "`Invalid JSON body.`, or `Invalid body(?name, ?current_password).` with `data.issues` (a wrong `current_password`: issue `Current password is incorrect`).", body = ErrorBody),
        (status = 401, description = "`Unauthorized`: no valid session.", body = ErrorBody),
        (status = 403, description = "`Cross-site request refused`, or `Recent authentication required`: the session's last sign-in proof is older than `--require-recent-auth` (10 minutes when unset) and no `current_password` was sent.", body = ErrorBody),
        (status = 404, description = "`User not found`: not the caller's id.", body = ErrorBody),
        BodyRouteRefusals,
    )
)]
pub async fn registration_options(
    State(state): State<AppState>,
    current: CurrentSession,
    user_id: Result<Path<String>, PathRejection>,
    OptionalJsonObject(body): OptionalJsonObject,
) -> Result<Json<Value>, ApiError> {
    ensure_own_id(&current, user_id)?;
    let relying_party = relying_party(&state)?;
    ensure_recent_authentication(&state, &current, &body, BodyShape::Passkey).await?;
    let existing: Vec<_> = state
        .store
        .list_passkeys(&current.user.id)
        .await?
        .into_iter()
        .map(|passkey| passkey.credential)
        .collect();
    let started = relying_party
        .start_registration(&current.user, &existing)
        .map_err(|err| ApiError::Internal(err.into()))?;
    let owner = ChallengeOwner {
        user_id: current.user.id.clone(),
        session_public_id: current.session.public_id.clone(),
    };
    let challenge_id = store_challenge(
        &state,
        ChallengePurpose::Registration,
        Some(owner),
        started.server_state,
    )
    .await?;
    Ok(Json(
        json!({ "challenge_id": challenge_id, "publicKey": started.public_key }),
    ))
}

/// `POST /api/users/{user_id}/passkeys`: verifies and stores a new passkey.
#[utoipa::path(
    post,
    path = "/api/users/{user_id}/passkeys",
    tag = "passkeys",
    params(("user_id" = String, Path, description = "The caller's own id; any other value is 404.")),
    request_body = AddPasskeyRequest,
    security(("session" = [])),
    responses(
        (status = 200, description = "The passkey is stored (a `passkey_added` event with it).", body = PasskeyBody),
        (status = 400, description = "`Passkey verification failed` (whatever the cause: an unknown, used, stale or another session's challenge, a malformed credential, a foreign origin or RP id, a bad signature; nothing is stored), `Invalid body(?name, ?current_password).` for a bad `name`, or `Invalid JSON body.`", body = ErrorBody),
        (status = 401, description = "`Unauthorized`: no valid session.", body = ErrorBody),
        (status = 403, description = "`Cross-site request refused`.", body = ErrorBody),
        (status = 404, description = "`User not found`: not the caller's id.", body = ErrorBody),
        (status = 409, description = "`Passkey already registered`: this credential belongs to an account already.", body = ErrorBody),
        BodyRouteRefusals,
    )
)]
pub async fn add_passkey(
    State(state): State<AppState>,
    current: CurrentSession,
    Client(origin): Client,
    user_id: Result<Path<String>, PathRejection>,
    JsonObject(body): JsonObject,
) -> Result<Json<Value>, ApiError> {
    ensure_own_id(&current, user_id)?;
    let relying_party = relying_party(&state)?;
    let mut issues = Issues::default();
    let name = name_field(&body, false, &mut issues);
    if !issues.is_empty() {
        return Err(invalid_body(issues));
    }
    let (Some(Value::String(challenge_id)), Some(credential)) =
        (body.get("challenge_id"), body.get("credential"))
    else {
        return Err(ApiError::PasskeyVerificationFailed);
    };
    let owner = ChallengeOwner {
        user_id: current.user.id.clone(),
        session_public_id: current.session.public_id.clone(),
    };
    let now = Timestamp::now();
    let server_state = state
        .store
        .take_challenge(
            challenge_id,
            ChallengePurpose::Registration,
            Some(&owner),
            now,
        )
        .await?
        .ok_or(ApiError::PasskeyVerificationFailed)?;
    let verified = relying_party
        .finish_registration(&server_state, credential)
        .map_err(|err| {
            tracing::info!(%err, "passkey registration refused");
            ApiError::PasskeyVerificationFailed
        })?;
    let name = name.map_or_else(
        || passkey::default_name(origin.user_agent.as_deref()),
        str::to_owned,
    );
    let passkey = Passkey {
        id: uuid::Uuid::now_v7().hyphenated().to_string(),
        user_id: current.user.id.clone(),
        name,
        credential: verified.credential,
        created_at: now,
        last_used_at: None,
    };
    let event = NewEvent::passkey_added(&current.user.id, &passkey.id, &passkey.name, now, &origin);
    state.store.add_passkey(passkey.clone(), event).await?;
    tracing::info!(user_id = %current.user.id, passkey_id = %passkey.id, "passkey added");
    Ok(Json(json!({ "passkey": passkey_json(&passkey) })))
}

/// `GET /api/users/{user_id}/passkeys`: the caller's passkeys, newest first.
#[utoipa::path(
    get,
    path = "/api/users/{user_id}/passkeys",
    tag = "passkeys",
    params(("user_id" = String, Path, description = "The caller's own id; any other value is 404.")),
    security(("session" = [])),
    responses(
        (status = 200, description = "The caller's passkeys, newest first.", body = PasskeyList),
        (status = 401, description = "`Unauthorized`: no valid session.", body = ErrorBody),
        (status = 404, description = "`User not found`: not the caller's id.", body = ErrorBody),
    )
)]
pub async fn list_passkeys(
    State(state): State<AppState>,
    current: CurrentSession,
    user_id: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    ensure_own_id(&current, user_id)?;
    let passkeys: Vec<Value> = state
        .store
        .list_passkeys(&current.user.id)
        .await?
        .iter()
        .map(passkey_json)
        .collect();
    Ok(Json(json!({ "passkeys": passkeys })))
}

/// `PATCH /api/users/{user_id}/passkeys/{passkey_id}`: renames a passkey.
#[utoipa::path(
    patch,
    path = "/api/users/{user_id}/passkeys/{passkey_id}",
    tag = "passkeys",
    params(
        ("user_id" = String, Path, description = "The caller's own id; any other value is 404."),
        ("passkey_id" = String, Path, description = "The `id` of one of the caller's passkeys."),
    ),
    request_body = RenamePasskeyRequest,
    security(("session" = [])),
    responses(
        (status = 200, description = "Renamed.", body = PasskeyBody),
        (status = 400, description = "`Invalid body(?name, ?current_password).` with `data.issues`, or `Invalid JSON body.`", body = ErrorBody),
        (status = 401, description = "`Unauthorized`: no valid session.", body = ErrorBody),
        (status = 403, description = "`Cross-site request refused`.", body = ErrorBody),
        (status = 404, description = "`User not found` (not the caller's id) or `Passkey not found` (not one of the caller's passkeys).", body = ErrorBody),
        BodyRouteRefusals,
    )
)]
pub async fn rename_passkey(
    State(state): State<AppState>,
    current: CurrentSession,
    path: Result<Path<(String, String)>, PathRejection>,
    JsonObject(body): JsonObject,
) -> Result<Json<Value>, ApiError> {
    let passkey_id = own_passkey_path(&current, path)?;
    let mut issues = Issues::default();
    let name = name_field(&body, true, &mut issues);
    let Some(name) = name.filter(|_| issues.is_empty()) else {
        return Err(invalid_body(issues));
    };
    let renamed = state
        .store
        .rename_passkey(&current.user.id, &passkey_id, name)
        .await?
        .ok_or(ApiError::PasskeyNotFound)?;
    Ok(Json(json!({ "passkey": passkey_json(&renamed) })))
}

/// `DELETE /api/users/{user_id}/passkeys/{passkey_id}`: deletes a passkey.
#[utoipa::path(
    delete,
    path = "/api/users/{user_id}/passkeys/{passkey_id}",
    tag = "passkeys",
    params(
        ("user_id" = String, Path, description = "The caller's own id; any other value is 404."),
        ("passkey_id" = String, Path, description = "The `id` of one of the caller's passkeys."),
    ),
    security(("session" = [])),
    responses(
        (status = 200, description = "`true`: the passkey is gone (a `passkey_removed` event with it).", body = bool, content_type = "application/json"),
        (status = 401, description = "`Unauthorized`: no valid session.", body = ErrorBody),
        (status = 403, description = "`Cross-site request refused`.", body = ErrorBody),
        (status = 404, description = "`User not found` (not the caller's id) or `Passkey not found` (not one of the caller's passkeys).", body = ErrorBody),
        (status = 409, description = "`Cannot remove the last way to sign in`: the account has no password and no other passkey.", body = ErrorBody),
    )
)]
pub async fn delete_passkey(
    State(state): State<AppState>,
    current: CurrentSession,
    Client(origin): Client,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<bool>, ApiError> {
    let passkey_id = own_passkey_path(&current, path)?;
    let event = NewEvent::passkey_removed(&current.user.id, &passkey_id, Timestamp::now(), &origin);
    match state
        .store
        .delete_passkey(&current.user.id, &passkey_id, event)
        .await?
    {
        PasskeyRemoval::Removed => {
            tracing::info!(user_id = %current.user.id, %passkey_id, "passkey removed");
            Ok(Json(true))
        }
        PasskeyRemoval::NotFound => Err(ApiError::PasskeyNotFound),
        PasskeyRemoval::LastWayIn => Err(ApiError::LastWayToSignIn),
    }
}

/// The relying party, when passkeys are on (the routes exist only then).
pub(super) fn relying_party(state: &AppState) -> Result<&RelyingParty, ApiError> {
    state.passkeys.as_ref().ok_or(ApiError::RouteNotFound)
}

/// Stores a started ceremony for 5 minutes; its `challenge_id`.
pub(super) async fn store_challenge(
    state: &AppState,
    purpose: ChallengePurpose,
    owner: Option<ChallengeOwner>,
    server_state: Vec<u8>,
) -> Result<String, ApiError> {
    let now = Timestamp::now();
    let id = new_public_id()?;
    state
        .store
        .create_challenge(NewChallenge {
            id: id.clone(),
            purpose,
            owner,
            server_state,
            created_at: now,
            expires_at: now.plus(CEREMONY_LIFETIME),
        })
        .await?;
    Ok(id)
}

/// `name`: a string of 1 to 64 characters.
fn name_field<'a>(
    body: &'a Map<String, Value>,
    required: bool,
    issues: &mut Issues,
) -> Option<&'a str> {
    let name = string_field(body, "name", required, issues)?;
    let length = name.chars().count();
    if length < 1 {
        issues.push(Issue::too_small("name", 1));
        None
    } else if length > passkey::NAME_MAX_LENGTH {
        issues.push(Issue::too_big("name", passkey::NAME_MAX_LENGTH));
        None
    } else {
        Some(name)
    }
}

fn invalid_body(issues: Issues) -> ApiError {
    ApiError::InvalidBody {
        shape: BodyShape::Passkey,
        issues: issues.into_vec(),
    }
}

/// The passkey id of a path whose user id is the caller's.
fn own_passkey_path(
    current: &CurrentSession,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<String, ApiError> {
    let Ok(Path((user_id, passkey_id))) = path else {
        return Err(ApiError::UserNotFound);
    };
    ensure_own_id(current, Ok(Path(user_id)))?;
    Ok(passkey_id)
}

fn passkey_json(passkey: &Passkey) -> Value {
    json!({
        "id": passkey.id,
        "name": passkey.name,
        "created_at": passkey.created_at.to_iso8601(),
        "last_used_at": passkey.last_used_at.map(|at| at.to_iso8601()),
    })
}
