//! TLS to the server (`tls = "require"`): rustls, the server's certificate verified
//! against the system's roots or the PEM file `tls_ca_file`.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use store_core::{Error, Result};
use tokio_postgres_rustls::MakeRustlsConnect;

/// The connector for `tls = "require"`.
pub(crate) fn connector(ca_file: Option<&Path>) -> Result<MakeRustlsConnect> {
    let mut roots = rustls::RootCertStore::empty();
    let certs: Vec<CertificateDer<'static>> = match ca_file {
        Some(path) => CertificateDer::pem_file_iter(path)
            .and_then(|certs| certs.collect::<std::result::Result<Vec<_>, _>>())
            .map_err(|e| {
                Error::invalid_config(
                    "tls_ca_file",
                    format!("cannot read certificates from {}: {e}", path.display()),
                )
            })?,
        None => rustls_native_certs::load_native_certs().certs,
    };
    let (added, _ignored) = roots.add_parsable_certificates(certs);
    if added == 0 {
        return Err(Error::invalid_config(
            "tls_ca_file",
            match ca_file {
                Some(path) => format!("{} holds no usable certificate", path.display()),
                None => "the system has no root certificates: name a PEM file".to_owned(),
            },
        ));
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::invalid_config("tls", e))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}
