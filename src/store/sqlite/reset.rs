//! Password reset by code and the undo of an email change on SQLite: each
//! one transaction on the writer, with its mail and its event.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension};
use subtle::ConstantTimeEq as _;

use super::SqliteStore;
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

fn user_with_email(connection: &Connection, email: &Email) -> rusqlite::Result<Option<UserId>> {
    connection
        .prepare_cached("SELECT id FROM users WHERE email = ?1")?
        .query_row([email.as_str()], |row| row.get(0).map(UserId::from_trusted))
        .optional()
}

/// Replaces the user's reset code.
fn store_code(
    connection: &Connection,
    user_id: &UserId,
    code_mac: &[u8; 32],
    expires_at: Timestamp,
) -> rusqlite::Result<()> {
    connection
        .prepare_cached(
            "INSERT INTO password_reset_codes (user_id, code_mac, expires_at, wrong_tries)
             VALUES (?1, ?2, ?3, 0)
             ON CONFLICT (user_id) DO UPDATE
             SET code_mac = excluded.code_mac, expires_at = excluded.expires_at, wrong_tries = 0",
        )?
        .execute((
            user_id.as_str(),
            code_mac.as_slice(),
            expires_at.as_millis(),
        ))?;
    Ok(())
}

/// Counts a wrong try for the email (its 24-hour window restarts when old).
fn count_failure(
    connection: &Connection,
    email: &Email,
    now: Timestamp,
    since: Timestamp,
) -> rusqlite::Result<()> {
    connection
        .prepare_cached(
            "INSERT INTO password_reset_failures (email, failures, window_started_at) VALUES (?1, 1, ?2)
             ON CONFLICT (email) DO UPDATE SET
               failures = CASE WHEN window_started_at < ?3 THEN 1 ELSE failures + 1 END,
               window_started_at = CASE WHEN window_started_at < ?3 THEN ?2 ELSE window_started_at END",
        )?
        .execute((email.as_str(), now.as_millis(), since.as_millis()))?;
    Ok(())
}

fn failures_in_window(
    connection: &Connection,
    email: &Email,
    since: Timestamp,
) -> rusqlite::Result<u32> {
    Ok(connection
        .prepare_cached(
            "SELECT failures FROM password_reset_failures WHERE email = ?1 AND window_started_at >= ?2",
        )?
        .query_row((email.as_str(), since.as_millis()), |row| row.get(0))
        .optional()?
        .unwrap_or(0))
}

fn request_code(
    connection: &mut Connection,
    request: &ResetCodeRequest,
) -> Result<bool, StoreError> {
    let transaction = connection.savepoint()?;
    let issued_recently: u32 = transaction
        .prepare_cached(
            "SELECT COUNT(*) FROM password_reset_requests WHERE email = ?1 AND issued = 1 AND requested_at > ?2",
        )?
        .query_row((request.email.as_str(), request.codes_since.as_millis()), |row| row.get(0))?;
    let user_id = user_with_email(&transaction, &request.email)?;
    let issue = user_id
        .as_ref()
        .filter(|_| issued_recently < request.max_codes);
    if let Some(user_id) = issue {
        store_code(&transaction, user_id, &request.code_mac, request.expires_at)?;
        insert_mail(&transaction, &request.mail)?;
        let event = NewEvent::password_reset_requested(user_id, request.now, &request.origin);
        insert_event(&transaction, &event)?;
    }
    transaction
        .prepare_cached(
            "INSERT INTO password_reset_requests (email, requested_at, issued) VALUES (?1, ?2, ?3)",
        )?
        .execute((
            request.email.as_str(),
            request.now.as_millis(),
            issue.is_some(),
        ))?;
    transaction.commit()?;
    Ok(issue.is_some())
}

fn reset_by_code(
    connection: &mut Connection,
    reset: &PasswordResetByCode,
) -> Result<ResetOutcome, StoreError> {
    let transaction = connection.savepoint()?;
    let email = &reset.email;
    let over_account_limit =
        failures_in_window(&transaction, email, reset.failures_since)? >= reset.tries_per_account;
    let user_id = user_with_email(&transaction, email)?;
    let code = match &user_id {
        Some(user_id) => transaction
            .prepare_cached(
                "SELECT code_mac, expires_at, wrong_tries FROM password_reset_codes WHERE user_id = ?1",
            )?
            .query_row([user_id.as_str()], |row| {
                Ok((row.get::<_, Vec<u8>>(0)?, row.get::<_, i64>(1)?, row.get::<_, u32>(2)?))
            })
            .optional()?,
        None => None,
    };
    let usable = code.as_ref().filter(|(_, expires_at, wrong_tries)| {
        !over_account_limit
            && reset.now.as_millis() < *expires_at
            && *wrong_tries < reset.tries_per_code
    });
    let matches =
        usable.is_some_and(|(mac, _, _)| bool::from(mac.as_slice().ct_eq(&reset.code_mac)));
    let user_id = match (user_id, matches) {
        (Some(user_id), true) => user_id,
        (user_id, _) => {
            count_failure(&transaction, email, reset.now, reset.failures_since)?;
            if let (Some(user_id), Some(_)) = (&user_id, &code) {
                transaction
                    .prepare_cached(
                        "UPDATE password_reset_codes SET wrong_tries = wrong_tries + 1 WHERE user_id = ?1",
                    )?
                    .execute([user_id.as_str()])?;
            }
            transaction.commit()?;
            return Ok(ResetOutcome::Invalid);
        }
    };
    if let Some(limit) = reset.change_limit {
        match record_password_change(&transaction, &user_id, limit, reset.now) {
            Err(StoreError::TooManyPasswordChanges { oldest }) => {
                return Ok(ResetOutcome::TooManyPasswordChanges { oldest });
            }
            other => other?,
        }
    }
    transaction
        .prepare_cached("UPDATE users SET password_hash = ?2, updated_at = ?3 WHERE id = ?1")?
        .execute((
            user_id.as_str(),
            &reset.password_hash,
            reset.now.as_millis(),
        ))?;
    let sessions_ended = transaction
        .prepare_cached("DELETE FROM sessions WHERE user_id = ?1")?
        .execute([user_id.as_str()])? as u64;
    transaction
        .prepare_cached("DELETE FROM password_reset_codes WHERE user_id = ?1")?
        .execute([user_id.as_str()])?;
    transaction
        .prepare_cached("DELETE FROM password_failures WHERE email = ?1")?
        .execute([email.as_str()])?;
    if let Some(mail) = &reset.mail {
        insert_mail(&transaction, mail)?;
    }
    insert_event(
        &transaction,
        &NewEvent::password_reset(&user_id, sessions_ended, reset.now, &reset.origin),
    )?;
    transaction.commit()?;
    Ok(ResetOutcome::Reset {
        user_id,
        sessions_ended,
    })
}

fn undo_change(
    connection: &mut Connection,
    undo: &EmailChangeUndo,
) -> Result<UndoOutcome, StoreError> {
    let transaction = connection.savepoint()?;
    let link = transaction
        .prepare_cached(
            "SELECT user_id, old_email, new_email, created_at FROM email_change_undo
             WHERE token_hash = ?1 AND used_at IS NULL AND expires_at > ?2",
        )?
        .query_row(
            (undo.token_hash.0.as_slice(), undo.now.as_millis()),
            |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, i64>(3)?,
                ))
            },
        )
        .optional()?;
    let Some((user_id, old_email, new_email, created_at)) =
        link.filter(|link| link.1 == undo.old_email.as_str())
    else {
        return Ok(UndoOutcome::Invalid);
    };
    let user_id = UserId::from_trusted(user_id);
    let restored = transaction
        .prepare_cached("UPDATE users SET email = ?2, updated_at = ?3 WHERE id = ?1")?
        .execute((user_id.as_str(), &old_email, undo.now.as_millis()));
    match restored {
        Err(rusqlite::Error::SqliteFailure(error, _))
            if error.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            return Ok(UndoOutcome::EmailTaken);
        }
        other => other?,
    };
    let sessions_ended = transaction
        .prepare_cached("DELETE FROM sessions WHERE user_id = ?1")?
        .execute([user_id.as_str()])? as u64;
    // This link and the links of later changes die, so the oldest address wins.
    transaction
        .prepare_cached("UPDATE email_change_undo SET used_at = ?3 WHERE user_id = ?1 AND created_at >= ?2 AND used_at IS NULL")?
        .execute((user_id.as_str(), created_at, undo.now.as_millis()))?;
    super::identities::remove_ways_in_added_since(
        &transaction,
        &user_id,
        created_at,
        undo.now,
        &undo.origin,
    )?;
    store_code(&transaction, &user_id, &undo.code_mac, undo.code_expires_at)?;
    if let Some(mail) = &undo.mail {
        insert_mail(&transaction, mail)?;
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
    insert_event(&transaction, &event)?;
    transaction.commit()?;
    Ok(UndoOutcome::Restored {
        user: User {
            id: user_id,
            email: restored_email,
        },
        sessions_ended,
    })
}

#[async_trait]
impl MailStore for SqliteStore {
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
        self.writer
            .write(move |connection| request_code(connection, &request))
            .await
    }

    async fn reset_password_by_code(
        &self,
        reset: PasswordResetByCode,
    ) -> Result<ResetOutcome, StoreError> {
        self.writer
            .write(move |connection| reset_by_code(connection, &reset))
            .await
    }

    async fn find_undo_link(
        &self,
        token_hash: SessionTokenHash,
        now: Timestamp,
    ) -> Result<Option<UndoLink>, StoreError> {
        self.readers
            .read(move |connection| {
                Ok(connection
                    .prepare_cached(
                        "SELECT user_id, old_email, used_at IS NULL AND expires_at > ?2
                         FROM email_change_undo WHERE token_hash = ?1",
                    )?
                    .query_row((token_hash.0.as_slice(), now.as_millis()), |row| {
                        Ok(UndoLink {
                            user_id: UserId::from_trusted(row.get(0)?),
                            old_email: Email::from_trusted(row.get(1)?),
                            usable: row.get(2)?,
                        })
                    })
                    .optional()?)
            })
            .await
    }

    async fn undo_email_change(&self, undo: EmailChangeUndo) -> Result<UndoOutcome, StoreError> {
        self.writer
            .write(move |connection| undo_change(connection, &undo))
            .await
    }
}
