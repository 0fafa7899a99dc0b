use crate::backend::Backend;
use serde_json::json;

use crate::helpers::{PASSWORD, spawn_app};

backend_test!(delete_removes_the_user_and_every_session_and_clears_the_cookie);
async fn delete_removes_the_user_and_every_session_and_clears_the_cookie(backend: Backend) {
    let app = spawn_app(&backend).await;
    let (mut laptop, user_id) = app.signed_up("leaving@example.com").await;
    let mut phone = app.logged_in("leaving@example.com").await;

    let response = laptop.delete(&format!("/api/users/{user_id}")).await;

    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.body, json!(true));
    assert!(response.clears_session_cookie());
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions").await, 0);
    assert_eq!(phone.head("/api/auth/check").await.status, 401);
    phone
        .login("leaving@example.com", PASSWORD)
        .await
        .assert_error(401, "Invalid email or password");
}

backend_test!(a_deleted_users_email_is_free_for_a_new_sign_up_at_once);
async fn a_deleted_users_email_is_free_for_a_new_sign_up_at_once(backend: Backend) {
    let app = spawn_app(&backend).await;
    let (mut browser, user_id) = app.signed_up("reuse@example.com").await;
    browser.delete(&format!("/api/users/{user_id}")).await;

    let response = app.browser().sign_up("reuse@example.com", PASSWORD).await;

    assert_eq!(response.status, 200, "{}", response.text);
    assert_ne!(response.body["user"]["id"], user_id.as_str());
}

backend_test!(delete_with_another_users_id_is_404_and_deletes_nothing);
async fn delete_with_another_users_id_is_404_and_deletes_nothing(backend: Backend) {
    let app = spawn_app(&backend).await;
    let (_, victim_id) = app.signed_up("victim@example.com").await;
    let (mut attacker, _) = app.signed_up("attacker@example.com").await;

    let response = attacker.delete(&format!("/api/users/{victim_id}")).await;

    response.assert_error(404, "User not found");
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 2);
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions").await, 2);
}

backend_test!(delete_without_a_session_is_401);
async fn delete_without_a_session_is_401(backend: Backend) {
    let app = spawn_app(&backend).await;
    let (_, user_id) = app.signed_up("kept@example.com").await;

    let response = app.browser().delete(&format!("/api/users/{user_id}")).await;

    response.assert_error(401, "Unauthorized");
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 1);
}
