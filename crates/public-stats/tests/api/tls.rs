//! HTTPS on the public port: the configured certificate is served, a renewed one is picked up
//! without a restart (and a broken one is not), WebSockets work over TLS, and unusable files stop
//! the service from starting.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use public_stats::startup::Application;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{Connector, connect_async_tls_with_config};

use crate::helpers::*;

/// A certificate authority made for one test, which signs server certificates for 127.0.0.1.
struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// One server certificate, as files would hold it.
struct Leaf {
    cert_pem: String,
    key_pem: String,
    der: CertificateDer<'static>,
}

impl TestCa {
    fn new() -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params
            .distinguished_name
            .push(DnType::CommonName, "public-stats test CA");
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign];
        TestCa {
            issuer: CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap(),
        }
    }

    fn leaf(&self, subject: &str) -> Leaf {
        let mut params = CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
        params.distinguished_name.push(DnType::CommonName, subject);
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Leaf {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            der: cert.der().clone(),
        }
    }

    fn client_config(&self) -> Arc<rustls::ClientConfig> {
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from(self.issuer.der().to_vec()))
            .unwrap();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        Arc::new(
            rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_root_certificates(roots)
                .with_no_client_auth(),
        )
    }

    fn https_client(&self) -> reqwest::Client {
        let ca = reqwest::Certificate::from_der(self.issuer.der()).unwrap();
        reqwest::Client::builder()
            .tls_certs_merge([ca])
            .build()
            .unwrap()
    }
}

struct Files {
    _dir: tempfile::TempDir,
    cert: PathBuf,
    key: PathBuf,
}

impl Files {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        Files {
            cert: dir.path().join("cert.pem"),
            key: dir.path().join("key.pem"),
            _dir: dir,
        }
    }

    /// Writes the pair the way a renewal tool might: one file, then the other.
    fn write(&self, leaf: &Leaf) {
        std::fs::write(&self.cert, &leaf.cert_pem).unwrap();
        std::fs::write(&self.key, &leaf.key_pem).unwrap();
    }

    fn flags(&self) -> [String; 4] {
        [
            "--tls-cert-file".to_owned(),
            path(&self.cert),
            "--tls-key-file".to_owned(),
            path(&self.key),
        ]
    }
}

fn path(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

async fn spawn_tls_app(files: &Files) -> TestApp {
    let flags = files.flags();
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    spawn_app_with(&flags).await
}

/// The certificate the server presents in a fresh handshake.
async fn presented(app: &TestApp, ca: &TestCa) -> CertificateDer<'static> {
    let tcp = TcpStream::connect(app.addr).await.unwrap();
    let name = ServerName::IpAddress(app.addr.ip().into());
    let tls = TlsConnector::from(ca.client_config())
        .connect(name, tcp)
        .await
        .expect("the TLS handshake succeeds");
    tls.get_ref().1.peer_certificates().unwrap()[0].clone()
}

#[tokio::test]
async fn https_serves_the_configured_certificate_and_a_renewed_one_without_a_restart() {
    let ca = TestCa::new();
    let files = Files::new();
    let first = ca.leaf("first.public-stats.test");
    files.write(&first);
    let app = spawn_tls_app(&files).await;
    assert_eq!(presented(&app, &ca).await, first.der);
    let https = ca.https_client();
    let url = format!("https://{}/healthz", app.addr);
    assert_eq!(https.get(&url).send().await.unwrap().status(), 200);

    let second = ca.leaf("second.public-stats.test");
    files.write(&second);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while presented(&app, &ca).await != second.der {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the renewed certificate was never served"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // A broken renewal is not taken: the last good certificate stays.
    std::fs::write(&files.cert, "-----BEGIN CERTIFICATE-----\nnot base64!\n").unwrap();
    tokio::time::sleep(public_stats::serve::tls::RELOAD_CHECK + Duration::from_millis(500)).await;
    assert_eq!(presented(&app, &ca).await, second.der);
    assert_eq!(
        ca.https_client().get(&url).send().await.unwrap().status(),
        200
    );
}

#[tokio::test]
async fn websockets_work_over_tls() {
    let ca = TestCa::new();
    let files = Files::new();
    files.write(&ca.leaf("wss.public-stats.test"));
    let app = spawn_tls_app(&files).await;
    let (mut socket, response) = connect_async_tls_with_config(
        format!("wss://{}/", app.addr),
        None,
        false,
        Some(Connector::Rustls(ca.client_config())),
    )
    .await
    .expect("the wss handshake succeeds");
    assert_eq!(response.status().as_u16(), 101);
    let frame = tokio::time::timeout(Duration::from_secs(10), socket.next())
        .await
        .expect("a frame in time")
        .expect("the socket is open")
        .expect("a valid frame");
    let Message::Text(text) = frame else {
        panic!("expected the statistics frame, got {frame:?}");
    };
    let frame: Value = serde_json::from_str(text.as_str()).unwrap();
    assert!(
        frame["queueStats"][DEMO_SALES_QUEUE.to_string()].is_object(),
        "{frame}"
    );
}

#[tokio::test]
async fn unusable_certificate_files_stop_the_start_with_their_name() {
    let ca = TestCa::new();
    let files = Files::new();
    let leaf = ca.leaf("mismatch.public-stats.test");
    let other = ca.leaf("other.public-stats.test");
    // A key that belongs to another certificate.
    std::fs::write(&files.cert, &leaf.cert_pem).unwrap();
    std::fs::write(&files.key, &other.key_pem).unwrap();
    let flags = files.flags();
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let (config, _data) = settings(&flags);
    let error = Application::build(config)
        .await
        .err()
        .expect("the service refuses to start")
        .to_string();
    assert!(error.contains("TLS_CERT_FILE"), "{error}");
    assert!(error.contains("key.pem"), "{error}");
    // A missing file likewise.
    std::fs::remove_file(&files.cert).unwrap();
    let (config, _data) = settings(&flags);
    let error = Application::build(config)
        .await
        .err()
        .expect("the service refuses to start")
        .to_string();
    assert!(error.contains("cert.pem"), "{error}");
}
