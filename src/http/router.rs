//! The route table and the middleware stack around it.

use std::any::Any;

use axum::Router;
use axum::extract::Request;
use axum::http::HeaderValue;
use axum::http::header::{CACHE_CONTROL, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, head, post};
use tower_http::catch_panic::CatchPanicLayer;

use super::{AppState, auth, guard, health, session, users};
use crate::error::ApiError;

/// Every route of the service with its middleware, ready to serve.
pub fn router(state: AppState) -> Router {
    // Guards go on each method router (not the whole route), so that a wrong
    // method is 405 before any guard speaks, as the order of checks requires.
    let guarded = |method_router: MethodRouter<AppState>| {
        method_router.route_layer(middleware::from_fn_with_state(
            state.clone(),
            guard::reject_declared_oversize,
        ))
    };
    Router::new()
        .route("/api/auth/sign-up", guarded(post(auth::sign_up)))
        .route("/api/auth/login", guarded(post(auth::login)))
        .route("/api/auth/logout", guarded(post(auth::logout)))
        .route("/api/auth/check", guarded(head(auth::check)))
        .route("/api/auth/session", guarded(get(auth::session)))
        .route(
            "/api/users/{user_id}",
            guarded(
                get(users::get_user)
                    .patch(users::update_user)
                    .delete(users::delete_user),
            ),
        )
        .route("/health", get(health::health))
        .fallback(|| async { ApiError::RouteNotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(middleware::from_fn_with_state(
            state.clone(),
            session::clear_stale_session_cookie,
        ))
        .layer(middleware::from_fn(security_headers))
        .layer(CatchPanicLayer::custom(panic_response))
        .with_state(state)
}

/// Headers of contract section 5 on every answer, errors included.
async fn security_headers(request: Request, next: Next) -> Response {
    let is_api = request.uri().path().starts_with("/api/");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    if is_api {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// A panic is a bug; the client still gets the contract's opaque 500.
fn panic_response(_panic: Box<dyn Any + Send + 'static>) -> Response {
    ApiError::Internal(anyhow::anyhow!("a request handler panicked")).into_response()
}
