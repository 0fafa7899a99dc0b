//! The binary's `user` and `backup` commands: argument parsing and password
//! input; the work is `neptun_accounts::admin`.

use std::io::{BufRead as _, IsTerminal as _};
use std::path::Path;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use neptun_accounts::admin::{Admin, AdminError, EventQuery};
use neptun_accounts::config::{Argon2Settings, DatabaseSettings, PasswordRules};
use neptun_accounts::domain::time::Timestamp;

use crate::fail;

/// What every admin command takes: the database, and `--json`.
#[derive(Args)]
pub struct DatabaseOptions {
    /// Print the result as one JSON document, for scripts.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    database: DatabaseSettings,
}

/// What a command that sets a password takes: the service's hashing cost
/// and password rules as well.
#[derive(Args)]
pub struct PasswordOptions {
    #[command(flatten)]
    base: DatabaseOptions,
    #[command(flatten)]
    argon2: Argon2Settings,
    #[command(flatten)]
    rules: PasswordRules,
}

/// An account is named by its id, or by its email (anything with an `@`).
#[derive(Subcommand)]
pub enum UserAction {
    /// Create an account. The password is read from standard input (one
    /// line) or, on a terminal, asked for; never taken from the command line.
    Create {
        /// The new account's email.
        #[arg(long, value_name = "EMAIL")]
        email: String,
        #[command(flatten)]
        settings: Box<PasswordOptions>,
    },
    /// List accounts in creation order, a page at a time.
    List {
        /// Start after this id (the last id of the previous page).
        #[arg(long, value_name = "ID")]
        after: Option<String>,
        /// Accounts per page.
        #[arg(long, default_value_t = 50, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000))]
        limit: u32,
        #[command(flatten)]
        settings: Box<DatabaseOptions>,
    },
    /// Show one account.
    Show {
        /// The account's id or email.
        #[arg(value_name = "ID|EMAIL")]
        user: String,
        #[command(flatten)]
        settings: Box<DatabaseOptions>,
    },
    /// Set a new password (from standard input or a prompt, never from the
    /// command line) and end every session of the account.
    SetPassword {
        /// The account's id or email.
        #[arg(value_name = "ID|EMAIL")]
        user: String,
        #[command(flatten)]
        settings: Box<PasswordOptions>,
    },
    /// Change the account's email.
    SetEmail {
        /// The account's id or email.
        #[arg(value_name = "ID|EMAIL")]
        user: String,
        /// The new email.
        #[arg(value_name = "EMAIL")]
        email: String,
        #[command(flatten)]
        settings: Box<DatabaseOptions>,
    },
    /// Delete the account and every session of it. Asks first on a
    /// terminal; scripts pass --yes.
    Delete {
        /// The account's id or email.
        #[arg(value_name = "ID|EMAIL")]
        user: String,
        /// Delete without asking.
        #[arg(long)]
        yes: bool,
        #[command(flatten)]
        settings: Box<DatabaseOptions>,
    },
    /// Turn the account's second factor (TOTP) off and void its recovery
    /// codes, for an owner who lost both device and codes.
    ResetSecondFactor {
        /// The account's id or email.
        #[arg(value_name = "ID|EMAIL")]
        user: String,
        #[command(flatten)]
        settings: Box<DatabaseOptions>,
    },
    /// End every session of the account at once.
    RevokeSessions {
        /// The account's id or email.
        #[arg(value_name = "ID|EMAIL")]
        user: String,
        #[command(flatten)]
        settings: Box<DatabaseOptions>,
    },
}

impl UserAction {
    /// Opens the database, with password hashing for the commands that set one.
    async fn open(&self) -> Result<Admin, AdminError> {
        match self {
            Self::Create { settings, .. } | Self::SetPassword { settings, .. } => {
                Admin::open_for_passwords(
                    &settings.base.database,
                    &settings.argon2,
                    &settings.rules,
                    settings.base.json,
                )
                .await
            }
            Self::List { settings, .. }
            | Self::Show { settings, .. }
            | Self::SetEmail { settings, .. }
            | Self::Delete { settings, .. }
            | Self::RevokeSessions { settings, .. }
            | Self::ResetSecondFactor { settings, .. } => {
                Admin::open(&settings.database, settings.json).await
            }
        }
    }

    fn needs_password(&self) -> bool {
        matches!(self, Self::Create { .. } | Self::SetPassword { .. })
    }
}

pub async fn run_user(action: UserAction) -> ExitCode {
    // Asked for before the database is opened, so a prompt never waits
    // while holding a connection.
    let password = if action.needs_password() {
        match read_password() {
            Ok(password) => password,
            Err(err) => return report(Err(err)),
        }
    } else {
        String::new()
    };
    if let UserAction::Delete {
        user, yes: false, ..
    } = &action
        && let Err(err) = confirm_deletion(user)
    {
        return report(Err(err));
    }
    let admin = match action.open().await {
        Ok(admin) => admin,
        Err(err) => return report(Err(err)),
    };
    let result = match &action {
        UserAction::Create { email, .. } => admin.create(email, password).await,
        UserAction::List { after, limit, .. } => admin.list(after.as_deref(), *limit).await,
        UserAction::Show { user, .. } => admin.show(user).await,
        UserAction::SetPassword { user, .. } => admin.set_password(user, password).await,
        UserAction::SetEmail { user, email, .. } => admin.set_email(user, email).await,
        UserAction::Delete { user, .. } => admin.delete(user).await,
        UserAction::RevokeSessions { user, .. } => admin.revoke_sessions(user).await,
        UserAction::ResetSecondFactor { user, .. } => admin.reset_second_factor(user).await,
    };
    admin.close().await;
    report(result)
}

pub async fn run_events(query: EventQuery<'_>, settings: DatabaseOptions) -> ExitCode {
    let admin = match Admin::open(&settings.database, settings.json).await {
        Ok(admin) => admin,
        Err(err) => return report(Err(err)),
    };
    let result = admin.events(query).await;
    admin.close().await;
    report(result)
}

/// `--since`: a duration back from now (`7d`) or a UTC date or time.
pub fn parse_since(text: &str) -> Result<Timestamp, String> {
    if let Ok(ago) = humantime::parse_duration(text) {
        return Ok(Timestamp::now().minus(ago));
    }
    if let Ok(at) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(Timestamp::from_millis(at.timestamp_millis()));
    }
    if let Ok(day) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
        return Ok(Timestamp::from_millis(midnight.timestamp_millis()));
    }
    Err(format!(
        "{text:?} is neither a duration (7d) nor a date (2026-12-01 or 2026-12-01T10:00:00Z)"
    ))
}

pub async fn run_backup(destination: &Path, force: bool, settings: DatabaseOptions) -> ExitCode {
    let admin = match Admin::open(&settings.database, settings.json).await {
        Ok(admin) => admin,
        Err(err) => return report(Err(err)),
    };
    let result = admin.backup(destination, force).await;
    admin.close().await;
    report(result)
}

fn report(result: Result<String, AdminError>) -> ExitCode {
    match result {
        Ok(output) => {
            println!("{output}");
            ExitCode::SUCCESS
        }
        Err(err) => fail(&err.to_string()),
    }
}

/// On a terminal, asks before deleting; elsewhere, only `--yes` deletes, so
/// a script never deletes by accident.
fn confirm_deletion(user: &str) -> Result<(), AdminError> {
    if !std::io::stdin().is_terminal() {
        return Err(AdminError::new(
            "not deleting without --yes (standard input is not a terminal)".into(),
        ));
    }
    eprint!("Delete the account {user} and end every session of it? [y/N] ");
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|err| AdminError::new(format!("cannot read the answer: {err}")))?;
    if matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        Ok(())
    } else {
        Err(AdminError::new("not deleted".into()))
    }
}

/// A password from a prompt (twice, without echo) on a terminal, otherwise
/// the first line of standard input.
fn read_password() -> Result<String, AdminError> {
    let failed = |err: std::io::Error| AdminError::new(format!("cannot read the password: {err}"));
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("New password: ").map_err(failed)?;
        let again = rpassword::prompt_password("Again: ").map_err(failed)?;
        if first != again {
            return Err(AdminError::new("the passwords differ".into()));
        }
        return Ok(first);
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(failed)?;
    let password = line
        .strip_suffix('\n')
        .map(|rest| rest.strip_suffix('\r').unwrap_or(rest))
        .unwrap_or(&line);
    Ok(password.to_owned())
}
