//! `neptun-accounts events`: the operator's view of account histories, and
//! the events the admin commands themselves leave.

use serde_json::Value;

use crate::admin::{admin, admin_json};
use crate::backend::Backend;
use crate::helpers::{Browser, PASSWORD};
use crate::process::ServerProcess;

fn types(document: &Value) -> Vec<&str> {
    document["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|event| event["type"].as_str().expect("type"))
        .collect()
}

backend_test!(events_lists_histories_by_user_type_and_age);
async fn events_lists_histories_by_user_type_and_age(backend: Backend) {
    let database = backend.fresh_database().await;
    let server = ServerProcess::start(&database.url(), &[]);
    for email in ["watched@example.com", "other@example.com"] {
        let mut browser = Browser::new(&server.base_url());
        assert_eq!(browser.sign_up(email, PASSWORD).await.status, 200);
    }
    let mut attacker = Browser::new(&server.base_url());
    assert_eq!(
        attacker.login("watched@example.com", "guess").await.status,
        401
    );

    let all = admin_json(&database, &["events"], "");
    assert_eq!(types(&all), ["login_failed", "sign_up", "sign_up"]);
    let watched = admin_json(&database, &["events", "--user", "watched@example.com"], "");
    assert_eq!(types(&watched), ["login_failed", "sign_up"]);
    let failures = admin_json(&database, &["events", "--type", "login_failed"], "");
    assert_eq!(types(&failures), ["login_failed"]);
    assert!(failures["events"][0]["user_id"].is_string());
    let recent = admin_json(&database, &["events", "--since", "1h"], "");
    assert_eq!(types(&recent).len(), 3);
    let future = admin_json(&database, &["events", "--since", "2999-01-01"], "");
    assert_eq!(types(&future).len(), 0);

    let human = admin(&database, &["events", "--user", "watched@example.com"], "");
    let text = String::from_utf8_lossy(&human.stdout).into_owned();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("at") && lines[0].contains("type"),
        "{text}"
    );
    assert!(
        lines[1].contains("login_failed") && lines[1].contains("127.0.0.0/24"),
        "{text}"
    );

    let unknown = admin(&database, &["events", "--type", "lunch"], "");
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("not an event type"));
    let bad_since = admin(&database, &["events", "--since", "yesterday-ish"], "");
    assert_eq!(bad_since.status.code(), Some(2));
}

backend_test!(admin_changes_are_recorded_as_the_admins);
async fn admin_changes_are_recorded_as_the_admins(backend: Backend) {
    let database = backend.fresh_database().await;
    let server = ServerProcess::start(&database.url(), &[]);
    let mut browser = Browser::new(&server.base_url());
    assert_eq!(
        browser
            .sign_up("managed@example.com", PASSWORD)
            .await
            .status,
        200
    );

    admin_json(
        &database,
        &["user", "set-password", "managed@example.com"],
        "a fresh passphrase\n",
    );
    admin_json(
        &database,
        &[
            "user",
            "set-email",
            "managed@example.com",
            "renamed@example.com",
        ],
        "",
    );
    let mut again = Browser::new(&server.base_url());
    assert_eq!(
        again
            .login("renamed@example.com", "a fresh passphrase")
            .await
            .status,
        200
    );
    admin_json(
        &database,
        &["user", "revoke-sessions", "renamed@example.com"],
        "",
    );

    let history = admin_json(&database, &["events", "--user", "renamed@example.com"], "");
    assert_eq!(
        types(&history),
        [
            "session_ended",
            "login",
            "email_changed",
            "password_changed",
            "sign_up"
        ]
    );
    let events = history["events"].as_array().expect("events");
    assert_eq!(events[0]["detail"]["by"], "admin");
    assert_eq!(events[2]["detail"]["old"], "managed@example.com");
    assert_eq!(events[3]["detail"]["by"], "admin");
    assert!(!history.to_string().contains("a fresh passphrase"));
}
