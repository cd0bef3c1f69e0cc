//! Ordered listing by a lazy depth-first walk.
//!
//! A key's path is its segments, so all keys under the directory of segment `d` (in a
//! directory for key prefix `P/`) start with `P/d/`. Sorting a directory's entries by
//! `P/s` for value files and `P/d/` for directories orders them exactly as their keys
//! order by bytes: a segment holds no `/`, so `a` < `a/…` < `a0` and `a.c` < `a/…`.
//! The walk keeps one sorted directory per level on a stack and descends only into
//! directories whose subtree can hold a key that `prefix` and `start_after` admit, so
//! memory is bounded by directory size times depth, never by the store size.

use std::path::PathBuf;
use std::sync::Arc;

use store_core::{Error, Key, ListOptions, Meta, Result};

use crate::engine::{Engine, corrupted, meta};
use crate::format;
use crate::fs::Fs;
use crate::layout::{self, Kind, SEGMENT_FILE};

/// One entry of a directory that the listing may need.
struct Item {
    /// The key (value files) or the key prefix ending in `/` (directories).
    sort: String,
    path: PathBuf,
    is_dir: bool,
}

/// A directory being walked: its remaining relevant entries, in order.
struct Frame {
    items: std::vec::IntoIter<Item>,
}

/// The state of one listing between batches.
pub(crate) struct Walker<F: Fs> {
    engine: Arc<Engine<F>>,
    options: ListOptions,
    stack: Vec<Frame>,
    started: bool,
}

impl<F: Fs> Walker<F> {
    pub fn new(engine: Arc<Engine<F>>, options: ListOptions) -> Self {
        Walker {
            engine,
            options,
            stack: Vec::new(),
            started: false,
        }
    }

    /// Whether the subtree of keys starting with `dir_prefix` (ending in `/`) can hold
    /// a key the options admit.
    fn subtree_relevant(&self, dir_prefix: &str) -> bool {
        let prefix = self.options.prefix.as_str();
        let overlaps = dir_prefix.starts_with(prefix) || prefix.starts_with(dir_prefix);
        // If `start_after` is past `dir_prefix` without being inside it, it is past
        // every key of the subtree.
        let passed = self.options.start_after.as_ref().is_some_and(|after| {
            after.as_str() > dir_prefix && !after.as_str().starts_with(dir_prefix)
        });
        overlaps && !passed
    }

    /// Read, filter and sort the directory holding keys that start with `key_prefix`.
    fn read(&self, dir: &std::path::Path, key_prefix: &str) -> Result<Frame> {
        let fs = &self.engine.fs;
        let entries = match fs.read_dir(dir) {
            Ok(entries) => entries,
            // Pruned since its parent was read: nothing left in it.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => {
                return Err(Error::io(format!("listing `{}`", dir.display()), e));
            }
        };
        let mut items = Vec::new();
        for entry in entries {
            let path = dir.join(&entry.name);
            let sort = match layout::classify(&entry.name, entry.is_dir) {
                Kind::Value(segment) => format!("{key_prefix}{segment}"),
                Kind::Dir(segment) => format!("{key_prefix}{segment}/"),
                Kind::HashedValue => match self.hashed_key(&path)? {
                    Some(key) => key,
                    None => continue,
                },
                Kind::HashedDir => match fs.read(&path.join(SEGMENT_FILE)) {
                    Ok(segment) => {
                        let segment = String::from_utf8(segment).map_err(|_| {
                            corrupted(path.display(), &path, "segment file is not UTF-8")
                        })?;
                        if layout::segment_name(&segment) != (entry.name.clone(), true) {
                            return Err(corrupted(
                                format!("{key_prefix}{segment}/…"),
                                &path,
                                "the segment file does not match the directory's name",
                            ));
                        }
                        format!("{key_prefix}{segment}/")
                    }
                    // A crash after creating the directory and before its segment file:
                    // no value was ever written in it.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => {
                        return Err(Error::io(format!("reading `{}`", path.display()), e));
                    }
                },
                Kind::Other => continue,
            };
            let relevant = if entry.is_dir {
                self.subtree_relevant(&sort)
            } else {
                Key::new(&sort).is_ok_and(|key| self.options.admits(&key))
            };
            if relevant {
                items.push(Item {
                    sort,
                    path,
                    is_dir: entry.is_dir,
                });
            }
        }
        items.sort_unstable_by(|a, b| a.sort.cmp(&b.sort));
        Ok(Frame {
            items: items.into_iter(),
        })
    }

    /// The key stored in a value file with a hashed name.
    fn hashed_key(&self, path: &std::path::Path) -> Result<Option<String>> {
        let (bytes, _) = match self.engine.fs.read_head(path, format::MAX_HEADER) {
            Ok(read) => read,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(format!("reading `{}`", path.display()), e)),
        };
        let header = format::decode(&bytes).map_err(|why| corrupted(path.display(), path, &why))?;
        let key =
            Key::new(&header.key).map_err(|e| corrupted(path.display(), path, &e.to_string()))?;
        if layout::locate(&self.engine.root, &key).file != path {
            return Err(corrupted(
                &key,
                path,
                "the file is not where its key belongs",
            ));
        }
        Ok(Some(header.key))
    }

    /// Up to `max` more entries, in order; fewer only at the end of the listing.
    pub fn next_batch(&mut self, max: usize) -> Result<Vec<Meta>> {
        if !self.started {
            self.started = true;
            let root = self.engine.root.clone();
            let frame = self.read(&root, "")?;
            self.stack.push(frame);
        }
        let mut out = Vec::new();
        while out.len() < max {
            let Some(frame) = self.stack.last_mut() else {
                break;
            };
            let Some(item) = frame.items.next() else {
                self.stack.pop();
                continue;
            };
            if item.is_dir {
                let frame = self.read(&item.path, &item.sort)?;
                self.stack.push(frame);
                continue;
            }
            let key = Key::new(&item.sort)?;
            // Deleted since the directory was read: skip it.
            if let Some(header) = self.engine.read_header(&key, &item.path)? {
                out.push(meta(key, &header));
            }
        }
        Ok(out)
    }
}
