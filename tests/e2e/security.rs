//! The holes found in the source systems stay closed: open sign-up and self-chosen roles,
//! account enumeration at login, user listings without a login, secrets in responses, forged,
//! tampered, expired and `alg: none` tokens, tokens that outlive a password change or a
//! deactivation, half-created donor queries, and responses without a request id.

use super::*;
use concierge_e2e::{base64url, Reply};
use jsonwebtoken::{encode as sign_jwt, Algorithm, EncodingKey, Header};
use reqwest::Method;
use serde_json::Value;
use std::collections::HashSet;

/// The harness's JWT_SECRET.
const SECRET: &str = "e2e-secret-that-is-long-enough-for-hs256";

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64
}

/// A token's claims, unverified.
fn claims_of(token: &str) -> Value {
    jsonwebtoken::dangerous::insecure_decode::<Value>(token)
        .expect("a JWT")
        .claims
}

fn sign(alg: Algorithm, secret: &str, claims: &Value) -> String {
    sign_jwt(
        &Header::new(alg),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("signed")
}

fn with(claims: &Value, changes: Value) -> Value {
    let mut claims = claims.clone();
    for (k, v) in changes.as_object().expect("an object") {
        claims[k] = v.clone();
    }
    claims
}

/// Replaces one character in the middle of `part` (0 header, 1 payload, 2 signature).
fn flip(token: &str, part: usize) -> String {
    let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
    let mut chars: Vec<char> = parts[part].chars().collect();
    let i = chars.len() / 2;
    chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
    parts[part] = chars.into_iter().collect();
    parts.join(".")
}

/// Every object key in `value`, recursively.
fn keys(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                out.push(k.clone());
                keys(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| keys(v, out)),
        _ => {}
    }
}

/// Asserts a reply shows no secret: none of `secrets` in its text, no bcrypt hash, and no key
/// naming a password, a hash or a token — except the login reply's own `accessToken` and
/// `tokenType`.
fn assert_no_secrets(what: &str, reply: &Reply, secrets: &[&str]) {
    for secret in secrets {
        assert!(
            !reply.text.contains(secret),
            "{what} shows {secret:?}: {}",
            reply.text
        );
    }
    assert!(
        !reply.text.contains("$2"),
        "{what} shows a bcrypt hash: {}",
        reply.text
    );
    let mut all = vec![];
    keys(&reply.body, &mut all);
    for key in all {
        let k = key.to_lowercase();
        let allowed = key == "accessToken" || key == "tokenType";
        assert!(
            allowed || !(k.contains("password") || k.contains("hash") || k.contains("token")),
            "{what} has a key {key:?}: {}",
            reply.text
        );
    }
}

e2e!(
    register_is_403_when_signup_is_off,
    |app: TestApp| async move {
        for body in [
            json!({"name": "Eve", "email": "eve@example.org", "password": "eve-password-1"}),
            json!({"name": "Eve", "email": "eve@example.org", "password": "eve-password-1", "role": "SUPER_ADMIN"}),
        ] {
            app.post("/auth/register", None, body)
                .await
                .expect_problem(403);
        }
        app.post(
            "/auth/login",
            None,
            json!({"email": "eve@example.org", "password": "eve-password-1"}),
        )
        .await
        .expect_problem(401);
        let users = app.get("/users", Some(&app.admin_token)).await.expect(200);
        assert_eq!(users.data().len(), 1, "{}", users.text);
    }
);

const SIGNUP: &[(&str, &str)] = &[("ALLOW_SIGNUP", "true")];

async fn register_makes_an_agent(app: TestApp) {
    let registered = app
        .post(
            "/auth/register",
            None,
            json!({"name": "Eve", "email": "Eve@Example.org", "password": "eve-password-1",
                   "role": "SUPER_ADMIN", "isActive": true}),
        )
        .await
        .expect(201);
    assert_eq!(registered.get("role"), "AGENT", "{}", registered.text);
    assert_no_secrets("register", &registered, &["eve-password-1"]);
    let token = app.login("eve@example.org", "eve-password-1").await;
    let me = app.get("/auth/me", Some(&token)).await.expect(200);
    assert_eq!(me.get("role"), "AGENT");
    // An agent: no user administration.
    app.get("/users", Some(&token)).await.expect_problem(403);
    app.post(
        "/users",
        Some(&token),
        json!({"username": "mallory", "name": "M", "password": "password-123", "role": "SUPER_ADMIN"}),
    )
    .await
    .expect_problem(403);
    // Registering the same email again is a conflict, not a second account.
    app.post(
        "/auth/register",
        None,
        json!({"name": "Eve 2", "email": "eve@example.org", "password": "eve-password-2"}),
    )
    .await
    .expect_problem(409);
    let users = app.get("/users", Some(&app.admin_token)).await.expect(200);
    assert_eq!(users.data().len(), 2, "{}", users.text);
}

e2e!(
    register_makes_an_agent_whatever_role_is_asked,
    vars = SIGNUP,
    register_makes_an_agent
);

e2e!(
    unknown_account_and_wrong_password_look_the_same,
    |app: TestApp| async move {
        let (agent_id, _) = app.staff("agent1", "AGENT").await;
        app.update_user(agent_id, &app.admin_token, json!({"isActive": false}))
            .await
            .expect(200);
        let attempts = [
            json!({"username": "nobody", "password": "whatever-password"}),
            json!({"username": ADMIN, "password": "wrong-password"}),
            json!({"email": "nobody@example.org", "password": "whatever-password"}),
            json!({"username": ADMIN, "password": format!("{ADMIN_PASSWORD} ")}),
            json!({"username": "agent1", "password": "agent1-password"}),
        ];
        let mut replies = vec![];
        for body in attempts {
            replies.push(
                app.post("/auth/login", None, body)
                    .await
                    .expect_problem(401),
            );
        }
        for reply in &replies[1..] {
            assert_eq!(reply.text, replies[0].text, "login failures differ");
            assert_eq!(
                reply.headers.get("www-authenticate"),
                replies[0].headers.get("www-authenticate")
            );
        }
        // The right password still works (the refusals above were about the password).
        app.login(ADMIN, ADMIN_PASSWORD).await;
    }
);

e2e!(users_are_listed_only_to_admins, |app: TestApp| async move {
    let (agent_id, agent) = app.staff("agent1", "AGENT").await;
    let (_, donor) = app.donor_query("d-1", "hello").await;
    app.get("/users", None).await.expect_problem(401);
    app.get(&format!("/users/{agent_id}"), None)
        .await
        .expect_problem(401);
    for token in [&agent, &donor] {
        let reply = app.get("/users", Some(token)).await.expect_problem(403);
        assert!(!reply.text.contains("agent1"), "{}", reply.text);
        app.get(&format!("/users/{agent_id}"), Some(token))
            .await
            .expect_problem(403);
        app.get("/users/1", Some(token)).await.expect_problem(403);
    }
    let users = app.get("/users", Some(&app.admin_token)).await.expect(200);
    assert_eq!(users.data().len(), 2);
});

e2e!(
    responses_never_show_passwords_hashes_or_tokens,
    |app: TestApp, admin: String| async move {
        let password = "Sup3r-Secret-Pass!";
        let new_password = "An0ther-Secret-Pass!";
        let push = "fcm-device-secret-123";
        let secrets = [password, new_password, push, ADMIN_PASSWORD];

        let created = app
            .post(
                "/users",
                Some(&admin),
                json!({"username": "carol", "email": "carol@example.org", "name": "Carol",
                   "password": password, "role": "AGENT"}),
            )
            .await
            .expect(201);
        assert_no_secrets("POST /users", &created, &secrets);
        let id = created.id();
        let login = app
            .post(
                "/auth/login",
                None,
                json!({"username": "carol", "password": password}),
            )
            .await
            .expect(200);
        assert_no_secrets("login", &login, &secrets);
        let token = login.string("accessToken");
        app.put(
            "/users/me/fcm-token",
            Some(&token),
            json!({"fcmToken": push}),
        )
        .await
        .expect(200);

        let mut replies = vec![
            (
                "GET /users",
                app.get("/users", Some(&admin)).await.expect(200),
            ),
            (
                "GET /users/:id",
                app.get(&format!("/users/{id}"), Some(&admin))
                    .await
                    .expect(200),
            ),
            (
                "PATCH /users/:id",
                app.update_user(id, &admin, json!({"name": "Carol C"}))
                    .await
                    .expect(200),
            ),
            (
                "GET /auth/me",
                app.get("/auth/me", Some(&token)).await.expect(200),
            ),
            (
                "PUT /users/me/profile",
                app.put("/users/me/profile", Some(&token), json!({"name": "Caz"}))
                    .await
                    .expect(200),
            ),
            (
                "admin login",
                app.post(
                    "/auth/login",
                    None,
                    json!({"username": ADMIN, "password": ADMIN_PASSWORD}),
                )
                .await
                .expect(200),
            ),
        ];
        let changed = app
            .change_password(&token, password, new_password)
            .await
            .expect(200);
        let new_token = changed.string("accessToken");
        replies.push(("PUT /users/me/password", changed));
        replies.push((
            "GET /auth/me after",
            app.get("/auth/me", Some(&new_token)).await.expect(200),
        ));
        replies.push((
            "GET /users after",
            app.get("/users", Some(&admin)).await.expect(200),
        ));
        for (what, reply) in &replies {
            assert_no_secrets(what, reply, &secrets);
        }

        // A donor's push token stays private too.
        let donor_push = "donor-push-secret-456";
        let query = app
            .post(
                "/donor-queries",
                None,
                json!({"donor": "Ann", "donorId": "d-1", "fcmToken": donor_push, "message": "hi"}),
            )
            .await
            .expect(201);
        let id = query.id();
        let donor = query.string("donorToken");
        let mut views = vec![("POST /donor-queries", query)];
        views.push(("GET as donor", app.ticket(id, &donor).await));
        views.push(("GET as admin", app.ticket(id, &admin).await));
        views.push((
            "admin detail",
            app.get(&format!("/donor-queries/admin/{id}"), Some(&admin))
                .await
                .expect(200),
        ));
        views.push((
            "admin list",
            app.get("/donor-queries", Some(&admin)).await.expect(200),
        ));
        views.push((
            "donor list",
            app.get("/donor-queries/user", Some(&donor))
                .await
                .expect(200),
        ));
        for (what, reply) in &views {
            assert!(
                !reply.text.contains(donor_push),
                "{what} shows the donor's push token: {}",
                reply.text
            );
            assert!(reply.get("fcmToken").is_null(), "{what}: {}", reply.text);
        }
    }
);

e2e!(
    tampered_and_malformed_tokens_are_401,
    |app: TestApp, admin: String| async move {
        let (id, donor) = app.donor_query("d-1", "hello").await;
        app.get("/auth/me", Some(&admin)).await.expect(200);
        app.ticket(id, &donor).await;

        // The payload changed under the old signature: another user, a later expiry.
        let claims = claims_of(&admin);
        let parts: Vec<&str> = admin.split('.').collect();
        let other_payload = |changes: Value| {
            let claims = with(&claims, changes);
            format!(
                "{}.{}.{}",
                parts[0],
                base64url(claims.to_string().as_bytes()),
                parts[2]
            )
        };
        let bad = [
            flip(&admin, 2),
            flip(&admin, 1),
            flip(&admin, 0),
            other_payload(json!({"sub": "2"})),
            other_payload(json!({"exp": now() + 10 * 365 * 86_400})),
            format!("{}.{}.", parts[0], parts[1]),
            format!("{}.{}", parts[0], parts[1]),
            format!("{admin}.extra"),
            "abc".to_string(),
            "a.b.c".to_string(),
        ];
        for token in &bad {
            app.get("/auth/me", Some(token))
                .await
                .expect_problem_for(401, &format!("token {token}"));
        }
        for token in [flip(&donor, 2), flip(&donor, 1)] {
            app.get(&format!("/donor-queries/{id}"), Some(&token))
                .await
                .expect_problem(401);
        }
        // Odd Authorization headers.
        for header in [
            format!("Basic {admin}"),
            format!("Token {admin}"),
            admin.clone(),
            "Bearer".to_string(),
            "Bearer    ".to_string(),
        ] {
            let response = app
                .client
                .get(format!("{}/auth/me", app.api))
                .header("authorization", header.as_str())
                .send()
                .await
                .expect("request sent");
            assert_eq!(response.status().as_u16(), 401, "Authorization: {header}");
        }
    }
);

e2e!(expired_tokens_are_401, |app: TestApp| async move {
    let (id, donor) = app.donor_query("d-1", "hello").await;
    for (token, path) in [
        (app.admin_token.clone(), "/auth/me".to_string()),
        (donor, format!("/donor-queries/{id}")),
    ] {
        let claims = claims_of(&token);
        // The same claims signed by us work: the forging is right, so the refusals below are
        // about the expiry.
        let fresh = with(&claims, json!({"iat": now(), "exp": now() + 600}));
        app.get(&path, Some(&sign(Algorithm::HS256, SECRET, &fresh)))
            .await
            .expect(200);
        for (iat, exp) in [(now() - 7200, now() - 3600), (now() - 120, now() - 60)] {
            let expired = with(&claims, json!({"iat": iat, "exp": exp}));
            app.get(&path, Some(&sign(Algorithm::HS256, SECRET, &expired)))
                .await
                .expect_problem(401);
        }
        let mut no_exp = claims.clone();
        no_exp.as_object_mut().expect("object").remove("exp");
        app.get(&path, Some(&sign(Algorithm::HS256, SECRET, &no_exp)))
            .await
            .expect_problem(401);
    }
});

/// The super admin's token with a path it may read, and `donor`'s token with its ticket `id`;
/// each with its own claims made fresh (issued now, expiring in ten minutes).
fn fresh_tokens(app: &TestApp, id: i64, donor: String) -> [(String, String, Value); 2] {
    [
        (app.admin_token.clone(), "/auth/me".to_string()),
        (donor, format!("/donor-queries/{id}")),
    ]
    .map(|(token, path)| {
        let claims = with(
            &claims_of(&token),
            json!({"iat": now(), "exp": now() + 600}),
        );
        (token, path, claims)
    })
}

e2e!(alg_none_tokens_are_401, |app: TestApp| async move {
    let (id, donor) = app.donor_query("d-1", "hello").await;
    for (token, path, claims) in fresh_tokens(&app, id, donor) {
        let payload = base64url(claims.to_string().as_bytes());
        let signature = token.split('.').nth(2).expect("a signature");
        for alg in ["none", "None", "NONE", "nOnE"] {
            let header = base64url(json!({"alg": alg, "typ": "JWT"}).to_string().as_bytes());
            for forged in [
                format!("{header}.{payload}."),
                format!("{header}.{payload}"),
                format!("{header}.{payload}.{signature}"),
            ] {
                app.get(&path, Some(&forged))
                    .await
                    .expect_problem_for(401, alg);
            }
        }
    }
});

e2e!(
    tokens_signed_with_another_algorithm_or_key_are_401,
    |app: TestApp| async move {
        let (id, donor) = app.donor_query("d-1", "hello").await;
        for (_, path, claims) in fresh_tokens(&app, id, donor) {
            app.get(&path, Some(&sign(Algorithm::HS256, SECRET, &claims)))
                .await
                .expect(200);
            for (alg, secret) in [
                (Algorithm::HS384, SECRET),
                (Algorithm::HS512, SECRET),
                (
                    Algorithm::HS256,
                    "another-secret-that-is-long-enough-for-hs256",
                ),
                (Algorithm::HS256, &SECRET[..SECRET.len() - 1]),
                (Algorithm::HS256, ""),
            ] {
                app.get(&path, Some(&sign(alg, secret, &claims)))
                    .await
                    .expect_problem_for(401, &format!("{alg:?} {secret:?}"));
            }
        }
        // A staff token cannot be minted into a donor token for someone else's ticket either.
        let other =
            json!({"sub": "d-2", "kind": "donor", "tid": id, "iat": now(), "exp": now() + 600});
        app.get(
            &format!("/donor-queries/{id}"),
            Some(&sign(Algorithm::HS384, SECRET, &other)),
        )
        .await
        .expect_problem(401);
    }
);

e2e!(
    password_change_revokes_older_tokens,
    |app: TestApp| async move {
        let (_, first) = app.staff("dave", "AGENT").await;
        let second = app.login("dave", "dave-password").await;
        // A wrong current password changes nothing.
        app.change_password(&first, "not-my-password", "dave-new-password")
            .await
            .expect_invalid("currentPassword");
        app.get("/auth/me", Some(&first)).await.expect(200);
        app.login("dave", "dave-password").await;

        let changed = app
            .change_password(&first, "dave-password", "dave-new-password")
            .await
            .expect(200);
        let fresh = changed.string("accessToken");
        for old in [&first, &second] {
            app.get("/auth/me", Some(old)).await.expect_problem(401);
            app.get("/tasks", Some(old)).await.expect_problem(401);
        }
        let me = app.get("/auth/me", Some(&fresh)).await.expect(200);
        assert_eq!(me.get("username"), "dave");
        app.login_refused("dave", "dave-password").await;
        let again = app.login("dave", "dave-new-password").await;
        app.get("/tasks", Some(&again)).await.expect(200);
    }
);

e2e!(
    deactivated_users_lose_their_tokens_and_login,
    |app: TestApp| async move {
        let (id, token) = app.staff("erin", "ADMIN").await;
        app.get("/auth/me", Some(&token)).await.expect(200);
        let wrong = app.login_refused("erin", "wrong-password").await;
        let off = app
            .update_user(id, &app.admin_token, json!({"isActive": false}))
            .await
            .expect(200);
        assert_eq!(off.get("isActive"), false);
        for path in ["/auth/me", "/tasks", "/users", "/donor-queries"] {
            app.get(path, Some(&token)).await.expect_problem(401);
        }
        let refused = app.login_refused("erin", "erin-password").await;
        assert_eq!(
            refused.text, wrong.text,
            "a deactivated login tells more than a wrong password"
        );
        // Reactivated, the account works again: the refusals above came from the deactivation.
        app.update_user(id, &app.admin_token, json!({"isActive": true}))
            .await
            .expect(200);
        app.login("erin", "erin-password").await;
        // Nobody deactivates themselves.
        let admin_id = app
            .get("/auth/me", Some(&app.admin_token))
            .await
            .expect(200)
            .id();
        app.update_user(admin_id, &app.admin_token, json!({"isActive": false}))
            .await
            .expect_problem(422);
        app.get("/auth/me", Some(&app.admin_token))
            .await
            .expect(200);
    }
);

e2e!(
    a_refused_donor_query_creates_nothing,
    |app: TestApp, admin: String| async move {
        let head = app.settled_event_head().await;
        let base = json!({"donor": "Ann", "donorId": "d-tx", "message": "My receipt is wrong"});
        let cases = [
            json!({"message": "x".repeat(10_001)}),
            json!({"stage": "s".repeat(201)}),
            json!({"device": "d".repeat(201)}),
            json!({"fcmToken": "f".repeat(4097)}),
            json!({"queryMode": "SMOKE"}),
            json!({"priority": "SOMEDAY"}),
            json!({"donor": ""}),
            json!({"message": "bad \u{0} byte"}),
        ];
        for change in cases {
            let body = with(&base, change.clone());
            let reply = app.post("/donor-queries", None, body).await;
            assert_eq!(reply.status.as_u16(), 422, "{change}: {}", reply.text);
            let reply = reply.expect_problem(422);
            assert!(reply.get("donorToken").is_null());
        }
        app.expect_head(head, "refused donor queries").await;
        let list = app
            .get("/donor-queries/user?donorId=d-tx", Some(&admin))
            .await
            .expect(200);
        assert!(list.data().is_empty(), "{}", list.text);
        let all = app.get("/donor-queries", Some(&admin)).await.expect(200);
        assert!(all.data().is_empty(), "{}", all.text);

        // A good one writes the ticket and its first message together.
        let created = app.post("/donor-queries", None, base).await.expect(201);
        assert!(app.settled_event_head().await > head);
        let conversation = app
            .get(&format!("/messages/query/{}", created.id()), Some(&admin))
            .await
            .expect(200);
        assert_eq!(conversation.data().len(), 1);
        assert_eq!(conversation.data()[0]["messageType"], "QUERY");
    }
);

e2e!(
    every_response_has_a_request_id,
    |app: TestApp, admin: String| async move {
        let (agent_id, agent) = app.staff("agent1", "AGENT").await;
        let (id, donor) = app.donor_query("d-1", "hello").await;
        let mut replies: Vec<(String, Reply)> = vec![];
        let mut add = |what: &str, reply: Reply| replies.push((what.to_string(), reply));
        add("ping", app.get("/health/ping", None).await.expect(200));
        add("health", app.get("/health", None).await.expect(200));
        add(
            "201",
            app.post("/tasks", Some(&agent), json!({"title": "t"}))
                .await
                .expect(201),
        );
        add("401", app.get("/auth/me", None).await.expect(401));
        add(
            "401 bad token",
            app.get("/auth/me", Some("x.y.z")).await.expect(401),
        );
        add("403", app.get("/users", Some(&agent)).await.expect(403));
        add(
            "404",
            app.get("/tasks/999999", Some(&agent)).await.expect(404),
        );
        add("404 no route", app.get("/nowhere", None).await.expect(404));
        add(
            "405-ish",
            app.call(Method::PATCH, "/health", None, json!({})).await,
        );
        add(
            "400 path",
            app.get("/tasks/abc", Some(&agent)).await.expect(400),
        );
        add(
            "400 body",
            app.raw(
                Method::POST,
                "/tasks",
                Some(&agent),
                Some("application/json"),
                "{",
            )
            .await
            .expect(400),
        );
        add(
            "415",
            app.raw(
                Method::POST,
                "/tasks",
                Some(&agent),
                Some("text/plain"),
                "{}",
            )
            .await
            .expect(415),
        );
        add(
            "413",
            app.post(
                "/tasks",
                Some(&agent),
                json!({"title": "x".repeat(2 * 1024 * 1024)}),
            )
            .await
            .expect(413),
        );
        add(
            "422",
            app.post("/tasks", Some(&agent), json!({"title": ""}))
                .await
                .expect(422),
        );
        add("200 donor", app.ticket(id, &donor).await);
        add(
            "200 close",
            app.post(
                &format!("/donor-queries/{id}/donor-close"),
                Some(&donor),
                Value::Null,
            )
            .await
            .expect(200),
        );
        add(
            "409",
            app.post(
                &format!("/donor-queries/{id}/donor-close"),
                Some(&donor),
                Value::Null,
            )
            .await
            .expect(409),
        );
        add(
            "204",
            app.delete(&format!("/donor-queries/{id}"), Some(&admin))
                .await
                .expect(204),
        );
        add(
            "user",
            app.get(&format!("/users/{agent_id}"), Some(&admin))
                .await
                .expect(200),
        );
        let mut seen = HashSet::new();
        for (what, reply) in &replies {
            let id = reply
                .headers
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_else(|| panic!("{what}: no X-Request-Id ({})", reply.status));
            assert!(!id.is_empty(), "{what}: an empty X-Request-Id");
            assert!(
                seen.insert(id.to_string()),
                "{what}: request id {id} repeated"
            );
        }
        // Outside /api/v1 too.
        let root = app.api.trim_end_matches("/api/v1").to_string();
        for path in ["/", "/api", "/api/v2/tasks"] {
            let response = app
                .client
                .get(format!("{root}{path}"))
                .send()
                .await
                .expect("request sent");
            assert!(response.headers().contains_key("x-request-id"), "{path}");
        }
        // A caller's sane id is kept; anything else is replaced.
        let sent = |id: &str| {
            app.client
                .get(format!("{}/health/ping", app.api))
                .header("x-request-id", id)
                .send()
        };
        let kept = sent("trace-abc_123").await.expect("sent");
        assert_eq!(kept.headers()["x-request-id"], "trace-abc_123");
        for odd in ["has space", "semi;colon", "<script>", &"x".repeat(65)] {
            let replaced = sent(odd).await.expect("sent");
            let got = replaced.headers()["x-request-id"].to_str().expect("ascii");
            assert!(!got.is_empty() && got != odd, "{odd:?} echoed");
        }
    }
);

e2e!(
    a_demotion_takes_effect_on_existing_tokens,
    |app: TestApp| async move {
        let (id, token) = app.staff("fred", "ADMIN").await;
        app.get("/donor-queries", Some(&token)).await.expect(200);
        app.get("/users", Some(&token)).await.expect(200);
        app.update_user(id, &app.admin_token, json!({"role": "AGENT"}))
            .await
            .expect(200);
        // The same token, minted while fred was an admin, no longer opens admin routes.
        app.get("/donor-queries", Some(&token))
            .await
            .expect_problem(403);
        app.get("/users", Some(&token)).await.expect_problem(403);
        app.get("/health/advanced", Some(&token))
            .await
            .expect_problem(403);
        let me = app.get("/auth/me", Some(&token)).await.expect(200);
        assert_eq!(me.get("role"), "AGENT");
    }
);

e2e!(
    cors_serves_only_the_configured_origins,
    [(
        "CORS_ORIGINS",
        "https://desk.example.org, https://app.example.org/"
    )],
    |app: TestApp| async move {
        // Hold the whole app: a block using only some of its fields would capture just those,
        // and the rest (the server's stop handle, the database) would be dropped at once.
        let app = &app;
        let request = |method: Method, path: &str, origin: &str| {
            app.client
                .request(method, format!("{}{path}", app.api))
                .header("origin", origin)
        };
        // An allowed origin (a trailing slash in the setting is dropped) is echoed, with the
        // headers a browser script may read.
        for origin in ["https://desk.example.org", "https://app.example.org"] {
            let reply = request(Method::GET, "/health/ping", origin)
                .send()
                .await
                .expect("sent");
            assert_eq!(reply.headers()["access-control-allow-origin"], origin);
            let exposed = reply.headers()["access-control-expose-headers"]
                .to_str()
                .expect("ascii")
                .to_ascii_lowercase();
            assert!(exposed.contains("x-request-id") && exposed.contains("retry-after"));
            assert!(reply.headers().get_all("vary").iter().any(|v| v
                .to_str()
                .is_ok_and(|v| v.to_ascii_lowercase().contains("origin"))));
        }
        let preflight = request(Method::OPTIONS, "/tasks", "https://desk.example.org")
            .header("access-control-request-method", "PATCH")
            .header(
                "access-control-request-headers",
                "authorization, content-type, x-request-id",
            )
            .send()
            .await
            .expect("sent");
        assert_eq!(preflight.status(), 204);
        assert!(preflight.headers().contains_key("x-request-id"));
        let header = |name: &str| {
            preflight.headers()[name]
                .to_str()
                .expect("ascii")
                .to_ascii_lowercase()
        };
        for method in ["get", "post", "put", "patch", "delete"] {
            assert!(header("access-control-allow-methods").contains(method));
        }
        for allowed in ["authorization", "content-type", "x-request-id"] {
            assert!(header("access-control-allow-headers").contains(allowed));
        }
        assert_eq!(header("access-control-max-age"), "600");
        // Another origin gets no CORS headers, and its preflight is refused as a problem.
        let refused = request(Method::GET, "/health/ping", "https://evil.example.com")
            .send()
            .await
            .expect("sent");
        assert_eq!(refused.status(), 200);
        assert!(refused
            .headers()
            .get("access-control-allow-origin")
            .is_none());
        let refused = request(Method::OPTIONS, "/tasks", "https://evil.example.com")
            .header("access-control-request-method", "POST")
            .send()
            .await
            .expect("sent");
        assert!(refused.status().is_client_error(), "{}", refused.status());
        assert!(refused
            .headers()
            .get("access-control-allow-origin")
            .is_none());
        assert!(refused.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("application/problem+json"));
        assert_eq!(refused.headers()["x-frame-options"], "DENY");
    }
);

e2e!(
    security_headers_are_on_every_answer,
    |app: TestApp| async move {
        let root = app.api.trim_end_matches("/api/v1").to_string();
        let mut replies = vec![
            app.get("/health/ping", None).await.headers,
            app.get("/tasks", None).await.headers,
            app.get("/tasks", Some(&app.admin_token)).await.headers,
            app.get("/no-such-route", None).await.headers,
        ];
        let odd = app
            .client
            .request(
                Method::from_bytes(b"BREW").expect("method"),
                format!("{root}/"),
            )
            .send()
            .await
            .expect("sent");
        replies.push(odd.headers().clone());
        for headers in &replies {
            assert_eq!(headers["x-content-type-options"], "nosniff");
            assert_eq!(headers["x-frame-options"], "DENY");
            assert_eq!(headers["referrer-policy"], "no-referrer");
            assert_eq!(headers["cache-control"], "no-store");
            assert!(headers.contains_key("x-request-id"));
        }
        // A handler's own caching is kept.
        let docs = app.get("/openapi.json", None).await;
        assert_eq!(docs.headers["cache-control"], "no-cache");
    }
);
