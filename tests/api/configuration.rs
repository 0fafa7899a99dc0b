//! The README's configuration table against the settings' own definitions
//! (clap), so the two never drift: every setting has its row with its
//! environment variable and default, and every row names a real setting.

use clap::{Args as _, Command};
use neptun_accounts::config::Config;

fn readme_rows() -> Vec<String> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let section = readme
        .split("## Configuration")
        .nth(1)
        .expect("a Configuration section");
    let section = section.split("\n## ").next().unwrap_or(section);
    section
        .lines()
        .filter(|line| line.starts_with("| `--"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_setting_has_a_readme_row_with_its_environment_variable_and_default() {
    let command = Config::augment_args(Command::new("serve"));
    let rows = readme_rows();
    for argument in command.get_arguments() {
        let Some(long) = argument.get_long() else {
            continue;
        };
        if long == "help" {
            continue;
        }
        let flag = format!("`--{long}");
        let row = rows
            .iter()
            .find(|row| {
                row.starts_with(&format!("| {flag} ")) || row.starts_with(&format!("| {flag}`"))
            })
            .unwrap_or_else(|| panic!("no README row for --{long}"));
        let env = argument
            .get_env()
            .and_then(|env| env.to_str())
            .unwrap_or_else(|| panic!("--{long} has no environment variable"));
        assert!(row.contains(env), "--{long}: {env} missing from {row}");
        for default in argument.get_default_values() {
            let default = default.to_str().expect("utf-8");
            assert!(
                row.contains(&format!("`{default}`")),
                "--{long}: default {default} missing from {row}"
            );
        }
        assert!(
            argument.get_help().is_some(),
            "--{long} explains itself in --help"
        );
    }
}

#[test]
fn every_readme_row_names_a_real_setting() {
    let command = Config::augment_args(Command::new("serve"));
    let longs: Vec<&str> = command
        .get_arguments()
        .filter_map(|a| a.get_long())
        .collect();
    for row in readme_rows() {
        let flag = row
            .trim_start_matches("| `--")
            .split([' ', '`'])
            .next()
            .expect("a flag");
        assert!(
            longs.contains(&flag),
            "the README documents --{flag}, which does not exist"
        );
    }
}
