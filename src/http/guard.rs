//! Checks that run once a route and method have matched, before any
//! extractor, in the contract's order: cross-site refusal, then (for routes
//! that read a body) the declared body size.

use axum::extract::{Request, State};
use axum::http::header::{CONTENT_LENGTH, HOST, ORIGIN};
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;
use crate::config::Origin;
use crate::error::ApiError;

/// `Sec-Fetch-Site`, sent by every current browser.
const SEC_FETCH_SITE: &str = "sec-fetch-site";

/// Refuses what must not reach a handler that reads a JSON body.
pub async fn guard_body_request(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if let Err(refusal) = refuse_cross_site(&request, &state) {
        return refusal.into_response();
    }
    // An oversized upload costs neither a session lookup nor its bytes.
    if declared_length(request.headers()).is_some_and(|length| length > state.body_limit as u64) {
        return ApiError::PayloadTooLarge.into_response();
    }
    next.run(request).await
}

/// Refuses what must not reach a handler that ignores any body (logout,
/// delete, reads), so that their answers stay within the contract's set.
pub async fn guard_request(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    match refuse_cross_site(&request, &state) {
        Ok(()) => next.run(request).await,
        Err(refusal) => refusal.into_response(),
    }
}

fn refuse_cross_site(request: &Request, state: &AppState) -> Result<(), ApiError> {
    if changes_state(request.method()) && is_cross_site(request.headers(), state) {
        Err(ApiError::CrossSite)
    } else {
        Ok(())
    }
}

fn changes_state(method: &Method) -> bool {
    matches!(*method, Method::POST | Method::PATCH | Method::DELETE)
}

/// A foreign or `null` `Origin`, or `Sec-Fetch-Site: cross-site` unless the
/// origin is one allowed CORS (a cross-site CORS client is sent that header
/// by design). This also stops login CSRF, and needs no token: browsers
/// always send `Origin` on these methods.
fn is_cross_site(headers: &HeaderMap, state: &AppState) -> bool {
    let origin = headers.get(ORIGIN).map(|value| {
        value
            .to_str()
            .ok()
            .and_then(|text| text.parse::<Origin>().ok())
    });
    let allowed_cors = matches!(&origin, Some(Some(origin)) if state.cors_origins.contains(origin));
    let foreign_origin = match &origin {
        // Unparsable, `null` included: nobody we know.
        Some(None) => true,
        Some(Some(origin)) => !allowed_cors && !is_own_origin(origin, headers, state),
        None => false,
    };
    let fetched_cross_site = headers
        .get(SEC_FETCH_SITE)
        .is_some_and(|site| site.as_bytes().eq_ignore_ascii_case(b"cross-site"));
    foreign_origin || (fetched_cross_site && !allowed_cors)
}

/// `--public-url` when set, else `http(s)://` plus the request's `Host`.
fn is_own_origin(origin: &Origin, headers: &HeaderMap, state: &AppState) -> bool {
    match &state.public_origin {
        Some(public) => public == origin,
        None => headers
            .get(HOST)
            .and_then(|host| host.to_str().ok())
            .is_some_and(|host| host.eq_ignore_ascii_case(origin.authority())),
    }
}

fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|text| text.trim().parse::<u64>().ok())
}
