//! Background loops, each in its own file, started and stopped with the
//! server by `app.rs`.

pub mod event_retention;
pub mod mail_sender;
