//! Files: reading multipart forms and handing their files to the domain's
//! [`AttachmentService`](concierge_domain::services::AttachmentService) as streams, and
//! serving stored files (`GET /uploads/messages/:filename`, `GET /uploads/avatars/:filename`).
//!
//! This module only parses. Permission, limits, type sniffing, storage and compensation are the
//! service's. A form's text fields come before its files ([`read_fields`]); the files then
//! stream to the service ([`with_files`]) through bounded channels (a few chunks in flight, so
//! memory stays flat), and the service pulls the first byte only once the caller may write.
//! The service runs on a task of its own: a client that goes away ends the file stream with an
//! error, so the service still removes whatever it had stored.

use crate::auth::Caller;
use crate::openapi::{GuardedItem, Invalid};
use crate::problem::ApiError;
use crate::state::AppState;
use crate::wire;
use actix_multipart::{Field, Multipart};
use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{get, web, HttpRequest, HttpResponse};
use concierge_domain::attachment::{
    disposition, ByteStream, Disposition, FileError, FileStream, IncomingFile,
};
use concierge_domain::services::{AttachmentService, StoredFile};
use concierge_domain::Actor;
use futures_util::future::{select, Either};
use futures_util::StreamExt;
use std::collections::HashMap;
use std::future::Future;
use tokio::sync::mpsc;
use utoipa_actix_web::service_config::ServiceConfig;

/// The most text fields a form may have.
const MAX_TEXT_FIELDS: usize = 16;
/// The largest text field, in bytes.
const MAX_TEXT_BYTES: usize = 64 * 1024;
/// Chunks of one file read ahead of the service.
const CHUNKS_IN_FLIGHT: usize = 4;

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

fn unreadable(e: impl std::fmt::Display) -> FileError {
    FileError::Unreadable(format!("cannot read the multipart form: {e}"))
}

/// The client's file name of a file part: every part with a file name, or named `files`,
/// `file` or `avatar`, is a file; `None` for a text field.
fn file_name_of(field: &Field) -> Option<String> {
    let file_name = field
        .content_disposition()
        .and_then(|cd| cd.get_filename())
        .map(str::to_string);
    let named_as_file = matches!(field.name(), Some("files" | "file" | "avatar"));
    if file_name.is_some() || named_as_file {
        Some(file_name.unwrap_or_default())
    } else {
        None
    }
}

/// A form's files, not yet read.
struct Rest {
    /// The form; `None` when the body is not a multipart form.
    multipart: Option<Multipart>,
    /// The file part where reading stopped.
    first: Option<(String, Field)>,
    /// Whether the form has no more parts.
    done: bool,
    /// Text fields read so far.
    text_fields: usize,
    /// Whether text fields after the first file are read and dropped; otherwise one is an error.
    skip_text: bool,
}

/// A multipart form read up to its first file.
pub struct Form {
    /// Text fields before the first file, by name (the last one wins).
    pub fields: HashMap<String, String>,
    rest: Rest,
}

/// Reads one text field, within the limits.
async fn read_text(field: &mut Field, text_fields: &mut usize) -> Result<String, FileError> {
    *text_fields += 1;
    if *text_fields > MAX_TEXT_FIELDS {
        return Err(unreadable("too many fields"));
    }
    let mut value = Vec::new();
    while let Some(chunk) = field.next().await {
        let chunk = chunk.map_err(unreadable)?;
        if value.len() + chunk.len() > MAX_TEXT_BYTES {
            return Err(FileError::TooLarge(MAX_TEXT_BYTES as u64));
        }
        value.extend_from_slice(&chunk);
    }
    let name = field.name().unwrap_or_default().to_string();
    String::from_utf8(value).map_err(|_| unreadable(format!("the field {name} is not UTF-8")))
}

/// Reads a multipart form's text fields, up to its first file part.
pub async fn read_fields(
    req: &HttpRequest,
    payload: actix_web::dev::Payload,
) -> Result<Form, ApiError> {
    let mut multipart = Multipart::new(req.headers(), payload);
    let mut fields = HashMap::new();
    let mut text_fields = 0;
    let first = loop {
        let Some(field) = multipart.next().await else {
            break None;
        };
        let mut field = field.map_err(unreadable)?;
        if let Some(file_name) = file_name_of(&field) {
            break Some((file_name, field));
        }
        let name = field.name().unwrap_or_default().to_string();
        let value = read_text(&mut field, &mut text_fields).await?;
        fields.insert(name, value);
    };
    let rest = Rest {
        multipart: Some(multipart),
        done: first.is_none(),
        first,
        text_fields,
        skip_text: false,
    };
    Ok(Form { fields, rest })
}

/// A form none of which is read yet (every text field is skipped); a body that is not a
/// multipart form yields one error, `415`.
pub fn unread_form(req: &HttpRequest, payload: actix_web::dev::Payload) -> Form {
    let rest = Rest {
        multipart: is_multipart(req).then(|| Multipart::new(req.headers(), payload)),
        first: None,
        done: false,
        text_fields: 0,
        skip_text: true,
    };
    Form {
        fields: HashMap::new(),
        rest,
    }
}

/// One step of a file's bytes: `Some` chunk, `None` at its end, `Err` when it broke.
type Chunk = Result<Option<Bytes>, String>;
/// One step of a form's files: `Some` file, `None` at the end of the form.
type Next = Result<Option<IncomingFile>, FileError>;

fn ended_half_way() -> String {
    "cannot read the multipart form: the request ended half way".to_string()
}

/// The bytes of one file; a channel closed before the end marker is an error, never an end.
fn body_stream(rx: mpsc::Receiver<Chunk>) -> ByteStream {
    futures_util::stream::unfold(Some(rx), |rx| async move {
        let mut rx = rx?;
        match rx.recv().await {
            Some(Ok(Some(bytes))) => Some((Ok(bytes), Some(rx))),
            Some(Ok(None)) => None,
            Some(Err(why)) => Some((Err(std::io::Error::other(why)), None)),
            None => Some((Err(std::io::Error::other(ended_half_way())), None)),
        }
    })
    .boxed()
}

/// The files of a form; a channel closed before the end marker is an error.
fn file_stream(rx: mpsc::Receiver<Next>) -> FileStream {
    futures_util::stream::unfold(Some(rx), |rx| async move {
        let mut rx = rx?;
        match rx.recv().await {
            Some(Ok(Some(file))) => Some((Ok(file), Some(rx))),
            Some(Ok(None)) => None,
            Some(Err(e)) => Some((Err(e), None)),
            None => Some((Err(FileError::Unreadable(ended_half_way())), None)),
        }
    })
    .boxed()
}

/// Feeds the rest of a form into `files`, one part at a time; stops when the service stops
/// listening.
async fn pump(rest: Rest, files: mpsc::Sender<Next>) {
    let Rest {
        multipart,
        first: mut next,
        done,
        mut text_fields,
        skip_text,
    } = rest;
    let Some(mut multipart) = multipart else {
        let refused = FileError::Unsupported("expected a multipart/form-data body");
        let _ = files.send(Err(refused)).await;
        return;
    };
    if done {
        let _ = files.send(Ok(None)).await;
        return;
    }
    loop {
        let (file_name, mut field) = match next.take() {
            Some(part) => part,
            None => match multipart.next().await {
                None => {
                    let _ = files.send(Ok(None)).await;
                    return;
                }
                Some(Err(e)) => {
                    let _ = files.send(Err(unreadable(e))).await;
                    return;
                }
                Some(Ok(mut field)) => match file_name_of(&field) {
                    Some(file_name) => (file_name, field),
                    None if skip_text => match read_text(&mut field, &mut text_fields).await {
                        Ok(_) => continue,
                        Err(e) => {
                            let _ = files.send(Err(e)).await;
                            return;
                        }
                    },
                    None => {
                        let late = unreadable("text fields must come before the files");
                        let _ = files.send(Err(late)).await;
                        return;
                    }
                },
            },
        };
        let (tx, rx) = mpsc::channel(CHUNKS_IN_FLIGHT);
        let file = IncomingFile {
            file_name,
            body: body_stream(rx),
        };
        if files.send(Ok(Some(file))).await.is_err() {
            return;
        }
        loop {
            let chunk: Chunk = match field.next().await {
                Some(Ok(bytes)) => Ok(Some(bytes)),
                Some(Err(e)) => Err(format!("cannot read the multipart form: {e}")),
                None => Ok(None),
            };
            let more = matches!(chunk, Ok(Some(_)));
            let broken = chunk.is_err();
            // A send that fails: the service stopped reading this file (it refused it).
            if tx.send(chunk).await.is_err() || broken {
                return;
            }
            if !more {
                break;
            }
        }
    }
}

/// Runs `call` (an attachment use case given the service, the caller and the form's files) on
/// a task of its own while the form's files stream into it; answers what the use case answers.
pub async fn with_files<T, F, Fut>(
    state: &AppState,
    caller: &Caller,
    form: Form,
    call: F,
) -> Result<T, ApiError>
where
    T: 'static,
    F: FnOnce(AttachmentService, Actor, FileStream) -> Fut,
    Fut: Future<Output = Result<T, FileError>> + 'static,
{
    let service = state.services.attachments.clone();
    let (tx, rx) = mpsc::channel(1);
    let task = actix_web::rt::spawn(call(service, caller.0.clone(), file_stream(rx)));
    let pump = std::pin::pin!(pump(form.rest, tx));
    let joined = match select(task, pump).await {
        Either::Left((joined, _)) => joined,
        Either::Right(((), task)) => task.await,
    };
    match joined {
        Ok(result) => Ok(result?),
        Err(e) => Err(ApiError::Internal(Box::new(e))),
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

/// Streams a stored file with its type, disposition, length and ETag (the SHA-256).
async fn serve(req: &HttpRequest, file: StoredFile) -> Result<HttpResponse, ApiError> {
    let etag = format!("\"{}\"", file.sha256);
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
    let content = file.open().await?;
    let mut builder = HttpResponse::Ok();
    common(&mut builder);
    builder
        .insert_header((header::CONTENT_TYPE, file.content_type.clone()))
        .insert_header((
            header::CONTENT_DISPOSITION,
            disposition_header(disposition(&file.content_type), &file.file_name),
        ))
        .no_chunking(content.size);
    Ok(builder.streaming(content.body))
}

/// Looks a stored file up by its name as the caller, and streams it.
async fn serve_found<'a, Fut>(
    state: &'a AppState,
    caller: &'a Caller,
    req: &HttpRequest,
    name: &'a str,
    lookup: impl FnOnce(&'a AttachmentService, &'a Actor, &'a str) -> Fut,
) -> Result<HttpResponse, ApiError>
where
    Fut: Future<Output = concierge_domain::Result<StoredFile>>,
{
    let file = lookup(&state.services.attachments, &caller.0, name).await?;
    serve(req, file).await
}

#[utoipa::path(
    tag = "messages",
    operation_id = "message_file",
    summary = "A message's file (readers of the ticket)",
    params(("filename" = String, Path, description = "The stored file name.")),
    responses(
        (status = 200, body = Vec<u8>, content_type = "application/octet-stream", description = "The file, with its stored content type"),
        GuardedItem, Invalid
    ),
)]
#[get("/uploads/messages/{filename}")]
async fn message_file(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    filename: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    serve_found(
        &state,
        &caller,
        &req,
        &filename,
        AttachmentService::message_file,
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
        GuardedItem, Invalid
    ),
)]
#[get("/uploads/avatars/{filename}")]
async fn avatar_file(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    filename: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    serve_found(
        &state,
        &caller,
        &req,
        &filename,
        AttachmentService::avatar_file,
    )
    .await
}

/// `POST /users/me/avatar`: one raster image (JPEG, PNG, GIF, WebP) for the calling staff user.
pub async fn set_avatar(
    state: &AppState,
    caller: &Caller,
    req: &HttpRequest,
    payload: actix_web::dev::Payload,
) -> Result<HttpResponse, ApiError> {
    let form = unread_form(req, payload);
    let avatar = with_files(state, caller, form, |service, actor, files| async move {
        service.set_avatar(&actor, files).await
    })
    .await?;
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
