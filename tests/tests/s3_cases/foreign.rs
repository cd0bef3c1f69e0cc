//! Objects other S3 clients wrote under the store's prefix: names that are not keys and
//! directory markers are skipped by `list` with one warning, never shown as keys, never
//! an error, and no key is listed twice.

use std::io::Write;
use std::sync::{Arc, Mutex};

use futures::TryStreamExt;
use store_core::{ListOptions, Prefix, PutMode, Store};
use store_s3::S3Store;

use super::key;
use crate::s3_support::raw::RawS3;
use crate::s3_support::{block_on, config, settings};

/// Run `f` with `tracing` events of this thread written to a buffer; its result and
/// what was logged.
fn logged<T>(f: impl FnOnce() -> T) -> (T, String) {
    #[derive(Clone)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);
    impl Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buffer = Buffer(Arc::new(Mutex::new(Vec::new())));
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let out = tracing::subscriber::with_default(subscriber, f);
    let text = String::from_utf8_lossy(&buffer.0.lock().unwrap()).into_owned();
    (out, text)
}

fn listed(store: &S3Store, options: ListOptions) -> Vec<String> {
    block_on(
        store
            .list(options)
            .map_ok(|m| m.key.to_string())
            .try_collect(),
    )
    .expect("the listing succeeds")
}

fn prefix(raw: &str) -> ListOptions {
    ListOptions::prefix(Prefix::new(raw).unwrap())
}

#[test]
fn foreign_objects_are_skipped_and_markers_are_not_keys() {
    let Some(settings) = settings() else { return };
    let config = config().expect("settings");
    let (bucket, root) = (config.bucket.clone(), config.prefix.clone());
    let store = S3Store::connect(config).expect("connect");
    let raw = RawS3::new(&settings);
    let foreign = [
        "bad//double",
        "ctl\u{1}char",
        "dirmarker/",
        "dots/../up",
        "sub/also//bad",
    ];
    let stored: Vec<&str> = block_on(async {
        for k in ["a", "sub/x"] {
            store
                .put(&key(k), "ours".into(), PutMode::Create)
                .await
                .unwrap();
        }
        let mut stored = Vec::new();
        for name in foreign {
            if raw
                .put_object(&bucket, &format!("{root}/{name}"), b"theirs")
                .await
                == 200
            {
                stored.push(name);
            }
        }
        stored
    });
    assert!(
        stored.contains(&"dirmarker/"),
        "every S3 server keeps directory markers"
    );
    eprintln!("foreign objects the server stored: {stored:?}");

    let (all, log) = logged(|| listed(&store, ListOptions::default()));
    assert_eq!(all, ["a", "sub/x"]);
    assert!(
        log.contains(&format!("skipped {} object(s)", stored.len())),
        "the warning counts the skipped objects: {log}"
    );
    let first = format!("{root}/{}", stored[0]).escape_debug().to_string();
    assert!(
        log.contains(&first),
        "the warning names the first, escaped: {log}"
    );
    assert!(
        !log.contains('\u{1}'),
        "control characters are escaped: {log:?}"
    );

    // Each sub-prefix lists its own keys, with or without foreign neighbours.
    assert_eq!(listed(&store, prefix("sub/")), ["sub/x"]);
    assert_eq!(listed(&store, prefix("d")), Vec::<String>::new());
    assert_eq!(
        listed(
            &store,
            ListOptions::default().start_after(key("a")).limit(1)
        ),
        ["sub/x"]
    );

    block_on(async {
        // The marker is no key: absent, and a delete of the key leaves it alone.
        let marker = key("dirmarker");
        assert!(store.get(&marker).await.unwrap().is_none());
        assert!(store.head(&marker).await.unwrap().is_none());
        // A key of the marker's name is a key like any other, listed once.
        store
            .put(&marker, "mine".into(), PutMode::Create)
            .await
            .unwrap();
    });
    assert_eq!(
        listed(&store, ListOptions::default()),
        ["a", "dirmarker", "sub/x"]
    );
    assert_eq!(listed(&store, prefix("dir")), ["dirmarker"]);
    block_on(async {
        let marker = key("dirmarker");
        assert_eq!(store.get(&marker).await.unwrap().unwrap().value, "mine");
        store.delete(&marker).await.unwrap();
        assert!(store.head(&marker).await.unwrap().is_none());
    });
    assert_eq!(listed(&store, ListOptions::default()), ["a", "sub/x"]);
}
