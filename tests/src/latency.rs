//! A TCP proxy on 127.0.0.1 that adds latency (not a bandwidth limit) between a client
//! and a server: what a network between them costs, for benches that show what batching
//! saves. OS threads, not tasks, so its delays are as exact as `thread::sleep` and it
//! needs no runtime of the bench's.

/// A proxy on 127.0.0.1 that forwards each chunk `delay` after it arrived (latency, not a
/// bandwidth limit: chunks in flight overlap). Returns its port.
pub fn latency_proxy(upstream: &str, delay: std::time::Duration) -> u16 {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::time::Instant;
    fn pipe(mut from: TcpStream, mut to: TcpStream, delay: std::time::Duration) {
        let (tx, rx) = std::sync::mpsc::channel::<(Instant, Vec<u8>)>();
        std::thread::spawn(move || {
            for (due, chunk) in rx {
                std::thread::sleep(due.saturating_duration_since(Instant::now()));
                if to.write_all(&chunk).is_err() {
                    break;
                }
            }
            let _ = to.shutdown(std::net::Shutdown::Write);
        });
        let mut buf = vec![0u8; 256 * 1024];
        while let Ok(len) = from.read(&mut buf) {
            if len == 0
                || tx
                    .send((Instant::now() + delay, buf[..len].to_vec()))
                    .is_err()
            {
                break;
            }
        }
    }
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let upstream = upstream.to_owned();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = TcpStream::connect(&upstream) else {
                continue;
            };
            let _ = (client.set_nodelay(true), server.set_nodelay(true));
            let (c2, s2) = (
                client.try_clone().expect("clone"),
                server.try_clone().expect("clone"),
            );
            std::thread::spawn(move || pipe(client, server, delay));
            std::thread::spawn(move || pipe(s2, c2, delay));
        }
    });
    port
}
