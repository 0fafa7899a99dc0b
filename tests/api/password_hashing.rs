use crate::backend::Backend;
use std::time::Duration;

use crate::helpers::{PASSWORD, spawn_app_with};

backend_test!(a_login_flood_gets_503_with_retry_after_while_session_checks_answer);
async fn a_login_flood_gets_503_with_retry_after_while_session_checks_answer(backend: Backend) {
    // One hashing thread, four waiting places, and a cost high enough (about
    // 0.2 s a verification, so that even a client slowed by a busy machine
    // sends faster than it drains) that 64 logins cannot all fit through.
    let app = spawn_app_with(
        &backend,
        &[
            "--hash-workers",
            "1",
            "--hash-queue",
            "4",
            "--argon2-memory-kib",
            "19456",
            "--argon2-iterations",
            "8",
            "--rate-limits",
            "off",
            // 65 clients from one address: more than the default cap of 64.
            "--max-connections-per-address",
            "128",
        ],
    )
    .await;
    let (mut checker, _) = app.signed_up("flood@example.com").await;

    let logins: Vec<_> = (0..64)
        .map(|n| {
            let mut browser = app.browser();
            tokio::spawn(async move {
                browser
                    .login(&format!("flood{n}@example.com"), PASSWORD)
                    .await
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let check = tokio::time::timeout(Duration::from_secs(5), checker.head("/api/auth/check")).await;

    let mut busy = 0;
    for login in logins {
        let response = login.await.expect("every login is answered");
        match response.status {
            401 => {}
            503 => {
                response.assert_error(503, "Server busy, retry later");
                let retry_after: u64 = response.header("retry-after").unwrap().parse().unwrap();
                assert!(retry_after >= 1);
                busy += 1;
            }
            other => panic!("unexpected status {other}: {}", response.text),
        }
    }
    assert!(busy >= 1, "a full queue answers 503");
    assert_eq!(
        check.expect("the check answered during the flood").status,
        200
    );
}

/// The flags' defaults and the constant the benchmark seeds with are one.
#[test]
fn the_server_hashes_at_the_default_cost_unless_told_otherwise() {
    use clap::Parser;
    use neptun_accounts::config::Config;
    use neptun_accounts::domain::password_hasher::HashingCost;

    #[derive(Parser)]
    struct Settings {
        #[command(flatten)]
        config: Config,
    }
    let config = Settings::parse_from(["neptun-accounts"]).config;

    let cost = HashingCost {
        memory_kib: config.argon2.argon2_memory_kib,
        iterations: config.argon2.argon2_iterations,
        parallelism: config.argon2.argon2_parallelism,
    };
    assert_eq!(cost, HashingCost::DEFAULT);
}
