//! The built binary as a child process, for what only a real process shows:
//! startup under contention, crashes, several processes on one database.

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

pub const BINARY: &str = env!("CARGO_BIN_EXE_neptun-accounts");

/// A running `neptun-accounts serve`, killed when dropped.
pub struct ServerProcess {
    pub child: Child,
    pub address: SocketAddr,
    log: Arc<Mutex<String>>,
}

impl ServerProcess {
    /// Starts the binary on `database_url` and a free loopback port, with the
    /// test defaults (cheap Argon2, plain-http cookies), and waits until it listens.
    pub fn start(database_url: &str, extra: &[&str]) -> Self {
        Self::start_logging(database_url, extra, "info")
    }

    /// As [`ServerProcess::start`], logging at `rust_log` (JSON lines).
    pub fn start_logging(database_url: &str, extra: &[&str], rust_log: &str) -> Self {
        let url = database_url;
        let mut child = Command::new(BINARY)
            .args(["serve", "--listen", "127.0.0.1:0", "--database-url", url])
            .args(["--log-format", "json"])
            .args(crate::helpers::with_test_defaults(extra))
            .env("RUST_LOG", rust_log)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("binary starts");
        let stderr = child.stderr.take().expect("stderr piped");
        let (found, address) = mpsc::channel();
        let log = Arc::new(Mutex::new(String::new()));
        let kept = Arc::clone(&log);
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                {
                    let mut kept = kept.lock().expect("log");
                    kept.push_str(&line);
                    kept.push('\n');
                }
                let Ok(entry) = serde_json::from_str::<serde_json::Value>(&line) else {
                    continue;
                };
                if let Some(listening) = entry["fields"]["address"].as_str() {
                    let _ = found.send(listening.to_owned());
                }
            }
        });
        let Ok(address) = address.recv_timeout(Duration::from_secs(20)) else {
            // The log says why; without it a failed start is a bare exit status.
            let _ = child.kill();
            let status = child.wait();
            let _ = reader.join();
            let log = log.lock().expect("log").clone();
            panic!("the server did not start ({status:?}); its log:\n{log}");
        };
        Self {
            child,
            address: address.parse().expect("a socket address"),
            log,
        }
    }

    /// Everything the process has written to stderr so far.
    pub fn log(&self) -> String {
        self.log.lock().expect("log").clone()
    }

    /// Waits (up to 10 s) until the log holds `text`; whether it came.
    pub async fn log_shows(&self, text: &str) -> bool {
        for _ in 0..200 {
            if self.log().contains(text) {
                return true;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        false
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Ends the process at once, as a crash would.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
