//! The binary started by hand, for tests that need what `ServerProcess`
//! does not give: another umask, or a stderr nobody reads.

use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use crate::process::BINARY;

/// The binary with `args` (test defaults added to `serve`), run through
/// `sh` with `umask` set first, as an operator's shell would.
pub fn under_umask(umask: &str, args: &[&str]) -> Command {
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(format!("umask {umask}; exec \"$0\" \"$@\""))
        .arg(BINARY)
        .args(args);
    command
}

/// `serve` arguments on a free loopback port, with the test defaults.
pub fn serve_args(address: SocketAddr, database_url: &str, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = ["serve", "--listen", &address.to_string()]
        .into_iter()
        .chain(["--database-url", database_url])
        .map(str::to_owned)
        .collect();
    args.extend(
        crate::helpers::with_test_defaults(extra)
            .into_iter()
            .map(str::to_owned),
    );
    args
}

/// A loopback address with a port free a moment ago.
pub fn free_address() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("local address")
}

/// Waits until `GET /health` at `address` answers 200.
pub async fn wait_until_healthy(address: SocketAddr, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let client = reqwest::Client::new();
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the server ended at start: {status}");
        }
        let answer = client
            .get(format!("http://{address}/health"))
            .timeout(Duration::from_secs(1))
            .send()
            .await;
        if answer.is_ok_and(|answer| answer.status() == 200) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the server did not answer /health");
}

/// Kills the child when dropped.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
