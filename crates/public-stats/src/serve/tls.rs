//! HTTPS on the public port: a rustls server configuration whose certificate is re-read from
//! `TLS_CERT_FILE` / `TLS_KEY_FILE` when either file changes, so a renewed certificate is served
//! without a restart.
//!
//! The files are looked at (their modification time and size) at most every [`RELOAD_CHECK`],
//! during a handshake; they are read only when that changed. A new pair that does not load (half
//! written, key and certificate not matching) is logged and the previous one kept; it is tried
//! again when the files change again. It does not do ACME or OCSP stapling.

use std::fs;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio_rustls::TlsAcceptor;

use crate::config::TlsFiles;

/// How often, at most, the files are looked at for a change.
pub const RELOAD_CHECK: Duration = Duration::from_secs(2);

/// Why a certificate and key could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("could not read {path}: {error}")]
    Read { path: String, error: std::io::Error },
    #[error("{0} holds no PEM certificate")]
    NoCertificate(String),
    #[error("{0} holds no PEM private key (PKCS#8, PKCS#1 or SEC1)")]
    NoKey(String),
    #[error("the key in {key} does not fit the certificate in {cert}: {error}")]
    Mismatch {
        cert: String,
        key: String,
        error: rustls::Error,
    },
    #[error("could not set up TLS: {0}")]
    Config(#[from] rustls::Error),
}

/// A TLS acceptor for `files`; fails if they do not load now (a configuration error at start).
pub fn acceptor(files: &TlsFiles) -> Result<TlsAcceptor, TlsError> {
    // Named rather than taken from the process default, which is ambiguous when several crates
    // in one build enable different providers; aws-lc-rs is the one the Genesys client uses.
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let resolver = ReloadingCertificate::load(files.clone(), provider.clone())?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(resolver));
    // HTTP/1.1 only: WebSocket handshakes need it, and the serving loop speaks nothing else.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// The certificate to present, re-read when its files change.
#[derive(Debug)]
struct ReloadingCertificate {
    files: TlsFiles,
    provider: Arc<CryptoProvider>,
    state: Mutex<Loaded>,
}

#[derive(Debug)]
struct Loaded {
    key: Arc<CertifiedKey>,
    /// The files' look when last read (whether or not that load worked).
    seen: Option<FilesStamp>,
    checked_at: Instant,
}

/// Modification time and size of both files: what tells a rewritten file.
type FilesStamp = [(SystemTime, u64); 2];

impl ReloadingCertificate {
    fn load(files: TlsFiles, provider: Arc<CryptoProvider>) -> Result<Self, TlsError> {
        let seen = stamp(&files);
        let key = Arc::new(load_pair(&files, &provider)?);
        Ok(ReloadingCertificate {
            files,
            provider,
            state: Mutex::new(Loaded {
                key,
                seen,
                checked_at: Instant::now(),
            }),
        })
    }

    /// The current pair, after looking for a change if [`RELOAD_CHECK`] has passed. The look is
    /// done here, in the handshake, rather than by a task of its own: it is two `stat` calls
    /// every few seconds, and two small reads once per renewal.
    fn current(&self) -> Arc<CertifiedKey> {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if state.checked_at.elapsed() >= RELOAD_CHECK {
            state.checked_at = Instant::now();
            let seen = stamp(&self.files);
            if seen.is_some() && seen != state.seen {
                state.seen = seen;
                match load_pair(&self.files, &self.provider) {
                    Ok(key) => {
                        state.key = Arc::new(key);
                        tracing::info!(cert = %self.files.cert.display(), "TLS certificate reloaded");
                        metrics::counter!("public_stats_tls_reloads_total", "outcome" => "loaded")
                            .increment(1);
                    }
                    Err(error) => {
                        tracing::error!(%error, "the changed TLS certificate does not load; still serving the previous one");
                        metrics::counter!("public_stats_tls_reloads_total", "outcome" => "failed")
                            .increment(1);
                    }
                }
            }
        }
        Arc::clone(&state.key)
    }
}

impl ResolvesServerCert for ReloadingCertificate {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

fn stamp(files: &TlsFiles) -> Option<FilesStamp> {
    let look = |path: &Path| {
        let metadata = fs::metadata(path).ok()?;
        Some((metadata.modified().ok()?, metadata.len()))
    };
    Some([look(&files.cert)?, look(&files.key)?])
}

fn load_pair(files: &TlsFiles, provider: &CryptoProvider) -> Result<CertifiedKey, TlsError> {
    let cert_name = files.cert.display().to_string();
    let key_name = files.key.display().to_string();
    let read = |path: &Path, name: &str| {
        fs::read(path).map_err(|error| TlsError::Read {
            path: name.to_owned(),
            error,
        })
    };
    let cert_pem = read(&files.cert, &cert_name)?;
    let key_pem = read(&files.key, &key_name)?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|_| TlsError::NoCertificate(cert_name.clone()))?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate(cert_name));
    }
    let key =
        PrivateKeyDer::from_pem_slice(&key_pem).map_err(|_| TlsError::NoKey(key_name.clone()))?;
    CertifiedKey::from_der(chain, key, provider).map_err(|error| TlsError::Mismatch {
        cert: cert_name,
        key: key_name,
        error,
    })
}
