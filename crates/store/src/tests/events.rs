use super::harness::{chat, create, donor_ticket, settle, staff, store_test, TestDb};
use crate::connection::DbConnection;
use crate::events;
use crate::Store;
use concierge_domain::event::{EventKind, NewEvent, StoredEvent};
use concierge_domain::message::Sender;
use concierge_domain::ports::{EventLog, MessageRepository, TicketRepository};
use concierge_domain::{DomainError, TicketId};
use concierge_server::wire::EventWire;
use diesel::connection::TransactionManager;
use diesel::prelude::*;
use std::time::Duration;

/// What the tests append with (no audit context).
fn outbox() -> crate::audit::Outbox {
    crate::audit::Outbox::new(std::sync::Arc::new(EventWire), false)
}

/// An event the tests can tell apart by its payload's `id` (`n`).
fn marker(n: i64) -> NewEvent {
    NewEvent::ticket_deleted(TicketId(n))
}

fn begin(conn: &mut DbConnection) {
    <DbConnection as TransactionManager<DbConnection>>::begin_transaction(conn).unwrap();
}

fn commit(conn: &mut DbConnection) {
    <DbConnection as TransactionManager<DbConnection>>::commit_transaction(conn).unwrap();
}

/// The seq of the last event the connection can see (its own uncommitted ones included).
fn last_seq(conn: &mut DbConnection) -> i64 {
    crate::schema::events::table
        .select(diesel::dsl::max(crate::schema::events::seq))
        .get_result::<Option<i64>>(conn)
        .unwrap()
        .unwrap()
}

/// Every stored event in seq order, ignoring the readable horizon (for checks after the fact).
fn raw_log(store: &Store) -> Vec<i64> {
    let mut conn = store.pool().get().unwrap();
    crate::schema::events::table
        .select(crate::schema::events::seq)
        .order(crate::schema::events::seq.asc())
        .load(&mut **conn)
        .unwrap()
}

/// Reads until `until` appears, from `after`, in pages of `page`.
async fn tail_until(store: &Store, mut after: i64, until: i64, page: u32) -> Vec<StoredEvent> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut seen = vec![];
    while after < until {
        let batch = store.read_after(after, None, page).await.unwrap();
        assert!(batch.len() <= page as usize);
        match batch.last() {
            Some(last) => after = last.seq,
            None => {
                assert!(tokio::time::Instant::now() < deadline, "the log stalled");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        seen.extend(batch);
    }
    seen
}

/// The PostgreSQL case that a sequence gets wrong: T1 appends first but commits last.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_order_commits_are_not_skipped_postgres() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let store = db.store.clone();
    let start = settle(&store).await;

    let mut t1 = store.pool().get().unwrap();
    let mut t2 = store.pool().get().unwrap();
    begin(&mut t1);
    events::append(&mut t1, &outbox(), vec![marker(1)]).unwrap();
    let seq1 = last_seq(&mut t1);
    begin(&mut t2);
    events::append(&mut t2, &outbox(), vec![marker(2), marker(3)]).unwrap();
    let seq2 = last_seq(&mut t2);
    commit(&mut t2);
    assert!(seq1 < seq2, "T1 took its number first");

    // T2 has committed, but T1 is still open: nothing at or after T1's seq is readable.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let visible = store.read_after(start, None, 100).await.unwrap();
    assert!(visible.iter().all(|e| e.seq < seq1), "{visible:?}");
    let head = store.head().await.unwrap();
    assert!(head < seq1);
    assert!(head >= start);

    commit(&mut t1);
    drop((t1, t2));
    let after = tail_until(&store, head, seq2, 100).await;
    let markers: Vec<i64> = after.iter().filter_map(|e| e.data["id"].as_i64()).collect();
    assert_eq!(markers, [1, 2, 3], "T1's event, then T2's: none skipped");
    assert_eq!(after.last().unwrap().seq, seq2);
    assert_eq!(store.head().await.unwrap(), seq2);
}

/// Appending and reading reuse one prepared statement each on a connection: the `seq` and the
/// horizon are SQL functions, not SQL literals, which diesel would parse and plan every time.
#[tokio::test]
async fn event_log_statements_are_prepared_once_postgres() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let mut conn = db.store.pool().get().unwrap();
    for n in 0..3 {
        begin(&mut conn);
        events::append(&mut conn, &outbox(), vec![marker(n)]).unwrap();
        commit(&mut conn);
        events::read_after(&mut conn, 0, None, 10).unwrap();
    }
    #[derive(QueryableByName)]
    struct Prepared {
        #[diesel(sql_type = diesel::sql_types::Text)]
        statement: String,
    }
    let DbConnection::Postgresql(pg) = &mut **conn else {
        panic!("a PostgreSQL store");
    };
    let prepared: Vec<String> = diesel::sql_query("SELECT statement FROM pg_prepared_statements")
        .load::<Prepared>(pg)
        .unwrap()
        .into_iter()
        .map(|p| p.statement)
        .collect();
    let count = |needle: &str| prepared.iter().filter(|s| s.contains(needle)).count();
    assert_eq!(count("concierge_event_seq"), 1, "{prepared:#?}");
    assert_eq!(count("concierge_event_horizon"), 1, "{prepared:#?}");
}

/// On SQLite the second writer waits for the first (IMMEDIATE transactions), so commit order
/// is seq order and there is nothing to skip.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_writers_are_serialised() {
    let db = TestDb::sqlite().await;
    let store = db.store.clone();
    let pool = store.pool().clone();
    let (held_tx, held_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let first = std::thread::spawn(move || {
        let mut conn = pool.get().unwrap();
        crate::tx::write(&mut conn, |conn| {
            events::append(conn, &outbox(), vec![marker(1)])?;
            held_tx.send(()).unwrap();
            release_rx.recv().unwrap();
            Ok(())
        })
        .unwrap();
    });
    held_rx.recv().unwrap();
    let second = {
        let store = store.clone();
        tokio::spawn(async move { create(&store, donor_ticket("d", "second")).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !second.is_finished(),
        "the second writer waits for the first"
    );
    assert_eq!(
        store.head().await.unwrap(),
        0,
        "uncommitted events are not readable"
    );
    release_tx.send(()).unwrap();
    first.join().unwrap();
    second.await.unwrap();
    let log = store.read_after(0, None, 10).await.unwrap();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].data["id"], 1);
    assert_eq!(log[1].kind, EventKind::TicketCreated);
}

store_test!(reads_page_and_filter_by_ticket, |store| {
    assert_eq!(store.head().await.unwrap(), 0);
    assert!(store.read_after(0, None, 10).await.unwrap().is_empty());
    let a = create(&store, donor_ticket("d-1", "a")).await;
    let b = create(&store, donor_ticket("d-2", "b")).await;
    for i in 0..4 {
        let t = if i % 2 == 0 { a.id } else { b.id };
        store.post(chat(t, Sender::Donor, "x"), None).await.unwrap();
    }
    let end = settle(&store).await;
    let all = store.read_after(0, None, 100).await.unwrap();
    assert_eq!(all.len(), 7);
    assert!(all.windows(2).all(|w| w[0].seq < w[1].seq));
    assert_eq!(all.last().unwrap().seq, end);
    assert_eq!(store.head().await.unwrap(), end);

    let first_two = store.read_after(0, None, 2).await.unwrap();
    assert_eq!(first_two, all[..2]);
    let next = store.read_after(first_two[1].seq, None, 2).await.unwrap();
    assert_eq!(next, all[2..4]);

    let of_a = store.read_after(0, Some(a.id), 100).await.unwrap();
    assert_eq!(of_a.len(), 3);
    assert!(of_a.iter().all(|e| e.ticket_id == Some(a.id)));
    assert!(store.read_after(end, None, 100).await.unwrap().is_empty());
    let mut rx = store.subscribe();
    rx.borrow_and_update();
    create(&store, donor_ticket("d-3", "c")).await;
    assert!(
        rx.has_changed().unwrap(),
        "committed writes wake subscribers"
    );
});

store_test!(a_transaction_may_append_at_most_4096_events, |store| {
    let pool = store.pool().clone();
    let result = tokio::task::spawn_blocking(move || {
        let mut conn = pool.get().unwrap();
        crate::tx::write(&mut conn, |conn| {
            events::append(conn, &outbox(), (0..4097).map(marker).collect())
        })
    })
    .await
    .unwrap();
    if store.backend() == crate::Backend::Postgres {
        assert!(matches!(
            result,
            Err(crate::error::Error::Domain(DomainError::Storage(_)))
        ));
        assert_eq!(store.head().await.unwrap(), 0, "rolled back");
    } else {
        // SQLite numbers by rowid and has no such limit.
        assert!(result.is_ok());
    }
});

store_test!(
    a_second_append_in_one_transaction_fails_instead_of_renumbering,
    |store| {
        let pool = store.pool().clone();
        let result = tokio::task::spawn_blocking(move || {
            let mut conn = pool.get().unwrap();
            crate::tx::write(&mut conn, |conn| {
                events::append(conn, &outbox(), vec![marker(1)])?;
                events::append(conn, &outbox(), vec![marker(2)])
            })
        })
        .await
        .unwrap();
        if store.backend() == crate::Backend::Postgres {
            assert!(result.is_err(), "the same ordinal twice is refused");
            assert_eq!(store.head().await.unwrap(), 0, "rolled back");
        } else {
            assert!(result.is_ok());
        }
    }
);

// Random concurrent writers (some losing optimistic races) while a reader tails the log: the
// reader sees exactly the committed events, in seq order, each once.
store_test!(a_tailing_reader_sees_every_committed_event_once, |store| {
    let ann = staff(&store, "ann", "Ann").await;
    let tickets: Vec<TicketId> = {
        let mut ids = vec![];
        for i in 0..4 {
            ids.push(create(&store, donor_ticket("d", &format!("t{i}"))).await.id);
        }
        ids
    };
    let start = settle(&store).await;

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (store, stop) = (store.clone(), stop.clone());
        tokio::spawn(async move {
            let mut after = start;
            let mut seen: Vec<StoredEvent> = vec![];
            loop {
                let done = stop.load(std::sync::atomic::Ordering::SeqCst);
                let batch = store.read_after(after, None, 7).await.unwrap();
                if let Some(last) = batch.last() {
                    after = last.seq;
                }
                let empty = batch.is_empty();
                seen.extend(batch);
                if done && empty {
                    return seen;
                }
                if empty {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
            }
        })
    };

    let writers: Vec<_> = (0..6u64)
        .map(|w| {
            let (store, tickets) = (store.clone(), tickets.clone());
            let ann = ann.id;
            tokio::spawn(async move {
                let mut committed = 0usize;
                for i in 0..15u64 {
                    let ticket = tickets[((w * 7 + i * 3) % 4) as usize];
                    match (w + i) % 3 {
                        0 => {
                            store
                                .post(chat(ticket, Sender::Donor, "hi"), None)
                                .await
                                .unwrap();
                            committed += 1;
                        }
                        1 => {
                            let t = TicketRepository::get(&store, ticket)
                                .await
                                .unwrap()
                                .unwrap();
                            let mut changed = t.clone();
                            changed.title = format!("w{w} i{i}");
                            let note = concierge_domain::message::NewMessage::system(
                                ticket,
                                "renamed",
                                chrono::Utc::now(),
                            );
                            match store.update(changed, Some(note)).await {
                                Ok(_) => committed += 2,
                                Err(DomainError::ConcurrentUpdate) => {}
                                Err(e) => panic!("{e:?}"),
                            }
                        }
                        _ => {
                            let (_, m) = store
                                .create(
                                    donor_ticket("d", "new"),
                                    Some(chat(TicketId(0), Sender::Staff(ann), "first")),
                                )
                                .await
                                .unwrap();
                            assert!(m.is_some());
                            committed += 2;
                        }
                    }
                }
                committed
            })
        })
        .collect();
    let mut committed = 0;
    for w in writers {
        committed += w.await.unwrap();
    }
    let end = settle(&store).await;
    let _ = end;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let seen = reader.await.unwrap();

    let seen_seqs: Vec<i64> = seen.iter().map(|e| e.seq).collect();
    assert!(
        seen_seqs.windows(2).all(|w| w[0] < w[1]),
        "in order, no repeats"
    );
    let stored: Vec<i64> = raw_log(&store).into_iter().filter(|s| *s > start).collect();
    assert_eq!(seen_seqs, stored, "the tail saw every committed event");
    // Plus the settle marker's ticket_created.
    assert_eq!(seen.len(), committed + 1);
});

store_test!(head_and_reads_of_an_unknown_ticket, |store| {
    let t = create(&store, donor_ticket("d", "t")).await;
    MessageRepository::post(&store, chat(t.id, Sender::Donor, "x"), None)
        .await
        .unwrap();
    settle(&store).await;
    assert!(store
        .read_after(0, Some(TicketId(404)), 10)
        .await
        .unwrap()
        .is_empty());
    assert!(store.head().await.unwrap() > 0);
});

/// Two instances on one PostgreSQL database: a write through one wakes the other's subscribers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_instances_are_woken_postgres() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let writer = db.store.clone();
    writer.listen().unwrap(); // announces its writes
    let reader = Store::connect(super::harness::config(db.url.clone()))
        .await
        .unwrap();
    let mut woken = reader.subscribe();
    reader.listen().unwrap();
    reader.listen().unwrap(); // once is enough; twice is harmless
                              // The listener wakes once when it connects; wait for that, then for the write.
    tokio::time::timeout(Duration::from_secs(10), woken.changed())
        .await
        .unwrap()
        .unwrap();
    create(&writer, donor_ticket("d", "from the other instance")).await;
    tokio::time::timeout(Duration::from_secs(10), woken.changed())
        .await
        .expect("woken by the other instance's NOTIFY")
        .unwrap();
    drop(reader);
}
