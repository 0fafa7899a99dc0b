//! Argon2id hashing and verification on a bounded pool. At most `workers`
//! computations run at once and at most `queue` more wait; a caller past that
//! is told the pool is busy at once. The permit is taken before the work is
//! handed to one of the `workers` hashing threads (`argon2_worker`), each
//! with its own reused arena, so a flood never piles up 19 MiB allocations.

use std::sync::atomic::Ordering;
use std::sync::{Arc, mpsc};
use std::time::Instant;

use tokio::sync::{Semaphore, oneshot};
use tracing::Span;

use super::argon2_worker::{Arena, Computations, Job, spawn_workers};
use super::password::Password;
use crate::telemetry;

/// The default Argon2id memory cost in KiB: OWASP's m = 19 MiB.
pub const DEFAULT_ARGON2_MEMORY_KIB: u32 = 19_456;
/// The default Argon2id iterations: OWASP's t = 2.
pub const DEFAULT_ARGON2_ITERATIONS: u32 = 2;
/// The default Argon2id parallelism: OWASP's p = 1.
pub const DEFAULT_ARGON2_PARALLELISM: u32 = 1;

/// Argon2id cost settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashingCost {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl HashingCost {
    /// The server's default cost (`--argon2-*`), which the benchmark seeds
    /// and labels with too.
    pub const DEFAULT: Self = Self {
        memory_kib: DEFAULT_ARGON2_MEMORY_KIB,
        iterations: DEFAULT_ARGON2_ITERATIONS,
        parallelism: DEFAULT_ARGON2_PARALLELISM,
    };
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
    computations: Arc<Computations>,
    /// Workers plus queue: the requests allowed to hold or wait for a worker.
    admission: Arc<Semaphore>,
    workers: Arc<Semaphore>,
    /// Feeds the hashing threads; they end when it is dropped.
    jobs: mpsc::Sender<Job>,
}

impl PasswordHasher {
    pub fn new(cost: HashingCost, workers: usize, queue: usize) -> Result<Self, HashingError> {
        let computations = Arc::new(Computations::new(cost)?);
        let jobs = spawn_workers(&computations, workers)?;
        let inner = Inner {
            computations,
            admission: Arc::new(Semaphore::new(workers + queue)),
            workers: Arc::new(Semaphore::new(workers)),
            jobs,
        };
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// Makes the dummy hash and each thread's arena before the first
    /// request, so that the first login for an unknown email costs what
    /// every later one does.
    pub async fn warm_up(&self, threads: usize) -> Result<(), HashingError> {
        let mut warming = tokio::task::JoinSet::new();
        for _ in 0..threads {
            let hasher = self.clone();
            warming.spawn(async move {
                hasher
                    .run(|computations, arena| computations.dummy_hash(arena).map(|_| ()))
                    .await?
            });
        }
        while let Some(done) = warming.join_next().await {
            done.map_err(|err| HashingError::Failed(err.to_string()))??;
        }
        Ok(())
    }

    /// Hashes a new password into a PHC string.
    pub async fn hash(&self, password: Password) -> Result<String, HashingError> {
        self.run(move |computations, arena| computations.hash(&password, arena))
            .await?
    }

    /// Checks `password` against `stored`, or against the dummy hash when there
    /// is no stored hash, so both cases cost one Argon2 verification.
    pub async fn verify(
        &self,
        password: Password,
        stored: Option<String>,
    ) -> Result<Verification, HashingError> {
        self.run(move |computations, arena| {
            computations.verify(&password, stored.as_deref(), arena)
        })
        .await?
    }

    /// Argon2 verifications done since start (a figure for tests and metrics).
    pub fn verification_count(&self) -> u64 {
        self.inner
            .computations
            .verifications
            .load(Ordering::Relaxed)
    }

    async fn run<T, F>(&self, job: F) -> Result<T, HashingError>
    where
        F: FnOnce(&Computations, &mut Arena) -> T + Send + 'static,
        T: Send + 'static,
    {
        let admitted = Arc::clone(&self.inner.admission)
            .try_acquire_owned()
            .map_err(|_| {
                telemetry::hash_refused();
                HashingError::Busy
            })?;
        let queued_at = Instant::now();
        let waiting = Waiting::enter();
        let worker = Arc::clone(&self.inner.workers).acquire_owned().await;
        drop(waiting);
        telemetry::hash_waited(queued_at.elapsed());
        let worker = worker.map_err(|err| HashingError::Failed(err.to_string()))?;
        let (reply, answer) = oneshot::channel();
        let span = Span::current();
        let work: Job = Box::new(move |computations, arena| {
            // The permits go back once the thread is free again, even if the
            // request that asked has gone.
            let _permits = (admitted, worker);
            let _ = reply.send(span.in_scope(|| job(computations, arena)));
        });
        self.inner
            .jobs
            .send(work)
            .map_err(|_| HashingError::Failed("the hashing threads are gone".into()))?;
        answer
            .await
            .map_err(|_| HashingError::Failed("a hashing thread failed".into()))
    }
}

/// One request in the queue, counted out again however it leaves (a worker,
/// or the request's cancellation).
struct Waiting;

impl Waiting {
    fn enter() -> Self {
        telemetry::hash_queue_entered();
        Self
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        telemetry::hash_queue_left();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHEAP: HashingCost = HashingCost {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };

    #[test]
    fn the_default_cost_is_owasps_argon2id_recommendation() {
        let owasp = HashingCost {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
        };
        assert_eq!(HashingCost::DEFAULT, owasp);
    }

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
