//! Request ids: a client's `X-Request-Id` is kept when it is short and
//! plain, otherwise replaced by a new one (tower-http's `SetRequestId`,
//! UUIDv4); the answer echoes it and every log line of the request carries
//! it (the request span).

use axum::extract::Request;
use axum::http::HeaderName;
use axum::middleware::Next;
use axum::response::Response;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The longest client-chosen id kept.
const MAX_LENGTH: usize = 128;

/// Drops a client's id that is too long or holds anything but letters,
/// digits and `-_.:`, so that logs and answers never carry it; a new one
/// is then made in its place.
pub async fn drop_unusable_request_id(mut request: Request, next: Next) -> Response {
    let usable = {
        let mut ids = request.headers().get_all(&REQUEST_ID).iter();
        match (ids.next(), ids.next()) {
            (Some(id), None) => is_usable(id.as_bytes()),
            _ => false,
        }
    };
    if !usable {
        request.headers_mut().remove(&REQUEST_ID);
    }
    next.run(request).await
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
