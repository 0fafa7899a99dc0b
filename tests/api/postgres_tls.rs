//! Encrypted PostgreSQL: the real binary on the local server with a
//! certificate made in the test (see `tls_server`). `require` encrypts,
//! `verify-full` checks the CA and the host name, `verify-ca` only the CA;
//! a certificate that does not verify stops the start with one line.

use crate::backend::{Backend, TestDatabase, connect};
use crate::helpers::{Browser, PASSWORD};
use crate::process::ServerProcess;
use crate::startup::{assert_one_line_failure, serve};
use crate::tls_server::{CERTIFICATE_HOST, DATABASE, TlsServer, certificate_authority};

/// A fresh schema in the TLS tests' database and its URL with `host` and
/// `params` put in.
async fn database_on(
    server: &TlsServer,
    host: &str,
    params: &[(&str, &str)],
) -> (TestDatabase, String) {
    let database = Backend::Postgres(server.database_url())
        .fresh_database()
        .await;
    let mut url = url::Url::parse(&database.url()).expect("database URL");
    url.set_host(Some(host)).expect("host");
    url.query_pairs_mut().extend_pairs(params);
    (database, url.to_string())
}

/// Signs up, checks the session, and returns the service's connections as
/// the server sees them: (how many, how many over TLS).
async fn serve_and_count_encrypted(server: &TlsServer, process: &ServerProcess) -> (i64, i64) {
    let mut browser = Browser::new(&process.base_url());
    let signed_up = browser.sign_up("tls@example.com", PASSWORD).await;
    assert_eq!(
        signed_up.status,
        200,
        "sign-up: {}\n{}",
        signed_up.body,
        process.log()
    );
    let session = browser.get("/api/auth/session").await;
    assert_eq!(session.status, 200, "session check: {}", session.body);
    assert_eq!(session.body["user"]["primary_email"], "tls@example.com");

    let superuser = connect(&server.server_url).await;
    let row = superuser
        .query_one(
            "SELECT count(*), count(*) FILTER (WHERE s.ssl)
               FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid)
              WHERE a.datname = $1 AND a.application_name = 'neptun-accounts'",
            &[&DATABASE],
        )
        .await
        .expect("server's view of the connections");
    (row.get(0), row.get(1))
}

fn assert_all_encrypted((connections, encrypted): (i64, i64)) {
    assert!(connections > 0, "the service holds a connection");
    assert_eq!(
        encrypted, connections,
        "every connection of the service is TLS"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sslmode_require_serves_over_an_encrypted_connection() {
    let Some(server) = TlsServer::get("sslmode_require_serves_over_an_encrypted_connection").await
    else {
        return;
    };
    let (_database, url) = database_on(server, "127.0.0.1", &[("sslmode", "require")]).await;

    let process = ServerProcess::start(&url, &[]);

    assert_all_encrypted(serve_and_count_encrypted(server, &process).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_full_with_the_servers_ca_and_host_name_serves_over_tls() {
    let Some(server) =
        TlsServer::get("verify_full_with_the_servers_ca_and_host_name_serves_over_tls").await
    else {
        return;
    };
    let ca_file = server.ca_file.display().to_string();
    let params = [
        ("hostaddr", "127.0.0.1"),
        ("sslmode", "verify-full"),
        ("sslrootcert", ca_file.as_str()),
    ];
    let (_database, url) = database_on(server, CERTIFICATE_HOST, &params).await;

    let process = ServerProcess::start(&url, &[]);

    assert_all_encrypted(serve_and_count_encrypted(server, &process).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_full_refuses_to_start_when_another_ca_signed_the_certificate() {
    let Some(server) =
        TlsServer::get("verify_full_refuses_to_start_when_another_ca_signed_the_certificate").await
    else {
        return;
    };
    let folder = tempfile::tempdir().expect("folder");
    let other_ca = folder.path().join("other-ca.crt");
    std::fs::write(&other_ca, certificate_authority("another CA").pem).expect("write CA");
    let other_ca = other_ca.display().to_string();
    let params = [
        ("hostaddr", "127.0.0.1"),
        ("sslmode", "verify-full"),
        ("sslrootcert", other_ca.as_str()),
    ];
    let (_database, url) = database_on(server, CERTIFICATE_HOST, &params).await;

    let output = serve(
        &[
            "--database-url",
            &url,
            "--secret-key-file",
            crate::helpers::test_key_file(),
        ],
        folder.path(),
    );

    assert_one_line_failure(&output, "certificate");
    assert_one_line_failure(&output, "UnknownIssuer");
    assert_one_line_failure(&output, "name the CA's PEM file with sslrootcert");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_full_refuses_to_start_when_the_certificate_is_for_another_host() {
    let Some(server) =
        TlsServer::get("verify_full_refuses_to_start_when_the_certificate_is_for_another_host")
            .await
    else {
        return;
    };
    let folder = tempfile::tempdir().expect("folder");
    let ca_file = server.ca_file.display().to_string();
    // The certificate names `localhost` only; the URL names the address.
    let params = [
        ("sslmode", "verify-full"),
        ("sslrootcert", ca_file.as_str()),
    ];
    let (_database, url) = database_on(server, "127.0.0.1", &params).await;

    let output = serve(
        &[
            "--database-url",
            &url,
            "--secret-key-file",
            crate::helpers::test_key_file(),
        ],
        folder.path(),
    );

    assert_one_line_failure(&output, "not valid for name \"127.0.0.1\"");
    assert_one_line_failure(&output, "the URL's host must be a name");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_ca_serves_with_the_servers_ca_whatever_the_host_name() {
    let Some(server) =
        TlsServer::get("verify_ca_serves_with_the_servers_ca_whatever_the_host_name").await
    else {
        return;
    };
    let ca_file = server.ca_file.display().to_string();
    let params = [("sslmode", "verify-ca"), ("sslrootcert", ca_file.as_str())];
    let (_database, url) = database_on(server, "127.0.0.1", &params).await;

    let process = ServerProcess::start(&url, &[]);

    assert_all_encrypted(serve_and_count_encrypted(server, &process).await);
}
