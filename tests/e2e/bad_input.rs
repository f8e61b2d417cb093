//! Bad input gets a 4xx problem, never a 500, and writes nothing: malformed or mistyped JSON,
//! the wrong content type, oversized bodies, unknown and unparsable ids, overlong text, unknown
//! enum values, paging abuse. Text full of SQL and LIKE metacharacters is stored verbatim.

use super::*;
use concierge_e2e::{encode, Reply};
use reqwest::Method;
use serde_json::Value;

const JSON: Option<&str> = Some("application/json");

/// A task as the admin; returns its id.
async fn task(app: &TestApp, title: &str) -> i64 {
    app.task(&app.admin_token, json!({"title": title, "priority": "LOW"}))
        .await
}

fn titles(reply: &Reply) -> Vec<String> {
    let mut titles: Vec<String> = reply
        .data()
        .iter()
        .map(|t| t["title"].as_str().expect("title").to_string())
        .collect();
    titles.sort();
    titles
}

e2e!(
    malformed_json_is_400_problem,
    |app: TestApp, admin: String| async move {
        let (query, donor) = app.donor_query("d-1", "hello").await;
        let task = task(&app, "a task").await;
        let head = app.settled_event_head().await;

        let cases: Vec<(Method, String, Option<&str>, &str)> = vec![
            (
                Method::POST,
                "/donor-queries".into(),
                None,
                r#"{"donor": "Ann", "donorId": "d-2""#,
            ),
            (
                Method::POST,
                "/donor-queries".into(),
                None,
                "{donor: 'Ann'}",
            ),
            (Method::POST, "/donor-queries".into(), None, ""),
            (
                Method::POST,
                "/tasks".into(),
                Some(&admin),
                "not json at all",
            ),
            (
                Method::POST,
                "/tasks".into(),
                Some(&admin),
                r#"{"title": "x",}"#,
            ),
            (Method::PUT, format!("/tasks/{task}"), Some(&admin), "[1, 2"),
            (
                Method::POST,
                "/messages".into(),
                Some(&donor),
                r#"{"queryId": 1 "content": "x"}"#,
            ),
            (
                Method::PATCH,
                format!("/donor-queries/{query}"),
                Some(&admin),
                "{\"title\": \"\\x\"}",
            ),
            (Method::POST, "/auth/login".into(), None, "{"),
            (Method::POST, "/users".into(), Some(&admin), "nul\u{0}l"),
        ];
        for (method, path, token, body) in cases {
            app.raw(method.clone(), &path, token, JSON, body.to_string())
                .await
                .expect_problem_for(400, &format!("{method} {path} {body:?}"));
        }
        app.expect_head(head, "malformed JSON").await;
        // The admin's view of the task did not change.
        let got = app
            .get(&format!("/tasks/{task}"), Some(&admin))
            .await
            .expect(200);
        assert_eq!(got.get("title"), "a task");
    }
);

e2e!(
    wrong_json_types_are_400,
    |app: TestApp, admin: String| async move {
        let (query, donor) = app.donor_query("d-1", "hello").await;
        let task = task(&app, "a task").await;
        let (agent_id, _) = app.staff("agent1", "AGENT").await;
        let head = app.settled_event_head().await;

        let cases: Vec<(Method, String, Option<&str>, Value)> = vec![
            (
                Method::POST,
                "/donor-queries".into(),
                None,
                json!({"donor": 5, "donorId": "d-2"}),
            ),
            (
                Method::POST,
                "/donor-queries".into(),
                None,
                json!({"donor": "Ann", "donorId": 7}),
            ),
            (
                Method::POST,
                "/donor-queries".into(),
                None,
                json!({"donor": "Ann", "donorId": "d-2", "test": "yes"}),
            ),
            (
                Method::POST,
                "/donor-queries".into(),
                None,
                json!({"donor": "Ann", "donorId": "d-2", "message": ["hi"]}),
            ),
            (
                Method::POST,
                "/donor-queries".into(),
                None,
                json!(["not", "an", "object"]),
            ),
            (
                Method::POST,
                "/donor-queries".into(),
                None,
                json!("a string"),
            ),
            (
                Method::POST,
                "/tasks".into(),
                Some(&admin),
                json!({"title": ["x"]}),
            ),
            (
                Method::POST,
                "/tasks".into(),
                Some(&admin),
                json!({"title": "t", "priority": 3}),
            ),
            (
                Method::POST,
                "/tasks".into(),
                Some(&admin),
                json!({"title": "t", "assignedToId": "me"}),
            ),
            (
                Method::POST,
                "/tasks".into(),
                Some(&admin),
                json!({"title": {"text": "t"}}),
            ),
            (
                Method::PUT,
                format!("/tasks/{task}"),
                Some(&admin),
                json!({"title": 12}),
            ),
            (
                Method::PUT,
                format!("/tasks/{task}"),
                Some(&admin),
                json!({"status": true}),
            ),
            (
                Method::PATCH,
                format!("/donor-queries/{query}"),
                Some(&admin),
                json!({"priority": 1}),
            ),
            (
                Method::PATCH,
                format!("/donor-queries/{query}/transfer"),
                Some(&admin),
                json!({"toUserId": "two"}),
            ),
            (
                Method::POST,
                "/messages".into(),
                Some(&donor),
                json!({"queryId": "abc", "content": "x"}),
            ),
            (
                Method::POST,
                "/messages".into(),
                Some(&donor),
                json!({"queryId": query, "content": 5}),
            ),
            (
                Method::POST,
                "/messages".into(),
                Some(&donor),
                json!({"queryId": 1.5, "content": "x"}),
            ),
            (
                Method::POST,
                "/messages".into(),
                Some(&donor),
                json!({"queryId": query, "content": "x", "replyToId": "first"}),
            ),
            (
                Method::POST,
                "/auth/login".into(),
                None,
                json!({"username": 1, "password": 2}),
            ),
            (
                Method::POST,
                "/users".into(),
                Some(&admin),
                json!({"username": "bob", "name": "Bob", "password": 12345678, "role": "AGENT"}),
            ),
            (
                Method::PATCH,
                format!("/users/{agent_id}"),
                Some(&admin),
                json!({"isActive": "no"}),
            ),
            (
                Method::PUT,
                "/users/me/password".into(),
                Some(&admin),
                json!({"currentPassword": ADMIN_PASSWORD, "newPassword": 123456789}),
            ),
        ];
        for (method, path, token, body) in cases {
            app.call(method.clone(), &path, token, body.clone())
                .await
                .expect_problem_for(400, &format!("{method} {path} {body}"));
        }
        app.expect_head(head, "mistyped JSON").await;
        // Nothing was created for d-2, and the agent is still active.
        let list = app
            .get("/donor-queries/user?donorId=d-2", Some(&admin))
            .await
            .expect(200);
        assert!(list.data().is_empty(), "{}", list.text);
        let agent = app
            .get(&format!("/users/{agent_id}"), Some(&admin))
            .await
            .expect(200);
        assert_eq!(agent.get("isActive"), true);
        // The admin's password did not change.
        app.login(ADMIN, ADMIN_PASSWORD).await;
    }
);

e2e!(
    non_json_content_type_is_415,
    |app: TestApp, admin: String| async move {
        let (query, donor) = app.donor_query("d-1", "hello").await;
        let head = app.settled_event_head().await;
        let query_body = r#"{"donor": "Ann", "donorId": "d-2"}"#;
        let message_body = format!(r#"{{"queryId": {query}, "content": "hi"}}"#);

        let cases: Vec<(&str, Option<&str>, String, Option<&str>)> = vec![
            (
                "/donor-queries",
                None,
                query_body.into(),
                Some("text/plain"),
            ),
            (
                "/donor-queries",
                None,
                query_body.into(),
                Some("application/x-www-form-urlencoded"),
            ),
            (
                "/donor-queries",
                None,
                query_body.into(),
                Some("application/xml"),
            ),
            ("/donor-queries", None, query_body.into(), None),
            (
                "/tasks",
                Some(&admin),
                r#"{"title": "t"}"#.into(),
                Some("text/html"),
            ),
            (
                "/messages",
                Some(&donor),
                message_body.clone(),
                Some("text/plain; charset=utf-8"),
            ),
            (
                "/auth/login",
                None,
                format!(r#"{{"username": "{ADMIN}", "password": "{ADMIN_PASSWORD}"}}"#),
                Some("text/plain"),
            ),
        ];
        for (path, token, body, content_type) in cases {
            app.raw(Method::POST, path, token, content_type, body.clone())
                .await
                .expect_problem_for(415, &format!("{path} as {content_type:?}"));
        }
        app.expect_head(head, "non-JSON bodies").await;

        // The same bodies as JSON (with a charset parameter) are taken.
        app.raw(
            Method::POST,
            "/messages",
            Some(&donor),
            Some("application/json; charset=utf-8"),
            message_body,
        )
        .await
        .expect(201);
        app.raw(Method::POST, "/donor-queries", None, JSON, query_body)
            .await
            .expect(201);
    }
);

e2e!(
    bodies_over_one_mib_are_413,
    |app: TestApp, admin: String| async move {
        let (query, donor) = app.donor_query("d-1", "hello").await;
        let head = app.settled_event_head().await;
        let big = "x".repeat(1024 * 1024 + 10);

        let cases: Vec<(&str, Option<&str>, Value)> = vec![
            (
                "/donor-queries",
                None,
                json!({"donor": "Ann", "donorId": "d-2", "message": big}),
            ),
            (
                "/tasks",
                Some(&admin),
                json!({"title": "t", "description": big}),
            ),
            (
                "/messages",
                Some(&donor),
                json!({"queryId": query, "content": big}),
            ),
            (
                "/auth/login",
                None,
                json!({"username": ADMIN, "password": big}),
            ),
        ];
        for (path, token, body) in cases {
            app.post(path, token, body)
                .await
                .expect_problem_for(413, path);
        }
        app.expect_head(head, "oversized bodies").await;

        // Just under the limit, the body is read and its field judged: 422, not 413.
        let under = "x".repeat(900 * 1024);
        app.post(
            "/donor-queries",
            None,
            json!({"donor": "Ann", "donorId": "d-2", "message": under}),
        )
        .await
        .expect_invalid("message");
        app.expect_head(head, "a refused large body").await;
    }
);

e2e!(
    unknown_ids_are_404,
    |app: TestApp, admin: String| async move {
        let (query, _) = app.donor_query("d-1", "hello").await;
        let head = app.settled_event_head().await;
        let n = 987_654_321i64;

        let cases: Vec<(Method, String, Value)> = vec![
            (Method::GET, format!("/donor-queries/{n}"), Value::Null),
            (
                Method::GET,
                format!("/donor-queries/admin/{n}"),
                Value::Null,
            ),
            (
                Method::PATCH,
                format!("/donor-queries/{n}"),
                json!({"priority": "HIGH"}),
            ),
            (
                Method::PATCH,
                format!("/donor-queries/{n}/accept"),
                json!({}),
            ),
            (
                Method::PATCH,
                format!("/donor-queries/{n}/resolve"),
                json!({}),
            ),
            (
                Method::POST,
                format!("/donor-queries/{n}/donor-close"),
                Value::Null,
            ),
            (
                Method::POST,
                format!("/donor-queries/{n}/send-reminder"),
                Value::Null,
            ),
            (Method::DELETE, format!("/donor-queries/{n}"), Value::Null),
            (Method::GET, format!("/tasks/{n}"), Value::Null),
            (Method::PUT, format!("/tasks/{n}"), json!({"title": "x"})),
            (Method::DELETE, format!("/tasks/{n}"), Value::Null),
            (
                Method::POST,
                "/messages".into(),
                json!({"queryId": n, "content": "hi"}),
            ),
            (
                Method::POST,
                format!("/messages/admin/{n}"),
                json!({"content": "hi"}),
            ),
            (Method::GET, format!("/messages/admin/{n}"), Value::Null),
            (Method::GET, format!("/messages/query/{n}"), Value::Null),
            (Method::GET, format!("/messages/task/{n}"), Value::Null),
            (Method::GET, format!("/messages/{n}"), Value::Null),
            (Method::GET, format!("/messages?queryId={n}"), Value::Null),
            (Method::GET, format!("/messages/thread/{n}"), Value::Null),
            (
                Method::PUT,
                format!("/messages/{n}"),
                json!({"content": "x"}),
            ),
            (Method::DELETE, format!("/messages/{n}"), Value::Null),
            (Method::GET, format!("/users/{n}"), Value::Null),
            (Method::PATCH, format!("/users/{n}"), json!({"name": "x"})),
            (Method::GET, "/no/such/route".into(), Value::Null),
        ];
        app.expect_each(404, Some(&admin), cases).await;
        // An unknown user named in a body is an invalid field, not a missing route object.
        app.ticket_action(query, "transfer", &admin, json!({"toUserId": n}))
            .await
            .expect_invalid("toUserId");
        app.post(
            "/tasks",
            Some(&admin),
            json!({"title": "t", "assignedToId": n}),
        )
        .await
        .expect_invalid("assignedToId");
        app.message(
            &admin,
            json!({"queryId": query, "content": "hi", "replyToId": n}),
        )
        .await
        .expect_invalid("replyToId");
        app.expect_head(head, "requests for unknown ids").await;
    }
);

e2e!(
    non_numeric_path_ids_are_400,
    |app: TestApp, admin: String| async move {
        let head = app.settled_event_head().await;
        let cases: Vec<(Method, &str, Value)> = vec![
            (Method::GET, "/donor-queries/abc", Value::Null),
            (Method::GET, "/donor-queries/admin/abc", Value::Null),
            (Method::PATCH, "/donor-queries/abc/accept", json!({})),
            (Method::POST, "/donor-queries/abc/donor-close", Value::Null),
            (Method::GET, "/tasks/abc", Value::Null),
            (Method::GET, "/tasks/1.5", Value::Null),
            (Method::GET, "/tasks/99999999999999999999", Value::Null),
            (Method::PUT, "/tasks/x", json!({"title": "t"})),
            (
                Method::DELETE,
                "/tasks/%27%3B%20DROP%20TABLE%20tickets",
                Value::Null,
            ),
            (Method::GET, "/messages/thread/x", Value::Null),
            (Method::GET, "/messages/query/abc", Value::Null),
            (Method::GET, "/messages/task/abc", Value::Null),
            (Method::GET, "/messages/abc", Value::Null),
            (Method::GET, "/messages/between/a/b", Value::Null),
            (Method::PUT, "/messages/x", json!({"content": "c"})),
            (Method::GET, "/users/abc", Value::Null),
            (Method::PATCH, "/users/abc", json!({"name": "n"})),
        ];
        app.expect_each(400, Some(&admin), cases).await;
        // Query parameters that should be numbers.
        for path in [
            "/tasks?assigneeId=abc",
            "/messages?queryId=abc",
            "/messages?after=x",
            "/users?limit=ten",
        ] {
            app.get(path, Some(&admin))
                .await
                .expect_problem_for(400, path);
        }
        app.expect_head(head, "unparsable ids").await;
    }
);

e2e!(
    negative_and_zero_ids_are_404,
    |app: TestApp, admin: String| async move {
        let head = app.settled_event_head().await;
        for n in [-1i64, 0, i64::MIN] {
            let cases: Vec<(Method, String, Value)> = vec![
                (Method::GET, format!("/donor-queries/{n}"), Value::Null),
                (
                    Method::PATCH,
                    format!("/donor-queries/{n}/resolve"),
                    json!({}),
                ),
                (Method::GET, format!("/tasks/{n}"), Value::Null),
                (Method::PUT, format!("/tasks/{n}"), json!({"title": "x"})),
                (Method::GET, format!("/messages/thread/{n}"), Value::Null),
                (Method::GET, format!("/messages/query/{n}"), Value::Null),
                (
                    Method::PUT,
                    format!("/messages/{n}"),
                    json!({"content": "x"}),
                ),
                (
                    Method::POST,
                    "/messages".into(),
                    json!({"queryId": n, "content": "hi"}),
                ),
                (Method::GET, format!("/users/{n}"), Value::Null),
            ];
            app.expect_each(404, Some(&admin), cases).await;
        }
        app.expect_head(head, "negative ids").await;
    }
);

e2e!(
    overlong_strings_are_422_naming_the_field,
    |app: TestApp, admin: String| async move {
        let (query, donor) = app.donor_query("d-1", "hello").await;
        let task = task(&app, "a task").await;
        let head = app.settled_event_head().await;
        let s = |n: usize| "a".repeat(n);

        let cases: Vec<(Method, String, Option<&str>, Value, &str)> = vec![
            (
                Method::POST,
                "/tasks".into(),
                Some(&admin),
                json!({"title": s(201)}),
                "title",
            ),
            (
                Method::POST,
                "/tasks".into(),
                Some(&admin),
                json!({"title": "é".repeat(201)}),
                "title",
            ),
            (
                Method::POST,
                "/tasks".into(),
                Some(&admin),
                json!({"title": "t", "description": s(10_001)}),
                "description",
            ),
            (
                Method::PUT,
                format!("/tasks/{task}"),
                Some(&admin),
                json!({"title": s(201)}),
                "title",
            ),
            (
                Method::PATCH,
                format!("/donor-queries/{query}"),
                Some(&admin),
                json!({"stage": s(201)}),
                "stage",
            ),
            (
                Method::POST,
                "/messages".into(),
                Some(&donor),
                json!({"queryId": query, "content": s(10_001)}),
                "content",
            ),
            (
                Method::POST,
                "/messages".into(),
                Some(&admin),
                json!({"queryId": query, "content": "🙂".repeat(10_001)}),
                "content",
            ),
            (
                Method::POST,
                "/messages".into(),
                Some(&donor),
                json!({"queryId": query, "content": "ok", "clientMessageId": s(129)}),
                "clientMessageId",
            ),
            (
                Method::POST,
                format!("/messages/admin/{query}"),
                Some(&admin),
                json!({"content": s(10_001)}),
                "content",
            ),
            (
                Method::POST,
                "/donor-queries".into(),
                None,
                json!({"donor": "Ann", "donorId": s(201)}),
                "donorId",
            ),
            (
                Method::POST,
                "/donor-queries".into(),
                None,
                json!({"donor": s(101), "donorId": "d-2"}),
                "donor",
            ),
            (
                Method::POST,
                "/donor-queries".into(),
                None,
                json!({"donor": "Ann", "donorId": "d-2", "message": s(10_001)}),
                "message",
            ),
            (
                Method::POST,
                "/donor-queries".into(),
                None,
                json!({"donor": "Ann", "donorId": "d-2", "stage": s(201)}),
                "stage",
            ),
            (
                Method::POST,
                "/donor-queries".into(),
                None,
                json!({"donor": "Ann", "donorId": "d-2", "device": s(201)}),
                "device",
            ),
            (
                Method::POST,
                "/donor-queries".into(),
                None,
                json!({"donor": "Ann", "donorId": "d-2", "sid": s(201)}),
                "sid",
            ),
            (
                Method::POST,
                "/users".into(),
                Some(&admin),
                json!({"username": "longname", "name": s(101), "password": "password-123", "role": "AGENT"}),
                "name",
            ),
            (
                Method::PUT,
                "/users/me/profile".into(),
                Some(&admin),
                json!({"name": s(101)}),
                "name",
            ),
            (
                Method::PATCH,
                format!("/donor-queries/{query}/transfer"),
                Some(&admin),
                json!({"toUserId": 1, "note": s(1001)}),
                "note",
            ),
        ];
        for (method, path, token, body, field) in cases {
            app.call(method.clone(), &path, token, body)
                .await
                .expect_invalid_for(field, &format!("{method} {path} ({field})"));
        }
        // A search query over 500 characters is refused too.
        app.get(&format!("/tasks?q={}", s(501)), Some(&admin))
            .await
            .expect_invalid("q");
        app.expect_head(head, "overlong strings").await;
        let list = app
            .get("/donor-queries/user?donorId=d-2", Some(&admin))
            .await
            .expect(200);
        assert!(list.data().is_empty(), "{}", list.text);

        // The limits count characters, not bytes: exactly at the limit is fine.
        let t = app
            .post("/tasks", Some(&admin), json!({"title": "🎗".repeat(200)}))
            .await
            .expect(201);
        assert_eq!(
            t.get("title").as_str().map(|t| t.chars().count()),
            Some(200)
        );
        let m = app
            .message(
                &donor,
                json!({"queryId": query, "content": "é".repeat(10_000)}),
            )
            .await
            .expect(201);
        assert_eq!(
            m.get("content").as_str().map(|c| c.chars().count()),
            Some(10_000)
        );
        app.post(
            "/donor-queries",
            None,
            json!({"donor": s(100), "donorId": s(200), "message": s(10_000)}),
        )
        .await
        .expect(201);
    }
);

e2e!(
    invalid_enum_values_are_422,
    |app: TestApp, admin: String| async move {
        let (query, _) = app.donor_query("d-1", "hello").await;
        let task = task(&app, "a task").await;
        let head = app.settled_event_head().await;

        let cases: Vec<(Method, String, Option<&str>, Value, &str)> = vec![
            (
                Method::POST,
                "/tasks".into(),
                Some(&admin),
                json!({"title": "t", "priority": "SOMEDAY"}),
                "priority",
            ),
            (
                Method::POST,
                "/tasks".into(),
                Some(&admin),
                json!({"title": "t", "priority": "high"}),
                "priority",
            ),
            (
                Method::POST,
                "/tasks".into(),
                Some(&admin),
                json!({"title": "t", "priority": ""}),
                "priority",
            ),
            (
                Method::PUT,
                format!("/tasks/{task}"),
                Some(&admin),
                json!({"status": "NOPE"}),
                "status",
            ),
            (
                Method::PUT,
                format!("/tasks/{task}"),
                Some(&admin),
                json!({"status": "TRANSFERRED"}),
                "status",
            ),
            (
                Method::PUT,
                format!("/tasks/{task}"),
                Some(&admin),
                json!({"priority": "SOMEDAY"}),
                "priority",
            ),
            (
                Method::PATCH,
                format!("/donor-queries/{query}"),
                Some(&admin),
                json!({"status": "NOPE"}),
                "status",
            ),
            (
                Method::POST,
                "/donor-queries".into(),
                None,
                json!({"donor": "Ann", "donorId": "d-2", "queryMode": "SMOKE_SIGNAL"}),
                "queryMode",
            ),
            (
                Method::POST,
                "/donor-queries".into(),
                None,
                json!({"donor": "Ann", "donorId": "d-2", "priority": "SOMEDAY"}),
                "priority",
            ),
            (
                Method::POST,
                "/users".into(),
                Some(&admin),
                json!({"username": "rooty", "name": "R", "password": "password-123", "role": "ROOT"}),
                "role",
            ),
        ];
        for (method, path, token, body, field) in cases {
            app.call(method.clone(), &path, token, body)
                .await
                .expect_invalid_for(field, &format!("{method} {path} ({field})"));
        }
        for (path, field) in [
            ("/tasks?status=NOPE", "status"),
            ("/tasks?status=OPEN,NOPE", "status"),
            ("/tasks?priority=SOMEDAY", "priority"),
            ("/donor-queries?status=NOPE", "status"),
            ("/tasks?from=yesterday", "from"),
        ] {
            app.get(path, Some(&admin))
                .await
                .expect_invalid_for(field, path);
        }
        app.get(
            &format!("/messages?queryId={query}&messageType=NOPE"),
            Some(&admin),
        )
        .await
        .expect_invalid("messageType");
        app.expect_head(head, "unknown enum values").await;
        let got = app
            .get(&format!("/tasks/{task}"), Some(&admin))
            .await
            .expect(200);
        assert_eq!(
            (got.get("status"), got.get("priority")),
            (&json!("OPEN"), &json!("LOW"))
        );
        app.login_refused("rooty", "password-123").await;
    }
);

e2e!(
    empty_or_missing_required_text_is_422,
    |app: TestApp, admin: String| async move {
        let (query, donor) = app.donor_query("d-1", "hello").await;
        let task = task(&app, "a task").await;
        let head = app.settled_event_head().await;

        let cases: Vec<(Method, String, Option<&str>, Value, &str)> = vec![
            (
                Method::POST,
                "/tasks".into(),
                Some(&admin),
                json!({"title": ""}),
                "title",
            ),
            (
                Method::POST,
                "/tasks".into(),
                Some(&admin),
                json!({"title": "   \t\n"}),
                "title",
            ),
            (
                Method::POST,
                "/tasks".into(),
                Some(&admin),
                json!({"description": "no title"}),
                "title",
            ),
            (
                Method::POST,
                "/tasks".into(),
                Some(&admin),
                json!({"title": "a\u{0}b"}),
                "title",
            ),
            (
                Method::PUT,
                format!("/tasks/{task}"),
                Some(&admin),
                json!({"title": ""}),
                "title",
            ),
            (
                Method::PUT,
                format!("/tasks/{task}"),
                Some(&admin),
                json!({}),
                "body",
            ),
            (
                Method::POST,
                "/messages".into(),
                Some(&donor),
                json!({"queryId": query, "content": ""}),
                "content",
            ),
            (
                Method::POST,
                "/messages".into(),
                Some(&donor),
                json!({"queryId": query, "content": "  "}),
                "content",
            ),
            (
                Method::POST,
                "/messages".into(),
                Some(&donor),
                json!({"queryId": query}),
                "content",
            ),
            (
                Method::POST,
                "/messages".into(),
                Some(&donor),
                json!({"content": "which ticket?"}),
                "queryId",
            ),
            (
                Method::POST,
                "/messages".into(),
                Some(&admin),
                json!({"queryId": query, "content": "nul \u{0} inside"}),
                "content",
            ),
            (
                Method::POST,
                "/donor-queries".into(),
                None,
                json!({"donor": "", "donorId": "d-2"}),
                "donor",
            ),
            (
                Method::POST,
                "/donor-queries".into(),
                None,
                json!({"donor": "Ann"}),
                "donorId",
            ),
            (
                Method::POST,
                "/donor-queries".into(),
                None,
                json!({"donor": "Ann", "donorId": " "}),
                "donorId",
            ),
            (
                Method::POST,
                "/users".into(),
                Some(&admin),
                json!({"username": "emma", "name": "", "password": "password-123"}),
                "name",
            ),
        ];
        for (method, path, token, body, field) in cases {
            app.call(method.clone(), &path, token, body)
                .await
                .expect_invalid_for(field, &format!("{method} {path} ({field})"));
        }
        app.expect_head(head, "empty text").await;
        let got = app
            .get(&format!("/tasks/{task}"), Some(&admin))
            .await
            .expect(200);
        assert_eq!(got.get("title"), "a task");
    }
);

/// Text that breaks naive SQL, LIKE patterns, JSON escaping or byte-based length checks. No
/// leading or trailing whitespace: the server trims the ends of text fields.
const NASTY: &[&str] = &[
    "'; DROP TABLE tickets; --",
    "Robert'); DROP TABLE users;--",
    "%",
    "_",
    "\\",
    "100% of _all_ \\n back\\slash %% __",
    "\"double\" and 'single' and `back` quotes ''",
    "Zoë Ørsted — 東京 — مرحبا — Привет — ñ",
    "emoji 🎗️👍🏽👨‍👩‍👧 ❤",
    "$1 ? :name @p0 /* comment */ -- tail; SELECT 1",
    "line\nbreak\ttab inside",
    "<script>alert(1)</script> &amp;",
];

e2e!(
    sql_metacharacters_are_stored_and_returned_verbatim,
    |app: TestApp, admin: String| async move {
        for (i, text) in NASTY.iter().copied().enumerate() {
            // A task: title and description.
            let created = app
                .post(
                    "/tasks",
                    Some(&admin),
                    json!({"title": text, "description": text}),
                )
                .await
                .expect(201);
            assert_eq!(
                (created.get("title"), created.get("description")),
                (&json!(text), &json!(text))
            );
            let got = app
                .get(&format!("/tasks/{}", created.id()), Some(&admin))
                .await
                .expect(200);
            assert_eq!(
                (got.get("title"), got.get("description")),
                (&json!(text), &json!(text)),
                "task {text:?}"
            );

            // A donor query: every text field.
            let donor_id = format!("{text}#{i}");
            let created = app
                .post(
                    "/donor-queries",
                    None,
                    json!({"donor": text, "donorId": donor_id, "stage": text, "device": text,
                       "sid": text, "message": text}),
                )
                .await
                .expect(201);
            let id = created.id();
            let token = created.string("donorToken");
            assert_eq!(created.get("firstMessage")["content"], json!(text));
            let got = app.ticket(id, &token).await;
            for field in ["donor", "stage", "device", "sid", "description"] {
                assert_eq!(
                    got.get(field),
                    &json!(text),
                    "query {field} of {text:?}: {}",
                    got.text
                );
            }
            assert_eq!(got.get("donorId"), &json!(donor_id));
            // The donor id is matched exactly: "%" or "_" does not list other donors' queries.
            let mine = app
                .get(
                    &format!("/donor-queries/user?donorId={}", encode(&donor_id)),
                    Some(&admin),
                )
                .await
                .expect(200);
            let ids: Vec<i64> = mine
                .data()
                .iter()
                .filter_map(|t| t["id"].as_i64())
                .collect();
            assert_eq!(ids, vec![id], "donor {donor_id:?}: {}", mine.text);
            let mine = app
                .get("/donor-queries/user", Some(&token))
                .await
                .expect(200);
            assert_eq!(mine.data().len(), 1, "{}", mine.text);

            // Messages from the donor and from staff.
            let m = app
                .message(
                    &token,
                    json!({"queryId": id, "content": text, "clientMessageId": text}),
                )
                .await
                .expect(201);
            assert_eq!(
                (m.get("content"), m.get("clientMessageId")),
                (&json!(text), &json!(text))
            );
            app.message(&admin, json!({"queryId": id, "content": text}))
                .await
                .expect(201);
            let conversation = app.conversation(id, &token).await;
            let contents: Vec<&Value> = conversation.data().iter().map(|m| &m["content"]).collect();
            assert_eq!(contents, vec![&json!(text); 3], "{}", conversation.text);

            // A user's display name, set on creation and through the profile.
            let username = format!("user{i}");
            let user = app
            .post(
                "/users",
                Some(&admin),
                json!({"username": username, "name": text, "password": "password-123", "role": "AGENT"}),
            )
            .await
            .expect(201);
            assert_eq!(user.get("name"), &json!(text));
            let got = app
                .get(&format!("/users/{}", user.id()), Some(&admin))
                .await
                .expect(200);
            assert_eq!(got.get("name"), &json!(text));
            let token = app.login(&username, "password-123").await;
            let renamed = format!("{text}!");
            app.put("/users/me/profile", Some(&token), json!({"name": renamed}))
                .await
                .expect(200);
            let me = app.get("/auth/me", Some(&token)).await.expect(200);
            assert_eq!(me.get("name"), &json!(renamed));
        }
        // The tables are all still there, with everything in them.
        let tasks = app
            .get("/tasks?status=OPEN", Some(&admin))
            .await
            .expect(200);
        assert_eq!(tasks.data().len(), NASTY.len());
        let users = app.get("/users", Some(&admin)).await.expect(200);
        assert_eq!(users.data().len(), NASTY.len() + 1);
    }
);

e2e!(
    list_search_reads_wildcards_and_quotes_as_plain_text,
    |app: TestApp, admin: String| async move {
        for title in [
            "plain alpha",
            "50% off",
            "snake_case name",
            "back\\slash path",
            "Mixed CASE Title",
        ] {
            task(&app, title).await;
        }
        let search = |q: &str| format!("/tasks?q={}", encode(q));
        // `q` is a search query (docs/search.md): punctuation separates words and is never a
        // wildcard or syntax; words match whole (case-insensitively), `*` ends a prefix.
        let cases: Vec<(&str, Vec<&str>)> = vec![
            ("50%", vec!["50% off"]),
            ("snake_case", vec!["snake_case name"]),
            ("back\\slash", vec!["back\\slash path"]),
            ("a%e", vec![]),
            ("s_a", vec![]),
            ("' OR '1'='1", vec![]),
            ("case", vec!["Mixed CASE Title", "snake_case name"]),
            ("ALPHA", vec!["plain alpha"]),
            ("alp*", vec!["plain alpha"]),
            ("alp", vec![]),
        ];
        for (q, expected) in cases {
            let reply = app.get(&search(q), Some(&admin)).await.expect(200);
            assert_eq!(titles(&reply), expected, "q={q:?}");
        }
        // Punctuation alone is no query.
        for q in ["%", "_", "\\", "%%"] {
            app.get(&search(q), Some(&admin)).await.expect_invalid("q");
        }
        // The same on the donor-query list, which searches the conversation too.
        app.donor_query("d-1", "save 10% now").await;
        app.donor_query("d-2", "nothing special").await;
        let reply = app
            .get(&format!("/donor-queries?q={}", encode("10%")), Some(&admin))
            .await
            .expect(200);
        let found: Vec<&Value> = reply.data().iter().map(|t| &t["description"]).collect();
        assert_eq!(found, vec![&json!("save 10% now")], "{}", reply.text);
    }
);

e2e!(
    task_list_limit_is_capped_at_100_and_validated,
    |app: TestApp, admin: String| async move {
        for i in 0..101 {
            task(&app, &format!("task {i}")).await;
        }
        let page = app
            .get("/tasks?limit=100000", Some(&admin))
            .await
            .expect(200);
        assert_eq!(page.data().len(), 100);
        assert_eq!(page.get("hasMore"), true);
        let cursor = page.string("nextCursor");
        let rest = app
            .get(
                &format!("/tasks?limit=100000&cursor={}", encode(&cursor)),
                Some(&admin),
            )
            .await
            .expect(200);
        assert_eq!((rest.data().len(), rest.get("hasMore")), (1, &json!(false)));
        assert!(rest.get("nextCursor").is_null());
        let default = app.get("/tasks", Some(&admin)).await.expect(200);
        assert_eq!(default.data().len(), 20);
        let five = app
            .get("/tasks?limit=5&status=OPEN", Some(&admin))
            .await
            .expect(200);
        assert_eq!(five.data().len(), 5);

        for limit in ["0", "-5"] {
            app.get(&format!("/tasks?limit={limit}"), Some(&admin))
                .await
                .expect_invalid("limit");
        }
        app.get("/tasks?limit=many", Some(&admin))
            .await
            .expect_problem(400);
    }
);

e2e!(
    conversation_and_user_lists_cap_limit_at_100,
    |app: TestApp, admin: String| async move {
        let (query, donor) = app.donor_query("d-1", "first").await;
        for i in 0..100 {
            app.message(
                &donor,
                json!({"queryId": query, "content": format!("m{i}")}),
            )
            .await
            .expect(201);
        }
        let page = app
            .get(
                &format!("/messages/query/{query}?limit=100000"),
                Some(&donor),
            )
            .await
            .expect(200);
        assert_eq!(
            (page.data().len(), page.get("hasMore")),
            (100, &json!(true))
        );
        let cursor = page.string("nextCursor");
        let rest = app
            .get(
                &format!(
                    "/messages/query/{query}?limit=100000&cursor={}",
                    encode(&cursor)
                ),
                Some(&donor),
            )
            .await
            .expect(200);
        assert_eq!(rest.data().len(), 1);
        assert_eq!(rest.data()[0]["content"], "m99");
        app.get(&format!("/messages/query/{query}?limit=0"), Some(&donor))
            .await
            .expect_invalid("limit");
        app.get("/users?limit=0", Some(&admin))
            .await
            .expect_invalid("limit");
        let users = app
            .get("/users?limit=100000", Some(&admin))
            .await
            .expect(200);
        assert_eq!(users.data().len(), 1);
    }
);

e2e!(
    garbage_cursors_are_422,
    |app: TestApp, admin: String| async move {
        let (query, donor) = app.donor_query("d-1", "first").await;
        task(&app, "one").await;
        let head = app.settled_event_head().await;
        for cursor in [
            "garbage",
            "c1",
            "c1zz",
            "c1-4",
            "c1ffffffffffffffffff",
            "' OR 1=1 --",
            "%00",
            "🙂",
        ] {
            let c = encode(cursor);
            for (path, token) in [
                (format!("/tasks?cursor={c}"), &admin),
                (format!("/donor-queries?cursor={c}"), &admin),
                (format!("/users?cursor={c}"), &admin),
                (format!("/messages/query/{query}?cursor={c}"), &donor),
                (format!("/donor-queries/user?cursor={c}"), &donor),
            ] {
                let reply = app.get(&path, Some(token)).await;
                assert_eq!(reply.status.as_u16(), 422, "{path}: {}", reply.text);
                reply.expect_invalid("cursor");
            }
        }
        app.expect_head(head, "garbage cursors").await;
    }
);
