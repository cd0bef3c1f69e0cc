//! # store-s3: Strata on object stores (S3, Azure Blob Storage, Google Cloud Storage)
//!
//! [`S3Store`] keeps each key as one object `prefix/key` in a bucket on AWS S3, MinIO,
//! Cloudflare R2, Ceph or any S3-compatible server, through the `object_store` crate.
//! Use it when data must outlive one machine and be shared by many readers.
//!
//! The same store runs on Azure Blob Storage (`AzureStore`, feature `azure`, `type =
//! "azure"`, `az://container/prefix`) and Google Cloud Storage (`GcsStore`, feature
//! `gcs`, `type = "gcs"`, `gs://bucket/prefix`): [`ObjectStoreBackend`] is one
//! implementation of the contract (versions, conditional puts, ambiguous-write
//! resolution, batching, multipart, listing, retries, error mapping) over object_store's
//! clients, and each cloud adds only its config, its client builder and a profile of
//! what differs:
//!
//! | | S3 | Azure | GCS |
//! |---|---|---|---|
//! | version | ETag | ETag (quoted, also in listings) | generation |
//! | `Create` / `Update(v)` | `If-None-Match: *` / `If-Match` | `If-None-Match: *` / `If-Match` | `x-goog-if-generation-match: 0` / `: v` |
//! | checksum, write id | `x-amz-meta-strata-crc32c`, `-write-id` | `x-ms-meta-strata_crc32c`, `_write_id` (names cannot hold `-`) | `x-goog-meta-strata-crc32c`, `-write-id` |
//! | missing container | `NoSuchBucket` | `ContainerNotFound` | `NoSuchBucket` |
//! | delete of a missing key | success | 404 `BlobNotFound`, reported as success | 404, reported as success |
//! | names | as keys | `[` → `[[`, `\` → `[]` (Azure reads `\` as `/`) | as keys |
//! | listing | the store's own ListObjectsV2 | object_store's `list` | object_store's `list` |
//!
//! Azure and GCS list through object_store's `list`, whose paths cannot carry names that
//! are not keys (one such name written by another client fails a listing): keep their
//! containers to Strata. What follows describes S3; the rest holds for all three.
//!
//! - A key's version is the object's ETag; `head` and `list` never download values.
//! - `PutMode::Create` is sent as `If-None-Match: *`, `PutMode::Update(v)` as
//!   `If-Match: v`: compare-and-swap is enforced by the server, across every client.
//!   Each conditional put carries a unique write id (`x-amz-meta-strata-write-id`), so
//!   when a response is lost and a retry reports a failed condition, the store reads the
//!   object back and reports the truth.
//! - `get_many` / `put_many` run `concurrency` requests at once (default 32);
//!   `delete_many` uses S3's bulk delete. Batches are **not** atomic.
//! - Unconditional values above `multipart_threshold` (default 32 MiB) are uploaded in
//!   8 MiB parts cut from the value without copying it. Conditional puts are always one
//!   request (S3 accepts up to 5 GiB in one).
//! - Failures map to [`ErrorKind`](store_core::ErrorKind)s; throttling, 5xx and
//!   connection failures are `Unavailable` and retryable. object_store retries each
//!   request at most `max_retries` times within `retry_timeout`, each attempt bounded by
//!   `request_timeout`, so a dead server gives an error in bounded time, never a hang.
//!   An error's message is one line: what failed, the key, the server's HTTP status and
//!   S3 code (`conditional put (HTTP 412 PreconditionFailed): the key already exists`),
//!   never the XML body of the answer, which stays the error's
//!   [`cause`](store_core::Error::cause).
//! - **Bucket failures are not key failures.** A missing bucket is `NotFound` with a
//!   message naming the bucket and no [`key`](store_core::Error::key) — never "no value"
//!   from `get` / `head`, never a successful `delete`. S3 says `NoSuchBucket` in the body
//!   of a GET, PUT or DELETE answer; a HEAD answer has no body, so the first bodiless 404
//!   is resolved by listing at most one key, and later ones are read as missing keys
//!   until an answer says `NoSuchBucket` again (so a bucket deleted while the store is
//!   open is reported by the next `get`, `put`, `delete` or `list`; `head` follows after
//!   that). Refused access — 401 / 403, `AccessDenied`, `InvalidAccessKeyId`,
//!   `SignatureDoesNotMatch`, an expired token — is `PermissionDenied`, not retryable.
//!
//! **Durability**: an acknowledged put is stored by the server before it answers; on AWS
//! S3 that survives power loss and the loss of a data centre. Other servers promise what
//! their own configuration does (a single-disk MinIO survives power loss of that disk's
//! machine only if it syncs). `flush` has nothing to do.
//!
//! **Corruption is detected**: every put (single, conditional, multipart, batch) records
//! the value's CRC32C in the object's user metadata
//! ([`CHECKSUM_METADATA`], `x-amz-meta-strata-crc32c`), and every get checks it: a value
//! that does not match — bytes damaged on the server or on the way, or replaced by a copy
//! that kept the old metadata — is `Corrupted`, naming the key. Objects without the
//! metadata (written by other S3 clients, or by Strata before it wrote checksums) are
//! returned unverified; rewriting them through the store adds it.
//!
//! **Buckets shared with other clients**: `list` shows only objects whose names are
//! keys. Objects other tools wrote under the prefix with names that are not keys
//! (`a//b`, `x/../y`, control characters) and directory markers (`dir/`, as S3 consoles
//! create) are skipped, with one `tracing` warning per listing that counts them and names
//! the first; they never end a listing, and no key is listed twice. `get`, `head` and
//! `delete` of a key never touch a marker (`dir` and `dir/` are different objects). The
//! store lists with its own signed ListObjectsV2 requests for this: object_store's list
//! cannot carry such names. (A store built with [`S3Store::with_client`] lists through
//! the given client's `list`, which fails on such names: use [`S3Store::connect`] for a
//! bucket shared with other clients.)
//!
//! **Credentials and the environment**: the client starts from object_store's
//! `AmazonS3Builder::from_env()`, and the store's settings go on top; explicit settings
//! always win.
//! - A key pair in the config (`access_key_id` and `secret_access_key`, both or neither,
//!   with an optional `session_token`) is used as given and replaces every credential
//!   the environment offers (a configured key is never paired with `AWS_SESSION_TOKEN`).
//! - Without one, the standard AWS credential chain as object_store implements it is
//!   used, in this order: `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` /
//!   `AWS_SESSION_TOKEN`; web identity (`AWS_WEB_IDENTITY_TOKEN_FILE` with
//!   `AWS_ROLE_ARN`, as on EKS with IRSA); ECS container credentials
//!   (`AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`); EKS Pod Identity
//!   (`AWS_CONTAINER_CREDENTIALS_FULL_URI` with `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`);
//!   else the EC2 instance metadata service (IMDSv2), asked on the first request. Shared
//!   profiles (`~/.aws/credentials`, `AWS_PROFILE`) are not read: object_store has no
//!   profile support; export a profile's keys (`aws configure export-credentials
//!   --format env`) or name them in the config.
//! - An absent `region` comes from `AWS_REGION`, then `AWS_DEFAULT_REGION` (else
//!   `us-east-1`); an absent `endpoint` from `AWS_ENDPOINT_URL_S3`, then
//!   `AWS_ENDPOINT_URL`, then `AWS_ENDPOINT`.
//! - What the store's correctness rests on is pinned whatever the environment says:
//!   conditional puts by ETag (`AWS_CONDITIONAL_PUT` is ignored), no S3 Express zonal
//!   addressing and no unsigned requests (the store's own listing requests must address
//!   and sign as the client does). Addressing style, `allow_http`, retries and timeouts
//!   come from the config (or its defaults). Other `AWS_*` variables object_store reads
//!   (server-side encryption, requester pays, `AWS_METADATA_ENDPOINT`,
//!   `AWS_IMDSV1_FALLBACK`, ...) apply as object_store documents them.
//!
//! [`Store::locations`](store_core::Store::locations) is `s3://bucket/prefix/`.
//!
//! Caveats: writing identical bytes again gives the same ETag, so the same version; a
//! dropped multipart put leaves an incomplete upload for the bucket's lifecycle rule to
//! clear (never a partial object).
//!
//! Opening a store makes no request (so this runs without a server); the settings
//! keep secrets out of `Debug`:
//!
//! ```
//! use store_core::{ConditionalPuts, Secret, Store};
//! use store_s3::{S3Config, S3Store};
//!
//! let mut config = S3Config::new("my-bucket");
//! config.prefix = "app/v1".into();
//! config.endpoint = Some("http://127.0.0.1:9000".into());
//! config.access_key_id = Some("minioadmin".into());
//! config.secret_access_key = Some(Secret::new("minio-secret"));
//! assert!(!format!("{config:?}").contains("minio-secret"));
//!
//! let store = S3Store::connect(config).unwrap();
//! assert_eq!(store.capabilities().conditional_puts, ConditionalPuts::Native);
//! assert!(!store.capabilities().atomic_batches);
//! assert_eq!(store.path_of(&"greeting".parse().unwrap()).unwrap().as_ref(), "app/v1/greeting");
//! assert_eq!(store.locations(), ["s3://my-bucket/app/v1/"]);
//! ```
//!
//! Compare-and-swap against a running server:
//!
//! ```no_run
//! # use store_core::{Key, PutMode, Store};
//! # async fn demo(store: store_s3::S3Store) -> store_core::Result<()> {
//! let key = Key::new("greeting")?;
//! let meta = store.put(&key, "hello".into(), PutMode::Create).await?;
//! store.put(&key, "hello again".into(), PutMode::Update(meta.version)).await?;
//! # Ok(()) }
//! ```
//!
//! Through the registry: `{"type": "s3", "bucket": "b", "prefix": "app", "endpoint": ...}`
//! or `s3://b/app?endpoint=http%3A%2F%2F127.0.0.1%3A9000&region=us-east-1`. Every
//! [`S3Config`] field but the bucket and prefix (which the URI's host and path give) may be
//! a query parameter, typed as in a config map, except the secrets (`secret_access_key`,
//! `session_token`): a URI gets logged, so they are refused there and go in the config
//! map, the environment, or the options of `Registry::open_uri_with`.
#![deny(missing_docs)]

#[cfg(feature = "azure")]
mod azure;
mod bucket;
mod checksum;
mod client;
mod cloud;
mod config;
mod error;
mod factory;
#[cfg(feature = "gcs")]
mod gcs;
mod http;
mod list;
mod put;
mod range;
mod s3;
mod settings;
mod store;

pub use checksum::CHECKSUM_METADATA;
pub use config::{DEFAULT_CONCURRENCY, DEFAULT_MULTIPART_THRESHOLD, MIN_PART_SIZE, S3Config};
pub use factory::S3Factory;
pub use put::WRITE_ID_METADATA;
pub use store::{ObjectStoreBackend, S3Store};

#[cfg(feature = "azure")]
pub use azure::{AzureConfig, AzureFactory, AzureStore};
#[cfg(feature = "azure")]
pub use cloud::Azure;
#[cfg(feature = "gcs")]
pub use cloud::Gcs;
pub use cloud::S3;
#[cfg(feature = "gcs")]
pub use gcs::{GcsConfig, GcsFactory, GcsStore};

/// Re-exported so callers can wrap or build clients with the same version.
pub use object_store;
