//! Files in messages (and avatars): the attachment entity, which types are allowed, the limits,
//! the content sniffing that decides a file's type by its bytes, and display-name sanitising.
//!
//! A file's type is decided by its first bytes (magic numbers), never by the client's
//! `Content-Type` or file extension. The extension only picks among types the bytes already
//! allow (CSV versus plain text; which legacy Office format an OLE container is).//!
//! The content sniffing lives in `sniff`; its types are re-exported here.

use crate::ids::MessageId;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::stream::BoxStream;

mod sniff;

pub use sniff::{sniff_bytes, FileKind, Refusal, Sniffer};

/// The most files one message carries (the default of `MAX_FILES_PER_MESSAGE`).
pub const MAX_FILES_PER_MESSAGE: usize = 5;
/// The largest file, in bytes (the default of `MAX_FILE_BYTES`: 10 MiB).
pub const MAX_FILE_BYTES: u64 = 10 * 1024 * 1024;
/// The longest display name kept, in bytes.
pub const MAX_FILE_NAME: usize = 255;
/// How many leading bytes [`Sniffer`] keeps to decide a type.
pub const SNIFF_BYTES: usize = 8 * 1024;

/// A file attached to a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// Its id.
    pub id: i64,
    /// The message it belongs to.
    pub message_id: MessageId,
    /// The sanitised display name (never a path).
    pub file_name: String,
    /// The type decided by the bytes.
    pub content_type: String,
    /// Size in bytes.
    pub size: i64,
    /// SHA-256 of the bytes, lower-case hex.
    pub sha256: String,
    /// The key of the bytes in the [`BlobStore`](crate::ports::BlobStore); also the file name
    /// in its URL.
    pub storage_key: String,
    /// When it was stored.
    pub created_at: DateTime<Utc>,
}

/// An attachment about to be stored (its bytes are already in the blob store).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAttachment {
    /// Sanitised display name.
    pub file_name: String,
    /// The sniffed type.
    pub content_type: String,
    /// Size in bytes.
    pub size: i64,
    /// SHA-256, lower-case hex.
    pub sha256: String,
    /// The blob's key.
    pub storage_key: String,
}

/// A staff user's avatar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Avatar {
    /// The blob's key.
    pub storage_key: String,
    /// An image type.
    pub content_type: String,
    /// Size in bytes.
    pub size: i64,
    /// SHA-256, lower-case hex.
    pub sha256: String,
}

/// Bytes streamed in chunks, memory staying flat. An `Err` item means the bytes are broken (a
/// client that went away, a limit the domain enforces): a reader stops there and keeps nothing.
pub type ByteStream = BoxStream<'static, std::io::Result<Bytes>>;

/// What a [`BlobStore`](crate::ports::BlobStore) is told about bytes before they arrive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobSpec {
    /// The type decided by the bytes (an object store's `Content-Type`).
    pub content_type: String,
    /// The extension the new key ends in (`png`), without the dot.
    pub extension: String,
}

/// A stored blob being read.
pub struct BlobContent {
    /// Its size in bytes (what the stream yields, unless the blob changes under it).
    pub size: u64,
    /// The bytes.
    pub body: ByteStream,
}

impl std::fmt::Debug for BlobContent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobContent")
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

/// A file as a client sent it, not yet checked.
pub struct IncomingFile {
    /// The client's file name (sanitised by the service; only ever a display name).
    pub file_name: String,
    /// The bytes.
    pub body: ByteStream,
}

/// The files of one form, in the order sent. An `Err` item ends it: the form could not be read.
pub type FileStream = BoxStream<'static, std::result::Result<IncomingFile, FileError>>;

/// Why files were refused; the HTTP layer maps each to its status.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// More files than allowed.
    #[error("at most {0} files per message")]
    TooMany(usize),
    /// A file over the size limit, in bytes.
    #[error("a file is larger than {0} bytes")]
    TooLarge(u64),
    /// A type that is not accepted.
    #[error("{0}")]
    Refused(Refusal),
    /// A type this use does not take (an avatar that is not an image).
    #[error("{0}")]
    Unsupported(&'static str),
    /// The bytes or the form could not be read (the text says why).
    #[error("{0}")]
    Unreadable(String),
    /// A domain rule or a port failed.
    #[error(transparent)]
    Domain(#[from] crate::error::DomainError),
}

/// How many files, how large.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileLimits {
    /// The most files a message carries.
    pub max_files: usize,
    /// The largest file in bytes.
    pub max_bytes: u64,
}

impl Default for FileLimits {
    fn default() -> Self {
        Self {
            max_files: MAX_FILES_PER_MESSAGE,
            max_bytes: MAX_FILE_BYTES,
        }
    }
}

/// How a type may be shown by a browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// May be shown inline (raster images, PDF).
    Inline,
    /// Only ever downloaded (`Content-Disposition: attachment`): SVG, HTML, text, archives.
    Download,
}

/// Whether `content_type` is JPEG, PNG, GIF or WebP.
pub fn is_raster_image(content_type: &str) -> bool {
    matches!(
        content_type,
        "image/jpeg" | "image/png" | "image/gif" | "image/webp"
    )
}

/// How a stored type is served: inline only for raster images and PDF, everything else
/// (SVG, HTML, text, archives, Office) as a download.
pub fn disposition(content_type: &str) -> Disposition {
    if is_raster_image(content_type) || content_type == "application/pdf" {
        Disposition::Inline
    } else {
        Disposition::Download
    }
}

/// The display name kept for a client's file name: its last path component, without control
/// characters (NUL included), characters file systems or headers dislike, or leading dots, at
/// most [`MAX_FILE_NAME`] bytes; `file` when nothing is left. It is only ever shown, never used
/// as a path.
pub fn sanitize_file_name(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '<' | '>' | ':' | '"' | '|' | '?' | '*'))
        .collect();
    let trimmed = cleaned.trim().trim_start_matches('.').trim();
    let mut name = String::with_capacity(trimmed.len().min(MAX_FILE_NAME));
    for c in trimmed.chars() {
        if name.len() + c.len_utf8() > MAX_FILE_NAME {
            break;
        }
        name.push(c);
    }
    if name.is_empty() {
        "file".to_string()
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_only_names() {
        assert_eq!(sanitize_file_name("../../etc/passwd"), "passwd");
        assert_eq!(sanitize_file_name("..\\..\\boot.ini"), "boot.ini");
        assert_eq!(sanitize_file_name("a\0b.png"), "ab.png");
        assert_eq!(sanitize_file_name("..."), "file");
        assert_eq!(sanitize_file_name("../"), "file");
        assert_eq!(sanitize_file_name(""), "file");
        assert_eq!(sanitize_file_name(".htaccess"), "htaccess");
        assert_eq!(sanitize_file_name("re\"port\r\n.pdf"), "report.pdf");
        let long = "é".repeat(300);
        let kept = sanitize_file_name(&long);
        assert!(kept.len() <= MAX_FILE_NAME && kept.chars().all(|c| c == 'é'));
    }
}
