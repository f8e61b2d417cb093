//! [`BlobStore`] on the local file system: one flat directory of files named by random keys
//! (`<32 hex digits>.<ext>`), never by a client's file name.
//!
//! A write goes to a temporary file (`.tmp-<random>`) in the same directory, hashed (SHA-256)
//! and counted while it streams; on commit it is flushed and `fsync`ed, renamed to its key (an
//! atomic step on one file system), and the directory is `fsync`ed so the rename survives a
//! crash. An upload that is dropped or aborted half way removes its temporary file, and
//! [`LocalBlobs::sweep`] removes the ones a crash left. All file I/O is `tokio::fs` (which runs
//! on blocking threads), never on the async workers.

use async_trait::async_trait;
use concierge_domain::attachment::{BlobRead, BlobUpload, StoredBlob};
use concierge_domain::ports::BlobStore;
use concierge_domain::{DomainError, Result};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

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

fn random_hex() -> String {
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

fn valid_extension(ext: &str) -> bool {
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

/// A write in progress (see the module docs).
struct LocalUpload {
    dir: PathBuf,
    temp: PathBuf,
    file: Option<tokio::fs::File>,
    hasher: Sha256,
    size: u64,
    done: bool,
}

impl LocalUpload {
    async fn finish(&mut self, extension: &str) -> Result<StoredBlob> {
        if !valid_extension(extension) {
            return Err(DomainError::invalid("files", "bad extension"));
        }
        let mut file = self
            .file
            .take()
            .ok_or_else(|| DomainError::Unavailable("the upload was already finished".into()))?;
        file.flush().await.map_err(io)?;
        file.sync_all().await.map_err(io)?;
        drop(file);
        let key = format!("{}.{}", random_hex(), extension.to_ascii_lowercase());
        tokio::fs::rename(&self.temp, self.dir.join(&key))
            .await
            .map_err(io)?;
        self.done = true;
        sync_dir(self.dir.clone()).await;
        Ok(StoredBlob {
            key,
            size: self.size,
            sha256: hex(&std::mem::take(&mut self.hasher).finalize()),
        })
    }
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

fn remove_later(path: PathBuf) {
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

impl Drop for LocalUpload {
    fn drop(&mut self) {
        if !self.done {
            self.file.take();
            remove_later(self.temp.clone());
        }
    }
}

#[async_trait]
impl BlobUpload for LocalUpload {
    async fn write(&mut self, chunk: &[u8]) -> Result<()> {
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| DomainError::Unavailable("the upload was already finished".into()))?;
        file.write_all(chunk).await.map_err(io)?;
        self.hasher.update(chunk);
        self.size += chunk.len() as u64;
        Ok(())
    }

    async fn commit(mut self: Box<Self>, extension: &str) -> Result<StoredBlob> {
        // On failure the drop removes the temporary file.
        self.finish(extension).await
    }

    async fn abort(mut self: Box<Self>) {
        self.file.take();
        if let Err(e) = tokio::fs::remove_file(&self.temp).await {
            tracing::warn!(error = %e, "temporary upload not removed");
        }
        self.done = true;
    }
}

/// A stored file being read.
struct LocalRead {
    file: tokio::fs::File,
    size: u64,
    left: u64,
}

#[async_trait]
impl BlobRead for LocalRead {
    fn size(&self) -> u64 {
        self.size
    }

    async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>> {
        if self.left == 0 {
            return Ok(None);
        }
        let want = READ_CHUNK.min(usize::try_from(self.left).unwrap_or(READ_CHUNK));
        let mut buf = vec![0; want];
        let n = self.file.read(&mut buf).await.map_err(io)?;
        if n == 0 {
            // The file shrank under us: stop at what the length promised.
            return Err(DomainError::Unavailable("the file was truncated".into()));
        }
        buf.truncate(n);
        self.left -= n as u64;
        Ok(Some(buf))
    }
}

#[async_trait]
impl BlobStore for LocalBlobs {
    async fn begin(&self) -> Result<Box<dyn BlobUpload>> {
        tokio::fs::create_dir_all(&self.dir).await.map_err(io)?;
        let temp = self.dir.join(format!("{TEMP_PREFIX}{}", random_hex()));
        let file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)
            .await
            .map_err(io)?;
        Ok(Box::new(LocalUpload {
            dir: self.dir.clone(),
            temp,
            file: Some(file),
            hasher: Sha256::new(),
            size: 0,
            done: false,
        }))
    }

    async fn put(&self, bytes: Vec<u8>, extension: String) -> Result<StoredBlob> {
        let mut upload = self.begin().await?;
        upload.write(&bytes).await?;
        upload.commit(&extension).await
    }

    async fn get(&self, key: String) -> Result<Option<Box<dyn BlobRead>>> {
        let Ok(path) = self.path_of(&key) else {
            return Ok(None);
        };
        let file = match tokio::fs::File::open(&path).await {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(e)),
        };
        let size = file.metadata().await.map_err(io)?.len();
        Ok(Some(Box::new(LocalRead {
            file,
            size,
            left: size,
        })))
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

    async fn files_in(dir: &Path) -> Vec<String> {
        let mut names = vec![];
        if let Ok(mut entries) = tokio::fs::read_dir(dir).await {
            while let Ok(Some(e)) = entries.next_entry().await {
                names.push(e.file_name().to_string_lossy().into_owned());
            }
        }
        names.sort();
        names
    }

    async fn read_all(blobs: &LocalBlobs, key: &str) -> Option<Vec<u8>> {
        let mut reader = blobs.get(key.to_string()).await.unwrap()?;
        let mut all = vec![];
        while let Some(chunk) = reader.next_chunk().await.unwrap() {
            all.extend(chunk);
        }
        assert_eq!(all.len() as u64, reader.size());
        Some(all)
    }

    #[tokio::test]
    async fn a_committed_upload_is_readable_under_a_random_key_with_its_hash() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = LocalBlobs::new(dir.path().join("uploads"));
        let mut upload = blobs.begin().await.unwrap();
        upload.write(b"hello ").await.unwrap();
        upload.write(b"world").await.unwrap();
        let stored = upload.commit("txt").await.unwrap();
        assert_eq!(stored.size, 11);
        assert_eq!(
            stored.sha256,
            "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"
        );
        assert!(is_valid_key(&stored.key) && stored.key.ends_with(".txt"));
        assert_eq!(files_in(blobs.dir()).await, vec![stored.key.clone()]);
        assert_eq!(read_all(&blobs, &stored.key).await.unwrap(), b"hello world");
        blobs.delete(stored.key.clone()).await.unwrap();
        blobs.delete(stored.key.clone()).await.unwrap();
        assert!(read_all(&blobs, &stored.key).await.is_none());
        assert!(files_in(blobs.dir()).await.is_empty());
    }

    #[tokio::test]
    async fn dropped_and_aborted_uploads_leave_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = LocalBlobs::new(dir.path());
        let mut upload = blobs.begin().await.unwrap();
        upload.write(b"half").await.unwrap();
        drop(upload);
        let upload = blobs.begin().await.unwrap();
        upload.abort().await;
        for _ in 0..50 {
            if files_in(dir.path()).await.is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert!(files_in(dir.path()).await.is_empty());
    }

    #[tokio::test]
    async fn keys_that_are_paths_are_never_opened() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = LocalBlobs::new(dir.path().join("uploads"));
        tokio::fs::write(dir.path().join("secret"), b"x")
            .await
            .unwrap();
        for key in ["../secret", "..", ".tmp-abc", "a/b", "A.PNG", "", "a..b"] {
            assert!(!is_valid_key(key), "{key}");
            assert!(blobs.get(key.to_string()).await.unwrap().is_none());
            blobs.delete(key.to_string()).await.unwrap();
        }
        assert!(dir.path().join("secret").exists());
    }

    #[tokio::test]
    async fn sweep_removes_leftover_temporary_files() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = LocalBlobs::new(dir.path());
        tokio::fs::write(dir.path().join(".tmp-crashed"), b"x")
            .await
            .unwrap();
        let kept = blobs.put(b"%PDF-".to_vec(), "pdf".into()).await.unwrap();
        assert_eq!(blobs.sweep().await.unwrap(), 1);
        assert_eq!(files_in(dir.path()).await, vec![kept.key]);
        assert_eq!(
            LocalBlobs::new(dir.path().join("none"))
                .sweep()
                .await
                .unwrap(),
            0
        );
    }
}
