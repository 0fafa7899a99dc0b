//! The groups of settings that `serve` and the admin commands share: where
//! the database is, what a new password hash costs, and which new passwords
//! are accepted. Each group validates itself.

use std::time::Duration;

use clap::{ArgAction, Args};

use super::values::{BlocklistSource, DatabaseUrl, SqliteSynchronous};
use super::{ConfigError, fail};
use crate::domain::password_hasher::HashingCost;
use crate::store::SqliteTuning;

/// Where the accounts live.
#[derive(Args, Clone, Debug)]
#[command(next_help_heading = "Database")]
pub struct DatabaseSettings {
    /// Database URL: `sqlite://PATH` (created if missing; its folder must exist)
    /// or `postgres://USER:PASSWORD@HOST:PORT/DB` for several instances
    /// (TLS by `?sslmode=` as libpq: `verify-full` with `sslrootcert=CA.pem`).
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://neptun-accounts.db",
        value_name = "URL"
    )]
    pub database_url: DatabaseUrl,

    /// Most PostgreSQL connections this instance opens (size it so that every
    /// instance together stays under the server's `max_connections`).
    #[arg(
        long,
        env = "NEPTUN_DATABASE_MAX_CONNECTIONS",
        default_value_t = 10,
        value_name = "N"
    )]
    pub database_max_connections: usize,

    /// SQLite durability: `normal` survives a process crash, `full` also a power loss.
    #[arg(
        long,
        env = "NEPTUN_SQLITE_SYNCHRONOUS",
        default_value = "normal",
        value_enum,
        value_name = "normal|full"
    )]
    pub sqlite_synchronous: SqliteSynchronous,

    /// MiB of the SQLite file that reads map into memory instead of copying
    /// page by page (0: none); at most 2047, SQLite's own limit. An I/O
    /// error on a mapped page ends the process instead of failing a request.
    #[arg(
        long,
        env = "NEPTUN_SQLITE_MMAP_MIB",
        default_value_t = SQLITE_MMAP_MIB_MAX,
        value_name = "MIB"
    )]
    pub sqlite_mmap_mib: u32,
}

/// The most of a file SQLite maps (its `SQLITE_MAX_MMAP_SIZE`, 2 GiB less
/// 64 KiB), in whole MiB; larger `mmap_size` values are cut to it silently.
pub const SQLITE_MMAP_MIB_MAX: u32 = 2047;

impl DatabaseSettings {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.database_max_connections == 0 {
            return fail("--database-max-connections", "must be at least 1");
        }
        if self.sqlite_mmap_mib > SQLITE_MMAP_MIB_MAX {
            return fail(
                "--sqlite-mmap-mib",
                &format!("SQLite maps at most {SQLITE_MMAP_MIB_MAX} MiB of a file"),
            );
        }
        Ok(())
    }

    /// How the store sets up its SQLite connections.
    pub fn sqlite_tuning(&self) -> SqliteTuning {
        SqliteTuning {
            synchronous: self.sqlite_synchronous,
            mmap_mib: self.sqlite_mmap_mib,
        }
    }
}

/// The Argon2id cost of new hashes (old hashes verify with their own).
#[derive(Args, Clone, Debug)]
#[command(next_help_heading = "Password hashing")]
pub struct Argon2Settings {
    /// Argon2id memory cost in KiB.
    #[arg(
        long,
        env = "NEPTUN_ARGON2_MEMORY_KIB",
        default_value_t = HashingCost::DEFAULT.memory_kib,
        value_name = "KIB"
    )]
    pub argon2_memory_kib: u32,

    /// Argon2id iterations (time cost).
    #[arg(
        long,
        env = "NEPTUN_ARGON2_ITERATIONS",
        default_value_t = HashingCost::DEFAULT.iterations,
        value_name = "N"
    )]
    pub argon2_iterations: u32,

    /// Argon2id parallelism (lanes).
    #[arg(
        long,
        env = "NEPTUN_ARGON2_PARALLELISM",
        default_value_t = HashingCost::DEFAULT.parallelism,
        value_name = "N"
    )]
    pub argon2_parallelism: u32,
}

impl Argon2Settings {
    pub fn cost(&self) -> HashingCost {
        HashingCost {
            memory_kib: self.argon2_memory_kib,
            iterations: self.argon2_iterations,
            parallelism: self.argon2_parallelism,
        }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if let Err(err) = crate::domain::argon2_worker::params(self.cost()) {
            return fail("--argon2-*", &err.to_string());
        }
        Ok(())
    }
}

/// Which new passwords are accepted, and the `--strict` switch that raises
/// the optional protections to their recommended values.
#[derive(Args, Clone, Debug)]
#[command(next_help_heading = "Password rules")]
pub struct PasswordRules {
    /// Shortest new password, in characters (default 8; 15 under --strict).
    #[arg(long, env = "NEPTUN_PASSWORD_MIN_LENGTH", value_name = "N")]
    pub password_min_length: Option<usize>,

    /// Refuse common new passwords: `common` (the bundled list) or a file
    /// with one password a line.
    #[arg(long, env = "NEPTUN_PASSWORD_BLOCKLIST", value_name = "common|FILE")]
    pub password_blocklist: Option<BlocklistSource>,

    /// The recommended protections at once: recent authentication 10m,
    /// minimum length 15, the bundled blocklist (explicit settings win).
    #[arg(
        long,
        env = "NEPTUN_STRICT",
        default_value = "false",
        default_missing_value = "true",
        num_args = 0..=1,
        action = ArgAction::Set,
        value_name = "true|false"
    )]
    pub strict: bool,
}

/// The recommended values `--strict` applies.
pub const STRICT_RECENT_AUTH: Duration = Duration::from_secs(600);
const STRICT_MIN_LENGTH: usize = 15;

impl PasswordRules {
    /// The minimum length in force: the flag, else `--strict`'s, else 8.
    pub fn min_length(&self) -> usize {
        self.password_min_length.unwrap_or(if self.strict {
            STRICT_MIN_LENGTH
        } else {
            crate::domain::password::DEFAULT_MIN_LENGTH
        })
    }

    /// The blocklist in force: the flag, else the bundled one under `--strict`.
    pub fn blocklist(&self) -> Option<BlocklistSource> {
        self.password_blocklist
            .clone()
            .or(self.strict.then_some(BlocklistSource::Common))
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if let Some(min_length) = self.password_min_length
            && !(1..=crate::domain::password::MAX_LENGTH).contains(&min_length)
        {
            return fail("--password-min-length", "must be between 1 and 256");
        }
        Ok(())
    }
}
