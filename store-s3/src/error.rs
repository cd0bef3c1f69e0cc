//! Mapping object_store errors to Strata's `ErrorKind`s, with the retryable flag set for
//! throttling, server errors and connection failures.

use std::error::Error as StdError;

use object_store::client::{HttpError, HttpErrorKind};
use store_core::{Error, ErrorKind, Key};

/// Map an object_store error about `key` (if any) to a Strata error.
///
/// Messages come from object_store, which never prints credentials (requests are signed,
/// and the secret is not part of any URL or header it reports).
pub(crate) fn map(err: object_store::Error, what: &str, key: Option<&Key>) -> Error {
    use object_store::Error as E;
    let mapped = match &err {
        E::NotFound { .. } => Error::new(ErrorKind::NotFound, format!("{what}: {err}")),
        E::AlreadyExists { .. } => Error::new(ErrorKind::AlreadyExists, "the key already exists"),
        E::Precondition { .. } => Error::new(
            ErrorKind::VersionMismatch,
            "the expected version is not the current version",
        ),
        E::InvalidPath { .. } => Error::new(ErrorKind::InvalidKey, format!("{what}: {err}")),
        E::NotSupported { .. } | E::NotImplemented { .. } => {
            Error::unsupported(format!("{what}: {err}"))
        }
        E::UnknownConfigurationKey { .. } => {
            Error::new(ErrorKind::InvalidConfig, format!("{what}: {err}"))
        }
        _ if is_transient(&err) => Error::unavailable(format!("{what}: {err}")),
        _ => Error::new(ErrorKind::Backend, format!("{what}: {err}")).with_retryable(false),
    };
    let mapped = mapped.with_source(err);
    match key {
        Some(key) => mapped.with_key(key),
        None => mapped,
    }
}

/// Whether a failure is worth retrying: a connection/transport error, a timeout,
/// throttling (429, `SlowDown`) or a server error (5xx).
///
/// object_store keeps the HTTP status inside a private type, so the status is read from
/// its message ("status code: 503 ...") while transport errors are found by type.
pub(crate) fn is_transient(err: &(dyn StdError + 'static)) -> bool {
    let mut current: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = current {
        if let Some(http) = e.downcast_ref::<HttpError>() {
            return matches!(
                http.kind(),
                HttpErrorKind::Connect
                    | HttpErrorKind::Request
                    | HttpErrorKind::Timeout
                    | HttpErrorKind::Interrupted
            );
        }
        let text = e.to_string();
        if let Some(status) = status_in(&text) {
            return status == 429 || status >= 500;
        }
        if [
            "SlowDown",
            "Throttl",
            "ServiceUnavailable",
            "InternalError",
            "RequestTimeout",
        ]
        .iter()
        .any(|code| text.contains(&format!("<Code>{code}")))
        {
            return true;
        }
        current = e.source();
    }
    false
}

fn status_in(text: &str) -> Option<u16> {
    const MARK: &str = "status code: ";
    let at = text.find(MARK)? + MARK.len();
    text.get(at..at + 3)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generic(msg: &str) -> object_store::Error {
        object_store::Error::Generic {
            store: "S3",
            source: msg.to_owned().into(),
        }
    }

    #[test]
    fn statuses_decide_retryable() {
        let e = map(
            generic("Server returned non-2xx status code: 503 Service Unavailable: "),
            "get",
            None,
        );
        assert_eq!(e.kind(), ErrorKind::Unavailable);
        assert!(e.retryable());
        let e = map(
            generic("Server returned non-2xx status code: 429 Too Many Requests: "),
            "put",
            None,
        );
        assert!(e.retryable());
        let e = map(
            generic("Server returned non-2xx status code: 400 Bad Request: "),
            "put",
            None,
        );
        assert_eq!(e.kind(), ErrorKind::Backend);
        assert!(!e.retryable());
        let e = map(
            generic("Server returned error response: <Error><Code>SlowDown</Code></Error>"),
            "put",
            None,
        );
        assert!(e.retryable());
    }

    #[test]
    fn conditions_map_to_their_kinds() {
        let key = Key::new("a/b").unwrap();
        let e = map(
            object_store::Error::Precondition {
                path: "p/a/b".into(),
                source: "412".into(),
            },
            "put",
            Some(&key),
        );
        assert_eq!(e.kind(), ErrorKind::VersionMismatch);
        assert_eq!(e.key(), Some("a/b"));
        assert!(!e.retryable());
        let e = map(
            object_store::Error::AlreadyExists {
                path: "p/a/b".into(),
                source: "412".into(),
            },
            "put",
            Some(&key),
        );
        assert_eq!(e.kind(), ErrorKind::AlreadyExists);
    }
}
