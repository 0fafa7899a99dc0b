//! One-time password reset codes (contract section 10): decimal digits from
//! the OS CSPRNG, stored only as an HMAC under the server key, a few wrong
//! tries per code and per account.

use std::time::Duration;

use super::email::Email;
use super::server_key::ServerKey;

/// Digits of a code by default (NEPTUN's), and under `--strict`.
pub const DEFAULT_DIGITS: u32 = 5;
pub const STRICT_DIGITS: u32 = 8;
/// How long a code may be used, by default.
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(10 * 60);
/// Wrong tries that void a code.
pub const TRIES_PER_CODE: u32 = 5;
/// Wrong tries an account allows in `FAILURE_WINDOW`, whatever the codes.
pub const TRIES_PER_ACCOUNT: u32 = 10;
pub const FAILURE_WINDOW: Duration = Duration::from_secs(24 * 3600);
/// Codes an account may be sent per `CODE_WINDOW`.
pub const CODES_PER_WINDOW: u32 = 3;
pub const CODE_WINDOW: Duration = Duration::from_secs(3600);

/// A freshly generated code; `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct ResetCode(String);

impl std::fmt::Debug for ResetCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ResetCode(<redacted>)")
    }
}

impl ResetCode {
    /// `digits` decimal digits, each uniform (rejection sampling).
    pub fn generate(digits: u32) -> Result<Self, getrandom::Error> {
        let mut code = String::with_capacity(digits as usize);
        while code.len() < digits as usize {
            let mut byte = [0_u8; 1];
            getrandom::fill(&mut byte)?;
            // 250 = 25 × 10: bytes from 250 up would favour 0–5.
            if byte[0] < 250 {
                code.push(char::from(b'0' + byte[0] % 10));
            }
        }
        Ok(Self(code))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What the database keeps of a code: its HMAC, bound to the email.
pub fn code_mac(key: &ServerKey, email: &Email, code: &str) -> [u8; 32] {
    key.mac(&[
        b"password-reset-code",
        email.as_str().as_bytes(),
        code.as_bytes(),
    ])
}

/// A submitted code has the shape of one we send: `digits` decimal digits.
pub fn is_well_formed(code: &str, digits: u32) -> bool {
    code.len() == digits as usize && code.bytes().all(|byte| byte.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_the_asked_digits_and_vary() {
        let codes: Vec<String> = (0..50).map(|_| ResetCode::generate(5).unwrap().0).collect();
        assert!(codes.iter().all(|code| is_well_formed(code, 5)));
        let distinct: std::collections::HashSet<_> = codes.iter().collect();
        assert!(distinct.len() > 40, "{distinct:?}");
        assert!(is_well_formed(ResetCode::generate(8).unwrap().as_str(), 8));
        assert!(!is_well_formed("1234", 5) && !is_well_formed("12a45", 5));
    }

    #[test]
    fn a_code_mac_is_bound_to_its_email() {
        let key = ServerKey::from_bytes([3; 32]);
        let ada = Email::parse("ada@example.com").unwrap();
        let bob = Email::parse("bob@example.com").unwrap();
        assert_eq!(code_mac(&key, &ada, "12345"), code_mac(&key, &ada, "12345"));
        assert_ne!(code_mac(&key, &ada, "12345"), code_mac(&key, &bob, "12345"));
        assert_ne!(code_mac(&key, &ada, "12345"), code_mac(&key, &ada, "12346"));
    }
}
