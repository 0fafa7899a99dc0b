//! Deleting an account is irreversible, so under `--strict` (or
//! `--require-recent-auth`) it needs a recent password proof like a PATCH:
//! a session whose login is older than the window is refused with 403 until
//! the user logs in again.

use std::time::Duration;

use crate::backend::Backend;
use crate::helpers::{PASSWORD, spawn_app_with};

backend_test!(a_strict_delete_without_recent_authentication_is_refused_and_changes_nothing);
async fn a_strict_delete_without_recent_authentication_is_refused_and_changes_nothing(
    backend: Backend,
) {
    let app = spawn_app_with(&backend, &["--strict", "--require-recent-auth", "1s"]).await;
    let (mut browser, user_id) = app.signed_up("careful@example.com").await;
    tokio::time::sleep(Duration::from_millis(1_300)).await;

    let refused = browser.delete(&format!("/api/users/{user_id}")).await;

    refused.assert_error(403, "Recent authentication required");
    assert_eq!(
        app.stored_email(&user_id).await.as_deref(),
        Some("careful@example.com")
    );
    assert_eq!(
        browser.head("/api/auth/check").await.status,
        200,
        "still signed in"
    );

    let mut again = app.browser();
    assert_eq!(
        again.login("careful@example.com", PASSWORD).await.status,
        200
    );
    let deleted = again.delete(&format!("/api/users/{user_id}")).await;
    assert_eq!(deleted.status, 200, "{}", deleted.text);
    assert_eq!(app.stored_email(&user_id).await, None);
}

backend_test!(a_strict_delete_right_after_login_is_allowed);
async fn a_strict_delete_right_after_login_is_allowed(backend: Backend) {
    let app = spawn_app_with(&backend, &["--strict"]).await;
    let (mut browser, user_id) = app.signed_up("quick@example.com").await;

    let deleted = browser.delete(&format!("/api/users/{user_id}")).await;

    assert_eq!(deleted.status, 200, "{}", deleted.text);
    assert_eq!(app.stored_email(&user_id).await, None);
}
