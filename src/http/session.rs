//! The session cookie: reading it into a session from the database (never a
//! cache), the extractors that make "needs a session" part of a handler's
//! signature, and clearing cookies that name no valid session.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::{FromRef, FromRequestParts, Request};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;
use cookie::{Cookie, SameSite};

use super::AppState;
use super::cookie_header::cookie_value;
use crate::domain::session::SessionRow;
use crate::domain::session_token::{SessionToken, SessionTokenHash};
use crate::domain::time::Timestamp;
use crate::domain::user::User;
use crate::error::ApiError;
use crate::store::{SessionWithUser, Store, StoreError};

/// The session cookie's name and `Secure` attribute, as configured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionCookie {
    pub name: &'static str,
    pub secure: bool,
}

impl SessionCookie {
    /// The contract's name.
    pub const PLAIN_NAME: &'static str = "neptun-session";
    /// With `--cookie-prefix host`: browsers accept it only with `Secure`,
    /// `Path=/` and no `Domain`, so no subdomain or plain-http page can set
    /// or overwrite it.
    pub const HOST_PREFIXED_NAME: &'static str = "__Host-neptun-session";

    pub fn new(host_prefixed: bool, secure: bool) -> Self {
        let name = if host_prefixed {
            Self::HOST_PREFIXED_NAME
        } else {
            Self::PLAIN_NAME
        };
        Self { name, secure }
    }
}

/// A live session presented by the request's cookie.
#[derive(Debug)]
pub struct CurrentSession {
    pub token: SessionToken,
    pub session: SessionRow,
    pub user: User,
}

/// The request's session, if it has a live one.
pub struct MaybeSession(pub Option<CurrentSession>);

/// The request's live session without its user, for an answer that names
/// no user: one lookup fewer than [`MaybeSession`].
pub struct MaybeSessionRow(pub Option<SessionRow>);

/// A request without a live session (sign-up, login); one with gets 403.
pub struct SignedOut;

impl<S> FromRequestParts<S> for CurrentSession
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let MaybeSession(session) = MaybeSession::from_request_parts(parts, state).await?;
        session.ok_or(ApiError::Unauthorized)
    }
}

impl<S> FromRequestParts<S> for MaybeSession
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let state = AppState::from_ref(state);
        let live = live_session::<SessionWithUser>(parts, &state).await?;
        Ok(Self(live.map(|(token, found)| CurrentSession {
            token,
            session: found.session,
            user: found.user,
        })))
    }
}

impl<S> FromRequestParts<S> for MaybeSessionRow
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let state = AppState::from_ref(state);
        let live = live_session::<SessionRow>(parts, &state).await?;
        Ok(Self(live.map(|(_, row)| row)))
    }
}

impl<S> FromRequestParts<S> for SignedOut
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match MaybeSession::from_request_parts(parts, state).await? {
            MaybeSession(Some(_)) => Err(ApiError::AlreadyLoggedIn),
            MaybeSession(None) => Ok(Self),
        }
    }
}

/// What a session extractor reads: the session with its user, or alone.
trait SessionRead: Sized {
    fn find(
        store: &Arc<dyn Store>,
        token_hash: SessionTokenHash,
    ) -> impl Future<Output = Result<Option<Self>, StoreError>> + Send;

    fn row(&self) -> &SessionRow;
}

impl SessionRead for SessionWithUser {
    fn find(
        store: &Arc<dyn Store>,
        token_hash: SessionTokenHash,
    ) -> impl Future<Output = Result<Option<Self>, StoreError>> + Send {
        store.find_session(token_hash)
    }

    fn row(&self) -> &SessionRow {
        &self.session
    }
}

impl SessionRead for SessionRow {
    fn find(
        store: &Arc<dyn Store>,
        token_hash: SessionTokenHash,
    ) -> impl Future<Output = Result<Option<Self>, StoreError>> + Send {
        store.find_session_row(token_hash)
    }

    fn row(&self) -> &SessionRow {
        self
    }
}

/// The request's cookie, and what it names if that is a live session
/// (touched when due); raises the stale-cookie flag when it names none.
async fn live_session<R: SessionRead>(
    parts: &Parts,
    state: &AppState,
) -> Result<Option<(SessionToken, R)>, ApiError> {
    let Some(cookie_value) = cookie_value(&parts.headers, state.cookie.name) else {
        return Ok(None);
    };
    let live = match SessionToken::parse(cookie_value) {
        Some(token) => load_live_session::<R>(state, token).await?,
        None => None,
    };
    if live.is_none()
        && let Some(flag) = parts.extensions.get::<StaleCookieFlag>()
    {
        flag.0.store(true, Ordering::Relaxed);
    }
    Ok(live)
}

async fn load_live_session<R: SessionRead>(
    state: &AppState,
    token: SessionToken,
) -> Result<Option<(SessionToken, R)>, ApiError> {
    let token_hash = token.hash();
    let Some(found) = R::find(&state.store, token_hash)
        .await
        .map_err(anyhow::Error::from)?
    else {
        return Ok(None);
    };
    let now = Timestamp::now();
    if !state.sessions.is_live(found.row(), now) {
        return Ok(None);
    }
    if state.sessions.needs_touch(found.row(), now) {
        state
            .store
            .touch_session(token_hash, now)
            .await
            .map_err(anyhow::Error::from)?;
    }
    Ok(Some((token, found)))
}

/// `Set-Cookie` for a session token living `max_age_secs` more seconds.
pub fn session_cookie(
    token: &SessionToken,
    max_age_secs: u64,
    settings: SessionCookie,
) -> HeaderValue {
    let max_age = cookie::time::Duration::seconds(i64::try_from(max_age_secs).unwrap_or(i64::MAX));
    let cookie = base_cookie(token.as_str().to_owned(), settings).max_age(max_age);
    header_value(&cookie.build())
}

/// `Set-Cookie` that removes the session cookie.
pub fn clearing_cookie(settings: SessionCookie) -> HeaderValue {
    let cookie = base_cookie(String::new(), settings).max_age(cookie::time::Duration::ZERO);
    header_value(&cookie.build())
}

fn base_cookie(value: String, settings: SessionCookie) -> cookie::CookieBuilder<'static> {
    Cookie::build((settings.name, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(settings.secure)
}

pub(super) fn header_value(cookie: &Cookie<'_>) -> HeaderValue {
    // A cookie we build holds only token characters and fixed attributes.
    HeaderValue::try_from(cookie.to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Set by the session extractors when the request's cookie named no live session.
#[derive(Clone, Default)]
pub struct StaleCookieFlag(Arc<AtomicBool>);

impl StaleCookieFlag {
    /// A flag the session extractors can raise, when the request has cookies.
    pub fn watch(request: &mut Request) -> Option<Self> {
        if !request.headers().contains_key(COOKIE) {
            return None;
        }
        let flag = Self::default();
        request.extensions_mut().insert(flag.clone());
        Some(flag)
    }

    /// Clears a cookie that named no live session, unless the response
    /// already sets a new one (contract section 2).
    pub fn clear_if_raised(&self, cookie: SessionCookie, response: &mut Response) {
        if self.0.load(Ordering::Relaxed) && !sets_session_cookie(response.headers(), cookie.name) {
            response
                .headers_mut()
                .append(SET_COOKIE, clearing_cookie(cookie));
        }
    }
}

fn sets_session_cookie(headers: &HeaderMap, name: &str) -> bool {
    headers.get_all(SET_COOKIE).iter().any(|value| {
        value
            .as_bytes()
            .strip_prefix(name.as_bytes())
            .is_some_and(|rest| rest.first() == Some(&b'='))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_cookie_has_every_contract_attribute() {
        let token = SessionToken::generate().unwrap();
        let value = session_cookie(&token, 2_592_000, SessionCookie::new(false, true));
        let text = value.to_str().unwrap();
        assert!(text.starts_with(&format!("neptun-session={}", token.as_str())));
        for attribute in [
            "Path=/",
            "HttpOnly",
            "SameSite=Lax",
            "Max-Age=2592000",
            "Secure",
        ] {
            assert!(text.contains(attribute), "{text} lacks {attribute}");
        }
        assert!(!text.contains("Domain"));
    }

    #[test]
    fn the_insecure_development_cookie_has_no_secure_attribute() {
        let token = SessionToken::generate().unwrap();
        let text = session_cookie(&token, 60, SessionCookie::new(false, false))
            .to_str()
            .unwrap()
            .to_owned();
        assert!(!text.contains("Secure"));
    }

    #[test]
    fn a_clearing_cookie_is_empty_with_max_age_zero_on_path_root() {
        let text = clearing_cookie(SessionCookie::new(false, true))
            .to_str()
            .unwrap()
            .to_owned();
        assert!(text.starts_with("neptun-session=;"), "{text}");
        assert!(
            text.contains("Max-Age=0") && text.contains("Path=/"),
            "{text}"
        );
    }

    #[test]
    fn the_host_prefixed_cookie_is_secure_on_path_root_without_a_domain() {
        let token = SessionToken::generate().unwrap();
        let text = session_cookie(&token, 60, SessionCookie::new(true, true))
            .to_str()
            .unwrap()
            .to_owned();
        assert!(text.starts_with("__Host-neptun-session="), "{text}");
        assert!(text.contains("Secure") && text.contains("Path=/"), "{text}");
        assert!(!text.contains("Domain"), "{text}");
    }
}
