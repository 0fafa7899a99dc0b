//! The tests' own authenticator: RFC 6238 (HMAC-SHA-1, 6 digits, 30 s)
//! written here from the RFC over `hmac` and `sha1`, independent of the
//! crate the service uses; and the steps of turning TOTP on through the API.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, KeyInit as _, Mac as _};
use serde_json::{Value, json};

use crate::helpers::{Browser, PASSWORD, TestApp, TestResponse};

const STEP_SECS: u64 = 30;

/// Decodes RFC 4648 base32 without padding.
pub fn base32_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut bits: u64 = 0;
    let mut count = 0;
    let mut out = Vec::new();
    for byte in text.bytes() {
        let value = ALPHABET
            .iter()
            .position(|&c| c == byte)
            .unwrap_or_else(|| panic!("not base32: {text}"));
        bits = (bits << 5) | value as u64;
        count += 5;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    out
}

/// The code of `step` for the base32 `secret`.
pub fn code_at(secret: &str, step: u64) -> String {
    let key = base32_decode(secret);
    let mut mac = <Hmac<sha1::Sha1>>::new_from_slice(&key).expect("any key length");
    mac.update(&step.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[19] & 0x0f);
    let value = u32::from_be_bytes([
        digest[offset],
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]) & 0x7fff_ffff;
    format!("{:06}", value % 1_000_000)
}

/// The 30-second step now.
pub fn current_step() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
        / STEP_SECS
}

/// The current step, after waiting for a new one if fewer than `needed`
/// seconds of this one remain, so a test's codes keep their meaning.
pub async fn step_with(needed: u64) -> u64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970");
    let into_step = now.as_millis() as u64 % (STEP_SECS * 1000);
    let left_ms = STEP_SECS * 1000 - into_step;
    if left_ms < needed * 1000 {
        tokio::time::sleep(Duration::from_millis(left_ms + 200)).await;
    }
    current_step()
}

/// Waits until `step` is over, so its code is one step old.
pub async fn wait_past(step: u64) {
    while current_step() <= step {
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// A six-digit code that belongs to none of `step`'s neighbours.
pub fn wrong_code(secret: &str, step: u64) -> String {
    let taken: Vec<String> = (step - 2..=step + 2).map(|s| code_at(secret, s)).collect();
    (0..)
        .map(|n| format!("{:06}", n * 111_111 % 1_000_000))
        .find(|code| !taken.contains(code))
        .expect("a free code")
}

/// TOTP just turned on: the secret, the recovery codes, and the step whose
/// code confirmed it (the one before `step`, so `step` and `step + 1`
/// remain for the test).
pub struct Enabled {
    pub secret: String,
    pub recovery_codes: Vec<String>,
    pub step: u64,
}

pub fn totp_path(user_id: &str, tail: &str) -> String {
    format!("/api/users/{user_id}/totp{tail}")
}

/// `POST …/totp` with an empty body.
pub async fn enrol(browser: &mut Browser, user_id: &str) -> TestResponse {
    let request = browser.request(reqwest::Method::POST, &totp_path(user_id, ""));
    browser.send(request).await
}

/// Turns TOTP on for the browser's account with a code of the previous
/// step; at least 15 s of the current step remain when it returns.
pub async fn enable_totp(browser: &mut Browser, user_id: &str) -> Enabled {
    let step = step_with(20).await;
    let enrolment = enrol(browser, user_id).await;
    assert_eq!(enrolment.status, 200, "{}", enrolment.text);
    let secret = enrolment.body["secret"]
        .as_str()
        .expect("secret")
        .to_owned();
    let confirmed = browser
        .post_json(
            &totp_path(user_id, "/confirm"),
            &json!({ "code": code_at(&secret, step - 1) }),
        )
        .await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.text);
    let recovery_codes = confirmed.body["recovery_codes"]
        .as_array()
        .expect("recovery codes")
        .iter()
        .map(|code| code.as_str().expect("a string").to_owned())
        .collect();
    Enabled {
        secret,
        recovery_codes,
        step,
    }
}

/// A login with the right password on an account with TOTP on: asserts
/// the 401 and returns its challenge id.
pub async fn challenge_for(app: &TestApp, email: &str) -> String {
    let mut browser = app.browser();
    let answer = browser.login(email, PASSWORD).await;
    answer.assert_error(401, "Second factor required");
    assert_eq!(
        answer.body["data"]["second_factor"], "totp",
        "{}",
        answer.text
    );
    assert!(
        answer.session_cookie().is_none(),
        "no cookie before the code"
    );
    answer.body["data"]["challenge_id"]
        .as_str()
        .expect("a challenge id")
        .to_owned()
}

/// `POST /api/auth/login/second-factor` with `body`.
pub async fn second_factor(browser: &mut Browser, body: &Value) -> TestResponse {
    browser
        .post_json("/api/auth/login/second-factor", body)
        .await
}

/// `DELETE …/totp` with `body`.
pub async fn disable_totp(browser: &mut Browser, user_id: &str, body: &Value) -> TestResponse {
    let request = browser
        .request(reqwest::Method::DELETE, &totp_path(user_id, ""))
        .json(body);
    browser.send(request).await
}
