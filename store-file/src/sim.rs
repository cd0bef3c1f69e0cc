//! A model of a file system under power loss, for testing the write protocol.
//!
//! Every file and directory has a volatile state (what reads see) and a durable state
//! (what survives power loss). `sync` makes a file's data durable, `sync_dir` makes a
//! directory's entries durable; nothing else does. This is the worst case POSIX allows
//! (and what ext4/xfs can show after a crash): an unsynced rename, creation or unlink
//! may be lost, and an unsynced file may come back empty.
//!
//! [`SimFs::crash_image`] is the file system as it would be found after power loss at
//! this instant. The tests take one after every file operation of a put or delete and
//! check that the store opened on it has every acknowledged write and nothing torn.

use std::collections::BTreeMap;
use std::io;
use std::path::{Component, Path};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::fs::{DirItem, Fs};

#[derive(Clone, Debug)]
enum Node {
    File {
        data: Vec<u8>,
        durable: Vec<u8>,
    },
    Dir {
        entries: BTreeMap<String, usize>,
        durable: BTreeMap<String, usize>,
    },
}

/// The whole model: inodes, with inode 0 the directory `/`.
#[derive(Clone, Debug)]
pub(crate) struct State {
    nodes: Vec<Node>,
}

/// Which step of the protocol a mutant of the store leaves out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mutant {
    /// The correct protocol.
    None,
    /// `sync_dir` does nothing: renames and creations are not made durable.
    NoDirSync,
    /// `sync` does nothing: file contents are not made durable before the rename.
    NoFileSync,
}

/// The simulated file system. Clones share state. After every mutating operation the
/// crash image is recorded, if recording is on.
#[derive(Clone)]
pub(crate) struct SimFs {
    state: Arc<Mutex<State>>,
    images: Arc<Mutex<Vec<State>>>,
    mutant: Mutant,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn not_found() -> io::Error {
    io::Error::from(io::ErrorKind::NotFound)
}

fn names(path: &Path) -> Vec<String> {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect()
}

impl State {
    fn empty() -> State {
        State {
            nodes: vec![Node::Dir {
                entries: BTreeMap::new(),
                durable: BTreeMap::new(),
            }],
        }
    }

    fn lookup(&self, path: &Path) -> io::Result<usize> {
        let mut at = 0;
        for name in names(path) {
            match &self.nodes[at] {
                Node::Dir { entries, .. } => at = *entries.get(&name).ok_or_else(not_found)?,
                Node::File { .. } => return Err(io::Error::from(io::ErrorKind::NotADirectory)),
            }
        }
        Ok(at)
    }

    /// The parent directory's inode and the last name of `path`.
    fn parent(&self, path: &Path) -> io::Result<(usize, String)> {
        let name = path
            .file_name()
            .ok_or_else(not_found)?
            .to_string_lossy()
            .into_owned();
        let dir = self.lookup(path.parent().ok_or_else(not_found)?)?;
        match self.nodes[dir] {
            Node::Dir { .. } => Ok((dir, name)),
            Node::File { .. } => Err(io::Error::from(io::ErrorKind::NotADirectory)),
        }
    }

    fn entries(&mut self, dir: usize) -> &mut BTreeMap<String, usize> {
        match &mut self.nodes[dir] {
            Node::Dir { entries, .. } => entries,
            Node::File { .. } => unreachable!("parent() checked it is a directory"),
        }
    }

    fn add(&mut self, path: &Path, node: Node) -> io::Result<usize> {
        let (dir, name) = self.parent(path)?;
        if self.entries(dir).contains_key(&name) {
            return Err(io::Error::from(io::ErrorKind::AlreadyExists));
        }
        self.nodes.push(node);
        let id = self.nodes.len() - 1;
        self.entries(dir).insert(name, id);
        Ok(id)
    }

    /// What power loss now would leave: only durable data and entries.
    fn crashed(&self) -> State {
        let nodes = self
            .nodes
            .iter()
            .map(|node| match node {
                Node::File { durable, .. } => Node::File {
                    data: durable.clone(),
                    durable: durable.clone(),
                },
                Node::Dir { durable, .. } => Node::Dir {
                    entries: durable.clone(),
                    durable: durable.clone(),
                },
            })
            .collect();
        State { nodes }
    }
}

impl SimFs {
    /// A file system holding only the durable, empty directory `root`.
    pub fn new(root: &Path) -> SimFs {
        let mut state = State::empty();
        let mut at = 0;
        for name in names(root) {
            state.nodes.push(Node::Dir {
                entries: BTreeMap::new(),
                durable: BTreeMap::new(),
            });
            let id = state.nodes.len() - 1;
            if let Node::Dir { entries, durable } = &mut state.nodes[at] {
                entries.insert(name.clone(), id);
                durable.insert(name, id);
            }
            at = id;
        }
        SimFs::from_state(state, Mutant::None)
    }

    fn from_state(state: State, mutant: Mutant) -> SimFs {
        SimFs {
            state: Arc::new(Mutex::new(state)),
            images: Arc::new(Mutex::new(Vec::new())),
            mutant,
        }
    }

    /// The same file system, as seen through a store that skips a step.
    pub fn with_mutant(&self, mutant: Mutant) -> SimFs {
        SimFs {
            mutant,
            ..self.clone()
        }
    }

    /// The file system as found after power loss right now.
    pub fn crash_image(&self) -> SimFs {
        SimFs::from_state(lock(&self.state).crashed(), Mutant::None)
    }

    /// The crash images recorded since the last call (one after every mutating call).
    pub fn take_images(&self) -> Vec<SimFs> {
        std::mem::take(&mut *lock(&self.images))
            .into_iter()
            .map(|state| SimFs::from_state(state, Mutant::None))
            .collect()
    }

    fn mutate<T>(&self, f: impl FnOnce(&mut State) -> io::Result<T>) -> io::Result<T> {
        let mut state = lock(&self.state);
        let out = f(&mut state);
        lock(&self.images).push(state.crashed());
        out
    }
}

impl Fs for SimFs {
    type File = usize;

    fn create_new(&self, path: &Path) -> io::Result<usize> {
        self.mutate(|s| {
            s.add(
                path,
                Node::File {
                    data: Vec::new(),
                    durable: Vec::new(),
                },
            )
        })
    }

    fn write_all(&self, file: &mut usize, data: &[u8]) -> io::Result<()> {
        self.mutate(|s| match &mut s.nodes[*file] {
            Node::File { data: d, .. } => {
                d.extend_from_slice(data);
                Ok(())
            }
            Node::Dir { .. } => Err(io::Error::from(io::ErrorKind::IsADirectory)),
        })
    }

    fn sync(&self, file: &usize) -> io::Result<()> {
        if self.mutant == Mutant::NoFileSync {
            return Ok(());
        }
        self.mutate(|s| {
            if let Node::File { data, durable } = &mut s.nodes[*file] {
                durable.clone_from(data);
            }
            Ok(())
        })
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.mutate(|s| {
            let (from_dir, from_name) = s.parent(from)?;
            let (to_dir, to_name) = s.parent(to)?;
            let id = s
                .entries(from_dir)
                .remove(&from_name)
                .ok_or_else(not_found)?;
            s.entries(to_dir).insert(to_name, id);
            Ok(())
        })
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        if self.mutant == Mutant::NoDirSync {
            return Ok(());
        }
        self.mutate(|s| {
            let id = s.lookup(dir)?;
            if let Node::Dir { entries, durable } = &mut s.nodes[id] {
                durable.clone_from(entries);
            }
            Ok(())
        })
    }

    fn create_dir(&self, dir: &Path) -> io::Result<()> {
        self.mutate(|s| {
            s.add(
                dir,
                Node::Dir {
                    entries: BTreeMap::new(),
                    durable: BTreeMap::new(),
                },
            )
            .map(drop)
        })
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.mutate(|s| {
            let (dir, name) = s.parent(path)?;
            s.entries(dir).remove(&name).map(drop).ok_or_else(not_found)
        })
    }

    fn remove_dir(&self, dir: &Path) -> io::Result<()> {
        self.mutate(|s| {
            let id = s.lookup(dir)?;
            if matches!(&s.nodes[id], Node::Dir { entries, .. } if !entries.is_empty()) {
                return Err(io::Error::from(io::ErrorKind::DirectoryNotEmpty));
            }
            let (parent, name) = s.parent(dir)?;
            s.entries(parent).remove(&name);
            Ok(())
        })
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        let s = lock(&self.state);
        match &s.nodes[s.lookup(path)?] {
            Node::File { data, .. } => Ok(data.clone()),
            Node::Dir { .. } => Err(io::Error::from(io::ErrorKind::IsADirectory)),
        }
    }

    fn read_head(&self, path: &Path, max: usize) -> io::Result<(Vec<u8>, u64)> {
        let data = self.read(path)?;
        let len = data.len() as u64;
        Ok((data[..max.min(data.len())].to_vec(), len))
    }

    fn exists(&self, path: &Path) -> io::Result<bool> {
        let s = lock(&self.state);
        match s.lookup(path) {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn read_dir(&self, dir: &Path) -> io::Result<Vec<DirItem>> {
        let s = lock(&self.state);
        match &s.nodes[s.lookup(dir)?] {
            Node::Dir { entries, .. } => Ok(entries
                .iter()
                .map(|(name, id)| DirItem {
                    name: name.clone(),
                    is_dir: matches!(s.nodes[*id], Node::Dir { .. }),
                })
                .collect()),
            Node::File { .. } => Err(io::Error::from(io::ErrorKind::NotADirectory)),
        }
    }
}
