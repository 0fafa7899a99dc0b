//! `/auth/github`, `/auth/google` and `/auth/oidc/{name}` (contract section
//! 14): one route per provider both starts a flow (no `code`) and finishes
//! it (the provider's redirect back). These are browser navigations, not
//! JSON calls: every failure is a redirect to `/account?error=oauth` with
//! one warn line naming the cause, never an error page.

pub mod flow_cookie;
mod outcome;

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::header::{LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use oauth2::PkceCodeChallenge;

use self::flow_cookie::{FLOW_LIFETIME, FlowCookie};
use super::AppState;
use super::client_origin::{Client, ClientIp};
use super::rate_limit::Limited;
use super::session::MaybeSession;
use crate::domain::redirect_path::landing_path;
use crate::domain::session::new_public_id;
use crate::domain::time::Timestamp;
use crate::oauth::{AuthorizationRequest, Provider};
use crate::store::identities::NewOAuthFlow;

/// Where every failed sign-in lands.
pub const FAILURE_LANDING: &str = "/account?error=oauth";

/// A request to a provider route, whichever step it is.
pub struct Visit {
    pub state: AppState,
    pub provider: Arc<dyn Provider>,
    pub session: MaybeSession,
    pub origin: crate::domain::client::ClientOrigin,
    pub headers: HeaderMap,
    pub params: CallbackParams,
}

/// The query parameters either step reads (the first of each name).
#[derive(Debug, Default)]
pub struct CallbackParams {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub redirect: Option<String>,
}

impl CallbackParams {
    fn parse(query: Option<&str>) -> Self {
        let mut params = Self::default();
        for (name, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            let slot = match name.as_ref() {
                "code" => &mut params.code,
                "state" => &mut params.state,
                "error" => &mut params.error,
                "redirect" => &mut params.redirect,
                _ => continue,
            };
            slot.get_or_insert_with(|| value.into_owned());
        }
        params
    }

    /// A provider's answer: a code, a state or an error. Anything else
    /// starts a flow (an `error` never does, or a refusal would loop).
    fn is_callback(&self) -> bool {
        self.code.is_some() || self.state.is_some() || self.error.is_some()
    }
}

/// Why a sign-in failed, for the warn line.
#[derive(Debug)]
pub struct Failure(pub String);

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(err: E) -> Self {
        Self(err.to_string())
    }
}

/// `GET /auth/github`.
pub async fn github(
    State(state): State<AppState>,
    session: MaybeSession,
    Client(origin): Client,
    ClientIp(address): ClientIp,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    visit(state, "github", session, origin, address, headers, query).await
}

/// `GET /auth/google`.
pub async fn google(
    State(state): State<AppState>,
    session: MaybeSession,
    Client(origin): Client,
    ClientIp(address): ClientIp,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    visit(state, "google", session, origin, address, headers, query).await
}

/// `GET /auth/oidc/{name}`.
pub async fn oidc(
    State(state): State<AppState>,
    Path(name): Path<String>,
    session: MaybeSession,
    Client(origin): Client,
    ClientIp(address): ClientIp,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    visit(state, &name, session, origin, address, headers, query).await
}

async fn visit(
    state: AppState,
    name: &str,
    session: MaybeSession,
    origin: crate::domain::client::ClientOrigin,
    address: std::net::IpAddr,
    headers: HeaderMap,
    query: Option<String>,
) -> Response {
    // Unconfigured: 404, as an unknown route.
    let Some(provider) = state.providers.get(name).cloned() else {
        return crate::error::ApiError::RouteNotFound.into_response();
    };
    let params = CallbackParams::parse(query.as_deref());
    let callback = params.is_callback();
    let visit = Visit {
        state,
        provider: provider.clone(),
        session,
        origin,
        headers,
        params,
    };
    let result = if callback {
        outcome::finish(visit).await
    } else {
        start(visit, address).await
    };
    result.unwrap_or_else(|Failure(cause)| {
        crate::telemetry::login(false);
        tracing::warn!(
            provider = provider.name(),
            step = if callback { "callback" } else { "start" },
            cause,
            "provider sign-in failed"
        );
        redirect(FAILURE_LANDING, None)
    })
}

/// Stores a new flow and sends the browser to the provider.
async fn start(visit: Visit, address: std::net::IpAddr) -> Result<Response, Failure> {
    let Visit {
        state,
        provider,
        headers,
        params,
        ..
    } = visit;
    if let Some(limits) = &state.rate_limits
        && let Err(wait) = limits.check_address(Limited::ProviderSignIn, address)
    {
        // Logged and counted like every 429; the browser still lands on the page.
        let _ = limits.refusal(Limited::ProviderSignIn, wait);
        return Ok(redirect(FAILURE_LANDING, None));
    }
    // One cookie per browser, so that flows in two tabs both finish.
    let cookie = match FlowCookie::presented(&headers, state.cookie) {
        Some(cookie) => cookie,
        None => FlowCookie::generate()?,
    };
    let flow_state = new_public_id()?;
    let (_, verifier) = PkceCodeChallenge::new_random_sha256();
    let nonce = if provider.uses_nonce() {
        Some(new_public_id()?)
    } else {
        None
    };
    let url = provider
        .authorization_url(AuthorizationRequest {
            state: &flow_state,
            pkce_verifier: verifier.secret(),
            nonce: nonce.as_deref(),
        })
        .await?;
    let now = Timestamp::now();
    state
        .store
        .create_oauth_flow(NewOAuthFlow {
            state: flow_state,
            provider: provider.name().to_owned(),
            browser_binding: cookie.binding(),
            pkce_verifier: verifier.secret().clone(),
            nonce,
            redirect_path: landing_path(params.redirect.as_deref()),
            created_at: now,
            expires_at: now.plus(FLOW_LIFETIME),
        })
        .await?;
    Ok(redirect(&url, Some(cookie.set_cookie(state.cookie))))
}

/// A 302 to `location`, setting `cookies`.
fn redirect(location: &str, cookie: Option<HeaderValue>) -> Response {
    let mut response = StatusCode::FOUND.into_response();
    if let Ok(location) = HeaderValue::from_str(location) {
        response.headers_mut().insert(LOCATION, location);
    }
    if let Some(cookie) = cookie {
        response.headers_mut().append(SET_COOKIE, cookie);
    }
    response
}
