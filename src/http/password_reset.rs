//! `POST /auth/otp` (contract section 10): NEPTUN's one-time-code password
//! reset, with its route and bodies, and without its holes: the answer and
//! the work are the same whether or not the email has an account, and a
//! code allows 5 wrong tries (an account 10 a day).

use axum::Json;
use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::AppState;
use super::client_origin::{Client, ClientIp};
use super::json_body::JsonObject;
use super::notifications::{queue, wake_sender};
use super::openapi::{BodyRouteRefusals, ErrorBody, ResetCodeAnswer, ResetCodeRequestBody};
use super::rate_limit::Limited;
use super::session::{MaybeSession, clearing_cookie};
use super::throttle::password_change_limit;
use super::validation::{Issues, email_field, password_field, string_field, type_name};
use crate::domain::client::ClientOrigin;
use crate::domain::email::Email;
use crate::domain::mail_message::MailMessage;
use crate::domain::otp::{self, ResetCode};
use crate::domain::password::Password;
use crate::domain::time::Timestamp;
use crate::error::{ApiError, BodyShape, Issue};
use crate::mail::setup::MailContext;
use crate::store::mail::{PasswordResetByCode, ResetCodeRequest, ResetOutcome};
use crate::telemetry::{self, Revocation};

const SENT: &str = "Successfully sent OTP.";
const RESET: &str = "Successfully validated OTP and reset password.";
const INVALID: &str = "Invalid or expired OTP.";

/// `POST /auth/otp`: `create` mails a code; `validate` resets the password.
#[utoipa::path(
    post,
    path = "/auth/otp",
    tag = "password reset",
    request_body = ResetCodeRequestBody,
    security((), ("session" = [])),
    responses(
        (status = 200, description = "`create`: `{success:true, message:\"Successfully sent OTP.\"}` whether or not the email has an account (only an account gets a mail). `validate`: `{success:true, message:\"Successfully validated OTP and reset password.\"}` (every session of the account ends; the caller's cookie is cleared when it was one of them) or `{success:false, message:\"Invalid or expired OTP.\"}`.", body = ResetCodeAnswer),
        (status = 400, description = "`Invalid body(action).`, `Invalid body(email).` (create) or `Invalid body(email, otp, new_password).` (validate) with `data.issues`, or `Invalid JSON body.`", body = ErrorBody),
        (status = 403, description = "`Cross-site request refused`.", body = ErrorBody),
        BodyRouteRefusals,
    )
)]
pub async fn reset_code(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    Client(origin): Client,
    ClientIp(client_ip): ClientIp,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    // The route exists only with mail on.
    let Some(mail) = state.mail.clone() else {
        return Err(ApiError::RouteNotFound);
    };
    let action = match body.get("action").and_then(Value::as_str) {
        Some("create") => Limited::ResetCodeCreate,
        Some("validate") => Limited::ResetCodeValidate,
        _ => return Err(action_issue(&body)),
    };
    if let Some(limits) = &state.rate_limits
        && let Err(wait) = limits.check_address(action, client_ip)
    {
        return Err(limits.refusal(action, wait));
    }
    if action == Limited::ResetCodeCreate {
        create(&state, &mail, &body, origin).await
    } else {
        let user_of_session = session.map(|current| current.user.id);
        validate(&state, &mail, &body, origin, user_of_session).await
    }
}

async fn create(
    state: &AppState,
    mail: &MailContext,
    body: &Map<String, Value>,
    origin: ClientOrigin,
) -> Result<Response, ApiError> {
    let mut issues = Issues::default();
    let email = email_field(body, "email", true, &mut issues);
    let Some(email) = email.filter(|_| issues.is_empty()) else {
        return Err(invalid(BodyShape::ResetCreate, issues));
    };
    // The same work for every email: a code, its HMAC and its sealed mail.
    let now = Timestamp::now();
    let code = ResetCode::generate(mail.otp_digits)?;
    let message = MailMessage::ResetCode {
        code: code.as_str().to_owned(),
        minutes: mail.otp_lifetime.as_secs().div_ceil(60),
    };
    let issued = state
        .store
        .request_reset_code(ResetCodeRequest {
            code_mac: otp::code_mac(&state.server_key, &email, code.as_str()),
            expires_at: now.plus(mail.otp_lifetime),
            mail: queue(state, &mail.public_url, &email, &message, now)?,
            email,
            now,
            codes_since: now.minus(otp::CODE_WINDOW),
            max_codes: otp::CODES_PER_WINDOW,
            origin,
        })
        .await?;
    if issued {
        wake_sender(state);
    }
    tracing::info!("password reset code asked for");
    Ok(answer(true, SENT))
}

async fn validate(
    state: &AppState,
    mail: &MailContext,
    body: &Map<String, Value>,
    origin: ClientOrigin,
    user_of_session: Option<crate::domain::user::UserId>,
) -> Result<Response, ApiError> {
    let mut issues = Issues::default();
    let email = email_field(body, "email", true, &mut issues);
    let code = string_field(body, "otp", true, &mut issues);
    if code.is_some_and(|code| !otp::is_well_formed(code, mail.otp_digits)) {
        issues.push(Issue::custom("otp", "Invalid code"));
    }
    let password = password_field(
        body,
        "new_password",
        &state.new_passwords,
        true,
        &mut issues,
    );
    let (Some(email), Some(code), Some(password)) = (email, code, password) else {
        return Err(invalid(BodyShape::ResetValidate, issues));
    };
    if !issues.is_empty() {
        return Err(invalid(BodyShape::ResetValidate, issues));
    }
    let outcome = reset(state, mail, email, code, password, origin).await?;
    match outcome {
        ResetOutcome::Reset {
            user_id,
            sessions_ended,
        } => {
            wake_sender(state);
            telemetry::sessions_revoked(Revocation::PasswordChange, sessions_ended);
            tracing::info!(%user_id, "password reset with a code");
            let ended_own = user_of_session.as_ref() == Some(&user_id);
            let mut response = answer(true, RESET);
            if ended_own {
                // The caller's session ended with the reset: its cookie goes too.
                let clear = clearing_cookie(state.cookie);
                response.headers_mut().insert(SET_COOKIE, clear);
            }
            Ok(response)
        }
        ResetOutcome::Invalid => Ok(answer(false, INVALID)),
        ResetOutcome::TooManyPasswordChanges { oldest } => {
            let window = crate::domain::throttle::PASSWORD_CHANGE_WINDOW;
            let wait = oldest.plus(window).since(Timestamp::now());
            Err(ApiError::too_many_requests(wait))
        }
    }
}

async fn reset(
    state: &AppState,
    mail: &MailContext,
    email: Email,
    code: &str,
    password: Password,
    origin: ClientOrigin,
) -> Result<ResetOutcome, ApiError> {
    // Hashed before the transaction, whatever the code: the same work for
    // a right and a wrong one, and no Argon2 inside a write lock.
    let password_hash = state.hasher.hash(password).await?;
    let now = Timestamp::now();
    let message = MailMessage::PasswordChanged {
        by_reset: true,
        sessions_ended: true,
        ways_in: "your new password".into(),
    };
    Ok(state
        .store
        .reset_password_by_code(PasswordResetByCode {
            code_mac: otp::code_mac(&state.server_key, &email, code),
            password_hash,
            now,
            failures_since: now.minus(otp::FAILURE_WINDOW),
            tries_per_code: otp::TRIES_PER_CODE,
            tries_per_account: otp::TRIES_PER_ACCOUNT,
            change_limit: password_change_limit(state, now),
            mail: Some(queue(state, &mail.public_url, &email, &message, now)?),
            email,
            origin,
        })
        .await?)
}

fn answer(success: bool, message: &str) -> Response {
    Json(json!({ "success": success, "message": message })).into_response()
}

fn invalid(shape: BodyShape, issues: Issues) -> ApiError {
    ApiError::InvalidBody {
        shape,
        issues: issues.into_vec(),
    }
}

/// 400 `Invalid body(action).`: missing, not a string, or not one we know.
fn action_issue(body: &Map<String, Value>) -> ApiError {
    let issue = match body.get("action") {
        Some(Value::String(_)) => Issue::custom("action", "Expected 'create' | 'validate'"),
        other => Issue::invalid_type("action", "string", type_name(other)),
    };
    ApiError::InvalidBody {
        shape: BodyShape::ResetAction,
        issues: vec![issue],
    }
}
