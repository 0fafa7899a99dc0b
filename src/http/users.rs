//! `/api/users/{user_id}`: the caller's own account — read, update (the
//! NEPTUN "Update User" endpoint, contract section 4) and delete.

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use super::AppState;
use super::auth::user_body;
use super::client_origin::Client;
use super::json_body::JsonObject;
use super::notifications::{update_notices, wake_sender};
use super::openapi::{BodyRouteRefusals, ErrorBody, UpdateUserRequest, User};
use super::session::{CurrentSession, clearing_cookie, session_cookie};
use super::throttle::{self, PasswordCheck};
use super::validation::{Issues, email_field, password_field, string_field};
use crate::domain::email::Email;
use crate::domain::event::{Actor, NewEvent};
use crate::domain::password::{Password, PasswordPolicy};
use crate::domain::time::Timestamp;
use crate::error::{ApiError, BodyShape, Issue};
use crate::store::AccountUpdate;
use crate::telemetry::{self, Revocation};

/// `GET /api/users/{user_id}`: the caller's own account.
#[utoipa::path(
    get,
    path = "/api/users/{user_id}",
    tag = "users",
    params(("user_id" = String, Path, description = "The caller's own id; any other value is 404.")),
    security(("session" = [])),
    responses(
        (status = 200, description = "The caller's account.", body = User),
        (status = 401, description = "`Unauthorized`: no valid session.", body = ErrorBody),
        (status = 404, description = "`User not found`: not the caller's id (whether it exists is never told).", body = ErrorBody),
    )
)]
pub async fn get_user(
    current: CurrentSession,
    user_id: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    ensure_own_id(&current, user_id)?;
    Ok(Json(user_body(&current.user)))
}

/// `PATCH /api/users/{user_id}`: the steps of contract section 4, in order.
#[utoipa::path(
    patch,
    path = "/api/users/{user_id}",
    tag = "users",
    params(("user_id" = String, Path, description = "The caller's own id; any other value is 404.")),
    request_body = UpdateUserRequest,
    security(("session" = [])),
    responses(
        (status = 200, description = "Changed in one transaction; the session is rotated (the old token is dead). A new password ends every other session of the user.", body = User, headers(("set-cookie" = String, description = "`neptun-session=…; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age=…`"))),
        (status = 400, description = "`Invalid body(?email, ?password).` with `data.issues` (statusMessage `Bad Request.`), the same with `At least one of email or password is required.` appended, `Invalid JSON body.`, or a wrong `current_password` (issue `Current password is incorrect`).", body = ErrorBody),
        (status = 401, description = "`Unauthorized`: no valid session.", body = ErrorBody),
        (status = 403, description = "`Cross-site request refused`, or `Recent authentication required` (with `--require-recent-auth`).", body = ErrorBody),
        (status = 404, description = "`User not found`: not the caller's id; nothing is touched.", body = ErrorBody),
        (status = 409, description = "`A user with this email already exists`.", body = ErrorBody),
        BodyRouteRefusals,
    )
)]
pub async fn update_user(
    State(state): State<AppState>,
    current: CurrentSession,
    Client(origin): Client,
    user_id: Result<Path<String>, PathRejection>,
    body: Result<JsonObject, ApiError>,
) -> Result<Response, ApiError> {
    ensure_own_id(&current, user_id)?;
    let JsonObject(body) = body.map_err(ApiError::for_update)?;
    let input = UpdateInput::parse(&body, &state.new_passwords)?;

    // Per-account throttle: the cap on password changes (a look), then the
    // waits after failed password checks (a reservation, so nothing needs
    // giving back when the cap refuses).
    let password_change_limit = match &input.password {
        Some(_) => throttle::password_change_allowed(&state, &current.user.id).await?,
        None => None,
    };
    let password_check = match &input.current_password {
        Some(_) => Some(throttle::reserve_password_check(&state, &current.user.email).await?),
        None => None,
    };

    let reauthenticated = match (input.current_password, password_check) {
        (Some(current_password), Some(check)) => {
            verify_current_password(&state, &current, current_password, check).await?;
            true
        }
        _ => false,
    };
    ensure_recent_authentication(&state, &current, reauthenticated)?;
    let password_hash = match input.password {
        Some(password) => Some(state.hasher.hash(password).await?),
        None => None,
    };

    let now = Timestamp::now();
    let rotated = state
        .sessions
        .rotate(&current.session, now, reauthenticated)?;
    let password_changed = password_hash.is_some();
    let changed_email = input
        .email
        .as_ref()
        .filter(|new| **new != current.user.email);
    let notices = update_notices(
        &state,
        &current.user.email,
        changed_email,
        password_changed,
        now,
    )?;
    let mut events = Vec::new();
    if let Some(new_email) = changed_email {
        let old = &current.user.email;
        events.push(NewEvent::email_changed(
            &current.user.id,
            old,
            new_email,
            Actor::User,
            now,
            &origin,
        ));
    }
    if password_changed {
        events.push(NewEvent::password_changed(
            &current.user.id,
            Actor::User,
            now,
            &origin,
        ));
    }
    let updated = state
        .store
        .update_account(AccountUpdate {
            user_id: current.user.id.clone(),
            email: input.email,
            password_hash,
            presented_token_hash: current.token.hash(),
            rotated_session: rotated.row.clone(),
            password_change_limit,
            events,
            mails: notices.mails,
            undo_link: notices.undo_link,
        })
        .await?;
    wake_sender(&state);
    let user = updated.user;
    telemetry::sessions_revoked(Revocation::PasswordChange, updated.revoked_sessions);
    tracing::info!(user_id = %user.id, password_changed, "account updated");

    let max_age = state.sessions.cookie_max_age(rotated.row.created_at, now);
    let cookie = session_cookie(&rotated.token, max_age, state.cookie);
    Ok(([(SET_COOKIE, cookie)], Json(user_body(&user))).into_response())
}

/// `DELETE /api/users/{user_id}`: the user and all their sessions, at once.
#[utoipa::path(
    delete,
    path = "/api/users/{user_id}",
    tag = "users",
    params(("user_id" = String, Path, description = "The caller's own id; any other value is 404.")),
    security(("session" = [])),
    responses(
        (status = 200, description = "`true`: the account and every session of it are gone; the cookie is cleared.", body = bool, content_type = "application/json",
            headers(("set-cookie" = String, description = "`neptun-session=; …; Max-Age=0`"))),
        (status = 401, description = "`Unauthorized`: no valid session.", body = ErrorBody),
        (status = 403, description = "`Cross-site request refused`, or `Recent authentication required` (with `--require-recent-auth` or `--strict`: the session's last password proof is older than the window; log in again, then delete).", body = ErrorBody),
        (status = 404, description = "`User not found`: not the caller's id; nothing is touched.", body = ErrorBody),
    )
)]
pub async fn delete_user(
    State(state): State<AppState>,
    current: CurrentSession,
    user_id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    ensure_own_id(&current, user_id)?;
    // Irreversible, so like a PATCH it needs a recent password proof: a
    // stolen or forgotten-open session alone cannot delete the account.
    ensure_recent_authentication(&state, &current, false)?;
    let Some(ended_sessions) = state.store.delete_user(&current.user.id).await? else {
        // Deleted by a concurrent request; this session died with it.
        return Err(ApiError::Unauthorized);
    };
    telemetry::sessions_revoked(Revocation::AccountDeleted, ended_sessions);
    tracing::info!(user_id = %current.user.id, "user deleted");
    let clear = [(SET_COOKIE, clearing_cookie(state.cookie))];
    Ok((clear, Json(true)).into_response())
}

/// Any path value that is not the caller's own id (malformed, unknown or
/// another user's) is the same 404, so ids of others are never revealed.
pub(super) fn ensure_own_id(
    current: &CurrentSession,
    user_id: Result<Path<String>, PathRejection>,
) -> Result<(), ApiError> {
    match user_id {
        Ok(Path(id)) if id == current.user.id.as_str() => Ok(()),
        _ => Err(ApiError::UserNotFound),
    }
}

/// The fields of an update body (contract section 4, rules 4 and 5).
struct UpdateInput {
    email: Option<Email>,
    password: Option<Password>,
    current_password: Option<Password>,
}

impl UpdateInput {
    fn parse(body: &Map<String, Value>, policy: &PasswordPolicy) -> Result<Self, ApiError> {
        let mut issues = Issues::default();
        let email = email_field(body, "email", false, &mut issues);
        let password = password_field(body, "password", policy, false, &mut issues);
        let current_password = string_field(body, "current_password", false, &mut issues)
            .map(|text| Password::new(text.to_owned()));
        if !issues.is_empty() {
            return Err(ApiError::InvalidBody {
                shape: BodyShape::Update,
                issues: issues.into_vec(),
            });
        }
        if email.is_none() && password.is_none() {
            return Err(ApiError::NothingToUpdate);
        }
        Ok(Self {
            email,
            password,
            current_password,
        })
    }
}

/// Rule 6: a `current_password`, when sent, is always checked; a wrong one
/// counts towards the per-account throttle.
async fn verify_current_password(
    state: &AppState,
    current: &CurrentSession,
    current_password: Password,
    check: PasswordCheck,
) -> Result<(), ApiError> {
    let stored = state
        .store
        .find_password_hash(&current.user.id)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    let verification = check.verify(state, current_password, Some(stored)).await?;
    if verification.matched {
        check.succeeded(state).await
    } else {
        check.failed();
        Err(ApiError::InvalidBody {
            shape: BodyShape::Update,
            issues: vec![Issue::wrong_current_password()],
        })
    }
}

/// With `--require-recent-auth` (or `--strict`), a change or a deletion
/// needs a password proof (sign-up, login, or `current_password`) within
/// the window. It reads
/// `authenticated_at`, never `loggedInAt`, which every rotation renews.
fn ensure_recent_authentication(
    state: &AppState,
    current: &CurrentSession,
    reauthenticated: bool,
) -> Result<(), ApiError> {
    let Some(window) = state.require_recent_auth else {
        return Ok(());
    };
    let proven_recently = Timestamp::now().since(current.session.authenticated_at) <= window;
    if reauthenticated || proven_recently {
        Ok(())
    } else {
        Err(ApiError::RecentAuthRequired)
    }
}
