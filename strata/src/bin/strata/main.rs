//! The `strata` command-line tool: look inside any store, move data between backends,
//! and measure them. Run `strata --help` for the commands.

mod args;
mod bench_cmd;
mod demo;
mod kv;
mod migrate_cmd;
mod open;

use std::process::ExitCode;

use clap::Parser;
use strata::ErrorKind;

use args::{Cli, Command};

/// Exit codes, so scripts can tell failures apart.
mod exit {
    /// A store or I/O error.
    pub const ERROR: u8 = 1;
    /// The key does not exist.
    pub const NOT_FOUND: u8 = 3;
    /// A conditional put's condition did not hold.
    pub const CONDITION_FAILED: u8 = 4;
    /// A migration finished but verification found differences.
    pub const VERIFY_FAILED: u8 = 5;
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(exit::ERROR);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            let code = match e.downcast_ref::<strata::Error>().map(|e| e.kind()) {
                Some(ErrorKind::AlreadyExists | ErrorKind::VersionMismatch) => {
                    exit::CONDITION_FAILED
                }
                Some(ErrorKind::NotFound) => exit::NOT_FOUND,
                _ => exit::ERROR,
            };
            ExitCode::from(code)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Put(a) => kv::put(&cli.target, a).await,
        Command::Get(a) => kv::get(&cli.target, a).await,
        Command::Head(a) => kv::head(&cli.target, a).await,
        Command::Delete(a) => kv::delete(&cli.target, a).await,
        Command::List(a) => kv::list(&cli.target, a).await,
        Command::Migrate(a) => migrate_cmd::run(a).await,
        Command::Bench(a) => bench_cmd::run(&cli.target, a).await,
        Command::Demo(a) => demo::run(a).await,
    }
}
