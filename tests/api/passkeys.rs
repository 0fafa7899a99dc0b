//! Passkeys end to end with a software authenticator (contract section
//! 13): registration from a recent session, sign-in without a password,
//! and the ceremonies' safety: single-use challenges bound to their
//! session, counters that must go up, any instance finishing a ceremony.

use serde_json::{Value, json};

use crate::authenticator::{Device, PASSKEYS_ON, PUBLIC_URL};
use crate::backend::Backend;
use crate::helpers::{Browser, TestApp, TestResponse, spawn_app_with, spawn_instance};

pub async fn passkey_app(backend: &Backend) -> TestApp {
    spawn_app_with(backend, &PASSKEYS_ON).await
}

/// Registration options for the browser's own account.
pub async fn registration_options(browser: &mut Browser, user_id: &str) -> TestResponse {
    let request = browser.request(
        reqwest::Method::POST,
        &format!("/api/users/{user_id}/passkeys/options"),
    );
    browser.send(request).await
}

/// Adds a passkey from `device` to the browser's account; the answer.
pub async fn add_passkey(
    browser: &mut Browser,
    user_id: &str,
    device: &mut Device,
) -> TestResponse {
    let options = registration_options(browser, user_id).await;
    assert_eq!(options.status, 200, "{}", options.text);
    let credential = device.create(&options.body).await;
    let body = json!({ "challenge_id": options.body["challenge_id"], "credential": credential });
    browser
        .post_json(&format!("/api/users/{user_id}/passkeys"), &body)
        .await
}

/// Sign-in options, then the device's answer to them: the sign-in body.
pub async fn sign_in_body(browser: &mut Browser, device: &mut Device) -> Value {
    let options = browser
        .send(browser.request(reqwest::Method::POST, "/api/auth/passkey/options"))
        .await;
    assert_eq!(options.status, 200, "{}", options.text);
    let credential = device.get(&options.body).await;
    json!({ "challenge_id": options.body["challenge_id"], "credential": credential })
}

pub async fn sign_in(browser: &mut Browser, device: &mut Device) -> TestResponse {
    let body = sign_in_body(browser, device).await;
    browser.post_json("/api/auth/passkey", &body).await
}

/// A signed-up user with one passkey on `device`.
pub async fn user_with_passkey(app: &TestApp, email: &str) -> (Browser, String, Device) {
    let (mut browser, user_id) = app.signed_up(email).await;
    let mut device = Device::new(PUBLIC_URL);
    let added = add_passkey(&mut browser, &user_id, &mut device).await;
    assert_eq!(added.status, 200, "{}", added.text);
    (browser, user_id, device)
}

backend_test!(a_registered_passkey_signs_in_as_a_login_does);
async fn a_registered_passkey_signs_in_as_a_login_does(backend: Backend) {
    let app = passkey_app(&backend).await;
    let (mut browser, user_id) = app.signed_up("pia@example.com").await;
    let mut device = Device::new(PUBLIC_URL);

    let options = registration_options(&mut browser, &user_id).await;
    assert_eq!(options.status, 200, "{}", options.text);
    let public_key = &options.body["publicKey"];
    assert_eq!(public_key["rp"]["id"], "localhost");
    assert_eq!(
        public_key["authenticatorSelection"]["residentKey"],
        "required"
    );
    assert_eq!(
        public_key["authenticatorSelection"]["userVerification"],
        "required"
    );
    let credential = device.create(&options.body).await;
    let added = browser
        .post_json(
            &format!("/api/users/{user_id}/passkeys"),
            &json!({ "challenge_id": options.body["challenge_id"], "credential": credential, "name": "Laptop" }),
        )
        .await;
    assert_eq!(added.status, 200, "{}", added.text);
    let passkey = &added.body["passkey"];
    assert_eq!(passkey["name"], "Laptop");
    assert!(passkey["created_at"].is_string() && passkey["last_used_at"].is_null());

    let listed = browser.get(&format!("/api/users/{user_id}/passkeys")).await;
    assert_eq!(listed.body["passkeys"], json!([passkey]));
    let again = registration_options(&mut browser, &user_id).await;
    let excluded = again.body["publicKey"]["excludeCredentials"]
        .as_array()
        .cloned();
    assert_eq!(
        excluded.map(|list| list.len()),
        Some(1),
        "the passkey is excluded: {}",
        again.text
    );

    let mut other = app.browser();
    let signed_in = sign_in(&mut other, &mut device).await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.text);
    assert_eq!(signed_in.body["user"]["id"], user_id.as_str());
    assert_eq!(signed_in.body["user"]["primary_email"], "pia@example.com");
    assert!(signed_in.body["loggedInAt"].is_string());
    let token = other.session.clone().expect("a session cookie");
    assert_eq!(other.user_id().await, user_id);
    let (created, authenticated, _) = app.stored_session(&token).await.expect("stored");
    assert_eq!(created, authenticated, "authenticated_at is the sign-in");

    let sql = format!("SELECT sign_count FROM passkeys WHERE user_id = '{user_id}'");
    assert!(app.count(&sql).await >= 1, "the counter is stored");
    let used = browser.get(&format!("/api/users/{user_id}/passkeys")).await;
    assert!(used.body["passkeys"][0]["last_used_at"].is_string());
    let events = browser.get(&format!("/api/users/{user_id}/events")).await;
    let kinds: Vec<(&str, &Value)> = events.body["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|event| (event["type"].as_str().unwrap_or_default(), &event["detail"]))
        .collect();
    assert_eq!(kinds[0], ("login", &json!({"method": "passkey"})));
    assert!(kinds.iter().any(|(kind, _)| *kind == "passkey_added"));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM password_failures").await,
        0,
        "the password throttle is untouched"
    );
}

backend_test!(a_signature_counter_that_does_not_go_up_is_refused);
async fn a_signature_counter_that_does_not_go_up_is_refused(backend: Backend) {
    let app = passkey_app(&backend).await;
    let (_, user_id, mut device) = user_with_passkey(&app, "cora@example.com").await;
    assert_eq!(sign_in(&mut app.browser(), &mut device).await.status, 200);
    let mut clone = device.clone_to(PUBLIC_URL);
    assert_eq!(sign_in(&mut app.browser(), &mut device).await.status, 200);
    let sql = format!("SELECT sign_count FROM passkeys WHERE user_id = '{user_id}'");
    let stored = app.count(&sql).await;

    let mut browser = app.browser();
    let refused = sign_in(&mut browser, &mut clone).await;

    refused.assert_error(401, "Passkey not recognised");
    assert!(browser.session.is_none());
    assert_eq!(app.count(&sql).await, stored, "the counter is kept");
}

backend_test!(a_used_challenge_is_refused_the_second_time);
async fn a_used_challenge_is_refused_the_second_time(backend: Backend) {
    let app = passkey_app(&backend).await;
    let (mut owner, user_id, mut device) = user_with_passkey(&app, "rex@example.com").await;
    let mut first = app.browser();
    let body = sign_in_body(&mut first, &mut device).await;
    assert_eq!(
        first.post_json("/api/auth/passkey", &body).await.status,
        200
    );

    let replayed = app.browser().post_json("/api/auth/passkey", &body).await;

    replayed.assert_error(401, "Passkey not recognised");
    let options = registration_options(&mut owner, &user_id).await;
    let credential = Device::new(PUBLIC_URL).create(&options.body).await;
    let registration =
        json!({ "challenge_id": options.body["challenge_id"], "credential": credential });
    let path = format!("/api/users/{user_id}/passkeys");
    assert_eq!(owner.post_json(&path, &registration).await.status, 200);
    owner
        .post_json(&path, &registration)
        .await
        .assert_error(400, "Passkey verification failed");
    assert_eq!(app.count("SELECT COUNT(*) FROM passkeys").await, 2);
}

backend_test!(a_registration_challenge_is_finished_only_by_the_session_that_began_it);
async fn a_registration_challenge_is_finished_only_by_the_session_that_began_it(backend: Backend) {
    let app = passkey_app(&backend).await;
    let (mut alice, alice_id) = app.signed_up("alice@example.com").await;
    let (mut mallory, mallory_id) = app.signed_up("mallory@example.com").await;
    let options = registration_options(&mut alice, &alice_id).await;
    let credential = Device::new(PUBLIC_URL).create(&options.body).await;
    let body = json!({ "challenge_id": options.body["challenge_id"], "credential": credential });

    let by_mallory = mallory
        .post_json(&format!("/api/users/{mallory_id}/passkeys"), &body)
        .await;
    let mut alice_elsewhere = app.logged_in("alice@example.com").await;
    let by_other_session = alice_elsewhere
        .post_json(&format!("/api/users/{alice_id}/passkeys"), &body)
        .await;

    by_mallory.assert_error(400, "Passkey verification failed");
    by_other_session.assert_error(400, "Passkey verification failed");
    assert_eq!(app.count("SELECT COUNT(*) FROM passkeys").await, 0);
    let by_alice = alice
        .post_json(&format!("/api/users/{alice_id}/passkeys"), &body)
        .await;
    assert_eq!(
        by_alice.status, 200,
        "still hers to finish: {}",
        by_alice.text
    );
}

postgres_test!(a_ceremony_begun_on_one_instance_finishes_on_another);
async fn a_ceremony_begun_on_one_instance_finishes_on_another(backend: Backend) {
    let app = passkey_app(&backend).await;
    let second = spawn_instance(&app.database.url(), &PASSKEYS_ON).await;
    let (mut first, user_id) = app.signed_up("ines@example.com").await;
    let mut device = Device::new(PUBLIC_URL);

    let options = registration_options(&mut first, &user_id).await;
    let credential = device.create(&options.body).await;
    let mut on_second = first.same_cookie_at(&second.base_url());
    let added = on_second
        .post_json(
            &format!("/api/users/{user_id}/passkeys"),
            &json!({ "challenge_id": options.body["challenge_id"], "credential": credential }),
        )
        .await;
    assert_eq!(added.status, 200, "{}", added.text);

    let mut signing_in = Browser::new(&second.base_url());
    let body = sign_in_body(&mut signing_in, &mut device).await;
    let signed_in = app.browser().post_json("/api/auth/passkey", &body).await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.text);
    let replayed = signing_in.post_json("/api/auth/passkey", &body).await;
    replayed.assert_error(401, "Passkey not recognised");
}

backend_test!(a_passkey_of_a_deleted_account_is_refused);
async fn a_passkey_of_a_deleted_account_is_refused(backend: Backend) {
    let app = passkey_app(&backend).await;
    let (mut browser, user_id, mut device) = user_with_passkey(&app, "gone@example.com").await;
    assert_eq!(
        browser
            .delete(&format!("/api/users/{user_id}"))
            .await
            .status,
        200
    );

    let mut stranger = app.browser();
    let refused = sign_in(&mut stranger, &mut device).await;

    refused.assert_error(401, "Passkey not recognised");
    assert!(stranger.session.is_none());
    assert_eq!(app.count("SELECT COUNT(*) FROM passkeys").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions").await, 0);
}

backend_test!(a_signed_in_browser_is_asked_to_log_out_first);
async fn a_signed_in_browser_is_asked_to_log_out_first(backend: Backend) {
    let app = passkey_app(&backend).await;
    let (mut browser, _, mut device) = user_with_passkey(&app, "twice@example.com").await;
    let body = sign_in_body(&mut app.browser(), &mut device).await;

    let answer = browser.post_json("/api/auth/passkey", &body).await;

    answer.assert_error(403, "Please log out first");
}
