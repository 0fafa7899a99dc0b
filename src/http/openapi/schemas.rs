//! The request and response bodies as the OpenAPI document describes them.
//! Handlers parse and render JSON themselves (for the contract's exact
//! errors); these types exist for the document only.

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Object;
use utoipa::openapi::schema::{
    AllOfBuilder, AnyOfBuilder, KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type,
};
use utoipa::{PartialSchema, ToSchema};

use super::EMAIL_PATTERN;
use crate::domain::{email, password};

/// The body of every error answer (H3 style).
#[derive(ToSchema)]
#[schema(example = json!({"statusCode": 401, "statusMessage": "Unauthorized", "message": "Unauthorized"}))]
#[allow(non_snake_case, dead_code)]
pub struct ErrorBody {
    statusCode: u16,
    /// The status's reason phrase (`Bad Request.` on the update endpoint's 400s).
    statusMessage: String,
    /// One of the contract's messages, listed on each response.
    message: String,
    #[schema(nullable = false)]
    data: Option<ErrorData>,
}

/// The refusals every route that reads a JSON body shares, listed once.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum BodyRouteRefusals {
    #[response(
        status = 413,
        description = "`Payload Too Large`: the body is over `--body-limit` (16 KiB); `data.limit_bytes` says the limit."
    )]
    PayloadTooLarge(ErrorBody),
    #[response(status = 415, description = "`Content-Type must be application/json`.")]
    UnsupportedMediaType(ErrorBody),
    #[response(
        status = 429,
        description = "`Too many requests, retry later`: a per-address limit or the per-account throttle.",
        headers(("retry-after" = u64, description = "Seconds to wait."))
    )]
    TooManyRequests(ErrorBody),
    #[response(
        status = 503,
        description = "`Server busy, retry later`: the password-hashing queue is full.",
        headers(("retry-after" = u64, description = "Seconds to wait."))
    )]
    ServerBusy(ErrorBody),
}

/// What more there is to say: the validation problems of a 400, the body
/// limit of a 413, or the challenge of a login's second step.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ErrorData {
    #[schema(nullable = false)]
    issues: Option<Vec<Issue>>,
    /// The largest accepted body, in bytes (413 only).
    #[schema(nullable = false)]
    limit_bytes: Option<u64>,
    /// `totp` on a login's 401 `Second factor required`.
    #[schema(nullable = false)]
    second_factor: Option<String>,
    /// The challenge to finish at `POST /api/auth/login/second-factor`
    /// (with `second_factor`).
    #[schema(nullable = false)]
    challenge_id: Option<String>,
}

/// One validation problem, in the shape of a zod issue (`code` decides the
/// extra keys: `validation`, `expected`/`received`, `minimum`/`maximum`,
/// `type`, `inclusive`, `exact`).
#[derive(ToSchema)]
#[schema(example = json!({"code": "invalid_string", "validation": "email", "message": "Invalid email", "path": ["email"]}))]
#[allow(dead_code)]
pub struct Issue {
    /// `invalid_type`, `invalid_string`, `too_small`, `too_big` or `custom`.
    code: String,
    message: String,
    /// The field the issue is about, e.g. `["email"]`.
    path: Vec<String>,
}

/// A user as the API shows it.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct UserBody {
    /// Opaque string id (a UUIDv7 in its hyphenated form).
    #[schema(example = "01a2251d-a4d8-7011-8d98-86427ea411d2")]
    id: String,
    /// The stored, lowercase address.
    #[schema(example = "newemail@example.com")]
    primary_email: String,
}

/// `{user}`: the answer of account reads and updates.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct User {
    user: UserBody,
}

/// `{user, loggedInAt}`: the answer of sign-up, login and the session read.
#[derive(ToSchema)]
#[allow(non_snake_case, dead_code)]
pub struct SessionBody {
    user: UserBody,
    /// When this session last got a token (login, sign-up or rotation), ISO 8601 UTC with milliseconds.
    #[schema(format = DateTime, example = "2024-03-20T10:30:45.123Z")]
    loggedInAt: String,
}

/// The service and its database answer.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Health {
    #[schema(pattern = "^healthy$")]
    status: String,
    #[schema(format = DateTime)]
    timestamp: String,
    /// Seconds since start.
    uptime: f64,
}

/// The database did not answer within 2 s.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct HealthUnavailable {
    #[schema(pattern = "^unavailable$")]
    status: String,
    #[schema(format = DateTime)]
    timestamp: String,
    #[schema(pattern = "^database unavailable$")]
    error: String,
}

pub(super) fn email_schema() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Email)))
        .min_length(Some(email::MIN_LENGTH))
        .max_length(Some(email::MAX_LENGTH))
        .pattern(Some(EMAIL_PATTERN))
        .description(Some(
            "ASCII address of contract section 6; stored and compared in lowercase.",
        ))
        .examples([serde_json::json!("newemail@example.com")])
}

pub(super) fn new_password_schema() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(password::DEFAULT_MIN_LENGTH))
        .max_length(Some(password::MAX_LENGTH))
        .description(Some(
            "8 to 256 characters (Unicode scalar values) by default, used exactly as sent; \
             the server may require more (`--password-min-length`) and refuse common ones \
             (`--password-blocklist`).",
        ))
}

/// `POST /api/auth/sign-up` body.
pub struct SignUpRequest;

impl PartialSchema for SignUpRequest {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .property("email", email_schema())
            .property("password", new_password_schema())
            .property(
                "confirmPassword",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .description(Some("When sent, must equal `password`.")),
            )
            .required("email")
            .required("password")
            .description(Some("Unknown keys are ignored."))
            .into()
    }
}

impl ToSchema for SignUpRequest {}

/// `POST /api/auth/login` body.
pub struct LoginRequest;

impl PartialSchema for LoginRequest {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .property("email", email_schema())
            .property(
                "password",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .min_length(Some(1))
                    .max_length(Some(password::MAX_LENGTH)),
            )
            .required("email")
            .required("password")
            .description(Some("Unknown keys are ignored."))
            .into()
    }
}

impl ToSchema for LoginRequest {}

/// `PATCH /api/users/{user_id}` body: at least one of `email` and `password`.
pub struct UpdateUserRequest;

impl PartialSchema for UpdateUserRequest {
    fn schema() -> RefOr<Schema> {
        let fields = ObjectBuilder::new()
            .property("email", email_schema())
            .property("password", new_password_schema())
            .property(
                "current_password",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .min_length(Some(1))
                    .max_length(Some(password::MAX_LENGTH))
                    .description(Some(
                        "When sent, always verified (wrong: 400); with `--require-recent-auth` it \
                         renews the password proof.",
                    )),
            )
            .description(Some("Unknown keys are ignored."));
        let at_least_one_change = AnyOfBuilder::new()
            .item(ObjectBuilder::new().required("email"))
            .item(ObjectBuilder::new().required("password"));
        AllOfBuilder::new()
            .item(fields)
            .item(at_least_one_change)
            .into()
    }
}

impl ToSchema for UpdateUserRequest {}

/// One session in the caller's list.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct SessionListItem {
    /// Public id (never the token): the path of its DELETE.
    id: String,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    last_seen_at: String,
    #[schema(format = DateTime)]
    authenticated_at: String,
    /// The first 256 characters of the `User-Agent` that started it.
    user_agent: Option<String>,
    /// The network it started from: `203.0.113.0/24`, `2001:db8:1::/48`.
    address: Option<String>,
    /// The session of this request.
    current: bool,
}

/// `{sessions:[…]}`, newest first.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct SessionList {
    sessions: Vec<SessionListItem>,
}

/// `{ended:N}`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct EndedSessions {
    ended: u64,
}

/// One entry of the account history.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Event {
    id: String,
    /// `sign_up`, `login`, `login_failed`, `logout`, `password_changed`,
    /// `email_changed`, `session_ended`, …
    r#type: String,
    #[schema(format = DateTime)]
    at: String,
    address: Option<String>,
    user_agent: Option<String>,
    /// Always an object: `login` `{method}`, `email_changed` `{old, new}` …
    detail: Object,
}

/// A page of events: `next` is the `before` of the next page.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct EventPage {
    events: Vec<Event>,
    next: Option<String>,
}

/// `{success, message}`: NEPTUN's answer.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ResetCodeAnswer {
    success: bool,
    message: String,
}

/// `{token}`: the token of the undo link mailed to the old address.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct UndoRequestBody {
    token: String,
}
