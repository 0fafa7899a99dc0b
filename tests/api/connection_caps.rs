//! One client cannot take every connection: each address holds at most
//! `--max-connections-per-address`, and a connection that never says
//! anything is closed after the first-byte timeout.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpSocket, TcpStream};

use crate::backend::Backend;
use crate::helpers::spawn_app_with;

/// A connection to `server` from the loopback address `source`.
async fn connect_from(source: &str, server: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(format!("{source}:0").parse().expect("a socket address"))?;
    socket.connect(server).await
}

/// `GET /health` over `stream`; the status line's code.
async fn health_status(stream: &mut TcpStream) -> Option<u16> {
    let request = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    stream.write_all(request).await.ok()?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.ok()?;
    let text = String::from_utf8_lossy(&answer);
    text.split(' ').nth(1)?.parse().ok()
}

/// True once the server has closed `stream` (read gives 0 or an error).
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> bool {
    let mut buffer = [0_u8; 64];
    matches!(
        tokio::time::timeout(limit, stream.read(&mut buffer)).await,
        Ok(Ok(0) | Err(_))
    )
}

backend_test!(one_address_holding_a_hundred_idle_connections_does_not_lock_out_another);
async fn one_address_holding_a_hundred_idle_connections_does_not_lock_out_another(
    backend: Backend,
) {
    // Fewer slots in all than the crowd opens: without a per-address cap
    // the crowd alone would fill them.
    let app = spawn_app_with(
        &backend,
        &[
            "--max-connections",
            "80",
            "--max-connections-per-address",
            "16",
        ],
    )
    .await;
    let mut crowd = Vec::new();
    for _ in 0..100 {
        crowd.push(
            connect_from("127.0.0.1", app.address)
                .await
                .expect("connect"),
        );
    }

    let mut other = connect_from("127.0.0.2", app.address)
        .await
        .expect("another client connects");
    let status = tokio::time::timeout(Duration::from_secs(5), health_status(&mut other)).await;
    assert_eq!(status, Ok(Some(200)), "the other address is served");

    let mut closed = 0;
    for stream in &mut crowd {
        if closed_within(stream, Duration::from_millis(50)).await {
            closed += 1;
        }
    }
    assert!(
        closed >= 100 - 16,
        "only {closed} of the crowd's 100 connections were closed"
    );
}

backend_test!(a_connection_that_sends_nothing_is_closed_after_the_first_byte_timeout);
async fn a_connection_that_sends_nothing_is_closed_after_the_first_byte_timeout(backend: Backend) {
    let app = spawn_app_with(
        &backend,
        &[
            "--first-byte-timeout",
            "300ms",
            "--header-read-timeout",
            "30s",
        ],
    )
    .await;
    let mut silent = TcpStream::connect(app.address).await.expect("connect");
    let mut talking = TcpStream::connect(app.address).await.expect("connect");
    talking
        .write_all(b"GET /health HTTP/1.1\r\n")
        .await
        .expect("first bytes");
    let started = Instant::now();

    assert!(
        closed_within(&mut silent, Duration::from_secs(3)).await,
        "the silent connection is closed"
    );
    let closed_after = started.elapsed();
    assert!(
        closed_after >= Duration::from_millis(250),
        "not before the timeout: {closed_after:?}"
    );
    assert!(
        !closed_within(&mut talking, Duration::from_millis(500)).await,
        "a connection that has begun its request keeps the header-read timeout"
    );
}
