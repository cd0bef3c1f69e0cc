//! Redis errors as Strata errors: what the caller can do about them decides the kind.

use redis::{ErrorKind as RedisKind, RedisError};
use store_core::{Error, ErrorKind};

/// The server as messages name it (its URL without the password), and the password, so
/// that no message built from a client error can carry it.
#[derive(Clone, Debug)]
pub(crate) struct Server {
    shown: String,
    password: Option<store_core::Secret>,
}

impl Server {
    pub(crate) fn new(url: &str, shown: String) -> Self {
        let password = url::Url::parse(url)
            .ok()
            .and_then(|u| u.password().map(str::to_owned))
            .filter(|p| !p.is_empty())
            .map(store_core::Secret::new);
        Server { shown, password }
    }

    /// The URL without its password.
    pub(crate) fn shown(&self) -> &str {
        &self.shown
    }

    /// `err`'s text, with the password (should a client message ever hold it) removed.
    fn text(&self, err: &RedisError) -> String {
        let text = err.to_string();
        match &self.password {
            Some(p) => text.replace(p.expose(), "…"),
            None => text,
        }
    }

    /// The Strata error for `err`, met while doing `what`, with `err` as its cause (for
    /// code to inspect; its text is in the message, without any password).
    pub(crate) fn error(&self, what: &str, err: RedisError) -> Error {
        let error = self.classify(what, &err);
        match &self.password {
            // A client error that quotes the password must not travel as the cause.
            Some(p) if format!("{err:?}").contains(p.expose()) => error,
            _ => error.with_cause(err),
        }
    }

    fn classify(&self, what: &str, err: &RedisError) -> Error {
        let text = self.text(err);
        let shown = &self.shown;
        let code = err.code().unwrap_or("");
        if unreachable(err) || matches!(code, "LOADING" | "BUSY" | "MASTERDOWN" | "TRYAGAIN") {
            return Error::unavailable(format!("{what}: Redis at {shown} is unavailable: {text}"));
        }
        if err.kind() == RedisKind::AuthenticationFailed || matches!(code, "WRONGPASS" | "NOAUTH") {
            return Error::new(
                ErrorKind::PermissionDenied,
                format!("{what}: Redis at {shown} refused the credentials in the URL: {text}"),
            );
        }
        if text.contains("DB index is out of range") {
            return Error::new(
                ErrorKind::NotFound,
                format!("{what}: Redis at {shown} has no such database: {text}"),
            );
        }
        if err.kind() == RedisKind::Parse {
            return Error::new(
                ErrorKind::Backend,
                format!("{what}: {shown} did not answer as a Redis server: {text}"),
            );
        }
        Error::new(
            ErrorKind::Backend,
            format!("{what}: Redis at {shown}: {text}"),
        )
    }
}

/// Whether `err` says the server could not be reached or did not answer in time (the
/// request may or may not have reached it).
pub(crate) fn unreachable(err: &RedisError) -> bool {
    err.is_io_error()
        || err.is_timeout()
        || err.is_connection_dropped()
        || err.is_connection_refusal()
}

/// `Corrupted` for a stored entry whose fields do not parse.
pub(crate) fn damaged(key: &str, why: impl std::fmt::Display) -> Error {
    Error::corrupted(key, format!("the stored entry is damaged: {why}"))
}
