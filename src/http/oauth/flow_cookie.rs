//! The flow cookie (contract section 14): binds a provider flow, and what
//! it leaves behind (a pending link, a second-factor challenge), to the
//! browser that started it. The database keeps only its SHA-256, so a
//! database reader cannot finish anybody's flow.

use axum::http::{HeaderMap, HeaderValue};
use base64::Engine as _;
use cookie::{Cookie, SameSite};

use super::super::cookie_header::cookie_value;
use super::super::session::{SessionCookie, header_value};
use crate::domain::totp::BrowserBinding;

/// How long a flow, and the cookie that holds it, lives.
pub const FLOW_LIFETIME: std::time::Duration = std::time::Duration::from_secs(600);

const PLAIN_NAME: &str = "neptun-oauth";
const HOST_PREFIXED_NAME: &str = "__Host-neptun-oauth";

/// The flow cookie's value in a request, and the binding stored for it.
#[derive(Clone, Debug)]
pub struct FlowCookie {
    value: String,
}

impl FlowCookie {
    /// A fresh value: 256 random bits, base64url.
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut bytes = [0_u8; 32];
        getrandom::fill(&mut bytes)?;
        Ok(Self {
            value: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes),
        })
    }

    /// The request's flow cookie, if it carries a well-formed one.
    pub fn presented(headers: &HeaderMap, settings: SessionCookie) -> Option<Self> {
        let value = cookie_value(headers, name(settings))?;
        let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(value.as_bytes())
            .ok()?;
        (decoded.len() == 32).then(|| Self {
            value: value.to_owned(),
        })
    }

    /// What the database stores and matches: SHA-256 of the value.
    pub fn binding(&self) -> Vec<u8> {
        self.browser_binding().0.to_vec()
    }

    /// The same hash, as a second-factor challenge is bound by it.
    pub fn browser_binding(&self) -> BrowserBinding {
        BrowserBinding::of(&self.value)
    }

    /// `Set-Cookie` for this value, living as long as a flow.
    pub fn set_cookie(&self, settings: SessionCookie) -> HeaderValue {
        let max_age = cookie::time::Duration::seconds(FLOW_LIFETIME.as_secs() as i64);
        header_value(&base(self.value.clone(), settings).max_age(max_age).build())
    }
}

/// `Set-Cookie` that removes the flow cookie.
pub fn clearing_cookie(settings: SessionCookie) -> HeaderValue {
    header_value(
        &base(String::new(), settings)
            .max_age(cookie::time::Duration::ZERO)
            .build(),
    )
}

/// `__Host-` prefixed exactly when the session cookie is.
fn name(settings: SessionCookie) -> &'static str {
    if settings.name == SessionCookie::HOST_PREFIXED_NAME {
        HOST_PREFIXED_NAME
    } else {
        PLAIN_NAME
    }
}

fn base(value: String, settings: SessionCookie) -> cookie::CookieBuilder<'static> {
    Cookie::build((name(settings), value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(settings.secure)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::header::COOKIE;

    fn settings() -> SessionCookie {
        SessionCookie::new(false, true)
    }

    #[test]
    fn a_flow_cookie_round_trips_and_binds_by_its_hash() {
        let cookie = FlowCookie::generate().expect("random");
        let set = cookie.set_cookie(settings());
        let text = set.to_str().expect("ascii");
        assert!(text.starts_with("neptun-oauth="));
        for attribute in [
            "HttpOnly",
            "SameSite=Lax",
            "Secure",
            "Path=/",
            "Max-Age=600",
        ] {
            assert!(text.contains(attribute), "{text}");
        }
        let mut headers = HeaderMap::new();
        let pair = text.split(';').next().expect("pair");
        headers.insert(COOKIE, HeaderValue::from_str(pair).expect("header"));
        let presented = FlowCookie::presented(&headers, settings()).expect("presented");
        assert_eq!(presented.binding(), cookie.binding());
        assert_eq!(cookie.binding().len(), 32);
        assert_eq!(
            cookie.browser_binding().0.as_slice(),
            cookie.binding().as_slice()
        );
    }

    #[test]
    fn a_malformed_or_missing_flow_cookie_is_none() {
        let mut headers = HeaderMap::new();
        assert!(FlowCookie::presented(&headers, settings()).is_none());
        headers.insert(COOKIE, HeaderValue::from_static("neptun-oauth=short"));
        assert!(FlowCookie::presented(&headers, settings()).is_none());
    }

    #[test]
    fn the_flow_cookie_is_host_prefixed_with_the_session_cookie() {
        let host = SessionCookie::new(true, true);
        let cookie = FlowCookie::generate().expect("random");
        let set = cookie.set_cookie(host);
        assert!(
            set.to_str()
                .expect("ascii")
                .starts_with("__Host-neptun-oauth=")
        );
    }
}
