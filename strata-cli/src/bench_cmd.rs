//! `strata bench`: measure the store, then delete the keys it wrote (unless `--keep`).

use std::sync::Arc;

use strata::Store;
use strata::stats::StatsStore;

use crate::args::{BenchArgs, Target};
use crate::bench::{self, BenchOptions, PREFIX, run as run_bench};
use crate::open::{Access, open_target};

pub async fn run(target: &Target, args: BenchArgs) -> anyhow::Result<u8> {
    let options = BenchOptions {
        workload: args.workload.parse()?,
        value_size: args.value_size,
        keys: args.keys,
        concurrency: args.concurrency,
        duration: args.duration,
    };
    options.validate()?;
    let raw = open_target(target, Access::Create).await?;
    let store = StatsStore::new(raw.clone());
    let stats = store.stats();
    outln!("store: {:?}", store.inner())?;
    outln!(
        "writing up to {} keys under {PREFIX} ({}; an interrupted run leaves them)",
        options.keys,
        if args.keep {
            "kept afterwards: --keep"
        } else {
            "deleted at the end"
        }
    )?;
    let measured = run_bench(Arc::new(store), options.clone()).await;
    if let Ok(report) = &measured {
        outln!("{report}\n\n{}", stats.snapshot())?;
    }
    // Clean up after a failed run too: a prefill may have written every key.
    let cleaned = clean_up(raw.as_ref(), &options, args.keep).await;
    let report = measured?;
    cleaned?;
    Ok(if report.errors == 0 {
        0
    } else {
        crate::exit::ERROR
    })
}

/// Say what the benchmark left in the store, deleting it first unless `keep`.
async fn clean_up(store: &dyn Store, options: &BenchOptions, keep: bool) -> anyhow::Result<()> {
    let (keys, bytes) = bench::written(store, options).await?;
    let size = if bytes < 1 << 20 {
        format!("{bytes} bytes")
    } else {
        format!("{:.1} MiB", bytes as f64 / (1 << 20) as f64)
    };
    if keep {
        outln!(
            "kept the {} keys ({size}) written under {PREFIX} (--keep)",
            keys.len()
        )?;
    } else {
        bench::delete(store, &keys).await?;
        outln!(
            "deleted the {} keys ({size}) written under {PREFIX} (--keep keeps them)",
            keys.len()
        )?;
    }
    Ok(())
}
