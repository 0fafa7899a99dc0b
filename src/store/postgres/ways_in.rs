//! Removing a way to sign in (a passkey, a linked identity) with its
//! event, unless the account would keep none: one rule for both tables.

use super::PostgresStore;
use super::connect::from_driver;
use super::history::insert_event;
use crate::domain::event::NewEvent;
use crate::domain::user::UserId;
use crate::store::StoreError;
use crate::store::passkeys::PasskeyRemoval;

/// Deletes row `id` of the user's `table` and writes `event`, in one
/// transaction, when `other_way_in` (a condition on `users AS u` whose
/// placeholder for the removed row is `$2`) holds.
pub(super) async fn remove_way_in(
    store: &PostgresStore,
    table: &str,
    other_way_in: &str,
    user_id: &UserId,
    id: &str,
    event: &NewEvent,
) -> Result<PasskeyRemoval, StoreError> {
    let mut client = store.client().await?;
    let transaction = client.transaction().await.map_err(from_driver)?;
    // The user row is locked first, so two removals of an account's last
    // two ways in (passkeys, identities or one of each) cannot both count
    // the other one.
    transaction
        .execute(
            "SELECT 1 FROM users WHERE id = $1 FOR UPDATE",
            &[&user_id.as_str()],
        )
        .await
        .map_err(from_driver)?;
    let other_way_in = transaction
        .query_opt(
            &format!(
                "SELECT {other_way_in} FROM {table} AS removed
                 JOIN users AS u ON u.id = removed.user_id
                 WHERE removed.user_id = $1 AND removed.id = $2"
            ),
            &[&user_id.as_str(), &id],
        )
        .await
        .map_err(from_driver)?
        .map(|row| row.get::<_, bool>(0));
    let removal = match other_way_in {
        None => PasskeyRemoval::NotFound,
        Some(false) => PasskeyRemoval::LastWayIn,
        Some(true) => {
            transaction
                .execute(
                    &format!("DELETE FROM {table} WHERE user_id = $1 AND id = $2"),
                    &[&user_id.as_str(), &id],
                )
                .await
                .map_err(from_driver)?;
            insert_event(&transaction, event).await?;
            PasskeyRemoval::Removed
        }
    };
    transaction.commit().await.map_err(from_driver)?;
    Ok(removal)
}
