//! A real SMTP server for the tests, on a loopback port: it speaks enough
//! of RFC 5321 for a real client (the service's lettre transport) to
//! deliver, keeps every message, refuses recipients it is told to with a
//! permanent 550, and can be started on a port chosen beforehand (to play
//! a relay that comes up late).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// One delivered message.
#[derive(Clone, Debug)]
pub struct Received {
    pub to: Vec<String>,
    pub data: String,
}

impl Received {
    /// The decoded text/plain part.
    pub fn text(&self) -> String {
        mime_part(&self.data, "text/plain")
    }

    /// The decoded text/html part.
    pub fn html(&self) -> String {
        mime_part(&self.data, "text/html")
    }

    pub fn subject(&self) -> String {
        header(&self.data, "Subject").unwrap_or_default()
    }
}

#[derive(Default)]
struct Shared {
    messages: Vec<Received>,
    refused: Vec<String>,
}

/// The server; it stops when dropped.
pub struct SmtpServer {
    pub port: u16,
    shared: Arc<Mutex<Shared>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A free loopback port, for a server that starts later.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    listener.local_addr().expect("an address").port()
}

impl SmtpServer {
    pub async fn start() -> Self {
        Self::start_on(0).await
    }

    pub async fn start_on(port: u16) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("the SMTP port");
        let port = listener.local_addr().expect("an address").port();
        let shared = Arc::new(Mutex::new(Shared::default()));
        let accepted = Arc::clone(&shared);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(converse(stream, Arc::clone(&accepted)));
            }
        });
        Self { port, shared, task }
    }

    /// `smtp://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Recipients answered with a permanent 550 from now on.
    pub fn refuse(&self, address: &str) {
        self.shared
            .lock()
            .expect("smtp state")
            .refused
            .push(address.to_owned());
    }

    pub fn messages(&self) -> Vec<Received> {
        self.shared.lock().expect("smtp state").messages.clone()
    }

    /// Messages to `address` so far.
    pub fn to(&self, address: &str) -> Vec<Received> {
        self.messages()
            .into_iter()
            .filter(|message| message.to.iter().any(|to| to == address))
            .collect()
    }

    /// Waits (at most 20 s) until `address` has `count` messages; they.
    pub async fn wait_for(&self, address: &str, count: usize) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let messages = self.to(address);
            if messages.len() >= count {
                return messages;
            }
            assert!(
                Instant::now() < deadline,
                "{address} got {} of {count} mails in 20 s",
                messages.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn converse(stream: TcpStream, shared: Arc<Mutex<Shared>>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    let _ = write.write_all(b"220 neptun-test ESMTP\r\n").await;
    let mut recipients = Vec::new();
    while let Ok(Some(line)) = lines.next_line().await {
        let verb = line.split(' ').next().unwrap_or("").to_ascii_uppercase();
        let answer: String = match verb.as_str() {
            "EHLO" => "250-neptun-test\r\n250 8BITMIME".into(),
            "HELO" | "NOOP" => "250 OK".into(),
            "MAIL" => {
                recipients.clear();
                "250 OK".into()
            }
            "RSET" => {
                recipients.clear();
                "250 OK".into()
            }
            "RCPT" => {
                let address = line
                    .split_once('<')
                    .and_then(|(_, rest)| rest.split_once('>'))
                    .map_or_else(String::new, |(address, _)| address.to_owned());
                if shared
                    .lock()
                    .expect("smtp state")
                    .refused
                    .contains(&address)
                {
                    "550 5.1.1 no such mailbox".into()
                } else {
                    recipients.push(address);
                    "250 OK".into()
                }
            }
            "DATA" => {
                let _ = write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await;
                let mut data = String::new();
                while let Ok(Some(line)) = lines.next_line().await {
                    if line == "." {
                        break;
                    }
                    data.push_str(line.strip_prefix('.').unwrap_or(&line));
                    data.push_str("\r\n");
                }
                shared.lock().expect("smtp state").messages.push(Received {
                    to: std::mem::take(&mut recipients),
                    data,
                });
                "250 queued".into()
            }
            "QUIT" => {
                let _ = write.write_all(b"221 bye\r\n").await;
                return;
            }
            _ => "502 not implemented".into(),
        };
        if write
            .write_all(format!("{answer}\r\n").as_bytes())
            .await
            .is_err()
        {
            return;
        }
    }
}

fn header(block: &str, name: &str) -> Option<String> {
    let head = block.split("\r\n\r\n").next().unwrap_or("");
    let mut value: Option<String> = None;
    for line in head.split("\r\n") {
        if let Some(current) = value.as_mut() {
            if line.starts_with([' ', '\t']) {
                current.push_str(line.trim_start());
                continue;
            }
            break;
        }
        if let Some((key, rest)) = line.split_once(':')
            && key.eq_ignore_ascii_case(name)
        {
            value = Some(rest.trim().to_owned());
        }
    }
    value
}

/// The body of the first part of `content_type`, decoded.
fn mime_part(data: &str, content_type: &str) -> String {
    let boundary = header(data, "Content-Type")
        .and_then(|value| {
            value.split_once("boundary=").map(|(_, rest)| {
                rest.trim_matches('"')
                    .split('"')
                    .next()
                    .unwrap_or("")
                    .to_owned()
            })
        })
        .unwrap_or_default();
    let parts: Vec<&str> = if boundary.is_empty() {
        vec![data]
    } else {
        data.split(&format!("--{boundary}")).collect()
    };
    for part in parts {
        let part = part.trim_start_matches("\r\n");
        let kind = header(part, "Content-Type").unwrap_or_default();
        if !kind.starts_with(content_type) {
            continue;
        }
        let body = part.split_once("\r\n\r\n").map_or("", |(_, body)| body);
        return match header(part, "Content-Transfer-Encoding").as_deref() {
            Some("quoted-printable") => quoted_printable(body),
            Some("base64") => {
                let joined: String = body.split_whitespace().collect();
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(joined)
                    .unwrap_or_default();
                String::from_utf8_lossy(&bytes).into_owned()
            }
            _ => body.to_owned(),
        };
    }
    String::new()
}

fn quoted_printable(body: &str) -> String {
    let joined = body.replace("=\r\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'=' && index + 2 < bytes.len() + 1 {
            let hex =
                std::str::from_utf8(&bytes[index + 1..(index + 3).min(bytes.len())]).unwrap_or("");
            if let Ok(byte) = u8::from_str_radix(hex, 16) {
                out.push(byte);
                index += 3;
                continue;
            }
        }
        out.push(bytes[index]);
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
