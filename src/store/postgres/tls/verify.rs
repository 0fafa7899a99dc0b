//! The certificate checks rustls does not ship: accept any certificate
//! (libpq's `require`), or check the chain but not the host name (libpq's
//! `verify-ca`). Handshake signatures are always checked, so the peer holds
//! the key of the certificate it showed.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::verify_server_cert_signed_by_trust_anchor;
use rustls::crypto::{WebPkiSupportedAlgorithms, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{DigitallySignedStruct, Error, RootCertStore, SignatureScheme};

/// A server certificate check without the host name.
#[derive(Debug)]
pub struct WithoutHostName {
    /// `None`: any certificate (encryption without authentication, what
    /// `sslmode=require` promises); `Some`: a chain to one of these roots,
    /// in its validity period.
    roots: Option<RootCertStore>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl WithoutHostName {
    /// `sslmode=require`.
    pub fn any_certificate(algorithms: WebPkiSupportedAlgorithms) -> Self {
        Self {
            roots: None,
            algorithms,
        }
    }

    /// `sslmode=verify-ca`.
    pub fn chain_only(roots: RootCertStore, algorithms: WebPkiSupportedAlgorithms) -> Self {
        Self {
            roots: Some(roots),
            algorithms,
        }
    }
}

impl ServerCertVerifier for WithoutHostName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        if let Some(roots) = &self.roots {
            let certificate = ParsedCertificate::try_from(end_entity)?;
            verify_server_cert_signed_by_trust_anchor(
                &certificate,
                roots,
                intermediates,
                now,
                self.algorithms.all,
            )?;
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls12_signature(message, certificate, signature, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls13_signature(message, certificate, signature, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
