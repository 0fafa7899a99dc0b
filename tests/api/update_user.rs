//! `PATCH /api/users/{user_id}`, rule by rule (contract section 4).

use crate::backend::Backend;
use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use crate::helpers::{PASSWORD, spawn_app};

backend_test!(the_neptun_example_body_changes_email_and_password);
async fn the_neptun_example_body_changes_email_and_password(backend: Backend) {
    let app = spawn_app(&backend).await;
    let (mut browser, user_id) = app.signed_up("old@example.com").await;

    let response = browser
        .update_user(
            &user_id,
            &json!({"email":"newemail@example.com","password":"newpassword"}),
        )
        .await;

    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(
        response.body,
        json!({"user": {"id": user_id, "primary_email": "newemail@example.com"}})
    );
    assert!(response.session_cookie().is_some(), "a new cookie");
    assert_eq!(
        app.stored_email(&user_id).await.as_deref(),
        Some("newemail@example.com")
    );
    browser.logout().await;
    assert_eq!(
        browser
            .login("newemail@example.com", "newpassword")
            .await
            .status,
        200
    );
}

backend_test!(rule_1_patch_without_a_session_is_401_and_changes_nothing);
async fn rule_1_patch_without_a_session_is_401_and_changes_nothing(backend: Backend) {
    let app = spawn_app(&backend).await;
    let (_, user_id) = app.signed_up("owner@example.com").await;

    let response = app
        .browser()
        .update_user(&user_id, &json!({"email":"thief@example.com"}))
        .await;

    response.assert_error(401, "Unauthorized");
    assert_eq!(
        app.stored_email(&user_id).await.as_deref(),
        Some("owner@example.com")
    );
}

backend_test!(rule_2_patch_with_another_users_id_is_404_and_changes_nothing);
async fn rule_2_patch_with_another_users_id_is_404_and_changes_nothing(backend: Backend) {
    let app = spawn_app(&backend).await;
    let (_, victim_id) = app.signed_up("victim@example.com").await;
    let (mut attacker, attacker_id) = app.signed_up("attacker@example.com").await;
    let victim_hash = app.stored_password_hash(&victim_id).await;
    let attacker_token = attacker.session.clone().unwrap();

    let response = attacker
        .update_user(
            &victim_id,
            &json!({"email":"mine@example.com","password":"password99"}),
        )
        .await;

    response.assert_error(404, "User not found");
    assert_eq!(response.body["statusMessage"], "Not Found");
    assert!(response.session_cookie().is_none(), "no rotation");
    assert_eq!(
        app.stored_email(&victim_id).await.as_deref(),
        Some("victim@example.com")
    );
    assert_eq!(app.stored_password_hash(&victim_id).await, victim_hash);
    assert_eq!(
        app.stored_email(&attacker_id).await.as_deref(),
        Some("attacker@example.com")
    );
    assert!(app.stored_session(&attacker_token).await.is_some());
}

backend_test!(rule_2_patch_with_an_unknown_or_malformed_id_is_the_same_404);
async fn rule_2_patch_with_an_unknown_or_malformed_id_is_the_same_404(backend: Backend) {
    let app = spawn_app(&backend).await;
    let (mut browser, _) = app.signed_up("me@example.com").await;

    for id in [
        "01890a5d-ac96-774b-bcce-b302099a8057",
        "user123",
        "%00",
        "%FF",
    ] {
        let response = browser
            .update_user(id, &json!({"email":"x@example.com"}))
            .await;
        response.assert_error(404, "User not found");
    }
}

backend_test!(rule_2_another_users_id_is_404_before_the_body_is_looked_at);
async fn rule_2_another_users_id_is_404_before_the_body_is_looked_at(backend: Backend) {
    let app = spawn_app(&backend).await;
    let (_, victim_id) = app.signed_up("victim@example.com").await;
    let (mut attacker, _) = app.signed_up("attacker@example.com").await;

    let request = attacker
        .request(Method::PATCH, &format!("/api/users/{victim_id}"))
        .header("content-type", "text/plain")
        .body("not json");
    let response = attacker.send(request).await;

    response.assert_error(404, "User not found");
}

backend_test!(rule_3_a_body_that_is_not_json_is_415);
async fn rule_3_a_body_that_is_not_json_is_415(backend: Backend) {
    let app = spawn_app(&backend).await;
    let (mut browser, user_id) = app.signed_up("me@example.com").await;

    let request = browser
        .request(Method::PATCH, &format!("/api/users/{user_id}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("email=x%40example.com");
    let response = browser.send(request).await;

    response.assert_error(415, "Content-Type must be application/json");
    assert_eq!(
        app.stored_email(&user_id).await.as_deref(),
        Some("me@example.com")
    );
}

backend_test!(rule_3_a_body_over_16_kib_is_413);
async fn rule_3_a_body_over_16_kib_is_413(backend: Backend) {
    let app = spawn_app(&backend).await;
    let (mut browser, user_id) = app.signed_up("me@example.com").await;

    let response = browser
        .update_user(
            &user_id,
            &json!({"email":"big@example.com","padding":"x".repeat(16_384)}),
        )
        .await;

    response.assert_error(413, "Payload Too Large");
    assert_eq!(
        app.stored_email(&user_id).await.as_deref(),
        Some("me@example.com")
    );
}

backend_test!(rule_3_json_that_is_broken_or_not_an_object_is_400_with_a_period);
async fn rule_3_json_that_is_broken_or_not_an_object_is_400_with_a_period(backend: Backend) {
    let app = spawn_app(&backend).await;
    let (mut browser, user_id) = app.signed_up("me@example.com").await;

    for body in ["{\"email\":", "[]", "null", "\"x\""] {
        let request = browser
            .request(Method::PATCH, &format!("/api/users/{user_id}"))
            .header("content-type", "application/json")
            .body(body);
        let response = browser.send(request).await;
        response.assert_error(400, "Invalid JSON body.");
        assert_eq!(response.body["statusMessage"], "Bad Request.");
    }
}

backend_test!(rule_4_invalid_fields_are_400_listing_every_issue);
async fn rule_4_invalid_fields_are_400_listing_every_issue(backend: Backend) {
    let app = spawn_app(&backend).await;
    let (mut browser, user_id) = app.signed_up("me@example.com").await;
    let token = browser.session.clone().unwrap();

    let response = browser
        .update_user(
            &user_id,
            &json!({"email":"not an email","password":"short","current_password":7}),
        )
        .await;

    response.assert_error(400, "Invalid body(?email, ?password).");
    assert_eq!(response.body["statusMessage"], "Bad Request.");
    assert_eq!(
        response.body["data"]["issues"],
        json!([
            {"code":"invalid_string","message":"Invalid email","path":["email"],"validation":"email"},
            {"code":"too_small","message":"String must contain at least 8 character(s)","path":["password"],
             "minimum":8,"type":"string","inclusive":true,"exact":false},
            {"code":"invalid_type","message":"Expected string, received number","path":["current_password"],
             "expected":"string","received":"number"}
        ])
    );
    assert_eq!(
        app.stored_email(&user_id).await.as_deref(),
        Some("me@example.com")
    );
    assert!(app.stored_session(&token).await.is_some(), "not rotated");
}

backend_test!(rule_4_null_fields_are_invalid_type_not_absent);
async fn rule_4_null_fields_are_invalid_type_not_absent(backend: Backend) {
    let app = spawn_app(&backend).await;
    let (mut browser, user_id) = app.signed_up("me@example.com").await;

    let response = browser
        .update_user(&user_id, &json!({"email":null,"password":"password99"}))
        .await;

    response.assert_error(400, "Invalid body(?email, ?password).");
    assert_eq!(response.body["data"]["issues"][0]["received"], "null");
    assert_eq!(response.body["data"]["issues"][0]["path"], json!(["email"]));
}

backend_test!(rule_4_unknown_keys_are_ignored);
async fn rule_4_unknown_keys_are_ignored(backend: Backend) {
    let app = spawn_app(&backend).await;
    let (mut browser, user_id) = app.signed_up("me@example.com").await;

    let response = browser
        .update_user(
            &user_id,
            &json!({"email":"Renamed@Example.com","role":"admin","id":"other"}),
        )
        .await;

    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(
        response.body["user"]["primary_email"],
        "renamed@example.com"
    );
    assert_eq!(response.body["user"]["id"], user_id.as_str());
}

backend_test!(rule_5_neither_email_nor_password_is_400_at_least_one);
async fn rule_5_neither_email_nor_password_is_400_at_least_one(backend: Backend) {
    let app = spawn_app(&backend).await;
    let (mut browser, user_id) = app.signed_up("me@example.com").await;

    for body in [
        json!({}),
        json!({"current_password": PASSWORD}),
        json!({"name": "x"}),
    ] {
        let response = browser.update_user(&user_id, &body).await;
        response.assert_error(
            400,
            "Invalid body(?email, ?password). At least one of email or password is required.",
        );
        assert_eq!(response.body["statusMessage"], "Bad Request.");
    }
}

backend_test!(rule_6_a_wrong_current_password_is_400_with_its_issue_and_changes_nothing);
async fn rule_6_a_wrong_current_password_is_400_with_its_issue_and_changes_nothing(
    backend: Backend,
) {
    let app = spawn_app(&backend).await;
    let (mut browser, user_id) = app.signed_up("me@example.com").await;
    let hash_before = app.stored_password_hash(&user_id).await;
    let token = browser.session.clone().unwrap();

    let response = browser
        .update_user(&user_id, &json!({"email":"new@example.com","password":"password99","current_password":"wrong password"}))
        .await;

    response.assert_error(400, "Invalid body(?email, ?password).");
    assert_eq!(
        response.body["data"]["issues"],
        json!([{"code":"custom","message":"Current password is incorrect","path":["current_password"]}])
    );
    assert_eq!(
        app.stored_email(&user_id).await.as_deref(),
        Some("me@example.com")
    );
    assert_eq!(app.stored_password_hash(&user_id).await, hash_before);
    assert!(app.stored_session(&token).await.is_some(), "not rotated");
}

backend_test!(rule_6_a_correct_current_password_is_verified_and_renews_authenticated_at);
async fn rule_6_a_correct_current_password_is_verified_and_renews_authenticated_at(
    backend: Backend,
) {
    let app = spawn_app(&backend).await;
    let (mut browser, user_id) = app.signed_up("me@example.com").await;
    let (_, authenticated_before, _) = app
        .stored_session(browser.session.as_deref().unwrap())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let verifications = app.hasher.verification_count();

    let response = browser
        .update_user(
            &user_id,
            &json!({"email":"new@example.com","current_password": PASSWORD}),
        )
        .await;

    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(app.hasher.verification_count(), verifications + 1);
    let (_, authenticated_after, _) = app
        .stored_session(browser.session.as_deref().unwrap())
        .await
        .unwrap();
    assert!(authenticated_after > authenticated_before);
}

backend_test!(rule_7_an_email_of_another_user_is_409_and_changes_nothing);
async fn rule_7_an_email_of_another_user_is_409_and_changes_nothing(backend: Backend) {
    let app = spawn_app(&backend).await;
    app.signed_up("taken@example.com").await;
    let (mut browser, user_id) = app.signed_up("me@example.com").await;
    let hash_before = app.stored_password_hash(&user_id).await;
    let token = browser.session.clone().unwrap();

    let response = browser
        .update_user(
            &user_id,
            &json!({"email":"Taken@Example.com","password":"password99"}),
        )
        .await;

    response.assert_error(409, "A user with this email already exists");
    assert_eq!(
        app.stored_email(&user_id).await.as_deref(),
        Some("me@example.com")
    );
    assert_eq!(
        app.stored_password_hash(&user_id).await,
        hash_before,
        "neither change applied"
    );
    assert!(app.stored_session(&token).await.is_some(), "not rotated");
    assert_eq!(browser.head("/api/auth/check").await.status, 200);
}

backend_test!(rule_7_setting_the_own_current_email_again_succeeds_and_rotates);
async fn rule_7_setting_the_own_current_email_again_succeeds_and_rotates(backend: Backend) {
    let app = spawn_app(&backend).await;
    let (mut browser, user_id) = app.signed_up("same@example.com").await;
    let old_token = browser.session.clone().unwrap();

    let response = browser
        .update_user(&user_id, &json!({"email":"SAME@example.com"}))
        .await;

    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.body["user"]["primary_email"], "same@example.com");
    assert_ne!(browser.session.as_deref(), Some(old_token.as_str()));
    assert!(app.stored_session(&old_token).await.is_none());
}
