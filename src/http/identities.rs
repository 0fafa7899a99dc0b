//! The JSON side of sign-in providers (contract section 14): which
//! providers are on, the caller's linked identities, confirming a pending
//! link and unlinking.

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::AppState;
use super::client_origin::Client;
use super::json_body::OptionalJsonObject;
use super::oauth::flow_cookie::{FlowCookie, clearing_cookie};
use super::openapi::{
    BodyRouteRefusals, ErrorBody, IdentityBody, IdentityLinkRequest, IdentityList, ProviderList,
};
use super::recent_auth::ensure_recent_authentication;
use super::session::CurrentSession;
use super::users::ensure_own_id;
use crate::domain::event::IdentityChange;
use crate::domain::event::NewEvent;
use crate::domain::time::Timestamp;
use crate::error::{ApiError, BodyShape};
use crate::store::identities::{Identity, IdentityRemoval, LinkConfirmation};

/// `GET /api/auth/providers`: the sign-in providers that are on.
#[utoipa::path(
    get,
    path = "/api/auth/providers",
    tag = "identities",
    security((), ("session" = [])),
    responses(
        (status = 200, description = "The configured providers, each with the path that starts its sign-in (a browser navigation; `?redirect=/path` chooses where to land). Empty when none is configured.", body = ProviderList),
    )
)]
pub async fn list_providers(State(state): State<AppState>) -> Json<Value> {
    let providers: Vec<Value> = state
        .providers
        .iter()
        .map(|provider| {
            json!({
                "id": provider.name(),
                "name": provider.display_name(),
                "path": provider.path(),
            })
        })
        .collect();
    Json(json!({ "providers": providers }))
}

/// `GET /api/users/{user_id}/identities`: the caller's linked identities.
#[utoipa::path(
    get,
    path = "/api/users/{user_id}/identities",
    tag = "identities",
    params(("user_id" = String, Path, description = "The caller's own id; any other value is 404.")),
    security(("session" = [])),
    responses(
        (status = 200, description = "The linked identities, newest first.", body = IdentityList),
        (status = 401, description = "`Unauthorized`: no valid session.", body = ErrorBody),
        (status = 404, description = "`User not found`: not the caller's id.", body = ErrorBody),
    )
)]
pub async fn list_identities(
    State(state): State<AppState>,
    current: CurrentSession,
    user_id: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    ensure_own_id(&current, user_id)?;
    let identities = state.store.list_identities(&current.user.id).await?;
    let identities: Vec<Value> = identities.iter().map(identity_json).collect();
    Ok(Json(json!({ "identities": identities })))
}

/// `POST /api/users/{user_id}/identities`: links the provider sign-in
/// that waits in this browser.
#[utoipa::path(
    post,
    path = "/api/users/{user_id}/identities",
    tag = "identities",
    params(("user_id" = String, Path, description = "The caller's own id; any other value is 404.")),
    request_body(content = Option<IdentityLinkRequest>, description = "`{}`, or `{\"current_password\"}` to prove the password now; an empty body needs no `Content-Type`."),
    security(("session" = [])),
    responses(
        (status = 200, description = "Linked (an `identity_linked` event with it); the flow cookie is cleared.", body = IdentityBody),
        (status = 400, description = "`Invalid JSON body.`, or `Invalid body(?current_password).` with `data.issues` (a wrong `current_password`: issue `Current password is incorrect`).", body = ErrorBody),
        (status = 401, description = "`Unauthorized`: no valid session.", body = ErrorBody),
        (status = 403, description = "`Cross-site request refused`, or `Recent authentication required`: the last sign-in proof is older than `--require-recent-auth` (10 minutes when unset) and no `current_password` was sent.", body = ErrorBody),
        (status = 404, description = "`User not found`: not the caller's id.", body = ErrorBody),
        (status = 409, description = "`No provider sign-in waits to be linked` (none from this browser for this account in the last 10 minutes), or `Identity already linked`.", body = ErrorBody),
        BodyRouteRefusals,
    )
)]
pub async fn confirm_link(
    State(state): State<AppState>,
    current: CurrentSession,
    Client(origin): Client,
    user_id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    OptionalJsonObject(body): OptionalJsonObject,
) -> Result<Response, ApiError> {
    ensure_own_id(&current, user_id)?;
    ensure_recent_authentication(&state, &current, &body, BodyShape::IdentityLink).await?;
    let cookie = FlowCookie::presented(&headers, state.cookie).ok_or(ApiError::NoPendingLink)?;
    let identity = state
        .store
        .confirm_pending_link(LinkConfirmation {
            user_id: current.user.id.clone(),
            browser_binding: cookie.binding(),
            identity_id: uuid::Uuid::now_v7().hyphenated().to_string(),
            now: Timestamp::now(),
            origin,
        })
        .await?
        .ok_or(ApiError::NoPendingLink)?;
    tracing::info!(
        user_id = %current.user.id,
        provider = identity.provider,
        "provider identity linked"
    );
    Ok((
        [(SET_COOKIE, clearing_cookie(state.cookie))],
        Json(json!({ "identity": identity_json(&identity) })),
    )
        .into_response())
}

/// `DELETE /api/users/{user_id}/identities/{identity_id}`: unlinks one.
#[utoipa::path(
    delete,
    path = "/api/users/{user_id}/identities/{identity_id}",
    tag = "identities",
    params(
        ("user_id" = String, Path, description = "The caller's own id; any other value is 404."),
        ("identity_id" = String, Path, description = "The `id` of one of the caller's identities."),
    ),
    security(("session" = [])),
    responses(
        (status = 200, description = "`true`: unlinked (an `identity_unlinked` event with it).", body = bool, content_type = "application/json"),
        (status = 401, description = "`Unauthorized`: no valid session.", body = ErrorBody),
        (status = 403, description = "`Cross-site request refused`.", body = ErrorBody),
        (status = 404, description = "`User not found` (not the caller's id) or `Identity not found` (not one of the caller's identities).", body = ErrorBody),
        (status = 409, description = "`Cannot remove the last way to sign in`: the account has no password, no passkey and no other identity.", body = ErrorBody),
    )
)]
pub async fn delete_identity(
    State(state): State<AppState>,
    current: CurrentSession,
    Client(origin): Client,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<bool>, ApiError> {
    let Ok(Path((user_id, identity_id))) = path else {
        return Err(ApiError::UserNotFound);
    };
    ensure_own_id(&current, Ok(Path(user_id)))?;
    let identities = state.store.list_identities(&current.user.id).await?;
    let Some(identity) = identities
        .iter()
        .find(|identity| identity.id == identity_id)
    else {
        return Err(ApiError::IdentityNotFound);
    };
    let event = NewEvent::identity(
        &current.user.id,
        IdentityChange::Unlinked,
        (&identity.id, &identity.provider),
        Timestamp::now(),
        &origin,
    );
    match state
        .store
        .delete_identity(&current.user.id, &identity_id, event)
        .await?
    {
        IdentityRemoval::Removed => {
            tracing::info!(user_id = %current.user.id, %identity_id, "provider identity unlinked");
            Ok(Json(true))
        }
        IdentityRemoval::NotFound => Err(ApiError::IdentityNotFound),
        IdentityRemoval::LastWayIn => Err(ApiError::LastWayToSignIn),
    }
}

fn identity_json(identity: &Identity) -> Value {
    json!({
        "id": identity.id,
        "provider": identity.provider,
        "email": identity.email.as_str(),
        "created_at": identity.created_at.to_iso8601(),
    })
}
