//! `/api/users/{user_id}`: the caller's own account.

use axum::Json;
use axum::extract::Path;
use axum::extract::rejection::PathRejection;
use serde_json::Value;

use super::auth::user_body;
use super::session::CurrentSession;
use crate::error::ApiError;

/// `GET /api/users/{user_id}`
pub async fn get_user(
    current: CurrentSession,
    user_id: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    ensure_own_id(&current, user_id)?;
    Ok(Json(user_body(&current.user)))
}

/// Any path value that is not the caller's own id (malformed, unknown or
/// another user's) is the same 404, so ids of others are never revealed.
fn ensure_own_id(
    current: &CurrentSession,
    user_id: Result<Path<String>, PathRejection>,
) -> Result<(), ApiError> {
    match user_id {
        Ok(Path(id)) if id == current.user.id.as_str() => Ok(()),
        _ => Err(ApiError::UserNotFound),
    }
}
