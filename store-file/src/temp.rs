//! The store's temp files: how they are named, and how a stale one is told apart, with
//! certainty, from anything else before it is removed.
//!
//! A put writes `~t<session><n>.tmp` next to its target (16 hex digits each: the opening
//! store's random session id and a counter) and renames it into place, so a temp file
//! outlives its put only if the process died first. Since a root has one store at a time
//! (its lock), a temp file of any *other* session is stale. Nothing walks the tree to find
//! them: they are invisible to reads, and the listing, which reads directories anyway,
//! removes the stale ones it meets (see `list.rs`).
//!
//! A file is removed only if all of these prove it ours: it sits in the root or in a
//! directory whose name is the store's own encoding (the listing descends into no other);
//! its name has exactly the shape above (or the 16-digit `~t<n>.tmp` of earlier versions,
//! which no session writes now); and its bytes are what the store writes into temp files —
//! a prefix of a value file's header (`STRF`, format 1), nothing at all (a crash before the
//! first write), or, in a hashed directory, exactly the segment that hashes to the
//! directory's name (its `~seg` file being written). Anything else is the user's.

use std::path::Path;

use store_core::MAX_KEY_LEN;

use crate::format;
use crate::fs::Fs;
use crate::layout;

const PREFIX: &str = "~t";
const SUFFIX: &str = ".tmp";
/// Hex digits of a session id, and of a temp file's number within its session.
const DIGITS: usize = 16;

/// Whose a temp-file name says it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Owner {
    /// Written by the store session with this id.
    Session(u64),
    /// Written by an earlier version of the store (no session id): always stale.
    Legacy,
}

/// The name of temp file number `n` of `session`.
pub(crate) fn name(session: u64, n: u64) -> String {
    format!("{PREFIX}{session:016x}{n:016x}{SUFFIX}")
}

/// Whose temp file `name` is, if it has exactly the shape the store gives temp files.
pub(crate) fn owner(name: &str) -> Option<Owner> {
    let hex = name.strip_prefix(PREFIX)?.strip_suffix(SUFFIX)?;
    if !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    match hex.len() {
        DIGITS => Some(Owner::Legacy),
        len if len == 2 * DIGITS => u64::from_str_radix(&hex[..DIGITS], 16)
            .ok()
            .map(Owner::Session),
        _ => None,
    }
}

/// Whether the file `name` in `dir` is a temp file left by a session other than
/// `session` (a crashed one), proven by its name and its bytes. `hashed_dir` is the
/// directory's name if it is a hashed one (its temp files may hold its segment).
pub(crate) fn is_stale<F: Fs>(
    fs: &F,
    dir: &Path,
    hashed_dir: Option<&str>,
    name: &str,
    session: u64,
) -> bool {
    match owner(name) {
        None => return false,
        Some(Owner::Session(id)) if id == session => return false,
        Some(_) => {}
    }
    // A segment is at most a key long; a header prefix needs only its first bytes.
    let Ok((head, len)) = fs.read_head(&dir.join(name), MAX_KEY_LEN + 1) else {
        return false;
    };
    if head.len() as u64 != len.min(MAX_KEY_LEN as u64 + 1) {
        return false;
    }
    bytes_are_ours(&head, len, hashed_dir)
}

/// Whether a temp file of `len` bytes starting with `head` holds what the store writes.
fn bytes_are_ours(head: &[u8], len: u64, hashed_dir: Option<&str>) -> bool {
    let magic = format::START;
    let header_prefix = if head.len() < magic.len() {
        magic.starts_with(head)
    } else {
        head.starts_with(magic)
    };
    if header_prefix {
        return true;
    }
    hashed_dir.is_some_and(|dir_name| {
        len as usize == head.len()
            && std::str::from_utf8(head)
                .is_ok_and(|segment| layout::segment_name(segment) == (dir_name.to_owned(), true))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_shapes_are_temp_names() {
        let ours = name(0xfeed, 7);
        assert_eq!(ours, "~t000000000000feed0000000000000007.tmp");
        assert_eq!(owner(&ours), Some(Owner::Session(0xfeed)));
        assert_eq!(owner("~t00000000deadbeef.tmp"), Some(Owner::Legacy));
        for foreign in [
            "~tmp-notes.tmp",
            "~t1.tmp",
            "~t00000000DEADBEEF.tmp",
            "~t00000000deadbeef0.tmp",
            "~t00000000deadbeef.tmp~",
            "x~t00000000deadbeef.tmp",
            "~t00000000deadbeef.TMP",
            "~t+0000000deadbeef.tmp",
        ] {
            assert_eq!(owner(foreign), None, "{foreign}");
        }
    }

    #[test]
    fn only_our_bytes_are_ours() {
        let header = format::encode(
            &store_core::Key::new("k").unwrap(),
            b"v",
            1,
            std::time::SystemTime::UNIX_EPOCH,
        );
        for n in 0..=header.len() {
            assert!(bytes_are_ours(&header[..n], n as u64, None), "{n} bytes");
        }
        assert!(!bytes_are_ours(b"STRX", 4, None));
        assert!(!bytes_are_ours(b"S\0", 2, None));
        assert!(!bytes_are_ours(b"notes", 5, None));
        let long = "y".repeat(300);
        let (dir, hashed) = layout::segment_name(&long);
        assert!(hashed);
        assert!(bytes_are_ours(long.as_bytes(), 300, Some(&dir)));
        assert!(!bytes_are_ours(&long.as_bytes()[..299], 299, Some(&dir)));
        assert!(!bytes_are_ours(long.as_bytes(), 300, None));
        assert!(!bytes_are_ours(b"other", 5, Some(&dir)));
    }
}
