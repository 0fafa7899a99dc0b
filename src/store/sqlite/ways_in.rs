//! Removing a way to sign in (a passkey, a linked identity) with its
//! event, unless the account would keep none: one rule for both tables.

use rusqlite::{Connection, OptionalExtension};

use super::history::insert_event;
use crate::domain::event::NewEvent;
use crate::domain::user::UserId;
use crate::store::StoreError;
use crate::store::passkeys::PasskeyRemoval;

/// Deletes row `id` of the user's `table` and writes `event`, in one
/// transaction, when `other_way_in` (a condition on `users AS u` whose
/// placeholder for the removed row is `?2`) holds.
pub(super) fn remove_way_in(
    connection: &mut Connection,
    table: &str,
    other_way_in: &str,
    user_id: &UserId,
    id: &str,
    event: &NewEvent,
) -> Result<PasskeyRemoval, StoreError> {
    let transaction = connection.savepoint()?;
    let other_way_in: Option<bool> = transaction
        .prepare_cached(&format!(
            "SELECT {other_way_in} FROM {table} AS removed JOIN users AS u ON u.id = removed.user_id
             WHERE removed.user_id = ?1 AND removed.id = ?2"
        ))?
        .query_row((user_id.as_str(), id), |row| row.get(0))
        .optional()?;
    let removal = match other_way_in {
        None => PasskeyRemoval::NotFound,
        Some(false) => PasskeyRemoval::LastWayIn,
        Some(true) => {
            transaction
                .prepare_cached(&format!(
                    "DELETE FROM {table} WHERE user_id = ?1 AND id = ?2"
                ))?
                .execute((user_id.as_str(), id))?;
            insert_event(&transaction, event)?;
            PasskeyRemoval::Removed
        }
    };
    transaction.commit()?;
    Ok(removal)
}
