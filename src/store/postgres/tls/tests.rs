use std::path::PathBuf;

use rustls::RootCertStore;
use rustls::client::danger::ServerCertVerifier as _;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};

use super::verify::WithoutHostName;
use super::{CertificateCheck, Roots, TlsSettings};

fn settings(url: &str) -> TlsSettings {
    TlsSettings::from_url(url).unwrap_or_else(|err| panic!("{url}: {err}"))
}

#[test]
fn each_sslmode_reaches_the_driver_as_a_mode_it_knows_with_the_checks_libpq_makes() {
    let base = "postgres://app@db.internal:5432/accounts";
    let table = [
        ("", "", CertificateCheck::Nothing, Roots::System),
        (
            "?sslmode=disable",
            "?sslmode=disable",
            CertificateCheck::Nothing,
            Roots::System,
        ),
        (
            "?sslmode=prefer",
            "?sslmode=prefer",
            CertificateCheck::Nothing,
            Roots::System,
        ),
        (
            "?sslmode=require",
            "?sslmode=require",
            CertificateCheck::Nothing,
            Roots::System,
        ),
        (
            "?sslmode=verify-ca",
            "?sslmode=require",
            CertificateCheck::Chain,
            Roots::System,
        ),
        (
            "?sslmode=verify-full",
            "?sslmode=require",
            CertificateCheck::ChainAndHostName,
            Roots::System,
        ),
        (
            "?sslmode=verify-full&sslrootcert=system",
            "?sslmode=require",
            CertificateCheck::ChainAndHostName,
            Roots::System,
        ),
        (
            "?sslrootcert=%2Fetc%2Fdb%20ca.pem&sslmode=verify-full&connect_timeout=3",
            "?sslmode=require&connect_timeout=3",
            CertificateCheck::ChainAndHostName,
            Roots::File(PathBuf::from("/etc/db ca.pem")),
        ),
        // With a root certificate given, libpq's `require` checks the chain.
        (
            "?sslmode=require&sslrootcert=ca.pem",
            "?sslmode=require",
            CertificateCheck::Chain,
            Roots::File(PathBuf::from("ca.pem")),
        ),
    ];
    for (query, driver_query, check, roots) in table {
        let parsed = settings(&format!("{base}{query}"));
        assert_eq!(
            parsed.driver_url(),
            format!("{base}{driver_query}"),
            "{query}"
        );
        assert_eq!((parsed.check, parsed.roots), (check, roots), "{query}");
    }
}

#[test]
fn modes_the_driver_cannot_honour_are_refused_by_name() {
    for (query, expected) in [
        ("sslmode=allow", "sslmode=allow is not supported"),
        ("sslmode=verify", "sslmode=verify is not supported"),
        (
            "sslmode=require&sslrootcert=system",
            "sslrootcert=system needs sslmode=verify-full",
        ),
    ] {
        let err =
            TlsSettings::from_url(&format!("postgres://db/accounts?{query}")).expect_err(query);
        assert!(err.contains(expected), "{query}: {err}");
    }
}

#[test]
fn a_root_file_that_is_missing_or_holds_no_certificate_stops_the_connector() {
    let folder = tempfile::tempdir().expect("folder");
    let empty = folder.path().join("empty.pem");
    std::fs::write(&empty, "not a certificate\n").expect("write");
    for (path, expected) in [
        (folder.path().join("missing.pem"), "cannot read sslrootcert"),
        (empty, "holds no certificate"),
    ] {
        let url = format!(
            "postgres://db/accounts?sslmode=verify-full&sslrootcert={}",
            path.display()
        );
        let err = settings(&url).connector().err().expect("refused");
        assert!(err.contains(expected), "{err}");
    }
}

struct Authority {
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
    der: CertificateDer<'static>,
}

fn authority(name: &str) -> Authority {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let key = rcgen::KeyPair::generate().expect("key");
    let certificate = params.self_signed(&key).expect("CA");
    Authority {
        der: certificate.der().clone(),
        issuer: rcgen::Issuer::new(params, key),
    }
}

fn server_certificate(authority: &Authority, name: &str) -> CertificateDer<'static> {
    let params = rcgen::CertificateParams::new(vec![name.to_owned()]).expect("params");
    let key = rcgen::KeyPair::generate().expect("key");
    params
        .signed_by(&key, &authority.issuer)
        .expect("server certificate")
        .der()
        .clone()
}

#[test]
fn verify_ca_accepts_any_host_name_under_the_trusted_root_and_nothing_else() {
    let trusted = authority("trusted root");
    let stranger = authority("stranger");
    let mut roots = RootCertStore::empty();
    roots.add(trusted.der.clone()).expect("root");
    let algorithms =
        rustls::crypto::aws_lc_rs::default_provider().signature_verification_algorithms;
    let chain_only = WithoutHostName::chain_only(roots, algorithms);
    let asked_for = ServerName::try_from("db.internal").expect("name");
    let check = |certificate: &CertificateDer<'_>| {
        chain_only.verify_server_cert(certificate, &[], &asked_for, &[], UnixTime::now())
    };

    assert!(check(&server_certificate(&trusted, "db.internal")).is_ok());
    assert!(check(&server_certificate(&trusted, "elsewhere.example")).is_ok());
    let err = check(&server_certificate(&stranger, "db.internal")).expect_err("untrusted");
    assert!(err.to_string().contains("UnknownIssuer"), "{err}");

    let any = WithoutHostName::any_certificate(algorithms);
    let from_stranger = server_certificate(&stranger, "elsewhere.example");
    assert!(
        any.verify_server_cert(&from_stranger, &[], &asked_for, &[], UnixTime::now())
            .is_ok()
    );
}
