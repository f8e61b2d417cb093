//! The audit trail (issue 18), on both databases: each recorded action lists its entry with
//! its actor, target and changes; the filters, pages and export; entries outlive their ticket;
//! `/audit/verify` names a row rewritten, removed or moved straight in the database; and only a
//! super admin reads any of it.

use crate::donor_privacy::post_with_file;
use concierge_e2e::{e2e, encode, Reply, TestApp};
use concierge_store::{Store, StoreConfig};
use diesel::connection::SimpleConnection;
use serde_json::{json, Value};
use std::time::Duration;

/// Every entry, newest first, once the auditor has chained them all.
async fn chained(app: &TestApp) -> Vec<Value> {
    for _ in 0..100 {
        let reply = app
            .get("/audit?limit=100", Some(&app.admin_token))
            .await
            .expect(200);
        let entries = reply.data().to_vec();
        if entries.iter().all(|e| e["hash"].is_string()) {
            return entries;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the auditor did not chain the entries");
}

/// The newest entry of `action`.
fn newest<'a>(entries: &'a [Value], action: &str) -> &'a Value {
    entries
        .iter()
        .find(|e| e["action"] == action)
        .unwrap_or_else(|| panic!("no {action} entry in {entries:#?}"))
}

fn staff(id: i64, role: &str) -> Value {
    json!({"kind": "STAFF", "id": id.to_string(), "role": role})
}

async fn my_id(app: &TestApp, token: &str) -> i64 {
    app.get("/auth/me", Some(token)).await.expect(200).id()
}

/// Runs `sql` on the app's database over a connection of the test's own.
async fn raw_sql(app: &TestApp, sql: impl Into<String>) {
    let sql = sql.into();
    let mut config = StoreConfig::new(
        app.database_url.clone(),
        std::sync::Arc::new(concierge_server::wire::EventWire),
    );
    config.pool_size = 1;
    let store = Store::connect(config).await.expect("the app's database");
    let pool = store.pool().clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = pool.get().expect("a connection");
        conn.batch_execute(&sql).expect("the statement runs");
    })
    .await
    .expect("joined");
}

async fn verify(app: &TestApp) -> Value {
    app.get("/audit/verify", Some(&app.admin_token))
        .await
        .expect(200)
        .body
}

e2e!(each_action_records_its_entry, |app: TestApp| async move {
    let admin = app.admin_token.clone();
    let admin_id = my_id(&app, &admin).await;
    let (agent_id, agent) = app.staff("aud-agent", "ADMIN").await;
    app.login_refused("aud-agent", "not-the-password-4711")
        .await;
    let (ticket, donor) = app.donor_query("d-audit", "my card was charged").await;
    let with_file = post_with_file(&app, &donor, ticket, "receipt", "r.png").await;
    let message = with_file["id"].as_i64().expect("message id");
    let attachment = with_file["attachments"][0]["id"]
        .as_i64()
        .expect("attachment");
    app.call(
        reqwest::Method::DELETE,
        &format!("/messages/{message}/attachment"),
        Some(&donor),
        json!({"attachmentId": attachment}),
    )
    .await
    .expect(200);
    app.put(
        &format!("/messages/{message}"),
        Some(&donor),
        json!({"content": "edited"}),
    )
    .await
    .expect(200);
    app.delete(&format!("/messages/{message}"), Some(&donor))
        .await
        .expect(204);
    app.ticket_action(ticket, "accept", &admin, json!({}))
        .await
        .expect(200);
    app.ticket_action(ticket, "transfer", &admin, json!({"toUserId": agent_id}))
        .await
        .expect(200);
    app.ticket_action(ticket, "resolve", &agent, json!({}))
        .await
        .expect(200);
    app.update_ticket(ticket, &admin, json!({"status": "IN_PROGRESS"}))
        .await
        .expect(200);
    app.update_ticket(ticket, &admin, json!({"status": "CLOSED"}))
        .await
        .expect(200);
    let viewed = app
        .client
        .get(format!("{}/donor-queries/admin/{ticket}", app.api))
        .bearer_auth(&admin)
        .header("x-request-id", "audit-read-1")
        .send()
        .await
        .expect("sent");
    assert_eq!(viewed.status().as_u16(), 200);
    app.change_password(&agent, "aud-agent-password", "a-new-password-99")
        .await
        .expect(200);
    app.update_user(agent_id, &admin, json!({"role": "AGENT"}))
        .await
        .expect(200);

    let entries = chained(&app).await;
    let all = serde_json::to_string(&entries).unwrap();
    assert!(!all.contains("not-the-password-4711") && !all.contains("a-new-password-99"));
    assert!(
        !all.contains("my card was charged"),
        "no message text in the trail"
    );

    let e = newest(&entries, "user.created");
    assert_eq!(e["actor"], staff(admin_id, "SUPER_ADMIN"));
    assert_eq!(
        e["target"],
        json!({"kind": "user", "id": agent_id.to_string()})
    );
    assert_eq!(e["changes"]["role"], json!([null, "ADMIN"]));
    assert_eq!(e["ip"], "127.0.0.1");
    let e = newest(&entries, "auth.login");
    assert_eq!(e["actor"], staff(agent_id, "ADMIN"));
    let e = newest(&entries, "auth.login_failed");
    assert_eq!(e["actor"]["kind"], "SYSTEM");
    assert_eq!(e["changes"], json!({"login": [null, "aud-agent"]}));

    let e = newest(&entries, "ticket.created");
    assert_eq!(
        e["actor"],
        json!({"kind": "DONOR", "id": "d-audit", "role": null})
    );
    assert_eq!(
        e["target"],
        json!({"kind": "ticket", "id": ticket.to_string()})
    );
    assert_eq!(e["ticketId"], ticket);
    let e = newest(&entries, "ticket.accepted");
    assert_eq!(e["actor"], staff(admin_id, "SUPER_ADMIN"));
    assert_eq!(e["changes"]["assigneeId"], json!([null, admin_id]));
    let e = newest(&entries, "ticket.transferred");
    assert_eq!(
        e["changes"]["status"],
        json!(["IN_PROGRESS", "TRANSFERRED"])
    );
    assert_eq!(e["changes"]["assigneeId"], json!([admin_id, agent_id]));
    let e = newest(&entries, "ticket.resolved");
    assert_eq!(e["actor"], staff(agent_id, "ADMIN"));
    assert_eq!(e["changes"]["status"], json!(["TRANSFERRED", "RESOLVED"]));
    let e = newest(&entries, "ticket.reopened");
    assert_eq!(e["changes"]["status"], json!(["RESOLVED", "IN_PROGRESS"]));
    let e = newest(&entries, "ticket.closed");
    assert_eq!(e["changes"]["status"], json!(["IN_PROGRESS", "CLOSED"]));

    let e = newest(&entries, "attachment.deleted");
    assert_eq!(e["actor"]["kind"], "DONOR");
    assert_eq!(
        e["target"],
        json!({"kind": "attachment", "id": attachment.to_string()})
    );
    assert_eq!(e["ticketId"], ticket);
    let e = newest(&entries, "message.edited");
    assert_eq!(
        e["target"],
        json!({"kind": "message", "id": message.to_string()})
    );
    let e = newest(&entries, "message.deleted");
    assert_eq!(
        e["target"],
        json!({"kind": "message", "id": message.to_string()})
    );
    let e = newest(&entries, "donor_query.viewed");
    assert_eq!(e["actor"], staff(admin_id, "SUPER_ADMIN"));
    assert_eq!(e["requestId"], "audit-read-1");
    assert_eq!(e["ticketId"], ticket);
    let e = newest(&entries, "auth.password_changed");
    assert_eq!(e["actor"], staff(agent_id, "ADMIN"));
    let e = newest(&entries, "user.updated");
    assert_eq!(e["changes"], json!({"role": ["ADMIN", "AGENT"]}));

    // Chained in order from 64 zeros, and whole.
    let oldest = entries.last().unwrap();
    assert_eq!(oldest["seq"], 1);
    assert_eq!(oldest["prevHash"], "0".repeat(64));
    assert_eq!(entries[0]["prevHash"], entries[1]["hash"]);
    let verdict = verify(&app).await;
    assert_eq!(verdict["ok"], true, "{verdict}");
    assert_eq!(verdict["checked"], entries.len());

    // A deleted ticket keeps its entries, and gains one.
    app.delete(&format!("/donor-queries/{ticket}"), Some(&admin))
        .await
        .expect(204);
    chained(&app).await;
    let kept = app
        .get(&format!("/audit?ticketId={ticket}&limit=100"), Some(&admin))
        .await
        .expect(200);
    let actions: Vec<&str> = kept
        .data()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions[0], "ticket.deleted");
    for action in [
        "ticket.created",
        "ticket.accepted",
        "message.deleted",
        "donor_query.viewed",
    ] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
});

e2e!(filters_pages_and_export, |app: TestApp| async move {
    let admin = app.admin_token.clone();
    let admin_id = my_id(&app, &admin).await;
    let (agent_id, agent) = app.staff("aud-filter", "ADMIN").await;
    let (one, _) = app.donor_query("d-f1", "first").await;
    let (two, _) = app.donor_query("d-f2", "second").await;
    app.ticket_action(one, "accept", &admin, json!({}))
        .await
        .expect(200);
    app.ticket_action(two, "accept", &admin, json!({}))
        .await
        .expect(200);
    app.ticket_action(one, "transfer", &admin, json!({"toUserId": agent_id}))
        .await
        .expect(200);
    app.ticket_action(one, "resolve", &agent, json!({}))
        .await
        .expect(200);
    let all = chained(&app).await;
    let list = |query: String| {
        let app = &app;
        let admin = &admin;
        async move {
            app.get(&format!("/audit?{query}"), Some(admin))
                .await
                .expect(200)
        }
    };
    let actions = |reply: &Reply| -> Vec<String> {
        reply
            .data()
            .iter()
            .map(|e| e["action"].as_str().unwrap().to_string())
            .collect()
    };

    let by_agent = list(format!("actorId={agent_id}")).await;
    assert_eq!(actions(&by_agent), ["ticket.resolved", "auth.login"]);
    let on_one = list(format!("ticketId={one}")).await;
    assert_eq!(
        actions(&on_one),
        [
            "ticket.resolved",
            "ticket.transferred",
            "ticket.accepted",
            "ticket.created"
        ]
    );
    assert!(on_one.data().iter().all(|e| e["ticketId"] == one));
    let accepted = list("action=ticket.accepted".into()).await;
    assert_eq!(accepted.data().len(), 2);
    assert_eq!(accepted.data()[0]["ticketId"], two, "newest first");
    let by_admin = list(format!("actorId={admin_id}&action=user.created")).await;
    assert_eq!(by_admin.data().len(), 1);

    // Times: the future holds nothing, the past everything.
    let future = list("from=2999-01-01".into()).await;
    assert!(future.data().is_empty());
    let past = list(format!("to={}&limit=100", encode("2999-01-01T00:00:00Z"))).await;
    assert_eq!(past.data().len(), all.len());
    let at = all[2]["at"].as_str().unwrap();
    let since = list(format!("from={}&limit=100", encode(at))).await;
    assert_eq!(since.data().len(), 3);

    // Pages.
    let first = list("limit=2".into()).await;
    assert_eq!(first.data().len(), 2);
    assert_eq!(first.body["hasMore"], true);
    let cursor = first.body["nextCursor"].as_str().unwrap().to_string();
    let second = list(format!("limit=2&cursor={cursor}")).await;
    assert_eq!(second.data()[0]["seq"], all[2]["seq"]);

    // Bad input: problem+json naming the field, never a 500.
    for (query, field) in [
        ("from=yesterday", "from"),
        ("to=2024-13-01", "to"),
        ("from=0000-01-01T00:00:00Z", "from"),
        ("ticketId=abc", "ticketId"),
        ("action=a%00b", "action"),
        ("actorId=%00", "actorId"),
    ] {
        app.get(&format!("/audit?{query}"), Some(&admin))
            .await
            .expect_invalid(field);
    }
    app.get("/audit/export?to=nope", Some(&admin))
        .await
        .expect_invalid("to");

    // Export: JSON Lines, oldest first, every chained entry in the range; recorded itself.
    let response = app
        .client
        .get(format!("{}/audit/export", app.api))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["content-type"], "application/jsonl");
    let text = response.text().await.expect("body");
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON entry per line"))
        .collect();
    let seqs: Vec<i64> = lines.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    let expected: Vec<i64> = (1..=all.len() as i64).collect();
    assert_eq!(seqs, expected);
    assert_eq!(lines[0]["prevHash"], "0".repeat(64));
    assert_eq!(lines.last().unwrap()["hash"], all[0]["hash"]);
    let after = chained(&app).await;
    let exported = newest(&after, "audit.exported");
    assert_eq!(exported["actor"], staff(admin_id, "SUPER_ADMIN"));
    let ranged = app
        .get(&format!("/audit/export?from={}", encode(at)), Some(&admin))
        .await;
    assert_eq!(ranged.status.as_u16(), 200);
    assert!(ranged.text.lines().count() >= 3);
});

e2e!(
    verify_names_rewritten_removed_and_moved_rows,
    |app: TestApp| async move {
        for n in 0..4 {
            app.donor_query(&format!("d-v{n}"), "hello").await;
        }
        let entries = chained(&app).await;
        assert!(entries.len() >= 6);
        assert_eq!(verify(&app).await["ok"], true);

        // A field rewritten in place.
        raw_sql(
            &app,
            "UPDATE audit_entries SET ip = '203.0.113.9' WHERE seq = 3",
        )
        .await;
        let verdict = verify(&app).await;
        assert_eq!(verdict["ok"], false);
        assert_eq!(verdict["firstBadSeq"], 3);
        assert_eq!(verdict["checked"], 3);
        assert!(
            verdict["reason"].as_str().unwrap().contains("altered"),
            "{verdict}"
        );
        let ip = entries.iter().find(|e| e["seq"] == 3).unwrap()["ip"].clone();
        let restore = format!(
            "UPDATE audit_entries SET ip = '{}' WHERE seq = 3",
            ip.as_str().unwrap()
        );
        raw_sql(&app, restore).await;
        assert_eq!(verify(&app).await["ok"], true);

        // Two rows swapped.
        let swap = "UPDATE audit_entries SET seq = -1 WHERE seq = 4; \
                    UPDATE audit_entries SET seq = 4 WHERE seq = 5; \
                    UPDATE audit_entries SET seq = 5 WHERE seq = -1;";
        raw_sql(&app, swap).await;
        let verdict = verify(&app).await;
        assert_eq!(verdict["firstBadSeq"], 4);
        assert!(
            verdict["reason"].as_str().unwrap().contains("reordered"),
            "{verdict}"
        );
        raw_sql(&app, swap).await;
        assert_eq!(verify(&app).await["ok"], true);

        // A row removed.
        raw_sql(&app, "DELETE FROM audit_entries WHERE seq = 2").await;
        let verdict = verify(&app).await;
        assert_eq!(verdict["firstBadSeq"], 2);
        assert!(
            verdict["reason"].as_str().unwrap().contains("missing"),
            "{verdict}"
        );
        // The routes themselves change nothing: no method but GET is served.
        for method in [
            reqwest::Method::DELETE,
            reqwest::Method::PUT,
            reqwest::Method::PATCH,
        ] {
            let reply = app
                .call(method, "/audit", Some(&app.admin_token), Value::Null)
                .await;
            assert!(
                matches!(reply.status.as_u16(), 404 | 405),
                "{}",
                reply.status
            );
        }
    }
);

e2e!(
    only_super_admins_read_the_trail,
    |app: TestApp| async move {
        let (_, admin) = app.staff("aud-admin", "ADMIN").await;
        let (_, agent) = app.staff("aud-agent2", "AGENT").await;
        let (_, donor) = app.donor_query("d-403", "hi").await;
        for path in ["/audit", "/audit/verify", "/audit/export"] {
            for token in [&admin, &agent, &donor] {
                app.get(path, Some(token)).await.expect_problem(403);
            }
            app.get(path, None).await.expect_problem(401);
        }
        // A refused export records nothing.
        let entries = chained(&app).await;
        assert!(entries.iter().all(|e| e["action"] != "audit.exported"));
    }
);
