//! The alias routes are one handler each on several paths: every `/donor-queries/<status>` list
//! holds only its status, and the three conversation paths give the same page.

use super::*;

e2e!(
    each_status_list_holds_only_its_status,
    |app: TestApp, admin: String| async move {
        let (agent, _) = app.staff("erin", "AGENT").await;
        let (accepted, _) = app.donor_query("d-1", "one").await;
        let (resolved, _) = app.donor_query("d-2", "two").await;
        let (transferred, _) = app.donor_query("d-3", "three").await;
        let (fresh, _) = app.donor_query("d-4", "a new one").await;
        app.ticket_action(accepted, "accept", &admin, json!({}))
            .await
            .expect(200);
        app.ticket_action(resolved, "resolve", &admin, json!({}))
            .await
            .expect(200);
        app.ticket_action(transferred, "transfer", &admin, json!({"toUserId": agent}))
            .await
            .expect(200);
        for (path, id, status) in [
            ("in-progress", accepted, "IN_PROGRESS"),
            ("in-progress", fresh, "IN_PROGRESS"),
            ("resolved", resolved, "RESOLVED"),
            ("transferred", transferred, "TRANSFERRED"),
        ] {
            let page = app
                .get(&format!("/donor-queries/{path}"), Some(&admin))
                .await
                .expect(200);
            let listed: Vec<(i64, &str)> = page
                .data()
                .iter()
                .map(|t| {
                    (
                        t["id"].as_i64().unwrap_or(0),
                        t["status"].as_str().unwrap_or(""),
                    )
                })
                .collect();
            assert!(
                listed.contains(&(id, status)),
                "/donor-queries/{path}: {listed:?}"
            );
            assert!(
                listed.iter().all(|(_, s)| *s == status),
                "/donor-queries/{path}: {listed:?}"
            );
        }
    }
);

e2e!(
    the_three_conversation_paths_give_the_same_page,
    |app: TestApp| async move {
        let (query, donor) = app.donor_query("d-1", "hello").await;
        app.say(query, &donor, "and more").await;
        let pages: Vec<_> = ["/messages", "/messages/query", "/messages/task"]
            .into_iter()
            .map(|base| format!("{base}/{query}"))
            .collect();
        let mut bodies = Vec::new();
        for path in &pages {
            bodies.push(app.get(path, Some(&donor)).await.expect(200).body);
        }
        assert_eq!(bodies[0]["data"].as_array().map(Vec::len), Some(2));
        assert!(bodies.iter().all(|b| *b == bodies[0]), "{bodies:?}");
    }
);
