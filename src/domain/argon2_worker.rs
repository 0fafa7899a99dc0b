//! The Argon2id computations and the threads that run them. Each thread
//! owns one block arena of the configured size, allocated at its first job
//! and reused (wiped after every hash): a fresh 19 MiB allocation per call
//! would, over many threads and malloc arenas, leave hundreds of MiB
//! resident after a login burst. The Argon2 implementation is `argon2-rust`,
//! which picks its AVX-512, AVX2 or SSE2 kernel at run time.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, mpsc};

use argon2_rust::params::{Memory, TagLen};
use argon2_rust::{Algorithm, Argon2, Decoded, Error, Hasher, Params, Version};

use super::password::Password;
use super::password_hasher::{HashingCost, HashingError, Verification};

/// Bytes of a hash this service writes (Argon2's usual output).
const OUTPUT_LENGTH: u64 = 32;
/// Bytes of a salt this service writes.
const SALT_LENGTH: usize = 16;

/// How long a hashing thread waits for work before it gives its arena back:
/// an idle service keeps no 19 MiB arenas resident, while a steady stream
/// of logins keeps reusing them.
const IDLE_RELEASE: std::time::Duration = std::time::Duration::from_millis(500);

/// A job for a hashing thread: the computations and that thread's arena.
pub type Job = Box<dyn FnOnce(&Computations, &mut Arena) + Send>;

/// One hashing thread's reusable block arena; it takes memory at its first
/// hash, so an idle service stays small.
pub struct Arena(Hasher);

/// The Argon2id parameters of `cost`. Lanes are computed one after another
/// on the calling thread, as the hashing pool is already sized to the cores.
pub fn params(cost: HashingCost) -> Result<Params, Error> {
    Params::builder()
        .memory(Memory::kib(u64::from(cost.memory_kib)))
        .passes(cost.iterations)
        .lanes(cost.parallelism)
        .threads(1)
        .tag_len(TagLen::bytes(OUTPUT_LENGTH))
        .build()
}

/// What the hashing threads compute with, shared by all of them.
pub struct Computations {
    argon2: Argon2,
    /// Verified instead of a real hash when the email is unknown (flat login).
    dummy_hash: OnceLock<String>,
    pub verifications: AtomicU64,
}

impl Computations {
    pub fn new(cost: HashingCost) -> Result<Self, HashingError> {
        Ok(Self {
            argon2: Argon2::new(
                Algorithm::Argon2id,
                Version::V0x13,
                params(cost).map_err(failed)?,
            ),
            dummy_hash: OnceLock::new(),
            verifications: AtomicU64::new(0),
        })
    }

    /// An arena for one thread; it allocates nothing until its first hash.
    pub fn new_arena(&self) -> Arena {
        Arena(self.argon2.hasher())
    }

    /// A PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`) for `password`.
    pub fn hash(&self, password: &Password, arena: &mut Arena) -> Result<String, HashingError> {
        let mut salt = [0_u8; SALT_LENGTH];
        getrandom::fill(&mut salt).map_err(failed)?;
        self.hash_with_salt(password, &salt, arena)
    }

    /// As [`Computations::hash`] with a given salt (the benchmark's seed).
    pub fn hash_with_salt(
        &self,
        password: &Password,
        salt: &[u8],
        arena: &mut Arena,
    ) -> Result<String, HashingError> {
        arena
            .0
            .hash_password(password.as_bytes(), salt)
            .map_err(failed)
    }

    /// Made once per process, at start (`PasswordHasher::warm_up`): made at
    /// the first login for an unknown email instead, that login would cost
    /// a hash more and tell an observer both that the email is unknown and
    /// that the server just started.
    pub fn dummy_hash(&self, arena: &mut Arena) -> Result<&str, HashingError> {
        if let Some(hash) = self.dummy_hash.get() {
            return Ok(hash);
        }
        let mut random = [0_u8; 32];
        getrandom::fill(&mut random).map_err(failed)?;
        let hash = self.hash(&Password::new(hex(&random)), arena)?;
        Ok(self.dummy_hash.get_or_init(|| hash))
    }

    /// Checks `password` against `stored`, or against the dummy hash when
    /// there is none, so both cost one verification.
    pub fn verify(
        &self,
        password: &Password,
        stored: Option<&str>,
        arena: &mut Arena,
    ) -> Result<Verification, HashingError> {
        // An account without a password (made by a sign-in provider) stores
        // '': it is checked like an unknown email, against the dummy hash,
        // and never matches.
        let stored = stored.filter(|stored| !stored.is_empty());
        let phc = match stored {
            Some(stored) => stored,
            None => self.dummy_hash(arena)?,
        };
        let decoded = argon2_rust::decode_phc(phc).map_err(failed)?;
        self.verifications.fetch_add(1, Ordering::Relaxed);
        // The parameters, salt and hash are the stored string's; a cost
        // larger than the arena runs in memory of its own, freed at once.
        // The comparison is in constant time.
        let correct = match arena
            .0
            .verify_encoded(phc, password.as_bytes(), decoded.algorithm)
        {
            Ok(()) => true,
            Err(Error::VerifyMismatch) => false,
            Err(err) => return Err(failed(err)),
        };
        let matched = stored.is_some() && correct;
        let rehashed = if matched && self.is_outdated(&decoded) {
            Some(self.hash(password, arena)?)
        } else {
            None
        };
        Ok(Verification { matched, rehashed })
    }

    /// True when `decoded` was made with another algorithm, version, cost or
    /// output length than configured.
    fn is_outdated(&self, decoded: &Decoded) -> bool {
        let configured = self.argon2.params();
        decoded.algorithm != Algorithm::Argon2id
            || decoded.version != Version::V0x13
            || decoded.params.memory_kib() != configured.memory_kib()
            || decoded.params.passes() != configured.passes()
            || decoded.params.lanes() != configured.lanes()
            || decoded.hash.len() != configured.tag_len_bytes()
    }
}

/// Starts `count` hashing threads fed by the returned sender; they end when
/// it is dropped.
pub fn spawn_workers(
    computations: &Arc<Computations>,
    count: usize,
) -> Result<mpsc::Sender<Job>, HashingError> {
    let (jobs, queue) = mpsc::channel::<Job>();
    let queue = Arc::new(Mutex::new(queue));
    for index in 0..count {
        let computations = Arc::clone(computations);
        let queue = Arc::clone(&queue);
        std::thread::Builder::new()
            .name(format!("argon2-{index}"))
            .spawn(move || {
                crate::thread_priority::lower();
                let mut arena = computations.new_arena();
                loop {
                    // At most `count` jobs are out at once (the workers
                    // semaphore), so this lock is never contended for long.
                    let job = match queue.lock().map(|queue| queue.recv_timeout(IDLE_RELEASE)) {
                        Ok(Ok(job)) => job,
                        Ok(Err(mpsc::RecvTimeoutError::Timeout)) => {
                            // Idle: the arena goes back to the system (it
                            // is its own mapping) and comes back lazily.
                            arena = computations.new_arena();
                            continue;
                        }
                        _ => return,
                    };
                    // A panic ends the job (its caller sees an error and its
                    // permits go back), never the thread.
                    let ran = catch_unwind(AssertUnwindSafe(|| job(&computations, &mut arena)));
                    if ran.is_err() {
                        tracing::error!("a password hashing job panicked");
                    }
                }
            })
            .map_err(failed)?;
    }
    Ok(jobs)
}

fn failed(err: impl std::fmt::Display) -> HashingError {
    HashingError::Failed(err.to_string())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
#[path = "argon2_worker_tests.rs"]
mod tests;
