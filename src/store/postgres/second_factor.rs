//! The second factor on PostgreSQL: every change, the code it spends and
//! its events in one transaction. The rows a change depends on are locked
//! first (`FOR UPDATE`), and a step is spent by a conditional update, so
//! instances sharing the database spend each code at most once.

use async_trait::async_trait;

use super::PostgresStore;
use super::connect::from_driver;
use super::history::insert_event;
use super::rows::insert_session;
use super::spend_proof::{
    binding_from, delete_second_factor, lock_enabled_totp, spend_proof, store_recovery_codes,
};
use crate::domain::email::Email;
use crate::domain::event::NewEvent;
use crate::domain::time::Timestamp;
use crate::domain::totp::{CHALLENGE_MAX_FAILURES, RecoveryCodeHash};
use crate::domain::user::UserId;
use crate::store::StoreError;
use crate::store::second_factor::{
    Checked, NewLoginChallenge, PendingLogin, Proof, ProofEvents, SecondFactorSignIn,
    SecondFactorStore, SignInOutcome, TotpConfirmation, TotpRecord,
};

/// The failures column is an INTEGER.
const MAX_FAILURES: i32 = CHALLENGE_MAX_FAILURES as i32;

#[async_trait]
impl SecondFactorStore for PostgresStore {
    async fn find_totp(&self, user_id: &UserId) -> Result<Option<TotpRecord>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT sealed_secret, enabled_at, pending_until FROM totp WHERE user_id = $1",
                &[&user_id.as_str()],
            )
            .await
            .map_err(from_driver)?;
        Ok(row.map(|row| TotpRecord {
            sealed_secret: row.get(0),
            enabled_at: row.get::<_, Option<i64>>(1).map(Timestamp::from_millis),
            pending_until: row.get::<_, Option<i64>>(2).map(Timestamp::from_millis),
        }))
    }

    async fn begin_totp_enrolment(
        &self,
        user_id: &UserId,
        sealed_secret: Vec<u8>,
        now: Timestamp,
        pending_until: Timestamp,
    ) -> Result<bool, StoreError> {
        let client = self.client().await?;
        // An enabled row is never overwritten: the upsert's WHERE leaves it.
        let written = client
            .execute(
                "INSERT INTO totp (user_id, sealed_secret, created_at, enabled_at,
                                   pending_until, last_step)
                 VALUES ($1, $2, $3, NULL, $4, NULL)
                 ON CONFLICT (user_id) DO UPDATE
                   SET sealed_secret = excluded.sealed_secret,
                       created_at = excluded.created_at,
                       pending_until = excluded.pending_until
                   WHERE totp.enabled_at IS NULL",
                &[
                    &user_id.as_str(),
                    &sealed_secret,
                    &now.as_millis(),
                    &pending_until.as_millis(),
                ],
            )
            .await
            .map_err(from_driver)?;
        Ok(written == 1)
    }

    async fn confirm_totp(&self, confirmation: TotpConfirmation) -> Result<Checked, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(from_driver)?;
        let user_id = confirmation.user_id.as_str();
        let now = confirmation.now;
        let pending = transaction
            .query_opt(
                "SELECT 1 FROM totp WHERE user_id = $1 AND enabled_at IS NULL
                   AND pending_until > $2 FOR UPDATE",
                &[&user_id, &now.as_millis()],
            )
            .await
            .map_err(from_driver)?;
        if pending.is_none() {
            return Ok(Checked::NotEnabled);
        }
        let Some(step) = confirmation.step else {
            insert_event(&transaction, &confirmation.failed).await?;
            transaction.commit().await.map_err(from_driver)?;
            return Ok(Checked::Refused);
        };
        transaction
            .execute(
                "UPDATE totp SET enabled_at = $2, pending_until = NULL, last_step = $3
                 WHERE user_id = $1",
                &[&user_id, &now.as_millis(), &step],
            )
            .await
            .map_err(from_driver)?;
        store_recovery_codes(&transaction, user_id, &confirmation.recovery_codes, now).await?;
        insert_event(&transaction, &confirmation.enabled).await?;
        transaction.commit().await.map_err(from_driver)?;
        Ok(Checked::Done)
    }

    async fn disable_totp(
        &self,
        user_id: &UserId,
        proof: Proof,
        disabled: NewEvent,
        events: ProofEvents,
    ) -> Result<Checked, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(from_driver)?;
        let user_id = user_id.as_str();
        if !lock_enabled_totp(&transaction, user_id).await? {
            return Ok(Checked::NotEnabled);
        }
        if !spend_proof(&transaction, user_id, proof, &events).await? {
            insert_event(&transaction, &events.failed).await?;
            transaction.commit().await.map_err(from_driver)?;
            return Ok(Checked::Refused);
        }
        delete_second_factor(&transaction, user_id).await?;
        insert_event(&transaction, &disabled).await?;
        transaction.commit().await.map_err(from_driver)?;
        Ok(Checked::Done)
    }

    async fn renew_recovery_codes(
        &self,
        user_id: &UserId,
        proof: Proof,
        codes: Vec<RecoveryCodeHash>,
        renewed: NewEvent,
        events: ProofEvents,
        now: Timestamp,
    ) -> Result<Checked, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(from_driver)?;
        let user_id = user_id.as_str();
        if !lock_enabled_totp(&transaction, user_id).await? {
            return Ok(Checked::NotEnabled);
        }
        if !spend_proof(&transaction, user_id, proof, &events).await? {
            insert_event(&transaction, &events.failed).await?;
            transaction.commit().await.map_err(from_driver)?;
            return Ok(Checked::Refused);
        }
        store_recovery_codes(&transaction, user_id, &codes, now).await?;
        insert_event(&transaction, &renewed).await?;
        transaction.commit().await.map_err(from_driver)?;
        Ok(Checked::Done)
    }

    async fn remove_second_factor(
        &self,
        user_id: &UserId,
        disabled: NewEvent,
    ) -> Result<bool, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(from_driver)?;
        let user_id = user_id.as_str();
        if !lock_enabled_totp(&transaction, user_id).await? {
            return Ok(false);
        }
        delete_second_factor(&transaction, user_id).await?;
        insert_event(&transaction, &disabled).await?;
        transaction.commit().await.map_err(from_driver)?;
        Ok(true)
    }

    async fn create_login_challenge(&self, challenge: NewLoginChallenge) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO login_challenges (id, user_id, first_factor, verified_hash,
                   rehashed_hash, browser_binding, failures, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8)",
                &[
                    &challenge.id,
                    &challenge.user_id.as_str(),
                    &challenge.first_factor.to_string(),
                    &challenge.verified_hash,
                    &challenge.rehashed_hash,
                    &challenge.binding.map(|binding| binding.0.to_vec()),
                    &challenge.created_at.as_millis(),
                    &challenge.expires_at.as_millis(),
                ],
            )
            .await
            .map_err(from_driver)?;
        Ok(())
    }

    async fn find_login_challenge(
        &self,
        id: &str,
        now: Timestamp,
    ) -> Result<Option<PendingLogin>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT c.user_id, u.email, c.first_factor, c.browser_binding, t.sealed_secret
                 FROM login_challenges AS c
                 JOIN users AS u ON u.id = c.user_id
                 LEFT JOIN totp AS t ON t.user_id = c.user_id AND t.enabled_at IS NOT NULL
                 WHERE c.id = $1 AND c.expires_at > $2 AND c.failures < $3",
                &[&id, &now.as_millis(), &MAX_FAILURES],
            )
            .await
            .map_err(from_driver)?;
        Ok(row.map(|row| {
            let first_factor: String = row.get(2);
            PendingLogin {
                user_id: UserId::from_trusted(row.get(0)),
                email: Email::from_trusted(row.get(1)),
                first_factor: serde_json::from_str(&first_factor).unwrap_or_default(),
                binding: binding_from(row.get(3)),
                sealed_secret: row.get(4),
            }
        }))
    }

    async fn complete_login_challenge(
        &self,
        sign_in: SecondFactorSignIn,
    ) -> Result<SignInOutcome, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(from_driver)?;
        let now = sign_in.now.as_millis();
        // Both rows locked: a concurrent completion of the same challenge
        // waits, then finds it gone; a password change waits for this one.
        let challenge = transaction
            .query_opt(
                "SELECT c.user_id, c.verified_hash, c.rehashed_hash, u.password_hash
                 FROM login_challenges AS c JOIN users AS u ON u.id = c.user_id
                 WHERE c.id = $1 AND c.expires_at > $2 AND c.failures < $3
                 FOR UPDATE OF c, u",
                &[&sign_in.challenge_id, &now, &MAX_FAILURES],
            )
            .await
            .map_err(from_driver)?;
        let Some(challenge) = challenge else {
            return Ok(SignInOutcome::Expired);
        };
        let user_id: String = challenge.get(0);
        let verified_hash: Option<String> = challenge.get(1);
        let rehashed_hash: Option<String> = challenge.get(2);
        let current_hash: String = challenge.get(3);
        if verified_hash.is_some_and(|verified| verified != current_hash)
            || user_id != sign_in.session.row.user_id.as_str()
        {
            return Ok(SignInOutcome::Expired);
        }
        if !spend_proof(&transaction, &user_id, sign_in.proof, &sign_in.events).await? {
            transaction
                .execute(
                    "UPDATE login_challenges SET failures = failures + 1 WHERE id = $1",
                    &[&sign_in.challenge_id],
                )
                .await
                .map_err(from_driver)?;
            insert_event(&transaction, &sign_in.events.failed).await?;
            transaction.commit().await.map_err(from_driver)?;
            return Ok(SignInOutcome::Refused);
        }
        transaction
            .execute(
                "DELETE FROM login_challenges WHERE id = $1",
                &[&sign_in.challenge_id],
            )
            .await
            .map_err(from_driver)?;
        insert_session(&transaction, &sign_in.session).await?;
        if let Some(rehashed) = rehashed_hash {
            transaction
                .execute(
                    "UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1",
                    &[&user_id, &rehashed, &now],
                )
                .await
                .map_err(from_driver)?;
        }
        transaction.commit().await.map_err(from_driver)?;
        Ok(SignInOutcome::SignedIn)
    }

    async fn delete_expired_second_factor_rows(&self, now: Timestamp) -> Result<u64, StoreError> {
        let client = self.client().await?;
        let challenges = client
            .execute(
                "DELETE FROM login_challenges WHERE expires_at <= $1 OR failures >= $2",
                &[&now.as_millis(), &MAX_FAILURES],
            )
            .await
            .map_err(from_driver)?;
        let enrolments = client
            .execute(
                "DELETE FROM totp WHERE enabled_at IS NULL AND pending_until <= $1",
                &[&now.as_millis()],
            )
            .await
            .map_err(from_driver)?;
        Ok(challenges + enrolments)
    }
}
