//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Strata: one key-value contract, many storage backends.
#[derive(Debug, Parser)]
#[command(name = "strata", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub target: Target,
    #[command(subcommand)]
    pub command: Command,
}

/// Which store a command works on. Without either flag: the `STRATA_STORE` URI, or the
/// embedded default (redb at ./strata-data/strata.redb).
#[derive(Debug, Args, Clone)]
pub struct Target {
    /// Store URI, e.g. memory:, file:///data, redb:///data/db.redb, s3://bucket/prefix?endpoint=...
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
    /// Measure throughput and latency against the store.
    Bench(BenchArgs),
    /// The guided tour on the embedded default store.
    Demo(DemoArgs),
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
    /// Read every copy back and compare size and content hash.
    #[arg(long)]
    pub verify: bool,
    /// Continue an interrupted run from its checkpoint.
    #[arg(long)]
    pub resume: bool,
    /// Checkpoint file (default: derived from --from, --to and --prefix, in the current directory).
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// Keys per batch.
    #[arg(long, default_value_t = 256)]
    pub batch: usize,
    /// Batches in flight at once.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Do not draw a progress bar.
    #[arg(long)]
    pub no_progress: bool,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// put, get or mixed (90 % get, 10 % put).
    #[arg(long, default_value = "mixed")]
    pub workload: String,
    /// Bytes per value.
    #[arg(long, default_value_t = 1024)]
    pub value_size: usize,
    /// Distinct keys.
    #[arg(long, default_value_t = 10_000)]
    pub keys: u64,
    /// Concurrent request loops.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Seconds to run.
    #[arg(long, default_value_t = 5.0)]
    pub duration: f64,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where the demo keeps its data.
    #[arg(long, default_value = "./strata-data")]
    pub dir: PathBuf,
    /// Vectors in the demo index.
    #[arg(long, default_value_t = 20_000)]
    pub vectors: usize,
}
