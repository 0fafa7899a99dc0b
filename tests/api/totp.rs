//! Contract section 15, the account routes: turning TOTP on with a
//! confirming code (ten recovery codes, once), off with a code, renewing
//! the codes; recent authentication before any code; malformed codes; the
//! secret never stored in the clear; confirmation all or nothing.

use std::time::Duration;

use serde_json::json;

use crate::backend::Backend;
use crate::helpers::{PASSWORD, spawn_app, spawn_app_with};
use crate::totp_codes::{
    challenge_for, code_at, disable_totp, enable_totp, enrol, second_factor, step_with, totp_path,
    wrong_code,
};

async fn events_of(app: &crate::helpers::TestApp, kind: &str) -> i64 {
    app.count(&format!(
        "SELECT COUNT(*) FROM events WHERE type = '{kind}'"
    ))
    .await
}

backend_test!(turning_totp_on_takes_a_confirming_code_and_shows_ten_recovery_codes_once);
async fn turning_totp_on_takes_a_confirming_code_and_shows_ten_recovery_codes_once(
    backend: Backend,
) {
    let app = spawn_app(&backend).await;
    let (mut browser, user_id) = app.signed_up("tess@example.com").await;
    let step = step_with(15).await;
    let status_path = totp_path(&user_id, "");
    let status = browser.get(&status_path).await;
    assert_eq!(status.body, json!({ "enabled": false, "pending": false }));

    let enrolment = enrol(&mut browser, &user_id).await;
    assert_eq!(enrolment.status, 200, "{}", enrolment.text);
    let secret = enrolment.body["secret"].as_str().unwrap().to_owned();
    let uri = enrolment.body["otpauth_uri"].as_str().unwrap();
    assert!(
        uri.starts_with("otpauth://totp/neptun-accounts:tess%40example.com?"),
        "{uri}"
    );
    assert!(uri.contains(&format!("secret={secret}")), "{uri}");
    let svg = enrolment.body["qr_svg"].as_str().unwrap();
    assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"), "{svg}");
    assert_eq!(app.count("SELECT COUNT(*) FROM recovery_codes").await, 0);
    let confirm = totp_path(&user_id, "/confirm");

    let wrong = browser
        .post_json(&confirm, &json!({ "code": wrong_code(&secret, step) }))
        .await;
    wrong.assert_error(400, "Invalid code");
    assert_eq!(events_of(&app, "second_factor_failed").await, 1);
    let sql = "SELECT COUNT(*) FROM totp WHERE enabled_at IS NOT NULL";
    assert_eq!(app.count(sql).await, 0, "still pending");
    let status = browser.get(&status_path).await;
    assert_eq!(status.body, json!({ "enabled": false, "pending": true }));

    let confirmed = browser
        .post_json(&confirm, &json!({ "code": code_at(&secret, step) }))
        .await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.text);
    let codes = confirmed.body["recovery_codes"].as_array().unwrap();
    assert_eq!(codes.len(), 10);
    let unique: std::collections::HashSet<_> = codes.iter().collect();
    assert_eq!(unique.len(), 10);
    assert!(codes.iter().all(|code| code.as_str().unwrap().len() == 11));
    assert_eq!(app.count(sql).await, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM recovery_codes").await, 10);
    assert_eq!(events_of(&app, "totp_enabled").await, 1);
    let status = browser.get(&status_path).await;
    assert_eq!(status.body, json!({ "enabled": true, "pending": false }));

    enrol(&mut browser, &user_id)
        .await
        .assert_error(409, "TOTP already enabled");
    let again = browser
        .post_json(&confirm, &json!({ "code": code_at(&secret, step + 1) }))
        .await;
    again.assert_error(409, "TOTP not enabled");
    let listed = browser
        .get(&format!("/api/users/{user_id}/events?limit=10"))
        .await;
    let kinds: Vec<&str> = listed.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|event| event["type"].as_str())
        .collect();
    assert!(kinds.contains(&"totp_enabled"), "{kinds:?}");
    assert!(kinds.contains(&"second_factor_failed"), "{kinds:?}");
}

backend_test!(a_new_enrolment_replaces_the_pending_one);
async fn a_new_enrolment_replaces_the_pending_one(backend: Backend) {
    let app = spawn_app(&backend).await;
    let (mut browser, user_id) = app.signed_up("rhea@example.com").await;
    let step = step_with(10).await;
    let first = enrol(&mut browser, &user_id).await.body["secret"].clone();
    let second = enrol(&mut browser, &user_id).await.body["secret"].clone();
    // An optional body may be left out, but a JSON null is not an object.
    let request = browser
        .request(reqwest::Method::POST, &totp_path(&user_id, ""))
        .json(&serde_json::Value::Null);
    browser
        .send(request)
        .await
        .assert_error(400, "Invalid JSON body.");
    assert_ne!(first, second);
    assert_eq!(app.count("SELECT COUNT(*) FROM totp").await, 1);

    let confirm = totp_path(&user_id, "/confirm");
    let stale = browser
        .post_json(
            &confirm,
            &json!({ "code": code_at(first.as_str().unwrap(), step) }),
        )
        .await;
    stale.assert_error(400, "Invalid code");
    let fresh = browser
        .post_json(
            &confirm,
            &json!({ "code": code_at(second.as_str().unwrap(), step) }),
        )
        .await;
    assert_eq!(fresh.status, 200, "{}", fresh.text);
}

backend_test!(malformed_codes_are_400_with_an_issue_and_nothing_pending_is_409);
async fn malformed_codes_are_400_with_an_issue_and_nothing_pending_is_409(backend: Backend) {
    let app = spawn_app(&backend).await;
    let (mut browser, user_id) = app.signed_up("mal@example.com").await;
    let confirm = totp_path(&user_id, "/confirm");
    for body in [
        json!({}),
        json!({ "code": 123456 }),
        json!({ "code": "12345" }),
        json!({ "code": "12345a" }),
        json!({ "code": "abcde-fghij" }),
    ] {
        let answer = browser.post_json(&confirm, &body).await;
        answer.assert_error(400, "Invalid body(code, ?current_password).");
        let issue = &answer.body["data"]["issues"][0];
        assert_eq!(issue["path"], json!(["code"]), "{body}: {}", answer.text);
    }
    browser
        .post_json(&confirm, &json!({ "code": "123456" }))
        .await
        .assert_error(409, "TOTP not enabled");
    for path in ["", "/recovery-codes"] {
        let request = browser
            .request(
                if path.is_empty() {
                    reqwest::Method::DELETE
                } else {
                    reqwest::Method::POST
                },
                &totp_path(&user_id, path),
            )
            .json(&json!({ "code": "123456" }));
        browser
            .send(request)
            .await
            .assert_error(409, "TOTP not enabled");
    }
    let other = browser
        .post_json(
            "/api/users/someone-else/totp/confirm",
            &json!({"code": "1"}),
        )
        .await;
    other.assert_error(404, "User not found");
}

backend_test!(recent_authentication_is_checked_before_any_code);
async fn recent_authentication_is_checked_before_any_code(backend: Backend) {
    let app = spawn_app_with(&backend, &["--require-recent-auth", "3s"]).await;
    // Wait for a fresh step first: enable_totp would otherwise wait for one
    // after the sign-up, past the recent-authentication window.
    step_with(25).await;
    let (mut browser, user_id) = app.signed_up("old@example.com").await;
    let enabled = enable_totp(&mut browser, &user_id).await;
    tokio::time::sleep(Duration::from_millis(3100)).await;

    let stale = disable_totp(&mut browser, &user_id, &json!({ "code": "not a code" })).await;
    stale.assert_error(403, "Recent authentication required");
    let right_code = json!({ "code": code_at(&enabled.secret, enabled.step) });
    let stale_right = disable_totp(&mut browser, &user_id, &right_code).await;
    stale_right.assert_error(403, "Recent authentication required");
    assert_eq!(
        events_of(&app, "second_factor_failed").await,
        0,
        "no code checked"
    );

    let with_password = json!({ "code": "not a code", "current_password": PASSWORD });
    let malformed = disable_totp(&mut browser, &user_id, &with_password).await;
    malformed.assert_error(400, "Invalid body(code, ?current_password).");
    let proven = json!({ "code": right_code["code"], "current_password": PASSWORD });
    let off = disable_totp(&mut browser, &user_id, &proven).await;
    assert_eq!(off.status, 200, "{}", off.text);
    assert_eq!(off.body, json!(true));

    enrol(&mut browser, &user_id)
        .await
        .assert_error(403, "Recent authentication required");
    let request = browser
        .request(reqwest::Method::POST, &totp_path(&user_id, ""))
        .json(&json!({ "current_password": PASSWORD }));
    assert_eq!(browser.send(request).await.status, 200);
}

backend_test!(turning_totp_off_takes_a_code_and_removes_everything);
async fn turning_totp_off_takes_a_code_and_removes_everything(backend: Backend) {
    let app = spawn_app(&backend).await;
    let (mut browser, user_id) = app.signed_up("off@example.com").await;
    let enabled = enable_totp(&mut browser, &user_id).await;
    let wrong_body = json!({ "code": wrong_code(&enabled.secret, enabled.step) });
    let wrong = disable_totp(&mut browser, &user_id, &wrong_body).await;
    wrong.assert_error(400, "Invalid code");
    let used_body = json!({ "code": code_at(&enabled.secret, enabled.step - 1) });
    let used = disable_totp(&mut browser, &user_id, &used_body).await;
    used.assert_error(400, "Invalid code");
    assert_eq!(app.count("SELECT COUNT(*) FROM totp").await, 1);

    let recovery = json!({ "code": enabled.recovery_codes[3] });
    let off = disable_totp(&mut browser, &user_id, &recovery).await;
    assert_eq!(off.status, 200, "{}", off.text);
    assert_eq!(app.count("SELECT COUNT(*) FROM totp").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM recovery_codes").await, 0);
    assert_eq!(events_of(&app, "totp_disabled").await, 1);
    assert_eq!(events_of(&app, "recovery_code_used").await, 1);
    assert_eq!(events_of(&app, "second_factor_failed").await, 2);
    assert_eq!(
        app.logged_in("off@example.com").await.user_id().await,
        user_id
    );
}

backend_test!(renewing_recovery_codes_voids_the_old_ones);
async fn renewing_recovery_codes_voids_the_old_ones(backend: Backend) {
    let app = spawn_app(&backend).await;
    let (mut browser, user_id) = app.signed_up("renew@example.com").await;
    let enabled = enable_totp(&mut browser, &user_id).await;
    let renew = totp_path(&user_id, "/recovery-codes");

    let renewed = browser
        .post_json(
            &renew,
            &json!({ "code": code_at(&enabled.secret, enabled.step) }),
        )
        .await;
    assert_eq!(renewed.status, 200, "{}", renewed.text);
    let fresh: Vec<String> = renewed.body["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|code| code.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(fresh.len(), 10);
    assert!(
        fresh
            .iter()
            .all(|code| !enabled.recovery_codes.contains(code))
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM recovery_codes").await, 10);
    assert_eq!(events_of(&app, "recovery_codes_renewed").await, 1);

    let old = challenge_for(&app, "renew@example.com").await;
    let mut other = app.browser();
    let refused = second_factor(
        &mut other,
        &json!({ "challenge_id": old, "recovery_code": enabled.recovery_codes[0] }),
    )
    .await;
    refused.assert_error(401, "Invalid code");
    let again = browser
        .post_json(&renew, &json!({ "code": enabled.recovery_codes[1] }))
        .await;
    again.assert_error(400, "Invalid code");
    let signed_in = second_factor(
        &mut other,
        &json!({ "challenge_id": old, "recovery_code": fresh[0].to_uppercase() }),
    )
    .await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.text);
}

backend_test!(a_confirmation_that_cannot_store_its_codes_leaves_totp_pending);
async fn a_confirmation_that_cannot_store_its_codes_leaves_totp_pending(backend: Backend) {
    let app = spawn_app(&backend).await;
    let (mut browser, user_id) = app.signed_up("half@example.com").await;
    let step = step_with(10).await;
    let secret = enrol(&mut browser, &user_id).await.body["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    // The last write of the confirmation fails: everything before it in
    // the transaction must be undone with it.
    match backend {
        Backend::Sqlite => {
            app.database
                .execute(
                    "CREATE TRIGGER refuse_events BEFORE INSERT ON events
                     WHEN NEW.type = 'totp_enabled'
                     BEGIN SELECT RAISE(ABORT, 'refused by the test'); END",
                    &[],
                )
                .await;
        }
        Backend::Postgres(_) => {
            app.database
                .execute(
                    "CREATE FUNCTION refuse_event() RETURNS trigger LANGUAGE plpgsql AS
                     $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$",
                    &[],
                )
                .await;
            app.database
                .execute(
                    "CREATE TRIGGER refuse_events BEFORE INSERT ON events FOR EACH ROW
                     WHEN (NEW.type = 'totp_enabled') EXECUTE FUNCTION refuse_event()",
                    &[],
                )
                .await;
        }
    }
    let confirm = totp_path(&user_id, "/confirm");
    let failed = browser
        .post_json(&confirm, &json!({ "code": code_at(&secret, step) }))
        .await;
    failed.assert_error(500, "Internal Server Error");

    let enabled = "SELECT COUNT(*) FROM totp WHERE enabled_at IS NOT NULL";
    assert_eq!(app.count(enabled).await, 0, "not half enabled");
    assert_eq!(app.count("SELECT COUNT(*) FROM recovery_codes").await, 0);
    let last_step = "SELECT COUNT(*) FROM totp WHERE last_step IS NOT NULL";
    assert_eq!(app.count(last_step).await, 0, "the code was not spent");
}
