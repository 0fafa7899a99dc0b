//! The Argon2 implementation against RFC 9106 and against the hashes that
//! the `argon2` crate (0.5) wrote before it, in both directions.

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};

use super::*;

const CHEAP: HashingCost = HashingCost {
    memory_kib: 64,
    iterations: 1,
    parallelism: 1,
};

/// The `argon2` crate 0.5 at `cost`: what this service hashed with before.
fn old_crate(cost: HashingCost) -> argon2::Argon2<'static> {
    let params =
        argon2::Params::new(cost.memory_kib, cost.iterations, cost.parallelism, None).unwrap();
    argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
}

fn old_hash(cost: HashingCost, password: &str, salt: &[u8]) -> String {
    old_crate(cost)
        .hash_password(password.as_bytes(), &SaltString::encode_b64(salt).unwrap())
        .unwrap()
        .to_string()
}

fn verify(computations: &Computations, password: &str, stored: &str) -> Verification {
    let mut arena = computations.new_arena();
    computations
        .verify(&Password::new(password.into()), Some(stored), &mut arena)
        .unwrap()
}

#[test]
fn the_rfc_9106_argon2id_test_vector_is_reproduced() {
    // RFC 9106, section 5.3: m = 32 KiB, t = 3, p = 4, with a secret and
    // associated data.
    let params = Params::builder()
        .memory(Memory::kib(32))
        .passes(3)
        .lanes(4)
        .threads(1)
        .build()
        .unwrap();
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let mut tag = [0_u8; 32];
    argon2
        .hash_into_with_ad(&[1; 32], &[2; 16], &[3; 8], &[4; 12], &mut tag)
        .unwrap();
    assert_eq!(
        hex(&tag),
        "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659"
    );
}

#[test]
fn a_hash_written_by_the_old_crate_at_the_default_cost_verifies_without_a_rehash() {
    // Made by the `argon2` crate 0.5.3 (m = 19456, t = 2, p = 1).
    let stored = "$argon2id$v=19$m=19456,t=2,p=1$c2l4dGVlbiBieXRlIHNsdA$k81ovk8fkH1PorA/36zCkEKia28tQyMQYijfaS5RQy4";
    let computations = Computations::new(HashingCost::DEFAULT).unwrap();
    let right = verify(&computations, "correct horse battery staple", stored);
    assert!(right.matched && right.rehashed.is_none());
    let wrong = verify(&computations, "correct horse battery stapler", stored);
    assert!(!wrong.matched);
}

#[test]
fn a_new_hash_is_the_old_crates_string_and_verifies_under_it() {
    let computations = Computations::new(CHEAP).unwrap();
    let mut arena = computations.new_arena();
    let salt = [7_u8; SALT_LENGTH];
    let ours = computations
        .hash_with_salt(&Password::new("correct horse".into()), &salt, &mut arena)
        .unwrap();
    assert_eq!(ours, old_hash(CHEAP, "correct horse", &salt));
    let parsed = PasswordHash::new(&ours).unwrap();
    assert!(
        old_crate(CHEAP)
            .verify_password(b"correct horse", &parsed)
            .is_ok()
    );
    assert!(
        old_crate(CHEAP)
            .verify_password(b"correct horsE", &parsed)
            .is_err()
    );
}

#[test]
fn old_hashes_with_two_lanes_or_another_cost_verify_and_are_rehashed() {
    let computations = Computations::new(CHEAP).unwrap();
    let costs = [
        HashingCost {
            parallelism: 2,
            ..CHEAP
        },
        HashingCost {
            memory_kib: 256,
            iterations: 3,
            ..CHEAP
        },
    ];
    for cost in costs {
        let stored = old_hash(cost, "password1", b"sixteen byte slt");
        let outcome = verify(&computations, "password1", &stored);
        assert!(outcome.matched, "{stored}");
        let rehashed = outcome.rehashed.expect("rehashed with the configured cost");
        assert!(
            rehashed.starts_with("$argon2id$v=19$m=64,t=1,p=1$"),
            "{rehashed}"
        );
        assert!(!verify(&computations, "password2", &stored).matched);
    }
}

#[test]
fn verification_in_the_arena_matches_only_the_right_password() {
    let computations = Computations::new(CHEAP).unwrap();
    let mut arena = computations.new_arena();
    let stored = computations
        .hash(&Password::new("correct horse".into()), &mut arena)
        .unwrap();
    let right = computations
        .verify(
            &Password::new("correct horse".into()),
            Some(&stored),
            &mut arena,
        )
        .unwrap();
    assert!(right.matched && right.rehashed.is_none());
    let wrong = computations
        .verify(
            &Password::new("correct horsE".into()),
            Some(&stored),
            &mut arena,
        )
        .unwrap();
    assert!(!wrong.matched);
}

#[test]
fn a_stored_string_that_is_no_phc_string_is_an_error_not_a_mismatch() {
    let computations = Computations::new(CHEAP).unwrap();
    let mut arena = computations.new_arena();
    let outcome = computations.verify(
        &Password::new("password1".into()),
        Some("$argon2id$v=19$m=64"),
        &mut arena,
    );
    assert!(matches!(outcome, Err(HashingError::Failed(_))));
}

#[test]
fn costs_the_algorithm_refuses_are_refused_before_any_hashing() {
    let too_little_memory = HashingCost {
        memory_kib: 8,
        parallelism: 2,
        ..CHEAP
    };
    assert!(params(too_little_memory).is_err());
    assert!(
        params(HashingCost {
            iterations: 0,
            ..CHEAP
        })
        .is_err()
    );
    assert!(params(HashingCost::DEFAULT).is_ok());
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

    /// A differential check on top of the vectors: for any password, salt
    /// and small cost, the new implementation writes the old crate's exact
    /// string, and its arena, wiped and reused, gives it again.
    #[test]
    fn any_password_salt_and_cost_gives_the_old_crates_string(
        password in "\\PC{0,40}",
        salt in proptest::collection::vec(proptest::prelude::any::<u8>(), 8..33),
        lanes in 1_u32..=3,
        blocks_per_lane in 8_u32..=48,
        iterations in 1_u32..=3,
    ) {
        let cost = HashingCost {
            memory_kib: blocks_per_lane * lanes,
            iterations,
            parallelism: lanes,
        };
        let computations = Computations::new(cost).unwrap();
        let mut arena = computations.new_arena();
        let ours = computations
            .hash_with_salt(&Password::new(password.clone()), &salt, &mut arena)
            .unwrap();
        proptest::prop_assert_eq!(&ours, &old_hash(cost, &password, &salt));
        let again = computations
            .hash_with_salt(&Password::new(password.clone()), &salt, &mut arena)
            .unwrap();
        proptest::prop_assert_eq!(ours, again);
    }
}
