//! Unit tests of the relying-party layer: the options it builds, what it
//! refuses before any lookup, and the stored state's round trip.

use super::*;
use crate::domain::email::Email;

fn party() -> RelyingParty {
    RelyingParty::new("https://accounts.example.com", "accounts.example.com").unwrap()
}

#[test]
fn ip_hosts_are_refused_as_relying_party_ids() {
    assert!(RelyingParty::new("http://127.0.0.1:3000", "127.0.0.1").is_err());
    assert!(RelyingParty::new("http://[::1]:3000", "[::1]").is_err());
    assert_eq!(party().id(), "accounts.example.com");
    assert!(RelyingParty::new("http://localhost:3000", "localhost").is_ok());
}

#[test]
fn creation_options_require_a_resident_key_and_user_verification() {
    let user = User {
        id: UserId::generate(),
        email: Email::parse("ada@example.com").unwrap(),
    };
    let started = party().start_registration(&user, &[]).unwrap();
    let options = &started.public_key;
    assert_eq!(options["rp"]["id"], "accounts.example.com");
    assert_eq!(options["authenticatorSelection"]["residentKey"], "required");
    assert_eq!(
        options["authenticatorSelection"]["userVerification"],
        "required"
    );
    assert_eq!(options["user"]["name"], "ada@example.com");
    assert!(!started.server_state.is_empty());
}

#[test]
fn request_options_name_no_credential() {
    let started = party().start_authentication().unwrap();
    let options = &started.public_key;
    assert_eq!(options["rpId"], "accounts.example.com");
    assert_eq!(options["userVerification"], "required");
    assert!(
        options
            .get("allowCredentials")
            .is_none_or(|list| list.as_array().is_some_and(Vec::is_empty))
    );
}

#[test]
fn garbage_is_refused_before_any_lookup() {
    for credential in [
        serde_json::json!(null),
        serde_json::json!({"id": "x"}),
        serde_json::json!("text"),
    ] {
        assert!(Assertion::parse(&credential).is_err(), "{credential}");
    }
}

#[test]
fn the_state_round_trips_through_its_columns() {
    for state in [
        PasskeyState {
            sign_count: 7,
            backup_eligible: true,
            backed_up: true,
            user_verified: true,
            attachment: 1,
        },
        PasskeyState {
            sign_count: 0,
            backup_eligible: false,
            backed_up: false,
            user_verified: false,
            attachment: 0,
        },
    ] {
        assert_eq!(PasskeyState::from_dynamic(state.to_dynamic()), state);
    }
}

#[test]
fn default_names_come_from_the_user_agent() {
    let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36";
    assert_eq!(default_name(Some(chrome)), "Chrome");
    assert_eq!(default_name(Some("Mozilla/5.0 Firefox/125.0")), "Firefox");
    assert_eq!(default_name(None), "Passkey");
}
