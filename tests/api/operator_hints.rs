//! What the operator reads in the log when a newcomer trips over a default:
//! a 429 names the limit and the setting that changes it, and a start with
//! a `Secure` cookie and no https public URL says how plain-http clients
//! keep their cookie.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::{Browser, PASSWORD};
use crate::process::ServerProcess;

/// The first JSON log line of `server` that `wanted` accepts, waiting a
/// little for lines written after the response.
fn log_entry(server: &ServerProcess, wanted: impl Fn(&Value) -> bool) -> Option<Value> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let found = server
            .log()
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .find(|entry| wanted(entry));
        if found.is_some() || Instant::now() > deadline {
            return found;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn message(entry: &Value) -> &str {
    entry["fields"]["message"].as_str().unwrap_or_default()
}

fn sqlite_url(folder: &tempfile::TempDir) -> String {
    format!("sqlite://{}", folder.path().join("hints.db").display())
}

#[tokio::test]
async fn a_per_address_429_logs_the_limit_and_its_setting_at_warn() {
    let folder = tempfile::tempdir().expect("folder");
    let server = ServerProcess::start(&sqlite_url(&folder), &["--sign-up-rate-limit", "1/10m"]);
    let mut browser = Browser::new(&server.base_url());
    assert_eq!(
        browser.sign_up("one@example.com", PASSWORD).await.status,
        200
    );
    assert_eq!(browser.logout().await.status, 200);
    let refused = browser.sign_up("two@example.com", PASSWORD).await;
    assert_eq!(refused.status, 429);

    let entry = log_entry(&server, |entry| {
        entry["level"] == "WARN" && message(entry).contains("rate limit reached")
    })
    .unwrap_or_else(|| panic!("no warn line for the 429 in {}", server.log()));
    assert_eq!(entry["fields"]["setting"], "--sign-up-rate-limit");
    assert_eq!(entry["fields"]["quota"], "1/10m");
    assert!(message(&entry).contains("--rate-limits off"), "{entry}");
}

#[tokio::test]
async fn a_throttled_account_logs_why_at_warn() {
    let folder = tempfile::tempdir().expect("folder");
    let server = ServerProcess::start(&sqlite_url(&folder), &[]);
    let mut browser = Browser::new(&server.base_url());
    assert_eq!(
        browser.sign_up("held@example.com", PASSWORD).await.status,
        200
    );
    assert_eq!(browser.logout().await.status, 200);
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(
            browser
                .login("held@example.com", "wrong password")
                .await
                .status,
        );
    }
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429]);

    let entry = log_entry(&server, |entry| {
        entry["level"] == "WARN" && entry["fields"]["limit"] == "per-account password failures"
    })
    .unwrap_or_else(|| panic!("no warn line for the throttle in {}", server.log()));
    assert!(
        message(&entry).contains("5 failed password checks"),
        "{entry}"
    );
}

fn cookie_hint(server: &ServerProcess) -> Option<Value> {
    log_entry(server, |entry| {
        message(entry).contains("--cookie-secure false")
    })
}

#[test]
fn a_secure_cookie_without_an_https_public_url_logs_a_hint_at_start() {
    let folder = tempfile::tempdir().expect("folder");
    let url = sqlite_url(&folder);
    let secure = ServerProcess::start(&url, &["--cookie-secure", "true"]);
    let hint = cookie_hint(&secure).expect("a hint line");
    assert_eq!(hint["level"], "INFO");
    drop(secure);

    let behind_tls = ServerProcess::start(
        &url,
        &[
            "--cookie-secure",
            "true",
            "--public-url",
            "https://accounts.example.com",
        ],
    );
    let plain = ServerProcess::start(&url, &["--cookie-secure", "false"]);
    // Both have logged "listening" by now, so the hint would be there.
    assert!(
        cookie_hint_now(&behind_tls).is_none(),
        "{}",
        behind_tls.log()
    );
    assert!(cookie_hint_now(&plain).is_none(), "{}", plain.log());
}

fn cookie_hint_now(server: &ServerProcess) -> Option<String> {
    server
        .log()
        .lines()
        .find(|line| line.contains("--cookie-secure false"))
        .map(str::to_owned)
}
