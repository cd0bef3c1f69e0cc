//! vector-index against hnswlib on the same Fashion-MNIST subset, in the same run.
//!
//! `cargo bench -p strata-tests --bench vector`
//!
//! Needs the Debian package `dataset-fashion-mnist` and a Python venv with hnswlib at
//! `.bench-venv` in the workspace root (`python3 -m venv .bench-venv &&
//! .bench-venv/bin/pip install hnswlib numpy`; `STRATA_BENCH_PYTHON` overrides the path).
//! Size: `STRATA_VECTOR_BENCH_BASE` base vectors (default 20,000 of the 60,000) and
//! `STRATA_VECTOR_BENCH_QUERIES` queries (default 1,000 of the 10,000 test images), so the
//! whole run stays within a few minutes on 2 cores.
//!
//! Single-thread QPS is measured in CPU time of the searching thread (both sides), so
//! other processes on a shared machine distort it less; 2-thread QPS is wall-clock. Each
//! figure is the best of five runs.
//!
//! Prints build time, memory, recall@10 and QPS per `ef` on 1 and 2 threads for both,
//! the ratio of our QPS to hnswlib's at recall@10 = 0.95 (interpolated along both curves),
//! reopen time against build time, and the store reads made by the open and by queries.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use store_core::Store;
use store_memory::MemoryStore;
use strata::stats::{Op, StatsStore};
use strata_tests::vectors::{self, Truth, Vectors};
use vector_index::{IndexConfig, Metadata, Metric, VectorIndex};

const K: usize = 10;
const M: usize = 16;
const EF_CONSTRUCTION: usize = 200;
const EFS: [usize; 6] = [10, 20, 40, 80, 160, 320];
const TARGET_RECALL: f64 = 0.95;
/// Each QPS figure is the best of this many runs (the machine is shared and noisy).
const REPEATS: usize = 5;

/// One point of a recall/QPS curve.
#[derive(Clone, Copy, Debug)]
struct Point {
    ef: usize,
    recall: f64,
    qps1: f64,
    qps2: f64,
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A process's resident-set figures from /proc (MiB), `None` off Linux.
fn proc_status_mib(field: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn write_f32(path: &PathBuf, v: &Vectors) {
    let bytes: Vec<u8> = v.data.iter().flat_map(|x| x.to_le_bytes()).collect();
    std::fs::write(path, bytes).expect("writing benchmark vectors");
}

/// QPS at `target` recall, interpolated linearly between the two points that bracket it
/// (`None` if the curve never reaches it).
fn qps_at(curve: &[Point], target: f64, threads: usize) -> Option<f64> {
    let qps = |p: &Point| if threads == 1 { p.qps1 } else { p.qps2 };
    let mut pts: Vec<Point> = curve.to_vec();
    pts.sort_by(|a, b| a.recall.total_cmp(&b.recall));
    if pts.first()?.recall >= target {
        return Some(qps(&pts[0]));
    }
    pts.windows(2).find_map(|w| {
        let (a, b) = (w[0], w[1]);
        (a.recall < target && b.recall >= target).then(|| {
            let t = (target - a.recall) / (b.recall - a.recall).max(1e-12);
            qps(&a) + t * (qps(&b) - qps(&a))
        })
    })
}

/// CPU time of the calling thread (Linux; `None` elsewhere), immune to the time slicing
/// of a shared machine.
fn thread_cpu() -> Option<Duration> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    Some(Duration::from_nanos(
        s.split_whitespace().next()?.parse().ok()?,
    ))
}

/// CPU time of the whole process, all threads (Linux; `None` elsewhere).
fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on every Linux configuration that matters here.
    Some(Duration::from_millis(ticks * 10))
}

/// Best of `REPEATS` runs of every query: (ids, QPS on 1 thread by thread CPU time, QPS on
/// 2 threads by wall-clock time).
fn measure(index: &VectorIndex, queries: &Vectors, ef: usize) -> (Vec<Vec<u64>>, f64, f64) {
    let (mut best1, mut best2, mut ids) = (0f64, 0f64, Vec::new());
    for _ in 0..REPEATS {
        let cpu = thread_cpu();
        let (found, wall_qps) = run_queries(index, queries, ef, 1);
        let qps = match (cpu, thread_cpu()) {
            (Some(a), Some(b)) if b > a => queries.len() as f64 / (b - a).as_secs_f64(),
            _ => wall_qps,
        };
        best1 = best1.max(qps);
        ids = found;
        best2 = best2.max(run_queries(index, queries, ef, 2).1);
    }
    (ids, best1, best2)
}

/// Search every query on `threads` threads; returns (ids per query, queries per second).
fn run_queries(
    index: &VectorIndex,
    queries: &Vectors,
    ef: usize,
    threads: usize,
) -> (Vec<Vec<u64>>, f64) {
    let per = queries.len().div_ceil(threads);
    let start = Instant::now();
    let search_all = |range: std::ops::Range<usize>| {
        range
            .map(|q| {
                index
                    .search(queries.row(q), K, Some(ef), None)
                    .expect("search")
                    .into_iter()
                    .map(|h| h.id)
                    .collect::<Vec<u64>>()
            })
            .collect::<Vec<_>>()
    };
    if threads == 1 {
        // On the calling thread, so its CPU time can be read.
        let found = search_all(0..queries.len());
        return (found, queries.len() as f64 / start.elapsed().as_secs_f64());
    }
    let found: Vec<Vec<u64>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let search_all = &search_all;
                s.spawn(move || search_all(t * per..((t + 1) * per).min(queries.len())))
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("search thread"))
            .collect()
    });
    (found, queries.len() as f64 / start.elapsed().as_secs_f64())
}

struct Hnswlib {
    build_s: f64,
    build2_wall_s: f64,
    peak_rss_mib: f64,
    curve: Vec<Point>,
}

fn run_hnswlib(base: &Vectors, queries: &Vectors, truth: &[Vec<usize>]) -> Hnswlib {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let python = std::env::var_os("STRATA_BENCH_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".bench-venv/bin/python"));
    let script = root.join("tests/benches/vector_hnswlib.py");
    let dir = tempfile::tempdir().expect("tempdir");
    let (bp, qp) = (dir.path().join("base.f32"), dir.path().join("queries.f32"));
    write_f32(&bp, base);
    write_f32(&qp, queries);
    let efs: Vec<String> = EFS.iter().map(|e| e.to_string()).collect();
    let out = Command::new(&python)
        .arg(&script)
        .arg(&bp)
        .arg(&qp)
        .args([base.dim, M, EF_CONSTRUCTION, K].map(|x| x.to_string()))
        .arg(efs.join(","))
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {} ({e}); create the venv: python3 -m venv .bench-venv && \
                 .bench-venv/bin/pip install hnswlib numpy",
                python.display()
            )
        });
    assert!(
        out.status.success(),
        "hnswlib script failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("hnswlib JSON");
    let curve = json["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .map(|r| {
            let ids: Vec<Vec<u64>> = serde_json::from_value(r["ids"].clone()).expect("ids");
            Point {
                ef: r["ef"].as_u64().expect("ef") as usize,
                recall: vectors::recall(&ids, truth, K),
                qps1: r["qps1"].as_f64().expect("qps1"),
                qps2: r["qps2"].as_f64().expect("qps2"),
            }
        })
        .collect();
    Hnswlib {
        build_s: json["build_s"].as_f64().expect("build_s"),
        build2_wall_s: json["build2_wall_s"].as_f64().expect("build2_wall_s"),
        peak_rss_mib: json["peak_rss_mib"].as_f64().expect("peak_rss_mib"),
        curve,
    }
}

fn main() {
    let n = env_usize("STRATA_VECTOR_BENCH_BASE", 20_000);
    let nq = env_usize("STRATA_VECTOR_BENCH_QUERIES", 1_000);
    let (train, test) = vectors::fashion_mnist();
    let (base, queries) = (train.take(n), test.take(nq));
    println!(
        "vector-index vs hnswlib: Fashion-MNIST {} base x {} queries, dim {}, L2, M={M}, \
         ef_construction={EF_CONSTRUCTION}, k={K}",
        base.len(),
        queries.len(),
        base.dim
    );
    let t = Instant::now();
    let truth = vectors::ground_truth(&base, &queries, K, Truth::L2, &|_| true);
    println!(
        "ground truth (brute force): {:.1}s",
        t.elapsed().as_secs_f64()
    );

    // hnswlib first, alone, so the two never compete for the 2 cores.
    let theirs = run_hnswlib(&base, &queries, &truth);

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let stats = StatsStore::new(Arc::new(MemoryStore::new()));
    let counters = stats.stats();
    let store: Arc<dyn Store> = Arc::new(stats);
    let rss_before = proc_status_mib("VmRSS:").unwrap_or(0.0);
    let config = IndexConfig::new(base.dim, Metric::L2)
        .m(M)
        .ef_construction(EF_CONSTRUCTION);
    let index = rt
        .block_on(VectorIndex::create(store.clone(), "bench", config))
        .expect("create");
    let (t, cpu) = (Instant::now(), thread_cpu());
    for i in 0..base.len() {
        index
            .insert(i as u64, base.row(i), Metadata::new())
            .expect("insert");
    }
    let build_wall_s = t.elapsed().as_secs_f64();
    // CPU time of this thread, like hnswlib's side, so other processes distort it less.
    let build_s = match (cpu, thread_cpu()) {
        (Some(a), Some(b)) if b > a => (b - a).as_secs_f64(),
        _ => build_wall_s,
    };
    let index_mib = proc_status_mib("VmRSS:").unwrap_or(0.0) - rss_before;
    let t = Instant::now();
    let flushed = rt.block_on(index.flush()).expect("flush");
    let flush_s = t.elapsed().as_secs_f64();

    let mut ours = Vec::new();
    for ef in EFS {
        let (ids, qps1, qps2) = measure(&index, &queries, ef);
        ours.push(Point {
            ef,
            recall: vectors::recall(&ids, &truth, K),
            qps1,
            qps2,
        });
    }

    // The same build with `upsert_many` on every core (2 here), wall-clock.
    let batch = rt
        .block_on(VectorIndex::create(
            Arc::new(MemoryStore::new()),
            "batch",
            IndexConfig::new(base.dim, Metric::L2)
                .m(M)
                .ef_construction(EF_CONSTRUCTION),
        ))
        .expect("create");
    let (t, cpu) = (Instant::now(), process_cpu());
    batch
        .upsert_many((0..base.len()).map(|i| (i as u64, base.row(i), Metadata::new())))
        .expect("upsert_many");
    let build2_wall_s = t.elapsed().as_secs_f64();
    let build2_cpu_s = match (cpu, process_cpu()) {
        (Some(a), Some(b)) => (b - a).as_secs_f64(),
        _ => f64::NAN,
    };
    let batch_recall = vectors::recall(&run_queries(&batch, &queries, 10, 1).0, &truth, K);
    drop(batch);

    // Reopen through a fresh handle; count the store reads it makes and the reads made
    // by 200 queries afterwards.
    let before = counters.snapshot();
    let t = Instant::now();
    let reopened = rt
        .block_on(VectorIndex::open(store.clone(), "bench"))
        .expect("open");
    let reopen_s = t.elapsed().as_secs_f64();
    let opened = counters.snapshot();
    for q in 0..200.min(queries.len()) {
        reopened
            .search(queries.row(q), K, Some(64), None)
            .expect("search");
    }
    let queried = counters.snapshot();
    let reads = |a: &strata::stats::StatsSnapshot, b: &strata::stats::StatsSnapshot| {
        [Op::Get, Op::GetMany, Op::Head, Op::List]
            .iter()
            .map(|&op| b.op(op).requests - a.op(op).requests)
            .sum::<u64>()
    };

    println!();
    println!(
        "build (1 thread, CPU time): ours {build_s:.2}s ({build_wall_s:.2}s wall), hnswlib \
         {:.2}s, ratio {:.2}x",
        theirs.build_s,
        build_s / theirs.build_s
    );
    println!(
        "build (2 threads, wall clock): ours (upsert_many) {build2_wall_s:.2}s, hnswlib {:.2}s, \
         ratio {:.2}x; ours used {build2_cpu_s:.2} CPU s in all; recall@10 at ef=10 of our \
         batch-built index {batch_recall:.4}",
        theirs.build2_wall_s,
        build2_wall_s / theirs.build2_wall_s
    );
    println!(
        "memory: our index ~{index_mib:.0} MiB (RSS growth while building); peak RSS ours {:.0} \
         MiB (whole bench process incl. dataset and ground truth), hnswlib process {:.0} MiB",
        proc_status_mib("VmHWM:").unwrap_or(0.0),
        theirs.peak_rss_mib
    );
    println!(
        "flush: {} pages, {:.1} MiB in {flush_s:.2}s; reopen {reopen_s:.3}s = {:.3}x build wall \
         time; open made {} store reads, 200 queries after it made {}",
        flushed.pages_written,
        flushed.bytes_written as f64 / (1 << 20) as f64,
        reopen_s / build_wall_s,
        reads(&before, &opened),
        reads(&opened, &queried),
    );
    println!();
    println!(
        "{:>5} | {:>9} {:>9} {:>9} | {:>9} {:>9} {:>9}",
        "ef", "recall", "QPS 1t", "QPS 2t", "hnswlib", "QPS 1t", "QPS 2t"
    );
    println!(
        "(1t: queries per CPU-second of the searching thread; 2t: per wall-clock second; best of {REPEATS})"
    );
    for (a, b) in ours.iter().zip(&theirs.curve) {
        assert_eq!(a.ef, b.ef);
        println!(
            "{:>5} | {:>9.4} {:>9.0} {:>9.0} | {:>9.4} {:>9.0} {:>9.0}",
            a.ef, a.recall, a.qps1, a.qps2, b.recall, b.qps1, b.qps2
        );
    }
    println!();
    for threads in [1, 2] {
        match (
            qps_at(&ours, TARGET_RECALL, threads),
            qps_at(&theirs.curve, TARGET_RECALL, threads),
        ) {
            (Some(a), Some(b)) => println!(
                "QPS at recall@10 = {TARGET_RECALL}, {threads} thread(s): ours {a:.0}, hnswlib \
                 {b:.0}, ratio {:.2}x",
                a / b
            ),
            (a, b) => println!(
                "recall@10 = {TARGET_RECALL} not reached, {threads} thread(s): ours {a:?}, \
                 hnswlib {b:?}"
            ),
        }
    }
}
