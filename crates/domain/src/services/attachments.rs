//! An attachment's life, and an avatar's: who may send a file, which files pass, how their
//! bytes reach the [`BlobStore`], and what is removed when a write fails or a row goes.
//!
//! A post with files runs in this order:
//! 1. **Permission.** The rules of a post without files
//!    ([`ConversationService::check_post`]; for added files
//!    [`ConversationService::attachable`]; for avatars: staff only) run before the first byte
//!    of the first file is read, so a caller who may not write stores nothing.
//! 2. **Limits and type, per file.** A file past the count is refused when it shows up. The
//!    first [`SNIFF_BYTES`] are read and decide the type (and so the key's extension); the rest
//!    streams through to [`BlobStore::put`] behind a check that counts the size and finishes
//!    the sniffing. A check that fails ends the stream with an error, so the store never
//!    commits the blob.
//! 3. **Commit.** The message (or avatar) and its rows are written in one transaction.
//! 4. **Compensation.** When a later file or the write fails, this service deletes the blobs
//!    it stored for the request before it answers.
//!
//! **Removal after a delete.** A repository that deletes attachment rows (a message, a ticket,
//! one file, a replaced avatar) returns their keys; the service that asked for the delete
//! removes the bytes with [`remove_blobs`] once the delete has committed. Every service gets
//! the blob store when it is built; the storage adapter knows nothing of blobs.
//!
//! **Cancellation.** A use case dropped half way cannot compensate, so callers run these on a
//! task of their own; a client that goes away then ends the file stream with an error, which
//! takes the normal failure path above.

use super::{ConversationService, Ports};
use crate::actor::Actor;
use crate::attachment::{
    sanitize_file_name, Avatar, BlobContent, BlobSpec, ByteStream, FileError, FileKind, FileLimits,
    FileStream, IncomingFile, NewAttachment, Refusal, Sniffer, SNIFF_BYTES,
};
use crate::error::{DomainError, Result};
use crate::ids::MessageId;
use crate::message::{self, Message, PostMessage, Posted};
use crate::ports::BlobStore;
use bytes::Bytes;
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use std::sync::{Arc, Mutex, PoisonError};

/// Removes the bytes of rows a committed write deleted. A failure is logged: the rows are
/// gone, so nothing can reach the bytes any more.
pub(crate) async fn remove_blobs(blobs: &dyn BlobStore, keys: Vec<String>) {
    for key in keys {
        if let Err(e) = blobs.delete(key.clone()).await {
            tracing::warn!(error = %e, %key, "file bytes not removed");
        }
    }
}

/// A stored file, as one who may read it sees it; [`open`](Self::open) streams its bytes.
#[derive(Clone)]
pub struct StoredFile {
    /// The name to offer (the display name; `avatar.<ext>` for avatars).
    pub file_name: String,
    /// The type decided when it was stored.
    pub content_type: String,
    /// SHA-256 of the bytes, lower-case hex (an ETag).
    pub sha256: String,
    key: String,
    blobs: Arc<dyn BlobStore>,
}

impl std::fmt::Debug for StoredFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredFile")
            .field("file_name", &self.file_name)
            .field("content_type", &self.content_type)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl StoredFile {
    /// Opens the bytes; `NotFound` when they are gone.
    pub async fn open(&self) -> Result<BlobContent> {
        self.blobs
            .get(self.key.clone())
            .await?
            .ok_or(DomainError::NotFound("file"))
    }
}

/// Files in messages, and avatars.
#[derive(Clone)]
pub struct AttachmentService {
    ports: Ports,
    conversations: ConversationService,
    limits: FileLimits,
}

impl AttachmentService {
    /// Builds the service with the default [`FileLimits`].
    pub fn new(ports: &Ports) -> Self {
        Self {
            ports: ports.clone(),
            conversations: ConversationService::new(ports),
            limits: FileLimits::default(),
        }
    }

    /// The same service with other limits.
    pub fn with_limits(mut self, limits: FileLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The limits in force.
    pub fn limits(&self) -> FileLimits {
        self.limits
    }

    /// Posts a message with the files of `files` (see the module docs for the order). A
    /// repeated `clientMessageId` answers the first message and reads no file.
    pub async fn post(
        &self,
        actor: &Actor,
        input: PostMessage,
        mut files: FileStream,
    ) -> std::result::Result<Posted, FileError> {
        if let Some(first) = self.conversations.check_post(actor, &input).await? {
            return Ok(Posted::Existing(first));
        }
        let stored = self
            .store_all(&mut files, self.limits.max_files, false)
            .await?;
        if stored.is_empty() {
            return Ok(self.conversations.post(actor, input).await?);
        }
        let keys = keys_of(&stored);
        match self
            .conversations
            .post_with_files(actor, input, stored)
            .await
        {
            Ok(Posted::Created(message)) => Ok(Posted::Created(message)),
            // A send that raced with its own retry: the first message is the answer and these
            // files are not used.
            Ok(Posted::Existing(first)) => {
                self.discard(keys).await;
                Ok(Posted::Existing(first))
            }
            Err(e) => {
                self.discard(keys).await;
                Err(e.into())
            }
        }
    }

    /// Adds the files of `files` to a message and replaces its text when `content` is given:
    /// its sender, a CHAT or QUERY message, an open ticket; at most the message's room
    /// under [`FileLimits::max_files`].
    pub async fn add_files(
        &self,
        actor: &Actor,
        id: MessageId,
        content: Option<String>,
        mut files: FileStream,
    ) -> std::result::Result<Message, FileError> {
        if let Some(content) = &content {
            message::validate_content(content)?;
        }
        let message = self.conversations.attachable(actor, id).await?;
        let room = self
            .limits
            .max_files
            .saturating_sub(message.attachments.len());
        let stored = self.store_all(&mut files, room, false).await?;
        let keys = keys_of(&stored);
        let result = self
            .conversations
            .add_files(actor, id, content.as_deref(), stored, self.limits.max_files)
            .await;
        if result.is_err() {
            self.discard(keys).await;
        }
        Ok(result?)
    }

    /// Sets the calling staff user's avatar from the one raster image in `files`; the bytes of
    /// the avatar it replaces are removed.
    pub async fn set_avatar(
        &self,
        actor: &Actor,
        mut files: FileStream,
    ) -> std::result::Result<Avatar, FileError> {
        let (user_id, _) = actor.staff()?;
        let stored = self.store_all(&mut files, 1, true).await?;
        let Some(file) = stored.into_iter().next() else {
            return Err(DomainError::invalid("avatar", "an image file is required").into());
        };
        let avatar = Avatar {
            storage_key: file.storage_key,
            content_type: file.content_type,
            size: file.size,
            sha256: file.sha256,
        };
        match self
            .ports
            .avatars
            .set_avatar(user_id, avatar.clone(), self.ports.clock.now())
            .await
        {
            Ok(replaced) => {
                remove_blobs(self.ports.blobs.as_ref(), replaced.into_iter().collect()).await;
                Ok(avatar)
            }
            Err(e) => {
                self.discard(vec![avatar.storage_key]).await;
                Err(e.into())
            }
        }
    }

    /// The file of a message stored under `key`, for whoever may read its ticket; `NotFound`
    /// for anyone else.
    pub async fn message_file(&self, actor: &Actor, key: &str) -> Result<StoredFile> {
        let attachment = self.conversations.file(actor, key).await?;
        Ok(StoredFile {
            file_name: attachment.file_name,
            content_type: attachment.content_type,
            sha256: attachment.sha256,
            key: attachment.storage_key,
            blobs: self.ports.blobs.clone(),
        })
    }

    /// The avatar stored under `key`. Avatars are shown next to staff messages, so any
    /// signed-in actor (staff or donor) may read them.
    pub async fn avatar_file(&self, _actor: &Actor, key: &str) -> Result<StoredFile> {
        crate::validate::lookup_name("filename", key)?;
        let avatar = self
            .ports
            .avatars
            .avatar_by_key(key.to_string())
            .await?
            .ok_or(DomainError::NotFound("file"))?;
        let extension = avatar.storage_key.rsplit('.').next().unwrap_or("img");
        Ok(StoredFile {
            file_name: format!("avatar.{extension}"),
            content_type: avatar.content_type,
            sha256: avatar.sha256,
            key: avatar.storage_key,
            blobs: self.ports.blobs.clone(),
        })
    }

    /// Stores every file of `files` (at most `max`); on any failure removes what it stored.
    async fn store_all(
        &self,
        files: &mut FileStream,
        max: usize,
        images_only: bool,
    ) -> std::result::Result<Vec<NewAttachment>, FileError> {
        let mut stored: Vec<NewAttachment> = Vec::new();
        loop {
            let step = match files.next().await {
                None => return Ok(stored),
                Some(Err(e)) => Err(e),
                Some(Ok(_)) if stored.len() >= max => Err(FileError::TooMany(max)),
                Some(Ok(file)) => self.store(file, images_only).await,
            };
            match step {
                Ok(file) => stored.push(file),
                Err(e) => {
                    self.discard(keys_of(&stored)).await;
                    return Err(e);
                }
            }
        }
    }

    /// Checks one file and streams it into the blob store.
    async fn store(
        &self,
        file: IncomingFile,
        images_only: bool,
    ) -> std::result::Result<NewAttachment, FileError> {
        let name = sanitize_file_name(&file.file_name);
        // Fused: the head may have read the body to its end already.
        let mut body = file.body.fuse();
        let mut check = Check::new(self.limits.max_bytes);
        let mut head: Vec<std::io::Result<Bytes>> = Vec::new();
        while check.size < SNIFF_BYTES as u64 {
            match body.next().await {
                Some(Ok(chunk)) => {
                    check.feed(&chunk)?;
                    head.push(Ok(chunk));
                }
                Some(Err(e)) => return Err(FileError::Unreadable(e.to_string())),
                None => break,
            }
        }
        let kind = check
            .sniffer
            .kind_so_far(&name)
            .map_err(FileError::Refused)?;
        if images_only && !kind.is_raster_image() {
            return Err(FileError::Unsupported(
                "an avatar must be a JPEG, PNG, GIF or WebP image",
            ));
        }
        let check = Arc::new(Mutex::new(check));
        let spec = BlobSpec {
            content_type: kind.content_type.to_string(),
            extension: kind.extension.to_string(),
        };
        let stream = futures_util::stream::iter(head).chain(checked(
            body.boxed(),
            check.clone(),
            kind,
            name.clone(),
        ));
        let put = self.ports.blobs.put(spec, stream.fuse().boxed()).await;
        let (problem, size, sha256) = {
            let mut check = check.lock().unwrap_or_else(PoisonError::into_inner);
            let sha256 = hex(&std::mem::take(&mut check.hasher).finalize());
            (check.problem.take(), check.size, sha256)
        };
        match (put, problem) {
            (Ok(key), None) => Ok(NewAttachment {
                file_name: name,
                content_type: kind.content_type.to_string(),
                size: i64::try_from(size).unwrap_or(i64::MAX),
                sha256,
                storage_key: key,
            }),
            // A store that kept a blob whose stream failed breaks the port's contract; the blob
            // is not kept either way.
            (Ok(key), Some(problem)) => {
                self.discard(vec![key]).await;
                Err(problem)
            }
            (Err(_), Some(problem)) => Err(problem),
            (Err(e), None) => Err(e.into()),
        }
    }

    /// Removes blobs nothing refers to (a failed or repeated post).
    async fn discard(&self, keys: Vec<String>) {
        remove_blobs(self.ports.blobs.as_ref(), keys).await;
    }
}

fn keys_of(files: &[NewAttachment]) -> Vec<String> {
    files.iter().map(|f| f.storage_key.clone()).collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What a file's bytes showed so far.
struct Check {
    sniffer: Sniffer,
    hasher: Sha256,
    /// Bytes seen.
    size: u64,
    max_bytes: u64,
    /// Why the stream was ended, when the check ended it.
    problem: Option<FileError>,
}

impl Check {
    fn new(max_bytes: u64) -> Self {
        Self {
            sniffer: Sniffer::new(),
            hasher: Sha256::new(),
            size: 0,
            max_bytes,
            problem: None,
        }
    }

    fn feed(&mut self, chunk: &[u8]) -> std::result::Result<(), FileError> {
        if self.size + chunk.len() as u64 > self.max_bytes {
            return Err(FileError::TooLarge(self.max_bytes));
        }
        self.size += chunk.len() as u64;
        self.sniffer.feed(chunk);
        if self.sniffer.is_executable() {
            return Err(FileError::Refused(Refusal::Executable));
        }
        self.hasher.update(chunk);
        Ok(())
    }

    /// Records `problem` and gives the error that ends the stream.
    fn fail(&mut self, problem: FileError) -> std::io::Error {
        let error = std::io::Error::other(problem.to_string());
        self.problem = Some(problem);
        error
    }

    /// At the end of the bytes: the whole file must still be of the type its head showed.
    fn finish(&mut self, kind: FileKind, name: &str) -> std::result::Result<(), std::io::Error> {
        match std::mem::take(&mut self.sniffer).finish(name) {
            Ok(found) if found == kind => Ok(()),
            Ok(_) => Err(self.fail(FileError::Refused(Refusal::Unknown))),
            Err(refusal) => Err(self.fail(FileError::Refused(refusal))),
        }
    }
}

/// The rest of a file after its head, passed through the check; the stream ends with an error
/// (and the check records why) as soon as the bytes break a rule.
fn checked(body: ByteStream, check: Arc<Mutex<Check>>, kind: FileKind, name: String) -> ByteStream {
    let state = Some((body, check, name));
    Box::pin(futures_util::stream::unfold(
        state,
        move |state| async move {
            let (mut body, check, name) = state?;
            let next = body.next().await;
            let mut guard = check.lock().unwrap_or_else(PoisonError::into_inner);
            let item = match next {
                Some(Ok(chunk)) => match guard.feed(&chunk) {
                    Ok(()) => Ok(chunk),
                    Err(problem) => Err(guard.fail(problem)),
                },
                Some(Err(e)) => Err(guard.fail(FileError::Unreadable(e.to_string()))),
                None => {
                    return match guard.finish(kind, &name) {
                        Ok(()) => None,
                        Err(e) => Some((Err(e), None)),
                    }
                }
            };
            drop(guard);
            let more = item.is_ok();
            Some((item, more.then_some((body, check, name))))
        },
    ))
}
