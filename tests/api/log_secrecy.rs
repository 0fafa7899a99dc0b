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
