//! The OpenAPI document against the router it was generated with: every
//! documented operation is routed, every other method on a documented path
//! is 405, and the contract's routes are all in it.

use std::process::Command;

use reqwest::Method;
use serde_json::{Value, json};

use crate::authenticator::PASSKEYS_ON;
use crate::backend::Backend;
use crate::helpers::{Browser, PASSWORD, spawn_app, spawn_app_with};
use crate::process::BINARY;

/// The contract's routes (section 3), which the document must describe.
const CONTRACT_ROUTES: [(&str, &str); 9] = [
    ("post", "/api/auth/sign-up"),
    ("post", "/api/auth/login"),
    ("post", "/api/auth/logout"),
    ("head", "/api/auth/check"),
    ("get", "/api/auth/session"),
    ("get", "/api/users/{user_id}"),
    ("patch", "/api/users/{user_id}"),
    ("delete", "/api/users/{user_id}"),
    ("get", "/health"),
];

const METHODS: [&str; 7] = ["get", "head", "post", "put", "patch", "delete", "options"];

async fn served_document(browser: &mut Browser) -> Value {
    let response = browser.get("/api/openapi.json").await;
    assert_eq!(response.status, 200);
    assert!(
        response
            .header("content-type")
            .is_some_and(|value| value.starts_with("application/json"))
    );
    response.body
}

fn operations(document: &Value) -> Vec<(String, String)> {
    let mut operations = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for method in METHODS {
            if item.get(method).is_some() {
                operations.push((method.to_owned(), path.clone()));
            }
        }
    }
    operations
}

#[tokio::test]
async fn the_document_is_openapi_3_1_and_holds_every_contract_route() {
    let app = spawn_app(&Backend::Sqlite).await;
    let document = served_document(&mut app.browser()).await;

    assert!(
        document["openapi"]
            .as_str()
            .is_some_and(|version| version.starts_with("3.1")),
        "{}",
        document["openapi"]
    );
    let operations = operations(&document);
    for (method, path) in CONTRACT_ROUTES {
        assert!(
            operations.contains(&(method.to_owned(), path.to_owned())),
            "{method} {path} is not in the document"
        );
    }
    let cookie = &document["components"]["securitySchemes"]["session"];
    assert_eq!(cookie["type"], "apiKey");
    assert_eq!(cookie["in"], "cookie");
    assert_eq!(cookie["name"], "neptun-session");
    for operation in ["sign_up", "login", "logout"] {
        let security = operation_by_id(&document, operation)["security"].clone();
        assert_eq!(
            security,
            json!([{}, {"session": []}]),
            "the session cookie is optional on {operation}"
        );
    }
    let patch = operation_by_id(&document, "update_user");
    for status in [
        "200", "400", "401", "403", "404", "409", "413", "415", "429", "503",
    ] {
        assert!(
            patch["responses"].get(status).is_some(),
            "PATCH documents {status}"
        );
    }
}

#[tokio::test]
async fn the_document_names_every_message_of_the_contract() {
    let app = spawn_app_with(&Backend::Sqlite, &PASSKEYS_ON).await;
    let text = served_document(&mut app.browser()).await.to_string();
    for message in [
        "Invalid body(?email, ?password).",
        "At least one of email or password is required.",
        "Invalid body(email, password).",
        "Invalid JSON body.",
        "Passwords must match",
        "Current password is incorrect",
        "Unauthorized",
        "Invalid email or password",
        "Cross-site request refused",
        "Please log out first",
        "Recent authentication required",
        "User not found",
        "Not Found",
        "Method Not Allowed",
        "A user with this email already exists",
        "Payload Too Large",
        "Content-Type must be application/json",
        "Too many requests, retry later",
        "Server busy, retry later",
        "Passkey verification failed",
        "Passkey not recognised",
        "Passkey already registered",
        "Passkey not found",
        "Cannot remove the last way to sign in",
    ] {
        assert!(text.contains(message), "{message:?} is not in the document");
    }
}

fn operation_by_id<'a>(document: &'a Value, id: &str) -> &'a Value {
    document["paths"]
        .as_object()
        .expect("paths")
        .values()
        .flat_map(|item| METHODS.iter().filter_map(|method| item.get(*method)))
        .find(|operation| operation["operationId"] == id)
        .unwrap_or_else(|| panic!("no operation {id}"))
}

#[tokio::test]
async fn every_documented_operation_is_routed_and_every_other_method_is_405() {
    let app = spawn_app_with(&Backend::Sqlite, &PASSKEYS_ON).await;
    let (mut browser, user_id) = app.signed_up("documented@example.com").await;
    let document = served_document(&mut browser).await;
    let operations = operations(&document);

    for (method, path) in &operations {
        let concrete = path.replace("{user_id}", &user_id);
        // Past routing, any answer will do: a DELETE or logout that ends the
        // session leaves the later operations at 401, which is routed too.
        let body = json!({"email": "documented@example.com", "password": PASSWORD});
        let mut client = browser.same_cookie_at(&format!("http://{}", app.address));
        let request = client
            .request(method.to_uppercase().parse().expect("method"), &concrete)
            .json(&body);
        let response = client.send(request).await;
        assert!(
            response.status != 404
                || ["User not found", "Passkey not found"]
                    .contains(&response.body["message"].as_str().unwrap_or_default()),
            "{method} {path} is not routed: {}",
            response.text
        );
        assert_ne!(response.status, 405, "{method} {path}: {}", response.text);
    }

    let paths: Vec<&String> = operations.iter().map(|(_, path)| path).collect();
    for path in paths {
        let concrete = path.replace("{user_id}", &user_id);
        for method in METHODS {
            let documented = operations.contains(&(method.to_owned(), path.clone()));
            // HEAD is GET without a body wherever GET is routed.
            let head_of_get =
                method == "head" && operations.contains(&("get".into(), path.clone()));
            if documented || head_of_get {
                continue;
            }
            let method: Method = method.to_uppercase().parse().expect("method");
            let response = browser
                .send(browser.request(method.clone(), &concrete))
                .await;
            assert_eq!(response.status, 405, "{method} {path}");
            assert!(
                response.header("allow").is_some(),
                "{method} {path} has Allow"
            );
        }
    }
}

#[test]
fn the_cli_prints_the_whole_document_as_a_service_with_every_feature_serves_it() {
    let output = Command::new(BINARY).arg("openapi").output().expect("runs");
    assert!(output.status.success());
    let printed: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    // The CLI documents every optional part; a service serves what it has
    // switched on, so compare with one that has them all.
    let served = runtime.block_on(async {
        let mut every_feature = PASSKEYS_ON.to_vec();
        // Mail on too; nothing is sent, so the relay need not answer.
        every_feature.extend([
            "--mail-url",
            "smtp://127.0.0.1:1",
            "--mail-from",
            "NEPTUN <accounts@example.com>",
            // A sign-in provider too; discovery waits for the first sign-in.
            "--oidc",
            "corp=http://127.0.0.1:1,corp-client,corp-secret",
        ]);
        let app = spawn_app_with(&Backend::Sqlite, &every_feature).await;
        served_document(&mut app.browser()).await
    });
    assert_eq!(printed, served);
    assert!(
        printed["paths"]
            .get("/api/users/{user_id}/passkeys")
            .is_some()
    );
}
