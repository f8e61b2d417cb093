//! The contract every [`BlobStore`] adapter keeps, run against each: the local directory, and
//! S3 when `TEST_S3_ENDPOINT` names an S3-compatible server (`CONCIERGE_REQUIRE_S3=1` makes
//! that mandatory, as CI does; see `concierge_e2e::test_s3_bucket`). Each S3 test uses its own
//! prefix in the bucket.

use crate::blobs::is_valid_key;
use crate::LocalBlobs;
use async_trait::async_trait;
use bytes::Bytes;
use concierge_domain::attachment::{BlobSpec, ByteStream};
use concierge_domain::ports::BlobStore;
use futures_util::StreamExt;
use std::time::Duration;

/// The S3 adapter's part size (`s3_blobs::PART_BYTES`); the local store has no parts.
const PART: usize = 5 * 1024 * 1024;

/// An adapter under test, and what it holds.
#[async_trait]
pub(crate) trait Subject: BlobStore {
    /// Every name it holds, finished or not (sorted).
    async fn held(&self) -> Vec<String>;
}

#[async_trait]
impl Subject for LocalBlobs {
    async fn held(&self) -> Vec<String> {
        let mut names = vec![];
        if let Ok(mut entries) = tokio::fs::read_dir(self.dir()).await {
            while let Ok(Some(e)) = entries.next_entry().await {
                names.push(e.file_name().to_string_lossy().into_owned());
            }
        }
        names.sort();
        names
    }
}

#[cfg(feature = "s3")]
#[async_trait]
impl Subject for crate::S3Blobs {
    async fn held(&self) -> Vec<String> {
        self.keys().await.unwrap()
    }
}

fn local() -> (tempfile::TempDir, LocalBlobs) {
    let dir = tempfile::tempdir().unwrap();
    let blobs = LocalBlobs::new(dir.path().join("uploads"));
    (dir, blobs)
}

/// A store on a fresh prefix of the test bucket, or `None` when no S3 server is configured.
#[cfg(feature = "s3")]
async fn s3() -> Option<crate::S3Blobs> {
    let (endpoint, bucket) = concierge_e2e::test_s3_bucket().await?;
    let config = crate::S3Config {
        bucket,
        endpoint: Some(endpoint),
        region: "us-east-1".into(),
        access_key_id: "test".into(),
        secret_access_key: "test".into(),
        prefix: format!("contract/{}", crate::blobs::random_hex()),
    };
    Some(crate::S3Blobs::new(&config).expect("an S3 client"))
}

pub(crate) fn spec(extension: &str) -> BlobSpec {
    BlobSpec {
        content_type: "text/plain".into(),
        extension: extension.into(),
    }
}

pub(crate) fn chunks(parts: Vec<std::io::Result<&'static [u8]>>) -> ByteStream {
    futures_util::stream::iter(parts.into_iter().map(|p| p.map(Bytes::from_static))).boxed()
}

async fn read_all(blobs: &dyn BlobStore, key: &str) -> Option<Vec<u8>> {
    let content = blobs.get(key.to_string()).await.unwrap()?;
    let mut all = vec![];
    let mut body = content.body;
    while let Some(chunk) = body.next().await {
        all.extend(chunk.unwrap());
    }
    assert_eq!(all.len() as u64, content.size);
    Some(all)
}

/// Waits up to a second for the store to hold nothing (a dropped put cleans up in the
/// background).
async fn eventually_empty(blobs: &dyn Subject) {
    for _ in 0..50 {
        if blobs.held().await.is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(blobs.held().await, Vec::<String>::new());
}

async fn a_streamed_put_is_readable_under_a_random_key(blobs: &dyn Subject) {
    let key = blobs
        .put(spec("txt"), chunks(vec![Ok(b"hello "), Ok(b"world")]))
        .await
        .unwrap();
    assert!(is_valid_key(&key) && key.ends_with(".txt"), "{key}");
    assert_eq!(blobs.held().await, vec![key.clone()]);
    assert_eq!(read_all(blobs, &key).await.unwrap(), b"hello world");
    blobs.delete(key.clone()).await.unwrap();
    blobs.delete(key.clone()).await.unwrap();
    assert!(read_all(blobs, &key).await.is_none());
    assert!(blobs.held().await.is_empty());
    // An empty file is a file.
    let empty = blobs.put(spec("bin"), chunks(vec![])).await.unwrap();
    assert_eq!(read_all(blobs, &empty).await.unwrap(), b"");
    blobs.delete(empty).await.unwrap();
}

async fn a_file_of_several_parts_streams_in_and_out_whole(blobs: &dyn Subject) {
    // 11 MiB and a bit, in 64 KiB chunks: three parts of an S3 multipart upload.
    let size = 2 * PART + 12_345;
    let pattern = |i: usize| (i % 251) as u8;
    let body = futures_util::stream::iter((0..size).step_by(64 * 1024).map(move |start| {
        let end = (start + 64 * 1024).min(size);
        Ok(Bytes::from((start..end).map(pattern).collect::<Vec<u8>>()))
    }));
    let key = blobs.put(spec("bin"), body.boxed()).await.unwrap();
    let content = blobs.get(key.clone()).await.unwrap().unwrap();
    assert_eq!(content.size, size as u64);
    let mut at = 0;
    let mut body = content.body;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.unwrap();
        assert!(chunk.iter().enumerate().all(|(i, b)| *b == pattern(at + i)));
        at += chunk.len();
    }
    assert_eq!(at, size);
    blobs.delete(key).await.unwrap();
    assert!(blobs.held().await.is_empty());
}

async fn a_stream_that_fails_or_a_dropped_put_leaves_nothing(blobs: &dyn Subject) {
    let broken = chunks(vec![Ok(b"half"), Err(std::io::Error::other("cut off"))]);
    assert!(blobs.put(spec("txt"), broken).await.is_err());
    assert!(blobs.held().await.is_empty());

    // Past the first part, then a failure.
    let big = Bytes::from(vec![7u8; PART + 1]);
    let broken = futures_util::stream::iter([Ok(big), Err(std::io::Error::other("cut off"))]);
    assert!(blobs.put(spec("bin"), broken.boxed()).await.is_err());
    assert!(blobs.held().await.is_empty());

    // A put whose future is dropped while it waits for more bytes.
    let pending = chunks(vec![Ok(b"half")]).chain(futures_util::stream::pending());
    let put = blobs.put(spec("txt"), pending.boxed());
    assert!(tokio::time::timeout(Duration::from_millis(100), put)
        .await
        .is_err());
    eventually_empty(blobs).await;
}

async fn keys_that_are_paths_are_never_opened(blobs: &dyn Subject) {
    let kept = blobs
        .put(spec("txt"), chunks(vec![Ok(b"mine")]))
        .await
        .unwrap();
    let bad = ["../x", "..", ".tmp-abc", "a/b", "A.PNG", "", "a..b"];
    for key in bad
        .iter()
        .map(|k| k.to_string())
        .chain([format!("../{kept}"), format!("x/{kept}")])
    {
        assert!(!is_valid_key(&key), "{key}");
        assert!(blobs.get(key.clone()).await.unwrap().is_none(), "{key}");
        blobs.delete(key).await.unwrap();
    }
    assert_eq!(blobs.held().await, vec![kept.clone()]);
    assert!(blobs.put(spec("../x"), chunks(vec![])).await.is_err());
    blobs.delete(kept).await.unwrap();
}

/// Each contract test, once per adapter.
macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod local {
            $(
                #[tokio::test]
                async fn $name() {
                    let (_dir, blobs) = super::local();
                    super::$name(&blobs).await;
                }
            )*
        }
        #[cfg(feature = "s3")]
        mod s3 {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(blobs) = super::s3().await {
                        super::$name(&blobs).await;
                    }
                }
            )*
        }
    };
}

contract!(
    a_streamed_put_is_readable_under_a_random_key,
    a_file_of_several_parts_streams_in_and_out_whole,
    a_stream_that_fails_or_a_dropped_put_leaves_nothing,
    keys_that_are_paths_are_never_opened,
);
