//! Files an operator can trust: the SQLite database, its `-wal` and `-shm`
//! files and backups are readable by their owner only whatever the umask;
//! `backup` never writes through a symbolic link and never overwrites a file
//! unless told to (`--force`), and then replaces it whole.

use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::Path;
use std::process::{Output, Stdio};

use crate::helpers::{Browser, PASSWORD};
use crate::spawned::{Killed, free_address, serve_args, under_umask, wait_until_healthy};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|err| panic!("{}: {err}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

fn backup(database: &Path, destination: &Path, extra: &[&str]) -> Output {
    let url = format!("sqlite://{}", database.display());
    let destination = destination.to_str().expect("utf-8");
    let mut args = vec!["backup", destination, "--database-url", &url];
    args.extend_from_slice(extra);
    under_umask("000", &args).output().expect("backup runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_its_wal_and_its_backups_are_owner_only_under_umask_000() {
    let folder = tempfile::tempdir().expect("folder");
    let database = folder.path().join("accounts.db");
    let address = free_address();
    let args = serve_args(address, &format!("sqlite://{}", database.display()), &[]);
    let mut server = Killed(
        under_umask("000", &args.iter().map(String::as_str).collect::<Vec<_>>())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("server starts"),
    );
    wait_until_healthy(address, &mut server.0).await;
    let signed_up = Browser::new(&format!("http://{address}"))
        .sign_up("modes@example.com", PASSWORD)
        .await;
    assert_eq!(signed_up.status, 200, "{}", signed_up.text);

    for suffix in ["", "-wal", "-shm"] {
        let file = folder.path().join(format!("accounts.db{suffix}"));
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }

    let copy = folder.path().join("copy.db");
    let first = backup(&database, &copy, &[]);
    assert!(first.status.success(), "{}", stderr(&first));
    assert_eq!(mode(&copy), 0o600, "the backup");
    let first_inode = std::fs::metadata(&copy).expect("copy").ino();

    let again = backup(&database, &copy, &[]);
    assert!(!again.status.success());
    assert!(stderr(&again).contains("--force"), "{}", stderr(&again));

    let forced = backup(&database, &copy, &["--force"]);
    assert!(forced.status.success(), "{}", stderr(&forced));
    assert_eq!(mode(&copy), 0o600, "the replaced backup");
    assert_ne!(
        std::fs::metadata(&copy).expect("copy").ino(),
        first_inode,
        "replaced by a new file moved into place, not rewritten in place"
    );
    let leftovers: Vec<String> = std::fs::read_dir(folder.path())
        .expect("folder")
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains("partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_refuses_to_write_through_a_symbolic_link_even_with_force() {
    let folder = tempfile::tempdir().expect("folder");
    let database = folder.path().join("accounts.db");
    let address = free_address();
    let args = serve_args(address, &format!("sqlite://{}", database.display()), &[]);
    let mut server = Killed(
        under_umask("022", &args.iter().map(String::as_str).collect::<Vec<_>>())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("server starts"),
    );
    wait_until_healthy(address, &mut server.0).await;
    let target = folder.path().join("elsewhere.db");
    let link = folder.path().join("link.db");
    std::os::unix::fs::symlink(&target, &link).expect("symlink");

    for extra in [&[][..], &["--force"]] {
        let output = backup(&database, &link, extra);
        assert!(!output.status.success(), "{extra:?}");
        assert!(
            stderr(&output).contains("symbolic link"),
            "{extra:?}: {}",
            stderr(&output)
        );
        assert!(
            !target.exists(),
            "{extra:?}: nothing written through the link"
        );
        assert!(
            std::fs::symlink_metadata(&link)
                .expect("link")
                .file_type()
                .is_symlink(),
            "the link itself is left alone"
        );
    }
}
