//! Signed S3 requests the store (and object_store) will not send: objects whose names are
//! not keys, directory markers, bucket creation and deletion. They are how other S3
//! clients (consoles, `aws s3`, backup tools) treat a bucket the store shares.

use bytes::Bytes;
use store_s3::object_store::ClientOptions;
use store_s3::object_store::aws::{AwsAuthorizer, AwsCredential};
use store_s3::object_store::client::{
    HttpClient, HttpConnector, HttpRequestBody, ReqwestConnector,
};

use super::Settings;

/// Every byte but RFC 3986's unreserved ones is encoded, `/` too: so `..` and `//` in
/// a name reach the server as they are instead of being normalised away by the URL.
const NAME: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// A signing client for the test server.
pub struct RawS3 {
    http: HttpClient,
    endpoint: String,
    region: String,
    credential: AwsCredential,
}

impl RawS3 {
    pub fn new(settings: &Settings) -> RawS3 {
        Self::with_credentials(
            &settings.endpoint,
            &settings.region,
            &settings.access_key_id,
            &settings.secret_access_key,
        )
    }

    pub fn with_credentials(endpoint: &str, region: &str, key_id: &str, secret: &str) -> RawS3 {
        let options = ClientOptions::new().with_allow_http(true);
        RawS3 {
            http: ReqwestConnector::default()
                .connect(&options)
                .expect("HTTP client"),
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            region: region.to_owned(),
            credential: AwsCredential {
                key_id: key_id.to_owned(),
                secret_key: secret.to_owned(),
                token: None,
            },
        }
    }

    /// Send a signed request for `path` (already encoded) and return the status and body.
    pub async fn send(&self, method: http::Method, path: &str, body: Bytes) -> (u16, String) {
        let mut request = http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.endpoint))
            .body(HttpRequestBody::from(body))
            .expect("request");
        AwsAuthorizer::new(&self.credential, "s3", &self.region)
            .try_authorize(&mut request, None)
            .expect("sign");
        let response = self
            .http
            .execute(request)
            .await
            .expect("the server answers");
        let status = response.status().as_u16();
        let body = response.into_body().bytes().await.expect("body");
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    /// Put an object named exactly `name` (any bytes S3 allows), as another client
    /// would; the status the server answered.
    pub async fn put_object(&self, bucket: &str, name: &str, body: &'static [u8]) -> u16 {
        let encoded = percent_encoding::utf8_percent_encode(name, NAME);
        let (status, text) = self
            .send(
                http::Method::PUT,
                &format!("/{bucket}/{encoded}"),
                Bytes::from_static(body),
            )
            .await;
        if status != 200 {
            eprintln!("the server refused to store {name:?}: {status} {text}");
        }
        status
    }

    pub async fn create_bucket(&self, bucket: &str) {
        let (status, text) = self
            .send(http::Method::PUT, &format!("/{bucket}"), Bytes::new())
            .await;
        assert_eq!(status, 200, "create bucket {bucket}: {text}");
    }

    pub async fn delete_bucket(&self, bucket: &str) {
        let (status, text) = self
            .send(http::Method::DELETE, &format!("/{bucket}"), Bytes::new())
            .await;
        assert!(
            status == 204 || status == 200,
            "delete bucket {bucket}: {status} {text}"
        );
    }
}
