//! Password reset by code and the undo of an email change on PostgreSQL:
//! each one transaction, with its mail and its event. The user's row lock
//! orders concurrent tries on one account, across instances.

use async_trait::async_trait;
use deadpool_postgres::{GenericClient, Transaction};
use subtle::ConstantTimeEq as _;

use super::PostgresStore;
use super::connect::from_driver;
use super::history::insert_event;
use super::outbox::insert_mail;
use super::throttle::record_password_change;
use crate::domain::email::Email;
use crate::domain::event::NewEvent;
use crate::domain::session_token::SessionTokenHash;
use crate::domain::time::Timestamp;
use crate::domain::user::{User, UserId};
use crate::store::StoreError;
use crate::store::mail::{
    ClaimedMail, Delivery, EmailChangeUndo, MailStore, PasswordResetByCode, ResetCodeRequest,
    ResetOutcome, UndoLink, UndoOutcome,
};

/// The id of the user with `email`, its row locked until the transaction ends.
async fn lock_user(client: &Transaction<'_>, email: &Email) -> Result<Option<UserId>, StoreError> {
    let row = client
        .query_opt(
            "SELECT id FROM users WHERE email = $1 FOR UPDATE",
            &[&email.as_str()],
        )
        .await
        .map_err(from_driver)?;
    Ok(row.map(|row| UserId::from_trusted(row.get(0))))
}

async fn store_code(
    client: &impl GenericClient,
    user_id: &UserId,
    code_mac: &[u8; 32],
    expires_at: Timestamp,
) -> Result<(), StoreError> {
    client
        .execute(
            "INSERT INTO password_reset_codes (user_id, code_mac, expires_at, wrong_tries)
             VALUES ($1, $2, $3, 0)
             ON CONFLICT (user_id) DO UPDATE
             SET code_mac = excluded.code_mac, expires_at = excluded.expires_at, wrong_tries = 0",
            &[
                &user_id.as_str(),
                &code_mac.as_slice(),
                &expires_at.as_millis(),
            ],
        )
        .await
        .map_err(from_driver)?;
    Ok(())
}

/// Counts a wrong try for the email; returns the failures in the window before it.
async fn count_failure(
    client: &impl GenericClient,
    email: &Email,
    now: Timestamp,
    since: Timestamp,
) -> Result<(), StoreError> {
    client
        .execute(
            "INSERT INTO password_reset_failures (email, failures, window_started_at) VALUES ($1, 1, $2)
             ON CONFLICT (email) DO UPDATE SET
               failures = CASE WHEN password_reset_failures.window_started_at < $3
                               THEN 1 ELSE password_reset_failures.failures + 1 END,
               window_started_at = CASE WHEN password_reset_failures.window_started_at < $3
                                        THEN $2 ELSE password_reset_failures.window_started_at END",
            &[&email.as_str(), &now.as_millis(), &since.as_millis()],
        )
        .await
        .map_err(from_driver)?;
    Ok(())
}

async fn request_code(
    store: &PostgresStore,
    request: ResetCodeRequest,
) -> Result<bool, StoreError> {
    let mut client = store.client().await?;
    let transaction = client.transaction().await.map_err(from_driver)?;
    let user_id = lock_user(&transaction, &request.email).await?;
    let issued_recently: i64 = transaction
        .query_one(
            "SELECT COUNT(*) FROM password_reset_requests WHERE email = $1 AND issued = 1 AND requested_at > $2",
            &[&request.email.as_str(), &request.codes_since.as_millis()],
        )
        .await
        .map_err(from_driver)?
        .get(0);
    let issue = user_id
        .as_ref()
        .filter(|_| issued_recently < i64::from(request.max_codes));
    if let Some(user_id) = issue {
        store_code(&transaction, user_id, &request.code_mac, request.expires_at).await?;
        insert_mail(&transaction, &request.mail).await?;
        let event = NewEvent::password_reset_requested(user_id, request.now, &request.origin);
        insert_event(&transaction, &event).await?;
    }
    transaction
        .execute(
            "INSERT INTO password_reset_requests (email, requested_at, issued) VALUES ($1, $2, $3)",
            &[
                &request.email.as_str(),
                &request.now.as_millis(),
                &i64::from(issue.is_some()),
            ],
        )
        .await
        .map_err(from_driver)?;
    transaction.commit().await.map_err(from_driver)?;
    Ok(issue.is_some())
}

async fn reset_by_code(
    store: &PostgresStore,
    reset: PasswordResetByCode,
) -> Result<ResetOutcome, StoreError> {
    let mut client = store.client().await?;
    let transaction = client.transaction().await.map_err(from_driver)?;
    let email = &reset.email;
    let user_id = lock_user(&transaction, email).await?;
    let failures: i64 = transaction
        .query_opt(
            "SELECT failures FROM password_reset_failures WHERE email = $1 AND window_started_at >= $2",
            &[&email.as_str(), &reset.failures_since.as_millis()],
        )
        .await
        .map_err(from_driver)?
        .map_or(0, |row| row.get(0));
    let code = match &user_id {
        Some(user_id) => transaction
            .query_opt(
                "SELECT code_mac, expires_at, wrong_tries FROM password_reset_codes WHERE user_id = $1",
                &[&user_id.as_str()],
            )
            .await
            .map_err(from_driver)?
            .map(|row| (row.get::<_, Vec<u8>>(0), row.get::<_, i64>(1), row.get::<_, i64>(2))),
        None => None,
    };
    let usable = code.as_ref().filter(|(_, expires_at, wrong_tries)| {
        failures < i64::from(reset.tries_per_account)
            && reset.now.as_millis() < *expires_at
            && *wrong_tries < i64::from(reset.tries_per_code)
    });
    let matches =
        usable.is_some_and(|(mac, _, _)| bool::from(mac.as_slice().ct_eq(&reset.code_mac)));
    let user_id = match (user_id, matches) {
        (Some(user_id), true) => user_id,
        (user_id, _) => {
            count_failure(&transaction, email, reset.now, reset.failures_since).await?;
            if let (Some(user_id), Some(_)) = (&user_id, &code) {
                transaction
                    .execute(
                        "UPDATE password_reset_codes SET wrong_tries = wrong_tries + 1 WHERE user_id = $1",
                        &[&user_id.as_str()],
                    )
                    .await
                    .map_err(from_driver)?;
            }
            transaction.commit().await.map_err(from_driver)?;
            return Ok(ResetOutcome::Invalid);
        }
    };
    if let Some(limit) = reset.change_limit {
        match record_password_change(&transaction, &user_id, limit, reset.now).await {
            Err(StoreError::TooManyPasswordChanges { oldest }) => {
                return Ok(ResetOutcome::TooManyPasswordChanges { oldest });
            }
            other => other?,
        }
    }
    let id = user_id.as_str();
    transaction
        .execute(
            "UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1",
            &[&id, &reset.password_hash, &reset.now.as_millis()],
        )
        .await
        .map_err(from_driver)?;
    let sessions_ended = transaction
        .execute("DELETE FROM sessions WHERE user_id = $1", &[&id])
        .await
        .map_err(from_driver)?;
    transaction
        .execute(
            "DELETE FROM password_reset_codes WHERE user_id = $1",
            &[&id],
        )
        .await
        .map_err(from_driver)?;
    transaction
        .execute(
            "DELETE FROM password_failures WHERE email = $1",
            &[&email.as_str()],
        )
        .await
        .map_err(from_driver)?;
    if let Some(mail) = &reset.mail {
        insert_mail(&transaction, mail).await?;
    }
    let event = NewEvent::password_reset(&user_id, sessions_ended, reset.now, &reset.origin);
    insert_event(&transaction, &event).await?;
    transaction.commit().await.map_err(from_driver)?;
    Ok(ResetOutcome::Reset {
        user_id,
        sessions_ended,
    })
}

async fn undo_change(
    store: &PostgresStore,
    undo: EmailChangeUndo,
) -> Result<UndoOutcome, StoreError> {
    let mut client = store.client().await?;
    let transaction = client.transaction().await.map_err(from_driver)?;
    let link = transaction
        .query_opt(
            "SELECT user_id, old_email, new_email, created_at FROM email_change_undo
             WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 FOR UPDATE",
            &[&undo.token_hash.0.as_slice(), &undo.now.as_millis()],
        )
        .await
        .map_err(from_driver)?
        .map(|row| {
            (
                row.get::<_, String>(0),
                row.get::<_, String>(1),
                row.get::<_, String>(2),
                row.get::<_, i64>(3),
            )
        });
    let Some((user_id, old_email, new_email, created_at)) =
        link.filter(|link| link.1 == undo.old_email.as_str())
    else {
        return Ok(UndoOutcome::Invalid);
    };
    let user_id = UserId::from_trusted(user_id);
    let id = user_id.as_str();
    let restored = transaction
        .execute(
            "UPDATE users SET email = $2, updated_at = $3 WHERE id = $1",
            &[&id, &old_email, &undo.now.as_millis()],
        )
        .await
        .map_err(from_driver);
    match restored {
        Err(StoreError::EmailTaken) => return Ok(UndoOutcome::EmailTaken),
        other => other?,
    };
    let sessions_ended = transaction
        .execute("DELETE FROM sessions WHERE user_id = $1", &[&id])
        .await
        .map_err(from_driver)?;
    // This link and the links of later changes die, so the oldest address wins.
    transaction
        .execute(
            "UPDATE email_change_undo SET used_at = $3 WHERE user_id = $1 AND created_at >= $2 AND used_at IS NULL",
            &[&id, &created_at, &undo.now.as_millis()],
        )
        .await
        .map_err(from_driver)?;
    super::identities::remove_ways_in_added_since(
        &transaction,
        &user_id,
        created_at,
        undo.now,
        &undo.origin,
    )
    .await?;
    store_code(&transaction, &user_id, &undo.code_mac, undo.code_expires_at).await?;
    if let Some(mail) = &undo.mail {
        insert_mail(&transaction, mail).await?;
    }
    let restored_email = Email::from_trusted(old_email);
    let event = NewEvent::email_change_undone(
        &user_id,
        &Email::from_trusted(new_email),
        &restored_email,
        sessions_ended,
        undo.now,
        &undo.origin,
    );
    insert_event(&transaction, &event).await?;
    transaction.commit().await.map_err(from_driver)?;
    Ok(UndoOutcome::Restored {
        user: User {
            id: user_id,
            email: restored_email,
        },
        sessions_ended,
    })
}

#[async_trait]
impl MailStore for PostgresStore {
    async fn server_key_check(&self, sealed: Vec<u8>) -> Result<Vec<u8>, StoreError> {
        self.outbox_key_check(sealed).await
    }

    async fn claim_mail(
        &self,
        now: Timestamp,
        lease: std::time::Duration,
        batch: u32,
    ) -> Result<Vec<ClaimedMail>, StoreError> {
        self.outbox_claim(now, lease, batch).await
    }

    async fn finish_mail(
        &self,
        id: &str,
        delivery: Delivery,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.outbox_finish(id, delivery, now).await
    }

    async fn queued_mail(&self) -> Result<u64, StoreError> {
        self.outbox_queued().await
    }

    async fn request_reset_code(&self, request: ResetCodeRequest) -> Result<bool, StoreError> {
        request_code(self, request).await
    }

    async fn reset_password_by_code(
        &self,
        reset: PasswordResetByCode,
    ) -> Result<ResetOutcome, StoreError> {
        reset_by_code(self, reset).await
    }

    async fn find_undo_link(
        &self,
        token_hash: SessionTokenHash,
        now: Timestamp,
    ) -> Result<Option<UndoLink>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT user_id, old_email, used_at IS NULL AND expires_at > $2
                 FROM email_change_undo WHERE token_hash = $1",
                &[&token_hash.0.as_slice(), &now.as_millis()],
            )
            .await
            .map_err(from_driver)?;
        Ok(row.map(|row| UndoLink {
            user_id: UserId::from_trusted(row.get(0)),
            old_email: Email::from_trusted(row.get(1)),
            usable: row.get(2),
        }))
    }

    async fn undo_email_change(&self, undo: EmailChangeUndo) -> Result<UndoOutcome, StoreError> {
        undo_change(self, undo).await
    }
}
