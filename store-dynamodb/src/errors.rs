//! DynamoDB's answers as Strata errors: each names the table (and the key, where one is
//! at stake) and what the service said; never a credential.

use store_core::{Error, ErrorKind};

use crate::client::{ApiError, CallError};

/// `error` from an operation on `table` (at `endpoint`) as a Strata error. Conditions are
/// mapped by the callers that know which condition failed; this is everything else.
pub(crate) fn map(error: CallError, table: &str, endpoint: &str) -> Error {
    match error {
        CallError::Down(error) => error,
        CallError::Api(api) => map_api(api, table, endpoint),
    }
}

fn map_api(api: ApiError, table: &str, endpoint: &str) -> Error {
    let kind = match api.code.as_str() {
        _ if matches!(api.status, 401 | 403) => ErrorKind::PermissionDenied,
        "UnrecognizedClientException"
        | "InvalidSignatureException"
        | "AccessDeniedException"
        | "MissingAuthenticationTokenException"
        | "IncompleteSignatureException"
        | "ExpiredTokenException" => ErrorKind::PermissionDenied,
        "ResourceNotFoundException" => ErrorKind::NotFound,
        "ValidationException" | "SerializationException" => ErrorKind::InvalidInput,
        _ => ErrorKind::Backend,
    };
    let what = match kind {
        ErrorKind::PermissionDenied => format!("DynamoDB at {endpoint} refused the credentials"),
        ErrorKind::NotFound => format!("DynamoDB table `{table}` at {endpoint} does not exist"),
        _ => format!("DynamoDB table `{table}` at {endpoint}"),
    };
    Error::new(kind, format!("{what}: {api}")).with_cause(api)
}
