use crate::backend::Backend;
use reqwest::Method;
use serde_json::json;

use crate::helpers::{PASSWORD, spawn_app};

backend_test!(an_unknown_route_is_404_not_found_in_the_error_body);
async fn an_unknown_route_is_404_not_found_in_the_error_body(backend: Backend) {
    let app = spawn_app(&backend).await;

    // `/` leads to the account page (tests/api/account_page.rs).
    for path in [
        "/account/nothing",
        "/api",
        "/api/nothing",
        "/api/users",
        "/api/users/a/b",
        "/health/x",
    ] {
        let response = app.browser().get(path).await;
        response.assert_error(404, "Not Found");
        assert_eq!(response.body["statusMessage"], "Not Found");
    }
}

backend_test!(a_known_route_with_another_method_is_405_with_allow);
async fn a_known_route_with_another_method_is_405_with_allow(backend: Backend) {
    let app = spawn_app(&backend).await;
    let cases = [
        (Method::GET, "/api/auth/login", "POST"),
        (Method::PUT, "/api/auth/sign-up", "POST"),
        (Method::DELETE, "/api/auth/logout", "POST"),
        (Method::POST, "/api/auth/session", "GET,HEAD"),
        (Method::POST, "/health", "GET,HEAD"),
    ];
    for (method, path, allow) in cases {
        let mut browser = app.browser();
        let request = browser.request(method.clone(), path);
        let response = browser.send(request).await;
        response.assert_error(405, "Method Not Allowed");
        assert_eq!(response.header("allow"), Some(allow), "{method} {path}");
    }
}

backend_test!(a_wrong_method_is_405_even_with_an_oversized_body);
async fn a_wrong_method_is_405_even_with_an_oversized_body(backend: Backend) {
    let app = spawn_app(&backend).await;
    let mut browser = app.browser();

    let request = browser
        .request(Method::PUT, "/api/auth/login")
        .body("x".repeat(20_000));
    let response = browser.send(request).await;

    response.assert_error(405, "Method Not Allowed");
}

backend_test!(a_body_that_is_not_json_is_415);
async fn a_body_that_is_not_json_is_415(backend: Backend) {
    let app = spawn_app(&backend).await;
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let mut browser = app.browser();
        let mut request = browser
            .request(Method::POST, "/api/auth/sign-up")
            .body(r#"{"email":"a@example.com","password":"password1"}"#);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let response = browser.send(request).await;
        response.assert_error(415, "Content-Type must be application/json");
        assert_eq!(response.body["statusMessage"], "Unsupported Media Type");
    }
}

backend_test!(json_that_is_broken_or_not_an_object_is_400_invalid_json_body);
async fn json_that_is_broken_or_not_an_object_is_400_invalid_json_body(backend: Backend) {
    let app = spawn_app(&backend).await;
    for body in ["{", "", "null", "[1,2]", "\"text\"", "42", "{\"email\":}"] {
        let mut browser = app.browser();
        let request = browser
            .request(Method::POST, "/api/auth/login")
            .header("content-type", "application/json")
            .body(body);
        let response = browser.send(request).await;
        response.assert_error(400, "Invalid JSON body.");
    }
}

backend_test!(a_declared_content_length_over_the_limit_is_413_before_the_session_check);
async fn a_declared_content_length_over_the_limit_is_413_before_the_session_check(
    backend: Backend,
) {
    let app = spawn_app(&backend).await;
    let (mut browser, _) = app.signed_up("big@example.com").await;

    let request = browser
        .request(Method::POST, "/api/auth/login")
        .header("content-type", "application/json")
        .body(format!(
            r#"{{"email":"big@example.com","password":"{}"}}"#,
            "x".repeat(17_000)
        ));
    let response = browser.send(request).await;

    response.assert_error(413, "Payload Too Large");
    assert_eq!(response.body["statusMessage"], "Payload Too Large");
    assert_eq!(response.body["data"], json!({"limit_bytes": 16_384}));
}

backend_test!(a_streamed_body_over_the_limit_is_413);
async fn a_streamed_body_over_the_limit_is_413(backend: Backend) {
    let app = spawn_app(&backend).await;
    let chunk = "x".repeat(1_000);
    let mut request = String::from(
        "POST /api/auth/sign-up HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
    );
    for _ in 0..40 {
        request.push_str(&format!("{:x}\r\n{chunk}\r\n", chunk.len()));
    }
    request.push_str("0\r\n\r\n");

    let answer = raw_http(app.address, &request).await;

    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(
        answer.contains(r#""message":"Payload Too Large""#),
        "{answer}"
    );
    assert!(
        answer.contains(r#""data":{"limit_bytes":16384}"#),
        "{answer}"
    );
}

backend_test!(a_body_just_under_the_limit_is_read);
async fn a_body_just_under_the_limit_is_read(backend: Backend) {
    let app = spawn_app(&backend).await;
    let padding = "p".repeat(16_000);
    let body = json!({"email": "fits@example.com", "password": PASSWORD, "padding": padding});

    let response = app.browser().post_json("/api/auth/sign-up", &body).await;

    assert_eq!(
        response.status, 200,
        "unknown keys are ignored: {}",
        response.text
    );
}

backend_test!(already_logged_in_comes_before_the_media_type_check);
async fn already_logged_in_comes_before_the_media_type_check(backend: Backend) {
    let app = spawn_app(&backend).await;
    let (mut browser, _) = app.signed_up("order@example.com").await;

    let request = browser
        .request(Method::POST, "/api/auth/login")
        .body("not json");
    let response = browser.send(request).await;

    response.assert_error(403, "Please log out first");
}

backend_test!(every_answer_carries_nosniff_and_no_referrer_and_api_answers_no_store);
async fn every_answer_carries_nosniff_and_no_referrer_and_api_answers_no_store(backend: Backend) {
    let app = spawn_app(&backend).await;
    let mut browser = app.browser();
    for (path, is_api) in [
        ("/health", false),
        ("/nowhere", false),
        ("/api/auth/session", true),
        ("/api/x", true),
    ] {
        let response = browser.get(path).await;
        assert_eq!(
            response.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
        assert_eq!(
            response.header("referrer-policy"),
            Some("no-referrer"),
            "{path}"
        );
        let no_store = response.header("cache-control") == Some("no-store");
        assert_eq!(no_store, is_api, "{path}");
    }
}

/// Sends `request` as raw bytes and reads the whole answer.
async fn raw_http(address: std::net::SocketAddr, request: &str) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    String::from_utf8_lossy(&answer).into_owned()
}
