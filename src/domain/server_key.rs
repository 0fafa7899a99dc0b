//! The server key (contract part two): 32 random bytes that seal what the
//! service must read back (the codes and links in unsent mail) with
//! XChaCha20-Poly1305, and key the HMAC under which it stores what it only
//! compares (password reset codes). Loaded from `--secret-key-file`, or,
//! for SQLite, created beside the database with mode 0600 on first start.

use std::io::Write as _;
use std::path::Path;

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;

const KEY_BYTES: usize = 32;
const NONCE_BYTES: usize = 24;

/// Why the key could not be had.
#[derive(Debug, thiserror::Error)]
pub enum ServerKeyError {
    #[error("cannot read the server key {path}: {reason}")]
    Unreadable { path: String, reason: String },
    #[error("the server key {path} must hold exactly 32 bytes (it holds {found})")]
    WrongLength { path: String, found: usize },
    #[error("cannot create the server key {path}: {reason}")]
    Uncreatable { path: String, reason: String },
    #[error("cannot make randomness: {0}")]
    Random(String),
}

/// Sealed data that this key cannot open (another key, or tampering).
#[derive(Debug, thiserror::Error)]
#[error("sealed data does not open with this server key")]
pub struct Unsealable;

/// The key; `Debug` never shows it.
#[derive(Clone)]
pub struct ServerKey([u8; KEY_BYTES]);

impl std::fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerKey(<redacted>)")
    }
}

impl ServerKey {
    /// Reads the key at `path`.
    pub fn load(path: &Path) -> Result<Self, ServerKeyError> {
        let shown = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|err| ServerKeyError::Unreadable {
            path: shown.clone(),
            reason: err.to_string(),
        })?;
        let key: [u8; KEY_BYTES] =
            bytes
                .as_slice()
                .try_into()
                .map_err(|_| ServerKeyError::WrongLength {
                    path: shown,
                    found: bytes.len(),
                })?;
        Ok(Self(key))
    }

    /// Reads the key at `path`, or creates it (0600, never overwriting a
    /// file that appears meanwhile) when there is none.
    pub fn load_or_create(path: &Path) -> Result<Self, ServerKeyError> {
        if path.exists() {
            return Self::load(path);
        }
        let mut key = [0_u8; KEY_BYTES];
        getrandom::fill(&mut key).map_err(|err| ServerKeyError::Random(err.to_string()))?;
        let created = create_owner_only(path).and_then(|mut file| {
            file.write_all(&key)?;
            file.sync_all()
        });
        match created {
            Ok(()) => Ok(Self(key)),
            // Another process created it first: use theirs.
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => Self::load(path),
            Err(err) => Err(ServerKeyError::Uncreatable {
                path: path.display().to_string(),
                reason: err.to_string(),
            }),
        }
    }

    /// A key from raw bytes (tests, key rotation tools).
    pub fn from_bytes(bytes: [u8; KEY_BYTES]) -> Self {
        Self(bytes)
    }

    /// `nonce || ciphertext` of `plaintext`; a fresh random nonce each time.
    pub fn seal(&self, plaintext: &[u8]) -> Result<Vec<u8>, ServerKeyError> {
        let mut nonce = [0_u8; NONCE_BYTES];
        getrandom::fill(&mut nonce).map_err(|err| ServerKeyError::Random(err.to_string()))?;
        let cipher = XChaCha20Poly1305::new((&self.0).into());
        let sealed = cipher
            .encrypt(&XNonce::from(nonce), plaintext)
            .map_err(|_| ServerKeyError::Random("encryption failed".into()))?;
        let mut out = Vec::with_capacity(NONCE_BYTES + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// The plaintext of what [`ServerKey::seal`] made with this key.
    pub fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, Unsealable> {
        if sealed.len() < NONCE_BYTES {
            return Err(Unsealable);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_BYTES);
        let nonce = XNonce::try_from(nonce).map_err(|_| Unsealable)?;
        XChaCha20Poly1305::new((&self.0).into())
            .decrypt(&nonce, ciphertext)
            .map_err(|_| Unsealable)
    }

    /// HMAC-SHA-256 of the parts, each length-prefixed so that no two
    /// different lists of parts give the same input.
    pub fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(&self.0)
            .expect("HMAC takes keys of any length");
        for part in parts {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }
}

#[cfg(unix)]
fn create_owner_only(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn create_owner_only(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_data_opens_with_its_key_only() {
        let key = ServerKey::from_bytes([7; 32]);
        let sealed = key.seal(b"a reset code").unwrap();
        assert_ne!(&sealed[NONCE_BYTES..], b"a reset code");
        assert_eq!(key.open(&sealed).unwrap(), b"a reset code");
        assert!(ServerKey::from_bytes([8; 32]).open(&sealed).is_err());
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(key.open(&tampered).is_err());
        assert_ne!(key.seal(b"a reset code").unwrap(), sealed, "fresh nonce");
    }

    #[test]
    fn macs_depend_on_the_key_and_on_how_parts_are_split() {
        let key = ServerKey::from_bytes([1; 32]);
        assert_eq!(key.mac(&[b"a", b"bc"]), key.mac(&[b"a", b"bc"]));
        assert_ne!(key.mac(&[b"a", b"bc"]), key.mac(&[b"ab", b"c"]));
        assert_ne!(
            key.mac(&[b"a"]),
            ServerKey::from_bytes([2; 32]).mac(&[b"a"])
        );
    }

    #[test]
    fn a_created_key_is_owner_only_and_read_back() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("neptun-accounts.key");
        let created = ServerKey::load_or_create(&path).unwrap();
        let loaded = ServerKey::load_or_create(&path).unwrap();
        assert_eq!(created.0, loaded.0);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, b"short").unwrap();
        assert!(matches!(
            ServerKey::load(&path),
            Err(ServerKeyError::WrongLength { found: 5, .. })
        ));
    }
}
