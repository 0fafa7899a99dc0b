//! What an operator relies on: `/metrics` on its private listener only,
//! graceful shutdown, and no debug routes in the shipped binary.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::backend::Backend;
use crate::helpers::{Browser, PASSWORD};
use crate::process::ServerProcess;

/// The value of the series `name{labels}` in a Prometheus text exposition.
fn sample(metrics: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    metrics.lines().find_map(|line| {
        let (series, value) = line.rsplit_once(' ')?;
        let (series_name, series_labels) = series.split_once('{').unwrap_or((series, "}"));
        let matches = series_name == name
            && labels
                .iter()
                .all(|(key, wanted)| series_labels.contains(&format!("{key}=\"{wanted}\"")));
        matches.then(|| value.parse().ok()).flatten()
    })
}

/// A loopback address for `--metrics-listen`, free a moment ago.
fn metrics_address() -> String {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .to_string()
}

/// `GET /metrics` on the metrics listener, once it answers.
async fn scrape(metrics_address: &str) -> reqwest::Response {
    for _ in 0..50 {
        if let Ok(response) = reqwest::get(format!("http://{metrics_address}/metrics")).await {
            return response;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the metrics listener does not answer");
}

backend_test!(metrics_count_sign_ups_failed_logins_and_patches_by_route_never_by_id);
async fn metrics_count_sign_ups_failed_logins_and_patches_by_route_never_by_id(backend: Backend) {
    let database = backend.fresh_database().await;
    let private = metrics_address();
    let server = ServerProcess::start(&database.url(), &["--metrics-listen", &private]);
    let mut browser = Browser::new(&server.base_url());
    assert_eq!(
        browser
            .sign_up("metered@example.com", PASSWORD)
            .await
            .status,
        200
    );
    let user_id = browser.user_id().await;
    let failed = Browser::new(&server.base_url())
        .login("metered@example.com", "a wrong password")
        .await;
    assert_eq!(failed.status, 401);
    let patched = browser
        .update_user(&user_id, &json!({"password": "another passphrase"}))
        .await;
    assert_eq!(patched.status, 200);

    let response = scrape(&private).await;
    assert_eq!(response.status(), 200);
    assert!(
        response
            .headers()
            .get("content-type")
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("text/plain"))
    );
    let metrics = response.text().await.expect("body");
    let count = |name, labels: &[(&str, &str)]| sample(&metrics, name, labels);
    assert_eq!(count("neptun_sign_ups_total", &[]), Some(1.0));
    assert_eq!(
        count("neptun_logins_total", &[("outcome", "failure")]),
        Some(1.0)
    );
    assert_eq!(count("neptun_sessions_created_total", &[]), Some(1.0));
    let patch = [
        ("method", "PATCH"),
        ("route", "/api/users/{user_id}"),
        ("status", "200"),
    ];
    assert_eq!(count("http_requests_total", &patch), Some(1.0));
    assert_eq!(
        count("http_request_duration_seconds_count", &patch),
        Some(1.0)
    );
    let failed_login = [("route", "/api/auth/login"), ("status", "401")];
    assert_eq!(count("http_requests_total", &failed_login), Some(1.0));
    assert!(count("neptun_password_hash_wait_seconds_count", &[]).is_some_and(|n| n >= 3.0));
    assert!(count("neptun_database_connections", &[("state", "max")]).is_some_and(|n| n >= 1.0));
    assert!(
        !metrics.contains(&user_id),
        "no series is labelled with an id"
    );
}

#[tokio::test]
async fn throttle_refusals_are_counted_by_limit() {
    let database = Backend::Sqlite.fresh_database().await;
    let private = metrics_address();
    let server = ServerProcess::start(
        &database.url(),
        &["--sign-up-rate-limit", "1/1m", "--metrics-listen", &private],
    );
    let mut first = Browser::new(&server.base_url());
    assert_eq!(first.sign_up("one@example.com", PASSWORD).await.status, 200);
    let refused = Browser::new(&server.base_url())
        .sign_up("two@example.com", PASSWORD)
        .await;
    assert_eq!(refused.status, 429);
    let metrics = scrape(&private).await.text().await.expect("body");
    assert_eq!(
        sample(
            &metrics,
            "neptun_throttle_refusals_total",
            &[("limit", "sign_up_per_address")]
        ),
        Some(1.0)
    );
}

#[tokio::test]
async fn the_metrics_are_never_on_the_public_port() {
    let database = Backend::Sqlite.fresh_database().await;
    let without = ServerProcess::start(&database.url(), &[]);
    let public = Browser::new(&without.base_url()).get("/metrics").await;
    public.assert_error(404, "Not Found");
    drop(without);

    let private = metrics_address();
    let server = ServerProcess::start(&database.url(), &["--metrics-listen", &private]);
    let main = Browser::new(&server.base_url()).get("/metrics").await;
    assert_eq!(main.status, 404);
    let scraped = scrape(&private).await;
    assert_eq!(scraped.status(), 200);
    assert!(
        scraped
            .text()
            .await
            .expect("body")
            .contains("neptun_database_connections")
    );
}

#[tokio::test]
async fn the_shipped_binary_has_no_debug_routes() {
    let database = Backend::Sqlite.fresh_database().await;
    let server = ServerProcess::start(&database.url(), &[]);
    for path in [
        "/debug",
        "/debug/pprof",
        "/debug/vars",
        "/_debug",
        "/admin",
        "/api/admin",
        "/api/debug",
        "/actuator",
        "/env",
        "/config",
        "/.env",
    ] {
        let response = Browser::new(&server.base_url()).get(path).await;
        response.assert_error(404, "Not Found");
    }
}

/// SIGTERM while a slow login is being hashed: that login is answered, new
/// connections are refused, and the process exits 0 within the deadline.
#[tokio::test]
async fn sigterm_lets_the_request_in_flight_finish_then_exits_zero() {
    let database = Backend::Sqlite.fresh_database().await;
    let mut server = ServerProcess::start(
        &database.url(),
        &[
            // Slow enough to be in flight when the signal comes, with a
            // margin for SIMD Argon2 on a fast core (about half a second).
            "--argon2-memory-kib",
            "131072",
            "--argon2-iterations",
            "10",
            "--shutdown-timeout",
            "10s",
        ],
    );
    let base = server.base_url();
    let mut owner = Browser::new(&base);
    assert_eq!(
        owner.sign_up("leaving@example.com", PASSWORD).await.status,
        200
    );

    let in_flight = tokio::spawn(async move {
        let started = Instant::now();
        let response = Browser::new(&base)
            .login("leaving@example.com", PASSWORD)
            .await;
        (response.status, started.elapsed())
    });
    tokio::time::sleep(Duration::from_millis(150)).await;
    let sent_at = Instant::now();
    let killed = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());

    let (status, took) = in_flight.await.expect("the login task");
    assert_eq!(status, 200, "the login in flight is answered");
    assert!(took > Duration::from_millis(150), "it really was in flight");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let refused = tokio::net::TcpStream::connect(server.address).await;
    assert!(refused.is_err(), "new connections are refused");

    let exit = loop {
        if let Some(exit) = server.child.try_wait().expect("wait") {
            break exit;
        }
        assert!(
            sent_at.elapsed() < Duration::from_secs(10),
            "exited within the deadline"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(exit.code(), Some(0));
    assert!(server.log().contains("shutting down"));
}
