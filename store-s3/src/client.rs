//! How the object_store client is built: object_store's view of the AWS environment
//! (`AmazonS3Builder::from_env`, so its credential chain), with the store's explicit
//! settings on top.
//!
//! Explicit settings always win: a setting in the config replaces whatever the
//! environment says, credentials are replaced as a whole (an access key from the config
//! is never paired with a session token from the environment), and the settings the
//! store's correctness rests on (conditional puts by ETag, signed path- or host-style
//! requests the store's own lister can repeat) are pinned whatever the environment says.

use std::sync::Arc;

use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey, AwsCredential, S3ConditionalPut};
use object_store::{ClientOptions, StaticCredentialProvider};

use crate::config::S3Config;
use crate::http;

/// `base` (in [`S3Store::connect`](crate::S3Store::connect), `AmazonS3Builder::from_env()`)
/// with `config` on top. `config` must be [validated](S3Config::validate): credentials come
/// in pairs there.
pub(crate) fn builder(
    base: AmazonS3Builder,
    config: &S3Config,
    region: &str,
    client_options: ClientOptions,
) -> AmazonS3Builder {
    let mut builder = base
        .with_bucket_name(&config.bucket)
        .with_region(region)
        .with_allow_http(config.http_allowed())
        .with_virtual_hosted_style_request(config.virtual_hosted_style)
        // The store's compare-and-swap is `If-Match` / `If-None-Match`: an environment
        // that disabled it would turn every conditional put into a failure.
        .with_conditional_put(S3ConditionalPut::ETagMatch)
        // The store lists with its own requests to `endpoint/bucket` (or `bucket.endpoint`),
        // signed with the client's credentials: the client must address and sign the same.
        .with_s3_express(false)
        .with_skip_signature(false)
        .with_retry(http::retry(config.max_retries, config.retry_timeout))
        .with_client_options(client_options);
    if let Some(endpoint) = &config.endpoint {
        // `AWS_ENDPOINT_URL_S3` fills object_store's S3-specific endpoint, which takes
        // precedence over the general one: set both, so the configured one is used.
        builder = builder
            .with_endpoint(endpoint)
            .with_config(AmazonS3ConfigKey::S3Endpoint, endpoint);
    }
    if let (Some(key_id), Some(secret)) = (&config.access_key_id, &config.secret_access_key) {
        // A credential provider comes before every credential object_store reads from the
        // environment (keys, token, web identity, container, instance metadata).
        builder =
            builder.with_credentials(Arc::new(StaticCredentialProvider::new(AwsCredential {
                key_id: key_id.clone(),
                secret_key: secret.expose().to_owned(),
                token: config.session_token.as_ref().map(|t| t.expose().to_owned()),
            })));
    }
    builder
}

#[cfg(test)]
mod tests {
    use super::*;
    use store_core::Secret;

    /// A builder as `from_env` makes it in an environment with these `AWS_*` variables
    /// (the same `with_config` calls, without touching the process environment).
    fn environment(vars: &[(&str, &str)]) -> AmazonS3Builder {
        vars.iter()
            .fold(AmazonS3Builder::new(), |b, (name, value)| {
                b.with_config(name.to_ascii_lowercase().parse().unwrap(), *value)
            })
    }

    const ENV_KEYS: &[(&str, &str)] = &[
        ("AWS_ACCESS_KEY_ID", "env-id"),
        ("AWS_SECRET_ACCESS_KEY", "env-secret"),
        ("AWS_SESSION_TOKEN", "env-token"),
        ("AWS_ENDPOINT_URL_S3", "http://env-endpoint:1"),
        ("AWS_CONDITIONAL_PUT", "disabled"),
        ("AWS_S3_EXPRESS", "true"),
        ("AWS_SKIP_SIGNATURE", "true"),
        ("AWS_VIRTUAL_HOSTED_STYLE_REQUEST", "true"),
    ];

    /// The credential the built client signs with (a static one: no request is made).
    async fn credential(builder: AmazonS3Builder) -> Arc<AwsCredential> {
        let client = builder.build().unwrap();
        client.credentials().get_credential().await.unwrap()
    }

    fn block_on<T>(f: impl Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn without_explicit_credentials_the_environment_chain_is_used() {
        let config = S3Config::new("b");
        let built = builder(
            environment(ENV_KEYS),
            &config,
            "us-east-1",
            ClientOptions::new(),
        );
        let got = block_on(credential(built));
        assert_eq!(got.key_id, "env-id");
        assert_eq!(got.secret_key, "env-secret");
        assert_eq!(got.token.as_deref(), Some("env-token"));
    }

    #[test]
    fn explicit_settings_win_over_the_environment() {
        let mut config = S3Config::new("b");
        config.endpoint = Some("http://127.0.0.1:9000".into());
        config.access_key_id = Some("mine".into());
        config.secret_access_key = Some(Secret::new("my-secret"));
        let built = builder(
            environment(ENV_KEYS),
            &config,
            "eu-west-1",
            ClientOptions::new(),
        );
        let value = |key| built.get_config_value(&key);
        assert_eq!(
            value(AmazonS3ConfigKey::S3Endpoint).as_deref(),
            Some("http://127.0.0.1:9000")
        );
        assert_eq!(
            value(AmazonS3ConfigKey::ConditionalPut).as_deref(),
            Some("etag")
        );
        assert_eq!(
            value(AmazonS3ConfigKey::S3Express).as_deref(),
            Some("false")
        );
        assert_eq!(
            value(AmazonS3ConfigKey::SkipSignature).as_deref(),
            Some("false")
        );
        assert_eq!(
            value(AmazonS3ConfigKey::VirtualHostedStyleRequest).as_deref(),
            Some("false")
        );
        assert_eq!(
            value(AmazonS3ConfigKey::Region).as_deref(),
            Some("eu-west-1")
        );
        // The configured key pair, without the environment's session token.
        let got = block_on(credential(built));
        assert_eq!(got.key_id, "mine");
        assert_eq!(got.secret_key, "my-secret");
        assert_eq!(got.token, None);

        config.session_token = Some(Secret::new("my-token"));
        let built = builder(
            environment(ENV_KEYS),
            &config,
            "eu-west-1",
            ClientOptions::new(),
        );
        assert_eq!(
            block_on(credential(built)).token.as_deref(),
            Some("my-token")
        );
    }
}
