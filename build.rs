//! Embeds the commit the binaries are built from, and whether the files
//! that build the server differed from it, as `NEPTUN_BUILD_COMMIT` (shown
//! by `--version` and named by every benchmark report). Outside a git
//! checkout (a source archive) the commit is "unknown". The benchmark's
//! own files (src/bin) are left out: a change there would otherwise rerun
//! this script and rebuild the whole library for nothing.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Everything compiled into the server besides src; a change here reruns
/// this script.
const INPUTS: &[&str] = &[
    "migrations",
    "templates",
    "web",
    "data",
    "Cargo.toml",
    "Cargo.lock",
    "build.rs",
];

/// The folder of the other binaries, inside src.
const OTHER_BINARIES: &str = "bin";

fn main() {
    for input in INPUTS {
        println!("cargo:rerun-if-changed={input}");
    }
    // Each entry of src but the other binaries' folder (a directory is
    // watched whole, so src itself cannot be).
    if let Ok(entries) = std::fs::read_dir("src") {
        for entry in entries.flatten() {
            if entry.file_name() != OTHER_BINARIES {
                println!("cargo:rerun-if-changed={}", entry.path().display());
            }
        }
    }
    let described = describe().unwrap_or_else(|| "commit unknown".to_owned());
    println!("cargo:rustc-env=NEPTUN_BUILD_COMMIT={described}");
}

/// `commit abc1234` or `commit abc1234, dirty`; `None` without git.
fn describe() -> Option<String> {
    let commit = git(&["rev-parse", "--short", "HEAD"])?;
    // A commit or checkout moves HEAD or the branch it names, not the sources.
    let git_dir = PathBuf::from(git(&["rev-parse", "--git-dir"])?);
    let common_dir = PathBuf::from(git(&["rev-parse", "--git-common-dir"])?);
    rerun_if_changed(&git_dir.join("HEAD"));
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        rerun_if_changed(&common_dir.join(branch));
    }
    rerun_if_changed(&common_dir.join("packed-refs"));
    // Without optional locks, so that a build never holds the index lock
    // while someone commits.
    let mut status = vec![
        "--no-optional-locks",
        "status",
        "--porcelain",
        "--",
        "src",
        ":(exclude)src/bin",
    ];
    status.extend(INPUTS);
    let changes = git(&status)?;
    Some(if changes.is_empty() {
        format!("commit {commit}")
    } else {
        format!("commit {commit}, dirty")
    })
}

fn rerun_if_changed(path: &Path) {
    if path.exists() {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}

fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git").args(args).output().ok()?;
    if !output.status.success() {
        return None;
    }
    Some(String::from_utf8(output.stdout).ok()?.trim().to_owned())
}
