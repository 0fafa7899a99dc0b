//! Passkeys against bad input and the account's rules: each refusal is the
//! contract's answer with nothing stored; names, renaming and deleting;
//! the last way to sign in; recent authentication; off means 404.

use serde_json::{Value, json};

use crate::authenticator::{Device, PASSKEYS_ON, PUBLIC_URL};
use crate::backend::Backend;
use crate::helpers::{Browser, PASSWORD, TestApp, spawn_app, spawn_app_with};
use crate::passkeys::{
    add_passkey, passkey_app, registration_options, sign_in, sign_in_body, user_with_passkey,
};

/// Nothing of a passkey was stored: no row, no `passkey_added` event.
async fn assert_no_passkey_stored(app: &TestApp) {
    assert_eq!(app.count("SELECT COUNT(*) FROM passkeys").await, 0);
    let added = "SELECT COUNT(*) FROM events WHERE type = 'passkey_added'";
    assert_eq!(app.count(added).await, 0);
}

/// Options from the service, and an honest device's credential for them.
async fn fresh_registration(browser: &mut Browser, user_id: &str) -> (Value, Value) {
    let options = registration_options(browser, user_id).await;
    let credential = Device::new(PUBLIC_URL).create(&options.body).await;
    (options.body, credential)
}

backend_test!(a_bad_registration_is_refused_and_stores_nothing);
async fn a_bad_registration_is_refused_and_stores_nothing(backend: Backend) {
    let app = passkey_app(&backend).await;
    let (mut browser, user_id) = app.signed_up("bad@example.com").await;
    let path = format!("/api/users/{user_id}/passkeys");

    let not_json = browser
        .request(reqwest::Method::POST, &path)
        .header("content-type", "application/json")
        .body("{not json");
    browser
        .send(not_json)
        .await
        .assert_error(400, "Invalid JSON body.");

    // Each case on a challenge of its own, so that each fails for its own reason.
    for case in [
        "no challenge",
        "no credential",
        "credential not an object",
        "wrong type",
        "assertion shape",
        "forged origin",
        "foreign RP id",
        "stale challenge id",
    ] {
        let options = registration_options(&mut browser, &user_id).await.body;
        let mut challenge_id = options["challenge_id"].clone();
        let mut credential = Device::new(PUBLIC_URL).create(&options).await;
        match case {
            "no challenge" => challenge_id = Value::Null,
            "no credential" => credential = Value::Null,
            "credential not an object" => credential = json!("x"),
            "wrong type" => credential["type"] = json!("password"),
            "assertion shape" => {
                credential["response"] =
                    json!({"clientDataJSON": "AA", "authenticatorData": "AA", "signature": "AA"});
            }
            "forged origin" => {
                credential = Device::new("http://localhost:4000").create(&options).await;
            }
            "foreign RP id" => {
                let mut foreign = options.clone();
                foreign["publicKey"]["rp"]["id"] = json!("evil.example.com");
                credential = Device::new("https://evil.example.com")
                    .create(&foreign)
                    .await;
            }
            _ => challenge_id = json!("AAAAAAAAAAAAAAAAAAAAAA"),
        }
        let mut body = json!({ "challenge_id": challenge_id, "credential": credential });
        body.as_object_mut()
            .expect("object")
            .retain(|_, value| !value.is_null());
        let answer = browser.post_json(&path, &body).await;
        assert_eq!(answer.status, 400, "{case}: {}", answer.text);
        answer.assert_error(400, "Passkey verification failed");
    }

    let (options, credential) = fresh_registration(&mut browser, &user_id).await;
    app.database
        .execute("UPDATE webauthn_challenges SET expires_at = 0", &[])
        .await;
    let expired = json!({ "challenge_id": options["challenge_id"], "credential": credential });
    let answer = browser.post_json(&path, &expired).await;
    answer.assert_error(400, "Passkey verification failed");
    assert_no_passkey_stored(&app).await;
}

backend_test!(a_bad_sign_in_is_not_recognised_and_starts_no_session);
async fn a_bad_sign_in_is_not_recognised_and_starts_no_session(backend: Backend) {
    let app = passkey_app(&backend).await;
    let (mut owner, user_id, mut device) = user_with_passkey(&app, "sam@example.com").await;
    let sessions = app.count("SELECT COUNT(*) FROM sessions").await;
    let mut stranger = app.browser();
    let honest = sign_in_body(&mut stranger, &mut device).await;
    let mut forger = device.clone_to("http://localhost:4000");
    let forged_origin = sign_in_body(&mut stranger, &mut forger).await;
    let (options, registration) = fresh_registration(&mut owner, &user_id).await;
    let registration_as_sign_in =
        json!({ "challenge_id": options["challenge_id"], "credential": registration });
    let mut wrong_type = honest.clone();
    wrong_type["credential"]["type"] = json!("password");
    let mut unknown_credential = sign_in_body(&mut stranger, &mut device).await;
    unknown_credential["credential"]["rawId"] = json!("AAAAAAAAAAAAAAAAAAAAAA");
    unknown_credential["credential"]["id"] = json!("AAAAAAAAAAAAAAAAAAAAAA");

    for (case, body) in [
        (
            "no challenge",
            json!({ "credential": honest["credential"] }),
        ),
        (
            "stale challenge id",
            json!({ "challenge_id": "AAAAAAAAAAAAAAAAAAAAAA", "credential": honest["credential"] }),
        ),
        ("wrong type", wrong_type),
        ("a registration", registration_as_sign_in),
        ("forged origin", forged_origin),
        ("unknown credential", unknown_credential),
    ] {
        let answer = stranger.post_json("/api/auth/passkey", &body).await;
        assert_eq!(answer.status, 401, "{case}: {}", answer.text);
        answer.assert_error(401, "Passkey not recognised");
    }
    let not_json = stranger
        .request(reqwest::Method::POST, "/api/auth/passkey")
        .header("content-type", "application/json")
        .body("[");
    stranger
        .send(not_json)
        .await
        .assert_error(400, "Invalid JSON body.");

    let stale = sign_in_body(&mut stranger, &mut device).await;
    app.database
        .execute("UPDATE webauthn_challenges SET expires_at = 0", &[])
        .await;
    let answer = stranger.post_json("/api/auth/passkey", &stale).await;
    answer.assert_error(401, "Passkey not recognised");
    assert!(stranger.session.is_none());
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions").await, sessions);
    assert_eq!(app.count("SELECT COUNT(*) FROM password_failures").await, 0);
}

backend_test!(a_credential_registered_already_is_409_and_stored_once);
async fn a_credential_registered_already_is_409_and_stored_once(backend: Backend) {
    let app = passkey_app(&backend).await;
    let (mut browser, user_id) = app.signed_up("dup@example.com").await;
    let (options, credential) = fresh_registration(&mut browser, &user_id).await;
    // Another account holds this credential id already.
    let (_, other_id, _) = user_with_passkey(&app, "holder@example.com").await;
    let raw_id = credential["rawId"].as_str().expect("rawId");
    let mut body = json!({ "challenge_id": options["challenge_id"], "credential": credential });
    body["name"] = json!("Phone");
    // The holder's credential id becomes this one's (same bytes, via base64url).
    let sql = match backend {
        Backend::Sqlite => "UPDATE passkeys SET credential_id = unhex($1) WHERE user_id = $2",
        Backend::Postgres(_) => {
            "UPDATE passkeys SET credential_id = decode($1, 'hex') WHERE user_id = $2"
        }
    };
    let hex = base64url_to_hex(raw_id);
    assert_eq!(app.database.execute(sql, &[&hex, &other_id]).await, 1);

    let answer = browser
        .post_json(&format!("/api/users/{user_id}/passkeys"), &body)
        .await;

    answer.assert_error(409, "Passkey already registered");
    let mine = format!("SELECT COUNT(*) FROM passkeys WHERE user_id = '{user_id}'");
    assert_eq!(app.count(&mine).await, 0);
}

fn base64url_to_hex(text: &str) -> String {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .expect("base64url");
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

backend_test!(passkeys_are_named_renamed_and_deleted_by_their_owner_only);
async fn passkeys_are_named_renamed_and_deleted_by_their_owner_only(backend: Backend) {
    let app = passkey_app(&backend).await;
    let (mut browser, user_id, _device) = user_with_passkey(&app, "nia@example.com").await;
    let list = browser.get(&format!("/api/users/{user_id}/passkeys")).await;
    let passkey_id = list.body["passkeys"][0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(list.body["passkeys"][0]["name"], "Passkey", "no User-Agent");
    let path = format!("/api/users/{user_id}/passkeys/{passkey_id}");
    let (mut other, other_id) = app.signed_up("eve@example.com").await;

    for bad in [
        json!({}),
        json!({"name": ""}),
        json!({"name": "x".repeat(65)}),
        json!({"name": 5}),
    ] {
        let answer = browser.patch_json(&path, &bad).await;
        answer.assert_error(400, "Invalid body(?name, ?current_password).");
        assert_eq!(
            answer.body["data"]["issues"][0]["path"],
            json!(["name"]),
            "{bad}"
        );
    }
    let renamed = browser
        .patch_json(&path, &json!({"name": "Work laptop"}))
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    assert_eq!(renamed.body["passkey"]["name"], "Work laptop");
    let theirs = format!("/api/users/{other_id}/passkeys/{passkey_id}");
    other
        .patch_json(&theirs, &json!({"name": "mine"}))
        .await
        .assert_error(404, "Passkey not found");
    other
        .delete(&theirs)
        .await
        .assert_error(404, "Passkey not found");
    browser
        .delete(&format!("/api/users/{other_id}/passkeys/{passkey_id}"))
        .await
        .assert_error(404, "User not found");

    let deleted = browser.delete(&path).await;
    assert_eq!((deleted.status, deleted.body.clone()), (200, json!(true)));
    browser
        .delete(&path)
        .await
        .assert_error(404, "Passkey not found");
    let listed = browser.get(&format!("/api/users/{user_id}/passkeys")).await;
    assert_eq!(listed.body["passkeys"], json!([]));
    let removed = "SELECT COUNT(*) FROM events WHERE type = 'passkey_removed'";
    assert_eq!(app.count(removed).await, 1);
}

backend_test!(the_last_way_to_sign_in_cannot_be_removed);
async fn the_last_way_to_sign_in_cannot_be_removed(backend: Backend) {
    let app = passkey_app(&backend).await;
    let (mut browser, user_id, mut first) = user_with_passkey(&app, "only@example.com").await;
    let mut second_device = Device::new(PUBLIC_URL);
    let second = add_passkey(&mut browser, &user_id, &mut second_device).await;
    assert_eq!(second.status, 200, "{}", second.text);
    // A password-less account, as provider sign-in will make them.
    let cleared = app
        .database
        .execute(
            "UPDATE users SET password_hash = '' WHERE id = $1",
            &[&user_id],
        )
        .await;
    assert_eq!(cleared, 1);
    let ids: Vec<String> = browser
        .get(&format!("/api/users/{user_id}/passkeys"))
        .await
        .body["passkeys"]
        .as_array()
        .expect("list")
        .iter()
        .map(|passkey| passkey["id"].as_str().expect("id").to_owned())
        .collect();

    // Newest first: the second device's passkey, then the first's.
    let second_gone = browser
        .delete(&format!("/api/users/{user_id}/passkeys/{}", ids[0]))
        .await;
    let last = browser
        .delete(&format!("/api/users/{user_id}/passkeys/{}", ids[1]))
        .await;

    assert_eq!(
        second_gone.status, 200,
        "another passkey remains: {}",
        second_gone.text
    );
    last.assert_error(409, "Cannot remove the last way to sign in");
    assert_eq!(app.count("SELECT COUNT(*) FROM passkeys").await, 1);
    let mut signing_in = app.browser();
    assert_eq!(sign_in(&mut signing_in, &mut first).await.status, 200);
    let refused = sign_in(&mut app.browser(), &mut second_device).await;
    refused.assert_error(401, "Passkey not recognised");
}

backend_test!(adding_a_passkey_needs_recent_authentication);
async fn adding_a_passkey_needs_recent_authentication(backend: Backend) {
    let app = passkey_app(&backend).await;
    let (mut browser, user_id) = app.signed_up("old@example.com").await;
    app.database
        .execute("UPDATE sessions SET authenticated_at = 0", &[])
        .await;
    let path = format!("/api/users/{user_id}/passkeys/options");

    let stale = registration_options(&mut browser, &user_id).await;
    let wrong = browser
        .post_json(&path, &json!({"current_password": "not the password"}))
        .await;
    let right = browser
        .post_json(&path, &json!({"current_password": PASSWORD}))
        .await;

    stale.assert_error(403, "Recent authentication required");
    wrong.assert_error(400, "Invalid body(?name, ?current_password).");
    assert_eq!(
        wrong.body["data"]["issues"][0]["message"],
        "Current password is incorrect"
    );
    assert_eq!(right.status, 200, "{}", right.text);
    assert!(right.body["challenge_id"].is_string());
    assert_eq!(
        app.count("SELECT COUNT(*) FROM webauthn_challenges").await,
        1
    );
}

backend_test!(passkey_routes_are_404_unless_on_with_a_public_url);
async fn passkey_routes_are_404_unless_on_with_a_public_url(backend: Backend) {
    for app in [
        spawn_app(&backend).await,
        spawn_app_with(&backend, &["--passkeys", "on"]).await,
    ] {
        let (mut browser, user_id) = app.signed_up("off@example.com").await;
        let options = registration_options(&mut browser, &user_id).await;
        options.assert_error(404, "Not Found");
        let list = browser.get(&format!("/api/users/{user_id}/passkeys")).await;
        list.assert_error(404, "Not Found");
        let sign_in = app
            .browser()
            .post_json("/api/auth/passkey", &json!({}))
            .await;
        sign_in.assert_error(404, "Not Found");
        let document = browser.get("/api/openapi.json").await.body;
        let paths = document["paths"].as_object().expect("paths");
        assert!(
            paths.keys().all(|path| !path.contains("passkey")),
            "{paths:?}"
        );
    }
    let on = spawn_app_with(&backend, &PASSKEYS_ON).await;
    let document = on.browser().get("/api/openapi.json").await.body;
    assert!(document["paths"].get("/api/auth/passkey").is_some());
}

backend_test!(passkey_sign_in_has_a_per_address_limit_of_its_own);
async fn passkey_sign_in_has_a_per_address_limit_of_its_own(backend: Backend) {
    let mut args = PASSKEYS_ON.to_vec();
    args.extend(["--passkey-rate-limit", "2/1m"]);
    let app = spawn_app_with(&backend, &args).await;
    let mut browser = app.browser();
    for _ in 0..2 {
        let answer = browser.post_json("/api/auth/passkey", &json!({})).await;
        answer.assert_error(401, "Passkey not recognised");
    }
    let limited = browser.post_json("/api/auth/passkey", &json!({})).await;
    limited.assert_error(429, "Too many requests, retry later");
    assert!(limited.header("retry-after").is_some());
    let login = browser.login("nobody@example.com", PASSWORD).await;
    login.assert_error(401, "Invalid email or password");
}
