//! One connection's requests for its scenario: builds each request from
//! the connection's own accounts and follows what the answers say (rotated
//! cookies, new emails), so every answer should be a success.

use std::io::Write as _;
use std::net::SocketAddr;

use crate::accounts::{Account, PASSWORD};
use crate::client::Answer;
use crate::load::Scenario;

/// Builds one connection's requests and follows what the answers say.
pub struct Driver {
    scenario: Scenario,
    pub address: SocketAddr,
    pub accounts: Vec<Account>,
    cursor: usize,
    pending_email: Option<String>,
    run_number: u32,
    connection_number: u32,
    sign_ups: u64,
}

impl Driver {
    pub fn new(
        scenario: Scenario,
        accounts: Vec<Account>,
        address: SocketAddr,
        run_number: u32,
        connection_number: u32,
    ) -> Self {
        Self {
            scenario,
            address,
            accounts,
            cursor: 0,
            pending_email: None,
            run_number,
            connection_number,
            sign_ups: 0,
        }
    }

    /// Writes the next request into `out`; true when it is a HEAD.
    pub fn build(&mut self, out: &mut Vec<u8>) -> bool {
        let host = self.address;
        // Writes into a Vec cannot fail.
        let _ = match self.scenario {
            Scenario::Bare => write!(out, "GET / HTTP/1.1\r\nHost: {host}\r\n\r\n"),
            Scenario::SessionGet | Scenario::HeadCheck => {
                let (method, path) = if self.scenario == Scenario::HeadCheck {
                    ("HEAD", "/api/auth/check")
                } else {
                    ("GET", "/api/auth/session")
                };
                let token = &self.accounts[self.cursor].token;
                write!(
                    out,
                    "{method} {path} HTTP/1.1\r\nHost: {host}\r\nCookie: neptun-session={token}\r\n\r\n"
                )
            }
            Scenario::PatchEmail | Scenario::PatchPassword => {
                let account = &self.accounts[self.cursor];
                let body = if self.scenario == Scenario::PatchEmail {
                    let email = account.next_email();
                    let body = format!(r#"{{"email":"{email}"}}"#);
                    self.pending_email = Some(email);
                    body
                } else {
                    format!(r#"{{"password":"{PASSWORD}"}}"#)
                };
                write!(
                    out,
                    "PATCH /api/users/{} HTTP/1.1\r\nHost: {host}\r\nCookie: neptun-session={}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                    account.user_id,
                    account.token,
                    body.len()
                )
            }
            Scenario::Login => {
                let email = &self.accounts[self.cursor].email;
                post(
                    out,
                    host,
                    "/api/auth/login",
                    &format!(r#"{{"email":"{email}","password":"{PASSWORD}"}}"#),
                )
            }
            Scenario::ResetCode => {
                let email = &self.accounts[self.cursor].email;
                post(
                    out,
                    host,
                    "/auth/otp",
                    &format!(r#"{{"action":"create","email":"{email}"}}"#),
                )
            }
            Scenario::SignUp => {
                self.sign_ups += 1;
                let email = format!(
                    "s{}.{}.{}@example.com",
                    self.run_number, self.connection_number, self.sign_ups
                );
                post(
                    out,
                    host,
                    "/api/auth/sign-up",
                    &format!(r#"{{"email":"{email}","password":"{PASSWORD}"}}"#),
                )
            }
        };
        self.scenario == Scenario::HeadCheck
    }

    /// Takes in an answer to the request last built.
    pub fn absorb(&mut self, answer: &Answer) {
        let rotates = matches!(
            self.scenario,
            Scenario::PatchEmail | Scenario::PatchPassword
        );
        if rotates && answer.status == 200 {
            let pending_email = self.pending_email.take();
            if let Some(account) = self.accounts.get_mut(self.cursor) {
                if let Some(token) = answer.session_token.as_ref().filter(|t| !t.is_empty()) {
                    account.token.clone_from(token);
                    account.changed = true;
                }
                if let Some(email) = pending_email {
                    account.email = email;
                    account.generation += 1;
                    account.changed = true;
                }
            }
        }
        self.skip();
    }

    /// Moves on to the next account.
    pub fn skip(&mut self) {
        self.pending_email = None;
        if !self.accounts.is_empty() {
            self.cursor = (self.cursor + 1) % self.accounts.len();
        }
    }
}

fn post(out: &mut Vec<u8>, host: SocketAddr, path: &str, body: &str) -> std::io::Result<()> {
    write!(
        out,
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}
