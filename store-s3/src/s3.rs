//! S3's constructors of the shared store: its client builder ([`client`](crate::client))
//! and its own lister of ListObjectsV2 pages.

use std::sync::Arc;

use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;
use store_core::{Error, ErrorKind, Result};

use crate::client;
use crate::cloud::S3_PROFILE;
use crate::config::S3Config;
use crate::http;
use crate::list::{Lister, S3Lister};
use crate::store::{S3Store, Settings};

impl S3Config {
    fn settings(&self) -> Settings<'_> {
        Settings {
            container: &self.bucket,
            prefix: &self.prefix,
            concurrency: self.concurrency,
            multipart_threshold: self.multipart_threshold,
            endpoint: self.endpoint.as_deref(),
        }
    }
}

impl S3Store {
    /// Connect with `config`. Settings it leaves out come from the environment as the
    /// AWS tools read it: region and endpoint from the `AWS_*` variables, and without a
    /// configured key pair, credentials from the AWS credential chain (see the crate
    /// docs). Explicit settings always win. No request is made until the first operation.
    pub fn connect(config: S3Config) -> Result<Self> {
        let config = config.with_env_fallback(|name| std::env::var(name).ok());
        config.validate()?;
        let region = config.region.as_deref().unwrap_or("us-east-1");
        let client_options = http::client_options(config.http_allowed(), config.request_timeout);
        let builder = client::builder(
            AmazonS3Builder::from_env(),
            &config,
            region,
            client_options.clone(),
        );
        let invalid = |e: object_store::Error| {
            Error::new(
                ErrorKind::InvalidConfig,
                format!("building the S3 client: {e}"),
            )
        };
        let client = builder.build().map_err(invalid)?;
        let lister = S3Lister::new(
            &config,
            region,
            client.credentials().clone(),
            &client_options,
        )
        .map_err(invalid)?;
        Ok(Self::build(
            Arc::new(client),
            Lister::S3(Arc::new(lister)),
            config.settings(),
            &S3_PROFILE,
        ))
    }

    /// A store over any object_store client (for instance one wrapped to inject latency),
    /// taking bucket name, prefix, concurrency and multipart threshold from `config`; its
    /// connection settings are ignored.
    ///
    /// Such a store lists through the client's `list`, whose paths cannot name objects
    /// that are not keys (one such name fails the listing, a directory marker `dir/`
    /// reads as `dir`): over a bucket shared with other S3 clients, use
    /// [`connect`](Self::connect), which skips them.
    pub fn with_client(client: Arc<dyn ObjectStore>, config: &S3Config) -> Self {
        Self::build(
            client.clone(),
            Lister::Client(client),
            config.settings(),
            &S3_PROFILE,
        )
    }
}
