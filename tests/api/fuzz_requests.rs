//! The router fuzzer's inputs: proptest strategies for arbitrary methods,
//! paths (the caller's own id, another's, junk), cookies, headers and
//! bodies that are near-valid as often as they are wild.

use axum::http::Method;
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::helpers::PASSWORD;

/// Accounts the fuzzer signs up and acts as.
pub const ACCOUNTS: usize = 6;

pub fn method() -> impl Strategy<Value = Method> {
    prop_oneof![
        4 => Just(Method::POST),
        2 => Just(Method::GET),
        2 => Just(Method::PATCH),
        1 => Just(Method::HEAD),
        1 => Just(Method::DELETE),
        1 => Just(Method::PUT),
        1 => Just(Method::OPTIONS),
        1 => "[A-Z]{1,8}".prop_map(|name| Method::from_bytes(name.as_bytes()).unwrap_or(Method::TRACE)),
    ]
}

/// Where a request goes; "own user" is resolved against the account in use
/// when the case runs, since accounts change as the fuzzer acts.
#[derive(Clone, Debug)]
pub enum PathChoice {
    Route(&'static str),
    OwnUser,
    User(String),
    Junk(String),
}

pub fn path() -> impl Strategy<Value = PathChoice> {
    let routes = prop::sample::select(vec![
        "/api/auth/sign-up",
        "/api/auth/login",
        "/api/auth/logout",
        "/api/auth/check",
        "/api/auth/session",
        "/health",
        "/api/openapi.json",
        "/",
        "/account",
    ])
    .prop_map(PathChoice::Route);
    prop_oneof![
        4 => routes,
        3 => Just(PathChoice::OwnUser),
        1 => "[a-zA-Z0-9%._~-]{0,40}".prop_map(PathChoice::User),
        1 => "/[a-zA-Z0-9/%._~-]{0,40}".prop_map(PathChoice::Junk),
    ]
}

/// Which cookie a request carries.
#[derive(Clone, Debug)]
pub enum CookieChoice {
    None,
    Account,
    Junk(String),
}

pub fn email() -> impl Strategy<Value = String> {
    prop_oneof![
        // The fuzzer's own accounts: logins that work, emails that are taken.
        (0..ACCOUNTS).prop_map(|n| format!("fuzz{n}@example.com")),
        "[a-z0-9.+_-]{1,20}@[a-z0-9-]{1,20}\\.[a-z]{2,6}",
        ".{0,30}",
        Just("x".repeat(300)),
    ]
}

pub fn password() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => Just(PASSWORD.to_owned()),
        1 => ".{0,12}",
        1 => Just("p".repeat(300)),
    ]
}

pub fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|n| json!(n)),
        ".{0,30}".prop_map(Value::String),
    ];
    leaf.prop_recursive(2, 8, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(".{0,8}", inner, 0..4).prop_map(|map| json!(map)),
        ]
    })
}

/// A field value: mostly of the right type, sometimes anything at all.
pub fn field_value(right: BoxedStrategy<String>) -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        2 => Just(None),
        6 => right.prop_map(|text| Some(Value::String(text))),
        1 => json_value().prop_map(Some),
    ]
}

/// Bodies a client might send: field objects, other JSON, or raw bytes.
pub fn body() -> impl Strategy<Value = Vec<u8>> {
    let object = (
        field_value(email().boxed()),
        field_value(password().boxed()),
        field_value(password().boxed()),
        field_value(password().boxed()),
        prop::option::of(json_value()),
    )
        .prop_map(|(email, password, confirm, current, other)| {
            let mut fields = serde_json::Map::new();
            for (name, value) in [
                ("email", email),
                ("password", password),
                ("confirmPassword", confirm),
                ("current_password", current),
                ("other", other),
            ] {
                if let Some(value) = value {
                    fields.insert(name.to_owned(), value);
                }
            }
            serde_json::to_vec(&fields).unwrap_or_default()
        });
    prop_oneof![
        8 => object,
        1 => json_value().prop_map(|value| serde_json::to_vec(&value).unwrap_or_default()),
        1 => prop::collection::vec(any::<u8>(), 0..200),
        1 => Just(vec![b'{'; 20_000]),
    ]
}

/// Mostly absent, sometimes one of `values`.
pub fn header_choice(values: Vec<&'static str>) -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        3 => Just(None),
        1 => prop::sample::select(values).prop_map(|value| Some(value.to_owned())),
    ]
}

#[derive(Debug)]
pub struct FuzzRequest {
    pub method: Method,
    pub path: PathChoice,
    pub account: usize,
    pub cookie: CookieChoice,
    pub content_type: Option<String>,
    pub origin: Option<String>,
    pub fetch_site: Option<String>,
    pub declared_length: Option<u64>,
    pub body: Vec<u8>,
}

pub fn request() -> impl Strategy<Value = FuzzRequest> {
    let cookie = prop_oneof![
        2 => Just(CookieChoice::None),
        5 => Just(CookieChoice::Account),
        1 => "[ -~]{0,60}".prop_map(CookieChoice::Junk),
    ];
    let content_type = prop_oneof![
        6 => Just(Some("application/json".to_owned())),
        1 => header_choice(vec!["application/json; charset=utf-8", "text/plain", "", "application/x-www-form-urlencoded"]),
    ];
    (
        (method(), path(), 0..ACCOUNTS, cookie),
        content_type,
        header_choice(vec![
            "https://evil.example",
            "null",
            "http://localhost",
            "%%%",
        ]),
        header_choice(vec!["cross-site", "same-origin", "same-site", "none"]),
        prop::option::of(prop_oneof![
            Just(0_u64),
            Just(10),
            Just(16_385),
            Just(u64::MAX)
        ]),
        body(),
    )
        .prop_map(
            |(
                (method, path, account, cookie),
                content_type,
                origin,
                fetch_site,
                declared_length,
                body,
            )| FuzzRequest {
                method,
                path,
                account,
                cookie,
                content_type,
                origin,
                fetch_site,
                declared_length,
                body,
            },
        )
}
