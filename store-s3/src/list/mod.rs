//! Listing: which objects under the store's prefix are keys, in key order.
//!
//! A bucket is often shared with other S3 clients, so a listing meets names that are not
//! Strata keys: `a//b`, `x/../y`, control characters, directory markers (`dir/`, as
//! consoles create). Such objects are skipped, never shown as keys and never an error
//! (one of them would otherwise hide every key of the prefix); a `tracing` warning when
//! the listing ends counts them and names the first. A name is never yielded twice, nor
//! out of order, whatever the server sends.

mod s3;

use std::sync::Arc;
use std::time::SystemTime;

use futures::stream::{BoxStream, StreamExt};
use object_store::ObjectStore;
use object_store::path::Path;
use store_core::{Error, ErrorKind, Key, ListOptions, Meta, Result, Version};

pub(crate) use s3::S3Lister;

use crate::bucket::Bucket;

/// A listed object, with its name exactly as the server has it.
#[derive(Debug, Clone)]
pub(crate) struct Object {
    pub name: String,
    pub size: u64,
    pub e_tag: Option<String>,
    /// object_store's object version (GCS: the generation).
    pub version: Option<String>,
    pub last_modified: SystemTime,
}

/// Where listings come from.
pub(crate) enum Lister {
    /// S3's ListObjectsV2, names as the server has them (stores from `connect`).
    S3(Arc<S3Lister>),
    /// object_store's `list` (stores over a client given to `with_client`): its paths
    /// cannot carry names that are not keys, so its listings hold none.
    Client(Arc<dyn ObjectStore>),
}

impl Lister {
    /// The objects whose names start with `prefix` (which ends where it likes, not
    /// necessarily at a `/`) and sort after `start_after`, in ascending name order.
    /// `Client` listings may also hold names before `prefix`; [`select`] skips them.
    pub fn objects(
        &self,
        prefix: String,
        start_after: Option<String>,
    ) -> BoxStream<'static, object_store::Result<Object>> {
        match self {
            Lister::S3(lister) => lister.clone().objects(prefix, start_after),
            Lister::Client(client) => client_objects(client.as_ref(), &prefix, start_after),
        }
    }

    /// Whether the bucket answers a listing of at most one name under `prefix`.
    pub async fn probe(&self, prefix: &str) -> object_store::Result<()> {
        match self {
            Lister::S3(lister) => lister.page(prefix, None, None, Some(1)).await.map(drop),
            Lister::Client(client) => {
                let dir = Path::parse(prefix.trim_end_matches('/')).ok();
                match client.list(dir.as_ref()).next().await {
                    // A name object_store cannot parse still proves the bucket answered.
                    Some(Err(object_store::Error::InvalidPath { .. })) | Some(Ok(_)) | None => {
                        Ok(())
                    }
                    Some(Err(e)) => Err(e),
                }
            }
        }
    }
}

/// object_store lists whole "directories": list the deepest one holding `prefix` from
/// an offset just before the first candidate (pushed down as `start-after`).
fn client_objects(
    client: &dyn ObjectStore,
    prefix: &str,
    start_after: Option<String>,
) -> BoxStream<'static, object_store::Result<Object>> {
    let dir = prefix.rfind('/').map(|at| &prefix[..at]).unwrap_or("");
    let offset = match start_after {
        Some(after) if after.as_str() >= prefix => Some(after),
        // Everything with the prefix sorts after the prefix minus its last character.
        _ => prefix
            .char_indices()
            .last()
            .map(|(at, _)| prefix[..at].to_owned())
            .filter(|s| !s.is_empty()),
    };
    // A prefix that cannot be a path (e.g. with `//`) falls back to filtering.
    let dir = (!dir.is_empty()).then(|| Path::parse(dir).ok()).flatten();
    let offset = offset.and_then(|o| Path::parse(o).ok());
    let objects = match &offset {
        Some(offset) => client.list_with_offset(dir.as_ref(), offset),
        None => client.list(dir.as_ref()),
    };
    objects
        .map(|item| {
            item.map(|meta| Object {
                name: meta.location.to_string(),
                size: meta.size,
                e_tag: meta.e_tag,
                version: meta.version,
                last_modified: SystemTime::from(meta.last_modified),
            })
        })
        .boxed()
}

/// The keys `options` selects from `objects` (names under `store_prefix`, which is
/// empty or ends with `/`), as the `Store::list` contract wants them: ascending, each
/// once, foreign names skipped, the first error ending the stream.
pub(crate) fn select(
    objects: BoxStream<'static, object_store::Result<Object>>,
    store_prefix: String,
    options: ListOptions,
    bucket: Arc<Bucket>,
) -> BoxStream<'static, Result<Meta>> {
    let limit = options.limit.unwrap_or(usize::MAX);
    let skipped = Skipped {
        service: bucket.profile().service,
        bucket: bucket.name().to_owned(),
        prefix: format!("{store_prefix}{}", options.prefix.as_str()),
        count: 0,
        first: None,
    };
    let state = Selection {
        store_prefix,
        options,
        bucket,
        last: None,
        skipped,
        ended: false,
    };
    objects
        .scan(state, |state, item| {
            futures::future::ready(state.step(item))
        })
        .filter_map(futures::future::ready)
        .take(limit)
        .boxed()
}

struct Selection {
    store_prefix: String,
    options: ListOptions,
    bucket: Arc<Bucket>,
    /// The last key yielded: every later one must sort after it.
    last: Option<Key>,
    skipped: Skipped,
    ended: bool,
}

impl Selection {
    /// `None` ends the stream, `Some(None)` passes over an object.
    fn step(&mut self, item: object_store::Result<Object>) -> Option<Option<Result<Meta>>> {
        if self.ended {
            return None;
        }
        let object = match item {
            Ok(object) => object,
            Err(e) => {
                self.ended = true;
                return Some(Some(Err(self.bucket.map(e, "list", None))));
            }
        };
        self.bucket.seen();
        let Some(rel) = object.name.strip_prefix(self.store_prefix.as_str()) else {
            return Some(None);
        };
        let Some(rel) = self.bucket.profile().decode_name(rel) else {
            self.skipped.note(&object.name);
            return Some(None);
        };
        let rel = rel.as_ref();
        let wanted = self.options.prefix.as_str();
        if !rel.starts_with(wanted) {
            // Names come in ascending order: past the prefix, nothing more can match.
            return if rel < wanted { Some(None) } else { None };
        }
        let Ok(key) = Key::new(rel) else {
            self.skipped.note(&object.name);
            return Some(None);
        };
        if !self.options.admits(&key) {
            return Some(None);
        }
        if self.last.as_ref().is_some_and(|last| key <= *last) {
            // A server listing a name twice or out of order: show each key once.
            self.skipped.note(&object.name);
            return Some(None);
        }
        let profile = self.bucket.profile();
        let Some(version) = profile.pick(object.e_tag.as_deref(), object.version.as_deref()) else {
            self.ended = true;
            return Some(Some(Err(Error::new(
                ErrorKind::Backend,
                format!(
                    "the server listed the object without its {}",
                    profile.version_name()
                ),
            )
            .with_key(&key))));
        };
        self.last = Some(key.clone());
        Some(Some(Ok(Meta {
            key,
            version: Version::new(version),
            size: object.size,
            last_modified: object.last_modified,
        })))
    }
}

/// The objects a listing passed over because their names are not keys; reported once,
/// when the listing is dropped (finished or not).
struct Skipped {
    service: &'static str,
    bucket: String,
    prefix: String,
    count: u64,
    first: Option<String>,
}

impl Skipped {
    fn note(&mut self, name: &str) {
        self.count += 1;
        if self.first.is_none() {
            // Escaped (control characters and all) and bounded, for one log line.
            self.first = Some(
                name.chars()
                    .take(200)
                    .flat_map(char::escape_debug)
                    .collect(),
            );
        }
    }
}

impl Drop for Skipped {
    fn drop(&mut self) {
        if let Some(first) = &self.first {
            tracing::warn!(
                bucket = %self.bucket,
                prefix = %self.prefix,
                skipped = self.count,
                first = %first,
                "{} listing skipped {} object(s) whose names are not keys (written by another \
                 client, or directory markers); the first: `{first}`",
                self.service,
                self.count,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::TryStreamExt;
    use store_core::Prefix;

    fn object(name: &str) -> object_store::Result<Object> {
        Ok(Object {
            name: name.to_owned(),
            size: 1,
            e_tag: Some("\"e\"".into()),
            version: None,
            last_modified: SystemTime::UNIX_EPOCH,
        })
    }

    fn keys(names: &[&str], options: ListOptions) -> Vec<String> {
        let objects = futures::stream::iter(names.iter().map(|n| object(n)).collect::<Vec<_>>());
        let listed = select(
            objects.boxed(),
            "pfx/".into(),
            options,
            Arc::new(Bucket::new("b", &crate::cloud::S3_PROFILE)),
        );
        futures::executor::block_on(listed.map_ok(|m| m.key.to_string()).try_collect()).unwrap()
    }

    #[test]
    fn foreign_names_and_markers_are_skipped() {
        let names = [
            "pfx/a",
            "pfx/bad//double",
            "pfx/dirmarker/",
            "pfx/dirmarker/child",
            "pfx/dots/../up",
            "pfx/t\u{1}ab",
            "pfx/z",
        ];
        assert_eq!(
            keys(&names, ListOptions::default()),
            ["a", "dirmarker/child", "z"]
        );
    }

    #[test]
    fn a_name_is_never_yielded_twice_or_out_of_order() {
        let names = ["pfx/a", "pfx/b", "pfx/b", "pfx/a", "pfx/c"];
        assert_eq!(keys(&names, ListOptions::default()), ["a", "b", "c"]);
    }

    #[test]
    fn prefix_start_after_and_limit_apply_to_keys() {
        let names = ["pfx/a/1", "pfx/a/2", "pfx/a/3", "pfx/a\u{0}", "pfx/b"];
        let options = ListOptions::prefix(Prefix::new("a/").unwrap())
            .start_after(Key::new("a/1").unwrap())
            .limit(1);
        assert_eq!(keys(&names, options), ["a/2"]);
        // Past the prefix the listing ends, even before the source does.
        let options = ListOptions::prefix(Prefix::new("a/").unwrap());
        assert_eq!(keys(&names, options), ["a/1", "a/2", "a/3"]);
    }

    #[test]
    fn an_error_ends_the_listing() {
        let objects = futures::stream::iter(vec![
            object("pfx/a"),
            Err(object_store::Error::Generic {
                store: "S3",
                source: "Server returned non-2xx status code: 500 Internal Server Error: ".into(),
            }),
            object("pfx/b"),
        ]);
        let listed: Vec<Result<Meta>> = futures::executor::block_on(
            select(
                objects.boxed(),
                "pfx/".into(),
                ListOptions::default(),
                Arc::new(Bucket::new("b", &crate::cloud::S3_PROFILE)),
            )
            .collect(),
        );
        assert_eq!(listed.len(), 2);
        assert!(listed[0].is_ok());
        assert_eq!(
            listed[1].as_ref().unwrap_err().kind(),
            ErrorKind::Unavailable
        );
    }
}
