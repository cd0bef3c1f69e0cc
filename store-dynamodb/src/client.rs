//! A small signed JSON client for DynamoDB's API: one POST per operation, signed with
//! SigV4 (the `aws-sigv4` crate), sent with reqwest (already in the tree for
//! object_store), retried with backoff while the service throttles, fails (5xx) or cannot
//! be reached.

use std::time::{Duration, SystemTime};

use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use serde_json::Value;
use store_core::{Error, Result};

use crate::config::{Credentials, DynamoConfig};

/// An error answer from the service, after any retries.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    /// The HTTP status.
    pub(crate) status: u16,
    /// The exception name without its namespace (`ConditionalCheckFailedException`).
    pub(crate) code: String,
    /// The service's message.
    pub(crate) message: String,
    /// The whole answer (for `CancellationReasons`).
    pub(crate) body: Value,
    /// Whether an earlier attempt of this call may have reached the service and applied
    /// (its answer was lost): a conditional write must then check whether it was its own.
    pub(crate) after_ambiguous: bool,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if !self.code.starts_with("HTTP ") {
            write!(f, "{} (HTTP {})", self.code, self.status)?;
        } else {
            f.write_str(&self.code)?;
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

/// How a call failed.
#[derive(Debug)]
pub(crate) enum CallError {
    /// The service answered with an error that retrying does not fix.
    Api(ApiError),
    /// The service could not be reached, or kept throttling or failing, through every
    /// retry: a retryable `Unavailable` error.
    Down(Error),
}

/// Exceptions that mean "try again later": nothing was applied.
const RETRIED_CODES: &[&str] = &[
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "TransactionInProgressException",
    "TransactionConflictException",
    "InternalServerError",
    "ServiceUnavailable",
];

/// The shared HTTP client, signing credentials and retry policy.
pub(crate) struct Client {
    http: reqwest::Client,
    endpoint: url::Url,
    host: String,
    region: String,
    credentials: Credentials,
    max_retries: u32,
}

impl Client {
    /// A client for `config`'s endpoint, region and credentials.
    pub(crate) fn new(config: &DynamoConfig) -> Result<Self> {
        let endpoint = config.resolved_endpoint()?;
        let host = match (endpoint.host_str(), endpoint.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_owned(),
            (None, _) => return Err(Error::invalid_config("endpoint", "has no host")),
        };
        let http = reqwest::Client::builder()
            .timeout(config.timeout_duration())
            .connect_timeout(config.timeout_duration())
            .build()
            .map_err(|e| Error::backend("building the HTTP client", e))?;
        Ok(Client {
            http,
            endpoint,
            host,
            region: config.resolved_region(),
            credentials: config.resolved_credentials()?,
            max_retries: config.max_retries,
        })
    }

    /// The endpoint, for messages (it holds no secret).
    pub(crate) fn endpoint(&self) -> &str {
        self.endpoint.as_str()
    }

    /// Call operation `op` (`PutItem`, `Query`, ...) with `body`, retrying what the service
    /// says to retry and what never reached it.
    pub(crate) async fn call(
        &self,
        op: &str,
        body: &Value,
    ) -> std::result::Result<Value, CallError> {
        let payload = serde_json::to_vec(body).map_err(|e| {
            CallError::Down(Error::backend(
                format!("encoding a DynamoDB {op} request"),
                e,
            ))
        })?;
        let mut ambiguous = false;
        let mut attempt = 0;
        loop {
            let failure = match self.send(op, &payload).await {
                Ok((status, answer)) if status < 300 => return Ok(answer),
                Ok((status, answer)) => {
                    let error = api_error(status, answer, ambiguous);
                    if !is_retried(&error) {
                        return Err(CallError::Api(error));
                    }
                    Error::unavailable(format!(
                        "DynamoDB at {} kept failing {op} ({})",
                        self.endpoint, error.code
                    ))
                    .with_cause(error)
                }
                Err(Sent::Local(error)) => return Err(CallError::Down(error)),
                Err(Sent::Transport(e)) => {
                    // A refused connection never carried the request; anything later may have.
                    ambiguous |= !e.is_connect();
                    Error::unavailable(format!("DynamoDB at {} did not answer {op}", self.endpoint))
                        .with_cause(e)
                }
            };
            if attempt >= self.max_retries {
                return Err(CallError::Down(failure));
            }
            tokio::time::sleep(backoff(attempt)).await;
            attempt += 1;
        }
    }

    /// One signed POST; the status and the parsed answer.
    async fn send(&self, op: &str, payload: &[u8]) -> std::result::Result<(u16, Value), Sent> {
        let target = format!("DynamoDB_20120810.{op}");
        let mut request = http::Request::builder()
            .method("POST")
            .uri(self.endpoint.as_str())
            .header("host", &self.host)
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amz-target", &target)
            .body(payload.to_vec())
            .map_err(|e| Sent::Local(Error::backend("building a DynamoDB request", e)))?;
        self.sign(&mut request, payload).map_err(Sent::Local)?;
        let request = reqwest::Request::try_from(request)
            .map_err(|e| Sent::Local(Error::backend("building a DynamoDB request", e)))?;
        let response = self.http.execute(request).await.map_err(Sent::Transport)?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.map_err(Sent::Transport)?;
        // Error answers from proxies (and moto's auth errors) may not be JSON: their text,
        // cut short, becomes the message.
        let answer = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
            let text = String::from_utf8_lossy(&bytes);
            let cut: String = text.chars().take(300).collect();
            serde_json::json!({"message": cut.trim()})
        });
        if status < 300 && !answer.is_object() {
            return Err(Sent::Local(Error::backend(
                format!("DynamoDB at {} answered {op}", self.endpoint),
                "not a JSON object",
            )));
        }
        Ok((status, answer))
    }

    /// Add the SigV4 headers to `request`.
    fn sign(&self, request: &mut http::Request<Vec<u8>>, payload: &[u8]) -> Result<()> {
        let creds = &self.credentials;
        let identity = aws_credential_types::Credentials::new(
            &creds.access_key_id,
            creds.secret_access_key.expose(),
            creds.session_token.as_ref().map(|t| t.expose().to_owned()),
            None,
            "strata",
        )
        .into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("dynamodb")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| Error::backend("signing a DynamoDB request", e))?
            .into();
        let headers = request
            .headers()
            .iter()
            .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)));
        let signable = SignableRequest::new(
            "POST",
            self.endpoint.as_str(),
            headers,
            SignableBody::Bytes(payload),
        )
        .map_err(|e| Error::backend("signing a DynamoDB request", e))?;
        let (instructions, _signature) = sign(signable, &params)
            .map_err(|e| Error::backend("signing a DynamoDB request", e))?
            .into_parts();
        instructions.apply_to_request_http1x(request);
        Ok(())
    }
}

/// Why one attempt got no answer.
enum Sent {
    /// Nothing was sent: a local failure that retrying does not fix.
    Local(Error),
    /// The connection failed or timed out.
    Transport(reqwest::Error),
}

/// The pause before retry `attempt` (0-based): 25 ms doubling up to 1 s, with jitter so
/// clients throttled together do not come back together.
pub(crate) fn backoff(attempt: u32) -> Duration {
    let full = (25u64 << attempt.min(10)).min(1_000);
    Duration::from_millis(full / 2 + rand::random_range(0..=full / 2))
}

fn api_error(status: u16, answer: Value, after_ambiguous: bool) -> ApiError {
    let code = answer
        .get("__type")
        .and_then(Value::as_str)
        .map(|t| t.rsplit('#').next().unwrap_or(t).to_owned())
        .unwrap_or_else(|| format!("HTTP {status}"));
    let message = ["message", "Message"]
        .iter()
        .find_map(|field| answer.get(field).and_then(Value::as_str))
        .unwrap_or("")
        .to_owned();
    ApiError {
        status,
        code,
        message,
        body: answer,
        after_ambiguous,
    }
}

fn is_retried(error: &ApiError) -> bool {
    if error.status >= 500 || RETRIED_CODES.contains(&error.code.as_str()) {
        return true;
    }
    // A transaction cancelled only by conflicts or throttling (no failed condition) may
    // simply be run again.
    error.code == "TransactionCanceledException" && {
        let codes = cancellation_codes(&error.body);
        !codes.is_empty()
            && codes.iter().all(|c| {
                matches!(
                    c.as_str(),
                    "None" | "TransactionConflict" | "ThrottlingError"
                )
            })
            && codes.iter().any(|c| c != "None")
    }
}

/// The `Code` of each item of a cancelled transaction, in the transaction's order.
pub(crate) fn cancellation_codes(body: &Value) -> Vec<String> {
    body.get("CancellationReasons")
        .and_then(Value::as_array)
        .map(|reasons| {
            reasons
                .iter()
                .map(|r| {
                    r.get("Code")
                        .and_then(Value::as_str)
                        .unwrap_or("None")
                        .to_owned()
                })
                .collect()
        })
        .unwrap_or_default()
}
