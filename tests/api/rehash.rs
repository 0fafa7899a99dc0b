//! Argon2 parameters can be raised later: a login on a hash made with the
//! old ones re-hashes the password with the current ones.

use crate::backend::Backend;
use crate::helpers::{PASSWORD, spawn_app_with, spawn_instance};

backend_test!(a_login_on_a_hash_with_old_parameters_rehashes_it_with_the_current_ones);
async fn a_login_on_a_hash_with_old_parameters_rehashes_it_with_the_current_ones(backend: Backend) {
    let cheap = spawn_app_with(&backend, &["--argon2-memory-kib", "256"]).await;
    let (_, user_id) = cheap.signed_up("upgraded@example.com").await;
    let old_hash = cheap.stored_password_hash(&user_id).await;
    assert!(old_hash.contains("m=256,t=1,p=1"), "{old_hash}");

    // The service restarted with a higher cost, on the same database.
    let raised = spawn_instance(
        &cheap.database.url(),
        &["--argon2-memory-kib", "1024", "--argon2-iterations", "2"],
    )
    .await;
    let mut browser = crate::helpers::Browser::new(&raised.base_url());
    let login = browser.login("upgraded@example.com", PASSWORD).await;
    assert_eq!(login.status, 200, "{}", login.text);

    let new_hash = cheap.stored_password_hash(&user_id).await;
    assert!(new_hash.contains("m=1024,t=2,p=1"), "{new_hash}");
    let again = crate::helpers::Browser::new(&raised.base_url())
        .login("upgraded@example.com", PASSWORD)
        .await;
    assert_eq!(again.status, 200, "the new hash verifies the same password");
}
