use crate::backend::Backend;
use crate::helpers::spawn_app;

backend_test!(logout_ends_the_session_answers_true_and_clears_the_cookie);
async fn logout_ends_the_session_answers_true_and_clears_the_cookie(backend: Backend) {
    let app = spawn_app(&backend).await;
    let (mut browser, _) = app.signed_up("logout@example.com").await;
    let token = browser.session.clone();

    let response = browser.logout().await;

    assert_eq!(response.status, 200);
    assert_eq!(response.body, serde_json::json!(true));
    assert!(response.clears_session_cookie());
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions").await, 0);
    browser.session = token;
    let reused = browser.get("/api/auth/session").await;
    reused.assert_error(401, "Unauthorized");
}

backend_test!(logout_without_a_session_answers_false_and_clears_the_cookie);
async fn logout_without_a_session_answers_false_and_clears_the_cookie(backend: Backend) {
    let app = spawn_app(&backend).await;

    let response = app.browser().logout().await;

    assert_eq!(response.status, 200);
    assert_eq!(response.body, serde_json::json!(false));
    assert!(response.clears_session_cookie());
}

backend_test!(logout_with_a_stale_cookie_answers_false_with_one_clearing_cookie);
async fn logout_with_a_stale_cookie_answers_false_with_one_clearing_cookie(backend: Backend) {
    let app = spawn_app(&backend).await;
    let mut browser = app.browser();
    browser.session = Some("C".repeat(43));

    let response = browser.logout().await;

    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.body, serde_json::json!(false));
    assert!(response.clears_session_cookie(), "one clearing Set-Cookie");
}

backend_test!(logout_ends_only_the_presented_session);
async fn logout_ends_only_the_presented_session(backend: Backend) {
    let app = spawn_app(&backend).await;
    let (mut laptop, _) = app.signed_up("only@example.com").await;
    let mut phone = app.logged_in("only@example.com").await;

    assert_eq!(laptop.logout().await.body, serde_json::json!(true));

    assert_eq!(phone.head("/api/auth/check").await.status, 200);
    assert_eq!(laptop.head("/api/auth/check").await.status, 401);
}

backend_test!(logout_ignores_any_body_even_an_oversized_one);
async fn logout_ignores_any_body_even_an_oversized_one(backend: Backend) {
    let app = spawn_app(&backend).await;
    let (mut browser, _) = app.signed_up("body@example.com").await;

    let request = browser
        .request(reqwest::Method::POST, "/api/auth/logout")
        .header("content-type", "text/plain")
        .body("x".repeat(20_000));
    let response = browser.send(request).await;

    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.body, serde_json::json!(true));
}
