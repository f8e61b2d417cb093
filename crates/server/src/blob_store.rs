//! The configured [`BlobStore`] (`BLOB_STORE`: `local` or `s3`) and what /health/advanced shows
//! of it: which store, where, and its last error.
//!
//! [`Watched`] wraps the adapter and keeps the last storage error of any call, a failure in
//! the middle of a download's stream too. An error's text is the adapter's (a path, a request);
//! the S3 secret is never part of it.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use concierge_domain::attachment::{BlobContent, BlobSpec, ByteStream};
use concierge_domain::ports::BlobStore;
use concierge_domain::{DomainError, Result};
use futures_util::StreamExt;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex, PoisonError};

/// Which store `BLOB_STORE` picks, with its settings.
#[derive(Debug, Clone)]
pub enum BlobStoreConfig {
    /// Files under `UPLOAD_DIR` (the default).
    Local,
    /// Files in an S3 bucket (`S3_*`).
    S3(concierge_store::S3Config),
}

/// The last failure of a call.
#[derive(Debug, Clone)]
struct Failure {
    at: DateTime<Utc>,
    message: String,
}

type LastError = Arc<Mutex<Option<Failure>>>;

fn remember(last: &LastError, err: &dyn std::fmt::Display) {
    *last.lock().unwrap_or_else(PoisonError::into_inner) = Some(Failure {
        at: Utc::now(),
        message: err.to_string(),
    });
}

/// An adapter whose failures are kept for the health report.
pub struct Watched {
    inner: Arc<dyn BlobStore>,
    /// What the health report says of the store besides its last error.
    about: Value,
    last_error: LastError,
}

impl Watched {
    /// The store `config` names. Fails when its settings cannot make a client.
    pub fn from_config(config: &crate::config::Config) -> std::result::Result<Self, String> {
        Ok(match &config.blob_store {
            BlobStoreConfig::Local => Self::new(
                Arc::new(concierge_store::LocalBlobs::new(&config.upload_dir)),
                json!({ "kind": "local", "dir": config.upload_dir.display().to_string() }),
            ),
            BlobStoreConfig::S3(s3) => Self::new(
                Arc::new(concierge_store::S3Blobs::new(s3)?),
                json!({
                    "kind": "s3",
                    "bucket": s3.bucket,
                    "endpoint": s3.endpoint,
                    "region": s3.region,
                    "prefix": s3.prefix,
                }),
            ),
        })
    }

    /// Wraps `inner`, described by `about`.
    pub fn new(inner: Arc<dyn BlobStore>, about: Value) -> Self {
        Self {
            inner,
            about,
            last_error: Arc::default(),
        }
    }

    /// The health report's object: `kind`, where the files are, and `lastError` (`null`, or
    /// its time and message).
    pub fn view(&self) -> Value {
        let mut view = self.about.clone();
        let last = self
            .last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let last = match last {
            Some(f) => json!({ "at": f.at, "message": f.message }),
            None => Value::Null,
        };
        if let Value::Object(fields) = &mut view {
            fields.insert("lastError".into(), last);
        }
        view
    }

    /// Keeps a storage error (a refused input is the caller's, not the store's).
    fn check<T>(&self, result: Result<T>) -> Result<T> {
        if let Err(err @ DomainError::Storage(_)) = &result {
            remember(&self.last_error, err);
        }
        result
    }
}

#[async_trait]
impl BlobStore for Watched {
    async fn put(&self, spec: BlobSpec, body: ByteStream) -> Result<String> {
        self.check(self.inner.put(spec, body).await)
    }

    async fn get(&self, key: String) -> Result<Option<BlobContent>> {
        let content = self.check(self.inner.get(key).await)?;
        Ok(content.map(|c| {
            let last = self.last_error.clone();
            BlobContent {
                size: c.size,
                body: c
                    .body
                    .inspect(move |chunk| {
                        if let Err(e) = chunk {
                            remember(&last, e);
                        }
                    })
                    .boxed(),
            }
        }))
    }

    async fn delete(&self, key: String) -> Result<()> {
        self.check(self.inner.delete(key).await)
    }
}
