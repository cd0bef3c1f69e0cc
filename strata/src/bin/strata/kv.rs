//! put, get, head, delete, list.

use std::io::{Read, Write};

use anyhow::Context;
use futures::TryStreamExt;
use strata::{Error, ErrorKind, Key, ListOptions, Meta, Prefix, PutMode, Version};

use crate::args::{GetArgs, KeyArg, ListArgs, PutArgs, Target};
use crate::open::open_target;

fn parse_key(raw: &str) -> anyhow::Result<Key> {
    Ok(Key::new(raw)?)
}

fn not_found(key: &Key) -> anyhow::Error {
    Error::new(ErrorKind::NotFound, "no value is stored at this key")
        .with_key(key)
        .into()
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
    let store = open_target(target).await?;
    let meta = store.put(&key, value.into(), mode).await?;
    store.flush().await?;
    println!("{}\t{}\t{}", meta.key, meta.size, meta.version);
    Ok(0)
}

pub async fn get(target: &Target, args: GetArgs) -> anyhow::Result<u8> {
    let key = parse_key(&args.key)?;
    let store = open_target(target).await?;
    let entry = store.get(&key).await?.ok_or_else(|| not_found(&key))?;
    match &args.output {
        Some(path) => std::fs::write(path, &entry.value)
            .with_context(|| format!("writing {}", path.display()))?,
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(&entry.value)
                .context("writing standard output")?;
            out.flush().context("writing standard output")?;
        }
    }
    Ok(0)
}

pub async fn head(target: &Target, args: KeyArg) -> anyhow::Result<u8> {
    let key = parse_key(&args.key)?;
    let store = open_target(target).await?;
    let meta = store.head(&key).await?.ok_or_else(|| not_found(&key))?;
    println!("key:           {}", meta.key);
    println!("size:          {}", meta.size);
    println!("version:       {}", meta.version);
    println!("last-modified: {}", format_time(&meta));
    Ok(0)
}

pub async fn delete(target: &Target, args: KeyArg) -> anyhow::Result<u8> {
    let key = parse_key(&args.key)?;
    let store = open_target(target).await?;
    store.delete(&key).await?;
    store.flush().await?;
    Ok(0)
}

pub async fn list(target: &Target, args: ListArgs) -> anyhow::Result<u8> {
    let prefix = Prefix::new(args.prefix.unwrap_or_default())?;
    let store = open_target(target).await?;
    let mut listing = store.list(ListOptions::prefix(prefix));
    let mut out = std::io::stdout().lock();
    while let Some(meta) = listing.try_next().await? {
        let line = if args.long {
            format!(
                "{:>12}  {:<24}  {}  {}",
                meta.size,
                meta.version,
                format_time(&meta),
                meta.key
            )
        } else {
            meta.key.to_string()
        };
        if writeln!(out, "{line}").is_err() {
            break; // e.g. `strata list | head`: the reader left.
        }
    }
    Ok(0)
}
