//! A process that exits while other threads hold PostgreSQL connections exits with its own
//! status, not SIGSEGV (see `concierge_store::establish_postgres`).
//!
//! The parent test runs this binary again, as a child that only starts connecting threads and
//! returns; before the fix about one child in five died on OpenSSL's exit handler.

use diesel::RunQueryDsl;
use std::process::Command;
use std::time::Duration;

const CHILD: &str = "CONCIERGE_EXIT_CHILD";

fn postgres_url() -> Option<String> {
    let url = std::env::var("TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty());
    if url.is_none() && std::env::var("CONCIERGE_REQUIRE_POSTGRES").as_deref() == Ok("1") {
        panic!("CONCIERGE_REQUIRE_POSTGRES=1 but TEST_POSTGRES_URL is not set");
    }
    url
}

/// The child: threads that open, use and drop connections until the process ends under them.
#[test]
fn child_exits_while_connecting() {
    let Some(url) = std::env::var(CHILD).ok() else {
        return;
    };
    for _ in 0..6 {
        let url = url.clone();
        std::thread::spawn(move || loop {
            if let Ok(mut conn) = concierge_store::establish_postgres(&url) {
                let _ = diesel::sql_query("SELECT 1").execute(&mut conn);
            }
        });
    }
    std::thread::sleep(Duration::from_millis(150));
}

#[test]
fn exiting_with_open_connections_is_a_clean_exit() {
    let Some(url) = postgres_url() else {
        eprintln!("skipped: TEST_POSTGRES_URL is not set");
        return;
    };
    let exe = std::env::current_exe().expect("the test binary");
    for run in 0..40 {
        let status = Command::new(&exe)
            .args([
                "--exact",
                "child_exits_while_connecting",
                "--test-threads=1",
            ])
            .env(CHILD, &url)
            .output()
            .expect("run the child");
        assert!(
            status.status.success(),
            "run {run}: the child ended with {:?}\n{}",
            status.status,
            String::from_utf8_lossy(&status.stderr)
        );
    }
}
