//! `strata gc`: sweep a store with `store_layers::gc` (lease and safe point in the store).

use std::sync::Arc;
use std::time::SystemTime;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use store_layers::gc::{self, Reachable, Report, SweepOptions};
use strata::{Key, Prefix};

use crate::args::{GcArgs, Target};
use crate::open::{Access, open_spec, open_target};

/// Build the reachable set from the `--reachable` arguments.
fn reachable(specs: &[String]) -> anyhow::Result<Reachable> {
    let mut reachable = Reachable::new();
    for spec in specs {
        if let Some(prefix) = spec.strip_prefix("prefix:") {
            let prefix = Prefix::new(prefix).with_context(|| format!("--reachable {spec}"))?;
            reachable.insert_prefix(prefix);
            continue;
        }
        let text = std::fs::read_to_string(spec)
            .with_context(|| format!("reading the reachable keys in {spec}"))?;
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let key = Key::new(line).with_context(|| format!("{spec}, line {}", n + 1))?;
            reachable.insert(key);
        }
    }
    Ok(reachable)
}

pub async fn run(target: &Target, args: GcArgs) -> anyhow::Result<u8> {
    let reachable = reachable(&args.reachable)?;
    // gc deletes, but from a store that exists: a mistyped path must not become one.
    let store = match &args.location {
        Some(spec) => open_spec(spec, Access::Existing).await?,
        None => open_target(target, Access::Existing).await?,
    };
    let cutoff = SystemTime::now()
        .checked_sub(args.older_than)
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let bar = if args.no_progress {
        ProgressBar::hidden()
    } else {
        ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    let verb = if args.dry_run {
        "would delete"
    } else {
        "deleted"
    };
    let progress = {
        let bar = bar.clone();
        Arc::new(move |report: &Report| {
            bar.set_message(format!(
                "listed {}  {verb} {}  kept {}",
                report.listed,
                report.deleted,
                report.kept_reachable + report.kept_recent
            ));
            bar.tick();
        })
    };
    let options = SweepOptions {
        dry_run: args.dry_run,
        batch: args.batch,
        progress: Some(progress),
        ..SweepOptions::default()
    };
    let result = gc::sweep(&*store, &reachable, cutoff, options).await;
    bar.finish_and_clear();
    let report = result.context("gc")?;
    store.flush().await.context("flushing the deletes")?;
    let safe_point = humantime::format_rfc3339_millis(report.safe_point);
    outln!(
        "{}{verb} {} keys ({} bytes); kept {} reachable, {} newer than the safe point {safe_point}; \
         {} listed, {} damaged skipped",
        if args.dry_run { "dry run: " } else { "" },
        report.deleted,
        report.deleted_bytes,
        report.kept_reachable,
        report.kept_recent,
        report.listed,
        report.damaged
    )?;
    Ok(0)
}
