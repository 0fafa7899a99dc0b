//! The HTTP client the provider flows send through: rustls with the
//! platform's roots, short timeouts, no redirects (a token or user endpoint
//! that redirects is refused, never followed: a redirect could carry a
//! credential to another host), and a cap on what a response may bring.

use std::time::Duration;

use axum::http;
use oauth2::{HttpRequest, HttpResponse};

/// How long a provider may take to accept a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one provider round trip may take in all.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest response read from a provider (a JWKS or user document is a
/// few KiB).
const MAX_RESPONSE_BYTES: usize = 1 << 20;

/// Why a provider round trip failed.
#[derive(Debug, thiserror::Error)]
pub enum ProviderHttpError {
    #[error("{0}")]
    Transport(String),
    #[error("the response is over {MAX_RESPONSE_BYTES} bytes")]
    TooLarge,
}

/// One client for every provider.
#[derive(Clone, Debug)]
pub struct ProviderHttp {
    client: reqwest::Client,
}

impl ProviderHttp {
    pub fn new() -> Result<Self, ProviderHttpError> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("neptun-accounts/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|err| ProviderHttpError::Transport(err.to_string()))?;
        Ok(Self { client })
    }

    /// Sends one request as the `oauth2` and `openidconnect` crates build it.
    pub async fn send(&self, request: HttpRequest) -> Result<HttpResponse, ProviderHttpError> {
        let request = reqwest::Request::try_from(request).map_err(transport)?;
        let mut response = self.client.execute(request).await.map_err(transport)?;
        let mut answer = http::Response::builder().status(response.status());
        if let Some(headers) = answer.headers_mut() {
            *headers = std::mem::take(response.headers_mut());
        }
        let body = read_capped(response).await?;
        answer
            .body(body)
            .map_err(|err| ProviderHttpError::Transport(err.to_string()))
    }

    /// A GET of JSON with a bearer token (GitHub's user endpoints).
    pub async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
        access_token: &str,
    ) -> Result<T, ProviderHttpError> {
        let response = self
            .client
            .get(url)
            .bearer_auth(access_token)
            .header(http::header::ACCEPT, "application/vnd.github+json")
            .send()
            .await
            .map_err(transport)?;
        let status = response.status();
        if !status.is_success() {
            return Err(ProviderHttpError::Transport(format!(
                "{url} answered {status}"
            )));
        }
        let body = read_capped(response).await?;
        serde_json::from_slice(&body)
            .map_err(|err| ProviderHttpError::Transport(format!("{url}: {err}")))
    }
}

/// The body, refused once it passes [`MAX_RESPONSE_BYTES`].
async fn read_capped(mut response: reqwest::Response) -> Result<Vec<u8>, ProviderHttpError> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport)? {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(ProviderHttpError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The client the `oauth2` and `openidconnect` requests are sent with.
impl<'c> oauth2::AsyncHttpClient<'c> for ProviderHttp {
    type Error = ProviderHttpError;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<HttpResponse, ProviderHttpError>> + Send + 'c>,
    >;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(self.send(request))
    }
}

fn transport(err: impl std::fmt::Display) -> ProviderHttpError {
    ProviderHttpError::Transport(err.to_string())
}
