//! A browser that walks a provider sign-in as a real one does: it keeps the
//! session and flow cookies, and follows each redirect itself, so a test
//! sees every hop (the service's, the provider's) and can replay or cut one.

use reqwest::header::{LOCATION, SET_COOKIE};

use crate::helpers::Browser;

/// The `--public-url` of provider tests. Nothing listens there: the
/// browser reads the provider's redirect back and sends its path and
/// query to the service under test.
pub const PUBLIC_URL: &str = "http://localhost:1";

/// One hop's answer.
#[derive(Debug)]
pub struct Hop {
    pub status: u16,
    pub location: String,
}

pub struct ProviderBrowser {
    client: reqwest::Client,
    pub base: String,
    pub session: Option<String>,
    pub flow_cookie: Option<String>,
}

impl ProviderBrowser {
    pub fn new(base: &str) -> Self {
        Self {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            base: base.to_owned(),
            session: None,
            flow_cookie: None,
        }
    }

    /// A JSON client holding this browser's session.
    pub fn api(&self) -> Browser {
        let mut browser = Browser::new(&self.base);
        browser.session = self.session.clone();
        browser
    }

    /// GET `path` on the service with the cookies this browser holds.
    pub async fn visit(&mut self, path: &str) -> Hop {
        let mut cookies = Vec::new();
        if let Some(session) = &self.session {
            cookies.push(format!("neptun-session={session}"));
        }
        if let Some(flow) = &self.flow_cookie {
            cookies.push(format!("neptun-oauth={flow}"));
        }
        let mut request = self.client.get(format!("{}{}", self.base, path));
        if !cookies.is_empty() {
            request = request.header("cookie", cookies.join("; "));
        }
        let response = request.send().await.expect("service answered");
        for set in response.headers().get_all(SET_COOKIE) {
            let Ok(cookie) = cookie::Cookie::parse(set.to_str().expect("ascii").to_owned()) else {
                continue;
            };
            let value = (!cookie.value().is_empty()).then(|| cookie.value().to_owned());
            match cookie.name() {
                "neptun-session" => self.session = value,
                "neptun-oauth" => self.flow_cookie = value,
                _ => {}
            }
        }
        hop(response)
    }

    /// Starts at `start` and follows the provider back: the service's last
    /// redirect (the landing page, or `/account?error=oauth`).
    pub async fn sign_in(&mut self, start: &str) -> Hop {
        let to_provider = self.visit(start).await;
        if to_provider.location.starts_with('/') {
            return to_provider;
        }
        let callback = self.at_provider(&to_provider.location).await;
        self.visit(&callback).await
    }

    /// The provider's redirect back for its authorization URL, as the path
    /// and query to send to the service.
    pub async fn at_provider(&self, authorization_url: &str) -> String {
        let answer = self
            .client
            .get(authorization_url)
            .send()
            .await
            .expect("provider answered");
        let back = hop(answer);
        assert_eq!(back.status, 302, "the provider redirects back: {back:?}");
        let url = url::Url::parse(&back.location).expect("absolute redirect");
        format!("{}?{}", url.path(), url.query().unwrap_or_default())
    }
}

fn hop(response: reqwest::Response) -> Hop {
    Hop {
        status: response.status().as_u16(),
        location: response
            .headers()
            .get(LOCATION)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned(),
    }
}
