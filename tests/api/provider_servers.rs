//! Real sign-in providers on loopback for the provider tests: an OpenID
//! Connect provider (the `oauth2-mock-server` npm package in its own Node.js
//! process: discovery, JWKS, RS256 ID tokens, PKCE), and a GitHub-shaped
//! OAuth server (authorize, token with PKCE, `/user`, `/user/emails`) that
//! runs here, since no packaged one exists.

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use axum::extract::{Form, Query, State};
use axum::http::header::LOCATION;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

const PROVIDERS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/providers");

/// The Node.js OpenID Connect provider; stopped when dropped.
pub struct OidcProvider {
    child: Child,
    pub issuer: String,
    control: String,
}

impl OidcProvider {
    /// Starts one, or `None` (said on stderr) where Node.js is missing; under
    /// CI it must run.
    pub fn start() -> Option<Self> {
        if !node_modules_ready() {
            assert!(
                std::env::var_os("CI").is_none(),
                "Node.js and npm are needed under CI for the provider tests"
            );
            eprintln!("SKIP: the OpenID Connect provider tests need Node.js and npm");
            return None;
        }
        let mut child = Command::new("node")
            .arg("oidc-provider.mjs")
            .current_dir(PROVIDERS_DIR)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the provider prints its addresses");
        let addresses: Value = serde_json::from_str(&line).expect("one JSON line");
        Some(Self {
            child,
            issuer: addresses["issuer"].as_str().expect("issuer").to_owned(),
            control: addresses["control"].as_str().expect("control").to_owned(),
        })
    }

    /// Who the next sign-in is: `{sub, email, email_verified, omit_email?, tamper?}`.
    pub async fn next_sign_in(&self, settings: Value) {
        reqwest::Client::new()
            .post(format!("{}/next", self.control))
            .json(&settings)
            .send()
            .await
            .expect("control answered");
    }

    /// What the userinfo endpoint answers (for ID tokens without an email).
    pub async fn userinfo(&self, body: Value) {
        reqwest::Client::new()
            .post(format!("{}/userinfo", self.control))
            .json(&body)
            .send()
            .await
            .expect("control answered");
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `npm ci` once per run when the modules are missing; false without Node.js.
fn node_modules_ready() -> bool {
    static READY: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *READY.get_or_init(|| {
        let has = |program: &str| {
            Command::new(program)
                .arg("--version")
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|status| status.success())
        };
        if !has("node") || !has("npm") {
            return false;
        }
        if std::path::Path::new(PROVIDERS_DIR)
            .join("node_modules/oauth2-mock-server")
            .exists()
        {
            return true;
        }
        Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(PROVIDERS_DIR)
            .status()
            .is_ok_and(|status| status.success())
    })
}

/// The account the GitHub-shaped server signs in next.
#[derive(Clone, Debug)]
pub struct GitHubAccount {
    pub id: u64,
    /// (address, primary, verified)
    pub emails: Vec<(String, bool, bool)>,
}

#[derive(Default)]
struct GitHubState {
    account: Option<GitHubAccount>,
    /// code → (PKCE challenge, account)
    codes: HashMap<String, (String, GitHubAccount)>,
    /// access token → account
    tokens: HashMap<String, GitHubAccount>,
    next: u64,
}

/// A GitHub-shaped OAuth server on loopback.
pub struct GitHubServer {
    pub url: String,
    state: Arc<Mutex<GitHubState>>,
}

pub const GITHUB_CLIENT: &str = "github-client:github-secret";

impl GitHubServer {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(GitHubState::default()));
        let app = Router::new()
            .route("/login/oauth/authorize", get(authorize))
            .route("/login/oauth/access_token", post(access_token))
            .route("/api/user", get(user))
            .route("/api/user/emails", get(user_emails))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url, state }
    }

    pub fn sign_in_as(&self, account: GitHubAccount) {
        self.state.lock().expect("state").account = Some(account);
    }

    /// The settings that point the service here.
    pub fn settings(&self) -> Vec<String> {
        vec![
            "--oauth-github".into(),
            GITHUB_CLIENT.into(),
            "--oauth-github-url".into(),
            self.url.clone(),
            "--oauth-github-api-url".into(),
            format!("{}/api", self.url),
        ]
    }
}

type Shared = State<Arc<Mutex<GitHubState>>>;

async fn authorize(State(state): Shared, Query(query): Query<HashMap<String, String>>) -> Response {
    let mut state = state.lock().expect("state");
    let valid = query.get("client_id").map(String::as_str) == Some("github-client")
        && query.get("code_challenge_method").map(String::as_str) == Some("S256");
    let (Some(redirect), Some(flow_state), Some(challenge), Some(account), true) = (
        query.get("redirect_uri"),
        query.get("state"),
        query.get("code_challenge"),
        state.account.clone(),
        valid,
    ) else {
        return (StatusCode::BAD_REQUEST, "bad authorize request").into_response();
    };
    state.next += 1;
    let code = format!("code-{}", state.next);
    state
        .codes
        .insert(code.clone(), (challenge.clone(), account));
    // GitHub answers 302.
    (
        StatusCode::FOUND,
        [(
            LOCATION,
            format!("{redirect}?code={code}&state={flow_state}"),
        )],
    )
        .into_response()
}

async fn access_token(
    State(state): Shared,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Json<Value> {
    let mut state = state.lock().expect("state");
    let expected_auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(GITHUB_CLIENT)
    );
    let authorised = headers
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        == Some(expected_auth.as_str());
    let code = form.get("code").cloned().unwrap_or_default();
    // GitHub answers 200 with an error field for a bad code.
    let Some((challenge, account)) = state.codes.remove(&code).filter(|_| authorised) else {
        return Json(json!({ "error": "bad_verification_code" }));
    };
    let verifier = form.get("code_verifier").cloned().unwrap_or_default();
    let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(verifier.as_bytes()));
    if computed != challenge {
        return Json(json!({ "error": "bad_verification_code" }));
    }
    state.next += 1;
    let token = format!("token-{}", state.next);
    state.tokens.insert(token.clone(), account);
    Json(json!({ "access_token": token, "token_type": "bearer", "scope": "read:user,user:email" }))
}

fn bearer_account(state: &GitHubState, headers: &HeaderMap) -> Option<GitHubAccount> {
    let token = headers
        .get("authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?;
    state.tokens.get(token).cloned()
}

async fn user(State(state): Shared, headers: HeaderMap) -> Response {
    let state = state.lock().expect("state");
    match bearer_account(&state, &headers) {
        Some(account) => Json(json!({ "id": account.id, "login": "octocat" })).into_response(),
        None => StatusCode::UNAUTHORIZED.into_response(),
    }
}

async fn user_emails(State(state): Shared, headers: HeaderMap) -> Response {
    let state = state.lock().expect("state");
    match bearer_account(&state, &headers) {
        Some(account) => Json(
            account
                .emails
                .iter()
                .map(|(email, primary, verified)| {
                    json!({ "email": email, "primary": primary, "verified": verified, "visibility": null })
                })
                .collect::<Vec<_>>(),
        )
        .into_response(),
        None => StatusCode::UNAUTHORIZED.into_response(),
    }
}
