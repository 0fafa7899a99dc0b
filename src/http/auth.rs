//! `/api/auth/*`: sign-up, login (handing over to the second step when the
//! account has TOTP on), logout and the two session checks.

use axum::Json;
use axum::extract::State;
use axum::http::header::{CONTENT_LENGTH, SET_COOKIE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::AppState;
use super::client_origin::Client;
use super::json_body::JsonObject;
use super::openapi::{BodyRouteRefusals, ErrorBody, LoginRequest, SessionBody, SignUpRequest};
use super::second_factor_login::{FirstFactor, start_challenge};
use super::session::{
    CurrentSession, MaybeSession, MaybeSessionRow, SignedOut, clearing_cookie, session_cookie,
};
use super::throttle;
use super::validation::{Issues, email_field, password_field, string_field};
use crate::domain::email::Email;
use crate::domain::event::{LoginMethod, NewEvent};
use crate::domain::password::{Password, PasswordPolicy};
use crate::domain::session::IssuedSession;
use crate::domain::time::Timestamp;
use crate::domain::user::{User, UserId};
use crate::error::{ApiError, BodyShape, Issue};
use crate::store::{NewSession, NewUser, StoreError};
use crate::telemetry::{self, Revocation};

/// An email and password from a sign-up or login body.
struct CredentialsInput {
    email: Email,
    password: Password,
}

impl CredentialsInput {
    /// Sign-up: a new password under `policy`, and `confirmPassword` equal to it when sent.
    fn for_sign_up(body: &Map<String, Value>, policy: &PasswordPolicy) -> Result<Self, ApiError> {
        let mut issues = Issues::default();
        let email = email_field(body, "email", true, &mut issues);
        let password = password_field(body, "password", policy, true, &mut issues);
        let confirmation = string_field(body, "confirmPassword", false, &mut issues);
        let typed_password = body.get("password").and_then(Value::as_str);
        if confirmation.is_some_and(|confirmation| Some(confirmation) != typed_password) {
            issues.push(Issue::custom("confirmPassword", "Passwords must match"));
        }
        Self::collect(email, password, issues)
    }

    /// Login: validated like sign-up, without the new-password minimum.
    fn for_login(body: &Map<String, Value>) -> Result<Self, ApiError> {
        let mut issues = Issues::default();
        let email = email_field(body, "email", true, &mut issues);
        let password = password_field(
            body,
            "password",
            &PasswordPolicy::for_login(),
            true,
            &mut issues,
        );
        Self::collect(email, password, issues)
    }

    fn collect(
        email: Option<Email>,
        password: Option<Password>,
        issues: Issues,
    ) -> Result<Self, ApiError> {
        match (email, password) {
            (Some(email), Some(password)) if issues.is_empty() => Ok(Self { email, password }),
            _ => Err(ApiError::InvalidBody {
                shape: BodyShape::Credentials,
                issues: issues.into_vec(),
            }),
        }
    }
}

/// `POST /api/auth/sign-up`: a new account, signed in at once.
#[utoipa::path(
    post,
    path = "/api/auth/sign-up",
    tag = "auth",
    request_body = SignUpRequest,
    security((), ("session" = [])),
    responses(
        (status = 200, description = "Signed up and signed in.", body = SessionBody, headers(("set-cookie" = String, description = "`neptun-session=…; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age=…`"))),
        (status = 400, description = "`Invalid body(email, password).` with `data.issues` (a `confirmPassword` that differs: issue `Passwords must match`), or `Invalid JSON body.`", body = ErrorBody),
        (status = 403, description = "`Cross-site request refused`, or `Please log out first` (a valid session was sent).", body = ErrorBody),
        (status = 409, description = "`A user with this email already exists`.", body = ErrorBody),
        BodyRouteRefusals,
    )
)]
pub async fn sign_up(
    State(state): State<AppState>,
    _: SignedOut,
    Client(origin): Client,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    let input = CredentialsInput::for_sign_up(&body, &state.new_passwords)?;
    let password_hash = state.hasher.hash(input.password).await?;
    let now = Timestamp::now();
    let user = User {
        id: UserId::generate(),
        email: input.email,
    };
    let issued = state.sessions.issue(user.id.clone(), now)?;
    let new_user = NewUser {
        id: user.id.clone(),
        email: user.email.clone(),
        password_hash,
        created_at: now,
    };
    let session = NewSession {
        row: issued.row.clone(),
        event: NewEvent::sign_up(&user.id, now, &origin),
        origin,
    };
    state.store.create_user(new_user, session).await?;
    telemetry::signed_up();
    tracing::info!(user_id = %user.id, "user signed up");
    Ok(signed_in(&state, &user, &issued, now))
}

/// `POST /api/auth/login`: a new session for an email and its password.
#[utoipa::path(
    post,
    path = "/api/auth/login",
    tag = "auth",
    request_body = LoginRequest,
    security((), ("session" = [])),
    responses(
        (status = 200, description = "Signed in.", body = SessionBody, headers(("set-cookie" = String, description = "`neptun-session=…; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age=…`"))),
        (status = 400, description = "`Invalid body(email, password).` with `data.issues`, or `Invalid JSON body.`", body = ErrorBody),
        (status = 401, description = "`Invalid email or password` (the same answer, after the same work, for an unknown email), or, for the right password on an account with TOTP on, `Second factor required` with `data: {\"second_factor\":\"totp\",\"challenge_id\":…}` and no cookie: finish at `POST /api/auth/login/second-factor` within 5 minutes.", body = ErrorBody),
        (status = 403, description = "`Cross-site request refused`, or `Please log out first` (a valid session was sent).", body = ErrorBody),
        BodyRouteRefusals,
    )
)]
pub async fn login(
    State(state): State<AppState>,
    _: SignedOut,
    Client(origin): Client,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    let input = CredentialsInput::for_login(&body)?;
    let password_check = throttle::reserve_password_check(&state, &input.email).await?;
    let credentials = state.store.find_credentials(&input.email).await?;
    let stored_hash = credentials
        .as_ref()
        .map(|found| found.password_hash.clone());
    // An unknown email is verified against a dummy hash: same answer, same work.
    let verification = password_check
        .verify(&state, input.password, stored_hash.clone())
        .await?;
    let known_user = credentials.as_ref().map(|found| found.user_id.clone());
    let (Some(credentials), Some(verified_hash)) =
        (credentials.filter(|_| verification.matched), stored_hash)
    else {
        password_check.failed();
        // Known accounts only: an unknown email has no history to write to.
        if let Some(user_id) = known_user {
            let event = NewEvent::login_failed(&user_id, Timestamp::now(), &origin);
            state.store.record_event(event).await?;
        }
        telemetry::login(false);
        tracing::info!("login failed");
        return Err(ApiError::InvalidCredentials);
    };
    if credentials.totp_enabled {
        // A right password alone neither counts as a failure nor forgives
        // the earlier ones: only the completed sign-in does.
        password_check.released(&state).await?;
        let first_factor = FirstFactor {
            detail: LoginMethod::Password.detail(),
            verified_hash: Some(verified_hash),
            rehashed_hash: verification.rehashed,
        };
        let challenge_id =
            start_challenge(&state, &credentials.user_id, first_factor, None).await?;
        tracing::info!(user_id = %credentials.user_id, "password right; second factor asked");
        return Err(ApiError::SecondFactorRequired { challenge_id });
    }
    password_check.succeeded(&state).await?;
    let now = Timestamp::now();
    let issued = state.sessions.issue(credentials.user_id.clone(), now)?;
    let session = NewSession {
        row: issued.row.clone(),
        event: NewEvent::login(&credentials.user_id, LoginMethod::Password, now, &origin),
        origin,
    };
    match state
        .store
        .create_session(session, verified_hash, verification.rehashed)
        .await
    {
        Ok(()) => {}
        // Deleted, or given another password, between the check and now.
        Err(StoreError::UserNotFound | StoreError::PasswordChanged) => {
            return Err(ApiError::InvalidCredentials);
        }
        Err(other) => return Err(other.into()),
    }
    let user = User {
        id: credentials.user_id,
        email: input.email,
    };
    telemetry::login(true);
    tracing::info!(user_id = %user.id, "user logged in");
    Ok(signed_in(&state, &user, &issued, now))
}

/// `POST /api/auth/logout`: `true` if a session ended; the cookie is cleared either way.
#[utoipa::path(
    post,
    path = "/api/auth/logout",
    tag = "auth",
    security((), ("session" = [])),
    responses(
        (status = 200, description = "`true` if a session ended, `false` if there was none; the cookie is cleared either way.", body = bool, content_type = "application/json",
            headers(("set-cookie" = String, description = "`neptun-session=; …; Max-Age=0`"))),
        (status = 403, description = "`Cross-site request refused`.", body = ErrorBody),
    )
)]
pub async fn logout(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    Client(origin): Client,
) -> Result<Response, ApiError> {
    let ended = match session {
        Some(current) => {
            state
                .store
                .delete_session(current.token.hash(), Timestamp::now(), origin)
                .await?
        }
        None => false,
    };
    if ended {
        telemetry::sessions_revoked(Revocation::Logout, 1);
    }
    let clear = [(SET_COOKIE, clearing_cookie(state.cookie))];
    Ok((clear, Json(ended)).into_response())
}

/// `HEAD /api/auth/check`: 200 or 401, never a body.
#[utoipa::path(
    head,
    path = "/api/auth/check",
    tag = "auth",
    security(("session" = [])),
    responses(
        (status = 200, description = "The session is valid (`Content-Length: 0`)."),
        (status = 401, description = "No valid session (`Content-Length: 0`)."),
    )
)]
pub async fn check(MaybeSessionRow(session): MaybeSessionRow) -> Response {
    let status = match session {
        Some(_) => StatusCode::OK,
        None => StatusCode::UNAUTHORIZED,
    };
    (status, [(CONTENT_LENGTH, HeaderValue::from_static("0"))]).into_response()
}

/// `GET /api/auth/session`: the signed-in user; reads never set a cookie.
#[utoipa::path(
    get,
    path = "/api/auth/session",
    tag = "auth",
    security(("session" = [])),
    responses(
        (status = 200, description = "The signed-in user.", body = SessionBody),
        (status = 401, description = "`Unauthorized`: no valid session.", body = ErrorBody),
    )
)]
pub async fn session(current: CurrentSession) -> Json<Value> {
    Json(session_body(&current.user, current.session.logged_in_at))
}

/// `{user:{id, primary_email}}`
pub fn user_body(user: &User) -> Value {
    json!({ "user": { "id": user.id.as_str(), "primary_email": user.email.as_str() } })
}

fn session_body(user: &User, logged_in_at: Timestamp) -> Value {
    let mut body = user_body(user);
    body["loggedInAt"] = Value::String(logged_in_at.to_iso8601());
    body
}

pub(super) fn signed_in(
    state: &AppState,
    user: &User,
    issued: &IssuedSession,
    now: Timestamp,
) -> Response {
    let max_age = state.sessions.cookie_max_age(issued.row.created_at, now);
    let cookie = session_cookie(&issued.token, max_age, state.cookie);
    (
        [(SET_COOKIE, cookie)],
        Json(session_body(user, issued.row.logged_in_at)),
    )
        .into_response()
}
