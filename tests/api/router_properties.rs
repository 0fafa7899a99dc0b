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

use crate::fuzz_requests::{ACCOUNTS, CookieChoice, FuzzRequest, PathChoice, request};
use crate::helpers::{PASSWORD, config};

const DEFAULT_CASES: u32 = 2_000;

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
