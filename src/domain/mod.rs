//! The rules of accounts and sessions, free of HTTP and SQL.

pub mod argon2_worker;
pub mod client;
pub mod email;
pub mod event;
pub mod mail_message;
pub mod otp;
pub mod passkey;
pub mod password;
pub mod password_blocklist;
pub mod password_hasher;
pub mod redirect_path;
pub mod server_key;
pub mod session;
pub mod session_token;
pub mod throttle;
pub mod time;
pub mod totp;
pub mod user;
