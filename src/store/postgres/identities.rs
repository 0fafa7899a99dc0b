//! Linked identities, provider flows and pending links on PostgreSQL:
//! every change and its event in one transaction; a flow and a pending
//! link are taken by one `DELETE … RETURNING`, so two instances can never
//! both use one.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use super::PostgresStore;
use super::connect::from_driver;
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

fn identity_from_row(row: &Row) -> Identity {
    Identity {
        id: row.get(0),
        user_id: UserId::from_trusted(row.get(1)),
        provider: row.get(2),
        subject: row.get(3),
        email: Email::from_trusted(row.get(4)),
        created_at: Timestamp::from_millis(row.get(5)),
    }
}

async fn insert_identity(
    client: &impl GenericClient,
    identity: &Identity,
) -> Result<(), StoreError> {
    client
        .execute(
            "INSERT INTO identities (id, user_id, provider, subject, email, created_at, last_used_at)
             VALUES ($1, $2, $3, $4, $5, $6, NULL)",
            &[
                &identity.id,
                &identity.user_id.as_str(),
                &identity.provider,
                &identity.subject,
                &identity.email.as_str(),
                &identity.created_at.as_millis(),
            ],
        )
        .await
        .map_err(from_driver)?;
    Ok(())
}

/// Section 12's undo: removes the passkeys, identities and second factor
/// the user added at or after `since` (the undone change), each with its
/// event.
pub(super) async fn remove_ways_in_added_since(
    client: &impl GenericClient,
    user_id: &UserId,
    since: i64,
    at: Timestamp,
    origin: &ClientOrigin,
) -> Result<(), StoreError> {
    let passkeys = client
        .query(
            "DELETE FROM passkeys WHERE user_id = $1 AND created_at >= $2 RETURNING id",
            &[&user_id.as_str(), &since],
        )
        .await
        .map_err(from_driver)?;
    for row in passkeys {
        let passkey_id: String = row.get(0);
        insert_event(
            client,
            &NewEvent::passkey_removed(user_id, &passkey_id, at, origin),
        )
        .await?;
    }
    let identities = client
        .query(
            "DELETE FROM identities WHERE user_id = $1 AND created_at >= $2 RETURNING id, provider",
            &[&user_id.as_str(), &since],
        )
        .await
        .map_err(from_driver)?;
    for row in identities {
        let (identity_id, provider): (String, String) = (row.get(0), row.get(1));
        let event = NewEvent::identity(
            user_id,
            IdentityChange::Unlinked,
            (&identity_id, &provider),
            at,
            origin,
        );
        insert_event(client, &event).await?;
    }
    let totp_removed = client
        .execute(
            "DELETE FROM totp WHERE user_id = $1 AND created_at >= $2",
            &[&user_id.as_str(), &since],
        )
        .await
        .map_err(from_driver)?;
    if totp_removed > 0 {
        client
            .execute(
                "DELETE FROM recovery_codes WHERE user_id = $1",
                &[&user_id.as_str()],
            )
            .await
            .map_err(from_driver)?;
        let event = NewEvent::totp_disabled(user_id, Actor::User, at, origin);
        insert_event(client, &event).await?;
    }
    Ok(())
}

#[async_trait]
impl IdentityStore for PostgresStore {
    async fn create_oauth_flow(&self, flow: NewOAuthFlow) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO oauth_flows (state, provider, browser_binding, pkce_verifier,
                   nonce, redirect_path, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &[
                    &flow.state,
                    &flow.provider,
                    &flow.browser_binding,
                    &flow.pkce_verifier,
                    &flow.nonce,
                    &flow.redirect_path,
                    &flow.created_at.as_millis(),
                    &flow.expires_at.as_millis(),
                ],
            )
            .await
            .map_err(from_driver)?;
        Ok(())
    }

    async fn take_oauth_flow(
        &self,
        state: &str,
        provider: &str,
        browser_binding: &[u8],
        now: Timestamp,
    ) -> Result<Option<OAuthFlow>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "DELETE FROM oauth_flows
                 WHERE state = $1 AND provider = $2 AND browser_binding = $3 AND expires_at > $4
                 RETURNING pkce_verifier, nonce, redirect_path",
                &[&state, &provider, &browser_binding, &now.as_millis()],
            )
            .await
            .map_err(from_driver)?;
        Ok(row.map(|row| OAuthFlow {
            pkce_verifier: row.get(0),
            nonce: row.get(1),
            redirect_path: row.get(2),
        }))
    }

    async fn find_identity(
        &self,
        provider: &str,
        subject: &str,
    ) -> Result<Option<Identity>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!(
                    "SELECT {IDENTITY_COLUMNS} FROM identities WHERE provider = $1 AND subject = $2"
                ),
                &[&provider, &subject],
            )
            .await
            .map_err(from_driver)?;
        Ok(row.as_ref().map(identity_from_row))
    }

    async fn sign_in_with_identity(
        &self,
        identity_id: &str,
        email: &Email,
        session: NewSession,
    ) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(from_driver)?;
        let updated = transaction
            .execute(
                "UPDATE identities SET email = $3, last_used_at = $4 WHERE id = $1 AND user_id = $2",
                &[
                    &identity_id,
                    &session.row.user_id.as_str(),
                    &email.as_str(),
                    &session.row.created_at.as_millis(),
                ],
            )
            .await
            .map_err(from_driver)?;
        if updated == 0 {
            return Err(StoreError::IdentityChanged);
        }
        insert_session(&transaction, &session).await?;
        transaction.commit().await.map_err(from_driver)
    }

    async fn create_user_with_identity(&self, sign_up: ProviderSignUp) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(from_driver)?;
        insert_user(&transaction, &sign_up.user).await?;
        insert_identity(&transaction, &sign_up.identity).await?;
        insert_event(&transaction, &sign_up.sign_up_event).await?;
        insert_session(&transaction, &sign_up.session).await?;
        transaction.commit().await.map_err(from_driver)
    }

    async fn create_pending_link(&self, link: NewPendingLink) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO oauth_pending_links (id, browser_binding, user_id, provider,
                   subject, email, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &[
                    &link.id,
                    &link.browser_binding,
                    &link.user_id.as_str(),
                    &link.provider,
                    &link.subject,
                    &link.email.as_str(),
                    &link.created_at.as_millis(),
                    &link.expires_at.as_millis(),
                ],
            )
            .await
            .map_err(from_driver)?;
        Ok(())
    }

    async fn confirm_pending_link(
        &self,
        confirmation: LinkConfirmation,
    ) -> Result<Option<Identity>, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(from_driver)?;
        let link = transaction
            .query_opt(
                "DELETE FROM oauth_pending_links WHERE id = (
                   SELECT id FROM oauth_pending_links
                   WHERE browser_binding = $1 AND user_id = $2 AND expires_at > $3
                   ORDER BY created_at DESC, id DESC LIMIT 1
                   FOR UPDATE SKIP LOCKED)
                 RETURNING provider, subject, email",
                &[
                    &confirmation.browser_binding,
                    &confirmation.user_id.as_str(),
                    &confirmation.now.as_millis(),
                ],
            )
            .await
            .map_err(from_driver)?;
        let Some(link) = link else {
            return Ok(None);
        };
        let identity = Identity {
            id: confirmation.identity_id,
            user_id: confirmation.user_id.clone(),
            provider: link.get(0),
            subject: link.get(1),
            email: Email::from_trusted(link.get(2)),
            created_at: confirmation.now,
        };
        insert_identity(&transaction, &identity).await?;
        let event = NewEvent::identity(
            &identity.user_id,
            IdentityChange::Linked,
            (&identity.id, &identity.provider),
            confirmation.now,
            &confirmation.origin,
        );
        insert_event(&transaction, &event).await?;
        transaction.commit().await.map_err(from_driver)?;
        Ok(Some(identity))
    }

    async fn list_identities(&self, user_id: &UserId) -> Result<Vec<Identity>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {IDENTITY_COLUMNS} FROM identities WHERE user_id = $1
                     ORDER BY created_at DESC, id DESC"
                ),
                &[&user_id.as_str()],
            )
            .await
            .map_err(from_driver)?;
        Ok(rows.iter().map(identity_from_row).collect())
    }

    async fn delete_identity(
        &self,
        user_id: &UserId,
        identity_id: &str,
        event: NewEvent,
    ) -> Result<IdentityRemoval, StoreError> {
        let other_way_in = OTHER_WAY_IN_THAN_IDENTITY.replace("{identity}", "$2");
        remove_way_in(
            self,
            "identities",
            &other_way_in,
            user_id,
            identity_id,
            &event,
        )
        .await
    }

    async fn delete_expired_oauth_state(&self, now: Timestamp) -> Result<u64, StoreError> {
        let client = self.client().await?;
        let flows = client
            .execute(
                "DELETE FROM oauth_flows WHERE expires_at <= $1",
                &[&now.as_millis()],
            )
            .await
            .map_err(from_driver)?;
        let links = client
            .execute(
                "DELETE FROM oauth_pending_links WHERE expires_at <= $1",
                &[&now.as_millis()],
            )
            .await
            .map_err(from_driver)?;
        Ok(flows + links)
    }
}
