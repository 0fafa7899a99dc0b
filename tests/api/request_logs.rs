//! Request ids and the per-request log line.

use serde_json::Value;

use crate::backend::Backend;
use crate::helpers::spawn_app;
use crate::process::ServerProcess;

#[tokio::test]
async fn a_plain_request_id_is_echoed_and_a_missing_or_unusable_one_is_made() {
    let app = spawn_app(&Backend::Sqlite).await;
    let mut browser = app.browser();

    let kept = browser
        .send(
            browser
                .request(reqwest::Method::GET, "/health")
                .header("x-request-id", "lb:req_42.retry-1"),
        )
        .await;
    assert_eq!(kept.header("x-request-id"), Some("lb:req_42.retry-1"));

    let made = browser.get("/api/auth/session").await;
    let made_id = made.header("x-request-id").expect("an id is made");
    assert_eq!(made_id.len(), 36, "a UUID: {made_id}");

    for unusable in ["has spaces", &"x".repeat(129), "<script>"] {
        let replaced = browser
            .send(
                browser
                    .request(reqwest::Method::GET, "/nope")
                    .header("x-request-id", unusable),
            )
            .await;
        let id = replaced.header("x-request-id").expect("an id is made");
        assert_ne!(id, unusable);
        assert_eq!(id.len(), 36);
    }
}

#[tokio::test]
async fn each_request_is_one_json_log_line_with_its_id_route_status_and_latency() {
    let database = Backend::Sqlite.fresh_database().await;
    let server = ServerProcess::start(&database.url(), &[]);
    let client = reqwest::Client::new();
    let response = client
        .get(format!("{}/api/users/0190-not-mine", server.base_url()))
        .header("x-request-id", "find-me-7")
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), 401);

    let mut line = None;
    for _ in 0..50 {
        line = server
            .log()
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .find(|entry| {
                entry["span"]["request_id"] == "find-me-7"
                    && entry["fields"]["message"] == "request answered"
            });
        if line.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let line = line.expect("a JSON line for the request");
    assert_eq!(line["level"], "INFO");
    assert_eq!(line["span"]["method"], "GET");
    assert_eq!(
        line["span"]["route"], "/api/users/{user_id}",
        "the route, never the id"
    );
    assert_eq!(line["fields"]["status"], 401);
    assert!(line["fields"]["latency_us"].is_u64());
    assert!(
        !server.log().contains("0190-not-mine"),
        "the raw path is not logged"
    );
}
