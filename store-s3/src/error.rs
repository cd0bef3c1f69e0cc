//! Reading S3 failures: the HTTP status and S3 error code behind an object_store error,
//! whether retrying may help, and whether the failure is about the bucket (missing,
//! refused) rather than one key. [`Bucket`](crate::bucket::Bucket) turns these into
//! Strata errors.
//!
//! object_store's own text for a failed request embeds the server's whole answer (an XML
//! document of a few hundred bytes to kilobytes), so a Strata error never shows it: its
//! message says the status and the S3 code ([`summary`]); the object_store error stays
//! the cause, for code and for `Debug`.

use std::error::Error as StdError;

use object_store::client::{HttpError, HttpErrorKind};

/// S3 error codes that mean the credentials or the policies refused the request: the
/// same request fails the same way until someone changes keys or permissions.
const DENIED_CODES: &[&str] = &[
    "AccessDenied",
    "AccountProblem",
    "AllAccessDisabled",
    "ExpiredToken",
    "InvalidAccessKeyId",
    "InvalidToken",
    "SignatureDoesNotMatch",
    "TokenRefreshRequired",
];

/// S3 error codes worth retrying (the status alone says it for most, but some servers
/// send these with a 4xx status, and bulk deletes report them per key).
const TRANSIENT_CODES: &[&str] = &[
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "ServiceUnavailable",
    "InternalError",
    "RequestTimeout",
];

/// What a failed request says, as far as the error's text and types tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    /// The HTTP status, when the server answered.
    pub status: Option<u16>,
    /// The S3 error code (`NoSuchBucket`, `AccessDenied`, ...), when the answer had a
    /// body (HEAD answers never do).
    pub code: Option<String>,
    /// The server's one-line explanation (`<Message>`), when short enough to show.
    pub message: Option<String>,
}

impl Failure {
    /// Read `err` and its causes. object_store keeps its HTTP status and the response
    /// body inside private types, but prints both ("status code: 404 ...: <Error><Code>
    /// NoSuchBucket</Code>..."; bulk deletes "(code: AccessDenied)"), so they are read
    /// from the messages.
    pub fn of(err: &(dyn StdError + 'static)) -> Failure {
        let mut failure = Failure {
            status: None,
            code: None,
            message: None,
        };
        let mut current: Option<&(dyn StdError + 'static)> = Some(err);
        while let Some(e) = current {
            let text = e.to_string();
            failure.status = failure.status.or_else(|| status_in(&text));
            failure.code = failure.code.or_else(|| code_in(&text));
            failure.message = failure.message.or_else(|| message_in(&text));
            current = e.source();
        }
        failure
    }

    /// The server's answer in a few words, if it answered: `HTTP 412 PreconditionFailed`,
    /// `HTTP 403` (a HEAD answer has no body), `AccessDenied` (a bulk delete's report of
    /// one key).
    pub fn answer(&self) -> Option<String> {
        match (self.status, &self.code) {
            (Some(status), Some(code)) => Some(format!("HTTP {status} {code}")),
            (Some(status), None) => Some(format!("HTTP {status}")),
            (None, Some(code)) => Some(code.clone()),
            (None, None) => None,
        }
    }

    /// The bucket (container) does not exist: the answer's code is one of `codes` (the
    /// cloud's, from its [`Profile`](crate::cloud::Profile)).
    pub fn is_missing(&self, codes: &[&str]) -> bool {
        self.code
            .as_deref()
            .is_some_and(|code| codes.contains(&code))
    }

    /// The request was refused: a 401 / 403, or a code that says so.
    pub fn is_denied(&self) -> bool {
        matches!(self.status, Some(401 | 403))
            || self
                .code
                .as_deref()
                .is_some_and(|code| DENIED_CODES.contains(&code))
    }
}

/// What a 404 is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NotFound {
    /// The answer named the key missing (`NoSuchKey`, or another code that is not about
    /// the bucket).
    Key,
    /// The answer named the bucket missing.
    Bucket,
    /// The answer had no body (HEAD), so it does not say which.
    Unknown,
}

impl NotFound {
    /// Read what the 404 `err` is about, `missing_container` being the cloud's codes
    /// for a missing bucket.
    pub fn of(err: &object_store::Error, missing_container: &[&str]) -> NotFound {
        let failure = Failure::of(err);
        match failure.code {
            _ if failure.is_missing(missing_container) => NotFound::Bucket,
            Some(_) => NotFound::Key,
            None => NotFound::Unknown,
        }
    }
}

/// Whether a failure is worth retrying: a connection/transport error, a timeout,
/// throttling (429, `SlowDown`) or a server error (5xx).
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
        if code_in(&text).is_some_and(|code| TRANSIENT_CODES.contains(&code.as_str())) {
            return true;
        }
        current = e.source();
    }
    false
}

/// `what` failed with `err`, on one line without the server's body: `what (HTTP 500
/// InternalError): <the server's message>` for an answer, `what: <object_store's text up
/// to any body>` for a request that got none (a refused connection, a bad path).
pub(crate) fn summary(what: &str, err: &object_store::Error, failure: &Failure) -> String {
    match (failure.answer(), &failure.message) {
        (Some(answer), Some(message)) => format!("{what} ({answer}): {message}"),
        (Some(answer), None) => format!("{what} ({answer})"),
        (None, _) => format!("{what}: {}", without_body(&err.to_string())),
    }
}

/// What a failed condition's error says before its own message: `what (HTTP 412
/// PreconditionFailed)`. The server's explanation adds nothing to the error's kind.
pub(crate) fn condition(what: &str, failure: &Failure) -> String {
    match failure.answer() {
        Some(answer) => format!("{what} ({answer})"),
        None => what.to_owned(),
    }
}

/// `text` up to the first line break or markup (where a body would start), at most
/// `MAX_SHOWN` bytes.
fn without_body(text: &str) -> &str {
    const MAX_SHOWN: usize = 240;
    let mut end = text.find(['\n', '\r', '<']).unwrap_or(text.len());
    if end > MAX_SHOWN {
        end = MAX_SHOWN;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
    }
    text[..end].trim_end().trim_end_matches(':')
}

/// The HTTP status in a message: `status code: 404` (object_store's request errors) or
/// `(code: 404)` (its Azure bulk delete's report of one blob, which puts the status
/// where S3's puts a code).
fn status_in(text: &str) -> Option<u16> {
    let after = |mark: &str| {
        let at = text.find(mark)? + mark.len();
        text.get(at..at + 3)?.parse().ok()
    };
    after("status code: ").or_else(|| {
        let status: u16 = after("(code: ")?;
        let at = text.find("(code: ")? + "(code: ".len() + 3;
        (text.get(at..at + 1) == Some(")")).then_some(status)
    })
}

/// The S3 error code in a message: `<Code>X</Code>` (a response body) or `(code: X)`
/// (object_store's report of one failed key in a bulk delete).
fn code_in(text: &str) -> Option<String> {
    let between = |open: &str, close: &str| {
        let start = text.find(open)? + open.len();
        let len = text[start..].find(close)?;
        Some(text[start..start + len].trim().to_owned())
    };
    between("<Code>", "</Code>")
        .or_else(|| between("(code: ", ")"))
        // A number is an HTTP status printed where a code goes (object_store's Azure bulk
        // delete says "(code: 404)"), which does not say what is missing.
        .filter(|code| {
            !code.is_empty()
                && code.chars().all(|c| c.is_ascii_alphanumeric())
                && !code.chars().all(|c| c.is_ascii_digit())
        })
}

/// The server's `<Message>` in a response body, if it is one short line of plain text.
fn message_in(text: &str) -> Option<String> {
    const MAX_SHOWN: usize = 160;
    let start = text.find("<Message>")? + "<Message>".len();
    let len = text[start..].find("</Message>")?;
    let message = text[start..start + len].trim();
    let plain = !message.is_empty()
        && message.len() <= MAX_SHOWN
        && !message.contains(['<', '>', '&'])
        && !message.chars().any(char::is_control);
    plain.then(|| message.to_owned())
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
    fn statuses_and_codes_decide_retryable() {
        for (msg, transient) in [
            (
                "Server returned non-2xx status code: 503 Service Unavailable: ",
                true,
            ),
            (
                "Server returned non-2xx status code: 429 Too Many Requests: ",
                true,
            ),
            (
                "Server returned non-2xx status code: 400 Bad Request: ",
                false,
            ),
            (
                "Server returned error response: <Error><Code>SlowDown</Code></Error>",
                true,
            ),
            (
                "DeleteObjects request failed for key p/a: busy (code: InternalError)",
                true,
            ),
            (
                "Server returned non-2xx status code: 404 Not Found: ",
                false,
            ),
        ] {
            assert_eq!(is_transient(&generic(msg)), transient, "{msg}");
        }
    }

    #[test]
    fn reads_status_and_code() {
        let err = object_store::Error::NotFound {
            path: "p/k".into(),
            source: "Server returned non-2xx status code: 404 Not Found: <?xml version=\"1.0\"?><Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message></Error>".into(),
        };
        let failure = Failure::of(&err);
        assert_eq!(failure.status, Some(404));
        assert_eq!(failure.code.as_deref(), Some("NoSuchBucket"));
        assert!(failure.is_missing(&["NoSuchBucket"]));
        assert_eq!(NotFound::of(&err, &["NoSuchBucket"]), NotFound::Bucket);

        let key = object_store::Error::NotFound {
            path: "p/k".into(),
            source: "Server returned non-2xx status code: 404 Not Found: <Error><Code>NoSuchKey</Code></Error>".into(),
        };
        assert_eq!(NotFound::of(&key, &["NoSuchBucket"]), NotFound::Key);
        // A HEAD answer has no body.
        let head = object_store::Error::NotFound {
            path: "p/k".into(),
            source: "Server returned non-2xx status code: 404 Not Found: ".into(),
        };
        assert_eq!(NotFound::of(&head, &["NoSuchBucket"]), NotFound::Unknown);
        // object_store's Azure bulk delete prints the status where a code goes: it says
        // neither key nor container, so the container is checked.
        let bulk = object_store::Error::NotFound {
            path: "p/k".into(),
            source: "Bulk delete request failed for key p/k: The specified container does not exist. (code: 404)".into(),
        };
        assert_eq!(
            NotFound::of(&bulk, &["ContainerNotFound"]),
            NotFound::Unknown
        );
    }

    #[test]
    fn refusals_are_denied() {
        for msg in [
            "Server returned non-2xx status code: 403 Forbidden: ",
            "Server returned non-2xx status code: 400 Bad Request: <Error><Code>ExpiredToken</Code></Error>",
            "DeleteObjects request failed for key p/a: Access Denied (code: AccessDenied)",
        ] {
            assert!(Failure::of(&generic(msg)).is_denied(), "{msg}");
        }
        assert!(!Failure::of(&generic("status code: 404 Not Found: ")).is_denied());
        // Text that merely looks like a code is not one.
        assert_eq!(code_in("<Code>not a code</Code>"), None);
    }

    #[test]
    fn text_without_an_answer_is_cut_before_any_body() {
        assert_eq!(without_body("connect: refused\nmore"), "connect: refused");
        assert_eq!(without_body("error response: <html/>"), "error response");
        let long = "é".repeat(200);
        let cut = without_body(&long);
        assert!(cut.len() <= 240 && long.starts_with(cut), "{cut}");
        assert_eq!(
            message_in("<Message>Slow down</Message>").as_deref(),
            Some("Slow down")
        );
        assert_eq!(message_in("<Message>a &amp; b</Message>"), None);
        assert_eq!(
            message_in(&format!("<Message>{}</Message>", "x".repeat(161))),
            None
        );
    }
}
