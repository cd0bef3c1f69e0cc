//! S3's ListObjectsV2, sent directly rather than through object_store.
//!
//! object_store parses every listed name into its `Path`, which loses what a store
//! shared with other S3 clients must see: one name it cannot parse (`a//b`, `x/../y`, a
//! control character) fails the whole page, so the whole listing, and a directory
//! marker (`dir/`, as consoles create) loses its trailing `/` and reads as the object
//! `dir`. Here names stay exactly the server's (asked for URL-encoded, as S3 advises for
//! names that XML cannot carry), and [`select`](super::select) decides which are keys.
//!
//! Requests are signed with object_store's own signer and credentials and sent with its
//! HTTP client (same timeouts), and retried like object_store retries: transient
//! failures up to `max_retries` times within `retry_timeout`, with jittered exponential
//! backoff.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use object_store::aws::{AwsAuthorizer, AwsCredentialProvider};
use object_store::client::{HttpClient, HttpConnector, HttpRequestBody, ReqwestConnector};
use object_store::{BackoffConfig, ClientOptions};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use serde::Deserialize;

use super::Object;
use crate::config::S3Config;
use crate::error::is_transient;

/// Everything but RFC 3986's unreserved characters is encoded in query values, as
/// SigV4's canonical query string wants it.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The most of an error body kept in a message (S3's are a few hundred bytes).
const MAX_BODY_SHOWN: usize = 2048;

/// Lists a bucket with signed ListObjectsV2 requests.
pub(crate) struct S3Lister {
    http: HttpClient,
    credentials: AwsCredentialProvider,
    /// `https://s3.region.amazonaws.com/bucket`, `http://127.0.0.1:9000/bucket`, ...
    bucket_url: String,
    region: String,
    max_retries: usize,
    retry_timeout: Duration,
    backoff: BackoffConfig,
}

/// One page of a listing.
pub(crate) struct Page {
    pub objects: Vec<Object>,
    /// The continuation token of the next page, if there is one.
    pub next: Option<String>,
}

impl S3Lister {
    /// A lister for `config`'s bucket, signing with `credentials` (the S3 client's).
    pub fn new(
        config: &S3Config,
        region: &str,
        credentials: AwsCredentialProvider,
        client_options: &ClientOptions,
    ) -> object_store::Result<S3Lister> {
        Ok(S3Lister {
            http: ReqwestConnector::default().connect(client_options)?,
            credentials,
            bucket_url: bucket_url(config, region),
            region: region.to_owned(),
            max_retries: config.max_retries,
            retry_timeout: config.retry_timeout,
            backoff: BackoffConfig::default(),
        })
    }

    /// Every object whose name starts with `prefix` and sorts after `start_after`, in
    /// the server's (ascending byte) order, page by page.
    pub fn objects(
        self: Arc<Self>,
        prefix: String,
        start_after: Option<String>,
    ) -> BoxStream<'static, object_store::Result<Object>> {
        // `None`: done; `Some(None)`: the first page; `Some(Some(token))`: a later one.
        stream::try_unfold(Some(None::<String>), move |state| {
            let (lister, prefix, start_after) = (self.clone(), prefix.clone(), start_after.clone());
            async move {
                let Some(token) = state else {
                    return Ok(None);
                };
                let after = if token.is_none() {
                    start_after.as_deref()
                } else {
                    None
                };
                let page: Page = lister.page(&prefix, after, token.as_deref(), None).await?;
                Ok::<_, object_store::Error>(Some((page.objects, page.next.map(Some))))
            }
        })
        .map_ok(|objects| stream::iter(objects.into_iter().map(Ok)))
        .try_flatten()
        .boxed()
    }

    /// One ListObjectsV2 page of at most `max_keys` names (the server's page size, 1,000
    /// on S3, when `None`).
    pub async fn page(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        token: Option<&str>,
        max_keys: Option<usize>,
    ) -> object_store::Result<Page> {
        let mut url = format!("{}?list-type=2&encoding-type=url", self.bucket_url);
        let mut param = |name: &str, value: &str| {
            url.push_str(&format!(
                "&{name}={}",
                utf8_percent_encode(value, QUERY_VALUE)
            ));
        };
        if !prefix.is_empty() {
            param("prefix", prefix);
        }
        if let Some(after) = start_after {
            param("start-after", after);
        }
        if let Some(token) = token {
            param("continuation-token", token);
        }
        if let Some(max) = max_keys {
            param("max-keys", &max.to_string());
        }
        let body = self.get_with_retries(&url).await?;
        parse_page(&body)
    }

    async fn get_with_retries(&self, url: &str) -> object_store::Result<Bytes> {
        let started = Instant::now();
        let mut delay = self.backoff.init_backoff;
        let mut retries = 0;
        loop {
            match self.get(url).await {
                Ok(body) => return Ok(body),
                Err(e)
                    if is_transient(&e)
                        && retries < self.max_retries
                        && started.elapsed() < self.retry_timeout =>
                {
                    retries += 1;
                    // Full jitter: a random wait up to the current backoff.
                    let wait = delay.mul_f64(rand::random::<f64>());
                    tokio::time::sleep(wait).await;
                    delay = delay
                        .mul_f64(self.backoff.base)
                        .min(self.backoff.max_backoff);
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn get(&self, url: &str) -> object_store::Result<Bytes> {
        let credential = self.credentials.get_credential().await?;
        let mut request = http::Request::builder()
            .method(http::Method::GET)
            .uri(url)
            .body(HttpRequestBody::empty())
            .map_err(|e| generic(format!("building a list request: {e}")))?;
        AwsAuthorizer::new(&credential, "s3", &self.region).try_authorize(&mut request, None)?;
        let response =
            self.http
                .execute(request)
                .await
                .map_err(|e| object_store::Error::Generic {
                    store: "S3",
                    source: Box::new(e),
                })?;
        let status = response.status();
        let body =
            response
                .into_body()
                .bytes()
                .await
                .map_err(|e| object_store::Error::Generic {
                    store: "S3",
                    source: Box::new(e),
                })?;
        if status.is_success() {
            return Ok(body);
        }
        let failure = StatusError {
            status: status.as_u16(),
            reason: status.canonical_reason().unwrap_or(""),
            body: String::from_utf8_lossy(&body[..body.len().min(MAX_BODY_SHOWN)]).into_owned(),
        };
        let path = self.bucket_url.clone();
        let source = Box::new(failure);
        // The same variants object_store gives the same statuses.
        Err(match status.as_u16() {
            404 => object_store::Error::NotFound { path, source },
            403 => object_store::Error::PermissionDenied { path, source },
            401 => object_store::Error::Unauthenticated { path, source },
            _ => object_store::Error::Generic {
                store: "S3",
                source,
            },
        })
    }
}

/// A non-2xx answer, printed as object_store prints one (the error mapping reads the
/// status and the S3 code from that text).
#[derive(Debug)]
struct StatusError {
    status: u16,
    reason: &'static str,
    body: String,
}

impl fmt::Display for StatusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Server returned non-2xx status code: {} {}: {}",
            self.status, self.reason, self.body
        )
    }
}

impl std::error::Error for StatusError {}

fn generic(message: String) -> object_store::Error {
    object_store::Error::Generic {
        store: "S3",
        source: message.into(),
    }
}

/// The bucket's URL, as object_store's builder makes it: with an endpoint, the
/// endpoint (virtual-hosted: it already names the bucket) or `endpoint/bucket`;
/// without one, AWS's regional endpoint. A virtual-hosted URL gets the root path `/`,
/// which the query follows.
fn bucket_url(config: &S3Config, region: &str) -> String {
    let bucket = &config.bucket;
    match (&config.endpoint, config.virtual_hosted_style) {
        (Some(endpoint), true) => format!("{}/", endpoint.trim_end_matches('/')),
        (Some(endpoint), false) => format!("{}/{bucket}", endpoint.trim_end_matches('/')),
        (None, true) => format!("https://{bucket}.s3.{region}.amazonaws.com/"),
        (None, false) => format!("https://s3.{region}.amazonaws.com/{bucket}"),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListBucketResult {
    #[serde(default)]
    contents: Vec<Contents>,
    #[serde(default)]
    is_truncated: bool,
    #[serde(default)]
    next_continuation_token: Option<String>,
    #[serde(default)]
    encoding_type: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Contents {
    key: String,
    size: u64,
    last_modified: String,
    #[serde(rename = "ETag", default)]
    e_tag: Option<String>,
}

fn parse_page(body: &[u8]) -> object_store::Result<Page> {
    let text = std::str::from_utf8(body)
        .map_err(|e| generic(format!("a ListObjectsV2 answer that is not UTF-8: {e}")))?;
    let result: ListBucketResult = quick_xml::de::from_str(text)
        .map_err(|e| generic(format!("an unreadable ListObjectsV2 answer: {e}")))?;
    let encoded = result.encoding_type.as_deref() == Some("url");
    let objects = result
        .contents
        .into_iter()
        .map(|c| {
            let name = if encoded { url_decode(&c.key)? } else { c.key };
            let last_modified = parse_time(&c.last_modified).ok_or_else(|| {
                generic(format!(
                    "object `{}`: LastModified `{}` is not a time",
                    name.escape_debug(),
                    c.last_modified.escape_debug()
                ))
            })?;
            Ok(Object {
                name,
                size: c.size,
                e_tag: c.e_tag,
                version: None,
                last_modified,
            })
        })
        .collect::<object_store::Result<Vec<_>>>()?;
    let next = match result.next_continuation_token {
        Some(token) if result.is_truncated && !token.is_empty() => Some(token),
        _ => None,
    };
    Ok(Page { objects, next })
}

/// A name from an `encoding-type=url` listing: percent-encoded, with `+` for a space
/// (as AWS encodes; a literal `+` comes as `%2B`).
fn url_decode(encoded: &str) -> object_store::Result<String> {
    let spaced = encoded.replace('+', " ");
    percent_decode_str(&spaced)
        .decode_utf8()
        .map(|name| name.into_owned())
        .map_err(|e| {
            generic(format!(
                "listed name `{}` does not decode to UTF-8: {e}",
                encoded.escape_debug()
            ))
        })
}

/// S3's `2009-10-12T17:50:30.000Z`.
fn parse_time(text: &str) -> Option<SystemTime> {
    humantime::parse_rfc3339_weak(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_parse_with_encoded_names() {
        let body = br#"<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>b</Name><Prefix>p%2F</Prefix><KeyCount>3</KeyCount><MaxKeys>1000</MaxKeys>
  <EncodingType>url</EncodingType><IsTruncated>true</IsTruncated>
  <Contents><Key>p/a+b%2Bc</Key><LastModified>2026-12-02T14:37:50.000Z</LastModified>
    <ETag>&quot;abc&quot;</ETag><Size>5</Size><StorageClass>STANDARD</StorageClass></Contents>
  <Contents><Key>p/bad%2F%2Fdouble</Key><LastModified>2026-12-02T14:37:51Z</LastModified>
    <ETag>"def"</ETag><Size>0</Size></Contents>
  <Contents><Key>p/ctl%01x</Key><LastModified>2026-12-02T14:37:52.123Z</LastModified>
    <Size>1</Size></Contents>
  <NextContinuationToken>tok/en=</NextContinuationToken>
</ListBucketResult>"#;
        let page = parse_page(body).unwrap();
        let names: Vec<&str> = page.objects.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(names, ["p/a b+c", "p/bad//double", "p/ctl\u{1}x"]);
        assert_eq!(page.objects[0].e_tag.as_deref(), Some("\"abc\""));
        assert_eq!(page.objects[0].size, 5);
        assert_eq!(page.objects[2].e_tag, None);
        assert_eq!(page.next.as_deref(), Some("tok/en="));
        let secs = page.objects[0]
            .last_modified
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert_eq!(secs, 1_796_222_270);
    }

    #[test]
    fn a_last_page_has_no_next_and_raw_names_stay_raw() {
        let body = br#"<ListBucketResult><IsTruncated>false</IsTruncated>
<Contents><Key>p/a+b</Key><LastModified>2026-01-01T00:00:00.000Z</LastModified><Size>1</Size></Contents>
</ListBucketResult>"#;
        let page = parse_page(body).unwrap();
        assert_eq!(page.objects[0].name, "p/a+b");
        assert!(page.next.is_none());
        let empty =
            parse_page(b"<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>")
                .unwrap();
        assert!(empty.objects.is_empty());
    }

    #[test]
    fn bad_answers_are_errors() {
        assert!(parse_page(b"<ListBucketResult><Contents><Key>").is_err());
        assert!(parse_page(b"\xff\xfe").is_err());
        let bad_time = br#"<ListBucketResult><EncodingType>url</EncodingType><Contents><Key>k</Key><LastModified>yesterday</LastModified><Size>1</Size></Contents></ListBucketResult>"#;
        assert!(parse_page(bad_time).is_err());
        let bad_name = br#"<ListBucketResult><EncodingType>url</EncodingType><Contents><Key>%ff</Key><LastModified>2026-01-01T00:00:00Z</LastModified><Size>1</Size></Contents></ListBucketResult>"#;
        assert!(parse_page(bad_name).is_err());
    }

    /// The answer comes from the network: truncated or damaged, it is an error or a page,
    /// never a panic.
    #[test]
    fn damaged_answers_never_panic() {
        use rand::{Rng, SeedableRng};
        let good = br#"<ListBucketResult><EncodingType>url</EncodingType><IsTruncated>true</IsTruncated>
<Contents><Key>p/a%2Fb+c</Key><LastModified>2026-12-02T14:37:50.000Z</LastModified><ETag>&quot;e&quot;</ETag><Size>5</Size></Contents>
<NextContinuationToken>t</NextContinuationToken></ListBucketResult>"#;
        assert!(parse_page(good).is_ok());
        for end in 0..good.len() {
            let _ = parse_page(&good[..end]);
        }
        let mut rng = rand::rngs::StdRng::seed_from_u64(16);
        for _ in 0..5_000 {
            let mut damaged = good.to_vec();
            for _ in 0..rng.random_range(1..4) {
                let at = rng.random_range(0..damaged.len());
                damaged[at] = rng.random();
            }
            let _ = parse_page(&damaged);
        }
    }

    #[test]
    fn bucket_urls_follow_object_store() {
        let mut config = S3Config::new("bkt");
        assert_eq!(
            bucket_url(&config, "eu-west-1"),
            "https://s3.eu-west-1.amazonaws.com/bkt"
        );
        config.virtual_hosted_style = true;
        assert_eq!(
            bucket_url(&config, "eu-west-1"),
            "https://bkt.s3.eu-west-1.amazonaws.com/"
        );
        config.endpoint = Some("http://bkt.minio:9000/".into());
        assert_eq!(bucket_url(&config, "x"), "http://bkt.minio:9000/");
        config.virtual_hosted_style = false;
        config.endpoint = Some("http://127.0.0.1:9000/".into());
        assert_eq!(bucket_url(&config, "x"), "http://127.0.0.1:9000/bkt");
    }
}
