//! Rows shared by the store's operations and the admin commands: inserting
//! users and sessions, reading a session with its user.

use rusqlite::{Connection, OptionalExtension, Row};

use crate::domain::email::Email;
use crate::domain::session::SessionRow;
use crate::domain::session_token::SessionTokenHash;
use crate::domain::time::Timestamp;
use crate::domain::user::{User, UserId};
use crate::store::{NewSession, NewUser, SessionWithUser};

/// A login's read: the hash, and whether TOTP is on, in one lookup.
pub(super) const FIND_CREDENTIALS: &str = "
    SELECT u.id, u.password_hash,
           EXISTS (SELECT 1 FROM totp AS t WHERE t.user_id = u.id AND t.enabled_at IS NOT NULL)
    FROM users AS u WHERE u.email = ?1";

/// The session's columns come first, in [`SELECT_SESSION_ROW`]'s order.
pub(super) const SELECT_SESSION: &str = "
    SELECT s.user_id, s.created_at, s.authenticated_at, s.last_seen_at, s.logged_in_at,
           s.public_id, u.email
    FROM sessions AS s JOIN users AS u ON u.id = s.user_id
    WHERE s.token_hash = ?1";

pub(super) const SELECT_SESSION_ROW: &str = "
    SELECT user_id, created_at, authenticated_at, last_seen_at, logged_in_at, public_id
    FROM sessions WHERE token_hash = ?1";

pub(super) const INSERT_SESSION: &str = "
    INSERT INTO sessions (token_hash, user_id, created_at, authenticated_at, last_seen_at,
                          logged_in_at, public_id)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

const INSERT_DEVICE: &str = "
    INSERT INTO session_devices (public_id, user_agent, address) VALUES (?1, ?2, ?3)";

pub(super) fn insert_user(connection: &Connection, user: &NewUser) -> rusqlite::Result<()> {
    connection
        .prepare_cached(
            "INSERT INTO users (id, email, password_hash, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?4)",
        )?
        .execute((
            user.id.as_str(),
            user.email.as_str(),
            &user.password_hash,
            user.created_at.as_millis(),
        ))?;
    Ok(())
}

/// Inserts the session and the event that started it.
pub(super) fn insert_session(connection: &Connection, new: &NewSession) -> rusqlite::Result<()> {
    let session = &new.row;
    connection.prepare_cached(INSERT_SESSION)?.execute((
        session.token_hash.0.as_slice(),
        session.user_id.as_str(),
        session.created_at.as_millis(),
        session.authenticated_at.as_millis(),
        session.last_seen_at.as_millis(),
        session.logged_in_at.as_millis(),
        &session.public_id,
    ))?;
    connection.prepare_cached(INSERT_DEVICE)?.execute((
        &session.public_id,
        new.origin.user_agent.as_deref(),
        new.origin.address.as_deref(),
    ))?;
    super::history::insert_event(connection, &new.event)
}

pub(super) fn find_session(
    connection: &Connection,
    token_hash: SessionTokenHash,
) -> rusqlite::Result<Option<SessionWithUser>> {
    session_by_hash(connection, SELECT_SESSION, token_hash, |session, row| {
        let user = User {
            id: session.user_id.clone(),
            email: Email::from_trusted(row.get(6)?),
        };
        Ok(SessionWithUser { session, user })
    })
}

pub(super) fn find_session_row(
    connection: &Connection,
    token_hash: SessionTokenHash,
) -> rusqlite::Result<Option<SessionRow>> {
    session_by_hash(connection, SELECT_SESSION_ROW, token_hash, |session, _| {
        Ok(session)
    })
}

/// The row `sql` (a session read) finds by the session's token hash,
/// its session decoded and handed to `finish` with the rest of the row.
fn session_by_hash<T>(
    connection: &Connection,
    sql: &str,
    token_hash: SessionTokenHash,
    finish: impl FnOnce(SessionRow, &Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Option<T>> {
    connection
        .prepare_cached(sql)?
        .query_row([token_hash.0.as_slice()], |row| {
            finish(session_from_row(token_hash, row)?, row)
        })
        .optional()
}

/// The session from the first six columns of [`SELECT_SESSION_ROW`].
fn session_from_row(token_hash: SessionTokenHash, row: &Row<'_>) -> rusqlite::Result<SessionRow> {
    Ok(SessionRow {
        token_hash,
        user_id: UserId::from_trusted(row.get(0)?),
        created_at: Timestamp::from_millis(row.get(1)?),
        authenticated_at: Timestamp::from_millis(row.get(2)?),
        last_seen_at: Timestamp::from_millis(row.get(3)?),
        logged_in_at: Timestamp::from_millis(row.get(4)?),
        public_id: row.get(5)?,
    })
}
