//! Files in messages and avatars, over real HTTP with a real multipart client, on both
//! databases. Each app stores its uploads in a temporary directory the test can look into.

use concierge_e2e::{e2e, TestApp};
use reqwest::multipart::{Form, Part};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::AsyncWriteExt;

pub(crate) const PNG: &[u8] =
    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

/// Every file name in the upload directory (none when it does not exist yet).
async fn stored(dir: &Path) -> Vec<String> {
    let mut names = vec![];
    if let Ok(mut entries) = tokio::fs::read_dir(dir).await {
        while let Ok(Some(entry)) = entries.next_entry().await {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    names.sort();
    names
}

/// Waits until the upload directory holds exactly `n` files (temporary files are removed a
/// moment after a request fails).
async fn expect_files(dir: &Path, n: usize, what: &str) -> Vec<String> {
    for _ in 0..100 {
        let names = stored(dir).await;
        if names.len() == n {
            return names;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what}: expected {n} files, found {:?}", stored(dir).await);
}

pub(crate) fn file(bytes: &[u8], name: &str, mime: &str) -> Part {
    Part::bytes(bytes.to_vec())
        .file_name(name.to_string())
        .mime_str(mime)
        .expect("mime")
}

pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) body: Value,
    pub(crate) text: String,
}

async fn send(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    form: Form,
) -> Answer {
    let response = app
        .client
        .request(method, format!("{}{path}", app.api))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .expect("request sent");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    Answer {
        status,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
        text,
    }
}

pub(crate) async fn post_files(
    app: &TestApp,
    token: &str,
    ticket: i64,
    files: Vec<Part>,
) -> Answer {
    let mut form = Form::new()
        .text("queryId", ticket.to_string())
        .text("content", "see the files");
    for part in files {
        form = form.part("files", part);
    }
    send(app, reqwest::Method::POST, "/messages", token, form).await
}

async fn message_count(app: &TestApp, token: &str, ticket: i64) -> usize {
    app.get(
        &format!("/messages?queryId={ticket}&limit=100"),
        Some(token),
    )
    .await
    .expect(200)
    .data()
    .len()
}

pub(crate) async fn download(app: &TestApp, url: &str, token: &str) -> reqwest::Response {
    let root = app.api.trim_end_matches("/api/v1");
    app.client
        .get(format!("{root}{url}"))
        .bearer_auth(token)
        .send()
        .await
        .expect("download sent")
}

e2e!(
    png_renamed_pdf_is_stored_and_served_as_png,
    |app: TestApp, dir: PathBuf| async move {
        let (ticket, donor) = app.donor_query("donor-a", "hello").await;
        let answer = post_files(
            &app,
            &donor,
            ticket,
            vec![file(PNG, "receipt.pdf", "application/pdf")],
        )
        .await;
        assert_eq!(answer.status, 201, "{}", answer.text);
        let attachments = answer.body["attachments"].as_array().expect("attachments");
        assert_eq!(attachments.len(), 1);
        let a = &attachments[0];
        assert_eq!(a["contentType"], "image/png");
        assert_eq!(a["fileName"], "receipt.pdf");
        assert_eq!(a["size"], PNG.len());
        let url = a["url"].as_str().expect("url").to_string();
        assert!(
            url.starts_with("/api/v1/uploads/messages/") && url.ends_with(".png"),
            "{url}"
        );
        let names = expect_files(&dir, 1, "one upload").await;
        assert!(url.ends_with(&names[0]));

        // The conversation lists it too.
        let list = app
            .get(&format!("/messages?queryId={ticket}"), Some(&donor))
            .await
            .expect(200);
        let with_file = list
            .data()
            .iter()
            .find(|m| m["id"] == answer.body["id"])
            .expect("listed");
        assert_eq!(with_file["attachments"][0]["url"], url.as_str());

        // The donor and staff can read it, with type, disposition, length and ETag.
        for token in [donor.as_str(), app.admin_token.as_str()] {
            let response = download(&app, &url, token).await;
            assert_eq!(response.status(), 200);
            let h = response.headers().clone();
            assert_eq!(h["content-type"], "image/png");
            assert_eq!(h["content-length"], PNG.len().to_string().as_str());
            assert!(h["content-disposition"]
                .to_str()
                .unwrap()
                .starts_with("inline"));
            assert_eq!(h["x-content-type-options"], "nosniff");
            let etag = h["etag"].to_str().unwrap().to_string();
            assert_eq!(response.bytes().await.unwrap().as_ref(), PNG);
            let again = app
                .client
                .get(format!("{}{}", app.api.trim_end_matches("/api/v1"), url))
                .bearer_auth(token)
                .header("If-None-Match", etag)
                .send()
                .await
                .unwrap();
            assert_eq!(again.status(), 304);
        }

        // Another donor, or nobody, learns nothing.
        let (_, other) = app.donor_query("donor-b", "mine").await;
        assert_eq!(download(&app, &url, &other).await.status(), 404);
        let anonymous = app
            .client
            .get(format!("{}{}", app.api.trim_end_matches("/api/v1"), url))
            .send()
            .await
            .unwrap();
        assert_eq!(anonymous.status(), 401);
        assert_eq!(
            download(
                &app,
                "/api/v1/uploads/messages/..%2F..%2Fetc%2Fpasswd",
                &donor
            )
            .await
            .status(),
            404
        );
    }
);

e2e!(
    an_executable_renamed_jpg_is_refused,
    |app: TestApp, dir: PathBuf| async move {
        let (ticket, donor) = app.donor_query("donor-a", "hello").await;
        let before = message_count(&app, &donor, ticket).await;
        let mut exe = b"MZ\x90\0\x03\0\0\0\x04\0".to_vec();
        exe.extend(vec![0u8; 4096]);
        let answer = post_files(
            &app,
            &donor,
            ticket,
            vec![file(&exe, "cat.jpg", "image/jpeg")],
        )
        .await;
        assert_eq!(answer.status, 415, "{}", answer.text);
        let elf = b"\x7fELF\x02\x01\x01\0";
        let answer = post_files(
            &app,
            &donor,
            ticket,
            vec![
                file(PNG, "ok.png", "image/png"),
                file(elf, "cat.jpg", "image/jpeg"),
            ],
        )
        .await;
        assert_eq!(answer.status, 415, "{}", answer.text);
        expect_files(&dir, 0, "refused executables").await;
        assert_eq!(message_count(&app, &donor, ticket).await, before);
    }
);

e2e!(
    a_sixth_file_or_an_11_mb_file_is_refused_and_nothing_is_stored,
    |app: TestApp, dir: PathBuf| async move {
        let (ticket, donor) = app.donor_query("donor-a", "hello").await;
        let before = message_count(&app, &donor, ticket).await;
        let six = (0..6)
            .map(|i| file(PNG, &format!("{i}.png"), "image/png"))
            .collect();
        let answer = post_files(&app, &donor, ticket, six).await;
        assert_eq!(answer.status, 413, "{}", answer.text);
        assert_eq!(answer.body["status"], 413);
        expect_files(&dir, 0, "six files").await;

        let mut big = PNG.to_vec();
        big.resize(11 * 1000 * 1000, 7);
        let answer = post_files(
            &app,
            &donor,
            ticket,
            vec![file(&big, "big.png", "image/png")],
        )
        .await;
        assert_eq!(answer.status, 413, "{}", answer.text);
        expect_files(&dir, 0, "an 11 MB file").await;
        assert_eq!(message_count(&app, &donor, ticket).await, before);

        // Five are fine; a sixth added by an edit is not.
        let five = (0..5)
            .map(|i| file(PNG, &format!("{i}.png"), "image/png"))
            .collect();
        let answer = post_files(&app, &donor, ticket, five).await;
        assert_eq!(answer.status, 201, "{}", answer.text);
        expect_files(&dir, 5, "five files").await;
        let id = answer.body["id"].as_i64().unwrap();
        let form = Form::new().part("files", file(PNG, "6.png", "image/png"));
        let answer = send(
            &app,
            reqwest::Method::PUT,
            &format!("/messages/{id}"),
            &donor,
            form,
        )
        .await;
        assert_eq!(answer.status, 413, "{}", answer.text);
        expect_files(&dir, 5, "a sixth file by edit").await;
    }
);

e2e!(
    hostile_file_names_are_only_display_names,
    |app: TestApp, dir: PathBuf| async move {
        let (ticket, donor) = app.donor_query("donor-a", "hello").await;
        let answer = post_files(
            &app,
            &donor,
            ticket,
            vec![
                file(b"just text\n", "../../etc/passwd", "text/plain"),
                file(PNG, "..\\..\\boot.png", "image/png"),
            ],
        )
        .await;
        assert_eq!(answer.status, 201, "{}", answer.text);
        let a = answer.body["attachments"].as_array().unwrap();
        assert_eq!(a[0]["fileName"], "passwd");
        assert_eq!(a[1]["fileName"], "boot.png");
        assert!(a[0]["contentType"]
            .as_str()
            .unwrap()
            .starts_with("text/plain"));
        let names = expect_files(&dir, 2, "two uploads").await;
        // A NUL in the name: the multipart header is refused (400) or the name is cleaned;
        // either way nothing unexpected is stored.
        let nul = post_files(
            &app,
            &donor,
            ticket,
            vec![file(PNG, "evil\0name.png", "image/png")],
        )
        .await;
        match nul.status {
            400 => {
                expect_files(&dir, 2, "a refused NUL name").await;
            }
            201 => {
                let name = nul.body["attachments"][0]["fileName"].as_str().unwrap();
                assert!(!name.contains('\0'), "{name:?}");
                expect_files(&dir, 3, "a cleaned NUL name").await;
            }
            other => panic!("a NUL file name answered {other}: {}", nul.text),
        }
        for n in &names {
            assert!(!n.contains("passwd") && !n.contains("evil"), "{n}");
        }
        assert!(!dir.parent().unwrap().join("etc").exists());
        // Text is a download, never inline.
        let url = a[0]["url"].as_str().unwrap();
        let response = download(&app, url, &donor).await;
        assert_eq!(response.status(), 200);
        let cd = response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            cd.starts_with("attachment") && cd.contains("passwd"),
            "{cd}"
        );
    }
);

e2e!(
    svg_is_only_ever_a_download,
    |app: TestApp, _dir: PathBuf| async move {
        let (ticket, donor) = app.donor_query("donor-a", "hello").await;
        let svg = b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>";
        let answer = post_files(
            &app,
            &donor,
            ticket,
            vec![file(svg, "pic.png", "image/png")],
        )
        .await;
        assert_eq!(answer.status, 201, "{}", answer.text);
        let a = &answer.body["attachments"][0];
        assert_eq!(a["contentType"], "image/svg+xml");
        let response = download(&app, a["url"].as_str().unwrap(), &donor).await;
        let h = response.headers();
        assert!(h["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment"));
        assert!(h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("sandbox"));
    }
);

e2e!(
    deleting_removes_the_bytes,
    |app: TestApp, dir: PathBuf| async move {
        let (ticket, donor) = app.donor_query("donor-a", "hello").await;
        let first = post_files(&app, &donor, ticket, vec![file(PNG, "a.png", "image/png")]).await;
        assert_eq!(first.status, 201, "{}", first.text);
        let second = post_files(
            &app,
            &donor,
            ticket,
            vec![
                file(PNG, "b.png", "image/png"),
                file(b"%PDF-1.4\n", "c.pdf", "application/pdf"),
            ],
        )
        .await;
        assert_eq!(second.status, 201, "{}", second.text);
        expect_files(&dir, 3, "three uploads").await;

        // One attachment.
        let id = second.body["id"].as_i64().unwrap();
        let attachment = second.body["attachments"][1]["id"].as_i64().unwrap();
        let reply = app
            .client
            .delete(format!("{}/messages/{id}/attachment", app.api))
            .bearer_auth(&donor)
            .json(&serde_json::json!({ "attachmentId": attachment }))
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 200);
        let message: Value = reply.json().await.unwrap();
        assert_eq!(message["attachments"].as_array().unwrap().len(), 1);
        expect_files(&dir, 2, "one attachment removed").await;

        // A message.
        let first_id = first.body["id"].as_i64().unwrap();
        app.delete(&format!("/messages/{first_id}"), Some(&donor))
            .await
            .expect(204);
        expect_files(&dir, 1, "a message deleted").await;
        let url = first.body["attachments"][0]["url"].as_str().unwrap();
        assert_eq!(download(&app, url, &donor).await.status(), 404);

        // The ticket.
        app.delete(&format!("/donor-queries/{ticket}"), Some(&app.admin_token))
            .await;
        expect_files(&dir, 0, "the ticket deleted").await;
    }
);

e2e!(
    a_request_cut_off_mid_upload_leaves_nothing,
    |app: TestApp, dir: PathBuf| async move {
        let (ticket, donor) = app.donor_query("donor-a", "hello").await;
        let before = message_count(&app, &donor, ticket).await;
        let boundary = "cutoffboundary1234";
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"queryId\"\r\n\r\n{ticket}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"content\"\r\n\r\nhalf\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.png\"\r\n\
         Content-Type: image/png\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(PNG);
        body.extend(vec![1u8; 512 * 1024]);
        let head = format!(
        "POST /api/v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {donor}\r\n\
         Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {}\r\n\r\n",
        body.len() + 5 * 1024 * 1024
    );
        let mut socket = tokio::net::TcpStream::connect(("127.0.0.1", app.port))
            .await
            .expect("connect");
        socket.write_all(head.as_bytes()).await.unwrap();
        socket.write_all(&body).await.unwrap();
        socket.flush().await.unwrap();
        // The upload is under way: a temporary file exists.
        let mut seen = false;
        for _ in 0..100 {
            if stored(&dir).await.iter().any(|n| n.starts_with(".tmp-")) {
                seen = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(seen, "the upload never started");
        drop(socket);
        expect_files(&dir, 0, "a cut-off upload").await;
        assert_eq!(message_count(&app, &donor, ticket).await, before);
    }
);

e2e!(
    avatars_are_images_only,
    |app: TestApp, dir: PathBuf| async move {
        let form = Form::new().part("avatar", file(PNG, "me.png", "image/png"));
        let answer = send(
            &app,
            reqwest::Method::POST,
            "/users/me/avatar",
            &app.admin_token,
            form,
        )
        .await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        let url = answer.body["avatarUrl"].as_str().unwrap().to_string();
        let response = download(&app, &url, &app.admin_token).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "image/png");
        expect_files(&dir, 1, "an avatar").await;

        // Replacing it removes the old bytes.
        let form = Form::new().part("avatar", file(b"GIF89a\x01\0\x01\0", "me.gif", "image/gif"));
        let answer = send(
            &app,
            reqwest::Method::POST,
            "/users/me/avatar",
            &app.admin_token,
            form,
        )
        .await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        expect_files(&dir, 1, "a replaced avatar").await;

        for (bytes, name) in [
            (&b"%PDF-1.4\n"[..], "me.png"),
            (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "me.svg"),
        ] {
            let form = Form::new().part("avatar", file(bytes, name, "image/png"));
            let answer = send(
                &app,
                reqwest::Method::POST,
                "/users/me/avatar",
                &app.admin_token,
                form,
            )
            .await;
            assert_eq!(answer.status, 415, "{}", answer.text);
        }
        expect_files(&dir, 1, "refused avatars").await;

        // Donors have no avatar.
        let (_, donor) = app.donor_query("donor-a", "hello").await;
        let form = Form::new().part("avatar", file(PNG, "me.png", "image/png"));
        let answer = send(
            &app,
            reqwest::Method::POST,
            "/users/me/avatar",
            &donor,
            form,
        )
        .await;
        assert_eq!(answer.status, 403, "{}", answer.text);
    }
);

/// Every entry under the upload directory at this moment, and whether the directory exists.
async fn upload_dir_state(dir: &Path) -> (bool, Vec<String>) {
    (tokio::fs::metadata(dir).await.is_ok(), stored(dir).await)
}

concierge_e2e::e2e!(
    a_caller_who_may_not_write_to_the_ticket_leaves_no_byte_on_disk,
    |app: TestApp| async move {
        let dir = app.uploads.clone();
        let (ticket, owner) = app.donor_query("donor-a", "hello").await;
        let (_, stranger) = app.donor_query("donor-b", "mine").await;
        let (_, same_donor_other_ticket) = app.donor_query("donor-a", "again").await;
        let mut big = PNG.to_vec();
        big.resize(2 * 1024 * 1024, 7);

        // Someone watches the directory the whole time the refused uploads run.
        let watching = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let watcher = tokio::spawn({
            let (dir, watching) = (dir.clone(), watching.clone());
            async move {
                let mut seen = Vec::new();
                while watching.load(std::sync::atomic::Ordering::SeqCst) {
                    let (exists, names) = upload_dir_state(&dir).await;
                    if exists || !names.is_empty() {
                        seen.push(format!("exists={exists} {names:?}"));
                    }
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                seen
            }
        });
        for token in [&stranger, &same_donor_other_ticket] {
            let answer = post_files(
                &app,
                token,
                ticket,
                vec![
                    file(&big, "a.png", "image/png"),
                    file(PNG, "b.png", "image/png"),
                ],
            )
            .await;
            assert_eq!(answer.status, 404, "{}", answer.text);
            assert_eq!(answer.body["status"], 404);
        }
        // Staff may post, but only its sender adds files to a message.
        let answer = post_files(&app, &owner, ticket, vec![]).await;
        assert_eq!(answer.status, 201, "{}", answer.text);
        let id = answer.body["id"].as_i64().expect("id");
        let form = Form::new().part("files", file(&big, "c.png", "image/png"));
        let answer = send(
            &app,
            reqwest::Method::PUT,
            &format!("/messages/{id}"),
            &app.admin_token,
            form,
        )
        .await;
        assert_eq!(answer.status, 403, "{}", answer.text);
        // A ticket the donor closed takes no message, and no file.
        app.post(
            &format!("/donor-queries/{ticket}/donor-close"),
            Some(&owner),
            serde_json::json!({}),
        )
        .await
        .expect(200);
        let answer = post_files(&app, &owner, ticket, vec![file(&big, "d.png", "image/png")]).await;
        assert_eq!(answer.status, 409, "{}", answer.text);

        watching.store(false, std::sync::atomic::Ordering::SeqCst);
        let seen = watcher.await.expect("watcher");
        assert!(seen.is_empty(), "bytes were stored: {seen:?}");
        assert_eq!(upload_dir_state(&dir).await, (false, vec![]));

        // The same upload by the ticket's donor is stored, in the directory watched above.
        let (open, donor) = app.donor_query("donor-a", "open one").await;
        let answer = post_files(&app, &donor, open, vec![file(&big, "a.png", "image/png")]).await;
        assert_eq!(answer.status, 201, "{}", answer.text);
        expect_files(&dir, 1, "the donor's own upload").await;
    }
);

concierge_e2e::e2e!(
    text_fields_after_a_file_are_refused_and_nothing_is_kept,
    |app: TestApp| async move {
        let dir = app.uploads.clone();
        let (ticket, donor) = app.donor_query("donor-a", "hello").await;
        let before = message_count(&app, &donor, ticket).await;
        let late = Form::new()
            .text("queryId", ticket.to_string())
            .text("content", "see the file")
            .part("files", file(PNG, "a.png", "image/png"))
            .text("clientMessageId", "too-late");
        let answer = send(&app, reqwest::Method::POST, "/messages", &donor, late).await;
        assert_eq!(answer.status, 400, "{}", answer.text);
        assert_eq!(answer.body["status"], 400);
        // Fields after the first file are not read: here the post names no ticket.
        let unnamed = Form::new()
            .part("files", file(PNG, "a.png", "image/png"))
            .text("queryId", ticket.to_string());
        let answer = send(&app, reqwest::Method::POST, "/messages", &donor, unnamed).await;
        assert_eq!(answer.status, 422, "{}", answer.text);
        expect_files(&dir, 0, "refused forms").await;
        assert_eq!(message_count(&app, &donor, ticket).await, before);
    }
);

concierge_e2e::e2e!(
    a_client_gone_after_its_first_file_leaves_nothing,
    |app: TestApp| async move {
        let dir = app.uploads.clone();
        let (ticket, donor) = app.donor_query("donor-a", "hello").await;
        let before = message_count(&app, &donor, ticket).await;
        let boundary = "gonehalfway5678";
        // A whole first file, then a second that never ends.
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"queryId\"\r\n\r\n{ticket}\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"content\"\r\n\r\ntwo\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.png\"\r\n\
             Content-Type: image/png\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(PNG);
        body.extend_from_slice(
            format!(
                "\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; \
                 filename=\"b.png\"\r\nContent-Type: image/png\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(PNG);
        body.extend(vec![1u8; 256 * 1024]);
        let head = format!(
            "POST /api/v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {donor}\r\n\
             Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {}\r\n\r\n",
            body.len() + 5 * 1024 * 1024
        );
        let mut socket = tokio::net::TcpStream::connect(("127.0.0.1", app.port))
            .await
            .expect("connect");
        socket.write_all(head.as_bytes()).await.unwrap();
        socket.write_all(&body).await.unwrap();
        socket.flush().await.unwrap();
        // The first file is stored and the second is under way.
        let mut seen = false;
        for _ in 0..200 {
            let names = stored(&dir).await;
            if names.iter().any(|n| n.ends_with(".png"))
                && names.iter().any(|n| n.starts_with(".tmp-"))
            {
                seen = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(
            seen,
            "the uploads never got there: {:?}",
            stored(&dir).await
        );
        drop(socket);
        expect_files(&dir, 0, "a client gone half way").await;
        assert_eq!(message_count(&app, &donor, ticket).await, before);
    }
);
