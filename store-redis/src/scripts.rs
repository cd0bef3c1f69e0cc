//! The Lua scripts every write runs as. Redis runs a script atomically, so the version
//! check, the hash write and the index update of a write (or of a whole batch) happen
//! together, decided by the server for every process using the namespace.
//!
//! Versions come from the namespace's counter. When the counter is missing (a new
//! namespace, or a server that lost its data in a restart) it starts at the server's
//! clock in microseconds, so versions handed out before a data loss are never handed out
//! again and a stale `Update` cannot match a new value.
//!
//! Each write carries a random token. Its script first refuses to run if the token's
//! outcome record exists, and records its outcome under it when it writes. A client whose
//! reply was lost settles the write with `SET record fenced NX GET` ([`SETTLE`]): either
//! the script ran (the record holds its versions), or the fence now stops it from ever
//! running.

use std::sync::LazyLock;

use redis::Script;

/// Shared by the write scripts: the server clock and the next `n` versions.
const PRELUDE: &str = r#"
local t = redis.call('TIME')
local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
-- Integers as decimal text: Lua 5.1's `..` would print big ones in exponent form.
local function s(n) return string.format('%d', n) end
local function versions(counter, n)
  if redis.call('EXISTS', counter) == 0 then
    redis.call('SET', counter, s(tonumber(t[1]) * 1000000 + tonumber(t[2])))
  end
  return redis.call('INCRBY', counter, n) - n
end
"#;

/// One put. KEYS: entry hash, index, counter, outcome record. ARGV: mode (`o`verwrite,
/// `c`reate, `u`pdate), expected version, value, key, record TTL in seconds, the value's
/// CRC32C (computed by the client, checked on every get).
/// Returns `{1, version, ms}`, `{0}` (exists), `{-1}` (version mismatch) or `{-2}` (fenced).
const PUT: &str = r#"
if redis.call('EXISTS', KEYS[4]) == 1 then return {-2} end
local cur = redis.call('HGET', KEYS[1], 'ver')
if ARGV[1] == 'c' and cur then return {0} end
if ARGV[1] == 'u' and cur ~= ARGV[2] then return {-1} end
local ver = versions(KEYS[3], 1) + 1
redis.call('HSET', KEYS[1], 'v', ARGV[3], 'ver', s(ver), 'size', string.len(ARGV[3]), 'mod', s(ms), 'crc', ARGV[6])
redis.call('ZADD', KEYS[2], 0, ARGV[4])
redis.call('SET', KEYS[4], s(ms) .. ' ' .. s(ver), 'EX', ARGV[5])
return {1, ver, ms}
"#;

/// A batch of puts, all or nothing. KEYS: index, counter, outcome record, then one entry
/// hash per op. ARGV: record TTL, then per op: mode, expected version, value, key, CRC32C.
/// Conditions are checked in order against the state the earlier ops leave. Returns
/// `{1, ms, first version}` (op `i` got `first + i - 1`), `{0, i}` (op `i`'s key exists),
/// `{-1, i}` (op `i`'s version mismatches) or `{-2}` (fenced).
const PUT_MANY: &str = r#"
if redis.call('EXISTS', KEYS[3]) == 1 then return {-2} end
local n = #KEYS - 3
local seen = {}
for i = 1, n do
  local h = KEYS[3 + i]
  local b = 1 + 5 * (i - 1)
  local cur = seen[h]
  if cur == nil then cur = redis.call('HGET', h, 'ver') end
  if ARGV[b + 1] == 'c' and cur then return {0, i} end
  if ARGV[b + 1] == 'u' and cur ~= ARGV[b + 2] then return {-1, i} end
  -- A version no caller can know yet: a later op may not `Update` it.
  seen[h] = '#pending'
end
local first = versions(KEYS[2], n) + 1
for i = 1, n do
  local b = 1 + 5 * (i - 1)
  local v = ARGV[b + 3]
  redis.call('HSET', KEYS[3 + i], 'v', v, 'ver', s(first + i - 1), 'size', string.len(v), 'mod', s(ms), 'crc', ARGV[b + 5])
  redis.call('ZADD', KEYS[1], 0, ARGV[b + 4])
end
redis.call('SET', KEYS[3], s(ms) .. ' ' .. s(first), 'EX', ARGV[1])
return {1, ms, first}
"#;

/// Deletes, all or nothing. KEYS: index, then one entry hash per key. ARGV: the keys.
const DELETE: &str = r#"
for i = 2, #KEYS do
  redis.call('DEL', KEYS[i])
  redis.call('ZREM', KEYS[1], ARGV[i - 1])
end
return 1
"#;

/// Settles a write whose reply was lost: `SET record fenced NX GET EX ttl`, as a
/// script so that servers before 7.0 (no `NX` with `GET`) run it too. KEYS: the record.
/// ARGV: TTL. Returns the record's outcome, or nil when the fence was set.
pub(crate) const SETTLE: &str = r#"
local old = redis.call('GET', KEYS[1])
if old then return old end
redis.call('SET', KEYS[1], 'fenced', 'EX', ARGV[1])
return false
"#;

/// The Lua source of the one-put script (KEYS: entry hash, index, counter, outcome record;
/// ARGV: mode `o`/`c`/`u`, expected version, value, key, record TTL, the value's CRC32C
/// as [`store_core::crc32c`] gives it, in decimal), for tools and
/// benchmarks that issue the store's own scripts through a raw client.
pub fn put_source() -> String {
    format!("{PRELUDE}{PUT}")
}

pub(crate) static PUT_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(&put_source()));
pub(crate) static PUT_MANY_SCRIPT: LazyLock<Script> =
    LazyLock::new(|| Script::new(&format!("{PRELUDE}{PUT_MANY}")));
pub(crate) static DELETE_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(DELETE));
pub(crate) static SETTLE_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(SETTLE));
