//! put, get, head, delete, list.

use std::io::{Read, Write};

use anyhow::Context;
use futures::StreamExt;
use strata::{Error, ErrorKind, Key, ListOptions, Meta, Prefix, PutMode, Version};

use crate::args::{GetArgs, KeyArg, ListArgs, PutArgs, Target};
use crate::exit;
use crate::open::{Access, open_target};
use crate::out::{stdout_error, write_stdout};

fn parse_key(raw: &str) -> anyhow::Result<Key> {
    Ok(Key::new(raw)?)
}

/// get/head of a key with no value: said on stderr, exit 3. (Returned as a code, not an
/// error, so that a `NotFound` *error*, which is about the store, can never be taken for it.)
fn no_value(key: &Key) -> u8 {
    let e = Error::new(ErrorKind::NotFound, "no value is stored at this key").with_key(key);
    errln!("error: {e}");
    exit::NOT_FOUND
}

fn format_time(meta: &Meta) -> String {
    humantime::format_rfc3339_millis(meta.last_modified).to_string()
}

pub async fn put(target: &Target, args: PutArgs) -> anyhow::Result<u8> {
    let key = parse_key(&args.key)?;
    let value = match &args.file {
        Some(path) if path.as_os_str() != "-" => {
            std::fs::read(path).with_context(|| format!("reading {}", path.display()))?
        }
        _ => {
            let mut buf = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buf)
                .context("reading standard input")?;
            buf
        }
    };
    let mode = match (args.if_absent, args.if_version) {
        (true, _) => PutMode::Create,
        (false, Some(v)) => PutMode::Update(Version::new(v)),
        (false, None) => PutMode::Overwrite,
    };
    let store = open_target(target, Access::Create).await?;
    let meta = store.put(&key, value.into(), mode).await?;
    store.flush().await?;
    outln!("{}\t{}\t{}", meta.key, meta.size, meta.version)?;
    Ok(0)
}

pub async fn get(target: &Target, args: GetArgs) -> anyhow::Result<u8> {
    let key = parse_key(&args.key)?;
    let store = open_target(target, Access::Existing).await?;
    let Some(entry) = store.get(&key).await? else {
        return Ok(no_value(&key));
    };
    match &args.output {
        Some(path) => std::fs::write(path, &entry.value)
            .with_context(|| format!("writing {}", path.display()))?,
        None => write_stdout(&entry.value)?,
    }
    Ok(0)
}

pub async fn head(target: &Target, args: KeyArg) -> anyhow::Result<u8> {
    let key = parse_key(&args.key)?;
    let store = open_target(target, Access::Existing).await?;
    let Some(meta) = store.head(&key).await? else {
        return Ok(no_value(&key));
    };
    outln!("key:           {}", meta.key)?;
    outln!("size:          {}", meta.size)?;
    outln!("version:       {}", meta.version)?;
    outln!("last-modified: {}", format_time(&meta))?;
    Ok(0)
}

pub async fn delete(target: &Target, args: KeyArg) -> anyhow::Result<u8> {
    let key = parse_key(&args.key)?;
    // Deleting from a store that does not exist is a mistyped path, not a success.
    let store = open_target(target, Access::Existing).await?;
    store.delete(&key).await?;
    store.flush().await?;
    Ok(0)
}

pub async fn list(target: &Target, args: ListArgs) -> anyhow::Result<u8> {
    let prefix = Prefix::new(args.prefix.unwrap_or_default())?;
    let store = open_target(target, Access::Existing).await?;
    let mut listing = store.list(ListOptions::prefix(prefix));
    let mut out = std::io::stdout().lock();
    let (mut listed, mut damaged) = (0u64, 0u64);
    while let Some(item) = listing.next().await {
        let meta = match item {
            Ok(meta) => meta,
            // The list contract: a damaged entry is reported and the stream goes on.
            Err(e) if args.skip_corrupt && e.damaged_key().is_some() => {
                damaged += 1;
                errln!("damaged: {e}");
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        listed += 1;
        let written = if args.long {
            writeln!(
                out,
                "{:>12}  {:<24}  {}  {}",
                meta.size,
                meta.version,
                format_time(&meta),
                meta.key
            )
        } else {
            writeln!(out, "{}", meta.key)
        };
        written.map_err(stdout_error)?;
    }
    out.flush().map_err(stdout_error)?;
    if damaged > 0 {
        errln!("listed {listed} keys; skipped {damaged} damaged entries");
        return Ok(exit::DAMAGED_SKIPPED);
    }
    Ok(0)
}
