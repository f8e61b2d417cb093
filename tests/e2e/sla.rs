//! SLA policies and calendars as stored resources (issue 17, layer 2a), on both databases:
//! a round trip of every route, admin-only writes, the 422s of bad input, 404 for an unknown
//! id, 409 for deleting a calendar in use, and PUT replacing the whole object.

use concierge_e2e::{e2e, TestApp};
use serde_json::{json, Value};

fn berlin() -> Value {
    json!({
        "name": "Berlin office",
        "timezone": "Europe/Berlin",
        "week": {
            "mon": [["09:00", "12:00"], ["13:00", "17:00"]],
            "fri": [["09:00", "15:00"]]
        },
        "holidays": ["2026-12-25", "2026-12-24"]
    })
}

fn gold(calendar: Option<i64>) -> Value {
    json!({
        "name": "Gold",
        "match": {"channel": "DONOR", "priority": "URGENT"},
        "targets": {"firstResponse": 900, "resolution": 28800},
        "calendarId": calendar,
        "warnBefore": 300,
        "pauseWhilePendingReply": false
    })
}

e2e!(
    policies_and_calendars_round_trip,
    |app: TestApp, admin: String| async move {
        let admin = Some(admin.as_str());
        let calendar = app
            .post("/sla/calendars", admin, berlin())
            .await
            .expect(201);
        let calendar_id = calendar.id();
        assert_eq!(
            calendar.body,
            json!({
                "id": calendar_id,
                "name": "Berlin office",
                "timezone": "Europe/Berlin",
                "week": {
                    "mon": [["09:00", "12:00"], ["13:00", "17:00"]],
                    "tue": [], "wed": [], "thu": [],
                    "fri": [["09:00", "15:00"]],
                    "sat": [], "sun": []
                },
                "holidays": ["2026-12-24", "2026-12-25"]
            })
        );

        let policy = app
            .post("/sla/policies", admin, gold(Some(calendar_id)))
            .await
            .expect(201);
        let policy_id = policy.id();
        let body = &policy.body;
        assert_eq!(body["name"], "Gold");
        assert_eq!(
            body["match"],
            json!({"channel": "DONOR", "priority": "URGENT"})
        );
        assert_eq!(
            body["targets"],
            json!({"firstResponse": 900, "resolution": 28800})
        );
        assert_eq!(body["calendarId"], calendar_id);
        assert_eq!(body["warnBefore"], 300);
        assert_eq!(body["pauseWhilePendingReply"], false);
        assert!(body["createdAt"].is_string());
        assert_eq!(body["createdAt"], body["updatedAt"]);

        // Defaults: no warning, pause while pending, around the clock, every ticket.
        let plain = app
            .post(
                "/sla/policies",
                admin,
                json!({"name": "Everyone", "targets": {"nextResponse": 3600}}),
            )
            .await
            .expect(201);
        assert_eq!(plain.get("match"), &json!({}));
        assert_eq!(plain.get("calendarId"), &Value::Null);
        assert_eq!(plain.get("warnBefore"), 0);
        assert_eq!(plain.get("pauseWhilePendingReply"), true);

        // Staff read, oldest first, a page at a time.
        let (_, agent) = app.staff("sla-agent", "AGENT").await;
        let page = app
            .get("/sla/policies?limit=1", Some(&agent))
            .await
            .expect(200);
        assert_eq!(page.data(), std::slice::from_ref(&policy.body));
        assert_eq!(page.get("hasMore"), true);
        let cursor = page.string("nextCursor");
        let next = app
            .get(
                &format!("/sla/policies?limit=1&cursor={cursor}"),
                Some(&agent),
            )
            .await
            .expect(200);
        assert_eq!(next.data(), std::slice::from_ref(&plain.body));
        assert_eq!(next.get("hasMore"), false);
        let calendars = app.get("/sla/calendars", Some(&agent)).await.expect(200);
        assert_eq!(calendars.data(), std::slice::from_ref(&calendar.body));

        app.delete(&format!("/sla/policies/{}", plain.id()), admin)
            .await
            .expect(204);
        app.delete(&format!("/sla/policies/{policy_id}"), admin)
            .await
            .expect(204);
        app.delete(&format!("/sla/calendars/{calendar_id}"), admin)
            .await
            .expect(204);
        let left = app.get("/sla/policies", admin).await.expect(200);
        assert!(left.data().is_empty());
        let left = app.get("/sla/calendars", admin).await.expect(200);
        assert!(left.data().is_empty());
    }
);

e2e!(
    put_replaces_the_whole_object,
    |app: TestApp, admin: String| async move {
        let admin = Some(admin.as_str());
        let calendar = app
            .post("/sla/calendars", admin, berlin())
            .await
            .expect(201);
        let id = calendar.id();
        let replaced = app
            .put(
                &format!("/sla/calendars/{id}"),
                admin,
                json!({
                    "name": "New York",
                    "timezone": "America/New_York",
                    "week": {"sat": [["10:00", "24:00"]]}
                }),
            )
            .await
            .expect(200);
        assert_eq!(replaced.id(), id);
        assert_eq!(replaced.get("timezone"), "America/New_York");
        assert_eq!(replaced.get("week")["mon"], json!([]));
        assert_eq!(replaced.get("week")["sat"], json!([["10:00", "24:00"]]));
        assert_eq!(replaced.get("holidays"), &json!([]));
        let listed = app.get("/sla/calendars", admin).await.expect(200);
        assert_eq!(listed.data(), std::slice::from_ref(&replaced.body));

        let policy = app
            .post("/sla/policies", admin, gold(Some(id)))
            .await
            .expect(201);
        let pid = policy.id();
        let replaced = app
            .put(
                &format!("/sla/policies/{pid}"),
                admin,
                json!({"name": "Silver", "targets": {"resolution": 60}}),
            )
            .await
            .expect(200);
        let body = &replaced.body;
        assert_eq!(body["id"], pid);
        assert_eq!(body["name"], "Silver");
        assert_eq!(body["match"], json!({}));
        assert_eq!(body["targets"], json!({"resolution": 60}));
        assert_eq!(body["calendarId"], Value::Null);
        assert_eq!(body["warnBefore"], 0);
        assert_eq!(body["pauseWhilePendingReply"], true);
        assert_eq!(body["createdAt"], policy.get("createdAt").clone());
        assert!(body["updatedAt"].as_str() >= policy.get("updatedAt").as_str());
        let listed = app.get("/sla/policies", admin).await.expect(200);
        assert_eq!(listed.data(), std::slice::from_ref(&replaced.body));
        // No policy uses the calendar any more: it may go.
        app.delete(&format!("/sla/calendars/{id}"), admin)
            .await
            .expect(204);
    }
);

e2e!(
    only_admins_write_and_only_staff_read,
    |app: TestApp, admin: String| async move {
        let calendar = app
            .post("/sla/calendars", Some(&admin), berlin())
            .await
            .expect(201)
            .id();
        let policy = app
            .post("/sla/policies", Some(&admin), gold(None))
            .await
            .expect(201)
            .id();
        let (_, agent) = app.staff("sla-agent", "AGENT").await;
        let (_, other_admin) = app.staff("sla-admin", "ADMIN").await;
        let (_, donor) = app.donor_query("d-sla", "hello").await;
        for (who, token, read, write) in [
            ("agent", Some(agent.as_str()), 200, 403),
            ("donor", Some(donor.as_str()), 403, 403),
            ("nobody", None, 401, 401),
        ] {
            for path in ["/sla/policies", "/sla/calendars"] {
                assert_eq!(app.get(path, token).await.status, read, "{who} GET {path}");
            }
            let writes = [
                app.post("/sla/policies", token, gold(None)).await,
                app.put(&format!("/sla/policies/{policy}"), token, gold(None))
                    .await,
                app.delete(&format!("/sla/policies/{policy}"), token).await,
                app.post("/sla/calendars", token, berlin()).await,
                app.put(&format!("/sla/calendars/{calendar}"), token, berlin())
                    .await,
                app.delete(&format!("/sla/calendars/{calendar}"), token)
                    .await,
            ];
            for reply in writes {
                reply.expect_problem_for(write, who);
            }
        }
        // Nothing was written by the refused calls; an ADMIN (not only the super admin) writes.
        let policies = app.get("/sla/policies", Some(&admin)).await.expect(200);
        assert_eq!(policies.data().len(), 1);
        assert_eq!(policies.data()[0]["name"], "Gold");
        let calendars = app.get("/sla/calendars", Some(&admin)).await.expect(200);
        assert_eq!(calendars.data().len(), 1);
        app.put(
            &format!("/sla/policies/{policy}"),
            Some(&other_admin),
            gold(Some(calendar)),
        )
        .await
        .expect(200);
    }
);

e2e!(
    bad_input_is_a_422_naming_the_field_and_writes_nothing,
    |app: TestApp, admin: String| async move {
        let admin = Some(admin.as_str());
        let with = |field: &str, value: Value| {
            let mut body = berlin();
            body[field] = value;
            body
        };
        let calendar_cases = [
            ("timezone", with("timezone", json!("Mars/Olympus"))),
            (
                "week.mon[0]",
                with("week", json!({"mon": [["09:00", "25:00"]]})),
            ),
            (
                "week.mon[0]",
                with("week", json!({"mon": [["17:00", "09:00"]]})),
            ),
            (
                "week.tue",
                with(
                    "week",
                    json!({"tue": [["09:00", "13:00"], ["12:00", "17:00"]]}),
                ),
            ),
            (
                "week.thur",
                with("week", json!({"thur": [["09:00", "17:00"]]})),
            ),
            ("week", with("week", json!({}))),
            (
                "holidays[1]",
                with("holidays", json!(["2026-12-25", "2026-02-30"])),
            ),
            ("holidays[0]", with("holidays", json!(["25.12.2026"]))),
            ("name", with("name", json!("night\u{0}shift"))),
            ("name", with("name", json!("  "))),
        ];
        for (field, body) in calendar_cases {
            app.post("/sla/calendars", admin, body)
                .await
                .expect_invalid_for(field, field);
        }
        let calendar = app
            .post("/sla/calendars", admin, berlin())
            .await
            .expect(201);
        let calendar_id = calendar.id();
        app.put(
            &format!("/sla/calendars/{calendar_id}"),
            admin,
            with("timezone", json!("Europe/Atlantis")),
        )
        .await
        .expect_invalid("timezone");

        let policy = |field: &str, value: Value| {
            let mut body = gold(None);
            body[field] = value;
            body
        };
        let policy_cases = [
            (
                "targets.firstResponse",
                policy("targets", json!({"firstResponse": -5})),
            ),
            (
                "targets.resolution",
                policy("targets", json!({"resolution": 0})),
            ),
            ("targets", policy("targets", json!({}))),
            ("warnBefore", policy("warnBefore", json!(-1))),
            ("name", policy("name", json!("gold\u{0}"))),
            (
                "calendarId",
                policy("calendarId", json!(calendar_id + 1000)),
            ),
            (
                "match.channel",
                policy("match", json!({"channel": "EMAIL"})),
            ),
            (
                "match.priority",
                policy("match", json!({"priority": "SOMEDAY"})),
            ),
        ];
        for (field, body) in policy_cases {
            app.post("/sla/policies", admin, body)
                .await
                .expect_invalid_for(field, field);
        }
        let stored = app
            .post("/sla/policies", admin, gold(Some(calendar_id)))
            .await
            .expect(201);
        app.put(
            &format!("/sla/policies/{}", stored.id()),
            admin,
            policy("calendarId", json!(-1)),
        )
        .await
        .expect_invalid("calendarId");
        // A JSON type that does not fit is a 400.
        app.post("/sla/policies", admin, policy("warnBefore", json!("soon")))
            .await
            .expect_problem(400);

        // Only the two good writes are stored, unchanged by the refused ones.
        let policies = app.get("/sla/policies", admin).await.expect(200);
        assert_eq!(policies.data(), std::slice::from_ref(&stored.body));
        let calendars = app.get("/sla/calendars", admin).await.expect(200);
        assert_eq!(calendars.data(), std::slice::from_ref(&calendar.body));
    }
);

e2e!(
    unknown_ids_are_404_and_a_calendar_in_use_is_409,
    |app: TestApp, admin: String| async move {
        let admin = Some(admin.as_str());
        for path in ["/sla/policies/999", "/sla/calendars/999"] {
            app.delete(path, admin).await.expect_problem_for(404, path);
        }
        app.put("/sla/policies/999", admin, gold(None))
            .await
            .expect_problem(404);
        app.put("/sla/calendars/999", admin, berlin())
            .await
            .expect_problem(404);

        let calendar = app
            .post("/sla/calendars", admin, berlin())
            .await
            .expect(201)
            .id();
        let policy = app
            .post("/sla/policies", admin, gold(Some(calendar)))
            .await
            .expect(201)
            .id();
        app.delete(&format!("/sla/calendars/{calendar}"), admin)
            .await
            .expect_problem(409);
        let calendars = app.get("/sla/calendars", admin).await.expect(200);
        assert_eq!(
            calendars.data().len(),
            1,
            "a refused delete keeps the calendar"
        );
        app.delete(&format!("/sla/policies/{policy}"), admin)
            .await
            .expect(204);
        app.delete(&format!("/sla/policies/{policy}"), admin)
            .await
            .expect_problem(404);
        app.delete(&format!("/sla/calendars/{calendar}"), admin)
            .await
            .expect(204);
    }
);
