//! The binary's `user` and `backup` commands: argument parsing and password
//! input; the work is `neptun_accounts::admin`.

use std::io::{BufRead as _, IsTerminal as _};
use std::path::Path;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use neptun_accounts::admin::{Admin, AdminError};
use neptun_accounts::config::Config;

use crate::fail;

/// The settings every admin command takes: those of `serve`, and `--json`.
#[derive(Args)]
pub struct AdminSettings {
    #[command(flatten)]
    config: Config,
    /// Print the result as one JSON document, for scripts.
    #[arg(long)]
    json: bool,
}

/// An account is named by its id, or by its email (anything with an `@`).
#[derive(Subcommand)]
pub enum UserAction {
    /// Create an account. The password is read from standard input (one
    /// line) or, on a terminal, asked for; never taken from the command line.
    Create {
        #[arg(long)]
        email: String,
        #[command(flatten)]
        settings: Box<AdminSettings>,
    },
    /// List accounts in creation order, a page at a time.
    List {
        /// Start after this id (the `next_after` of the previous page).
        #[arg(long, value_name = "ID")]
        after: Option<String>,
        /// Accounts per page.
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=1000))]
        limit: u32,
        #[command(flatten)]
        settings: Box<AdminSettings>,
    },
    /// Show one account.
    Show {
        #[arg(value_name = "ID|EMAIL")]
        user: String,
        #[command(flatten)]
        settings: Box<AdminSettings>,
    },
    /// Set a new password (from standard input or a prompt, never from the
    /// command line) and end every session of the account.
    SetPassword {
        #[arg(value_name = "ID|EMAIL")]
        user: String,
        #[command(flatten)]
        settings: Box<AdminSettings>,
    },
    /// Change the account's email.
    SetEmail {
        #[arg(value_name = "ID|EMAIL")]
        user: String,
        /// The new email.
        email: String,
        #[command(flatten)]
        settings: Box<AdminSettings>,
    },
    /// Delete the account and every session of it.
    Delete {
        #[arg(value_name = "ID|EMAIL")]
        user: String,
        #[command(flatten)]
        settings: Box<AdminSettings>,
    },
    /// End every session of the account at once.
    RevokeSessions {
        #[arg(value_name = "ID|EMAIL")]
        user: String,
        #[command(flatten)]
        settings: Box<AdminSettings>,
    },
}

impl UserAction {
    fn settings(&self) -> &AdminSettings {
        match self {
            Self::Create { settings, .. }
            | Self::List { settings, .. }
            | Self::Show { settings, .. }
            | Self::SetPassword { settings, .. }
            | Self::SetEmail { settings, .. }
            | Self::Delete { settings, .. }
            | Self::RevokeSessions { settings, .. } => settings,
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
    let settings = action.settings();
    let admin = match Admin::open(&settings.config, settings.json).await {
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
    };
    admin.close().await;
    report(result)
}

pub async fn run_backup(destination: &Path, settings: AdminSettings) -> ExitCode {
    let admin = match Admin::open(&settings.config, settings.json).await {
        Ok(admin) => admin,
        Err(err) => return report(Err(err)),
    };
    let result = admin.backup(destination).await;
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
