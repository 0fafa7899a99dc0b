//! Request ids: a client's `X-Request-Id` is kept when it is short and
//! plain, otherwise replaced by a new one (UUIDv4); the answer echoes it and
//! every log line of the request carries it (the request span, made by the
//! front door).

use axum::http::{HeaderMap, HeaderName, HeaderValue};

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The longest client-chosen id kept.
const MAX_LENGTH: usize = 128;

/// The request's id: the client's when it sent one short, plain id (letters,
/// digits and `-_.:`), else a new UUIDv4, so that logs and answers never
/// carry an unusable one. The request carries the id from here on.
pub fn keep_or_make(headers: &mut HeaderMap) -> HeaderValue {
    let kept = {
        let mut ids = headers.get_all(&REQUEST_ID).iter();
        match (ids.next(), ids.next()) {
            (Some(id), None) if is_usable(id.as_bytes()) => Some(id.clone()),
            _ => None,
        }
    };
    let id = kept.unwrap_or_else(|| {
        let mut text = [0_u8; uuid::fmt::Hyphenated::LENGTH];
        let made = uuid::Uuid::new_v4().hyphenated().encode_lower(&mut text);
        HeaderValue::from_str(made).unwrap_or(HeaderValue::from_static("unnamed"))
    });
    headers.insert(REQUEST_ID, id.clone());
    id
}

fn is_usable(id: &[u8]) -> bool {
    (1..=MAX_LENGTH).contains(&id.len())
        && id
            .iter()
            .all(|byte| byte.is_ascii_alphanumeric() || b"-_.:".contains(byte))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_ids_up_to_128_characters_are_kept() {
        assert!(is_usable(b"0b6f3e1c-9d2a-4c7b-8f00-123456789abc"));
        assert!(is_usable(b"lb:req_42.retry-1"));
        assert!(is_usable("x".repeat(128).as_bytes()));
    }

    #[test]
    fn long_empty_or_unusual_ids_are_replaced() {
        assert!(!is_usable(b""));
        assert!(!is_usable("x".repeat(129).as_bytes()));
        for unusual in ["a b", "a\"b", "a\\nb", "<script>", "a;b", "ü"] {
            assert!(!is_usable(unusual.as_bytes()), "{unusual}");
        }
    }
}
