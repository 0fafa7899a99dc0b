//! The first login for an unknown email costs what every later one does:
//! the dummy hash it is checked against is made at start, so timing tells
//! neither that the email is unknown nor that the server just started.

use std::time::{Duration, Instant};

use crate::backend::Backend;
use crate::helpers::spawn_app_with;

/// Real Argon2 cost (the default's), so that one hash more is far above
/// the noise of a loopback request.
const REAL_ARGON2: [&str; 4] = ["--argon2-memory-kib", "19456", "--argon2-iterations", "2"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_unknown_email_login_takes_as_long_as_the_later_ones() {
    let app = spawn_app_with(&Backend::Sqlite, &REAL_ARGON2).await;
    // A request that needs no hash, so that the first login is not also the
    // first request (opening a read connection and the like).
    assert_eq!(app.browser().get("/api/auth/session").await.status, 401);

    let mut took = Vec::new();
    for attempt in 0..9 {
        let mut browser = app.browser();
        let email = format!("unknown{attempt}@example.com");
        let started = Instant::now();
        let answer = browser.login(&email, "some password").await;
        took.push(started.elapsed());
        assert_eq!(answer.status, 401, "{}", answer.text);
    }

    let first = took[0];
    let mut later: Vec<Duration> = took[1..].to_vec();
    later.sort_unstable();
    let median = later[later.len() / 2];
    assert!(
        first.as_secs_f64() <= 1.5 * median.as_secs_f64(),
        "the first unknown-email login took {first:?} against a median of {median:?} ({took:?})"
    );
}
