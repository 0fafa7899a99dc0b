//! Session tokens: 256 bits from the OS CSPRNG, base64url without padding in
//! the cookie, and only their SHA-256 in the database.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};

const TOKEN_BYTES: usize = 32;
/// Base64url length of 32 bytes without padding.
const TOKEN_TEXT_LENGTH: usize = 43;

/// The secret a client holds. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionToken(String);

/// What the database keeps instead of the token.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionTokenHash(pub [u8; 32]);

impl SessionToken {
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut bytes = [0_u8; TOKEN_BYTES];
        getrandom::fill(&mut bytes)?;
        Ok(Self(URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// Accepts a cookie value only if it has the shape of a token we issue, so
    /// junk never reaches the database.
    pub fn parse(cookie_value: &str) -> Option<Self> {
        if cookie_value.len() != TOKEN_TEXT_LENGTH {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(cookie_value).ok()?;
        (bytes.len() == TOKEN_BYTES).then(|| Self(cookie_value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> SessionTokenHash {
        SessionTokenHash(Sha256::digest(self.0.as_bytes()).into())
    }
}

impl fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionToken(<redacted>)")
    }
}

impl fmt::Debug for SessionTokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionTokenHash(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_43_base64url_characters_and_unique() {
        let first = SessionToken::generate().unwrap();
        let second = SessionToken::generate().unwrap();
        assert_eq!(first.as_str().len(), 43);
        assert!(
            first
                .as_str()
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_ne!(first, second);
        assert_ne!(first.hash(), second.hash());
    }

    #[test]
    fn parse_accepts_issued_tokens_and_refuses_other_shapes() {
        let token = SessionToken::generate().unwrap();
        assert_eq!(SessionToken::parse(token.as_str()), Some(token.clone()));
        assert_eq!(SessionToken::parse(""), None);
        assert_eq!(SessionToken::parse(&"a".repeat(44)), None);
        assert_eq!(
            SessionToken::parse(&format!("{}=", &token.as_str()[..42])),
            None
        );
        assert_eq!(SessionToken::parse(&"!".repeat(43)), None);
    }

    #[test]
    fn the_hash_is_the_sha256_of_the_token_text() {
        let token = SessionToken::parse("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").unwrap();
        let expected: [u8; 32] = Sha256::digest(token.as_str().as_bytes()).into();
        assert_eq!(token.hash().0, expected);
    }
}
