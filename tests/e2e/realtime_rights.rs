//! The WebSocket gateway under attack and churn: what a donor's socket may receive, sockets
//! that outlive their rights, socket rate limits, resuming donors, and clean closes.

use super::*;
use concierge_e2e::{Ws, WsItem};
use std::collections::HashSet;
use std::time::{Duration, Instant};

const NOTE: &str = "internal: donor is a VIP, escalate quietly";

/// Every frame until the `new_message` whose content is `marker` (inclusive).
async fn frames_until(ws: &mut Ws, marker: &str) -> Vec<serde_json::Value> {
    let mut frames = vec![];
    loop {
        let frame = ws.next_json(10).await;
        let done = frame["event"] == "new_message" && frame["data"]["content"] == marker;
        frames.push(frame);
        if done {
            return frames;
        }
    }
}

/// The contents of the `new_message` events among `frames`, in order, without the QUERY that
/// opened the ticket (a socket opened right after may or may not be sent it live, depending on
/// whether the event tail had reached it yet).
fn messages(frames: &[serde_json::Value]) -> Vec<String> {
    frames
        .iter()
        .filter(|f| f["type"] == "event" && f["event"] == "new_message")
        .filter(|f| f["data"]["messageType"] != "QUERY")
        .filter_map(|f| f["data"]["content"].as_str().map(str::to_string))
        .collect()
}

/// Asserts no event `seq` appears twice and they grow.
fn assert_once_in_order(frames: &[serde_json::Value]) {
    let seqs: Vec<i64> = frames
        .iter()
        .filter(|f| f["type"] == "event")
        .filter_map(|f| f["seq"].as_i64())
        .collect();
    let mut sorted = seqs.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(seqs, sorted, "each event once, in order");
}

fn assert_donor_safe(frames: &[serde_json::Value]) {
    for frame in frames {
        assert!(
            !frame.to_string().contains(NOTE),
            "the internal note reached a donor: {frame}"
        );
        let kind = frame["event"].as_str().unwrap_or_default();
        assert!(
            kind != "summary_ready" && kind != "qa_review_updated",
            "a staff-only event reached a donor: {frame}"
        );
        if kind.starts_with("ticket_") {
            for key in [
                "transferNote",
                "assigneeId",
                "creatorId",
                "transferredFromId",
            ] {
                assert!(
                    frame["data"][key].is_null(),
                    "{key} reached a donor: {frame}"
                );
            }
        }
    }
}

e2e!(
    a_donor_socket_never_receives_staff_only_events_live_or_replayed,
    |app: TestApp| async move {
        let (agent_id, _) = app.staff("agent-rt", "AGENT").await;
        let (id, donor_token) = app.donor_query("d-rights", "my card is 4111").await;
        let mut donor = app.ws_ready(&donor_token).await;
        donor.join(id, None).await;
        let start = app.settled_event_head().await;

        app.ticket_action(
            id,
            "transfer",
            &app.admin_token,
            json!({"toUserId": agent_id, "note": NOTE}),
        )
        .await
        .expect(200);
        app.post(
            "/summaries",
            Some(&app.admin_token),
            json!({"taskId": id, "content": "staff-only summary", "keyPoints": ["vip"]}),
        )
        .await
        .expect(201);
        let messages_page = app.conversation(id, &app.admin_token).await;
        let first = messages_page.data()[0]["id"]
            .as_i64()
            .expect("a message id");
        app.post("/qa", Some(&app.admin_token), json!({"messageId": first}))
            .await
            .expect(201);
        app.say(id, &app.admin_token, "marker").await;

        let live = frames_until(&mut donor, "marker").await;
        assert!(
            live.iter().any(|f| f["event"] == "ticket_updated"),
            "the donor sees that its query moved: {live:?}"
        );
        assert_donor_safe(&live);

        // The same on a replay, from the start and from before the changes.
        for since in [0, start] {
            let mut again = app.ws_ready(&donor_token).await;
            let (replayed, _) = again.join(id, Some(since)).await;
            assert!(replayed.iter().any(|f| f["event"] == "ticket_updated"));
            assert_donor_safe(&replayed);
        }

        // Staff still get everything.
        let mut staff = app.ws_ready(&app.admin_token).await;
        let (replayed, _) = staff.join(id, Some(start)).await;
        let kinds: HashSet<&str> = replayed
            .iter()
            .filter_map(|f| f["event"].as_str())
            .collect();
        assert!(kinds.contains("summary_ready") && kinds.contains("qa_review_updated"));
        assert!(replayed
            .iter()
            .any(|f| f["event"] == "ticket_updated" && f["data"]["transferNote"] == NOTE));
    }
);

e2e!(
    a_donor_socket_is_closed_when_its_ticket_is_deleted,
    |app: TestApp| async move {
        let (id, donor_token) = app.donor_query("d-gone", "Help").await;
        let mut donor = app.ws_ready(&donor_token).await;
        donor.join(id, None).await;
        app.delete(&format!("/donor-queries/{id}"), Some(&app.admin_token))
            .await
            .expect(204);
        let mut deleted = false;
        loop {
            match donor.next_item(10).await {
                WsItem::Json(frame) => deleted |= frame["event"] == "ticket_deleted",
                WsItem::Closed(code) => {
                    assert_eq!(code, 4401);
                    break;
                }
                WsItem::Ended => panic!("closed without a close frame"),
            }
        }
        assert!(deleted, "told why before the close");
    }
);

/// Resumes a donor: `since` is what it saw; one message is posted while it is away and one
/// between `ready` and `join`. Returns the new `since`.
async fn resume_donor(app: &TestApp, id: i64, token: &str, since: i64, round: u32) -> i64 {
    let away = format!("posted while away {round}");
    let between = format!("posted between ready and join {round}");
    let after = format!("posted after join {round}");
    app.say(id, &app.admin_token, &away).await;
    let mut donor = app.ws(None).await;
    donor.auth(token).await;
    app.say(id, &app.admin_token, &between).await;
    // The event is in the log and fanned out before the join is sent.
    app.settled_event_head().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (mut frames, joined) = donor.join(id, Some(since)).await;
    app.say(id, &app.admin_token, &after).await;
    frames.extend(frames_until(&mut donor, &after).await);
    assert_once_in_order(&frames);
    assert_eq!(
        messages(&frames),
        vec![away, between, after.clone()],
        "{frames:?}"
    );
    let last = frames
        .iter()
        .filter_map(|f| f["seq"].as_i64())
        .max()
        .unwrap_or_else(|| joined["seq"].as_i64().expect("joined seq"));
    last
}

e2e!(
    a_resuming_donor_gets_every_event_once_in_order,
    |app: TestApp| async move {
        let (id, token) = app.donor_query("d-resume", "Help").await;
        let mut first = app.ws_ready(&token).await;
        let (_, joined) = first.join(id, Some(0)).await;
        let stored = joined["seq"].as_i64().expect("seq");
        drop(first);

        // With the `since` it had stored, then with `since` advanced to what it last saw.
        let advanced = resume_donor(&app, id, &token, stored, 1).await;
        assert!(advanced > stored);
        resume_donor(&app, id, &token, advanced, 2).await;
    }
);

e2e!(
    a_donor_that_never_joins_still_gets_live_events,
    |app: TestApp| async move {
        let (id, token) = app.donor_query("d-nojoin", "Help").await;
        let mut donor = app.ws_ready(&token).await;
        app.say(id, &app.admin_token, "one").await;
        app.say(id, &app.admin_token, "two").await;
        let frames = frames_until(&mut donor, "two").await;
        assert_once_in_order(&frames);
        assert_eq!(messages(&frames), vec!["one", "two"]);
    }
);

e2e!(
    a_staff_socket_that_joins_again_is_sent_nothing_twice,
    |app: TestApp| async move {
        let (id, _) = app.donor_query("d-rejoin", "Help").await;
        let mut staff = app.ws_ready(&app.admin_token).await;
        let (mut frames, _) = staff.join(id, Some(0)).await;
        app.accept(id).await;
        app.say(id, &app.admin_token, "live").await;
        frames.extend(frames_until(&mut staff, "live").await);
        // A second join from the start: only what was never sent (nothing).
        let (again, _) = staff.join(id, Some(0)).await;
        frames.extend(again);
        app.say(id, &app.admin_token, "after").await;
        frames.extend(frames_until(&mut staff, "after").await);
        let seqs: Vec<i64> = frames.iter().filter_map(|f| f["seq"].as_i64()).collect();
        let unique: HashSet<i64> = seqs.iter().copied().collect();
        assert_eq!(seqs.len(), unique.len(), "no event twice: {seqs:?}");
        assert_eq!(messages(&frames), vec!["live", "after"]);
    }
);

/// Waits for the socket to be closed and returns the code.
async fn closed(ws: &mut Ws, secs: u64) -> u16 {
    loop {
        match ws.next_item(secs).await {
            WsItem::Json(_) => continue,
            WsItem::Closed(code) => return code,
            WsItem::Ended => return 1006,
        }
    }
}

async fn staff_socket(app: &TestApp, token: &str) -> Ws {
    app.ws_ready(token).await
}

e2e!(
    a_socket_is_closed_when_its_user_is_deactivated_demoted_or_changes_password,
    |app: TestApp| async move {
        // The bound is SESSION_CACHE_TTL (2 s by default): allow it twice over.
        let (agent, agent_token) = app.staff("agent-off", "AGENT").await;
        let mut ws = staff_socket(&app, &agent_token).await;
        app.update_user(agent, &app.admin_token, json!({"isActive": false}))
            .await
            .expect(200);
        assert_eq!(closed(&mut ws, 5).await, 4401, "deactivated");

        let (admin, admin_token) = app.staff("admin-down", "ADMIN").await;
        let mut ws = staff_socket(&app, &admin_token).await;
        app.update_user(admin, &app.admin_token, json!({"role": "AGENT"}))
            .await
            .expect(200);
        assert_eq!(closed(&mut ws, 5).await, 4401, "demoted");

        let (_, token) = app.staff("agent-pw", "AGENT").await;
        let mut ws = staff_socket(&app, &token).await;
        let mut untouched = staff_socket(&app, &app.admin_token).await;
        app.change_password(&token, "agent-pw-password", "a-brand-new-password")
            .await
            .expect(200);
        assert_eq!(closed(&mut ws, 5).await, 4401, "password changed");

        // Others keep their sockets.
        untouched
            .send(json!({"type": "join", "ticketId": 999_999}))
            .await;
        assert_eq!(untouched.next_of("error", 5).await["error"]["status"], 404);
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_made_through_one_instance_closes_sockets_on_another() {
    let Some((app, other)) = TestApp::two_on_postgres().await else {
        return;
    };
    let (agent, token) = app.staff("agent-far", "AGENT").await;
    let mut ws = staff_socket(&other, &token).await;
    app.update_user(agent, &app.admin_token, json!({"isActive": false}))
        .await
        .expect(200);
    assert_eq!(closed(&mut ws, 6).await, 4401);
}

e2e!(
    socket_messages_and_relays_are_rate_limited,
    [
        ("WS_MESSAGES_PER_SECOND", "1"),
        ("WS_RELAYS_PER_SECOND", "1")
    ],
    |app: TestApp| async move {
        let (id, donor_token) = app.donor_query("d-flood", "Help").await;
        let mut donor = app.ws_ready(&donor_token).await;
        donor.join(id, None).await;
        // A second connection of the same donor shares the budget.
        let mut twin = app.ws_ready(&donor_token).await;
        twin.join(id, None).await;

        let mut statuses = vec![];
        for i in 0..8 {
            let ws = if i % 2 == 0 { &mut donor } else { &mut twin };
            ws.send(json!({"type": "send_message", "requestId": format!("r{i}"),
                "ticketId": id, "content": format!("flood {i}")}))
                .await;
            let reply = ws.next_of("reply", 10).await;
            statuses.push(if reply["ok"] == true {
                200
            } else {
                reply["error"]["status"].as_i64().unwrap_or_default()
            });
        }
        let ok = statuses.iter().filter(|s| **s == 200).count();
        assert!(
            (5..8).contains(&ok),
            "a burst of five, then 429: {statuses:?}"
        );
        assert!(statuses.iter().all(|s| *s == 200 || *s == 429));

        // Typing: four at once, then refused; a relayed file name is bounded.
        for _ in 0..5 {
            donor
                .send(json!({"type": "typing", "ticketId": id, "isTyping": true}))
                .await;
        }
        let error = donor.next_of("error", 5).await;
        assert_eq!(error["error"]["status"], 429);
        twin.send(
            json!({"type": "upload_progress", "ticketId": id, "uploadId": "u1",
            "fileName": "x".repeat(1000), "percent": 10}),
        )
        .await;
        let error = twin.next_of("error", 5).await;
        assert_eq!(error["error"]["status"], 422);
    }
);

e2e!(
    replays_are_slowed_down_per_user_not_cut_short,
    [("WS_REPLAY_EVENTS_PER_SECOND", "2")],
    |app: TestApp| async move {
        // A burst of 20 replayed events; each join below reads at least 12.
        let (id, token) = app.donor_query("d-replay", "Help").await;
        for i in 0..10 {
            app.say(id, &app.admin_token, &format!("m{i}")).await;
        }
        // Every event readable before the first join (PostgreSQL: another test's open
        // transaction can hold the log's horizon back for a moment).
        app.settled_event_head().await;
        let mut ws = app.ws_ready(&token).await;
        let (first, _) = ws.join(id, Some(0)).await;
        assert!(first.len() >= 11);
        let started = Instant::now();
        let mut other = app.ws_ready(&token).await;
        let (second, _) = other.join(id, Some(0)).await;
        assert_eq!(second.len(), first.len(), "a slowed replay is still whole");
        assert!(
            started.elapsed() >= Duration::from_secs(1),
            "the second replay waited for budget"
        );
    }
);

e2e!(
    a_client_close_frame_is_answered_with_one,
    |app: TestApp| async move {
        use futures_util::SinkExt;
        use tokio_tungstenite::tungstenite::protocol::{frame::coding::CloseCode, CloseFrame};
        use tokio_tungstenite::tungstenite::Message;
        let mut ws = app.ws_ready(&app.admin_token).await;
        ws.stream
            .send(Message::Close(Some(CloseFrame {
                code: CloseCode::Normal,
                reason: "bye".into(),
            })))
            .await
            .expect("close sent");
        assert_eq!(closed(&mut ws, 5).await, 1000);
    }
);
