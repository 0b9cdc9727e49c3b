//! A real `redis-server` for tests (Debian's package; `scripts/test` installs it when missing):
//! started on a free loopback port with a temporary directory of its own, durable as production
//! should be (AOF with `appendfsync always`), and stopped, killed or restarted on the same port
//! and data when a test asks, so that tests see what a real outage does.
//!
//! [`RedisServer::start_tls`] starts one that speaks only TLS, with a certificate for
//! `localhost` signed by a certificate authority made for that server alone, whose PEM file a
//! client is given to trust ([`RedisServer::ca_file`]).
//!
//! It is not a mock and not a Redis client: tests talk to it with the service's own client, or
//! with [`RedisServer::cli`] to look at what is stored.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use tempfile::TempDir;

/// How long a start may take before the test fails (a loaded CI machine is slow to fork).
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A running (or stopped, between [`RedisServer::kill`] and [`RedisServer::restart`])
/// redis-server. Killed when dropped.
pub struct RedisServer {
    port: u16,
    dir: TempDir,
    extra: Vec<String>,
    /// Present when the server speaks only TLS.
    tls: Option<TlsFiles>,
    child: Option<Child>,
}

/// The PEM files of a TLS-only server, in its temporary directory.
struct TlsFiles {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

impl RedisServer {
    /// Starts a server with production-like durability. Panics (the test fails) when
    /// `redis-server` is missing or does not come up.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Like [`RedisServer::start`], with more `redis-server` arguments (`--maxmemory 1mb`, …).
    pub fn start_with(extra: &[&str]) -> Self {
        Self::start_in(
            tempfile::tempdir().expect("a temporary directory for redis-server"),
            None,
            extra,
        )
    }

    /// A server that accepts TLS only (no plain port), with a certificate for `localhost` and
    /// 127.0.0.1 signed by a certificate authority made here; clients are not asked for
    /// certificates of their own. Trust [`RedisServer::ca_file`] to connect.
    pub fn start_tls() -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory for redis-server");
        let tls = TlsFiles::create(dir.path());
        Self::start_in(dir, Some(tls), &[])
    }

    fn start_in(dir: TempDir, tls: Option<TlsFiles>, extra: &[&str]) -> Self {
        let mut server = RedisServer {
            port: free_port(),
            dir,
            extra: extra.iter().map(|arg| arg.to_string()).collect(),
            tls,
            child: None,
        };
        server.launch();
        server
    }

    /// `redis://127.0.0.1:<port>/0`, or `rediss://localhost:<port>/0` for a TLS server (the name
    /// its certificate is for).
    pub fn url(&self) -> String {
        match self.tls {
            None => format!("redis://127.0.0.1:{}/0", self.port),
            Some(_) => format!("rediss://localhost:{}/0", self.port),
        }
    }

    /// The PEM of the certificate authority that signed a TLS server's certificate (`None` for a
    /// plain server).
    pub fn ca_file(&self) -> Option<&Path> {
        self.tls.as_ref().map(|tls| tls.ca.as_path())
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Where its data (the AOF) lives.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// SIGKILL, as a crash or an out-of-memory kill would: no shutdown save. Connections drop.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts again on the same port with the same data directory (what the AOF kept is back).
    pub fn restart(&mut self) {
        self.kill();
        self.launch();
    }

    /// Runs `redis-cli` against it and returns what it printed (raw, one value per line).
    pub fn cli(&self, args: &[&str]) -> String {
        let mut command = Command::new("redis-cli");
        command.args(["-p", &self.port.to_string(), "--raw"]);
        if let Some(tls) = &self.tls {
            command.arg("--tls").arg("--cacert").arg(&tls.ca);
        }
        let output = command
            .args(args)
            .output()
            .expect("redis-cli runs (it comes with redis-server)");
        String::from_utf8_lossy(&output.stdout)
            .trim_end()
            .to_string()
    }

    fn launch(&mut self) {
        let port = self.port.to_string();
        let dir = self.dir.path().to_string_lossy().to_string();
        let mut command = Command::new("redis-server");
        match &self.tls {
            None => command.args(["--port", &port]),
            Some(tls) => command
                .args(["--port", "0", "--tls-port", &port])
                .arg("--tls-cert-file")
                .arg(&tls.cert)
                .arg("--tls-key-file")
                .arg(&tls.key)
                .arg("--tls-ca-cert-file")
                .arg(&tls.ca)
                .args(["--tls-auth-clients", "no"]),
        };
        let child = command
            .args(["--bind", "127.0.0.1", "--dir", &dir])
            .args([
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
            ])
            .args(["--protected-mode", "no", "--daemonize", "no"])
            .args(&self.extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "redis-server starts (Debian's redis-server package; scripts/test installs it)",
            );
        self.child = Some(child);
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            if self.answers_ping() {
                return;
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!("redis-server exited at start with {status}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("redis-server on port {port} did not answer PING within {START_TIMEOUT:?}");
    }

    /// `PING` → `+PONG`, and not `-LOADING` while the AOF is read back.
    fn answers_ping(&self) -> bool {
        if self.tls.is_some() {
            return self.cli(&["PING"]) == "PONG";
        }
        self.answers_plain_ping()
    }

    fn answers_plain_ping(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
        if stream.write_all(b"PING\r\n").is_err() {
            return false;
        }
        let mut answer = [0u8; 7];
        stream.read_exact(&mut answer).is_ok() && &answer == b"+PONG\r\n"
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

impl TlsFiles {
    /// A new certificate authority and a certificate it signs for `localhost` and 127.0.0.1,
    /// written into `dir`.
    fn create(dir: &Path) -> Self {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "test-redis CA");
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign];
        let ca_key = KeyPair::generate().expect("a CA key");
        let issuer = CertifiedIssuer::self_signed(ca_params, ca_key).expect("a CA certificate");

        let mut params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
                .expect("server certificate parameters");
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        let key = KeyPair::generate().expect("a server key");
        let cert = params
            .signed_by(&key, &issuer)
            .expect("a server certificate");

        let files = TlsFiles {
            ca: dir.join("ca.pem"),
            cert: dir.join("server.pem"),
            key: dir.join("server-key.pem"),
        };
        std::fs::write(&files.ca, issuer.pem()).expect("the CA file is written");
        std::fs::write(&files.cert, cert.pem()).expect("the certificate file is written");
        std::fs::write(&files.key, key.serialize_pem()).expect("the key file is written");
        files
    }
}

/// A loopback port nothing listens on (bound and released; tests in other processes could take
/// it in between, which a failed start would show).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free loopback port")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_survives_a_kill_and_a_restart_on_the_same_port() {
        let mut server = RedisServer::start();
        assert_eq!(server.cli(&["SET", "greeting", "hello"]), "OK");
        let port = server.port();
        server.kill();
        assert!(!server.answers_ping(), "killed means down");
        server.restart();
        assert_eq!(server.port(), port);
        assert_eq!(server.cli(&["GET", "greeting"]), "hello");
    }

    #[test]
    fn two_servers_do_not_share_anything() {
        let first = RedisServer::start();
        let second = RedisServer::start();
        assert_ne!(first.port(), second.port());
        first.cli(&["SET", "k", "1"]);
        assert_eq!(second.cli(&["EXISTS", "k"]), "0");
    }

    #[test]
    fn a_tls_server_answers_over_tls_only_and_keeps_its_data_across_a_restart() {
        let mut server = RedisServer::start_tls();
        assert_eq!(
            server.url(),
            format!("rediss://localhost:{}/0", server.port())
        );
        let ca = std::fs::read_to_string(server.ca_file().unwrap()).unwrap();
        assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"), "{ca}");
        assert_eq!(server.cli(&["SET", "greeting", "hello"]), "OK");
        assert!(
            !server.answers_plain_ping(),
            "plain TCP gets no answer from a TLS-only server"
        );
        server.restart();
        assert_eq!(server.cli(&["GET", "greeting"]), "hello");
    }

    #[test]
    fn a_plain_server_has_no_ca_file() {
        let server = RedisServer::start();
        assert!(server.ca_file().is_none());
        assert!(server.url().starts_with("redis://127.0.0.1:"));
    }
}
