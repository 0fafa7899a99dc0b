//! The seeded accounts: each user's id, email and first session token are
//! derived from its index, so a million of them need no table in memory;
//! what a run changes since (rotated tokens, new emails) is kept beside them.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};

/// Every seeded user's password, and the one every password PATCH sets again.
pub const PASSWORD: &str = "bench-password-1";

/// One user as a client holds it: what it sends and what it was last told.
#[derive(Clone, Debug)]
pub struct Account {
    pub index: u32,
    pub user_id: String,
    pub token: String,
    pub email: String,
    /// How many emails this user has had; makes every new one unique.
    pub generation: u32,
    /// Whether the run changed the token or the email since seeding.
    pub changed: bool,
}

impl Account {
    /// The next unused email of this user.
    pub fn next_email(&self) -> String {
        format!("u{}.{}@example.com", self.index, self.generation + 1)
    }
}

/// The users of one seeded database.
pub struct Accounts {
    seed: [u8; 16],
    /// The seeded users are numbered `0..count`.
    pub count: u32,
    /// Creation time of user 0; user `i` was created `i` ms later.
    pub first_created_ms: i64,
    changed: HashMap<u32, Account>,
}

impl Accounts {
    pub fn new(count: u32, first_created_ms: i64) -> Self {
        let mut seed = [0_u8; 16];
        // Tokens of a benchmark database guard nothing; any seed will do, but
        // a fresh one keeps two runs' tokens apart.
        if getrandom::fill(&mut seed).is_err() {
            seed[..8].copy_from_slice(&first_created_ms.to_le_bytes());
        }
        Self {
            seed,
            count,
            first_created_ms,
            changed: HashMap::new(),
        }
    }

    /// User `index` as seeded: id, email and first session token.
    pub fn seeded(&self, index: u32) -> Account {
        let random = self.derive(b"user", index);
        let mut uuid_random = [0_u8; 10];
        uuid_random.copy_from_slice(&random[..10]);
        let created = u64::try_from(self.first_created_ms).unwrap_or(0) + u64::from(index);
        let user_id = uuid::Builder::from_unix_timestamp_millis(created, &uuid_random)
            .into_uuid()
            .to_string();
        Account {
            index,
            user_id,
            token: URL_SAFE_NO_PAD.encode(self.derive(b"token", index)),
            email: format!("u{index}@example.com"),
            generation: 0,
            changed: false,
        }
    }

    /// User `index` as the server knows it now.
    pub fn current(&self, index: u32) -> Account {
        self.changed
            .get(&index)
            .cloned()
            .unwrap_or_else(|| self.seeded(index))
    }

    /// The users `first, first + step, …` below `count`, as they are now.
    pub fn stride(&self, first: u32, step: u32) -> Vec<Account> {
        (first..self.count)
            .step_by(step.max(1) as usize)
            .map(|index| self.current(index))
            .collect()
    }

    /// Takes back accounts a client used, with whatever it was told.
    pub fn absorb(&mut self, accounts: impl IntoIterator<Item = Account>) {
        for account in accounts {
            if account.changed {
                self.changed.insert(account.index, account);
            }
        }
    }

    fn derive(&self, purpose: &[u8], index: u32) -> [u8; 32] {
        let mut digest = Sha256::new();
        digest.update(self.seed);
        digest.update(purpose);
        digest.update(index.to_le_bytes());
        digest.finalize().into()
    }
}

/// What the database keeps for a token: the SHA-256 of its text.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// A fresh random token, as the server issues them.
pub fn new_token() -> String {
    let mut bytes = [0_u8; 32];
    if getrandom::fill(&mut bytes).is_err() {
        // Only the benchmark's own rotations use this; uniqueness is what counts.
        bytes = Sha256::digest(format!("{:?}", std::time::Instant::now())).into();
    }
    URL_SAFE_NO_PAD.encode(bytes)
}
