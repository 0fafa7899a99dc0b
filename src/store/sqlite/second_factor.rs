//! The second factor on SQLite: reads on a read connection; every change,
//! the code it spends and its events in one writer transaction (`BEGIN
//! IMMEDIATE`, so two processes on one file spend a code one at a time).

use async_trait::async_trait;
use rusqlite::OptionalExtension;

use super::SqliteStore;
use super::history::insert_event;
use super::rows::insert_session;
use super::spend_proof::{
    binding_from, delete_second_factor, spend_proof, store_recovery_codes, totp_enabled,
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

#[async_trait]
impl SecondFactorStore for SqliteStore {
    async fn find_totp(&self, user_id: &UserId) -> Result<Option<TotpRecord>, StoreError> {
        let user_id = user_id.clone();
        self.readers
            .read(move |connection| {
                let found = connection
                    .prepare_cached(
                        "SELECT sealed_secret, enabled_at, pending_until FROM totp WHERE user_id = ?1",
                    )?
                    .query_row([user_id.as_str()], |row| {
                        Ok(TotpRecord {
                            sealed_secret: row.get(0)?,
                            enabled_at: row.get::<_, Option<i64>>(1)?.map(Timestamp::from_millis),
                            pending_until: row
                                .get::<_, Option<i64>>(2)?
                                .map(Timestamp::from_millis),
                        })
                    })
                    .optional()?;
                Ok(found)
            })
            .await
    }

    async fn begin_totp_enrolment(
        &self,
        user_id: &UserId,
        sealed_secret: Vec<u8>,
        now: Timestamp,
        pending_until: Timestamp,
    ) -> Result<bool, StoreError> {
        let user_id = user_id.clone();
        self.writer
            .write(move |connection| {
                // An enabled row is never overwritten: the upsert's WHERE
                // leaves it, and no row changes.
                let written = connection
                    .prepare_cached(
                        "INSERT INTO totp (user_id, sealed_secret, created_at, enabled_at,
                                           pending_until, last_step)
                         VALUES (?1, ?2, ?3, NULL, ?4, NULL)
                         ON CONFLICT (user_id) DO UPDATE
                           SET sealed_secret = excluded.sealed_secret,
                               created_at = excluded.created_at,
                               pending_until = excluded.pending_until
                           WHERE totp.enabled_at IS NULL",
                    )?
                    .execute((
                        user_id.as_str(),
                        &sealed_secret,
                        now.as_millis(),
                        pending_until.as_millis(),
                    ))?;
                Ok(written == 1)
            })
            .await
    }

    async fn confirm_totp(&self, confirmation: TotpConfirmation) -> Result<Checked, StoreError> {
        self.writer
            .write(move |connection| {
                let transaction = connection.savepoint()?;
                let user_id = confirmation.user_id.as_str();
                let now = confirmation.now;
                let pending: bool = transaction
                    .prepare_cached(
                        "SELECT EXISTS (SELECT 1 FROM totp WHERE user_id = ?1
                           AND enabled_at IS NULL AND pending_until > ?2)",
                    )?
                    .query_row((user_id, now.as_millis()), |row| row.get(0))?;
                if !pending {
                    return Ok(Checked::NotEnabled);
                }
                let Some(step) = confirmation.step else {
                    insert_event(&transaction, &confirmation.failed)?;
                    transaction.commit()?;
                    return Ok(Checked::Refused);
                };
                transaction
                    .prepare_cached(
                        "UPDATE totp SET enabled_at = ?2, pending_until = NULL, last_step = ?3
                         WHERE user_id = ?1",
                    )?
                    .execute((user_id, now.as_millis(), step))?;
                store_recovery_codes(&transaction, user_id, &confirmation.recovery_codes, now)?;
                insert_event(&transaction, &confirmation.enabled)?;
                transaction.commit()?;
                Ok(Checked::Done)
            })
            .await
    }

    async fn disable_totp(
        &self,
        user_id: &UserId,
        proof: Proof,
        disabled: NewEvent,
        events: ProofEvents,
    ) -> Result<Checked, StoreError> {
        let user_id = user_id.clone();
        self.writer
            .write(move |connection| {
                let transaction = connection.savepoint()?;
                let user_id = user_id.as_str();
                if !totp_enabled(&transaction, user_id)? {
                    return Ok(Checked::NotEnabled);
                }
                if !spend_proof(&transaction, user_id, proof, &events)? {
                    insert_event(&transaction, &events.failed)?;
                    transaction.commit()?;
                    return Ok(Checked::Refused);
                }
                delete_second_factor(&transaction, user_id)?;
                insert_event(&transaction, &disabled)?;
                transaction.commit()?;
                Ok(Checked::Done)
            })
            .await
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
        let user_id = user_id.clone();
        self.writer
            .write(move |connection| {
                let transaction = connection.savepoint()?;
                let user_id = user_id.as_str();
                if !totp_enabled(&transaction, user_id)? {
                    return Ok(Checked::NotEnabled);
                }
                if !spend_proof(&transaction, user_id, proof, &events)? {
                    insert_event(&transaction, &events.failed)?;
                    transaction.commit()?;
                    return Ok(Checked::Refused);
                }
                store_recovery_codes(&transaction, user_id, &codes, now)?;
                insert_event(&transaction, &renewed)?;
                transaction.commit()?;
                Ok(Checked::Done)
            })
            .await
    }

    async fn remove_second_factor(
        &self,
        user_id: &UserId,
        disabled: NewEvent,
    ) -> Result<bool, StoreError> {
        let user_id = user_id.clone();
        self.writer
            .write(move |connection| {
                let transaction = connection.savepoint()?;
                let user_id = user_id.as_str();
                if !totp_enabled(&transaction, user_id)? {
                    return Ok(false);
                }
                delete_second_factor(&transaction, user_id)?;
                insert_event(&transaction, &disabled)?;
                transaction.commit()?;
                Ok(true)
            })
            .await
    }

    async fn create_login_challenge(&self, challenge: NewLoginChallenge) -> Result<(), StoreError> {
        self.writer
            .write(move |connection| {
                connection
                    .prepare_cached(
                        "INSERT INTO login_challenges (id, user_id, first_factor, verified_hash,
                           rehashed_hash, browser_binding, failures, created_at, expires_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?7, ?8)",
                    )?
                    .execute(rusqlite::params![
                        &challenge.id,
                        challenge.user_id.as_str(),
                        challenge.first_factor.to_string(),
                        challenge.verified_hash,
                        challenge.rehashed_hash,
                        challenge.binding.map(|binding| binding.0.to_vec()),
                        challenge.created_at.as_millis(),
                        challenge.expires_at.as_millis(),
                    ])?;
                Ok(())
            })
            .await
    }

    async fn find_login_challenge(
        &self,
        id: &str,
        now: Timestamp,
    ) -> Result<Option<PendingLogin>, StoreError> {
        let id = id.to_owned();
        self.readers
            .read(move |connection| {
                let found = connection
                    .prepare_cached(
                        "SELECT c.user_id, u.email, c.first_factor, c.browser_binding,
                                t.sealed_secret
                         FROM login_challenges AS c
                         JOIN users AS u ON u.id = c.user_id
                         LEFT JOIN totp AS t ON t.user_id = c.user_id AND t.enabled_at IS NOT NULL
                         WHERE c.id = ?1 AND c.expires_at > ?2 AND c.failures < ?3",
                    )?
                    .query_row((&id, now.as_millis(), CHALLENGE_MAX_FAILURES), |row| {
                        let first_factor: String = row.get(2)?;
                        Ok(PendingLogin {
                            user_id: UserId::from_trusted(row.get(0)?),
                            email: Email::from_trusted(row.get(1)?),
                            first_factor: serde_json::from_str(&first_factor).unwrap_or_default(),
                            binding: binding_from(row.get(3)?),
                            sealed_secret: row.get(4)?,
                        })
                    })
                    .optional()?;
                Ok(found)
            })
            .await
    }

    async fn complete_login_challenge(
        &self,
        sign_in: SecondFactorSignIn,
    ) -> Result<SignInOutcome, StoreError> {
        self.writer
            .write(move |connection| {
                let transaction = connection.savepoint()?;
                let now = sign_in.now.as_millis();
                let challenge: Option<(String, Option<String>, Option<String>, String)> =
                    transaction
                        .prepare_cached(
                            "SELECT c.user_id, c.verified_hash, c.rehashed_hash, u.password_hash
                             FROM login_challenges AS c JOIN users AS u ON u.id = c.user_id
                             WHERE c.id = ?1 AND c.expires_at > ?2 AND c.failures < ?3",
                        )?
                        .query_row(
                            (&sign_in.challenge_id, now, CHALLENGE_MAX_FAILURES),
                            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
                        )
                        .optional()?;
                let Some((user_id, verified_hash, rehashed_hash, current_hash)) = challenge else {
                    return Ok(SignInOutcome::Expired);
                };
                if verified_hash.is_some_and(|verified| verified != current_hash)
                    || user_id != sign_in.session.row.user_id.as_str()
                {
                    return Ok(SignInOutcome::Expired);
                }
                if !spend_proof(&transaction, &user_id, sign_in.proof, &sign_in.events)? {
                    transaction
                        .prepare_cached(
                            "UPDATE login_challenges SET failures = failures + 1 WHERE id = ?1",
                        )?
                        .execute([&sign_in.challenge_id])?;
                    insert_event(&transaction, &sign_in.events.failed)?;
                    transaction.commit()?;
                    return Ok(SignInOutcome::Refused);
                }
                transaction
                    .prepare_cached("DELETE FROM login_challenges WHERE id = ?1")?
                    .execute([&sign_in.challenge_id])?;
                insert_session(&transaction, &sign_in.session)?;
                if let Some(rehashed) = rehashed_hash {
                    transaction
                        .prepare_cached(
                            "UPDATE users SET password_hash = ?2, updated_at = ?3 WHERE id = ?1",
                        )?
                        .execute((&user_id, rehashed, now))?;
                }
                transaction.commit()?;
                Ok(SignInOutcome::SignedIn)
            })
            .await
    }

    async fn delete_expired_second_factor_rows(&self, now: Timestamp) -> Result<u64, StoreError> {
        self.writer
            .write(move |connection| {
                let challenges = connection
                    .prepare_cached(
                        "DELETE FROM login_challenges WHERE expires_at <= ?1 OR failures >= ?2",
                    )?
                    .execute((now.as_millis(), CHALLENGE_MAX_FAILURES))?;
                let enrolments = connection
                    .prepare_cached(
                        "DELETE FROM totp WHERE enabled_at IS NULL AND pending_until <= ?1",
                    )?
                    .execute([now.as_millis()])?;
                Ok((challenges + enrolments) as u64)
            })
            .await
    }
}
