//! A real `redis-server` for tests (Debian's package; `scripts/test` installs it when missing):
//! started on a free loopback port with a temporary directory of its own, durable as production
//! should be (AOF with `appendfsync always`), and stopped, killed or restarted on the same port
//! and data when a test asks, so that tests see what a real outage does.
//!
//! It is not a mock and not a Redis client: tests talk to it with the service's own client, or
//! with [`RedisServer::cli`] to look at what is stored.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// How long a start may take before the test fails (a loaded CI machine is slow to fork).
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A running (or stopped, between [`RedisServer::kill`] and [`RedisServer::restart`])
/// redis-server. Killed when dropped.
pub struct RedisServer {
    port: u16,
    dir: TempDir,
    extra: Vec<String>,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts a server with production-like durability. Panics (the test fails) when
    /// `redis-server` is missing or does not come up.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Like [`RedisServer::start`], with more `redis-server` arguments (`--maxmemory 1mb`, …).
    pub fn start_with(extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory for redis-server");
        let mut server = RedisServer {
            port: free_port(),
            dir,
            extra: extra.iter().map(|arg| arg.to_string()).collect(),
            child: None,
        };
        server.launch();
        server
    }

    /// `redis://127.0.0.1:<port>/0`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
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
        let output = Command::new("redis-cli")
            .args(["-p", &self.port.to_string(), "--raw"])
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
        let child = Command::new("redis-server")
            .args(["--port", &port, "--bind", "127.0.0.1", "--dir", &dir])
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
}
