//! `AttachmentService`: permission before any byte is stored, limits, compensation when a
//! write fails, and removal of bytes after a delete.

use super::*;
use crate::attachment::{
    Avatar, ByteStream, FileError, FileLimits, FileStream, IncomingFile, NewAttachment, Refusal,
};
use crate::message::{NewMessage, PostMessage, Posted};
use crate::ports::{MockAvatarRepository, MockBlobStore};
use crate::services::{AttachmentService, TicketService};
use bytes::Bytes;
use futures_util::{FutureExt, StreamExt};
use std::sync::Mutex;
use TicketStatus::*;

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

fn input(ticket: i64) -> PostMessage {
    PostMessage {
        ticket_id: TicketId(ticket),
        content: "see the file".to_string(),
        reply_to_id: None,
        client_message_id: None,
    }
}

/// A body like a real one: polling it after its end panics (as `unfold` streams do).
fn body(chunks: Vec<&'static [u8]>) -> ByteStream {
    futures_util::stream::unfold(chunks.into_iter(), |mut rest| async move {
        let chunk = rest.next()?;
        Some((Ok(Bytes::from_static(chunk)), rest))
    })
    .boxed()
}

fn incoming(name: &str, chunks: Vec<&'static [u8]>) -> IncomingFile {
    IncomingFile {
        file_name: name.to_string(),
        body: body(chunks),
    }
}

fn files(list: Vec<IncomingFile>) -> FileStream {
    futures_util::stream::iter(list.into_iter().map(Ok)).boxed()
}

fn one_png() -> FileStream {
    files(vec![incoming("a.png", vec![PNG])])
}

/// Reads a stream the way a store would; the test streams are always ready.
fn drain(body: ByteStream) -> std::io::Result<Vec<u8>> {
    let items = body
        .collect::<Vec<_>>()
        .now_or_never()
        .expect("a ready stream");
    let mut all = Vec::new();
    for item in items {
        all.extend_from_slice(&item?);
    }
    Ok(all)
}

/// A blob store that never stores anything (any call fails the test).
fn no_blobs() -> MockBlobStore {
    let mut blobs = MockBlobStore::new();
    blobs.expect_put().never();
    blobs.expect_delete().never();
    blobs
}

/// A blob store that keeps what it is given (refusing a stream that fails, as the port says)
/// and records every key it deletes.
type Kept = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

struct Recorder {
    stored: Kept,
    deleted: Arc<Mutex<Vec<String>>>,
}

fn recording_blobs() -> (MockBlobStore, Recorder) {
    let stored: Kept = Arc::new(Mutex::new(Vec::new()));
    let deleted = Arc::new(Mutex::new(Vec::new()));
    let mut blobs = MockBlobStore::new();
    let kept = stored.clone();
    blobs.expect_put().returning(move |spec, body| {
        let bytes = drain(body).map_err(DomainError::storage)?;
        let mut kept = kept.lock().unwrap();
        let key = format!("key{}.{}", kept.len(), spec.extension);
        kept.push((key.clone(), bytes));
        Ok(key)
    });
    let gone = deleted.clone();
    blobs.expect_delete().returning(move |key| {
        gone.lock().unwrap().push(key);
        Ok(())
    });
    (blobs, Recorder { stored, deleted })
}

impl Recorder {
    fn stored_keys(&self) -> Vec<String> {
        self.stored
            .lock()
            .unwrap()
            .iter()
            .map(|(k, _)| k.clone())
            .collect()
    }

    fn deleted(&self) -> Vec<String> {
        self.deleted.lock().unwrap().clone()
    }
}

fn service(
    tickets: MockTicketRepository,
    messages: MockMessageRepository,
    avatars: MockAvatarRepository,
    blobs: MockBlobStore,
) -> AttachmentService {
    AttachmentService::new(&Ports {
        tickets: Arc::new(tickets),
        messages: Arc::new(messages),
        avatars: Arc::new(avatars),
        blobs: Arc::new(blobs),
        ..mock_ports()
    })
}

/// The service over donor A's ticket 1 (in progress), with no avatars.
fn on_donor_ticket(messages: MockMessageRepository, blobs: MockBlobStore) -> AttachmentService {
    service(
        tickets_holding(vec![donor_ticket(1, DONOR_A, InProgress)]),
        messages,
        MockAvatarRepository::new(),
        blobs,
    )
}

/// The conversations of donor A's ticket 1 (in progress) on these messages and blobs.
fn conversations_on(messages: MockMessageRepository, blobs: MockBlobStore) -> ConversationService {
    ConversationService::new(&Ports {
        tickets: Arc::new(tickets_holding(vec![donor_ticket(1, DONOR_A, InProgress)])),
        messages: Arc::new(messages),
        blobs: Arc::new(blobs),
        ..mock_ports()
    })
}

fn posted_with(m: NewMessage, files: Vec<NewAttachment>) -> Result<Posted> {
    let mut message = message(100, m.ticket_id.0, m.sender, m.message_type);
    message.attachments = files
        .into_iter()
        .enumerate()
        .map(|(i, f)| crate::attachment::Attachment {
            id: i as i64 + 1,
            message_id: MessageId(100),
            file_name: f.file_name,
            content_type: f.content_type,
            size: f.size,
            sha256: f.sha256,
            storage_key: f.storage_key,
            created_at: now(),
        })
        .collect();
    Ok(Posted::Created(message))
}

// ---- permission first --------------------------------------------------------------------

#[tokio::test]
async fn a_donor_of_another_ticket_stores_no_byte() {
    let mut messages = MockMessageRepository::new();
    no_message_writes(&mut messages);
    messages.expect_post_with_files().never();
    let service = on_donor_ticket(messages, no_blobs());

    // The donor of ticket 2 names ticket 1; the donor of ticket 1 with another donor id too.
    for actor in [donor(DONOR_B, 2), donor(DONOR_B, 1)] {
        let result = service.post(&actor, input(1), one_png()).await;
        assert!(
            matches!(result, Err(FileError::Domain(DomainError::NotFound(_)))),
            "{result:?}"
        );
    }
}

#[tokio::test]
async fn a_closed_ticket_or_the_system_stores_no_byte() {
    let mut messages = MockMessageRepository::new();
    no_message_writes(&mut messages);
    let service = service(
        tickets_holding(vec![donor_ticket(1, DONOR_A, Closed)]),
        messages,
        MockAvatarRepository::new(),
        no_blobs(),
    );

    let closed = service.post(&donor(DONOR_A, 1), input(1), one_png()).await;
    assert!(
        matches!(closed, Err(FileError::Domain(DomainError::Transition(_)))),
        "{closed:?}"
    );
    let system = service.post(&Actor::System, input(1), one_png()).await;
    assert!(
        matches!(system, Err(FileError::Domain(DomainError::Forbidden(_)))),
        "{system:?}"
    );
}

#[tokio::test]
async fn adding_files_to_another_senders_message_stores_no_byte() {
    let mut messages = messages_holding(vec![message(
        5,
        1,
        Sender::Staff(OTHER_AGENT_ID),
        MessageType::Chat,
    )]);
    messages.expect_add_files().never();
    let service = on_donor_ticket(messages, no_blobs());

    let result = service
        .add_files(&agent(), MessageId(5), None, one_png())
        .await;
    assert!(
        matches!(result, Err(FileError::Domain(DomainError::Forbidden(_)))),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_donor_has_no_avatar_and_stores_no_byte() {
    let mut avatars = MockAvatarRepository::new();
    avatars.expect_set_avatar().never();
    let service = service(
        MockTicketRepository::new(),
        MockMessageRepository::new(),
        avatars,
        no_blobs(),
    );

    let result = service.set_avatar(&donor(DONOR_A, 1), one_png()).await;
    assert!(
        matches!(result, Err(FileError::Domain(DomainError::Forbidden(_)))),
        "{result:?}"
    );
}

// ---- limits ------------------------------------------------------------------------------

#[tokio::test]
async fn a_refused_type_is_never_put() {
    let service = on_donor_ticket(MockMessageRepository::new(), no_blobs());

    let exe = files(vec![incoming("cat.jpg", vec![b"MZ\x90\0\x03"])]);
    let result = service.post(&donor(DONOR_A, 1), input(1), exe).await;
    assert!(
        matches!(result, Err(FileError::Refused(Refusal::Executable))),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_file_over_the_limit_ends_its_stream_and_what_came_before_is_removed() {
    let (blobs, recorder) = recording_blobs();
    let mut messages = MockMessageRepository::new();
    messages.expect_post_with_files().never();
    let service = on_donor_ticket(messages, blobs).with_limits(FileLimits {
        max_files: 5,
        max_bytes: 10_000,
    });

    // The second file's head passes; its tail breaks the limit while it streams.
    static BIG: [u8; 9_000] = [b'a'; 9_000];
    let list = files(vec![
        incoming("a.png", vec![PNG]),
        incoming("b.txt", vec![&BIG[..], &BIG[..]]),
    ]);
    let result = service.post(&donor(DONOR_A, 1), input(1), list).await;

    assert!(
        matches!(result, Err(FileError::TooLarge(10_000))),
        "{result:?}"
    );
    assert_eq!(recorder.stored_keys(), vec!["key0.png".to_string()]);
    assert_eq!(recorder.deleted(), vec!["key0.png".to_string()]);
}

#[tokio::test]
async fn a_file_past_the_count_is_refused_and_the_others_removed() {
    let (blobs, recorder) = recording_blobs();
    let service = on_donor_ticket(MockMessageRepository::new(), blobs).with_limits(FileLimits {
        max_files: 2,
        max_bytes: 1000,
    });

    let list = files((0..3).map(|_| incoming("a.png", vec![PNG])).collect());
    let result = service.post(&donor(DONOR_A, 1), input(1), list).await;

    assert!(matches!(result, Err(FileError::TooMany(2))), "{result:?}");
    assert_eq!(recorder.stored_keys().len(), 2);
    assert_eq!(recorder.deleted(), recorder.stored_keys());
}

#[tokio::test]
async fn text_that_turns_binary_after_its_head_is_refused_and_not_kept() {
    let (blobs, recorder) = recording_blobs();
    let service = on_donor_ticket(MockMessageRepository::new(), blobs);

    static HEAD: [u8; 8192] = [b'a'; 8192];
    let list = files(vec![incoming("a.txt", vec![&HEAD[..], b"\0\x01\x02"])]);
    let result = service.post(&donor(DONOR_A, 1), input(1), list).await;

    assert!(
        matches!(result, Err(FileError::Refused(Refusal::Unknown))),
        "{result:?}"
    );
    assert!(recorder.stored_keys().is_empty());
}

// ---- commit and compensation ---------------------------------------------------------------

#[tokio::test]
async fn a_post_stores_the_bytes_then_the_rows_with_type_size_and_hash() {
    let (blobs, recorder) = recording_blobs();
    let mut messages = MockMessageRepository::new();
    messages
        .expect_post_with_files()
        .withf(|_, _, files| {
            files.len() == 1
                && files[0].content_type == "image/png"
                && files[0].file_name == "receipt.pdf"
                && files[0].size == PNG.len() as i64
                && files[0].sha256.len() == 64
                && files[0].storage_key == "key0.png"
        })
        .times(1)
        .returning(|m, _, files| posted_with(m, files));
    let service = on_donor_ticket(messages, blobs);

    let list = files(vec![incoming("../receipt.pdf", vec![&PNG[..4], &PNG[4..]])]);
    let posted = service
        .post(&donor(DONOR_A, 1), input(1), list)
        .await
        .unwrap();

    assert!(matches!(posted, Posted::Created(_)));
    assert_eq!(recorder.stored.lock().unwrap()[0].1, PNG);
    assert!(recorder.deleted().is_empty());
}

#[tokio::test]
async fn a_failed_write_removes_the_stored_bytes() {
    let (blobs, recorder) = recording_blobs();
    let mut messages = MockMessageRepository::new();
    messages
        .expect_post_with_files()
        .times(1)
        .returning(|_, _, _| Err(DomainError::Unavailable("database down".into())));
    let service = on_donor_ticket(messages, blobs);

    let list = files(vec![
        incoming("a.png", vec![PNG]),
        incoming("b.txt", vec![b"hello"]),
    ]);
    let result = service.post(&donor(DONOR_A, 1), input(1), list).await;

    assert!(
        matches!(result, Err(FileError::Domain(DomainError::Unavailable(_)))),
        "{result:?}"
    );
    assert_eq!(recorder.stored_keys(), vec!["key0.png", "key1.txt"]);
    assert_eq!(recorder.deleted(), recorder.stored_keys());
}

#[tokio::test]
async fn a_failed_file_addition_removes_the_stored_bytes() {
    let (blobs, recorder) = recording_blobs();
    let mut messages = messages_holding(vec![message(5, 1, Sender::Donor, MessageType::Chat)]);
    messages
        .expect_add_files()
        .times(1)
        .returning(|_, _, _, _, _| Err(DomainError::Conflict("full".into())));
    let service = on_donor_ticket(messages, blobs);

    let result = service
        .add_files(&donor(DONOR_A, 1), MessageId(5), None, one_png())
        .await;

    assert!(
        matches!(result, Err(FileError::Domain(DomainError::Conflict(_)))),
        "{result:?}"
    );
    assert_eq!(recorder.deleted(), vec!["key0.png"]);
}

#[tokio::test]
async fn a_repeated_send_answers_the_first_message_and_reads_no_file() {
    let mut messages = MockMessageRepository::new();
    messages
        .expect_find_by_client_id()
        .returning(|_, _| Ok(Some(message(7, 1, Sender::Donor, MessageType::Chat))));
    messages.expect_post_with_files().never();
    let service = on_donor_ticket(messages, no_blobs());

    let mut again = input(1);
    again.client_message_id = Some("k-1".into());
    let posted = service
        .post(&donor(DONOR_A, 1), again, one_png())
        .await
        .unwrap();
    assert!(matches!(posted, Posted::Existing(m) if m.id == MessageId(7)));
}

#[tokio::test]
async fn an_avatar_is_set_at_the_clocks_time_and_the_replaced_bytes_go() {
    let (blobs, recorder) = recording_blobs();
    let mut avatars = MockAvatarRepository::new();
    avatars
        .expect_set_avatar()
        .withf(|user, avatar: &Avatar, at| {
            *user == AGENT_ID && avatar.content_type == "image/png" && *at == now()
        })
        .times(1)
        .returning(|_, _, _| Ok(Some("old.png".into())));
    let service = service(
        MockTicketRepository::new(),
        MockMessageRepository::new(),
        avatars,
        blobs,
    );

    let avatar = service.set_avatar(&agent(), one_png()).await.unwrap();
    assert_eq!(avatar.storage_key, "key0.png");
    assert_eq!(recorder.deleted(), vec!["old.png"]);

    // Not an image: nothing is put.
    let pdf = files(vec![incoming("me.png", vec![b"%PDF-1.4\n"])]);
    let result = service.set_avatar(&agent(), pdf).await;
    assert!(
        matches!(result, Err(FileError::Unsupported(_))),
        "{result:?}"
    );
    assert_eq!(recorder.stored_keys().len(), 1);
}

// ---- removal after a delete ---------------------------------------------------------------

#[tokio::test]
async fn deleting_a_message_removes_its_files_bytes_after_the_commit() {
    let (blobs, recorder) = recording_blobs();
    let mut messages = messages_holding(vec![message(5, 1, Sender::Donor, MessageType::Chat)]);
    messages
        .expect_delete()
        .withf(|id| *id == MessageId(5))
        .times(1)
        .returning(|_| Ok(vec!["a.png".into(), "b.pdf".into()]));
    let conversations = conversations_on(messages, blobs);

    conversations
        .delete(&donor(DONOR_A, 1), MessageId(5))
        .await
        .unwrap();
    assert_eq!(recorder.deleted(), vec!["a.png", "b.pdf"]);
}

#[tokio::test]
async fn a_refused_delete_removes_no_bytes() {
    let mut messages = messages_holding(vec![message(5, 1, Sender::Donor, MessageType::Chat)]);
    messages.expect_delete().never();
    let conversations = conversations_on(messages, no_blobs());

    let result = conversations.delete(&agent(), MessageId(5)).await;
    assert_err!(result, DomainError::Forbidden(_));
}

#[tokio::test]
async fn removing_one_file_removes_its_bytes() {
    let (blobs, recorder) = recording_blobs();
    let mut held = message(5, 1, Sender::Donor, MessageType::Chat);
    held.attachments.push(crate::attachment::Attachment {
        id: 3,
        message_id: MessageId(5),
        file_name: "a.png".into(),
        content_type: "image/png".into(),
        size: 1,
        sha256: "00".into(),
        storage_key: "a.png".into(),
        created_at: now(),
    });
    let mut messages = messages_holding(vec![held.clone()]);
    messages
        .expect_remove_file()
        .times(1)
        .returning(move |_, _, _| Ok((held.clone(), "a.png".into())));
    let conversations = conversations_on(messages, blobs);

    conversations
        .remove_file(&donor(DONOR_A, 1), MessageId(5), 3)
        .await
        .unwrap();
    assert_eq!(recorder.deleted(), vec!["a.png"]);
}

#[tokio::test]
async fn deleting_a_ticket_removes_its_files_bytes_after_the_commit() {
    let (blobs, recorder) = recording_blobs();
    let mut tickets = tickets_holding(vec![donor_ticket(1, DONOR_A, Closed)]);
    tickets
        .expect_delete()
        .times(1)
        .returning(|_| Ok(vec!["x.png".into()]));
    let service = TicketService::new(&Ports {
        tickets: Arc::new(tickets),
        blobs: Arc::new(blobs),
        ..mock_ports()
    });

    service.delete(&admin(), TicketId(1)).await.unwrap();
    assert_eq!(recorder.deleted(), vec!["x.png"]);
}
