//! Ordered listing by a lazy depth-first walk.
//!
//! A key's path is its segments, so all keys under the directory of segment `d` (in a
//! directory for key prefix `P/`) start with `P/d/`. Sorting a directory's entries by
//! `P/s` for value files and `P/d/` for directories orders them exactly as their keys
//! order by bytes: a segment holds no `/`, so `a` < `a/…` < `a0` and `a.c` < `a/…`.
//! The walk keeps one sorted directory per level on a stack and descends only into
//! directories whose subtree can hold a key that `prefix` and `start_after` admit, so
//! memory is bounded by directory size times depth, never by the store size.
//!
//! What the walk meets that is not a key it can list:
//! - a **damaged entry** of the store's naming (a value file that fails its checks, a
//!   FIFO or directory in a value file's place, a hashed directory whose `~seg` is
//!   damaged) is yielded as `Corrupted` naming its key (for a hashed name whose header,
//!   holding the key, is damaged: the key's directory and the file's name), in its place
//!   in the order, and the walk goes on;
//! - **foreign entries** (names outside the store's alphabet, names that decode to no valid
//!   key, a directory holding another store's `~lock`) are skipped; when the listing ends,
//!   one warning says how many and names the first;
//! - a **stale temp file** (a crashed session's, proven by name and bytes: `temp.rs`) is
//!   removed: the listing is the one place that reads every directory anyway.
//!
//! Any other error (a directory that cannot be read, say) ends the listing, naming the
//! directory or file.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use store_core::{Error, ErrorKind, Key, ListOptions, Meta, Result};

use crate::engine::{Engine, corrupted, meta, read_error};
use crate::format;
use crate::fs::{DirItem, Fs};
use crate::layout::{self, Kind, LOCK_FILE, SEGMENT_FILE};
use crate::temp::{self, Owner};

/// What an entry of a directory is to the listing.
enum What {
    /// A value file, to be read for its metadata.
    Value,
    /// A directory to descend into, with its name if it is a hashed one.
    Dir(Option<String>),
    /// A damaged entry, reported as this error.
    Damaged(store_core::Error),
}

/// What reading a hashed entry's real name found (see [`Walker::sort_out`]).
enum Found<T> {
    Named(T),
    Damaged(String, What),
    Nothing,
}

/// One entry of a directory that the listing may need.
struct Item {
    /// The key (value files) or the key prefix ending in `/` (directories); for a damaged
    /// entry whose key is unknown, where its name puts it.
    sort: String,
    path: PathBuf,
    what: What,
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
    /// Set once the walk has ended, at its end or at an error.
    done: bool,
    /// Foreign entries skipped so far, and the first of them.
    skipped: usize,
    first_skipped: Option<PathBuf>,
}

impl<F: Fs> Walker<F> {
    pub fn new(engine: Arc<Engine<F>>, options: ListOptions) -> Self {
        Walker {
            engine,
            options,
            stack: Vec::new(),
            started: false,
            done: false,
            skipped: 0,
            first_skipped: None,
        }
    }

    /// Whether the walk has ended (no entry will follow).
    pub fn is_done(&self) -> bool {
        self.done
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

    /// What reading a hashed entry's real name (from its header or `~seg` file) found.
    /// A damaged one, whose key is unknown, is placed at `place` (its directory's key
    /// prefix and its own name) and reported once, by the listing whose range passes it.
    fn sort_out<T>(&self, found: Result<Option<T>>, place: String) -> Result<Found<T>> {
        match found {
            Ok(Some(name)) => Ok(Found::Named(name)),
            Ok(None) => Ok(Found::Nothing),
            Err(e) if e.kind() == ErrorKind::Corrupted => {
                let after_start = self.options.start_after.as_ref();
                Ok(
                    if after_start.is_none_or(|after| place.as_str() > after.as_str()) {
                        Found::Damaged(place, What::Damaged(e))
                    } else {
                        Found::Nothing
                    },
                )
            }
            Err(e) => Err(e),
        }
    }

    /// Count a foreign entry.
    fn skip(&mut self, path: PathBuf) {
        self.skipped += 1;
        self.first_skipped.get_or_insert(path);
    }

    /// Read, filter and sort the directory holding keys that start with `key_prefix`
    /// (`hashed` is its name if it is a hashed directory).
    fn read(&mut self, dir: &Path, key_prefix: &str, hashed: Option<&str>) -> Result<Frame> {
        let engine = self.engine.clone();
        let entries = match engine.fs.read_dir(dir) {
            Ok(entries) => entries,
            // Pruned since its parent was read: nothing left in it.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(Error::io(format!("listing `{}`", dir.display()), e)),
        };
        let is_root = key_prefix.is_empty();
        if !is_root && entries.iter().any(|e| e.name == LOCK_FILE && !e.is_dir) {
            // Another store's root: its files are not this store's keys.
            self.skip(dir.to_path_buf());
            return Ok(Frame {
                items: Vec::new().into_iter(),
            });
        }
        let mut items = Vec::new();
        for entry in entries {
            let path = dir.join(&entry.name);
            let (sort, what) = match layout::classify(&entry.name, entry.is_dir) {
                Kind::Value(segment) => {
                    let sort = format!("{key_prefix}{segment}");
                    match Key::new(&sort) {
                        Ok(key) if self.options.admits(&key) => (sort, What::Value),
                        Ok(_) => continue,
                        Err(_) => {
                            self.skip(path);
                            continue;
                        }
                    }
                }
                Kind::HashedValue => {
                    let key = self.hashed_key(&path, key_prefix, &entry.name);
                    match self.sort_out(key, format!("{key_prefix}{}", entry.name))? {
                        Found::Named(key) if self.options.admits(&key) => {
                            (key.as_str().to_owned(), What::Value)
                        }
                        Found::Damaged(sort, what) => (sort, what),
                        _ => continue,
                    }
                }
                Kind::Dir(segment) => {
                    let sort = format!("{key_prefix}{segment}/");
                    // A prefix that no valid key has (too long, a control character).
                    if Key::new(&sort[..sort.len() - 1]).is_err() {
                        self.skip(path);
                        continue;
                    }
                    if !self.subtree_relevant(&sort) {
                        continue;
                    }
                    (sort, What::Dir(None))
                }
                Kind::HashedDir => {
                    let segment = self.hashed_segment(&path, key_prefix, &entry.name);
                    match self.sort_out(segment, format!("{key_prefix}{}/", entry.name))? {
                        Found::Named(segment) => {
                            let sort = format!("{key_prefix}{segment}/");
                            if !self.subtree_relevant(&sort) {
                                continue;
                            }
                            (sort, What::Dir(Some(entry.name)))
                        }
                        Found::Damaged(sort, what) => (sort, what),
                        Found::Nothing => continue,
                    }
                }
                Kind::Other => {
                    self.other(dir, &entry, is_root, hashed);
                    continue;
                }
            };
            items.push(Item { sort, path, what });
        }
        items.sort_unstable_by(|a, b| a.sort.cmp(&b.sort));
        Ok(Frame {
            items: items.into_iter(),
        })
    }

    /// An entry that is no key: the store's own file, a stale temp file to remove, or a
    /// foreign entry to count.
    fn other(&mut self, dir: &Path, entry: &DirItem, is_root: bool, hashed: Option<&str>) {
        let name = entry.name.as_str();
        if !entry.is_dir {
            let own = (is_root && name == LOCK_FILE) || (hashed.is_some() && name == SEGMENT_FILE);
            if own {
                return;
            }
            let engine = &self.engine;
            match temp::owner(name) {
                // A put of this store in flight.
                Some(Owner::Session(id)) if id == engine.session => return,
                Some(_) if temp::is_stale(&engine.fs, dir, hashed, name, engine.session) => {
                    // Best effort: one left in place is invisible, and the next listing
                    // tries again. It needs no fsync: if it comes back, so does this.
                    if let Err(e) = engine.fs.remove_file(&dir.join(name)) {
                        tracing::debug!(path = %dir.join(name).display(), error = %e, "could not remove a stale temp file");
                    }
                    return;
                }
                _ => {}
            }
        }
        self.skip(dir.join(name));
    }

    /// The key stored in a value file with a hashed name (in the directory of keys
    /// starting with `key_prefix`); `None` if the file is gone. A damaged file is
    /// `Corrupted`, named by its place, since the key in it is lost.
    fn hashed_key(&self, path: &Path, key_prefix: &str, name: &str) -> Result<Option<Key>> {
        let place = format!("{key_prefix}{name}");
        let (bytes, _) = match self.engine.fs.read_head(path, format::MAX_HEADER) {
            Ok(read) => read,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(read_error(&place, path, e)),
        };
        let header = format::decode(&bytes).map_err(|why| corrupted(&place, path, &why))?;
        let key = Key::new(&header.key).map_err(|e| corrupted(&place, path, &e.to_string()))?;
        if layout::locate(&self.engine.root, &key).file != path {
            return Err(corrupted(
                &place,
                path,
                &format!("the file holds the key `{key}`, which belongs elsewhere"),
            ));
        }
        Ok(Some(key))
    }

    /// The segment a hashed directory stands for, from its `~seg` file; `None` if there
    /// is none (a crash after creating the directory and before its segment file: no
    /// value was ever written in it).
    fn hashed_segment(&self, path: &Path, key_prefix: &str, name: &str) -> Result<Option<String>> {
        let place = format!("{key_prefix}{name}/");
        let seg_path = path.join(SEGMENT_FILE);
        let bytes = match self.engine.fs.read(&seg_path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(read_error(&place, &seg_path, e)),
        };
        let segment = String::from_utf8(bytes)
            .map_err(|_| corrupted(&place, &seg_path, "segment file is not UTF-8"))?;
        if layout::segment_name(&segment) != (name.to_owned(), true) {
            return Err(corrupted(
                &place,
                &seg_path,
                "the segment file does not match the directory's name",
            ));
        }
        Ok(Some(segment))
    }

    /// Up to `max` more entries (a damaged one as its `Corrupted` error), in order; fewer
    /// only at the end of the listing, or when an error (the last item) ended it.
    pub fn next_batch(&mut self, max: usize) -> Vec<Result<Meta>> {
        let mut out = Vec::new();
        if !self.done
            && let Err(e) = self.fill(max, &mut out)
        {
            out.push(Err(e));
            self.done = true;
        }
        out
    }

    fn fill(&mut self, max: usize, out: &mut Vec<Result<Meta>>) -> Result<()> {
        if !self.started {
            self.started = true;
            let root = self.engine.root.clone();
            let frame = self.read(&root, "", None)?;
            self.stack.push(frame);
        }
        while out.len() < max {
            let Some(frame) = self.stack.last_mut() else {
                self.done = true;
                break;
            };
            let Some(item) = frame.items.next() else {
                self.stack.pop();
                continue;
            };
            match item.what {
                What::Dir(hashed) => {
                    let frame = self.read(&item.path, &item.sort, hashed.as_deref())?;
                    self.stack.push(frame);
                }
                What::Damaged(e) => out.push(Err(e)),
                What::Value => {
                    let key = Key::new(&item.sort)?;
                    match self.engine.read_header(&key, &item.path) {
                        Ok(Some(header)) => out.push(Ok(meta(key, &header))),
                        // Deleted since the directory was read.
                        Ok(None) => {}
                        Err(e) if e.kind() == ErrorKind::Corrupted => out.push(Err(e)),
                        Err(e) => return Err(e),
                    }
                }
            }
        }
        Ok(())
    }
}

impl<F: Fs> Drop for Walker<F> {
    fn drop(&mut self) {
        if let Some(first) = &self.first_skipped {
            tracing::warn!(
                root = %self.engine.root.display(),
                skipped = self.skipped,
                first = %first.display(),
                "the file store's listing skipped {} entries that are not its own (first: `{}`)",
                self.skipped,
                first.display()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::Mutex;

    use store_core::PutMode;

    use super::*;
    use crate::SyncMode;
    use crate::fs::RealFs;

    /// A log sink for one test's subscriber.
    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<u8>>>);

    impl Write for Capture {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn foreign_entries_are_skipped_counted_and_reported_once() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let engine = Arc::new(Engine::new(RealFs, root.clone(), SyncMode::Never));
        for k in ["a/1", "b"] {
            let key = Key::new(k).unwrap();
            engine.put(&key, b"v", &PutMode::Overwrite).unwrap();
        }
        std::fs::write(root.join("a/notes.txt"), b"x").unwrap();
        std::fs::write(root.join("%00~"), b"x").unwrap();
        std::fs::create_dir(root.join("some dir")).unwrap();
        std::fs::create_dir_all(root.join("nested/k")).unwrap();
        std::fs::write(root.join("nested/~lock"), b"").unwrap();
        std::fs::write(root.join("nested/k~"), b"another store's").unwrap();
        use std::os::unix::ffi::OsStrExt;
        let not_utf8 = std::ffi::OsStr::from_bytes(b"\xff~");
        std::fs::write(root.join(not_utf8), b"x").unwrap();

        let capture = Capture::default();
        let sink = capture.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || sink.clone())
            .with_ansi(false)
            .finish();
        let (listed, skipped) = tracing::subscriber::with_default(subscriber, || {
            let mut walker = Walker::new(engine.clone(), ListOptions::default());
            let listed: Vec<String> = walker
                .next_batch(100)
                .into_iter()
                .map(|m| m.unwrap().key.as_str().to_owned())
                .collect();
            assert!(walker.is_done());
            let skipped = walker.skipped;
            drop(walker);
            (listed, skipped)
        });
        assert_eq!(listed, ["a/1", "b"]);
        let why = "notes.txt, %00~, a name that is not UTF-8, `some dir`, the nested root";
        assert_eq!(skipped, 5, "{why}");
        let log = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
        assert_eq!(log.matches("WARN").count(), 1, "{log}");
        assert!(log.contains("skipped 5 entries"), "{log}");
        assert!(log.contains(&root.display().to_string()), "{log}");
    }
}
