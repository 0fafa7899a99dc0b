//! DNS rebinding: a page on a hostile name that resolves to the service's
//! address reaches it with that name in `Host`. Hosts outside
//! `--allowed-hosts` (by default on loopback: the loopback names) get 421
//! before any route.

use reqwest::Method;

use crate::backend::Backend;
use crate::helpers::{Browser, TestResponse, spawn_app_with};

async fn with_host(browser: &mut Browser, method: Method, path: &str, host: &str) -> TestResponse {
    let request = browser.request(method, path).header("host", host);
    browser.send(request).await
}

backend_test!(a_foreign_host_is_refused_with_421_on_loopback_by_default);
async fn a_foreign_host_is_refused_with_421_on_loopback_by_default(backend: Backend) {
    let app = spawn_app_with(&backend, &[]).await;
    let (mut browser, _) = app.signed_up("rebind@example.com").await;
    let port = app.address.port();

    let refused = with_host(
        &mut browser,
        Method::GET,
        "/api/auth/session",
        &format!("rebind.attacker.example:{port}"),
    )
    .await;
    refused.assert_error(421, "Misdirected Request");
    assert_eq!(refused.body["statusMessage"], "Misdirected Request");
    let deleted = with_host(
        &mut browser,
        Method::POST,
        "/api/auth/logout",
        "rebind.attacker.example",
    )
    .await;
    assert_eq!(deleted.status, 421, "nothing reaches a handler");

    for own in [format!("localhost:{port}"), format!("127.0.0.1:{port}")] {
        let answered = with_host(&mut browser, Method::GET, "/api/auth/session", &own).await;
        assert_eq!(answered.status, 200, "{own}: {}", answered.text);
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions").await, 1);
}

backend_test!(an_explicit_allowed_hosts_list_is_the_only_one_answered);
async fn an_explicit_allowed_hosts_list_is_the_only_one_answered(backend: Backend) {
    let app = spawn_app_with(
        &backend,
        &["--allowed-hosts", "accounts.example.com,other.example:8443"],
    )
    .await;
    let mut browser = app.browser();
    let port = app.address.port();

    for (host, status) in [
        ("accounts.example.com", 401),
        ("ACCOUNTS.example.com:1234", 401),
        ("other.example:8443", 401),
        ("other.example:8444", 421),
        (&format!("127.0.0.1:{port}") as &str, 421),
    ] {
        let answer = with_host(&mut browser, Method::GET, "/api/auth/session", host).await;
        assert_eq!(answer.status, status, "{host}: {}", answer.text);
    }
    let health = with_host(&mut browser, Method::GET, "/health", "10.1.2.3:3000").await;
    assert_eq!(
        health.status, 200,
        "load balancers probe /health by address"
    );
}
