//! A moto server of the test's own (so a test may stop and restart it), from the venv
//! scripts/s3-server.sh installs, run single-threaded by scripts/moto-server.py as the
//! shared one is. Killed when dropped.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct OwnServer {
    child: Child,
}

impl OwnServer {
    /// The venv's python, if scripts/s3-server.sh installed moto.
    fn python() -> PathBuf {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let python = root.join(".s3-server/venv/bin/python");
        assert!(
            python.exists(),
            "moto is not installed: source scripts/s3-server.sh and run s3_server_start"
        );
        python
    }

    /// A free port on 127.0.0.1.
    pub fn free_port() -> u16 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address").port()
    }

    /// Start moto on `port` and wait until it accepts connections.
    pub fn start(port: u16) -> OwnServer {
        Self::launch(port, None)
    }

    /// Start a moto that checks signatures and credentials after its first `free`
    /// requests, as DynamoDB does on every one.
    pub fn start_with_auth(port: u16, free: u32) -> OwnServer {
        Self::launch(port, Some(free))
    }

    fn launch(port: u16, unauthenticated_actions: Option<u32>) -> OwnServer {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/moto-server.py");
        let mut command = Command::new(Self::python());
        if let Some(n) = unauthenticated_actions {
            command.env("INITIAL_NO_AUTH_ACTION_COUNT", n.to_string());
        }
        let child = command
            .arg(script)
            .args(["127.0.0.1", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto");
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto did not come up on {port}");
            std::thread::sleep(Duration::from_millis(100));
        }
        OwnServer { child }
    }

    /// Stop the server (kill -9: no goodbye to clients).
    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
