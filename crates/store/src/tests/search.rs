//! Search: the index follows every write in its transaction, matches the same way on both
//! backends, and never reads a client's text as query syntax.

use super::harness::{chat, create, donor_ticket, every_page, staff, store_test, task, TestDb};
use crate::Store;
use chrono::{Duration, Utc};
use concierge_domain::attachment::NewAttachment;
use concierge_domain::message::{Message, Sender};
use concierge_domain::ports::{MessageRepository, TicketRepository};
use concierge_domain::search::{HitKind, Query, SearchService};
use concierge_domain::ticket::{Priority, TicketFilter, TicketStatus};
use concierge_domain::user::Role;
use concierge_domain::{Actor, DomainError, TicketId, UserId};
use std::sync::Arc;

/// A hit in short: `t<ticket>` or `m<message>`.
async fn hits_as(store: &Store, actor: &Actor, q: &str) -> Vec<String> {
    let search = SearchService::new(Arc::new(store.clone()));
    let page = search
        .search(actor, q, Some(100), None)
        .await
        .unwrap_or_else(|e| panic!("{q:?}: {e}"));
    let mut hits: Vec<String> = page
        .items
        .iter()
        .map(|h| match h.kind {
            HitKind::Ticket => format!("t{}", h.ticket_id),
            HitKind::Message => format!("m{}", h.message_id.map_or(0, |m| m.0)),
        })
        .collect();
    hits.sort();
    hits
}

async fn hits(store: &Store, q: &str) -> Vec<String> {
    hits_as(store, &Actor::System, q).await
}

async fn post(store: &Store, ticket: TicketId, text: &str) -> String {
    let posted = MessageRepository::post(store, chat(ticket, Sender::Donor, text), None)
        .await
        .unwrap();
    format!("m{}", posted.message().id)
}

/// A task nobody created.
fn free(title: &str) -> concierge_domain::ticket::NewTicket {
    concierge_domain::ticket::NewTicket {
        creator_id: None,
        ..task(UserId(0), None, title)
    }
}

/// Posts `text` with one file named `name` to `ticket`; the message.
async fn post_file(store: &Store, ticket: TicketId, text: &str, name: &str) -> Message {
    let file = NewAttachment {
        file_name: name.into(),
        content_type: "application/pdf".into(),
        size: 10,
        sha256: "0".repeat(64),
        storage_key: format!("key-{name}"),
    };
    store
        .post_with_files(chat(ticket, Sender::Donor, text), None, vec![file])
        .await
        .unwrap()
        .message()
        .clone()
}

store_test!(case_accents_and_inflections_match, |store| {
    let t = create(&store, free("Printer")).await;
    let m = post(&store, t.id, "We REFUNDED the Crème Brûlée order twice").await;
    for q in [
        "refund",
        "refunds",
        "Refunding",
        "creme",
        "BRULEE",
        "crème brûlée",
        "refu*",
    ] {
        assert_eq!(hits(&store, q).await, vec![m.clone()], "{q}");
    }
    assert!(hits(&store, "printers")
        .await
        .contains(&format!("t{}", t.id)));
});

store_test!(metacharacters_are_plain_text, |store| {
    let t = create(&store, free("Syntax")).await;
    let text = r#"50% off: "NEAR" (c++) AND o'brien's a&b|!c -x *y: col:val ^z {w}"#;
    let m = post(&store, t.id, text).await;
    for q in [
        "NEAR",
        "\"NEAR\"",
        "AND",
        "o'brien's",
        "a&b|!c",
        "50%",
        "(c++)",
        "col:val",
        "^z",
        "{w}",
        "NEAR(c",
    ] {
        assert_eq!(hits(&store, q).await, vec![m.clone()], "{q}");
    }
    // Operators are words, not syntax: this is an AND of four words, one absent.
    assert!(hits(&store, "NEAR OR absentword").await.is_empty());
    assert!(hits(&store, "c AND NOT zzz").await.is_empty());
});

store_test!(
    an_edit_is_found_by_its_new_words_only_and_a_delete_is_gone,
    |store| {
        let t = create(&store, free("Edits")).await;
        let posted =
            MessageRepository::post(&store, chat(t.id, Sender::Donor, "alpha words"), None)
                .await
                .unwrap();
        let id = posted.message().id;
        let m = format!("m{id}");
        assert_eq!(hits(&store, "alpha").await, vec![m.clone()]);
        store
            .edit(id, "beta words".into(), Utc::now())
            .await
            .unwrap();
        assert!(hits(&store, "alpha").await.is_empty());
        assert_eq!(hits(&store, "beta").await, vec![m.clone()]);
        MessageRepository::delete(&store, id).await.unwrap();
        assert!(hits(&store, "beta").await.is_empty());
        assert!(hits(&store, "words").await.is_empty());
    }
);

store_test!(ticket_fields_follow_updates_and_deletes, |store| {
    let mut t = create(&store, free("Gamma issue")).await;
    let m = post(&store, t.id, "delta in the conversation").await;
    assert_eq!(hits(&store, "gamma").await, vec![format!("t{}", t.id)]);
    t.title = "Epsilon issue".into();
    t.description = Some("zeta details".into());
    let t = TicketRepository::update(&store, t, None).await.unwrap();
    assert!(hits(&store, "gamma").await.is_empty());
    assert_eq!(
        hits(&store, "epsilon zeta").await,
        vec![format!("t{}", t.id)]
    );
    assert_eq!(hits(&store, "delta").await, vec![m]);
    TicketRepository::delete(&store, t.id).await.unwrap();
    assert!(hits(&store, "epsilon").await.is_empty());
    assert!(hits(&store, "delta").await.is_empty());
});

store_test!(attachment_names_are_searched_while_attached, |store| {
    let t = create(&store, free("Files")).await;
    let message = post_file(&store, t.id, "see attached", "invoice_march-2026.pdf").await;
    let m = format!("m{}", message.id);
    assert_eq!(hits(&store, "invoice").await, vec![m.clone()]);
    assert_eq!(hits(&store, "march 2026").await, vec![m.clone()]);
    let search = SearchService::new(Arc::new(store.clone()));
    let page = search
        .search(&Actor::System, "invoice", None, None)
        .await
        .unwrap();
    assert_eq!(page.items[0].snippet, "invoice_march-2026.pdf");
    assert_eq!(page.items[0].highlights, vec![(0, 7)]);
    // Editing the text keeps the file's name in the index.
    store
        .edit(message.id, "see the file".into(), Utc::now())
        .await
        .unwrap();
    assert_eq!(hits(&store, "invoice").await, vec![m.clone()]);
    let attachment = message.attachments[0].id;
    store
        .remove_file(message.id, attachment, Utc::now())
        .await
        .unwrap();
    assert!(hits(&store, "invoice").await.is_empty());
    assert_eq!(hits(&store, "see").await, vec![m]);
});

store_test!(phrases_prefixes_exclusions_and_filters, |store| {
    let alice = staff(&store, "alice", "Alice").await;
    let a = create(&store, task(alice.id, Some(alice.id), "Broken scanner")).await;
    let mut urgent = task(alice.id, None, "Broken printer");
    urgent.priority = Priority::Urgent;
    let b = create(&store, urgent).await;
    let ma = post(&store, a.id, "the wrong amount was charged").await;
    let mb = post(&store, b.id, "amount wrong, charged again").await;
    let (ta, tb) = (format!("t{}", a.id), format!("t{}", b.id));
    assert_eq!(hits(&store, "\"wrong amount\"").await, vec![ma.clone()]);
    let mut both = vec![ma.clone(), mb.clone()];
    both.sort();
    assert_eq!(hits(&store, "wrong amount").await, both);
    assert_eq!(hits(&store, "amount -again").await, vec![ma.clone()]);
    assert_eq!(
        hits(&store, "amount -\"charged again\"").await,
        vec![ma.clone()]
    );
    assert_eq!(hits(&store, "broken -scanner").await, vec![tb.clone()]);
    let mut tickets = vec![ta.clone(), tb.clone()];
    tickets.sort();
    assert_eq!(hits(&store, "scan* OR print*").await, Vec::<String>::new());
    assert_eq!(hits(&store, "broke* type:ticket").await, tickets);
    assert!(hits(&store, "broken type:message").await.is_empty());
    assert_eq!(
        hits(&store, "priority:urgent").await,
        vec![tb.clone(), mb.clone()].tap_sort()
    );
    assert_eq!(
        hits(&store, "amount assignee:alice").await,
        vec![ma.clone()]
    );
    assert_eq!(
        hits(&store, &format!("amount assignee:{}", alice.id)).await,
        vec![ma.clone()]
    );
    assert_eq!(hits(&store, "amount assignee:none").await, vec![mb.clone()]);
    let me = Actor::Staff {
        user_id: alice.id,
        role: Role::Agent,
    };
    assert_eq!(
        hits_as(&store, &me, "broken assignee:me").await,
        vec![ta.clone()]
    );
    assert_eq!(
        hits(&store, "broken status:open channel:internal").await,
        tickets
    );
    assert!(hits(&store, "broken status:closed").await.is_empty());
    assert!(hits(&store, "broken channel:donor").await.is_empty());
    let tomorrow = (Utc::now() + Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    let yesterday = (Utc::now() - Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    assert_eq!(
        hits(&store, &format!("broken created:<{tomorrow}")).await,
        tickets
    );
    assert!(hits(&store, &format!("broken created:>{tomorrow}"))
        .await
        .is_empty());
    assert_eq!(
        hits(&store, &format!("broken created:>{yesterday}")).await,
        tickets
    );
    // Filters alone, and an exclusion within them.
    assert_eq!(
        hits(&store, "type:ticket priority:urgent").await,
        vec![tb.clone()]
    );
    assert_eq!(hits(&store, "assignee:alice -charged").await, vec![ta]);
});

trait TapSort {
    fn tap_sort(self) -> Self;
}

impl TapSort for Vec<String> {
    fn tap_sort(mut self) -> Self {
        self.sort();
        self
    }
}

store_test!(a_donor_finds_only_its_own_session, |store| {
    let mine = create(&store, donor_ticket("d-1", "Query from Dana")).await;
    let session = mine.donor.as_ref().and_then(|d| d.session.clone()).unwrap();
    let mut same_session = donor_ticket("d-1", "Query from Dana");
    same_session.donor.as_mut().unwrap().session = Some(session.clone());
    let same_session = create(&store, same_session).await;
    let other_session = create(&store, donor_ticket("d-1", "Query from Dana")).await;
    let other_donor = create(&store, donor_ticket("d-2", "Query from Eve")).await;
    let task = create(&store, free("Internal secret")).await;
    let m1 = post(&store, mine.id, "secret refund").await;
    let m2 = post(&store, same_session.id, "secret refund").await;
    let m3 = post(&store, other_session.id, "secret refund").await;
    let _ = post(&store, other_donor.id, "secret refund").await;
    let _ = post(&store, task.id, "secret refund").await;
    let donor = |verified| Actor::Donor {
        donor_id: "d-1".into(),
        ticket_id: mine.id,
        session: session.clone(),
        identity_verified: verified,
    };
    assert_eq!(
        hits_as(&store, &donor(false), "secret").await,
        vec![m1.clone(), m2.clone()].tap_sort()
    );
    assert_eq!(
        hits_as(&store, &donor(true), "secret").await,
        vec![m1.clone(), m2.clone(), m3].tap_sort()
    );
    // A donor's own filter cannot widen its scope.
    assert!(hits_as(&store, &donor(false), "secret donor:d-2")
        .await
        .is_empty());
    assert_eq!(hits(&store, "secret").await.len(), 6);
});

store_test!(a_page_continues_where_the_last_ended, |store| {
    let t = create(&store, free("Paging")).await;
    for i in 0..5 {
        post(&store, t.id, &format!("omega number {i}")).await;
    }
    let search = SearchService::new(Arc::new(store.clone()));
    let first = search
        .search(&Actor::System, "omega", Some(3), None)
        .await
        .unwrap();
    assert_eq!(first.items.len(), 3);
    let cursor = first.next_cursor.clone().unwrap();
    let second = search
        .search(&Actor::System, "omega", Some(3), Some(&cursor))
        .await
        .unwrap();
    assert_eq!(second.items.len(), 2);
    assert!(second.next_cursor.is_none());
    let mut all: Vec<_> = first
        .items
        .iter()
        .chain(&second.items)
        .map(|h| h.message_id)
        .collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 5);
    assert!(matches!(
        search.search(&Actor::System, "\"open", None, None).await,
        Err(DomainError::Invalid(_))
    ));
});

store_test!(the_migration_indexes_what_existed_before_it, |store| {
    use diesel_migrations::MigrationHarness;
    let t = create(&store, free("Legacy ticket")).await;
    let posted = post_file(&store, t.id, "archived words", "old_scan.pdf").await;
    let m = format!("m{}", posted.id);
    // Reverts the newer migrations, then the search one.
    let mut conn = store.pool().get().unwrap();
    let mut reverted = vec![];
    while reverted.last().map(String::as_str) != Some("20261203170000") {
        assert!(reverted.len() < 10, "no search migration: {reverted:?}");
        reverted.push(match &mut **conn {
            crate::DbConnection::Postgresql(c) => c
                .revert_last_migration(crate::POSTGRES_MIGRATIONS)
                .unwrap()
                .to_string(),
            crate::DbConnection::Sqlite(c) => c
                .revert_last_migration(crate::SQLITE_MIGRATIONS)
                .unwrap()
                .to_string(),
        });
    }
    drop(conn);
    store.run_migrations().await.unwrap();
    assert_eq!(hits(&store, "legacy").await, vec![format!("t{}", t.id)]);
    assert_eq!(hits(&store, "archived").await, vec![m.clone()]);
    assert_eq!(hits(&store, "scan").await, vec![m]);
});

/// The data of the cross-backend test, written the same way to each store.
async fn corpus(store: &Store) {
    let alice = staff(store, "alice", "Alice").await;
    let texts = [
        (
            "Refund request",
            "The refund was refunded twice",
            "Café crème at the café",
        ),
        (
            "Login problems",
            "Cannot log in after the update",
            "password reset e-mail never came",
        ),
        (
            "Donation receipt",
            "The receipt shows the wrong amount",
            "receipts for 2025 and 2026",
        ),
        (
            "Running late",
            "The runner runs; we ran out of runs",
            "c++ & rust: 50% faster (maybe)",
        ),
        (
            "Naïve résumé",
            "über naïve coöperation façade",
            "Ärger mit Übergrößen",
        ),
    ];
    for (i, (title, description, message)) in texts.iter().enumerate() {
        let mut t = task(alice.id, (i % 2 == 0).then_some(alice.id), title);
        t.description = Some(description.to_string());
        t.priority = if i == 3 {
            Priority::High
        } else {
            Priority::Low
        };
        let ticket = create(store, t).await;
        post(store, ticket.id, message).await;
        post(store, ticket.id, &format!("follow-up {i} about {title}")).await;
    }
    let d = create(store, donor_ticket("d-9", "Query from Zed")).await;
    post(store, d.id, "my refund never arrived").await;
    let mut closed = TicketRepository::get(store, d.id).await.unwrap().unwrap();
    closed.close(Utc::now()).unwrap();
    TicketRepository::update(store, closed, None).await.unwrap();
}

const TABLE: [&str; 24] = [
    "refund",
    "refunds",
    "REFUNDED",
    "cafe",
    "creme",
    "receipt",
    "receipts wrong",
    "\"wrong amount\"",
    "\"amount wrong\"",
    "run",
    "running",
    "runner",
    "ran",
    "rec*",
    "log* -password",
    "e-mail",
    "c++",
    "50%",
    "naive resume",
    "uber cooperation facade",
    "follow-up type:message priority:high",
    "status:closed",
    "channel:donor refund",
    "assignee:alice -refund",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_backends_give_the_same_hits_for_a_table_of_queries() {
    let Some(pg) = TestDb::postgres().await else {
        return;
    };
    let sqlite = TestDb::sqlite().await;
    corpus(&sqlite.store).await;
    corpus(&pg.store).await;
    let mut found = 0;
    for q in TABLE {
        let a = hits(&sqlite.store, q).await;
        let b = hits(&pg.store, q).await;
        assert_eq!(a, b, "{q}: SQLite found {a:?}, PostgreSQL {b:?}");
        found += usize::from(!a.is_empty());
    }
    // The table is no test if it finds nothing: all but the stemming mismatches find hits.
    assert!(
        found >= TABLE.len() - 2,
        "only {found} queries found anything"
    );
}

store_test!(odd_letters_and_marks_never_fail_a_query, |store| {
    let t = create(&store, free("Unicode")).await;
    let m = post(&store, t.id, "ǂhoan Ⅻ ℌ ᾅ ٣ 𝔘 e\u{301}tude 㐀 x\u{200d}y").await;
    let search = SearchService::new(Arc::new(store.clone()));
    for q in [
        "ǂhoan",
        "Ⅻ",
        "ℌ",
        "ᾅ",
        "٣",
        "𝔘",
        "e\u{301}tude",
        "etude",
        "㐀",
        "x\u{200d}y",
        "ǂ*",
        "𝔘𝔘*",
        "\u{301}",
        "-ǂ refund",
        "ǂ -ǂ",
        "\u{10ffff}a",
    ] {
        let result = search.search(&Actor::System, q, None, None).await;
        assert!(
            matches!(result, Ok(_) | Err(DomainError::Invalid(_))),
            "{q:?}: {result:?}"
        );
    }
    assert_eq!(hits(&store, "ǂhoan").await, vec![m]);
});

/// The ids a ticket list finds for `q` with `filter`'s other fields, newest first, a few at a
/// time (each page one query).
async fn listed(store: &Store, filter: TicketFilter, q: &str) -> Vec<TicketId> {
    let filter = TicketFilter {
        search: Some(Query::parse(q).unwrap_or_else(|e| panic!("{q:?}: {e}"))),
        ..filter
    };
    let mut ids = vec![];
    for page in every_page(2, |request| {
        TicketRepository::list(store, filter.clone(), request)
    })
    .await
    {
        ids.extend(page.items.iter().map(|t| t.id));
    }
    ids
}

store_test!(a_list_finds_tickets_through_their_messages, |store| {
    let any = TicketFilter::default;
    let a = create(&store, free("Card charged twice")).await;
    post(&store, a.id, "We refunded the second payment").await;
    let b = create(&store, free("Login trouble")).await;
    post(&store, b.id, "The refund arrived, thanks; a wrong amount").await;
    let c = create(&store, free("Refund request")).await;
    let d = create(&store, free("Files only")).await;
    post_file(&store, d.id, "see attached", "receipt_2026.pdf").await;
    let resolved = concierge_domain::ticket::NewTicket {
        status: TicketStatus::Resolved,
        ..free("Refund of a test order")
    };
    let e = create(&store, resolved).await;

    // A message's words find its ticket, once however many of its messages match.
    post(&store, a.id, "refund done").await;
    assert_eq!(
        listed(&store, any(), "refund").await,
        [e.id, c.id, b.id, a.id]
    );
    assert_eq!(listed(&store, any(), "charged").await, [a.id]);
    assert_eq!(listed(&store, any(), "\"wrong amount\"").await, [b.id]);
    assert!(listed(&store, any(), "\"amount wrong\"").await.is_empty());
    assert_eq!(listed(&store, any(), "recei*").await, [d.id]);
    // An exclusion leaves out a hit, as on /search: `e` is a hit for neither.
    assert_eq!(
        listed(&store, any(), "refund -test").await,
        [c.id, b.id, a.id]
    );
    // The query's filters and type:, and the list's own filters, all apply.
    assert_eq!(
        listed(&store, any(), "refund type:ticket").await,
        [e.id, c.id]
    );
    assert_eq!(
        listed(&store, any(), "refund type:message").await,
        [b.id, a.id]
    );
    assert_eq!(
        listed(&store, any(), "refund status:RESOLVED").await,
        [e.id]
    );
    let open = TicketFilter {
        statuses: vec![TicketStatus::Open],
        ..any()
    };
    assert_eq!(listed(&store, open, "refund").await, [c.id, b.id, a.id]);
    // Metacharacters of LIKE, FTS5 and tsquery are plain text.
    for q in [
        "refund%",
        "refund_",
        "refund:",
        "refund|!",
        "(refund) OR x*y",
        "'refund'",
    ] {
        let want: &[TicketId] = if q.contains("x*y") {
            &[]
        } else {
            &[e.id, c.id, b.id, a.id]
        };
        assert_eq!(listed(&store, any(), q).await, want, "{q:?}");
    }
});
