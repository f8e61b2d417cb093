//! Two instances on one database and one S3 bucket (`TEST_S3_ENDPOINT`), as behind a load
//! balancer: a file posted through one is read through the other, a message deleted through
//! the other removes its object from the bucket, and failed logins count on both.

use super::attachments::{download, file, post_files, PNG};
use super::limits::login_from;
use super::*;
use concierge_e2e::{Backend, TestBucket, TEST_S3_SECRET};
use serde_json::Value;
use std::time::Duration;

/// Both instances: files in the bucket, the test client's address taken from X-Forwarded-For.
async fn two_on_one_bucket(backend: Backend) -> Option<(TestBucket, TestApp, TestApp)> {
    let bucket = TestBucket::new().await?;
    let mut vars = bucket.vars();
    vars.push(("TRUSTED_PROXIES", "127.0.0.1"));
    let a = TestApp::spawn_with(backend, &vars).await?;
    // Its own upload directory: nothing can come from a shared disk.
    let own = tempfile::tempdir().expect("temp dir");
    let own_dir = own.path().display().to_string();
    let mut b_vars = vars.clone();
    b_vars.push(("UPLOAD_DIR", own_dir.as_str()));
    let b = a.sibling_with(&b_vars).await;
    Some((bucket, a, b))
}

async fn files_and_logins_cross_instances(backend: Backend) {
    let Some((bucket, a, b)) = two_on_one_bucket(backend).await else {
        return;
    };
    // Posted through A.
    let (ticket, donor) = a.donor_query("donor-s3", "hello").await;
    let posted = post_files(
        &a,
        &donor,
        ticket,
        vec![file(PNG, "receipt.pdf", "application/pdf")],
    )
    .await;
    assert_eq!(posted.status, 201, "{}", posted.text);
    let message = posted.body["id"].as_i64().expect("id");
    let url = posted.body["attachments"][0]["url"]
        .as_str()
        .expect("url")
        .to_string();
    let keys = bucket.keys().await;
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(url.ends_with(&keys[0]), "{url} {keys:?}");
    assert!(!a.uploads.exists(), "nothing on A's disk");

    // Read through B, with the same headers as through A.
    let mut etags = vec![];
    for app in [&a, &b] {
        let response = download(app, &url, &donor).await;
        assert_eq!(response.status(), 200);
        let h = response.headers().clone();
        assert_eq!(h["content-type"], "image/png");
        assert_eq!(h["content-length"], PNG.len().to_string().as_str());
        assert_eq!(h["x-content-type-options"], "nosniff");
        etags.push(h["etag"].to_str().expect("etag").to_string());
        assert_eq!(response.bytes().await.expect("body").as_ref(), PNG);
    }
    assert_eq!(etags[0], etags[1]);
    // Another donor learns nothing on B either.
    let (_, other) = b.donor_query("donor-other", "mine").await;
    assert_eq!(download(&b, &url, &other).await.status(), 404);

    // B's health report names the bucket, never the secret.
    let health = b
        .get("/health/advanced", Some(&b.admin_token))
        .await
        .expect(200);
    let store = &health.body["adapters"]["blobStore"];
    assert_eq!(store["kind"], "s3");
    assert_eq!(store["lastError"], Value::Null);
    assert!(!health.text.contains(TEST_S3_SECRET));

    // Deleted through B: the object leaves the bucket, and A answers 404.
    b.delete(&format!("/messages/{message}"), Some(&b.admin_token))
        .await
        .expect(204);
    assert_eq!(bucket.keys().await, Vec::<String>::new());
    assert_eq!(download(&a, &url, &donor).await.status(), 404);

    // Ten failed logins, five through each: the account is refused from that address on
    // both, and slowed down for everyone else on both.
    let attacker = "203.0.113.77";
    for app in [&a, &b, &a, &b, &a, &b, &a, &b, &a, &b] {
        let (status, _) = login_from(app, attacker, ADMIN, "a-wrong-guess").await;
        assert_eq!(status, 401);
    }
    for app in [&a, &b] {
        let (status, _) = login_from(app, attacker, ADMIN, ADMIN_PASSWORD).await;
        assert_eq!(status, 429);
        let (status, waited) = login_from(app, "198.51.100.9", ADMIN, ADMIN_PASSWORD).await;
        assert_eq!(status, 200);
        assert!(waited >= Duration::from_millis(100), "waited {waited:?}");
    }
}

e2e!(
    a_file_and_failed_logins_cross_two_instances_on_one_bucket,
    backend = files_and_logins_cross_instances
);

e2e!(
    an_object_store_that_does_not_answer_fails_the_upload_and_shows_in_health,
    [
        ("BLOB_STORE", "s3"),
        ("S3_BUCKET", "nowhere"),
        // Nothing listens on port 9 of the loopback.
        ("S3_ENDPOINT", "http://127.0.0.1:9"),
        ("S3_ACCESS_KEY_ID", "test-key-id"),
        ("S3_SECRET_ACCESS_KEY", TEST_S3_SECRET),
    ],
    |app: TestApp| async move {
        let health = app
            .get("/health/advanced", Some(&app.admin_token))
            .await
            .expect(200);
        let store = &health.body["adapters"]["blobStore"];
        assert_eq!(store["kind"], "s3");
        assert_eq!(store["bucket"], "nowhere");
        assert_eq!(store["lastError"], Value::Null);

        let (ticket, donor) = app.donor_query("donor-s3-down", "hello").await;
        let posted = post_files(&app, &donor, ticket, vec![file(PNG, "a.png", "image/png")]).await;
        assert!(posted.status >= 500, "{} {}", posted.status, posted.text);
        assert!(!posted.text.contains(TEST_S3_SECRET));

        let health = app
            .get("/health/advanced", Some(&app.admin_token))
            .await
            .expect(200);
        let error = &health.body["adapters"]["blobStore"]["lastError"];
        assert!(
            error["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{}",
            health.text
        );
        assert!(error["at"].is_string());
        assert!(!health.text.contains(TEST_S3_SECRET));
    }
);
