//! The WebSocket gateway over real sockets: live delivery, isolation, resume, slow consumers,
//! bad frames, several instances, shutdown.

use super::*;
use concierge_e2e::{Backend, WsItem};
use std::collections::HashSet;

/// Reads until the next `new_message` event of a CHAT message and returns it. The QUERY message
/// that opened the ticket is skipped: a socket that joined right after the ticket was created
/// may or may not get it, depending on whether the event tail had reached it yet.
async fn next_message(ws: &mut concierge_e2e::Ws) -> serde_json::Value {
    loop {
        let frame = ws.next_of("event", 10).await;
        if frame["event"] == "new_message" && frame["data"]["messageType"] != "QUERY" {
            return frame;
        }
    }
}

e2e!(
    donor_and_admin_see_each_others_messages_typing_and_status,
    |app: TestApp| async move {
        let (id, donor_token) = app.donor_query("d-1", "Help").await;
        let mut donor = app.ws(None).await;
        let ready = donor.auth(&donor_token).await;
        assert_eq!(ready["role"], "DONOR");
        assert_eq!(ready["ticketId"], id);
        let mut admin = app.ws(Some(&app.admin_token)).await;
        let ready = admin.next_of("ready", 10).await;
        assert_eq!(ready["role"], "SUPER_ADMIN");
        admin.join(id, None).await;

        // The donor sends over the socket: acknowledged after commit, delivered to the admin.
        donor
            .send(
                json!({"type": "send_message", "requestId": "r1", "ticketId": id,
                      "content": "Are you there?", "clientMessageId": "c-9"}),
            )
            .await;
        let reply = donor.next_of("reply", 10).await;
        assert_eq!(
            (reply["requestId"].as_str(), reply["ok"].as_bool()),
            (Some("r1"), Some(true))
        );
        let seen = next_message(&mut admin).await;
        assert_eq!(seen["data"]["content"], "Are you there?");
        assert_eq!(seen["data"]["id"], reply["data"]["id"]);

        // The admin replies over HTTP (curl's way): the donor's socket gets it.
        app.say(id, &app.admin_token, "Yes!").await;
        // The donor's socket first sees its own message (every device of a side stays in step).
        assert_eq!(
            next_message(&mut donor).await["data"]["content"],
            "Are you there?"
        );
        let seen = next_message(&mut donor).await;
        assert_eq!(seen["data"]["content"], "Yes!");
        assert_eq!(seen["data"]["senderType"], "STAFF");

        // Typing is relayed to the other side, not echoed.
        admin
            .send(json!({"type": "typing", "ticketId": id, "isTyping": true}))
            .await;
        let typing = donor.next_of("user_typing", 10).await;
        assert_eq!(typing["isTyping"], true);
        assert_eq!(typing["user"]["role"], "SUPER_ADMIN");

        // A status change reaches the donor.
        app.ticket_action(id, "resolve", &app.admin_token, json!({}))
            .await
            .expect(200);
        // (The reply moved the ticket to PENDING_REPLY first; wait for the resolve.)
        loop {
            let frame = donor.next_of("event", 10).await;
            if frame["event"] == "ticket_updated" && frame["data"]["status"] == "RESOLVED" {
                break;
            }
        }
    }
);

e2e!(
    a_donor_cannot_join_or_hear_another_ticket,
    |app: TestApp| async move {
        let (mine, my_token) = app.donor_query("d-a", "Mine").await;
        let (theirs, their_token) = app.donor_query("d-b", "Theirs").await;
        let mut ws = app.ws_ready(&my_token).await;
        ws.send(json!({"type": "join", "ticketId": theirs})).await;
        let refused = ws.next_json(10).await;
        assert_eq!(refused["type"], "error");
        assert_eq!(refused["error"]["status"], 404);
        // Their message never arrives; my own next message is the next event I see.
        app.say(theirs, &their_token, "secret").await;
        app.say(mine, &my_token, "fence").await;
        let next = next_message(&mut ws).await;
        assert_eq!(next["data"]["content"], "fence");
        assert_eq!(next["ticketId"], mine);
        // Typing into a room one is not in is refused too.
        ws.send(json!({"type": "typing", "ticketId": theirs, "isTyping": true}))
            .await;
        assert_eq!(ws.next_of("error", 10).await["error"]["status"], 422);
    }
);

#[tokio::test]
async fn an_unauthenticated_socket_gets_nothing_and_is_closed() {
    let app = TestApp::spawn_with(Backend::Sqlite, &[("WS_AUTH_TIMEOUT", "1s")])
        .await
        .unwrap();
    let (id, token) = app.donor_query("d-x", "Hi").await;
    let mut ws = app.ws(None).await;
    ws.send(json!({"type": "join", "ticketId": id})).await;
    let refused = ws.next_json(10).await;
    assert_eq!(refused["error"]["status"], 401);
    app.say(id, &token, "not for you").await;
    match ws.next_item(10).await {
        WsItem::Closed(code) => assert_eq!(code, 4401),
        other => panic!("expected close 4401, got {other:?}"),
    }
    // A refused token closes at once with 4401 too.
    let mut ws = app.ws(None).await;
    ws.send(json!({"type": "auth", "token": "not-a-token"}))
        .await;
    assert!(matches!(ws.next_item(10).await, WsItem::Closed(4401)));
    // And a bad token on the upgrade request is a plain 401.
    let refused = app
        .client
        .get(format!("{}/ws", app.api))
        .bearer_auth("nope")
        .header("connection", "upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
}

e2e!(
    resume_with_since_gets_exactly_what_was_missed_then_live,
    |app: TestApp| async move {
        let (id, donor) = app.donor_query("d-r", "Start").await;
        let mut ws = app.ws_ready(&app.admin_token).await;
        let (_, joined) = ws.join(id, None).await;
        app.say(id, &donor, "before").await;
        let last = next_message(&mut ws).await["seq"].as_i64().unwrap();
        drop(ws);

        let mut sent = vec![];
        for i in 0..200 {
            sent.push(app.say(id, &donor, &format!("missed {i}")).await);
        }
        let mut ws = app.ws_ready(&app.admin_token).await;
        let (mut events, joined_again) = ws.join(id, Some(last)).await;
        let replayed = events.len();
        // On PostgreSQL the replay stops at the log's readable horizon, which a transaction
        // anywhere in the cluster can hold back; the rest then arrives live, after `joined`.
        let count = |events: &[serde_json::Value]| {
            events
                .iter()
                .filter(|e| e["event"] == "new_message")
                .count()
        };
        while count(&events) < sent.len() {
            events.push(ws.next_of("event", 10).await);
        }
        let ids: Vec<i64> = events
            .iter()
            .filter(|e| e["event"] == "new_message")
            .map(|e| e["data"]["id"].as_i64().unwrap())
            .collect();
        assert_eq!(ids, sent, "exactly the 200 missed messages, in order");
        let seqs: Vec<i64> = events.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "in log order, none twice"
        );
        if replayed > 0 {
            assert_eq!(joined_again["seq"], seqs[replayed - 1]);
        }
        assert!(joined["seq"].as_i64().unwrap() <= last);

        // Then live, with nothing repeated at the seam.
        let live = app.say(id, &donor, "live").await;
        assert_eq!(next_message(&mut ws).await["data"]["id"], live);
    }
);

e2e!(
    random_disconnects_during_a_stream_lose_and_repeat_nothing,
    |app: TestApp| async move {
        let (id, donor) = app.donor_query("d-s", "Stream").await;
        let (_, sam) = app.staff("sam", "AGENT").await;
        let (_, kim) = app.staff("kim", "AGENT").await;
        const EACH: usize = 500;
        let senders = [donor, sam, kim, app.admin_token.clone()];
        let api = app.api.clone();
        let writers: Vec<_> = senders
            .into_iter()
            .enumerate()
            .map(|(n, token)| {
                let api = api.clone();
                tokio::spawn(async move {
                    let client = reqwest::Client::new();
                    for i in 0..EACH {
                        let status = client
                            .post(format!("{api}/messages"))
                            .bearer_auth(&token)
                            .json(&json!({"queryId": id, "content": format!("s{n} m{i}")}))
                            .send()
                            .await
                            .unwrap()
                            .status();
                        assert_eq!(status, 201);
                    }
                })
            })
            .collect();

        // A reader that drops its connection at random points and resumes with `since`.
        let mut transcript: Vec<i64> = vec![];
        let mut since = 0i64;
        let total = 4 * EACH + 1;
        while transcript.len() < total {
            let mut ws = app.ws_ready(&app.admin_token).await;
            let (replayed, _) = ws.join(id, Some(since)).await;
            let mut frames = replayed;
            let budget = rand::random::<u64>() % 300 + 1;
            for _ in 0..budget {
                if transcript.len() + frames.len() >= total {
                    break;
                }
                match ws.next_item(20).await {
                    WsItem::Json(f) if f["type"] == "event" => frames.push(f),
                    WsItem::Json(_) => {}
                    other => panic!("socket ended: {other:?}"),
                }
            }
            for f in frames {
                since = f["seq"].as_i64().unwrap();
                if f["event"] == "new_message" {
                    transcript.push(f["data"]["id"].as_i64().unwrap());
                }
            }
        }
        for w in writers {
            w.await.unwrap();
        }

        // The database's transcript, page by page.
        let mut stored = vec![];
        let mut cursor = String::new();
        loop {
            let page = app
                .get(
                    &format!("/messages/query/{id}?limit=100&cursor={cursor}"),
                    Some(&app.admin_token),
                )
                .await
                .expect(200);
            stored.extend(
                page.body["data"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|m| m["id"].as_i64().unwrap()),
            );
            match page.get("nextCursor").as_str() {
                Some(c) => cursor = c.to_string(),
                None => break,
            }
        }
        assert_eq!(transcript.len(), total);
        assert_eq!(
            transcript.iter().collect::<HashSet<_>>().len(),
            total,
            "no duplicates"
        );
        let mut sorted_transcript = transcript.clone();
        sorted_transcript.sort();
        assert_eq!(
            sorted_transcript, stored,
            "the socket saw exactly the stored messages"
        );
    }
);

e2e!(
    bad_frames_get_errors_and_the_connection_keeps_its_rooms,
    |app: TestApp| async move {
        let (id, donor) = app.donor_query("d-f", "Frames").await;
        let mut ws = app.ws_ready(&app.admin_token).await;
        ws.join(id, None).await;
        for bad in [
            "not json",
            r#"{"type":"dance"}"#,
            r#"{"type":"join","ticketId":"seven"}"#,
            r#"{"no":"type"}"#,
            "[]",
        ] {
            ws.send_text(bad).await;
            let frame = ws.next_of("error", 10).await;
            assert_eq!(frame["error"]["status"], 400, "{bad}");
        }
        // Still in the room.
        app.say(id, &donor, "still here").await;
        assert_eq!(next_message(&mut ws).await["data"]["content"], "still here");

        // A frame over the limit is refused with 1008.
        ws.send_text(&"x".repeat(100 * 1024)).await;
        assert!(matches!(ws.next_item(10).await, WsItem::Closed(1008)));

        // Binary frames too.
        let mut ws = app.ws_ready(&app.admin_token).await;
        {
            use futures_util::SinkExt;
            ws.stream
                .send(tokio_tungstenite::tungstenite::Message::binary(vec![
                    1u8, 2, 3,
                ]))
                .await
                .unwrap();
        }
        assert!(matches!(ws.next_item(10).await, WsItem::Closed(1008)));
        // The server is fine.
        app.get("/health/ping", None).await.expect(200);
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_closed_with_4408_while_others_keep_up() {
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        // Fast readers share two cores with everything else: give them slack, while a
        // client that never reads is still cut off once its socket is full.
        &[("WS_SEND_TIMEOUT", "3s"), ("WS_IDLE_TIMEOUT", "60s")],
    )
    .await
    .unwrap();
    let (id, donor) = app.donor_query("d-slow", "Load").await;
    let mut slow = app.ws_small_buffer().await;
    slow.auth(&app.admin_token).await;
    slow.join(id, None).await;

    const OTHERS: usize = 100;
    // Enough bytes to fill the kernel's socket buffers (up to 4 MiB on Linux) and then some.
    const MESSAGES: usize = 700;
    let mut readers = vec![];
    for _ in 0..OTHERS {
        let mut ws = app.ws_ready(&app.admin_token).await;
        ws.join(id, None).await;
        readers.push(tokio::spawn(async move {
            let mut got = vec![];
            while got.len() < MESSAGES {
                let frame = next_message(&mut ws).await;
                got.push(frame["data"]["id"].as_i64().unwrap());
            }
            got
        }));
    }
    let filler = "x".repeat(8000);
    let mut sent = vec![];
    for i in 0..MESSAGES {
        sent.push(app.say(id, &donor, &format!("{i} {filler}")).await);
    }
    for reader in readers {
        assert_eq!(
            reader.await.unwrap(),
            sent,
            "every fast reader got everything, in order"
        );
    }
    // The server's send to the slow one has been blocked since its buffers filled, before the
    // last post. Reading it sooner than WS_SEND_TIMEOUT after that would unblock the send and
    // deliver everything: wait the timeout out first.
    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    // The slow one: whatever was buffered, then the resume close code.
    let mut slow_frames = 0usize;
    let code = loop {
        match slow.next_item(30).await {
            WsItem::Json(_) => {
                slow_frames += 1;
                continue;
            }
            WsItem::Closed(code) => break code,
            WsItem::Ended => panic!("closed without a code"),
        }
    };
    assert_eq!(code, 4408);
    assert!(
        slow_frames < MESSAGES,
        "the slow client was cut off before the end"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_posted_on_one_instance_reaches_a_socket_on_another() {
    let Some((a, b)) = TestApp::two_on_postgres().await else {
        return;
    };
    let (id, donor) = a.donor_query("d-x", "Two instances").await;
    let mut ws = a.ws_ready(&a.admin_token).await;
    ws.join(id, None).await;
    let mut expected = vec![];
    for i in 0..10 {
        let via = if i % 2 == 0 { &a } else { &b };
        expected.push(via.say(id, &donor, &format!("m{i}")).await);
    }
    let mut got = vec![];
    while got.len() < expected.len() {
        got.push(next_message(&mut ws).await["data"]["id"].as_i64().unwrap());
    }
    assert_eq!(got, expected, "in order, whichever instance took the post");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_sockets_with_going_away() {
    let mut app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let mut ws = app.ws_ready(&app.admin_token).await;
    let reader = tokio::spawn(async move {
        loop {
            match ws.next_item(10).await {
                WsItem::Json(_) => continue,
                WsItem::Closed(code) => break Some(code),
                WsItem::Ended => break None,
            }
        }
    });
    app.shutdown().await;
    assert_eq!(reader.await.unwrap(), Some(1001));
}
