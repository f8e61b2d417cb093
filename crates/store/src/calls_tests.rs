//! The call repository on both backends.

use crate::tests::harness::{create, donor_ticket, kinds, staff, store_test, ticket_events};
use chrono::{Duration, SubsecRound, Utc};
use concierge_domain::call::{
    notes, CallMode, CallRequest, CallRequestStatus, CallSessionStatus, NewCallRequest,
    NewCallSession,
};
use concierge_domain::message::{MessageFilter, MessageType};
use concierge_domain::page::PageRequest;
use concierge_domain::ports::{CallRepository, MessageRepository, TicketRepository};
use concierge_domain::{DomainError, TicketId, UserId};

fn new_request(ticket: TicketId, mode: CallMode) -> NewCallRequest {
    NewCallRequest {
        ticket_id: ticket,
        mode,
        message: Some("my screen is black".into()),
        created_at: Utc::now().trunc_subsecs(6),
    }
}

fn new_session(ticket: TicketId, room: &str, by: Option<UserId>) -> NewCallSession {
    NewCallSession {
        ticket_id: ticket,
        room_id: room.to_string(),
        mode: CallMode::Video,
        request_id: None,
        created_by_id: by,
        created_at: Utc::now().trunc_subsecs(6),
    }
}

async fn request(store: &crate::Store, ticket: TicketId) -> CallRequest {
    let new = new_request(ticket, CallMode::Video);
    let note = notes::requested(&new);
    store.create_request(new, note).await.unwrap().0
}

async fn message_types(store: &crate::Store, ticket: TicketId) -> Vec<MessageType> {
    MessageRepository::list(
        store,
        MessageFilter {
            ticket_id: Some(ticket),
            ..MessageFilter::default()
        },
        PageRequest::first(100),
    )
    .await
    .unwrap()
    .items
    .iter()
    .map(|m| m.message_type)
    .collect()
}

store_test!(requests_are_stored_with_their_note_and_events, |store| {
    let ticket = create(&store, donor_ticket("d-1", "Query")).await;
    let new = new_request(ticket.id, CallMode::Audio);
    let note = notes::requested(&new);
    let (made, message) = store.create_request(new.clone(), note).await.unwrap();
    assert_eq!(made.status, CallRequestStatus::Pending);
    assert_eq!(made.mode, CallMode::Audio);
    assert_eq!(made.message, new.message);
    assert_eq!(made.created_at, new.created_at);
    assert_eq!(message.message_type, MessageType::CallRequest);
    assert_eq!(message.ticket_id, ticket.id);
    assert_eq!(
        store.get_request(made.id).await.unwrap(),
        Some(made.clone())
    );

    let events = ticket_events(&store, ticket.id).await;
    assert_eq!(
        kinds(&events),
        ["ticket_created", "call_requested", "new_message"]
    );
    assert_eq!(events[1].data["status"], "PENDING");
    assert_eq!(events[1].data["mode"], "AUDIO");

    // A request for a ticket that does not exist.
    let missing = new_request(TicketId(999_999), CallMode::Video);
    let note = notes::requested(&missing);
    assert!(matches!(
        store.create_request(missing, note).await,
        Err(DomainError::NotFound(_))
    ));
});

store_test!(requests_list_newest_first_and_are_decided_once, |store| {
    let admin = staff(&store, "boss", "Boss").await;
    let ticket = create(&store, donor_ticket("d-1", "Query")).await;
    let other = create(&store, donor_ticket("d-2", "Other")).await;
    let first = request(&store, ticket.id).await;
    let second = request(&store, ticket.id).await;
    request(&store, other.id).await;

    let page = store
        .list_requests(ticket.id, PageRequest::first(1))
        .await
        .unwrap();
    assert_eq!(page.items, std::slice::from_ref(&second));
    let next = PageRequest::parse(Some(1), page.next_cursor.as_deref()).unwrap();
    let page = store.list_requests(ticket.id, next).await.unwrap();
    assert_eq!(page.items, std::slice::from_ref(&first));
    assert!(!page.has_more());
    assert_eq!(
        store.newest_pending_request(ticket.id).await.unwrap(),
        Some(second.clone())
    );

    let now = Utc::now().trunc_subsecs(6);
    let rejected = second
        .clone()
        .reject(admin.id, Some("busy".into()), now)
        .unwrap();
    let note = notes::decided(&rejected, now);
    let saved = store.decide_request(rejected.clone(), note).await.unwrap();
    assert_eq!(saved, rejected);
    assert_eq!(
        store.newest_pending_request(ticket.id).await.unwrap(),
        Some(first.clone())
    );

    // The same decision again finds the request no longer pending: nothing is written.
    let before = ticket_events(&store, ticket.id).await.len();
    let cancelled = second.clone().cancel(now).unwrap();
    let note = notes::decided(&cancelled, now);
    assert!(matches!(
        store.decide_request(cancelled, note).await,
        Err(DomainError::ConcurrentUpdate)
    ));
    assert_eq!(ticket_events(&store, ticket.id).await.len(), before);
    assert_eq!(
        store.get_request(second.id).await.unwrap().unwrap().status,
        CallRequestStatus::Rejected
    );
    let events = ticket_events(&store, ticket.id).await;
    assert_eq!(
        kinds(&events)[events.len() - 2..],
        ["call_request_updated", "new_message"]
    );
    assert_eq!(
        message_types(&store, ticket.id).await,
        [
            MessageType::CallRequest,
            MessageType::CallRequest,
            MessageType::System
        ]
    );
});

store_test!(
    a_session_accepts_its_request_in_the_same_transaction,
    |store| {
        let admin = staff(&store, "boss", "Boss").await;
        let ticket = create(&store, donor_ticket("d-1", "Query")).await;
        let pending = request(&store, ticket.id).await;
        let accepted = pending.clone().accept(admin.id, Utc::now()).unwrap();
        let new = NewCallSession {
            request_id: Some(pending.id),
            ..new_session(ticket.id, "room-1", Some(admin.id))
        };
        let note = notes::started(&new);
        let (session, message) = store
            .start_session(new.clone(), Some(accepted), note)
            .await
            .unwrap();
        assert_eq!(session.status, CallSessionStatus::Created);
        assert_eq!(session.room_id, "room-1");
        assert_eq!(session.request_id, Some(pending.id));
        assert_eq!(session.created_by_id, Some(admin.id));
        assert_eq!(message.message_type, MessageType::CallStarted);
        assert_eq!(
            store.get_request(pending.id).await.unwrap().unwrap().status,
            CallRequestStatus::Accepted
        );
        assert_eq!(
            store.session_by_room("room-1".into()).await.unwrap(),
            Some(session.clone())
        );
        assert_eq!(
            store.open_session(ticket.id).await.unwrap(),
            Some(session.clone())
        );
        let events = ticket_events(&store, ticket.id).await;
        assert_eq!(
            kinds(&events)[events.len() - 3..],
            ["call_request_updated", "call_started", "new_message"]
        );
        assert_eq!(events[events.len() - 2].data["roomName"], "room-1");

        // Accepting the same request again loses: nothing of the second session is written.
        let again = pending.clone().accept(admin.id, Utc::now()).unwrap();
        let before = events.len();
        let note = notes::started(&new);
        assert!(matches!(
            store
                .start_session(new_session(ticket.id, "room-2", None), Some(again), note)
                .await,
            Err(DomainError::ConcurrentUpdate)
        ));
        assert_eq!(ticket_events(&store, ticket.id).await.len(), before);
        assert_eq!(store.session_by_room("room-2".into()).await.unwrap(), None);
    }
);

store_test!(the_database_keeps_one_open_session_per_ticket, |store| {
    let admin = staff(&store, "boss", "Boss").await;
    let ticket = create(&store, donor_ticket("d-1", "Query")).await;
    let other = create(&store, donor_ticket("d-2", "Other")).await;
    let pending = request(&store, ticket.id).await;
    let new = new_session(ticket.id, "room-1", None);
    let note = notes::started(&new);
    let (first, _) = store.start_session(new, None, note).await.unwrap();
    let before = ticket_events(&store, ticket.id).await.len();

    // A second open session on the ticket, even with a request to accept: refused, nothing
    // written (the request stays pending).
    let accepted = pending.clone().accept(admin.id, Utc::now()).unwrap();
    let new = new_session(ticket.id, "room-2", None);
    let note = notes::started(&new);
    match store.start_session(new, Some(accepted), note).await {
        Err(DomainError::Conflict(text)) => assert!(text.contains("not ended"), "{text}"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(ticket_events(&store, ticket.id).await.len(), before);
    assert_eq!(
        store.get_request(pending.id).await.unwrap().unwrap().status,
        CallRequestStatus::Pending
    );
    // A room id is unique across tickets too.
    let new = new_session(other.id, "room-1", None);
    let note = notes::started(&new);
    assert!(matches!(
        store.start_session(new, None, note).await,
        Err(DomainError::Conflict(_))
    ));

    // Once the first has ended, the ticket may have another.
    let ended = first.clone().end(Utc::now()).unwrap();
    let note = notes::ended(&ended, Utc::now());
    store
        .update_session(ended, CallSessionStatus::Created, Some(note))
        .await
        .unwrap();
    let new = new_session(ticket.id, "room-3", None);
    let note = notes::started(&new);
    store.start_session(new, None, note).await.unwrap();
});

store_test!(sessions_go_active_then_ended_once, |store| {
    let ticket = create(&store, donor_ticket("d-1", "Query")).await;
    let new = new_session(ticket.id, "room-1", None);
    let note = notes::started(&new);
    let (session, _) = store.start_session(new, None, note).await.unwrap();

    let start = Utc::now().trunc_subsecs(6);
    let active = session.clone().activate(start).unwrap();
    let saved = store
        .update_session(active.clone(), CallSessionStatus::Created, None)
        .await
        .unwrap();
    assert_eq!(saved, active);
    assert_eq!(saved.started_at, Some(start));

    let stop = start + Duration::seconds(75);
    let ended = saved.clone().end(stop).unwrap();
    let note = notes::ended(&ended, stop);
    let saved = store
        .update_session(ended.clone(), CallSessionStatus::Active, Some(note))
        .await
        .unwrap();
    assert_eq!(saved.status, CallSessionStatus::Ended);
    assert_eq!(saved.duration_seconds(), Some(75));
    assert_eq!(store.open_session(ticket.id).await.unwrap(), None);

    let events = ticket_events(&store, ticket.id).await;
    let tail = &events[events.len() - 3..];
    assert_eq!(kinds(tail), ["call_started", "call_ended", "new_message"]);
    assert_eq!(tail[0].data["status"], "ACTIVE");
    assert_eq!(tail[1].data["durationSeconds"], 75);
    assert_eq!(tail[2].data["messageType"], "CALL_ENDED");

    // Ending again from what was read before: a lost race, nothing written.
    let before = events.len();
    assert!(matches!(
        store
            .update_session(ended, CallSessionStatus::Active, None)
            .await,
        Err(DomainError::ConcurrentUpdate)
    ));
    assert_eq!(ticket_events(&store, ticket.id).await.len(), before);
    assert_eq!(
        message_types(&store, ticket.id).await,
        [MessageType::CallStarted, MessageType::CallEnded]
    );
});

store_test!(
    sessions_list_newest_first_and_only_ended_ones_are_deleted,
    |store| {
        let ticket = create(&store, donor_ticket("d-1", "Query")).await;
        let mut rooms = vec![];
        for room in ["room-1", "room-2"] {
            let new = new_session(ticket.id, room, None);
            let note = notes::started(&new);
            let (session, _) = store.start_session(new, None, note).await.unwrap();
            if room == "room-1" {
                let ended = session.clone().end(Utc::now()).unwrap();
                store
                    .update_session(ended, CallSessionStatus::Created, None)
                    .await
                    .unwrap();
            }
            rooms.push(session);
        }
        let page = store
            .list_sessions(ticket.id, PageRequest::first(10))
            .await
            .unwrap();
        let listed: Vec<&str> = page.items.iter().map(|s| s.room_id.as_str()).collect();
        assert_eq!(listed, ["room-2", "room-1"]);

        assert!(matches!(
            store.delete_session(rooms[1].id).await,
            Err(DomainError::ConcurrentUpdate)
        ));
        store.delete_session(rooms[0].id).await.unwrap();
        assert!(matches!(
            store.delete_session(rooms[0].id).await,
            Err(DomainError::NotFound(_))
        ));
        assert_eq!(store.session_by_room("room-1".into()).await.unwrap(), None);
        let events = ticket_events(&store, ticket.id).await;
        let last = events.last().unwrap();
        assert_eq!(last.kind.as_str(), "call_ended");
        assert_eq!(last.data["deleted"], true);

        // Deleting the ticket takes its calls with it.
        request(&store, ticket.id).await;
        TicketRepository::delete(&store, ticket.id).await.unwrap();
        assert_eq!(store.session_by_room("room-2".into()).await.unwrap(), None);
        assert_eq!(
            store
                .list_requests(ticket.id, PageRequest::first(10))
                .await
                .unwrap()
                .items,
            []
        );
    }
);
