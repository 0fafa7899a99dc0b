//! Credentialed CORS for exactly the configured origins.

use reqwest::Method;
use serde_json::json;

use crate::backend::Backend;
use crate::helpers::{PASSWORD, spawn_app, spawn_app_with};

const SPA: &str = "https://app.example.com";

backend_test!(a_preflight_from_an_allowed_origin_allows_credentials_and_the_methods);
async fn a_preflight_from_an_allowed_origin_allows_credentials_and_the_methods(backend: Backend) {
    let app = spawn_app_with(&backend, &["--cors-origin", SPA]).await;
    let mut browser = app.browser();

    let request = browser
        .request(Method::OPTIONS, "/api/users/some-id")
        .header("origin", SPA)
        .header("access-control-request-method", "PATCH")
        .header("access-control-request-headers", "content-type");
    let response = browser.send(request).await;

    assert!(
        response.status < 300,
        "preflight answered: {}",
        response.status
    );
    assert_eq!(response.header("access-control-allow-origin"), Some(SPA));
    assert_eq!(
        response.header("access-control-allow-credentials"),
        Some("true")
    );
    let methods = response
        .header("access-control-allow-methods")
        .unwrap()
        .to_ascii_uppercase();
    assert!(
        methods.contains("PATCH") && methods.contains("DELETE"),
        "{methods}"
    );
    let headers = response
        .header("access-control-allow-headers")
        .unwrap()
        .to_ascii_lowercase();
    assert!(headers.contains("content-type"), "{headers}");
}

backend_test!(an_allowed_cross_site_origin_can_sign_up_and_read_with_credentials);
async fn an_allowed_cross_site_origin_can_sign_up_and_read_with_credentials(backend: Backend) {
    let app = spawn_app_with(&backend, &["--cors-origin", SPA]).await;
    let mut browser = app.browser();

    let request = browser
        .request(Method::POST, "/api/auth/sign-up")
        .header("origin", SPA)
        .header("sec-fetch-site", "cross-site")
        .json(&json!({"email": "spa@example.com", "password": PASSWORD}));
    let signed_up = browser.send(request).await;
    let read = browser
        .send(
            browser
                .request(Method::GET, "/api/auth/session")
                .header("origin", SPA),
        )
        .await;

    assert_eq!(signed_up.status, 200, "{}", signed_up.text);
    assert_eq!(signed_up.header("access-control-allow-origin"), Some(SPA));
    assert_eq!(
        signed_up.header("access-control-allow-credentials"),
        Some("true")
    );
    assert_eq!(read.status, 200);
    assert_eq!(read.header("access-control-allow-origin"), Some(SPA));
}

backend_test!(an_origin_that_is_not_configured_gets_no_cors_and_no_writes);
async fn an_origin_that_is_not_configured_gets_no_cors_and_no_writes(backend: Backend) {
    let app = spawn_app_with(&backend, &["--cors-origin", SPA]).await;
    let mut browser = app.browser();

    let preflight = browser
        .request(Method::OPTIONS, "/api/auth/login")
        .header("origin", "https://other.example.com")
        .header("access-control-request-method", "POST");
    let preflight = browser.send(preflight).await;
    let post = browser
        .request(Method::POST, "/api/auth/login")
        .header("origin", "https://other.example.com")
        .json(&json!({"email": "spa@example.com", "password": PASSWORD}));
    let post = browser.send(post).await;

    assert!(preflight.header("access-control-allow-origin").is_none());
    post.assert_error(403, "Cross-site request refused");
    assert!(post.header("access-control-allow-origin").is_none());
}

backend_test!(without_cors_origins_there_is_no_cors_at_all);
async fn without_cors_origins_there_is_no_cors_at_all(backend: Backend) {
    let app = spawn_app(&backend).await;
    let mut browser = app.browser();

    let preflight = browser
        .request(Method::OPTIONS, "/api/auth/login")
        .header("origin", SPA)
        .header("access-control-request-method", "POST");
    let response = browser.send(preflight).await;

    assert!(response.header("access-control-allow-origin").is_none());
    response.assert_error(405, "Method Not Allowed");
}

backend_test!(several_origins_come_from_the_environment_as_a_comma_list);
async fn several_origins_come_from_the_environment_as_a_comma_list(backend: Backend) {
    // The same parser serves the flag and NEPTUN_CORS_ORIGINS (value delimiter `,`).
    let app = spawn_app_with(
        &backend,
        &[
            "--cors-origin",
            "https://a.example.com,https://b.example.com",
        ],
    )
    .await;
    let mut browser = app.browser();

    for origin in ["https://a.example.com", "https://b.example.com"] {
        let request = browser
            .request(Method::GET, "/health")
            .header("origin", origin);
        let response = browser.send(request).await;
        assert_eq!(response.header("access-control-allow-origin"), Some(origin));
    }
}
