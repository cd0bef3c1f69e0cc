//! The bucket (or Azure container) a store lives in: its name, its cloud, whether it is
//! known to exist, and the mapping of object_store failures to Strata errors, which tells
//! failures of the bucket (missing, refused) from failures of one key. One mapping for
//! every cloud: the cloud's [`Profile`] says which codes mean a missing container.
//!
//! A missing bucket must never read as a missing key. GET, PUT and DELETE answers say
//! which in their body (`NoSuchBucket` vs `NoSuchKey`), but a HEAD answer has no body:
//! its 404 is the same for both. So the first bodiless 404 is checked with one listing
//! request of at most one key; once the bucket is seen to exist (that check, or any
//! request that succeeded), later bodiless 404s are read as missing keys, until an
//! answer says `NoSuchBucket` again.

use std::sync::atomic::{AtomicBool, Ordering};

use store_core::{Error, ErrorKind, Key};

use crate::cloud::Profile;
use crate::error::{Failure, condition, is_transient, summary};

/// The bucket's name and what is known about it.
#[derive(Debug)]
pub(crate) struct Bucket {
    name: String,
    /// Seen to exist (a request on it succeeded) since the last `NoSuchBucket`.
    known: AtomicBool,
    profile: &'static Profile,
}

impl Bucket {
    pub fn new(name: impl Into<String>, profile: &'static Profile) -> Bucket {
        Bucket {
            name: name.into(),
            known: AtomicBool::new(false),
            profile,
        }
    }

    /// The cloud the bucket is on.
    pub fn profile(&self) -> &'static Profile {
        self.profile
    }

    /// Whether `failure` says the bucket does not exist.
    pub fn is_missing(&self, failure: &Failure) -> bool {
        failure.is_missing(self.profile.missing_container)
    }

    /// The bucket's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether a request on the bucket succeeded since the last `NoSuchBucket`.
    pub fn known(&self) -> bool {
        self.known.load(Ordering::Relaxed)
    }

    /// A request on the bucket succeeded: it exists.
    pub fn seen(&self) {
        self.known.store(true, Ordering::Relaxed);
    }

    /// `NotFound` for the bucket itself: no key, since no key is to blame.
    pub fn missing(&self, what: &str) -> Error {
        self.known.store(false, Ordering::Relaxed);
        let code = self
            .profile
            .missing_container
            .first()
            .copied()
            .unwrap_or("");
        Error::new(
            ErrorKind::NotFound,
            format!(
                "{what}: {} `{}` does not exist ({code})",
                self.profile.container, self.name
            ),
        )
        .with_retryable(false)
    }

    /// Map an object_store error from `what` (an operation, as "get") about `key` (if
    /// any) to a Strata error.
    ///
    /// The message is one line: what failed and the server's status and code, or, for a
    /// request that got no answer, object_store's text up to any body ([`summary`]). It
    /// never prints credentials: object_store does not (requests are signed, and the
    /// secret is not part of any URL or header it reports). The object_store error is
    /// the cause.
    pub fn map(&self, err: object_store::Error, what: &str, key: Option<&Key>) -> Error {
        use object_store::Error as E;
        let failure = Failure::of(&err);
        if self.is_missing(&failure) {
            return self.missing(what).with_cause(err);
        }
        let said = || summary(what, &err, &failure);
        let mapped = match &err {
            E::PermissionDenied { .. } | E::Unauthenticated { .. } => self.denied(what, &failure),
            _ if failure.is_denied() => self.denied(what, &failure),
            E::NotFound { .. } => Error::new(ErrorKind::NotFound, said()),
            E::AlreadyExists { .. } => {
                Error::new(ErrorKind::AlreadyExists, "the key already exists")
                    .context(condition(what, &failure))
            }
            E::Precondition { .. } => Error::new(
                ErrorKind::VersionMismatch,
                "the expected version is not the current version",
            )
            .context(condition(what, &failure)),
            E::InvalidPath { .. } => Error::new(ErrorKind::InvalidKey, said()),
            E::NotSupported { .. } | E::NotImplemented { .. } => Error::unsupported(said()),
            E::UnknownConfigurationKey { .. } => Error::new(ErrorKind::InvalidConfig, said()),
            _ if is_transient(&err) => Error::unavailable(said()),
            _ => Error::new(ErrorKind::Backend, said()).with_retryable(false),
        };
        let mapped = mapped.with_cause(err);
        match key {
            Some(key) => mapped.with_key(key),
            None => mapped,
        }
    }

    /// `PermissionDenied`: the credentials or a policy refused access to the bucket (or
    /// to the key, which a policy can single out). The message names the server's code;
    /// its whole answer is the cause.
    fn denied(&self, what: &str, failure: &Failure) -> Error {
        let why = failure.answer().unwrap_or_else(|| "refused".to_owned());
        Error::new(
            ErrorKind::PermissionDenied,
            format!(
                "{what}: access to {} `{}` denied ({why})",
                self.profile.container, self.name
            ),
        )
        .with_retryable(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: &str, body: &str) -> Box<dyn std::error::Error + Send + Sync> {
        format!("Server returned non-2xx status code: {status}: {body}").into()
    }

    #[test]
    fn a_missing_bucket_names_the_bucket_and_no_key() {
        let bucket = Bucket::new("photos", &crate::cloud::S3_PROFILE);
        bucket.seen();
        let key = Key::new("a/b").unwrap();
        let err = bucket.map(
            object_store::Error::NotFound {
                path: "p/a/b".into(),
                source: status("404 Not Found", "<Error><Code>NoSuchBucket</Code></Error>"),
            },
            "get",
            Some(&key),
        );
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert_eq!(err.key(), None, "{err}");
        assert!(err.to_string().contains("bucket `photos`"), "{err}");
        assert!(!err.retryable());
        assert!(!bucket.known(), "a NoSuchBucket answer forgets the bucket");
        // The same answer dressed as a failed If-Match (object_store turns a 404 of a
        // conditional update into `Precondition`) is still the bucket.
        let err = bucket.map(
            object_store::Error::Precondition {
                path: "p/a/b".into(),
                source: status("404 Not Found", "<Error><Code>NoSuchBucket</Code></Error>"),
            },
            "put",
            Some(&key),
        );
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert_eq!(err.key(), None);
    }

    #[test]
    fn refusals_are_permission_denied() {
        let bucket = Bucket::new("photos", &crate::cloud::S3_PROFILE);
        let key = Key::new("k").unwrap();
        let errors = [
            object_store::Error::PermissionDenied {
                path: "k".into(),
                source: status("403 Forbidden", ""),
            },
            object_store::Error::Unauthenticated {
                path: "k".into(),
                source: status("401 Unauthorized", ""),
            },
            object_store::Error::Generic {
                store: "S3",
                source: status(
                    "403 Forbidden",
                    "<Error><Code>SignatureDoesNotMatch</Code></Error>",
                ),
            },
        ];
        for err in errors {
            let err = bucket.map(err, "get", Some(&key));
            assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
            assert!(!err.retryable());
            assert!(err.to_string().contains("bucket `photos`"), "{err}");
        }
    }

    #[test]
    fn conditions_map_to_their_kinds() {
        let bucket = Bucket::new("b", &crate::cloud::S3_PROFILE);
        let key = Key::new("a/b").unwrap();
        let e = bucket.map(
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
        let e = bucket.map(
            object_store::Error::AlreadyExists {
                path: "p/a/b".into(),
                source: "412".into(),
            },
            "put",
            Some(&key),
        );
        assert_eq!(e.kind(), ErrorKind::AlreadyExists);
        let e = bucket.map(
            object_store::Error::Generic {
                store: "S3",
                source: status("503 Service Unavailable", ""),
            },
            "get",
            None,
        );
        assert_eq!(e.kind(), ErrorKind::Unavailable);
        assert!(e.retryable());
    }

    /// An answer's body, as object_store prints it: an XML document of a kilobyte or more.
    fn body(code: &str, message: &str) -> String {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code>\
             <Message>{message}</Message><RequestId>{}</RequestId></Error>",
            "x".repeat(1500)
        )
    }

    #[test]
    fn a_message_is_one_line_with_the_code_and_never_the_body() {
        let bucket = Bucket::new("b", &crate::cloud::S3_PROFILE);
        let key = Key::new("a/b").unwrap();
        let cases = [
            (
                object_store::Error::Precondition {
                    path: "p/a/b".into(),
                    source: status(
                        "412 Precondition Failed",
                        &body(
                            "PreconditionFailed",
                            "At least one of the pre-conditions you specified did not hold",
                        ),
                    ),
                },
                "put (HTTP 412 PreconditionFailed): the expected version is not the current version",
            ),
            (
                object_store::Error::AlreadyExists {
                    path: "p/a/b".into(),
                    source: status("412 Precondition Failed", &body("PreconditionFailed", "no")),
                },
                "put (HTTP 412 PreconditionFailed): the key already exists",
            ),
            (
                object_store::Error::Generic {
                    store: "S3",
                    source: status(
                        "503 Service Unavailable",
                        &body("SlowDown", "Please reduce your request rate."),
                    ),
                },
                "put (HTTP 503 SlowDown): Please reduce your request rate.",
            ),
            (
                object_store::Error::Generic {
                    store: "S3",
                    source: status(
                        "400 Bad Request",
                        &body("InvalidArgument", &"long ".repeat(60)),
                    ),
                },
                "put (HTTP 400 InvalidArgument)",
            ),
            (
                object_store::Error::Generic {
                    store: "S3",
                    source: "Server returned error response: <html>bad gateway</html>".into(),
                },
                "put: Generic S3 error: Server returned error response",
            ),
        ];
        for (err, message) in cases {
            let shown = format!("{err}");
            let err = bucket.map(err, "put", Some(&key));
            assert_eq!(err.message(), message, "{shown}");
            assert_eq!(err.key(), Some("a/b"));
            assert!(err.cause().is_some(), "the answer is kept as the cause");
        }
        // Refusals say the code the same way.
        let err = bucket.map(
            object_store::Error::Generic {
                store: "S3",
                source: status("403 Forbidden", &body("SignatureDoesNotMatch", "no")),
            },
            "get",
            Some(&key),
        );
        assert_eq!(
            err.message(),
            "get: access to bucket `b` denied (HTTP 403 SignatureDoesNotMatch)"
        );
    }
}
