//! The local PostgreSQL server given a certificate made in the test: a
//! private CA and a server certificate for `localhost` only, kept in one
//! folder beside the server's data and reused by every run, so that test
//! processes running at once agree on the CA. Plain connections keep
//! working throughout; `ssl` stays on afterwards.

use std::fs::File;
use std::io::Write as _;
use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::os::unix::io::AsRawFd as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;

use crate::backend::{Backend, connect};

/// Where the server's key and certificates live (beside the Debian
/// clusters' data, owned by the server's user).
const FOLDER: &str = "/var/lib/postgresql/neptun-test-tls";
/// The database the TLS tests' services use, so that the server's view of
/// their connections is theirs alone.
pub const DATABASE: &str = "neptun_tls_test";
/// The only name the server certificate is issued for.
pub const CERTIFICATE_HOST: &str = "localhost";

/// A server that speaks TLS with a certificate from [`TlsServer::ca_file`].
pub struct TlsServer {
    /// The superuser URL of the tests' server (plain TCP).
    pub server_url: String,
    /// The PEM file of the CA that signed the server's certificate.
    pub ca_file: PathBuf,
}

impl TlsServer {
    /// The configured server, or `None` after printing `SKIP name: reason`
    /// where it cannot be configured. Under CI a skip is a failure.
    pub async fn get(test_name: &str) -> Option<&'static TlsServer> {
        static SERVER: OnceCell<Result<TlsServer, String>> = OnceCell::const_new();
        match SERVER.get_or_init(configure).await {
            Ok(server) => Some(server),
            Err(reason) => {
                assert!(
                    std::env::var_os("CI").is_none(),
                    "{test_name} may not be skipped under CI: {reason}"
                );
                eprintln!("SKIP {test_name}: {reason}");
                None
            }
        }
    }

    /// The server URL on [`DATABASE`].
    pub fn database_url(&self) -> String {
        let mut url = url::Url::parse(&self.server_url).expect("server URL");
        url.set_path(DATABASE);
        url.to_string()
    }
}

/// Errors are reasons to skip; anything that fails after the server proved
/// configurable panics instead.
async fn configure() -> Result<TlsServer, String> {
    let Some(Backend::Postgres(server_url)) = Backend::postgres_for("postgres_tls") else {
        return Err(format!("{} is not set", crate::backend::POSTGRES_URL_VAR));
    };
    for needed in ["/etc/postgresql", "/var/lib/postgresql"] {
        if !Path::new(needed).is_dir() {
            return Err(format!("no {needed}: not a Debian PostgreSQL cluster"));
        }
    }
    let client = connect(&server_url).await;
    let superuser: bool = client
        .query_one(
            "SELECT rolsuper FROM pg_roles WHERE rolname = current_user",
            &[],
        )
        .await
        .expect("role")
        .get(0);
    if !superuser {
        return Err("the test role is not a superuser".into());
    }
    let data_directory: String = client
        .query_one("SELECT current_setting('data_directory')", &[])
        .await
        .expect("data directory")
        .get(0);
    let owner = std::fs::metadata(&data_directory)
        .map_err(|err| format!("the server's data {data_directory} is not here: {err}"))?;
    let folder = Path::new(FOLDER);
    std::fs::create_dir_all(folder).map_err(|err| format!("cannot create {FOLDER}: {err}"))?;
    std::os::unix::fs::chown(folder, Some(owner.uid()), Some(owner.gid()))
        .map_err(|err| format!("cannot give {FOLDER} to the server's user: {err}"))?;

    // One process at a time writes the files and reconfigures the server.
    let lock = File::create(folder.join("lock")).expect("lock file");
    // SAFETY: flock on a descriptor this function owns; released when `lock` closes.
    let locked = unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) };
    assert_eq!(locked, 0, "lock {FOLDER}");
    let written = write_certificates_if_missing(folder, owner.uid(), owner.gid());
    point_server_at(&client, &server_url, folder, written).await;
    drop(lock);

    let created = client
        .batch_execute(&format!("CREATE DATABASE {DATABASE}"))
        .await;
    if let Err(err) = created {
        let exists = err.code() == Some(&tokio_postgres::error::SqlState::DUPLICATE_DATABASE);
        assert!(exists, "create {DATABASE}: {err}");
    }
    Ok(TlsServer {
        server_url,
        ca_file: folder.join("ca.crt"),
    })
}

/// Makes the CA and the server's key and certificate unless an earlier run
/// left all three; true when it wrote them.
fn write_certificates_if_missing(folder: &Path, uid: u32, gid: u32) -> bool {
    let names = ["ca.crt", "server.crt", "server.key"];
    if names
        .iter()
        .all(|name| std::fs::metadata(folder.join(name)).is_ok_and(|file| file.len() > 0))
    {
        return false;
    }
    let authority = certificate_authority("neptun test CA");
    let server_key = rcgen::KeyPair::generate().expect("server key");
    let server_certificate = rcgen::CertificateParams::new(vec![CERTIFICATE_HOST.to_owned()])
        .expect("server params")
        .signed_by(&server_key, &authority.issuer)
        .expect("server certificate");
    let files = [
        ("ca.crt", authority.pem, 0o644),
        ("server.crt", server_certificate.pem(), 0o644),
        ("server.key", server_key.serialize_pem(), 0o600),
    ];
    for (name, contents, mode) in files {
        // Written beside and renamed, so the server never reads half a file.
        let partial = folder.join(format!("{name}.partial"));
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&partial)
            .expect("certificate file");
        file.write_all(contents.as_bytes()).expect("write");
        file.set_permissions(std::fs::Permissions::from_mode(mode))
            .expect("mode");
        std::os::unix::fs::chown(&partial, Some(uid), Some(gid)).expect("owner");
        std::fs::rename(&partial, folder.join(name)).expect("rename");
    }
    true
}

/// Turns TLS on with our files, unless the server already uses them, and
/// waits until new connections see it.
async fn point_server_at(
    client: &tokio_postgres::Client,
    server_url: &str,
    folder: &Path,
    files_changed: bool,
) {
    let wanted = [
        (
            "ssl_cert_file",
            folder.join("server.crt").display().to_string(),
        ),
        (
            "ssl_key_file",
            folder.join("server.key").display().to_string(),
        ),
        ("ssl", "on".to_owned()),
    ];
    if !files_changed && settings_match(client, &wanted).await {
        return;
    }
    for (name, value) in &wanted {
        let quoted = value.replace('\'', "''");
        // One statement per call: ALTER SYSTEM refuses a transaction block.
        client
            .batch_execute(&format!("ALTER SYSTEM SET {name} = '{quoted}'"))
            .await
            .expect("alter system");
    }
    client
        .batch_execute("SELECT pg_reload_conf()")
        .await
        .expect("reload");
    // A backend started after the server re-read its files sees the new values.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if settings_match(&connect(server_url).await, &wanted).await {
            return;
        }
        assert!(Instant::now() < deadline, "the server did not reload");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn settings_match(client: &tokio_postgres::Client, wanted: &[(&str, String)]) -> bool {
    for (name, value) in wanted {
        let current: String = client
            .query_one("SELECT current_setting($1)", &[name])
            .await
            .expect("setting")
            .get(0);
        if &current != value {
            return false;
        }
    }
    true
}

/// A self-signed CA: its PEM and what signs with it.
pub struct Authority {
    pub pem: String,
    pub issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
}

/// A new CA named `name`.
pub fn certificate_authority(name: &str) -> Authority {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA params");
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let key = rcgen::KeyPair::generate().expect("CA key");
    let certificate = params.self_signed(&key).expect("CA certificate");
    Authority {
        pem: certificate.pem(),
        issuer: rcgen::Issuer::new(params, key),
    }
}
