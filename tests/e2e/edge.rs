//! Both databases refuse the same input the same way: a NUL in text bound for SQL, a control
//! character in a name the server looks up (login, call room, file key), and a filter time
//! outside years 1 to 9999, are 422 problems naming the field before anything reaches SQL (PostgreSQL answered 500, SQLite read a NUL in `q` as
//! a wildcard). The call routes that read their body as bytes take the JSON limit (1 MiB) and
//! answer problem+json when it is exceeded; a body that arrives too slowly gets 408.

use super::*;
use concierge_e2e::encode;
use reqwest::Method;
use serde_json::Value;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const JSON: Option<&str> = Some("application/json");

/// The list routes that take ticket filters.
const FILTERED: [&str; 6] = [
    "/donor-queries",
    "/donor-queries/general",
    "/donor-queries/in-progress",
    "/donor-queries/resolved",
    "/donor-queries/transferred",
    "/tasks",
];

e2e!(
    nul_or_control_characters_in_a_lookup_are_422,
    |app: TestApp, admin: String| async move {
        let (_, donor) = app.donor_query("d-1", "hello").await;
        let head = app.settled_event_head().await;

        // Unauthenticated posts: the logins, and a donor query's donor id.
        let mut anonymous: Vec<(&str, Value, &str)> = ["ad\u{0}min", "admin\u{0}", "admin\u{1b}"]
            .into_iter()
            .map(|login| {
                let body = json!({"username": login, "password": ADMIN_PASSWORD});
                ("/auth/login", body, "username")
            })
            .collect();
        anonymous.push((
            "/auth/login",
            json!({"email": "a\u{0}@example.com", "password": "whatever-it-is"}),
            "username",
        ));
        anonymous.push((
            "/donor-queries",
            json!({"donor": "Ann", "donorId": "d\u{0}2"}),
            "donorId",
        ));
        for (path, body, field) in anonymous {
            app.post(path, None, body).await.expect_invalid(field);
        }

        for path in FILTERED {
            app.get(&format!("{path}?q={}", encode("a\0b")), Some(&admin))
                .await
                .expect_invalid("q");
            app.get(&format!("{path}?donorId={}", encode("d-1\0")), Some(&admin))
                .await
                .expect_invalid("donorId");
        }
        for donor_id in ["d-1\0", "\0"] {
            let path = format!("/donor-queries/user?donorId={}", encode(donor_id));
            app.get(&path, Some(&admin)).await.expect_invalid("donorId");
        }

        for files in ["/uploads/messages", "/uploads/avatars"] {
            for token in [&admin, &donor] {
                app.get(&format!("{files}/{}", encode("ab\0.png")), Some(token))
                    .await
                    .expect_invalid("filename");
            }
        }

        let room = encode("room\0");
        app.put(
            &format!("/communication/call/{room}/status"),
            Some(&admin),
            json!({"status": "ACTIVE"}),
        )
        .await
        .expect_invalid("roomName");
        app.call_post(&room, "end", &donor)
            .await
            .expect_invalid("roomName");
        app.delete(&format!("/communication/call/{room}"), Some(&admin))
            .await
            .expect_invalid("roomName");

        app.expect_head(head, "refused names").await;

        // A donor id is the calling app's, stored as given but for NUL: one with a control
        // character is listed by it (bad_input stores such ids too).
        let (tabbed, _) = app.donor_query("d\t2", "hello").await;
        let path = format!("/donor-queries/user?donorId={}", encode("d\t2"));
        let listed = app.get(&path, Some(&admin)).await.expect(200);
        assert_eq!(listed.data()[0]["id"], json!(tabbed), "{}", listed.text);
    }
);

e2e!(
    a_nul_in_the_search_text_is_refused_not_a_wildcard,
    |app: TestApp, admin: String| async move {
        for title in ["alpha", "beta"] {
            app.task(&admin, json!({"title": title, "priority": "LOW"}))
                .await;
        }
        for q in ["\0", "alp\0zzz"] {
            let reply = app
                .get(&format!("/tasks?q={}", encode(q)), Some(&admin))
                .await;
            assert_eq!(reply.status.as_u16(), 422, "q={q:?}: {}", reply.text);
            reply.expect_invalid("q");
        }
        let found = app.get("/tasks?q=alp*", Some(&admin)).await.expect(200);
        assert_eq!(found.data().len(), 1, "{}", found.text);
        // The length limit is the search query's, and counts characters.
        let long = "é".repeat(501);
        app.get(&format!("/tasks?q={}", encode(&long)), Some(&admin))
            .await
            .expect_invalid("q");
        let most = "é".repeat(500);
        app.get(&format!("/tasks?q={}", encode(&most)), Some(&admin))
            .await
            .expect(200);
    }
);

e2e!(
    filter_times_outside_years_1_to_9999_are_422,
    |app: TestApp, admin: String| async move {
        app.task(&admin, json!({"title": "a task", "priority": "LOW"}))
            .await;
        let refused = [
            "-5000-01-01",
            "-0001-12-31",
            "+10000-01-01",
            "0000-12-31T23:59:59Z",
            // Year 1 where written, year 0 in UTC.
            "0001-01-01T00:00:00+01:00",
            "9999-12-31T23:00:00-05:00",
        ];
        let accepted = [
            "0001-01-01",
            "0001-01-01T00:00:00Z",
            "9999-12-31",
            "9999-12-31T23:59:59.999Z",
        ];
        for path in FILTERED {
            for field in ["from", "to", "startDate", "endDate"] {
                let named = match field {
                    "startDate" => "from",
                    "endDate" => "to",
                    other => other,
                };
                for value in refused {
                    let url = format!("{path}?{field}={}", encode(value));
                    app.get(&url, Some(&admin))
                        .await
                        .expect_invalid_for(named, &url);
                }
                for value in accepted {
                    let url = format!("{path}?{field}={}", encode(value));
                    let reply = app.get(&url, Some(&admin)).await;
                    assert_eq!(reply.status.as_u16(), 200, "{url}: {}", reply.text);
                }
            }
        }
        // The whole range holds today's task; an empty range holds nothing.
        let all = format!(
            "/tasks?from={}&to={}",
            encode("0001-01-01"),
            encode("9999-12-31")
        );
        let reply = app.get(&all, Some(&admin)).await.expect(200);
        assert_eq!(reply.data().len(), 1, "{}", reply.text);
        let reply = app
            .get("/tasks?from=0001-01-01&to=0001-01-02", Some(&admin))
            .await
            .expect(200);
        assert!(reply.data().is_empty(), "{}", reply.text);
    }
);

e2e!(
    room_name_routes_check_permission_before_the_name,
    |app: TestApp| async move {
        let (_, agent) = app.staff("agent1", "AGENT").await;
        let (_, donor) = app.donor_query("d-1", "hello").await;
        let room = encode("room\0");
        let path = format!("/communication/call/{room}");
        app.delete(&path, None).await.expect_problem(401);
        app.delete(&path, Some(&agent)).await.expect_problem(403);
        app.delete(&path, Some(&donor)).await.expect_problem(403);
        app.post(&format!("{path}/end"), None, Value::Null)
            .await
            .expect_problem(401);
        app.put(&format!("{path}/status"), None, json!({"status": "ACTIVE"}))
            .await
            .expect_problem(401);
    }
);

e2e!(
    raw_body_call_routes_read_up_to_one_mib_and_answer_413_as_problem,
    |app: TestApp, admin: String| async move {
        let (query, _) = app.donor_query("d-1", "hello").await;
        let pad = "x".repeat(300 * 1024);
        let over = "x".repeat(1024 * 1024 + 1);
        let start = format!("/communication/call/{query}");
        let reject = format!("/communication/call/{query}/reject-request/999999");

        // 300 KiB is read and parsed: the routes go on to their own answers.
        let body = json!({"mode": "VIDEO", "pad": pad}).to_string();
        app.raw(Method::POST, &start, Some(&admin), JSON, body)
            .await
            .expect_problem(503);
        let body = json!({"reason": "not now", "pad": pad}).to_string();
        app.raw(Method::POST, &reject, Some(&admin), JSON, body)
            .await
            .expect_problem(404);

        for path in [&start, &reject] {
            app.raw(Method::POST, path, Some(&admin), JSON, over.clone())
                .await
                .expect_problem_for(413, path);
            // Without a length up front the limit holds too.
            let chunk = "x".repeat(700 * 1024);
            let chunk = format!("{:x}\r\n{chunk}\r\n", chunk.len());
            let head = post_head(path, &admin, "application/json", None)
                .replace("\r\n\r\n", "\r\nConnection: close\r\n\r\n");
            let parts = vec![
                chunk.clone().into_bytes(),
                chunk.into_bytes(),
                b"0\r\n\r\n".to_vec(),
            ];
            let answer = send_slowly(app.port, head, parts, Duration::ZERO).await;
            assert!(answer.text.starts_with("HTTP/1.1 413"), "{}", answer.text);
            assert!(
                answer
                    .text
                    .to_ascii_lowercase()
                    .contains("content-type: application/problem+json"),
                "{}",
                answer.text
            );
        }
    }
);

// ---- slow bodies ----

/// What a raw client got: the whole answer until the server closed, and when it came.
struct Answer {
    text: String,
    after: Duration,
    closed: bool,
}

/// Sends a request head, then `body` in `parts` with `gap` between them, while reading the
/// answer until the server closes the connection (at most 10 s).
async fn send_slowly(port: u16, head: String, parts: Vec<Vec<u8>>, gap: Duration) -> Answer {
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let (mut reader, mut writer) = stream.into_split();
    writer.write_all(head.as_bytes()).await.expect("head sent");
    let started = Instant::now();
    let sender = tokio::spawn(async move {
        for part in parts {
            if writer.write_all(&part).await.is_err() {
                return;
            }
            tokio::time::sleep(gap).await;
        }
        // Hold the connection open; the server decides when it ends.
        tokio::time::sleep(Duration::from_secs(30)).await;
    });
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    let mut closed = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut first = None;
    while let Ok(read) = tokio::time::timeout_at(deadline, reader.read(&mut buf)).await {
        match read {
            Ok(0) | Err(_) => {
                closed = true;
                break;
            }
            Ok(n) => {
                first.get_or_insert_with(|| started.elapsed());
                answer.extend_from_slice(&buf[..n]);
            }
        }
    }
    sender.abort();
    Answer {
        text: String::from_utf8_lossy(&answer).into_owned(),
        after: first.unwrap_or_else(|| started.elapsed()),
        closed,
    }
}

fn post_head(path: &str, token: &str, content_type: &str, length: Option<usize>) -> String {
    let length = match length {
        Some(n) => format!("Content-Length: {n}\r\n"),
        None => "Transfer-Encoding: chunked\r\n".to_string(),
    };
    format!(
        "POST /api/v1{path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: {content_type}\r\n{length}\r\n"
    )
}

/// One byte per part.
fn bytes(text: &str) -> Vec<Vec<u8>> {
    text.bytes().map(|b| vec![b]).collect()
}

async fn slow_bodies_get_408_problem_and_the_connection_closes(app: TestApp) {
    let admin = app.admin_token.clone();
    let (query, donor) = app.donor_query("d-1", "hello").await;
    let task = r#"{"title": "a task that arrives far too slowly", "priority": "LOW"}"#;
    let multipart = "--b\r\nContent-Disposition: form-data; name=\"queryId\"\r\n\r\n1\r\n--b--\r\n";
    let chunked = format!("{:x}\r\n{task}\r\n0\r\n\r\n", task.len());
    let cases = [
        (
            "JSON",
            post_head("/tasks", &admin, "application/json", Some(task.len())),
            bytes(task),
        ),
        (
            "JSON, chunked",
            post_head("/tasks", &admin, "application/json", None),
            bytes(&chunked),
        ),
        (
            "raw bytes",
            post_head(
                &format!("/communication/call/{query}"),
                &admin,
                "application/json",
                Some(task.len()),
            ),
            bytes(task),
        ),
        (
            "multipart",
            post_head(
                "/messages",
                &donor,
                "multipart/form-data; boundary=b",
                Some(multipart.len()),
            ),
            bytes(multipart),
        ),
    ];
    let head = app.settled_event_head().await;
    for (what, head, parts) in cases {
        let answer = send_slowly(app.port, head, parts, Duration::from_millis(100)).await;
        assert!(
            answer.text.starts_with("HTTP/1.1 408"),
            "{what}: {}",
            answer.text
        );
        assert!(
            answer
                .text
                .to_ascii_lowercase()
                .contains("content-type: application/problem+json"),
            "{what}: {}",
            answer.text
        );
        assert!(
            answer.after >= Duration::from_millis(900) && answer.after < Duration::from_secs(4),
            "{what}: answered after {:?}",
            answer.after
        );
        assert!(answer.closed, "{what}: the connection stayed open");
    }
    app.expect_head(head, "bodies that came too late").await;
    app.get("/health/ping", None).await.expect(200);
}
e2e!(
    slow_bodies_get_408_problem_and_the_connection_closes,
    [("BODY_READ_TIMEOUT", "1s")],
    slow_bodies_get_408_problem_and_the_connection_closes
);

async fn a_body_that_arrives_in_time_is_read(app: TestApp) {
    let admin = app.admin_token.clone();
    let task = r#"{"title": "a task in two parts", "priority": "LOW"}"#;
    let (first, second) = task.split_at(10);
    let head = post_head("/tasks", &admin, "application/json", Some(task.len()))
        .replace("\r\n\r\n", "\r\nConnection: close\r\n\r\n");
    let answer = send_slowly(
        app.port,
        head,
        vec![first.as_bytes().to_vec(), second.as_bytes().to_vec()],
        Duration::from_millis(400),
    )
    .await;
    assert!(answer.text.starts_with("HTTP/1.1 201"), "{}", answer.text);
}
e2e!(
    a_body_that_arrives_in_time_is_read,
    [("BODY_READ_TIMEOUT", "1s")],
    a_body_that_arrives_in_time_is_read
);
