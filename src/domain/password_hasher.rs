//! Argon2id hashing and verification on a bounded pool. At most `workers`
//! computations run at once and at most `queue` more wait; a caller past that
//! is told the pool is busy at once. The permit is taken before the work is
//! handed to a blocking thread, so a flood never piles up 19 MiB allocations.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;
use tracing::Span;

use super::password::Password;
use crate::telemetry;

/// Argon2id cost settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashingCost {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

/// Why hashing did not produce an answer.
#[derive(Debug, thiserror::Error)]
pub enum HashingError {
    #[error("the hashing queue is full")]
    Busy,
    #[error("password hashing failed: {0}")]
    Failed(String),
}

/// The outcome of checking a password against a stored hash.
#[derive(Debug)]
pub struct Verification {
    pub matched: bool,
    /// A fresh hash with the configured cost, when the stored one used another.
    pub rehashed: Option<String>,
}

/// A handle to the shared hashing pool.
#[derive(Clone)]
pub struct PasswordHasher {
    inner: Arc<Inner>,
}

struct Inner {
    argon2: Argon2<'static>,
    /// Workers plus queue: the requests allowed to hold or wait for a worker.
    admission: Arc<Semaphore>,
    workers: Arc<Semaphore>,
    /// Verified instead of a real hash when the email is unknown (flat login).
    dummy_hash: OnceLock<String>,
    verifications: AtomicU64,
    /// Admitted requests waiting for a worker (the queue's depth).
    waiting: AtomicUsize,
}

impl PasswordHasher {
    pub fn new(cost: HashingCost, workers: usize, queue: usize) -> Result<Self, HashingError> {
        let params = Params::new(cost.memory_kib, cost.iterations, cost.parallelism, None)
            .map_err(|err| HashingError::Failed(err.to_string()))?;
        let inner = Inner {
            argon2: Argon2::new(Algorithm::Argon2id, Version::V0x13, params),
            admission: Arc::new(Semaphore::new(workers + queue)),
            workers: Arc::new(Semaphore::new(workers)),
            dummy_hash: OnceLock::new(),
            verifications: AtomicU64::new(0),
            waiting: AtomicUsize::new(0),
        };
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// Computes the dummy hash in the background, so the first login for an
    /// unknown email costs what every other one does.
    pub fn warm_up(&self) {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            if let Err(err) = inner.dummy_hash() {
                tracing::warn!(%err, "could not prepare the dummy password hash");
            }
        });
    }

    /// Hashes a new password into a PHC string.
    pub async fn hash(&self, password: Password) -> Result<String, HashingError> {
        self.run(move |inner| inner.hash(&password)).await?
    }

    /// Checks `password` against `stored`, or against the dummy hash when there
    /// is no stored hash, so both cases cost one Argon2 verification.
    pub async fn verify(
        &self,
        password: Password,
        stored: Option<String>,
    ) -> Result<Verification, HashingError> {
        self.run(move |inner| inner.verify(&password, stored.as_deref()))
            .await?
    }

    /// Argon2 verifications done since start (a figure for tests and metrics).
    pub fn verification_count(&self) -> u64 {
        self.inner.verifications.load(Ordering::Relaxed)
    }

    async fn run<T, F>(&self, job: F) -> Result<T, HashingError>
    where
        F: FnOnce(&Inner) -> T + Send + 'static,
        T: Send + 'static,
    {
        let admitted = Arc::clone(&self.inner.admission)
            .try_acquire_owned()
            .map_err(|_| {
                telemetry::hash_refused();
                HashingError::Busy
            })?;
        let queued_at = Instant::now();
        let waiting = Waiting::enter(&self.inner.waiting);
        let worker = Arc::clone(&self.inner.workers).acquire_owned().await;
        drop(waiting);
        telemetry::hash_waited(queued_at.elapsed());
        let worker = worker.map_err(|err| HashingError::Failed(err.to_string()))?;
        let inner = Arc::clone(&self.inner);
        let span = Span::current();
        tokio::task::spawn_blocking(move || {
            let _permits = (admitted, worker);
            span.in_scope(|| job(&inner))
        })
        .await
        .map_err(|err| HashingError::Failed(err.to_string()))
    }
}

/// One request in the queue, counted out again however it leaves (a worker,
/// or the request's cancellation).
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn enter(waiting: &'a AtomicUsize) -> Self {
        telemetry::hash_queue_depth(waiting.fetch_add(1, Ordering::Relaxed) + 1);
        Self(waiting)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        telemetry::hash_queue_depth(self.0.fetch_sub(1, Ordering::Relaxed).saturating_sub(1));
    }
}

impl Inner {
    fn hash(&self, password: &Password) -> Result<String, HashingError> {
        let mut salt = [0_u8; 16];
        getrandom::fill(&mut salt).map_err(|err| HashingError::Failed(err.to_string()))?;
        let salt =
            SaltString::encode_b64(&salt).map_err(|err| HashingError::Failed(err.to_string()))?;
        self.argon2
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|err| HashingError::Failed(err.to_string()))
    }

    fn dummy_hash(&self) -> Result<&str, HashingError> {
        if let Some(hash) = self.dummy_hash.get() {
            return Ok(hash);
        }
        let mut random = [0_u8; 32];
        getrandom::fill(&mut random).map_err(|err| HashingError::Failed(err.to_string()))?;
        let hash = self.hash(&Password::new(hex(&random)))?;
        Ok(self.dummy_hash.get_or_init(|| hash))
    }

    fn verify(
        &self,
        password: &Password,
        stored: Option<&str>,
    ) -> Result<Verification, HashingError> {
        let phc = match stored {
            Some(stored) => stored,
            None => self.dummy_hash()?,
        };
        let parsed = PasswordHash::new(phc).map_err(|err| HashingError::Failed(err.to_string()))?;
        self.verifications.fetch_add(1, Ordering::Relaxed);
        let matched = stored.is_some()
            && self
                .argon2
                .verify_password(password.as_bytes(), &parsed)
                .is_ok();
        let rehashed = if matched && self.is_outdated(&parsed) {
            Some(self.hash(password)?)
        } else {
            None
        };
        Ok(Verification { matched, rehashed })
    }

    /// True when `parsed` was made with another algorithm or cost than configured.
    fn is_outdated(&self, parsed: &PasswordHash<'_>) -> bool {
        let configured = self.argon2.params();
        parsed.algorithm != Algorithm::Argon2id.ident()
            || Params::try_from(parsed).map_or(true, |params| {
                params.m_cost() != configured.m_cost()
                    || params.t_cost() != configured.t_cost()
                    || params.p_cost() != configured.p_cost()
            })
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHEAP: HashingCost = HashingCost {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };

    fn hasher(cost: HashingCost) -> PasswordHasher {
        PasswordHasher::new(cost, 1, 1).unwrap()
    }

    #[tokio::test]
    async fn a_hash_is_an_argon2id_phc_string_that_verifies_only_its_password() {
        let hasher = hasher(CHEAP);
        let hash = hasher
            .hash(Password::new("correct horse".into()))
            .await
            .unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{hash}");
        let right = hasher
            .verify(Password::new("correct horse".into()), Some(hash.clone()))
            .await
            .unwrap();
        assert!(right.matched);
        assert!(right.rehashed.is_none());
        let wrong = hasher
            .verify(Password::new("Correct horse".into()), Some(hash))
            .await
            .unwrap();
        assert!(!wrong.matched);
    }

    #[tokio::test]
    async fn an_unknown_user_costs_one_verification_and_never_matches() {
        let hasher = hasher(CHEAP);
        let outcome = hasher
            .verify(Password::new("anything".into()), None)
            .await
            .unwrap();
        assert!(!outcome.matched);
        assert_eq!(hasher.verification_count(), 1);
    }

    #[tokio::test]
    async fn a_hash_with_an_older_cost_still_verifies_and_is_rehashed() {
        let old = hasher(CHEAP)
            .hash(Password::new("password1".into()))
            .await
            .unwrap();
        let current = hasher(HashingCost {
            memory_kib: 128,
            ..CHEAP
        });
        let outcome = current
            .verify(Password::new("password1".into()), Some(old))
            .await
            .unwrap();
        assert!(outcome.matched);
        let rehashed = outcome.rehashed.expect("rehashed with the new cost");
        assert!(rehashed.contains("m=128,t=1,p=1"), "{rehashed}");
    }

    #[tokio::test]
    async fn a_full_queue_is_refused_at_once() {
        let hasher = PasswordHasher::new(CHEAP, 1, 0).unwrap();
        let held = Arc::clone(&hasher.inner.admission)
            .try_acquire_owned()
            .unwrap();
        let refused = hasher.hash(Password::new("password1".into())).await;
        assert!(matches!(refused, Err(HashingError::Busy)));
        drop(held);
        assert!(hasher.hash(Password::new("password1".into())).await.is_ok());
    }
}
