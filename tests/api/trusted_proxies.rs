//! `X-Forwarded-For` is believed only from the proxies named by
//! `--trusted-proxies` (loopback by default with `--trust-proxy`): a client
//! that reaches the service directly cannot pick its rate-limit bucket, and
//! a hop that is not an address counts against the peer.

use serde_json::json;

use crate::backend::Backend;
use crate::helpers::{TestApp, spawn_app_with};

/// A failed login for a new email each time, claiming to come from `forwarded`.
async fn login_forwarded_for(app: &TestApp, attempt: usize, forwarded: &str) -> u16 {
    let mut browser = app.browser();
    let request = browser
        .request(reqwest::Method::POST, "/api/auth/login")
        .header("x-forwarded-for", forwarded)
        .json(&json!({ "email": format!("nobody{attempt}@example.com"), "password": "whatever" }));
    browser.send(request).await.status
}

backend_test!(a_forged_forwarded_for_from_an_untrusted_peer_is_ignored);
async fn a_forged_forwarded_for_from_an_untrusted_peer_is_ignored(backend: Backend) {
    // The tests connect from 127.0.0.1, outside the trusted network.
    let app = spawn_app_with(
        &backend,
        &[
            "--trust-proxy",
            "1",
            "--trusted-proxies",
            "10.0.0.0/8",
            "--login-rate-limit",
            "2/1m",
        ],
    )
    .await;

    let mut statuses = Vec::new();
    for attempt in 0..3 {
        let forged = format!("198.51.100.{attempt}");
        statuses.push(login_forwarded_for(&app, attempt, &forged).await);
    }

    assert_eq!(
        statuses,
        [401, 401, 429],
        "every forged address shares the peer's bucket"
    );
}

backend_test!(a_loopback_proxy_is_trusted_by_default_and_an_unparsable_hop_counts_as_the_peer);
async fn a_loopback_proxy_is_trusted_by_default_and_an_unparsable_hop_counts_as_the_peer(
    backend: Backend,
) {
    let app = spawn_app_with(
        &backend,
        &["--trust-proxy", "1", "--login-rate-limit", "2/1m"],
    )
    .await;

    for attempt in 0..3 {
        let client = format!("198.51.100.{attempt}");
        assert_eq!(
            login_forwarded_for(&app, attempt, &client).await,
            401,
            "each forwarded client has its own bucket"
        );
    }
    let garbage: Vec<u16> = {
        let mut statuses = Vec::new();
        for attempt in 10..13 {
            statuses.push(login_forwarded_for(&app, attempt, "unknown").await);
        }
        statuses
    };
    assert_eq!(
        garbage,
        [401, 401, 429],
        "unparsable hops share the peer's bucket"
    );
    assert_eq!(
        login_forwarded_for(&app, 20, "203.0.113.5").await,
        401,
        "and not anyone else's"
    );
}

#[test]
fn trusted_proxies_without_trust_proxy_is_refused_at_start() {
    let config = crate::helpers::config("sqlite://unused.db", &["--trusted-proxies", "10.0.0.0/8"]);
    let err = config.validate().expect_err("refused");
    assert_eq!(err.flag, "--trusted-proxies");
}
