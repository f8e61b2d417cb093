//! [`BlobStore`] on any S3-compatible object store (`object_store`'s `AmazonS3`), so every
//! instance behind a load balancer reads the same files.
//!
//! Keys are the local store's (`<32 hex digits>.<ext>`, [`is_valid_key`]), stored under an
//! optional prefix. A put reads the body into one part of [`PART_BYTES`]: a body that ends
//! within it is one `PUT`; a longer one becomes a multipart upload, one part in flight at a
//! time while the next one fills, so an upload holds at most two parts in memory whatever the
//! file's size. Nothing is visible under the key until the upload completes; a body that fails,
//! a failed part, or a put dropped half way aborts the upload. A get streams the object's
//! body as it arrives. Requests are path-style (`endpoint/bucket/key`), which every
//! S3-compatible server answers; an `http://` endpoint is allowed for local ones.

use crate::blobs::{is_valid_key, random_hex, valid_extension};
use async_trait::async_trait;
use concierge_domain::attachment::{BlobContent, BlobSpec, ByteStream};
use concierge_domain::ports::BlobStore;
use concierge_domain::{DomainError, Result};
use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::{
    Attribute, Attributes, ClientOptions, ObjectStore, PutMultipartOptions, PutOptions, PutPayload,
    RetryConfig, WriteMultipart,
};
use std::sync::Arc;
use std::time::Duration;

/// The size of one uploaded part (S3's smallest part but the last is 5 MiB).
pub const PART_BYTES: usize = 5 * 1024 * 1024;

/// Where the bucket is and how to sign in (`S3_*`).
#[derive(Clone)]
pub struct S3Config {
    /// The bucket (`S3_BUCKET`).
    pub bucket: String,
    /// The service's URL (`S3_ENDPOINT`); `None`: AWS's endpoint for the region.
    pub endpoint: Option<String>,
    /// The region (`S3_REGION`, default `us-east-1`).
    pub region: String,
    /// `S3_ACCESS_KEY_ID`.
    pub access_key_id: String,
    /// `S3_SECRET_ACCESS_KEY`.
    pub secret_access_key: String,
    /// Prepended to every key (`S3_PREFIX`, e.g. `concierge/uploads`); empty: none.
    pub prefix: String,
}

impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Config")
            .field("bucket", &self.bucket)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// A failed request as a storage error naming the step.
fn failed(what: &str, err: object_store::Error) -> DomainError {
    DomainError::storage(std::io::Error::other(format!("object store {what}: {err}")))
}

/// Blobs in one S3 bucket, under a prefix.
#[derive(Clone)]
pub struct S3Blobs {
    store: Arc<AmazonS3>,
    bucket: String,
    prefix: String,
}

impl std::fmt::Debug for S3Blobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Blobs")
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl S3Blobs {
    /// A client for the configured bucket; nothing is sent until the first call. Fails when the
    /// settings cannot make a client (a malformed endpoint).
    pub fn new(config: &S3Config) -> std::result::Result<Self, String> {
        // No overall request timeout: a download streams at the client's pace.
        let options = ClientOptions::new()
            .with_connect_timeout(Duration::from_secs(5))
            .with_timeout_disabled();
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&config.bucket)
            .with_region(&config.region)
            .with_access_key_id(&config.access_key_id)
            .with_secret_access_key(&config.secret_access_key)
            .with_virtual_hosted_style_request(false)
            .with_client_options(options)
            // A few quick retries; a request fails within ten seconds rather than minutes.
            .with_retry(RetryConfig {
                max_retries: 3,
                retry_timeout: Duration::from_secs(10),
                ..RetryConfig::default()
            });
        if let Some(endpoint) = &config.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        let store = builder.build().map_err(|e| e.to_string())?;
        Ok(Self {
            store: Arc::new(store),
            bucket: config.bucket.clone(),
            prefix: config.prefix.trim_matches('/').to_string(),
        })
    }

    /// The bucket.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The key prefix (no slashes at either end).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The object's path for a key.
    fn path(&self, key: &str) -> Path {
        if self.prefix.is_empty() {
            Path::from(key)
        } else {
            Path::from(format!("{}/{key}", self.prefix))
        }
    }

    /// The keys under the prefix (tests and operators' checks).
    pub async fn keys(&self) -> Result<Vec<String>> {
        let prefix = (!self.prefix.is_empty()).then(|| Path::from(self.prefix.as_str()));
        let metas: Vec<_> = self
            .store
            .list(prefix.as_ref())
            .try_collect()
            .await
            .map_err(|e| failed("list", e))?;
        let mut keys: Vec<String> = metas
            .into_iter()
            .filter_map(|m| m.location.filename().map(str::to_string))
            .collect();
        keys.sort();
        Ok(keys)
    }

    /// Streams `body` to `path`; see the module docs.
    async fn upload(&self, path: &Path, content_type: &str, mut body: ByteStream) -> Result<()> {
        let mut attributes = Attributes::new();
        attributes.insert(Attribute::ContentType, content_type.to_string().into());
        let (mut first, mut held) = (Vec::new(), 0);
        let mut rest = None;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(DomainError::storage)?;
            held += chunk.len();
            first.push(chunk);
            if held >= PART_BYTES {
                rest = Some(body);
                break;
            }
        }
        let Some(mut body) = rest else {
            let options = PutOptions {
                attributes,
                ..PutOptions::default()
            };
            let payload: PutPayload = first.into_iter().collect();
            self.store
                .put_opts(path, payload, options)
                .await
                .map_err(|e| failed("put", e))?;
            return Ok(());
        };
        let options = PutMultipartOptions {
            attributes,
            ..PutMultipartOptions::default()
        };
        let upload = self
            .store
            .put_multipart_opts(path, options)
            .await
            .map_err(|e| failed("start of a multipart upload", e))?;
        let mut upload = Unfinished(Some(WriteMultipart::new_with_chunk_size(
            upload, PART_BYTES,
        )));
        let result = async {
            let writer = upload.writer()?;
            for chunk in first {
                writer.put(chunk);
            }
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(DomainError::storage)?;
                // One part uploads while the next one fills.
                writer
                    .wait_for_capacity(2)
                    .await
                    .map_err(|e| failed("upload of a part", e))?;
                writer.put(chunk);
            }
            Ok(())
        }
        .await;
        match (result, upload.0.take()) {
            (Ok(()), Some(writer)) => writer
                .finish()
                .await
                .map(drop)
                .map_err(|e| failed("end of a multipart upload", e)),
            (Ok(()), None) => Err(DomainError::storage(std::io::Error::other(
                "the upload was already ended",
            ))),
            (Err(e), Some(writer)) => {
                if let Err(abort) = writer.abort().await {
                    tracing::warn!(error = %abort, "a failed multipart upload was not aborted");
                }
                Err(e)
            }
            (Err(e), None) => Err(e),
        }
    }
}

/// A multipart upload that is aborted if dropped before it is finished (a put whose future is
/// dropped half way).
struct Unfinished(Option<WriteMultipart>);

impl Unfinished {
    fn writer(&mut self) -> Result<&mut WriteMultipart> {
        self.0
            .as_mut()
            .ok_or_else(|| DomainError::storage(std::io::Error::other("the upload is over")))
    }
}

impl Drop for Unfinished {
    fn drop(&mut self) {
        let Some(writer) = self.0.take() else {
            return;
        };
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                if let Err(e) = writer.abort().await {
                    tracing::warn!(error = %e, "a dropped multipart upload was not aborted");
                }
            });
        }
    }
}

/// An object's stream as the port's: `object_store` errors become I/O errors.
fn body_of(
    stream: futures_util::stream::BoxStream<'static, object_store::Result<bytes::Bytes>>,
) -> ByteStream {
    stream.map_err(std::io::Error::other).boxed()
}

#[async_trait]
impl BlobStore for S3Blobs {
    async fn put(&self, spec: BlobSpec, body: ByteStream) -> Result<String> {
        if !valid_extension(&spec.extension) {
            return Err(DomainError::invalid("files", "bad extension"));
        }
        let key = format!("{}.{}", random_hex(), spec.extension.to_ascii_lowercase());
        self.upload(&self.path(&key), &spec.content_type, body)
            .await?;
        Ok(key)
    }

    async fn get(&self, key: String) -> Result<Option<BlobContent>> {
        if !is_valid_key(&key) {
            return Ok(None);
        }
        match self.store.get(&self.path(&key)).await {
            Ok(found) => Ok(Some(BlobContent {
                size: found.meta.size,
                body: body_of(found.into_stream()),
            })),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(failed("get", e)),
        }
    }

    async fn delete(&self, key: String) -> Result<()> {
        if !is_valid_key(&key) {
            return Ok(());
        }
        match self.store.delete(&self.path(&key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(failed("delete", e)),
        }
    }
}
