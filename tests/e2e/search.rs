//! Search (issue 16), on both databases: a change is found once its request has answered, an
//! edit by its new words only, a delete not at all; a donor token finds only its own session's
//! words; matching folds case and accents and English inflections; and whatever `q` holds is a
//! query or a 422, never syntax and never a 5xx.

use concierge_e2e::{e2e, encode, Reply, TestApp};
use serde_json::{json, Value};

async fn search(app: &TestApp, token: Option<&str>, q: &str) -> Reply {
    app.get(&format!("/search?q={}", encode(q)), token).await
}

/// The hits of `q` for `token` as `(kind, ticketId, messageId)`.
async fn hits(app: &TestApp, token: &str, q: &str) -> Vec<(String, i64, Option<i64>)> {
    let reply = search(app, Some(token), q).await.expect(200);
    reply
        .data()
        .iter()
        .map(|h| {
            (
                h["kind"].as_str().unwrap_or_default().to_string(),
                h["ticketId"].as_i64().unwrap_or_default(),
                h["messageId"].as_i64(),
            )
        })
        .collect()
}

fn message_hit(ticket: i64, message: i64) -> (String, i64, Option<i64>) {
    ("message".into(), ticket, Some(message))
}

e2e!(
    a_change_is_found_once_answered_and_edits_and_deletes_follow,
    |app: TestApp| async move {
        let admin = app.admin_token.clone();
        let (ticket, donor) = app.donor_query("d-search", "hello there").await;
        let id = app
            .say(ticket, &donor, "The Crème Brûlée was REFUNDED twice")
            .await;
        let reply = search(&app, Some(&admin), "refund creme").await.expect(200);
        let hit: &Value = &reply.data()[0];
        assert_eq!(hit["kind"], "message");
        assert_eq!(hit["ticketId"], ticket);
        assert_eq!(hit["messageId"], id);
        assert_eq!(hit["status"], "IN_PROGRESS");
        assert_eq!(hit["snippet"], "The Crème Brûlée was REFUNDED twice");
        assert_eq!(hit["highlights"], json!([[4, 9], [21, 29]]));
        assert!(hit["createdAt"].is_string());
        assert!(hit["title"].is_string());
        assert_eq!(reply.data().len(), 1);

        app.put(
            &format!("/messages/{id}"),
            Some(&donor),
            json!({"content": "now about a voucher"}),
        )
        .await
        .expect(200);
        assert!(hits(&app, &admin, "refunded").await.is_empty());
        assert_eq!(
            hits(&app, &admin, "vouchers").await,
            vec![message_hit(ticket, id)]
        );

        app.delete(&format!("/messages/{id}"), Some(&donor))
            .await
            .expect(204);
        assert!(hits(&app, &admin, "voucher").await.is_empty());
    }
);

e2e!(
    a_donor_token_finds_only_its_own_sessions_words,
    |app: TestApp| async move {
        let (mine, token) = app.donor_query("d-one", "my parcel tracking").await;
        let (theirs, other) = app.donor_query("d-two", "their parcel tracking").await;
        // The same donor id without this token's session: another session.
        let (elsewhere, _) = app.donor_query("d-one", "a parcel from elsewhere").await;
        let admin = app.admin_token.clone();
        let task = app
            .task(
                &admin,
                json!({"title": "Parcel audit", "description": "parcel internal"}),
            )
            .await;
        let seen = hits(&app, &token, "parcel").await;
        assert!(!seen.is_empty());
        assert!(seen.iter().all(|(_, t, _)| *t == mine), "{seen:?}");
        for q in [
            "parcel donor:d-two",
            "parcel channel:internal",
            "parcel type:ticket",
        ] {
            let seen = hits(&app, &token, q).await;
            assert!(seen.iter().all(|(_, t, _)| *t == mine), "{q}: {seen:?}");
        }
        let seen = hits(&app, &other, "parcel").await;
        assert!(
            !seen.is_empty() && seen.iter().all(|(_, t, _)| *t == theirs),
            "{seen:?}"
        );
        let staff_sees = hits(&app, &admin, "parcel").await;
        for t in [mine, theirs, elsewhere, task] {
            assert!(staff_sees.iter().any(|h| h.1 == t), "{t}: {staff_sees:?}");
        }
        search(&app, Some(&token), "parcel assignee:none")
            .await
            .expect_invalid("q");
    }
);

e2e!(
    metacharacters_are_text_and_malformed_queries_are_422,
    |app: TestApp| async move {
        let admin = app.admin_token.clone();
        let (ticket, donor) = app.donor_query("d-meta", "start").await;
        let id = app
            .say(
                ticket,
                &donor,
                r#"50% off: "NEAR" (c++) AND o'brien a&b|!c ^z {w} x:*"#,
            )
            .await;
        for q in [
            "NEAR", "AND", "a&b|!c", "(c++)", "o'brien", "{w} ^z", "50%", "NEAR(c",
        ] {
            assert_eq!(
                hits(&app, &admin, q).await,
                vec![message_hit(ticket, id)],
                "{q}"
            );
        }
        for q in [
            "",
            "   ",
            "\"open",
            "status:lost",
            "created:>soon",
            "-only",
            "&&&",
            "a*",
        ] {
            let reply = search(&app, Some(&admin), q).await.expect_invalid("q");
            assert!(reply.text.contains("q"), "{q}: {}", reply.text);
        }
        let long = "a".repeat(501);
        search(&app, Some(&admin), &long).await.expect_invalid("q");
        app.get("/search", Some(&admin)).await.expect_invalid("q");
        search(&app, None, "refund").await.expect(401);
        app.get("/search?q=x&cursor=nonsense", Some(&admin))
            .await
            .expect_invalid("cursor");
    }
);

e2e!(
    pages_continue_and_filters_apply,
    |app: TestApp| async move {
        let admin = app.admin_token.clone();
        let (ticket, donor) = app.donor_query("d-pages", "kiwi basket").await;
        for i in 0..4 {
            app.say(ticket, &donor, &format!("kiwi number {i}")).await;
        }
        let first = app
            .get("/search?q=kiwi&limit=3", Some(&admin))
            .await
            .expect(200);
        assert_eq!(first.data().len(), 3);
        assert_eq!(first.body["hasMore"], true);
        let cursor = first.string("nextCursor");
        let second = app
            .get(
                &format!("/search?q=kiwi&limit=3&cursor={cursor}"),
                Some(&admin),
            )
            .await
            .expect(200);
        // Four messages, the first one (QUERY) and the ticket's description.
        assert_eq!(second.data().len(), 3);
        assert_eq!(second.body["hasMore"], false);
        assert_eq!(hits(&app, &admin, "kiwi type:ticket").await.len(), 1);
        assert_eq!(hits(&app, &admin, "kiwi type:message").await.len(), 5);
        assert_eq!(
            hits(&app, &admin, "kiwi status:IN_PROGRESS -number")
                .await
                .len(),
            2
        );
        assert!(hits(&app, &admin, "kiwi status:closed").await.is_empty());
    }
);

const PNG: &[u8] =
    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

e2e!(
    file_names_assignees_dates_and_deleted_tickets,
    |app: TestApp| async move {
        let admin = app.admin_token.clone();
        let (agent, agent_token) = app.staff("searcher", "AGENT").await;
        let task = app
            .task(
                &agent_token,
                json!({"title": "Quarterly ledger", "assignedToId": agent}),
            )
            .await;
        let part = reqwest::multipart::Part::bytes(PNG.to_vec())
            .file_name("ledger_scan-2026.png")
            .mime_str("image/png")
            .expect("mime");
        let form = reqwest::multipart::Form::new()
            .text("taskId", task.to_string())
            .text("content", "attached")
            .part("files", part);
        let posted: Value = app
            .client
            .post(format!("{}/messages", app.api))
            .bearer_auth(&agent_token)
            .multipart(form)
            .send()
            .await
            .expect("sent")
            .json()
            .await
            .expect("a message");
        let message = posted["id"].as_i64().expect("message id");
        let reply = search(&app, Some(&admin), "scan type:message")
            .await
            .expect(200);
        assert_eq!(reply.data()[0]["messageId"], message);
        assert_eq!(reply.data()[0]["snippet"], "ledger_scan-2026.png");
        assert_eq!(reply.data()[0]["highlights"], json!([[7, 11]]));

        let mine = hits(&app, &agent_token, "ledger assignee:me").await;
        assert_eq!(mine.len(), 2, "{mine:?}");
        assert_eq!(hits(&app, &admin, "ledger assignee:searcher").await, mine);
        assert_eq!(
            hits(&app, &admin, &format!("ledger assignee:{agent}")).await,
            mine
        );
        assert!(hits(&app, &admin, "ledger assignee:none").await.is_empty());
        assert_eq!(hits(&app, &admin, "ledger created:>2000-01-01").await, mine);
        assert!(hits(&app, &admin, "ledger created:<2000-01-01")
            .await
            .is_empty());

        app.delete(&format!("/tasks/{task}"), Some(&admin))
            .await
            .expect(204);
        assert!(hits(&app, &admin, "ledger").await.is_empty());
        assert!(hits(&app, &admin, "scan").await.is_empty());
    }
);

/// The ids a list at `path` (with a `?`) shows for `q`, page after page of two.
async fn listed(app: &TestApp, token: &str, path: &str, q: &str) -> Vec<i64> {
    let mut ids = vec![];
    let mut url = format!("{path}q={}&limit=2", encode(q));
    loop {
        let reply = app.get(&url, Some(token)).await.expect(200);
        ids.extend(reply.data().iter().filter_map(|t| t["id"].as_i64()));
        match reply.get("nextCursor").as_str() {
            Some(cursor) => url = format!("{path}q={}&limit=2&cursor={cursor}", encode(q)),
            None => return ids,
        }
    }
}

e2e!(
    the_task_list_q_finds_tickets_through_their_conversation,
    |app: TestApp| async move {
        let admin = app.admin_token.clone();
        let task = |title: &'static str, priority: &'static str| {
            app.task(&admin, json!({"title": title, "priority": priority}))
        };
        let a = task("Card charged twice", "LOW").await;
        app.say(a, &admin, "We refunded the payment").await;
        let b = task("Refund request", "HIGH").await;
        let c = task("Test order", "LOW").await;
        app.say(c, &admin, "a refund for a test").await;
        app.say(c, &admin, "another refund").await;
        let tasks = |q: &'static str| listed(&app, &admin, "/tasks?", q);
        // A message's words find its ticket, listed once, newest first, page by page.
        assert_eq!(tasks("refunds").await, [c, b, a]);
        assert_eq!(tasks("payment").await, [a]);
        assert_eq!(tasks("\"refunded the payment\"").await, [a]);
        assert!(tasks("\"payment the\"").await.is_empty());
        // An exclusion leaves out a hit, as on /search: a's only refund is its payment's, and
        // c stays listed through "another refund", which holds no "test".
        assert_eq!(tasks("refund -payment").await, [c, b]);
        assert_eq!(tasks("refund -test").await, [c, b, a]);
        assert_eq!(tasks("refund type:ticket").await, [b]);
        // Metacharacters of LIKE, FTS5 and tsquery are plain text.
        for q in [
            "payment%",
            "payment_",
            "'payment'--",
            "payment:",
            "(payment)",
        ] {
            assert_eq!(tasks(q).await, [a], "{q:?}");
        }
        assert!(tasks("payment OR x*y").await.is_empty());
        // The list's own filters apply too, and its order and cursor stay its own.
        assert_eq!(
            listed(&app, &admin, "/tasks?priority=LOW&", "refund").await,
            [c, a]
        );
        assert_eq!(tasks("refund priority:HIGH").await, [b]);
    }
);

e2e!(
    the_donor_query_lists_q_is_search_within_their_scope,
    |app: TestApp| async move {
        let admin = app.admin_token.clone();
        let (mine, token) = app.donor_query("d-one", "hello").await;
        app.say(mine, &token, "my parcel never came").await;
        let (theirs, other) = app.donor_query("d-two", "their parcel is late").await;
        let (_, _) = app.donor_query("d-three", "a voucher").await;
        for path in ["/donor-queries?", "/donor-queries/general?"] {
            assert_eq!(
                listed(&app, &admin, path, "parcel").await,
                [theirs, mine],
                "{path}"
            );
            assert_eq!(
                listed(&app, &admin, path, "parcel -late").await,
                [mine],
                "{path}"
            );
        }
        assert_eq!(
            listed(&app, &token, "/donor-queries/general?", "parcel").await,
            [mine]
        );
        assert_eq!(
            listed(&app, &other, "/donor-queries/general?", "parcel").await,
            [theirs]
        );
        assert!(listed(&app, &other, "/donor-queries/general?", "never")
            .await
            .is_empty());
        app.get(
            "/donor-queries/general?q=parcel%20assignee:none",
            Some(&token),
        )
        .await
        .expect_invalid("q");
    }
);

e2e!(
    a_malformed_list_q_is_the_same_422_as_search,
    |app: TestApp| async move {
        let admin = app.admin_token.clone();
        for q in [
            "\"unclosed",
            "a*",
            "-only",
            "status:lost",
            "created:>yesterday",
            "\u{0}",
        ] {
            let searched = search(&app, Some(&admin), q).await.expect_invalid("q");
            for path in ["/tasks", "/donor-queries", "/donor-queries/general"] {
                let listed = app
                    .get(&format!("{path}?q={}", encode(q)), Some(&admin))
                    .await
                    .expect_invalid("q");
                assert_eq!(listed.get("errors"), searched.get("errors"), "{path} {q:?}");
            }
        }
    }
);
