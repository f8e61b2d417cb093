//! A rough measurement, not a check: `cargo test -p concierge-store --release throughput --
//! --ignored --nocapture` (with `TEST_POSTGRES_URL` for PostgreSQL).

use super::harness::{chat, create, donor_ticket, settle, store_test};
use concierge_domain::message::Sender;
use concierge_domain::ports::{EventLog, MessageRepository};
use std::time::Instant;

store_test!(
    #[ignore = "a measurement; run with --ignored --nocapture"]
    throughput,
    |store| {
        let tickets: Vec<_> = {
            let mut v = vec![];
            for i in 0..8 {
                v.push(create(&store, donor_ticket("d", &format!("t{i}"))).await.id);
            }
            v
        };
        let start = settle(&store).await;
        let (writers, per_writer) = (8usize, 250usize);
        let started = Instant::now();
        let tasks: Vec<_> = (0..writers)
            .map(|w| {
                let (store, ticket) = (store.clone(), tickets[w]);
                tokio::spawn(async move {
                    for _ in 0..per_writer {
                        store
                            .post(chat(ticket, Sender::Donor, "hello"), None)
                            .await
                            .unwrap();
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        let posts = writers * per_writer;
        let write_secs = started.elapsed().as_secs_f64();
        settle(&store).await;
        let started = Instant::now();
        let (mut after, mut read) = (start, 0usize);
        loop {
            let batch = store.read_after(after, None, 500).await.unwrap();
            let Some(last) = batch.last() else { break };
            after = last.seq;
            read += batch.len();
        }
        let read_secs = started.elapsed().as_secs_f64();
        eprintln!(
            "{}: {posts} posts by {writers} writers in {write_secs:.2}s = {:.0} posts/s; \
             tailed {read} events in {read_secs:.3}s = {:.0} events/s",
            store.backend(),
            posts as f64 / write_secs,
            read as f64 / read_secs,
        );
    }
);
