//! `strata migrate`.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::PathBuf;
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use strata::Prefix;
use strata::migrate::{MigrateOptions, count, migrate};
use strata::stats::StatsStore;

use crate::args::MigrateArgs;
use crate::exit;
use crate::open::{Access, open_spec};

fn default_checkpoint(args: &MigrateArgs) -> PathBuf {
    let mut h = DefaultHasher::new();
    (&args.from, &args.to, &args.prefix).hash(&mut h);
    PathBuf::from(format!(".strata-migrate-{:016x}.json", h.finish()))
}

pub async fn run(args: MigrateArgs) -> anyhow::Result<u8> {
    let prefix = Prefix::new(args.prefix.clone())?;
    // The source is only read: a mistyped one must not be created empty.
    let from = StatsStore::new(open_spec(&args.from, Access::Existing).await?);
    let to = StatsStore::new(open_spec(&args.to, Access::Create).await?);
    let checkpoint = args
        .checkpoint
        .clone()
        .unwrap_or_else(|| default_checkpoint(&args));

    let (total_keys, total_bytes) = count(&from, &prefix).await?;
    let bar = if args.no_progress {
        ProgressBar::hidden()
    } else {
        ProgressBar::with_draw_target(Some(total_keys), ProgressDrawTarget::stderr())
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {human_pos}/{human_len} keys  {msg}  ETA {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    // A resumed run starts the bar where the checkpoint says the last one stopped, unless
    // it verifies: it then checks the keys earlier runs copied first, from 0.
    let already = if args.resume && !args.verify {
        resumed_count(&checkpoint)
    } else {
        0
    };
    bar.set_position(already);
    let started = std::time::Instant::now();
    let bytes_done = std::sync::atomic::AtomicU64::new(0);
    let keys_done = std::sync::atomic::AtomicU64::new(0);
    let progress = |keys: u64, bytes: u64| {
        let done = bytes_done.fetch_add(bytes, std::sync::atomic::Ordering::Relaxed) + bytes;
        let n = keys_done.fetch_add(keys, std::sync::atomic::Ordering::Relaxed) + keys;
        let secs = started.elapsed().as_secs_f64().max(1e-3);
        bar.inc(keys);
        bar.set_message(format!(
            "{:.0} keys/s  {:.1} MiB/s  ({:.1} MiB in all)",
            n as f64 / secs,
            done as f64 / secs / (1 << 20) as f64,
            total_bytes as f64 / (1 << 20) as f64
        ));
    };
    let options = MigrateOptions {
        prefix,
        verify: args.verify,
        checkpoint: Some(checkpoint.clone()),
        resume: args.resume,
        batch: args.batch,
        concurrency: args.concurrency,
        checkpoint_interval: args.checkpoint_interval,
        skip_corrupt: args.skip_corrupt,
    };
    let (from_stats, to_stats) = (from.stats(), to.stats());
    let result = migrate(Arc::new(from), Arc::new(to), &options, &progress).await;
    bar.finish_and_clear();
    let report = match result {
        Ok(report) => report,
        Err(e) => {
            errln!(
                "migration stopped; rerun with --resume to continue from {}",
                checkpoint.display()
            );
            return Err(e.into());
        }
    };
    let secs = report.elapsed.as_secs_f64().max(1e-9);
    for (key, why) in &report.damaged {
        errln!("damaged: {key}: {why}");
    }
    for (key, why) in &report.failures {
        errln!("verify failed: {key}: {why}");
    }
    if let Some(after) = &report.resumed_after {
        outln!("resumed after key {after}")?;
    }
    outln!(
        "copied {} keys ({} bytes) in {:.2}s: {:.0} keys/s, {:.1} MiB/s; skipped {}; damaged {}; verified {}; failures {}",
        report.copied,
        report.bytes,
        secs,
        report.copied as f64 / secs,
        report.bytes as f64 / secs / (1 << 20) as f64,
        report.skipped,
        report.damaged.len(),
        if args.verify {
            report.verified.to_string()
        } else {
            "off".to_owned()
        },
        report.failures.len()
    )?;
    outln!(
        "\nsource stats:\n{}\n\ndestination stats:\n{}",
        from_stats.snapshot(),
        to_stats.snapshot()
    )?;
    Ok(if !report.failures.is_empty() {
        exit::VERIFY_FAILED
    } else if !report.damaged.is_empty() {
        exit::DAMAGED_SKIPPED
    } else {
        0
    })
}

/// How many keys the checkpoint says earlier runs copied (0 if it cannot be read; the
/// migration itself reports a damaged checkpoint).
fn resumed_count(checkpoint: &std::path::Path) -> u64 {
    std::fs::read_to_string(checkpoint)
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .and_then(|cp| cp.get("copied")?.as_u64())
        .unwrap_or(0)
}
