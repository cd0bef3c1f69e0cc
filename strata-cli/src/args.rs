//! Command-line arguments, and the exit codes `strata --help` documents.

use std::path::PathBuf;
use std::time::Duration;

use crate::bench::{MAX_CONCURRENCY, MAX_DURATION, MAX_VALUE_SIZE};
use clap::builder::RangedU64ValueParser;
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

/// The exit codes, as `strata --help` shows them (kept beside `crate::exit`).
const EXIT_CODES: &str = "\
Exit codes:
  0  success (also when a reader closes standard output early, as in `strata list | head`)
  1  an error: a store or I/O error, an invalid key, a bad config, corrupted data
  2  a usage error: an unknown command or option, a value out of range
  3  get/head: no value is stored at the key
  4  put --if-absent / --if-version: the condition did not hold; nothing was written
  5  migrate --verify: the copy finished, but some keys differ in the destination
  6  list/migrate --skip-corrupt: finished, but damaged entries were skipped (each is
     named on stderr)
  7  the store does not exist: a missing path, database or bucket (get, head, list,
     delete and migrate's --from never create one)
  8  permission denied: the credentials or permissions do not allow the access";

/// Strata: one key-value contract, many storage backends.
#[derive(Debug, Parser)]
#[command(name = "strata", version, about, long_about = None, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(flatten)]
    pub target: Target,
    #[command(subcommand)]
    pub command: Command,
}

/// Parse the command line, exiting on a usage error or `--help`.
///
/// `--store` and `--config` are global (they may come before or after the command), but
/// `migrate` names its two stores with `--from` and `--to`: there both are hidden from
/// the help and refused as a usage error, never silently ignored.
pub fn parse() -> Cli {
    let mut command = Cli::command();
    let matches = command.clone().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.format(&mut command).exit());
    let named = cli.target.store.is_some() || cli.target.config.is_some();
    let conflict = match &cli.command {
        Command::Migrate(m) if named || m.store.is_some() || m.config.is_some() => Some((
            "migrate",
            "migrate names its stores with --from and --to; --store and --config do not apply to it",
        )),
        Command::Gc(GcArgs {
            location: Some(_), ..
        }) if named => Some((
            "gc",
            "gc names its store as an argument or with --store/--config: give one of them",
        )),
        Command::Demo(DemoArgs { dir: Some(_), .. }) if named => Some((
            "demo",
            "--dir is where the embedded demo store lives; with --store or --config the demo \
             runs on that store instead: give one or the other",
        )),
        _ => None,
    };
    if let Some((name, message)) = conflict {
        let mut subcommand = match command.find_subcommand(name) {
            // Named as the user typed it in the usage line.
            Some(sub) => sub.clone().bin_name(format!("strata {name}")),
            None => command,
        };
        subcommand
            .error(clap::error::ErrorKind::ArgumentConflict, message)
            .exit();
    }
    cli
}

/// Which store a command works on. Without either flag: the `STRATA_STORE` URI, or the
/// embedded default (redb at ./strata-data/strata.redb).
#[derive(Debug, Args, Clone)]
pub struct Target {
    /// Store URI, e.g. memory:, file:///data, redb:///data/db.redb, lmdb:///data/env, s3://bucket/prefix?endpoint=...
    #[arg(long, global = true, conflicts_with = "config")]
    pub store: Option<String>,
    /// Store config file (.toml or .json; ${VAR} is replaced from the environment).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a value from a file or standard input.
    Put(PutArgs),
    /// Print a value (or write it to a file).
    Get(GetArgs),
    /// Print a key's size, version and last-modified time.
    Head(KeyArg),
    /// Delete a key (deleting a missing key succeeds).
    Delete(KeyArg),
    /// List keys in order.
    List(ListArgs),
    /// Copy keys from one store to another: streamed, checkpointed, resumable, verifiable.
    Migrate(MigrateArgs),
    /// Measure throughput and latency against the store (its keys under bench/ are
    /// deleted at the end unless --keep).
    Bench(BenchArgs),
    /// The guided tour: on --store/--config if given, else on an embedded store in --dir.
    Demo(DemoArgs),
    /// Delete what no root reaches and nothing modified recently (with a lease in the
    /// store, so two collectors never run at once).
    Gc(GcArgs),
}

#[derive(Debug, Args)]
pub struct PutArgs {
    pub key: String,
    /// File to read the value from; `-` or absent for standard input.
    pub file: Option<PathBuf>,
    /// Only write if the key does not exist.
    #[arg(long, conflicts_with = "if_version")]
    pub if_absent: bool,
    /// Only write if the key's current version is this one (compare-and-swap).
    #[arg(long, value_name = "VERSION")]
    pub if_version: Option<String>,
}

#[derive(Debug, Args)]
pub struct GetArgs {
    pub key: String,
    /// Write the value to this file instead of standard output.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct KeyArg {
    pub key: String,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only keys starting with this prefix.
    pub prefix: Option<String>,
    /// Also print size, version and last-modified time.
    #[arg(short, long)]
    pub long: bool,
    /// Name each damaged entry on stderr and go on (exit 6 if there were any), instead of
    /// stopping at the first one.
    #[arg(long)]
    pub skip_corrupt: bool,
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// Source store: a URI or a config file.
    #[arg(long)]
    pub from: String,
    /// Destination store: a URI or a config file.
    #[arg(long)]
    pub to: String,
    /// Only keys under this prefix.
    #[arg(long, default_value = "")]
    pub prefix: String,
    /// Read every copy back and compare size and content hash (with --resume: also every
    /// key earlier runs copied).
    #[arg(long)]
    pub verify: bool,
    /// Continue an interrupted run from its checkpoint.
    #[arg(long)]
    pub resume: bool,
    /// Checkpoint file (default: derived from --from, --to and --prefix, in the current directory).
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// Keys per batch (fewer if the destination accepts fewer in one put_many).
    #[arg(long, default_value_t = 256, value_parser = RangedU64ValueParser::<usize>::new().range(1..=MAX_BATCH))]
    pub batch: usize,
    /// Batches in flight at once.
    #[arg(long, default_value_t = 4, value_parser = RangedU64ValueParser::<usize>::new().range(1..=MAX_CONCURRENCY as u64))]
    pub concurrency: usize,
    /// How often the destination is flushed and the checkpoint advanced with it (seconds,
    /// or a duration such as 250ms or 2m). A kill loses at most about this much copying.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub checkpoint_interval: Duration,
    /// Name each damaged source entry on stderr and copy every healthy key (exit 6 if any
    /// were skipped), instead of stopping at the first one.
    #[arg(long)]
    pub skip_corrupt: bool,
    /// Do not draw a progress bar.
    #[arg(long)]
    pub no_progress: bool,
    /// The global `--store`, shadowed here so that migrate's help does not show it: given
    /// after `migrate` it is refused (`parse`), as it is before.
    #[arg(long, hide = true)]
    pub store: Option<String>,
    /// The global `--config`, shadowed like `store`.
    #[arg(long, hide = true)]
    pub config: Option<PathBuf>,
}

/// The most keys per migration batch (a batch's keys and values are held in memory).
const MAX_BATCH: u64 = 100_000;

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// put, get or mixed (90 % get, 10 % put).
    #[arg(long, default_value = "mixed", value_parser = ["put", "get", "mixed"])]
    pub workload: String,
    /// Bytes per value (at most 1 GiB).
    #[arg(long, default_value_t = 1024, value_parser = RangedU64ValueParser::<usize>::new().range(0..=MAX_VALUE_SIZE as u64))]
    pub value_size: usize,
    /// Distinct keys.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub keys: u64,
    /// Concurrent request loops.
    #[arg(long, default_value_t = 16, value_parser = RangedU64ValueParser::<usize>::new().range(1..=MAX_CONCURRENCY as u64))]
    pub concurrency: usize,
    /// How long to run: seconds, or a duration such as 500ms or 2m.
    #[arg(long, default_value = "5", value_parser = parse_duration)]
    pub duration: Duration,
    /// Keep the keys the benchmark wrote (bench/0000000000 and on, overwriting any there)
    /// instead of deleting them at the end.
    #[arg(long)]
    pub keep: bool,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where the demo keeps its data when neither --store nor --config names a store (a
    /// 64 MiB cache over redb; STRATA_STORE is not used) [default: ./strata-data]. On a
    /// named store the demo writes keys under demo/ and vector-index/demo-vectors/.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Vectors in the demo index.
    #[arg(long, default_value_t = 20_000, value_parser = RangedU64ValueParser::<usize>::new().range(crate::demo::MIN_VECTORS..=1_000_000))]
    pub vectors: usize,
}

#[derive(Debug, Args)]
pub struct GcArgs {
    /// The store: a URI or a config file (default: --store/--config, as for other commands).
    /// (Not named `store`: that is the global `--store`'s id.)
    #[arg(value_name = "STORE")]
    pub location: Option<String>,
    /// What to keep: `prefix:<PREFIX>` keeps every key under PREFIX (roots, and what
    /// writers add under it meanwhile); anything else is a file of keys to keep, one per
    /// line (blank lines and lines starting with # are skipped). A file is a snapshot:
    /// roots written after it was made are not in it. Repeatable; at least one.
    #[arg(long, required = true, value_name = "FILE|prefix:PREFIX")]
    pub reachable: Vec<String>,
    /// Only delete keys last modified longer ago than this (e.g. 1h, 30m, 3600).
    #[arg(long, value_parser = parse_duration)]
    pub older_than: Duration,
    /// Report what would be deleted; delete nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Keys per delete batch.
    #[arg(long, default_value_t = 1000, value_parser = RangedU64ValueParser::<usize>::new().range(1..=MAX_BATCH))]
    pub batch: usize,
    /// Do not draw a progress line.
    #[arg(long)]
    pub no_progress: bool,
}

/// A positive duration: a number of seconds (`2.5`) or a number with a unit (`250ms`,
/// `30s`, `2m`, `1h`), at most a year.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let duration = match text.parse::<f64>() {
        Ok(secs) if secs.is_finite() && secs > 0.0 => {
            Duration::try_from_secs_f64(secs).map_err(|_| "too long: at most a year".to_owned())?
        }
        Ok(_) => return Err("must be a positive, finite number of seconds".to_owned()),
        Err(_) => humantime::parse_duration(text)
            .map_err(|e| format!("{e} (use seconds, or a number with ms, s, m or h)"))?,
    };
    if duration.is_zero() {
        return Err("must be longer than zero".to_owned());
    }
    if duration > MAX_DURATION {
        return Err("too long: at most a year".to_owned());
    }
    Ok(duration)
}
