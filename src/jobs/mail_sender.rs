//! Sends the outbox (contract section 9): claims due mails with a lease,
//! sends each over SMTP, and records the outcome. A temporary failure is
//! retried after 2 s, then 8 s, 32 s … up to an hour, for 24 hours; a
//! permanent refusal (5xx) or a mail older than a day is marked failed.
//! Nothing here ever reaches a request.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::domain::time::Timestamp;
use crate::http::AppState;
use crate::mail::Mailer;
use crate::mail::outbox::open_mail;
use crate::store::mail::{ClaimedMail, Delivery};
use crate::telemetry;

/// How long a claim keeps other senders off a mail.
const LEASE: Duration = Duration::from_secs(120);
/// Mails claimed at once.
const BATCH: u32 = 10;
/// How often the outbox is looked at when nothing wakes the sender.
const POLL: Duration = Duration::from_secs(1);
/// After this, a mail that still fails is given up.
const GIVE_UP_AFTER: Duration = Duration::from_secs(24 * 3600);
const LONGEST_RETRY: Duration = Duration::from_secs(3600);

/// The wait before attempt `attempts + 1`: 2 s × 4^(attempts − 1), at most an hour.
pub fn retry_delay(attempts: u32) -> Duration {
    let factor = 4_u32.saturating_pow(attempts.saturating_sub(1).min(10));
    Duration::from_secs(2)
        .saturating_mul(factor)
        .min(LONGEST_RETRY)
}

/// Runs forever: sends what is due, then waits for a poll or a wake-up.
pub async fn run(state: AppState, mailer: Mailer, wake: Arc<Notify>) {
    loop {
        loop {
            let claimed = match state.store.claim_mail(Timestamp::now(), LEASE, BATCH).await {
                Ok(claimed) => claimed,
                Err(err) => {
                    tracing::warn!(%err, "cannot read the outbox");
                    break;
                }
            };
            if claimed.is_empty() {
                break;
            }
            for mail in claimed {
                deliver(&state, &mailer, mail).await;
            }
        }
        if let Ok(queued) = state.store.queued_mail().await {
            telemetry::mails_queued(queued);
        }
        tokio::select! {
            () = tokio::time::sleep(POLL) => {}
            () = wake.notified() => {}
        }
    }
}

async fn deliver(state: &AppState, mailer: &Mailer, mail: ClaimedMail) {
    let delivery = match open_mail(&state.server_key, &mail) {
        Err(err) => Delivery::Failed {
            error: err.to_string(),
        },
        Ok(rendered) => match mailer.send(&rendered).await {
            Ok(()) => Delivery::Sent,
            Err(failure) => {
                let now = Timestamp::now();
                if failure.permanent || now.since(mail.created_at) >= GIVE_UP_AFTER {
                    Delivery::Failed {
                        error: failure.reason,
                    }
                } else {
                    Delivery::Retry {
                        at: now.plus(retry_delay(mail.attempts)),
                        error: failure.reason,
                    }
                }
            }
        },
    };
    // The id and subject only: never the address's mail content.
    match &delivery {
        Delivery::Sent => {
            telemetry::mail_sent();
            tracing::info!(mail_id = %mail.id, subject = %mail.subject, "mail sent");
        }
        Delivery::Retry { at, error } => tracing::warn!(
            mail_id = %mail.id, attempts = mail.attempts, retry_at = %at.to_iso8601(), %error,
            "mail not sent; will retry"
        ),
        Delivery::Failed { error } => {
            telemetry::mail_failed();
            tracing::warn!(mail_id = %mail.id, attempts = mail.attempts, %error, "mail failed for good");
        }
    }
    if let Err(err) = state
        .store
        .finish_mail(&mail.id, delivery, Timestamp::now())
        .await
    {
        // The lease runs out and the mail is tried again: at worst sent twice.
        tracing::warn!(mail_id = %mail.id, %err, "cannot record a mail's outcome");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_start_within_seconds_and_grow_to_an_hour() {
        assert_eq!(retry_delay(1), Duration::from_secs(2));
        assert_eq!(retry_delay(2), Duration::from_secs(8));
        assert_eq!(retry_delay(3), Duration::from_secs(32));
        assert_eq!(retry_delay(7), Duration::from_secs(3600));
        assert_eq!(retry_delay(40), Duration::from_secs(3600));
    }
}
