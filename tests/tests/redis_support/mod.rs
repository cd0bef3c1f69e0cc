//! Helpers for the Redis tests: a `redis-server` of the test's own (other settings, or
//! one to kill and restart), and a TCP proxy that loses a reply or a request on demand.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// A free port on 127.0.0.1 (bound, then released).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local addr").port()
}

/// A `redis-server` child on 127.0.0.1 in a temporary directory, killed on drop.
pub struct OwnServer {
    child: Child,
    dir: tempfile::TempDir,
    args: Vec<String>,
    /// Its port.
    pub port: u16,
}

impl OwnServer {
    /// Start a server with extra `args` (e.g. `["--requirepass", "x"]`), waiting until it
    /// answers. `None` (the test skips) where no Redis test server is configured at all:
    /// where one is (scripts/test.sh), `redis-server` is on PATH and a failure panics.
    pub fn start(args: &[&str]) -> Option<OwnServer> {
        strata_tests::redisenv::redis_url()?;
        let dir = tempfile::tempdir().expect("tempdir");
        let args = args.iter().map(|a| a.to_string()).collect();
        Some(Self::launch(free_port(), dir, args))
    }

    fn launch(port: u16, dir: tempfile::TempDir, args: Vec<String>) -> OwnServer {
        let child = Self::spawn(port, dir.path(), &args);
        let server = OwnServer {
            child,
            dir,
            args,
            port,
        };
        server.wait_ready();
        server
    }

    fn spawn(port: u16, dir: &std::path::Path, args: &[String]) -> Child {
        Command::new("redis-server")
            .args([
                "--bind",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--save",
                "",
            ])
            .arg("--dir")
            .arg(dir)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server (scripts/redis-server.sh installs it)")
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) {
                let mut reply = [0u8; 64];
                // Any reply (PONG, or NOAUTH on a server with a password) means it is up.
                if s.write_all(b"PING\r\n").is_ok() && s.read(&mut reply).is_ok_and(|n| n > 0) {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("redis-server on port {} did not answer", self.port);
    }

    /// `redis://127.0.0.1:PORT/0`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Kill the server (SIGKILL: a crash, not a shutdown).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Start it again on the same port and directory, with the same arguments.
    pub fn restart(&mut self) {
        self.kill();
        self.child = Self::spawn(self.port, self.dir.path(), &self.args);
        self.wait_ready();
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A TCP proxy to a server that, when armed, loses the next reply (the request reaches
/// the server, the reply never reaches the client) or the next request (it never reaches
/// the server), then closes that connection: a connection lost mid-call.
pub struct Proxy {
    /// Its port.
    pub port: u16,
    lose_reply: Arc<AtomicBool>,
    lose_request: Arc<AtomicBool>,
}

impl Proxy {
    /// A proxy to `127.0.0.1:target`, serving until the test process ends.
    pub fn start(target: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let port = listener.local_addr().expect("addr").port();
        let lose_reply = Arc::new(AtomicBool::new(false));
        let lose_request = Arc::new(AtomicBool::new(false));
        let (reply, request) = (lose_reply.clone(), lose_request.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else {
                    continue;
                };
                pipe(
                    client.try_clone().expect("clone"),
                    server.try_clone().expect("clone"),
                    request.clone(),
                );
                pipe(server, client, reply.clone());
            }
        });
        Proxy {
            port,
            lose_reply,
            lose_request,
        }
    }

    /// `redis://127.0.0.1:PORT/0`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Lose the next reply and close its connection.
    pub fn lose_next_reply(&self) {
        self.lose_reply.store(true, Ordering::SeqCst);
    }

    /// Lose the next request and close its connection.
    pub fn lose_next_request(&self) {
        self.lose_request.store(true, Ordering::SeqCst);
    }
}

/// Copy `from` to `to` on a thread; when `lose` is set, the next chunk is dropped
/// (and `lose` cleared) and both sockets are shut.
fn pipe(mut from: TcpStream, mut to: TcpStream, lose: Arc<AtomicBool>) {
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if lose.swap(false, Ordering::SeqCst) {
                break;
            }
            if to.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = from.shutdown(Shutdown::Both);
        let _ = to.shutdown(Shutdown::Both);
    });
}
