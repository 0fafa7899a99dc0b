//! The callback of a provider flow and its three outcomes (contract
//! section 14): a linked identity signs its account in; an unknown email
//! makes a new password-less account; an email that belongs to an account
//! waits for that account's owner to confirm the link. A live session is
//! never switched to another account.

use axum::http::header::SET_COOKIE;
use axum::response::Response;
use serde_json::json;

use super::flow_cookie::{FLOW_LIFETIME, FlowCookie, clearing_cookie};
use super::{Failure, Visit, redirect};
use crate::domain::event::NewEvent;
use crate::domain::session::new_public_id;
use crate::domain::time::Timestamp;
use crate::domain::user::UserId;
use crate::http::AppState;
use crate::http::second_factor_login::{start_provider_challenge, totp_enabled};
use crate::http::session::session_cookie;
use crate::oauth::{AuthorizationRequest, ProviderAccount};
use crate::store::identities::{Identity, NewPendingLink, ProviderSignUp};
use crate::store::{NewSession, NewUser};

/// Checks the flow, asks the provider who signed in, and acts on it.
pub async fn finish(visit: Visit) -> Result<Response, Failure> {
    let params = &visit.params;
    if let Some(error) = &params.error {
        let error: String = error.chars().take(100).collect();
        return Err(Failure(format!("the provider answered error={error:?}")));
    }
    let (Some(code), Some(flow_state)) = (&params.code, &params.state) else {
        return Err(Failure("a callback without code or state".into()));
    };
    let state = &visit.state;
    let Some(cookie) = FlowCookie::presented(&visit.headers, state.cookie) else {
        return Err(Failure(
            "no flow cookie: another browser, or a flow older than 10 minutes".into(),
        ));
    };
    let flow = state
        .store
        .take_oauth_flow(
            flow_state,
            visit.provider.name(),
            &cookie.binding(),
            Timestamp::now(),
        )
        .await?
        .ok_or_else(|| Failure("unknown, used, expired or foreign state".into()))?;
    let account = visit
        .provider
        .account(
            code,
            AuthorizationRequest {
                state: flow_state,
                pkce_verifier: &flow.pkce_verifier,
                nonce: flow.nonce.as_deref(),
            },
        )
        .await?;
    let provider = visit.provider.name();
    let identity = state
        .store
        .find_identity(provider, &account.subject)
        .await?;
    let signed_in_user = visit.session.0.as_ref().map(|current| &current.user.id);
    match (identity, signed_in_user) {
        (Some(identity), Some(user_id)) if identity.user_id == *user_id => {
            Ok(redirect(&flow.redirect_path, None))
        }
        (Some(_), Some(_)) => Err(Failure(
            "the identity is linked to another account than the signed-in one".into(),
        )),
        (Some(identity), None) if totp_enabled(state, &identity.user_id).await? => {
            second_factor(&visit, &identity, &cookie).await
        }
        (Some(identity), None) => sign_in(&visit, identity, &account, &flow.redirect_path).await,
        (None, Some(user_id)) => pending_link(&visit, user_id.clone(), account, &cookie).await,
        (None, None) => match state.store.find_credentials(&account.email).await? {
            Some(owner) => pending_link(&visit, owner.user_id, account, &cookie).await,
            None => sign_up(&visit, account, &flow.redirect_path).await,
        },
    }
}

/// Outcome 1: the identity's account signs in.
async fn sign_in(
    visit: &Visit,
    identity: Identity,
    account: &ProviderAccount,
    landing: &str,
) -> Result<Response, Failure> {
    let state = &visit.state;
    let now = Timestamp::now();
    let issued = state.sessions.issue(identity.user_id.clone(), now)?;
    let session = NewSession {
        row: issued.row.clone(),
        event: NewEvent::login_with_provider(
            &identity.user_id,
            &identity.provider,
            now,
            &visit.origin,
        ),
        origin: visit.origin.clone(),
    };
    state
        .store
        .sign_in_with_identity(&identity.id, &account.email, session)
        .await?;
    Ok(signed_in(state, &issued, now, landing))
}

/// Outcome 1 on an account with TOTP on (section 15): no session yet; the
/// page finishes the sign-in with a code, from this browser only.
async fn second_factor(
    visit: &Visit,
    identity: &Identity,
    cookie: &FlowCookie,
) -> Result<Response, Failure> {
    let state = &visit.state;
    let detail = json!({ "method": "provider", "provider": identity.provider });
    let challenge_id =
        start_provider_challenge(state, &identity.user_id, detail, cookie.browser_binding())
            .await?;
    tracing::info!(
        provider = identity.provider,
        "provider sign-in waits for the second factor"
    );
    Ok(redirect(
        &format!("/account?second_factor={challenge_id}"),
        Some(cookie.set_cookie(state.cookie)),
    ))
}

/// Outcome 2: a new account with the provider's email and no password.
async fn sign_up(
    visit: &Visit,
    account: ProviderAccount,
    landing: &str,
) -> Result<Response, Failure> {
    let state = &visit.state;
    let provider = visit.provider.name();
    let now = Timestamp::now();
    let user_id = UserId::generate();
    let issued = state.sessions.issue(user_id.clone(), now)?;
    let sign_up_event = NewEvent::sign_up_with_provider(&user_id, provider, now, &visit.origin);
    let login_event = NewEvent::login_with_provider(&user_id, provider, now, &visit.origin);
    state
        .store
        .create_user_with_identity(ProviderSignUp {
            user: NewUser {
                id: user_id.clone(),
                email: account.email.clone(),
                // No password: the identity (or a passkey, or a password
                // set later) is the way in; no hash ever matches ''.
                password_hash: String::new(),
                created_at: now,
            },
            identity: Identity {
                id: uuid::Uuid::now_v7().hyphenated().to_string(),
                user_id: user_id.clone(),
                provider: provider.to_owned(),
                subject: account.subject,
                email: account.email.clone(),
                created_at: now,
            },
            sign_up_event,
            session: NewSession {
                row: issued.row.clone(),
                event: login_event,
                origin: visit.origin.clone(),
            },
        })
        .await?;
    Ok(signed_in(state, &issued, now, landing))
}

/// Outcome 3: nothing is linked until the owner of `user_id` confirms.
async fn pending_link(
    visit: &Visit,
    user_id: UserId,
    account: ProviderAccount,
    cookie: &FlowCookie,
) -> Result<Response, Failure> {
    let state = &visit.state;
    let provider = visit.provider.name();
    let now = Timestamp::now();
    state
        .store
        .create_pending_link(NewPendingLink {
            id: new_public_id()?,
            browser_binding: cookie.binding(),
            user_id,
            provider: provider.to_owned(),
            subject: account.subject,
            email: account.email,
            created_at: now,
            expires_at: now.plus(FLOW_LIFETIME),
        })
        .await?;
    tracing::info!(
        provider,
        "provider identity waits for the owner to confirm the link"
    );
    // The cookie lives on: the confirmation must come from this browser.
    Ok(redirect(
        &format!("/account?link={provider}"),
        Some(cookie.set_cookie(state.cookie)),
    ))
}

/// The session cookie, the flow cookie cleared, and the landing page.
fn signed_in(
    state: &AppState,
    issued: &crate::domain::session::IssuedSession,
    now: Timestamp,
    landing: &str,
) -> Response {
    crate::telemetry::login(true);
    let max_age = state.sessions.cookie_max_age(issued.row.created_at, now);
    let mut response = redirect(landing, Some(clearing_cookie(state.cookie)));
    response.headers_mut().append(
        SET_COOKIE,
        session_cookie(&issued.token, max_age, state.cookie),
    );
    response
}
