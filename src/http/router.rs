//! The route table and the middleware stack around it.

use std::time::Duration;

use axum::Router;

use axum::http::header::{CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderValue, Method};
use axum::middleware;

use axum::routing::{MethodRouter, get};
use tower_http::cors::{AllowOrigin, CorsLayer};
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};
use utoipa_axum::routes;

use super::guard::RouteGuard;
use super::rate_limit::Limited;
use super::{
    AppState, account_page, auth, events, front_door, guard, health, identities, oauth, openapi,
    passkey_login, passkeys, password_reset, second_factor_login, sessions, totp, undo, users,
};
use crate::config::Origin;
use crate::error::ApiError;

/// Every route of the service with its middleware, ready to serve.
pub fn router(state: AppState) -> Router {
    // Guards go on each method router (not the whole route), so that a wrong
    // method is 405 before any guard speaks, as the order of checks requires.
    let guarded = |route: RouteGuard, method_router: MethodRouter<AppState>| {
        method_router.route_layer(middleware::from_fn_with_state(
            (state.clone(), route),
            guard::guard_request,
        ))
    };
    let features = openapi::Features {
        mail: state.mail.is_some(),
        passkeys: state.passkeys.is_some(),
        providers: !state.providers.is_empty(),
    };
    let (routes, document) = api_routes(features, guarded).split_for_parts();
    let document = openapi::finished(document);
    let routes = routes
        .route("/api/openapi.json", get(openapi::openapi_json(&document)))
        .route(account_page::PAGE_PATH, get(account_page::page))
        .route(account_page::STYLESHEET_PATH, get(account_page::stylesheet))
        .route(account_page::SCRIPT_PATH, get(account_page::script))
        .route(
            account_page::ACTIVITY_SCRIPT_PATH,
            get(account_page::activity_script),
        )
        .route(
            account_page::PASSKEYS_SCRIPT_PATH,
            get(account_page::passkeys_script),
        )
        .route(
            account_page::RESET_SCRIPT_PATH,
            get(account_page::reset_script),
        )
        .route(
            account_page::PROVIDERS_SCRIPT_PATH,
            get(account_page::providers_script),
        )
        .route(
            account_page::TOTP_SCRIPT_PATH,
            get(account_page::totp_script),
        )
        .route(account_page::FAVICON_PATH, get(account_page::favicon));
    // Like the API routes it calls, the undo page exists only with mail on.
    let routes = if features.mail {
        routes
            .route(account_page::UNDO_PAGE_PATH, get(account_page::undo_page))
            .route(
                account_page::UNDO_SCRIPT_PATH,
                get(account_page::undo_script),
            )
    } else {
        routes
    };
    // Browser navigations, not JSON: outside the document. An unconfigured
    // provider answers 404 from its handler.
    let routes = if features.providers {
        routes
            .route("/auth/github", get(oauth::github))
            .route("/auth/google", get(oauth::google))
            .route("/auth/oidc/{name}", get(oauth::oidc))
    } else {
        routes
    };
    let routes = if state.root_redirect {
        routes.route("/", get(account_page::to_page))
    } else {
        routes
    };
    let router = routes
        .fallback(|| async { ApiError::RouteNotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(middleware::from_fn_with_state(
            state.clone(),
            front_door::front_door,
        ));
    let router = match cors_layer(&state.cors_origins) {
        Some(cors) => router.layer(cors),
        None => router,
    };
    router.with_state(state)
}

/// Every documented route, each handler registered once for both the router
/// and the OpenAPI document; `guard` wraps a route's method router in the
/// checks its [`RouteGuard`] names (the document passes it through).
pub(super) fn api_routes(
    features: openapi::Features,
    guard: impl Fn(RouteGuard, MethodRouter<AppState>) -> MethodRouter<AppState>,
) -> OpenApiRouter<AppState> {
    let guarded = |route, (schemas, paths, method_router): UtoipaMethodRouter<AppState>| {
        (schemas, paths, guard(route, method_router))
    };
    let plain = RouteGuard::default();
    let body_limited = |rate_limit| RouteGuard {
        reads_body: true,
        rate_limit,
    };
    let routes = OpenApiRouter::with_openapi(openapi::frame())
        .routes(guarded(
            body_limited(Some(Limited::SignUp)),
            routes!(auth::sign_up),
        ))
        .routes(guarded(
            body_limited(Some(Limited::Login)),
            routes!(auth::login),
        ))
        .routes(guarded(
            body_limited(Some(Limited::Login)),
            routes!(second_factor_login::login_second_factor),
        ))
        .routes(guarded(
            body_limited(None),
            routes!(totp::totp_status, totp::enrol_totp, totp::disable_totp),
        ))
        .routes(guarded(body_limited(None), routes!(totp::confirm_totp)))
        .routes(guarded(
            body_limited(None),
            routes!(totp::renew_recovery_codes),
        ))
        .routes(guarded(plain, routes!(auth::logout)))
        .routes(guarded(plain, routes!(auth::check)))
        .routes(guarded(plain, routes!(auth::session)))
        .routes(guarded(plain, routes!(users::get_user, users::delete_user)))
        .routes(guarded(
            plain,
            routes!(sessions::list_sessions, sessions::end_other_sessions),
        ))
        .routes(guarded(plain, routes!(sessions::end_session)))
        .routes(guarded(plain, routes!(events::list_events)))
        .routes(guarded(plain, routes!(identities::list_providers)))
        .routes(guarded(
            body_limited(Some(Limited::Update)),
            routes!(users::update_user),
        ))
        .routes(routes!(health::health));
    // A feature that is off has no routes (404, as unknown routes) and no
    // place in the served document.
    let routes = if features.mail {
        routes
            .routes(guarded(
                body_limited(None),
                routes!(password_reset::reset_code),
            ))
            .routes(guarded(
                body_limited(None),
                routes!(undo::undo_email_change),
            ))
    } else {
        routes
    };
    let routes = if features.providers {
        routes
            .routes(guarded(
                body_limited(None),
                routes!(identities::list_identities, identities::confirm_link),
            ))
            .routes(guarded(plain, routes!(identities::delete_identity)))
    } else {
        routes
    };
    if !features.passkeys {
        return routes;
    }
    routes
        .routes(guarded(
            body_limited(None),
            routes!(passkeys::registration_options),
        ))
        .routes(guarded(
            body_limited(None),
            routes!(passkeys::add_passkey, passkeys::list_passkeys),
        ))
        .routes(guarded(
            body_limited(None),
            routes!(passkeys::rename_passkey, passkeys::delete_passkey),
        ))
        .routes(guarded(
            body_limited(Some(Limited::PasskeyOptions)),
            routes!(passkey_login::sign_in_options),
        ))
        .routes(guarded(
            body_limited(Some(Limited::PasskeyLogin)),
            routes!(passkey_login::sign_in),
        ))
}

/// Credentialed CORS for exactly the configured origins, preflight included;
/// none at all when no origin is configured.
fn cors_layer(origins: &[Origin]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|origin| HeaderValue::from_str(origin.as_str()).ok())
        .collect();
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_credentials(true)
            .allow_methods([
                Method::GET,
                Method::HEAD,
                Method::POST,
                Method::PATCH,
                Method::DELETE,
            ])
            .allow_headers([CONTENT_TYPE])
            .expose_headers([RETRY_AFTER])
            .max_age(Duration::from_secs(600)),
    )
}
