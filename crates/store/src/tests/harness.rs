//! Test databases and fixtures. Each test gets a database of its own — a temporary SQLite
//! file, or a fresh PostgreSQL database created from `TEST_POSTGRES_URL` and dropped
//! afterwards — so tests run in parallel.

use crate::{Store, StoreConfig};
use chrono::Utc;
use concierge_domain::event::StoredEvent;
use concierge_domain::message::{MessageType, NewMessage, Sender};
use concierge_domain::page::{Page, PageRequest};
use concierge_domain::ports::{EventLog, TicketRepository, UserRepository};
use concierge_domain::ticket::{DonorInfo, NewTicket, Priority, QueryMode, Ticket, TicketStatus};
use concierge_domain::user::{NewUser, Role, User};
use concierge_domain::{TicketId, UserId};
use diesel::connection::SimpleConnection;
use std::time::Duration;

/// Walks a listing page by page, `limit` items a page, and returns the pages: each holds at
/// most `limit` items, and every page but the last exactly `limit`.
pub(crate) async fn every_page<T, Fut>(
    limit: u32,
    mut list: impl FnMut(PageRequest) -> Fut,
) -> Vec<Page<T>>
where
    Fut: std::future::Future<Output = concierge_domain::Result<Page<T>>>,
{
    let mut pages = vec![];
    let mut request = PageRequest::first(limit);
    loop {
        let page = list(request).await.unwrap();
        assert!(page.items.len() <= limit as usize);
        let next = page.next_cursor.clone();
        pages.push(page);
        match next {
            Some(cursor) => {
                assert_eq!(pages.last().map(|p| p.items.len()), Some(limit as usize));
                request = PageRequest::parse(Some(i64::from(limit)), Some(&cursor)).unwrap();
            }
            None => return pages,
        }
    }
}

/// Instantiates a test for both backends: `name::sqlite` always runs; `name::postgres` runs
/// when `TEST_POSTGRES_URL` is set, is skipped when not, and fails when not but
/// `CONCIERGE_REQUIRE_POSTGRES=1`.
macro_rules! store_test {
    ($(#[$meta:meta])* $name:ident, |$store:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn body($store: crate::Store) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            $(#[$meta])*
            async fn sqlite() {
                let db = crate::tests::harness::TestDb::sqlite().await;
                body(db.store.clone()).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            $(#[$meta])*
            async fn postgres() {
                let Some(db) = crate::tests::harness::TestDb::postgres().await else {
                    return;
                };
                body(db.store.clone()).await;
            }
        }
    };
}
pub(crate) use store_test;

/// A migrated database that lives as long as this value.
pub(crate) struct TestDb {
    pub store: Store,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    _pg: Option<PgDatabase>,
}

pub(crate) fn config(url: String) -> StoreConfig {
    StoreConfig {
        url,
        pool_size: 8,
        connect_timeout: Duration::from_secs(20),
        statement_timeout: Some(Duration::from_secs(60)),
        event_encoder: std::sync::Arc::new(concierge_server::wire::EventWire),
        audit: true,
    }
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/nested/test.db", dir.path().display());
        let store = Store::connect(config(url.clone())).await.unwrap();
        store.run_migrations().await.unwrap();
        TestDb {
            store,
            url,
            _dir: Some(dir),
            _pg: None,
        }
    }

    /// `None` (the test is skipped) when PostgreSQL is not configured and not required.
    pub async fn postgres() -> Option<TestDb> {
        let Some(admin) = postgres_admin_url() else {
            eprintln!("TEST_POSTGRES_URL is not set: skipping the PostgreSQL test");
            return None;
        };
        let name = format!("concierge_test_{:016x}", rand::random::<u64>());
        let pg = tokio::task::spawn_blocking(move || PgDatabase::create(admin, name))
            .await
            .unwrap();
        let store = Store::connect(config(pg.url.clone())).await.unwrap();
        store.run_migrations().await.unwrap();
        Some(TestDb {
            store,
            url: pg.url.clone(),
            _dir: None,
            _pg: Some(pg),
        })
    }
}

/// The admin URL, or `None` to skip; panics when PostgreSQL is required but not configured.
pub(crate) fn postgres_admin_url() -> Option<String> {
    match std::env::var("TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            let required = std::env::var("CONCIERGE_REQUIRE_POSTGRES").is_ok_and(|v| v == "1");
            assert!(
                !required,
                "CONCIERGE_REQUIRE_POSTGRES=1 but TEST_POSTGRES_URL is not set"
            );
            None
        }
    }
}

/// `url` with its database name replaced (query options kept).
pub(crate) fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let authority = base.find("://").map_or(0, |i| i + 3);
    let prefix = match base[authority..].find('/') {
        Some(i) => &base[..authority + i],
        None => base,
    };
    format!("{prefix}/{name}{query}")
}

struct PgDatabase {
    admin: String,
    name: String,
    url: String,
}

impl PgDatabase {
    fn create(admin: String, name: String) -> PgDatabase {
        let mut conn = crate::establish_postgres(&admin).unwrap();
        conn.batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        let url = with_database(&admin, &name);
        PgDatabase { admin, name, url }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let dropped = crate::establish_postgres(&self.admin).and_then(|mut conn| {
            conn.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))
        });
        if let Err(e) = dropped {
            eprintln!("could not drop test database {}: {e}", self.name);
        }
    }
}

#[test]
fn database_names_are_replaced() {
    assert_eq!(
        with_database("postgres://postgres@127.0.0.1:5432/postgres", "t1"),
        "postgres://postgres@127.0.0.1:5432/t1"
    );
    assert_eq!(
        with_database("postgresql://u:p@h/db?sslmode=disable", "t2"),
        "postgresql://u:p@h/t2?sslmode=disable"
    );
    assert_eq!(with_database("postgres://h", "t3"), "postgres://h/t3");
}

// ---- fixtures ----

pub(crate) async fn staff(store: &Store, username: &str, name: &str) -> User {
    UserRepository::create(
        store,
        NewUser {
            username: username.to_string(),
            email: Some(format!("{username}@example.org")),
            name: name.to_string(),
            role: Role::Agent,
            password_hash: "$2b$04$hash".to_string(),
            created_at: Utc::now(),
        },
    )
    .await
    .unwrap()
}

pub(crate) fn donor_ticket(donor_id: &str, title: &str) -> NewTicket {
    NewTicket {
        title: title.to_string(),
        description: None,
        status: TicketStatus::InProgress,
        priority: Priority::Medium,
        donor: Some(DonorInfo {
            name: format!("Donor {donor_id}"),
            donor_id: donor_id.to_string(),
            query_mode: QueryMode::Text,
            stage: Some("onboarding".into()),
            device: Some("pixel".into()),
            sid: Some("s-1".into()),
            test: false,
            fcm_token: Some("donor-token".into()),
            session: None,
        }),
        assignee_id: None,
        creator_id: None,
        created_at: Utc::now(),
    }
}

pub(crate) fn task(creator: UserId, assignee: Option<UserId>, title: &str) -> NewTicket {
    NewTicket {
        title: title.to_string(),
        description: Some(format!("about {title}")),
        status: TicketStatus::Open,
        priority: Priority::Medium,
        donor: None,
        assignee_id: assignee,
        creator_id: Some(creator),
        created_at: Utc::now(),
    }
}

pub(crate) async fn create(store: &Store, ticket: NewTicket) -> Ticket {
    TicketRepository::create(store, ticket, None)
        .await
        .unwrap()
        .0
}

pub(crate) fn chat(ticket: TicketId, sender: Sender, content: &str) -> NewMessage {
    NewMessage {
        ticket_id: ticket,
        sender,
        message_type: MessageType::Chat,
        content: content.to_string(),
        reply_to_id: None,
        client_message_id: None,
        created_at: Utc::now(),
    }
}

/// Waits until every event committed so far is readable (on PostgreSQL, transactions of other
/// tests in the same cluster can hold the horizon back for a moment), by writing a marker
/// ticket and waiting for its event. Returns the marker's `seq`.
pub(crate) async fn settle(store: &Store) -> i64 {
    let marker = create(store, task_free("settle")).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let events = store.read_after(0, Some(marker.id), 10).await.unwrap();
        if let Some(e) = events.first() {
            return e.seq;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the event log did not catch up"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn task_free(title: &str) -> NewTicket {
    NewTicket {
        creator_id: None,
        ..task(UserId(0), None, title)
    }
}

/// Every event of one ticket, once everything committed so far is readable.
pub(crate) async fn ticket_events(store: &Store, ticket: TicketId) -> Vec<StoredEvent> {
    settle(store).await;
    store.read_after(0, Some(ticket), 1000).await.unwrap()
}

/// The event kinds' names, for compact assertions.
pub(crate) fn kinds(events: &[StoredEvent]) -> Vec<&'static str> {
    events.iter().map(|e| e.kind.as_str()).collect()
}
