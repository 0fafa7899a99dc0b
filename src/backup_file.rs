//! Where `neptun-accounts backup` writes: never through a symlink, never
//! over an existing file unless told to (`--force`), and never readable by
//! others whatever the umask. The copy is made in a private file beside the
//! destination and moved into place at the end, so a reader never sees half
//! a backup and a forced replacement is atomic.

use std::fs::{File, OpenOptions};
use std::io::ErrorKind;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

/// Owner read and write only.
pub const OWNER_ONLY: u32 = 0o600;

/// Why a backup destination cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BackupFileError(String);

/// A backup on its way to `destination`.
pub struct BackupFile {
    destination: PathBuf,
    partial: PathBuf,
    replace: bool,
}

impl BackupFile {
    /// Checks `destination` and creates the private partial file beside it.
    pub fn prepare(destination: &Path, replace: bool) -> Result<Self, BackupFileError> {
        refuse_existing(destination, replace)?;
        let name = destination
            .file_name()
            .ok_or_else(|| fail(destination, "is not a file name"))?;
        let mut partial_name = std::ffi::OsString::from(".");
        partial_name.push(name);
        partial_name.push(format!(".partial-{}", std::process::id()));
        let partial = destination.with_file_name(partial_name);
        // create_new: never follows a symlink planted at the partial name.
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(OWNER_ONLY)
            .open(&partial)
            .map_err(|err| fail(&partial, &format!("cannot be created: {err}")))?;
        Ok(Self {
            destination: destination.to_owned(),
            partial,
            replace,
        })
    }

    /// The file the database is copied into.
    pub fn partial(&self) -> &Path {
        &self.partial
    }

    /// Flushes the copy to disk and moves it to the destination: over an
    /// existing file only when replacing, and never through a symlink.
    pub fn publish(self) -> Result<(), BackupFileError> {
        let synced = File::open(&self.partial).and_then(|file| file.sync_all());
        synced.map_err(|err| fail(&self.partial, &format!("cannot be synced: {err}")))?;
        refuse_existing(&self.destination, self.replace)?;
        if self.replace {
            // rename replaces a symlink itself, never its target.
            std::fs::rename(&self.partial, &self.destination)
                .map_err(|err| fail(&self.destination, &format!("cannot be replaced: {err}")))?;
        } else {
            // A hard link fails if the name exists meanwhile: no overwrite race.
            std::fs::hard_link(&self.partial, &self.destination).map_err(|err| {
                match err.kind() {
                    ErrorKind::AlreadyExists => exists(&self.destination),
                    _ => fail(&self.destination, &format!("cannot be written: {err}")),
                }
            })?;
            let _ = std::fs::remove_file(&self.partial);
        }
        if let Some(folder) = self
            .destination
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
        {
            let _ = File::open(folder).and_then(|folder| folder.sync_all());
        }
        Ok(())
    }
}

impl Drop for BackupFile {
    /// A backup that failed leaves nothing behind.
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.partial);
    }
}

fn refuse_existing(destination: &Path, replace: bool) -> Result<(), BackupFileError> {
    match std::fs::symlink_metadata(destination) {
        Err(err) if err.kind() == ErrorKind::NotFound => Ok(()),
        Err(err) => Err(fail(destination, &format!("cannot be inspected: {err}"))),
        Ok(found) if found.file_type().is_symlink() => Err(fail(
            destination,
            "is a symbolic link; back up to a plain path",
        )),
        Ok(found) if !found.is_file() => Err(fail(destination, "exists and is not a file")),
        Ok(_) if replace => Ok(()),
        Ok(_) => Err(exists(destination)),
    }
}

fn exists(destination: &Path) -> BackupFileError {
    fail(
        destination,
        "exists; back up to a new file, or pass --force to replace it",
    )
}

fn fail(path: &Path, reason: &str) -> BackupFileError {
    BackupFileError(format!("{} {reason}", path.display()))
}
