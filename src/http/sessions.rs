//! `/api/users/{user_id}/sessions` (contract section 11): the caller's live
//! sessions, ending one of them, and ending every other. Each end is seen
//! by every instance at once (the session check reads the database).

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::AppState;
use super::client_origin::Client;
use super::openapi::{EndedSessions, ErrorBody, SessionList};
use super::session::{CurrentSession, clearing_cookie};
use super::users::ensure_own_id;
use crate::domain::event::NewEvent;
use crate::domain::time::Timestamp;
use crate::error::ApiError;
use crate::store::SessionSummary;
use crate::telemetry::{self, Revocation};

/// `GET /api/users/{user_id}/sessions`: live sessions, newest first.
#[utoipa::path(
    get,
    path = "/api/users/{user_id}/sessions",
    tag = "sessions",
    params(("user_id" = String, Path, description = "The caller's own id; any other value is 404.")),
    security(("session" = [])),
    responses(
        (status = 200, description = "The caller's live sessions, newest first; `current` marks the one that asked.", body = SessionList),
        (status = 401, description = "`Unauthorized`: no valid session.", body = ErrorBody),
        (status = 404, description = "`User not found`: not the caller's id.", body = ErrorBody),
    )
)]
pub async fn list_sessions(
    State(state): State<AppState>,
    current: CurrentSession,
    user_id: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    ensure_own_id(&current, user_id)?;
    let now = Timestamp::now();
    let sessions: Vec<Value> = state
        .store
        .list_sessions(&current.user.id)
        .await?
        .into_iter()
        .filter(|summary| {
            state
                .sessions
                .is_live_at(summary.created_at, summary.last_seen_at, now)
        })
        .map(|summary| session_json(&summary, &current))
        .collect();
    Ok(Json(json!({ "sessions": sessions })))
}

/// `DELETE /api/users/{user_id}/sessions/{session_id}`: ends one session.
#[utoipa::path(
    delete,
    path = "/api/users/{user_id}/sessions/{session_id}",
    tag = "sessions",
    params(
        ("user_id" = String, Path, description = "The caller's own id; any other value is 404."),
        ("session_id" = String, Path, description = "The `id` of one of the caller's sessions."),
    ),
    security(("session" = [])),
    responses(
        (status = 200, description = "`true`: the session ended on every instance; when it was the caller's own, the cookie is cleared.", body = bool, content_type = "application/json"),
        (status = 401, description = "`Unauthorized`: no valid session.", body = ErrorBody),
        (status = 403, description = "`Cross-site request refused`.", body = ErrorBody),
        (status = 404, description = "`User not found` (not the caller's id), or `Session not found` (not one of the caller's live sessions); nothing is touched.", body = ErrorBody),
    )
)]
pub async fn end_session(
    State(state): State<AppState>,
    current: CurrentSession,
    Client(origin): Client,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Response, ApiError> {
    let Ok(Path((user_id, session_id))) = path else {
        return Err(ApiError::UserNotFound);
    };
    ensure_own_id(&current, Ok(Path(user_id)))?;
    let now = Timestamp::now();
    let event = NewEvent::session_ended(&current.user.id, &session_id, now, &origin);
    let live = state.sessions.expiry_cutoffs(now);
    if !state
        .store
        .end_session(&current.user.id, &session_id, live, event)
        .await?
    {
        return Err(ApiError::SessionNotFound);
    }
    telemetry::sessions_revoked(Revocation::User, 1);
    if session_id == current.session.public_id {
        let clear = [(SET_COOKIE, clearing_cookie(state.cookie))];
        return Ok((clear, Json(true)).into_response());
    }
    Ok(Json(true).into_response())
}

/// `DELETE /api/users/{user_id}/sessions`: every session but the caller's.
#[utoipa::path(
    delete,
    path = "/api/users/{user_id}/sessions",
    tag = "sessions",
    params(("user_id" = String, Path, description = "The caller's own id; any other value is 404.")),
    security(("session" = [])),
    responses(
        (status = 200, description = "`{\"ended\":N}`: every other session of the caller ended; theirs goes on.", body = EndedSessions),
        (status = 401, description = "`Unauthorized`: no valid session.", body = ErrorBody),
        (status = 403, description = "`Cross-site request refused`.", body = ErrorBody),
        (status = 404, description = "`User not found`: not the caller's id.", body = ErrorBody),
    )
)]
pub async fn end_other_sessions(
    State(state): State<AppState>,
    current: CurrentSession,
    Client(origin): Client,
    user_id: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    ensure_own_id(&current, user_id)?;
    let ended = state
        .store
        .end_other_sessions(
            &current.user.id,
            &current.session.public_id,
            Timestamp::now(),
            origin,
        )
        .await?;
    telemetry::sessions_revoked(Revocation::User, ended);
    Ok(Json(json!({ "ended": ended })))
}

fn session_json(summary: &SessionSummary, current: &CurrentSession) -> Value {
    json!({
        "id": summary.public_id,
        "created_at": summary.created_at.to_iso8601(),
        "last_seen_at": summary.last_seen_at.to_iso8601(),
        "authenticated_at": summary.authenticated_at.to_iso8601(),
        "user_agent": summary.origin.user_agent,
        "address": summary.origin.address,
        "current": summary.public_id == current.session.public_id,
    })
}
