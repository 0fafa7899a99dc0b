//! Logging never blocks serving: with stderr a pipe nobody reads, the log
//! queue drops lines (and counts them) instead of stalling every request
//! that logs.

use std::process::Stdio;
use std::time::Duration;

use crate::backend::Backend;
use crate::spawned::{Killed, free_address, serve_args, under_umask, wait_until_healthy};

/// Requests enough to fill a pipe's buffer and the log queue many times
/// over at trace level.
const REQUESTS: usize = 4_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_stderr_does_not_stop_the_service_answering() {
    let database = Backend::Sqlite.fresh_database().await;
    let address = free_address();
    let metrics_address = free_address();
    let metrics = metrics_address.to_string();
    let args = serve_args(
        address,
        &database.url(),
        &["--log-format", "json", "--metrics-listen", &metrics],
    );
    let mut server = Killed(
        under_umask("077", &args.iter().map(String::as_str).collect::<Vec<_>>())
            .env("RUST_LOG", "trace")
            .stdout(Stdio::null())
            // Piped and never read: once its buffer is full, writes stall.
            .stderr(Stdio::piped())
            .spawn()
            .expect("server starts"),
    );
    wait_until_healthy(address, &mut server.0).await;

    let client = reqwest::Client::new();
    for request in 0..REQUESTS {
        let answer = client
            .get(format!("http://{address}/health"))
            .timeout(Duration::from_secs(5))
            .send()
            .await;
        assert!(
            answer.as_ref().is_ok_and(|answer| answer.status() == 200),
            "request {request} was not answered: {answer:?}"
        );
    }

    let scraped = client
        .get(format!("http://{metrics}/metrics"))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .expect("metrics answered")
        .text()
        .await
        .expect("metrics body");
    let dropped: f64 = scraped
        .lines()
        .find_map(|line| line.strip_prefix("neptun_log_lines_dropped_total "))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or_else(|| panic!("no dropped-lines counter in:\n{scraped}"));
    assert!(dropped > 0.0, "lines were dropped and counted");
}
