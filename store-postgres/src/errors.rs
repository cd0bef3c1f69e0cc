//! tokio-postgres and pool failures as Strata errors: lost servers are retryable
//! `Unavailable`, refused logins `PermissionDenied`, a missing database `NotFound`.

use std::fmt;

use deadpool_postgres::PoolError;
use store_core::{Error, ErrorKind};
use tokio_postgres::error::SqlState;

/// What the store is connected to, for messages: `host:port/database as user` (never the
/// password).
#[derive(Clone, Debug)]
pub(crate) struct Target(pub(crate) String);

impl Target {
    pub(crate) fn of(config: &tokio_postgres::Config) -> Self {
        use tokio_postgres::config::Host;
        let host = match config.get_hosts().first() {
            Some(Host::Tcp(h)) => h.clone(),
            #[cfg(unix)]
            Some(Host::Unix(p)) => p.display().to_string(),
            None => "?".to_owned(),
        };
        let port = config.get_ports().first().copied().unwrap_or(5432);
        Target(format!(
            "{host}:{port}/{} as user `{}`",
            config.get_dbname().unwrap_or("?"),
            config.get_user().unwrap_or("?")
        ))
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A tokio-postgres error from doing `what` on `target`.
pub(crate) fn from_pg(what: &str, target: &Target, err: tokio_postgres::Error) -> Error {
    let Some(db) = err.as_db_error() else {
        // No answer from the server: refused, reset, closed or timed out.
        return Error::unavailable(format!(
            "{what}: PostgreSQL at {target} is unreachable or went away"
        ))
        .with_cause(err);
    };
    let code = db.code().clone();
    let message = db.message().to_owned();
    let kind = if code == SqlState::INVALID_PASSWORD
        || code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
        || code == SqlState::INSUFFICIENT_PRIVILEGE
    {
        ErrorKind::PermissionDenied
    } else if code == SqlState::INVALID_CATALOG_NAME {
        ErrorKind::NotFound
    } else if code.code().starts_with("08")
        || code.code().starts_with("57P")
        || code.code().starts_with("53")
        || code == SqlState::T_R_SERIALIZATION_FAILURE
        || code == SqlState::T_R_DEADLOCK_DETECTED
        || code == SqlState::QUERY_CANCELED
    {
        ErrorKind::Unavailable
    } else {
        ErrorKind::Backend
    };
    let explained = match kind {
        ErrorKind::PermissionDenied => format!("login refused by PostgreSQL at {target}"),
        ErrorKind::NotFound => format!("the database does not exist on PostgreSQL at {target}"),
        _ => format!("PostgreSQL at {target}"),
    };
    Error::new(
        kind,
        format!("{what}: {explained} (SQLSTATE {}: {message})", code.code()),
    )
    .with_cause(err)
}

/// A pool failure (no connection in time, or connecting failed).
pub(crate) fn from_pool(what: &str, target: &Target, err: PoolError) -> Error {
    match err {
        PoolError::Backend(e) => from_pg(what, target, e),
        PoolError::Timeout(_) => Error::unavailable(format!(
            "{what}: no connection to PostgreSQL at {target} within the connect timeout"
        ))
        .with_cause(err),
        PoolError::Closed => Error::new(ErrorKind::Closed, format!("{what}: the pool is closed")),
        other => Error::unavailable(format!("{what}: PostgreSQL at {target}")).with_cause(other),
    }
}

/// An operation that ran past the configured `op_timeout`.
pub(crate) fn timed_out(what: &str, target: &Target) -> Error {
    Error::unavailable(format!(
        "{what}: PostgreSQL at {target} did not answer within the operation timeout"
    ))
}
