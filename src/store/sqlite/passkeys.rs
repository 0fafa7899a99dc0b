//! Passkeys and WebAuthn challenges on SQLite: reads on a read connection,
//! every change and its event in one writer transaction.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, Row};

use super::SqliteStore;
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

fn passkey_from_row(row: &Row<'_>) -> rusqlite::Result<Passkey> {
    Ok(Passkey {
        id: row.get(0)?,
        user_id: UserId::from_trusted(row.get(1)?),
        name: row.get(2)?,
        credential: StoredCredential {
            credential_id: row.get(3)?,
            public_key: row.get(4)?,
            transports: row.get(5)?,
            state: PasskeyState {
                sign_count: row.get(6)?,
                backup_eligible: row.get(7)?,
                backed_up: row.get(8)?,
                user_verified: row.get(9)?,
                attachment: row.get(10)?,
            },
        },
        created_at: Timestamp::from_millis(row.get(11)?),
        last_used_at: row.get::<_, Option<i64>>(12)?.map(Timestamp::from_millis),
    })
}

#[async_trait]
impl PasskeyStore for SqliteStore {
    async fn create_challenge(&self, challenge: NewChallenge) -> Result<(), StoreError> {
        self.writer
            .write(move |connection| {
                let owner = challenge.owner.as_ref();
                connection
                    .prepare_cached(
                        "INSERT INTO webauthn_challenges
                           (id, purpose, user_id, session_public_id, state, created_at, expires_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    )?
                    .execute((
                        &challenge.id,
                        challenge.purpose.as_str(),
                        owner.map(|owner| owner.user_id.as_str()),
                        owner.map(|owner| owner.session_public_id.as_str()),
                        &challenge.server_state,
                        challenge.created_at.as_millis(),
                        challenge.expires_at.as_millis(),
                    ))?;
                Ok(())
            })
            .await
    }

    async fn take_challenge(
        &self,
        id: &str,
        purpose: ChallengePurpose,
        owner: Option<&ChallengeOwner>,
        now: Timestamp,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let id = id.to_owned();
        let owner = owner.cloned();
        self.writer
            .write(move |connection| {
                let state = connection
                    .prepare_cached(
                        "DELETE FROM webauthn_challenges
                         WHERE id = ?1 AND purpose = ?2 AND expires_at > ?3
                           AND user_id IS ?4 AND session_public_id IS ?5
                         RETURNING state",
                    )?
                    .query_row(
                        (
                            &id,
                            purpose.as_str(),
                            now.as_millis(),
                            owner.as_ref().map(|owner| owner.user_id.as_str()),
                            owner.as_ref().map(|owner| owner.session_public_id.as_str()),
                        ),
                        |row| row.get(0),
                    )
                    .optional()?;
                Ok(state)
            })
            .await
    }

    async fn delete_expired_challenges(&self, now: Timestamp) -> Result<u64, StoreError> {
        self.writer
            .write(move |connection| {
                let deleted = connection
                    .prepare_cached("DELETE FROM webauthn_challenges WHERE expires_at <= ?1")?
                    .execute([now.as_millis()])?;
                Ok(deleted as u64)
            })
            .await
    }

    async fn list_passkeys(&self, user_id: &UserId) -> Result<Vec<Passkey>, StoreError> {
        let user_id = user_id.clone();
        self.readers
            .read(move |connection| {
                let mut statement = connection.prepare_cached(&format!(
                    "SELECT {PASSKEY_COLUMNS} FROM passkeys WHERE user_id = ?1
                     ORDER BY created_at DESC, id DESC"
                ))?;
                let rows = statement.query_map([user_id.as_str()], passkey_from_row)?;
                Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
            })
            .await
    }

    async fn find_passkey_by_credential(
        &self,
        credential_id: &[u8],
    ) -> Result<Option<Passkey>, StoreError> {
        let credential_id = credential_id.to_vec();
        self.readers
            .read(move |connection| {
                let found = connection
                    .prepare_cached(&format!(
                        "SELECT {PASSKEY_COLUMNS} FROM passkeys WHERE credential_id = ?1"
                    ))?
                    .query_row([credential_id.as_slice()], passkey_from_row)
                    .optional()?;
                Ok(found)
            })
            .await
    }

    async fn add_passkey(&self, passkey: Passkey, event: NewEvent) -> Result<(), StoreError> {
        self.writer
            .write(move |connection| {
                let transaction = connection.savepoint()?;
                let credential = &passkey.credential;
                let state = credential.state;
                transaction
                    .prepare_cached(
                        "INSERT INTO passkeys (id, user_id, name, credential_id, public_key,
                           transports, sign_count, backup_eligible, backed_up, user_verified,
                           attachment, created_at, last_used_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, NULL)",
                    )?
                    .execute(rusqlite::params![
                        &passkey.id,
                        passkey.user_id.as_str(),
                        &passkey.name,
                        &credential.credential_id,
                        &credential.public_key,
                        credential.transports,
                        state.sign_count,
                        state.backup_eligible,
                        state.backed_up,
                        state.user_verified,
                        state.attachment,
                        passkey.created_at.as_millis(),
                    ])?;
                insert_event(&transaction, &event)?;
                transaction.commit()?;
                Ok(())
            })
            .await
    }

    async fn sign_in_with_passkey(&self, sign_in: PasskeySignIn) -> Result<(), StoreError> {
        self.writer
            .write(move |connection| {
                let transaction = connection.savepoint()?;
                let state = sign_in.state;
                let updated = transaction
                    .prepare_cached(
                        "UPDATE passkeys SET sign_count = ?3, backup_eligible = ?4, backed_up = ?5,
                           user_verified = ?6, attachment = ?7, last_used_at = ?8
                         WHERE id = ?1 AND sign_count = ?2",
                    )?
                    .execute(rusqlite::params![
                        &sign_in.passkey_id,
                        sign_in.previous_sign_count,
                        state.sign_count,
                        state.backup_eligible,
                        state.backed_up,
                        state.user_verified,
                        state.attachment,
                        sign_in.session.row.created_at.as_millis(),
                    ])?;
                if updated == 0 {
                    return Err(StoreError::PasskeyChanged);
                }
                insert_session(&transaction, &sign_in.session)?;
                transaction.commit()?;
                Ok(())
            })
            .await
    }

    async fn rename_passkey(
        &self,
        user_id: &UserId,
        passkey_id: &str,
        name: &str,
    ) -> Result<Option<Passkey>, StoreError> {
        let (user_id, passkey_id, name) = (user_id.clone(), passkey_id.to_owned(), name.to_owned());
        self.writer
            .write(move |connection| {
                let renamed = connection
                    .prepare_cached(&format!(
                        "UPDATE passkeys SET name = ?3 WHERE user_id = ?1 AND id = ?2
                         RETURNING {PASSKEY_COLUMNS}"
                    ))?
                    .query_row((user_id.as_str(), &passkey_id, &name), passkey_from_row)
                    .optional()?;
                Ok(renamed)
            })
            .await
    }

    async fn delete_passkey(
        &self,
        user_id: &UserId,
        passkey_id: &str,
        event: NewEvent,
    ) -> Result<PasskeyRemoval, StoreError> {
        let (user_id, passkey_id) = (user_id.clone(), passkey_id.to_owned());
        let other_way_in = OTHER_WAY_IN.replace("{passkey}", "?2");
        self.writer
            .write(move |connection| {
                remove_way_in(
                    connection,
                    "passkeys",
                    &other_way_in,
                    &user_id,
                    &passkey_id,
                    &event,
                )
            })
            .await
    }
}
