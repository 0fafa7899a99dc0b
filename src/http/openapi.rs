//! The OpenAPI 3.1 document: generated from the handlers' `#[utoipa::path]`
//! annotations as the router registers them (see `router::api_routes`), so
//! the document and the routes cannot drift apart. The types here describe
//! bodies for the document only; handlers parse and render JSON themselves,
//! to give the contract's exact errors.

use std::sync::LazyLock;

use axum::http::HeaderValue;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{
    AllOfBuilder, AnyOfBuilder, KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type,
};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::openapi::{OpenApi, RefOr, Required};
use utoipa::{Modify, PartialSchema, ToSchema};

use crate::domain::{email, password};

/// The session cookie's security scheme, as operations name it.
pub const SESSION_SCHEME: &str = "session";

/// Section 6's grammar as an ECMA-262 pattern (with `minLength` 5 and
/// `maxLength` 254): a dot-atom local part of at most 64 characters, two or
/// more LDH labels, an alphabetic top label, and no special-use name.
pub const EMAIL_PATTERN: &str = r"^(?=[^@]{1,64}@)[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+(?!(?:[Tt][Ee][Ss][Tt]|[Ll][Oo][Cc][Aa][Ll]|[Ii][Nn][Vv][Aa][Ll][Ii][Dd]|[Ll][Oo][Cc][Aa][Ll][Hh][Oo][Ss][Tt]|[Oo][Nn][Ii][Oo][Nn]|[Aa][Rr][Pp][Aa])$)[A-Za-z]{2,63}$";

/// The document's frame; paths and their schemas come from the router.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "neptun-accounts",
        description = "Account and session service behind the NEPTUN API. Errors share one body \
            (`ErrorBody`). An unknown route answers 404 `Not Found`; a route with another method \
            405 `Method Not Allowed` with `Allow`; any route may answer 500 (the error body, \
            nothing internal). Every `/api/` answer is `no-store`.",
        license(name = "MIT OR Apache-2.0"),
    ),
    components(schemas(ErrorBody, Issue, User, UserBody, SessionBody, Health, HealthUnavailable)),
    modifiers(&SessionCookie)
)]
struct ApiDoc;

struct SessionCookie;

impl Modify for SessionCookie {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut cookie = ApiKeyValue::with_description(
            "neptun-session",
            "The session token (256 random bits, base64url), set by sign-up, login and a \
             successful PATCH; `HttpOnly; SameSite=Lax; Secure; Path=/`.",
        );
        cookie.name = "neptun-session".to_owned();
        components.add_security_scheme(
            SESSION_SCHEME,
            SecurityScheme::ApiKey(ApiKey::Cookie(cookie)),
        );
    }
}

/// The frame the router adds its paths to.
pub fn frame() -> OpenApi {
    <ApiDoc as utoipa::OpenApi>::openapi()
}

/// The whole document, built from the same registration as the router.
pub fn document() -> OpenApi {
    let mut document = super::router::api_routes(|_, method_router| method_router).into_openapi();
    RequestIdHeader.modify(&mut document);
    document
}

/// Every operation takes an optional `X-Request-Id` and answers with one.
struct RequestIdHeader;

impl Modify for RequestIdHeader {
    fn modify(&self, openapi: &mut OpenApi) {
        let parameter = ParameterBuilder::new()
            .name("x-request-id")
            .parameter_in(ParameterIn::Header)
            .required(Required::False)
            .description(Some(
                "Kept and echoed when it is 1 to 128 letters, digits or `-_.:`; otherwise a new \
                 one is made. Every log line of the request carries it.",
            ))
            // No pattern: any other value is replaced, never refused.
            .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
            .build();
        for item in openapi.paths.paths.values_mut() {
            for operation in [
                &mut item.get,
                &mut item.head,
                &mut item.post,
                &mut item.patch,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                operation
                    .parameters
                    .get_or_insert_with(Vec::new)
                    .push(parameter.clone());
            }
        }
    }
}

static DOCUMENT_JSON: LazyLock<String> = LazyLock::new(|| {
    document()
        .to_pretty_json()
        .expect("the document is plain data and always serialises")
});

/// `GET /api/openapi.json`: the document, which leaves itself out, as
/// documents usually do.
pub async fn openapi_json() -> Response {
    (
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        DOCUMENT_JSON.as_str(),
    )
        .into_response()
}

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

/// What more there is to say: the validation problems of a 400, or the
/// body limit of a 413.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ErrorData {
    #[schema(nullable = false)]
    issues: Option<Vec<Issue>>,
    /// The largest accepted body, in bytes (413 only).
    #[schema(nullable = false)]
    limit_bytes: Option<u64>,
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

fn email_schema() -> ObjectBuilder {
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

fn new_password_schema() -> ObjectBuilder {
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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::domain::email::Email;

    fn pattern() -> fancy_regex::Regex {
        fancy_regex::Regex::new(EMAIL_PATTERN).expect("the pattern compiles")
    }

    /// What the document promises: within the length bounds, the pattern
    /// matches exactly the addresses the parser accepts.
    fn document_accepts(pattern: &fancy_regex::Regex, candidate: &str) -> bool {
        let length = candidate.chars().count();
        (email::MIN_LENGTH..=email::MAX_LENGTH).contains(&length)
            && pattern.is_match(candidate).expect("no backtracking limit")
    }

    #[test]
    fn the_email_pattern_agrees_with_the_parser_on_the_contracts_examples() {
        let pattern = pattern();
        let local64 = format!("{}@example.com", "a".repeat(64));
        let local65 = format!("{}@example.com", "a".repeat(65));
        let label63 = format!("a@{}.com", "b".repeat(63));
        let label64 = format!("a@{}.com", "b".repeat(64));
        let others = [
            "!#$%&'*+/=?^_`{|}~-@example.com",
            "a@foo.TEST",
            "a@foo.testing",
            "a@Foo.Onion",
            "a@x.arpa",
            "a@x.localhost",
            "a@example-.com",
            "a@example.c0m",
            "a@example.com.",
            &local64,
            &local65,
            &label63,
            &label64,
        ];
        let examples = email::examples::VALID
            .into_iter()
            .chain(email::examples::INVALID);
        for candidate in examples.chain(others) {
            assert_eq!(
                document_accepts(&pattern, candidate),
                Email::parse(candidate).is_ok(),
                "{candidate:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn the_email_pattern_agrees_with_the_parser_on_email_like_strings(
            candidate in "[a-zA-Z0-9.'+_ü-]{0,6}@?[a-zA-Z0-9.-]{0,8}(\\.(com|test|Local|arpa|x|c0|[a-z]{2,3}))?\\.?\n?"
        ) {
            prop_assert_eq!(
                document_accepts(&pattern(), &candidate),
                Email::parse(&candidate).is_ok(),
                "{:?}", candidate
            );
        }
    }
}
