//! Passkeys and WebAuthn challenges on PostgreSQL: every change and its
//! event in one transaction; a challenge is taken by one `DELETE … RETURNING`,
//! so two instances can never both finish one ceremony.

use async_trait::async_trait;
use tokio_postgres::Row;

use super::PostgresStore;
use super::connect::from_driver;
use super::history::insert_event;
use super::rows::insert_session;
use super::ways_in::remove_way_in;
use crate::domain::event::NewEvent;
use crate::domain::passkey::{PasskeyState, StoredCredential};
use crate::domain::time::Timestamp;
use crate::domain::user::UserId;
use crate::store::StoreError;
use crate::store::passkeys::{
    ChallengeOwner, ChallengePurpose, NewChallenge, OTHER_WAY_IN, Passkey, PasskeyRemoval,
    PasskeySignIn, PasskeyStore,
};

/// The columns [`passkey_from_row`] reads, in its order.
const PASSKEY_COLUMNS: &str = "id, user_id, name, credential_id, public_key, transports,
    sign_count, backup_eligible, backed_up, user_verified, attachment, created_at, last_used_at";

fn passkey_from_row(row: &Row) -> Passkey {
    let transports: i16 = row.get(5);
    let sign_count: i64 = row.get(6);
    let attachment: i16 = row.get(10);
    Passkey {
        id: row.get(0),
        user_id: UserId::from_trusted(row.get(1)),
        name: row.get(2),
        credential: StoredCredential {
            credential_id: row.get(3),
            public_key: row.get(4),
            // Written from a u8 and a u32; anything else reads as an
            // impossible value that the relying-party crate refuses.
            transports: u8::try_from(transports).unwrap_or(u8::MAX),
            state: PasskeyState {
                sign_count: u32::try_from(sign_count).unwrap_or(u32::MAX),
                backup_eligible: row.get(7),
                backed_up: row.get(8),
                user_verified: row.get(9),
                attachment: u8::try_from(attachment).unwrap_or(u8::MAX),
            },
        },
        created_at: Timestamp::from_millis(row.get(11)),
        last_used_at: row.get::<_, Option<i64>>(12).map(Timestamp::from_millis),
    }
}

#[async_trait]
impl PasskeyStore for PostgresStore {
    async fn create_challenge(&self, challenge: NewChallenge) -> Result<(), StoreError> {
        let client = self.client().await?;
        let owner = challenge.owner.as_ref();
        client
            .execute(
                "INSERT INTO webauthn_challenges
                   (id, purpose, user_id, session_public_id, state, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &challenge.id,
                    &challenge.purpose.as_str(),
                    &owner.map(|owner| owner.user_id.as_str()),
                    &owner.map(|owner| owner.session_public_id.as_str()),
                    &challenge.server_state,
                    &challenge.created_at.as_millis(),
                    &challenge.expires_at.as_millis(),
                ],
            )
            .await
            .map_err(from_driver)?;
        Ok(())
    }

    async fn take_challenge(
        &self,
        id: &str,
        purpose: ChallengePurpose,
        owner: Option<&ChallengeOwner>,
        now: Timestamp,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "DELETE FROM webauthn_challenges
                 WHERE id = $1 AND purpose = $2 AND expires_at > $3
                   AND user_id IS NOT DISTINCT FROM $4
                   AND session_public_id IS NOT DISTINCT FROM $5
                 RETURNING state",
                &[
                    &id,
                    &purpose.as_str(),
                    &now.as_millis(),
                    &owner.map(|owner| owner.user_id.as_str()),
                    &owner.map(|owner| owner.session_public_id.as_str()),
                ],
            )
            .await
            .map_err(from_driver)?;
        Ok(row.map(|row| row.get(0)))
    }

    async fn delete_expired_challenges(&self, now: Timestamp) -> Result<u64, StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "DELETE FROM webauthn_challenges WHERE expires_at <= $1",
                &[&now.as_millis()],
            )
            .await
            .map_err(from_driver)
    }

    async fn list_passkeys(&self, user_id: &UserId) -> Result<Vec<Passkey>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {PASSKEY_COLUMNS} FROM passkeys WHERE user_id = $1
                     ORDER BY created_at DESC, id DESC"
                ),
                &[&user_id.as_str()],
            )
            .await
            .map_err(from_driver)?;
        Ok(rows.iter().map(passkey_from_row).collect())
    }

    async fn find_passkey_by_credential(
        &self,
        credential_id: &[u8],
    ) -> Result<Option<Passkey>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!("SELECT {PASSKEY_COLUMNS} FROM passkeys WHERE credential_id = $1"),
                &[&credential_id],
            )
            .await
            .map_err(from_driver)?;
        Ok(row.as_ref().map(passkey_from_row))
    }

    async fn add_passkey(&self, passkey: Passkey, event: NewEvent) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(from_driver)?;
        let credential = &passkey.credential;
        let state = credential.state;
        transaction
            .execute(
                "INSERT INTO passkeys (id, user_id, name, credential_id, public_key,
                   transports, sign_count, backup_eligible, backed_up, user_verified,
                   attachment, created_at, last_used_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, NULL)",
                &[
                    &passkey.id,
                    &passkey.user_id.as_str(),
                    &passkey.name,
                    &credential.credential_id,
                    &credential.public_key,
                    &i16::from(credential.transports),
                    &i64::from(state.sign_count),
                    &state.backup_eligible,
                    &state.backed_up,
                    &state.user_verified,
                    &i16::from(state.attachment),
                    &passkey.created_at.as_millis(),
                ],
            )
            .await
            .map_err(from_driver)?;
        insert_event(&transaction, &event).await?;
        transaction.commit().await.map_err(from_driver)
    }

    async fn sign_in_with_passkey(&self, sign_in: PasskeySignIn) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(from_driver)?;
        let state = sign_in.state;
        let updated = transaction
            .execute(
                "UPDATE passkeys SET sign_count = $3, backup_eligible = $4, backed_up = $5,
                   user_verified = $6, attachment = $7, last_used_at = $8
                 WHERE id = $1 AND sign_count = $2",
                &[
                    &sign_in.passkey_id,
                    &i64::from(sign_in.previous_sign_count),
                    &i64::from(state.sign_count),
                    &state.backup_eligible,
                    &state.backed_up,
                    &state.user_verified,
                    &i16::from(state.attachment),
                    &sign_in.session.row.created_at.as_millis(),
                ],
            )
            .await
            .map_err(from_driver)?;
        if updated == 0 {
            return Err(StoreError::PasskeyChanged);
        }
        insert_session(&transaction, &sign_in.session).await?;
        transaction.commit().await.map_err(from_driver)
    }

    async fn rename_passkey(
        &self,
        user_id: &UserId,
        passkey_id: &str,
        name: &str,
    ) -> Result<Option<Passkey>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!(
                    "UPDATE passkeys SET name = $3 WHERE user_id = $1 AND id = $2
                     RETURNING {PASSKEY_COLUMNS}"
                ),
                &[&user_id.as_str(), &passkey_id, &name],
            )
            .await
            .map_err(from_driver)?;
        Ok(row.as_ref().map(passkey_from_row))
    }

    async fn delete_passkey(
        &self,
        user_id: &UserId,
        passkey_id: &str,
        event: NewEvent,
    ) -> Result<PasskeyRemoval, StoreError> {
        let other_way_in = OTHER_WAY_IN.replace("{passkey}", "$2");
        remove_way_in(self, "passkeys", &other_way_in, user_id, passkey_id, &event).await
    }
}
