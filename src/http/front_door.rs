//! The one middleware around every route: from the outside in, the request
//! id and the request's span and log line, request metrics, the panic
//! catcher, the security headers, the allowed hosts, the request timeout
//! and the stale-cookie clearing. They were ten layers, each a boxed future
//! and a copy of the route's service per request; as one they cost one.

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::{CACHE_CONTROL, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt as _;
use tracing::Instrument as _;

use super::request_id::{self, REQUEST_ID};
use super::session::StaleCookieFlag;
use super::{AppState, guard};
use crate::error::ApiError;
use crate::telemetry;

pub async fn front_door(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let id = request_id::keep_or_make(request.headers_mut());
    let route = request.extensions().get::<MatchedPath>().cloned();
    let route = route.as_ref().map_or("unmatched", MatchedPath::as_str);
    // Every log line of the request carries its id, method and matched route
    // (never the raw path, which holds user ids, nor other headers, which
    // would hold the session cookie).
    let span = tracing::info_span!(
        "request",
        request_id = id.to_str().unwrap_or_default(),
        method = %request.method(),
        route
    );
    let method = metric_method(request.method());
    let is_api = request.uri().path().starts_with("/api/");
    let answered = async {
        tracing::debug!("started processing request");
        let mut response = AssertUnwindSafe(answer(&state, request, next))
            .catch_unwind()
            .await
            .unwrap_or_else(panic_response);
        security_headers(response.headers_mut(), is_api);
        log_answer(response.status(), started.elapsed());
        response
    };
    let mut response = answered.instrument(span).await;
    telemetry::request_answered(method, route, response.status().as_u16(), started.elapsed());
    response.headers_mut().insert(REQUEST_ID, id);
    response
}

/// The one line per request: status and latency, inside the request span;
/// a server error is logged as a failure too. (With the debug line at the
/// start, these are the lines tower-http's TraceLayer logged before.)
fn log_answer(status: StatusCode, latency: Duration) {
    let latency_us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
    tracing::info!(status = status.as_u16(), latency_us, "request answered");
    if status.is_server_error() {
        tracing::error!(status = status.as_u16(), latency_us, "response failed");
    }
}

async fn answer(state: &AppState, mut request: Request, next: Next) -> Response {
    if !guard::is_known_host(state, &request) {
        return ApiError::MisdirectedRequest.into_response();
    }
    let stale = StaleCookieFlag::watch(&mut request);
    // Whatever the handler still waits for (a trickling body, a long
    // hashing queue) ends in a 408 once the request timeout has passed.
    match tokio::time::timeout(state.request_timeout, next.run(request)).await {
        Ok(mut response) => {
            if let Some(stale) = stale {
                stale.clear_if_raised(state.cookie, &mut response);
            }
            response
        }
        Err(_) => ApiError::RequestTimeout.into_response(),
    }
}

/// Headers of contract section 5 on every answer, errors included.
fn security_headers(headers: &mut HeaderMap, is_api: bool) {
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    if is_api {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

/// A panic is a bug; the client still gets the contract's opaque 500.
fn panic_response(_panic: Box<dyn Any + Send + 'static>) -> Response {
    ApiError::Internal(anyhow::anyhow!("a request handler panicked")).into_response()
}

/// A method as a metric label; any other method is `other`, so that
/// clients cannot grow the number of series.
fn metric_method(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}
