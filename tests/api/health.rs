use crate::backend::Backend;
use crate::helpers::spawn_app;

backend_test!(health_is_200_healthy_with_timestamp_and_uptime);
async fn health_is_200_healthy_with_timestamp_and_uptime(backend: Backend) {
    let app = spawn_app(&backend).await;

    let response = app.browser().get("/health").await;

    assert_eq!(response.status, 200);
    assert_eq!(response.body["status"], "healthy");
    let timestamp = response.body["timestamp"].as_str().unwrap();
    assert!(
        timestamp.ends_with('Z') && timestamp.len() == 24,
        "{timestamp}"
    );
    assert!(response.body["uptime"].as_f64().unwrap() >= 0.0);
}
