//! `strata bench`.

use std::sync::Arc;
use std::time::Duration;

use strata::bench::{BenchOptions, run as run_bench};
use strata::stats::StatsStore;

use crate::args::{BenchArgs, Target};
use crate::open::open_target;

pub async fn run(target: &Target, args: BenchArgs) -> anyhow::Result<u8> {
    let options = BenchOptions {
        workload: args.workload.parse()?,
        value_size: args.value_size,
        keys: args.keys,
        concurrency: args.concurrency,
        duration: Duration::from_secs_f64(args.duration.max(0.0)),
    };
    let store = StatsStore::new(open_target(target).await?);
    let stats = store.stats();
    println!("store: {:?}", store.inner());
    let report = run_bench(Arc::new(store), options).await?;
    println!("{report}\n\n{}", stats.snapshot());
    Ok(if report.errors == 0 {
        0
    } else {
        crate::exit::ERROR
    })
}
