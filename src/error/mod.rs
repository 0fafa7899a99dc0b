//! Every HTTP error the service answers, rendered as the contract's H3 error
//! body (`statusCode`, `statusMessage`, `message`, `data.issues`).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

mod issue;

pub use self::issue::Issue;

use crate::domain::password_hasher::HashingError;
use crate::store::StoreError;

/// What a 503 from a full hashing queue asks the client to wait, in seconds.
const BUSY_RETRY_AFTER_SECS: u64 = 1;

/// Which body a 400 speaks of: the auth endpoints' required fields or the
/// update endpoint's optional ones (NEPTUN's own messages differ).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyShape {
    /// `{email, password}` of sign-up and login.
    Credentials,
    /// `{email?, password?}` of the update endpoint.
    Update,
    /// `POST /auth/otp` without a known `action`.
    ResetAction,
    /// `POST /auth/otp` `create`: `{email}`.
    ResetCreate,
    /// `POST /auth/otp` `validate`: `{email, otp, new_password}`.
    ResetValidate,
    /// The passkey routes' `{name}` and `{current_password?}`.
    Passkey,
    /// The identity link confirmation's `{current_password?}`.
    IdentityLink,
    /// Starting a TOTP enrolment: `{current_password?}`.
    TotpEnrolment,
    /// The TOTP account routes: `{code, current_password?}`.
    TotpCode,
    /// The second step of a sign-in: `{challenge_id, code | recovery_code}`.
    SecondFactor,
}

impl BodyShape {
    fn invalid_body_message(self) -> &'static str {
        match self {
            Self::Credentials => "Invalid body(email, password).",
            Self::Update => "Invalid body(?email, ?password).",
            Self::ResetAction => "Invalid body(action).",
            Self::ResetCreate => "Invalid body(email).",
            Self::ResetValidate => "Invalid body(email, otp, new_password).",
            Self::Passkey => "Invalid body(?name, ?current_password).",
            Self::IdentityLink => "Invalid body(?current_password).",
            Self::TotpEnrolment => "Invalid body(?current_password).",
            Self::TotpCode => "Invalid body(code, ?current_password).",
            Self::SecondFactor => "Invalid body(challenge_id, ?code, ?recovery_code).",
        }
    }

    fn status_message(self) -> &'static str {
        // NEPTUN's update endpoint says "Bad Request." with a period.
        match self {
            Self::Credentials
            | Self::Passkey
            | Self::IdentityLink
            | Self::ResetAction
            | Self::ResetCreate
            | Self::ResetValidate
            | Self::TotpEnrolment
            | Self::TotpCode
            | Self::SecondFactor => "Bad Request",
            Self::Update => "Bad Request.",
        }
    }
}

/// An error answer of the API.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("invalid body")]
    InvalidBody {
        shape: BodyShape,
        issues: Vec<Issue>,
    },
    #[error("neither email nor password")]
    NothingToUpdate,
    #[error("invalid JSON body")]
    InvalidJson { shape: BodyShape },
    #[error("no valid session")]
    Unauthorized,
    #[error("login failed")]
    InvalidCredentials,
    /// A right password on an account with TOTP on: the second step's challenge.
    #[error("second factor required")]
    SecondFactorRequired { challenge_id: String },
    /// A sign-in challenge that is unknown, stale, used up or not this browser's.
    #[error("login expired")]
    LoginExpired,
    /// A wrong or spent second-factor code: 401 on the sign-in route, 400 on
    /// the account routes.
    #[error("invalid code")]
    InvalidCode { signing_in: bool },
    #[error("TOTP already enabled")]
    TotpAlreadyEnabled,
    #[error("TOTP not enabled")]
    TotpNotEnabled,
    #[error("already logged in")]
    AlreadyLoggedIn,
    #[error("cross-site request")]
    CrossSite,
    #[error("recent authentication required")]
    RecentAuthRequired,
    #[error("too many requests")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("request timed out")]
    RequestTimeout,
    #[error("user not found")]
    UserNotFound,
    #[error("session not found")]
    SessionNotFound,
    #[error("invalid undo link")]
    InvalidLink,
    #[error("invalid query")]
    InvalidEventQuery { issues: Vec<Issue> },
    #[error("route not found")]
    RouteNotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    /// A `Host` outside `--allowed-hosts`.
    #[error("host not served here")]
    MisdirectedRequest,
    #[error("email taken")]
    EmailTaken,
    /// A registration that did not verify, whatever the cause.
    #[error("passkey verification failed")]
    PasskeyVerificationFailed,
    /// A sign-in that did not verify, whatever the cause.
    #[error("passkey not recognised")]
    PasskeyNotRecognised,
    #[error("passkey already registered")]
    PasskeyAlreadyRegistered,
    #[error("passkey not found")]
    PasskeyNotFound,
    #[error("last way to sign in")]
    LastWayToSignIn,
    /// Not one of the caller's linked identities.
    #[error("identity not found")]
    IdentityNotFound,
    /// No provider sign-in of this browser waits to be linked.
    #[error("no pending link")]
    NoPendingLink,
    /// The provider identity was linked (to any account) meanwhile.
    #[error("identity already linked")]
    IdentityAlreadyLinked,
    #[error("payload too large")]
    PayloadTooLarge { limit_bytes: usize },
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("server busy")]
    ServerBusy { retry_after_secs: u64 },
    #[error("internal error: {0}")]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    /// The same error as seen by the update endpoint, whose 400s carry its own wording.
    pub fn for_update(self) -> Self {
        match self {
            Self::InvalidJson { .. } => Self::InvalidJson {
                shape: BodyShape::Update,
            },
            Self::InvalidBody { issues, .. } => Self::InvalidBody {
                shape: BodyShape::Update,
                issues,
            },
            other => other,
        }
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::InvalidBody { .. }
            | Self::NothingToUpdate
            | Self::InvalidJson { .. }
            | Self::InvalidEventQuery { .. }
            | Self::InvalidLink
            | Self::PasskeyVerificationFailed
            | Self::InvalidCode { signing_in: false } => StatusCode::BAD_REQUEST,
            Self::Unauthorized
            | Self::InvalidCredentials
            | Self::PasskeyNotRecognised
            | Self::SecondFactorRequired { .. }
            | Self::LoginExpired
            | Self::InvalidCode { signing_in: true } => StatusCode::UNAUTHORIZED,
            Self::AlreadyLoggedIn | Self::CrossSite | Self::RecentAuthRequired => {
                StatusCode::FORBIDDEN
            }
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::UserNotFound
            | Self::SessionNotFound
            | Self::RouteNotFound
            | Self::PasskeyNotFound
            | Self::IdentityNotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::MisdirectedRequest => StatusCode::MISDIRECTED_REQUEST,
            Self::EmailTaken
            | Self::PasskeyAlreadyRegistered
            | Self::LastWayToSignIn
            | Self::NoPendingLink
            | Self::IdentityAlreadyLinked
            | Self::TotpAlreadyEnabled
            | Self::TotpNotEnabled => StatusCode::CONFLICT,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::ServerBusy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn message(&self) -> &'static str {
        match self {
            Self::InvalidBody { shape, .. } => shape.invalid_body_message(),
            Self::NothingToUpdate => {
                "Invalid body(?email, ?password). At least one of email or password is required."
            }
            Self::InvalidJson { .. } => "Invalid JSON body.",
            Self::Unauthorized => "Unauthorized",
            Self::InvalidCredentials => "Invalid email or password",
            Self::SecondFactorRequired { .. } => "Second factor required",
            Self::LoginExpired => "Login expired, sign in again",
            Self::InvalidCode { .. } => "Invalid code",
            Self::TotpAlreadyEnabled => "TOTP already enabled",
            Self::TotpNotEnabled => "TOTP not enabled",
            Self::AlreadyLoggedIn => "Please log out first",
            Self::CrossSite => "Cross-site request refused",
            Self::RecentAuthRequired => "Recent authentication required",
            Self::TooManyRequests { .. } => "Too many requests, retry later",
            Self::RequestTimeout => "Request Timeout",
            Self::UserNotFound => "User not found",
            Self::SessionNotFound => "Session not found",
            Self::InvalidLink => "Invalid or expired link.",
            Self::InvalidEventQuery { .. } => "Invalid query(?limit, ?before).",
            Self::RouteNotFound => "Not Found",
            Self::MethodNotAllowed => "Method Not Allowed",
            Self::MisdirectedRequest => "Misdirected Request",
            Self::EmailTaken => "A user with this email already exists",
            Self::PasskeyVerificationFailed => "Passkey verification failed",
            Self::PasskeyNotRecognised => "Passkey not recognised",
            Self::PasskeyAlreadyRegistered => "Passkey already registered",
            Self::PasskeyNotFound => "Passkey not found",
            Self::LastWayToSignIn => "Cannot remove the last way to sign in",
            Self::IdentityNotFound => "Identity not found",
            Self::NoPendingLink => "No provider sign-in waits to be linked",
            Self::IdentityAlreadyLinked => "Identity already linked",
            Self::PayloadTooLarge { .. } => "Payload Too Large",
            Self::UnsupportedMediaType => "Content-Type must be application/json",
            Self::ServerBusy { .. } => "Server busy, retry later",
            Self::Internal(_) => "Internal Server Error",
        }
    }

    fn status_message(&self) -> &'static str {
        match self {
            Self::InvalidBody { shape, .. } | Self::InvalidJson { shape } => shape.status_message(),
            Self::NothingToUpdate => BodyShape::Update.status_message(),
            other => other.status().canonical_reason().unwrap_or("Error"),
        }
    }

    fn issues(&self) -> Option<&[Issue]> {
        match self {
            Self::InvalidBody { issues, .. } | Self::InvalidEventQuery { issues } => Some(issues),
            _ => None,
        }
    }

    fn retry_after_secs(&self) -> Option<u64> {
        match self {
            Self::ServerBusy { retry_after_secs } | Self::TooManyRequests { retry_after_secs } => {
                Some(*retry_after_secs)
            }
            _ => None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Internal(err) = &self {
            // The only place internal errors are logged; the client sees none of it.
            tracing::error!(error = format!("{err:#}"), "request failed");
        }
        let status = self.status();
        let mut body = json!({
            "statusCode": status.as_u16(),
            "statusMessage": self.status_message(),
            "message": self.message(),
        });
        if let Some(issues) = self.issues() {
            body["data"] = json!({ "issues": issues });
        }
        if let Self::SecondFactorRequired { challenge_id } = &self {
            body["data"] = json!({ "second_factor": "totp", "challenge_id": challenge_id });
        }
        if let Self::PayloadTooLarge { limit_bytes } = self {
            // Tells a client (and the person reading its error) what fits.
            body["data"] = json!({ "limit_bytes": limit_bytes });
        }
        let mut response = (status, axum::Json(body)).into_response();
        if let Some(seconds) = self.retry_after_secs() {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl ApiError {
    /// 429 asking the client to wait `wait`, rounded up to whole seconds.
    pub fn too_many_requests(wait: std::time::Duration) -> Self {
        let whole_seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        Self::TooManyRequests {
            retry_after_secs: whole_seconds.max(1),
        }
    }
}

impl From<HashingError> for ApiError {
    fn from(err: HashingError) -> Self {
        match err {
            HashingError::Busy => Self::ServerBusy {
                retry_after_secs: BUSY_RETRY_AFTER_SECS,
            },
            HashingError::Failed(reason) => Self::Internal(anyhow::anyhow!(reason)),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::EmailTaken => Self::EmailTaken,
            StoreError::PasskeyTaken => Self::PasskeyAlreadyRegistered,
            StoreError::IdentityTaken => Self::IdentityAlreadyLinked,
            StoreError::PasskeyChanged => Self::PasskeyNotRecognised,
            // The session or its user ended while this request was in flight.
            StoreError::SessionNotFound | StoreError::UserNotFound => Self::Unauthorized,
            StoreError::TooManyPasswordChanges { oldest } => {
                let frees_at = oldest.plus(crate::domain::throttle::PASSWORD_CHANGE_WINDOW);
                Self::too_many_requests(frees_at.since(crate::domain::time::Timestamp::now()))
            }
            other => Self::Internal(other.into()),
        }
    }
}

impl From<getrandom::Error> for ApiError {
    fn from(err: getrandom::Error) -> Self {
        Self::Internal(anyhow::anyhow!("the OS random generator failed: {err}"))
    }
}

#[cfg(test)]
mod tests;
