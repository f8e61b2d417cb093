//! The README's walk-through, step by step: login, a donor query, the donor's message, accept,
//! reply, transfer, the target resolves; a task, listed with a filter and a cursor.

use super::*;

e2e!(
    readme_walkthrough_behaves_as_written,
    |app: TestApp, admin: String| async move {
        let me = app.get("/auth/me", Some(&admin)).await.expect(200);
        assert_eq!(me.get("username"), ADMIN);
        assert_eq!(me.get("role"), "SUPER_ADMIN");
        let (agent_id, agent) = app.staff("sam", "ADMIN").await;

        // A donor opens a query; the first message is its QUERY.
        let created = app
        .post(
            "/donor-queries",
            None,
            json!({"donor": "Ann", "donorId": "donor-42", "message": "My receipt shows the wrong amount"}),
        )
        .await
        .expect(201);
        let id = created.id();
        let donor = created.get("donorToken").as_str().unwrap().to_string();
        assert_eq!(created.get("status"), "IN_PROGRESS");
        assert_eq!(created.get("channel"), "DONOR");
        assert_eq!(created.get("firstMessage")["messageType"], "QUERY");

        // The donor follows up with its donor token.
        let follow_up =
            json!({"queryId": id, "content": "It says 50 instead of 15", "clientMessageId": "c-1"});
        let msg = app.message(&donor, follow_up.clone()).await.expect(201);
        assert_eq!(msg.get("senderType"), "DONOR");
        assert_eq!(msg.get("isFromAdmin"), false);
        // A retry with the same clientMessageId returns the first message, not a second one.
        let again = app.message(&donor, follow_up).await.expect(200);
        assert_eq!(again.id(), msg.id());

        // The admin accepts and replies: the ticket waits for the donor.
        let accepted = app
            .ticket_action(id, "accept", &admin, json!({}))
            .await
            .expect(200);
        assert_eq!(accepted.get("status"), "IN_PROGRESS");
        let reply = app
            .message(
                &admin,
                json!({"queryId": id, "content": "Sorry! Fixing it now.", "replyToId": msg.id()}),
            )
            .await
            .expect(201);
        assert_eq!(reply.get("replyToId"), msg.id());
        let ticket = app.ticket(id, &donor).await;
        assert_eq!(ticket.get("status"), "PENDING_REPLY");

        // Transfer to Sam, who resolves it.
        let transferred = app
            .ticket_action(
                id,
                "transfer",
                &admin,
                json!({"toUserId": agent_id, "note": "Finance issue"}),
            )
            .await
            .expect(200);
        assert_eq!(transferred.get("status"), "TRANSFERRED");
        assert_eq!(transferred.get("assigneeId"), agent_id);
        let resolved = app
            .ticket_action(id, "resolve", &agent, json!({}))
            .await
            .expect(200);
        assert_eq!(resolved.get("status"), "RESOLVED");

        // The conversation, oldest first, holds the system notes of the transfer and the resolve.
        let conversation = app.conversation(id, &donor).await;
        let kinds: Vec<&str> = conversation.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["messageType"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["QUERY", "CHAT", "CHAT", "SYSTEM", "SYSTEM"]);
        let thread = app
            .get(&format!("/messages/thread/{}", msg.id()), Some(&donor))
            .await
            .expect(200);
        assert_eq!(thread.body["replies"][0]["id"], reply.id());

        // A donor message on a resolved ticket reopens it.
        app.say(id, &donor, "Still wrong").await;
        let reopened = app.ticket(id, &donor).await;
        assert_eq!(reopened.get("status"), "IN_PROGRESS");

        // Tasks: create three, filter by priority, page with a cursor.
        for (title, priority) in [("Call back", "HIGH"), ("Refund", "HIGH"), ("Tidy", "LOW")] {
            app.task(&agent, json!({"title": title, "priority": priority}))
                .await;
        }
        let first = app
            .get("/tasks?priority=HIGH&limit=1", Some(&agent))
            .await
            .expect(200);
        assert_eq!(first.body["data"][0]["title"], "Refund");
        assert_eq!(first.get("hasMore"), true);
        let cursor = first.get("nextCursor").as_str().unwrap().to_string();
        let second = app
            .get(
                &format!("/tasks?priority=HIGH&limit=1&cursor={cursor}"),
                Some(&agent),
            )
            .await
            .expect(200);
        assert_eq!(second.body["data"][0]["title"], "Call back");
        assert_eq!(second.get("hasMore"), false);
        assert!(second.get("nextCursor").is_null());

        // The admin's password still works, and login by a wrong one does not.
        app.login_refused(ADMIN, "wrong").await;
        let _ = ADMIN_PASSWORD;
    }
);

e2e!(
    donor_close_ends_the_conversation,
    |app: TestApp| async move {
        let (id, donor) = app.donor_query("d-7", "Hello").await;
        let closed = app.donor_close(id, &donor).await.expect(200);
        assert_eq!(closed.get("status"), "CLOSED");
        app.message(&donor, json!({"queryId": id, "content": "one more"}))
            .await
            .expect_problem(409);
        app.message(&app.admin_token, json!({"queryId": id, "content": "hi"}))
            .await
            .expect_problem(409);
    }
);

e2e!(health_reports_the_database, |app: TestApp| async move {
    let health = app.get("/health", None).await.expect(200);
    assert_eq!(health.get("database"), "up");
    let ping = app.get("/health/ping", None).await.expect(200);
    assert_eq!(ping.text, "pong");
    let advanced = app
        .get("/health/advanced", Some(&app.admin_token))
        .await
        .expect(200);
    assert!(advanced.body["database"]["latencyMs"].is_number());
    app.get("/health/advanced", None).await.expect_problem(401);
});
