//! TLS to PostgreSQL through rustls: the libpq `sslmode` values and
//! `sslrootcert` read from the URL, and the connector that checks the
//! server's certificate as far as the mode asks.

mod verify;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use percent_encoding::percent_decode_str;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;
use rustls::{ClientConfig, RootCertStore};
use tokio_postgres_rustls::MakeRustlsConnect;

/// How much of the server's certificate is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CertificateCheck {
    /// Encrypted, but anyone may answer (libpq's `prefer` and `require`
    /// without a root certificate; `disable`, where TLS is never used).
    Nothing,
    /// Signed by a trusted root; any host name (`verify-ca`).
    Chain,
    /// Signed by a trusted root and issued for the host connected to
    /// (`verify-full`).
    ChainAndHostName,
}

/// Where trusted roots come from.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Roots {
    /// The operating system's store.
    System,
    /// `sslrootcert=PATH`: the PEM certificates in that file, and no others.
    File(PathBuf),
}

/// A PostgreSQL URL split into what tokio-postgres understands and the
/// certificate checks applied here.
#[derive(Debug, PartialEq, Eq)]
pub struct TlsSettings {
    driver_url: String,
    check: CertificateCheck,
    roots: Roots,
}

impl TlsSettings {
    /// Reads `sslmode` and `sslrootcert` from the URL's query. tokio-postgres
    /// knows only `disable`, `prefer` and `require`, so `verify-ca` and
    /// `verify-full` reach it as `require` (encrypted or nothing) and the
    /// checks they add are made by our certificate verifier.
    pub fn from_url(url: &str) -> Result<Self, String> {
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let mut kept = Vec::new();
        let mut mode = None;
        let mut root_file = None;
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = percent_decode_str(value)
                .decode_utf8()
                .map_err(|_| format!("the value of {key} is not UTF-8"))?;
            match key {
                "sslmode" => {
                    let parsed = SslMode::parse(&value)?;
                    mode = Some(parsed);
                    kept.push(format!("sslmode={}", parsed.driver_value()));
                }
                "sslrootcert" => root_file = Some(value.into_owned()),
                _ => kept.push(pair.to_owned()),
            }
        }
        let mode = mode.unwrap_or(SslMode::Prefer);
        let (check, roots) = match (mode, root_file.as_deref()) {
            (SslMode::Disable, _) => (CertificateCheck::Nothing, Roots::System),
            (SslMode::VerifyFull, Some("system") | None) => {
                (CertificateCheck::ChainAndHostName, Roots::System)
            }
            // As in libpq: `system` is accepted only where host names are checked.
            (_, Some("system")) => {
                return Err(format!(
                    "sslrootcert=system needs sslmode=verify-full, not {}",
                    mode.name()
                ));
            }
            (SslMode::VerifyFull, Some(path)) => (
                CertificateCheck::ChainAndHostName,
                Roots::File(PathBuf::from(path)),
            ),
            (SslMode::VerifyCa, None) => (CertificateCheck::Chain, Roots::System),
            // As in libpq: with a root certificate given, `prefer` and `require`
            // check the chain too.
            (_, Some(path)) => (CertificateCheck::Chain, Roots::File(PathBuf::from(path))),
            (SslMode::Prefer | SslMode::Require, None) => {
                (CertificateCheck::Nothing, Roots::System)
            }
        };
        let driver_url = if kept.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        Ok(Self {
            driver_url,
            check,
            roots,
        })
    }

    /// The URL to hand to tokio-postgres.
    pub fn driver_url(&self) -> &str {
        &self.driver_url
    }

    /// The rustls connector for this mode, with its roots loaded now so that
    /// a missing or empty root file stops the start, not the first request.
    pub fn connector(&self) -> Result<MakeRustlsConnect, String> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let algorithms = provider.signature_verification_algorithms;
        let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|err| format!("cannot set up TLS: {err}"))?;
        let config = match self.check {
            CertificateCheck::Nothing => {
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(
                        verify::WithoutHostName::any_certificate(algorithms),
                    ))
            }
            CertificateCheck::Chain => {
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(
                        verify::WithoutHostName::chain_only(self.load_roots()?, algorithms),
                    ))
            }
            CertificateCheck::ChainAndHostName => {
                builder.with_root_certificates(self.load_roots()?)
            }
        };
        Ok(MakeRustlsConnect::new(config.with_no_client_auth()))
    }

    fn load_roots(&self) -> Result<RootCertStore, String> {
        match &self.roots {
            Roots::File(path) => roots_from_file(path),
            Roots::System => system_roots(),
        }
    }
}

/// The `sslmode` values, as libpq means them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn parse(value: &str) -> Result<Self, String> {
        match value {
            "disable" => Ok(Self::Disable),
            "prefer" => Ok(Self::Prefer),
            "require" => Ok(Self::Require),
            "verify-ca" => Ok(Self::VerifyCa),
            "verify-full" => Ok(Self::VerifyFull),
            // libpq's `allow` tries plain first; the driver cannot.
            other => Err(format!(
                "sslmode={other} is not supported (disable, prefer, require, verify-ca or verify-full)"
            )),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Prefer => "prefer",
            Self::Require => "require",
            Self::VerifyCa => "verify-ca",
            Self::VerifyFull => "verify-full",
        }
    }

    fn driver_value(self) -> &'static str {
        match self {
            Self::VerifyCa | Self::VerifyFull => "require",
            other => other.name(),
        }
    }
}

fn roots_from_file(path: &Path) -> Result<RootCertStore, String> {
    let shown = path.display();
    let pem =
        std::fs::read(path).map_err(|err| format!("cannot read sslrootcert {shown}: {err}"))?;
    let mut roots = RootCertStore::empty();
    for certificate in CertificateDer::pem_slice_iter(&pem) {
        let certificate =
            certificate.map_err(|err| format!("sslrootcert {shown} is not valid PEM: {err}"))?;
        roots
            .add(certificate)
            .map_err(|err| format!("sslrootcert {shown} holds an unusable certificate: {err}"))?;
    }
    if roots.is_empty() {
        return Err(format!("sslrootcert {shown} holds no certificate"));
    }
    Ok(roots)
}

fn system_roots() -> Result<RootCertStore, String> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(found.certs);
    if roots.is_empty() {
        let cause = found
            .errors
            .first()
            .map_or_else(String::new, |err| format!(" ({err})"));
        return Err(format!(
            "no root certificates in the system store{cause}; name a CA file with sslrootcert"
        ));
    }
    Ok(roots)
}

#[cfg(test)]
mod tests;

/// What to do about a certificate the handshake refused, when `cause` (the
/// source of a driver error) is one: rustls names the check, not the fix.
pub fn hint(cause: &(dyn std::error::Error + 'static)) -> Option<&'static str> {
    use rustls::CertificateError;
    let io = cause.downcast_ref::<std::io::Error>()?;
    let rustls::Error::InvalidCertificate(refused) =
        io.get_ref()?.downcast_ref::<rustls::Error>()?
    else {
        return None;
    };
    match refused {
        CertificateError::UnknownIssuer | CertificateError::BadSignature => Some(
            "no trusted CA signed the server's certificate: name the CA's PEM file with sslrootcert",
        ),
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            Some("the URL's host must be a name the server's certificate is issued for")
        }
        _ => None,
    }
}
