//! [`BlobStore`] on the local file system: one flat directory of files named by random keys
//! (`<32 hex digits>.<ext>`), never by a client's file name.
//!
//! A put streams to a temporary file (`.tmp-<random>`) in the same directory, one chunk at a
//! time; when the stream ends cleanly the file is flushed and `fsync`ed, renamed to its key (an
//! atomic step on one file system), and the directory is `fsync`ed so the rename survives a
//! crash. A stream that ends with an error, or a put dropped half way, removes its temporary
//! file, and [`LocalBlobs::sweep`] removes the ones a crash left. All file I/O is `tokio::fs`
//! (which runs on blocking threads), never on the async workers.

use async_trait::async_trait;
use concierge_domain::attachment::{BlobContent, BlobSpec, ByteStream};
use concierge_domain::ports::BlobStore;
use concierge_domain::{DomainError, Result};
use futures_util::StreamExt;
use std::path::{Path, PathBuf};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::io::{ReaderStream, StreamReader};

/// The prefix of temporary files.
const TEMP_PREFIX: &str = ".tmp-";
/// How much a read hands out at a time.
const READ_CHUNK: usize = 64 * 1024;

/// Blobs in one directory of the local file system.
#[derive(Debug, Clone)]
pub struct LocalBlobs {
    dir: PathBuf,
}

fn io(err: std::io::Error) -> DomainError {
    DomainError::storage(err)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn random_hex() -> String {
    hex(&rand::random::<[u8; 16]>())
}

/// Whether `key` is one this store could have made: lower-case letters, digits and one dot,
/// not starting with a dot. Anything else (a path, `..`, a temporary file) is never opened.
pub fn is_valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 64
        && !key.starts_with('.')
        && key.chars().filter(|c| *c == '.').count() <= 1
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.')
}

pub(crate) fn valid_extension(ext: &str) -> bool {
    !ext.is_empty() && ext.len() <= 8 && ext.chars().all(|c| c.is_ascii_alphanumeric())
}

impl LocalBlobs {
    /// Blobs under `dir`, created on the first write.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Removes temporary files a crash left behind; returns how many. A missing directory
    /// has none.
    pub async fn sweep(&self) -> Result<usize> {
        let mut entries = match tokio::fs::read_dir(&self.dir).await {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(io(e)),
        };
        let mut removed = 0;
        while let Some(entry) = entries.next_entry().await.map_err(io)? {
            if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
                tokio::fs::remove_file(entry.path()).await.map_err(io)?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    fn path_of(&self, key: &str) -> Result<PathBuf> {
        if is_valid_key(key) {
            Ok(self.dir.join(key))
        } else {
            Err(DomainError::NotFound("file"))
        }
    }
}

/// A temporary file that is removed when dropped unless it was renamed to its key (an upload
/// whose future is dropped half way leaves nothing).
struct TempFile {
    path: PathBuf,
    kept: bool,
}

/// `fsync`s a directory so a rename in it is durable; a failure is logged (the bytes are
/// written, only their durability across a power cut is in doubt).
async fn sync_dir(dir: PathBuf) {
    let result = tokio::task::spawn_blocking(move || std::fs::File::open(&dir)?.sync_all()).await;
    match result {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "fsync of the upload directory failed"),
        Err(e) => tracing::warn!(error = %e, "fsync of the upload directory did not run"),
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if self.kept {
            return;
        }
        let path = std::mem::take(&mut self.path);
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                handle.spawn(async move {
                    if let Err(e) = tokio::fs::remove_file(&path).await {
                        if e.kind() != std::io::ErrorKind::NotFound {
                            tracing::warn!(error = %e, path = %path.display(), "temporary upload not removed");
                        }
                    }
                });
            }
            // No runtime (a drop at process exit): nothing else runs on this thread any more.
            Err(_) => {
                let _ = std::fs::remove_file(&path);
            }
        }
    }
}

impl LocalBlobs {
    /// Streams `body` into `temp` and renames it to a fresh key; see the module docs.
    async fn write(
        &self,
        temp: &mut TempFile,
        extension: &str,
        body: ByteStream,
    ) -> Result<String> {
        let mut file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp.path)
            .await
            .map_err(io)?;
        let mut reader = StreamReader::new(body);
        tokio::io::copy(&mut reader, &mut file).await.map_err(io)?;
        file.flush().await.map_err(io)?;
        file.sync_all().await.map_err(io)?;
        drop(file);
        let key = format!("{}.{}", random_hex(), extension.to_ascii_lowercase());
        tokio::fs::rename(&temp.path, self.dir.join(&key))
            .await
            .map_err(io)?;
        temp.kept = true;
        sync_dir(self.dir.clone()).await;
        Ok(key)
    }
}

/// Streams a file of `size` bytes; a file that turns out shorter ends with an error, so a
/// reader never takes a truncated file for a whole one.
fn read_stream(file: tokio::fs::File, size: u64) -> ByteStream {
    let reader = ReaderStream::with_capacity(file.take(size), READ_CHUNK);
    Box::pin(futures_util::stream::unfold(
        Some((reader, size)),
        |state| async move {
            let (mut reader, left) = state?;
            match reader.next().await {
                Some(Ok(chunk)) => {
                    let left = left.saturating_sub(chunk.len() as u64);
                    Some((Ok(chunk), Some((reader, left))))
                }
                Some(Err(e)) => Some((Err(e), None)),
                None if left > 0 => Some((
                    Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "the file was truncated",
                    )),
                    None,
                )),
                None => None,
            }
        },
    ))
}

#[async_trait]
impl BlobStore for LocalBlobs {
    async fn put(&self, spec: BlobSpec, body: ByteStream) -> Result<String> {
        if !valid_extension(&spec.extension) {
            return Err(DomainError::invalid("files", "bad extension"));
        }
        tokio::fs::create_dir_all(&self.dir).await.map_err(io)?;
        let mut temp = TempFile {
            path: self.dir.join(format!("{TEMP_PREFIX}{}", random_hex())),
            kept: false,
        };
        let result = self.write(&mut temp, &spec.extension, body).await;
        if result.is_err() {
            // Removed now rather than by the drop, so the caller finds the directory clean.
            if let Err(e) = tokio::fs::remove_file(&temp.path).await {
                if e.kind() != std::io::ErrorKind::NotFound {
                    tracing::warn!(error = %e, "temporary upload not removed");
                }
            }
            temp.kept = true;
        }
        result
    }

    async fn get(&self, key: String) -> Result<Option<BlobContent>> {
        let Ok(path) = self.path_of(&key) else {
            return Ok(None);
        };
        let file = match tokio::fs::File::open(&path).await {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(e)),
        };
        let size = file.metadata().await.map_err(io)?.len();
        Ok(Some(BlobContent {
            size,
            body: read_stream(file, size),
        }))
    }

    async fn delete(&self, key: String) -> Result<()> {
        let Ok(path) = self.path_of(&key) else {
            return Ok(());
        };
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blob_contract::{chunks, spec, Subject};

    #[tokio::test]
    async fn sweep_removes_leftover_temporary_files() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = LocalBlobs::new(dir.path());
        tokio::fs::write(dir.path().join(".tmp-crashed"), b"x")
            .await
            .unwrap();
        let kept = blobs
            .put(spec("pdf"), chunks(vec![Ok(b"%PDF-")]))
            .await
            .unwrap();
        assert_eq!(blobs.sweep().await.unwrap(), 1);
        assert_eq!(blobs.held().await, vec![kept]);
        assert_eq!(
            LocalBlobs::new(dir.path().join("none"))
                .sweep()
                .await
                .unwrap(),
            0
        );
    }
}
