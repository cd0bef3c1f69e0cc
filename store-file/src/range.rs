//! Range reads: the header of a value file and only the asked-for part of its value.
//!
//! What a range read verifies: the header (its checksum, the key it names, and that the
//! file is exactly header plus value long, so a truncation shows). The value's checksum
//! covers the whole value, so a part cannot be checked against it: a range that does not
//! cover the whole value comes back without a value check, and damage inside the value
//! shows only to a `get`. A range covering the whole value is checked as `get` checks it.

use std::ops::Range;

use bytes::Bytes;
use store_core::{Key, Meta, Result, clamp_range};

use crate::engine::{Engine, corrupted, is_absent, meta, read_error};
use crate::format;
use crate::fs::Fs;
use crate::layout;

impl<F: Fs> Engine<F> {
    /// The bytes of `range` in the value at `key` (cut at its end) and the value's
    /// metadata; `None` if absent. `range` must not start after its end.
    pub fn get_range(&self, key: &Key, range: Range<u64>) -> Result<Option<(Bytes, Meta)>> {
        let path = layout::locate(&self.root, key).file;
        // The header's length follows from the key, so one open reads header and range.
        let head = format::header_len(key);
        let at = (head as u64).saturating_add(range.start);
        let want = range.end.saturating_sub(range.start);
        let (head_bytes, part, file_len) = match self.fs.read_parts(&path, head, at, want) {
            Ok(read) => read,
            Err(e) if is_absent(&e) => return Ok(None),
            Err(e) => return Err(read_error(key, &path, e)),
        };
        let header = format::decode(&head_bytes).map_err(|why| corrupted(key, &path, &why))?;
        self.check_key(key, &path, &header)?;
        format::check_len(&header, file_len).map_err(|why| corrupted(key, &path, &why))?;
        let within = clamp_range(&range, header.value_len)?;
        // The length was checked on the file that was read, so this holds unless the file
        // was rewritten in place, which the store never does.
        if part.len() as u64 != within.end - within.start {
            return Err(corrupted(key, &path, "value changed while it was read"));
        }
        if within == (0..header.value_len) {
            format::check_value(&header, &part).map_err(|why| corrupted(key, &path, &why))?;
        }
        Ok(Some((Bytes::from(part), meta(key.clone(), &header))))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use store_core::{ErrorKind, PutMode};

    use super::*;
    use crate::SyncMode;
    use crate::fs::RealFs;

    /// An engine over a fresh directory holding `value` at `k`; the file's path.
    fn holding(
        dir: &tempfile::TempDir,
        k: &Key,
        value: &[u8],
    ) -> (Arc<Engine<RealFs>>, std::path::PathBuf) {
        let root = dir.path().canonicalize().unwrap();
        let engine = Arc::new(Engine::new(RealFs, root.clone(), SyncMode::Never));
        engine.put(k, value, &PutMode::Overwrite).unwrap();
        (engine, layout::locate(&root, k).file)
    }

    fn flip(path: &std::path::Path, at: usize) {
        let mut bytes = std::fs::read(path).unwrap();
        bytes[at] ^= 0x10;
        std::fs::write(path, bytes).unwrap();
    }

    #[test]
    fn a_range_reads_the_value_part_with_the_whole_value_meta() {
        let dir = tempfile::tempdir().unwrap();
        let k = Key::new("a/b").unwrap();
        let value: Vec<u8> = (0..=255).cycle().take(10_000).collect();
        let (engine, _) = holding(&dir, &k, &value);
        let (bytes, meta) = engine.get_range(&k, 100..4_000).unwrap().unwrap();
        assert_eq!(&bytes[..], &value[100..4_000]);
        assert_eq!(Some(meta), engine.head(&k).unwrap());
        let (bytes, _) = engine.get_range(&k, 9_990..u64::MAX).unwrap().unwrap();
        assert_eq!(&bytes[..], &value[9_990..]);
        assert!(
            engine
                .get_range(&k, 20_000..u64::MAX)
                .unwrap()
                .unwrap()
                .0
                .is_empty()
        );
        let missing = Key::new("a/c").unwrap();
        assert_eq!(engine.get_range(&missing, 0..1).unwrap(), None);
    }

    #[test]
    fn a_damaged_header_or_length_fails_every_range_and_the_value_check_covers_whole_ranges() {
        let dir = tempfile::tempdir().unwrap();
        let k = Key::new("k").unwrap();
        let (engine, path) = holding(&dir, &k, b"0123456789");
        let head = format::header_len(&k);
        // A flipped value byte: a part that holds it cannot know (the checksum covers the
        // whole value), a range over the whole value does.
        flip(&path, head + 5);
        let (bytes, _) = engine.get_range(&k, 4..7).unwrap().unwrap();
        assert_eq!(&bytes[..], b"4%6", "read as stored, unverified");
        let err = engine.get_range(&k, 0..10).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Corrupted, "{err}");
        assert!(err.to_string().contains("value checksum"), "{err}");
        flip(&path, head + 5);
        // A flipped header byte, and a truncated file: every range fails, naming the key.
        flip(&path, 9);
        let err = engine.get_range(&k, 0..1).unwrap_err();
        assert_eq!(
            (err.kind(), err.key()),
            (ErrorKind::Corrupted, Some("k")),
            "{err}"
        );
        flip(&path, 9);
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
        let err = engine.get_range(&k, 0..1).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Corrupted, "{err}");
        assert!(err.to_string().contains("truncated"), "{err}");
    }

    #[test]
    fn a_file_holding_another_key_is_corrupted() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (Key::new("a").unwrap(), Key::new("b").unwrap());
        let (engine, path_a) = holding(&dir, &a, b"value a");
        engine.put(&b, b"value b", &PutMode::Overwrite).unwrap();
        let path_b = layout::locate(&engine.root, &b).file;
        std::fs::copy(&path_a, &path_b).unwrap();
        let err = engine.get_range(&b, 0..3).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Corrupted, "{err}");
    }
}
