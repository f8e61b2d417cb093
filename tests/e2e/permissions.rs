//! Who may do what: a donor token reaches its own ticket only, donors and agents are kept off
//! staff and admin routes, agents work on tasks, direct messages stay between their
//! participants, and illegal transitions are 409s that change nothing.

use super::*;
use concierge_e2e::Reply;
use reqwest::Method;
use serde_json::Value;

/// What an admin sees of a ticket, and its conversation, to prove a refused request changed
/// neither.
async fn snapshot(app: &TestApp, id: i64) -> (Value, Vec<Value>) {
    let ticket = app.ticket(id, &app.admin_token).await.body;
    let messages = app
        .get(
            &format!("/messages/query/{id}?limit=100"),
            Some(&app.admin_token),
        )
        .await
        .expect(200)
        .data()
        .to_vec();
    (ticket, messages)
}

/// The first message of a ticket.
async fn first_message(app: &TestApp, id: i64) -> i64 {
    let (_, messages) = snapshot(app, id).await;
    messages[0]["id"].as_i64().expect("message id")
}

#[track_caller]
fn expect_denied(reply: Reply, allowed: &[u16], what: &str) -> Reply {
    assert!(
        allowed.contains(&reply.status.as_u16()),
        "{what}: expected one of {allowed:?}, got {}: {}",
        reply.status,
        reply.text
    );
    let status = reply.status.as_u16();
    reply.expect_problem(status)
}

/// The routes a donor token of another ticket is refused on (404) for `ticket` and its
/// `message`: reading, writing, closing, editing and deleting.
fn other_ticket_routes(
    ticket: i64,
    message: i64,
    post_text: &str,
    edit_text: &str,
) -> Vec<(Method, String, Value)> {
    vec![
        (Method::GET, format!("/donor-queries/{ticket}"), Value::Null),
        (
            Method::POST,
            "/messages".into(),
            json!({"queryId": ticket, "content": post_text}),
        ),
        (
            Method::POST,
            format!("/donor-queries/{ticket}/donor-close"),
            Value::Null,
        ),
        (
            Method::GET,
            format!("/messages/query/{ticket}"),
            Value::Null,
        ),
        (
            Method::GET,
            format!("/messages?queryId={ticket}"),
            Value::Null,
        ),
        (
            Method::GET,
            format!("/messages/thread/{message}"),
            Value::Null,
        ),
        (
            Method::PUT,
            format!("/messages/{message}"),
            json!({"content": edit_text}),
        ),
        (Method::DELETE, format!("/messages/{message}"), Value::Null),
    ]
}

/// The admin-only ticket lists, and `ticket`'s admin view.
fn admin_lists(ticket: i64) -> Vec<(Method, String, Value)> {
    let lists = [
        "/donor-queries",
        "/donor-queries/in-progress",
        "/donor-queries/resolved",
        "/donor-queries/transferred",
    ];
    lists
        .into_iter()
        .map(String::from)
        .chain([format!("/donor-queries/admin/{ticket}")])
        .map(|path| (Method::GET, path, Value::Null))
        .collect()
}

e2e!(
    donor_cannot_reach_another_donors_ticket,
    |app: TestApp| async move {
        let (a, donor_a) = app.donor_query("donor-a", "a's question").await;
        let (b, _) = app.donor_query("donor-b", "b's private question").await;
        let b_message = first_message(&app, b).await;
        let a_message = first_message(&app, a).await;
        let before = snapshot(&app, b).await;
        let head = app.settled_event_head().await;

        let mut cases = other_ticket_routes(b, b_message, "hijack", "rewritten");
        cases.extend([
            (
                Method::POST,
                "/messages".into(),
                json!({"taskId": b, "content": "hijack"}),
            ),
            (
                Method::POST,
                "/messages".into(),
                json!({"ticketId": b, "content": "hijack"}),
            ),
            (Method::GET, format!("/messages/task/{b}"), Value::Null),
            (Method::GET, format!("/messages/{b}"), Value::Null),
        ]);
        for (method, path, body) in cases {
            let reply = app.call(method.clone(), &path, Some(&donor_a), body).await;
            assert_eq!(
                reply.status.as_u16(),
                404,
                "{method} {path}: {}",
                reply.text
            );
            assert!(
                !reply.text.contains("private") && !reply.text.contains("donor-b"),
                "{method} {path} leaks B: {}",
                reply.text
            );
            reply.expect_problem(404);
        }
        // The staff-only task view answers the same for B's ticket as for no ticket at all.
        let b_task = app.get(&format!("/tasks/{b}"), Some(&donor_a)).await;
        let none = app.get("/tasks/987654321", Some(&donor_a)).await;
        assert_eq!((b_task.status, &b_task.body), (none.status, &none.body));
        assert!(b_task.status.is_client_error(), "{}", b_task.text);
        // Replying in A's own ticket to B's message is refused as well.
        app.message(
            &donor_a,
            json!({"queryId": a, "content": "hi", "replyToId": b_message}),
        )
        .await
        .expect_invalid("replyToId");
        app.expect_head(head, "donor A's attempts on B's ticket")
            .await;
        assert_eq!(snapshot(&app, b).await, before, "B's ticket changed");

        // A's own ticket works with the same token.
        app.ticket(a, &donor_a).await;
        app.get(&format!("/messages/thread/{a_message}"), Some(&donor_a))
            .await
            .expect(200);
        app.conversation(a, &donor_a).await;
    }
);

e2e!(
    donor_cannot_list_another_donors_queries,
    |app: TestApp| async move {
        let (a, donor_a) = app.donor_query("donor-a", "a's question").await;
        let (b, _) = app.donor_query("donor-b", "b's private question").await;
        let reply = app
            .get("/donor-queries/user?donorId=donor-b", Some(&donor_a))
            .await
            .expect_problem(403);
        assert!(!reply.text.contains("private"), "{}", reply.text);

        // What a donor may list is only its own.
        let ids = |reply: &Reply| -> Vec<i64> {
            reply
                .data()
                .iter()
                .filter_map(|t| t["id"].as_i64())
                .collect()
        };
        for path in [
            "/donor-queries/user",
            "/donor-queries/user?donorId=donor-a",
            "/donor-queries/general",
            "/donor-queries/general?donorId=donor-b",
        ] {
            let reply = app.get(path, Some(&donor_a)).await.expect(200);
            assert_eq!(ids(&reply), vec![a], "{path}: {}", reply.text);
            assert!(!reply.text.contains("private"), "{path}: {}", reply.text);
        }
        // Messages across tickets are for staff only.
        let reply = app.get("/messages", Some(&donor_a)).await;
        assert!(reply.status.is_client_error(), "{}", reply.text);
        assert!(!reply.text.contains("private"), "{}", reply.text);
        // Staff see both donors' queries.
        let all = app
            .get(
                "/donor-queries/user?donorId=donor-b",
                Some(&app.admin_token),
            )
            .await
            .expect(200);
        assert_eq!(ids(&all), vec![b]);
    }
);

e2e!(
    donor_token_is_scoped_to_one_ticket,
    |app: TestApp| async move {
        let (one, token_one) = app.donor_query("same-donor", "first question").await;
        let (two, token_two) = app.donor_query("same-donor", "second question").await;
        let two_message = first_message(&app, two).await;
        let before = snapshot(&app, two).await;
        let head = app.settled_event_head().await;
        let cases = other_ticket_routes(two, two_message, "x", "x");
        app.expect_each(404, Some(&token_one), cases).await;
        app.expect_head(head, "a token used on its donor's other ticket")
            .await;
        assert_eq!(snapshot(&app, two).await, before, "ticket two changed");
        // Each token works on its own ticket.
        app.ticket(one, &token_one).await;
        app.ticket(two, &token_two).await;
    }
);

e2e!(
    donor_tokens_are_refused_on_staff_routes,
    |app: TestApp| async move {
        let (id, donor) = app.donor_query("d-1", "hello").await;
        let task = app
            .task(&app.admin_token, json!({"title": "internal"}))
            .await;
        let (agent_id, _) = app.staff("agent1", "AGENT").await;
        let before = snapshot(&app, id).await;
        let head = app.settled_event_head().await;
        let mut cases: Vec<(Method, String, Value)> = vec![
            (Method::GET, "/tasks".into(), Value::Null),
            (
                Method::POST,
                "/tasks".into(),
                json!({"title": "from a donor"}),
            ),
            (Method::GET, format!("/tasks/{id}"), Value::Null),
            (
                Method::PUT,
                format!("/tasks/{id}"),
                json!({"title": "renamed"}),
            ),
            (Method::DELETE, format!("/tasks/{id}"), Value::Null),
            (Method::GET, "/users".into(), Value::Null),
            (Method::GET, format!("/users/{agent_id}"), Value::Null),
            (
                Method::POST,
                "/users".into(),
                json!({"username": "donor", "name": "D", "password": "password-123"}),
            ),
            (
                Method::PATCH,
                format!("/users/{agent_id}"),
                json!({"isActive": false}),
            ),
            (Method::GET, "/auth/me".into(), Value::Null),
            (
                Method::PUT,
                "/users/me/password".into(),
                json!({"currentPassword": "x", "newPassword": "password-123"}),
            ),
            (
                Method::PATCH,
                format!("/donor-queries/{id}"),
                json!({"priority": "URGENT"}),
            ),
            (
                Method::PATCH,
                format!("/donor-queries/{id}"),
                json!({"assignedToId": 987_654_321}),
            ),
            (
                Method::PATCH,
                format!("/donor-queries/{id}/transfer"),
                json!({"toUserId": 987_654_321}),
            ),
            (
                Method::PATCH,
                format!("/donor-queries/{id}/accept"),
                json!({}),
            ),
            (
                Method::PATCH,
                format!("/donor-queries/{id}/resolve"),
                json!({}),
            ),
            (
                Method::PATCH,
                format!("/donor-queries/{id}/transfer"),
                json!({"toUserId": agent_id}),
            ),
            (
                Method::POST,
                format!("/donor-queries/{id}/send-reminder"),
                Value::Null,
            ),
            (Method::DELETE, format!("/donor-queries/{id}"), Value::Null),
            (
                Method::POST,
                format!("/messages/admin/{id}"),
                json!({"content": "as staff"}),
            ),
            (Method::GET, format!("/messages/admin/{id}"), Value::Null),
            (
                Method::GET,
                format!("/messages/between/{agent_id}/1"),
                Value::Null,
            ),
            (Method::GET, "/health/advanced".into(), Value::Null),
        ];
        cases.extend(admin_lists(id));
        for (method, path, body) in cases {
            let reply = app.call(method.clone(), &path, Some(&donor), body).await;
            expect_denied(reply, &[401, 403], &format!("donor {method} {path}"));
        }
        // The staff task is out of the donor's sight entirely.
        for (method, path) in [
            (Method::GET, format!("/tasks/{task}")),
            (Method::GET, format!("/messages/task/{task}")),
        ] {
            let reply = app
                .call(method.clone(), &path, Some(&donor), Value::Null)
                .await;
            expect_denied(reply, &[401, 403, 404], &format!("donor {method} {path}"));
        }
        app.expect_head(head, "a donor on staff routes").await;
        assert_eq!(
            snapshot(&app, id).await,
            before,
            "the donor's ticket changed"
        );
        let agent = app
            .get(&format!("/users/{agent_id}"), Some(&app.admin_token))
            .await
            .expect(200);
        assert_eq!(agent.get("isActive"), true);
        app.get(&format!("/tasks/{task}"), Some(&app.admin_token))
            .await
            .expect(200);
    }
);

e2e!(
    agents_get_403_on_admin_routes,
    |app: TestApp, admin: String| async move {
        let (agent_id, agent) = app.staff("agent1", "AGENT").await;
        let (other_id, _) = app.staff("agent2", "AGENT").await;
        let (query, _) = app.donor_query("d-1", "hello").await;
        let task = app.task(&admin, json!({"title": "admin's task"})).await;
        let own_task = app.task(&agent, json!({"title": "agent's task"})).await;
        let before = snapshot(&app, query).await;
        let users_before = app.get("/users", Some(&admin)).await.expect(200).body;
        let head = app.settled_event_head().await;

        let mut cases: Vec<(Method, String, Value)> = vec![
            (
                Method::PATCH,
                format!("/donor-queries/{query}/accept"),
                json!({}),
            ),
            (
                Method::PATCH,
                format!("/donor-queries/{query}/transfer"),
                json!({"toUserId": other_id, "note": "yours"}),
            ),
            (
                Method::PATCH,
                format!("/donor-queries/{query}/transfer"),
                json!({"toUserId": agent_id}),
            ),
            // 403 before any probing of the named user: an agent learns nothing about user ids.
            (
                Method::PATCH,
                format!("/donor-queries/{query}/transfer"),
                json!({"toUserId": 987_654_321}),
            ),
            (
                Method::PATCH,
                format!("/donor-queries/{query}"),
                json!({"assignedToId": 987_654_321}),
            ),
            (
                Method::PATCH,
                format!("/donor-queries/{query}/resolve"),
                json!({}),
            ),
            (
                Method::PATCH,
                format!("/donor-queries/{query}"),
                json!({"priority": "URGENT"}),
            ),
            (
                Method::PATCH,
                format!("/donor-queries/{query}"),
                json!({"status": "CLOSED"}),
            ),
            (
                Method::POST,
                format!("/donor-queries/{query}/donor-close"),
                Value::Null,
            ),
            (
                Method::POST,
                format!("/donor-queries/{query}/send-reminder"),
                Value::Null,
            ),
            (
                Method::DELETE,
                format!("/donor-queries/{query}"),
                Value::Null,
            ),
            (Method::DELETE, format!("/tasks/{task}"), Value::Null),
            (Method::DELETE, format!("/tasks/{own_task}"), Value::Null),
            (Method::GET, "/users".into(), Value::Null),
            (Method::GET, format!("/users/{other_id}"), Value::Null),
            (
                Method::POST,
                "/users".into(),
                json!({"username": "sneaky", "name": "S", "password": "password-123", "role": "AGENT"}),
            ),
            (
                Method::PATCH,
                format!("/users/{other_id}"),
                json!({"isActive": false}),
            ),
            (
                Method::PATCH,
                format!("/users/{agent_id}"),
                json!({"role": "SUPER_ADMIN"}),
            ),
            (
                Method::POST,
                format!("/messages/admin/{query}"),
                json!({"content": "as admin"}),
            ),
            (Method::GET, format!("/messages/admin/{query}"), Value::Null),
            (Method::GET, "/health/advanced".into(), Value::Null),
        ];
        cases.extend(admin_lists(query));
        app.expect_each(403, Some(&agent), cases).await;
        app.expect_head(head, "an agent on admin routes").await;
        assert_eq!(
            snapshot(&app, query).await,
            before,
            "the donor query changed"
        );
        assert_eq!(
            app.get("/users", Some(&admin)).await.expect(200).body,
            users_before
        );
        for t in [task, own_task] {
            app.get(&format!("/tasks/{t}"), Some(&agent))
                .await
                .expect(200);
        }
        let me = app.get("/auth/me", Some(&agent)).await.expect(200);
        assert_eq!(me.get("role"), "AGENT");
        // The same requests work for an admin: the 403s were about the role.
        app.ticket_action(query, "accept", &admin, json!({}))
            .await
            .expect(200);
        app.get("/donor-queries", Some(&admin)).await.expect(200);
        app.delete(&format!("/tasks/{own_task}"), Some(&admin))
            .await
            .expect(204);
    }
);

e2e!(
    agents_may_create_update_and_list_tasks,
    |app: TestApp| async move {
        let (agent_id, agent) = app.staff("agent1", "AGENT").await;
        let (other_id, _) = app.staff("agent2", "AGENT").await;
        let created = app
        .post(
            "/tasks",
            Some(&agent),
            json!({"title": "Call the bank", "description": "about the refund", "priority": "HIGH"}),
        )
        .await
        .expect(201);
        let id = created.id();
        assert_eq!(created.get("status"), "OPEN");
        assert_eq!(created.get("creatorId"), agent_id);
        assert_eq!(created.get("channel"), "INTERNAL");

        let updated = app
        .put(
            &format!("/tasks/{id}"),
            Some(&agent),
            json!({"title": "Call the bank again", "priority": "URGENT", "status": "IN_PROGRESS",
                   "assignedToId": other_id}),
        )
        .await
        .expect(200);
        assert_eq!(updated.get("title"), "Call the bank again");
        assert_eq!(updated.get("priority"), "URGENT");
        assert_eq!(updated.get("status"), "IN_PROGRESS");
        assert_eq!(updated.get("assigneeId"), other_id);
        let detail = app
            .get(&format!("/tasks/{id}"), Some(&agent))
            .await
            .expect(200);
        assert_eq!(detail.get("creator")["username"], "agent1");
        assert_eq!(detail.get("assignee")["username"], "agent2");

        // An admin's task is any staff member's to work on.
        let admins = app
            .task(&app.admin_token, json!({"title": "admin's task"}))
            .await;
        app.put(
            &format!("/tasks/{admins}"),
            Some(&agent),
            json!({"status": "RESOLVED"}),
        )
        .await
        .expect(200);
        let reopened = app
            .put(
                &format!("/tasks/{admins}"),
                Some(&agent),
                json!({"status": "OPEN"}),
            )
            .await
            .expect(200);
        assert_eq!(reopened.get("status"), "OPEN");
        assert!(reopened.get("resolvedById").is_null());
        app.message(&agent, json!({"taskId": id, "content": "on it"}))
            .await
            .expect(201);

        let list = app.get("/tasks", Some(&agent)).await.expect(200);
        let mut ids: Vec<i64> = list
            .data()
            .iter()
            .filter_map(|t| t["id"].as_i64())
            .collect();
        ids.sort();
        assert_eq!(ids, vec![id, admins]);
        let mine = app
            .get(&format!("/tasks?assigneeId={other_id}"), Some(&agent))
            .await
            .expect(200);
        assert_eq!(mine.data().len(), 1);
        assert_eq!(mine.data()[0]["id"], id);
        let urgent = app
            .get("/tasks?priority=URGENT", Some(&agent))
            .await
            .expect(200);
        assert_eq!(urgent.data().len(), 1);
    }
);

e2e!(
    direct_messages_are_for_their_participants,
    |app: TestApp| async move {
        let (a_id, a) = app.staff("alice", "AGENT").await;
        let (b_id, b) = app.staff("bob", "AGENT").await;
        let (_, c) = app.staff("carl", "AGENT").await;
        let task = app
            .task(&a, json!({"title": "between us", "assignedToId": b_id}))
            .await;
        app.message(&a, json!({"taskId": task, "content": "psst from alice"}))
            .await
            .expect(201);
        app.message(&b, json!({"taskId": task, "content": "psst from bob"}))
            .await
            .expect(201);

        let third = app
            .get(&format!("/messages/between/{a_id}/{b_id}"), Some(&c))
            .await
            .expect_problem(403);
        assert!(!third.text.contains("psst"), "{}", third.text);
        app.get(&format!("/messages/between/{b_id}/{a_id}"), Some(&c))
            .await
            .expect_problem(403);
        for (token, path) in [
            (&a, format!("/messages/between/{a_id}/{b_id}")),
            (&a, format!("/messages/between/{b_id}/{a_id}")),
            (&b, format!("/messages/between/{a_id}/{b_id}")),
            (&app.admin_token, format!("/messages/between/{a_id}/{b_id}")),
        ] {
            let reply = app.get(&path, Some(token)).await.expect(200);
            let mut contents: Vec<&str> = reply
                .data()
                .iter()
                .filter_map(|m| m["content"].as_str())
                .collect();
            contents.sort();
            assert_eq!(
                contents,
                vec!["psst from alice", "psst from bob"],
                "{path}: {}",
                reply.text
            );
        }
    }
);

e2e!(
    illegal_transitions_are_409_and_change_nothing,
    |app: TestApp, admin: String| async move {
        let (agent_id, agent) = app.staff("agent1", "AGENT").await;

        // A RESOLVED ticket cannot be accepted, resolved or transferred again.
        let (resolved, _) = app.donor_query("d-1", "help").await;
        app.ticket_action(resolved, "resolve", &admin, json!({}))
            .await
            .expect(200);
        let before = snapshot(&app, resolved).await;
        let head = app.settled_event_head().await;
        for (path, body) in [
            (format!("/donor-queries/{resolved}/accept"), json!({})),
            (format!("/donor-queries/{resolved}/resolve"), json!({})),
            (
                format!("/donor-queries/{resolved}/transfer"),
                json!({"toUserId": agent_id}),
            ),
            (
                format!("/donor-queries/{resolved}"),
                json!({"status": "PENDING_REPLY"}),
            ),
        ] {
            app.patch(&path, Some(&admin), body)
                .await
                .expect_problem_for(409, &format!("PATCH {path}"));
        }
        app.expect_head(head, "transitions out of RESOLVED").await;
        assert_eq!(snapshot(&app, resolved).await, before);
        assert_eq!(before.0["status"], "RESOLVED");

        // A CLOSED ticket takes no change and no message, from anyone.
        let (closed, donor) = app.donor_query("d-2", "help me").await;
        let donor_message = app.say(closed, &donor, "more detail").await;
        app.post(
            &format!("/donor-queries/{closed}/donor-close"),
            Some(&donor),
            Value::Null,
        )
        .await
        .expect(200);
        let before = snapshot(&app, closed).await;
        assert_eq!(before.0["status"], "CLOSED");
        let head = app.settled_event_head().await;
        let cases: Vec<(&str, Method, String, Value)> = vec![
            (
                "donor",
                Method::POST,
                format!("/donor-queries/{closed}/donor-close"),
                Value::Null,
            ),
            (
                "donor",
                Method::POST,
                "/messages".into(),
                json!({"queryId": closed, "content": "hello?"}),
            ),
            (
                "donor",
                Method::PUT,
                format!("/messages/{donor_message}"),
                json!({"content": "edited"}),
            ),
            (
                "donor",
                Method::DELETE,
                format!("/messages/{donor_message}"),
                Value::Null,
            ),
            (
                "admin",
                Method::POST,
                "/messages".into(),
                json!({"queryId": closed, "content": "staff reply"}),
            ),
            (
                "agent",
                Method::POST,
                "/messages".into(),
                json!({"queryId": closed, "content": "agent reply"}),
            ),
            (
                "admin",
                Method::POST,
                format!("/messages/admin/{closed}"),
                json!({"content": "admin reply"}),
            ),
            (
                "admin",
                Method::PATCH,
                format!("/donor-queries/{closed}/accept"),
                json!({}),
            ),
            (
                "admin",
                Method::PATCH,
                format!("/donor-queries/{closed}/resolve"),
                json!({}),
            ),
            (
                "admin",
                Method::PATCH,
                format!("/donor-queries/{closed}/transfer"),
                json!({"toUserId": agent_id}),
            ),
            (
                "admin",
                Method::PATCH,
                format!("/donor-queries/{closed}"),
                json!({"priority": "HIGH"}),
            ),
            (
                "admin",
                Method::PATCH,
                format!("/donor-queries/{closed}"),
                json!({"status": "IN_PROGRESS"}),
            ),
            (
                "admin",
                Method::PATCH,
                format!("/donor-queries/{closed}"),
                json!({"status": "CLOSED"}),
            ),
            (
                "admin",
                Method::POST,
                format!("/donor-queries/{closed}/send-reminder"),
                Value::Null,
            ),
        ];
        for (who, method, path, body) in cases {
            let token = match who {
                "donor" => &donor,
                "agent" => &agent,
                _ => &admin,
            };
            app.call(method.clone(), &path, Some(token), body)
                .await
                .expect_problem_for(409, &format!("{who} {method} {path}"));
        }
        app.expect_head(head, "changes to a CLOSED ticket").await;
        assert_eq!(
            snapshot(&app, closed).await,
            before,
            "the CLOSED ticket changed"
        );

        // A closed task likewise.
        let task = app.task(&agent, json!({"title": "short-lived"})).await;
        app.put(
            &format!("/tasks/{task}"),
            Some(&agent),
            json!({"status": "CLOSED"}),
        )
        .await
        .expect(200);
        let task_before = app
            .get(&format!("/tasks/{task}"), Some(&agent))
            .await
            .expect(200)
            .body;
        let head = app.settled_event_head().await;
        for body in [
            json!({"title": "renamed"}),
            json!({"status": "OPEN"}),
            json!({"status": "CLOSED"}),
        ] {
            app.put(&format!("/tasks/{task}"), Some(&agent), body)
                .await
                .expect_problem(409);
        }
        app.message(&agent, json!({"taskId": task, "content": "too late"}))
            .await
            .expect_problem(409);
        app.expect_head(head, "changes to a CLOSED task").await;
        let task_after = app
            .get(&format!("/tasks/{task}"), Some(&agent))
            .await
            .expect(200)
            .body;
        assert_eq!(task_after, task_before);
    }
);

e2e!(
    only_the_sender_edits_a_message,
    |app: TestApp, admin: String| async move {
        let (_, agent) = app.staff("agent1", "AGENT").await;
        let (query, donor) = app.donor_query("d-1", "first").await;
        let from_donor = app.say(query, &donor, "donor text").await;
        let from_admin = app.say(query, &admin, "admin text").await;
        app.ticket_action(query, "resolve", &admin, json!({}))
            .await
            .expect(200);
        let (_, messages) = snapshot(&app, query).await;
        let system = messages
            .iter()
            .find(|m| m["messageType"] == "SYSTEM")
            .and_then(|m| m["id"].as_i64())
            .expect("the resolve note");
        let before = snapshot(&app, query).await;
        let head = app.settled_event_head().await;
        for (token, method, id, status) in [
            (&agent, Method::PUT, from_admin, 403),
            (&agent, Method::DELETE, from_admin, 403),
            (&agent, Method::PUT, from_donor, 403),
            (&agent, Method::DELETE, from_donor, 403),
            (&donor, Method::PUT, from_admin, 403),
            (&donor, Method::DELETE, from_admin, 403),
            (&admin, Method::PUT, from_donor, 403),
            (&admin, Method::PUT, system, 409),
            (&donor, Method::PUT, system, 409),
        ] {
            let body = if method == Method::PUT {
                json!({"content": "rewritten"})
            } else {
                Value::Null
            };
            let reply = app
                .call(
                    method.clone(),
                    &format!("/messages/{id}"),
                    Some(token),
                    body,
                )
                .await;
            assert_eq!(
                reply.status.as_u16(),
                status,
                "{method} /messages/{id}: {}",
                reply.text
            );
            reply.expect_problem(status);
        }
        app.expect_head(head, "edits by others").await;
        assert_eq!(snapshot(&app, query).await, before);
        // The senders themselves may; an admin may delete anyone's message.
        let edited = app
            .put(
                &format!("/messages/{from_donor}"),
                Some(&donor),
                json!({"content": "donor, edited"}),
            )
            .await
            .expect(200);
        assert_eq!(edited.get("content"), "donor, edited");
        assert!(edited.get("editedAt").is_string());
        app.put(
            &format!("/messages/{from_admin}"),
            Some(&admin),
            json!({"content": "admin, edited"}),
        )
        .await
        .expect(200);
        app.delete(&format!("/messages/{from_donor}"), Some(&admin))
            .await
            .expect(204);
    }
);

e2e!(
    only_a_super_admin_manages_admins,
    |app: TestApp| async move {
        let super_admin = app.admin_token.clone();
        let super_id = app
            .get("/auth/me", Some(&super_admin))
            .await
            .expect(200)
            .id();
        let (admin_id, admin) = app.staff("adam", "ADMIN").await;
        let (other_admin_id, _) = app.staff("ada", "ADMIN").await;
        let (agent_id, _) = app.staff("agent1", "AGENT").await;
        let users_before = app.get("/users", Some(&super_admin)).await.expect(200).body;
        for (method, path, body) in [
            (
                Method::POST,
                "/users".to_string(),
                json!({"username": "newadmin", "name": "N", "password": "password-123", "role": "ADMIN"}),
            ),
            (
                Method::POST,
                "/users".to_string(),
                json!({"username": "newsuper", "name": "N", "password": "password-123", "role": "SUPER_ADMIN"}),
            ),
            (
                Method::PATCH,
                format!("/users/{agent_id}"),
                json!({"role": "ADMIN"}),
            ),
            (
                Method::PATCH,
                format!("/users/{admin_id}"),
                json!({"role": "SUPER_ADMIN"}),
            ),
            (
                Method::PATCH,
                format!("/users/{super_id}"),
                json!({"isActive": false}),
            ),
            (
                Method::PATCH,
                format!("/users/{super_id}"),
                json!({"role": "AGENT"}),
            ),
            (
                Method::PATCH,
                format!("/users/{super_id}"),
                json!({"name": "Mallory"}),
            ),
        ] {
            app.call(method.clone(), &path, Some(&admin), body)
                .await
                .expect_problem_for(403, &format!("ADMIN {method} {path}"));
        }
        assert_eq!(
            app.get("/users", Some(&super_admin)).await.expect(200).body,
            users_before
        );
        // What an ADMIN may do: manage agents (and other admins' names are not theirs to raise).
        app.update_user(agent_id, &admin, json!({"name": "Agent One"}))
            .await
            .expect(200);
        app.post(
        "/users",
        Some(&admin),
        json!({"username": "newagent", "name": "N", "password": "password-123", "role": "AGENT"}),
    )
    .await
    .expect(201);
        // The super admin may raise and lower.
        app.update_user(other_admin_id, &super_admin, json!({"role": "AGENT"}))
            .await
            .expect(200);
    }
);
