//! Runs conformance cases against a store fixture and reports pass, skip or failure.

use std::any::Any;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use store_core::Store;

/// How long one case may run before it counts as failed (a hang is a failure).
pub const CASE_TIMEOUT: Duration = Duration::from_secs(300);

/// A fresh store for one case, plus whatever must live as long as it (a temp dir, a
/// server prefix guard) and is dropped after the case.
pub struct Fixture {
    /// The store under test.
    pub store: Arc<dyn Store>,
    guard: Option<Box<dyn Any + Send>>,
    skip: Option<String>,
}

impl Fixture {
    /// A fixture with nothing to clean up.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Fixture {
            store,
            guard: None,
            skip: None,
        }
    }

    /// A fixture for a backend whose environment is missing (say, no server configured):
    /// every case reports itself skipped with `why` instead of running. Its `store` is an
    /// empty placeholder that no case touches.
    pub fn skip(why: impl Into<String>) -> Self {
        Fixture {
            store: Arc::new(store_memory::MemoryStore::new()),
            guard: None,
            skip: Some(why.into()),
        }
    }

    /// Keep `guard` alive until the case ends.
    pub fn with_guard(mut self, guard: impl Any + Send) -> Self {
        self.guard = Some(Box::new(guard));
        self
    }
}

/// Why a case did not run: the store's capabilities say it lacks what the case tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skip(pub String);

/// What a case returns: `Ok(())` when it ran (failures panic), `Err(Skip)` when it did not apply.
pub type Outcome = Result<(), Skip>;

/// Skip unless `condition` holds.
pub fn require(condition: bool, why: &str) -> Outcome {
    if condition {
        Ok(())
    } else {
        Err(Skip(why.to_owned()))
    }
}

/// The verdict on one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every assertion held.
    Passed,
    /// The store's capabilities exclude the case, or its fixture could not be set up
    /// in this environment ([`Fixture::skip`]).
    Skipped(String),
    /// An assertion failed, the case panicked, or it timed out.
    Failed(String),
}

/// One named case of the suite.
#[derive(Clone, Copy)]
pub struct Case {
    /// The case's name (its function's name).
    pub name: &'static str,
    /// Runs the case.
    pub run: fn(Arc<dyn Store>) -> BoxFuture<'static, Outcome>,
}

/// Run one case on a fresh fixture, catching panics and hangs.
pub async fn run_case<F>(case: F, fixture: Fixture) -> Verdict
where
    F: Future<Output = Outcome> + Send + 'static,
{
    let handle = tokio::spawn(case);
    let verdict = match tokio::time::timeout(CASE_TIMEOUT, handle).await {
        Err(_) => Verdict::Failed(format!("timed out after {CASE_TIMEOUT:?}")),
        Ok(Ok(Ok(()))) => Verdict::Passed,
        Ok(Ok(Err(Skip(why)))) => Verdict::Skipped(why),
        Ok(Err(join)) => Verdict::Failed(panic_message(join)),
    };
    drop(fixture);
    verdict
}

fn panic_message(join: tokio::task::JoinError) -> String {
    match join.try_into_panic() {
        Ok(payload) => payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "panicked".to_owned()),
        Err(join) => format!("task did not finish: {join}"),
    }
}

/// The runtime every case runs on: two worker threads, as on CI machines, so that
/// concurrency cases really interleave.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("build the test runtime")
}

/// Run the case called `name` against a fixture from `factory`, as a `#[test]`: panics on
/// failure, prints the reason on a skip. Used by [`conformance_tests!`](crate::conformance_tests).
pub fn run_test<M, MF>(name: &str, make: M)
where
    M: FnOnce() -> MF,
    MF: Future<Output = Fixture>,
{
    let case = crate::cases::find(name).unwrap_or_else(|| panic!("no conformance case `{name}`"));
    runtime().block_on(async {
        let fixture = make().await;
        if let Some(why) = &fixture.skip {
            eprintln!("conformance case `{name}` skipped: {why}");
            return;
        }
        let run = (case.run)(fixture.store.clone());
        match run_case(run, fixture).await {
            Verdict::Passed => {}
            Verdict::Skipped(why) => eprintln!("conformance case `{name}` skipped: {why}"),
            Verdict::Failed(msg) => panic!("conformance case `{name}` failed: {msg}"),
        }
    });
}

/// The verdicts of a whole suite run.
#[derive(Debug, Default)]
pub struct SuiteReport {
    /// `(case name, verdict)` in suite order.
    pub verdicts: Vec<(&'static str, Verdict)>,
}

impl SuiteReport {
    /// Names of the failed cases.
    pub fn failed(&self) -> Vec<&'static str> {
        self.names(|v| matches!(v, Verdict::Failed(_)))
    }

    /// Names of the passed cases.
    pub fn passed(&self) -> Vec<&'static str> {
        self.names(|v| matches!(v, Verdict::Passed))
    }

    /// Names of the skipped cases.
    pub fn skipped(&self) -> Vec<&'static str> {
        self.names(|v| matches!(v, Verdict::Skipped(_)))
    }

    fn names(&self, pick: impl Fn(&Verdict) -> bool) -> Vec<&'static str> {
        self.verdicts
            .iter()
            .filter(|(_, v)| pick(v))
            .map(|(n, _)| *n)
            .collect()
    }
}

/// Run every case of the suite, each on a fresh fixture from `factory`, one after another.
pub async fn run_suite<M, MF>(factory: M) -> SuiteReport
where
    M: Fn() -> MF,
    MF: Future<Output = Fixture>,
{
    let mut report = SuiteReport::default();
    for case in crate::cases::ALL {
        let fixture = factory().await;
        if let Some(why) = fixture.skip.clone() {
            report.verdicts.push((case.name, Verdict::Skipped(why)));
            continue;
        }
        let run = (case.run)(fixture.store.clone());
        report
            .verdicts
            .push((case.name, run_case(run, fixture).await));
    }
    report
}

/// Generate one `#[test]` per conformance case, each running against a fresh fixture
/// from `$factory` (anything callable as `$factory()` returning a future of [`Fixture`]).
///
/// ```ignore
/// strata_tests::conformance_tests!(|| async { Fixture::new(Arc::new(MemoryStore::new())) });
/// ```
#[macro_export]
macro_rules! conformance_tests {
    ($factory:expr) => {
        $crate::__for_each_case!(__conformance_test_fns[$factory]);
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_test_fns {
    ([$factory:expr] $($module:ident :: $case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                $crate::harness::run_test(stringify!($case), $factory);
            }
        )*
    };
}
