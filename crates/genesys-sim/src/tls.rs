//! HTTPS and WSS for the simulator, as Genesys serves nothing else: a certificate authority and a
//! server certificate for `localhost`, `127.0.0.1` and `::1`, made fresh at every start, and the
//! rustls server configuration that offers HTTP/2 and HTTP/1.1 by ALPN (WebSocket upgrades take
//! HTTP/1.1). A client trusts [`SimCertificate::ca_pem`] explicitly; nothing here is trusted by
//! any system store, and no verification needs turning off.
//!
//! It is not certificate management: the keys live only in memory, for one run.

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("the simulator's certificate could not be made")]
    Certificate(#[from] rcgen::Error),
    #[error("the simulator's TLS configuration was refused")]
    Config(#[from] rustls::Error),
}

/// The certificates of one run, and the server configuration that presents them.
pub struct SimCertificate {
    ca_pem: String,
    server_config: Arc<ServerConfig>,
}

impl SimCertificate {
    /// A new CA and a server certificate it signed.
    pub fn generate() -> Result<Self, TlsError> {
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "genesys-sim test CA");
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate()?)?;

        let names = ["localhost", "127.0.0.1", "::1"]
            .map(str::to_owned)
            .to_vec();
        let mut server_params = CertificateParams::new(names)?;
        server_params
            .distinguished_name
            .push(DnType::CommonName, "genesys-sim");
        server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let server_key = KeyPair::generate()?;
        let server_cert = server_params.signed_by(&server_key, &ca)?;

        let chain = vec![
            server_cert.der().clone(),
            CertificateDer::from(ca.der().to_vec()),
        ];
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der()));
        // The provider is named rather than taken from the process default, which is ambiguous
        // when several crates in one build enable different ones.
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain, key)?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(SimCertificate {
            ca_pem: ca.pem(),
            server_config: Arc::new(config),
        })
    }

    /// The CA certificate (PEM) a client must trust to reach this simulator.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    pub fn server_config(&self) -> Arc<ServerConfig> {
        self.server_config.clone()
    }
}
