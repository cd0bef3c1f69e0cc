//! Writes: one script each, and settling a write whose reply was lost.

use std::time::{Duration, Instant};

use bytes::Bytes;
use redis::RedisError;
use store_core::{Error, Key, Meta, PutMode, PutOp, Result};

use crate::errors::unreachable;
use crate::reads::written;
use crate::scripts::{DELETE_SCRIPT, PUT_MANY_SCRIPT, PUT_SCRIPT, SETTLE_SCRIPT};
use crate::store::Inner;
use store_core::crc32c;

/// A fresh token naming one write's outcome record.
fn token() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// The script's encoding of a put mode: the mode letter and the expected version.
fn mode_args(mode: &PutMode) -> (&'static str, &str) {
    match mode {
        PutMode::Overwrite => ("o", ""),
        PutMode::Create => ("c", ""),
        PutMode::Update(v) => ("u", v.as_str()),
    }
}

/// A script reply as numbers, refusing anything else.
fn numbers(reply: &[i64], at: usize) -> Result<u64> {
    reply
        .get(at)
        .and_then(|n| u64::try_from(*n).ok())
        .ok_or_else(|| Error::backend("a write script", format!("unexpected reply {reply:?}")))
}

/// The `(ms, version)` in an outcome record (`"<ms> <version>"`).
fn outcome(record: &str) -> Result<(u64, u64)> {
    let mut parts = record.split(' ').map(str::parse::<u64>);
    match (parts.next(), parts.next()) {
        (Some(Ok(ms)), Some(Ok(version))) => Ok((ms, version)),
        _ => Err(Error::backend(
            "settling a write",
            format!("unexpected outcome record `{record}`"),
        )),
    }
}

impl Inner {
    pub(crate) async fn put(&self, key: &Key, value: Bytes, mode: PutMode) -> Result<Meta> {
        let token = token();
        let record = self.names.outcome(&token);
        let (letter, expected) = mode_args(&mode);
        let mut call = PUT_SCRIPT.key(self.names.entry(key));
        call.key(self.names.index())
            .key(self.names.counter())
            .key(&record)
            .arg(letter)
            .arg(expected)
            .arg(value.as_ref())
            .arg(key.as_str())
            .arg(self.record_ttl)
            .arg(crc32c(&value));
        let reply = match call.invoke_async::<Vec<i64>>(&mut self.conn.clone()).await {
            Ok(reply) => reply,
            Err(err) => {
                let (ms, version) = self.settle(&format!("put `{key}`"), &record, err).await?;
                return Ok(written(key, value.len(), ms, version));
            }
        };
        match reply.first() {
            Some(1) => Ok(written(
                key,
                value.len(),
                numbers(&reply, 2)?,
                numbers(&reply, 1)?,
            )),
            Some(0) => Err(Error::already_exists(key)),
            Some(-1) => Err(Error::version_mismatch(key, expected)),
            _ => Err(Error::backend(
                format!("put `{key}`"),
                format!("unexpected reply {reply:?}"),
            )),
        }
    }

    pub(crate) async fn put_many(&self, ops: Vec<PutOp>) -> Result<Vec<Meta>> {
        if ops.is_empty() {
            return Ok(Vec::new());
        }
        let token = token();
        let record = self.names.outcome(&token);
        let mut call = PUT_MANY_SCRIPT.key(self.names.index());
        call.key(self.names.counter())
            .key(&record)
            .arg(self.record_ttl);
        for op in &ops {
            let (letter, expected) = mode_args(&op.mode);
            call.key(self.names.entry(&op.key))
                .arg(letter)
                .arg(expected)
                .arg(op.value.as_ref())
                .arg(op.key.as_str())
                .arg(crc32c(&op.value));
        }
        let what = format!("put_many of {} keys", ops.len());
        let (ms, first) = match call.invoke_async::<Vec<i64>>(&mut self.conn.clone()).await {
            Ok(reply) => match reply.first() {
                Some(1) => (numbers(&reply, 1)?, numbers(&reply, 2)?),
                Some(0 | -1) => {
                    let op = numbers(&reply, 1)?
                        .checked_sub(1)
                        .and_then(|i| ops.get(i as usize))
                        .ok_or_else(|| {
                            Error::backend(&what, format!("unexpected reply {reply:?}"))
                        })?;
                    return Err(match (&op.mode, reply[0]) {
                        (PutMode::Update(v), -1) => Error::version_mismatch(&op.key, v),
                        _ => Error::already_exists(&op.key),
                    });
                }
                _ => return Err(Error::backend(what, format!("unexpected reply {reply:?}"))),
            },
            Err(err) => self.settle(&what, &record, err).await?,
        };
        Ok(ops
            .iter()
            .zip(first..)
            .map(|(op, version)| written(&op.key, op.value.len(), ms, version))
            .collect())
    }

    pub(crate) async fn delete_many(&self, keys: &[Key]) -> Result<()> {
        if keys.is_empty() {
            return Ok(());
        }
        let mut call = DELETE_SCRIPT.key(self.names.index());
        for key in keys {
            call.key(self.names.entry(key)).arg(key.as_str());
        }
        match call.invoke_async::<i64>(&mut self.conn.clone()).await {
            Ok(_) => Ok(()),
            Err(err) => {
                let what = match keys {
                    [key] => format!("delete `{key}`"),
                    _ => format!("delete_many of {} keys", keys.len()),
                };
                let error = self.server.error(&what, err);
                // A delete is idempotent: repeating it is safe whether or not it applied.
                Err(if error.retryable() {
                    error.context("the delete may or may not have applied; deleting again is safe")
                } else {
                    error
                })
            }
        }
    }

    /// The outcome of the write whose script call failed with `err`: when the request may
    /// have reached the server, the write's record says whether it ran (and its version)
    /// or the fence set now keeps it from ever running. Retries the settling until the
    /// store's timeout; if the server stays away the outcome is reported as unknown.
    async fn settle(&self, what: &str, record: &str, err: RedisError) -> Result<(u64, u64)> {
        if !unreachable(&err) {
            return Err(self.server.error(what, err));
        }
        if err.is_connection_refusal() {
            // Nothing was sent: the write did not happen.
            return Err(self
                .server
                .error(what, err)
                .context("the write was not applied; retrying is safe"));
        }
        let deadline = Instant::now() + self.timeout;
        loop {
            let settled = SETTLE_SCRIPT
                .key(record)
                .arg(self.record_ttl)
                .invoke_async::<Option<String>>(&mut self.conn.clone())
                .await;
            match settled {
                Ok(Some(record)) => return outcome(&record),
                Ok(None) => {
                    return Err(self
                        .server
                        .error(what, err)
                        .context("the write was not applied; retrying is safe"));
                }
                Err(again) if unreachable(&again) && Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(_) => {
                    return Err(self.server.error(what, err).context(
                        "the reply was lost and the server could not be asked whether the \
                         write applied: its outcome is unknown",
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_records_parse() {
        assert_eq!(outcome("1000 42").unwrap(), (1000, 42));
        assert!(outcome("fenced").is_err());
        assert!(outcome("1 x").is_err());
    }
}
