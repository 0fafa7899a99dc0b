//! Connection hardening: slow heads are cut, idle connections closed, slow
//! requests answered 408, and the number of open connections capped.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::backend::Backend;
use crate::helpers::spawn_app_with;

/// Reads until the server closes the connection or `limit` passes; true if it closed.
async fn closed_by_server_within(stream: &mut TcpStream, limit: Duration) -> bool {
    let mut buffer = [0_u8; 4096];
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buffer)).await {
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => {}
            Err(_) => return false,
        }
    }
}

backend_test!(a_slowloris_client_is_cut_off_while_normal_requests_are_answered);
async fn a_slowloris_client_is_cut_off_while_normal_requests_are_answered(backend: Backend) {
    let app = spawn_app_with(&backend, &["--header-read-timeout", "2s"]).await;
    let mut slow = TcpStream::connect(app.address).await.unwrap();
    let head = b"GET /health HTTP/1.1\r\nHost: localhost\r\nX-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
    let started = Instant::now();

    let mut cut_off_after = None;
    for byte in head.iter().cycle().take(30) {
        if slow.write_all(&[*byte]).await.is_err() {
            cut_off_after = Some(started.elapsed());
            break;
        }
        let health = app.browser().get("/health").await;
        assert_eq!(health.status, 200, "normal requests keep being answered");
        if closed_by_server_within(&mut slow, Duration::from_secs(1)).await {
            cut_off_after = Some(started.elapsed());
            break;
        }
    }

    let cut_off_after = cut_off_after.expect("the slow client was cut off");
    assert!(
        cut_off_after >= Duration::from_millis(1_900),
        "not before the timeout: {cut_off_after:?}"
    );
    assert!(
        cut_off_after < Duration::from_secs(20),
        "within 10x the timeout: {cut_off_after:?}"
    );
}

backend_test!(a_connection_that_says_nothing_is_closed_after_the_header_read_timeout);
async fn a_connection_that_says_nothing_is_closed_after_the_header_read_timeout(backend: Backend) {
    let app = spawn_app_with(&backend, &["--header-read-timeout", "1s"]).await;
    let mut silent = TcpStream::connect(app.address).await.unwrap();

    assert!(closed_by_server_within(&mut silent, Duration::from_secs(10)).await);
}

backend_test!(an_idle_keep_alive_connection_is_closed_after_the_idle_timeout);
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout(backend: Backend) {
    let app = spawn_app_with(
        &backend,
        &["--idle-timeout", "1s", "--header-read-timeout", "30s"],
    )
    .await;
    let mut client = TcpStream::connect(app.address).await.unwrap();
    client
        .write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut buffer = [0_u8; 4096];
    let read = client.read(&mut buffer).await.unwrap();
    assert!(String::from_utf8_lossy(&buffer[..read]).starts_with("HTTP/1.1 200"));
    let idle_since = Instant::now();

    assert!(closed_by_server_within(&mut client, Duration::from_secs(10)).await);
    assert!(
        idle_since.elapsed() >= Duration::from_millis(900),
        "{:?}",
        idle_since.elapsed()
    );
}

backend_test!(a_keep_alive_connection_in_use_stays_open);
async fn a_keep_alive_connection_in_use_stays_open(backend: Backend) {
    let app = spawn_app_with(
        &backend,
        &["--idle-timeout", "1s", "--header-read-timeout", "1s"],
    )
    .await;
    let mut client = TcpStream::connect(app.address).await.unwrap();
    let mut buffer = [0_u8; 4096];

    for _ in 0..6 {
        client
            .write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .await
            .unwrap();
        let read = client.read(&mut buffer).await.unwrap();
        assert!(String::from_utf8_lossy(&buffer[..read]).starts_with("HTTP/1.1 200"));
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
}

backend_test!(a_body_that_trickles_past_the_request_timeout_gets_408);
async fn a_body_that_trickles_past_the_request_timeout_gets_408(backend: Backend) {
    let app = spawn_app_with(&backend, &["--request-timeout", "1s"]).await;
    let mut client = TcpStream::connect(app.address).await.unwrap();
    client
        .write_all(
            b"POST /api/auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
              Content-Length: 100\r\n\r\n{\"email\":",
        )
        .await
        .unwrap();

    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), client.read_to_end(&mut answer)).await;

    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.contains(r#""message":"Request Timeout""#),
        "{answer}"
    );
}

backend_test!(past_the_connection_cap_new_clients_wait_until_a_slot_frees);
async fn past_the_connection_cap_new_clients_wait_until_a_slot_frees(backend: Backend) {
    let app = spawn_app_with(
        &backend,
        &["--max-connections", "2", "--header-read-timeout", "30s"],
    )
    .await;
    let first = TcpStream::connect(app.address).await.unwrap();
    let second = TcpStream::connect(app.address).await.unwrap();
    // Let the server accept both before the third arrives.
    tokio::time::sleep(Duration::from_millis(200)).await;

    let url = app.url("/health");
    let third = tokio::spawn(async move { reqwest::get(url).await.map(|r| r.status().as_u16()) });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !third.is_finished(),
        "the third connection waits while two are open"
    );

    drop(first);
    let status = tokio::time::timeout(Duration::from_secs(10), third).await;
    assert_eq!(
        status
            .expect("answered once a slot freed")
            .unwrap()
            .unwrap(),
        200
    );
    drop(second);
}
