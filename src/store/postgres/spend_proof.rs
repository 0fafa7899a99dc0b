//! The second factor's shared steps on PostgreSQL, run inside the
//! caller's transaction: spending a code (a conditional update of the last
//! step, or the delete of a recovery code), replacing the recovery codes,
//! locking and removing the second factor.

use deadpool_postgres::Transaction;

use super::connect::from_driver;
use super::history::insert_event;
use crate::domain::time::Timestamp;
use crate::domain::totp::{BrowserBinding, RecoveryCodeHash};
use crate::store::StoreError;
use crate::store::second_factor::{Proof, ProofEvents};

/// Spends `proof` for `user_id` inside the caller's transaction: true if it
/// held (a spent recovery code writes its event), false, with nothing
/// written, if it did not.
pub(super) async fn spend_proof(
    transaction: &Transaction<'_>,
    user_id: &str,
    proof: Proof,
    events: &ProofEvents,
) -> Result<bool, StoreError> {
    match proof {
        Proof::Wrong => Ok(false),
        Proof::TotpStep(step) => {
            // The conditional update is the whole check: under a concurrent
            // spend of the same step it waits for the row, re-reads it and
            // changes nothing.
            let advanced = transaction
                .execute(
                    "UPDATE totp SET last_step = $2
                     WHERE user_id = $1 AND enabled_at IS NOT NULL
                       AND (last_step IS NULL OR last_step < $2)",
                    &[&user_id, &step],
                )
                .await
                .map_err(from_driver)?;
            Ok(advanced == 1)
        }
        Proof::RecoveryCode(presented) => {
            let stored: Vec<Vec<u8>> = transaction
                .query(
                    "SELECT code_hash FROM recovery_codes WHERE user_id = $1",
                    &[&user_id],
                )
                .await
                .map_err(from_driver)?
                .iter()
                .map(|row| row.get(0))
                .collect();
            let Some(position) = presented.position_in(&stored) else {
                return Ok(false);
            };
            // Zero rows: a concurrent request spent it first.
            let deleted = transaction
                .execute(
                    "DELETE FROM recovery_codes WHERE user_id = $1 AND code_hash = $2",
                    &[&user_id, &stored[position]],
                )
                .await
                .map_err(from_driver)?;
            if deleted != 1 {
                return Ok(false);
            }
            insert_event(transaction, &events.recovery_used).await?;
            Ok(true)
        }
    }
}

/// Replaces every recovery code of `user_id` with `codes`.
pub(super) async fn store_recovery_codes(
    transaction: &Transaction<'_>,
    user_id: &str,
    codes: &[RecoveryCodeHash],
    now: Timestamp,
) -> Result<(), StoreError> {
    transaction
        .execute("DELETE FROM recovery_codes WHERE user_id = $1", &[&user_id])
        .await
        .map_err(from_driver)?;
    for code in codes {
        transaction
            .execute(
                "INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES ($1, $2, $3)",
                &[&user_id, &code.0.as_slice(), &now.as_millis()],
            )
            .await
            .map_err(from_driver)?;
    }
    Ok(())
}

/// Whether TOTP is on for `user_id`, its row locked until the transaction ends.
pub(super) async fn lock_enabled_totp(
    transaction: &Transaction<'_>,
    user_id: &str,
) -> Result<bool, StoreError> {
    let row = transaction
        .query_opt(
            "SELECT 1 FROM totp WHERE user_id = $1 AND enabled_at IS NOT NULL FOR UPDATE",
            &[&user_id],
        )
        .await
        .map_err(from_driver)?;
    Ok(row.is_some())
}

/// Deletes TOTP, the recovery codes and the sign-in challenges of `user_id`.
pub(super) async fn delete_second_factor(
    transaction: &Transaction<'_>,
    user_id: &str,
) -> Result<(), StoreError> {
    for table in ["totp", "recovery_codes", "login_challenges"] {
        transaction
            .execute(
                &format!("DELETE FROM {table} WHERE user_id = $1"),
                &[&user_id],
            )
            .await
            .map_err(from_driver)?;
    }
    Ok(())
}

pub(super) fn binding_from(bytes: Option<Vec<u8>>) -> Option<BrowserBinding> {
    bytes.and_then(|bytes| {
        <[u8; 32]>::try_from(bytes.as_slice())
            .ok()
            .map(BrowserBinding)
    })
}
