//! The push ledger: the cursor (the followers' ledger's `push` row) and the retry queue move
//! only under an unexpired lease.

use super::harness::store_test;
use crate::Store;
use chrono::{DateTime, Duration, Utc};
use concierge_domain::notification::{PendingPush, PushMessage};
use concierge_domain::ports::{FollowerLedger, PushLedger, PUSH_FOLLOWER};
use std::collections::BTreeMap;

fn pending(key: &str, due: DateTime<Utc>) -> PendingPush {
    let mut data = BTreeMap::new();
    data.insert("seq".to_string(), "7".to_string());
    data.insert("event".to_string(), "new_message".to_string());
    PendingPush {
        key: key.to_string(),
        seq: 7,
        message: PushMessage {
            token: format!("token-{key}"),
            title: "New reply".into(),
            body: "Hello".into(),
            data,
        },
        attempts: 1,
        next_attempt_at: due,
        give_up_at: due + Duration::hours(6),
    }
}

fn soon() -> DateTime<Utc> {
    Utc::now() + Duration::seconds(30)
}

async fn keys_due(store: &Store) -> Vec<String> {
    store
        .retries_due(Utc::now() + Duration::days(1), 100)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.key)
        .collect()
}

store_test!(
    only_the_lease_holder_moves_the_cursor_and_queues_retries,
    |store| {
        assert!(store
            .lease(PUSH_FOLLOWER.into(), "a".into(), soon())
            .await
            .unwrap());
        assert!(
            !store
                .lease(PUSH_FOLLOWER.into(), "b".into(), soon())
                .await
                .unwrap(),
            "a holds it"
        );

        let now = Utc::now();
        let written = store
            .save_progress("b".into(), 50, vec![pending("7:b", now)])
            .await
            .unwrap();
        assert!(!written, "b does not hold the lease");
        assert_eq!(store.cursor(PUSH_FOLLOWER.into()).await.unwrap(), None);
        assert!(
            keys_due(&store).await.is_empty(),
            "nothing of b's was written"
        );

        let due = now - Duration::seconds(1);
        let row = pending("7:a", due);
        assert!(store
            .save_progress("a".into(), 50, vec![row.clone()])
            .await
            .unwrap());
        assert_eq!(store.cursor(PUSH_FOLLOWER.into()).await.unwrap(), Some(50));
        let back = store.retries_due(Utc::now(), 10).await.unwrap();
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].message, row.message, "the payload comes back whole");
        assert_eq!(back[0].attempts, 1);
        assert_eq!(
            back[0].next_attempt_at.timestamp_micros(),
            due.timestamp_micros()
        );

        // A key queued twice keeps its first row.
        let again = PendingPush {
            attempts: 9,
            ..pending("7:a", due)
        };
        assert!(store
            .save_progress("a".into(), 60, vec![again])
            .await
            .unwrap());
        assert_eq!(
            store.retries_due(Utc::now(), 10).await.unwrap()[0].attempts,
            1
        );
        assert_eq!(store.cursor(PUSH_FOLLOWER.into()).await.unwrap(), Some(60));

        // Neither may b reschedule or drop it.
        let later = Utc::now() + Duration::minutes(5);
        assert!(!store
            .retry_later("b".into(), "7:a".into(), 2, later)
            .await
            .unwrap());
        assert!(!store.retry_done("b".into(), "7:a".into()).await.unwrap());
        assert_eq!(keys_due(&store).await, ["7:a"]);
    }
);

store_test!(
    a_holder_whose_lease_ran_out_writes_nothing_even_before_anyone_takes_over,
    |store| {
        assert!(store
            .lease(PUSH_FOLLOWER.into(), "a".into(), soon())
            .await
            .unwrap());
        let due = Utc::now() - Duration::seconds(1);
        assert!(store
            .save_progress("a".into(), 10, vec![pending("7:x", due)])
            .await
            .unwrap());
        // a's lease runs out (it renews into the past, as a stalled holder's clock would).
        assert!(store
            .lease(
                PUSH_FOLLOWER.into(),
                "a".into(),
                Utc::now() - Duration::milliseconds(1)
            )
            .await
            .unwrap());

        assert!(!store
            .save_progress("a".into(), 20, vec![pending("7:y", due)])
            .await
            .unwrap());
        assert!(!store
            .retry_later("a".into(), "7:x".into(), 5, soon())
            .await
            .unwrap());
        assert!(!store.retry_done("a".into(), "7:x".into()).await.unwrap());
        assert_eq!(store.cursor(PUSH_FOLLOWER.into()).await.unwrap(), Some(10));
        let rows = store.retries_due(Utc::now(), 10).await.unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0].key.as_str(), rows[0].attempts), ("7:x", 1));

        // b takes the expired lease over and carries on from there.
        assert!(store
            .lease(PUSH_FOLLOWER.into(), "b".into(), soon())
            .await
            .unwrap());
        assert!(!store
            .lease(PUSH_FOLLOWER.into(), "a".into(), soon())
            .await
            .unwrap());
        assert!(store.save_progress("b".into(), 20, vec![]).await.unwrap());
        assert_eq!(store.cursor(PUSH_FOLLOWER.into()).await.unwrap(), Some(20));
    }
);

store_test!(
    the_retry_queue_gives_due_rows_earliest_first_and_forgets_finished_ones,
    |store| {
        assert!(store
            .lease(PUSH_FOLLOWER.into(), "a".into(), soon())
            .await
            .unwrap());
        assert_eq!(store.next_retry().await.unwrap(), None);
        let now = Utc::now();
        let rows = vec![
            pending("1:late", now + Duration::minutes(10)),
            pending("2:first", now - Duration::seconds(20)),
            pending("3:second", now - Duration::seconds(10)),
        ];
        assert!(store.save_progress("a".into(), 3, rows).await.unwrap());
        let next = store.next_retry().await.unwrap().unwrap();
        assert_eq!(
            next.timestamp_micros(),
            (now - Duration::seconds(20)).timestamp_micros()
        );
        let due: Vec<String> = store
            .retries_due(Utc::now(), 10)
            .await
            .unwrap()
            .into_iter()
            .map(|p| p.key)
            .collect();
        assert_eq!(due, ["2:first", "3:second"], "not yet due rows stay out");
        assert_eq!(store.retries_due(Utc::now(), 1).await.unwrap().len(), 1);

        let later = Utc::now() + Duration::minutes(1);
        assert!(store
            .retry_later("a".into(), "2:first".into(), 2, later)
            .await
            .unwrap());
        assert!(store
            .retry_done("a".into(), "3:second".into())
            .await
            .unwrap());
        assert!(store.retries_due(Utc::now(), 10).await.unwrap().is_empty());
        let all = store
            .retries_due(Utc::now() + Duration::days(1), 10)
            .await
            .unwrap();
        let keys: Vec<(&str, u32)> = all.iter().map(|p| (p.key.as_str(), p.attempts)).collect();
        assert_eq!(keys, [("2:first", 2), ("1:late", 1)]);
    }
);

store_test!(a_released_lease_is_taken_over_at_once, |store| {
    assert!(store
        .lease(PUSH_FOLLOWER.into(), "a".into(), soon())
        .await
        .unwrap());
    store
        .release(PUSH_FOLLOWER.into(), "b".into())
        .await
        .unwrap();
    assert!(
        !store
            .lease(PUSH_FOLLOWER.into(), "b".into(), soon())
            .await
            .unwrap(),
        "only a may release it"
    );
    store
        .release(PUSH_FOLLOWER.into(), "a".into())
        .await
        .unwrap();
    assert!(!store.save_progress("a".into(), 5, vec![]).await.unwrap());
    assert!(store
        .lease(PUSH_FOLLOWER.into(), "b".into(), soon())
        .await
        .unwrap());
    assert!(store.save_progress("b".into(), 5, vec![]).await.unwrap());
    assert_eq!(store.cursor(PUSH_FOLLOWER.into()).await.unwrap(), Some(5));
});

store_test!(
    a_takeover_waits_for_the_holders_write_in_flight_and_then_sees_it,
    |store| {
        use crate::schema_followers::follower_state;
        use diesel::prelude::*;

        let until = Utc::now() + Duration::milliseconds(300);
        assert!(store
            .lease(PUSH_FOLLOWER.into(), "a".into(), until)
            .await
            .unwrap());
        let (checked_tx, checked_rx) = std::sync::mpsc::channel::<()>();
        let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
        let pool = store.pool().clone();
        // a's write: the lease checked (and its row locked), then a pause before the cursor.
        let writer = tokio::task::spawn_blocking(move || {
            let mut conn = pool.get().unwrap();
            crate::tx::write(&mut conn, |c| {
                assert!(crate::followers::holds(c, PUSH_FOLLOWER, "a")?);
                checked_tx.send(()).unwrap();
                go_rx.recv().unwrap();
                diesel::update(follower_state::table.find("push"))
                    .set(follower_state::cursor.eq(99i64))
                    .execute(c)?;
                Ok(())
            })
            .unwrap();
        });
        tokio::task::spawn_blocking(move || checked_rx.recv().unwrap())
            .await
            .unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(400)).await;
        assert!(until < Utc::now(), "a's lease has run out meanwhile");

        let taker = store.clone();
        let taking = tokio::spawn(async move {
            taker
                .lease(
                    PUSH_FOLLOWER.into(),
                    "b".into(),
                    Utc::now() + Duration::seconds(30),
                )
                .await
                .unwrap()
        });
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert!(!taking.is_finished(), "the takeover waits for a's write");
        go_tx.send(()).unwrap();
        writer.await.unwrap();
        assert!(taking.await.unwrap(), "then b takes the lease");
        assert_eq!(
            store.cursor(PUSH_FOLLOWER.into()).await.unwrap(),
            Some(99),
            "and sees a's cursor"
        );
    }
);

store_test!(followers_lead_and_advance_independently, |store| {
    assert!(store
        .lease("push".into(), "a".into(), soon())
        .await
        .unwrap());
    assert!(store
        .lease("webhooks".into(), "b".into(), soon())
        .await
        .unwrap());
    assert!(!store
        .advance("webhooks".into(), "a".into(), 7)
        .await
        .unwrap());
    assert!(store
        .advance("webhooks".into(), "b".into(), 7)
        .await
        .unwrap());
    assert!(store.save_progress("a".into(), 3, vec![]).await.unwrap());
    assert_eq!(store.cursor("webhooks".into()).await.unwrap(), Some(7));
    assert_eq!(store.cursor("push".into()).await.unwrap(), Some(3));
    assert_eq!(store.cursor("sla".into()).await.unwrap(), None);
    store.release("push".into(), "a".into()).await.unwrap();
    assert!(
        !store
            .lease("webhooks".into(), "a".into(), soon())
            .await
            .unwrap(),
        "releasing one follower leaves the others led"
    );
});
