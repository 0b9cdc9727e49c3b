//! Extra certificate authorities the client trusts besides the usual ones, for REST (reqwest)
//! and the notification WebSocket alike: a Genesys reached through an inspecting proxy, or a
//! simulator serving TLS with a certificate made for one run.
//!
//! It never weakens verification: certificates are only ever added to what is trusted.

use std::fmt;
use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use tokio_tungstenite::Connector;

use crate::error::Error;

/// One certificate authority to trust (DER).
#[derive(Clone, PartialEq, Eq)]
pub struct RootCertificate(CertificateDer<'static>);

impl RootCertificate {
    /// Every certificate in a PEM text (one or more `BEGIN CERTIFICATE` blocks); an error when
    /// there is none or one is malformed.
    pub fn from_pem(pem: &str) -> Result<Vec<RootCertificate>, Error> {
        let certificates = CertificateDer::pem_slice_iter(pem.as_bytes())
            .map(|certificate| certificate.map(RootCertificate))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| Error::InvalidConfig("a root certificate is not valid PEM"))?;
        if certificates.is_empty() {
            return Err(Error::InvalidConfig(
                "no certificate in the root certificate PEM",
            ));
        }
        Ok(certificates)
    }

    pub fn from_der(der: Vec<u8>) -> Self {
        RootCertificate(CertificateDer::from(der))
    }

    fn der(&self) -> &[u8] {
        self.0.as_ref()
    }
}

impl fmt::Debug for RootCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RootCertificate({} bytes)", self.der().len())
    }
}

/// The extras in reqwest's form (added to the platform's roots).
pub(crate) fn for_reqwest(roots: &[RootCertificate]) -> Result<Vec<reqwest::Certificate>, Error> {
    roots
        .iter()
        .map(|root| {
            reqwest::Certificate::from_der(root.der())
                .map_err(|_| Error::InvalidConfig("a root certificate is not valid DER"))
        })
        .collect()
}

/// The WebSocket connector: `None` (tokio-tungstenite's own, with the Mozilla roots) when there
/// are no extras, else a rustls configuration trusting the Mozilla roots and the extras. Without
/// ALPN: a WebSocket handshake is HTTP/1.1.
pub(crate) fn websocket_connector(roots: &[RootCertificate]) -> Result<Option<Connector>, Error> {
    if roots.is_empty() {
        return Ok(None);
    }
    let mut store = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    for root in roots {
        store
            .add(root.0.clone())
            .map_err(|_| Error::InvalidConfig("a root certificate cannot be a trust anchor"))?;
    }
    // The provider is named rather than taken from the process default, which is ambiguous when
    // several crates in one build enable different ones.
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|_| Error::InvalidConfig("no TLS protocol version available"))?
        .with_root_certificates(store)
        .with_no_client_auth();
    Ok(Some(Connector::Rustls(Arc::new(config))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_without_a_certificate_is_refused() {
        assert!(RootCertificate::from_pem("").is_err());
        assert!(
            RootCertificate::from_pem(
                "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n"
            )
            .is_err()
        );
    }
}
