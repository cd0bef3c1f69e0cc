//! The one benchmark statistic every Strata bench reports, and the harness that measures it.
//!
//! On a shared machine the speed of everything drifts between rounds by more than most
//! effects worth measuring (the bare moka cache ran anywhere from 390k to 1M puts/s between
//! rounds of one run). So systems are never measured in separate runs: each *round* runs
//! every system once, back to back, in an order that alternates between rounds (so none is
//! always first), and a comparison is the **median of the per-round ratios, with their
//! range**. Drift shared by both sides of a pair cancels in its ratio.
//!
//! ```no_run
//! # async fn demo() {
//! use strata_tests::bench::Bench;
//! let keys: Vec<u64> = (0..1000).collect();
//! let report = Bench::new("sum of squares")
//!     .system("iterator", || async { keys.iter().map(|k| k * k).sum::<u64>(); 1000 })
//!     .system("loop", || async {
//!         let mut s = 0u64;
//!         for k in &keys { s += k * k; }
//!         std::hint::black_box(s);
//!         1000
//!     })
//!     .run()
//!     .await;
//! report.print();
//! # }
//! ```
//!
//! Each system's closure runs one round and returns how many operations it did; the harness
//! times it. A round may block its thread (OS threads doing the work, joined before it
//! returns): nothing else runs meanwhile. A system that must time only part of its round
//! (excluding per-round setup, or by another clock: CPU time, a peer process's own timer)
//! uses [`Bench::timed`] and returns the time itself. `STRATA_BENCH_ROUNDS` overrides the
//! number of rounds (default 7).

use std::fmt;
use std::future::Future;
use std::time::{Duration, Instant};

use futures::future::LocalBoxFuture;
use store_core::{Bytes, Key, PutMode, PutOp, Store};

/// Rounds per comparison unless `STRATA_BENCH_ROUNDS` says otherwise.
pub const DEFAULT_ROUNDS: usize = 7;

/// The number of rounds: `STRATA_BENCH_ROUNDS`, else [`DEFAULT_ROUNDS`].
pub fn rounds() -> usize {
    std::env::var("STRATA_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n: &usize| n > 0)
        .unwrap_or(DEFAULT_ROUNDS)
}

/// One round: its operation count and the time it took.
type RoundFn<'a> = Box<dyn FnMut() -> LocalBoxFuture<'a, (u64, Duration)> + 'a>;

/// A comparison of several systems doing the same work, measured in paired rounds.
pub struct Bench<'a> {
    label: String,
    rounds: usize,
    warmup: bool,
    systems: Vec<(String, RoundFn<'a>)>,
}

impl<'a> Bench<'a> {
    /// A comparison called `label`, with [`rounds()`] rounds and one unmeasured warm-up
    /// round per system.
    pub fn new(label: impl Into<String>) -> Self {
        Bench {
            label: label.into(),
            rounds: rounds(),
            warmup: true,
            systems: Vec::new(),
        }
    }

    /// Use `n` rounds (at least 1).
    pub fn rounds(mut self, n: usize) -> Self {
        self.rounds = n.max(1);
        self
    }

    /// Skip the warm-up round (for work that cannot be repeated cheaply).
    pub fn no_warmup(mut self) -> Self {
        self.warmup = false;
        self
    }

    /// Add a system. `round` does one round of the work and returns its operation count;
    /// the harness times the whole call. The first system added is the reference the
    /// others are compared with.
    pub fn system<F, Fut>(self, name: impl Into<String>, mut round: F) -> Self
    where
        F: FnMut() -> Fut + 'a,
        Fut: Future<Output = u64> + 'a,
    {
        self.timed(name, move || {
            // The clock starts before the closure runs: work it does before its first
            // await counts too.
            let start = Instant::now();
            let work = round();
            async move {
                let ops = work.await;
                (ops, start.elapsed())
            }
        })
    }

    /// Add the two write systems every backend's batch bench compares: `seq` overwrites
    /// `seq_keys` with one `put` each, `batch` writes `value` to all `keys` with
    /// `put_many`, in as few batches as the store takes
    /// ([`Capabilities::put_batches`](store_core::Capabilities::put_batches)). Each round
    /// counts the keys it wrote.
    pub fn puts<S: Store + ?Sized>(
        self,
        (seq, batch): (&str, &str),
        store: &'a S,
        (seq_keys, keys): (&'a [Key], &'a [Key]),
        value: &'a Bytes,
    ) -> Self {
        self.system(seq, move || async move {
            for k in seq_keys {
                store
                    .put(k, value.clone(), PutMode::Overwrite)
                    .await
                    .unwrap();
            }
            seq_keys.len() as u64
        })
        .system(batch, move || async move {
            let ops: Vec<PutOp> = keys
                .iter()
                .map(|k| PutOp::overwrite(k.clone(), value.clone()))
                .collect();
            for ops in store.capabilities().put_batches(ops, keys.len()) {
                store.put_many(ops).await.unwrap();
            }
            keys.len() as u64
        })
    }

    /// Add the two read systems every backend's batch bench compares: `seq` reads
    /// `seq_keys` with one `get` each, `batch` reads `keys` with one `get_many`. Each round
    /// checks that every key is there and counts the keys it read.
    pub fn gets<S: Store + ?Sized>(
        self,
        (seq, batch): (&str, &str),
        store: &'a S,
        seq_keys: &'a [Key],
        keys: &'a [Key],
    ) -> Self {
        self.system(seq, move || async move {
            for k in seq_keys {
                assert!(store.get(k).await.unwrap().is_some(), "{k} is missing");
            }
            seq_keys.len() as u64
        })
        .system(batch, move || async move {
            let got = store.get_many(keys).await.unwrap();
            assert!(got.iter().all(Option::is_some), "a key is missing");
            keys.len() as u64
        })
    }

    /// Add a system that times its own rounds: `round` returns its operation count and
    /// the time the measured part took (so per-round setup can be left out, or another
    /// clock used). Otherwise as [`Bench::system`].
    pub fn timed<F, Fut>(mut self, name: impl Into<String>, mut round: F) -> Self
    where
        F: FnMut() -> Fut + 'a,
        Fut: Future<Output = (u64, Duration)> + 'a,
    {
        self.systems
            .push((name.into(), Box::new(move || Box::pin(round()))));
        self
    }

    /// Run every round and return the rates.
    pub async fn run(mut self) -> Report {
        let n = self.systems.len();
        if self.warmup {
            for (_, round) in &mut self.systems {
                round().await;
            }
        }
        let mut rates = vec![Vec::with_capacity(self.rounds); n];
        for r in 0..self.rounds {
            // Rotate who goes first, so position in the round biases no system.
            for i in 0..n {
                let s = (i + r) % n;
                let (ops, took) = (self.systems[s].1)().await;
                rates[s].push(ops as f64 / took.as_secs_f64().max(1e-9));
            }
        }
        Report {
            label: self.label,
            systems: self
                .systems
                .into_iter()
                .map(|(name, _)| name)
                .zip(rates)
                .collect(),
        }
    }
}

/// The per-round rates of each system in a [`Bench`].
#[derive(Clone, Debug)]
pub struct Report {
    /// What was compared.
    pub label: String,
    /// Each system's name and its rate (operations per second) in every round.
    pub systems: Vec<(String, Vec<f64>)>,
}

impl Report {
    /// The rates of the system called `name`.
    pub fn rates(&self, name: &str) -> &[f64] {
        self.systems
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, r)| r.as_slice())
            .unwrap_or_else(|| panic!("no system `{name}` in `{}`", self.label))
    }

    /// `a`'s rate over `b`'s, round by round (above 1: `a` is faster).
    pub fn ratio(&self, a: &str, b: &str) -> Paired {
        Paired::of(self.rates(a), self.rates(b))
    }

    /// Print each system's median rate with its range, and each system's paired ratio
    /// against the first (the reference).
    pub fn print(&self) {
        println!("{self}");
    }

    /// Print the report, then the two comparisons a store-against-its-client bench is
    /// about: the trait against the raw `peer` doing the same (sequential and batched),
    /// and batches against sequential calls on each side. `raw` and `ours` name the
    /// sequential and the batched system of each side.
    pub fn print_against(&self, peer: &str, raw: [&str; 2], ours: [&str; 2]) {
        let ([raw_seq, raw_batch], [ours_seq, ours_batch]) = (raw, ours);
        print!("{self}");
        println!(
            "   strata / {peer}: sequential {}; batch {}",
            self.ratio(ours_seq, raw_seq),
            self.ratio(ours_batch, raw_batch)
        );
        println!(
            "   batch / sequential: strata {}; {peer} {}\n",
            self.ratio(ours_batch, ours_seq),
            self.ratio(raw_batch, raw_seq)
        );
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.label)?;
        let Some((reference, _)) = self.systems.first() else {
            return Ok(());
        };
        for (name, rates) in &self.systems {
            let s = Summary::of(rates);
            write!(
                f,
                "  {name:<28} {:>12}/s ({}-{})",
                si(s.median),
                si(s.low),
                si(s.high)
            )?;
            if name != reference {
                write!(f, "   vs {reference}: {}", self.ratio(name, reference))?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

/// Per-round ratios of two systems, summarised as median and range: the one statistic.
#[derive(Clone, Debug)]
pub struct Paired(pub Vec<f64>);

impl Paired {
    /// The ratio of `a` over `b`, round by round.
    pub fn of(a: &[f64], b: &[f64]) -> Self {
        Paired(a.iter().zip(b).map(|(a, b)| a / b).collect())
    }

    /// The median ratio.
    pub fn median(&self) -> f64 {
        Summary::of(&self.0).median
    }

    /// The smallest and largest ratio.
    pub fn range(&self) -> (f64, f64) {
        let s = Summary::of(&self.0);
        (s.low, s.high)
    }
}

impl fmt::Display for Paired {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = Summary::of(&self.0);
        write!(
            f,
            "{:.2}x ({:.2}-{:.2}, median of {} paired rounds)",
            s.median,
            s.low,
            s.high,
            self.0.len()
        )
    }
}

/// Median and range of a set of values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    /// The median.
    pub median: f64,
    /// The smallest value.
    pub low: f64,
    /// The largest value.
    pub high: f64,
}

impl Summary {
    /// The summary of `values` (all `NaN` for none).
    pub fn of(values: &[f64]) -> Summary {
        let mut v: Vec<f64> = values.to_vec();
        v.sort_by(f64::total_cmp);
        let n = v.len();
        if n == 0 {
            return Summary {
                median: f64::NAN,
                low: f64::NAN,
                high: f64::NAN,
            };
        }
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        Summary {
            median,
            low: v[0],
            high: v[n - 1],
        }
    }
}

/// A rate with an SI suffix: `12.3k`, `4.56M`.
pub fn si(x: f64) -> String {
    match x {
        x if x >= 1e9 => format!("{:.2}G", x / 1e9),
        x if x >= 1e6 => format!("{:.2}M", x / 1e6),
        x if x >= 1e3 => format!("{:.1}k", x / 1e3),
        x => format!("{x:.1}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_range() {
        assert_eq!(
            Summary::of(&[3.0, 1.0, 2.0]),
            Summary {
                median: 2.0,
                low: 1.0,
                high: 3.0
            }
        );
        assert_eq!(Summary::of(&[4.0, 1.0, 2.0, 3.0]).median, 2.5);
        let p = Paired::of(&[2.0, 4.0, 9.0], &[1.0, 2.0, 3.0]);
        assert_eq!(p.median(), 2.0);
        assert_eq!(p.range(), (2.0, 3.0));
    }

    #[test]
    fn rounds_alternate_and_every_system_runs_each_round() {
        let order = std::cell::RefCell::new(Vec::new());
        let report = futures::executor::block_on(
            Bench::new("order")
                .rounds(4)
                .no_warmup()
                .system("a", || async {
                    order.borrow_mut().push('a');
                    1
                })
                .system("b", || async {
                    order.borrow_mut().push('b');
                    1
                })
                .run(),
        );
        assert_eq!(order.into_inner(), "abbaabba".chars().collect::<Vec<_>>());
        assert_eq!(report.rates("a").len(), 4);
        assert_eq!(report.ratio("b", "a").0.len(), 4);
    }

    #[test]
    fn a_timed_system_reports_its_own_time() {
        let report = futures::executor::block_on(
            Bench::new("timed")
                .rounds(3)
                .timed("half a second per op", || async {
                    (10, Duration::from_secs(5))
                })
                .timed("ten per second", || async {
                    (1, Duration::from_millis(100))
                })
                .run(),
        );
        assert_eq!(report.rates("half a second per op"), [2.0, 2.0, 2.0]);
        assert_eq!(
            report
                .ratio("ten per second", "half a second per op")
                .median(),
            5.0
        );
    }
}
