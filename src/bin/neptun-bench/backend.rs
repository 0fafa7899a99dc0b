//! The database a run measures on: SQLite files (the default) or a
//! PostgreSQL server (`--database postgres://…`). The scenarios are the
//! same on both; only making, seeding and dropping a database, the server's
//! database flags and the database ceilings differ, and live here.

use std::path::{Path, PathBuf};
use std::time::Duration;

use neptun_accounts::domain::server_key::ServerKey;

use crate::accounts::Accounts;
use crate::ceilings::{self, PageCache, Rate};
use crate::postgres::{self, BenchDatabase};
use crate::{postgres_ceilings, seed};

/// Which database server a run uses.
pub enum Backend {
    Sqlite,
    Postgres { url: String },
}

impl Backend {
    /// From `--database`: unset for SQLite, or a `postgres://` URL.
    pub fn from_option(database: Option<&str>) -> anyhow::Result<Self> {
        match database {
            None => Ok(Self::Sqlite),
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Ok(Self::Postgres {
                    url: url.to_owned(),
                })
            }
            Some(_) => anyhow::bail!("--database takes a postgres:// URL (SQLite is the default)"),
        }
    }

    pub fn label(&self) -> &'static str {
        match self {
            Self::Sqlite => "SQLite",
            Self::Postgres { .. } => "PostgreSQL",
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Self::Postgres { .. })
    }

    /// One line for the report's header.
    pub fn describe(&self) -> String {
        match self {
            Self::Sqlite => "SQLite, a fresh file per database size".into(),
            Self::Postgres { url } => format!(
                "PostgreSQL {} at {}, a fresh database per size (neptun_bench_PID_USERS) beside it, dropped at the end unless --keep; the server's pool and the database ceilings use {} connections",
                postgres::server_version(url)
                    .unwrap_or_else(|err| format!("(version unknown: {err:#})")),
                postgres::without_password(url),
                postgres::CONNECTIONS,
            ),
        }
    }

    /// A fresh, empty database for `users` users; files go to `folder`.
    pub fn create(&self, folder: &Path, users: u32) -> anyhow::Result<Database> {
        match self {
            Self::Sqlite => Ok(Database::Sqlite {
                file: folder.join("accounts.db"),
            }),
            Self::Postgres { url } => {
                // Every instance on one database seals with the same key.
                let key_file = folder.join("server.key");
                ServerKey::load_or_create(&key_file)?;
                Ok(Database::Postgres {
                    database: BenchDatabase::create(url, users)?,
                    key_file,
                })
            }
        }
    }
}

/// One database size's database.
pub enum Database {
    Sqlite {
        file: PathBuf,
    },
    Postgres {
        database: BenchDatabase,
        key_file: PathBuf,
    },
}

impl Database {
    /// The SQLite file, which the server maps into memory to read it.
    pub fn sqlite_file(&self) -> Option<&Path> {
        match self {
            Self::Sqlite { file } => Some(file),
            Self::Postgres { .. } => None,
        }
    }

    /// The server's flags that choose this database.
    pub fn server_args(&self) -> Vec<String> {
        match self {
            Self::Sqlite { file } => vec![
                "--database-url".into(),
                format!("sqlite://{}", file.display()),
            ],
            Self::Postgres { database, key_file } => vec![
                "--database-url".into(),
                database.url.clone(),
                "--database-max-connections".into(),
                postgres::CONNECTIONS.to_string(),
                "--secret-key-file".into(),
                key_file.display().to_string(),
            ],
        }
    }

    /// Seeds the migrated database (see [`seed::seed`]); the time taken.
    pub fn seed(
        &self,
        accounts: &Accounts,
        password_hash: &str,
        seen_ahead: Duration,
    ) -> anyhow::Result<Duration> {
        match self {
            Self::Sqlite { file } => seed::seed(file, accounts, password_hash, seen_ahead),
            Self::Postgres { database, .. } => {
                postgres::seed(&database.url, accounts, password_hash, seen_ahead)
            }
        }
    }

    /// The raw session read ceiling.
    pub fn session_read(&self, accounts: &Accounts, duration: Duration) -> anyhow::Result<Rate> {
        match self {
            Self::Sqlite { file } => ceilings::session_read(file.clone(), accounts, duration),
            Self::Postgres { database, .. } => {
                postgres_ceilings::session_read(&database.url, accounts, duration)
            }
        }
    }

    /// The raw PATCH transaction ceilings; takes the changed users back.
    pub fn patch_transaction(
        &self,
        accounts: &mut Accounts,
        duration: Duration,
        seen_at_ms: i64,
    ) -> anyhow::Result<PatchCeilings> {
        match self {
            Self::Sqlite { file } => {
                let (one_each, page_cache) =
                    ceilings::patch_transaction(file.clone(), accounts, duration, seen_at_ms, 1)?;
                let (grouped, _) = ceilings::patch_transaction(
                    file.clone(),
                    accounts,
                    duration,
                    seen_at_ms,
                    ceilings::WRITES_PER_COMMIT,
                )?;
                Ok(PatchCeilings {
                    one_each,
                    grouped: Some(grouped),
                    page_cache: Some(page_cache),
                })
            }
            Self::Postgres { database, .. } => Ok(PatchCeilings {
                one_each: postgres_ceilings::patch_transaction(
                    &database.url,
                    accounts,
                    duration,
                    seen_at_ms,
                )?,
                grouped: None,
                page_cache: None,
            }),
        }
    }

    /// Removes what lives outside the run's folder (the PostgreSQL
    /// database), unless kept; says where it is when kept.
    pub fn finish(&self, keep: bool) -> anyhow::Result<()> {
        match self {
            Self::Sqlite { .. } => Ok(()),
            Self::Postgres { database, .. } if keep => {
                crate::progress(&format!("kept the database {}", database.name));
                Ok(())
            }
            Self::Postgres { database, .. } => database.drop_database(),
        }
    }
}

/// The PATCH transaction's ceilings on one database size.
pub struct PatchCeilings {
    /// One commit per change.
    pub one_each: Rate,
    /// Changes sharing commits as the SQLite writer groups them.
    pub grouped: Option<Rate>,
    /// The SQLite page cache over the one-commit-each window.
    pub page_cache: Option<PageCache>,
}

impl PatchCeilings {
    /// What PATCH email is held to: the writer's best, grouped when it groups.
    pub fn held_to(&self) -> Rate {
        self.grouped.unwrap_or(self.one_each)
    }
}
