//! Where a key lives on disk: one directory per leading segment, one file for the last.
//!
//! Names are built from a small alphabet so that the kinds of entries can never collide:
//! - a segment is percent-encoded: `A-Z a-z 0-9 - _ .` stay, every other byte becomes
//!   `%XX`; `~` is therefore never part of an encoded segment;
//! - the directory of segment `s` is `enc(s)`; the value file of a key whose last segment
//!   is `s` is `enc(s)~`, so a key and its children (`a` and `a/b`) coexist;
//! - a segment whose encoding is longer than [`MAX_ENCODED`] is named `~h<hash>` (and
//!   `~h<hash>~` for the value file); the value file keeps the whole key in its header and
//!   a hashed directory keeps its segment in a `~seg` file;
//! - the store's own files start with `~` and are never keys: `~lock` at the root,
//!   `~seg`, and temp files `~t<session><n>.tmp` (see `temp.rs`).
//!
//! Keys cannot escape the root: `.` and `..` segments are invalid keys, `/` only separates
//! segments, and no encoded name contains a `/`, starts a path anew or is `.`/`..`.

use std::path::{Path, PathBuf};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use store_core::Key;

/// Bytes kept as they are in a file name; everything else is `%XX`.
const KEEP: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.');

/// The longest encoded segment used as a name; longer ones are hashed. File systems allow
/// 255 bytes per name, and the value file adds a one-byte suffix.
pub(crate) const MAX_ENCODED: usize = 240;

/// The value-file suffix.
pub(crate) const VALUE_SUFFIX: char = '~';
/// The lock file at the root.
pub(crate) const LOCK_FILE: &str = "~lock";
/// The file in a hashed directory holding its segment.
pub(crate) const SEGMENT_FILE: &str = "~seg";
const HASHED_PREFIX: &str = "~h";

/// The on-disk name of a segment (directory form), and whether it is hashed.
pub(crate) fn segment_name(segment: &str) -> (String, bool) {
    let encoded = utf8_percent_encode(segment, KEEP).to_string();
    if encoded.len() <= MAX_ENCODED {
        (encoded, false)
    } else {
        let hash = blake3::hash(segment.as_bytes());
        let hex: String = hash.as_bytes()[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        (format!("{HASHED_PREFIX}{hex}"), true)
    }
}

/// The on-disk name of the value file for a last segment.
pub(crate) fn value_name(segment: &str) -> String {
    let (mut name, _) = segment_name(segment);
    name.push(VALUE_SUFFIX);
    name
}

/// One directory on a key's path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DirStep {
    pub path: PathBuf,
    /// The segment, if the directory's name is hashed (it then needs a `~seg` file).
    pub hashed_segment: Option<String>,
}

/// Where a key's value lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Location {
    /// The directories below the root, outermost first.
    pub dirs: Vec<DirStep>,
    /// The directory holding the value file.
    pub dir: PathBuf,
    /// The value file.
    pub file: PathBuf,
}

/// The location of `key` under `root`.
pub(crate) fn locate(root: &Path, key: &Key) -> Location {
    let segments: Vec<&str> = key.segments().collect();
    let (last, parents) = segments.split_last().unwrap_or((&"", &[]));
    let mut dir = root.to_path_buf();
    let mut dirs = Vec::with_capacity(parents.len());
    for segment in parents {
        let (name, hashed) = segment_name(segment);
        dir.push(name);
        dirs.push(DirStep {
            path: dir.clone(),
            hashed_segment: hashed.then(|| (*segment).to_owned()),
        });
    }
    let file = dir.join(value_name(last));
    Location { dirs, dir, file }
}

/// What a directory entry is, judged by its name and type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The value file of the segment.
    Value(String),
    /// A value file with a hashed name: the key is in its header.
    HashedValue,
    /// The directory of the segment.
    Dir(String),
    /// A directory with a hashed name: the segment is in its `~seg` file.
    HashedDir,
    /// Not a key: our own files (lock, temp, `~seg`) or anything foreign.
    Other,
}

/// Classify a directory entry. A name with the value suffix is a value file's whatever
/// stands there: a directory or a FIFO in its place is a damaged entry, which reading it
/// reports, not a foreign one to skip.
pub(crate) fn classify(name: &str, is_dir: bool) -> Kind {
    if let Some(stem) = name.strip_suffix(VALUE_SUFFIX) {
        return if is_hashed(stem) {
            Kind::HashedValue
        } else {
            decode(stem).map_or(Kind::Other, Kind::Value)
        };
    }
    if !is_dir {
        Kind::Other
    } else if is_hashed(name) {
        Kind::HashedDir
    } else {
        decode(name).map_or(Kind::Other, Kind::Dir)
    }
}

fn is_hashed(name: &str) -> bool {
    name.strip_prefix(HASHED_PREFIX)
        .is_some_and(|hex| hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The segment an encoded name stands for, if the name is exactly our encoding of it
/// (so a foreign `%41` never shadows the key `A`).
fn decode(name: &str) -> Option<String> {
    let segment = percent_decode_str(name).decode_utf8().ok()?.into_owned();
    let valid = !segment.is_empty() && segment != "." && segment != "..";
    (valid && segment_name(&segment) == (name.to_owned(), false)).then_some(segment)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_never_collide() {
        for segment in [
            "a", "a~", "%41", "A", "ü", "a.b", "...", "CON", " x ", "~h00",
        ] {
            let (dir, hashed) = segment_name(segment);
            assert!(!hashed);
            assert_eq!(classify(&dir, true), Kind::Dir(segment.to_owned()));
            let file = value_name(segment);
            assert_eq!(classify(&file, false), Kind::Value(segment.to_owned()));
            assert!(!dir.contains('/') && !dir.contains('~'), "{dir}");
        }
        assert_eq!(classify("%41", true), Kind::Other, "non-canonical encoding");
        assert_eq!(classify("~lock", false), Kind::Other);
        assert_eq!(classify(&crate::temp::name(1, 1), false), Kind::Other);
        assert_eq!(
            classify("a", false),
            Kind::Other,
            "a file without the suffix"
        );
        assert_eq!(
            classify("a~", true),
            Kind::Value("a".into()),
            "a directory in a value file's place"
        );
    }

    #[test]
    fn long_segments_are_hashed_and_stay_short() {
        let long = "é".repeat(300);
        let (name, hashed) = segment_name(&long);
        assert!(hashed && name.len() < 64);
        assert_eq!(classify(&name, true), Kind::HashedDir);
        assert_eq!(classify(&value_name(&long), false), Kind::HashedValue);
    }

    #[test]
    fn locations_stay_under_the_root() {
        let root = Path::new("/r");
        let key = Key::new("..a/b%2F../~lock/c").unwrap();
        let loc = locate(root, &key);
        assert_eq!(loc.file, Path::new("/r/..a/b%252F../%7Elock/c~"));
        assert_eq!(loc.dirs.len(), 3);
        assert!(loc.dirs.iter().all(|d| d.path.starts_with(root)));
    }
}
