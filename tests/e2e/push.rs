//! Push notifications through a local mock of Google's token endpoint and FCM.

use super::*;
use concierge_e2e::Backend;
use std::time::Duration;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str =
    include_str!("../../crates/push/tests/fixtures/test-only-service-account-key.pem");

async fn fcm_mock() -> MockServer {
    let server = concierge_e2e::google_token_server().await;
    Mock::given(method("POST"))
        .and(path("/v1/projects/concierge-test/messages:send"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"name": "projects/concierge-test/messages/1"})),
        )
        .mount(&server)
        .await;
    server
}

async fn sends(server: &MockServer) -> Vec<serde_json::Value> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.url.path().ends_with("messages:send"))
        .map(|r| serde_json::from_slice(&r.body).expect("push test"))
        .collect()
}

async fn push_app(backend: Backend, fcm: &MockServer) -> Option<TestApp> {
    let base = fcm.uri();
    let token_url = format!("{base}/token");
    TestApp::spawn_with(
        backend,
        &[
            ("FIREBASE_PROJECT_ID", "concierge-test"),
            (
                "FIREBASE_CLIENT_EMAIL",
                "push@concierge-test.iam.gserviceaccount.com",
            ),
            ("FIREBASE_PRIVATE_KEY", KEY),
            ("FCM_BASE_URL", &base),
            ("FCM_TOKEN_URL", &token_url),
            ("EVENT_POLL_INTERVAL", "100ms"),
        ],
    )
    .await
}

async fn donor_message_reaches_the_assignee_once(backend: Backend) {
    let fcm = fcm_mock().await;
    let Some(app) = push_app(backend, &fcm).await else {
        eprintln!("skipped: TEST_POSTGRES_URL is not set");
        return;
    };
    let admin = app.admin_token.clone();
    app.put(
        "/users/me/fcm-token",
        Some(&admin),
        json!({"fcmToken": "admin-device-1"}),
    )
    .await
    .expect(200);
    let (id, donor) = app.donor_query("d-push", "Hello").await;
    app.ticket_action(id, "accept", &admin, json!({}))
        .await
        .expect(200);
    let message_id = app.say(id, &donor, "Are you there?").await.to_string();
    let about_it = |sent: Vec<serde_json::Value>| -> Vec<serde_json::Value> {
        sent.into_iter()
            .filter(|s| s["message"]["data"]["objectId"] == message_id.as_str())
            .collect()
    };

    // Wait for the dispatcher, then a little longer to see that nothing more comes.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while about_it(sends(&fcm).await).is_empty() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    // (The query's opening message went to the admins, unassigned as it was then.)
    let sent = about_it(sends(&fcm).await);
    assert_eq!(sent.len(), 1, "exactly one FCM request: {sent:?}");
    let message = &sent[0]["message"];
    assert_eq!(message["token"], "admin-device-1");
    assert_eq!(message["data"]["ticketId"], id.to_string());
    assert_eq!(message["data"]["event"], "new_message");

    let health = app.get("/health/advanced", Some(&admin)).await.expect(200);
    assert_eq!(health.body["push"]["notifier"], "fcm");
    assert!(
        health.body["push"]["lastError"].is_null(),
        "{}",
        health.text
    );
}

e2e!(
    a_donor_message_pushes_once_to_the_assignee,
    backend = donor_message_reaches_the_assignee_once
);

e2e!(
    the_donor_sets_its_own_push_token,
    |app: TestApp| async move {
        let (id, donor) = app.donor_query("d-tok", "Hi").await;
        app.update_ticket(id, &donor, json!({"fcmToken": "phone-1"}))
            .await
            .expect(200);
        // The token is never shown back.
        let ticket = app.ticket(id, &donor).await;
        assert!(!ticket.text.contains("phone-1"));
        // Other fields stay admin-only.
        app.update_ticket(id, &donor, json!({"priority": "URGENT"}))
            .await
            .expect_problem(403);
        // A token travels alone: mixed with other fields nothing is written, not even half.
        app.update_ticket(
            id,
            &donor,
            json!({"fcmToken": "phone-2", "priority": "URGENT"}),
        )
        .await
        .expect_problem(422);
        // Another donor cannot touch it.
        let (_, other) = app.donor_query("d-other", "Hi").await;
        app.update_ticket(id, &other, json!({"fcmToken": "evil"}))
            .await
            .expect_problem(404);
    }
);

mod restart {
    //! The dispatcher's guarantee across crashes, counted in FCM calls.
    use super::*;
    use async_trait::async_trait;
    use chrono::{DateTime, Utc};
    use concierge_domain::message::{MessageType, NewMessage, Sender};
    use concierge_domain::notification::PendingPush;
    use concierge_domain::ports::{
        EventLog, FollowerLedger, MessageRepository, PushLedger, TicketRepository, UserRepository,
        PUSH_FOLLOWER,
    };
    use concierge_domain::services::NotificationService;
    use concierge_domain::ticket::DonorQueryInput;
    use concierge_domain::user::{NewUser, Role};
    use concierge_domain::Result;
    use concierge_push::{FcmConfig, FcmNotifier};
    use concierge_server::followers::push::{Dispatcher, DispatcherStatus, PushSettings};
    use concierge_store::{Store, StoreConfig};
    use std::sync::Arc;

    /// The store's ledgers, with one step made to fail as a crash would cut it off, counting
    /// its cursor and lease writes.
    struct Crashing {
        store: Store,
        fail_record: bool,
        /// Saving a cursor at or past this `seq` fails.
        fail_cursor_from: i64,
        cursor_saves: std::sync::atomic::AtomicUsize,
        leases: std::sync::atomic::AtomicUsize,
    }

    impl Crashing {
        fn new(store: &Store, fail_record: bool, fail_cursor_from: i64) -> Self {
            Self {
                store: store.clone(),
                fail_record,
                fail_cursor_from,
                cursor_saves: Default::default(),
                leases: Default::default(),
            }
        }

        fn count(n: &std::sync::atomic::AtomicUsize) -> usize {
            n.load(std::sync::atomic::Ordering::SeqCst)
        }
    }

    #[async_trait]
    impl FollowerLedger for Crashing {
        async fn cursor(&self, follower: String) -> Result<Option<i64>> {
            self.store.cursor(follower).await
        }
        async fn advance(&self, follower: String, holder: String, seq: i64) -> Result<bool> {
            self.cursor_saves
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            self.store.advance(follower, holder, seq).await
        }
        async fn lease(
            &self,
            follower: String,
            holder: String,
            until: DateTime<Utc>,
        ) -> Result<bool> {
            self.leases
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            self.store.lease(follower, holder, until).await
        }
        async fn release(&self, follower: String, holder: String) -> Result<()> {
            self.store.release(follower, holder).await
        }
    }

    #[async_trait]
    impl PushLedger for Crashing {
        async fn save_progress(
            &self,
            holder: String,
            seq: i64,
            retries: Vec<PendingPush>,
        ) -> Result<bool> {
            self.cursor_saves
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            if seq >= self.fail_cursor_from {
                return Err(concierge_domain::DomainError::Unavailable("crash".into()));
            }
            self.store.save_progress(holder, seq, retries).await
        }
        async fn retries_due(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<PendingPush>> {
            self.store.retries_due(now, limit).await
        }
        async fn next_retry(&self) -> Result<Option<DateTime<Utc>>> {
            self.store.next_retry().await
        }
        async fn retry_later(
            &self,
            holder: String,
            key: String,
            attempts: u32,
            at: DateTime<Utc>,
        ) -> Result<bool> {
            self.store.retry_later(holder, key, attempts, at).await
        }
        async fn retry_done(&self, holder: String, key: String) -> Result<bool> {
            self.store.retry_done(holder, key).await
        }
        async fn was_sent(&self, key: String) -> Result<bool> {
            self.store.was_sent(key).await
        }
        async fn record_sent(&self, key: String) -> Result<()> {
            if self.fail_record {
                return Err(concierge_domain::DomainError::Unavailable("crash".into()));
            }
            self.store.record_sent(key).await
        }
        async fn admin_tokens(&self) -> Result<Vec<String>> {
            self.store.admin_tokens().await
        }
        async fn forget_token(&self, token: String) -> Result<()> {
            self.store.forget_token(token).await
        }
    }

    async fn setup() -> (tempfile::TempDir, Store, MockServer, Arc<FcmNotifier>) {
        let dir = tempfile::tempdir().expect("push test");
        let url = format!("sqlite://{}/push.db", dir.path().display());
        let store = Store::connect(StoreConfig::new(
            url,
            std::sync::Arc::new(concierge_server::wire::EventWire),
        ))
        .await
        .expect("push test");
        store.run_migrations().await.expect("push test");
        let fcm = fcm_mock().await;
        let mut config = FcmConfig::new(
            "concierge-test",
            "push@concierge-test.iam.gserviceaccount.com",
            KEY,
        );
        config.fcm_base_url = fcm.uri();
        config.token_url = format!("{}/token", fcm.uri());
        let notifier = Arc::new(FcmNotifier::new(config).expect("push test"));
        (dir, store, fcm, notifier)
    }

    /// A donor query whose donor has a phone, and a staff reply to it: one notification.
    /// The log's first `new_message` event.
    async fn first_new_message(store: &Store) -> concierge_domain::event::StoredEvent {
        let events = store.read_after(0, None, 100).await.expect("push test");
        events
            .into_iter()
            .find(|e| e.kind.as_str() == "new_message")
            .expect("push test")
    }

    async fn staff_reply(store: &Store) {
        staff_reply_as(store, "sam").await
    }

    async fn staff_reply_as(store: &Store, username: &str) {
        let now = Utc::now();
        let staff = UserRepository::create(
            store,
            NewUser {
                username: username.into(),
                email: None,
                name: "Sam".into(),
                role: Role::Admin,
                password_hash: "x".into(),
                created_at: now,
            },
        )
        .await
        .expect("push test");
        let (ticket, _) = DonorQueryInput {
            donor: "Ann".into(),
            donor_id: "d-1".into(),
            fcm_token: Some("donor-phone".into()),
            ..Default::default()
        }
        .into_new_ticket(now)
        .expect("push test");
        let (ticket, _) = TicketRepository::create(store, ticket, None)
            .await
            .expect("push test");
        MessageRepository::post(
            store,
            NewMessage {
                ticket_id: ticket.id,
                sender: Sender::Staff(staff.id),
                message_type: MessageType::Chat,
                content: "We fixed it".into(),
                reply_to_id: None,
                client_message_id: None,
                created_at: now,
            },
            None,
        )
        .await
        .expect("push test");
    }

    fn service(
        store: &Store,
        notifier: Arc<FcmNotifier>,
        ledger: Arc<dyn PushLedger>,
    ) -> NotificationService {
        let store_arc = Arc::new(store.clone());
        NotificationService::new(store_arc.clone(), store_arc, ledger, notifier)
    }

    fn dispatcher<L: PushLedger + FollowerLedger + 'static>(
        store: &Store,
        notifier: Arc<FcmNotifier>,
        ledger: Arc<L>,
    ) -> Dispatcher {
        Dispatcher::new(
            service(store, notifier, ledger.clone()),
            Arc::new(store.clone()),
            ledger.clone(),
            ledger,
            Arc::new(DispatcherStatus::default()),
            "test".into(),
            PushSettings::default(),
        )
    }

    #[tokio::test]
    async fn a_restart_after_the_send_but_before_the_cursor_resends_nothing() {
        let (_dir, store, fcm, notifier) = setup().await;
        // Start the cursor before the events, as a running dispatcher would have.
        store
            .lease(
                PUSH_FOLLOWER.into(),
                "test".into(),
                Utc::now() + chrono::Duration::seconds(30),
            )
            .await
            .expect("push test");
        let head = store.head().await.expect("push test");
        let saved = store.save_progress("test".into(), head, vec![]).await;
        assert!(saved.expect("push test"));
        staff_reply(&store).await;

        let message_seq = first_new_message(&store).await.seq;
        let crashing = Arc::new(Crashing::new(&store, false, message_seq));
        let first = dispatcher(&store, notifier.clone(), crashing);
        assert!(first.pass().await.is_err(), "the cursor save 'crashed'");
        assert_eq!(sends(&fcm).await.len(), 1);

        let restarted = dispatcher(&store, notifier, Arc::new(store.clone()));
        restarted.pass().await.expect("push test");
        restarted.pass().await.expect("push test");
        assert_eq!(sends(&fcm).await.len(), 1, "nothing was sent again");
    }

    #[tokio::test]
    async fn a_crash_between_the_send_and_its_record_sends_it_once_more_at_most() {
        let (_dir, store, fcm, notifier) = setup().await;
        staff_reply(&store).await;
        let event = first_new_message(&store).await;
        let crashing: Arc<dyn PushLedger> = Arc::new(Crashing::new(&store, true, i64::MAX));
        let first = service(&store, notifier.clone(), crashing);
        assert!(first.deliver(&event).await.is_err());
        assert_eq!(sends(&fcm).await.len(), 1);

        let restarted = service(&store, notifier, Arc::new(store.clone()));
        restarted.deliver(&event).await.expect("push test");
        restarted.deliver(&event).await.expect("push test");
        let sent = sends(&fcm).await;
        assert_eq!(sent.len(), 2, "once more, and no more");
        assert!(sent.iter().all(|s| s["message"]["token"] == "donor-phone"));
    }

    #[tokio::test]
    async fn a_pass_saves_its_cursor_once_per_batch_and_renews_the_lease_only_when_due() {
        let (_dir, store, fcm, notifier) = setup().await;
        let ledger = Arc::new(Crashing::new(&store, false, i64::MAX));
        let running = dispatcher(&store, notifier, ledger.clone());
        running.pass().await.expect("push test");
        assert_eq!(Crashing::count(&ledger.leases), 1);
        let first_run_saves = Crashing::count(&ledger.cursor_saves);

        staff_reply_as(&store, "sam").await;
        staff_reply_as(&store, "kim").await;
        let events = store.read_after(0, None, 100).await.expect("push test");
        assert!(events.len() >= 4, "two replies log several events");
        running.pass().await.expect("push test");
        running.pass().await.expect("push test");

        assert_eq!(sends(&fcm).await.len(), 2, "one push per reply");
        assert_eq!(
            Crashing::count(&ledger.cursor_saves) - first_run_saves,
            1,
            "one cursor write for the batch, none for the empty pass"
        );
        assert_eq!(Crashing::count(&ledger.leases), 1, "the lease is 10 s long");
        let last = events.last().expect("push test").seq;
        assert_eq!(
            store.cursor(PUSH_FOLLOWER.into()).await.expect("push test"),
            Some(last)
        );
    }
}
