//! `ConversationService`: posting (with its status changes), reading, editing and deleting.

use super::*;
use crate::message::{MessageFilter, NewMessage, PostMessage, Posted, MAX_CONTENT};
use crate::services::WRITE_ATTEMPTS;
use TicketStatus::*;

fn post_input(ticket: i64, content: &str) -> PostMessage {
    PostMessage {
        ticket_id: TicketId(ticket),
        content: content.to_string(),
        reply_to_id: None,
        client_message_id: None,
    }
}

/// A ticket repository holding `tickets`; the conversation service never writes tickets
/// itself (status changes travel with `MessageRepository::post`).
fn read_only(tickets: Vec<Ticket>) -> MockTicketRepository {
    let mut repo = tickets_holding(tickets);
    no_ticket_writes(&mut repo);
    repo
}

/// The service over one ticket and one message of it, refusing every write of either.
fn untouchable(ticket: Ticket, held: Message) -> ConversationService {
    let mut messages = messages_holding(vec![held]);
    no_message_writes(&mut messages);
    conversation_service(read_only(vec![ticket]), messages)
}

/// A message repository that refuses every write.
fn no_writes() -> MockMessageRepository {
    let mut repo = MockMessageRepository::new();
    no_message_writes(&mut repo);
    repo
}

/// Stores a posted message as message 100.
fn stored(m: NewMessage, _ticket: Option<Ticket>) -> Result<Posted> {
    Ok(Posted::Created(Message {
        id: MessageId(100),
        ticket_id: m.ticket_id,
        sender: m.sender,
        sender_profile: None,
        message_type: m.message_type,
        content: m.content,
        reply_to_id: m.reply_to_id,
        attachments: Vec::new(),
        client_message_id: m.client_message_id,
        edited_at: None,
        created_at: m.created_at,
        updated_at: m.created_at,
    }))
}

/// Posts `input` as `actor` on `ticket`; the one write must pass `check` (the message, and
/// the ticket when its status moves).
async fn posts_once(
    ticket: Ticket,
    actor: &Actor,
    input: PostMessage,
    check: impl Fn(&NewMessage, &Option<Ticket>) -> bool + Send + 'static,
) -> Posted {
    let mut messages = MockMessageRepository::new();
    messages
        .expect_post()
        .withf(check)
        .times(1)
        .returning(stored);
    conversation_service(read_only(vec![ticket]), messages)
        .post(actor, input)
        .await
        .unwrap()
}

// ---- posting: status changes ---------------------------------------------------------------

#[tokio::test]
async fn staff_message_on_an_in_progress_ticket_moves_it_to_pending_reply() {
    let posted = posts_once(
        donor_ticket(1, DONOR_A, InProgress),
        &agent(),
        post_input(1, "  How can I help? "),
        |m, ticket| {
            m.ticket_id == TicketId(1)
                && m.sender == Sender::Staff(AGENT_ID)
                && m.message_type == MessageType::Chat
                && m.content == "How can I help?"
                && m.created_at == now()
                && ticket
                    .as_ref()
                    .is_some_and(|t| t.status() == PendingReply && t.version() == 1)
        },
    )
    .await;

    assert!(matches!(posted, Posted::Created(_)));
}

#[tokio::test]
async fn donor_message_on_a_resolved_ticket_reopens_it() {
    posts_once(
        with(donor_ticket(1, DONOR_A, Resolved), |t| {
            t.resolved_by_id = Some(ADMIN_ID);
            t.resolved_at = Some(earlier());
        }),
        &donor(DONOR_A, 1),
        post_input(1, "It broke again"),
        |m, ticket| {
            m.sender == Sender::Donor
                && m.message_type == MessageType::Chat
                && ticket.as_ref().is_some_and(|t| {
                    t.status() == InProgress
                        && t.resolved_by_id.is_none()
                        && t.resolved_at.is_none()
                })
        },
    )
    .await;
}

#[tokio::test]
async fn donor_message_on_a_pending_reply_ticket_moves_it_back_to_in_progress() {
    posts_once(
        donor_ticket(1, DONOR_A, PendingReply),
        &donor(DONOR_A, 1),
        post_input(1, "Thanks, one more thing"),
        |_, ticket| ticket.as_ref().is_some_and(|t| t.status() == InProgress),
    )
    .await;
}

#[tokio::test]
async fn staff_message_on_an_open_ticket_changes_no_status() {
    posts_once(
        task(5, Open),
        &agent(),
        post_input(5, "On it"),
        |m, ticket| m.ticket_id == TicketId(5) && ticket.is_none(),
    )
    .await;
}

#[tokio::test]
async fn donor_message_on_an_in_progress_ticket_changes_no_status() {
    posts_once(
        donor_ticket(1, DONOR_A, InProgress),
        &donor(DONOR_A, 1),
        post_input(1, "Hello?"),
        |_, ticket| ticket.is_none(),
    )
    .await;
}

#[tokio::test]
async fn messages_on_a_closed_ticket_are_transition_errors_and_store_nothing() {
    for actor in [agent(), admin(), donor(DONOR_A, 1)] {
        let tickets = read_only(vec![donor_ticket(1, DONOR_A, Closed)]);

        let result = conversation_service(tickets, no_writes())
            .post(&actor, post_input(1, "Anyone there?"))
            .await;

        assert_eq!(transition_from(result), Closed, "{actor:?}");
    }
}

// ---- posting: idempotency and replies ------------------------------------------------------

#[tokio::test]
async fn a_repeated_client_message_id_goes_to_the_store_which_returns_the_first_message() {
    let tickets = read_only(vec![donor_ticket(1, DONOR_A, InProgress)]);
    let first = Message {
        client_message_id: Some("k-1".into()),
        ..message(40, 1, Sender::Donor, MessageType::Chat)
    };
    let mut messages = MockMessageRepository::new();
    // The store checks the key inside the write (the port's contract); no read before it.
    messages.expect_find_by_client_id().never();
    let found = first.clone();
    messages
        .expect_post()
        .withf(|m, _| m.client_message_id.as_deref() == Some("k-1"))
        .times(1)
        .returning(move |_, _| Ok(Posted::Existing(found.clone())));
    let input = PostMessage {
        client_message_id: Some(" k-1 ".into()),
        ..post_input(1, "Hello again")
    };

    let posted = conversation_service(tickets, messages)
        .post(&donor(DONOR_A, 1), input)
        .await
        .unwrap();

    assert_eq!(posted, Posted::Existing(first));
}

#[tokio::test]
async fn a_retry_after_the_ticket_closed_returns_the_stored_message_and_posts_nothing() {
    let tickets = read_only(vec![donor_ticket(1, DONOR_A, Closed)]);
    let first = Message {
        client_message_id: Some("k-1".into()),
        ..message(40, 1, Sender::Donor, MessageType::Chat)
    };
    let mut messages = no_writes();
    let found = first.clone();
    messages
        .expect_find_by_client_id()
        .withf(|ticket, key| *ticket == TicketId(1) && key == "k-1")
        .times(1)
        .returning(move |_, _| Ok(Some(found.clone())));
    let input = PostMessage {
        client_message_id: Some("k-1".into()),
        ..post_input(1, "Hello again")
    };

    let posted = conversation_service(tickets, messages)
        .post(&donor(DONOR_A, 1), input)
        .await
        .unwrap();

    assert_eq!(posted, Posted::Existing(first));
}

#[tokio::test]
async fn a_new_message_with_a_key_on_a_closed_ticket_is_refused() {
    let tickets = read_only(vec![donor_ticket(1, DONOR_A, Closed)]);
    let mut messages = no_writes();
    messages
        .expect_find_by_client_id()
        .times(1)
        .returning(|_, _| Ok(None));
    let input = PostMessage {
        client_message_id: Some("k-9".into()),
        ..post_input(1, "Hello")
    };

    let result = conversation_service(tickets, messages)
        .post(&donor(DONOR_A, 1), input)
        .await;

    assert_err!(result, DomainError::Transition(_));
}

#[tokio::test]
async fn a_new_client_message_id_is_stored_with_the_message() {
    let tickets = read_only(vec![donor_ticket(1, DONOR_A, InProgress)]);
    let mut messages = MockMessageRepository::new();
    messages.expect_find_by_client_id().never();
    messages
        .expect_post()
        .withf(|m, _| m.client_message_id.as_deref() == Some("k-2"))
        .times(1)
        .returning(stored);
    let input = PostMessage {
        client_message_id: Some("k-2".into()),
        ..post_input(1, "Hello")
    };

    conversation_service(tickets, messages)
        .post(&donor(DONOR_A, 1), input)
        .await
        .unwrap();
}

#[tokio::test]
async fn reply_to_a_message_of_another_ticket_is_invalid_and_posts_nothing() {
    let tickets = read_only(vec![
        donor_ticket(1, DONOR_A, InProgress),
        donor_ticket(2, DONOR_B, InProgress),
    ]);
    let mut messages = messages_holding(vec![message(50, 2, Sender::Donor, MessageType::Chat)]);
    no_message_writes(&mut messages);
    let input = PostMessage {
        reply_to_id: Some(MessageId(50)),
        ..post_input(1, "Re: that")
    };

    let result = conversation_service(tickets, messages)
        .post(&agent(), input)
        .await;

    assert_eq!(invalid_fields(result), ["replyToId"]);
}

#[tokio::test]
async fn reply_to_an_unknown_message_is_invalid_and_posts_nothing() {
    let tickets = read_only(vec![donor_ticket(1, DONOR_A, InProgress)]);
    let mut messages = messages_holding(vec![]);
    no_message_writes(&mut messages);
    let input = PostMessage {
        reply_to_id: Some(MessageId(404)),
        ..post_input(1, "Re: that")
    };

    let result = conversation_service(tickets, messages)
        .post(&donor(DONOR_A, 1), input)
        .await;

    assert_eq!(invalid_fields(result), ["replyToId"]);
}

#[tokio::test]
async fn reply_to_a_message_of_the_same_ticket_keeps_the_link() {
    let tickets = read_only(vec![donor_ticket(1, DONOR_A, InProgress)]);
    let mut messages = messages_holding(vec![message(50, 1, Sender::Donor, MessageType::Query)]);
    messages
        .expect_post()
        .withf(|m, _| m.reply_to_id == Some(MessageId(50)))
        .times(1)
        .returning(stored);
    let input = PostMessage {
        reply_to_id: Some(MessageId(50)),
        ..post_input(1, "About your receipt")
    };

    let posted = conversation_service(tickets, messages)
        .post(&agent(), input)
        .await
        .unwrap();

    assert_eq!(posted.message().reply_to_id, Some(MessageId(50)));
}

// ---- posting: content --------------------------------------------------------------------

#[tokio::test]
async fn whitespace_only_content_is_invalid_and_nothing_is_stored() {
    let mut tickets = MockTicketRepository::new();
    no_ticket_writes(&mut tickets);

    let result = conversation_service(tickets, no_writes())
        .post(&agent(), post_input(1, " \n\t "))
        .await;

    assert_eq!(invalid_fields(result), ["content"]);
}

#[tokio::test]
async fn content_over_10000_characters_is_invalid_and_nothing_is_stored() {
    let mut tickets = MockTicketRepository::new();
    no_ticket_writes(&mut tickets);

    let result = conversation_service(tickets, no_writes())
        .post(&agent(), post_input(1, &"x".repeat(MAX_CONTENT + 1)))
        .await;

    assert_eq!(invalid_fields(result), ["content"]);
}

#[tokio::test]
async fn content_of_exactly_10000_characters_is_stored() {
    // Counted in characters, not bytes: each 'é' is two bytes.
    let content = "é".repeat(MAX_CONTENT);
    let tickets = read_only(vec![donor_ticket(1, DONOR_A, InProgress)]);
    let mut messages = MockMessageRepository::new();
    let expected = content.clone();
    messages
        .expect_post()
        .withf(move |m, _| m.content == expected)
        .times(1)
        .returning(stored);

    conversation_service(tickets, messages)
        .post(&agent(), post_input(1, &content))
        .await
        .unwrap();
}

// ---- posting: who may ----------------------------------------------------------------------

#[tokio::test]
async fn donor_cannot_post_to_another_donors_ticket() {
    let tickets = read_only(vec![
        donor_ticket(1, DONOR_A, InProgress),
        donor_ticket(2, DONOR_B, InProgress),
    ]);

    let result = conversation_service(tickets, no_writes())
        .post(&donor(DONOR_A, 1), post_input(2, "Hi"))
        .await;

    assert_err!(result, DomainError::NotFound(_));
}

#[tokio::test]
async fn donor_token_for_one_ticket_cannot_post_to_another_ticket_of_the_same_donor() {
    let tickets = read_only(vec![
        donor_ticket(1, DONOR_A, InProgress),
        donor_ticket(2, DONOR_A, InProgress),
    ]);

    let result = conversation_service(tickets, no_writes())
        .post(&donor(DONOR_A, 1), post_input(2, "Hi"))
        .await;

    assert_err!(result, DomainError::NotFound(_));
}

#[tokio::test]
async fn donor_cannot_post_to_a_staff_task() {
    let tickets = read_only(vec![task(1, InProgress)]);

    let result = conversation_service(tickets, no_writes())
        .post(&donor(DONOR_A, 1), post_input(1, "Hi"))
        .await;

    assert_err!(result, DomainError::NotFound(_));
}

#[tokio::test]
async fn system_actor_cannot_post() {
    let mut tickets = MockTicketRepository::new();
    tickets.expect_get().never();
    no_ticket_writes(&mut tickets);

    let result = conversation_service(tickets, no_writes())
        .post(&Actor::System, post_input(1, "beep"))
        .await;

    assert_err!(result, DomainError::Forbidden(_));
}

#[tokio::test]
async fn agent_cannot_post_as_admin() {
    let tickets = read_only(vec![donor_ticket(1, DONOR_A, InProgress)]);

    let result = conversation_service(tickets, no_writes())
        .post_as_admin(&agent(), post_input(1, "Hello"))
        .await;

    assert_err!(result, DomainError::Forbidden(_));
}

#[tokio::test]
async fn admin_posts_as_admin_as_staff() {
    let tickets = read_only(vec![donor_ticket(1, DONOR_A, InProgress)]);
    let mut messages = MockMessageRepository::new();
    messages
        .expect_post()
        .withf(|m, _| m.sender == Sender::Staff(ADMIN_ID))
        .times(1)
        .returning(stored);

    conversation_service(tickets, messages)
        .post_as_admin(&admin(), post_input(1, "Hello"))
        .await
        .unwrap();
}

// ---- posting: concurrent updates ------------------------------------------------------------

#[tokio::test]
async fn post_retries_a_concurrent_ticket_update_on_a_fresh_read() {
    let mut tickets = MockTicketRepository::new();
    let mut reads = mockall::Sequence::new();
    tickets
        .expect_get()
        .times(1)
        .in_sequence(&mut reads)
        .returning(|_| Ok(Some(donor_ticket(1, DONOR_A, InProgress))));
    tickets
        .expect_get()
        .times(1)
        .in_sequence(&mut reads)
        .returning(|_| Ok(Some(donor_ticket(1, DONOR_A, InProgress).with_version(2))));
    no_ticket_writes(&mut tickets);
    let mut messages = MockMessageRepository::new();
    let mut posts = mockall::Sequence::new();
    messages
        .expect_post()
        .times(1)
        .in_sequence(&mut posts)
        .returning(|_, _| Err(DomainError::ConcurrentUpdate));
    messages
        .expect_post()
        .withf(|_, ticket| ticket.as_ref().is_some_and(|t| t.version() == 2))
        .times(1)
        .in_sequence(&mut posts)
        .returning(stored);

    conversation_service(tickets, messages)
        .post(&agent(), post_input(1, "Hello"))
        .await
        .unwrap();
}

#[tokio::test]
async fn post_gives_up_after_the_retry_limit() {
    let tickets = read_every_attempt();
    let mut messages = MockMessageRepository::new();
    messages
        .expect_post()
        .times(WRITE_ATTEMPTS)
        .returning(|_, _| Err(DomainError::ConcurrentUpdate));

    let result = conversation_service(tickets, messages)
        .post(&agent(), post_input(1, "Hello"))
        .await;

    assert_err!(result, DomainError::ConcurrentUpdate);
}

// ---- reading -----------------------------------------------------------------------------

fn of_ticket(ticket: i64) -> MessageFilter {
    MessageFilter {
        ticket_id: Some(TicketId(ticket)),
        ..Default::default()
    }
}

#[tokio::test]
async fn donor_cannot_list_messages_without_naming_its_ticket() {
    let mut messages = MockMessageRepository::new();
    messages.expect_list().never();

    let result = conversation_service(MockTicketRepository::new(), messages)
        .list(
            &donor(DONOR_A, 1),
            MessageFilter::default(),
            Default::default(),
        )
        .await;

    assert_eq!(invalid_fields(result), ["queryId"]);
}

/// A message repository whose `list_in_ticket` finds these tickets, each with one message.
fn listing(tickets: Vec<Ticket>) -> MockMessageRepository {
    let mut messages = MockMessageRepository::new();
    messages.expect_list().never();
    messages
        .expect_list_in_ticket()
        .times(1)
        .returning(move |id, filter, _| {
            assert_eq!(filter.ticket_id, Some(id), "the filter names the ticket");
            Ok(tickets.iter().find(|t| t.id == id).map(|t| {
                let page = Page {
                    items: vec![message(50, t.id.0, Sender::Donor, MessageType::Chat)],
                    next_cursor: None,
                };
                (t.clone(), page)
            }))
        });
    messages
}

#[tokio::test]
async fn donor_cannot_list_messages_of_another_donors_ticket() {
    let messages = listing(vec![donor_ticket(2, DONOR_B, InProgress)]);

    let result = conversation_service(MockTicketRepository::new(), messages)
        .list(&donor(DONOR_A, 1), of_ticket(2), Default::default())
        .await;

    assert_err!(result, DomainError::NotFound(_));
}

#[tokio::test]
async fn listing_the_messages_of_a_missing_ticket_is_not_found() {
    let messages = listing(vec![]);

    let result = conversation_service(MockTicketRepository::new(), messages)
        .list(&agent(), of_ticket(7), Default::default())
        .await;

    assert_err!(result, DomainError::NotFound("ticket"));
}

#[tokio::test]
async fn donor_lists_the_messages_of_its_ticket() {
    let messages = listing(vec![donor_ticket(1, DONOR_A, InProgress)]);

    let page = conversation_service(MockTicketRepository::new(), messages)
        .list(&donor(DONOR_A, 1), of_ticket(1), Default::default())
        .await
        .unwrap();

    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].ticket_id, TicketId(1));
}

#[tokio::test]
async fn staff_lists_messages_across_tickets() {
    let mut messages = MockMessageRepository::new();
    messages
        .expect_list()
        .withf(|f, _| f.ticket_id.is_none())
        .times(1)
        .returning(|_, _| Ok(empty_page()));

    conversation_service(MockTicketRepository::new(), messages)
        .list(&agent(), MessageFilter::default(), Default::default())
        .await
        .unwrap();
}

#[tokio::test]
async fn agent_cannot_list_as_admin() {
    let mut messages = MockMessageRepository::new();
    messages.expect_list().never();

    let result = conversation_service(MockTicketRepository::new(), messages)
        .list_as_admin(&agent(), TicketId(1), Default::default())
        .await;

    assert_err!(result, DomainError::Forbidden(_));
}

#[tokio::test]
async fn admin_lists_a_tickets_messages_as_admin() {
    let messages = listing(vec![donor_ticket(1, DONOR_A, Closed)]);

    let page = conversation_service(MockTicketRepository::new(), messages)
        .list_as_admin(&admin(), TicketId(1), Default::default())
        .await
        .unwrap();

    assert_eq!(page.items.len(), 1);
}

#[tokio::test]
async fn thread_of_a_message_on_another_donors_ticket_is_not_found() {
    let tickets = read_only(vec![donor_ticket(2, DONOR_B, InProgress)]);
    let mut messages = messages_holding(vec![message(50, 2, Sender::Donor, MessageType::Chat)]);
    messages.expect_replies().never();

    let result = conversation_service(tickets, messages)
        .thread(&donor(DONOR_A, 1), MessageId(50))
        .await;

    assert_err!(result, DomainError::NotFound("message"));
}

#[tokio::test]
async fn between_is_for_its_participants_or_an_admin() {
    let allowed = [
        (agent(), AGENT_ID, OTHER_AGENT_ID),
        (agent(), OTHER_AGENT_ID, AGENT_ID),
        (admin(), AGENT_ID, OTHER_AGENT_ID),
    ];
    for (actor, a, b) in allowed {
        let mut messages = MockMessageRepository::new();
        messages
            .expect_between()
            .withf(move |x, y, _| *x == a && *y == b)
            .times(1)
            .returning(|_, _, _| Ok(empty_page()));

        let result = conversation_service(MockTicketRepository::new(), messages)
            .between(&actor, a, b, Default::default())
            .await;

        assert!(result.is_ok(), "{actor:?} {a} {b}: {result:?}");
    }
}

#[tokio::test]
async fn between_is_forbidden_to_outsiders() {
    for actor in [agent(), donor(DONOR_A, 1), Actor::System] {
        let mut messages = MockMessageRepository::new();
        messages.expect_between().never();

        let result = conversation_service(MockTicketRepository::new(), messages)
            .between(&actor, OTHER_AGENT_ID, ADMIN_ID, Default::default())
            .await;

        assert!(
            matches!(result, Err(DomainError::Forbidden(_))),
            "{actor:?}: {result:?}"
        );
    }
}

// ---- editing -----------------------------------------------------------------------------

#[tokio::test]
async fn sender_edits_its_message_and_the_edit_is_timestamped() {
    let tickets = read_only(vec![donor_ticket(1, DONOR_A, InProgress)]);
    let mut messages = messages_holding(vec![message(
        60,
        1,
        Sender::Staff(AGENT_ID),
        MessageType::Chat,
    )]);
    messages
        .expect_edit()
        .withf(|id, content, at| *id == MessageId(60) && content == "Fixed typo" && *at == now())
        .times(1)
        .returning(|id, content, at| {
            Ok(Message {
                id,
                content,
                edited_at: Some(at),
                ..message(60, 1, Sender::Staff(AGENT_ID), MessageType::Chat)
            })
        });

    let edited = conversation_service(tickets, messages)
        .edit(&agent(), MessageId(60), " Fixed typo ")
        .await
        .unwrap();

    assert_eq!(edited.edited_at, Some(now()));
}

#[tokio::test]
async fn donor_edits_its_first_query_message() {
    let tickets = read_only(vec![donor_ticket(1, DONOR_A, InProgress)]);
    let mut messages = messages_holding(vec![message(61, 1, Sender::Donor, MessageType::Query)]);
    messages
        .expect_edit()
        .times(1)
        .returning(|_, _, _| Ok(message(61, 1, Sender::Donor, MessageType::Query)));

    conversation_service(tickets, messages)
        .edit(&donor(DONOR_A, 1), MessageId(61), "Corrected question")
        .await
        .unwrap();
}

#[tokio::test]
async fn edit_by_a_non_sender_is_forbidden_and_edits_nothing() {
    let cases = [
        (agent(), Sender::Staff(ADMIN_ID)),
        (admin(), Sender::Staff(AGENT_ID)),
        (admin(), Sender::Donor),
        (donor(DONOR_A, 1), Sender::Staff(AGENT_ID)),
    ];
    for (actor, sender) in cases {
        let result = untouchable(
            donor_ticket(1, DONOR_A, InProgress),
            message(60, 1, sender, MessageType::Chat),
        )
        .edit(&actor, MessageId(60), "Mine now")
        .await;

        assert!(
            matches!(result, Err(DomainError::Forbidden(_))),
            "{actor:?}: {result:?}"
        );
    }
}

#[tokio::test]
async fn edit_on_a_closed_ticket_is_a_transition_error() {
    let result = untouchable(
        donor_ticket(1, DONOR_A, Closed),
        message(60, 1, Sender::Donor, MessageType::Chat),
    )
    .edit(&donor(DONOR_A, 1), MessageId(60), "Too late")
    .await;

    assert_eq!(transition_from(result), Closed);
}

#[tokio::test]
async fn editing_a_system_message_is_a_conflict() {
    for actor in [admin(), agent(), donor(DONOR_A, 1)] {
        let result = untouchable(
            donor_ticket(1, DONOR_A, InProgress),
            message(70, 1, Sender::System, MessageType::System),
        )
        .edit(&actor, MessageId(70), "Ticket never resolved")
        .await;

        assert!(
            matches!(result, Err(DomainError::Conflict(_))),
            "{actor:?}: {result:?}"
        );
    }
}

#[tokio::test]
async fn editing_a_reminder_is_a_conflict_even_for_its_sender() {
    let result = untouchable(
        donor_ticket(1, DONOR_A, PendingReply),
        message(71, 1, Sender::Staff(ADMIN_ID), MessageType::Reminder),
    )
    .edit(&admin(), MessageId(71), "Changed")
    .await;

    assert_err!(result, DomainError::Conflict(_));
}

#[tokio::test]
async fn edit_with_blank_or_oversized_content_is_invalid_and_edits_nothing() {
    for content in ["   ".to_string(), "x".repeat(MAX_CONTENT + 1)] {
        let mut messages = MockMessageRepository::new();
        messages.expect_get().never();
        no_message_writes(&mut messages);

        let result = conversation_service(MockTicketRepository::new(), messages)
            .edit(&agent(), MessageId(60), &content)
            .await;

        assert_eq!(invalid_fields(result), ["content"]);
    }
}

#[tokio::test]
async fn editing_an_unknown_message_is_not_found() {
    let mut messages = messages_holding(vec![]);
    no_message_writes(&mut messages);

    let result = conversation_service(MockTicketRepository::new(), messages)
        .edit(&agent(), MessageId(404), "Hello")
        .await;

    assert_err!(result, DomainError::NotFound("message"));
}

// ---- deleting ----------------------------------------------------------------------------

#[tokio::test]
async fn admin_deletes_any_message_even_on_a_closed_ticket() {
    for sender in [Sender::Donor, Sender::Staff(AGENT_ID), Sender::System] {
        let tickets = read_only(vec![donor_ticket(1, DONOR_A, Closed)]);
        let mut messages = messages_holding(vec![message(60, 1, sender, MessageType::Chat)]);
        messages
            .expect_delete()
            .withf(|id| *id == MessageId(60))
            .times(1)
            .returning(|_| Ok(vec![]));

        conversation_service(tickets, messages)
            .delete(&admin(), MessageId(60))
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn sender_deletes_its_message_on_an_open_ticket() {
    let tickets = read_only(vec![donor_ticket(1, DONOR_A, InProgress)]);
    let mut messages = messages_holding(vec![message(60, 1, Sender::Donor, MessageType::Chat)]);
    messages
        .expect_delete()
        .withf(|id| *id == MessageId(60))
        .times(1)
        .returning(|_| Ok(vec![]));

    conversation_service(tickets, messages)
        .delete(&donor(DONOR_A, 1), MessageId(60))
        .await
        .unwrap();
}

#[tokio::test]
async fn sender_cannot_delete_its_message_on_a_closed_ticket() {
    let result = untouchable(
        donor_ticket(1, DONOR_A, Closed),
        message(60, 1, Sender::Staff(AGENT_ID), MessageType::Chat),
    )
    .delete(&agent(), MessageId(60))
    .await;

    assert_eq!(transition_from(result), Closed);
}

#[tokio::test]
async fn non_sender_non_admin_cannot_delete_a_message() {
    let cases = [
        (agent(), Sender::Staff(OTHER_AGENT_ID)),
        (agent(), Sender::Donor),
        (donor(DONOR_A, 1), Sender::Staff(AGENT_ID)),
        (donor(DONOR_A, 1), Sender::System),
    ];
    for (actor, sender) in cases {
        let result = untouchable(
            donor_ticket(1, DONOR_A, InProgress),
            message(60, 1, sender, MessageType::Chat),
        )
        .delete(&actor, MessageId(60))
        .await;

        assert!(
            matches!(result, Err(DomainError::Forbidden(_))),
            "{actor:?}: {result:?}"
        );
    }
}

/// Donor A's token for ticket 1 edits, then deletes, message 60 of ticket 2 of `owner`
/// (another donor, or donor A itself through another token): `NotFound("message")` both
/// times, and nothing written.
async fn assert_other_tickets_message_hidden(owner: &str) {
    let actor = donor(DONOR_A, 1);
    for delete in [false, true] {
        let service = untouchable(
            donor_ticket(2, owner, InProgress),
            message(60, 2, Sender::Donor, MessageType::Chat),
        );

        let result = if delete {
            service.delete(&actor, MessageId(60)).await
        } else {
            service
                .edit(&actor, MessageId(60), "Gotcha")
                .await
                .map(drop)
        };

        assert_err!(result, DomainError::NotFound("message"));
    }
}

#[tokio::test]
async fn donor_cannot_edit_or_delete_messages_of_another_donors_ticket() {
    assert_other_tickets_message_hidden(DONOR_B).await;
}

#[tokio::test]
async fn donor_token_for_one_ticket_cannot_edit_or_delete_messages_of_another_ticket_of_the_same_donor(
) {
    assert_other_tickets_message_hidden(DONOR_A).await;
}
