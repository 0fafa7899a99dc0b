//! Shared setup for the black-box tests: the real app on 127.0.0.1:0 with a
//! fresh database per test (see `backend`), a cookie-keeping client that
//! reads `Set-Cookie` as a browser does, and direct looks into the database.

use std::net::SocketAddr;

use neptun_accounts::App;
use neptun_accounts::domain::password_hasher::PasswordHasher;
use reqwest::Method;
use reqwest::header::{HeaderMap, SET_COOKIE};
use serde_json::{Value, json};
use tokio::sync::oneshot;

use crate::backend::{Backend, TestDatabase};

pub const PASSWORD: &str = "correct horse battery";

pub use crate::test_settings::{config, test_key_file, with_test_defaults};

/// A running app and its database.
pub struct TestApp {
    pub address: SocketAddr,
    pub database: TestDatabase,
    pub hasher: PasswordHasher,
    _stop: oneshot::Sender<()>,
}

/// Spawns the app with the test defaults on a fresh database of `backend`.
pub async fn spawn_app(backend: &Backend) -> TestApp {
    spawn_app_with(backend, &[]).await
}

/// Spawns the app with extra command-line settings. It runs on a runtime and
/// threads of its own, as it would in its own process, so that the test's
/// client work never competes with the server for one thread.
pub async fn spawn_app_with(backend: &Backend, extra: &[&str]) -> TestApp {
    let database = backend.fresh_database().await;
    let url = database.url();
    spawn_app_on(database, &url, extra).await
}

/// Spawns the app on `database`, reached through `database_url` (which may
/// lead through a proxy).
pub async fn spawn_app_on(database: TestDatabase, database_url: &str, extra: &[&str]) -> TestApp {
    let instance = spawn_instance(database_url, extra).await;
    TestApp {
        address: instance.address,
        database,
        hasher: instance.hasher,
        _stop: instance._stop,
    }
}

/// A running app on a database someone else owns: a second instance behind
/// the same load balancer.
pub struct Instance {
    pub address: SocketAddr,
    pub hasher: PasswordHasher,
    _stop: oneshot::Sender<()>,
}

impl Instance {
    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }
}

/// Starts the app on `database_url` with the test defaults and `extra`. It
/// runs on a runtime and threads of its own, as it would in its own process.
pub async fn spawn_instance(database_url: &str, extra: &[&str]) -> Instance {
    let config = config(database_url, extra);
    let (ready, started) = oneshot::channel();
    let (stop, stopped) = oneshot::channel::<()>();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("server runtime");
        runtime.block_on(async move {
            let app = App::build(config).await.expect("app builds");
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            let address = listener.local_addr().expect("local address");
            let _ = ready.send((address, app.hasher().clone()));
            let _ = app
                .serve(listener, async {
                    let _ = stopped.await;
                })
                .await;
        });
    });
    let (address, hasher) = started.await.expect("server started");
    Instance {
        address,
        hasher,
        _stop: stop,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.address, path)
    }

    /// A fresh client with an empty cookie jar.
    pub fn browser(&self) -> Browser {
        Browser::new(&format!("http://{}", self.address))
    }

    /// A browser that has just signed up `email`.
    pub async fn signed_up(&self, email: &str) -> (Browser, String) {
        let mut browser = self.browser();
        let response = browser.sign_up(email, PASSWORD).await;
        assert_eq!(response.status, 200, "sign-up failed: {}", response.text);
        let user_id = response.body["user"]["id"]
            .as_str()
            .expect("user id")
            .to_owned();
        (browser, user_id)
    }

    /// A second browser (another device) logged in to `email`'s existing
    /// account, its session proven live, so that a later 401 means it ended.
    pub async fn logged_in(&self, email: &str) -> Browser {
        let mut browser = self.browser();
        let response = browser.login(email, PASSWORD).await;
        assert_eq!(response.status, 200, "login failed: {}", response.text);
        assert!(browser.session.is_some(), "the login set a cookie");
        assert_eq!(
            browser.head("/api/auth/check").await.status,
            200,
            "the new session is live"
        );
        browser
    }

    /// `SELECT COUNT(*) …` (or any single integer) straight from the database.
    pub async fn count(&self, sql: &str) -> i64 {
        self.database.query_i64(sql, &[]).await.expect("a row")
    }

    /// The stored email of `user_id`.
    pub async fn stored_email(&self, user_id: &str) -> Option<String> {
        self.database
            .query_text("SELECT email FROM users WHERE id = $1", &[user_id])
            .await
    }

    /// The stored password hash of `user_id`.
    pub async fn stored_password_hash(&self, user_id: &str) -> String {
        self.database
            .query_text("SELECT password_hash FROM users WHERE id = $1", &[user_id])
            .await
            .expect("user exists")
    }

    /// The stored session behind a cookie value: (created_at, authenticated_at, logged_in_at).
    pub async fn stored_session(&self, token: &str) -> Option<(i64, i64, i64)> {
        use sha2::Digest as _;
        let token_hash = sha2::Sha256::digest(token.as_bytes()).to_vec();
        self.database
            .query_three_i64(
                "SELECT created_at, authenticated_at, logged_in_at FROM sessions WHERE token_hash = $1",
                &[token_hash.as_slice()],
            )
            .await
    }
}

/// An HTTP client that keeps the `neptun-session` cookie the way a browser
/// would: set by `Set-Cookie`, removed by `Max-Age=0`.
pub struct Browser {
    client: reqwest::Client,
    base: String,
    pub session: Option<String>,
}

/// What came back, with the body parsed as JSON where it is JSON.
#[derive(Debug)]
pub struct TestResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    pub body: Value,
}

impl TestResponse {
    /// The `neptun-session` cookie this response sets, parsed.
    pub fn session_cookie(&self) -> Option<cookie::Cookie<'static>> {
        let mut found = self
            .headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .filter_map(|text| cookie::Cookie::parse(text.to_owned()).ok())
            .filter(|cookie| cookie.name() == "neptun-session");
        let first = found.next();
        assert!(
            found.next().is_none(),
            "more than one neptun-session Set-Cookie"
        );
        first
    }

    /// True when the response removes the session cookie.
    pub fn clears_session_cookie(&self) -> bool {
        self.session_cookie().is_some_and(|cookie| {
            cookie.value().is_empty() && cookie.max_age() == Some(cookie::time::Duration::ZERO)
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// Asserts the contract's error body for `status` and `message`.
    pub fn assert_error(&self, status: u16, message: &str) {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.text
        );
        assert_eq!(self.body["statusCode"], status, "{}", self.text);
        assert_eq!(self.body["message"], message, "{}", self.text);
        assert!(self.body["statusMessage"].is_string(), "{}", self.text);
        assert!(
            self.header("content-type")
                .is_some_and(|value| value.starts_with("application/json")),
            "error bodies are JSON"
        );
    }
}

impl Browser {
    /// A client with an empty jar for the service at `base` (`http://host:port`).
    pub fn new(base: &str) -> Self {
        Self {
            client: reqwest::Client::new(),
            base: base.to_owned(),
            session: None,
        }
    }

    /// Another client for the service at `base` holding this one's cookie,
    /// as the same user would reach another instance behind a load balancer.
    pub fn same_cookie_at(&self, base: &str) -> Self {
        let mut other = Self::new(base);
        other.session = self.session.clone();
        other
    }

    /// The user id of this browser's session, from `GET /api/auth/session`.
    pub async fn user_id(&mut self) -> String {
        let response = self.get("/api/auth/session").await;
        assert_eq!(response.status, 200, "{}", response.text);
        response.body["user"]["id"]
            .as_str()
            .expect("user id")
            .to_owned()
    }

    /// Sends a request with the jar's cookie and updates the jar from the answer.
    pub async fn send(&mut self, request: reqwest::RequestBuilder) -> TestResponse {
        let request = match &self.session {
            Some(token) => request.header("cookie", format!("neptun-session={token}")),
            None => request,
        };
        let response = request.send().await.expect("request answered");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body read");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        let answer = TestResponse {
            status,
            headers,
            text,
            body,
        };
        if let Some(cookie) = answer.session_cookie() {
            let removed =
                cookie.value().is_empty() || cookie.max_age() == Some(cookie::time::Duration::ZERO);
            self.session = (!removed).then(|| cookie.value().to_owned());
        }
        answer
    }

    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{}", self.base, path))
    }

    pub async fn get(&mut self, path: &str) -> TestResponse {
        let request = self.request(Method::GET, path);
        self.send(request).await
    }

    pub async fn head(&mut self, path: &str) -> TestResponse {
        let request = self.request(Method::HEAD, path);
        self.send(request).await
    }

    pub async fn post_json(&mut self, path: &str, body: &Value) -> TestResponse {
        let request = self.request(Method::POST, path).json(body);
        self.send(request).await
    }

    pub async fn patch_json(&mut self, path: &str, body: &Value) -> TestResponse {
        let request = self.request(Method::PATCH, path).json(body);
        self.send(request).await
    }

    pub async fn delete(&mut self, path: &str) -> TestResponse {
        let request = self.request(Method::DELETE, path);
        self.send(request).await
    }

    /// `PATCH /api/users/{user_id}` with a JSON body.
    pub async fn update_user(&mut self, user_id: &str, body: &Value) -> TestResponse {
        self.patch_json(&format!("/api/users/{user_id}"), body)
            .await
    }

    pub async fn sign_up(&mut self, email: &str, password: &str) -> TestResponse {
        self.post_json(
            "/api/auth/sign-up",
            &json!({ "email": email, "password": password }),
        )
        .await
    }

    pub async fn login(&mut self, email: &str, password: &str) -> TestResponse {
        self.post_json(
            "/api/auth/login",
            &json!({ "email": email, "password": password }),
        )
        .await
    }

    pub async fn logout(&mut self) -> TestResponse {
        let request = self.request(Method::POST, "/api/auth/logout");
        self.send(request).await
    }
}

/// Two browsers set the same new email on their own accounts at once;
/// exactly one must get it (200) and the other 409.
pub async fn assert_one_wins_the_email(
    (first, first_id): (&mut Browser, &str),
    (second, second_id): (&mut Browser, &str),
    email: &str,
) {
    let wanted = json!({ "email": email });
    let (a, b) = tokio::join!(
        first.update_user(first_id, &wanted),
        second.update_user(second_id, &wanted)
    );
    let mut statuses = [a.status, b.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409], "{email}: {} / {}", a.text, b.text);
}
