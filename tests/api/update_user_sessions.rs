//! `PATCH /api/users/{user_id}`, rules 8 and 9 (contract section 4): the
//! rotated session, the sessions a password change ends, and two updates
//! racing for one email.

use std::time::Duration;

use cookie::SameSite;
use serde_json::json;

use crate::backend::Backend;
use crate::helpers::{PASSWORD, assert_one_wins_the_email, spawn_app, spawn_app_with};

backend_test!(rule_8_a_patch_rotates_the_session_keeping_its_creation_and_proof);
/// Run with `--cookie-secure true`, the default in production: the new
/// cookie keeps every attribute of the one it replaces.
async fn rule_8_a_patch_rotates_the_session_keeping_its_creation_and_proof(backend: Backend) {
    let app = spawn_app_with(&backend, &["--cookie-secure", "true"]).await;
    let (mut browser, user_id) = app.signed_up("rotate@example.com").await;
    let old_token = browser.session.clone().unwrap();
    let (created, authenticated, logged_in) = app.stored_session(&old_token).await.unwrap();
    let before = browser.get("/api/auth/session").await;
    let old_max_age = 30 * 86_400;
    tokio::time::sleep(Duration::from_millis(1_100)).await;

    let response = browser
        .update_user(&user_id, &json!({"email":"rotated@example.com"}))
        .await;

    assert_eq!(response.status, 200, "{}", response.text);
    let cookie = response.session_cookie().expect("a new cookie");
    assert_ne!(cookie.value(), old_token);
    assert_eq!(cookie.secure(), Some(true), "{cookie}");
    assert_eq!(cookie.http_only(), Some(true), "{cookie}");
    assert_eq!(cookie.same_site(), Some(SameSite::Lax), "{cookie}");
    assert_eq!(cookie.path(), Some("/"), "{cookie}");
    assert_eq!(cookie.domain(), None, "{cookie}");
    let max_age = cookie.max_age().unwrap().whole_seconds();
    assert!(
        max_age < old_max_age,
        "Max-Age {max_age} is the rest of the lifetime"
    );
    let (created_after, authenticated_after, logged_in_after) =
        app.stored_session(cookie.value()).await.unwrap();
    assert_eq!(created_after, created);
    assert_eq!(authenticated_after, authenticated);
    assert!(logged_in_after > logged_in);
    let after = browser.get("/api/auth/session").await;
    assert_eq!(after.status, 200);
    assert_ne!(after.body["loggedInAt"], before.body["loggedInAt"]);

    let mut replay = app.browser();
    replay.session = Some(old_token);
    let stale = replay.get("/api/auth/session").await;
    stale.assert_error(401, "Unauthorized");
}

backend_test!(rule_8_a_password_change_revokes_every_other_session_and_keeps_this_one);
async fn rule_8_a_password_change_revokes_every_other_session_and_keeps_this_one(backend: Backend) {
    let app = spawn_app(&backend).await;
    let (mut laptop, user_id) = app.signed_up("sessions@example.com").await;
    let mut phone = app.logged_in("sessions@example.com").await;

    let response = laptop
        .update_user(&user_id, &json!({"password":"a new password"}))
        .await;

    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(phone.head("/api/auth/check").await.status, 401);
    assert_eq!(laptop.head("/api/auth/check").await.status, 200);
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions").await, 1);
    laptop.logout().await;
    laptop
        .login("sessions@example.com", PASSWORD)
        .await
        .assert_error(401, "Invalid email or password");
    assert_eq!(
        laptop
            .login("sessions@example.com", "a new password")
            .await
            .status,
        200
    );
}

backend_test!(rule_8_the_same_password_again_still_revokes_other_sessions);
async fn rule_8_the_same_password_again_still_revokes_other_sessions(backend: Backend) {
    let app = spawn_app(&backend).await;
    let (mut laptop, user_id) = app.signed_up("same-password@example.com").await;
    let mut phone = app.logged_in("same-password@example.com").await;

    let response = laptop
        .update_user(&user_id, &json!({"password": PASSWORD}))
        .await;

    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(phone.head("/api/auth/check").await.status, 401);
    assert_eq!(laptop.head("/api/auth/check").await.status, 200);
}

backend_test!(rule_8_an_email_only_change_keeps_other_sessions);
async fn rule_8_an_email_only_change_keeps_other_sessions(backend: Backend) {
    let app = spawn_app(&backend).await;
    let (mut laptop, user_id) = app.signed_up("email-only@example.com").await;
    let mut phone = app.logged_in("email-only@example.com").await;

    let response = laptop
        .update_user(&user_id, &json!({"email":"changed@example.com"}))
        .await;

    assert_eq!(response.status, 200, "{}", response.text);
    let phone_view = phone.get("/api/auth/session").await;
    assert_eq!(phone_view.status, 200);
    assert_eq!(
        phone_view.body["user"]["primary_email"],
        "changed@example.com"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions").await, 2);
}

backend_test!(rule_9_two_concurrent_patches_for_one_email_give_one_200_and_one_409);
async fn rule_9_two_concurrent_patches_for_one_email_give_one_200_and_one_409(backend: Backend) {
    let app = spawn_app(&backend).await;
    for round in 0..5 {
        let (mut first, first_id) = app.signed_up(&format!("first{round}@example.com")).await;
        let (mut second, second_id) = app.signed_up(&format!("second{round}@example.com")).await;
        let email = format!("wanted{round}@example.com");

        assert_one_wins_the_email((&mut first, &first_id), (&mut second, &second_id), &email).await;

        let owners = app
            .count(&format!(
                "SELECT COUNT(*) FROM users WHERE email = 'wanted{round}@example.com'"
            ))
            .await;
        assert_eq!(owners, 1);
    }
}
