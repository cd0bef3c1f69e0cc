//! vector-index against hnswlib on the same Fashion-MNIST subset, in the same run, in
//! paired rounds (`strata_tests::bench`): each round builds (or searches) once on each
//! side, alternating which goes first, and a comparison is the median of the per-round
//! ratios, with their range. hnswlib runs in a Python process of its own that waits for
//! commands between its rounds, so the two never compete for the 2 cores.
//!
//! `cargo bench -p strata-tests --bench vector`
//!
//! Needs a Python venv with hnswlib at `.bench-venv` in the workspace root
//! (`python3 -m venv .bench-venv && .bench-venv/bin/pip install hnswlib numpy`;
//! `STRATA_BENCH_PYTHON` overrides the path), and the Debian package
//! `dataset-fashion-mnist`; without it (or with `STRATA_VECTOR_BENCH_DATA=synthetic`) the
//! same measures run on a clustered synthetic set, which the output says.
//! Size: `STRATA_VECTOR_BENCH_BASE` base vectors (default 20,000 of the 60,000) and
//! `STRATA_VECTOR_BENCH_QUERIES` queries (default 1,000 of the 10,000 test images).
//!
//! One-thread build time and QPS are measured in CPU time of the working thread (both
//! sides), so other processes on a shared machine distort them less; 2-thread figures are
//! wall-clock.
//!
//! Prints build rate on 1 and 2 threads, memory, recall@10 and QPS per `ef` on 1 and 2
//! threads for both, the ratio of our QPS to hnswlib's at recall@10 = 0.95 (interpolated
//! along both curves, round by round), reopen time against build time, and the store
//! reads made by the open and by queries.

use std::cell::{Cell, RefCell};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustix::time::{ClockId, clock_gettime};
use store_core::Store;
use store_memory::MemoryStore;
use strata::stats::{Op, Stats, StatsSnapshot, StatsStore};
use strata_tests::bench::{Bench, Paired, Report, Summary, si};
use strata_tests::vectors::{self, FASHION_MNIST_DIR, Truth, Vectors};
use vector_index::{IndexConfig, Metadata, Metric, VectorIndex};

const K: usize = 10;
const M: usize = 16;
const EF_CONSTRUCTION: usize = 200;
const EFS: [usize; 6] = [10, 20, 40, 80, 160, 320];
const TARGET_RECALL: f64 = 0.95;
const OURS: &str = "vector-index";
const PEER: &str = "hnswlib";

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

fn write_f32(path: &Path, v: &Vectors) {
    let bytes: Vec<u8> = v.data.iter().flat_map(|x| x.to_le_bytes()).collect();
    std::fs::write(path, bytes).expect("writing benchmark vectors");
}

/// CPU time of the calling thread: immune to the time slicing of a shared machine, and
/// exact (the clock Python's `time.thread_time` reads on the hnswlib side;
/// `/proc/thread-self/schedstat`, used before, advances only at scheduler ticks and read
/// 1.4 ms of work as 0.02 ms).
fn thread_cpu() -> Duration {
    cpu_clock(ClockId::ThreadCPUTime)
}

/// CPU time of the whole process, all threads.
fn process_cpu() -> Duration {
    cpu_clock(ClockId::ProcessCPUTime)
}

fn cpu_clock(id: ClockId) -> Duration {
    let t = clock_gettime(id);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// The base and query vectors, and what they are.
fn dataset(n: usize, nq: usize) -> (String, Vectors, Vectors) {
    let synthetic = std::env::var("STRATA_VECTOR_BENCH_DATA").as_deref() == Ok("synthetic");
    let present = Path::new(FASHION_MNIST_DIR)
        .join("train-images-idx3-ubyte.gz")
        .exists();
    if present && !synthetic {
        let (train, test) = vectors::fashion_mnist();
        return ("Fashion-MNIST".into(), train.take(n), test.take(nq));
    }
    if !synthetic {
        println!(
            "{FASHION_MNIST_DIR} is missing (Debian package dataset-fashion-mnist): \
             measuring on the synthetic set instead"
        );
    }
    // Clustered like real embeddings; queries from the same distribution, not in the base.
    let dim = 128;
    let all = vectors::clustered(n + nq, dim, 40, 0.35, 7);
    let queries = Vectors {
        dim,
        data: all.data[n * dim..].to_vec(),
    };
    (
        "synthetic clustered (40 clusters)".into(),
        all.take(n),
        queries,
    )
}

/// QPS at `target` recall along a curve of (recall, QPS) points, interpolated linearly
/// between the two that bracket it (`None` if the curve never reaches it).
fn qps_at(curve: &[(f64, f64)], target: f64) -> Option<f64> {
    let mut pts = curve.to_vec();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    if pts.first()?.0 >= target {
        return Some(pts[0].1);
    }
    pts.windows(2).find_map(|w| {
        let (a, b) = (w[0], w[1]);
        (a.0 < target && b.0 >= target).then(|| {
            let t = (target - a.0) / (b.0 - a.0).max(1e-12);
            a.1 + t * (b.1 - a.1)
        })
    })
}

/// Search every query on `threads` threads; returns the ids found per query.
fn run_queries(index: &VectorIndex, queries: &Vectors, ef: usize, threads: usize) -> Vec<Vec<u64>> {
    let per = queries.len().div_ceil(threads);
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
        return search_all(0..queries.len());
    }
    std::thread::scope(|s| {
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
    })
}

/// One search round: the queries done and the time they took (1 thread: CPU time of the
/// searching thread; more: wall clock).
fn search_round(
    index: &VectorIndex,
    queries: &Vectors,
    ef: usize,
    threads: usize,
) -> (u64, Duration) {
    let (wall, cpu) = (Instant::now(), thread_cpu());
    std::hint::black_box(run_queries(index, queries, ef, threads));
    let took = if threads == 1 {
        thread_cpu() - cpu
    } else {
        wall.elapsed()
    };
    (queries.len() as u64, took)
}

/// The hnswlib process (`vector_hnswlib.py`), answering one command at a time.
struct Hnswlib {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    _files: tempfile::TempDir,
}

impl Hnswlib {
    fn start(base: &Vectors, queries: &Vectors) -> Self {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        let python = std::env::var_os("STRATA_BENCH_PYTHON")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join(".bench-venv/bin/python"));
        let script = root.join("tests/benches/vector_hnswlib.py");
        let files = tempfile::tempdir().expect("tempdir");
        let (bp, qp) = (
            files.path().join("base.f32"),
            files.path().join("queries.f32"),
        );
        write_f32(&bp, base);
        write_f32(&qp, queries);
        let mut child = Command::new(&python)
            .arg(&script)
            .arg(&bp)
            .arg(&qp)
            .args([base.dim, M, EF_CONSTRUCTION, K].map(|x| x.to_string()))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run {} ({e}); create the venv: python3 -m venv .bench-venv && \
                     .bench-venv/bin/pip install hnswlib numpy",
                    python.display()
                )
            });
        let (stdin, stdout) = (child.stdin.take(), child.stdout.take().expect("stdout"));
        Hnswlib {
            child,
            stdin,
            stdout: BufReader::new(stdout),
            _files: files,
        }
    }

    fn call(&mut self, command: &str) -> serde_json::Value {
        let stdin = self.stdin.as_mut().expect("hnswlib stdin");
        writeln!(stdin, "{command}").expect("hnswlib: sending a command");
        stdin.flush().expect("hnswlib: sending a command");
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("hnswlib: reading");
        assert!(
            !line.is_empty(),
            "hnswlib script exited on `{command}` (its error is above)"
        );
        serde_json::from_str(&line).expect("hnswlib JSON")
    }

    fn secs(reply: &serde_json::Value) -> Duration {
        Duration::from_secs_f64(reply["secs"].as_f64().expect("secs"))
    }

    /// Build on `threads` threads; the time it took by hnswlib's clock.
    fn build(&mut self, threads: usize) -> Duration {
        Self::secs(&self.call(&format!("build {threads}")))
    }

    /// Search every query: the time it took by hnswlib's clock.
    fn search(&mut self, ef: usize, threads: usize) -> Duration {
        Self::secs(&self.call(&format!("query {ef} {threads} 0")))
    }

    /// The ids found per query at `ef`.
    fn ids(&mut self, ef: usize) -> Vec<Vec<u64>> {
        let reply = self.call(&format!("query {ef} 1 1"));
        serde_json::from_value(reply["ids"].clone()).expect("ids")
    }

    fn peak_rss_mib(&mut self) -> f64 {
        self.call("rss")["peak_rss_mib"]
            .as_f64()
            .expect("peak_rss_mib")
    }
}

impl Drop for Hnswlib {
    fn drop(&mut self) {
        // End of input ends the script.
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

/// Our one-thread build kept for the measures after it.
struct Built {
    index: VectorIndex,
    store: Arc<dyn Store>,
    counters: Arc<Stats>,
    wall: Duration,
}

fn config(dim: usize) -> IndexConfig {
    IndexConfig::new(dim, Metric::L2)
        .m(M)
        .ef_construction(EF_CONSTRUCTION)
}

/// Median seconds per round of `name` doing `ops` operations per round.
fn median_secs(report: &Report, name: &str, ops: usize) -> f64 {
    ops as f64 / Summary::of(report.rates(name)).median
}

fn main() {
    let n = env_usize("STRATA_VECTOR_BENCH_BASE", 20_000);
    let nq = env_usize("STRATA_VECTOR_BENCH_QUERIES", 1_000);
    let (data, base, queries) = dataset(n, nq);
    println!(
        "vector-index vs hnswlib: {data} {} base x {} queries, dim {}, L2, M={M}, \
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
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(run(&base, &queries, &truth));
}

async fn run(base: &Vectors, queries: &Vectors, truth: &[Vec<usize>]) {
    let (n, nq) = (base.len(), queries.len());
    let peer = RefCell::new(Hnswlib::start(base, queries));
    let peer = &peer;

    // Build on one thread: a fresh index each round (the last one is kept), inserted one
    // vector at a time on this thread.
    let built: RefCell<Option<Built>> = RefCell::new(None);
    let index_mib = Cell::new(None::<f64>);
    let build1 = Bench::new("build, 1 thread (CPU time of the building thread; vectors/s)")
        .timed(PEER, || async { (n as u64, peer.borrow_mut().build(1)) })
        .timed(OURS, || async {
            // Free the last round's index first, so only one is held.
            drop(built.take());
            let stats = StatsStore::new(Arc::new(MemoryStore::new()));
            let counters = stats.stats();
            let store: Arc<dyn Store> = Arc::new(stats);
            let rss_before = proc_status_mib("VmRSS:").unwrap_or(0.0);
            let index = VectorIndex::create(store.clone(), "bench", config(base.dim))
                .await
                .expect("create");
            let (wall, cpu) = (Instant::now(), thread_cpu());
            for i in 0..n {
                index
                    .insert(i as u64, base.row(i), Metadata::new())
                    .expect("insert");
            }
            let (took, wall) = (thread_cpu() - cpu, wall.elapsed());
            if index_mib.get().is_none() {
                // The first build's growth: later ones reuse memory the allocator kept.
                index_mib.set(Some(proc_status_mib("VmRSS:").unwrap_or(0.0) - rss_before));
            }
            built.replace(Some(Built {
                index,
                store,
                counters,
                wall,
            }));
            (n as u64, took)
        })
        .run()
        .await;
    print!("{build1}");
    println!(
        "   median build time: ours {:.2}s, hnswlib {:.2}s\n",
        median_secs(&build1, OURS, n),
        median_secs(&build1, PEER, n)
    );
    let built = built.into_inner().expect("built");
    let index = &built.index;
    let t = Instant::now();
    let flushed = index.flush().await.expect("flush");
    let flush_s = t.elapsed().as_secs_f64();

    // The same build with `upsert_many` on every core (2 here), wall-clock.
    let (batch_cpu_s, batch_recall) = (Cell::new(f64::NAN), Cell::new(f64::NAN));
    let build2 = Bench::new("build, 2 threads (wall clock; ours: upsert_many; vectors/s)")
        .timed(PEER, || async { (n as u64, peer.borrow_mut().build(2)) })
        .timed(OURS, || async {
            let batch =
                VectorIndex::create(Arc::new(MemoryStore::new()), "batch", config(base.dim))
                    .await
                    .expect("create");
            let (t, cpu) = (Instant::now(), process_cpu());
            batch
                .upsert_many((0..n).map(|i| (i as u64, base.row(i), Metadata::new())), 0)
                .expect("upsert_many");
            let took = t.elapsed();
            batch_cpu_s.set((process_cpu() - cpu).as_secs_f64());
            batch_recall.set(vectors::recall(
                &run_queries(&batch, queries, 10, 1),
                truth,
                K,
            ));
            (n as u64, took)
        })
        .run()
        .await;
    print!("{build2}");
    println!(
        "   median build time: ours {:.2}s, hnswlib {:.2}s; ours used {:.2} CPU s in all \
         (last round); recall@10 at ef=10 of our batch-built index {:.4}\n",
        median_secs(&build2, OURS, n),
        median_secs(&build2, PEER, n),
        batch_cpu_s.get(),
        batch_recall.get()
    );

    // Search: recall from one untimed run per side, then paired rounds per ef and threads.
    struct Point {
        ef: usize,
        recall: [f64; 2],
        searches: [Report; 2],
    }
    let mut points = Vec::new();
    for ef in EFS {
        let ours_recall = vectors::recall(&run_queries(index, queries, ef, 1), truth, K);
        let peer_recall = vectors::recall(&peer.borrow_mut().ids(ef), truth, K);
        let mut searches = Vec::new();
        for threads in [1, 2] {
            let clock = if threads == 1 {
                "CPU time of the searching thread"
            } else {
                "wall clock"
            };
            let report = Bench::new(format!(
                "search at ef={ef}, {threads} thread(s) ({clock}; queries/s)"
            ))
            .timed(PEER, || async {
                (nq as u64, peer.borrow_mut().search(ef, threads))
            })
            .timed(OURS, || async { search_round(index, queries, ef, threads) })
            .run()
            .await;
            report.print();
            searches.push(report);
        }
        points.push(Point {
            ef,
            recall: [ours_recall, peer_recall],
            searches: searches.try_into().expect("two reports"),
        });
    }

    // Reopen through a fresh handle; count the store reads it makes and the reads made
    // by 200 queries afterwards.
    let before = built.counters.snapshot();
    let t = Instant::now();
    let reopened = VectorIndex::open(built.store.clone(), "bench")
        .await
        .expect("open");
    let reopen_s = t.elapsed().as_secs_f64();
    let opened = built.counters.snapshot();
    for q in 0..200.min(nq) {
        reopened
            .search(queries.row(q), K, Some(64), None)
            .expect("search");
    }
    let queried = built.counters.snapshot();
    let reads = |a: &StatsSnapshot, b: &StatsSnapshot| {
        [Op::Get, Op::GetMany, Op::Head, Op::List]
            .iter()
            .map(|&op| b.op(op).requests - a.op(op).requests)
            .sum::<u64>()
    };

    println!();
    println!(
        "memory: our index ~{:.0} MiB (RSS growth while building); peak RSS ours {:.0} MiB \
         (whole bench process incl. dataset and ground truth), hnswlib process {:.0} MiB",
        index_mib.get().unwrap_or(f64::NAN),
        proc_status_mib("VmHWM:").unwrap_or(0.0),
        peer.borrow_mut().peak_rss_mib()
    );
    println!(
        "flush: {} pages, {:.1} MiB in {flush_s:.2}s; reopen {reopen_s:.3}s = {:.3}x build wall \
         time ({:.2}s, last round); open made {} store reads, 200 queries after it made {}",
        flushed.pages_written,
        flushed.bytes_written as f64 / (1 << 20) as f64,
        reopen_s / built.wall.as_secs_f64(),
        built.wall.as_secs_f64(),
        reads(&before, &opened),
        reads(&opened, &queried),
    );
    println!();
    println!(
        "{:>5} | {:>9} {:>9} {:>9} | {:>9} {:>9} {:>9}",
        "ef", "recall", "QPS 1t", "QPS 2t", "hnswlib", "QPS 1t", "QPS 2t"
    );
    println!(
        "(medians; 1t: queries per CPU-second of the searching thread; 2t: per wall-clock second)"
    );
    let median = |r: &Report, name: &str| si(Summary::of(r.rates(name)).median);
    for p in &points {
        println!(
            "{:>5} | {:>9.4} {:>9} {:>9} | {:>9.4} {:>9} {:>9}",
            p.ef,
            p.recall[0],
            median(&p.searches[0], OURS),
            median(&p.searches[1], OURS),
            p.recall[1],
            median(&p.searches[0], PEER),
            median(&p.searches[1], PEER),
        );
    }
    println!();
    // Round by round: each side's curve of that round, interpolated at the target recall.
    for (t, threads) in [1, 2].into_iter().enumerate() {
        let at_target = |side: usize, name: &str| -> Option<Vec<f64>> {
            let rounds = points[0].searches[t].rates(name).len();
            (0..rounds)
                .map(|r| {
                    let curve: Vec<(f64, f64)> = points
                        .iter()
                        .map(|p| (p.recall[side], p.searches[t].rates(name)[r]))
                        .collect();
                    qps_at(&curve, TARGET_RECALL)
                })
                .collect()
        };
        match (at_target(0, OURS), at_target(1, PEER)) {
            (Some(a), Some(b)) => println!(
                "QPS at recall@10 = {TARGET_RECALL}, {threads} thread(s): ours {}, hnswlib {}, \
                 ours / hnswlib {}",
                si(Summary::of(&a).median),
                si(Summary::of(&b).median),
                Paired::of(&a, &b)
            ),
            (a, b) => println!(
                "recall@10 = {TARGET_RECALL} not reached, {threads} thread(s): ours {}, \
                 hnswlib {}",
                if a.is_some() {
                    "reached"
                } else {
                    "not reached"
                },
                if b.is_some() {
                    "reached"
                } else {
                    "not reached"
                },
            ),
        }
    }
}
