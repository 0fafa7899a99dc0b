//! Undoing an email change (contract section 12, "Undo"): the link mailed
//! to the old address opens `/account/undo-email-change`, whose button
//! sends `POST /api/auth/undo-email-change`. No session is needed: the
//! link is the proof, and it works from any browser, once, for 7 days.

use axum::Json;
use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::AppState;
use super::auth::user_body;
use super::client_origin::Client;
use super::json_body::JsonObject;
use super::notifications::{queue, wake_sender};
use super::openapi::{BodyRouteRefusals, ErrorBody, UndoRequestBody, User};
use super::session::{MaybeSession, clearing_cookie};
use crate::domain::mail_message::MailMessage;
use crate::domain::otp::{self, ResetCode};
use crate::domain::session_token::SessionToken;
use crate::domain::time::Timestamp;
use crate::error::ApiError;
use crate::store::mail::{EmailChangeUndo, UndoOutcome};
use crate::telemetry::{self, Revocation};

/// `POST /api/auth/undo-email-change` `{token}`: restores the old address.
#[utoipa::path(
    post,
    path = "/api/auth/undo-email-change",
    tag = "password reset",
    request_body = UndoRequestBody,
    security((), ("session" = [])),
    responses(
        (status = 200, description = "The old address is back; every session of the account ended (a caller's cookie of it is cleared) and a password reset code was mailed to it.", body = User),
        (status = 400, description = "`Invalid or expired link.`: an unknown, used or expired token; or `Invalid JSON body.`", body = ErrorBody),
        (status = 403, description = "`Cross-site request refused`.", body = ErrorBody),
        (status = 409, description = "`A user with this email already exists`: another account took the old address meanwhile; the link stays usable.", body = ErrorBody),
        BodyRouteRefusals,
    )
)]
pub async fn undo_email_change(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    Client(origin): Client,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    let Some(mail) = state.mail.clone() else {
        return Err(ApiError::RouteNotFound);
    };
    let token = body
        .get("token")
        .and_then(Value::as_str)
        .and_then(SessionToken::parse)
        .ok_or(ApiError::InvalidLink)?;
    let now = Timestamp::now();
    let link = state
        .store
        .find_undo_link(token.hash(), now)
        .await?
        .filter(|link| link.usable)
        .ok_or(ApiError::InvalidLink)?;
    // A reset code for the restored address, mailed with the undo.
    let code = ResetCode::generate(mail.otp_digits)?;
    let message = MailMessage::ResetCode {
        code: code.as_str().to_owned(),
        minutes: mail.otp_lifetime.as_secs().div_ceil(60),
    };
    let outcome = state
        .store
        .undo_email_change(EmailChangeUndo {
            token_hash: token.hash(),
            code_mac: otp::code_mac(&state.server_key, &link.old_email, code.as_str()),
            code_expires_at: now.plus(mail.otp_lifetime),
            mail: Some(queue(
                &state,
                &mail.public_url,
                &link.old_email,
                &message,
                now,
            )?),
            old_email: link.old_email,
            now,
            origin,
        })
        .await?;
    match outcome {
        UndoOutcome::Restored {
            user,
            sessions_ended,
        } => {
            wake_sender(&state);
            telemetry::sessions_revoked(Revocation::PasswordChange, sessions_ended);
            tracing::info!(user_id = %user.id, "email change undone");
            let own = session.is_some_and(|current| current.user.id == user.id);
            let body = Json(user_body(&user));
            if own {
                let clear = [(SET_COOKIE, clearing_cookie(state.cookie))];
                Ok((clear, body).into_response())
            } else {
                Ok(body.into_response())
            }
        }
        UndoOutcome::Invalid => Err(ApiError::InvalidLink),
        UndoOutcome::EmailTaken => Err(ApiError::EmailTaken),
    }
}
