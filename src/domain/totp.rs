//! The second factor (contract section 15): RFC 6238 time-based codes
//! (SHA-1, 6 digits, 30-second steps, one step either side) over a secret
//! sealed with the server key, single-use recovery codes stored as an HMAC,
//! and the browser binding of a sign-in challenge. No HTTP, no SQL: the
//! store advances the last used step atomically, this module only says
//! which step a code belongs to.

use std::time::Duration;

use subtle::ConstantTimeEq as _;
use totp_rs::{Algorithm, TOTP};

use super::server_key::{ServerKey, ServerKeyError, Unsealable};
use super::time::Timestamp;
use super::user::UserId;

/// Digits of a code, and seconds in a step: the authenticator apps' defaults.
pub const DIGITS: usize = 6;
pub const STEP_SECS: u64 = 30;
/// Steps accepted either side of the current one (clock drift, typing time).
const SKEW_STEPS: i64 = 1;
/// 160 bits, RFC 4226's recommended secret length.
const SECRET_BYTES: usize = 20;
/// How long an enrolment waits for its confirming code.
pub const ENROLMENT_LIFETIME: Duration = Duration::from_secs(10 * 60);
/// How long a sign-in challenge lives, and how many wrong codes it takes.
pub const CHALLENGE_LIFETIME: Duration = Duration::from_secs(5 * 60);
pub const CHALLENGE_MAX_FAILURES: i64 = 5;
/// Recovery codes issued at once.
pub const RECOVERY_CODE_COUNT: usize = 10;
/// Characters of a recovery code, without its separator: 10 × 5 bits.
const RECOVERY_CODE_CHARS: usize = 10;
/// Lowercase RFC 4648 base32: no `0`/`1`, so nothing reads as `o` or `l`.
const RECOVERY_ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
/// The name authenticator apps show above the account.
pub const ISSUER: &str = "neptun-accounts";

/// Why a secret could not be made or read back.
#[derive(Debug, thiserror::Error)]
pub enum TotpError {
    #[error(transparent)]
    Key(#[from] ServerKeyError),
    #[error(transparent)]
    Unsealable(#[from] Unsealable),
    #[error("the TOTP parameters were refused: {0}")]
    Parameters(String),
}

/// A TOTP secret in the clear; `Debug` never shows it.
#[derive(Clone)]
pub struct TotpSecret(Vec<u8>);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(<redacted>)")
    }
}

impl TotpSecret {
    /// 160 random bits from the OS.
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut bytes = vec![0_u8; SECRET_BYTES];
        getrandom::fill(&mut bytes)?;
        Ok(Self(bytes))
    }

    /// What the database keeps: the secret sealed with the server key.
    pub fn seal(&self, key: &ServerKey) -> Result<Vec<u8>, TotpError> {
        Ok(key.seal(&self.0)?)
    }

    /// The secret that [`TotpSecret::seal`] sealed with this key.
    pub fn open(key: &ServerKey, sealed: &[u8]) -> Result<Self, TotpError> {
        Ok(Self(key.open(sealed)?))
    }

    fn totp(&self, account: &str) -> Result<TOTP, TotpError> {
        TOTP::new(
            Algorithm::SHA1,
            DIGITS,
            1,
            STEP_SECS,
            self.0.clone(),
            Some(ISSUER.to_owned()),
            account.to_owned(),
        )
        .map_err(|err| TotpError::Parameters(err.to_string()))
    }

    /// The secret as authenticator apps take it typed in: base32, no padding.
    pub fn base32(&self) -> Result<String, TotpError> {
        Ok(self.totp("")?.get_secret_base32())
    }

    /// `otpauth://totp/ISSUER:ACCOUNT?secret=…&issuer=…`, for a QR code.
    pub fn otpauth_uri(&self, account: &str) -> Result<String, TotpError> {
        Ok(self.totp(account)?.get_url())
    }

    /// The step, within one either side of `now`'s, whose code is `code`;
    /// every candidate is compared in constant time. Whether that step was
    /// used already is the store's to decide, atomically.
    pub fn matching_step(&self, code: &TotpCode, now: Timestamp) -> Result<Option<i64>, TotpError> {
        let totp = self.totp("")?;
        let current = step_of(now);
        let mut matched = None;
        for step in (current - SKEW_STEPS)..=(current + SKEW_STEPS) {
            let Ok(step_start) = u64::try_from(step) else {
                continue;
            };
            let expected = totp.generate(step_start * STEP_SECS);
            if bool::from(expected.as_bytes().ct_eq(code.0.as_bytes())) && matched.is_none() {
                matched = Some(step);
            }
        }
        Ok(matched)
    }
}

/// The 30-second step `at` falls in.
pub fn step_of(at: Timestamp) -> i64 {
    at.as_millis().div_euclid(1000) / STEP_SECS as i64
}

/// A code as typed: exactly six ASCII digits.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpCode(String);

impl std::fmt::Debug for TotpCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpCode(<redacted>)")
    }
}

impl TotpCode {
    pub fn parse(text: &str) -> Option<Self> {
        (text.len() == DIGITS && text.bytes().all(|byte| byte.is_ascii_digit()))
            .then(|| Self(text.to_owned()))
    }
}

/// A recovery code: ten base32 characters, shown as `xxxxx-xxxxx`.
#[derive(Clone, PartialEq, Eq)]
pub struct RecoveryCode(String);

impl std::fmt::Debug for RecoveryCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecoveryCode(<redacted>)")
    }
}

impl RecoveryCode {
    /// A new code, each character uniform from the OS CSPRNG (50 bits).
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut bytes = [0_u8; RECOVERY_CODE_CHARS];
        getrandom::fill(&mut bytes)?;
        let code = bytes
            .iter()
            .map(|byte| char::from(RECOVERY_ALPHABET[usize::from(byte % 32)]))
            .collect();
        Ok(Self(code))
    }

    /// The ten codes of one issue.
    pub fn generate_set() -> Result<Vec<Self>, getrandom::Error> {
        (0..RECOVERY_CODE_COUNT).map(|_| Self::generate()).collect()
    }

    /// A code as typed: case, spaces and dashes do not matter.
    pub fn parse(text: &str) -> Option<Self> {
        let normalised: String = text
            .chars()
            .filter(|c| *c != '-' && *c != ' ')
            .map(|c| c.to_ascii_lowercase())
            .collect();
        let valid = normalised.len() == RECOVERY_CODE_CHARS
            && normalised
                .bytes()
                .all(|byte| RECOVERY_ALPHABET.contains(&byte));
        valid.then_some(Self(normalised))
    }

    /// How the owner sees it: `abcde-fghij`.
    pub fn display(&self) -> String {
        let (first, second) = self.0.split_at(RECOVERY_CODE_CHARS / 2);
        format!("{first}-{second}")
    }

    /// What the database keeps. A code carries 50 random bits and the MAC is
    /// keyed with the server key, so a stolen database alone cannot be
    /// searched for codes; a slow hash (Argon2) would add nothing but load.
    /// Bound to the user, so one user's code hash is no other user's.
    pub fn hash(&self, key: &ServerKey, user_id: &UserId) -> RecoveryCodeHash {
        RecoveryCodeHash(key.mac(&[
            b"recovery-code",
            user_id.as_str().as_bytes(),
            self.0.as_bytes(),
        ]))
    }
}

/// The stored form of a recovery code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecoveryCodeHash(pub [u8; 32]);

impl RecoveryCodeHash {
    /// The position in `stored` of the hash equal to this one, every entry
    /// compared in constant time.
    pub fn position_in(&self, stored: &[Vec<u8>]) -> Option<usize> {
        let mut found = None;
        for (index, candidate) in stored.iter().enumerate() {
            if bool::from(candidate.as_slice().ct_eq(&self.0)) && found.is_none() {
                found = Some(index);
            }
        }
        found
    }
}

/// What binds a sign-in challenge to one browser: the SHA-256 of a value
/// only that browser holds (the provider flow's cookie). A challenge made
/// with one is dead to a request that does not present the same.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BrowserBinding(pub [u8; 32]);

impl BrowserBinding {
    /// The binding of a browser-held value, such as a flow cookie.
    pub fn of(value: &str) -> Self {
        use sha2::Digest as _;
        Self(sha2::Sha256::digest(value.as_bytes()).into())
    }

    /// Whether a request presenting `presented` may use a challenge bound
    /// to `required` (`None`: bound to no browser, so any may).
    pub fn admits(required: Option<&Self>, presented: Option<&Self>) -> bool {
        match (required, presented) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(required), Some(presented)) => bool::from(required.0.ct_eq(&presented.0)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B's SHA-1 key, and its 8-digit values cut to 6.
    const RFC_KEY: &[u8] = b"12345678901234567890";

    fn code(text: &str) -> TotpCode {
        TotpCode::parse(text).unwrap()
    }

    #[test]
    fn codes_match_the_rfc_6238_test_vectors_and_their_neighbours() {
        let secret = TotpSecret(RFC_KEY.to_vec());
        let at = Timestamp::from_millis(59_000);
        assert_eq!(secret.matching_step(&code("287082"), at).unwrap(), Some(1));
        let at = Timestamp::from_millis(1_111_111_109_000);
        assert_eq!(
            secret.matching_step(&code("081804"), at).unwrap(),
            Some(37_037_036)
        );
        let next_step = Timestamp::from_millis(1_111_111_109_000 + 30_000);
        assert_eq!(
            secret.matching_step(&code("081804"), next_step).unwrap(),
            Some(37_037_036),
            "one step late is accepted"
        );
        let two_late = Timestamp::from_millis(1_111_111_109_000 + 60_000);
        assert_eq!(
            secret.matching_step(&code("081804"), two_late).unwrap(),
            None
        );
    }

    #[test]
    fn only_six_digits_parse_as_a_code() {
        for bad in ["", "12345", "1234567", "12345a", " 123456", "１２３４５６"] {
            assert!(TotpCode::parse(bad).is_none(), "{bad:?}");
        }
        assert!(TotpCode::parse("000000").is_some());
    }

    #[test]
    fn secrets_seal_and_open_and_give_an_otpauth_uri() {
        let key = ServerKey::from_bytes([5; 32]);
        let secret = TotpSecret::generate().unwrap();
        let sealed = secret.seal(&key).unwrap();
        let base32 = secret.base32().unwrap();
        assert_eq!(base32.len(), 32);
        assert!(
            !sealed
                .windows(SECRET_BYTES)
                .any(|w| w == secret.0.as_slice())
        );
        let opened = TotpSecret::open(&key, &sealed).unwrap();
        assert_eq!(opened.0, secret.0);
        let uri = secret.otpauth_uri("ann@example.com").unwrap();
        assert!(uri.starts_with("otpauth://totp/neptun-accounts:ann%40example.com?"));
        assert!(uri.contains(&format!("secret={base32}")));
        assert!(format!("{secret:?}").contains("redacted"));
    }

    #[test]
    fn recovery_codes_parse_loosely_and_hash_per_user() {
        let key = ServerKey::from_bytes([6; 32]);
        let generated = RecoveryCode::generate_set().unwrap();
        assert_eq!(generated.len(), RECOVERY_CODE_COUNT);
        let shown = generated[0].display();
        assert_eq!(shown.len(), 11);
        let typed = RecoveryCode::parse(&shown.to_uppercase()).unwrap();
        assert_eq!(typed, generated[0]);
        for bad in [
            "",
            "abcde-fghi",
            "abcde-fghij1",
            "abcde-fgh1j",
            "abcdé-fghij",
        ] {
            assert!(RecoveryCode::parse(bad).is_none(), "{bad:?}");
        }
        let (ann, bob) = (UserId::generate(), UserId::generate());
        let hash = typed.hash(&key, &ann);
        assert_ne!(hash, typed.hash(&key, &bob));
        let stored: Vec<Vec<u8>> = generated
            .iter()
            .map(|code| code.hash(&key, &ann).0.to_vec())
            .collect();
        assert_eq!(hash.position_in(&stored), Some(0));
        assert_eq!(typed.hash(&key, &bob).position_in(&stored), None);
    }

    #[test]
    fn a_bound_challenge_admits_only_its_browser() {
        let (one, other) = (BrowserBinding::of("flow-a"), BrowserBinding::of("flow-b"));
        assert!(BrowserBinding::admits(None, None));
        assert!(BrowserBinding::admits(None, Some(&one)));
        assert!(!BrowserBinding::admits(Some(&one), None));
        assert!(!BrowserBinding::admits(Some(&one), Some(&other)));
        assert!(BrowserBinding::admits(Some(&one), Some(&one)));
    }
}
