//! Opening SQLite connections with the store's settings, and the small pool
//! of read connections.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags};
use tokio::sync::Semaphore;

use crate::config::SqliteSynchronous;
use crate::store::{SqliteTuning, StoreError};

/// How long a connection waits for another process's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Read connections kept open; reads beyond this wait for one.
pub const READ_CONNECTIONS: usize = 4;

/// Creates the database file owner-only (0600) when it does not exist yet.
/// SQLite would create it 0644 less the umask, and gives its `-wal` and
/// `-shm` files the mode of the database file, so this covers all three. An
/// existing file keeps the mode its operator gave it; a missing folder is
/// left for the open to report.
pub fn create_owner_only(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let created = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(crate::backup_file::OWNER_ONLY)
        .open(path);
    match created {
        Ok(_) => Ok(()),
        Err(err)
            if matches!(
                err.kind(),
                std::io::ErrorKind::AlreadyExists | std::io::ErrorKind::NotFound
            ) =>
        {
            Ok(())
        }
        Err(err) => Err(err),
    }
}

/// Opens a read-write connection with WAL-friendly settings.
pub fn open(path: &Path, tuning: SqliteTuning) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let connection = Connection::open_with_flags(path, flags)?;
    connection.busy_timeout(BUSY_TIMEOUT)?;
    connection.pragma_update(None, "foreign_keys", true)?;
    let synchronous = match tuning.synchronous {
        SqliteSynchronous::Normal => "NORMAL",
        SqliteSynchronous::Full => "FULL",
    };
    connection.pragma_update(None, "synchronous", synchronous)?;
    connection.set_prepared_statement_cache_capacity(32);
    // SQLite re-plans a statement whenever a bound value it peeked at while
    // planning changes (the session read's token, on every call): the
    // parser and planner ran again for each check. The query planner
    // stability guarantee plans once, from the statement alone.
    connection.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    // A page read through the map is a memory access; without it, every
    // page not in this connection's 2 MiB cache is a pread copying 4 KiB.
    // On a million sessions (135 MiB of leaves) that was most checks: they
    // cost 1.6 times what they cost on a thousand. Only reads use the map
    // (SQLite writes with pwrite), and its pages are the kernel's page
    // cache, which held them before too.
    connection.pragma_update(None, "mmap_size", i64::from(tuning.mmap_mib) << 20)?;
    Ok(connection)
}

/// Read connections, opened on demand and reused; at most
/// [`READ_CONNECTIONS`] in use at once.
pub struct ReadPool {
    path: std::path::PathBuf,
    tuning: SqliteTuning,
    idle: Mutex<Vec<Connection>>,
    permits: Arc<Semaphore>,
}

impl ReadPool {
    pub fn new(path: std::path::PathBuf, tuning: SqliteTuning) -> Self {
        Self {
            path,
            tuning,
            idle: Mutex::new(Vec::with_capacity(READ_CONNECTIONS)),
            permits: Arc::new(Semaphore::new(READ_CONNECTIONS)),
        }
    }

    pub fn capacity(&self) -> usize {
        READ_CONNECTIONS
    }

    /// Read connections working now.
    pub fn in_use(&self) -> usize {
        READ_CONNECTIONS - self.permits.available_permits()
    }

    /// Runs `query` on a read connection: in place when one is open, on a
    /// blocking thread when one must be opened first.
    ///
    /// The service's reads are point lookups by key that take 10–30 µs from
    /// the page cache, less than the hop to a blocking thread and back; in
    /// WAL mode a reader never waits for the writer. So they run on the
    /// async thread, like any other short piece of CPU work.
    pub async fn read<T, F>(self: &Arc<Self>, query: F) -> Result<T, StoreError>
    where
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|err| StoreError::Database(err.to_string()))?;
        let idle = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        if let Some(connection) = idle {
            let result = query(&connection);
            self.checkin(connection);
            drop(permit);
            return result;
        }
        let pool = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let connection = pool.checkout()?;
            let result = query(&connection);
            pool.checkin(connection);
            result
        })
        .await
        .map_err(|err| StoreError::Database(err.to_string()))?
    }

    fn checkout(&self) -> Result<Connection, StoreError> {
        let reused = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        match reused {
            Some(connection) => Ok(connection),
            None => {
                let connection = open(&self.path, self.tuning)?;
                // A read connection must never write, whatever a bug asks of it.
                connection.pragma_update(None, "query_only", true)?;
                Ok(connection)
            }
        }
    }

    fn checkin(&self, connection: Connection) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(connection);
        }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(err: rusqlite::Error) -> Self {
        const UNIQUE: std::ffi::c_int = rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE;
        const FOREIGN_KEY: std::ffi::c_int = rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY;
        if let rusqlite::Error::SqliteFailure(failure, message) = &err {
            let on_email = message
                .as_deref()
                .is_some_and(|text| text.contains("users.email"));
            if failure.extended_code == UNIQUE && on_email {
                return Self::EmailTaken;
            }
            let on_credential = message
                .as_deref()
                .is_some_and(|text| text.contains("passkeys.credential_id"));
            if failure.extended_code == UNIQUE && on_credential {
                return Self::PasskeyTaken;
            }
            let on_identity = message
                .as_deref()
                .is_some_and(|text| text.contains("identities.provider"));
            if failure.extended_code == UNIQUE && on_identity {
                return Self::IdentityTaken;
            }
            if failure.extended_code == FOREIGN_KEY {
                return Self::UserNotFound;
            }
        }
        Self::Database(err.to_string())
    }
}
