//! Checks that run once a route and method have matched, before any
//! extractor, in the contract's order: cross-site refusal, the declared body
//! size (routes that read a body), the per-address rate limit.

use axum::extract::{Request, State};
use axum::http::header::{CONTENT_LENGTH, HOST, ORIGIN};
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::rate_limit::Limited;
use crate::config::Origin;
use crate::error::ApiError;

/// `Sec-Fetch-Site`, sent by every current browser.
const SEC_FETCH_SITE: &str = "sec-fetch-site";

/// What the guard checks on one route.
#[derive(Clone, Copy, Debug, Default)]
pub struct RouteGuard {
    /// The route reads a JSON body, so a declared size over the limit is 413.
    pub reads_body: bool,
    /// The per-address limit of this route, if any.
    pub rate_limit: Option<Limited>,
}

/// Refuses, in the contract's order, what must not reach the handler.
pub async fn guard_request(
    State((state, route)): State<(AppState, RouteGuard)>,
    request: Request,
    next: Next,
) -> Response {
    if changes_state(request.method()) && is_cross_site(request.headers(), &state) {
        return ApiError::CrossSite.into_response();
    }
    // An oversized upload costs neither a session lookup nor its bytes.
    let declared = declared_length(request.headers());
    if route.reads_body && declared.is_some_and(|length| length > state.body_limit as u64) {
        return ApiError::PayloadTooLarge {
            limit_bytes: state.body_limit,
        }
        .into_response();
    }
    if let (Some(limited), Some(limits)) = (route.rate_limit, &state.rate_limits)
        && let Err(wait) = limits.check(limited, &request)
    {
        return limits.refusal(limited, wait).into_response();
    }
    next.run(request).await
}

/// False for a `Host` outside `--allowed-hosts`, answered 421 before any
/// route (src/http/front_door.rs): a page on
/// a hostile name that resolves to this service (DNS rebinding) would
/// otherwise be "same origin" with it. `/health` is exempt, as load
/// balancers probe it by address and it tells nothing.
pub fn is_known_host(state: &AppState, request: &Request) -> bool {
    let Some(allowed) = &state.allowed_hosts else {
        return true;
    };
    let host = request
        .headers()
        .get(HOST)
        .and_then(|host| host.to_str().ok())
        .or_else(|| {
            request
                .uri()
                .authority()
                .map(|authority| authority.as_str())
        });
    let known = host.is_some_and(|host| allowed.iter().any(|allowed| allowed.matches(host)));
    known || request.uri().path() == "/health"
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
