//! `GET /health`: whether the database answers, within two seconds.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::AppState;
use super::openapi::{Health, HealthUnavailable};
use crate::domain::time::Timestamp;

const DATABASE_DEADLINE: Duration = Duration::from_secs(2);

/// `GET /health`: whether the database answers within two seconds.
#[utoipa::path(
    get,
    path = "/health",
    tag = "meta",
    responses(
        (status = 200, description = "The database answers.", body = Health),
        (status = 503, description = "The database did not answer within 2 s.", body = HealthUnavailable),
    )
)]
pub async fn health(State(state): State<AppState>) -> Response {
    let timestamp = Timestamp::now().to_iso8601();
    match tokio::time::timeout(DATABASE_DEADLINE, state.store.ping()).await {
        Ok(Ok(())) => {
            // Seconds, to the millisecond.
            let uptime = state.started_at.elapsed().as_millis() as f64 / 1000.0;
            Json(json!({ "status": "healthy", "timestamp": timestamp, "uptime": uptime }))
                .into_response()
        }
        outcome => {
            if let Ok(Err(err)) = outcome {
                tracing::warn!(%err, "health check: database unavailable");
            } else {
                tracing::warn!("health check: database did not answer in time");
            }
            let body = json!({ "status": "unavailable", "timestamp": timestamp, "error": "database unavailable" });
            (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
        }
    }
}
