//! Files: reading multipart forms whose files stream straight into the blob store, and
//! serving stored files (`GET /uploads/messages/:filename`, `GET /uploads/avatars/:filename`).
//!
//! A file's type is decided by its bytes ([`Sniffer`]); a file that is too large, one too many,
//! or of a refused type stops the request before anything is stored: the files written so far
//! are temporary and removed when the form is dropped (also when the client goes away half
//! way).

use crate::auth::Caller;
use crate::openapi::{BadRequest, Forbidden, Invalid, NotFound, Unauthorized};
use crate::problem::ApiError;
use crate::state::AppState;
use crate::wire;
use actix_multipart::Multipart;
use actix_web::http::{header, StatusCode};
use actix_web::web::Bytes;
use actix_web::{get, web, HttpRequest, HttpResponse, ResponseError};
use concierge_domain::attachment::{
    disposition, sanitize_file_name, Attachment, Avatar, BlobRead, BlobUpload, Disposition,
    FileKind, NewAttachment, Refusal, Sniffer,
};
use concierge_domain::ports::BlobStore;
use concierge_domain::DomainError;
use futures_util::StreamExt;
use std::collections::HashMap;
use std::sync::Arc;
use utoipa_actix_web::service_config::ServiceConfig;

/// The most text fields a form may have.
const MAX_TEXT_FIELDS: usize = 16;
/// The largest text field, in bytes.
const MAX_TEXT_BYTES: usize = 64 * 1024;

/// Why a form or file was refused, as problem+json.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// More files than allowed.
    #[error("at most {0} files per message")]
    TooMany(usize),
    /// A file (or text field) over the limit.
    #[error("a file is larger than {0} bytes")]
    TooLarge(u64),
    /// A type that is not accepted.
    #[error("{0}")]
    Refused(Refusal),
    /// A type the route does not take (an avatar that is not an image).
    #[error("{0}")]
    Unsupported(&'static str),
    /// The body is not a readable multipart form.
    #[error("cannot read the multipart form: {0}")]
    Malformed(String),
    /// Anything else.
    #[error(transparent)]
    Api(#[from] ApiError),
}

impl From<DomainError> for FileError {
    fn from(e: DomainError) -> Self {
        FileError::Api(e.into())
    }
}

impl ResponseError for FileError {
    fn status_code(&self) -> StatusCode {
        match self {
            FileError::TooMany(_) | FileError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            FileError::Refused(_) | FileError::Unsupported(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            FileError::Malformed(_) => StatusCode::BAD_REQUEST,
            FileError::Api(e) => e.status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let FileError::Api(e) = self {
            return e.error_response();
        }
        let status = self.status_code();
        HttpResponse::build(status)
            .insert_header((header::CONTENT_TYPE, "application/problem+json"))
            .json(serde_json::json!({
                "type": "about:blank",
                "title": status.canonical_reason().unwrap_or("Error"),
                "status": status.as_u16(),
                "detail": self.to_string(),
            }))
    }
}

/// How many files of which kinds a form may carry.
#[derive(Debug, Clone, Copy)]
pub struct FileRules {
    /// The most files.
    pub max_files: usize,
    /// The largest file in bytes.
    pub max_bytes: u64,
    /// Raster images only (avatars).
    pub images_only: bool,
}

/// A file written to a temporary blob, not yet committed. Dropping it removes the bytes.
pub struct StagedFile {
    upload: Box<dyn BlobUpload>,
    name: String,
    kind: FileKind,
}

/// A read multipart form: its text fields and its staged files.
pub struct Form {
    /// Text fields by name (the last one wins).
    pub fields: HashMap<String, String>,
    /// Files, in order.
    pub files: Vec<StagedFile>,
}

/// Whether the request carries a multipart form.
pub fn is_multipart(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/")
        })
}

fn malformed(e: impl std::fmt::Display) -> FileError {
    FileError::Malformed(e.to_string())
}

/// Reads a multipart form; every part with a file name (or named `files`, `file`, `avatar`) is
/// a file and streams into the blob store chunk by chunk.
pub async fn read_form(
    blobs: &Arc<dyn BlobStore>,
    req: &HttpRequest,
    payload: actix_web::dev::Payload,
    rules: FileRules,
) -> Result<Form, FileError> {
    let mut multipart = Multipart::new(req.headers(), payload);
    let mut form = Form {
        fields: HashMap::new(),
        files: Vec::new(),
    };
    let mut text_fields = 0;
    while let Some(field) = multipart.next().await {
        let mut field = field.map_err(malformed)?;
        let name = field.name().unwrap_or_default().to_string();
        let file_name = field
            .content_disposition()
            .and_then(|cd| cd.get_filename())
            .map(str::to_string);
        let is_file = file_name.is_some() || matches!(name.as_str(), "files" | "file" | "avatar");
        if !is_file {
            text_fields += 1;
            if text_fields > MAX_TEXT_FIELDS {
                return Err(malformed("too many fields"));
            }
            let mut value = Vec::new();
            while let Some(chunk) = field.next().await {
                let chunk = chunk.map_err(malformed)?;
                if value.len() + chunk.len() > MAX_TEXT_BYTES {
                    return Err(FileError::TooLarge(MAX_TEXT_BYTES as u64));
                }
                value.extend_from_slice(&chunk);
            }
            let value = String::from_utf8(value)
                .map_err(|_| malformed(format!("the field {name} is not UTF-8")))?;
            form.fields.insert(name, value);
            continue;
        }
        if form.files.len() >= rules.max_files {
            return Err(FileError::TooMany(rules.max_files));
        }
        let display = sanitize_file_name(file_name.as_deref().unwrap_or_default());
        let mut upload = blobs.begin().await?;
        let mut sniffer = Sniffer::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(malformed)?;
            if sniffer.size() + chunk.len() as u64 > rules.max_bytes {
                return Err(FileError::TooLarge(rules.max_bytes));
            }
            sniffer.feed(&chunk);
            if sniffer.is_executable() {
                return Err(FileError::Refused(Refusal::Executable));
            }
            upload.write(&chunk).await?;
        }
        let kind = sniffer.finish(&display).map_err(FileError::Refused)?;
        if rules.images_only && !kind.is_raster_image() {
            return Err(FileError::Unsupported(
                "an avatar must be a JPEG, PNG, GIF or WebP image",
            ));
        }
        form.files.push(StagedFile {
            upload,
            name: display,
            kind,
        });
    }
    Ok(form)
}

/// Commits staged files under fresh keys. When one fails, the ones committed before it are
/// removed and nothing is left.
pub async fn commit(
    blobs: &Arc<dyn BlobStore>,
    files: Vec<StagedFile>,
) -> Result<Vec<NewAttachment>, FileError> {
    let mut done: Vec<NewAttachment> = Vec::with_capacity(files.len());
    for file in files {
        match file.upload.commit(file.kind.extension).await {
            Ok(stored) => done.push(NewAttachment {
                file_name: file.name,
                content_type: file.kind.content_type.to_string(),
                size: i64::try_from(stored.size).unwrap_or(i64::MAX),
                sha256: stored.sha256,
                storage_key: stored.key,
            }),
            Err(e) => {
                discard(blobs, done.into_iter().map(|f| f.storage_key).collect()).await;
                return Err(e.into());
            }
        }
    }
    Ok(done)
}

/// Removes committed blobs nothing refers to (a failed or repeated post).
pub async fn discard(blobs: &Arc<dyn BlobStore>, keys: Vec<String>) {
    for key in keys {
        if let Err(e) = blobs.delete(key.clone()).await {
            tracing::warn!(error = %e, %key, "unused upload not removed");
        }
    }
}

/// Runs `work` (which stores rows referring to `files`) on a task of its own, so a client
/// that goes away cannot cancel it half way; when it fails, the files' bytes are removed.
pub async fn store_rows<T, F>(
    blobs: Arc<dyn BlobStore>,
    files: &[NewAttachment],
    work: F,
) -> Result<T, FileError>
where
    T: 'static,
    F: std::future::Future<Output = Result<T, DomainError>> + 'static,
{
    let keys: Vec<String> = files.iter().map(|f| f.storage_key.clone()).collect();
    let task = actix_web::rt::spawn(async move {
        let result = work.await;
        if result.is_err() {
            discard(&blobs, keys).await;
        }
        result
    });
    match task.await {
        Ok(result) => Ok(result?),
        Err(e) => Err(FileError::Api(ApiError::Internal(Box::new(e)))),
    }
}

/// `filename="ascii"; filename*=UTF-8''percent-encoded`.
fn disposition_header(kind: Disposition, name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    let kind = match kind {
        Disposition::Inline => "inline",
        Disposition::Download => "attachment",
    };
    format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

fn body_stream(
    reader: Box<dyn BlobRead>,
) -> impl futures_util::Stream<Item = Result<Bytes, actix_web::Error>> {
    futures_util::stream::unfold(Some(reader), |reader| async move {
        let mut reader = reader?;
        match reader.next_chunk().await {
            Ok(Some(chunk)) => Some((Ok(Bytes::from(chunk)), Some(reader))),
            Ok(None) => None,
            Err(e) => Some((Err(ApiError::from(e).into()), None)),
        }
    })
}

/// Streams a stored file with its type, disposition, length and ETag (the SHA-256).
async fn serve(
    state: &AppState,
    req: &HttpRequest,
    key: &str,
    content_type: &str,
    sha256: &str,
    file_name: &str,
) -> Result<HttpResponse, FileError> {
    let etag = format!("\"{sha256}\"");
    let common = |builder: &mut actix_web::HttpResponseBuilder| {
        builder
            .insert_header((header::ETAG, etag.clone()))
            .insert_header((header::CACHE_CONTROL, "private, no-cache"))
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .insert_header((
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; sandbox",
            ));
    };
    let matches = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    if matches {
        let mut builder = HttpResponse::NotModified();
        common(&mut builder);
        return Ok(builder.finish());
    }
    let reader = state
        .blobs
        .get(key.to_string())
        .await?
        .ok_or(DomainError::NotFound("file"))?;
    let size = reader.size();
    let mut builder = HttpResponse::Ok();
    common(&mut builder);
    builder
        .insert_header((header::CONTENT_TYPE, content_type.to_string()))
        .insert_header((
            header::CONTENT_DISPOSITION,
            disposition_header(disposition(content_type), file_name),
        ))
        .no_chunking(size);
    Ok(builder.streaming(body_stream(reader)))
}

#[utoipa::path(
    tag = "messages",
    operation_id = "message_file",
    summary = "A message's file (readers of the ticket)",
    params(("filename" = String, Path, description = "The stored file name.")),
    responses(
        (status = 200, body = Vec<u8>, content_type = "application/octet-stream", description = "The file, with its stored content type"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid)
    ),
    security(("bearer" = [])),
)]
#[get("/uploads/messages/{filename}")]
async fn message_file(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    filename: web::Path<String>,
) -> Result<HttpResponse, FileError> {
    let attachment: Attachment = state
        .services
        .conversations
        .file(&caller.0, &filename)
        .await?;
    serve(
        &state,
        &req,
        &attachment.storage_key,
        &attachment.content_type,
        &attachment.sha256,
        &attachment.file_name,
    )
    .await
}

#[utoipa::path(
    tag = "users",
    operation_id = "avatar_file",
    summary = "A staff avatar (any signed-in caller)",
    params(("filename" = String, Path, description = "The stored file name.")),
    responses(
        (status = 200, body = Vec<u8>, content_type = "application/octet-stream", description = "The image"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid)
    ),
    security(("bearer" = [])),
)]
#[get("/uploads/avatars/{filename}")]
async fn avatar_file(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    filename: web::Path<String>,
) -> Result<HttpResponse, FileError> {
    // Avatars are shown next to staff messages: any signed-in caller (staff or donor).
    let _ = &caller;
    concierge_domain::validate::lookup_name("filename", &filename)?;
    let avatar: Avatar = state
        .avatars
        .avatar_by_key(filename.into_inner())
        .await?
        .ok_or(DomainError::NotFound("file"))?;
    let name = format!(
        "avatar.{}",
        avatar.storage_key.rsplit('.').next().unwrap_or("img")
    );
    serve(
        &state,
        &req,
        &avatar.storage_key,
        &avatar.content_type,
        &avatar.sha256,
        &name,
    )
    .await
}

/// `POST /users/me/avatar`: one raster image (JPEG, PNG, GIF, WebP) for the calling staff user.
pub async fn set_avatar(
    state: &AppState,
    caller: &Caller,
    req: &HttpRequest,
    payload: actix_web::dev::Payload,
) -> Result<HttpResponse, FileError> {
    let (user_id, _) = caller.0.staff()?;
    if !is_multipart(req) {
        return Err(FileError::Unsupported(
            "expected a multipart/form-data body",
        ));
    }
    let rules = FileRules {
        max_files: 1,
        max_bytes: state.config.max_file_bytes,
        images_only: true,
    };
    let form = read_form(&state.blobs, req, payload, rules).await?;
    if form.files.is_empty() {
        return Err(DomainError::invalid("avatar", "an image file is required").into());
    }
    let files = commit(&state.blobs, form.files).await?;
    let Some(file) = files.first().cloned() else {
        return Err(DomainError::invalid("avatar", "an image file is required").into());
    };
    let avatar = Avatar {
        storage_key: file.storage_key.clone(),
        content_type: file.content_type.clone(),
        size: file.size,
        sha256: file.sha256.clone(),
    };
    let avatars = state.avatars.clone();
    let stored = avatar.clone();
    let old = store_rows(state.blobs.clone(), &files, async move {
        avatars
            .set_avatar(user_id, stored, chrono::Utc::now())
            .await
    })
    .await?;
    if let Some(old) = old {
        discard(&state.blobs, vec![old]).await;
    }
    Ok(HttpResponse::Ok().json(super::accounts::AvatarSet {
        avatar_url: wire::avatar_url(&avatar.storage_key),
        content_type: avatar.content_type,
        size: avatar.size,
    }))
}

/// Registers the file routes.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(message_file).service(avatar_file);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispositions_quote_and_encode_names() {
        assert_eq!(
            disposition_header(Disposition::Download, "a\"b é.svg"),
            "attachment; filename=\"a_b _.svg\"; filename*=UTF-8''a%22b%20%C3%A9.svg"
        );
        assert!(disposition_header(Disposition::Inline, "x.png").starts_with("inline;"));
    }
}
