//! Donor privacy (issue 14), on both databases: deleted personal data leaves the event log too,
//! internal transfer notes and staff ids never reach a donor, and a donor id alone opens no
//! one else's queries (donor sessions, and the app's word through `donorIdHash`).

use concierge_domain::ports::EventLog;
use concierge_e2e::{e2e, Reply, TestApp};
use concierge_server::auth::DonorIdentity;
use concierge_store::{Store, StoreConfig};
use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};

const IDENTITY_SECRET: &str = "donor-identity-secret-for-the-e2e-tests";

pub(crate) const PNG: &[u8] =
    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

/// Posts a message with one PNG named `file_name`; returns the message.
pub(crate) async fn post_with_file(
    app: &TestApp,
    token: &str,
    ticket: i64,
    content: &str,
    file_name: &str,
) -> Value {
    let part = Part::bytes(PNG.to_vec())
        .file_name(file_name.to_string())
        .mime_str("image/png")
        .expect("mime");
    let form = Form::new()
        .text("queryId", ticket.to_string())
        .text("content", content.to_string())
        .part("files", part);
    let response = app
        .client
        .post(format!("{}/messages", app.api))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .expect("request sent");
    assert_eq!(response.status().as_u16(), 201);
    response.json().await.expect("a message")
}

/// Opens a donor query with the given body, presenting `token` when given.
async fn open(app: &TestApp, token: Option<&str>, body: Value) -> Reply {
    app.post("/donor-queries", token, body).await
}

fn query(donor_id: &str, message: &str) -> Value {
    json!({ "donor": "Dana", "donorId": donor_id, "message": message })
}

fn donor_token(reply: &Reply) -> String {
    reply.body["donorToken"]
        .as_str()
        .unwrap_or_else(|| panic!("no donorToken in {}", reply.text))
        .to_string()
}

/// The ids a ticket list shows.
fn ids(reply: &Reply) -> Vec<i64> {
    reply
        .data()
        .iter()
        .filter_map(|t| t["id"].as_i64())
        .collect()
}

/// Every event of `ticket` in the app's log, read straight from its database: what any reader
/// of the log (replay, push, webhooks) could still send.
async fn logged(app: &TestApp, ticket: i64) -> Vec<Value> {
    app.settled_event_head().await;
    let mut config = StoreConfig::new(
        app.database_url.clone(),
        std::sync::Arc::new(concierge_server::wire::EventWire),
    );
    config.pool_size = 1;
    let store = Store::connect(config).await.expect("the app's database");
    let events = store
        .read_after(0, Some(concierge_domain::TicketId(ticket)), 1000)
        .await
        .expect("the event log");
    events
        .into_iter()
        .map(|e| json!({"seq": e.seq, "event": e.kind.as_str(), "data": e.data}))
        .collect()
}

fn assert_none_of(what: &str, text: &str, secrets: &[&str]) {
    for secret in secrets {
        assert!(
            !text.contains(secret),
            "{what} still holds {secret:?}: {text}"
        );
    }
}

e2e!(
    a_deleted_message_is_never_replayed_afterwards,
    |app: TestApp| async move {
        let opened = open(&app, None, query("d-erase", "my IBAN is DE89 0001")).await;
        let opened = opened.expect(201);
        let (id, donor) = (opened.id(), donor_token(&opened));
        let first = opened.body["firstMessage"]["id"].as_i64().expect("first");
        let chat = post_with_file(
            &app,
            &donor,
            id,
            "my phone is 0170 555, card 4111 1111 1111 1111",
            "passport-scan.png",
        )
        .await;
        let chat_id = chat["id"].as_i64().expect("chat id");
        app.put(
            &format!("/messages/{chat_id}"),
            Some(&donor),
            json!({"content": "my phone is 0170 555 666"}),
        )
        .await
        .expect(200);
        app.say(id, &app.admin_token, "thanks, noted").await;
        // A QA review of it quotes it as evidence.
        let review = app
            .post("/qa", Some(&app.admin_token), json!({"messageId": chat_id}))
            .await
            .expect(201)
            .id();
        let secrets = ["IBAN", "DE89", "0170 555", "passport-scan"];
        // Before: the log replays it all (what the starting code kept doing after a delete).
        let before = logged(&app, id).await;
        let events_before = before.len();

        // The donor deletes its chat message, an admin its first message.
        app.delete(&format!("/messages/{chat_id}"), Some(&donor))
            .await
            .expect(204);
        app.delete(&format!("/messages/{first}"), Some(&app.admin_token))
            .await
            .expect(204);

        // A replay from the start, to the donor and to staff, holds none of it; the events
        // keep their seq and kind and say what was deleted.
        for token in [&donor, &app.admin_token] {
            let mut ws = app.ws_ready(token).await;
            let (events, _) = ws.join(id, Some(0)).await;
            let replay = Value::Array(events.clone()).to_string();
            assert_none_of("a replay", &replay, &secrets);
            assert!(replay.contains("thanks, noted"), "{replay}");
            for deleted in [first, chat_id] {
                let gone: Vec<&Value> = events
                    .iter()
                    .filter(|e| e["data"]["id"] == deleted && e["event"] != "message_deleted")
                    .filter(|e| e["event"] == "new_message" || e["event"] == "message_updated")
                    .collect();
                assert!(!gone.is_empty(), "no event of {deleted} left: {replay}");
                for event in gone {
                    assert_eq!(
                        event["data"],
                        json!({"id": deleted, "ticketId": id, "deleted": true}),
                        "{event}"
                    );
                    assert_eq!(event["ticketId"], id);
                }
            }
        }
        // The log itself (push, webhooks and any later reader) kept every event but the text.
        let after = logged(&app, id).await;
        assert_none_of(
            "the event log",
            &Value::Array(after.clone()).to_string(),
            &secrets,
        );
        let seqs = |events: &[Value]| -> Vec<(Value, Value)> {
            events
                .iter()
                .map(|e| (e["seq"].clone(), e["event"].clone()))
                .collect()
        };
        assert_eq!(seqs(&after[..events_before]), seqs(&before));
        let reviews: Vec<&Value> = after
            .iter()
            .filter(|e| e["event"] == "qa_review_updated")
            .collect();
        assert!(!reviews.is_empty());
        for event in reviews {
            assert_eq!(
                event["data"],
                json!({"id": review, "ticketId": id, "deleted": true})
            );
        }
        // The query's description was a copy of the first message: it went with it.
        let ticket = app.ticket(id, &donor).await;
        assert!(ticket.get("description").is_null(), "{}", ticket.text);
        let staff_view = app
            .get(&format!("/messages/admin/{id}"), Some(&app.admin_token))
            .await
            .expect(200);
        assert_none_of("the conversation", &staff_view.text, &secrets);
    }
);

e2e!(
    a_deleted_ticket_leaves_none_of_its_content_in_the_event_log,
    |app: TestApp| async move {
        let (agent, _) = app.staff("erin", "AGENT").await;
        let opened = open(&app, None, query("d-gone", "my address is 12 Elm Street"))
            .await
            .expect(201);
        let (id, donor) = (opened.id(), donor_token(&opened));
        post_with_file(&app, &donor, id, "and my card 4111", "medical-letter.png").await;
        app.ticket_action(
            id,
            "transfer",
            &app.admin_token,
            json!({"toUserId": agent, "note": "grieving widow, be gentle"}),
        )
        .await
        .expect(200);
        let (other, _) = app.donor_query("d-kept", "unrelated question").await;
        let secrets = [
            "Elm Street",
            "4111",
            "medical-letter",
            "grieving",
            "Dana",
            "d-gone",
        ];
        let before = logged(&app, id).await;

        app.delete(&format!("/donor-queries/{id}"), Some(&app.admin_token))
            .await
            .expect(204);

        let after = logged(&app, id).await;
        assert_none_of(
            "the event log",
            &Value::Array(after.clone()).to_string(),
            &secrets,
        );
        assert_eq!(after.len(), before.len() + 1);
        for (kept, was) in after.iter().zip(&before) {
            assert_eq!((&kept["seq"], &kept["event"]), (&was["seq"], &was["event"]));
            assert_eq!(kept["data"]["ticketId"], id, "{kept}");
            assert_eq!(kept["data"]["deleted"], true, "{kept}");
            assert_eq!(kept["data"]["id"], was["data"]["id"], "{kept}");
        }
        assert_eq!(after[before.len()]["event"], "ticket_deleted");
        // Other tickets' events are untouched.
        let others = Value::Array(logged(&app, other).await).to_string();
        assert!(others.contains("unrelated question"), "{others}");
    }
);

e2e!(
    donors_see_a_transfer_but_never_its_note_or_staff_ids,
    |app: TestApp| async move {
        let (agent, agent_token) = app.staff("tobias", "AGENT").await;
        let (id, donor) = app.donor_query("d-note", "where is my receipt?").await;
        let admin = app.admin_token.clone();
        app.ticket_action(id, "accept", &admin, json!({}))
            .await
            .expect(200);
        let note = "VIP donor, check CRM flag 7";
        let transferred = app
            .ticket_action(
                id,
                "transfer",
                &admin,
                json!({"toUserId": agent, "note": note}),
            )
            .await
            .expect(200);
        // Staff keep the note and who is who.
        assert_eq!(transferred.get("transferNote"), note);
        assert_eq!(transferred.get("assigneeId"), agent);
        let detail = app
            .get(&format!("/donor-queries/admin/{id}"), Some(&admin))
            .await
            .expect(200);
        assert_eq!(detail.get("transferNote"), note);
        let staff_conversation = app.conversation(id, &agent_token).await;
        assert!(staff_conversation.text.contains("transferred"));

        let staff_keys = [
            "transferNote",
            "assigneeId",
            "creatorId",
            "resolvedById",
            "transferredFromId",
        ];
        let check = |what: &str, ticket: &Value| {
            assert_eq!(ticket["status"], "TRANSFERRED", "{what}: {ticket}");
            for key in staff_keys {
                assert!(ticket[key].is_null(), "{what} shows {key}: {ticket}");
            }
            assert_none_of(what, &ticket.to_string(), &[note, "CRM"]);
        };
        let one = app.ticket(id, &donor).await;
        check("the donor's query", &one.body);
        for path in ["/donor-queries/user", "/donor-queries/general"] {
            let list = app.get(path, Some(&donor)).await.expect(200);
            assert_eq!(ids(&list), vec![id], "{path}");
            check(path, &list.data()[0]);
        }
        // The conversation says it moved, without the note or a name.
        let conversation = app.conversation(id, &donor).await;
        let system: Vec<&Value> = conversation
            .data()
            .iter()
            .filter(|m| m["messageType"] == "SYSTEM")
            .collect();
        assert_eq!(system.len(), 1, "{}", conversation.text);
        assert_eq!(
            system[0]["content"],
            "This query was transferred to another team member."
        );
        assert_none_of(
            "the conversation",
            &conversation.text,
            &[note, "CRM", "tobias"],
        );
        // So do its replayed message events.
        let mut ws = app.ws_ready(&donor).await;
        let (events, _) = ws.join(id, Some(0)).await;
        for event in events.iter().filter(|e| e["event"] == "new_message") {
            assert_none_of("a replayed message", &event.to_string(), &[note, "tobias"]);
        }
        // A resolve names no one either, and the donor's own close answers with its view.
        app.ticket_action(id, "resolve", &admin, json!({}))
            .await
            .expect(200);
        let resolved = app.ticket(id, &donor).await;
        assert_eq!(resolved.get("status"), "RESOLVED");
        assert!(resolved.get("resolvedById").is_null(), "{}", resolved.text);
        let closed = app.donor_close(id, &donor).await.expect(200);
        for key in staff_keys {
            assert!(
                closed.get(key).is_null(),
                "donor-close shows {key}: {}",
                closed.text
            );
        }
    }
);

e2e!(
    a_donor_id_alone_lists_no_one_elses_queries,
    |app: TestApp| async move {
        let shared = "donor-4711";
        // The real donor opens a query, then a second one from the same session.
        let first = open(&app, None, query(shared, "my diagnosis is private"))
            .await
            .expect(201);
        let (first_id, first_token) = (first.id(), donor_token(&first));
        let second = open(&app, Some(&first_token), query(shared, "follow-up"))
            .await
            .expect(201);
        let (second_id, second_token) = (second.id(), donor_token(&second));
        // Someone who only knows the donor id.
        let stranger = open(&app, None, query(shared, "let me in"))
            .await
            .expect(201);
        let (stranger_id, stranger_token) = (stranger.id(), donor_token(&stranger));
        for path in [
            "/donor-queries/user".to_string(),
            format!("/donor-queries/user?donorId={shared}"),
            "/donor-queries/general".to_string(),
        ] {
            let list = app.get(&path, Some(&stranger_token)).await.expect(200);
            assert_eq!(ids(&list), vec![stranger_id], "{path}: {}", list.text);
            assert_none_of(&path, &list.text, &["diagnosis", "follow-up"]);
        }
        // Each token of the real donor's session lists that session.
        for token in [&first_token, &second_token] {
            let list = app
                .get("/donor-queries/user", Some(token))
                .await
                .expect(200);
            assert_eq!(ids(&list), vec![second_id, first_id], "{}", list.text);
        }
        // A query opened with a donor token of another donor id starts a session of its own.
        let other = open(&app, Some(&first_token), query("donor-0815", "hello"))
            .await
            .expect(201);
        let list = app
            .get("/donor-queries/user", Some(&donor_token(&other)))
            .await
            .expect(200);
        assert_eq!(ids(&list), vec![other.id()]);
        // A token that is not good is refused, and opens nothing.
        let head = app.settled_event_head().await;
        open(&app, Some("not-a-token"), query(shared, "sneaky"))
            .await
            .expect_problem(401);
        app.expect_head(head, "a refused donor query").await;
        // Staff list every query of the donor id.
        let all = app
            .get(
                &format!("/donor-queries/user?donorId={shared}"),
                Some(&app.admin_token),
            )
            .await
            .expect(200);
        assert_eq!(ids(&all), vec![stranger_id, second_id, first_id]);
    }
);

e2e!(
    an_app_vouched_donor_id_opens_every_query_of_that_donor,
    [("DONOR_IDENTITY_SECRET", IDENTITY_SECRET)],
    |app: TestApp| async move {
        let identity = DonorIdentity::new(IDENTITY_SECRET).expect("a key");
        let donor = "member-77";
        let older = app.donor_query(donor, "from my old phone").await.0;
        let (stranger, stranger_token) = app.donor_query(donor, "from elsewhere").await;

        // A wrong or borrowed hash is refused and opens nothing.
        let head = app.settled_event_head().await;
        for hash in [
            "00".repeat(32),
            identity.hash("member-78"),
            "not hex".to_string(),
        ] {
            let mut body = query(donor, "let me in");
            body["donorIdHash"] = json!(hash);
            open(&app, None, body).await.expect_problem(401);
        }
        app.expect_head(head, "refused vouching").await;

        // The app's word opens all of the donor's queries, past and future.
        let mut body = query(donor, "from the app");
        body["donorIdHash"] = json!(identity.hash(donor));
        let vouched = open(&app, None, body).await.expect(201);
        let vouched_token = donor_token(&vouched);
        let later = open(&app, Some(&vouched_token), query(donor, "one more"))
            .await
            .expect(201);
        let every = vec![later.id(), vouched.id(), stranger, older];
        for token in [vouched_token.clone(), donor_token(&later)] {
            let list = app
                .get("/donor-queries/user", Some(&token))
                .await
                .expect(200);
            assert_eq!(ids(&list), every, "{}", list.text);
        }
        // A token the app did not vouch for still sees only its own session.
        let list = app
            .get("/donor-queries/user", Some(&stranger_token))
            .await
            .expect(200);
        assert_eq!(ids(&list), vec![stranger]);
        // Vouching for one donor id is no key to another's.
        app.get(
            "/donor-queries/user?donorId=member-78",
            Some(&vouched_token),
        )
        .await
        .expect_problem(403);
    }
);

e2e!(
    without_the_identity_secret_a_donor_id_hash_is_ignored,
    |app: TestApp| async move {
        let mine = app.donor_query("member-9", "first").await.0;
        let mut body = query("member-9", "second");
        body["donorIdHash"] = json!("00".repeat(32));
        let second = open(&app, None, body).await.expect(201);
        let list = app
            .get("/donor-queries/user", Some(&donor_token(&second)))
            .await
            .expect(200);
        assert_eq!(ids(&list), vec![second.id()]);
        assert_ne!(second.id(), mine);
    }
);
