//! `GET /metrics`: the Prometheus text exposition of `crate::telemetry`, on
//! the private `--metrics-listen` listener only, never on the public port
//! (the figures tell an outsider how busy and how large the service is).

use axum::Router;
use axum::extract::State;
use axum::http::HeaderValue;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::AppState;
use crate::telemetry;

pub async fn render(State(state): State<AppState>) -> Response {
    telemetry::database_pool(state.store.pool_status());
    telemetry::log_lines_dropped(crate::logging::dropped_lines());
    (
        [(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        state.metrics.render(),
    )
        .into_response()
}

/// The router of the private metrics listener.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(render))
        .with_state(state)
}
