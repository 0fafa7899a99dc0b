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

postgres_test!(health_is_503_within_two_seconds_while_postgres_is_unreachable_and_200_once_back);
async fn health_is_503_within_two_seconds_while_postgres_is_unreachable_and_200_once_back(
    backend: Backend,
) {
    use std::time::{Duration, Instant};

    use crate::backend::TestDatabase;
    use crate::tcp_proxy::TcpProxy;

    let database: TestDatabase = backend.fresh_database().await;
    let direct = url::Url::parse(&database.url()).unwrap();
    let target = format!(
        "{}:{}",
        direct.host_str().unwrap(),
        direct.port().unwrap_or(5432)
    );
    let proxy = TcpProxy::start(
        tokio::net::lookup_host(target)
            .await
            .unwrap()
            .next()
            .unwrap(),
    )
    .await;
    let mut through_proxy = direct.clone();
    through_proxy.set_host(Some("127.0.0.1")).unwrap();
    through_proxy.set_port(Some(proxy.address.port())).unwrap();
    let app = crate::helpers::spawn_app_on(database, through_proxy.as_str(), &[]).await;
    assert_eq!(app.browser().get("/health").await.status, 200);

    proxy.close();
    let started = Instant::now();
    let down = app.browser().get("/health").await;
    let waited = started.elapsed();

    assert_eq!(down.status, 503, "{}", down.text);
    assert_eq!(down.body["status"], "unavailable");
    assert_eq!(down.body["error"], "database unavailable");
    assert!(
        waited < Duration::from_millis(2_500),
        "answered in {waited:?}"
    );

    proxy.reopen().await;
    let mut status = 0;
    for _ in 0..50 {
        status = app.browser().get("/health").await.status;
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 200, "healthy again without a restart");
}
