//! Writing to standard output and standard error without ever panicking.
//!
//! `println!` and `eprintln!` panic when the stream is gone (`strata list | head`, a
//! closed stderr pipe). Here a closed stdout ends the command quietly with status 0, as
//! `ripgrep` and `fd` do (the reader left; nothing failed), and stderr output is best
//! effort: if nobody can read a message, there is nobody to tell.

use std::fmt;
use std::io::Write;

/// Standard output was closed by its reader: the command stops, quietly, with status 0.
#[derive(Debug)]
pub struct StdoutClosed;

impl fmt::Display for StdoutClosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("standard output was closed")
    }
}

impl std::error::Error for StdoutClosed {}

/// Map a failed write to stdout: a closed pipe is [`StdoutClosed`], anything else an error.
pub fn stdout_error(e: std::io::Error) -> anyhow::Error {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        StdoutClosed.into()
    } else {
        anyhow::Error::new(e).context("writing standard output")
    }
}

/// Write bytes to stdout (and flush them).
pub fn write_stdout(bytes: &[u8]) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(stdout_error)
}

/// One line to stdout; see `outln!`.
pub fn line(args: fmt::Arguments<'_>) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{args}").map_err(stdout_error)
}

/// One line to stderr, ignoring failure; see `errln!`.
pub fn err_line(args: fmt::Arguments<'_>) {
    let _ = writeln!(std::io::stderr().lock(), "{args}");
}

/// `println!` that returns `Err(StdoutClosed)` (use with `?`) instead of panicking.
macro_rules! outln {
    ($($arg:tt)*) => { $crate::out::line(format_args!($($arg)*)) };
}

/// `eprintln!` that never panics.
macro_rules! errln {
    ($($arg:tt)*) => { $crate::out::err_line(format_args!($($arg)*)) };
}
