//! Checks that run once a route and method have matched, before any
//! extractor: the declared body size (and, later, origin and rate limits).

use axum::extract::{Request, State};
use axum::http::header::CONTENT_LENGTH;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;
use crate::error::ApiError;

/// 413 for a declared `Content-Length` over the limit, before authentication,
/// so an oversized upload costs neither a session lookup nor its bytes.
pub async fn reject_declared_oversize(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|text| text.trim().parse::<u64>().ok());
    if declared.is_some_and(|length| length > state.body_limit as u64) {
        return ApiError::PayloadTooLarge.into_response();
    }
    next.run(request).await
}
