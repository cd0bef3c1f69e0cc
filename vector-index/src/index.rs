//! `VectorIndex`: the public handle tying the graph to a store.

use std::collections::HashMap;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use bytes::Bytes;
use store_core::{Error, ErrorKind, Key, PutMode, PutOp, Result, Store, Version};

use crate::batch::Item;
use crate::config::{IndexConfig, Metric};
use crate::filter::{Filter, Metadata};
use crate::graph::Graph;
use crate::manifest::{Manifest, PageRef};
use crate::page;

/// Every key of an index lives under `vector-index/<name>/`.
const ROOT: &str = "vector-index";
/// Below this estimated share of matching vectors a filtered search scans the matches
/// exactly instead of walking the graph (which would have to visit ~1/share nodes).
const EXACT_SCAN_SHARE: f64 = 0.05;
/// ... and below this estimated number of matches, whatever their share.
const EXACT_SCAN_MATCHES: f64 = 2048.0;
/// How many slots a filtered search samples to estimate the filter's selectivity.
const SELECTIVITY_SAMPLE: usize = 512;
/// How often `open` retries when a concurrent writer replaced pages while it read them.
const OPEN_ATTEMPTS: usize = 3;

/// One search result.
#[derive(Clone, Debug, PartialEq)]
pub struct Hit {
    /// The caller's id.
    pub id: u64,
    /// The distance to the query under the index's [`Metric`].
    pub distance: f32,
}

/// A stored vector with its metadata, as returned by [`VectorIndex::get`].
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// The vector (unit length for [`Metric::Cosine`]).
    pub vector: Vec<f32>,
    /// Its metadata.
    pub metadata: Metadata,
}

/// What a [`VectorIndex::flush`] wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlushReport {
    /// Pages written (only changed ones).
    pub pages_written: usize,
    /// Bytes of page data written.
    pub bytes_written: u64,
    /// Whether a new manifest was committed (false when nothing had changed).
    pub committed: bool,
}

/// What this handle last committed (or loaded).
struct Committed {
    /// The manifest's version; `None` before an exported copy's first commit, which
    /// creates the manifest.
    version: Option<Version>,
    pages: Vec<PageRef>,
}

/// An HNSW index over `u64` ids, held in memory and persisted through a [`Store`].
///
/// Mutations (`insert`, `upsert`, `delete`) change memory only and are CPU-bound (call
/// them from `spawn_blocking` in latency-sensitive async code); [`flush`](Self::flush)
/// makes them durable. Searches run concurrently from any number of threads.
pub struct VectorIndex {
    store: Arc<dyn Store>,
    name: String,
    manifest_key: Key,
    graph: RwLock<Graph>,
    committed: tokio::sync::Mutex<Committed>,
}

impl std::fmt::Debug for VectorIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VectorIndex")
            .field("name", &self.name)
            .field("len", &self.len())
            .field("store", &self.store)
            .finish()
    }
}

fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 200
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid_key(
            name,
            "an index name is 1 to 200 characters of A-Z a-z 0-9 - _ .",
        ))
    }
}

fn manifest_key(name: &str) -> Result<Key> {
    check_name(name)?;
    Key::new(format!("{ROOT}/{name}/manifest"))
}

impl VectorIndex {
    /// Create an empty index called `name` in `store`, committing its manifest at once.
    ///
    /// If the store limits value sizes, `nodes_per_page` is lowered so a page of nodes
    /// (with a little metadata each) takes at most half the limit; [`config`](Self::config)
    /// reports the value used.
    ///
    /// Fails with `AlreadyExists` if an index of that name exists, `InvalidConfig` for bad
    /// parameters, `InvalidKey` for a bad name, and `Unsupported` for a store without
    /// conditional puts (the manifest is committed with one) or one that may evict entries
    /// (a cache would lose pages).
    pub async fn create(
        store: Arc<dyn Store>,
        name: &str,
        mut config: IndexConfig,
    ) -> Result<Self> {
        config.validate()?;
        let key = manifest_key(name)?;
        fit_to_store(&*store, &mut config)?;
        let manifest = Manifest::empty(config.clone());
        let bytes = manifest.encode(&key)?;
        let meta = store
            .put(&key, bytes, PutMode::Create)
            .await
            .map_err(|e| exists_error(e, name, &key))?;
        Ok(VectorIndex {
            store,
            name: name.to_owned(),
            manifest_key: key,
            graph: RwLock::new(Graph::new(config)),
            committed: tokio::sync::Mutex::new(Committed {
                version: Some(meta.version),
                pages: Vec::new(),
            }),
        })
    }

    /// Copy this index as it is in memory (changes not yet flushed included) into `store`
    /// as a new index called `name`, and return a handle to the copy, which answers every
    /// search as this one does. The copy's pages are written first and its manifest last,
    /// with `PutMode::Create`: until `export_to` returns, no index of that name is visible
    /// there, and after a failure at most unreferenced pages are (removed where the
    /// failure was a definite refusal). `store` may be this index's own store.
    ///
    /// Holds a second copy of the graph in memory, and this index's read lock while taking
    /// it (writers wait for that copy, searches do not).
    ///
    /// Fails with `AlreadyExists` if `store` has an index called `name`, and as
    /// [`create`](Self::create) does for a store that cannot hold an index.
    pub async fn export_to(&self, store: Arc<dyn Store>, name: &str) -> Result<VectorIndex> {
        let key = manifest_key(name)?;
        let mut config = self.config();
        fit_to_store(&*store, &mut config)?;
        let graph = self.read().copy_for(config);
        let copy = VectorIndex {
            store,
            name: name.to_owned(),
            manifest_key: key,
            graph: RwLock::new(graph),
            committed: tokio::sync::Mutex::new(Committed {
                version: None,
                pages: Vec::new(),
            }),
        };
        copy.flush().await?;
        Ok(copy)
    }

    /// Open the index called `name`: one read of the manifest and one `get_many` of its
    /// pages. The graph is loaded as stored, never rebuilt.
    ///
    /// Fails with `NotFound` if there is no such index and `Corrupted` if the manifest or
    /// a page is missing, damaged or inconsistent.
    pub async fn open(store: Arc<dyn Store>, name: &str) -> Result<Self> {
        let key = manifest_key(name)?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let Some(entry) = store.get(&key).await? else {
                return Err(Error::new(
                    ErrorKind::NotFound,
                    format!("no vector index named `{name}`"),
                )
                .with_key(&key));
            };
            let manifest = Manifest::decode(&key, &entry.value)?;
            let page_keys = manifest
                .pages
                .iter()
                .map(|p| Key::new(&p.key))
                .collect::<Result<Vec<_>>>()
                .map_err(|e| Error::corrupted(&key, format!("bad page key: {e}")))?;
            let pages = store.get_many(&page_keys).await?;
            if let Some(missing) = pages.iter().position(Option::is_none) {
                // A writer may have committed and removed superseded pages meanwhile.
                let moved = store
                    .head(&key)
                    .await?
                    .is_some_and(|m| m.version != entry.meta.version);
                if moved && attempt < OPEN_ATTEMPTS {
                    continue;
                }
                return Err(Error::corrupted(
                    &page_keys[missing],
                    format!("page {missing} of vector index `{name}` is missing"),
                ));
            }
            let pages: Vec<Bytes> = pages.into_iter().flatten().map(|e| e.value).collect();
            let graph = {
                let (key, manifest) = (key.clone(), manifest.clone());
                tokio::task::spawn_blocking(move || load(&key, &manifest, &page_keys, &pages))
                    .await
                    .map_err(|e| Error::backend("loading the index pages", e))??
            };
            return Ok(VectorIndex {
                store,
                name: name.to_owned(),
                manifest_key: key,
                graph: RwLock::new(graph),
                committed: tokio::sync::Mutex::new(Committed {
                    version: Some(entry.meta.version),
                    pages: manifest.pages,
                }),
            });
        }
    }

    /// The index's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The index's parameters.
    pub fn config(&self) -> IndexConfig {
        self.read().config.clone()
    }

    /// Number of live (not deleted) vectors.
    pub fn len(&self) -> usize {
        self.read().live()
    }

    /// Whether the index holds no live vector.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of stored slots, including deleted ones not yet reclaimed by
    /// [`compact`](Self::compact).
    pub fn slots(&self) -> usize {
        self.read().slots()
    }

    /// Add a vector under a new `id`; `AlreadyExists` if the id is present.
    pub fn insert(&self, id: u64, vector: &[f32], metadata: Metadata) -> Result<()> {
        let v = self.prepare(vector, &metadata)?;
        let mut g = self.write();
        if g.slot_of.contains_key(&id) {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!("id {id} is already in vector index `{}`", self.name),
            ));
        }
        g.insert(id, &v, metadata);
        Ok(())
    }

    /// Add or replace the vector under `id`. A replaced vector is deleted (and its
    /// neighbours relinked) before the new one is inserted.
    pub fn upsert(&self, id: u64, vector: &[f32], metadata: Metadata) -> Result<()> {
        let v = self.prepare(vector, &metadata)?;
        let mut g = self.write();
        g.delete(id);
        g.insert(id, &v, metadata);
        Ok(())
    }

    /// Add or replace many vectors at once, finding their neighbours on `threads` threads
    /// (`0`: one per core), the fast way to build an index; the graph is as good as with
    /// one `upsert` per item. The calling thread is one of them, so call this from
    /// `spawn_blocking` (or a thread of your own) in async code.
    ///
    /// Every item is validated first, so on an error nothing has changed. A later item
    /// replaces an earlier one with the same id. The index is locked for the whole batch:
    /// searches wait until it is done.
    pub fn upsert_many<V: AsRef<[f32]>>(
        &self,
        items: impl IntoIterator<Item = (u64, V, Metadata)>,
        threads: usize,
    ) -> Result<()> {
        let mut prepared: Vec<Item> = Vec::new();
        for (id, vector, metadata) in items {
            let v = self.prepare(vector.as_ref(), &metadata)?;
            prepared.push((id, v, metadata));
        }
        let last: HashMap<u64, usize> = prepared
            .iter()
            .enumerate()
            .map(|(i, item)| (item.0, i))
            .collect();
        let prepared: Vec<Item> = prepared
            .into_iter()
            .enumerate()
            .filter(|(i, item)| last.get(&item.0) == Some(i))
            .map(|(_, item)| item)
            .collect();
        let threads = match threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let mut g = self.write();
        for item in &prepared {
            g.delete(item.0);
        }
        g.insert_batch(prepared, threads);
        Ok(())
    }

    /// Delete `id`; returns whether it was present. It is never returned by a search
    /// again; its slot is reclaimed by [`compact`](Self::compact).
    pub fn delete(&self, id: u64) -> bool {
        self.write().delete(id)
    }

    /// The vector and metadata stored under `id`.
    pub fn get(&self, id: u64) -> Option<Record> {
        let g = self.read();
        let slot = *g.slot_of.get(&id)?;
        Some(Record {
            vector: g.vector(slot).to_vec(),
            metadata: g.metadata[slot as usize].clone(),
        })
    }

    /// The `k` nearest live vectors to `query`, nearest first.
    ///
    /// `ef` (default: the config's `ef_search`) trades speed for recall. With a `filter`,
    /// only matching vectors are returned: the filter is applied while the graph is
    /// walked, and when few vectors match (estimated by sampling) the matches are scanned
    /// exactly instead.
    pub fn search(
        &self,
        query: &[f32],
        k: usize,
        ef: Option<usize>,
        filter: Option<&Filter>,
    ) -> Result<Vec<Hit>> {
        let q = self.prepare(query, &Metadata::new())?;
        let g = self.read();
        if k == 0 || g.live() == 0 {
            return Ok(Vec::new());
        }
        // Neither can usefully exceed the number of nodes (and a huge `k` must not reach
        // an allocation).
        let k = k.min(g.live());
        let ef = ef.unwrap_or(g.config.ef_search).min(g.slots()).max(k);
        let found = match filter {
            None => g.search(&q, k, ef, |s| !g.deleted[s as usize]),
            Some(f) => {
                let accept = |s: u32| !g.deleted[s as usize] && f.matches(&g.metadata[s as usize]);
                if selective(&g, &accept) {
                    g.scan(&q, k, accept)
                } else {
                    g.search(&q, k, ef, accept)
                }
            }
        };
        Ok(found
            .into_iter()
            .map(|c| Hit {
                id: g.ids[c.slot as usize],
                distance: g.reported(c.d),
            })
            .collect())
    }

    /// Write changed pages under fresh keys, then commit a new manifest with a
    /// compare-and-swap on the version this handle loaded or last committed.
    ///
    /// If another handle committed in between, fails with `VersionMismatch` and writes
    /// nothing visible: reopen the index to see the other writer's changes. Superseded
    /// pages are deleted after the commit (best effort: a failure there leaves unreferenced
    /// keys, never a broken index).
    pub async fn flush(&self) -> Result<FlushReport> {
        let mut committed = self.committed.lock().await;
        let (dirty, encoded, manifest) = {
            let mut g = self.write();
            let dirty = std::mem::take(&mut g.dirty);
            // An exported copy commits its manifest even when it holds nothing.
            if dirty.is_empty() && committed.version.is_some() {
                return Ok(FlushReport::default());
            }
            let per = g.config.nodes_per_page as u32;
            let slots = g.slots() as u32;
            let encoded: Vec<(u32, Vec<u8>)> = dirty
                .iter()
                .copied()
                .filter(|&p| p * per < slots)
                .map(|p| (p, page::encode(&g, p * per, per.min(slots - p * per))))
                .collect();
            let mut manifest = Manifest::empty(g.config.clone());
            manifest.slots = slots;
            manifest.entry = g.entry;
            manifest.max_level = g.max_level;
            (dirty, encoded, manifest)
        };
        let result = self.commit(&mut committed, encoded, manifest).await;
        if result.is_err() {
            // Nothing was committed: keep the pages dirty so a later flush retries them.
            self.write().dirty.extend(dirty);
        }
        result
    }

    async fn commit(
        &self,
        committed: &mut Committed,
        encoded: Vec<(u32, Vec<u8>)>,
        mut manifest: Manifest,
    ) -> Result<FlushReport> {
        let nonce: u64 = rand::random();
        let want = manifest
            .slots
            .div_ceil(manifest.config.nodes_per_page as u32) as usize;
        let mut pages = committed.pages.clone();
        pages.truncate(want);
        let mut report = FlushReport::default();
        let mut ops = Vec::with_capacity(encoded.len());
        for (p, bytes) in encoded {
            let key = Key::new(format!("{ROOT}/{}/pages/{p:08}-{nonce:016x}", self.name))?;
            let crc = page::stored_crc(&bytes).unwrap_or_default();
            let r = PageRef {
                key: key.as_str().to_owned(),
                crc,
            };
            if (p as usize) < pages.len() {
                pages[p as usize] = r;
            } else {
                pages.push(r);
            }
            report.pages_written += 1;
            report.bytes_written += bytes.len() as u64;
            ops.push(PutOp::overwrite(key, bytes));
        }
        if pages.len() != want {
            return Err(Error::corrupted(
                &self.manifest_key,
                "internal page table is out of step with the graph",
            ));
        }
        let written: Vec<Key> = ops.iter().map(|op| op.key.clone()).collect();
        // Pages need not land together (no manifest names them yet), so a store's batch
        // limits (ops and bytes) are met by sending them in several batches.
        let caps = self.store.capabilities();
        let per_batch = caps.write_batch(ops.len());
        for batch in caps.put_batches(ops, per_batch) {
            self.store.put_many(batch).await?;
        }
        // On stores that acknowledge before writes are durable, the pages must be durable
        // before a manifest that references them can be.
        self.store.flush().await?;
        manifest.pages = pages;
        let bytes = manifest.encode(&self.manifest_key)?;
        let mode = match &committed.version {
            Some(version) => PutMode::Update(version.clone()),
            None => PutMode::Create,
        };
        let creating = mode == PutMode::Create;
        let put = self.store.put(&self.manifest_key, bytes, mode).await;
        let meta = match put {
            Ok(meta) => meta,
            Err(e) => {
                // A conflict is a definite refusal: our pages are referenced by no manifest,
                // remove them (best effort). After any other error the put may still have
                // landed (a lost reply), so the pages stay: at worst they are orphans.
                let conflict = matches!(
                    e.kind(),
                    ErrorKind::VersionMismatch | ErrorKind::AlreadyExists
                );
                if conflict {
                    for chunk in written.chunks(per_batch) {
                        let _ = self.store.delete_many(chunk).await;
                    }
                }
                return Err(match e.kind() {
                    _ if creating => exists_error(e, &self.name, &self.manifest_key),
                    ErrorKind::VersionMismatch | ErrorKind::AlreadyExists => Error::new(
                        ErrorKind::VersionMismatch,
                        format!(
                            "vector index `{}` was changed by another writer since this handle \
                             loaded it; reopen it to see their changes",
                            self.name
                        ),
                    )
                    .with_key(&self.manifest_key),
                    _ => e,
                });
            }
        };
        let stale: Vec<Key> = {
            let live: std::collections::HashSet<&str> =
                manifest.pages.iter().map(|p| p.key.as_str()).collect();
            committed
                .pages
                .iter()
                .filter(|p| !live.contains(p.key.as_str()))
                .filter_map(|p| Key::new(&p.key).ok())
                .collect()
        };
        committed.version = Some(meta.version);
        committed.pages = manifest.pages;
        report.committed = true;
        // `flush` returning means the new manifest is as durable as the store promises, and
        // the superseded pages may only go once no durable manifest can reference them.
        self.store.flush().await?;
        for chunk in stale.chunks(self.store.capabilities().write_batch(stale.len())) {
            let _ = self.store.delete_many(chunk).await;
        }
        Ok(report)
    }

    /// Reclaim deleted slots: renumber live vectors densely, relink around the removed
    /// ones, and flush (which rewrites every page and drops the surplus ones).
    pub async fn compact(&self) -> Result<FlushReport> {
        {
            let mut g = self.write();
            let compacted = g.compacted();
            let old_pages = g.slots().div_ceil(g.config.nodes_per_page) as u32;
            *g = compacted;
            // Pages past the new end must be dropped from the manifest too.
            g.dirty.extend(0..old_pages.max(1));
        }
        self.flush().await
    }

    /// Validate a vector (and metadata), normalising it for cosine.
    fn prepare(&self, vector: &[f32], metadata: &Metadata) -> Result<Vec<f32>> {
        let (dim, metric) = {
            let g = self.read();
            (g.config.dim, g.config.metric)
        };
        if vector.len() != dim {
            return Err(Error::invalid_input(format!(
                "vector has {} components, index `{}` expects {dim}",
                vector.len(),
                self.name
            )));
        }
        if let Some(i) = vector.iter().position(|x| !x.is_finite()) {
            return Err(Error::invalid_input(format!(
                "component {i} is {} (only finite numbers are allowed)",
                vector[i]
            )));
        }
        if let Some((field, _)) = metadata.iter().find(|(_, v)| !v.is_finite()) {
            return Err(Error::invalid_input(format!(
                "metadata field `{field}` is not a finite number"
            )));
        }
        let mut v = vector.to_vec();
        if metric == Metric::Cosine {
            let norm = v
                .iter()
                .map(|x| (*x as f64) * (*x as f64))
                .sum::<f64>()
                .sqrt();
            if norm == 0.0 || !norm.is_finite() {
                return Err(Error::invalid_input(
                    "a zero vector has no direction (cosine metric)",
                ));
            }
            v.iter_mut().for_each(|x| *x = (*x as f64 / norm) as f32);
        }
        Ok(v)
    }

    fn read(&self) -> RwLockReadGuard<'_, Graph> {
        // A panic while holding the lock cannot leave the graph half-linked in a way that
        // breaks memory safety; keep serving rather than poisoning every later call.
        self.graph.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Graph> {
        self.graph.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// Check that `store` can hold an index, and lower `config.nodes_per_page` so a page
/// fits the store's value size limit with room to spare.
fn fit_to_store(store: &dyn Store, config: &mut IndexConfig) -> Result<()> {
    let caps = store.capabilities();
    if !caps.supports_conditional_puts() {
        return Err(Error::unsupported(
            "a vector index needs a store with conditional puts: its manifest is \
             committed with PutMode::Update",
        ));
    }
    if caps.may_evict {
        return Err(Error::unsupported(
            "a vector index cannot live in a store that may evict entries: it would \
             lose pages",
        ));
    }
    if let Some(max) = caps.max_value_size {
        // id, flags, level, vector, layer-0 links, metadata length, and ~64 bytes of
        // metadata; upper layers add m links to one node in m on average.
        let node = 14 + 4 * config.dim + 2 + 4 * 2 * config.m + 4 + 64 + 4;
        let fit = (max as usize / 2 / node).max(1);
        config.nodes_per_page = config.nodes_per_page.min(fit);
    }
    Ok(())
}

/// `AlreadyExists` naming the index, for a refused create of its manifest; any other
/// error as it is.
fn exists_error(e: Error, name: &str, key: &Key) -> Error {
    match e.kind() {
        ErrorKind::AlreadyExists => Error::new(
            ErrorKind::AlreadyExists,
            format!("a vector index named `{name}` already exists"),
        )
        .with_key(key),
        _ => e,
    }
}

/// Whether a filter matches few enough vectors that an exact scan beats the graph.
fn selective(g: &Graph, accept: &impl Fn(u32) -> bool) -> bool {
    let n = g.slots() as u64;
    let (mut live, mut hits) = (0usize, 0usize);
    // Sample slots spread by a multiplicative hash rather than a fixed stride, which could
    // alias with periodic metadata (every 100th id in one bucket, say).
    for i in 0..SELECTIVITY_SAMPLE.min(g.slots()) as u64 {
        let slot = (i.wrapping_mul(0x9E37_79B9_7F4A_7C15) % n) as usize;
        if !g.deleted[slot] {
            live += 1;
            hits += usize::from(accept(slot as u32));
        }
    }
    if live == 0 {
        return true;
    }
    let share = hits as f64 / live as f64;
    share < EXACT_SCAN_SHARE || share * g.live() as f64 <= EXACT_SCAN_MATCHES
}

/// Rebuild the in-memory graph from its stored pages (CPU work, run off the runtime).
fn load(key: &Key, manifest: &Manifest, page_keys: &[Key], pages: &[Bytes]) -> Result<Graph> {
    let mut graph = Graph::new(manifest.config.clone());
    let per = manifest.config.nodes_per_page as u32;
    let dim = manifest.config.dim;
    // Each node takes at least `dim * 4` bytes of page, so a damaged slot count in the
    // manifest cannot make this reserve more than the pages could fill.
    let page_bytes: usize = pages.iter().map(Bytes::len).sum();
    graph
        .vectors
        .reserve((manifest.slots as usize * dim).min(page_bytes / 4));
    for (i, (bytes, page_ref)) in pages.iter().zip(&manifest.pages).enumerate() {
        if page::stored_crc(bytes) != Some(page_ref.crc) {
            return Err(Error::corrupted(
                &page_keys[i],
                "page does not match the checksum the manifest recorded",
            ));
        }
        let first = i as u32 * per;
        let count = per.min(manifest.slots - first);
        page::decode_into(
            &mut graph,
            &page_keys[i],
            bytes,
            first,
            count,
            manifest.slots,
        )?;
    }
    graph.entry = manifest.entry;
    graph.max_level = manifest.max_level;
    manifest.check_graph(key, &graph)?;
    graph.dirty.clear();
    Ok(graph)
}
