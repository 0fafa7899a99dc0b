//! The first login for an unknown email costs what every later one does:
//! the dummy hash it is checked against is made at start, so timing tells
//! neither that the email is unknown nor that the server just started.

use std::time::{Duration, Instant};

use crate::backend::Backend;
use crate::helpers::spawn_app_with;

/// Real Argon2 cost (the default's), so that one hash more is far above
/// the noise of a loopback request.
const REAL_ARGON2: [&str; 4] = ["--argon2-memory-kib", "19456", "--argon2-iterations", "2"];
/// Fresh servers whose first login is timed: a busy machine only ever
/// makes a login slower, so the fastest first login of a few is what the
/// server itself costs.
const SERVERS: usize = 3;
const LATER_LOGINS: usize = 8;

/// The time of each unknown-email login on a fresh server, the first one first.
async fn unknown_email_logins() -> Vec<Duration> {
    let app = spawn_app_with(&Backend::Sqlite, &REAL_ARGON2).await;
    // A request that needs no hash, so that the first login is not also the
    // first request (opening a read connection and the like).
    assert_eq!(app.browser().get("/api/auth/session").await.status, 401);
    let mut took = Vec::new();
    for attempt in 0..=LATER_LOGINS {
        let mut browser = app.browser();
        let email = format!("unknown{attempt}@example.com");
        let started = Instant::now();
        let answer = browser.login(&email, "some password").await;
        took.push(started.elapsed());
        assert_eq!(answer.status, 401, "{}", answer.text);
    }
    took
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_unknown_email_login_takes_as_long_as_the_later_ones() {
    let mut firsts = Vec::new();
    let mut later = Vec::new();
    for _ in 0..SERVERS {
        let took = unknown_email_logins().await;
        firsts.push(took[0]);
        later.extend_from_slice(&took[1..]);
    }
    let fastest_first = firsts.iter().min().copied().unwrap_or_default();
    later.sort_unstable();
    let median = later[later.len() / 2];
    // Made on first use, the dummy hash made every first login several
    // times slower than the rest (342 ms against 36 ms).
    assert!(
        fastest_first.as_secs_f64() <= 1.5 * median.as_secs_f64(),
        "the fastest first unknown-email login took {fastest_first:?} against a median of {median:?} (firsts {firsts:?}, later {later:?})"
    );
}
