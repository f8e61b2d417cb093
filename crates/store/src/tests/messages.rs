use super::harness::{
    chat, create, donor_ticket, every_page, kinds, staff, store_test, task, ticket_events,
};
use crate::connection::DbConnection;
use crate::Store;
use chrono::{Duration, Utc};
use concierge_domain::message::{
    Message, MessageFilter, MessageType, NewMessage, Posted, Sender, SenderProfile,
};
use concierge_domain::page::PageRequest;
use concierge_domain::ports::{MessageRepository, TicketRepository};
use concierge_domain::ticket::TicketStatus;
use concierge_domain::{DomainError, MessageId, TicketId, UserId};
use diesel::connection::TransactionManager;

async fn conversation(store: &Store, filter: MessageFilter) -> Vec<Message> {
    let page = MessageRepository::list(store, filter, PageRequest::first(100))
        .await
        .unwrap();
    assert!(!page.has_more());
    page.items
}

fn of_ticket(ticket: TicketId) -> MessageFilter {
    MessageFilter {
        ticket_id: Some(ticket),
        ..Default::default()
    }
}

fn keyed(ticket: TicketId, sender: Sender, content: &str, key: &str) -> NewMessage {
    NewMessage {
        client_message_id: Some(key.to_string()),
        ..chat(ticket, sender, content)
    }
}

store_test!(senders_have_profiles_and_lists_filter, |store| {
    let ann = staff(&store, "ann", "Ann Agent").await;
    let t = create(&store, donor_ticket("d-1", "Query")).await;
    let other = create(&store, donor_ticket("d-2", "Other")).await;
    let donor = store
        .post(chat(t.id, Sender::Donor, "hi"), None)
        .await
        .unwrap();
    let staff_msg = store
        .post(chat(t.id, Sender::Staff(ann.id), "hello"), None)
        .await
        .unwrap();
    let mut note = NewMessage::system(t.id, "Ticket accepted", Utc::now());
    note.message_type = MessageType::System;
    let system = store.post(note, None).await.unwrap();
    store
        .post(chat(other.id, Sender::Staff(ann.id), "elsewhere"), None)
        .await
        .unwrap();
    let (donor, staff_msg, system) = (
        donor.into_message(),
        staff_msg.into_message(),
        system.into_message(),
    );

    assert_eq!(
        donor.sender_profile,
        Some(SenderProfile {
            id: None,
            name: "Donor d-1".into()
        })
    );
    assert_eq!(donor.sender, Sender::Donor);
    assert_eq!(
        staff_msg.sender_profile,
        Some(SenderProfile {
            id: Some(ann.id),
            name: "Ann Agent".into()
        })
    );
    assert_eq!(staff_msg.sender, Sender::Staff(ann.id));
    assert_eq!(system.sender_profile, None);
    assert_eq!(system.sender, Sender::System);
    assert_eq!(
        MessageRepository::get(&store, staff_msg.id).await.unwrap(),
        Some(staff_msg.clone())
    );
    assert_eq!(
        MessageRepository::get(&store, MessageId(404))
            .await
            .unwrap(),
        None
    );

    assert_eq!(
        conversation(&store, of_ticket(t.id)).await,
        [donor.clone(), staff_msg.clone(), system.clone()]
    );
    let only_system = MessageFilter {
        message_type: Some(MessageType::System),
        ..of_ticket(t.id)
    };
    assert_eq!(conversation(&store, only_system).await, [system]);
    let by_ann = MessageFilter {
        sender_id: Some(ann.id),
        ..Default::default()
    };
    let by_ann: Vec<String> = conversation(&store, by_ann)
        .await
        .into_iter()
        .map(|m| m.content)
        .collect();
    assert_eq!(by_ann, ["hello", "elsewhere"]);

    // A message for a ticket that does not exist.
    assert!(matches!(
        store
            .post(chat(TicketId(404), Sender::Donor, "?"), None)
            .await,
        Err(DomainError::NotFound("ticket"))
    ));
});

store_test!(a_ticket_and_its_page_are_read_together, |store| {
    let t = create(&store, donor_ticket("d-1", "Query")).await;
    let other = create(&store, donor_ticket("d-2", "Other")).await;
    for (ticket, text) in [(t.id, "mine"), (other.id, "theirs"), (t.id, "mine too")] {
        store
            .post(chat(ticket, Sender::Donor, text), None)
            .await
            .unwrap();
    }

    // The filter's own ticket is replaced by the one named.
    let (ticket, page) = store
        .list_in_ticket(t.id, of_ticket(other.id), PageRequest::first(1))
        .await
        .unwrap()
        .expect("the ticket exists");

    assert_eq!(ticket.id, t.id);
    assert_eq!(
        ticket.donor.as_ref().map(|d| d.donor_id.as_str()),
        Some("d-1")
    );
    let texts: Vec<&str> = page.items.iter().map(|m| m.content.as_str()).collect();
    assert_eq!(texts, ["mine"]);
    assert!(page.has_more());
    let missing = store
        .list_in_ticket(
            TicketId(i64::MAX),
            MessageFilter::default(),
            PageRequest::first(5),
        )
        .await
        .unwrap();
    assert!(missing.is_none());
});

store_test!(message_pages_run_oldest_first, |store| {
    let t = create(&store, donor_ticket("d-1", "Query")).await;
    let mut all = vec![];
    for i in 0..11 {
        let m = store
            .post(chat(t.id, Sender::Donor, &format!("m{i}")), None)
            .await
            .unwrap();
        all.push(m.message().id);
    }
    let pages = every_page(4, |request| {
        MessageRepository::list(&store, of_ticket(t.id), request)
    })
    .await;
    let seen: Vec<_> = pages
        .iter()
        .flat_map(|p| p.items.iter().map(|m| m.id))
        .collect();
    assert_eq!(seen, all);
});

store_test!(
    a_message_that_changes_the_status_saves_the_ticket,
    |store| {
        let ann = staff(&store, "ann", "Ann").await;
        let ticket = create(&store, donor_ticket("d-1", "Query")).await;
        let mut changed = ticket.clone();
        assert!(changed.on_staff_message(Utc::now()).unwrap());
        let posted = store
            .post(
                chat(ticket.id, Sender::Staff(ann.id), "on it"),
                Some(changed.clone()),
            )
            .await
            .unwrap();
        assert!(matches!(posted, Posted::Created(_)));
        let saved = TicketRepository::get(&store, ticket.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(saved.status(), TicketStatus::PendingReply);
        assert_eq!(saved.version(), ticket.version() + 1);

        // The same change from a stale read: refused, and the message is not written either.
        assert!(matches!(
            store
                .post(
                    chat(ticket.id, Sender::Staff(ann.id), "again"),
                    Some(changed)
                )
                .await,
            Err(DomainError::ConcurrentUpdate)
        ));
        let texts: Vec<String> = conversation(&store, of_ticket(ticket.id))
            .await
            .into_iter()
            .map(|m| m.content)
            .collect();
        assert_eq!(texts, ["on it"]);
        let events = ticket_events(&store, ticket.id).await;
        assert_eq!(
            kinds(&events),
            ["ticket_created", "new_message", "ticket_updated"]
        );
        assert_eq!(events[2].data["status"], "PENDING_REPLY");
    }
);

store_test!(
    a_repeated_client_message_id_returns_the_first_message,
    |store| {
        let t = create(&store, donor_ticket("d-1", "Query")).await;
        let other = create(&store, donor_ticket("d-2", "Other")).await;
        let first = store
            .post(keyed(t.id, Sender::Donor, "hi", "k-1"), None)
            .await
            .unwrap();
        let Posted::Created(first) = first else {
            panic!("not created")
        };
        let again = store
            .post(keyed(t.id, Sender::Donor, "hi (resent)", "k-1"), None)
            .await
            .unwrap();
        assert_eq!(again, Posted::Existing(first.clone()));
        // Even with a ticket change attached, nothing is written.
        let mut ticket = TicketRepository::get(&store, t.id).await.unwrap().unwrap();
        ticket.on_donor_message(Utc::now()).unwrap();
        assert_eq!(
            store
                .post(keyed(t.id, Sender::Donor, "x", "k-1"), Some(ticket))
                .await
                .unwrap(),
            Posted::Existing(first.clone())
        );
        // Keys are per ticket.
        let elsewhere = store
            .post(keyed(other.id, Sender::Donor, "hi", "k-1"), None)
            .await
            .unwrap();
        assert!(matches!(elsewhere, Posted::Created(_)));

        assert_eq!(
            store.find_by_client_id(t.id, "k-1".into()).await.unwrap(),
            Some(first.clone())
        );
        assert_eq!(
            store.find_by_client_id(t.id, "k-2".into()).await.unwrap(),
            None
        );
        assert_eq!(conversation(&store, of_ticket(t.id)).await, [first]);
        assert_eq!(
            kinds(&ticket_events(&store, t.id).await),
            ["ticket_created", "new_message"]
        );
    }
);

store_test!(concurrent_sends_with_one_key_store_one_message, |store| {
    let t = create(&store, donor_ticket("d-1", "Query")).await;
    for round in 0..5 {
        let key = format!("race-{round}");
        let sends: Vec<_> = (0..8)
            .map(|i| {
                let store = store.clone();
                let message = keyed(t.id, Sender::Donor, &format!("copy {i}"), &key);
                tokio::spawn(async move { store.post(message, None).await })
            })
            .collect();
        let mut created = 0;
        let mut ids = vec![];
        for send in sends {
            let posted = send.await.unwrap().unwrap();
            created += usize::from(matches!(posted, Posted::Created(_)));
            ids.push(posted.message().id);
        }
        assert_eq!(created, 1, "exactly one send creates the message");
        assert!(ids.iter().all(|id| *id == ids[0]));
    }
    assert_eq!(conversation(&store, of_ticket(t.id)).await.len(), 5);
});

// The race made deterministic: another transaction inserts the key and stays open while we
// post the same key; once it commits, our post answers with its message.
store_test!(a_send_that_loses_the_race_returns_the_winner, |store| {
    let t = create(&store, donor_ticket("d-1", "Query")).await;
    let pool = store.pool().clone();
    let (inserted_tx, inserted_rx) = std::sync::mpsc::channel();
    let (commit_tx, commit_rx) = std::sync::mpsc::channel::<()>();
    let winner = std::thread::spawn(move || {
        let mut conn = pool.get().unwrap();
        <DbConnection as TransactionManager<DbConnection>>::begin_transaction(&mut conn).unwrap();
        let message = crate::message_rows::insert(
            &mut conn,
            &keyed(t.id, Sender::Donor, "winner", "the-key"),
        )
        .unwrap();
        inserted_tx.send(message).unwrap();
        commit_rx.recv().unwrap();
        <DbConnection as TransactionManager<DbConnection>>::commit_transaction(&mut conn).unwrap();
    });
    let winner_message = inserted_rx.recv().unwrap();
    let loser = {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .post(keyed(t.id, Sender::Donor, "loser", "the-key"), None)
                .await
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        !loser.is_finished(),
        "the second send waits for the first transaction"
    );
    commit_tx.send(()).unwrap();
    winner.join().unwrap();
    let posted = loser.await.unwrap().unwrap();
    assert_eq!(posted, Posted::Existing(winner_message));
    assert_eq!(conversation(&store, of_ticket(t.id)).await.len(), 1);
});

store_test!(replies_form_a_thread, |store| {
    let ann = staff(&store, "ann", "Ann").await;
    let t = create(&store, donor_ticket("d-1", "Query")).await;
    let root = store
        .post(chat(t.id, Sender::Donor, "root"), None)
        .await
        .unwrap()
        .into_message();
    let mut replies = vec![];
    for i in 0..3 {
        let mut m = chat(t.id, Sender::Staff(ann.id), &format!("reply {i}"));
        m.reply_to_id = Some(root.id);
        replies.push(store.post(m, None).await.unwrap().into_message());
        store
            .post(chat(t.id, Sender::Donor, "unrelated"), None)
            .await
            .unwrap();
    }
    assert_eq!(replies[0].reply_to_id, Some(root.id));
    assert_eq!(store.replies(root.id, 10).await.unwrap(), replies);
    assert_eq!(store.replies(root.id, 2).await.unwrap(), replies[..2]);
    assert!(store.replies(replies[0].id, 10).await.unwrap().is_empty());
});

store_test!(between_finds_direct_task_messages, |store| {
    let a = staff(&store, "a", "A").await;
    let b = staff(&store, "b", "B").await;
    let c = staff(&store, "c", "C").await;
    let ab = create(&store, task(a.id, Some(b.id), "a for b")).await;
    let ba = create(&store, task(b.id, Some(a.id), "b for a")).await;
    let ac = create(&store, task(a.id, Some(c.id), "a for c")).await;
    let bb = create(&store, task(b.id, Some(b.id), "b for b")).await;
    let mut donor = donor_ticket("d-1", "Query");
    donor.assignee_id = Some(b.id);
    let donor = create(&store, donor).await;
    let mut expected = vec![];
    for (ticket, wanted) in [(ab.id, true), (ba.id, true), (ac.id, false), (bb.id, false)] {
        for (sender, by_pair) in [(a.id, true), (b.id, true), (c.id, false)] {
            let m = store
                .post(chat(ticket, Sender::Staff(sender), "x"), None)
                .await
                .unwrap()
                .into_message();
            if wanted && by_pair {
                expected.push(m.id);
            }
        }
        store
            .post(NewMessage::system(ticket, "note", Utc::now()), None)
            .await
            .unwrap();
    }
    store
        .post(chat(donor.id, Sender::Staff(a.id), "x"), None)
        .await
        .unwrap();
    store
        .post(chat(donor.id, Sender::Donor, "x"), None)
        .await
        .unwrap();

    for (x, y) in [(a.id, b.id), (b.id, a.id)] {
        let pages = every_page(3, |request| store.between(x, y, request)).await;
        let seen: Vec<_> = pages
            .iter()
            .flat_map(|p| p.items.iter().map(|m| m.id))
            .collect();
        assert_eq!(seen, expected);
    }
    let none = store
        .between(a.id, UserId(404), PageRequest::first(10))
        .await
        .unwrap();
    assert!(none.items.is_empty());
});

store_test!(edits_and_deletes_are_logged, |store| {
    let ann = staff(&store, "ann", "Ann").await;
    let t = create(&store, donor_ticket("d-1", "Query")).await;
    let parent = store
        .post(chat(t.id, Sender::Staff(ann.id), "typo"), None)
        .await
        .unwrap()
        .into_message();
    let mut reply = chat(t.id, Sender::Donor, "what?");
    reply.reply_to_id = Some(parent.id);
    let reply = store.post(reply, None).await.unwrap().into_message();

    let later = Utc::now() + Duration::seconds(3);
    let edited = store.edit(parent.id, "fixed".into(), later).await.unwrap();
    assert_eq!(edited.content, "fixed");
    assert_eq!(
        edited.edited_at,
        Some(crate::models::from_db(crate::models::to_db(later)))
    );
    assert_eq!(edited.created_at, parent.created_at);
    assert_eq!(edited.sender_profile, parent.sender_profile);
    assert_eq!(
        MessageRepository::get(&store, parent.id).await.unwrap(),
        Some(edited.clone())
    );

    MessageRepository::delete(&store, parent.id).await.unwrap();
    assert_eq!(
        MessageRepository::get(&store, parent.id).await.unwrap(),
        None
    );
    let orphan = MessageRepository::get(&store, reply.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (orphan.content.as_str(), orphan.reply_to_id),
        ("what?", None)
    );

    assert!(matches!(
        store.edit(parent.id, "x".into(), later).await,
        Err(DomainError::NotFound("message"))
    ));
    assert!(matches!(
        MessageRepository::delete(&store, parent.id).await,
        Err(DomainError::NotFound("message"))
    ));
    let events = ticket_events(&store, t.id).await;
    assert_eq!(
        kinds(&events),
        [
            "ticket_created",
            "new_message",
            "new_message",
            "message_updated",
            "message_deleted"
        ]
    );
    // The deleted message's events keep their place and kind, not its text; the reply's stay.
    let forgotten = serde_json::json!({"id": parent.id.0, "ticketId": t.id.0, "deleted": true});
    assert_eq!(events[1].data, forgotten);
    assert_eq!(events[2].data["content"], "what?");
    assert_eq!(events[3].data, forgotten);
    assert_eq!(events[4].data["id"], parent.id.0);
    assert_eq!(events[4].data["ticketId"], t.id.0);
});

store_test!(
    deleting_the_first_message_forgets_the_description_copied_from_it,
    |store| {
        let mut new = donor_ticket("d-1", "Query from Ann");
        new.description = Some("my IBAN is DE89".into());
        let first = NewMessage {
            ticket_id: TicketId(0),
            sender: Sender::Donor,
            message_type: MessageType::Query,
            content: "my IBAN is DE89".into(),
            reply_to_id: None,
            client_message_id: None,
            created_at: new.created_at,
        };
        let (ticket, first) = store.create(new, Some(first)).await.unwrap();
        let first = first.unwrap();
        let later = Utc::now();
        store
            .edit(first.id, "my IBAN is DE89 3704".into(), later)
            .await
            .unwrap();

        MessageRepository::delete(&store, first.id).await.unwrap();

        let now = TicketRepository::get(&store, ticket.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(now.description, None);
        assert_eq!(now.version(), ticket.version() + 1);
        let events = ticket_events(&store, ticket.id).await;
        assert_eq!(
            kinds(&events),
            [
                "ticket_created",
                "new_message",
                "message_updated",
                "message_deleted",
                "ticket_updated"
            ]
        );
        assert_eq!(events[0].data["description"], serde_json::Value::Null);
        assert_eq!(events[0].data["title"], "Query from Ann");
        assert_eq!(events[4].data["description"], serde_json::Value::Null);
        for event in &events {
            assert!(!event.data.to_string().contains("IBAN"), "{event:?}");
        }
    }
);

fn file(n: u32) -> concierge_domain::attachment::NewAttachment {
    concierge_domain::attachment::NewAttachment {
        file_name: format!("f{n}.png"),
        content_type: "image/png".into(),
        size: 10,
        sha256: format!("{n:064x}"),
        storage_key: format!("key-{n}"),
    }
}

store_test!(
    files_are_added_up_to_the_limit_counted_in_the_transaction,
    |store| {
        let t = create(&store, donor_ticket("d-f", "Files")).await;
        let m = store
            .post(chat(t.id, Sender::Donor, "see attached"), None)
            .await
            .unwrap()
            .into_message();
        let now = Utc::now();
        let with_two = store
            .add_files(m.id, None, vec![file(1), file(2)], 3, now)
            .await
            .unwrap();
        assert_eq!(with_two.attachments.len(), 2);
        let refused = store
            .add_files(m.id, None, vec![file(3), file(4)], 3, now)
            .await;
        assert!(
            matches!(refused, Err(DomainError::Conflict(_))),
            "{refused:?}"
        );
        let stored = MessageRepository::get(&store, m.id).await.unwrap().unwrap();
        assert_eq!(
            stored.attachments.len(),
            2,
            "nothing of the refused addition stays"
        );
        let with_three = store
            .add_files(m.id, Some("three".into()), vec![file(5)], 3, now)
            .await
            .unwrap();
        assert_eq!(
            (with_three.attachments.len(), with_three.content.as_str()),
            (3, "three")
        );
    }
);
