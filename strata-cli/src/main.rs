//! The `strata` command-line tool: look inside any store, move data between backends,
//! and measure them. Run `strata --help` for the commands and the exit codes.

// First, so that its `outln!` and `errln!` are in scope in every module after it.
#[macro_use]
mod out;

mod args;
mod bench;
mod bench_cmd;
mod demo;
mod kv;
mod migrate_cmd;
mod open;

use std::process::ExitCode;

use strata::ErrorKind;

use args::{Cli, Command};
use out::StdoutClosed;

/// Exit codes, so scripts can tell failures apart (`args::EXIT_CODES` lists them for
/// `--help`; clap's usage errors are 2).
mod exit {
    /// A store or I/O error.
    pub const ERROR: u8 = 1;
    /// get/head: no value is stored at the key.
    pub const NOT_FOUND: u8 = 3;
    /// A conditional put's condition did not hold.
    pub const CONDITION_FAILED: u8 = 4;
    /// A migration finished but verification found differences.
    pub const VERIFY_FAILED: u8 = 5;
    /// `--skip-corrupt` skipped damaged entries.
    pub const DAMAGED_SKIPPED: u8 = 6;
    /// The store itself does not exist (a store-level `NotFound`: path, database, bucket).
    pub const STORE_NOT_FOUND: u8 = 7;
    /// The backend refused access.
    pub const PERMISSION_DENIED: u8 = 8;
}

fn main() -> ExitCode {
    let cli = args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        // On a failed write it would report the failure with `eprintln!`, which panics
        // when stderr is a closed pipe.
        .log_internal_errors(false)
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            errln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(exit::ERROR);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(e) if e.is::<StdoutClosed>() => ExitCode::SUCCESS,
        Err(e) => {
            errln!("error: {e:#}");
            ExitCode::from(exit_code(&e))
        }
    }
}

/// The exit code for an error a command returned. A missing *key* never arrives here
/// (get and head report it themselves with [`exit::NOT_FOUND`]): every `NotFound` error
/// is about the store or something in it that is not a key.
///
/// The CLI's own file access (a value to put, a `--dir` to create) fails with a plain
/// `std::io::Error`: a refused one exits [`exit::PERMISSION_DENIED`] too, like a store's.
fn exit_code(e: &anyhow::Error) -> u8 {
    if let Some(e) = e.downcast_ref::<strata::Error>() {
        return match e.kind() {
            ErrorKind::AlreadyExists | ErrorKind::VersionMismatch => exit::CONDITION_FAILED,
            ErrorKind::NotFound => exit::STORE_NOT_FOUND,
            ErrorKind::PermissionDenied => exit::PERMISSION_DENIED,
            _ => exit::ERROR,
        };
    }
    let io = e
        .chain()
        .find_map(|cause| cause.downcast_ref::<std::io::Error>());
    match io.map(std::io::Error::kind) {
        Some(std::io::ErrorKind::PermissionDenied) => exit::PERMISSION_DENIED,
        _ => exit::ERROR,
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
        Command::Demo(a) => demo::run(&cli.target, a).await,
    }
}

#[cfg(test)]
mod tests {
    use strata::{Error, ErrorKind};

    use super::*;

    fn code(e: Error) -> u8 {
        exit_code(&anyhow::Error::from(e).context("opening s3://bucket/prefix"))
    }

    #[test]
    fn a_store_level_error_is_never_taken_for_a_missing_key() {
        // A missing bucket, path or database: exit 7, whether or not the backend names a
        // key (exit 3 is only ever returned by get/head for an `Ok(None)`).
        assert_eq!(
            code(Error::new(ErrorKind::NotFound, "bucket `b` does not exist")),
            exit::STORE_NOT_FOUND
        );
        assert_eq!(
            code(Error::new(ErrorKind::NotFound, "bucket `b` does not exist").with_key("k")),
            exit::STORE_NOT_FOUND
        );
        assert_eq!(
            code(Error::new(ErrorKind::PermissionDenied, "access denied")),
            exit::PERMISSION_DENIED
        );
        assert_eq!(code(Error::already_exists("k")), exit::CONDITION_FAILED);
        assert_eq!(
            code(Error::version_mismatch("k", "v1")),
            exit::CONDITION_FAILED
        );
        assert_eq!(code(Error::corrupted("k", "bad checksum")), exit::ERROR);
        assert_eq!(code(Error::unavailable("down")), exit::ERROR);
        assert_eq!(exit_code(&anyhow::anyhow!("anything else")), exit::ERROR);
        let io = |kind| anyhow::Error::new(std::io::Error::from(kind)).context("reading a file");
        assert_eq!(
            exit_code(&io(std::io::ErrorKind::PermissionDenied)),
            exit::PERMISSION_DENIED
        );
        // A missing input file is not a missing store.
        assert_eq!(exit_code(&io(std::io::ErrorKind::NotFound)), exit::ERROR);
    }
}
