//! What the value layers of `store-layers` cost and save, in paired rounds
//! (`strata_tests::bench`):
//! 1. compressed vs raw size of 4 KiB JSON-like and incompressible values (zstd-3, LZ4);
//! 2. put and get throughput of those values through each codec over a `MemoryStore`
//!    (the codec's CPU cost alone), against the bare store;
//! 3. encrypted put/get over redb against plain redb, 4 KiB values, durability `none`
//!    (no fsync, so the cipher's cost is not hidden behind the disk; target ≥ 0.9×);
//!    and the gets again with redb's value cache off (both sides reading pages), with two
//!    controls: the sealed values read without opening, and plain gets each followed by
//!    the same cipher work outside any layer;
//! 4. the cipher alone (seal and open of 1 MiB values) on one core, in GB/s.
//!
//! `cargo bench -p strata-tests --bench layers` (`STRATA_BENCH_ROUNDS=3` for a short run).

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use store_layers::compress::{Codec, Compressed};
use store_layers::encrypt::{Encrypted, Keyring, envelope};
use store_lmdb::{RedbConfig, RedbDurability, RedbStore};
use store_memory::MemoryStore;
use strata::{Key, PutMode, Store};
use strata_tests::bench::Bench;

/// Values per put/get round.
const VALUES: usize = 2_000;
const SIZE: usize = 4096;
/// Bytes sealed and opened per cipher round.
const CIPHER_BYTES: usize = 256 << 20;
const CIPHER_VALUE: usize = 1 << 20;

fn json_like(seed: usize) -> Bytes {
    let mut out = String::with_capacity(SIZE + 128);
    let mut i = seed as u64 * 1000;
    while out.len() < SIZE {
        out.push_str(&format!(
            "{{\"id\":{i},\"name\":\"user-{i}\",\"email\":\"user{i}@example.com\",\"active\":{},\"score\":{}}},",
            i.is_multiple_of(3),
            (i * 7919) % 1000
        ));
        i += 1;
    }
    out.truncate(SIZE);
    Bytes::from(out)
}

fn noise() -> Bytes {
    let mut out = vec![0u8; SIZE];
    rand::Rng::fill(&mut rand::rng(), &mut out[..]);
    Bytes::from(out)
}

fn keys() -> Vec<Key> {
    (0..VALUES)
        .map(|i| Key::new(format!("bench/{i:06}")).unwrap())
        .collect()
}

async fn puts(store: &dyn Store, keys: &[Key], values: &[Bytes]) -> u64 {
    for (key, value) in keys.iter().zip(values.iter().cycle()) {
        black_box(
            store
                .put(key, value.clone(), PutMode::Overwrite)
                .await
                .unwrap(),
        );
    }
    keys.len() as u64
}

async fn gets(store: &dyn Store, keys: &[Key]) -> u64 {
    for key in keys {
        black_box(store.get(key).await.unwrap().unwrap());
    }
    keys.len() as u64
}

fn keyring() -> Keyring {
    Keyring::new(&[0x42; 32])
}

async fn sizes() {
    println!("1. stored size of {SIZE}-byte values (stored / logical)");
    let json: Vec<Bytes> = (0..50).map(json_like).collect();
    let random: Vec<Bytes> = (0..50).map(|_| noise()).collect();
    for (name, codec) in [("zstd-3", Codec::Zstd), ("lz4", Codec::Lz4)] {
        let inner: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let store = Compressed::new(inner, codec);
        for (kind, values) in [("JSON-like", &json), ("incompressible", &random)] {
            let (mut stored, mut logical) = (0u64, 0u64);
            for (i, value) in values.iter().enumerate() {
                let key = Key::new(format!("size/{kind}/{i}")).unwrap();
                store
                    .put(&key, value.clone(), PutMode::Overwrite)
                    .await
                    .unwrap();
                let sizes = store.sizes(&key).await.unwrap().unwrap();
                stored += sizes.stored_size;
                logical += sizes.meta.size;
            }
            println!(
                "   {name:7} {kind:15} {:6.1} bytes stored per {SIZE} ({:.3}×)",
                stored as f64 / values.len() as f64,
                stored as f64 / logical as f64
            );
        }
    }
    println!();
}

async fn codec_throughput() {
    let keys = keys();
    for (kind, values) in [
        ("JSON-like", (0..50).map(json_like).collect::<Vec<_>>()),
        ("incompressible", (0..50).map(|_| noise()).collect()),
    ] {
        let bare: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let zstd = Compressed::new(Arc::new(MemoryStore::new()), Codec::Zstd);
        let lz4 = Compressed::new(Arc::new(MemoryStore::new()), Codec::Lz4);
        let (keys, values) = (&keys, &values);
        let (bare, zstd, lz4) = (&*bare, &zstd, &lz4);
        let report = Bench::new(format!("2. put of {SIZE}-byte {kind} values, ops/s"))
            .system("memory", || puts(bare, keys, values))
            .system("zstd-3 over memory", || puts(zstd, keys, values))
            .system("lz4 over memory", || puts(lz4, keys, values))
            .run()
            .await;
        report.print();
        let report = Bench::new(format!("2. get of {SIZE}-byte {kind} values, ops/s"))
            .system("memory", || gets(bare, keys))
            .system("zstd-3 over memory", || gets(zstd, keys))
            .system("lz4 over memory", || gets(lz4, keys))
            .run()
            .await;
        report.print();
    }
}

async fn encrypted_redb() {
    let dir = tempfile::tempdir().unwrap();
    let open = |name: &str| {
        RedbStore::open(RedbConfig::new(dir.path().join(name)).durability(RedbDurability::None))
    };
    let plain: Arc<dyn Store> = Arc::new(open("plain.redb").await.unwrap());
    let sealed = Encrypted::new(Arc::new(open("sealed.redb").await.unwrap()), keyring());
    let keys = keys();
    let values: Vec<Bytes> = (0..50).map(|_| noise()).collect();
    let (plain, sealed, keys, values) = (&*plain, &sealed, &keys, &values);
    let report = Bench::new(format!("3. put of {SIZE}-byte values over redb, ops/s"))
        .system("redb", || puts(plain, keys, values))
        .system("encrypt over redb", || puts(sealed, keys, values))
        .run()
        .await;
    report.print();
    println!(
        "   encrypted / plain put: {}",
        report.ratio("encrypt over redb", "redb")
    );
    let report = Bench::new(format!("3. get of {SIZE}-byte values over redb, ops/s"))
        .system("redb", || gets(plain, keys))
        .system("encrypt over redb", || gets(sealed, keys))
        .run()
        .await;
    report.print();
    println!(
        "   encrypted / plain get: {}\n",
        report.ratio("encrypt over redb", "redb")
    );
}

/// Section 3 again for gets with redb's value cache off, so both sides read redb's pages.
async fn encrypted_redb_uncached() {
    let dir = tempfile::tempdir().unwrap();
    let open = |name: &str| {
        let config = RedbConfig::new(dir.path().join(name))
            .durability(RedbDurability::None)
            .value_cache_size(0);
        RedbStore::open(config)
    };
    let plain: Arc<dyn Store> = Arc::new(open("plain.redb").await.unwrap());
    let sealed = Encrypted::new(Arc::new(open("sealed.redb").await.unwrap()), keyring());
    let keys = keys();
    let values: Vec<Bytes> = (0..50).map(|_| noise()).collect();
    puts(&*plain, &keys, &values).await;
    puts(&sealed, &keys, &values).await;
    // Controls that split the gap: the sealed (larger) values read without opening them,
    // and plain gets each followed by the same cipher work with no layer in between.
    let (ring, envelope) = (
        keyring(),
        envelope::seal(&keyring(), &keys[0], &values[0]).unwrap(),
    );
    let sealed_inner = sealed.inner_store().clone();
    let (plain, sealed, sealed_inner, keys) = (&*plain, &sealed, &*sealed_inner, &keys);
    let (ring, envelope) = (&ring, &envelope);
    let report = Bench::new(format!(
        "3. get of {SIZE}-byte values over redb without its value cache, ops/s"
    ))
    .system("redb", || gets(plain, keys))
    .system("encrypt over redb", || gets(sealed, keys))
    .system("redb holding sealed values, not opened", || {
        gets(sealed_inner, keys)
    })
    .system("redb, then open a sealed value", || async move {
        for key in keys {
            black_box(plain.get(key).await.unwrap().unwrap());
            black_box(envelope::open(ring, &keys[0], envelope).unwrap());
        }
        keys.len() as u64
    })
    .run()
    .await;
    report.print();
    println!(
        "   encrypted / plain get, uncached: {}\n",
        report.ratio("encrypt over redb", "redb")
    );
}

fn cipher() {
    let keyring = keyring();
    let key = Key::new("cipher/bench").unwrap();
    let value = vec![0x5au8; CIPHER_VALUE];
    let rounds = strata_tests::bench::rounds();
    let (mut seal_rates, mut open_rates) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let start = Instant::now();
        let mut sealed = Bytes::new();
        for _ in 0..CIPHER_BYTES / CIPHER_VALUE {
            sealed = black_box(envelope::seal(&keyring, &key, &value).unwrap());
        }
        seal_rates.push(CIPHER_BYTES as f64 / start.elapsed().as_secs_f64() / 1e9);
        let start = Instant::now();
        for _ in 0..CIPHER_BYTES / CIPHER_VALUE {
            black_box(envelope::open(&keyring, &key, &sealed).unwrap());
        }
        open_rates.push(CIPHER_BYTES as f64 / start.elapsed().as_secs_f64() / 1e9);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!(
        "4. AES-256-GCM-SIV on one core, 1 MiB values: seal {:.2} GB/s, open {:.2} GB/s (median of {rounds})",
        median(&mut seal_rates),
        median(&mut open_rates)
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        sizes().await;
        codec_throughput().await;
        encrypted_redb().await;
        encrypted_redb_uncached().await;
    });
    cipher();
}
