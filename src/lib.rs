//! neptun-accounts: the account and session service behind the NEPTUN API.
//!
//! [`App::build`] turns a [`config::Config`] into a running application
//! (database open and migrated, router ready); the binary and the tests both
//! go through it, so they run the same service.

pub mod admin;
pub mod app;
pub mod backup_file;
pub mod config;
pub mod domain;
pub mod error;
pub mod http;
pub mod jobs;
mod log_fields;
mod log_line;
mod log_timestamp;
mod log_writer;
pub mod logging;
pub mod mail;
pub mod mapped_memory;
pub mod oauth;
pub mod store;
pub mod telemetry;
mod thread_priority;

pub use app::App;
