//! Writes: single puts as one autocommit statement, batches as one transaction whose
//! statements are pipelined on one connection. Every write carries a fresh random version
//! chosen by the client, so when the connection is lost after a commit may have been sent,
//! reading the keys' versions back tells whether it landed.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use deadpool_postgres::Object;
use store_core::{Error, Key, Meta, PutMode, PutOp, Result, Version};

use crate::store::{Inner, MAX_VALUE_SIZE};

/// One applied write.
#[derive(Debug)]
pub(crate) struct Written {
    key: Key,
    version: i64,
    size: u64,
    modified: SystemTime,
}

impl Written {
    pub(crate) fn into_meta(self) -> Meta {
        Meta {
            key: self.key,
            size: self.size,
            version: Version::new(self.version.to_string()),
            last_modified: self.modified,
        }
    }
}

/// A new version: random, positive, 63 bits, so two writes never share one (and a
/// deleted-then-recreated key never gets back a version a stale writer holds).
fn new_version() -> i64 {
    (rand::random::<u64>() >> 1).max(1) as i64
}

/// How a write failed.
enum Failure {
    /// Nothing was applied: the server answered with an error, refused a condition, or
    /// the connection failed before a commit could have been sent.
    NotApplied(Error),
    /// The connection was lost after the statement (or COMMIT) was sent.
    Lost(Error),
}

/// Apply `ops` (one autocommit statement when `!batch` and there is one op; else one
/// transaction) and return one [`Written`] per op.
pub(crate) async fn put_all(inner: &Inner, ops: &[PutOp], batch: bool) -> Result<Vec<Written>> {
    let what = if batch { "put_many" } else { "put" };
    let mut expected = Vec::with_capacity(ops.len());
    for op in ops {
        if op.value.len() as u64 > MAX_VALUE_SIZE {
            return Err(Error::invalid_input(format!(
                "{what}: the value has {} bytes, PostgreSQL takes at most {MAX_VALUE_SIZE}",
                op.value.len()
            ))
            .with_key(&op.key));
        }
        expected.push(match &op.mode {
            // A version this store did not give out (another spelling of a number
            // included) can never be current.
            PutMode::Update(v) => Some(
                v.to_u64()
                    .and_then(|n| i64::try_from(n).ok())
                    .ok_or_else(|| Error::version_mismatch(&op.key, v))?,
            ),
            _ => None,
        });
    }
    let versions: Vec<i64> = ops.iter().map(|_| new_version()).collect();
    let mut crcs = Vec::with_capacity(ops.len());
    for op in ops {
        crcs.push(i64::from(store_core::crc32c_of(&op.value).await));
    }
    let mut client = inner.bounded(what, inner.client(what)).await?;
    let sent = AtomicBool::new(false);
    let work = send(
        inner,
        &mut client,
        ops,
        &versions,
        &crcs,
        &expected,
        batch,
        &sent,
    );
    let failure = match tokio::time::timeout(inner.op_timeout, work).await {
        Ok(Ok(modified)) => {
            return Ok(written(ops, &versions, modified));
        }
        Ok(Err(Failure::NotApplied(err))) => return Err(err),
        Ok(Err(Failure::Lost(err))) => err,
        Err(_) if sent.load(Ordering::SeqCst) => crate::errors::timed_out(what, &inner.target),
        Err(_) => return Err(crate::errors::timed_out(what, &inner.target)),
    };
    // A connection that lost a commit is not reused.
    drop(deadpool_postgres::Object::take(client));
    resolve(inner, what, ops, &versions, failure).await
}

fn written(ops: &[PutOp], versions: &[i64], modified: Vec<SystemTime>) -> Vec<Written> {
    ops.iter()
        .zip(versions)
        .zip(modified)
        .map(|((op, &version), modified)| Written {
            key: op.key.clone(),
            version,
            size: op.value.len() as u64,
            modified,
        })
        .collect()
}

fn conflict(op: &PutOp) -> Error {
    match &op.mode {
        PutMode::Update(v) => Error::version_mismatch(&op.key, v),
        _ => Error::already_exists(&op.key),
    }
}

#[allow(clippy::too_many_arguments)]
async fn send(
    inner: &Inner,
    client: &mut Object,
    ops: &[PutOp],
    versions: &[i64],
    crcs: &[i64],
    expected: &[Option<i64>],
    batch: bool,
    sent: &AtomicBool,
) -> std::result::Result<Vec<SystemTime>, Failure> {
    let what = if batch { "put_many" } else { "put" };
    let not_applied = |e: tokio_postgres::Error| Failure::NotApplied(inner.pg(what, e));
    let sql_of = |mode: &PutMode| match mode {
        PutMode::Overwrite => &inner.sql.overwrite,
        PutMode::Create => &inner.sql.create,
        PutMode::Update(_) => &inner.sql.update,
    };
    let sizes: Vec<i64> = ops.iter().map(|op| op.value.len() as i64).collect();
    if !batch && ops.len() == 1 {
        let op = &ops[0];
        let stmt = client
            .prepare_cached(sql_of(&op.mode))
            .await
            .map_err(not_applied)?;
        let key = op.key.as_str();
        let value: &[u8] = &op.value;
        sent.store(true, Ordering::SeqCst);
        let row = match &expected[0] {
            Some(v) => {
                client
                    .query_opt(&stmt, &[&key, &versions[0], &sizes[0], &value, &crcs[0], v])
                    .await
            }
            None => {
                client
                    .query_opt(&stmt, &[&key, &versions[0], &sizes[0], &value, &crcs[0]])
                    .await
            }
        };
        return match row {
            Ok(Some(row)) => Ok(vec![row.get(0)]),
            Ok(None) => Err(Failure::NotApplied(conflict(op))),
            Err(e) if e.as_db_error().is_some() => Err(not_applied(e).with_key(&op.key)),
            Err(e) => Err(Failure::Lost(inner.pg(what, e).with_key(&op.key))),
        };
    }
    let tx = client.transaction().await.map_err(not_applied)?;
    let mut stmts = HashMap::new();
    for op in ops {
        let sql = sql_of(&op.mode);
        if !stmts.contains_key(sql) {
            let stmt = tx.prepare_cached(sql).await.map_err(not_applied)?;
            stmts.insert(sql, stmt);
        }
    }
    // Pipelined: every statement is sent before the first answer is awaited; the server
    // runs them in order inside the transaction.
    let queries = ops.iter().enumerate().map(|(i, op)| {
        let stmt = &stmts[sql_of(&op.mode)];
        let key = op.key.as_str();
        let value: &[u8] = &op.value;
        let tx = &tx;
        let (version, size, crc, expected) = (&versions[i], &sizes[i], &crcs[i], &expected[i]);
        async move {
            match expected {
                Some(v) => {
                    tx.query_opt(stmt, &[&key, version, size, &value, crc, v])
                        .await
                }
                None => {
                    tx.query_opt(stmt, &[&key, version, size, &value, crc])
                        .await
                }
            }
        }
    });
    let rows = futures::future::join_all(queries).await;
    let mut modified = Vec::with_capacity(ops.len());
    for (op, row) in ops.iter().zip(rows) {
        match row {
            Ok(Some(row)) => modified.push(row.get(0)),
            // Dropping the transaction rolls it back.
            Ok(None) => return Err(Failure::NotApplied(conflict(op))),
            Err(e) => return Err(not_applied(e).with_key(&op.key)),
        }
    }
    sent.store(true, Ordering::SeqCst);
    match tx.commit().await {
        Ok(()) => Ok(modified),
        Err(e) if e.as_db_error().is_some() => Err(not_applied(e)),
        Err(e) => Err(Failure::Lost(inner.pg(what, e))),
    }
}

impl Failure {
    fn with_key(self, key: &Key) -> Self {
        match self {
            Failure::NotApplied(e) => Failure::NotApplied(e.with_key(key)),
            Failure::Lost(e) => Failure::Lost(e.with_key(key)),
        }
    }
}

/// The connection went away after the write was sent: ask the server (on a fresh
/// connection, until the operation timeout) whether the write's versions are there.
/// They are → success. Otherwise the write did not land or was replaced since, which the
/// store cannot tell apart: reported as an `Unavailable` error saying the outcome is
/// unknown (retryable only if every op was an unconditional overwrite).
async fn resolve(
    inner: &Inner,
    what: &str,
    ops: &[PutOp],
    versions: &[i64],
    lost: Error,
) -> Result<Vec<Written>> {
    let deadline = Instant::now() + inner.op_timeout;
    let names: Vec<&str> = ops.iter().map(|op| op.key.as_str()).collect();
    // The last write of each key in the batch is what must be there now.
    let mut last: HashMap<&str, i64> = HashMap::new();
    for (name, &version) in names.iter().zip(versions) {
        last.insert(name, version);
    }
    let mut pause = Duration::from_millis(50);
    let reason = loop {
        let attempt = async {
            let client = inner.client(what).await?;
            let stmt = client
                .prepare_cached(&inner.sql.versions)
                .await
                .map_err(|e| inner.pg(what, e))?;
            client
                .query(&stmt, &[&names])
                .await
                .map_err(|e| inner.pg(what, e))
        };
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, attempt).await {
            Ok(Ok(rows)) => {
                let now: HashMap<String, (i64, SystemTime)> = rows
                    .iter()
                    .map(|r| (r.get::<_, String>(0), (r.get(1), r.get(2))))
                    .collect();
                let landed = last
                    .iter()
                    .all(|(name, v)| now.get(*name).is_some_and(|(found, _)| found == v));
                if landed {
                    let modified = names
                        .iter()
                        .map(|n| now.get(*n).map_or(SystemTime::now(), |(_, m)| *m))
                        .collect();
                    return Ok(written(ops, versions, modified));
                }
                break "the keys do not hold this write's versions: it was not applied, \
                       or was replaced since";
            }
            Ok(Err(_)) if Instant::now() + pause < deadline => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(1));
            }
            _ => break "the server could not be asked within the operation timeout",
        }
    };
    let idempotent = ops.iter().all(|op| op.mode == PutMode::Overwrite);
    Err(Error::unavailable(format!(
        "{what}: outcome unknown: the connection to PostgreSQL at {} was lost after the \
         write was sent, and {reason}",
        inner.target
    ))
    .with_key(&ops[0].key)
    .with_retryable(idempotent)
    .with_cause(lost))
}
