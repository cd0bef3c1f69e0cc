//! The S3 store where it meets what a real bucket holds and answers: missing buckets and
//! refused credentials, objects written by other clients, damaged values, and a test
//! server that must itself keep compare-and-swap exact.

mod buckets;
mod checksums;
mod foreign;
mod messages;
mod server;

use store_core::Key;

fn key(raw: &str) -> Key {
    Key::new(raw).expect("valid key")
}
