//! Cross-site refusal (contract section 5): any POST, PATCH or DELETE from a
//! foreign or null origin, or fetched cross-site, is 403 before anything else.

use reqwest::Method;
use serde_json::json;

use crate::backend::Backend;
use crate::helpers::{Browser, PASSWORD, TestResponse, spawn_app, spawn_app_with};

async fn post_with(browser: &mut Browser, path: &str, headers: &[(&str, &str)]) -> TestResponse {
    let mut request = browser
        .request(Method::POST, path)
        .json(&json!({"email": "csrf@example.com", "password": PASSWORD}));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    browser.send(request).await
}

backend_test!(a_foreign_origin_is_refused_on_sign_up_login_and_logout_without_a_cookie);
async fn a_foreign_origin_is_refused_on_sign_up_login_and_logout_without_a_cookie(
    backend: Backend,
) {
    let app = spawn_app(&backend).await;
    for path in ["/api/auth/sign-up", "/api/auth/login", "/api/auth/logout"] {
        let mut browser = app.browser();
        let response = post_with(&mut browser, path, &[("origin", "https://evil.example")]).await;
        response.assert_error(403, "Cross-site request refused");
        assert_eq!(response.body["statusMessage"], "Forbidden");
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users").await,
        0,
        "no login CSRF account"
    );
}

backend_test!(a_null_origin_is_refused);
async fn a_null_origin_is_refused(backend: Backend) {
    let app = spawn_app(&backend).await;

    let response = post_with(
        &mut app.browser(),
        "/api/auth/sign-up",
        &[("origin", "null")],
    )
    .await;

    response.assert_error(403, "Cross-site request refused");
}

backend_test!(sec_fetch_site_cross_site_is_refused_even_without_an_origin);
async fn sec_fetch_site_cross_site_is_refused_even_without_an_origin(backend: Backend) {
    let app = spawn_app(&backend).await;

    let response = post_with(
        &mut app.browser(),
        "/api/auth/login",
        &[("sec-fetch-site", "cross-site")],
    )
    .await;

    response.assert_error(403, "Cross-site request refused");
}

backend_test!(a_foreign_origin_is_refused_on_patch_and_delete_with_a_valid_cookie);
async fn a_foreign_origin_is_refused_on_patch_and_delete_with_a_valid_cookie(backend: Backend) {
    let app = spawn_app(&backend).await;
    let (mut browser, user_id) = app.signed_up("victim@example.com").await;
    let path = format!("/api/users/{user_id}");

    let patch = browser
        .request(Method::PATCH, &path)
        .header("origin", "https://evil.example")
        .json(&json!({"email": "attacker@example.com"}));
    let patched = browser.send(patch).await;
    let delete = browser
        .request(Method::DELETE, &path)
        .header("sec-fetch-site", "cross-site");
    let deleted = browser.send(delete).await;

    patched.assert_error(403, "Cross-site request refused");
    deleted.assert_error(403, "Cross-site request refused");
    assert_eq!(
        app.stored_email(&user_id).await.as_deref(),
        Some("victim@example.com")
    );
    assert_eq!(browser.head("/api/auth/check").await.status, 200);
}

backend_test!(the_own_origin_from_host_and_same_site_fetches_are_allowed);
async fn the_own_origin_from_host_and_same_site_fetches_are_allowed(backend: Backend) {
    let app = spawn_app(&backend).await;
    let own = format!("http://{}", app.address);
    let mut browser = app.browser();

    let response = post_with(
        &mut browser,
        "/api/auth/sign-up",
        &[("origin", own.as_str()), ("sec-fetch-site", "same-origin")],
    )
    .await;

    assert_eq!(response.status, 200, "{}", response.text);
    let logout = post_with(
        &mut browser,
        "/api/auth/logout",
        &[("sec-fetch-site", "same-site")],
    )
    .await;
    assert_eq!(logout.status, 200);
}

backend_test!(with_a_public_url_only_that_origin_is_own);
async fn with_a_public_url_only_that_origin_is_own(backend: Backend) {
    let app = spawn_app_with(&backend, &["--public-url", "https://accounts.example.com"]).await;
    let host_origin = format!("http://{}", app.address);

    let from_host = post_with(
        &mut app.browser(),
        "/api/auth/sign-up",
        &[("origin", host_origin.as_str())],
    )
    .await;
    let from_public = post_with(
        &mut app.browser(),
        "/api/auth/sign-up",
        &[("origin", "https://accounts.example.com")],
    )
    .await;

    from_host.assert_error(403, "Cross-site request refused");
    assert_eq!(from_public.status, 200, "{}", from_public.text);
}

backend_test!(requests_without_origin_headers_are_unaffected);
async fn requests_without_origin_headers_are_unaffected(backend: Backend) {
    let app = spawn_app(&backend).await;

    let response = post_with(&mut app.browser(), "/api/auth/sign-up", &[]).await;

    assert_eq!(
        response.status, 200,
        "curl and servers send no Origin: {}",
        response.text
    );
}

backend_test!(reads_from_a_foreign_origin_are_not_refused);
async fn reads_from_a_foreign_origin_are_not_refused(backend: Backend) {
    let app = spawn_app(&backend).await;
    let (mut browser, _) = app.signed_up("reader@example.com").await;

    let request = browser
        .request(Method::GET, "/api/auth/session")
        .header("origin", "https://evil.example")
        .header("sec-fetch-site", "cross-site");
    let response = browser.send(request).await;

    assert_eq!(response.status, 200);
    assert!(
        response.header("access-control-allow-origin").is_none(),
        "no CORS by default"
    );
}

backend_test!(cross_site_refusal_comes_before_the_body_size_check);
async fn cross_site_refusal_comes_before_the_body_size_check(backend: Backend) {
    let app = spawn_app(&backend).await;
    let mut browser = app.browser();

    let request = browser
        .request(Method::POST, "/api/auth/login")
        .header("origin", "https://evil.example")
        .header("content-type", "application/json")
        .body("x".repeat(20_000));
    let response = browser.send(request).await;

    response.assert_error(403, "Cross-site request refused");
}

backend_test!(an_unknown_route_is_404_before_the_cross_site_check);
async fn an_unknown_route_is_404_before_the_cross_site_check(backend: Backend) {
    let app = spawn_app(&backend).await;

    let response = post_with(
        &mut app.browser(),
        "/api/nothing",
        &[("origin", "https://evil.example")],
    )
    .await;

    response.assert_error(404, "Not Found");
}

backend_test!(the_own_host_on_another_port_is_a_foreign_origin);
/// Another port on the same host is another origin (another service on the
/// machine could be the attacker).
async fn the_own_host_on_another_port_is_a_foreign_origin(backend: Backend) {
    let app = spawn_app(&backend).await;
    let port = app.address.port();
    let other_port = port.checked_add(1).unwrap_or(port - 1);
    let other = format!("http://{}:{other_port}", app.address.ip());

    let response = post_with(
        &mut app.browser(),
        "/api/auth/sign-up",
        &[("origin", other.as_str())],
    )
    .await;

    response.assert_error(403, "Cross-site request refused");
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 0);
}

backend_test!(without_a_public_url_the_own_host_and_port_are_own_over_http_and_https);
/// Behind a TLS proxy the service sees plain http while the browser sends
/// `https://`: without `--public-url` either scheme is own (contract: "http(s)://").
async fn without_a_public_url_the_own_host_and_port_are_own_over_http_and_https(backend: Backend) {
    let app = spawn_app(&backend).await;

    for (scheme, email) in [("http", "plain@example.com"), ("https", "tls@example.com")] {
        let origin = format!("{scheme}://{}", app.address);
        let request = app
            .browser()
            .request(Method::POST, "/api/auth/sign-up")
            .header("origin", origin.as_str())
            .json(&json!({"email": email, "password": PASSWORD}));
        let response = app.browser().send(request).await;

        assert_eq!(response.status, 200, "{origin}: {}", response.text);
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 2);
}

backend_test!(with_a_public_url_another_scheme_or_port_is_foreign);
async fn with_a_public_url_another_scheme_or_port_is_foreign(backend: Backend) {
    let app = spawn_app_with(&backend, &["--public-url", "https://accounts.example.com"]).await;

    for origin in [
        "http://accounts.example.com",
        "https://accounts.example.com:8443",
        "https://example.com",
    ] {
        let response = post_with(
            &mut app.browser(),
            "/api/auth/sign-up",
            &[("origin", origin)],
        )
        .await;

        response.assert_error(403, "Cross-site request refused");
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 0);
}
