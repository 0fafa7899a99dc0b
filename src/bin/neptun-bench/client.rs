//! A lean HTTP/1.1 keep-alive client for the load generator: it writes a
//! prepared request and reads one answer (status, the session cookie, the
//! body skipped by its length). Parsing is httparse's, the same parser the
//! server's hyper uses; keeping the client this thin leaves the load
//! generator's core free enough to saturate the server's.

use std::io;
use std::net::SocketAddr;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

const SESSION_COOKIE_PREFIX: &[u8] = b"neptun-session=";

/// What the load generator needs of an answer.
pub struct Answer {
    pub status: u16,
    /// The value of a `Set-Cookie: neptun-session=…` (empty when cleared).
    pub session_token: Option<String>,
}

/// One keep-alive connection.
pub struct HttpConnection {
    address: SocketAddr,
    stream: Option<TcpStream>,
    buffer: Vec<u8>,
}

impl HttpConnection {
    pub fn new(address: SocketAddr) -> Self {
        Self {
            address,
            stream: None,
            buffer: Vec::with_capacity(16 * 1024),
        }
    }

    /// Sends `request` (head and body, complete) and reads its answer.
    /// After an error the next call reconnects.
    pub async fn send(&mut self, request: &[u8], is_head: bool) -> io::Result<Answer> {
        let outcome = self.exchange(request, is_head).await;
        if outcome.is_err() {
            self.stream = None;
        }
        outcome
    }

    async fn exchange(&mut self, request: &[u8], is_head: bool) -> io::Result<Answer> {
        if self.stream.is_none() {
            let stream = TcpStream::connect(self.address).await?;
            stream.set_nodelay(true)?;
            self.stream = Some(stream);
            self.buffer.clear();
        }
        let Some(stream) = self.stream.as_mut() else {
            return Err(io::Error::other("no connection"));
        };
        stream.write_all(request).await?;
        loop {
            if let Some((answer, length, close)) = parse(&self.buffer, is_head)? {
                self.buffer.drain(..length);
                if close {
                    self.stream = None;
                }
                return Ok(answer);
            }
            if stream.read_buf(&mut self.buffer).await? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the server closed the connection",
                ));
            }
        }
    }
}

/// A complete answer at the start of `buffer`: the answer, its length in
/// bytes, and whether the server will close the connection.
fn parse(buffer: &[u8], is_head: bool) -> io::Result<Option<(Answer, usize, bool)>> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut response = httparse::Response::new(&mut headers);
    let head_length = match response.parse(buffer) {
        Ok(httparse::Status::Complete(length)) => length,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(err) => return Err(io::Error::new(io::ErrorKind::InvalidData, err)),
    };
    let mut body_length = 0_usize;
    let mut close = false;
    let mut session_token = None;
    for header in response.headers.iter() {
        if header.name.eq_ignore_ascii_case("content-length") {
            body_length = std::str::from_utf8(header.value)
                .ok()
                .and_then(|text| text.trim().parse().ok())
                .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "bad content-length"))?;
        } else if header.name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "chunked answers are not expected from this server",
            ));
        } else if header.name.eq_ignore_ascii_case("connection") {
            close = header.value.eq_ignore_ascii_case(b"close");
        } else if header.name.eq_ignore_ascii_case("set-cookie")
            && let Some(rest) = header.value.strip_prefix(SESSION_COOKIE_PREFIX)
        {
            let value = rest.split(|&byte| byte == b';').next().unwrap_or_default();
            session_token = Some(String::from_utf8_lossy(value).into_owned());
        }
    }
    if is_head {
        body_length = 0;
    }
    let total = head_length + body_length;
    if buffer.len() < total {
        return Ok(None);
    }
    let status = response.code.unwrap_or(0);
    Ok(Some((
        Answer {
            status,
            session_token,
        },
        total,
        close,
    )))
}
