//! An in-process fuzzer: arbitrary methods, paths, headers and bodies on
//! every route, through the real router (`tower::ServiceExt::oneshot`) on a
//! real SQLite file. Whatever comes in, the answer never panics (no 500), its
//! status is one the contract lists for that route, and an error carries the
//! contract's error body. Cases: `PROPTEST_CASES` (CI runs 10,000).

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt as _;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};
use tower::ServiceExt as _;

use crate::helpers::{PASSWORD, config};

const DEFAULT_CASES: u32 = 2_000;
/// Accounts the fuzzer signs up and acts as.
const ACCOUNTS: usize = 6;

/// One signed-in account the fuzzer can act as.
#[derive(Clone, Debug)]
struct Account {
    cookie: String,
    user_id: String,
}

/// The statuses the contract documents for a method on a path.
fn documented_statuses(method: &Method, path: &str) -> &'static [u16] {
    let route = match path {
        "/api/auth/sign-up" | "/api/auth/login" | "/api/auth/logout" | "/api/auth/check"
        | "/api/auth/session" | "/health" | "/api/openapi.json" | "/" | "/account"
        | "/account/app.css" | "/account/app.js" => path,
        _ if is_user_path(path) => "/api/users/{id}",
        _ => return &[404],
    };
    let read = |get: &'static [u16]| {
        if *method == Method::GET || *method == Method::HEAD {
            get
        } else {
            &[405]
        }
    };
    match (route, method.as_str()) {
        ("/api/auth/sign-up", "POST") => &[200, 400, 403, 409, 413, 415, 429, 503],
        ("/api/auth/login", "POST") => &[200, 400, 401, 403, 413, 415, 429, 503],
        ("/api/auth/logout", "POST") => &[200, 403],
        ("/api/auth/check", "HEAD") => &[200, 401],
        ("/api/auth/session", _) => read(&[200, 401]),
        ("/health", _) => read(&[200, 503]),
        ("/api/openapi.json" | "/account" | "/account/app.css" | "/account/app.js", _) => {
            read(&[200])
        }
        ("/", _) => read(&[303]),
        ("/api/users/{id}", "PATCH") => &[200, 400, 401, 403, 404, 409, 413, 415, 429, 503],
        ("/api/users/{id}", "DELETE") => &[200, 401, 403, 404],
        ("/api/users/{id}", _) => read(&[200, 401, 404]),
        _ => &[405],
    }
}

/// `/api/users/{user_id}` with a non-empty, single-segment id.
fn is_user_path(path: &str) -> bool {
    path.strip_prefix("/api/users/")
        .is_some_and(|id| !id.is_empty() && !id.contains('/'))
}

fn method() -> impl Strategy<Value = Method> {
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
enum PathChoice {
    Route(&'static str),
    OwnUser,
    User(String),
    Junk(String),
}

fn path() -> impl Strategy<Value = PathChoice> {
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
enum CookieChoice {
    None,
    Account,
    Junk(String),
}

fn email() -> impl Strategy<Value = String> {
    prop_oneof![
        // The fuzzer's own accounts: logins that work, emails that are taken.
        (0..ACCOUNTS).prop_map(|n| format!("fuzz{n}@example.com")),
        "[a-z0-9.+_-]{1,20}@[a-z0-9-]{1,20}\\.[a-z]{2,6}",
        ".{0,30}",
        Just("x".repeat(300)),
    ]
}

fn password() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => Just(PASSWORD.to_owned()),
        1 => ".{0,12}",
        1 => Just("p".repeat(300)),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
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
fn field_value(right: BoxedStrategy<String>) -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        2 => Just(None),
        6 => right.prop_map(|text| Some(Value::String(text))),
        1 => json_value().prop_map(Some),
    ]
}

/// Bodies a client might send: field objects, other JSON, or raw bytes.
fn body() -> impl Strategy<Value = Vec<u8>> {
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
fn header_choice(values: Vec<&'static str>) -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        3 => Just(None),
        1 => prop::sample::select(values).prop_map(|value| Some(value.to_owned())),
    ]
}

#[derive(Debug)]
struct FuzzRequest {
    method: Method,
    path: PathChoice,
    account: usize,
    cookie: CookieChoice,
    content_type: Option<String>,
    origin: Option<String>,
    fetch_site: Option<String>,
    declared_length: Option<u64>,
    body: Vec<u8>,
}

fn request() -> impl Strategy<Value = FuzzRequest> {
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

/// The HTTP request for `fuzz` as the accounts stand now, and its path.
fn build(fuzz: &FuzzRequest, account: &Account) -> Option<(Request<Body>, String)> {
    let path = match &fuzz.path {
        PathChoice::Route(route) => (*route).to_owned(),
        PathChoice::OwnUser => format!("/api/users/{}", account.user_id),
        PathChoice::User(id) => format!("/api/users/{id}"),
        PathChoice::Junk(path) => path.clone(),
    };
    let cookie = match &fuzz.cookie {
        CookieChoice::None => None,
        CookieChoice::Account => Some(account.cookie.clone()),
        CookieChoice::Junk(junk) => Some(format!("neptun-session={junk}")),
    };
    let mut builder = Request::builder()
        .method(fuzz.method.clone())
        .uri(&path)
        .header("host", "localhost");
    for (name, value) in [
        ("content-type", &fuzz.content_type),
        ("origin", &fuzz.origin),
        ("sec-fetch-site", &fuzz.fetch_site),
        ("cookie", &cookie),
    ] {
        if let Some(value) = value {
            builder = builder.header(name, value);
        }
    }
    if let Some(length) = fuzz.declared_length {
        builder = builder.header("content-length", length);
    }
    // A path or header no client could send is rejected before the router.
    let request = builder.body(Body::from(fuzz.body.clone())).ok()?;
    Some((request, path))
}

/// Checks one answer against the contract; `Err` says what is wrong.
async fn check(
    method: &Method,
    path: &str,
    response: axum::response::Response,
) -> Result<(), String> {
    let status = response.status();
    let allowed = documented_statuses(method, path);
    if status == StatusCode::INTERNAL_SERVER_ERROR || !allowed.contains(&status.as_u16()) {
        return Err(format!("status {status} not in {allowed:?}"));
    }
    let headers = response.headers().clone();
    if headers.get("x-content-type-options").is_none() || headers.get("referrer-policy").is_none() {
        return Err("security headers missing".into());
    }
    if path.starts_with("/api/") && headers.get("cache-control").is_none_or(|v| v != "no-store") {
        return Err("no-store missing on an /api/ answer".into());
    }
    let bytes = response
        .into_body()
        .collect()
        .await
        .map_err(|err| err.to_string())?
        .to_bytes();
    let is_health_503 = path == "/health" && status == StatusCode::SERVICE_UNAVAILABLE;
    if status.is_client_error() || status.is_server_error() {
        if *method == Method::HEAD || is_health_503 {
            return Ok(());
        }
        let body: Value = serde_json::from_slice(&bytes)
            .map_err(|_| format!("error body is not JSON: {bytes:?}"))?;
        if body["statusCode"] != status.as_u16()
            || !body["statusMessage"].is_string()
            || !body["message"].is_string()
        {
            return Err(format!("not the contract's error body: {body}"));
        }
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            if body["data"]["limit_bytes"].as_u64().is_none() {
                return Err(format!("a 413 without its limit: {body}"));
            }
        } else if let Some(issues) = body.get("data").map(|data| &data["issues"]) {
            let well_formed = issues.as_array().is_some_and(|issues| {
                issues.iter().all(|issue| {
                    issue["code"].is_string()
                        && issue["message"].is_string()
                        && issue["path"].is_array()
                })
            });
            if !well_formed {
                return Err(format!("malformed issues: {body}"));
            }
        }
    }
    Ok(())
}

async fn sign_up(router: &Router, email: &str) -> Account {
    let body = json!({"email": email, "password": PASSWORD});
    let request = Request::post("/api/auth/sign-up")
        .header("host", "localhost")
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .expect("request");
    let response = router.clone().oneshot(request).await.expect("infallible");
    let cookie = session_cookie(&response).expect("a session cookie");
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let body: Value = serde_json::from_slice(&bytes).expect("json");
    Account {
        cookie,
        user_id: body["user"]["id"].as_str().expect("id").to_owned(),
    }
}

/// `neptun-session=…` as set by `response`, if it sets a live one.
fn session_cookie(response: &axum::response::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .filter_map(|text| text.split(';').next())
        .find(|pair| pair.starts_with("neptun-session=") && pair.len() > "neptun-session=".len())
        .map(str::to_owned)
}

/// The fuzzer's accounts, kept usable: a rotated cookie is followed, and an
/// account whose session ended (logout, deletion) is replaced by a new one,
/// so that later cases still reach the deep paths of every handler.
struct Accounts {
    accounts: Vec<Account>,
    replacements: usize,
}

impl Accounts {
    async fn after(&mut self, router: &Router, fuzz: &FuzzRequest, sets: Option<String>) {
        if !matches!(fuzz.cookie, CookieChoice::Account) {
            return;
        }
        if let Some(cookie) = sets {
            self.accounts[fuzz.account].cookie = cookie;
            return;
        }
        let probe = Request::head("/api/auth/check")
            .header("cookie", &self.accounts[fuzz.account].cookie)
            .body(Body::empty())
            .expect("request");
        let alive = router
            .clone()
            .oneshot(probe)
            .await
            .expect("infallible")
            .status()
            == StatusCode::OK;
        if !alive {
            self.replacements += 1;
            let email = format!("fuzz-replacement{}@example.com", self.replacements);
            self.accounts[fuzz.account] = sign_up(router, &email).await;
        }
    }
}

#[test]
fn every_route_answers_arbitrary_requests_within_the_contract() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let folder = tempfile::tempdir().expect("folder");
    let url = format!("sqlite://{}", folder.path().join("fuzz.db").display());
    let app = runtime
        .block_on(neptun_accounts::App::build(config(
            &url,
            // Limits stay on (429 is in the documented sets), except that
            // sign-up must always let the fuzzer replace an ended account.
            &[
                "--argon2-memory-kib",
                "64",
                "--sign-up-rate-limit",
                "1000000/1m",
            ],
        )))
        .expect("app");
    let router = app.router();
    let accounts = runtime.block_on(async {
        let mut accounts = Vec::new();
        for n in 0..ACCOUNTS {
            accounts.push(sign_up(&router, &format!("fuzz{n}@example.com")).await);
        }
        accounts
    });
    let accounts = std::sync::Mutex::new(Accounts {
        accounts,
        replacements: 0,
    });

    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(DEFAULT_CASES);
    let mut runner = TestRunner::new(Config {
        cases,
        source_file: Some(file!()),
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::SourceParallel("proptest-regressions"),
        )),
        ..Config::default()
    });
    let outcome = runner.run(&request(), |fuzz| {
        let mut accounts = accounts.lock().expect("accounts");
        let Some((http_request, path)) = build(&fuzz, &accounts.accounts[fuzz.account]) else {
            return Ok(());
        };
        runtime
            .block_on(async {
                let response = router
                    .clone()
                    .oneshot(http_request)
                    .await
                    .expect("infallible");
                let sets = session_cookie(&response);
                let verdict = check(&fuzz.method, &path, response).await;
                accounts.after(&router, &fuzz, sets).await;
                verdict
            })
            .map_err(TestCaseError::fail)
    });
    if let Err(failure) = outcome {
        panic!("{failure}");
    }
}
