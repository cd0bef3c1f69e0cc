//! The one error type every store returns.

use std::fmt;
use std::sync::Arc;

/// What went wrong, independent of the backend that reported it.
///
/// Match on the kind, never on message text: messages are for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A key or prefix failed validation (rejected before any I/O).
    InvalidKey,
    /// A configuration map or URI was malformed: unknown field, wrong type, bad value.
    InvalidConfig,
    /// `PutMode::Create` found the key already present.
    AlreadyExists,
    /// `PutMode::Update` found a different version (or no value at all).
    VersionMismatch,
    /// Stored bytes failed a checksum, length or format check.
    Corrupted,
    /// The store does not support the requested operation.
    Unsupported,
    /// The backend could not be reached or is overloaded; usually worth retrying.
    Unavailable,
    /// A local I/O error.
    Io,
    /// Any other error reported by the underlying engine.
    Backend,
    /// The store was closed or its background worker has stopped.
    Closed,
    /// The requested object (an index, a named structure) does not exist.
    NotFound,
    /// A resource the store needs (a file lock, a database) is held by someone else.
    Locked,
    /// An argument that is not a key or a config failed validation (a vector of the wrong
    /// length, a non-finite number, ...). Rejected before any I/O.
    InvalidInput,
    /// The backend refused access: bad credentials, missing permissions, an ACL.
    PermissionDenied,
}

impl ErrorKind {
    /// A short lowercase description used at the start of error messages.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidKey => "invalid key",
            ErrorKind::InvalidConfig => "invalid config",
            ErrorKind::AlreadyExists => "already exists",
            ErrorKind::VersionMismatch => "version mismatch",
            ErrorKind::Corrupted => "corrupted data",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Io => "i/o error",
            ErrorKind::Backend => "backend error",
            ErrorKind::Closed => "store closed",
            ErrorKind::NotFound => "not found",
            ErrorKind::Locked => "locked",
            ErrorKind::InvalidInput => "invalid input",
            ErrorKind::PermissionDenied => "permission denied",
        }
    }

    /// Whether errors of this kind are retryable unless a backend says otherwise.
    pub fn retryable_by_default(self) -> bool {
        matches!(self, ErrorKind::Unavailable)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The underlying cause of an error, shared so that errors are cheap to clone.
pub type Cause = Arc<dyn std::error::Error + Send + Sync + 'static>;

/// The error type of every Strata store.
///
/// It carries an [`ErrorKind`], a human-readable message, the key involved (if any),
/// whether retrying may succeed, and the underlying cause (if any).
///
/// **Each cause is printed once.** The message already says what the cause said (the
/// constructors that take a cause, like [`Error::io`], fold its text into the message), so
/// `Display` prints kind, key and message, and [`source`](std::error::Error::source)
/// returns `None`: a reporter that walks the source chain (`anyhow`'s `{:#}`) prints
/// nothing twice. The cause itself stays available to code through [`Error::cause`], for
/// downcasting (to `std::io::Error`, say) and for `Debug`.
///
/// Errors are `Clone` (the cause is shared), so a result delivered to several waiters
/// keeps its kind, key, retryable flag and cause.
#[derive(Clone)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    key: Option<String>,
    retryable: bool,
    cause: Option<Cause>,
}

/// `Result` with [`Error`] as the error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A new error of `kind` with a message; retryable per [`ErrorKind::retryable_by_default`].
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            key: None,
            retryable: kind.retryable_by_default(),
            cause: None,
        }
    }

    /// Attach the key the error is about.
    pub fn with_key(mut self, key: impl fmt::Display) -> Self {
        self.key = Some(key.to_string());
        self
    }

    /// Attach the underlying cause, for code to inspect ([`Error::cause`]). It is not
    /// printed: say in the message what of it a person needs to read.
    pub fn with_cause(
        mut self,
        cause: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        self.cause = Some(Arc::from(cause.into()));
        self
    }

    /// Replace the message (to take something out of it).
    pub(crate) fn with_message(mut self, message: String) -> Self {
        self.message = message;
        self
    }

    /// Override whether retrying may succeed.
    pub fn with_retryable(mut self, retryable: bool) -> Self {
        self.retryable = retryable;
        self
    }

    /// The same error with `context` in front of its message (`context: message`); kind,
    /// key, retryable flag and cause are kept.
    pub fn context(mut self, context: impl fmt::Display) -> Self {
        self.message = if self.message.is_empty() {
            context.to_string()
        } else {
            format!("{context}: {}", self.message)
        };
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message, without kind or key.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The key involved, if there is one.
    pub fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }

    /// The key of the one damaged entry this error reports, if it is such an error (kind
    /// [`Corrupted`](ErrorKind::Corrupted) with a key). A `list` stream yields these and
    /// goes on ([`Store::list`](crate::Store::list)), so a caller may report and skip them;
    /// any other error ends the stream.
    pub fn damaged_key(&self) -> Option<&str> {
        match self.kind {
            ErrorKind::Corrupted => self.key(),
            _ => None,
        }
    }

    /// Whether the same call may succeed if retried later.
    pub fn retryable(&self) -> bool {
        self.retryable
    }

    /// The underlying cause, if one was attached (its text is already in the message).
    pub fn cause(&self) -> Option<&(dyn std::error::Error + Send + Sync + 'static)> {
        self.cause.as_deref()
    }

    /// `InvalidKey` for a raw key string and the rule it breaks.
    pub fn invalid_key(raw: &str, reason: impl fmt::Display) -> Self {
        let shown: String = raw.chars().take(80).flat_map(char::escape_debug).collect();
        Error::new(ErrorKind::InvalidKey, format!("{reason}")).with_key(shown)
    }

    /// `InvalidConfig` naming the offending field.
    pub fn invalid_config(field: &str, reason: impl fmt::Display) -> Self {
        Error::new(
            ErrorKind::InvalidConfig,
            format!("field `{field}`: {reason}"),
        )
    }

    /// `AlreadyExists` for a `Create` put on an existing key.
    pub fn already_exists(key: impl fmt::Display) -> Self {
        Error::new(ErrorKind::AlreadyExists, "the key already exists").with_key(key)
    }

    /// `VersionMismatch` for an `Update` put whose expected version is not current.
    pub fn version_mismatch(key: impl fmt::Display, expected: impl fmt::Display) -> Self {
        Error::new(
            ErrorKind::VersionMismatch,
            format!("expected version {expected} is not the current version"),
        )
        .with_key(key)
    }

    /// `Corrupted` for stored bytes that failed verification.
    pub fn corrupted(key: impl fmt::Display, reason: impl fmt::Display) -> Self {
        Error::new(ErrorKind::Corrupted, reason.to_string()).with_key(key)
    }

    /// `Unsupported` for an operation the store does not offer.
    pub fn unsupported(what: impl fmt::Display) -> Self {
        Error::new(ErrorKind::Unsupported, what.to_string())
    }

    /// `Unavailable` (retryable) for a backend that cannot be reached right now.
    pub fn unavailable(what: impl fmt::Display) -> Self {
        Error::new(ErrorKind::Unavailable, what.to_string())
    }

    /// An error wrapping a local I/O error, with a note on what was being done. Its kind
    /// says what the operator must fix: `PermissionDenied` for a refused access (the
    /// permissions, not the disk), `NotFound` for a missing file or directory, `Io` for
    /// anything else (retryable if the call was interrupted or would have blocked).
    pub fn io(context: impl fmt::Display, err: std::io::Error) -> Self {
        use std::io::ErrorKind as Io;
        let kind = match err.kind() {
            Io::PermissionDenied => ErrorKind::PermissionDenied,
            Io::NotFound => ErrorKind::NotFound,
            _ => ErrorKind::Io,
        };
        let retryable = matches!(err.kind(), Io::Interrupted | Io::WouldBlock);
        Error::new(kind, format!("{context}: {err}"))
            .with_retryable(retryable)
            .with_cause(err)
    }

    /// `Backend` for an engine error that maps to no more precise kind.
    pub fn backend(
        context: impl fmt::Display,
        err: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        let err = err.into();
        Error::new(ErrorKind::Backend, format!("{context}: {err}")).with_cause(err)
    }

    /// `InvalidInput` for an argument that failed validation.
    pub fn invalid_input(reason: impl fmt::Display) -> Self {
        Error::new(ErrorKind::InvalidInput, reason.to_string())
    }

    /// `Closed` for a store whose worker has stopped.
    pub fn closed(what: impl fmt::Display) -> Self {
        Error::new(ErrorKind::Closed, what.to_string())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.kind)?;
        if let Some(key) = &self.key {
            write!(f, " (key `{key}`)")?;
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        Ok(())
    }
}

// No `source()`: the cause's text is part of the message (see the type's docs).
impl std::error::Error for Error {}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.kind).field("message", &self.message);
        if let Some(key) = &self.key {
            d.field("key", key);
        }
        d.field("retryable", &self.retryable);
        if let Some(cause) = &self.cause {
            d.field("cause", cause);
        }
        d.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_kind_key_and_message() {
        let e = Error::already_exists("a/b");
        assert_eq!(
            e.to_string(),
            "already exists (key `a/b`): the key already exists"
        );
        assert!(!e.retryable());
        assert!(Error::unavailable("down").retryable());
    }

    #[test]
    fn only_a_corrupted_error_with_a_key_is_a_damaged_entry() {
        assert_eq!(
            Error::corrupted("a/b", "bad checksum").damaged_key(),
            Some("a/b")
        );
        assert_eq!(
            Error::new(ErrorKind::Corrupted, "bad page").damaged_key(),
            None
        );
        assert_eq!(Error::already_exists("a/b").damaged_key(), None);
    }

    #[test]
    fn a_cause_is_printed_once_and_kept() {
        use std::error::Error as _;
        let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "Permission denied");
        let e = Error::io("open `/x`", io).with_key("k");
        let shown = e.to_string();
        assert_eq!(shown.matches("Permission denied").count(), 1, "{shown}");
        assert!(e.source().is_none(), "the cause must not be returned again");
        let copy = e.clone();
        let cause = copy
            .cause()
            .and_then(|c| c.downcast_ref::<std::io::Error>());
        assert_eq!(
            cause.map(|c| c.kind()),
            Some(std::io::ErrorKind::PermissionDenied)
        );
        assert_eq!(
            (copy.kind(), copy.key()),
            (ErrorKind::PermissionDenied, Some("k"))
        );
    }

    #[test]
    fn an_io_error_is_classified_by_what_the_operator_must_fix() {
        use std::io::{Error as IoError, ErrorKind as Io};
        for (io, kind, retryable) in [
            (Io::PermissionDenied, ErrorKind::PermissionDenied, false),
            (Io::NotFound, ErrorKind::NotFound, false),
            (Io::Interrupted, ErrorKind::Io, true),
            (Io::WouldBlock, ErrorKind::Io, true),
            (Io::StorageFull, ErrorKind::Io, false),
            (Io::Other, ErrorKind::Io, false),
        ] {
            let e = Error::io("writing `/x`", IoError::from(io));
            assert_eq!((e.kind(), e.retryable()), (kind, retryable), "{io:?}: {e}");
            assert!(e.message().starts_with("writing `/x`: "), "{e}");
            let cause = e.cause().and_then(|c| c.downcast_ref::<IoError>());
            assert_eq!(cause.map(IoError::kind), Some(io), "the cause is kept");
        }
    }

    #[test]
    fn context_keeps_everything_else() {
        let e = Error::unavailable("down")
            .with_key("a")
            .context("reading config.toml");
        assert_eq!(e.message(), "reading config.toml: down");
        assert_eq!(e.key(), Some("a"));
        assert!(e.retryable());
    }

    #[test]
    fn invalid_key_escapes_control_characters() {
        let e = Error::invalid_key("a\u{0}b", "contains a control character");
        assert_eq!(e.key(), Some("a\\0b"));
    }
}
