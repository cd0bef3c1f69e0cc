//! The write protocol under simulated power loss (see `sim.rs`).
//!
//! A sequence of puts and deletes runs against the simulated file system; after every
//! single file operation, the state power loss would leave is opened as a store and
//! checked: every acknowledged write is present with its acknowledged value (or, for the
//! key being written at that instant, the new value or absence for a delete), nothing is
//! torn or corrupted, and listing shows nothing else. Mutants of the protocol that skip
//! the directory fsync or the file fsync must fail the same check, which proves the check
//! can see those steps.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use store_core::{Key, ListOptions, PutMode};

use crate::SyncMode;
use crate::engine::Engine;
use crate::fs::Fs;
use crate::list::Walker;
use crate::sim::{Mutant, SimFs};

const ROOT: &str = "/sim/root";

enum Op {
    Put(&'static str, &'static [u8]),
    Delete(&'static str),
}

/// Creations in new directories, overwrites, a hashed long segment, deletes that prune.
fn ops() -> Vec<Op> {
    let long: &'static str = Box::leak(format!("h/{}/v", "y".repeat(300)).into_boxed_str());
    vec![
        Op::Put("p/a", b"one"),
        Op::Put("p/b/c", b"two"),
        Op::Put("p/a", b"three"),
        Op::Put(long, b"long"),
        Op::Delete("p/b/c"),
        Op::Put("p/b/c", b"four"),
        Op::Delete(long),
        Op::Put("q", b"five"),
        Op::Put("p/a", b""),
        Op::Delete("q"),
    ]
}

type Acked = BTreeMap<&'static str, Option<Vec<u8>>>;

/// Check one crash image. `in_flight` is the key being written and the value it is
/// becoming (`None` for a delete).
fn check(image: SimFs, acked: &Acked, in_flight: (&str, Option<&[u8]>)) -> Result<(), String> {
    let engine = Arc::new(Engine::new(image, ROOT.into(), SyncMode::Always));
    engine.sync_root().map_err(|e| format!("open: {e}"))?;
    let mut expected_keys = Vec::new();
    for (&k, value) in acked {
        let key = Key::new(k).map_err(|e| e.to_string())?;
        let got = engine
            .get(&key)
            .map_err(|e| format!("get {k}: {e}"))?
            .map(|entry| entry.value.to_vec());
        let ok = got == *value || (k == in_flight.0 && got.as_deref() == in_flight.1);
        if !ok {
            return Err(format!("{k}: found {got:?}, acknowledged {value:?}"));
        }
        if got.is_some() {
            expected_keys.push(k.to_owned());
        }
    }
    if !acked.contains_key(in_flight.0)
        && engine
            .get(&Key::new(in_flight.0).map_err(|e| e.to_string())?)
            .map_err(|e| format!("get {}: {e}", in_flight.0))?
            .is_some()
    {
        expected_keys.push(in_flight.0.to_owned());
        expected_keys.sort();
    }
    let listed: Vec<String> = Walker::new(engine.clone(), ListOptions::default())
        .next_batch(usize::MAX)
        .into_iter()
        .map(|m| m.map(|m| m.key.as_str().to_owned()))
        .collect::<store_core::Result<_>>()
        .map_err(|e| format!("list: {e}"))?;
    if listed != expected_keys {
        return Err(format!("listed {listed:?}, expected {expected_keys:?}"));
    }
    // The listing removed what the crash left: only values, lock-free and segment files.
    let leftovers = temp_files(&engine.fs, Path::new(ROOT));
    if !leftovers.is_empty() {
        return Err(format!("temp files left after listing: {leftovers:?}"));
    }
    Ok(())
}

/// Every temp file under `dir`.
fn temp_files(fs: &SimFs, dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for item in fs.read_dir(dir).unwrap_or_default() {
        let path = dir.join(&item.name);
        if item.is_dir {
            out.extend(temp_files(fs, &path));
        } else if crate::temp::owner(&item.name).is_some() {
            out.push(path.display().to_string());
        }
    }
    out
}

/// Run the ops with `mode` through a store that leaves out what `mutant` says; return
/// the first violation found in any crash image, and how many images were checked.
fn run(mode: SyncMode, mutant: Mutant) -> Result<usize, String> {
    let fs = SimFs::new(Path::new(ROOT));
    let engine = Engine::new(fs.with_mutant(mutant), ROOT.into(), mode);
    let mut acked = Acked::new();
    let mut checked = 0;
    for (i, op) in ops().into_iter().enumerate() {
        let (k, new) = match &op {
            Op::Put(k, v) => (*k, Some(*v)),
            Op::Delete(k) => (*k, None),
        };
        let key = Key::new(k).map_err(|e| e.to_string())?;
        match op {
            Op::Put(_, v) => engine.put(&key, v, &PutMode::Overwrite).map(drop),
            Op::Delete(_) => engine.delete(&key),
        }
        .map_err(|e| format!("op {i} failed: {e}"))?;
        for (j, image) in fs.take_images().into_iter().enumerate() {
            check(image, &acked, (k, new)).map_err(|e| format!("op {i}, file op {j}: {e}"))?;
            checked += 1;
        }
        acked.insert(k, new.map(<[u8]>::to_vec));
    }
    check(fs.crash_image(), &acked, ("-", None)).map_err(|e| format!("at the end: {e}"))?;
    Ok(checked + 1)
}

#[test]
fn every_crash_point_keeps_acknowledged_writes() {
    for mode in [SyncMode::Always, SyncMode::Batch] {
        let checked = run(mode, Mutant::None).unwrap_or_else(|e| panic!("{mode:?}: {e}"));
        assert!(checked > 50, "only {checked} crash points");
        eprintln!("{mode:?}: {checked} crash points checked");
    }
}

#[test]
fn skipping_the_directory_fsync_is_caught() {
    for mode in [SyncMode::Always, SyncMode::Batch] {
        let err = run(mode, Mutant::NoDirSync).expect_err("a store without directory fsync");
        eprintln!("{mode:?} without directory fsync: {err}");
        assert!(err.contains("acknowledged"), "{mode:?}: {err}");
    }
}

#[test]
fn skipping_the_file_fsync_is_caught() {
    for mode in [SyncMode::Always, SyncMode::Batch] {
        let err = run(mode, Mutant::NoFileSync).expect_err("a store without file fsync");
        eprintln!("{mode:?} without file fsync: {err}");
        assert!(err.contains("corrupted"), "{mode:?}: {err}");
    }
}

/// `never` promises only process-crash survival; the model shows power loss loses writes.
#[test]
fn sync_never_does_not_survive_power_loss() {
    let err = run(SyncMode::Never, Mutant::None).expect_err("never syncs");
    eprintln!("Never: {err}");
}

/// Concurrent `batch` writers to shared and separate directories, through a store that
/// leaves out what `mutant` says; after they all return, the first write power loss
/// would lose, if any.
fn concurrent_batch(mutant: Mutant) -> Result<(), String> {
    let fs = SimFs::new(Path::new(ROOT));
    let engine = Arc::new(Engine::new(
        fs.with_mutant(mutant),
        ROOT.into(),
        SyncMode::Batch,
    ));
    let names = |t: usize, n: usize| {
        [
            format!("shared/t{t}-{}", n % 3),
            format!("own{t}/k{}", n % 3),
        ]
    };
    let threads: Vec<_> = (0..16)
        .map(|t| {
            let engine = engine.clone();
            std::thread::spawn(move || {
                for n in 0..20 {
                    for k in names(t, n) {
                        let key = Key::new(&k).map_err(|e| e.to_string())?;
                        let value = format!("{k}={n}");
                        engine
                            .put(&key, value.as_bytes(), &PutMode::Overwrite)
                            .map_err(|e| e.to_string())?;
                    }
                }
                Ok::<(), String>(())
            })
        })
        .collect();
    for thread in threads {
        thread.join().map_err(|_| "writer panicked".to_owned())??;
    }
    let image = Engine::new(fs.crash_image(), ROOT.into(), SyncMode::Always);
    for t in 0..16 {
        for n in 17..20 {
            for k in names(t, n) {
                let got = image
                    .get(&Key::new(&k).map_err(|e| e.to_string())?)
                    .map_err(|e| e.to_string())?
                    .map(|e| e.value);
                if got.as_deref() != Some(format!("{k}={n}").as_bytes()) {
                    return Err(format!("{k}: found {got:?} after power loss"));
                }
            }
        }
    }
    Ok(())
}

#[test]
fn concurrent_batch_writers_survive_power_loss() {
    concurrent_batch(Mutant::None).unwrap();
    let err = concurrent_batch(Mutant::NoDirSync).expect_err("a store without directory fsync");
    assert!(err.contains("after power loss"), "{err}");
}

/// A store killed (not a power loss: the page cache survives) may leave directories and
/// renames it never fsynced. A later store that writes through them must make them
/// durable before it acknowledges, though it never walked the tree on open.
fn build_on_a_killed_store(first: Mutant) -> Result<(), String> {
    let fs = SimFs::new(Path::new(ROOT));
    let long: &str = &format!("h/{}/v", "y".repeat(300));
    let killed = Engine::new(fs.with_mutant(first), ROOT.into(), SyncMode::Always);
    for k in ["p/q/old", long] {
        let key = Key::new(k).map_err(|e| e.to_string())?;
        killed
            .put(&key, b"old", &PutMode::Overwrite)
            .map_err(|e| e.to_string())?;
    }
    drop(killed);
    for mode in [SyncMode::Always, SyncMode::Batch] {
        let next = Engine::new(fs.clone(), ROOT.into(), mode);
        next.sync_root().map_err(|e| e.to_string())?;
        let mut acked = Vec::new();
        for k in ["p/q/new", "p/q/old", long] {
            let key = Key::new(k).map_err(|e| e.to_string())?;
            let value = format!("{mode:?}");
            next.put(&key, value.as_bytes(), &PutMode::Overwrite)
                .map_err(|e| e.to_string())?;
            acked.push((key, value));
        }
        // Power loss now: what the second store acknowledged is there.
        let image = Engine::new(fs.crash_image(), ROOT.into(), SyncMode::Always);
        for (key, value) in acked {
            let got = image.get(&key).map_err(|e| e.to_string())?.map(|e| e.value);
            if got.as_deref() != Some(value.as_bytes()) {
                return Err(format!("{key}: found {got:?} after power loss"));
            }
        }
    }
    Ok(())
}

#[test]
fn writes_through_a_killed_stores_directories_survive_power_loss() {
    build_on_a_killed_store(Mutant::NoDirSync).unwrap();
    build_on_a_killed_store(Mutant::None).unwrap();
}
