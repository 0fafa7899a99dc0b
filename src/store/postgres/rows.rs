//! Rows shared by the store's operations and the admin commands: inserting
//! users and sessions, reading a session with its user.

use tokio_postgres::Row;

use super::connect::from_driver;
use crate::domain::email::Email;
use crate::domain::session::SessionRow;
use crate::domain::session_token::SessionTokenHash;
use crate::domain::time::Timestamp;
use crate::domain::user::{User, UserId};
use crate::store::{NewSession, NewUser, SessionWithUser, StoreError};

/// The session's columns come first, in [`SELECT_SESSION_ROW`]'s order.
pub(super) const SELECT_SESSION: &str = "
    SELECT s.user_id, s.created_at, s.authenticated_at, s.last_seen_at, s.logged_in_at,
           s.public_id, u.email
    FROM sessions AS s JOIN users AS u ON u.id = s.user_id
    WHERE s.token_hash = $1";

pub(super) const SELECT_SESSION_ROW: &str = "
    SELECT user_id, created_at, authenticated_at, last_seen_at, logged_in_at, public_id
    FROM sessions WHERE token_hash = $1";

pub(super) const INSERT_SESSION: &str = "
    INSERT INTO sessions (token_hash, user_id, created_at, authenticated_at, last_seen_at,
                          logged_in_at, public_id)
    VALUES ($1, $2, $3, $4, $5, $6, $7)";

const INSERT_DEVICE: &str = "
    INSERT INTO session_devices (public_id, user_agent, address) VALUES ($1, $2, $3)";

pub(super) async fn insert_user(
    client: &impl deadpool_postgres::GenericClient,
    user: &NewUser,
) -> Result<(), StoreError> {
    let statement = client
        .prepare_cached(
            "INSERT INTO users (id, email, password_hash, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $4)",
        )
        .await
        .map_err(from_driver)?;
    client
        .execute(
            &statement,
            &[
                &user.id.as_str(),
                &user.email.as_str(),
                &user.password_hash,
                &user.created_at.as_millis(),
            ],
        )
        .await
        .map_err(from_driver)?;
    Ok(())
}

/// Inserts the session and the event that started it.
pub(super) async fn insert_session(
    client: &deadpool_postgres::Transaction<'_>,
    new: &NewSession,
) -> Result<(), StoreError> {
    let session = &new.row;
    let statement = client
        .prepare_cached(INSERT_SESSION)
        .await
        .map_err(from_driver)?;
    client
        .execute(
            &statement,
            &[
                &session.token_hash.0.as_slice(),
                &session.user_id.as_str(),
                &session.created_at.as_millis(),
                &session.authenticated_at.as_millis(),
                &session.last_seen_at.as_millis(),
                &session.logged_in_at.as_millis(),
                &session.public_id,
            ],
        )
        .await
        .map_err(from_driver)?;
    let device = client
        .prepare_cached(INSERT_DEVICE)
        .await
        .map_err(from_driver)?;
    client
        .execute(
            &device,
            &[
                &session.public_id,
                &new.origin.user_agent,
                &new.origin.address,
            ],
        )
        .await
        .map_err(from_driver)?;
    super::history::insert_event(client, &new.event).await
}

/// A row of [`SELECT_SESSION`].
pub(super) fn session_with_user(token_hash: SessionTokenHash, row: &Row) -> SessionWithUser {
    let session = session_from_row(token_hash, row);
    let user = User {
        id: session.user_id.clone(),
        email: Email::from_trusted(row.get(6)),
    };
    SessionWithUser { session, user }
}

/// The session from the first six columns of [`SELECT_SESSION_ROW`].
pub(super) fn session_from_row(token_hash: SessionTokenHash, row: &Row) -> SessionRow {
    SessionRow {
        token_hash,
        user_id: UserId::from_trusted(row.get(0)),
        created_at: Timestamp::from_millis(row.get(1)),
        authenticated_at: Timestamp::from_millis(row.get(2)),
        last_seen_at: Timestamp::from_millis(row.get(3)),
        logged_in_at: Timestamp::from_millis(row.get(4)),
        public_id: row.get(5),
    }
}
