//! The second factor's shared steps on SQLite, run inside the caller's
//! transaction: spending a code (a conditional update of the last step, or
//! the delete of a recovery code), replacing the recovery codes, removing
//! the second factor.

use rusqlite::Connection;

use super::history::insert_event;
use crate::domain::time::Timestamp;
use crate::domain::totp::{BrowserBinding, RecoveryCodeHash};
use crate::store::StoreError;
use crate::store::second_factor::{Proof, ProofEvents};

/// Spends `proof` for `user_id` inside the caller's transaction: true if it
/// held (a spent recovery code writes its event), false, with nothing
/// written, if it did not.
pub(super) fn spend_proof(
    connection: &Connection,
    user_id: &str,
    proof: Proof,
    events: &ProofEvents,
) -> Result<bool, StoreError> {
    match proof {
        Proof::Wrong => Ok(false),
        Proof::TotpStep(step) => {
            // The conditional update is the whole check: a step at or before
            // the last one used (by any process) changes no row.
            let advanced = connection
                .prepare_cached(
                    "UPDATE totp SET last_step = ?2
                     WHERE user_id = ?1 AND enabled_at IS NOT NULL
                       AND (last_step IS NULL OR last_step < ?2)",
                )?
                .execute((user_id, step))?;
            Ok(advanced == 1)
        }
        Proof::RecoveryCode(presented) => {
            let stored: Vec<Vec<u8>> = connection
                .prepare_cached("SELECT code_hash FROM recovery_codes WHERE user_id = ?1")?
                .query_map([user_id], |row| row.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            let Some(position) = presented.position_in(&stored) else {
                return Ok(false);
            };
            connection
                .prepare_cached("DELETE FROM recovery_codes WHERE user_id = ?1 AND code_hash = ?2")?
                .execute((user_id, &stored[position]))?;
            insert_event(connection, &events.recovery_used)?;
            Ok(true)
        }
    }
}

/// Replaces every recovery code of `user_id` with `codes`.
pub(super) fn store_recovery_codes(
    connection: &Connection,
    user_id: &str,
    codes: &[RecoveryCodeHash],
    now: Timestamp,
) -> rusqlite::Result<()> {
    connection
        .prepare_cached("DELETE FROM recovery_codes WHERE user_id = ?1")?
        .execute([user_id])?;
    let mut insert = connection.prepare_cached(
        "INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES (?1, ?2, ?3)",
    )?;
    for code in codes {
        insert.execute((user_id, code.0.as_slice(), now.as_millis()))?;
    }
    Ok(())
}

/// Whether TOTP is on for `user_id`.
pub(super) fn totp_enabled(connection: &Connection, user_id: &str) -> rusqlite::Result<bool> {
    connection
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM totp WHERE user_id = ?1 AND enabled_at IS NOT NULL)",
        )?
        .query_row([user_id], |row| row.get(0))
}

pub(super) fn binding_from(bytes: Option<Vec<u8>>) -> Option<BrowserBinding> {
    bytes.and_then(|bytes| {
        <[u8; 32]>::try_from(bytes.as_slice())
            .ok()
            .map(BrowserBinding)
    })
}

/// Deletes TOTP, the recovery codes and the sign-in challenges of `user_id`.
pub(super) fn delete_second_factor(connection: &Connection, user_id: &str) -> rusqlite::Result<()> {
    for table in ["totp", "recovery_codes", "login_challenges"] {
        connection
            .prepare_cached(&format!("DELETE FROM {table} WHERE user_id = ?1"))?
            .execute([user_id])?;
    }
    Ok(())
}
