use super::harness::{
    chat, create, donor_ticket, every_page, kinds, staff, store_test, task, ticket_events,
};
use chrono::{DateTime, Duration, SubsecRound, Utc};
use concierge_domain::message::{MessageType, NewMessage, Sender, SenderProfile};
use concierge_domain::page::PageRequest;
use concierge_domain::ports::{MessageRepository, TicketRepository};
use concierge_domain::search::Query;
use concierge_domain::ticket::{Channel, Priority, TicketFilter, TicketStatus};
use concierge_domain::{DomainError, TicketId, UserId};

fn micros(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(6)
}

async fn ids(store: &crate::Store, filter: TicketFilter) -> Vec<TicketId> {
    let page = TicketRepository::list(store, filter, PageRequest::first(100))
        .await
        .unwrap();
    assert!(!page.has_more());
    page.items.iter().map(|t| t.id).collect()
}

store_test!(create_with_first_message_writes_both_events, |store| {
    let mut new = donor_ticket("d-1", "Query from Ann");
    new.description = Some("My card was charged twice".into());
    let first = NewMessage {
        ticket_id: TicketId(0), // the store fills in the new ticket's id
        sender: Sender::Donor,
        message_type: MessageType::Query,
        content: "My card was charged twice".into(),
        reply_to_id: None,
        client_message_id: Some("c-1".into()),
        created_at: new.created_at,
    };
    let (ticket, message) = store.create(new.clone(), Some(first)).await.unwrap();
    let message = message.unwrap();

    assert_eq!(ticket.channel, Channel::Donor);
    assert_eq!(ticket.status(), TicketStatus::InProgress);
    let session = ticket.donor.as_ref().and_then(|d| d.session.clone());
    assert!(session.is_some(), "a new query starts a donor session");
    let mut donor = new.donor.clone();
    if let Some(d) = donor.as_mut() {
        d.session = session;
    }
    assert_eq!(ticket.donor, donor);
    assert_eq!(ticket.description, new.description);
    assert_eq!(ticket.version(), 1);
    assert_eq!(ticket.created_at, micros(new.created_at));
    assert_eq!(
        TicketRepository::get(&store, ticket.id).await.unwrap(),
        Some(ticket.clone())
    );

    assert_eq!(message.ticket_id, ticket.id);
    assert_eq!(message.message_type, MessageType::Query);
    assert_eq!(message.client_message_id.as_deref(), Some("c-1"));
    assert_eq!(
        message.sender_profile,
        Some(SenderProfile {
            id: None,
            name: "Donor d-1".into()
        })
    );

    let events = ticket_events(&store, ticket.id).await;
    assert_eq!(kinds(&events), ["ticket_created", "new_message"]);
    assert!(events[0].seq < events[1].seq);
    assert_eq!(events[0].data["id"], ticket.id.0);
    assert_eq!(events[0].data["donorId"], "d-1");
    assert!(events[0].data.get("fcmToken").is_none());
    assert_eq!(events[1].data["id"], message.id.0);
    assert_eq!(events[1].data["sender"]["name"], "Donor d-1");

    // A task without a first message: one event.
    let ann = staff(&store, "ann", "Ann").await;
    let (t, none) = store
        .create(task(ann.id, Some(ann.id), "t"), None)
        .await
        .unwrap();
    assert!(none.is_none());
    assert_eq!((t.channel, t.donor.clone()), (Channel::Internal, None));
    assert_eq!(
        kinds(&ticket_events(&store, t.id).await),
        ["ticket_created"]
    );
});

store_test!(a_stale_update_is_refused_and_writes_nothing, |store| {
    let ann = staff(&store, "ann", "Ann").await;
    let original = create(&store, donor_ticket("d-1", "Query")).await;

    let mut accepted = original.clone();
    accepted.accept(ann.id, Utc::now()).unwrap();
    let note = NewMessage::system(original.id, "Accepted by Ann", Utc::now());
    let saved = store.update(accepted, Some(note)).await.unwrap();
    assert_eq!(saved.version(), original.version() + 1);
    assert_eq!(saved.assignee_id, Some(ann.id));
    assert_eq!(
        TicketRepository::get(&store, original.id).await.unwrap(),
        Some(saved.clone())
    );

    // A writer that read the original version loses.
    let mut stale = original.clone();
    stale.resolve(ann.id, Utc::now()).unwrap();
    let note = NewMessage::system(original.id, "Ticket resolved", Utc::now());
    assert!(matches!(
        store.update(stale, Some(note)).await,
        Err(DomainError::ConcurrentUpdate)
    ));
    assert_eq!(
        TicketRepository::get(&store, original.id).await.unwrap(),
        Some(saved.clone())
    );
    let conversation = MessageRepository::list(
        &store,
        concierge_domain::message::MessageFilter {
            ticket_id: Some(original.id),
            ..Default::default()
        },
        PageRequest::first(100),
    )
    .await
    .unwrap();
    let texts: Vec<&str> = conversation
        .items
        .iter()
        .map(|m| m.content.as_str())
        .collect();
    assert_eq!(texts, ["Accepted by Ann"]);
    assert_eq!(
        kinds(&ticket_events(&store, original.id).await),
        ["ticket_created", "ticket_updated", "new_message"]
    );

    // A ticket that is gone is not found, not a concurrent update.
    let mut ghost = saved.clone();
    ghost.id = TicketId(999_999);
    assert!(matches!(
        store.update(ghost, None).await,
        Err(DomainError::NotFound("ticket"))
    ));
});

store_test!(every_field_round_trips_through_an_update, |store| {
    let ann = staff(&store, "ann", "Ann").await;
    let bob = staff(&store, "bob", "Bob").await;
    let mut t = create(&store, donor_ticket("d-1", "Query")).await;
    let now = Utc::now();
    t.accept(ann.id, now).unwrap();
    t = store.update(t, None).await.unwrap();
    t.transfer(bob.id, Some("over to you".into()), now).unwrap();
    t = store.update(t, None).await.unwrap();
    t.resolve(bob.id, now).unwrap();
    t = store.update(t, None).await.unwrap();
    t.close(now + Duration::seconds(1)).unwrap();
    let mut closed = t.clone();
    if let Some(donor) = closed.donor.as_mut() {
        donor.stage = None;
        donor.fcm_token = None;
    }
    let saved = store.update(closed.clone(), None).await.unwrap();
    assert_eq!(saved.version(), 5);
    assert_eq!(saved.status(), TicketStatus::Closed);
    assert_eq!(saved.assignee_id, Some(bob.id));
    assert_eq!(saved.transferred_from_id, Some(ann.id));
    assert_eq!(saved.transfer_note.as_deref(), Some("over to you"));
    assert_eq!(saved.resolved_by_id, Some(bob.id));
    assert_eq!(saved.resolved_at, Some(micros(now)));
    assert_eq!(saved.closed_at, Some(micros(now + Duration::seconds(1))));
    assert_eq!(saved.donor, closed.donor);
    assert_eq!(
        TicketRepository::get(&store, saved.id).await.unwrap(),
        Some(saved)
    );
});

store_test!(every_filter_field_works, |store| {
    let ann = staff(&store, "ann", "Ann").await;
    let base = Utc::now() - Duration::days(10);
    let at = |days: i64| base + Duration::days(days);

    let mut a = donor_ticket("d-1", "Refund please");
    a.created_at = at(0);
    a.priority = Priority::High;
    let a = create(&store, a).await;
    let mut b = donor_ticket("d-2", "Login trouble");
    b.created_at = at(1);
    b.description = Some("cannot REFUND anything".into());
    let b = create(&store, b).await;
    let mut c = task(ann.id, Some(ann.id), "Call the bank");
    c.created_at = at(2);
    c.priority = Priority::Urgent;
    let c = create(&store, c).await;
    let mut d = donor_ticket("d-1", "Second query");
    d.created_at = at(3);
    let mut d = create(&store, d).await;
    d.accept(ann.id, Utc::now()).unwrap();
    d.resolve(ann.id, Utc::now()).unwrap();
    let d = store.update(d, None).await.unwrap();

    let all = TicketFilter::default;
    let cases: Vec<(&str, TicketFilter, Vec<TicketId>)> = vec![
        ("none", all(), vec![d.id, c.id, b.id, a.id]),
        (
            "donor channel",
            TicketFilter {
                channel: Some(Channel::Donor),
                ..all()
            },
            vec![d.id, b.id, a.id],
        ),
        (
            "internal channel",
            TicketFilter {
                channel: Some(Channel::Internal),
                ..all()
            },
            vec![c.id],
        ),
        (
            "resolved",
            TicketFilter {
                statuses: vec![TicketStatus::Resolved],
                ..all()
            },
            vec![d.id],
        ),
        (
            "open or resolved",
            TicketFilter {
                statuses: vec![TicketStatus::Open, TicketStatus::Resolved],
                ..all()
            },
            vec![d.id, c.id],
        ),
        (
            "priority",
            TicketFilter {
                priority: Some(Priority::High),
                ..all()
            },
            vec![a.id],
        ),
        (
            "assignee",
            TicketFilter {
                assignee_id: Some(ann.id),
                ..all()
            },
            vec![d.id, c.id],
        ),
        (
            "donor id",
            TicketFilter {
                donor_id: Some("d-1".into()),
                ..all()
            },
            vec![d.id, a.id],
        ),
        (
            "search: case-insensitive, title or description",
            TicketFilter {
                search: Some(Query::parse("rEfUnD").unwrap()),
                ..all()
            },
            vec![b.id, a.id],
        ),
        (
            "created from",
            TicketFilter {
                created_from: Some(at(1)),
                ..all()
            },
            vec![d.id, c.id, b.id],
        ),
        (
            "created to",
            TicketFilter {
                created_to: Some(at(1)),
                ..all()
            },
            vec![a.id],
        ),
        (
            "all at once",
            TicketFilter {
                channel: Some(Channel::Donor),
                statuses: vec![TicketStatus::InProgress],
                donor_id: Some("d-1".into()),
                created_from: Some(at(0)),
                created_to: Some(at(5)),
                ..all()
            },
            vec![a.id],
        ),
        (
            "unknown assignee",
            TicketFilter {
                assignee_id: Some(UserId(404)),
                ..all()
            },
            vec![],
        ),
    ];
    for (name, filter, want) in cases {
        assert_eq!(ids(&store, filter).await, want, "{name}");
    }
});

store_test!(cursor_pages_do_not_overlap, |store| {
    let mut all = vec![];
    for i in 0..23 {
        let mut t = donor_ticket(if i % 2 == 0 { "even" } else { "odd" }, &format!("t{i}"));
        t.created_at = Utc::now();
        all.push(create(&store, t).await.id);
    }
    all.reverse(); // newest first
    for (filter, expected) in [
        (TicketFilter::default(), all.clone()),
        (
            TicketFilter {
                donor_id: Some("even".into()),
                ..Default::default()
            },
            all.iter()
                .copied()
                .filter(|id| all.iter().position(|x| x == id).unwrap() % 2 == 0)
                .collect(),
        ),
    ] {
        let mut seen: Vec<TicketId> = vec![];
        for page in every_page(5, |request| {
            TicketRepository::list(&store, filter.clone(), request)
        })
        .await
        {
            for t in &page.items {
                assert!(!seen.contains(&t.id), "pages overlap");
            }
            seen.extend(page.items.iter().map(|t| t.id));
        }
        assert_eq!(seen, expected);
    }
});

store_test!(deleting_a_ticket_removes_its_conversation, |store| {
    let ann = staff(&store, "ann", "Ann").await;
    let doomed = create(&store, donor_ticket("d-1", "Doomed")).await;
    let kept = create(&store, donor_ticket("d-2", "Kept")).await;
    let first = store
        .post(chat(doomed.id, Sender::Donor, "hello"), None)
        .await
        .unwrap()
        .into_message();
    let mut reply = chat(doomed.id, Sender::Staff(ann.id), "hi");
    reply.reply_to_id = Some(first.id);
    let reply = store.post(reply, None).await.unwrap().into_message();
    let other = store
        .post(chat(kept.id, Sender::Donor, "still here"), None)
        .await
        .unwrap()
        .into_message();

    TicketRepository::delete(&store, doomed.id).await.unwrap();
    assert_eq!(
        TicketRepository::get(&store, doomed.id).await.unwrap(),
        None
    );
    assert_eq!(
        MessageRepository::get(&store, first.id).await.unwrap(),
        None
    );
    assert_eq!(
        MessageRepository::get(&store, reply.id).await.unwrap(),
        None
    );
    assert_eq!(
        MessageRepository::get(&store, other.id).await.unwrap(),
        Some(other)
    );
    assert!(matches!(
        TicketRepository::delete(&store, doomed.id).await,
        Err(DomainError::NotFound("ticket"))
    ));
    let events = ticket_events(&store, doomed.id).await;
    assert_eq!(
        kinds(&events),
        [
            "ticket_created",
            "new_message",
            "new_message",
            "ticket_deleted"
        ]
    );
    assert_eq!(events[3].data["id"], doomed.id.0);
    // Every earlier event of it keeps its place, kind and id, and nothing else.
    for (event, id) in events.iter().zip([doomed.id.0, first.id.0, reply.id.0]) {
        assert_eq!(
            event.data,
            serde_json::json!({"id": id, "ticketId": doomed.id.0, "deleted": true}),
            "{event:?}"
        );
    }
    assert_eq!(
        ticket_events(&store, kept.id).await[1].data["content"],
        "still here"
    );
});

store_test!(donor_queries_list_by_session, |store| {
    let mut joined = donor_ticket("d-1", "Second");
    let first = create(&store, donor_ticket("d-1", "First")).await;
    let session = first.donor.as_ref().unwrap().session.clone();
    assert_eq!(session.as_ref().map(String::len), Some(32));
    joined.donor.as_mut().unwrap().session = session.clone();
    let joined = create(&store, joined).await;
    let stranger = create(&store, donor_ticket("d-1", "Same donor id")).await;
    assert_ne!(stranger.donor.as_ref().unwrap().session, session);
    let filter = |session: Option<String>| TicketFilter {
        donor_id: Some("d-1".into()),
        donor_session: session,
        ..Default::default()
    };
    assert_eq!(ids(&store, filter(session)).await, [joined.id, first.id]);
    assert_eq!(
        ids(&store, filter(None)).await,
        [stranger.id, joined.id, first.id]
    );
});

store_test!(sql_metacharacters_are_stored_verbatim, |store| {
    let nasty = "50% off_ 'quoted' \"double\" \\back\\ ; DROP TABLE tickets;-- \u{1F600} é";
    let mut new = donor_ticket("d'1\"; --", nasty);
    new.description = Some("under_score and 100%".into());
    let t = create(&store, new).await;
    let plain = create(&store, donor_ticket("d-2", "50 percent off and more")).await;
    let got = TicketRepository::get(&store, t.id).await.unwrap().unwrap();
    assert_eq!(got.title, nasty);
    assert_eq!(got.donor.as_ref().unwrap().donor_id, "d'1\"; --");

    // Searched through the index, the metacharacters are plain text (tests/search.rs).
    let search = |q: &str| TicketFilter {
        search: Some(Query::parse(q).unwrap()),
        ..Default::default()
    };
    assert_eq!(ids(&store, search("50%")).await, [plain.id, t.id]);
    assert_eq!(ids(&store, search("under_score")).await, [t.id]);
    assert_eq!(ids(&store, search("\\back\\")).await, [t.id]);
    assert_eq!(ids(&store, search("'quoted' \"double\"")).await, [t.id]);
    assert!(ids(&store, search("DROP -tickets")).await.is_empty());
    assert_eq!(
        ids(
            &store,
            TicketFilter {
                donor_id: Some("d'1\"; --".into()),
                ..Default::default()
            }
        )
        .await,
        [t.id]
    );

    let message = store
        .post(chat(t.id, Sender::Donor, nasty), None)
        .await
        .unwrap()
        .into_message();
    assert_eq!(
        MessageRepository::get(&store, message.id)
            .await
            .unwrap()
            .unwrap()
            .content,
        nasty
    );
});
