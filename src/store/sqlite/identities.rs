//! Linked identities, provider flows and pending links on SQLite: reads
//! on a read connection, every change and its event in one writer
//! transaction.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, Row};

use super::SqliteStore;
use super::history::insert_event;
use super::rows::{insert_session, insert_user};
use super::ways_in::remove_way_in;
use crate::domain::client::ClientOrigin;
use crate::domain::email::Email;
use crate::domain::event::IdentityChange;
use crate::domain::event::{Actor, NewEvent};
use crate::domain::time::Timestamp;
use crate::domain::user::UserId;
use crate::store::identities::{
    Identity, IdentityRemoval, IdentityStore, LinkConfirmation, NewOAuthFlow, NewPendingLink,
    OAuthFlow, OTHER_WAY_IN_THAN_IDENTITY, ProviderSignUp,
};
use crate::store::{NewSession, StoreError};

/// The columns [`identity_from_row`] reads, in its order.
const IDENTITY_COLUMNS: &str = "id, user_id, provider, subject, email, created_at";

fn identity_from_row(row: &Row<'_>) -> rusqlite::Result<Identity> {
    Ok(Identity {
        id: row.get(0)?,
        user_id: UserId::from_trusted(row.get(1)?),
        provider: row.get(2)?,
        subject: row.get(3)?,
        email: Email::from_trusted(row.get(4)?),
        created_at: Timestamp::from_millis(row.get(5)?),
    })
}

fn insert_identity(connection: &Connection, identity: &Identity) -> rusqlite::Result<()> {
    connection
        .prepare_cached(
            "INSERT INTO identities (id, user_id, provider, subject, email, created_at, last_used_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL)",
        )?
        .execute((
            &identity.id,
            identity.user_id.as_str(),
            &identity.provider,
            &identity.subject,
            identity.email.as_str(),
            identity.created_at.as_millis(),
        ))?;
    Ok(())
}

/// Section 12's undo: removes the passkeys, identities and second factor
/// the user added at or after `since` (the undone change), each with its
/// event.
pub(super) fn remove_ways_in_added_since(
    connection: &Connection,
    user_id: &UserId,
    since: i64,
    at: Timestamp,
    origin: &ClientOrigin,
) -> rusqlite::Result<()> {
    let passkeys: Vec<String> = connection
        .prepare_cached(
            "DELETE FROM passkeys WHERE user_id = ?1 AND created_at >= ?2 RETURNING id",
        )?
        .query_map((user_id.as_str(), since), |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for passkey_id in passkeys {
        insert_event(
            connection,
            &NewEvent::passkey_removed(user_id, &passkey_id, at, origin),
        )?;
    }
    let identities: Vec<(String, String)> = connection
        .prepare_cached(
            "DELETE FROM identities WHERE user_id = ?1 AND created_at >= ?2 RETURNING id, provider",
        )?
        .query_map((user_id.as_str(), since), |row| {
            Ok((row.get(0)?, row.get(1)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    for (identity_id, provider) in identities {
        let event = NewEvent::identity(
            user_id,
            IdentityChange::Unlinked,
            (&identity_id, &provider),
            at,
            origin,
        );
        insert_event(connection, &event)?;
    }
    let totp_removed = connection
        .prepare_cached("DELETE FROM totp WHERE user_id = ?1 AND created_at >= ?2")?
        .execute((user_id.as_str(), since))?;
    if totp_removed > 0 {
        connection
            .prepare_cached("DELETE FROM recovery_codes WHERE user_id = ?1")?
            .execute([user_id.as_str()])?;
        insert_event(
            connection,
            &NewEvent::totp_disabled(user_id, Actor::User, at, origin),
        )?;
    }
    Ok(())
}

#[async_trait]
impl IdentityStore for SqliteStore {
    async fn create_oauth_flow(&self, flow: NewOAuthFlow) -> Result<(), StoreError> {
        self.writer
            .write(move |connection| {
                connection
                    .prepare_cached(
                        "INSERT INTO oauth_flows (state, provider, browser_binding, pkce_verifier,
                           nonce, redirect_path, created_at, expires_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    )?
                    .execute((
                        &flow.state,
                        &flow.provider,
                        &flow.browser_binding,
                        &flow.pkce_verifier,
                        &flow.nonce,
                        &flow.redirect_path,
                        flow.created_at.as_millis(),
                        flow.expires_at.as_millis(),
                    ))?;
                Ok(())
            })
            .await
    }

    async fn take_oauth_flow(
        &self,
        state: &str,
        provider: &str,
        browser_binding: &[u8],
        now: Timestamp,
    ) -> Result<Option<OAuthFlow>, StoreError> {
        let (state, provider, binding) = (
            state.to_owned(),
            provider.to_owned(),
            browser_binding.to_vec(),
        );
        self.writer
            .write(move |connection| {
                let flow = connection
                    .prepare_cached(
                        "DELETE FROM oauth_flows
                         WHERE state = ?1 AND provider = ?2 AND browser_binding = ?3
                           AND expires_at > ?4
                         RETURNING pkce_verifier, nonce, redirect_path",
                    )?
                    .query_row((&state, &provider, &binding, now.as_millis()), |row| {
                        Ok(OAuthFlow {
                            pkce_verifier: row.get(0)?,
                            nonce: row.get(1)?,
                            redirect_path: row.get(2)?,
                        })
                    })
                    .optional()?;
                Ok(flow)
            })
            .await
    }

    async fn find_identity(
        &self,
        provider: &str,
        subject: &str,
    ) -> Result<Option<Identity>, StoreError> {
        let (provider, subject) = (provider.to_owned(), subject.to_owned());
        self.readers
            .read(move |connection| {
                let found = connection
                    .prepare_cached(&format!(
                        "SELECT {IDENTITY_COLUMNS} FROM identities
                         WHERE provider = ?1 AND subject = ?2"
                    ))?
                    .query_row((&provider, &subject), identity_from_row)
                    .optional()?;
                Ok(found)
            })
            .await
    }

    async fn sign_in_with_identity(
        &self,
        identity_id: &str,
        email: &Email,
        session: NewSession,
    ) -> Result<(), StoreError> {
        let (identity_id, email) = (identity_id.to_owned(), email.clone());
        self.writer
            .write(move |connection| {
                let transaction = connection.savepoint()?;
                let updated = transaction
                    .prepare_cached(
                        "UPDATE identities SET email = ?3, last_used_at = ?4
                         WHERE id = ?1 AND user_id = ?2",
                    )?
                    .execute((
                        &identity_id,
                        session.row.user_id.as_str(),
                        email.as_str(),
                        session.row.created_at.as_millis(),
                    ))?;
                if updated == 0 {
                    return Err(StoreError::IdentityChanged);
                }
                insert_session(&transaction, &session)?;
                transaction.commit()?;
                Ok(())
            })
            .await
    }

    async fn create_user_with_identity(&self, sign_up: ProviderSignUp) -> Result<(), StoreError> {
        self.writer
            .write(move |connection| {
                let transaction = connection.savepoint()?;
                insert_user(&transaction, &sign_up.user)?;
                insert_identity(&transaction, &sign_up.identity)?;
                insert_event(&transaction, &sign_up.sign_up_event)?;
                insert_session(&transaction, &sign_up.session)?;
                transaction.commit()?;
                Ok(())
            })
            .await
    }

    async fn create_pending_link(&self, link: NewPendingLink) -> Result<(), StoreError> {
        self.writer
            .write(move |connection| {
                connection
                    .prepare_cached(
                        "INSERT INTO oauth_pending_links (id, browser_binding, user_id, provider,
                           subject, email, created_at, expires_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    )?
                    .execute((
                        &link.id,
                        &link.browser_binding,
                        link.user_id.as_str(),
                        &link.provider,
                        &link.subject,
                        link.email.as_str(),
                        link.created_at.as_millis(),
                        link.expires_at.as_millis(),
                    ))?;
                Ok(())
            })
            .await
    }

    async fn confirm_pending_link(
        &self,
        confirmation: LinkConfirmation,
    ) -> Result<Option<Identity>, StoreError> {
        self.writer
            .write(move |connection| {
                let transaction = connection.savepoint()?;
                let user_id = confirmation.user_id.as_str();
                let link = transaction
                    .prepare_cached(
                        "DELETE FROM oauth_pending_links WHERE id = (
                           SELECT id FROM oauth_pending_links
                           WHERE browser_binding = ?1 AND user_id = ?2 AND expires_at > ?3
                           ORDER BY created_at DESC, id DESC LIMIT 1)
                         RETURNING provider, subject, email",
                    )?
                    .query_row(
                        (
                            &confirmation.browser_binding,
                            user_id,
                            confirmation.now.as_millis(),
                        ),
                        |row| {
                            Ok((
                                row.get::<_, String>(0)?,
                                row.get::<_, String>(1)?,
                                row.get::<_, String>(2)?,
                            ))
                        },
                    )
                    .optional()?;
                let Some((provider, subject, email)) = link else {
                    return Ok(None);
                };
                let identity = Identity {
                    id: confirmation.identity_id,
                    user_id: confirmation.user_id.clone(),
                    provider,
                    subject,
                    email: Email::from_trusted(email),
                    created_at: confirmation.now,
                };
                insert_identity(&transaction, &identity)?;
                insert_event(
                    &transaction,
                    &NewEvent::identity(
                        &identity.user_id,
                        IdentityChange::Linked,
                        (&identity.id, &identity.provider),
                        confirmation.now,
                        &confirmation.origin,
                    ),
                )?;
                transaction.commit()?;
                Ok(Some(identity))
            })
            .await
    }

    async fn list_identities(&self, user_id: &UserId) -> Result<Vec<Identity>, StoreError> {
        let user_id = user_id.clone();
        self.readers
            .read(move |connection| {
                let mut statement = connection.prepare_cached(&format!(
                    "SELECT {IDENTITY_COLUMNS} FROM identities WHERE user_id = ?1
                     ORDER BY created_at DESC, id DESC"
                ))?;
                let rows = statement.query_map([user_id.as_str()], identity_from_row)?;
                Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
            })
            .await
    }

    async fn delete_identity(
        &self,
        user_id: &UserId,
        identity_id: &str,
        event: NewEvent,
    ) -> Result<IdentityRemoval, StoreError> {
        let (user_id, identity_id) = (user_id.clone(), identity_id.to_owned());
        let other_way_in = OTHER_WAY_IN_THAN_IDENTITY.replace("{identity}", "?2");
        self.writer
            .write(move |connection| {
                remove_way_in(
                    connection,
                    "identities",
                    &other_way_in,
                    &user_id,
                    &identity_id,
                    &event,
                )
            })
            .await
    }

    async fn delete_expired_oauth_state(&self, now: Timestamp) -> Result<u64, StoreError> {
        self.writer
            .write(move |connection| {
                let transaction = connection.savepoint()?;
                let flows = transaction
                    .prepare_cached("DELETE FROM oauth_flows WHERE expires_at <= ?1")?
                    .execute([now.as_millis()])?;
                let links = transaction
                    .prepare_cached("DELETE FROM oauth_pending_links WHERE expires_at <= ?1")?
                    .execute([now.as_millis()])?;
                transaction.commit()?;
                Ok((flows + links) as u64)
            })
            .await
    }
}
