//! [`DynamoStore`]: opening, capabilities, and the `Store` impl that hands each operation
//! to its module (reads, writes, list).

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use futures::stream::BoxStream;
use store_core::{
    Capabilities, ConditionalPuts, Durability, Entry, Key, ListOptions, Meta, PutMode, PutOp,
    Result, Store, async_trait,
};

use crate::client::{CallError, Client};
use crate::config::DynamoConfig;
use crate::{errors, item, list, reads, table, writes};

/// A Strata store in one namespace (partition) of a DynamoDB table. Cheap to clone: clones
/// share the HTTP client.
#[derive(Clone)]
pub struct DynamoStore {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) client: Client,
    pub(crate) table: String,
    pub(crate) namespace: String,
    pub(crate) max_value_size: u64,
}

impl Inner {
    /// `error` from an operation as a Strata error naming the table.
    pub(crate) fn error(&self, error: CallError) -> store_core::Error {
        errors::map(error, &self.table, self.client.endpoint())
    }
}

impl DynamoStore {
    /// Open the store: check the table's key schema (or create the table when it is
    /// missing and `create_table` is set). Fails with `NotFound` naming a missing table,
    /// `PermissionDenied` for refused credentials, retryable `Unavailable` for an
    /// endpoint that does not answer.
    pub async fn open(config: DynamoConfig) -> Result<Self> {
        config.validate()?;
        let client = Client::new(&config)?;
        table::ensure(&client, &config.table, config.create_table.unwrap_or(false)).await?;
        let max_value_size = item::ITEM_LIMIT - item::overhead(config.namespace.len());
        Ok(DynamoStore {
            inner: Arc::new(Inner {
                client,
                table: config.table,
                namespace: config.namespace,
                max_value_size,
            }),
        })
    }

    /// The table.
    pub fn table(&self) -> &str {
        &self.inner.table
    }

    /// The namespace (partition key value).
    pub fn namespace(&self) -> &str {
        &self.inner.namespace
    }
}

impl fmt::Debug for DynamoStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DynamoStore")
            .field("endpoint", &self.inner.client.endpoint())
            .field("table", &self.inner.table)
            .field("namespace", &self.inner.namespace)
            .finish()
    }
}

#[async_trait]
impl Store for DynamoStore {
    /// DynamoDB acknowledges a write once it is stored durably in several availability
    /// zones (`PowerLoss`); the service decides every condition (`Native`); batches are
    /// transactions (atomic, up to [`MAX_TRANSACTION_ITEMS`](crate::MAX_TRANSACTION_ITEMS)).
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            durability: Durability::PowerLoss,
            atomic_batches: true,
            conditional_puts: ConditionalPuts::Native,
            max_value_size: Some(self.inner.max_value_size),
            may_evict: false,
            // One TransactWriteItems per batch; get_many is chunked, so reads have no limit.
            max_batch_writes: Some(crate::MAX_TRANSACTION_ITEMS),
            // ... of at most 4 MB of items.
            max_batch_bytes: Some(crate::writes::max_batch_bytes(self.inner.namespace.len())),
        }
    }

    async fn get(&self, key: &Key) -> Result<Option<Entry>> {
        reads::get(&self.inner, key).await
    }

    async fn head(&self, key: &Key) -> Result<Option<Meta>> {
        reads::head(&self.inner, key).await
    }

    async fn put(&self, key: &Key, value: Bytes, mode: PutMode) -> Result<Meta> {
        writes::put(&self.inner, key, value, mode).await
    }

    async fn delete(&self, key: &Key) -> Result<()> {
        writes::delete(&self.inner, key).await
    }

    fn list(&self, options: ListOptions) -> BoxStream<'static, Result<Meta>> {
        list::list(self.inner.clone(), options)
    }

    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Option<Entry>>> {
        reads::get_many(&self.inner, keys).await
    }

    async fn put_many(&self, ops: Vec<PutOp>) -> Result<Vec<Meta>> {
        writes::put_many(&self.inner, ops).await
    }

    async fn delete_many(&self, keys: &[Key]) -> Result<()> {
        writes::delete_many(&self.inner, keys).await
    }

    fn locations(&self) -> Vec<String> {
        // A namespace is a partition of one table at one endpoint.
        let endpoint = self.inner.client.endpoint().trim_end_matches('/');
        vec![format!(
            "dynamodb://{}/{}/{}/",
            endpoint.split("://").nth(1).unwrap_or(endpoint),
            self.inner.table,
            self.inner.namespace
        )]
    }
}
