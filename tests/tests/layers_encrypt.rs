//! The encryption layer's promises: tampering (every byte, truncation, a swap, a copy)
//! fails with `Corrupted` naming the key, nonces are fresh, keys rotate, conditions are
//! the inner store's, and secrets never show.

mod layers_support;

use std::sync::Arc;

use layers_support::{
    KEY_A, KEY_B, assert_corrupted, compressed, encrypted, json_like, key, keyring_a, keyring_b,
    memory, put_raw, raw, rt,
};
use store_core::{ErrorKind, Prefix, PutMode, Store};
use store_layers::compress::Codec;
use store_layers::encrypt::{Encrypted, Keyring, OVERHEAD, reencrypt};

#[test]
fn tampered_ciphertext_is_corrupted_with_the_key() {
    rt().block_on(async {
        let inner = memory();
        let store = encrypted(inner.clone());
        let k = key("t/a");
        store
            .put(&k, json_like(300), PutMode::Overwrite)
            .await
            .unwrap();
        let good = raw(&inner, &k).await;
        assert_eq!(good.len(), 300 + OVERHEAD);
        // Every byte: format, key id, nonce, ciphertext, tag.
        for i in 0..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 0x01;
            put_raw(&inner, &k, bad).await;
            assert_corrupted(&store, &k).await;
        }
        for cut in [0, 1, OVERHEAD - 1, OVERHEAD, good.len() - 1] {
            put_raw(&inner, &k, good[..cut].to_vec()).await;
            assert_corrupted(&store, &k).await;
        }
        let mut longer = good.clone();
        longer.push(0);
        put_raw(&inner, &k, longer).await;
        assert_corrupted(&store, &k).await;
        put_raw(&inner, &k, good).await;
        assert_eq!(store.get(&k).await.unwrap().unwrap().value, json_like(300));
    });
}

#[test]
fn swapped_or_copied_values_are_corrupted_with_their_keys() {
    rt().block_on(async {
        let inner = memory();
        // Over compression too: the swap is caught whatever lies beneath.
        let stack: Arc<dyn Store> = Arc::new(compressed(inner.clone(), Codec::Zstd));
        let store = encrypted(stack.clone());
        let (a, b) = (key("sw/a"), key("sw/b"));
        store
            .put(&a, "alice's balance: 10".into(), PutMode::Overwrite)
            .await
            .unwrap();
        store
            .put(&b, "bob's balance: 1000000".into(), PutMode::Overwrite)
            .await
            .unwrap();
        let (va, vb) = (raw(&stack, &a).await, raw(&stack, &b).await);
        put_raw(&stack, &a, vb.clone()).await;
        put_raw(&stack, &b, va).await;
        assert_corrupted(&store, &a).await;
        assert_corrupted(&store, &b).await;
        // A copy under a new key fails too; the original still reads.
        let c = key("sw/c");
        put_raw(&stack, &c, vb).await;
        assert_corrupted(&store, &c).await;
        let many = store.get_many(std::slice::from_ref(&c)).await.unwrap_err();
        assert_eq!(
            (many.kind(), many.key()),
            (ErrorKind::Corrupted, Some("sw/c"))
        );
    });
}

#[test]
fn nonces_are_fresh_per_write() {
    rt().block_on(async {
        let inner = memory();
        let store = encrypted(inner.clone());
        let k = key("n");
        let mut seen = std::collections::HashSet::new();
        for _ in 0..50 {
            store
                .put(&k, "same".into(), PutMode::Overwrite)
                .await
                .unwrap();
            assert!(seen.insert(raw(&inner, &k).await), "a ciphertext repeated");
        }
    });
}

#[test]
fn keys_rotate_without_downtime_and_old_keys_can_then_go() {
    rt().block_on(async {
        let inner = memory();
        let old = Encrypted::new(inner.clone(), keyring_a());
        for i in 0..40 {
            old.put(
                &key(&format!("r/{i:02}")),
                json_like(100 + i),
                PutMode::Overwrite,
            )
            .await
            .unwrap();
        }
        let rotating = Encrypted::new(inner.clone(), keyring_b().with_old_key_text(KEY_A).unwrap());
        // Readable during the rotation, new writes go under the new key.
        assert_eq!(
            rotating.get(&key("r/00")).await.unwrap().unwrap().value,
            json_like(100)
        );
        rotating
            .put(&key("r/new"), "fresh".into(), PutMode::Overwrite)
            .await
            .unwrap();
        let report = reencrypt(&rotating, Prefix::new("r/").unwrap())
            .await
            .unwrap();
        assert_eq!(
            (
                report.scanned,
                report.rewritten,
                report.current,
                report.raced
            ),
            (41, 40, 1, 0)
        );
        let again = reencrypt(&rotating, Prefix::new("r/").unwrap())
            .await
            .unwrap();
        assert_eq!((again.rewritten, again.current), (0, 41));

        let new_only = Encrypted::new(inner.clone(), keyring_b());
        for i in 0..40 {
            let got = new_only
                .get(&key(&format!("r/{i:02}")))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(got.value, json_like(100 + i));
        }
        // The old keyring alone can no longer read anything.
        let err = old.get(&key("r/00")).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Corrupted, "{err}");
        assert!(
            err.to_string()
                .contains(&rotating.keyring().current_id().to_string())
        );
    });
}

#[test]
fn conditional_puts_and_versions_are_the_inner_store_s() {
    rt().block_on(async {
        let inner = memory();
        let store = encrypted(inner.clone());
        let k = key("cas");
        let first = store.put(&k, "1".into(), PutMode::Create).await.unwrap();
        assert_eq!(
            inner.head(&k).await.unwrap().unwrap().version,
            first.version
        );
        let err = store
            .put(&k, "x".into(), PutMode::Create)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AlreadyExists);
        let second = store
            .put(&k, "2".into(), PutMode::Update(first.version.clone()))
            .await
            .unwrap();
        let stale = store
            .put(&k, "3".into(), PutMode::Update(first.version))
            .await
            .unwrap_err();
        assert_eq!(stale.kind(), ErrorKind::VersionMismatch);
        assert_eq!(
            inner.head(&k).await.unwrap().unwrap().version,
            second.version
        );
        assert_eq!(store.get(&k).await.unwrap().unwrap().value, "2");
    });
}

#[test]
fn secrets_never_show_in_debug_or_errors() {
    rt().block_on(async {
        let keyring = keyring_a().with_old_key_text(KEY_B).unwrap();
        let store = Encrypted::new(memory(), keyring);
        let shown = format!("{store:?} {:?}", store.keyring());
        for secret in [KEY_A, KEY_B, &KEY_A[..16], &KEY_B[..16]] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(
            shown.contains(&store.keyring().current_id().to_string()),
            "{shown}"
        );
        // A key of the wrong length, or not a key at all: the error names neither.
        for bad in [&KEY_A[..62], "not-a-key-but-a-passphrase-of-some-length!!"] {
            let err = Keyring::from_text(bad).unwrap_err();
            let text = format!("{err} {err:?}");
            assert_eq!(err.kind(), ErrorKind::InvalidConfig);
            assert!(!text.contains(bad), "{text}");
        }
        let short = base64_of(&[7u8; 31]);
        let err = Keyring::from_text(&short).unwrap_err();
        assert!(err.to_string().contains("31 bytes"), "{err}");
        assert!(!err.to_string().contains(&short), "{err}");
    });
}

fn base64_of(bytes: &[u8]) -> String {
    // Hand-rolled so the test needs no base64 crate: standard alphabet with padding.
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn strata_migrate_re_encrypts_into_another_store() {
    rt().block_on(async {
        let (from_inner, to_inner) = (memory(), memory());
        let from: Arc<dyn Store> = Arc::new(Encrypted::new(from_inner, keyring_a()));
        let to: Arc<dyn Store> = Arc::new(Encrypted::new(to_inner.clone(), keyring_b()));
        for i in 0..20 {
            from.put(
                &key(&format!("m/{i}")),
                json_like(50 + i),
                PutMode::Overwrite,
            )
            .await
            .unwrap();
        }
        let options = strata::migrate::MigrateOptions {
            verify: true,
            ..Default::default()
        };
        let report = strata::migrate::migrate(from, to, &options, &|_, _| {})
            .await
            .unwrap();
        assert_eq!(report.copied, 20, "{report:?}");
        let only_b = Encrypted::new(to_inner.clone(), keyring_b());
        assert_eq!(
            only_b.get(&key("m/3")).await.unwrap().unwrap().value,
            json_like(53)
        );
        let only_a = Encrypted::new(to_inner, keyring_a());
        assert_eq!(
            only_a.get(&key("m/3")).await.unwrap_err().kind(),
            ErrorKind::Corrupted
        );
    });
}
