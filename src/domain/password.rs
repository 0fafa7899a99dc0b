//! Passwords as received: a redacting wrapper and the policy for new ones
//! (contract section 1 lengths, counted in Unicode scalar values and never
//! trimmed, and the optional blocklist of section 5).

use std::fmt;
use std::sync::Arc;

use super::password_blocklist::PasswordBlocklist;

/// The contract's default shortest password for sign-up and change.
pub const DEFAULT_MIN_LENGTH: usize = 8;
/// The longest password accepted anywhere; it also bounds the hashing work.
pub const MAX_LENGTH: usize = 256;

/// A password exactly as the client sent it. `Debug` never shows it.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub fn new(raw: String) -> Self {
        Self(raw)
    }

    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// Why a password is refused by a [`PasswordPolicy`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasswordError {
    TooShort {
        minimum: usize,
    },
    TooLong {
        maximum: usize,
    },
    /// On the blocklist of common passwords.
    TooCommon,
}

/// What a password must satisfy.
#[derive(Clone, Debug)]
pub struct PasswordPolicy {
    pub min_length: usize,
    pub max_length: usize,
    /// Never applied at login.
    pub blocklist: Option<Arc<PasswordBlocklist>>,
}

impl PasswordPolicy {
    /// For new passwords (sign-up, change).
    pub fn for_new_passwords(min_length: usize, blocklist: Option<Arc<PasswordBlocklist>>) -> Self {
        Self {
            min_length,
            max_length: MAX_LENGTH,
            blocklist,
        }
    }

    /// For login: any non-empty password up to the maximum, so that raising the
    /// minimum later never locks out an account whose password predates it.
    pub fn for_login() -> Self {
        Self {
            min_length: 1,
            max_length: MAX_LENGTH,
            blocklist: None,
        }
    }

    pub fn check(&self, candidate: &str) -> Result<(), PasswordError> {
        let length = candidate.chars().count();
        if length < self.min_length {
            Err(PasswordError::TooShort {
                minimum: self.min_length,
            })
        } else if length > self.max_length {
            Err(PasswordError::TooLong {
                maximum: self.max_length,
            })
        } else if self
            .blocklist
            .as_ref()
            .is_some_and(|list| list.contains(candidate))
        {
            Err(PasswordError::TooCommon)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_unicode_scalar_values_not_bytes() {
        let policy = PasswordPolicy::for_new_passwords(8, None);
        assert_eq!(
            policy.check("ünïcödé"),
            Err(PasswordError::TooShort { minimum: 8 })
        );
        assert_eq!(policy.check("ünïcödéß"), Ok(()));
        assert_eq!(policy.check(&"€".repeat(256)), Ok(()));
        assert_eq!(
            policy.check(&"€".repeat(257)),
            Err(PasswordError::TooLong { maximum: 256 })
        );
    }

    #[test]
    fn never_trims_so_spaces_count() {
        let policy = PasswordPolicy::for_new_passwords(8, None);
        assert_eq!(policy.check("       x"), Ok(()));
        assert!(policy.check("  abc  ").is_err());
    }

    #[test]
    fn login_accepts_any_non_empty_password_up_to_the_maximum() {
        let policy = PasswordPolicy::for_login();
        assert_eq!(policy.check("x"), Ok(()));
        assert_eq!(
            policy.check(""),
            Err(PasswordError::TooShort { minimum: 1 })
        );
    }

    #[test]
    fn a_blocklisted_password_is_too_common_for_new_passwords_only() {
        let blocklist = Some(Arc::new(PasswordBlocklist::common()));
        let policy = PasswordPolicy::for_new_passwords(8, blocklist);
        assert_eq!(policy.check("Password123"), Err(PasswordError::TooCommon));
        assert_eq!(
            policy.check("short"),
            Err(PasswordError::TooShort { minimum: 8 })
        );
        assert_eq!(policy.check("correct horse battery staple"), Ok(()));
        assert_eq!(PasswordPolicy::for_login().check("password123"), Ok(()));
    }

    #[test]
    fn debug_output_hides_the_password() {
        let shown = format!("{:?}", Password::new("hunter22".into()));
        assert!(!shown.contains("hunter22"));
    }
}
