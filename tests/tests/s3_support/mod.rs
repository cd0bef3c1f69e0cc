//! Helpers for the S3 tests: settings from the environment, a lossy TCP proxy, ports,
//! servers of a test's own, and requests other S3 clients send.

pub mod raw;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;

use store_core::Secret;
use store_s3::S3Config;

/// Where the test server is, from `STRATA_S3_*`.
pub struct Settings {
    pub endpoint: String,
    pub bucket: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub region: String,
}

/// The server settings, or `None` when none are configured. Under
/// `STRATA_S3_REQUIRED=1` (scripts/test.sh, CI) missing settings panic instead.
pub fn settings() -> Option<Settings> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let Some(endpoint) = var("STRATA_S3_ENDPOINT") else {
        if var("STRATA_S3_REQUIRED").as_deref() == Some("1") {
            panic!(
                "STRATA_S3_REQUIRED=1 but STRATA_S3_ENDPOINT is not set: the S3 tests need a server (scripts/test.sh starts one)"
            );
        }
        eprintln!(
            "S3 test skipped: STRATA_S3_ENDPOINT is not set (scripts/test.sh starts a local server)"
        );
        return None;
    };
    let required = |name: &str| {
        var(name).unwrap_or_else(|| panic!("{name} must be set along with STRATA_S3_ENDPOINT"))
    };
    Some(Settings {
        endpoint,
        bucket: required("STRATA_S3_BUCKET"),
        access_key_id: required("STRATA_S3_ACCESS_KEY_ID"),
        secret_access_key: required("STRATA_S3_SECRET_ACCESS_KEY"),
        region: var("STRATA_S3_REGION").unwrap_or_else(|| "us-east-1".to_owned()),
    })
}

/// A fresh random key prefix, so every test (and run) has keys of its own.
pub fn random_prefix() -> String {
    format!("strata-tests/{:016x}", rand::random::<u64>())
}

/// A config for the test server under a fresh random prefix, with a low multipart
/// threshold so large values really take the multipart path.
pub fn config() -> Option<S3Config> {
    let s = settings()?;
    let mut config = S3Config::new(s.bucket);
    config.prefix = random_prefix();
    config.endpoint = Some(s.endpoint);
    config.region = Some(s.region);
    config.access_key_id = Some(s.access_key_id);
    config.secret_access_key = Some(Secret::new(s.secret_access_key));
    config.multipart_threshold = store_s3::MIN_PART_SIZE + 3 * 1024 * 1024;
    Some(config)
}

/// Run a future on the suite's runtime.
pub fn block_on<T>(f: impl Future<Output = T>) -> T {
    strata_tests::harness::runtime().block_on(f)
}

/// A local port on which nothing listens (bound, then released).
pub fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// A TCP proxy in front of the server that can lose one response: it forwards the
/// request, lets the server act on it, then closes the client's connection instead of
/// passing the answer on — a response lost in the network.
pub struct Proxy {
    port: u16,
    drop_next: Arc<AtomicBool>,
    dropped: Arc<AtomicUsize>,
}

impl Proxy {
    /// Listen on a free local port, forwarding to `endpoint` (`http://host:port`).
    pub fn start(endpoint: &str) -> Proxy {
        let upstream = endpoint
            .strip_prefix("http://")
            .expect("the proxy speaks plain HTTP")
            .trim_end_matches('/')
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let port = listener.local_addr().expect("addr").port();
        let drop_next = Arc::new(AtomicBool::new(false));
        let dropped = Arc::new(AtomicUsize::new(0));
        let (drop_flag, counter) = (drop_next.clone(), dropped.clone());
        // Threads end with the test process; each serves one client connection.
        thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(&upstream) else {
                    continue;
                };
                let (drop_flag, counter) = (drop_flag.clone(), counter.clone());
                let (client_r, server_w) = (
                    client.try_clone().expect("clone"),
                    server.try_clone().expect("clone"),
                );
                thread::spawn(move || pump(client_r, server_w));
                thread::spawn(move || {
                    let mut server = server;
                    let mut client = client;
                    let mut buf = vec![0u8; 64 * 1024];
                    loop {
                        let n = match server.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        if drop_flag.swap(false, Ordering::SeqCst) {
                            counter.fetch_add(1, Ordering::SeqCst);
                            break;
                        }
                        if client.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    let _ = client.shutdown(Shutdown::Both);
                    let _ = server.shutdown(Shutdown::Both);
                });
            }
        });
        Proxy {
            port,
            drop_next,
            dropped,
        }
    }

    /// The proxy's endpoint URL.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Lose the next response the server sends.
    pub fn drop_next_response(&self) {
        self.drop_next.store(true, Ordering::SeqCst);
    }

    /// How many responses were lost so far.
    pub fn dropped(&self) -> usize {
        self.dropped.load(Ordering::SeqCst)
    }
}

fn pump(mut from: TcpStream, mut to: TcpStream) {
    let _ = std::io::copy(&mut from, &mut to);
    let _ = to.shutdown(Shutdown::Write);
}

/// A moto server of the test's own (so the test may kill it), from the venv
/// scripts/s3-server.sh installs, run single-threaded by scripts/moto-server.py as the
/// shared server is. Killed when dropped.
pub struct OwnServer {
    child: std::process::Child,
    pub port: u16,
}

/// IAM users made on an [`OwnServer::start_with_auth`] server: (access key id, secret).
pub struct Users {
    /// May do anything in S3.
    pub allowed: (String, String),
    /// Exists, with no permission at all.
    pub powerless: (String, String),
}

impl OwnServer {
    /// The venv's python, if scripts/s3-server.sh installed moto.
    pub fn executable() -> Option<std::path::PathBuf> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let moto = root.join(".s3-server/venv/bin/moto_server");
        moto.exists()
            .then(|| root.join(".s3-server/venv/bin/python"))
    }

    fn launch(port: u16, unauthenticated_actions: Option<u32>) -> OwnServer {
        let python = Self::executable().expect("moto is installed");
        let script =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/moto-server.py");
        let mut command = std::process::Command::new(python);
        command
            .arg(script)
            .args(["127.0.0.1", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        if let Some(n) = unauthenticated_actions {
            // moto then checks signatures and IAM policies after the first `n` requests.
            command.env("INITIAL_NO_AUTH_ACTION_COUNT", n.to_string());
        }
        let child = command.spawn().expect("start moto");
        OwnServer { child, port }
    }

    /// Start moto on `port` and create `bucket` on it, waiting until it answers.
    pub fn start(port: u16, bucket: &str) -> OwnServer {
        let server = Self::launch(port, None);
        server.wait_for_bucket(bucket);
        server
    }

    /// Start a moto that checks credentials and permissions like S3, with `bucket` and
    /// two IAM users (made with the only requests it lets through unsigned).
    pub fn start_with_auth(port: u16, bucket: &str) -> (OwnServer, Users) {
        // The bucket, then CreateUser + CreateAccessKey + PutUserPolicy, CreateUser +
        // CreateAccessKey.
        let server = Self::launch(port, Some(6));
        server.wait_for_bucket(bucket);
        let allowed = server.iam_user("strata-allowed");
        let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
        let answer = server.iam(&format!(
            "Action=PutUserPolicy&UserName=strata-allowed&PolicyName=all&PolicyDocument={}",
            percent_encoding::utf8_percent_encode(policy, percent_encoding::NON_ALPHANUMERIC)
        ));
        assert!(is_ok(&answer), "{answer}");
        let powerless = server.iam_user("strata-powerless");
        (server, Users { allowed, powerless })
    }

    fn wait_for_bucket(&self, bucket: &str) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !self.create_bucket(bucket) {
            assert!(
                std::time::Instant::now() < deadline,
                "moto did not come up on port {}",
                self.port
            );
            thread::sleep(std::time::Duration::from_millis(200));
        }
    }

    /// The server's endpoint URL.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Send one request (moto checks no signature while it lets requests through
    /// unauthenticated, so a dummy one does); the whole answer.
    fn request(&self, head: &str, body: &str) -> Option<String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        let request = format!(
            "{head}\r\nHost: 127.0.0.1:{}\r\nx-amz-content-sha256: UNSIGNED-PAYLOAD\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.port,
            body.len()
        );
        let mut answer = String::new();
        stream.write_all(request.as_bytes()).ok()?;
        stream.read_to_string(&mut answer).ok()?;
        Some(answer)
    }

    /// Create `bucket`.
    fn create_bucket(&self, bucket: &str) -> bool {
        let head = format!(
            "PUT /{bucket} HTTP/1.1\r\nAuthorization: AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0"
        );
        self.request(&head, "").is_some_and(|answer| is_ok(&answer))
    }

    /// One IAM query-API call (`Action=...&...`); the whole answer.
    fn iam(&self, query: &str) -> String {
        let head = "POST / HTTP/1.1\r\nAuthorization: AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0\r\nContent-Type: application/x-www-form-urlencoded";
        self.request(head, &format!("{query}&Version=2010-05-08"))
            .expect("moto answers IAM")
    }

    /// Create an IAM user with an access key; the key's id and secret.
    fn iam_user(&self, name: &str) -> (String, String) {
        let answer = self.iam(&format!("Action=CreateUser&UserName={name}"));
        assert!(is_ok(&answer), "{answer}");
        let answer = self.iam(&format!("Action=CreateAccessKey&UserName={name}"));
        let field = |tag: &str| {
            let open = format!("<{tag}>");
            let start = answer.find(&open).unwrap_or_else(|| panic!("{answer}")) + open.len();
            let len = answer[start..].find('<').expect("closing tag");
            answer[start..start + len].to_owned()
        };
        (field("AccessKeyId"), field("SecretAccessKey"))
    }

    /// Kill the server (SIGKILL) and wait for it to exit.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A 200 answer (single-threaded moto speaks HTTP/1.0).
fn is_ok(answer: &str) -> bool {
    answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200")
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A one-shot HTTP server: answers the first request with S3's 404 for a missing key
/// (`NoSuchKey`) and hands back the
/// request's head (request line and headers), to see what the client sent.
pub fn capture_one_request() -> (u16, thread::JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let handle = thread::spawn(move || {
        let (mut stream, _) = listener.accept().expect("accept");
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
            head.push(byte[0]);
        }
        let body = "<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>";
        let _ = stream.write_all(
            format!(
                "HTTP/1.1 404 Not Found\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        );
        String::from_utf8_lossy(&head).into_owned()
    });
    (port, handle)
}

/// Through `proxy`, which has dropped `dropped` responses so far: a create and then an
/// update of `k` whose responses are lost must still be reported as the successes they
/// were, with the versions that landed (read back from `direct`, which bypasses the
/// proxy). Returns the create's version.
pub async fn lost_responses_resolve(
    store: &dyn store_core::Store,
    direct: &dyn store_core::Store,
    proxy: &Proxy,
    dropped: usize,
    k: &store_core::Key,
) -> store_core::Version {
    use store_core::PutMode;
    let bound = std::time::Duration::from_secs(60);
    proxy.drop_next_response();
    let meta = tokio::time::timeout(bound, store.put(k, "first".into(), PutMode::Create))
        .await
        .expect("bounded")
        .expect("the create landed, so it must be reported as a success");
    assert_eq!(
        proxy.dropped(),
        dropped + 1,
        "the proxy must have dropped a response"
    );
    let seen = direct.get(k).await.unwrap().expect("stored");
    assert_eq!(seen.value, bytes::Bytes::from("first"));
    assert_eq!(seen.meta.version, meta.version);

    // The same through the update's If-Match.
    proxy.drop_next_response();
    let updated = tokio::time::timeout(
        bound,
        store.put(k, "second".into(), PutMode::Update(meta.version.clone())),
    )
    .await
    .expect("bounded")
    .expect("the update landed, so it must be reported as a success");
    assert_eq!(proxy.dropped(), dropped + 2);
    let seen = direct.get(k).await.unwrap().expect("stored");
    assert_eq!(seen.value, bytes::Bytes::from("second"));
    assert_eq!(seen.meta.version, updated.version);
    meta.version
}
