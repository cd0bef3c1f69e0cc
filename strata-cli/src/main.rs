//! The `strata` command-line tool: look inside any store, move data between backends,
//! and measure them. Run `strata --help` for the commands and the exit codes.

// First, so that its `outln!` and `errln!` are in scope in every module after it.
#[macro_use]
mod out;

mod args;
mod bench;
mod bench_cmd;
mod demo;
mod gc_cmd;
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
/// An access the OS refused exits [`exit::PERMISSION_DENIED`] too when it arrives as a
/// plain I/O failure: a store error of another kind whose cause is `EACCES`, or the CLI's
/// own file access (a value to put, a `--dir` to create).
fn exit_code(e: &anyhow::Error) -> u8 {
    let store = e.downcast_ref::<strata::Error>();
    match store.map(strata::Error::kind) {
        Some(ErrorKind::AlreadyExists | ErrorKind::VersionMismatch) => exit::CONDITION_FAILED,
        Some(ErrorKind::NotFound) => exit::STORE_NOT_FOUND,
        Some(ErrorKind::PermissionDenied) => exit::PERMISSION_DENIED,
        _ if refused_by_the_os(e, store) => exit::PERMISSION_DENIED,
        _ => exit::ERROR,
    }
}

/// Whether an I/O error with kind `PermissionDenied` is behind `e`: in the store error's
/// cause (which `source()` does not return, so that it prints once) or in the chain.
fn refused_by_the_os(e: &anyhow::Error, store: Option<&strata::Error>) -> bool {
    let store_cause = store
        .and_then(strata::Error::cause)
        .and_then(|cause| cause.downcast_ref::<std::io::Error>());
    store_cause
        .into_iter()
        .chain(
            e.chain()
                .filter_map(|cause| cause.downcast_ref::<std::io::Error>()),
        )
        .any(|io| io.kind() == std::io::ErrorKind::PermissionDenied)
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
        Command::Gc(a) => gc_cmd::run(&cli.target, a).await,
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
        // A store's I/O error caused by EACCES.
        let eacces = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        assert_eq!(
            code(Error::io("read `/x.redb`", eacces)),
            exit::PERMISSION_DENIED
        );
        let enospc = std::io::Error::from(std::io::ErrorKind::StorageFull);
        assert_eq!(code(Error::io("write `/x.redb`", enospc)), exit::ERROR);
    }
}
