//! The operator's commands on the service's database, with or without the
//! server running: the same store, email parser, password policy and
//! Argon2id hashing as the API. Output is for people by default and JSON
//! with `--json`.

mod events;

pub use self::events::EventQuery;

use std::path::Path;
use std::sync::Arc;

use serde_json::{Value, json};

use crate::app::{new_password_policy, password_hasher};
use crate::backup_file::BackupFile;
use crate::config::{Argon2Settings, ConfigError, DatabaseSettings, DatabaseUrl, PasswordRules};
use crate::domain::client::ClientOrigin;
use crate::domain::email::Email;
use crate::domain::event::{Actor, NewEvent};
use crate::domain::password::{Password, PasswordError, PasswordPolicy};
use crate::domain::password_hasher::PasswordHasher;
use crate::domain::time::Timestamp;
use crate::domain::user::UserId;
use crate::store::admin::{AccountKey, AccountSummary, AdminStore};
use crate::store::{self, NewUser, StoreError, StoreOptions};
use crate::telemetry::{self, Revocation};

/// An admin command's failure: one line for stderr.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct AdminError(String);

impl AdminError {
    pub fn new(message: String) -> Self {
        Self(message)
    }
}

impl From<StoreError> for AdminError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::EmailTaken => Self("another account already has this email".into()),
            other => Self(other.to_string()),
        }
    }
}

/// The database the commands work on, and for commands that set a
/// password, the service's hashing cost and password rules.
pub struct Admin {
    store: Arc<dyn AdminStore>,
    passwords: Option<NewPasswords>,
    json: bool,
}

struct NewPasswords {
    hasher: PasswordHasher,
    policy: PasswordPolicy,
}

impl Admin {
    /// Opens (and migrates) the database `database` names; never creates one.
    pub async fn open(database: &DatabaseSettings, json: bool) -> Result<Self, AdminError> {
        database
            .validate()
            .map_err(|err| AdminError(err.to_string()))?;
        // A mistyped path would otherwise leave an empty database behind
        // and report "no account".
        if let DatabaseUrl::Sqlite(path) = &database.database_url
            && !path.exists()
        {
            return Err(AdminError(format!(
                "no database at {}: check --database-url (the service creates it on its first start)",
                path.display()
            )));
        }
        let store = store::connect_admin(
            &database.database_url,
            StoreOptions {
                sqlite: database.sqlite_tuning(),
                max_connections: database.database_max_connections.min(2),
            },
        )
        .await?;
        Ok(Self {
            store,
            passwords: None,
            json,
        })
    }

    /// As `open`, ready to hash new passwords as the service does.
    pub async fn open_for_passwords(
        database: &DatabaseSettings,
        argon2: &Argon2Settings,
        rules: &PasswordRules,
        json: bool,
    ) -> Result<Self, AdminError> {
        let invalid = |err: ConfigError| AdminError(err.to_string());
        argon2.validate().map_err(invalid)?;
        rules.validate().map_err(invalid)?;
        let hasher = password_hasher(argon2, 1, 1).map_err(|err| AdminError(err.to_string()))?;
        let policy = new_password_policy(rules).map_err(invalid)?;
        let mut admin = Self::open(database, json).await?;
        admin.passwords = Some(NewPasswords { hasher, policy });
        Ok(admin)
    }

    pub async fn create(&self, email: &str, password: String) -> Result<String, AdminError> {
        let email = parse_email(email)?;
        let password = self.new_password(password)?;
        let password_hash = self.hash(password).await?;
        let id = UserId::generate();
        self.store
            .create_account(NewUser {
                id: id.clone(),
                email: email.clone(),
                password_hash,
                created_at: Timestamp::now(),
            })
            .await?;
        let account = self.find(&AccountKey::Id(id)).await?;
        Ok(self.render(&account_json(&account), || {
            format!("created {} ({})", account.user.email, account.user.id)
        }))
    }

    pub async fn list(&self, after: Option<&str>, limit: u32) -> Result<String, AdminError> {
        let after = after.map(parse_user_id).transpose()?;
        // One more than asked for tells whether another page exists.
        let mut accounts = self
            .store
            .list_accounts(after.as_ref(), limit.saturating_add(1))
            .await?;
        let more = accounts.len() > limit as usize;
        accounts.truncate(limit as usize);
        let next = more
            .then(|| accounts.last().map(|last| last.user.id.to_string()))
            .flatten();
        let document = json!({
            "users": accounts.iter().map(account_json).collect::<Vec<_>>(),
            "next_after": next,
        });
        Ok(self.render(&document, || {
            if accounts.is_empty() {
                return "no users".to_owned();
            }
            let mut lines = vec![format!(
                "{:<36}  {:<30}  {:<24}  sessions",
                "id", "email", "created"
            )];
            lines.extend(accounts.iter().map(|account| {
                format!(
                    "{:<36}  {:<30}  {:<24}  {}",
                    account.user.id,
                    account.user.email,
                    account.created_at.to_iso8601(),
                    account.sessions
                )
            }));
            if let Some(next) = &next {
                lines.push(format!("more: --after {next}"));
            }
            lines.join("\n")
        }))
    }

    pub async fn show(&self, who: &str) -> Result<String, AdminError> {
        let account = self.find(&account_key(who)?).await?;
        Ok(self.render(&account_json(&account), || {
            format!(
                "id        {}\nemail     {}\ncreated   {}\nsessions  {}",
                account.user.id,
                account.user.email,
                account.created_at.to_iso8601(),
                account.sessions
            )
        }))
    }

    pub async fn set_password(&self, who: &str, password: String) -> Result<String, AdminError> {
        let account = self.find(&account_key(who)?).await?;
        let password = self.new_password(password)?;
        let password_hash = self.hash(password).await?;
        let ended = self
            .store
            .set_password(
                &account.user.id,
                password_hash,
                NewEvent::password_changed(
                    &account.user.id,
                    Actor::Admin,
                    Timestamp::now(),
                    &ClientOrigin::default(),
                ),
            )
            .await?
            .ok_or_else(|| AdminError(format!("no account {who}")))?;
        telemetry::sessions_revoked(Revocation::Admin, ended);
        Ok(self.render(
            &json!({"id": account.user.id.as_str(), "sessions_ended": ended}),
            || {
                format!(
                    "password set for {}; {ended} session(s) ended",
                    account.user.email
                )
            },
        ))
    }

    pub async fn set_email(&self, who: &str, email: &str) -> Result<String, AdminError> {
        let account = self.find(&account_key(who)?).await?;
        let email = parse_email(email)?;
        let event = NewEvent::email_changed(
            &account.user.id,
            &account.user.email,
            &email,
            Actor::Admin,
            Timestamp::now(),
            &ClientOrigin::default(),
        );
        if !self
            .store
            .set_email(&account.user.id, &email, event)
            .await?
        {
            return Err(AdminError(format!("no account {who}")));
        }
        Ok(self.render(
            &json!({"id": account.user.id.as_str(), "email": email.as_str()}),
            || format!("email of {} is now {email}", account.user.id),
        ))
    }

    pub async fn delete(&self, who: &str) -> Result<String, AdminError> {
        let account = self.find(&account_key(who)?).await?;
        let ended = self
            .store
            .delete_user(&account.user.id)
            .await?
            .ok_or_else(|| AdminError(format!("no account {who}")))?;
        Ok(self.render(
            &json!({"id": account.user.id.as_str(), "deleted": true, "sessions_ended": ended}),
            || {
                format!(
                    "deleted {} ({}); {ended} session(s) ended",
                    account.user.email, account.user.id
                )
            },
        ))
    }

    pub async fn revoke_sessions(&self, who: &str) -> Result<String, AdminError> {
        let account = self.find(&account_key(who)?).await?;
        let ended = self
            .store
            .revoke_sessions(&account.user.id, Timestamp::now())
            .await?;
        Ok(self.render(
            &json!({"id": account.user.id.as_str(), "sessions_ended": ended}),
            || format!("{ended} session(s) of {} ended", account.user.email),
        ))
    }

    /// Turns the account's TOTP off and voids its recovery codes, for an
    /// owner who lost both; a `totp_disabled` event by the admin.
    pub async fn reset_second_factor(&self, who: &str) -> Result<String, AdminError> {
        let account = self.find(&account_key(who)?).await?;
        let user_id = &account.user.id;
        let event = NewEvent::totp_disabled(
            user_id,
            Actor::Admin,
            Timestamp::now(),
            &ClientOrigin::default(),
        );
        let removed = self.store.remove_second_factor(user_id, event).await?;
        Ok(self.render(
            &json!({"id": user_id.as_str(), "second_factor_removed": removed}),
            || {
                if removed {
                    format!(
                        "TOTP of {} is off; its recovery codes are void",
                        account.user.email
                    )
                } else {
                    format!("{} had no TOTP on; nothing changed", account.user.email)
                }
            },
        ))
    }

    /// Copies the database to `destination`, a new file unless `replace`.
    pub async fn backup(&self, destination: &Path, replace: bool) -> Result<String, AdminError> {
        self.store.can_back_up()?;
        let file =
            BackupFile::prepare(destination, replace).map_err(|err| AdminError(err.to_string()))?;
        self.store.backup(file.partial()).await?;
        file.publish().map_err(|err| AdminError(err.to_string()))?;
        Ok(self.render(
            &json!({"backup": destination.display().to_string()}),
            || format!("backed up to {}", destination.display()),
        ))
    }

    /// Ends cleanly, as the server does at shutdown.
    pub async fn close(self) {
        self.store.close().await;
    }

    pub(crate) async fn find(&self, key: &AccountKey) -> Result<AccountSummary, AdminError> {
        self.store.find_account(key).await?.ok_or_else(|| {
            AdminError(match key {
                AccountKey::Id(id) => format!("no account with id {id}"),
                AccountKey::Email(email) => format!("no account with email {email}"),
            })
        })
    }

    fn passwords(&self) -> Result<&NewPasswords, AdminError> {
        self.passwords
            .as_ref()
            .ok_or_else(|| AdminError("this command does not set passwords".into()))
    }

    fn new_password(&self, password: String) -> Result<Password, AdminError> {
        match self.passwords()?.policy.check(&password) {
            Ok(()) => Ok(Password::new(password)),
            Err(PasswordError::TooShort { minimum }) => Err(AdminError(format!(
                "the password must have at least {minimum} characters"
            ))),
            Err(PasswordError::TooLong { maximum }) => Err(AdminError(format!(
                "the password must have at most {maximum} characters"
            ))),
            Err(PasswordError::TooCommon) => Err(AdminError("this password is too common".into())),
        }
    }

    async fn hash(&self, password: Password) -> Result<String, AdminError> {
        self.passwords()?
            .hasher
            .hash(password)
            .await
            .map_err(|err| AdminError(err.to_string()))
    }

    pub(crate) fn render(&self, document: &Value, human: impl FnOnce() -> String) -> String {
        if self.json {
            document.to_string()
        } else {
            human()
        }
    }
}

fn parse_email(text: &str) -> Result<Email, AdminError> {
    Email::parse(text).map_err(|_| AdminError(format!("{text:?} is not a valid email address")))
}

/// A user id as the service writes them (a hyphenated UUID).
fn parse_user_id(text: &str) -> Result<UserId, AdminError> {
    uuid::Uuid::try_parse(text)
        .map(|id| UserId::from_trusted(id.hyphenated().to_string()))
        .map_err(|_| {
            AdminError(format!(
                "{text:?} is not a user id (a UUID, as `user list` prints)"
            ))
        })
}

/// An email when it has an `@`, otherwise an id.
pub(crate) fn account_key(who: &str) -> Result<AccountKey, AdminError> {
    if who.contains('@') {
        parse_email(who).map(AccountKey::Email)
    } else {
        parse_user_id(who).map(AccountKey::Id)
    }
}

fn account_json(account: &AccountSummary) -> Value {
    json!({
        "id": account.user.id.as_str(),
        "email": account.user.email.as_str(),
        "created_at": account.created_at.to_iso8601(),
        "sessions": account.sessions,
    })
}
