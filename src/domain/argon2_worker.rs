//! The Argon2id computations and the threads that run them. Each thread
//! owns one block buffer of the configured size, allocated once and reused:
//! a fresh 19 MiB vector per call would, over many threads and malloc
//! arenas, leave hundreds of MiB resident after a login burst.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, mpsc};

use argon2::password_hash::{Output, PasswordHash, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};

use super::password::Password;
use super::password_hasher::{HashingError, Verification};

/// Bytes of a hash this service writes (Argon2's default output).
const OUTPUT_LENGTH: usize = 32;
/// Bytes of a salt this service writes.
const SALT_LENGTH: usize = 16;

/// A job for a hashing thread: the computations and that thread's buffer.
pub type Job = Box<dyn FnOnce(&Computations, &mut [Block]) + Send>;

/// What the hashing threads compute with, shared by all of them.
pub struct Computations {
    argon2: Argon2<'static>,
    /// Verified instead of a real hash when the email is unknown (flat login).
    dummy_hash: OnceLock<String>,
    pub verifications: AtomicU64,
}

impl Computations {
    pub fn new(params: Params) -> Self {
        Self {
            argon2: Argon2::new(Algorithm::Argon2id, Version::V0x13, params),
            dummy_hash: OnceLock::new(),
            verifications: AtomicU64::new(0),
        }
    }

    /// A PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`) for `password`.
    pub fn hash(&self, password: &Password, memory: &mut [Block]) -> Result<String, HashingError> {
        let mut salt = [0_u8; SALT_LENGTH];
        getrandom::fill(&mut salt).map_err(failed)?;
        self.hash_with_salt(password, &salt, memory)
    }

    fn hash_with_salt(
        &self,
        password: &Password,
        salt: &[u8],
        memory: &mut [Block],
    ) -> Result<String, HashingError> {
        let mut output = [0_u8; OUTPUT_LENGTH];
        self.argon2
            .hash_password_into_with_memory(password.as_bytes(), salt, &mut output, memory)
            .map_err(failed)?;
        let salt = SaltString::encode_b64(salt).map_err(failed)?;
        let output = Output::new(&output).map_err(failed)?;
        let params = self.argon2.params();
        Ok(format!(
            "${}$v={}$m={},t={},p={}${}${}",
            Algorithm::Argon2id.ident(),
            Version::V0x13 as u32,
            params.m_cost(),
            params.t_cost(),
            params.p_cost(),
            salt.as_str(),
            output,
        ))
    }

    /// Made once per process, at start (`PasswordHasher::warm_up`): made at
    /// the first login for an unknown email instead, that login would cost
    /// a hash more and tell an observer both that the email is unknown and
    /// that the server just started.
    pub fn dummy_hash(&self, memory: &mut [Block]) -> Result<&str, HashingError> {
        if let Some(hash) = self.dummy_hash.get() {
            return Ok(hash);
        }
        let mut random = [0_u8; 32];
        getrandom::fill(&mut random).map_err(failed)?;
        let hash = self.hash(&Password::new(hex(&random)), memory)?;
        Ok(self.dummy_hash.get_or_init(|| hash))
    }

    /// Checks `password` against `stored`, or against the dummy hash when
    /// there is none, so both cost one verification.
    pub fn verify(
        &self,
        password: &Password,
        stored: Option<&str>,
        memory: &mut [Block],
    ) -> Result<Verification, HashingError> {
        // An account without a password (made by a sign-in provider) stores
        // '': it is checked like an unknown email, against the dummy hash,
        // and never matches.
        let stored = stored.filter(|stored| !stored.is_empty());
        let phc = match stored {
            Some(stored) => stored,
            None => self.dummy_hash(memory)?,
        };
        let parsed = PasswordHash::new(phc).map_err(failed)?;
        self.verifications.fetch_add(1, Ordering::Relaxed);
        let outdated = self.is_outdated(&parsed);
        let correct = if outdated {
            // Another cost needs another buffer size: the library's own path.
            self.argon2
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        } else {
            self.verify_in(password, &parsed, memory)?
        };
        let matched = stored.is_some() && correct;
        let rehashed = if matched && outdated {
            Some(self.hash(password, memory)?)
        } else {
            None
        };
        Ok(Verification { matched, rehashed })
    }

    /// Recomputes with the stored salt in this thread's buffer and compares
    /// in constant time (`Output`'s equality).
    fn verify_in(
        &self,
        password: &Password,
        parsed: &PasswordHash<'_>,
        memory: &mut [Block],
    ) -> Result<bool, HashingError> {
        let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
            return Ok(false);
        };
        let mut salt_bytes = [0_u8; 64];
        let salt = salt.decode_b64(&mut salt_bytes).map_err(failed)?;
        let mut output = [0_u8; 64];
        let output = output
            .get_mut(..expected.len())
            .ok_or_else(|| HashingError::Failed("stored hash too long".into()))?;
        self.argon2
            .hash_password_into_with_memory(password.as_bytes(), salt, output, memory)
            .map_err(failed)?;
        Ok(Output::new(output).map_err(failed)? == expected)
    }

    /// True when `parsed` was made with another algorithm or cost than configured.
    fn is_outdated(&self, parsed: &PasswordHash<'_>) -> bool {
        let configured = self.argon2.params();
        parsed.algorithm != Algorithm::Argon2id.ident()
            || parsed.version != Some(Version::V0x13 as u32)
            || Params::try_from(parsed).map_or(true, |params| {
                params.m_cost() != configured.m_cost()
                    || params.t_cost() != configured.t_cost()
                    || params.p_cost() != configured.p_cost()
            })
    }

    /// The buffer one thread needs for the configured cost.
    fn new_memory(&self) -> Vec<Block> {
        vec![Block::default(); self.argon2.params().block_count()]
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
                lower_priority();
                // Allocated at the first job, so an idle service stays small.
                let mut memory = Vec::new();
                loop {
                    // At most `count` jobs are out at once (the workers
                    // semaphore), so this lock is never contended for long.
                    let job = match queue.lock().map(|queue| queue.recv()) {
                        Ok(Ok(job)) => job,
                        _ => return,
                    };
                    if memory.is_empty() {
                        memory = computations.new_memory();
                    }
                    // A panic ends the job (its caller sees an error and its
                    // permits go back), never the thread.
                    let ran = catch_unwind(AssertUnwindSafe(|| job(&computations, &mut memory)));
                    if ran.is_err() {
                        tracing::error!("a password hashing job panicked");
                    }
                }
            })
            .map_err(failed)?;
    }
    Ok(jobs)
}

/// Hashing yields the core to request handling: on a small machine a
/// login flood must not push session checks' latency up (nice 10).
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority with PRIO_PROCESS and id 0 changes only the
    // calling thread's nice value on Linux; no memory is involved.
    unsafe {
        let _ = libc::setpriority(libc::PRIO_PROCESS, 0, 10);
    }
}

fn failed(err: impl std::fmt::Display) -> HashingError {
    HashingError::Failed(err.to_string())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use argon2::password_hash::PasswordHasher as _;

    use super::*;

    fn computations() -> Computations {
        Computations::new(Params::new(64, 1, 1, None).unwrap())
    }

    #[test]
    fn the_reused_buffer_gives_the_librarys_own_phc_string() {
        let computations = computations();
        let mut memory = computations.new_memory();
        let password = Password::new("correct horse".into());
        let salt = [7_u8; SALT_LENGTH];
        let ours = computations
            .hash_with_salt(&password, &salt, &mut memory)
            .unwrap();
        let library = computations
            .argon2
            .hash_password(b"correct horse", &SaltString::encode_b64(&salt).unwrap())
            .unwrap()
            .to_string();
        assert_eq!(ours, library);
    }

    #[test]
    fn verification_in_the_buffer_matches_only_the_right_password() {
        let computations = computations();
        let mut memory = computations.new_memory();
        let stored = computations
            .hash(&Password::new("correct horse".into()), &mut memory)
            .unwrap();
        let right = computations
            .verify(
                &Password::new("correct horse".into()),
                Some(&stored),
                &mut memory,
            )
            .unwrap();
        assert!(right.matched && right.rehashed.is_none());
        let wrong = computations
            .verify(
                &Password::new("correct horsE".into()),
                Some(&stored),
                &mut memory,
            )
            .unwrap();
        assert!(!wrong.matched);
    }
}
