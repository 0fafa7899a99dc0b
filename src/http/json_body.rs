//! The JSON body extractor: 415 for another media type, 413 past the body
//! limit while streaming, 400 `Invalid JSON body.` for anything that is not a
//! JSON object. Fields are validated by the handler (see `validation`).

use axum::body::Body;
use axum::extract::{FromRef, FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use http_body_util::{BodyExt as _, LengthLimitError, Limited};
use serde_json::{Map, Value};

use super::AppState;
use crate::error::{ApiError, BodyShape};

/// A request body that is a JSON object.
pub struct JsonObject(pub Map<String, Value>);

impl<S> FromRequest<S> for JsonObject
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        if !is_json(request.headers().get(CONTENT_TYPE)) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let limit = AppState::from_ref(state).body_limit;
        let bytes = read_limited(request.into_body(), limit).await?;
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(object)) => Ok(Self(object)),
            _ => Err(ApiError::InvalidJson {
                shape: BodyShape::Credentials,
            }),
        }
    }
}

/// An optional JSON object body: an empty body (with any or no
/// `Content-Type`) is an empty object; anything else is read as
/// [`JsonObject`] is.
pub struct OptionalJsonObject(pub Map<String, Value>);

impl<S> FromRequest<S> for OptionalJsonObject
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let limit = AppState::from_ref(state).body_limit;
        let (parts, body) = request.into_parts();
        let bytes = read_limited(body, limit).await?;
        if bytes.is_empty() {
            return Ok(Self(Map::new()));
        }
        if !is_json(parts.headers.get(CONTENT_TYPE)) {
            return Err(ApiError::UnsupportedMediaType);
        }
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(object)) => Ok(Self(object)),
            _ => Err(ApiError::InvalidJson {
                shape: BodyShape::Credentials,
            }),
        }
    }
}

/// `application/json`, with any parameters, in any letter case.
fn is_json(content_type: Option<&axum::http::HeaderValue>) -> bool {
    content_type
        .and_then(|value| value.to_str().ok())
        .and_then(|text| text.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
}

async fn read_limited(body: Body, limit: usize) -> Result<axum::body::Bytes, ApiError> {
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(err) if err.downcast_ref::<LengthLimitError>().is_some() => {
            Err(ApiError::PayloadTooLarge { limit_bytes: limit })
        }
        // The client went away or sent a broken chunked body.
        Err(_) => Err(ApiError::InvalidJson {
            shape: BodyShape::Credentials,
        }),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::is_json;

    #[test]
    fn accepts_json_with_parameters_and_any_case() {
        for value in [
            "application/json",
            "application/json; charset=utf-8",
            "Application/JSON",
        ] {
            assert!(is_json(Some(&HeaderValue::from_static(value))), "{value}");
        }
    }

    #[test]
    fn refuses_other_media_types_and_none() {
        for value in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data",
            "application/jsonx",
        ] {
            assert!(!is_json(Some(&HeaderValue::from_static(value))), "{value}");
        }
        assert!(!is_json(None));
    }
}
