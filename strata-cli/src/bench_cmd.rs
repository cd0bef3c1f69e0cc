//! `strata bench`.

use std::sync::Arc;

use crate::bench::{BenchOptions, run as run_bench};
use strata::stats::StatsStore;

use crate::args::{BenchArgs, Target};
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
    let store = StatsStore::new(open_target(target, Access::Create).await?);
    let stats = store.stats();
    outln!("store: {:?}", store.inner())?;
    let report = run_bench(Arc::new(store), options).await?;
    outln!("{report}\n\n{}", stats.snapshot())?;
    Ok(if report.errors == 0 {
        0
    } else {
        crate::exit::ERROR
    })
}
