//! `GET /api/users/{user_id}/events` (contract section 12): the caller's
//! own account history, newest first, a page at a time.

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use serde_json::{Value, json};

use super::AppState;
use super::openapi::{ErrorBody, EventPage};
use super::session::CurrentSession;
use super::users::ensure_own_id;
use crate::error::{ApiError, Issue};
use crate::store::history::EventFilter;

const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 200;

/// `GET /api/users/{user_id}/events?limit=N&before=ID`.
#[utoipa::path(
    get,
    path = "/api/users/{user_id}/events",
    tag = "events",
    params(
        ("user_id" = String, Path, description = "The caller's own id; any other value is 404."),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 200, description = "Events per page (default 50)."),
        ("before" = Option<String>, Query, pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", description = "The `next` of the previous page (a UUID): events older than this id."),
    ),
    security(("session" = [])),
    responses(
        (status = 200, description = "The caller's events, newest first; `next` is the `before` of the next page, or null.", body = EventPage),
        (status = 400, description = "`Invalid query(?limit, ?before).` with `data.issues`: a `limit` that is not an integer from 1 to 200, or a `before` that is not a UUID.", body = ErrorBody),
        (status = 401, description = "`Unauthorized`: no valid session.", body = ErrorBody),
        (status = 404, description = "`User not found`: not the caller's id.", body = ErrorBody),
    )
)]
pub async fn list_events(
    State(state): State<AppState>,
    current: CurrentSession,
    user_id: Result<Path<String>, PathRejection>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    ensure_own_id(&current, user_id)?;
    let (limit, before) = page_query(query)?;
    let events = state
        .store
        .list_events(EventFilter {
            user_id: Some(current.user.id.clone()),
            before,
            limit: limit + 1,
            ..EventFilter::default()
        })
        .await?;
    let more = events.len() > limit as usize;
    let page = &events[..events.len().min(limit as usize)];
    let next = more
        .then(|| page.last().map(|event| event.id.clone()))
        .flatten();
    let events: Vec<Value> = page.iter().map(|event| event.to_json()).collect();
    Ok(Json(json!({ "events": events, "next": next })))
}

/// `limit` (1–200, default 50) and `before` (a UUID); the last value of a
/// repeated parameter counts, unknown ones are ignored.
fn page_query(
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<(u32, Option<String>), ApiError> {
    let pairs = query.map(|Query(pairs)| pairs).unwrap_or_default();
    let mut issues = Vec::new();
    let mut limit = DEFAULT_LIMIT;
    let mut before = None;
    for (key, value) in pairs {
        match key.as_str() {
            "limit" => match Issue::integer_in_range("limit", &value, 1, i64::from(MAX_LIMIT)) {
                Some(issue) => issues.push(issue),
                None => limit = value.parse().unwrap_or(DEFAULT_LIMIT),
            },
            // The hyphenated form only, as the document's pattern says.
            "before" => match uuid::Uuid::try_parse(&value) {
                Ok(id) if value.len() == 36 => before = Some(id.hyphenated().to_string()),
                _ => issues.push(Issue::invalid_uuid("before")),
            },
            _ => {}
        }
    }
    if issues.is_empty() {
        Ok((limit, before))
    } else {
        Err(ApiError::InvalidEventQuery { issues })
    }
}
