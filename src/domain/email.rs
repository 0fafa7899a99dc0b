//! Email addresses: the contract's grammar (section 6), normalised to ASCII
//! lowercase, which is the form stored, compared and answered.

use std::fmt;

/// The contract's shortest address; the grammar itself needs six (`a@b.cd`).
pub const MIN_LENGTH: usize = 5;
/// The SMTP limit on a whole address.
pub const MAX_LENGTH: usize = 254;
/// The SMTP limit on the local part.
pub const MAX_LOCAL_LENGTH: usize = 64;
const MAX_LABEL_LENGTH: usize = 63;

/// Domains NEPTUN's Python client refuses: special-use names that never
/// deliver mail (RFC 6761, RFC 7686 and friends).
const SPECIAL_USE_SUFFIXES: [&str; 6] = ["test", "local", "invalid", "localhost", "onion", "arpa"];

/// A valid, normalised email address.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Email(String);

/// Why a string is not an [`Email`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmailError {
    TooShort,
    TooLong,
    Invalid,
}

impl Email {
    /// Validates `input` as received (no trimming) and lowercases it.
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        // Length is measured in characters; a non-ASCII input fails below anyway.
        let length = input.chars().count();
        if length < MIN_LENGTH {
            return Err(EmailError::TooShort);
        }
        if length > MAX_LENGTH {
            return Err(EmailError::TooLong);
        }
        if !input.is_ascii() {
            return Err(EmailError::Invalid);
        }
        let (local, domain) = input.rsplit_once('@').ok_or(EmailError::Invalid)?;
        if !is_dot_atom(local) || !is_public_domain(domain) {
            return Err(EmailError::Invalid);
        }
        Ok(Self(input.to_ascii_lowercase()))
    }

    /// The stored form.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Wraps an address read back from the database, where only parsed ones are written.
    pub fn from_trusted(stored: String) -> Self {
        Self(stored)
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// RFC 5322 dot-atom without quoted strings or comments.
fn is_dot_atom(local: &str) -> bool {
    const ATEXT_SPECIALS: &[u8] = b"!#$%&'*+/=?^_`{|}~-";
    !local.is_empty()
        && local.len() <= MAX_LOCAL_LENGTH
        && local.split('.').all(|atom| {
            !atom.is_empty()
                && atom
                    .bytes()
                    .all(|byte| byte.is_ascii_alphanumeric() || ATEXT_SPECIALS.contains(&byte))
        })
}

/// At least two LDH labels, an alphabetic top-level label, no special-use name.
fn is_public_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    let [.., top] = labels.as_slice() else {
        return false;
    };
    labels.len() >= 2
        && labels.iter().all(|label| is_ldh_label(label))
        && top.len() >= 2
        && top.bytes().all(|byte| byte.is_ascii_alphabetic())
        && !is_special_use(domain, top)
}

fn is_ldh_label(label: &str) -> bool {
    !label.is_empty()
        && label.len() <= MAX_LABEL_LENGTH
        && !label.starts_with('-')
        && !label.ends_with('-')
        && label
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-')
}

fn is_special_use(domain: &str, top: &str) -> bool {
    domain.eq_ignore_ascii_case("localhost")
        || SPECIAL_USE_SUFFIXES
            .iter()
            .any(|suffix| top.eq_ignore_ascii_case(suffix))
}

/// The contract's own examples (section 6), for every test that must agree
/// with the grammar.
#[cfg(test)]
pub mod examples {
    pub const VALID: [&str; 5] = [
        "newemail@example.com",
        "first.last+tag@sub.example.co.uk",
        "o'brien@example.ie",
        "USER@Example.COM",
        "x@xn--bcher-kva.example",
    ];

    /// Besides these, an address of 255 characters and a local part of 65.
    pub const INVALID: [&str; 22] = [
        "",
        "plainaddress",
        "a@b",
        "@example.com",
        "a@.com",
        ".a@example.com",
        "a.@example.com",
        "a..b@example.com",
        "a@example..com",
        "a b@example.com",
        "a@exa mple.com",
        " a@example.com",
        "a@example.com\n",
        "<a@example.com>",
        "a@example.com, b@example.com",
        "\"a b\"@example.com",
        "a@[127.0.0.1]",
        "a@localhost",
        "a@foo.test",
        "ü@example.com",
        "a@-example.com",
        "a@example.c",
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_contracts_valid_examples() {
        for input in examples::VALID {
            let email = Email::parse(input).unwrap_or_else(|err| panic!("{input:?}: {err:?}"));
            assert_eq!(email.as_str(), input.to_ascii_lowercase(), "{input:?}");
        }
    }

    #[test]
    fn accepts_every_atext_special_and_the_length_limits() {
        assert!(Email::parse("!#$%&'*+/=?^_`{|}~-@example.com").is_ok());
        let local = "l".repeat(64);
        assert!(Email::parse(&format!("{local}@example.com")).is_ok());
        let long_domain = format!(
            "{}.{}.{}.com",
            "a".repeat(63),
            "b".repeat(63),
            "c".repeat(57)
        );
        let longest = format!("{local}@{long_domain}");
        assert_eq!(longest.len(), 254);
        assert!(Email::parse(&longest).is_ok());
        assert!(Email::parse("a@b.co").is_ok());
    }

    #[test]
    fn refuses_the_contracts_invalid_examples() {
        let local_of_65 = format!("{}@example.com", "l".repeat(65));
        let address_of_255 = format!(
            "{}@{}.{}.{}.com",
            "l".repeat(64),
            "a".repeat(63),
            "b".repeat(63),
            "c".repeat(58)
        );
        assert_eq!(address_of_255.len(), 255);
        let lengths = [address_of_255.as_str(), local_of_65.as_str()];
        for input in examples::INVALID.into_iter().chain(lengths) {
            assert!(Email::parse(input).is_err(), "{input:?} was accepted");
        }
    }

    #[test]
    fn refuses_every_special_use_domain_in_any_case() {
        for domain in [
            "LOCALHOST",
            "x.local",
            "x.invalid",
            "x.localhost",
            "x.onion",
            "1.in-addr.arpa",
            "x.TEST",
        ] {
            assert!(Email::parse(&format!("a@{domain}")).is_err(), "{domain}");
        }
    }

    #[test]
    fn refuses_bad_labels() {
        for input in [
            "a@example-.com",
            "a@exam_ple.com",
            "a@example.c0m",
            "a@example.com.",
            &format!("a@{}.com", "x".repeat(64)),
        ] {
            assert!(Email::parse(input).is_err(), "{input:?} was accepted");
        }
    }

    #[test]
    fn reports_length_before_syntax() {
        assert_eq!(Email::parse("a@b"), Err(EmailError::TooShort));
        assert_eq!(Email::parse(&"a".repeat(255)), Err(EmailError::TooLong));
        assert_eq!(Email::parse("plainaddress"), Err(EmailError::Invalid));
    }
}
