//! Nothing secret in the logs at any level: the whole log of the binary at
//! `RUST_LOG=trace` (every target) over sign-up → login → PATCH → logout.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use serde_json::json;
use sha2::{Digest as _, Sha256};

use crate::backend::Backend;
use crate::helpers::{Browser, TestResponse};
use crate::process::ServerProcess;

const FIRST_PASSWORD: &str = "first secret passphrase";
const SECOND_PASSWORD: &str = "second secret passphrase";

fn token_of(response: &TestResponse) -> String {
    response
        .session_cookie()
        .map(|cookie| cookie.value().to_owned())
        .filter(|token| !token.is_empty())
        .expect("a session token")
}

/// The ways a token could leak: as sent, and its SHA-256 in hex, base64 or
/// as bytes.
fn forms_of(token: &str) -> Vec<String> {
    let digest = Sha256::digest(token.as_bytes());
    let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    // As a byte array, the way a driver's debug output would print it.
    let bytes = format!("{:?}", digest.as_slice());
    let mut forms = vec![token.to_owned(), hex.to_uppercase(), hex, bytes];
    for engine in [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD] {
        forms.push(engine.encode(digest));
    }
    forms
}

backend_test!(the_trace_log_of_a_whole_session_holds_no_secret);
async fn the_trace_log_of_a_whole_session_holds_no_secret(backend: Backend) {
    let database = backend.fresh_database().await;
    let server = ServerProcess::start_logging(&database.url(), &[], "trace");
    let mut secrets = vec![FIRST_PASSWORD.to_owned(), SECOND_PASSWORD.to_owned()];

    let mut first = Browser::new(&server.base_url());
    let signed_up = first.sign_up("secret@example.com", FIRST_PASSWORD).await;
    assert_eq!(signed_up.status, 200);
    secrets.extend(forms_of(&token_of(&signed_up)));
    let user_id = first.user_id().await;

    let mut second = Browser::new(&server.base_url());
    let logged_in = second.login("secret@example.com", FIRST_PASSWORD).await;
    assert_eq!(logged_in.status, 200);
    secrets.extend(forms_of(&token_of(&logged_in)));

    let body = json!({"email": "secret2@example.com", "password": SECOND_PASSWORD, "current_password": FIRST_PASSWORD});
    let updated = second.update_user(&user_id, &body).await;
    assert_eq!(updated.status, 200, "{}", updated.text);
    secrets.extend(forms_of(&token_of(&updated)));

    assert_eq!(second.logout().await.status, 200);
    let wrong = Browser::new(&server.base_url())
        .login("secret2@example.com", "a wrong guess at it")
        .await;
    assert_eq!(wrong.status, 401);
    secrets.push("a wrong guess at it".to_owned());

    // The log is written as requests are answered; give the reader a moment.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let log = server.log();
    assert!(
        log.contains(r#""level":"DEBUG""#),
        "the log really is below info level:\n{log}"
    );
    assert!(
        log.contains("/api/users/{user_id}"),
        "the requests themselves are logged:\n{log}"
    );
    for secret in &secrets {
        assert!(!log.contains(secret.as_str()), "the log holds {secret:?}");
    }
    assert!(!log.contains("$argon2"), "the log holds a password hash");
}

backend_test!(a_second_factor_leaves_no_secret_in_the_log_or_the_database);
async fn a_second_factor_leaves_no_secret_in_the_log_or_the_database(backend: Backend) {
    use crate::totp_codes::{base32_decode, code_at, enable_totp, second_factor};

    let database = backend.fresh_database().await;
    let server = ServerProcess::start_logging(&database.url(), &[], "trace");
    let mut owner = Browser::new(&server.base_url());
    let signed_up = owner.sign_up("totp@example.com", FIRST_PASSWORD).await;
    assert_eq!(signed_up.status, 200);
    let user_id = owner.user_id().await;
    let enabled = enable_totp(&mut owner, &user_id).await;

    let mut browser = Browser::new(&server.base_url());
    let asked = browser.login("totp@example.com", FIRST_PASSWORD).await;
    assert_eq!(asked.status, 401, "{}", asked.text);
    let challenge = asked.body["data"]["challenge_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let code = code_at(&enabled.secret, enabled.step);
    let body = json!({ "challenge_id": challenge, "code": code });
    assert_eq!(second_factor(&mut browser, &body).await.status, 200);
    let renew = format!("/api/users/{user_id}/totp/recovery-codes");
    let renewed = browser
        .post_json(&renew, &json!({ "code": enabled.recovery_codes[0] }))
        .await;
    assert_eq!(renewed.status, 200, "{}", renewed.text);

    let raw_secret = base32_decode(&enabled.secret);
    let hex: String = raw_secret
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    let mut secrets = vec![
        enabled.secret.clone(),
        enabled.secret.to_lowercase(),
        hex.clone(),
        format!("{:?}", raw_secret),
        challenge,
        code,
        code_at(&enabled.secret, enabled.step - 1),
    ];
    for recovery in enabled.recovery_codes.iter().chain(
        renewed.body["recovery_codes"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|code| code.as_str().map(str::to_owned))
            .collect::<Vec<_>>()
            .iter(),
    ) {
        secrets.push(recovery.clone());
        secrets.push(recovery.replace('-', ""));
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let log = server.log();
    assert!(
        log.contains("second-factor"),
        "the routes are logged:\n{log}"
    );
    for secret in &secrets {
        assert!(!log.contains(secret.as_str()), "the log holds {secret:?}");
    }

    let sealed = match backend {
        Backend::Sqlite => "SELECT lower(hex(sealed_secret)) FROM totp",
        Backend::Postgres(_) => "SELECT encode(sealed_secret, 'hex') FROM totp",
    };
    let stored = database.query_text(sealed, &[]).await.expect("a TOTP row");
    assert!(
        stored.len() > hex.len(),
        "sealed: nonce, ciphertext and tag"
    );
    assert!(!stored.contains(&hex), "the secret is stored in the clear");
    if let Backend::Sqlite = backend {
        server.kill();
        let folder = std::path::Path::new(database.url().trim_start_matches("sqlite://"))
            .parent()
            .expect("the database folder")
            .to_owned();
        for entry in std::fs::read_dir(folder).expect("the folder") {
            let bytes = std::fs::read(entry.expect("an entry").path()).expect("a file");
            let text = String::from_utf8_lossy(&bytes);
            assert!(!text.contains(&enabled.secret), "a file holds the secret");
            assert!(
                !bytes
                    .windows(raw_secret.len())
                    .any(|w| w == raw_secret.as_slice()),
                "a file holds the raw secret"
            );
        }
    }
}
