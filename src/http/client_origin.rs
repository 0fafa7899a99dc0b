//! The extractor for where a request came from, as sessions and events
//! keep it (the client's network and `User-Agent`).

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header::USER_AGENT;
use axum::http::request::Parts;

use super::AppState;
use crate::domain::client::ClientOrigin;

/// The requesting client's truncated address and user agent.
pub struct Client(pub ClientOrigin);

impl<S> FromRequestParts<S> for Client
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Ok(ClientIp(address)) = ClientIp::from_request_parts(parts, state).await;
        let user_agent = parts
            .headers
            .get(USER_AGENT)
            .and_then(|value| value.to_str().ok());
        // No peer address at all (a router driven in process): none to keep.
        let address = Some(address).filter(|address| !address.is_unspecified());
        Ok(Self(ClientOrigin::new(address, user_agent)))
    }
}

/// The requesting client's full address, for per-address limits a handler
/// applies itself.
pub struct ClientIp(pub std::net::IpAddr);

impl<S> FromRequestParts<S> for ClientIp
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        Ok(Self(
            state
                .proxies
                .client_address_of(&parts.extensions, &parts.headers),
        ))
    }
}
